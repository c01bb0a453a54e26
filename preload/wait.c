/* SPDX-License-Identifier: MIT */
/*
 * epoll_wait, epoll_pwait, epoll_pwait2: this thread's queue reaches the
 * kernel first, fused with the wait into one syscall where the backend can.
 */
#include "shim.h"

#include <errno.h>
#include <limits.h>

#ifdef EPBATCH_TEST_WINDOW
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

/*
 * Tests only (build/shim/libepbatch-window.so, tests/shim/t-shim-cancel-window.sh):
 * with EPBATCH_TEST_WINDOW set, a wait that pthread_cancel must interrupt
 * by a signal is held between its look (at raw_mt, at cancel_seen) and its
 * syscall until a signal comes (2 s at most) -- where the real build is
 * only for a few instructions, and a signal that lands there is spent
 * before the syscall (cancel.c: kick_until_heard signals again).  Only a
 * wait without a timeout, which nothing else would end.
 */
static void test_window(const char *where, int forever)
{
	struct timespec ts = { 2, 0 };
	int saved = errno;

	if (!forever || !getenv("EPBATCH_TEST_WINDOW"))
		return;
	if (real_syscall(SYS_nanosleep, &ts, NULL) == -1 && errno == EINTR) {
		/* a raw write: stdio's is a cancellation point, and a cancel is
		 * pending */
		char line[80];
		int n = snprintf(line, sizeof(line), "epbatch-window: a signal came in the %s wait's window\n",
				 where);

		real_syscall(SYS_write, 2, line, (long)n);
	}
	errno = saved;
}
#else
#define test_window(where, forever) ((void)0)
#endif

/*
 * Flush this thread's queue, then the real wait.  A signal handler that
 * runs after the flush (crit is 0 again) and calls epoll_ctl must not queue
 * its op: natively it would be in effect before the wait, and the wait
 * (maybe an infinite one) would not see it.  in_wait makes it pass through.
 */
static int plain_wait(int epfd, struct epoll_event *evs, int maxevents, int ms,
		      const struct timespec *ts, const sigset_t *sigmask,
		      enum epbatch_wait_kind kind)
{
	int rc;

	thr.in_wait++;
	flush_all(0);
	rc = sys_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	thr.in_wait--;
	return rc;
}

/* bare_wait() through libc's wrapper: in_wait around it, as around the
 * syscall. */
static inline __attribute__((always_inline)) int
libc_wait(int epfd, struct epoll_event *evs, int maxevents, int ms, const struct timespec *ts,
	  const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	int rc;

	thr.in_wait++;
	rc = real_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	thr.in_wait--;
	return rc;
}

#ifdef HAVE_SYS_DIRECT
/* A wait's mark for pthread_cancel (q->in_fused, cancel.c), one instruction
 * each way: a signal handler's wait nested in this one leaves it as it
 * found it.  Other threads only read it. */
static inline void wait_mark(struct tq *q)
{
	__asm__ __volatile__("incl %0" : "+m"(*(volatile int *)&q->in_fused));
}

static inline void wait_unmark(struct tq *q)
{
	__asm__ __volatile__("decl %0" : "+m"(*(volatile int *)&q->in_fused) : : "memory");
}

/* mt_wait() when the syscall failed (r: -errno) or was not made (raw_mt
 * off: r is -ENOSYS, as from a kernel without the syscall, and libc's
 * wrapper then answers either way).  An EINTR that pthread_cancel's signal
 * may have caused acts on the cancel; if this thread cannot be cancelled
 * and that signal was cancel.c's (kicked), the wait goes on as libc's, as
 * it would have natively: no signal reaches such a thread. */
static inline __attribute__((always_inline)) int
mt_failed(long r, int epfd, struct epoll_event *evs, int maxevents, int ms,
	  const struct timespec *ts, const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	if (r == -ENOSYS)
		return libc_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	if (r == -EINTR && atomic_load_explicit(&cancel_seen, memory_order_relaxed)) {
		cancel_point();
		if (atomic_exchange(&thr.q->kicked, 0))
			return libc_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	}
	return sys_fail(r);
}

static __attribute__((noinline, cold)) int
mt_wait_failed(int epfd, struct epoll_event *evs, int maxevents, int ms, long r)
{
	return mt_failed(r, epfd, evs, maxevents, ms, NULL, NULL, EPB_WAIT);
}

