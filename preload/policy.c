/* SPDX-License-Identifier: MIT */
/*
 * When batching pays.  A batch has a fixed cost (an io_uring_enter, its
 * request set-up and completions; the module's ioctl) and saves a little per
 * op (one syscall entry and exit).  How much of each depends on the machine:
 * where syscalls are cheap (no KPTI, eIBRS) an io_uring EPOLL_CTL costs
 * nearly what the syscall does, so a batch of a few ops costs more than it
 * saves.  So the shim measures, once per process, the smallest batch its
 * backend runs faster than direct syscalls (min_batch), and each event-loop
 * thread chooses, at every wait, how its next iteration submits:
 *   direct  each epoll_ctl goes to the kernel at once, with no more work in
 *           user space than the mirror's bookkeeping: the shim costs a few
 *           instructions per call and no syscall;
 *   batch   ops are deferred (coalescing cancels ADD+DEL, folds MOD+MOD) and
 *           applied at the next flush point: with the backend, fused with
 *           the wait, when at least min_batch ops survived coalescing, else
 *           as direct syscalls.
 * A thread batches when its recent iterations had, after coalescing, at
 * least min_batch ops, or when coalescing removed a quarter of them (which
 * it learns by batching one iteration in 64 while direct).
 * Connection ops are priced apart: an ADD, or a DEL with the close after it
 * (fused into one io_uring_enter), does not save what a MOD does -- the
 * close flushes the queue at once, and every other thread's epoll_ctl takes
 * the careful way while one batches -- so the shim measures a second
 * break-even on a connection loop, and a loop's own break-even is that of
 * its mix (mix_break_even).
 */
#include "shim.h"
#include "epbatch/break_even.h"
#include "epbatch/min_batch.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int policy_fixed;			/* EPBATCH_MIN_BATCH=0: always batch */
_Atomic int ctl_careful = CAREFUL_INIT;
/* The break-even batch size (BE_*): of MODs for a wait that may block
 * (its fused form completes inline when events are ready) and for a
 * 0-timeout wait (its fused form also cancels the wait when nothing is
 * ready: dearer), and of connection ops (blocking waits).
 * 0: not measured yet; UINT_MAX: batching never pays. */
_Atomic unsigned min_batch[EPB_BRK_KINDS];
/* A batched 0-timeout wait goes unfused: the ops in one submission, then
 * the kernel's own epoll_wait(0), two syscalls where the fused form takes
 * one plus the wait's cancel.  The measurement chooses (calibrate): where
 * a syscall is cheap the cancel costs more than the syscall it saves. */
_Atomic int poll_unfused;
static int poll_form_fixed;	/* EPBATCH_POLL_FORM set: not the measurement's choice */
static unsigned calib_direct_ns[EPB_BRK_KINDS], calib_batch_ns[EPB_BRK_KINDS];	/* per iteration, at n = 16 */
#define CAL_SHOWN 4		/* their size: EPB_BE_SIZE(4) = 16 */

#define FIX 16			/* fixed point of the averages */
_Static_assert(FIX * FIX == EPB_SHARE_ONE, "shares are x FIX*FIX");
#define PROBE_EVERY 64		/* direct iterations between probes, at first */
#define CONN_AFTER 16		/* a loop's first iterations: its set-up (conn_break_even) */
#define PROBE_MAX 4096		/* ... doubling while probes find nothing to coalesce */

/* Direct threads reconsider only from this average (x FIX) on: below it
 * neither a batch nor coalescing can pay (coalescing needs two ops; a
 * batch, its break-even), and the measurement waits until a thread gets
 * there: one op per iteration, since a single MOD fused with its wait may
 * pay (set_min_batch raises it to 2 where it does not). */
unsigned policy_batch_from = 1 * FIX;

static void set_min_batch(const unsigned b[EPB_BRK_KINDS])
{
	unsigned least = UINT_MAX;

	/* min_batch[EPB_BRK_BLOCK] last: measure() tests it; 0 (not measured
	 * yet: the connection ops') is no bound */
	for (int k = EPB_BRK_KINDS - 1; k >= 0; k--) {
		atomic_store(&min_batch[k], b[k]);
		least = b[k] && b[k] < least ? b[k] : least;
	}
	policy_batch_from = (least < 2 ? least : 2) * FIX;
}

