// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `epbatch-trace calibrate`: what each operation the shim chooses between
 * costs on this machine, measured on private fds and epoll instances (the
 * same care as preload/bench/costs.c: interleaved rounds, the median of
 * the rounds and their range).  The result is cached per machine and kernel
 * (costmodel.c) and read by every trace for its what-if section.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <liburing.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uapi/epoll_batch.h>
#include "costmodel.h"
#include "epbatch/break_even.h"
#include "commands.h"
#include "base/base.h"

extern char **environ;

#define OP_EPOLL_WAIT 59	/* IORING_OP_EPOLL_WAIT, kernel >= 6.15; probed */
#define NF 3
static const unsigned fused_sizes[NF] = { 1, 8, 64 };
#define MAX_ROUNDS 15
#define OPS_PER_RUN 6000	/* ops (or calls) per timed run */
#define BUDGET_S 1.0		/* in-process rounds stop here (at least 3) */

enum { X_SYSCALL, X_ADD, X_MOD, X_DEL, X_WAIT, X_URING, X_UFUSED = X_URING + CM_NB,
       X_KMOD = X_UFUSED + NF, X_KFUSED = X_KMOD + CM_NB, X_N = X_KFUSED + NF };

struct bench {
	int ep, ep1, sv[64][2], sx[64][2];
	bool uring, ufused, kmod;
	int kfd;
	struct io_uring ring;
	double v[X_N][MAX_ROUNDS];
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define REARM (EPOLLIN | EPOLLONESHOT)

/* n MODs (re-arms of ready sockets first, first + 1, ...) in one
 * io_uring_enter, with (fused) an epoll wait */
static int uring_round(struct bench *b, unsigned first, unsigned n, bool fused)
{
	static struct epoll_event ev[64], out[64];
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

		ev[i].events = REARM;
		ev[i].data.u64 = first + i;
		io_uring_prep_epoll_ctl(sqe, b->ep, b->sv[first + i][0], EPOLL_CTL_MOD, &ev[i]);
		sqe->user_data = i;
	}
	if (fused) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

		io_uring_prep_rw(OP_EPOLL_WAIT, sqe, b->ep1, out, 64, 0);
		sqe->user_data = 1000;
	}
	if (io_uring_submit_and_wait(&b->ring, n + (fused ? 1 : 0)) < 0)
		return -1;
	io_uring_for_each_cqe(&b->ring, head, cqe)
		seen++;
	io_uring_cq_advance(&b->ring, seen);
	return 0;
}

static int kmod_round(struct bench *b, unsigned first, unsigned n, bool fused)
{
	static struct epoll_batch_op ops[64];
	static struct epoll_event out[64];
	struct epoll_batch eb = { .ops = (uintptr_t)ops, .nr_ops = n };

	for (unsigned i = 0; i < n; i++)
		ops[i] = (struct epoll_batch_op){ .epfd = b->ep, .op = EPOLL_CTL_MOD, .fd = b->sv[first + i][0],
						  .events = REARM, .data = first + i };
	if (fused) {
		eb.flags = EPOLL_BATCH_WAIT;
		eb.wait_epfd = b->ep1;
		eb.wait_events = (uintptr_t)out;
		eb.wait_maxevents = 64;
		eb.wait_timeout_ns = 0;
	}
	return ioctl(b->kfd, EPOLL_BATCH_IOC_SUBMIT, &eb);
}

/*
 * The re-arm figures (epoll_ctl MOD, the backends' tables and fused waits)
 * are measured the way an event loop re-arms: a wait takes the 64 ready
 * EPOLLONESHOT sockets' events (untimed), then all 64 are re-armed, each by
 * its own MOD or in submissions of n, timed together: every op re-arms a
 * different socket whose event was just consumed, as in the keep-alive loop,
 * not one hot socket over and over.  ns per op (per submission for fused).
 */