static __attribute__((noinline, cold)) int
mt_pwait_failed(int epfd, struct epoll_event *evs, int maxevents, int ms,
		const sigset_t *sigmask, long r)
{
	return mt_failed(r, epfd, evs, maxevents, ms, NULL, sigmask, EPB_PWAIT);
}

static __attribute__((noinline, cold)) int
mt_pwait2_failed(int epfd, struct epoll_event *evs, int maxevents, const struct timespec *ts,
		 const sigset_t *sigmask, long r)
{
	return mt_failed(r, epfd, evs, maxevents, 0, ts, sigmask, EPB_PWAIT2);
}

/* mt_failed() by a jump: the wait's own arguments and r */
static inline __attribute__((always_inline)) int
mt_slow(long r, int epfd, struct epoll_event *evs, int maxevents, int ms,
	const struct timespec *ts, const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	if (kind == EPB_WAIT)
		return mt_wait_failed(epfd, evs, maxevents, ms, r);
	if (kind == EPB_PWAIT)
		return mt_pwait_failed(epfd, evs, maxevents, ms, sigmask, r);
	return mt_pwait2_failed(epfd, evs, maxevents, ts, sigmask, r);
}

/*
 * bare_wait() in a process with more than one thread: the syscall here
 * while raw_mt is on (real.h), the thread's queue marked around it, so that
 * a pthread_cancel from another thread finds and interrupts it (cancel.c:
 * the mark, then the look at raw_mt; the canceller's membarrier stands for
 * the full barrier between them).  glibc's wrapper would enable
 * asynchronous cancellation around the syscall instead: two locked
 * instructions and ~50 others per wait.  The queue is there: bare_wait's
 * callers have one.  in_wait around the syscall, as in bare_wait.
 */
static inline __attribute__((always_inline)) int
mt_wait(int epfd, struct epoll_event *evs, int maxevents, int ms, const struct timespec *ts,
	const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	long r;

	wait_mark(thr.q);
	atomic_signal_fence(memory_order_seq_cst);
	if (unlikely(!sys_wait_direct_mt())) {
		wait_unmark(thr.q);
		/* libc's wrapper, a cancellation point */
		return mt_slow(-ENOSYS, epfd, evs, maxevents, ms, ts, sigmask, kind);
	}
	test_window("raw", kind == EPB_PWAIT2 ? !ts : ms < 0);
	thr.in_wait++;
	r = wait_syscall(epfd, evs, maxevents, ms, ts, sigmask, kind);
	thr.in_wait--;
	wait_unmark(thr.q);
	if (likely((unsigned long)r <= -4096UL))
		return (int)r;
	return mt_slow(r, epfd, evs, maxevents, ms, ts, sigmask, kind);
}
#else
#define mt_wait libc_wait
#endif

/* One function per kind, so that the wrappers reach it by a jump with their
 * own arguments. */
__attribute__((noinline)) int bare_wait_mt(int epfd, struct epoll_event *evs, int maxevents,
					   int ms)
{
	return mt_wait(epfd, evs, maxevents, ms, NULL, NULL, EPB_WAIT);
}

__attribute__((noinline)) int bare_pwait_mt(int epfd, struct epoll_event *evs, int maxevents,
					    int ms, const sigset_t *sigmask)
{
	return mt_wait(epfd, evs, maxevents, ms, NULL, sigmask, EPB_PWAIT);
}

__attribute__((noinline)) int bare_pwait2_mt(int epfd, struct epoll_event *evs, int maxevents,
					     const struct timespec *ts, const sigset_t *sigmask)
{
	return mt_wait(epfd, evs, maxevents, 0, ts, sigmask, EPB_PWAIT2);
}

static void become_loop_thread(void)
{
	thr.loop_thread = 1;
	unshare_loop_thread();
}

/* The first wait on an instance makes the caller its owner; a second
 * waiter makes it shared for good (the first one's queued ops must be in
 * the kernel before this thread looks). */
static void claim_waiter(struct epinfo *ep, unsigned id, int me)
{
	int wt = atomic_load(&ep->waiter);
	struct tq *q;

	if (wt == 0) {
		q = my_queue();
		atomic_store(&ep->owner, q);
		if (!q || !atomic_compare_exchange_strong(&ep->waiter, &wt, me))
			wt = atomic_load(&ep->waiter);
		else
			wt = me;
	}
	if (wt != me && wt != WAITER_SHARED) {
		atomic_compare_exchange_strong(&ep->waiter, &wt, WAITER_SHARED);
		sync_instance(id);
	}
}

/* A fused wait after its submission (be_submit, or fused_abandon's end of
 * it): the mirror takes the results, the handlers' side ops go to the
 * queue, and the thread is out of the shim again. */
