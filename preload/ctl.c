/* SPDX-License-Identifier: MIT */
/*
 * epoll_ctl: defer it, or pass it through.  An op is deferred only when the
 * mirror knows its result and the calling thread is the only thread that
 * waits on the epoll instance; everything else goes to the kernel at once,
 * after whatever queued op it could depend on.
 */
#include "shim.h"

#include <errno.h>

/* The kernel decides: make it see every queued op this one could depend
 * on, then pass the call through (also the way of every epoll_ctl while
 * another thread batches, or before the shim is set up: ctl_careful). */
int ctl_passthrough(int epfd, int op, int fd, struct epoll_event *ev)
{
	_Atomic uint64_t *es, *fs;
	uint64_t e, v;
	int rc, me;

	shim_init();
	es = slot_ptr(thr.tab, epfd);
	fs = slot_ptr(thr.tab, fd);
	e = es ? atomic_load(es) : 0;
	v = fs ? atomic_load(fs) : 0;
	me = my_tid();

	if (s_kind(e) != K_EPOLL)
		fork_taint();	/* an epoll fd the mirror does not know: maybe inherited */
	if (s_kind(e) == K_EPOLL) {
		struct epinfo *ep = epi_get(s_id(e));
		int w = atomic_load(&ep->waiter);

		if (atomic_load(&ep->flags) & EPI_XPROC)
			fork_taint();	/* no-op unless this is a fork child */

		/* Another thread's loop: from now on every thread's op on it
		 * goes to the kernel at once. */
		if (w > 0 && w != me)
			atomic_compare_exchange_strong(&ep->waiter, &w, WAITER_SHARED);
		sync_instance(s_id(e));
	}
	if (s_kind(v) == K_EPOLL) {
		/* Nested: readiness of that instance now shows in this one. */
		atomic_fetch_or(&epi_get(s_id(v))->flags, EPI_NESTED);
		sync_instance(s_id(v));
	} else if (v & S_Q) {
		sync_instance(s_id(v));
	}
	if (thr.q)
		thr.q->st.passthrough++;
	DTRACE_PROBE3(epbatch, passthrough, epfd, op, fd);
	rc = sys_epoll_ctl(epfd, op, fd, ev);
	if (fs && es)
		learn(epfd, op, fd, ev, rc ? errno : 0);
	return rc;
}

/* epoll_ctl from a signal handler that interrupted the shim (sig.c). */
static __attribute__((noinline)) int nested_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	_Atomic uint64_t *fs = slot_ptr(thr.tab, fd), *es = slot_ptr(thr.tab, epfd);
	uint64_t v = fs ? atomic_load(fs) : 0, e = es ? atomic_load(es) : 0;
	int rc, saved;

	if (thr.in_vfork)	/* a vfork child: nothing here is its own */
		return sys_epoll_ctl(epfd, op, fd, ev);
	if (s_kind(e) != K_EPOLL || (atomic_load(&epi_get(s_id(e))->flags) & EPI_XPROC))
		fork_taint();
	rc = sig_defer(epfd, op, fd, ev);
	if (rc <= 0)
		return rc;
	rc = sys_epoll_ctl(epfd, op, fd, ev);
	saved = errno;
	if (fs && (v & S_Q)) {
		while (!atomic_compare_exchange_weak(fs, &v, s_forget(v)))
			;
	} else if (fs) {
		learn(epfd, op, fd, ev, rc ? saved : 0);
	}
	errno = saved;
	return rc;
}

/* Queue a deferred op: folded into o (the fd's last queued op), or, o
 * NULL, appended (ordered: behind a DEL or a cancelled pair of its fd; a
 * DEL's ev may be NULL, the others' predict() saw there); counted. */