static double measure_rearm(struct bench *b, int w, unsigned n)
{
	struct epoll_event ev = { .events = REARM }, out[64];
	bool fused = (w >= X_UFUSED && w < X_KMOD) || w >= X_KFUSED;
	int groups = OPS_PER_RUN / 64, err = 0;
	double t0, ns = 0;

	for (int g = 0; g < groups && !err; g++) {
		err = epoll_wait(b->ep, out, 64, 0) != 64;
		t0 = now_ns();
		for (unsigned first = 0; first < 64 && !err; first += n) {
			if (w == X_MOD) {
				ev.data.u64 = first;
				err = epoll_ctl(b->ep, EPOLL_CTL_MOD, b->sv[first][0], &ev);
			} else if (w < X_KMOD) {
				err = uring_round(b, first, n, fused);
			} else {
				err = kmod_round(b, first, n, fused);
			}
		}
		ns += now_ns() - t0;
	}
	if (err)
		return -1;
	return fused ? ns / (groups * (64 / n)) : ns / (groups * 64);
}

/* One timed run of measurement w: ns per op (per iteration for fused). */
static double measure(struct bench *b, int w)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[64];
	unsigned n = 1;
	int reps = OPS_PER_RUN, err = 0;
	double t0, ns = 0;

	if (w == X_ADD || w == X_DEL) {
		/* 64 ADDs timed, then 64 DELs timed: one clock read per 64 calls */
		double add = 0, del = 0, t1, t2;

		for (int r = 0; r < OPS_PER_RUN / 64; r++) {
			t0 = now_ns();
			for (int i = 0; i < 64; i++)
				err |= epoll_ctl(b->ep, EPOLL_CTL_ADD, b->sx[i][0], &ev);
			t1 = now_ns();
			for (int i = 0; i < 64; i++)
				err |= epoll_ctl(b->ep, EPOLL_CTL_DEL, b->sx[i][0], NULL);
			t2 = now_ns();
			add += t1 - t0;
			del += t2 - t1;
		}
		if (err)
			return -1;
		return (w == X_ADD ? add : del) / (OPS_PER_RUN / 64 * 64);
	}
	if (w >= X_URING && w < X_UFUSED)
		n = cm_batch[w - X_URING];
	else if (w >= X_UFUSED && w < X_KMOD)
		n = fused_sizes[w - X_UFUSED];
	else if (w >= X_KMOD && w < X_KFUSED)
		n = cm_batch[w - X_KMOD];
	else if (w >= X_KFUSED)
		n = fused_sizes[w - X_KFUSED];
	if (w >= X_MOD && w != X_DEL && w != X_WAIT)
		return measure_rearm(b, w, n);
	t0 = now_ns();
	for (int r = 0; r < reps && !err; r++) {
		if (w == X_SYSCALL)
			syscall(SYS_getppid);
		else
			err = epoll_wait(b->ep1, out, 64, 0) != 1;
	}
	ns = now_ns() - t0;
	if (err)
		return -1;
	return ns / reps;
}

static long preempted(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? -1 : ru.ru_nivcsw;
}

/*
 * One timed run of w in which this thread was not preempted: other work on
 * the CPUs (a build, a benchmark) only adds to a run's wall time, and a run
 * it took the CPU from says more about that work than about w.  Up to 4
 * tries; if each was preempted, the fastest of them.
 */
static double measure_quiet(struct bench *b, int w)
{
	double best = -1;

	for (int t = 0; t < 4; t++) {
		long before = preempted();
		double v = measure(b, w);

		if (v < 0)
			return v;
		if (before >= 0 && preempted() == before)
			return v;
		best = best < 0 || v < best ? v : best;
	}
	return best;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* median and range of v[0..n) (sorts a copy) */
static struct cm_fig summarize(const double *v, int n)
{
	double s[MAX_ROUNDS > 32 ? MAX_ROUNDS : 32];
	struct cm_fig f = { -1, -1, -1 };

	if (n <= 0)
		return f;
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_d);
	f.ns = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	f.lo = s[0];
	f.hi = s[n - 1];
	return f;
}

