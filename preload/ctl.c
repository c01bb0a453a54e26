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
 * on, then pass the call through. */
static int passthrough(int epfd, int op, int fd, struct epoll_event *ev)
{
	_Atomic uint64_t *es = slot_ptr(tab(), epfd), *fs = slot_ptr(tab(), fd);
	uint64_t e = es ? atomic_load(es) : 0, v = fs ? atomic_load(fs) : 0;
	int rc, me = my_tid();

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
	if (my_q)
		my_q->st.passthrough++;
	DTRACE_PROBE3(epbatch, passthrough, epfd, op, fd);
	rc = real_epoll_ctl(epfd, op, fd, ev);
	if (fs && es)
		learn(epfd, op, fd, ev, rc ? errno : 0);
	return rc;
}

/* epoll_ctl from a signal handler that interrupted the shim (sig.c). */
static int nested_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	_Atomic uint64_t *fs = slot_ptr(tab(), fd), *es = slot_ptr(tab(), epfd);
	uint64_t v = fs ? atomic_load(fs) : 0, e = es ? atomic_load(es) : 0;
	int rc, saved;

	if (s_kind(e) != K_EPOLL || (atomic_load(&epi_get(s_id(e))->flags) & EPI_XPROC))
		fork_taint();
	rc = sig_defer(epfd, op, fd, ev);
	if (rc <= 0)
		return rc;
	rc = real_epoll_ctl(epfd, op, fd, ev);
	saved = errno;
	if (fs && (v & S_Q)) {
		while (!atomic_compare_exchange_weak(fs, &v, v & (S_Q | (S_IDX_MASK << S_IDX_SHIFT) |
								 (S_ID_MASK << S_ID_SHIFT))))
			;
	} else if (fs) {
		learn(epfd, op, fd, ev, rc ? saved : 0);
	}
	errno = saved;
	return rc;
}

int shim_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdtab *t = tab();
	_Atomic uint64_t *es = slot_ptr(t, epfd), *fs = slot_ptr(t, fd);
	struct epinfo *ep;
	struct qop *o, n;
	struct tq *q;
	uint64_t e, v, nv;
	unsigned id, idx;
	int me;

	if (unlikely(crit))
		return nested_ctl(epfd, op, fd, ev);
	if (be_kind == EPB_BE_SYNC || !es || !fs || epfd == fd)
		return passthrough(epfd, op, fd, ev);
	e = atomic_load_explicit(es, memory_order_acquire);
	if (s_kind(e) != K_EPOLL)
		return passthrough(epfd, op, fd, ev);
	id = s_id(e);
	ep = epi_get(id);
	me = my_tid();
	q = my_q;
	/* in_wait: a handler that interrupted a plain wait after its flush:
	 * queued now, the op would miss the wait it natively precedes. */
	if (atomic_load(&ep->waiter) != me || !q || unlikely(in_wait))
		return passthrough(epfd, op, fd, ev);

	crit++;
	queue_lock(q);
	take_sigops(q);
	/* Re-check under the lock: a thread that made the instance shared
	 * flushes this queue after taking the same lock. */
	if (atomic_load(&ep->waiter) != me || (atomic_load(&ep->flags) & EPI_NODEFER))
		goto locked_pass;
	v = atomic_load(fs);
	for (;;) {
		if (s_kind(v) != K_POLL || predict(v, id, op, ev, &nv))
			goto locked_pass;
		if (q->n == QCAP) {
			flush_locked(q);
			v = atomic_load(fs);
			continue;
		}
		/* Fold into fd's last queued op, or append after it. */
		o = qop_at(q, v, fd, id);
		idx = o && o->op && o->op != EPOLL_CTL_DEL ? s_idx(v) : q->n;
		if (atomic_compare_exchange_weak(fs, &v, s_with_idx(nv, idx)))
			break;
		/* A handler's op on fd came first (sig_defer): queue it
		 * before this one, then decide again. */
		take_sigops(q);
		v = atomic_load(fs);
	}
	if (idx != q->n) {
		qop_fold(o, op, ev);
		q->live -= o->op == 0;
		q->st.coalesced++;
		DTRACE_PROBE2(epbatch, coalesced, fd, op);
	} else {
		n = (struct qop){ .epfd = epfd, .fd = fd, .op = op, .epi = id,
				  .events = ev ? ev->events : 0, .data = ev ? ev->data.u64 : 0,
				  .ordered = o != NULL };
		queue_append(q, &n);
	}
	q->st.deferred++;
	DTRACE_PROBE3(epbatch, deferred, epfd, op, fd);
	take_sigops(q);	/* handlers that ran after this op was decided */
	queue_unlock(q);
	crit--;
	return 0;

locked_pass:
	take_sigops(q);
	queue_unlock(q);
	crit--;
	return passthrough(epfd, op, fd, ev);
}
