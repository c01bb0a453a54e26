/* SPDX-License-Identifier: MIT */
/*
 * The shim's event-loop benchmark.  K socketpairs registered
 * EPOLLIN|EPOLLONESHOT on one epoll fd; each iteration is one wait and K (or
 * 2K) EPOLL_CTL_MOD re-arms, in one of these modes (-m):
 *
 *   keepalive  (default) data pending on every fd: wait, then one MOD per
 *              returned event (the keep-alive pattern at its densest).
 *   rearm      data pending: MOD all K fds in fd order, then wait.
 *   double     data pending: MOD each fd twice (EPOLLIN|EPOLLOUT, then
 *              EPOLLIN; coalescing keeps the last), then wait.
 *   idle       nothing pending: MOD all K fds, then a wait that really
 *              times out (the cost of arming a wait that sleeps).  The
 *              timer slack is set to 1 ns (-S) first: epoll's timeouts get
 *              the task's slack (50 us by default), io_uring's linked
 *              timeouts none, which would hide the arm cost.
 *   conn       (also -c) connection per request: a new eventfd (readable at
 *              once), ADD, wait, DEL, close.
 *
 * The wait form (-w): block (epoll_wait, -1: events are ready, so it returns
 * at once), zero (epoll_wait, 0), short (epoll_wait, -t MS, default 1),
 * pwait (epoll_pwait, -1, with a signal mask), pwait2 (epoll_pwait2, a
 * timespec of -u USEC, default -t MS, no mask).  -t alone (no -w) keeps its old meaning: the
 * epoll_wait timeout.  In idle mode the default wait is short.
 *
 * -x also registers one more fd, an eventfd never readable, with
 * EPOLLIN|EPOLLEXCLUSIVE: the instance then looks like the one an nginx
 * worker waits on (its listener shared by exclusive wake-ups).
 *
 * -T starts one idle thread first, so the process is multi-threaded, as the
 * worker processes of redis, memcached or haproxy are: glibc's waits then
 * take their cancellable way (the shim's direct ones do not: preload/real.h).
 * -C first starts a thread and cancels it (pthread_cancel, then join): the
 * process is then multi-threaded and has cancelled a thread, after which
 * the shim's waits go through libc's wrappers.
 *
 * -A BLOCK measures what a preloaded shim costs inside one process: the loop
 * alternates every BLOCK iterations between the epoll calls (and close) the
 * program links -- the shim's, when it is preloaded -- and libc's own
 * (dlopen of libc.so.6, RTLD_NOLOAD), both through the same pointers, and
 * adds to the JSON the median ns per iteration of each kind of block and
 * the median of the differences of a block and the one before it
 * ("own_minus_libc_ns"): the drift between separate runs, larger on a
 * shared host than the shim's direct way costs, cancels.  Only in the
 * modes whose iteration ends with a wait or a close (rearm, double, conn),
 * where a shim that defers has flushed what it queued before libc's calls
 * run.
 *
 * Bounded: at most -i iterations and at most -d seconds (checked every 64
 * iterations; -d 0: no time bound).  -W iterations run untimed first
 * (default 0, so syscall counts stay exact per -i).  Prints one JSON object.
 *
 *   epbatch-rearm [-c] [-m MODE] [-w WAIT] [-n FDS] [-i ITERATIONS]
 *                 [-t TIMEOUT_MS] [-u PWAIT2_TIMEOUT_US] [-W WARMUP] [-d SECONDS]
 *                 [-S TIMER_SLACK_NS] [-x] [-A BLOCK] [-T] [-C]
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 1024

enum mode { M_KEEPALIVE, M_REARM, M_DOUBLE, M_IDLE, M_CONN };
enum wait_form { W_DEFAULT, W_BLOCK, W_ZERO, W_SHORT, W_PWAIT, W_PWAIT2 };

static const char *const mode_names[] = { "keepalive", "rearm", "double", "idle", "conn" };
static const char *const wait_names[] = { "default", "block", "zero", "short", "pwait", "pwait2" };

static int ep, nfds = 64, timeout_ms = 1, timeout_us = -1;
static int sv[MAX_FDS][2];
static struct epoll_event out[MAX_FDS];
static enum wait_form wform = W_DEFAULT;
static sigset_t wait_mask;
static long ctl_calls;

/* The calls the loop makes: the linked ones, or (-A) libc's in every other
 * block (find_libc). */
