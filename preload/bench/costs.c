/* SPDX-License-Identifier: MIT */
/*
 * What the operations the shim chooses between cost on this machine, without
 * the shim: a syscall's entry and exit (getppid), epoll_ctl ADD/MOD/DEL,
 * epoll_wait returning at once, and the io_uring backend's way: n
 * IORING_OP_EPOLL_CTL ops in one io_uring_enter (n = 1..64) and the same
 * fused with an IORING_OP_EPOLL_WAIT (and the same with the wait's epoll
 * fd a registered file, which spares the kernel a reference count on it per
 * wait: docs/performance.md says why the shim does not).  Every figure is
 * the median of R runs (interleaved: one run of each operation per round),
 * in ns per op (per iteration for the fused wait).  Last, the bound of the
 * double re-arm loop (epbatch-rearm -m double): 64 ONESHOT fds with data
 * pending, each re-armed twice and then waited for (0 timeout), directly,
 * against the least any batching shim could do there -- the 64 coalesced
 * MODs and the wait in one io_uring_enter with no bookkeeping at all.  Their ratio is
 * the best time ratio a shim over io_uring can reach on this machine.
 * Also the same MOD with the syscall instruction in the loop itself and
 * behind one function call of this program's: what a return after a
 * syscall costs (the shim makes its syscalls in place for this:
 * preload/real.h).
 * Prints a table and, with -j, JSON.
 *   epbatch-costs [-r ROUNDS] [-n CALLS] [-j]
 * A benchmark: it reports numbers, it asserts nothing about them.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "epbatch/raw_syscall.h"

#define OP_EPOLL_WAIT 59	/* kernel >= 6.15; probed */
#define NB 7
static const unsigned batch[NB] = { 1, 2, 4, 8, 16, 32, 64 };

enum { C_SYSCALL, C_ADD_DEL, C_MOD, C_MOD_INLINE, C_MOD_CALL, C_WAIT0, C_URING = C_WAIT0 + 1,
       C_FUSED = C_URING + NB,
       C_FUSED_POLL = C_FUSED + NB, C_FUSED_FIXED = C_FUSED_POLL + NB,
       C_DIRECT_LOOP = C_FUSED_FIXED + NB,
       C_DOUBLE_DIRECT = C_DIRECT_LOOP + NB, C_DOUBLE_URING, C_N };

#define ONESHOT_IN (EPOLLIN | EPOLLONESHOT)

static int ep, ep1, ep2, sv[64][2], sv2[64][2], calls = 20000, have_wait, have_fixed;
static struct io_uring ring;

/* epoll_ctl's syscall made here, nothing around it */
static inline long mod_syscall(int epfd, int fd, struct epoll_event *ev)
{
	return epb_syscall4(SYS_epoll_ctl, epfd, EPOLL_CTL_MOD, fd, ev);
}