static inline __attribute__((always_inline)) void
queue_op(struct tq *q, struct qop *o, int epfd, int op, int fd, struct epoll_event *ev,
	 unsigned id, int ordered)
{
	if (likely(!o)) {
		queue_append(q, epfd, op, fd, op != EPOLL_CTL_DEL ? ev : NULL, id, ordered);
	} else {
		qop_fold(o, op, ev);
		q->live -= o->op == 0;
		thr.lp.saved += o->op == 0 ? 2 : 1;	/* ADD+DEL: both gone */
		q->st.coalesced++;
		DTRACE_PROBE2(epbatch, coalesced, fd, op);
	}
	q->st.deferred++;
	DTRACE_PROBE3(epbatch, deferred, epfd, op, fd);
}

/*
 * The first test of every deferral: the epoll fd's slot when this thread
 * may defer an op on (epfd, fd) at all -- both numbers in the mirror, epfd
 * an epoll fd the mirror knows -- else 0 (the kernel decides).  ctl_slow
 * has seen the thread neither inside the shim nor between a flush and its
 * wait (thr.busy).  The thread has a queue: ctl_slow defers only where
 * shim_ctl saw lp.batch set, which only policy_decide() and the
 * calibration do, each on the thread's queue (thr.q).
 */
static inline uint64_t defer_epfd_slot(int epfd, int fd)
{
	struct fdtab *t = thr.tab;
	uint64_t e;

	/* epfd | fd: both below the size in one test (a negative one is huge) */
	if (unlikely((unsigned)(epfd | fd) >= (unsigned)t->size))
		return 0;
	e = atomic_load_explicit(&t->slot[epfd], memory_order_acquire);
	return s_kind(e) == K_EPOLL ? e : 0;
}

/* Leaving a deferral: its queue's lock, then crit. */
static inline void defer_quit(struct tq *q)
{
	queue_unlock(q);
	thr.crit--;
}

/* Leaving a deferral with the handlers' ops of the side list taken first:
 * they ran after this op was decided. */
static __attribute__((noinline)) int defer_done_sig(struct tq *q)
{
	take_sigops(q);
	defer_quit(q);
	return 0;
}

/*
 * The batch way (policy.c): queue the op when the mirror knows its result
 * and this thread is the instance's only waiter; fold it into the fd's last
 * queued op (O(1): q->idx holds that op's index); else passthrough().  The
 * general case; defer_ctl() below does the common one.
 */
static __attribute__((noinline)) int defer_slow(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdtab *t = thr.tab;
	struct tq *q = thr.q;
	_Atomic uint64_t *fs;
	struct epinfo *ep;
	struct qop *o;
	uint64_t e, v, nv;
	unsigned id;
	int fold;

	/* epfd == fd needs no test: its slot is K_EPOLL, not K_POLL */
	e = defer_epfd_slot(epfd, fd);
	if (unlikely(!e))
		return ctl_passthrough(epfd, op, fd, ev);
	id = s_id(e);
	ep = epi_get(id);
	fs = &t->slot[fd];
	thr.crit++;
	queue_lock(q);
	take_sigops(q);
	/* Under the lock: a thread that made the instance shared flushes
	 * this queue after taking the same lock. */
	if (unlikely(atomic_load_explicit(&ep->waiter, memory_order_relaxed) != q->tid ||
		     (atomic_load_explicit(&ep->flags, memory_order_relaxed) & EPI_NODEFER)))
		goto locked_pass;
	v = atomic_load_explicit(fs, memory_order_acquire);
	for (;;) {
		if (unlikely(s_kind(v) != K_POLL || predict(v, id, op, ev, &nv)))
			goto locked_pass;
		if (unlikely(q->n == QCAP)) {
			flush_locked(q);
			v = atomic_load(fs);
			continue;
		}
		/* Fold into fd's last queued op, or append after it. */
		o = qop_at(q, fd, id);
		fold = o && !qop_closed(o);
		nv |= S_Q;
		/* The slot changes only when the op changes what it holds (a
		 * MOD, or any op on an fd that had one queued before, does
		 * not): a closer that took the slot meanwhile flushes this
		 * queue under its lock, after this op; a handler's op since
		 * the last take_sigops is taken below, after this one, which
		 * is one of the orders the signal's timing allows. */
		if (nv == v)
			break;
		if (likely(atomic_compare_exchange_weak(fs, &v, nv)))
			break;
		/* A handler's op on fd came first (sig_defer): queue it
		 * before this one, then decide again. */
		take_sigops(q);
		v = atomic_load(fs);
	}
	/* not folded after a cancelled pair or a DEL on fd: appended in order */
	queue_op(q, fold ? o : NULL, epfd, op, fd, ev, id, o != NULL);
	return defer_done_sig(q);

locked_pass:
	defer_done_sig(q);
	return ctl_passthrough(epfd, op, fd, ev);
}