static inline __attribute__((always_inline)) void
fused_end(struct tq *q, const struct qop *ops, unsigned n, const int *res, unsigned live,
	  enum epbatch_backend backend, const struct be_report *rep)
{
	thr.fctx = NULL;
	batch_done(q, ops, n, res, live, backend, rep);
	if (unlikely(atomic_load(&thr.nsig))) {
		queue_lock(q);
		take_sigops(q);
		queue_unlock(q);
	}
	thr.crit--;
	atomic_store_explicit(&q->in_fused, 0, memory_order_relaxed);
}

/* The queued ops and the wait in one submission (be_submit); q is the
 * thread's own (thr.q: fused_abandon finds it there).  The ops
 * leave the queue before the call so a thread that must flush it does not
 * wait behind a sleeping wait.  Their memory stays where it is, uncopied:
 * only this thread appends to q (another thread's flush finds it empty; a
 * signal handler's op goes to the side list while crit is up), and the
 * kernel copies each event as it prepares the op, inside the submission. */
static inline __attribute__((always_inline)) int
fused_wait(struct tq *q, int epfd, struct epoll_event *evs, int maxevents,
	   const struct timespec *ts, const sigset_t *sigmask)
{
	struct be_report rep = { 0, 0, 0 };
	const struct qop *ops;
	int res[QCAP];
	struct be_wait w;
	struct fused_ctx fc;
	unsigned n, live;
	int ordered, zero = 0;

	/* a cancellation point as glibc's waits are (cancel.c): the mark
	 * before the look, with a full barrier between while another thread
	 * could cancel this one */
	atomic_store_explicit(&q->kicked, 0, memory_order_relaxed);
	cas_int(&q->in_fused, &zero, 1);
	if (unlikely(atomic_load_explicit(&cancel_seen, memory_order_relaxed)))
		cancel_point();
	test_window("fused", !ts);
	thr.crit++;
	queue_lock(q);
	n = q->n;
	live = q->live;
	ordered = q->ordered;
	ops = q->ops;
	queue_clear(q);
	queue_unlock(q);

	w = (struct be_wait){ .epfd = epfd, .evs = evs, .maxevents = maxevents, .ts = ts,
			      .sigmask = sigmask, .sigops = &thr.nsig };
	/* for a handler that jumps out (fused_abandon); the locals stay in
	 * registers for the common way */
	fc = (struct fused_ctx){ .n = n, .live = live, .res = res, .rep = &rep };
	thr.fctx = &fc;
	be_submit(ops, n, live, ordered, res, &w, &rep);
	fused_end(q, ops, n, res, live, be_kind, &rep);
	if (unlikely(w.skipped))
		return INT_MIN;
	q->st.fused_waits++;
	DTRACE_PROBE3(epbatch, fused_wait, epfd, live, w.result);
	if (w.result < 0) {
		/* a signal ended it: pthread_cancel's (cancel.c) acts now; if
		 * this thread cannot be cancelled and only that signal came,
		 * the kernel's own wait goes on (the caller's plain way) */
		if (w.result == -EINTR && atomic_load_explicit(&cancel_seen, memory_order_relaxed)) {
			cancel_point();
			if (atomic_exchange(&q->kicked, 0))
				return INT_MIN;
		}
		errno = -w.result;
		return -1;
	}
	return w.result;
}

/*
 * The rest of fused_wait() for a signal handler that is leaving it with
 * siglongjmp (jump.c): the backend's submission brought to an end (no
 * request left armed, every op's result in), then fused_end() -- all but
 * its return.  Events the wait had taken before the signal are lost with
 * the call.
 */
void fused_abandon(void)
{
	struct fused_ctx *fc = thr.fctx;
	struct tq *q = thr.q;	/* fused_wait's, its ops in q->ops */

	thr.fctx = NULL;	/* a jump out of this one's handler: not again */
	switch (be_abandon(fc->res, fc->rep)) {
	case BE_AB_SETTLED:
		fused_end(q, q->ops, fc->n, fc->res, fc->live, be_kind, fc->rep);
		break;
	case BE_AB_NONE:
		/* nothing reached the kernel yet: the ops, one by one */
		fc->rep->errors = be_sync_submit(q->ops, fc->n, fc->res);
		/* fall through */
	case BE_AB_SYNC:
		fused_end(q, q->ops, fc->n, fc->res, 0, EPB_BE_SYNC, fc->rep);
		break;
	}
	atomic_store_explicit(&q->kicked, 0, memory_order_relaxed);
}