/*
 * EPBATCH_MIN_BATCH (epb_min_batch_parse): unset, measure; 0, always batch
 * (every op the mirror can answer is deferred, whatever the batch size: the
 * first version's behaviour, which the tests of the batching itself use);
 * otherwise batch from the sizes it gives, without measuring (what
 * `epbatch-trace run` passes on: the break-evens calibrate measured).  -1
 * after printing why on stderr.
 */
int policy_init(void)
{
	const char *v = getenv("EPBATCH_MIN_BATCH"), *form = getenv("EPBATCH_POLL_FORM");
	unsigned fixed[EPB_BRK_KINDS];
	int always = 0;

	/* EPBATCH_POLL_FORM: the 0-timeout waits' batched form, fused or
	 * unfused; unset, the measurement chooses (what `epbatch-trace run`
	 * passes on with the break-evens) */
	if (form && *form) {
		if (strcmp(form, "fused") && strcmp(form, "unfused")) {
			fprintf(stderr, "libepbatch: EPBATCH_POLL_FORM='%s': expected fused or unfused\n", form);
			return -1;
		}
		poll_form_fixed = 1;
		atomic_store(&poll_unfused, !strcmp(form, "unfused"));
	}

	if (v && *v) {
		_Static_assert(QCAP == EPB_MB_MAX, "EPBATCH_MIN_BATCH's largest size is a queue");
		always = epb_min_batch_parse(v, QCAP, fixed);
		if (always < 0) {
			fprintf(stderr, "libepbatch: EPBATCH_MIN_BATCH='%s': expected 0 (always batch), a batch size 1..%d, "
				"MOD,CONN or BLOCK,POLL,CONN (each a size or never)\n", v, QCAP);
			return -1;
		}
	}
	if (be_kind == EPB_BE_SYNC) {
		const unsigned never[EPB_BRK_KINDS] = { UINT_MAX, UINT_MAX, UINT_MAX };

		set_min_batch(never);
		policy_batch_from = UINT_MAX;	/* sync: always direct */
		return 0;
	}
	if (!v || !*v)
		return 0;
	set_min_batch(fixed);
	if (always) {
		policy_fixed = 1;
		policy_batch_from = 0;
	}
	return 0;
}

static unsigned long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000000000UL + (unsigned long)ts.tv_nsec;
}

#define CAL_ITERS 2	/* iterations per timed run */
#define CAL_RUNS 3	/* runs per variant, interleaved; the minimum counts */
#define CAL_RUNS_CLEAR 2	/* ... or this many where the verdict is clear */
#define CAL_SIZES EPB_BE_SIZES	/* 1, 2, 4, 8, 16, 32 */
#define CAL_FDS ((int)EPB_BE_SIZE(CAL_SIZES - 1))	/* the largest batch measured */

/* Who holds the measurement: 0 nobody, CALIB_MEASURING a thread measures
 * (calibrate), CALIB_FORKING a fork waits for none to be under way. */
enum { CALIB_MEASURING = 1, CALIB_FORKING = 2 };
static _Atomic int calib_busy;
static TLS int calib_mine;	/* this thread measures, or is about to */
static TLS int fork_hold;	/* this thread's forks under way that hold calib_busy */
static struct tq calib_q;	/* the measuring thread's queue meanwhile */
static uint8_t *calib_idx;	/* its index by fd (struct tq) */

/*
 * The application's epoll_ctl is a call.  Inlined here, the direct way's
 * syscalls would run without a return after them, and on a host where the
 * first return after a syscall costs ~85 ns (the 2026-12-06 one:
 * docs/performance.md, "Fourteenth pass") the direct way would look a
 * third cheaper than any application finds it.
 */
static __attribute__((noinline)) int cal_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	return shim_ctl(ep, op, fd, ev);
}