/*
 * The owner's way into its queue for defer_ctl() and defer_mod(): inside the
 * shim (crit, before the lock: a handler's op must not wait for it), the lock
 * word taken, and, under it, the instance still this thread's alone and no
 * handler's op pending (defer_slow says why under the lock).  1: all that
 * holds; 0: nothing is held any more, the caller goes the slow way.
 */
static inline int defer_enter(struct tq *q, uint64_t e)
{
	int zero = 0;

	thr.crit++;
	if (likely(cas_int(&q->lock, &zero, 1))) {
		const struct epinfo *ep = epi_get(s_id(e));

		if (likely(!sig_pending() &&
			   atomic_load_explicit(&ep->waiter, memory_order_relaxed) == q->tid &&
			   !(atomic_load_explicit(&ep->flags, memory_order_relaxed) & EPI_NODEFER)))
			return 1;
		queue_unlock(q);
	}
	thr.crit--;
	return 0;
}

/* defer_enter()'s way out once the op is queued (given up: defer_quit). */
static inline int defer_leave(struct tq *q)
{
	if (unlikely(sig_pending()))
		return defer_done_sig(q);
	defer_quit(q);
	return 0;
}

/*
 * The common deferral: a MOD folded into, or an op appended after, what the
 * queue holds, the slot's Q bit already set (no RMW) or set by one CAS.
 * Anything else -- its queue held by a flushing thread, handlers' ops
 * pending, a DEL or a cancelled pair before it, a full queue, a shared
 * instance -- leaves everything as it was and goes to defer_slow().  Only
 * tail calls: no stack frame on the way.
 */
static HOT __attribute__((noinline)) int defer_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdtab *t = thr.tab;
	struct tq *q = thr.q;
	_Atomic uint64_t *fs;
	struct qop *o;
	uint64_t e, v, nv;
	unsigned id;

	e = defer_epfd_slot(epfd, fd);
	if (unlikely(!e))
		return defer_slow(epfd, op, fd, ev);
	fs = &t->slot[fd];
	if (unlikely(!defer_enter(q, e)))
		return defer_slow(epfd, op, fd, ev);
	id = s_id(e);
	v = atomic_load_explicit(fs, memory_order_acquire);
	if (unlikely(s_kind(v) != K_POLL || predict(v, id, op, ev, &nv) || q->n == QCAP))
		goto unlock_slow;
	o = qop_at(q, fd, id);
	if (unlikely(o && qop_closed(o)))
		goto unlock_slow;	/* append in order behind it */
	nv |= S_Q;
	if (nv != v && unlikely(!cas_u64(fs, &v, nv)))
		goto unlock_slow;	/* a handler's op on fd came first */
	queue_op(q, o, epfd, op, fd, ev, id, 0);
	return defer_leave(q);

unlock_slow:
	defer_quit(q);
	return defer_slow(epfd, op, fd, ev);
}

/*
 * The deferral of nearly every op a batching loop makes: a MOD of an fd whose
 * slot already has its Q bit (an op on it was queued in this batch or an
 * earlier one), so nothing shared is written, only the queue under its lock
 * word; folded into the fd's last queued op (O(1)) or appended.  One masked
 * compare of fd's slot stands for predict()'s MOD case (pollable, registered
 * in this instance) and the Q bit.  Anything else -- its queue held by a
 * flushing thread, handlers' ops pending, EPOLLEXCLUSIVE, a DEL or a
 * cancelled pair before it, a full queue, a shared instance -- leaves
 * everything as it was and goes to defer_slow().  Only tail calls.
 */