static int setup(struct bench *b, struct calib *c)
{
	struct epoll_event ev = { .events = REARM };
	struct io_uring_probe *p;
	int r;

	b->ep = epoll_create1(EPOLL_CLOEXEC);
	b->ep1 = epoll_create1(EPOLL_CLOEXEC);
	if (b->ep < 0 || b->ep1 < 0)
		return -1;
	for (int i = 0; i < 64; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b->sv[i]) ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b->sx[i]) ||
		    write(b->sv[i][1], "x", 1) != 1 || epoll_ctl(b->ep, EPOLL_CTL_ADD, b->sv[i][0], &ev))
			return -1;
	}
	/* ep1: one ready socket, so every wait returns one event at once */
	ev.events = EPOLLIN;
	if (epoll_ctl(b->ep1, EPOLL_CTL_ADD, b->sv[63][1], &ev) || write(b->sv[63][0], "y", 1) != 1)
		return -1;

	r = io_uring_queue_init(256, &b->ring, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
					       IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (r < 0)
		r = io_uring_queue_init(256, &b->ring, 0);
	if (r < 0) {
		char *dis = read_text("/proc/sys/kernel/io_uring_disabled", 64);

		snprintf(c->be[CM_URING].skipped, sizeof(c->be[CM_URING].skipped),
			 "io_uring_setup: %s%s%.*s", strerror(-r), dis ? " (kernel.io_uring_disabled = " : "",
			 dis ? (int)strcspn(dis, "\n") : 0, dis ? dis : "");
		if (dis)
			strncat(c->be[CM_URING].skipped, ")",
				sizeof(c->be[CM_URING].skipped) - strlen(c->be[CM_URING].skipped) - 1);
		free(dis);
	} else {
		io_uring_register_ring_fd(&b->ring);
		p = io_uring_get_probe_ring(&b->ring);
		if (!p || !io_uring_opcode_supported(p, IORING_OP_EPOLL_CTL)) {
			snprintf(c->be[CM_URING].skipped, sizeof(c->be[CM_URING].skipped),
				 "this kernel's io_uring has no IORING_OP_EPOLL_CTL");
			io_uring_queue_exit(&b->ring);
		} else {
			b->uring = true;
			b->ufused = p->last_op >= OP_EPOLL_WAIT && io_uring_opcode_supported(p, OP_EPOLL_WAIT);
		}
		if (p)
			io_uring_free_probe(p);
	}
	b->kfd = open(EPOLL_BATCH_DEVICE, O_RDWR | O_CLOEXEC);
	if (b->kfd < 0)
		snprintf(c->be[CM_KMOD].skipped, sizeof(c->be[CM_KMOD].skipped), "%s",
			 errno == ENOENT ? "no /dev/epoll_batch: the module is not loaded" :
			 errno == EACCES || errno == EPERM ? "cannot open /dev/epoll_batch: permission denied" :
			 "cannot open /dev/epoll_batch");
	else
		b->kmod = true;
	return 0;
}

static void teardown(struct bench *b)
{
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 2; j++) {
			if (b->sv[i][j] > 0)
				close(b->sv[i][j]);
			if (b->sx[i][j] > 0)
				close(b->sx[i][j]);
		}
	if (b->ep >= 0)
		close(b->ep);
	if (b->ep1 >= 0)
		close(b->ep1);
	if (b->uring)
		io_uring_queue_exit(&b->ring);
	if (b->kmod)
		close(b->kfd);
}

static bool wanted(const struct bench *b, int w)
{
	if (w >= X_URING && w < X_UFUSED)
		return b->uring;
	if (w >= X_UFUSED && w < X_KMOD)
		return b->uring && b->ufused;
	if (w >= X_KMOD)
		return b->kmod;
	return true;
}

/* The backend's figures from its rounds: per-op table and the fused wait
 * (per round: the median over sizes of fused(n) - n x per_op(n)). */