/*
 * ns per loop iteration of a MOD of each of n ready sockets and a wait that
 * returns an event (blocking, or with timeout 0: poll), through the shim's
 * own paths: the direct one (batch 0) or deferral and the fused wait (batch
 * 1), so the user-space work of each way is in the figure, not only the
 * kernel's.  n different fds: MODs of one fd would be coalesced into one.
 */
static unsigned long time_loop(int ep, const int *fds, unsigned n, int batch, int poll)
{
	struct epoll_event out[2];
	unsigned long t0;

	thr.lp.batch = batch;
	t0 = now_ns();
	for (int it = 0; it < CAL_ITERS; it++) {
		for (unsigned i = 0; i < n; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };

			cal_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
		}
		shim_wait(ep, out, 2, poll ? 0 : -1, NULL, NULL, EPB_WAIT);
	}
	return (now_ns() - t0) / CAL_ITERS;
}

/* A new fd for a connection (a dup of a ready socket), ADDed to ep:
 * 0, or -1 when out of fds. */
static int conn_open(int ep, int sock, int *fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	*fd = (int)real_syscall(SYS_dup, sock);
	if (*fd < 0 || !slot_ptr(thr.tab, *fd))
		return -1;
	note_pollable(*fd);
	cal_ctl(ep, EPOLL_CTL_ADD, *fd, &ev);
	return 0;
}

/* A connection's DEL and its close (batched: one io_uring_enter, close.c). */
static void conn_close(int ep, int fd)
{
	int rc;

	cal_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	if (!close_first(fd, &rc))
		real_close(fd);
}

/*
 * ns per loop iteration of n connection ops through the shim's own paths,
 * as a connection-per-request server makes them: n/2 new fds (dups of
 * ready sockets) each ADDed, a blocking wait (it returns at once), then
 * each DEL'd and closed; n = 1, half a connection per iteration: an ADD
 * and a wait, then a DEL, its close and a wait (a server whose iteration
 * accepts a connection or ends one).  The dups and closes cost both ways
 * alike.
 */
static unsigned long time_conn_loop(int ep, const int *socks, unsigned n, int batch)
{
	struct epoll_event out[2];
	int fds[CAL_FDS / 2];
	unsigned long t0;
	unsigned conns = n / 2, made;

	thr.lp.batch = batch;
	t0 = now_ns();
	for (int it = 0; n == 1 && it < CAL_ITERS; it += 2) {
		if (conn_open(ep, socks[0], &fds[0]))
			return 0;	/* out of fds: 0 both ways, "never" */
		shim_wait(ep, out, 2, -1, NULL, NULL, EPB_WAIT);
		conn_close(ep, fds[0]);
		shim_wait(ep, out, 2, -1, NULL, NULL, EPB_WAIT);
	}
	for (int it = 0; n > 1 && it < CAL_ITERS; it++) {
		for (made = 0; made < conns; made++)
			if (conn_open(ep, socks[made], &fds[made]))
				break;
		shim_wait(ep, out, 2, -1, NULL, NULL, EPB_WAIT);
		for (unsigned i = 0; i < made; i++)
			conn_close(ep, fds[i]);
		if (made < conns)
			return 0;	/* out of fds: 0 both ways, "never" */
	}
	return (now_ns() - t0) / CAL_ITERS;
}

/*
 * The smallest batch that this thread's backend, with the shim's
 * bookkeeping, runs faster than the direct way, at that size and every
 * larger size measured (1..32; the rule: epb_break_even), for each kind
 * (BE_*): MOD loops with a blocking and with a 0-timeout wait, connection
 * loops.  UINT_MAX: batching never pays here.  On a private epoll instance
 * and socket pairs (raw syscalls, then told to the mirror), with this
 * thread's queue set aside and signals blocked (a handler's epoll_ctl
 * would land in the scratch queue).
 */
static unsigned long time_kind(int kind, int ep, const int *fds, unsigned n, int batch)
{
	if (kind == EPB_BRK_CONN)
		return time_conn_loop(ep, fds, n, batch);
	return time_loop(ep, fds, n, batch, kind == EPB_BRK_POLL);
}