static inline int defer_mod(int epfd, int fd, struct epoll_event *ev)
{
	/* An epoll fd's slot is exactly s_make(K_EPOLL, id, 0, 0) (note_epoll,
	 * note_dup), so one XOR makes it the slot fd must have: kind POLL,
	 * same id, REG and Q (K_EPOLL ^ K_POLL flips the kind's two bits), and
	 * not registered with EPOLLEXCLUSIVE (a MOD of it is EINVAL). */
	const uint64_t mask = s_make(0xf, S_ID_MASK, S_REG | S_Q, EPOLLEXCLUSIVE),
		       flip = s_make(K_EPOLL ^ K_POLL, 0, S_REG | S_Q, 0);
	struct fdtab *t = thr.tab;
	struct tq *q = thr.q;
	_Atomic uint64_t *slots = t->slot;
	struct qop *o;
	uint64_t e, v;
	unsigned id;

	e = defer_epfd_slot(epfd, fd);
	if (unlikely(!e || !ev))
		goto slow;
	if (unlikely(!defer_enter(q, e)))
		goto slow;
	id = s_id(e);
	/* fd's slot under the lock: a closer that cleared it flushes this
	 * queue under the same lock */
	v = atomic_load_explicit(&slots[fd], memory_order_acquire);
	if (unlikely((v & mask) != (e ^ flip) || (ev->events & EPOLLEXCLUSIVE) || q->n == QCAP))
		goto unlock_slow;
	o = qop_at(q, fd, id);
	if (unlikely(o && qop_closed(o)))
		goto unlock_slow;	/* append in order behind it */
	queue_op(q, o, epfd, EPOLL_CTL_MOD, fd, ev, id, 0);
	return defer_leave(q);

unlock_slow:
	defer_quit(q);
slow:
	return defer_slow(epfd, EPOLL_CTL_MOD, fd, ev);
}

/* A direct ADD or DEL the kernel refused: the mirror learns from the
 * error, and errno is kept for the caller. */
static __attribute__((noinline)) int direct_failed(int epfd, int op, int fd,
						   struct epoll_event *ev)
{
	int err = errno;

	learn(epfd, op, fd, ev, err);
	errno = err;
	return -1;
}

/* The direct way for an ADD or a DEL that ctl_direct() cannot predict:
 * learn() after the call (an epoll fd added to another instance also makes
 * that one nested). */
static __attribute__((noinline)) int direct_learn(int epfd, int op, int fd,
						  struct epoll_event *ev)
{
	if (unlikely(sys_epoll_ctl(epfd, op, fd, ev)))
		return direct_failed(epfd, op, fd, ev);
	learn(epfd, op, fd, ev, 0);
	return 0;
}

/* ctl_direct() after the call, when its prediction does not hold: the
 * kernel refused the op (rc -1), or fd's slot changed during the call (a
 * close, another thread's op, a signal handler's).  learn() from the slot
 * as it is now; nv, the slot ctl_direct predicted, names the instance (a
 * DEL's too, even when it makes the fd unknown: predict), the op (an ADD's
 * has S_REG) and an ADD's events.  errno is kept. */
static __attribute__((noinline)) int direct_relearn(_Atomic uint64_t *fs, uint64_t nv, int rc)
{
	int err = rc ? errno : 0;
	struct epoll_event ev = { .events = s_events(nv) };
	/* fs is a slot of this thread's table, its index the fd: recomputed
	 * here rather than kept live across ctl_direct's call */
	struct fdtab *t = thr.tab;
	int fd = (int)(fs - t->slot);

	learn_slot(t, fd, atomic_load_explicit(&t->slot[fd], memory_order_acquire), s_id(nv),
		   nv & S_REG ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, &ev, err);
	if (rc)
		errno = err;
	return rc;
}