static void backend_figs(struct bench *b, struct cm_backend_cal *be, int x0, int xf, bool fused,
			 int rounds, const struct cm_fig *wait)
{
	double fw[MAX_ROUNDS];

	be->present = true;
	for (int i = 0; i < CM_NB; i++)
		be->per_op[i] = summarize(b->v[x0 + i], rounds);
	if (!fused) {
		be->fused_wait = *wait;		/* not fused: a wait syscall of its own */
		return;
	}
	for (int r = 0; r < rounds; r++) {
		double d[NF];

		for (int i = 0; i < NF; i++) {
			int k = 0;

			while (cm_batch[k] != fused_sizes[i])
				k++;
			d[i] = b->v[xf + i][r] - fused_sizes[i] * b->v[x0 + k][r];
		}
		qsort(d, NF, sizeof(double), cmp_d);
		fw[r] = d[NF / 2] > 0 ? d[NF / 2] : 0;
	}
	be->fused_wait = summarize(fw, rounds);
}

/* ---- the shim's own cost: its bench loop with and without it ---- */

#ifndef EPBATCH_LIBEXECDIR
#define EPBATCH_LIBEXECDIR "/usr/local/libexec/epbatch"
#endif

/* The break-evens of the stats line libepbatch.so wrote to stats.PID (its
 * own measurement, policy.c): min_batch= (MOD loops, blocking waits),
 * min_batch_poll= (0-timeout waits) and min_batch_conn= (connection ops),
 * each a size, "never" (BE_NEVER) or "-" or absent (not measured: -1); and
 * poll_form= (the 0-timeout waits' batched form: 1 unfused, 0 fused, -1
 * not said). */
#define BE_NEVER 1000000
struct shim_said {
	int be[EPB_BRK_KINDS];
	int poll_unfused;
};

static void read_shim_line(const char *stats, pid_t pid, struct shim_said *out)
{
	char path[PATH_MAX], *line;
	const char *f;

	for (int i = 0; i < EPB_BRK_KINDS; i++)
		out->be[i] = -1;
	out->poll_unfused = -1;
	snprintf(path, sizeof(path), "%s.%d", stats, (int)pid);
	line = read_text(path, 4096);
	unlink(path);
	for (int i = 0; line && i < EPB_BRK_KINDS; i++) {
		char key[32];
		const char *v;

		snprintf(key, sizeof(key), " %s=", epb_break_key((enum epb_break_kind)i));
		v = strstr(line, key);
		if (!v)
			continue;
		v += strlen(key);
		out->be[i] = !strncmp(v, "never", 5) ? BE_NEVER : *v >= '1' && *v <= '9' ? atoi(v) : -1;
	}
	f = line ? strstr(line, " poll_form=") : NULL;
	if (f)
		out->poll_unfused = !strncmp(f + 11, "unfused", 7) ? 1 : !strncmp(f + 11, "fused", 5) ? 0 : -1;
	free(line);
}

/*
 * The CPU time (user + sys, ns) epbatch-rearm ARGS -i ITERS used, with env
 * extra (NULL-terminated); with stats (the shim's EPBATCH_STATS=FILE
 * prefix), what its stats line says in *said; with out, its JSON line in
 * that file (else /dev/null).  -1 if it failed.
 */