/* the same behind a call: one return after each syscall */
static __attribute__((noinline)) long mod_call(int epfd, int fd, struct epoll_event *ev)
{
	return mod_syscall(epfd, fd, ev);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "epbatch-costs: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Where a loop's MODs go (ep, the sockets sv, with events) and which
 * instance it waits on: the plain loops (ep, then ep1 with one ready
 * socket) and the double re-arm loop (ep2, ONESHOT, waited on itself). */
struct loopset {
	int *ep, *wait_ep, (*sv)[2];
	unsigned events;
};
static const struct loopset plain = { &ep, &ep1, sv, EPOLLIN };
static const struct loopset dbl = { &ep2, &ep2, sv2, ONESHOT_IN };

/* n MODs of set's sockets through io_uring, then (fused: 1) an epoll wait
 * on its wait instance, and (fused: 2, the shim's 0-timeout form) a cancel
 * of that wait; fused: 3, the wait of 1 on ep1 registered as the ring's
 * fixed file 0 (no fget and fput of the epoll file per wait).  Returns the
 * wait's result (-1 when not fused). */
static int uring_round(const struct loopset *set, unsigned n, int fused)
{
	static struct epoll_event ev[64], out[64];
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int events = -1;

	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		ev[i].events = set->events;
		ev[i].data.u64 = i;
		io_uring_prep_epoll_ctl(sqe, *set->ep, set->sv[i][0], EPOLL_CTL_MOD, &ev[i]);
		sqe->user_data = i;
	}
	if (fused) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (fused == 3) {
			io_uring_prep_rw(OP_EPOLL_WAIT, sqe, 0, out, 64, 0);
			sqe->flags |= IOSQE_FIXED_FILE;
		} else {
			io_uring_prep_rw(OP_EPOLL_WAIT, sqe, *set->wait_ep, out, 64, 0);
		}
		sqe->user_data = 1000;
		if (fused == 2) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_cancel64(sqe, 1000, 0);
			sqe->user_data = 1001;
		}
	}
	if (io_uring_submit_and_wait(&ring, n + (fused ? 1U + (fused == 2) : 0)) < 0)
		die("io_uring_submit_and_wait");
	io_uring_for_each_cqe(&ring, head, cqe) {
		if (cqe->user_data == 1000)
			events = cqe->res;
		seen++;
	}
	io_uring_cq_advance(&ring, seen);
	return events;
}

/* The double re-arm loop's iteration without a shim: each of the 64 fds
 * re-armed twice (the shim coalesces the pair into the second), then a
 * 0-timeout wait that returns all 64. */
static void double_direct(void)
{
	static struct epoll_event out[64];

	for (int i = 0; i < 64; i++) {
		struct epoll_event a = { .events = ONESHOT_IN | EPOLLOUT, .data.u64 = (unsigned)i };
		struct epoll_event b = { .events = ONESHOT_IN, .data.u64 = (unsigned)i };

		epoll_ctl(ep2, EPOLL_CTL_MOD, sv2[i][0], &a);
		epoll_ctl(ep2, EPOLL_CTL_MOD, sv2[i][0], &b);
	}
	if (epoll_wait(ep2, out, 64, 0) != 64)
		die("double re-arm: wait");
}

/* ... and the least a batching shim could do: the 64 coalesced MODs, the
 * wait and its cancel (the 0-timeout form) in one io_uring_enter, nothing
 * kept in user space (without IORING_OP_EPOLL_WAIT: then epoll_wait). */
static void double_uring(void)
{
	static struct epoll_event out[64];
	int events = uring_round(&dbl, 64, have_wait ? 2 : 0);

	if (!have_wait)
		events = epoll_wait(ep2, out, 64, 0);
	if (events != 64)
		die("double re-arm: fused wait");
}