struct calls {
	int (*ctl)(int, int, int, struct epoll_event *);
	int (*wait)(int, struct epoll_event *, int, int);
	int (*pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*pwait2)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
	int (*close)(int);
};
static struct calls own = { epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2, close }, libc_calls;
static const struct calls *use = &own;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int parse(const char *arg, const char *what, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi) {
		fprintf(stderr, "epbatch-rearm: %s must be an integer in [%d, %d], not '%s'\n",
			what, lo, hi, arg);
		exit(2);
	}
	return (int)v;
}

static int lookup(const char *arg, const char *what, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	fprintf(stderr, "epbatch-rearm: unknown %s '%s'\n", what, arg);
	exit(2);
}

static void die(const char *what, int it)
{
	fprintf(stderr, "epbatch-rearm: iteration %d: %s: %s\n", it, what, strerror(errno));
	exit(1);
}

static int do_wait(void)
{
	struct timespec ts = { timeout_us / 1000000, (long)(timeout_us % 1000000) * 1000 };

	switch (wform) {
	case W_BLOCK: return use->wait(ep, out, MAX_FDS, -1);
	case W_ZERO: return use->wait(ep, out, MAX_FDS, 0);
	case W_SHORT: return use->wait(ep, out, MAX_FDS, timeout_ms);
	case W_PWAIT: return use->pwait(ep, out, MAX_FDS, -1, &wait_mask);
	case W_PWAIT2: return use->pwait2(ep, out, MAX_FDS, &ts, NULL);
	case W_DEFAULT: break;
	}
	return use->wait(ep, out, MAX_FDS, timeout_ms);
}

static void mod(int i, unsigned events, int it)
{
	struct epoll_event ev = { .events = events, .data.u32 = (unsigned)i };

	ctl_calls++;
	if (use->ctl(ep, EPOLL_CTL_MOD, sv[i][0], &ev) < 0)
		die("epoll_ctl MOD", it);
}

static void check(int n, int want, int it)
{
	if (n < 0)
		die("wait", it);
	if (n != want) {
		fprintf(stderr, "epbatch-rearm: iteration %d: the wait returned %d, expected %d\n",
			it, n, want);
		exit(1);
	}
}

/* One iteration of mode m; returns the events the wait returned. */
static int iteration(enum mode m, int it)
{
	const unsigned one = EPOLLIN | EPOLLONESHOT;
	int n;

	switch (m) {
	case M_KEEPALIVE:
		n = do_wait();
		check(n, nfds, it);
		for (int k = 0; k < n; k++)
			mod((int)out[k].data.u32, one, it);
		return n;
	case M_REARM:
	case M_IDLE:
		for (int i = 0; i < nfds; i++)
			mod(i, one, it);
		n = do_wait();
		check(n, m == M_IDLE ? 0 : nfds, it);
		return n;
	case M_DOUBLE:
		for (int i = 0; i < nfds; i++)
			mod(i, one | EPOLLOUT, it);
		for (int i = 0; i < nfds; i++)
			mod(i, one, it);
		n = do_wait();
		check(n, nfds, it);
		return n;
	case M_CONN: {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)it };
		int fd = eventfd(1, EFD_NONBLOCK);

		if (fd < 0)
			die("eventfd", it);
		ctl_calls++;
		if (use->ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl ADD", it);
		n = do_wait();
		check(n, 1, it);
		if (out[0].data.u32 != (unsigned)it) {
			fprintf(stderr, "epbatch-rearm: iteration %d: wrong event\n", it);
			exit(1);
		}
		ctl_calls++;
		if (use->ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0 || use->close(fd) < 0)
			die("DEL/close", it);
		return n;
	}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: epbatch-rearm [-c] [-m keepalive|rearm|double|idle|conn]\n"
		"                     [-w block|zero|short|pwait|pwait2] [-n FDS] [-i ITERATIONS]\n"
		"                     [-t TIMEOUT_MS] [-u PWAIT2_TIMEOUT_US] [-W WARMUP] [-d SECONDS]\n"
		"                     [-S TIMER_SLACK_NS] [-x] [-A BLOCK] [-T] [-C]\n");
	exit(2);
}

/* -T's thread: it only makes the process multi-threaded */
static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void start_idle_thread(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, idle_thread, NULL);

	if (err) {
		fprintf(stderr, "epbatch-rearm: -T: pthread_create: %s\n", strerror(err));
		exit(1);
	}
	pthread_detach(t);
}

/* -C: a thread cancelled (asleep in pause(), a cancellation point) and
 * joined */