static double run_rearm(const char *rearm, const char *args, int iters, const char *const *extra,
			const char *stats, struct shim_said *said, const char *out)
{
	char *argv[24], args_buf[160], *save = NULL, *envp[256], st_env[PATH_MAX + 16];
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int n = 0, na = 1, st;
	pid_t pid;

	argv[0] = (char *)rearm;
	snprintf(args_buf, sizeof(args_buf), "%s -i %d", args, iters);
	for (char *t = strtok_r(args_buf, " ", &save); t && na < 23; t = strtok_r(NULL, " ", &save))
		argv[na++] = t;
	argv[na] = NULL;
	for (char **e = environ; *e && n < 240; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "EPBATCH_", 8))
			envp[n++] = *e;
	for (; *extra && n < 253; extra++)
		envp[n++] = (char *)*extra;
	if (stats) {
		snprintf(st_env, sizeof(st_env), "EPBATCH_STATS=%s", stats);
		envp[n++] = st_env;
	}
	envp[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	st = posix_spawn(&pid, rearm, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (st)
		return -1;
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	if (stats)
		read_shim_line(stats, pid, said);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

/*
 * CPU ns per loop iteration: a run of iters minus one of iters / 4, so the
 * process's start-up (exec, the shim's set-up) cancels out; CPU time, so
 * time spent waiting for a CPU other work holds does not count.
 */
static double loop_ns(const char *rearm, const char *args, int iters, const char *const *extra)
{
	double big = run_rearm(rearm, args, iters, extra, NULL, NULL, NULL);
	double small = run_rearm(rearm, args, iters / 4, extra, NULL, NULL, NULL);

	return big < 0 || small < 0 ? -1 : (big - small) / (iters - iters / 4);
}

/*
 * What the preloaded shim adds to one iteration of epbatch-rearm ARGS
 * (which carry -A BLOCK) under env extra: its own_minus_libc_ns, measured
 * inside the process against libc's own calls in the blocks between
 * (rearm.c).  out: a file for its JSON line.  0 and *ns, or -1.
 */
static int alt_ns(const char *rearm, const char *args, int iters, const char *const *extra,
		  const char *out, double *ns)
{
	json_t *doc;

	if (run_rearm(rearm, args, iters, extra, NULL, NULL, out) < 0)
		return -1;
	doc = json_load_file(out, 0, NULL);
	unlink(out);
	*ns = jnum_or(doc, "own_minus_libc_ns", NAN);
	json_decref(doc);
	return isnan(*ns) ? -1 : 0;
}

static int cmp_i(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The backend's break-evens: the median over the shim's processes (each
 * measures once, at its first loop iteration with 2 ops; 2 per round).  A
 * kind no process reported keeps its default: not measured (conn: known
 * stays false).  The 0-timeout waits' form: what most processes chose
 * (votes[0] fused, votes[1] unfused; a tie is fused, the form the shim
 * takes when told nothing). */
static void shim_break_even(struct cm_backend_cal *be, int got[EPB_BRK_KINDS][2 * MAX_ROUNDS], const int n[EPB_BRK_KINDS],
			    const int votes[2])
{
	int *slot[EPB_BRK_KINDS] = { &be->break_even, &be->break_even_poll, &be->break_even_conn };

	if (votes[0] || votes[1])
		be->poll_form = votes[1] > votes[0] ? CM_POLL_UNFUSED : CM_POLL_FUSED;

	for (int f = 0; f < EPB_BRK_KINDS; f++) {
		int m;

		if (!n[f])
			continue;
		qsort(got[f], (size_t)n[f], sizeof(int), cmp_i);
		m = got[f][(n[f] - 1) / 2];
		*slot[f] = m >= BE_NEVER ? 0 : m;
		be->break_even_by_shim = true;
		if (f == EPB_BRK_CONN)
			be->break_even_conn_known = true;
	}
}

/* loop arguments and iterations: runs of ~20 ms (and a quarter of that) */
#define KEEPALIVE_64 "-m keepalive -w block -n 64 -d 2", 1000
/* in-process alternations with libc (-A), 50 pairs of blocks, ~40 ms */
#define ALT_1 "-m rearm -w block -n 1 -d 2 -A 500", 50000
#define ALT_64 "-m rearm -w block -n 64 -d 2 -A 20", 2000
#define ALT_CONN "-m conn -w block -d 2 -A 100", 10000
/* only for its break-evens: a connection loop, past its first iterations,
 * makes the shim measure the connection ops' too (policy.c) */
#define POLICY "-m conn -w block -d 2", 500

/*
 * The shim's own figures, from its benchmark loop (epbatch-rearm), over
 * rounds:
 *   shim_op_ns: its user-space cost per batched op (EPBATCH_MIN_BATCH=0),
 *     keep-alive K=64, runs without it and under it interleaved;
 *   on the direct way (EPBATCH_BACKEND=sync) a few ns a call, below the
 *   drift between two runs on a shared host, so measured inside one run
 *   against libc's own calls (-A): the excess per iteration of a re-arm
 *   loop at K=1 (a MOD and a wait) and K=64 (64 MODs and a wait) gives
 *   shim_direct_op_ns per MOD and shim_wait_ns per wait; a connection
 *   loop's, less its two ops and its wait, shim_fd_ns (an fd made, ADDed,
 *   DELeted and closed: the fd mirror's bookkeeping);
 *   each present backend's break_even_batch(_poll, _conn): what the shim
 *     itself measured (its stats line, EPBATCH_STATS=FILE) under its
 *     default policy.
 */
static void measure_shim(struct calib *c, int rounds)
{
	char dir[PATH_MAX - 64], shim[PATH_MAX], rearm[PATH_MAX], pre[PATH_MAX + 16];
	char tmpl[PATH_MAX], stats[PATH_MAX + 8], out[PATH_MAX + 8];
	double s_b[MAX_ROUNDS], s_d[MAX_ROUNDS], s_w[MAX_ROUNDS], s_f[MAX_ROUNDS];
	int be_got[CM_NBE][EPB_BRK_KINDS][2 * MAX_ROUNDS], be_n[CM_NBE][EPB_BRK_KINDS] = {};
	int be_votes[CM_NBE][2] = {};
	const struct cm_backend_cal *u = &c->be[CM_URING];
	const char *tmp = getenv("TMPDIR");
	int n = 0;

	c->shim_op.ns = c->shim_direct_op.ns = c->shim_wait.ns = c->shim_fd.ns = -1;
	if (self_exe_dir(dir, sizeof(dir))) {
		snprintf(c->shim_skipped, sizeof(c->shim_skipped), "cannot read /proc/self/exe");
		return;
	}
	snprintf(rearm, sizeof(rearm), "%s/shim/epbatch-rearm", dir);
	if (access(rearm, X_OK))
		snprintf(rearm, sizeof(rearm), "%s/epbatch-rearm", EPBATCH_LIBEXECDIR);
	if (calib_shim_path(shim, sizeof(shim)) || access(rearm, X_OK)) {
		snprintf(c->shim_skipped, sizeof(c->shim_skipped),
			 "no libepbatch.so and epbatch-rearm next to epbatch-trace (make all tests-build): "
			 "the shim's own cost and break-even are not measured");
		return;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/epbatch-calibrate-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		snprintf(c->shim_skipped, sizeof(c->shim_skipped), "mkdtemp %.100s: %s: the shim is not measured",
			 tmpl, strerror(errno));
		return;
	}
	snprintf(stats, sizeof(stats), "%s/stats", tmpl);
	snprintf(out, sizeof(out), "%s/out", tmpl);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", shim);
	{
		const char *none[] = { NULL };
		const char *batch[] = { pre, "EPBATCH_BACKEND=uring", "EPBATCH_MIN_BATCH=0", NULL };
		const char *direct[] = { pre, "EPBATCH_BACKEND=sync", NULL };
		const char *policy[CM_NBE][3] = { { pre, "EPBATCH_BACKEND=uring", NULL },
						  { pre, "EPBATCH_BACKEND=kmod", NULL } };

		for (int r = 0; r < rounds; r++) {
			double x = loop_ns(rearm, KEEPALIVE_64, none);
			double y = u->present ? loop_ns(rearm, KEEPALIVE_64, batch) : 0;
			double a1, a64, ac;

			/* two processes a round: each measures once, and they disagree */
			for (int b = 0; b < CM_NBE * 2; b++) {
				struct shim_said said;

				if (!c->be[b / 2].present)
					continue;
				if (run_rearm(rearm, POLICY, policy[b / 2], stats, &said, NULL) < 0)
					continue;
				for (int f = 0; f < EPB_BRK_KINDS; f++)
					if (said.be[f] > 0)
						be_got[b / 2][f][be_n[b / 2][f]++] = said.be[f];
				if (said.poll_unfused >= 0)
					be_votes[b / 2][said.poll_unfused]++;
			}
			if (x <= 0 || y < 0 || alt_ns(rearm, ALT_1, direct, out, &a1) ||
			    alt_ns(rearm, ALT_64, direct, out, &a64) ||
			    alt_ns(rearm, ALT_CONN, direct, out, &ac))
				continue;
			/* K=64 keep-alive: B - A = 64 (uring op + shim op - MOD) + fused wait - wait */
			s_b[n] = u->present ? ((y - x) - 64 * (u->per_op[CM_NB - 1].ns - c->ctl[1].ns) -
					       (u->fused_wait.ns - c->wait.ns)) / 64 : 0;
			/* a1 = op + wait, a64 = 64 op + wait */
			s_d[n] = (a64 - a1) / 63;
			s_w[n] = a1 - s_d[n];
			/* a connection: its ADD, DEL and wait on the direct path, the rest is the fd's */
			s_f[n] = ac - 2 * s_d[n] - s_w[n];
			n++;
		}
	}
	rmdir(tmpl);
	for (int b = 0; b < CM_NBE; b++)
		shim_break_even(&c->be[b], be_got[b], be_n[b], be_votes[b]);
	if (!n) {
		snprintf(c->shim_skipped, sizeof(c->shim_skipped), "%.120s failed: the shim's own cost is not measured",
			 rearm);
		return;
	}
	for (int i = 0; i < n; i++) {
		s_b[i] = s_b[i] > 0 ? s_b[i] : 0;	/* within the noise of the raw costs */
		s_d[i] = s_d[i] > 0 ? s_d[i] : 0;
		s_w[i] = s_w[i] > 0 ? s_w[i] : 0;
		s_f[i] = s_f[i] > 0 ? s_f[i] : 0;
	}
	if (u->present)
		c->shim_op = summarize(s_b, n);
	else
		snprintf(c->shim_skipped, sizeof(c->shim_skipped),
			 "no io_uring: the shim's batched cost is not measured");
	c->shim_direct_op = summarize(s_d, n);
	c->shim_wait = summarize(s_w, n);
	c->shim_fd = summarize(s_f, n);
}

int calib_measure(struct calib *c, bool verbose)
{
	struct bench *b = calloc(1, sizeof(*b));
	double t0 = now_s();
	time_t now = time(NULL);
	struct tm tm;
	int rounds = 0;

	if (!b)
		return -1;
	memset(c, 0, sizeof(*c));
	calib_machine(c);
	b->ep = b->ep1 = b->kfd = -1;
	if (setup(b, c)) {
		fprintf(stderr, PROG " calibrate: cannot set up private epoll instances and sockets: %s\n",
			strerror(errno));
		teardown(b);
		free(b);
		return -1;
	}
	for (int w = 0; w < X_N; w++)
		if (wanted(b, w))
			measure(b, w);	/* warm-up: page faults, ring set-up */
	while (rounds < MAX_ROUNDS && (rounds < 3 || now_s() - t0 < BUDGET_S)) {
		/* a rotated order per round, so drift hits every figure alike */
		for (int i = 0; i < X_N; i++) {
			int w = (i + rounds * 7) % X_N;

			b->v[w][rounds] = wanted(b, w) ? measure_quiet(b, w) : 0;
			if (wanted(b, w) && b->v[w][rounds] < 0) {
				fprintf(stderr, PROG " calibrate: measurement %d failed: %s\n", w, strerror(errno));
				teardown(b);
				free(b);
				return -1;
			}
		}
		rounds++;
		if (verbose)
			fprintf(stderr, "round %d: syscall %.1f ns, MOD %.1f ns\n", rounds,
				b->v[X_SYSCALL][rounds - 1], b->v[X_MOD][rounds - 1]);
	}
	c->rounds = rounds;
	c->syscall = summarize(b->v[X_SYSCALL], rounds);
	c->ctl[0] = summarize(b->v[X_ADD], rounds);
	c->ctl[1] = summarize(b->v[X_MOD], rounds);
	c->ctl[2] = summarize(b->v[X_DEL], rounds);
	c->wait = summarize(b->v[X_WAIT], rounds);
	if (b->uring)
		backend_figs(b, &c->be[CM_URING], X_URING, X_UFUSED, b->ufused, rounds, &c->wait);
	if (b->kmod)
		backend_figs(b, &c->be[CM_KMOD], X_KMOD, X_KFUSED, true, rounds, &c->wait);
	teardown(b);
	free(b);
	measure_shim(c, 7);
	calib_break_even(c);
	c->seconds = now_s() - t0;
	gmtime_r(&now, &tm);
	strftime(c->measured_at, sizeof(c->measured_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return 0;
}

int calib_ensure(struct calib *c, bool quiet)
{
	if (!calib_load_cache(c))
		return 0;
	if (!quiet)
		fprintf(stderr, PROG ": measuring this machine's costs for the what-if model "
			"(once, ~3 s; epbatch-trace calibrate)\n");
	if (calib_measure(c, false))
		return -1;
	calib_save_cache(c);
	return 0;
}

static void calibrate_usage(FILE *f)
{
	fprintf(f, "usage: " PROG " calibrate [--json FILE|-] [--env] [--force] [-v]\n"
		"  Measures what epoll_ctl, epoll_wait, a syscall, io_uring and /dev/epoll_batch batches and the\n"
		"  shim cost on this machine (~3 s), caches the result per kernel, CPU and mitigations, and prints it.\n"
		"  --json FILE  also write the epbatch-calibration/1 document to FILE (- = stdout)\n"
		"  --env        print only the environment that makes libepbatch.so decide by the break-evens it\n"
		"               measured here (EPBATCH_MIN_BATCH=B,P,C [EPBATCH_POLL_FORM=F], the backend auto takes),\n"
		"               as run passes it to its shim variants; nothing where the shim measured none\n"
		"  --force      measure again even if this machine's calibration is cached\n"
		"  -v           each round's figures on stderr\n");
}

int calibrate_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", required_argument, NULL, 'j' }, { "force", no_argument, NULL, 'f' },
		{ "env", no_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, {}
	};
	const char *json = NULL;
	bool force = false, verbose = false, env = false;
	struct calib c;
	FILE *out;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", lo, NULL)) != -1) {
		switch (opt) {
		case 'j': json = optarg; break;
		case 'f': force = true; break;
		case 'e': env = true; break;
		case 'v': verbose = true; break;
		case 'h': calibrate_usage(stdout); return 0;
		default:
			cli_bad_option("calibrate", opt, argv, optind, optopt);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " calibrate: unexpected argument '%s' (see " PROG " calibrate --help)\n",
			argv[optind]);
		return 2;
	}
	if (json && check_writable(json))
		return 1;
	out = json && !strcmp(json, "-") ? stderr : stdout;
	if (force || calib_load_cache(&c)) {
		if (calib_measure(&c, verbose))
			return 1;
		calib_save_cache(&c);
	}
	if (env) {
		/* the backend auto takes: the module where it is here */
		char mb[80], pf[40];

		if (!cm_shim_env(&c.be[c.be[CM_KMOD].present ? CM_KMOD : CM_URING],
				 mb, sizeof(mb), pf, sizeof(pf)))
			fprintf(out, "%s%s%s\n", mb, *pf ? " " : "", pf);
	} else {
		calib_print(out, &c);
	}
	if (json) {
		json_t *doc = calib_json(&c);
		int r = json_write_file(doc, json);

		json_decref(doc);
		if (r)
			return 1;
	}
	return 0;
}