/* Socket pairs for the measurement, made as it needs them (where the
 * answer comes at the smallest sizes, few are): up to want, each with a
 * byte pending on its far end and its near end ADDed to ep (id: ep's
 * instance) and told to the mirror.  *nfd counts the pairs made (to
 * close).  0, or -1 when one could not be made ready. */
static int cal_fds(int ep, unsigned id, int sv[][2], int *fds, int *nfd, int want)
{
	for (; *nfd < want; ++*nfd) {
		struct epoll_event ev = { .events = EPOLLIN };
		int i = *nfd;

		if (real_syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]) < 0)
			return -1;
		fds[i] = sv[i][0];
		if (!slot_ptr(thr.tab, sv[i][1]) || write(sv[i][1], "x", 1) != 1 ||
		    sys_epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			++*nfd;
			return -1;
		}
		slot_set(fds[i], s_make(K_POLL, id, S_REG, EPOLLIN));
	}
	return 0;
}

/*
 * One kind's times at each size, the smallest first, d[] direct and b[]
 * batched: the minimum of up to CAL_RUNS interleaved runs, of CAL_RUNS_CLEAR
 * where the verdict is clear (epb_be_clear); the larger sizes only until
 * the answer is settled (epb_break_even_settled; then extended along the
 * lines).  0 when done, -1 when the fds ran out.
 */
static int calibrate_kind(int k, int ep, unsigned id, int sv[][2], int *fds, int *nfd,
			  unsigned long d[CAL_SIZES], unsigned long b[CAL_SIZES])
{
	for (int s = 0; s < CAL_SIZES; s++) {
		unsigned n = EPB_BE_SIZE(s);

		if (cal_fds(ep, id, sv, fds, nfd, (int)n))
			return -1;
		if (s == 0) {
			/* untimed: the ring's set-up, cold caches */
			time_kind(k, ep, fds, n, 0);
			time_kind(k, ep, fds, n, 1);
		}
		d[s] = b[s] = ULONG_MAX;
		for (int r = 0; r < CAL_RUNS; r++) {
			unsigned long t = time_kind(k, ep, fds, n, 0);

			d[s] = t < d[s] ? t : d[s];
			t = time_kind(k, ep, fds, n, 1);
			b[s] = t < b[s] ? t : b[s];
			if (r + 1 >= CAL_RUNS_CLEAR && epb_be_clear(d[s], b[s]))
				break;
		}
		if (epb_break_even_settled(d, b, s + 1)) {
			epb_break_even_extend(d, b, s + 1);
			break;
		}
	}
	return 0;
}

/*
 * The 0-timeout waits' form: fused (d, b: direct and fused times by size)
 * or unfused (du, bu), whichever pays from the smaller batch (at the same
 * size, the faster at the size shown); the chosen one's times stay in d
 * and b, which the break-even is taken from.
 */
static void choose_poll_form(unsigned long d[CAL_SIZES], unsigned long b[CAL_SIZES],
			     const unsigned long du[CAL_SIZES], const unsigned long bu[CAL_SIZES])
{
	unsigned fused = epb_break_even(d, b), unfused = epb_break_even(du, bu);
	int pick = unfused && (!fused || unfused < fused ||
			       (unfused == fused && bu[CAL_SHOWN] < b[CAL_SHOWN]));

	atomic_store(&poll_unfused, pick);
	if (pick) {
		memcpy(d, du, sizeof(du[0]) * CAL_SIZES);
		memcpy(b, bu, sizeof(bu[0]) * CAL_SIZES);
	}
}