static void cancel_a_thread(void)
{
	pthread_t t;
	void *ret = NULL;
	int err = pthread_create(&t, NULL, idle_thread, NULL);

	if (!err)
		err = pthread_cancel(t);
	if (!err)
		err = pthread_join(t, &ret);
	if (err || ret != PTHREAD_CANCELED) {
		fprintf(stderr, "epbatch-rearm: -C: %s\n",
			err ? strerror(err) : "the thread was not cancelled");
		exit(1);
	}
}

/* libc's own calls, past any preloaded library (-A) */
static void find_libc(void)
{
	void *h = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);

	if (h) {
		libc_calls.ctl = (__typeof__(libc_calls.ctl))dlsym(h, "epoll_ctl");
		libc_calls.wait = (__typeof__(libc_calls.wait))dlsym(h, "epoll_wait");
		libc_calls.pwait = (__typeof__(libc_calls.pwait))dlsym(h, "epoll_pwait");
		libc_calls.pwait2 = (__typeof__(libc_calls.pwait2))dlsym(h, "epoll_pwait2");
		libc_calls.close = (__typeof__(libc_calls.close))dlsym(h, "close");
	}
	if (!h || !libc_calls.ctl || !libc_calls.wait || !libc_calls.pwait || !libc_calls.pwait2 ||
	    !libc_calls.close) {
		fprintf(stderr, "epbatch-rearm: -A: libc's epoll calls not found: %s\n", dlerror());
		exit(1);
	}
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Not user/base's stats_median(): the loop links nothing but libc (each
 * library is one more open and close at start-up, and t-shim-syscalls.sh
 * counts the loop's close calls). */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* -A's figures: the blocks' ns per iteration, own ones at even indexes */
static void print_alt(const double *blk, int nb, int block)
{
	int half = nb / 2, k = 0;
	double *o = malloc(sizeof(double) * (size_t)(half + 1)), *l = malloc(sizeof(double) * (size_t)(half + 1)),
	       *d = malloc(sizeof(double) * (size_t)nb);

	if (!o || !l || !d) {
		fprintf(stderr, "epbatch-rearm: out of memory\n");
		exit(1);
	}
	for (int i = 0; i + 1 < nb; i += 2) {
		o[i / 2] = blk[i];
		l[i / 2] = blk[i + 1];
	}
	/* each block against the one before it: an own block's excess over
	 * the libc block around it, both ways, so a drift cancels */
	for (int i = 1; i < nb; i++)
		d[k++] = i % 2 ? blk[i - 1] - blk[i] : blk[i] - blk[i - 1];
	printf(", \"alt_block\": %d, \"alt_pairs\": %d, \"ns_per_iter_own\": %.1f, "
	       "\"ns_per_iter_libc\": %.1f, \"own_minus_libc_ns\": %.1f",
	       block, half, median(o, half), median(l, half), median(d, k));
	free(o);
	free(l);
	free(d);
}

