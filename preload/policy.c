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
 */
#include "shim.h"
#include "epbatch/break_even.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int policy_fixed;			/* EPBATCH_MIN_BATCH=0: always batch */
_Atomic int ctl_careful;
/* The break-even batch size for a wait that may block (its fused form
 * completes inline when events are ready) and for a 0-timeout wait (its
 * fused form also cancels the wait when nothing is ready: dearer).
 * 0: not measured yet; UINT_MAX: batching never pays. */
static _Atomic unsigned min_batch[2];
static unsigned calib_direct_ns[2], calib_batch_ns[2];	/* per iteration, at n = 16 */

#define FIX 16			/* fixed point of the averages */
#define PROBE_EVERY 64		/* direct iterations between probes, at first */
#define PROBE_MAX 4096		/* ... doubling while probes find nothing to coalesce */

/* Direct threads reconsider only from this average (x FIX) on: below it
 * neither a batch nor coalescing can pay (coalescing needs two ops), and
 * the measurement waits until a thread gets there. */
unsigned policy_batch_from = 2 * FIX;

static void set_min_batch(unsigned b, unsigned b_poll)
{
	atomic_store(&min_batch[1], b_poll);
	atomic_store(&min_batch[0], b);
	b = b < b_poll ? b : b_poll;
	policy_batch_from = (b < 2 ? b : 2) * FIX;
}

/* EPBATCH_MIN_BATCH: unset, measure; 0, always batch (every op the mirror
 * can answer is deferred, whatever the batch size: the first version's
 * behaviour, which the tests of the batching itself use); N, batch from N
 * ops on, without measuring.  -1 after printing why on stderr. */
int policy_init(void)
{
	const char *v = getenv("EPBATCH_MIN_BATCH");
	char *end;
	long n = 0;

	if (v && *v) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || *end || n < 0 || n > QCAP) {
			fprintf(stderr, "libepbatch: EPBATCH_MIN_BATCH='%s': expected 0 (always batch) or a batch size 1..%d\n",
				v, QCAP);
			return -1;
		}
	}
	if (be_kind == EPB_BE_SYNC) {
		set_min_batch(UINT_MAX, UINT_MAX);
		policy_batch_from = UINT_MAX;	/* sync: always direct */
		return 0;
	}
	if (!v || !*v)
		return 0;
	set_min_batch(n ? (unsigned)n : 1, n ? (unsigned)n : 1);
	if (!n) {
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

#define CAL_ITERS 4	/* iterations per timed run */
#define CAL_RUNS 5	/* runs per variant, interleaved; the minimum counts */
#define CAL_SIZES EPB_BE_SIZES	/* 2, 4, 8, 16, 32 */
#define CAL_FDS ((int)EPB_BE_SIZE(CAL_SIZES - 1))	/* the largest batch measured */

static _Atomic int calib_busy;	/* a thread is measuring */
static struct tq calib_q;	/* the measuring thread's queue meanwhile */
static uint8_t *calib_idx;	/* its index by fd (struct tq) */

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

			shim_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
		}
		shim_wait(ep, out, 2, poll ? 0 : -1, NULL, NULL, EPB_WAIT);
	}
	return (now_ns() - t0) / CAL_ITERS;
}

/*
 * The smallest batch that this thread's backend, with the shim's
 * bookkeeping, runs faster than the direct way, at that size and every
 * larger size measured (2..32; the rule: epb_break_even), for each wait
 * form: out[0] blocking, out[1] poll.  UINT_MAX: batching never pays
 * here.  On a
 * private epoll instance and socket pairs (raw syscalls, then told to the
 * mirror), with this thread's queue set aside and signals blocked (a
 * handler's epoll_ctl would land in the scratch queue).
 */