static void calibrate(int conn, unsigned out[EPB_BRK_KINDS])
{
	/* the kinds measured: the MOD loops' (both wait forms) or the connection ops' */
	const int first = conn ? EPB_BRK_CONN : 0, end = conn ? EPB_BRK_KINDS : EPB_BRK_CONN;
	unsigned long d[EPB_BRK_KINDS][CAL_SIZES], b[EPB_BRK_KINDS][CAL_SIZES];
	unsigned long du[CAL_SIZES], bu[CAL_SIZES];
	struct loopstate saved_lp = thr.lp;
	struct tq *saved_q = thr.q;
	int ep, sv[CAL_FDS][2], fds[CAL_FDS], nfd = 0, saved = errno, k;
	sigset_t all, old;
	struct epinfo *epi;
	uint64_t e;

	for (k = 0; k < EPB_BRK_KINDS; k++)
		out[k] = UINT_MAX;
	ep = (int)real_syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
	if (ep < 0)
		return;
	note_epoll(ep, EPOLL_CLOEXEC);
	e = slot_ptr(thr.tab, ep) ? atomic_load(slot_ptr(thr.tab, ep)) : 0;
	if (!calib_idx)
		calib_idx = map_zero(TAB_MAX);
	if (s_kind(e) == K_EPOLL && calib_idx) {
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		memset(&calib_q, 0, sizeof(calib_q));
		calib_q.tid = my_tid();
		calib_q.tab = thr.tab;
		calib_q.idx = calib_idx;
		thr.q = &calib_q;
		thr.lp.bquiet = 1;	/* every timed wait its own (restored after) */
		epi = epi_get(s_id(e));
		atomic_store(&epi->owner, &calib_q);
		atomic_store(&epi->waiter, my_tid());
		thr.lp.calibrating = 1;
		/* The 0-timeout waits are timed in the form poll_unfused
		 * names: EPBATCH_POLL_FORM's, else fused, then unfused (below).
		 * No thread batches them before their break-even is known,
		 * so the measurement may set it as it goes. */
		if (!conn && !poll_form_fixed)
			atomic_store(&poll_unfused, 0);
		for (k = first; k < end; k++)
			if (calibrate_kind(k, ep, s_id(e), sv, fds, &nfd, d[k], b[k]))
				break;	/* out of fds: every kind stays "never" */
		if (k == end && !conn && !poll_form_fixed) {
			atomic_store(&poll_unfused, 1);
			if (calibrate_kind(EPB_BRK_POLL, ep, s_id(e), sv, fds, &nfd, du, bu))
				k = first;
		}
		thr.lp = saved_lp;
		thr.q = saved_q;
		atomic_store(&epi->waiter, WAITER_SHARED);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (k != end && !conn && !poll_form_fixed)
			atomic_store(&poll_unfused, 0);	/* not measured: the default form */
		if (k == end) {
			if (!conn && !poll_form_fixed)
				choose_poll_form(d[EPB_BRK_POLL], b[EPB_BRK_POLL], du, bu);
			for (k = first; k < end; k++) {
				calib_direct_ns[k] = (unsigned)d[k][CAL_SHOWN];
				calib_batch_ns[k] = (unsigned)b[k][CAL_SHOWN];
				out[k] = epb_break_even(d[k], b[k]);
				out[k] = out[k] ? out[k] : UINT_MAX;
			}
		}
	}
	slot_reset(ep);
	real_close(ep);
	for (int i = 0; i < nfd; i++) {
		slot_reset(sv[i][0]);
		slot_reset(sv[i][1]);
		real_close(sv[i][0]);
		real_close(sv[i][1]);
	}
	errno = saved;
}

/* calibrate() the MOD loops' kinds (conn 0) or the connection ops' (1),
 * unless another thread does or did: 0 when it measured now. */