int main(int argc, char **argv)
{
	enum mode m = M_KEEPALIVE;
	int iters = 20000, warmup = 0, slack = -1, seconds = 10, opt, it, t_set = 0, excl = 0;
	int alt = 0, nb = 0, threaded = 0, cancelled = 0;
	double t0, t1, tb, deadline, *blk = NULL;
	long events = 0, eff_us;

	while ((opt = getopt(argc, argv, "cm:w:n:i:t:u:W:d:S:xA:TC")) != -1) {
		switch (opt) {
		case 'c': m = M_CONN; break;
		case 'm': m = (enum mode)lookup(optarg, "mode", mode_names, 5); break;
		case 'w': wform = (enum wait_form)lookup(optarg, "wait form", wait_names, 6); break;
		case 'n': nfds = parse(optarg, "-n", 1, MAX_FDS); break;
		case 'i': iters = parse(optarg, "-i", 1, 100000000); break;
		case 't': timeout_ms = parse(optarg, "-t", -1, 1000000); t_set = 1; break;
		case 'W': warmup = parse(optarg, "-W", 0, 100000000); break;
		case 'u': timeout_us = parse(optarg, "-u", 0, 1000000000); break;
		case 'S': slack = parse(optarg, "-S", 0, 1000000000); break;
		case 'd': seconds = parse(optarg, "-d", 0, 86400); break;
		case 'x': excl = 1; break;
		case 'A': alt = parse(optarg, "-A", 1, 100000000); break;
		case 'T': threaded = 1; break;
		case 'C': cancelled = 1; break;
		default: usage();
		}
	}
	if (optind != argc) {
		fprintf(stderr, "epbatch-rearm: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (wform == W_DEFAULT) {
		/* old interface: -t is the epoll_wait timeout, default -1 */
		if (!t_set)
			timeout_ms = m == M_IDLE ? 1 : -1;
	} else if (!t_set || timeout_ms < 0) {
		timeout_ms = 1;
	}
	if (timeout_us < 0)
		timeout_us = timeout_ms < 0 ? 0 : timeout_ms * 1000;
	if (m == M_IDLE && (wform == W_BLOCK || wform == W_PWAIT ||
			    (wform == W_DEFAULT && timeout_ms < 0))) {
		fprintf(stderr, "epbatch-rearm: idle mode needs a wait that times out\n");
		return 2;
	}
	if (alt && m != M_REARM && m != M_DOUBLE && m != M_CONN) {
		fprintf(stderr, "epbatch-rearm: -A needs a mode whose iteration ends with a wait or a "
			"close: rearm, double or conn\n");
		return 2;
	}
	if (alt && iters < 2 * alt) {
		fprintf(stderr, "epbatch-rearm: -A %d needs -i of at least %d (two blocks)\n", alt,
			2 * alt);
		return 2;
	}
	if (alt) {
		find_libc();
		blk = malloc(sizeof(double) * (size_t)(iters / alt + 1));
		if (!blk) {
			perror("epbatch-rearm: malloc");
			return 1;
		}
	}
	if (slack < 0 && m == M_IDLE)
		slack = 1;
	/* PR_SET_TIMERSLACK 0 means "the default": 1 ns is the least */
	if (slack > 0 && prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0) < 0) {
		perror("epbatch-rearm: PR_SET_TIMERSLACK");
		return 1;
	}
	sigprocmask(SIG_BLOCK, NULL, &wait_mask);
	if (threaded)
		start_idle_thread();
	if (cancelled)
		cancel_a_thread();
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("epbatch-rearm: epoll_create1");
		return 1;
	}
	if (m != M_CONN) {
		for (int i = 0; i < nfds; i++) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = i };

			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]) < 0 ||
			    (m != M_IDLE && write(sv[i][1], "x", 1) != 1) ||
			    epoll_ctl(ep, EPOLL_CTL_ADD, sv[i][0], &ev) < 0) {
				perror("epbatch-rearm: setup");
				return 1;
			}
		}
		/* keepalive waits first: everything is armed and ready */
	}
	if (excl) {	/* after the others: not the process's first epoll_ctl */
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = MAX_FDS };
		int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		if (efd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0) {
			perror("epbatch-rearm: exclusive fd");
			return 1;
		}
	}
	for (it = 0; it < warmup; it++)
		iteration(m, it);
	ctl_calls = 0;
	t0 = tb = now_ns();
	deadline = seconds ? t0 + seconds * 1e9 : 0;
	for (it = 0; it < iters; it++) {
		events += iteration(m, it);
		if (alt && (it + 1) % alt == 0) {
			double t = now_ns();

			blk[nb++] = (t - tb) / alt;
			tb = t;
			use = nb % 2 ? &libc_calls : &own;
		}
		if (deadline && (it & 63) == 63 && now_ns() > deadline) {
			it++;
			break;
		}
	}
	t1 = now_ns();
	switch (wform) {
	case W_BLOCK: case W_PWAIT: eff_us = -1; break;
	case W_ZERO: eff_us = 0; break;
	case W_PWAIT2: eff_us = timeout_us; break;
	default: eff_us = timeout_ms < 0 ? -1 : timeout_ms * 1000L; break;
	}
	printf("{\"mode\": \"%s\", \"wait\": \"%s\", \"fds\": %d, \"timeout_us\": %ld, "
	       "\"iterations\": %d, \"events\": %ld, \"ctl_calls\": %ld, \"ns_per_iter\": %.1f, "
	       "\"ns_per_ctl\": %.1f, \"timer_slack_ns\": %ld, \"exclusive\": %s, \"threaded\": %s, "
	       "\"cancelled\": %s",
	       mode_names[m], wait_names[wform], m == M_CONN ? 1 : nfds, eff_us, it, events,
	       ctl_calls, (t1 - t0) / it, ctl_calls ? (t1 - t0) / ctl_calls : 0.0,
	       slack > 0 ? (long)slack : (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0),
	       excl ? "true" : "false", threaded || cancelled ? "true" : "false",
	       cancelled ? "true" : "false");
	if (alt && nb < 2) {
		fprintf(stderr, "epbatch-rearm: -A: the time bound (-d) ended the loop before two "
			"blocks\n");
		return 1;
	}
	if (alt)
		print_alt(blk, nb, alt);
	printf("}\n");
	free(blk);
	return 0;
}