static double measure(int what)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[64];
	int reps = calls;
	unsigned n = 1;
	double t0, ops;

	/* the blocks of NB from C_URING to C_DOUBLE_DIRECT: one per batch size */
	if (what >= C_URING && what < C_DOUBLE_DIRECT)
		n = batch[(what - C_URING) % NB];
	else if (what >= C_DOUBLE_DIRECT)
		n = 64;
	if (n > 1)
		reps = calls / (int)n;
	ops = (double)reps * n;
	t0 = now_ns();
	for (int r = 0; r < reps; r++) {
		switch (what) {
		case C_SYSCALL:
			syscall(SYS_getppid);
			break;
		case C_ADD_DEL:
			epoll_ctl(ep, EPOLL_CTL_DEL, sv[63][0], NULL);
			epoll_ctl(ep, EPOLL_CTL_ADD, sv[63][0], &ev);
			break;
		case C_MOD:
			epoll_ctl(ep, EPOLL_CTL_MOD, sv[0][0], &ev);
			break;
		case C_MOD_INLINE:
			mod_syscall(ep, sv[0][0], &ev);
			break;
		case C_MOD_CALL:
			mod_call(ep, sv[0][0], &ev);
			break;
		case C_WAIT0:
			epoll_wait(ep1, out, 64, 0);
			break;
		case C_DOUBLE_DIRECT:
			double_direct();
			break;
		case C_DOUBLE_URING:
			double_uring();
			break;
		default:
			if (what < C_FUSED) {
				uring_round(&plain, n, 0);
			} else if (what < C_FUSED_POLL) {
				uring_round(&plain, n, 1);
			} else if (what < C_FUSED_FIXED) {
				uring_round(&plain, n, 2);
			} else if (what < C_DIRECT_LOOP) {
				uring_round(&plain, n, 3);
			} else {
				for (unsigned i = 0; i < n; i++)
					epoll_ctl(ep, EPOLL_CTL_MOD, sv[i][0], &ev);
				epoll_wait(ep1, out, 64, 0);
			}
		}
	}
	if (what == C_ADD_DEL)
		ops *= 2;
	if (what >= C_FUSED)
		ops = reps;	/* per loop iteration */
	return (now_ns() - t0) / ops;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = 7, json = 0, opt;
	double (*v)[C_N];
	struct io_uring_probe *p;

	while ((opt = getopt(argc, argv, "r:n:j")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'n': calls = atoi(optarg); break;
		case 'j': json = 1; break;
		default:
			fprintf(stderr, "usage: epbatch-costs [-r ROUNDS] [-n CALLS] [-j]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 101 || calls < 64) {
		fprintf(stderr, "epbatch-costs: -r must be 1..101 and -n at least 64\n");
		return 2;
	}
	/* ep: the instance the MODs change; ep1: the one waited on, with one
	 * ready socket (a wait returning one event) */
	ep = epoll_create1(EPOLL_CLOEXEC);
	ep1 = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || ep1 < 0)
		die("epoll_create1");
	for (int i = 0; i < 64; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) < 0 || write(sv[i][1], "x", 1) != 1 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, sv[i][0], &ev) < 0)
			die("setup");
	}
	{
		struct epoll_event ev = { .events = EPOLLIN };

		if (epoll_ctl(ep1, EPOLL_CTL_ADD, sv[63][1], &ev) < 0 || write(sv[63][0], "y", 1) != 1)
			die("setup");
	}
	/* ep2: the double re-arm loop's 64 ONESHOT fds, data pending */
	ep2 = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < 64; i++) {
		struct epoll_event ev = { .events = ONESHOT_IN, .data.u64 = (unsigned)i };

		if (ep2 < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv2[i]) < 0 ||
		    write(sv2[i][1], "x", 1) != 1 || epoll_ctl(ep2, EPOLL_CTL_ADD, sv2[i][0], &ev) < 0)
			die("setup");
	}
	if (io_uring_queue_init(256, &ring, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
					  IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) < 0 &&
	    io_uring_queue_init(256, &ring, 0) < 0)
		die("io_uring_queue_init");
	io_uring_register_ring_fd(&ring);
	p = io_uring_get_probe_ring(&ring);
	have_wait = p && p->last_op >= OP_EPOLL_WAIT && io_uring_opcode_supported(p, OP_EPOLL_WAIT);
	if (p)
		io_uring_free_probe(p);
	have_fixed = have_wait && io_uring_register_files(&ring, &ep1, 1) == 0;
	v = calloc(C_N, sizeof(*v) * (size_t)rounds);
	if (!v)
		die("calloc");
	for (int r = 0; r < rounds; r++)
		for (int w = 0; w < C_N; w++)
			v[w][r] = (w >= C_FUSED && w < C_DIRECT_LOOP && !have_wait) ||
				  (w >= C_FUSED_FIXED && w < C_DIRECT_LOOP && !have_fixed) ? 0 : measure(w);
	/* per iteration; the ratio: of the medians */
	for (int w = 0; w < C_N; w++)
		qsort(v[w], (size_t)rounds, sizeof(double), cmp);