/* Beyond this the kernel's own wait answers (its EINVAL above
 * EP_MAX_EVENTS, INT_MAX / sizeof(struct epoll_event)). */
#define FUSED_MAX (1 << 24)

/* The wait of a loop thread whose queue holds ops (policy_wait done). */
HOT int shim_wait_flush(int epfd, struct epoll_event *evs, int maxevents, int ms,
			const struct timespec *ts, const sigset_t *sigmask,
			enum epbatch_wait_kind kind)
{
	struct tq *q = thr.q;
	struct timespec mts;
	int rc, excl;

	if (!q->n && !sig_pending())
		return bare_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	/* An instance with an exclusive registration (marked only where the
	 * fused wait would be io_uring's: epi_note_excl): that wait must not
	 * sleep, so it only takes what is ready (the 0-timeout form, priced
	 * so: wait_fused_poll); with nothing ready the kernel's own wait
	 * sleeps, below, its queue empty by then. */
	thr.lp.poll = wait_is_poll(ms, ts, kind);
	excl = !thr.lp.poll && epfd_has_excl(epfd);
	thr.lp.poll |= excl;
	if (kind != EPB_PWAIT2) {
		ts = NULL;
		if (ms >= 0) {
			mts.tv_sec = ms / 1000;
			mts.tv_nsec = (long)(ms % 1000) * 1000000L;
			ts = &mts;
		}
	}
	rc = INT_MIN;
	/* a 0-timeout wait's unfused form (policy.c): plain_wait's flush
	 * submits the ops as one batch, then the kernel's own wait */
	if (q->live >= policy_min_batch() && !sig_pending() && be_fused &&
	    !(thr.lp.poll && atomic_load_explicit(&poll_unfused, memory_order_relaxed)) &&
	    maxevents > 0 && maxevents <= FUSED_MAX && !(be_kind == EPB_BE_URING && q->ordered) &&
	    !(ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))) {
		static const struct timespec no_wait;

		/* epoll may return fewer events than maxevents: a larger buffer
		 * than the module takes (redis asks for 10128) waits for as many
		 * as it does; the rest stay ready for the next wait, in order. */
		rc = fused_wait(q, epfd, evs,
				be_kind == EPB_BE_KMOD && maxevents > EPOLL_BATCH_MAX_EVENTS ?
					EPOLL_BATCH_MAX_EVENTS : maxevents, excl ? &no_wait : ts, sigmask);
		if (unlikely(excl) && rc == 0)
			rc = INT_MIN;
	}
	/* not fused, or (kmod) a handler ran between two ops and left an op
	 * in the side list (now queued): it goes in before the wait; or
	 * nothing was ready for an exclusive instance's fused wait */
	if (rc == INT_MIN)
		rc = plain_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	if (unlikely(thr.lp.careful && !thr.lp.batch))
		policy_release();
	return rc;
}

/* Any wait but the wrappers' common one (wait_common in interpose.c). */
int shim_wait(int epfd, struct epoll_event *evs, int maxevents, int ms,
	      const struct timespec *ts, const sigset_t *sigmask, enum epbatch_wait_kind kind)
{
	_Atomic uint64_t *es = slot_ptr(thr.tab, epfd);
	uint64_t e = es ? atomic_load_explicit(es, memory_order_acquire) : 0;
	struct epinfo *ep;
	struct tq *q;

	if (unlikely(thr.crit))
		return sys_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	if (s_kind(e) != K_EPOLL) {
		if (unlikely(!thr.loop_thread))
			become_loop_thread();
		return plain_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	}
	ep = epi_get(s_id(e));
	if (atomic_load_explicit(&ep->waiter, memory_order_relaxed) != my_tid())
		claim_waiter(ep, s_id(e), my_tid());
	if (unlikely(!thr.loop_thread))
		become_loop_thread();
	q = thr.q;
	if (unlikely(!q))
		return plain_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
	/* thr.owned: the instance this thread last found itself the waiter
	 * of, the wrappers' test for their common way.  If another thread
	 * makes it shared later, that thread flushes this queue then, and
	 * deferral re-checks under the lock. */
	if (atomic_load_explicit(&ep->waiter, memory_order_relaxed) == my_tid())
		thr.owned = e;
	policy_wait(q, wait_fused_poll(epfd, ms, ts, kind));
	return shim_wait_flush(epfd, evs, maxevents, ms, ts, sigmask, kind);
}