static int measure(int conn, unsigned m[EPB_BRK_KINDS])
{
	int zero = 0, cancel;

	if (thr.crit)
		return -1;
	calib_mine = 1;		/* before the CAS: a handler's fork must not wait for us */
	if (!atomic_compare_exchange_strong(&calib_busy, &zero, CALIB_MEASURING)) {
		calib_mine = 0;
		return -1;	/* another thread measures, or a fork is under way */
	}
	if (atomic_load(&min_batch[conn ? EPB_BRK_CONN : EPB_BRK_BLOCK])) {
		atomic_store(&calib_busy, 0);
		calib_mine = 0;
		return -1;	/* another thread was quicker */
	}
	/* Its waits are the application's cancellation points, but a
	 * thread cancelled in the middle would leave calib_busy set, and
	 * every later fork waiting for it: cancellation waits till the end. */
	cancel = nocancel_begin();
	calibrate(conn, m);
	nocancel_end(cancel);
	for (int k = 0; k < EPB_BRK_KINDS; k++)	/* the others as they are */
		if ((k == EPB_BRK_CONN) != conn)
			m[k] = policy_min_batch_known(k);
	set_min_batch(m);
	atomic_store(&calib_busy, 0);
	calib_mine = 0;
	DTRACE_PROBE6(epbatch, calibrated, m[EPB_BRK_BLOCK], m[EPB_BRK_POLL],
		      calib_direct_ns[EPB_BRK_BLOCK], calib_batch_ns[EPB_BRK_BLOCK],
		      m[EPB_BRK_CONN], calib_direct_ns[EPB_BRK_CONN]);
	return 0;
}

/*
 * fork() (pthread_atfork prepare): wait out another thread's measurement and
 * keep a new one from starting until the fork is done.  A child forked in
 * the middle of one would hold its private socket pairs and epoll fd, and
 * calib_busy set by a thread it does not have: it would never measure, so
 * never batch.  The measuring thread's own handler may fork (its child goes
 * on measuring): it does not wait for itself.
 */
void policy_fork_prepare(void)
{
	/* a sleep, not sched_yield: a real-time forking thread must let the
	 * measuring one run; the bound only guards against a measurement
	 * that never ends (the child then measures anew: policy_fork_done) */
	const struct timespec nap = { .tv_nsec = 50 * 1000 };

	if (calib_mine || fork_hold) {
		fork_hold += fork_hold != 0;	/* a handler's fork inside ours */
		return;
	}
	for (int i = 0; i < 20000; i++) {	/* 1 s */
		int zero = 0;

		fork_hold = 1;	/* before the CAS, for the same reason */
		if (atomic_compare_exchange_strong(&calib_busy, &zero, CALIB_FORKING))
			return;
		fork_hold = 0;
		nanosleep(&nap, NULL);
	}
}

/* The fork is done, in the parent and in the child (child 1).  A child
 * made by a clone through syscall() had no prepare: if another thread was
 * measuring, that thread is not here, and this process measures anew (its
 * private fds stay open in the child: docs/shim.md). */
void policy_fork_done(int child)
{
	if (fork_hold) {
		if (!--fork_hold)
			atomic_store(&calib_busy, 0);
	} else if (child && !calib_mine) {
		atomic_store(&calib_busy, 0);
	}
}

/* policy_min_batch() before its break-even is known: measured on first use
 * (from a wait of a loop thread, never inside the shim) with the other wait
 * form's.  While another thread measures: UINT_MAX (direct), for now. */
unsigned policy_min_batch_measure(void)
{
	unsigned b;
	unsigned m[EPB_BRK_KINDS];

	if (thr.lp.calibrating)
		return 1;	/* the measurement's own fused waits */
	if (measure(0, m)) {
		b = atomic_load_explicit(&min_batch[thr.lp.poll], memory_order_relaxed);
		return b ? b : UINT_MAX;	/* measured meanwhile, or still measuring */
	}
	return m[thr.lp.poll];
}

/* The connection ops' break-even, measured the first time a loop thread
 * past its start makes half a connection op per iteration or more between
 * two decisions (conn_average sets l->conn_loop), so a MOD loop never pays
 * for it: the ADDs that set a loop up come in its first CONN_AFTER
 * iterations, and its average, which decays only once per decision, would
 * remember them long after.  0 while not known (for the mix: connection
 * ops never pay). */
static unsigned conn_break_even(const struct loopstate *l)
{
	unsigned b = policy_min_batch_known(EPB_BRK_CONN), m[EPB_BRK_KINDS];

	if (likely(b) || !l->conn_loop || l->calibrating || measure(1, m))
		return b;
	return m[EPB_BRK_CONN];
}