/*
 * The direct way for an ADD or a DEL (shim_ctl in shim.h does MOD).  The
 * op is predicted before the call, by predict() from the slots as they are
 * then (no thread batches, so no queue holds an op it could depend on),
 * while no instance is held by another process (epi_xproc_seen: learn()
 * makes the fds of such an instance unknown).  Only fd's slot, its value and the predicted one
 * live across the call, and one CAS from the one to the other is all the
 * mirror needs after a success: it is what learn() would write (predict(),
 * err 0).  If the slot changed meanwhile the CAS fails and learn() runs
 * from the new value, as it would have; a change of the epoll fd's slot or
 * of EPI_XPROC during the call is ordered as if it came after the op
 * (neither lets a later op be deferred on this prediction: an instance
 * that is gone or another process's holds no deferral).
 */
HOT int ctl_direct(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdtab *t = thr.tab;
	_Atomic uint64_t *slots = t->slot, *fs;
	uint64_t e, v, nv;
	unsigned id;
	int rc;

	/* Both below the size in one test (a|b >= a and >= b; a negative fd
	 * is huge): a pair it turns away takes the full way. */
	if (unlikely((unsigned)(epfd | fd) >= (unsigned)t->size))
		return direct_learn(epfd, op, fd, ev);
	e = atomic_load_explicit(&slots[epfd], memory_order_acquire);
	fs = &slots[fd];
	v = atomic_load_explicit(fs, memory_order_acquire);
	id = s_id(e);
	if (unlikely(s_kind(e) != K_EPOLL || s_kind(v) != K_POLL ||
		     atomic_load_explicit(&epi_xproc_seen, memory_order_relaxed) ||
		     predict(v, id, op, ev, &nv)))
		return direct_learn(epfd, op, fd, ev);
	rc = sys_epoll_ctl(epfd, op, fd, ev);
	if (likely(!rc) && likely(cas_u64(fs, &v, nv))) {
		if (unlikely(nv & EPOLLEXCLUSIVE))	/* an ADD's events are in nv */
			epi_note_excl(id);
		return 0;
	}
	return direct_relearn(fs, nv, rc);
}

/* A MOD the kernel refused on the direct way (err: its errno).  The mirror
 * learns as after any op, but without the event mask, which it needs only
 * to foresee EPOLLEXCLUSIVE's EINVAL: that error makes the fd unknown
 * instead. */
__attribute__((noinline)) int ctl_mod_failed(int epfd, int fd, int err)
{
	struct epoll_event ev = { .events = 0 };

	if (err == EINVAL) {
		_Atomic uint64_t *fs = slot_ptr(thr.tab, fd);
		uint64_t v = fs ? atomic_load(fs) : 0;

		while (s_kind(v) == K_POLL && !atomic_compare_exchange_weak(fs, &v, s_forget(v)))
			;
	} else {
		learn(epfd, EPOLL_CTL_MOD, fd, &ev, err);
	}
	errno = err;
	return -1;
}

/* The direct way's MOD through libc's wrapper (real.h says when). */
__attribute__((noinline)) int ctl_mod_libc(int epfd, int fd, struct epoll_event *ev)
{
	if (likely(real_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, ev) == 0))
		return 0;
	return ctl_mod_failed(epfd, fd, errno);
}

/* ctl_slow() inside the shim (a signal handler's op: crit), or in a
 * handler that interrupted a wait after its flush (in_wait): natively the
 * op is in effect before the wait goes on, so it goes to the kernel now. */
static __attribute__((noinline)) int ctl_busy(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (thr.crit)
		return nested_ctl(epfd, op, fd, ev);
	thr.lp.ops++;
	thr.lp.conn += op != EPOLL_CTL_MOD;
	return ctl_passthrough(epfd, op, fd, ev);
}

/*
 * Any epoll_ctl but the direct way's (shim_ctl in shim.h): from a signal
 * handler that interrupted the shim, or in a thread that batches (the
 * careful way: defer_ctl, or passthrough() when the kernel must decide).
 */
HOT int ctl_slow(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (unlikely(thr.busy))
		return ctl_busy(epfd, op, fd, ev);
	thr.lp.ops++;
	if (likely(op == EPOLL_CTL_MOD))
		return defer_mod(epfd, fd, ev);
	thr.lp.conn++;
	return defer_ctl(epfd, op, fd, ev);
}