static void calibrate(unsigned out[2])
{
	unsigned long d[2][CAL_SIZES], b[2][CAL_SIZES];
	struct loopstate saved_lp = thr.lp;
	struct tq *saved_q = thr.q;
	int ep, sv[CAL_FDS][2], fds[CAL_FDS], nfd = 0, saved = errno;
	sigset_t all, old;
	struct epinfo *epi;
	uint64_t e;

	out[0] = out[1] = UINT_MAX;
	ep = (int)real_syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
	if (ep < 0)
		return;
	note_epoll(ep, EPOLL_CLOEXEC);
	e = slot_ptr(thr.tab, ep) ? atomic_load(slot_ptr(thr.tab, ep)) : 0;
	for (; nfd < CAL_FDS && s_kind(e) == K_EPOLL; nfd++) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (real_syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				 sv[nfd]) < 0)
			break;
		fds[nfd] = sv[nfd][0];
		if (!slot_ptr(thr.tab, sv[nfd][1]) || write(sv[nfd][1], "x", 1) != 1 ||
		    real_epoll_ctl(ep, EPOLL_CTL_ADD, fds[nfd], &ev) < 0) {
			nfd++;
			break;
		}
		slot_set(fds[nfd], s_make(K_POLL, s_id(e), S_REG, EPOLLIN));
	}
	if (!calib_idx)
		calib_idx = map_zero(TAB_MAX);
	if (nfd == CAL_FDS && calib_idx) {
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		memset(&calib_q, 0, sizeof(calib_q));
		calib_q.tid = my_tid();
		calib_q.tab = thr.tab;
		calib_q.idx = calib_idx;
		thr.q = &calib_q;
		thr.lp.calibrating = 1;
		epi = epi_get(s_id(e));
		atomic_store(&epi->owner, &calib_q);
		atomic_store(&epi->waiter, my_tid());
		for (int f = 0; f < 2; f++)
			for (int s = 0; s < CAL_SIZES; s++)
				d[f][s] = b[f][s] = ULONG_MAX;
		for (int r = 0; r < CAL_RUNS; r++)
			for (int f = 0; f < 2; f++)
				for (int s = 0; s < CAL_SIZES; s++) {
					unsigned long t;

					t = time_loop(ep, fds, EPB_BE_SIZE(s), 0, f);
					d[f][s] = t < d[f][s] ? t : d[f][s];
					t = time_loop(ep, fds, EPB_BE_SIZE(s), 1, f);
					b[f][s] = t < b[f][s] ? t : b[f][s];
				}
		thr.lp = saved_lp;
		thr.q = saved_q;
		atomic_store(&epi->waiter, WAITER_SHARED);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		for (int f = 0; f < 2; f++) {
			calib_direct_ns[f] = (unsigned)d[f][3];
			calib_batch_ns[f] = (unsigned)b[f][3];
			out[f] = epb_break_even(d[f], b[f]);
			out[f] = out[f] ? out[f] : UINT_MAX;
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

/* The break-even batch size for this thread's wait form (thr.lp.poll),
 * measured on first use (from a wait of a loop thread, never inside the
 * shim).  While another thread measures: UINT_MAX (direct), for now. */
unsigned policy_min_batch(void)
{
	unsigned b = atomic_load_explicit(&min_batch[thr.lp.poll], memory_order_relaxed);
	unsigned m[2];
	int zero = 0;

	if (likely(b))
		return b;
	if (thr.lp.calibrating)
		return 1;	/* the measurement's own fused waits */
	if (thr.crit || !atomic_compare_exchange_strong(&calib_busy, &zero, 1))
		return UINT_MAX;
	calibrate(m);
	set_min_batch(m[0], m[1]);
	DTRACE_PROBE4(epbatch, calibrated, m[0], m[1], calib_direct_ns[0], calib_batch_ns[0]);
	return m[thr.lp.poll];
}

/* The measured break-even of a wait form (0 blocking, 1 poll): 0 when not
 * measured yet. */
unsigned policy_min_batch_known(int poll)
{
	return atomic_load_explicit(&min_batch[poll], memory_order_relaxed);
}

/*
 * A direct answer stands until the average reaches the size at which the
 * backend would pay (est >= mb: avg >= mb * FIX^3 / ratio) or a probe is
 * due: until then the waits answer it themselves (policy_wait_direct), and
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

/*
 * At each wait of an event-loop thread (policy_wait in shim.h does the
 * common case inline): this iteration's numbers (ops: its epoll_ctl calls;
 * q->live: of them still queued after coalescing, when it batched) go into
 * the averages, and the next iteration's way is chosen.
 */
void policy_decide(struct tq *q, int poll)
{
	struct loopstate *l = &thr.lp;
	unsigned est, mb, ops = 0;	/* a direct iteration's: counted already */
	int batch;

	l->poll = poll;
	if (l->calibrating)
		return;
	/* direct iterations policy_wait_direct() answered without us */
	l->probe += l->recheck_set - l->recheck_left;
	l->recheck_set = l->recheck_left = 0;
	if (l->batch) {
		ops = l->ops;
		l->ops = 0;
		q->st.iters_batch++;
		l->avg = ewma(l->avg, (int)ops * FIX);
		/* ratio: of the ops, those the wait would carry (live, after
		 * coalescing and after what a close flushed); coal: those
		 * coalescing saved.  A probe (or the first batch) is one
		 * sample: taken as is. */
		if (ops) {
			int r = (int)(q->live * FIX * FIX / ops) + 1;
			int c = (int)(l->saved * FIX * FIX / ops) + 1;

			l->ratio = l->batch == 2 || !l->ratio ? r : ewma(l->ratio, r);
			l->coal = l->batch == 2 || !l->coal ? c : ewma(l->coal, c);
		}
	}
	l->saved = 0;
	if (policy_fixed) {
		if (!l->careful)
			atomic_fetch_add(&ctl_careful, 1);
		l->careful = 1;
		l->batch = 1;
		return;
	}
	mb = policy_min_batch();
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
	policy_release();
}