/* A measured break-even (kind: BE_*): 0 when not measured yet. */
unsigned policy_min_batch_known(int kind)
{
	return atomic_load_explicit(&min_batch[kind], memory_order_relaxed);
}

/* epb_mix_break_even() with the shim's UINT_MAX for "never" (share: x FIX*FIX,
 * which is EPB_SHARE_ONE). */
static unsigned mix_break_even(unsigned mb, unsigned mbc, unsigned share)
{
	unsigned r = epb_mix_break_even(mb == UINT_MAX ? 0 : mb, mbc == UINT_MAX ? 0 : mbc, share);

	return r ? r : UINT_MAX;
}

/*
 * A direct answer stands until the average reaches the size at which the
 * backend would pay (est >= mb: avg >= mb * FIX^3 / ratio) or a probe is
 * due: until then the waits answer it themselves (policy_count_wait), and
 * a loop of 2..min_batch ops per iteration pays a few instructions a wait
 * instead of this function.  (Coalescing's share, the other reason to
 * batch, changes only in batched iterations.)
 */
static void skip_until_change(struct loopstate *l, unsigned mb)
{
	unsigned every = l->probe_every ? l->probe_every : PROBE_EVERY;
	unsigned long long at;

	if (!l->coal)
		return;		/* the first probe is due at once */
	at = mb == UINT_MAX ? INT_MAX :
	     (unsigned long long)mb * FIX * FIX * FIX / (unsigned)(l->ratio ? l->ratio : FIX * FIX);
	l->recheck_avg = at > INT_MAX ? INT_MAX : (int)at;
	l->recheck_left = l->recheck_set = every > l->probe + 1 ? every - l->probe - 1 : 0;
}

/* A batching loop past its start decides again QUIET_WAITS iterations on
 * (policy_batch_quiet counts those between); its first ones decide at
 * once, as on the direct side. */
static void batch_block(struct loopstate *l, const struct tq *q)
{
	if (q->st.iters_direct + q->st.iters_batch >= 2 * QUIET_WAITS)
		l->bquiet = l->bquiet_len = QUIET_WAITS;
}

/* Connection ops per iteration since the last decision, into their
 * average (and l->conn_loop): the waits that answered without policy_decide() counted their
 * ADDs and DELs into l->conn and their iterations into q's counters. */
static HOT void conn_average(struct loopstate *l, const struct tq *q)
{
	unsigned long iters = q->st.iters_direct + q->st.iters_batch - l->iters_mark;

	if (iters) {
		unsigned long per = (unsigned long)l->conn * FIX / iters;

		l->avg_conn = ewma(l->avg_conn, per > INT_MAX ? INT_MAX : (int)per);
		l->conn_loop = l->iters_mark >= CONN_AFTER && per >= FIX / 2;
	}
	l->iters_mark += iters;
	l->conn = 0;
}

/*
 * At each wait of an event-loop thread (policy_wait in shim.h does the
 * common case inline): this iteration's numbers (ops: its epoll_ctl calls;
 * q->live: of them still queued after coalescing, when it batched) go into
 * the averages, and the next iteration's way is chosen.
 */