#define MED(w) (v[w][rounds / 2])
	if (json) {
		printf("{\"schema\": \"epbatch-bench-costs/1\", \"rounds\": %d, \"calls\": %d,\n", rounds, calls);
		printf(" \"syscall_ns\": %.1f, \"epoll_ctl_ns\": {\"add_del\": %.1f, \"mod\": %.1f,"
		       " \"mod_in_place\": %.1f, \"mod_one_call\": %.1f},"
		       " \"epoll_wait0_ns\": %.1f,\n", MED(C_SYSCALL), MED(C_ADD_DEL), MED(C_MOD),
		       MED(C_MOD_INLINE), MED(C_MOD_CALL), MED(C_WAIT0));
		printf(" \"uring_per_op_ns\": {");
		for (int i = 0; i < NB; i++)
			printf("%s\"%u\": %.1f", i ? ", " : "", batch[i], MED(C_URING + i));
		printf("},\n \"fused_iteration_ns\": {");
		for (int i = 0; i < NB; i++)
			printf("%s\"%u\": %.1f", i ? ", " : "", batch[i], have_wait ? MED(C_FUSED + i) : 0);
		printf("},\n \"fused_poll_iteration_ns\": {");
		for (int i = 0; i < NB; i++)
			printf("%s\"%u\": %.1f", i ? ", " : "", batch[i], have_wait ? MED(C_FUSED_POLL + i) : 0);
		printf("},\n \"fused_fixed_iteration_ns\": {");
		for (int i = 0; i < NB; i++)
			printf("%s\"%u\": %.1f", i ? ", " : "", batch[i], have_fixed ? MED(C_FUSED_FIXED + i) : 0);
		printf("},\n \"direct_iteration_ns\": {");
		for (int i = 0; i < NB; i++)
			printf("%s\"%u\": %.1f", i ? ", " : "", batch[i], MED(C_DIRECT_LOOP + i));
		printf("},\n \"double_rearm_iteration_ns\": {\"direct\": %.1f, \"uring_bound\": %.1f,"
		       " \"bound_ratio\": %.3f}}\n", MED(C_DOUBLE_DIRECT), MED(C_DOUBLE_URING),
		       MED(C_DOUBLE_URING) / MED(C_DOUBLE_DIRECT));
		return 0;
	}
	printf("median of %d interleaved rounds, ns\n", rounds);
	printf("syscall entry+exit (getppid)          %8.1f\n", MED(C_SYSCALL));
	printf("epoll_ctl ADD/DEL (average of the two) %7.1f\n", MED(C_ADD_DEL));
	printf("epoll_ctl MOD, ready socket           %8.1f\n", MED(C_MOD));
	printf("  the same, the syscall in place      %8.1f\n", MED(C_MOD_INLINE));
	printf("  the same, behind one call           %8.1f\n", MED(C_MOD_CALL));
	printf("epoll_wait(0), one ready              %8.1f\n", MED(C_WAIT0));
	printf("%-6s %14s %18s %22s %18s %18s\n", "n", "uring/op", "fused iteration",
	       "fused+cancel (t=0)", "fused, fixed file", "direct iteration");
	for (int i = 0; i < NB; i++)
		printf("%-6u %14.1f %18.1f %22.1f %18.1f %18.1f\n", batch[i], MED(C_URING + i),
		       have_wait ? MED(C_FUSED + i) : 0, have_wait ? MED(C_FUSED_POLL + i) : 0,
		       have_fixed ? MED(C_FUSED_FIXED + i) : 0, MED(C_DIRECT_LOOP + i));
	printf("(iteration = n MODs of ready sockets + an epoll wait returning one event;\n"
	       " fused+cancel: the 0-timeout form, the wait's cancel in the same submission;\n"
	       " fixed file: the fused wait's epoll fd registered with the ring)\n");
	printf("double re-arm, 64 ONESHOT fds, per iteration: direct (128 MODs + wait) %.1f,\n"
	       " io_uring bound (64 MODs + wait, one enter, no bookkeeping) %.1f: ratio %.3f\n",
	       MED(C_DOUBLE_DIRECT), MED(C_DOUBLE_URING), MED(C_DOUBLE_URING) / MED(C_DOUBLE_DIRECT));
	return 0;
}