HOT void policy_decide(struct tq *q, int poll)
{
	struct loopstate *l = &thr.lp;
	unsigned est, mb, ops = 0;	/* a direct iteration's: counted already */
	int batch;

	l->poll = poll;
	if (l->calibrating)
		return;
	l->quiet = 1;		/* the next direct wait counts its own iteration */
	l->quiet_len = 1;
	/* direct iterations policy_count_wait() answered without us */
	l->probe += l->recheck_set - l->recheck_left;
	l->recheck_set = l->recheck_left = 0;
	if (l->batch) {
		/* this iteration, or the quiet block it ends (its n
		 * iterations' sums: policy_batch_quiet) */
		unsigned n = l->bquiet_len;

		ops = l->ops;
		l->ops = 0;
		q->st.iters_batch++;
		l->avg = ewma_n(l->avg, (int)(ops * FIX / n), n);
		/* ratio: of the ops, those a batch carried -- the wait (live,
		 * after coalescing) or a fused close (a DEL and the ops queued
		 * before it): both are what the break-evens were measured
		 * on; coal: those coalescing saved.  A probe (or the first
		 * batch) is one sample: taken as is. */
		if (ops) {
			int r = (int)((l->bcarried + q->live + l->closed) * FIX * FIX / ops) + 1;
			int c = (int)(l->saved * FIX * FIX / ops) + 1;
			int fresh = l->batch == 2;

			l->ratio = fresh || !l->ratio ? r : ewma_n(l->ratio, r, n);
			l->coal = fresh || !l->coal ? c : ewma_n(l->coal, c, n);
		}
	}
	l->saved = 0;
	l->closed = 0;
	l->bcarried = 0;
	l->bquiet = l->bquiet_len = 1;
	conn_average(l, q);
	if (policy_fixed) {
		if (!l->careful)
			atomic_fetch_add(&ctl_careful, 1);
		l->careful = 1;
		l->batch = 1;
		batch_block(l, q);
		return;
	}
	mb = policy_min_batch();
	mb = mix_break_even(mb, conn_break_even(l),
			    l->avg > 0 ? (unsigned)(l->avg_conn * FIX * FIX / l->avg) : 0);
	est = (unsigned)l->avg * (unsigned)(l->ratio ? l->ratio : FIX * FIX) / (FIX * FIX);
	/* the backend pays for what the wait would carry; coalescing pays
	 * when it saves a quarter of the ops */
	batch = (mb != UINT_MAX && est >= mb * FIX) ||
		(l->avg >= 2 * FIX && l->coal > FIX * FIX / 4);
	if (!batch && !l->batch && l->avg >= 2 * FIX &&
	    (++l->probe >= (l->probe_every ? l->probe_every : PROBE_EVERY) || !l->coal)) {
		l->probe = 0;
		/* a loop whose probes keep finding nothing to coalesce (the
		 * conn pattern: a DEL and an ADD of different fds) is probed
		 * less and less often: each probe costs a deferral */
		if (!l->probe_every)
			l->probe_every = PROBE_EVERY;
		else if (l->coal <= 1 && l->probe_every < PROBE_MAX)
			l->probe_every *= 2;
		else if (l->coal > 1)
			l->probe_every = PROBE_EVERY;
		batch = 2;	/* one iteration to see what coalescing does */
	}
	if (batch != 2 && (batch != 0) != l->settled) {
		l->settled = batch != 0;
		DTRACE_PROBE3(epbatch, mode, batch ? EPB_MODE_BATCH : EPB_MODE_DIRECT,
			      l->avg, l->ratio);
	}
	if (batch && !l->batch && !l->careful) {
		atomic_fetch_add(&ctl_careful, 1);
		l->careful = 1;
	}
	l->batch = batch;
	/* Back to direct: other threads may go direct too once this queue is
	 * empty (policy_release, after this wait's flush), not before. */
	if (!batch && l->careful && !q->n && !sig_pending())
		policy_release();
	if (!batch && !l->careful && policy_min_batch_known(poll))
		skip_until_change(l, mb);
	if (batch == 1)
		batch_block(l, q);
}

/* The iterations and ops of a block of direct waits not yet counted (its
 * last wait counts them: policy_count_wait), into q's counters: before
 * the stats are read at exit, and when the thread ends. */
void policy_count_block(struct tq *q)
{
	struct loopstate *l = &thr.lp;

	if (!q || l->quiet_len <= 1)
		return;
	policy_count_direct(q, l->quiet_len - l->quiet);	/* the block's waits done */
	l->quiet = 1;
	l->quiet_len = 1;
}

/* This thread no longer batches and its queue is empty. */
void policy_release(void)
{
	if (thr.lp.careful && !thr.lp.batch) {
		atomic_fetch_sub(&ctl_careful, 1);
		thr.lp.careful = 0;
	}
}

/* A thread that batched exits (its queue was flushed). */
void policy_thread_exit(void)
{
	thr.lp.batch = 0;
	thr.lp.bquiet = 1;
	policy_release();
}
