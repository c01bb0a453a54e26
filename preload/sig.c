/* SPDX-License-Identifier: MIT */
/* epoll_ctl from a signal handler that interrupted the shim on its thread. */
#include "shim.h"

#include <errno.h>

/*
 * epoll_ctl from a signal handler that interrupted the shim on this thread
 * (thr.crit > 0): the queue may be half-changed or in flight, so the handler
 * does not touch it.
 *   - fd has an op pending in this thread: queued or in flight (S_Q in the
 *     instance of epfd), or in the side list below: the kernel's answer now
 *     would not include that op (a DEL queued, then the handler's ADD gets
 *     EEXIST).  The mirror, which already includes it, gives the answer;
 *     the op goes to a small per-thread side list (sigops) that the
 *     interrupted code appends to the queue when it leaves its critical
 *     section (sig_take), so it reaches the kernel after the queued
 *     ops, and before any later op of the interrupted code's on fd.
 *   - otherwise: the kernel decides at once and the mirror learns.
 * The side list counts as "pending" by itself, whatever the fd's S_Q bit
 * says: a handler's op must not reach the kernel ahead of an earlier
 * handler's op still in the list (6.1 guest under TCG, where two signals
 * often land in one flush: an ADD got EEXIST, a DEL ENOENT).
 * A new side op on the fd of the last pending one is folded into it by the
 * queue's rule (qop_fold: a signal flood during one long flush stays
 * bounded).
 */
#define SIGQ 64
struct sigop {
	struct qop op;
	int ready;		/* not yet taken by sig_take */
};
static TLS struct sigop sigops[SIGQ];

/* Index of the last live side op on (fd, id) not yet taken by
 * sig_take, or -1 (a cancelled ADD+DEL pair leaves nothing pending). */
static int sig_last(int fd, unsigned id)
{
	int n = atomic_load(&thr.nsig);

	for (int i = (n < SIGQ ? n : SIGQ); i-- > 0;)
		if (sigops[i].ready && sigops[i].op.op && sigops[i].op.fd == fd &&
		    sigops[i].op.epi == id)
			return i;
	return -1;
}

int sig_defer(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdtab *t = thr.tab;
	_Atomic uint64_t *es = slot_ptr(t, epfd), *fs = slot_ptr(t, fd);
	uint64_t e = es ? atomic_load(es) : 0, v = fs ? atomic_load(fs) : 0, nv;
	unsigned id = s_id(e);
	int k, reg, last;
	struct qop *o;

	if (!fs || !thr.q || s_kind(e) != K_EPOLL || s_kind(v) != K_POLL ||
	    s_id(v) != id || atomic_load(&epi_get(id)->owner) != thr.q ||
	    (atomic_load(&epi_get(id)->flags) & EPI_NODEFER) || epfd == fd)
		return 1;
	last = sig_last(fd, id);
	if (!(v & S_Q) && last < 0)
		return 1;
	reg = (v & S_REG) != 0;
	if (predict(v, id, op, ev, &nv)) {
		/* The errors the queued ops make certain, as the kernel would
		 * give them once they ran; anything else: the kernel decides. */
		if (op == EPOLL_CTL_ADD && reg && ev) {
			errno = EEXIST;
			return -1;
		}
		if ((op == EPOLL_CTL_MOD && ev) || op == EPOLL_CTL_DEL) {
			if (!reg) {
				errno = ENOENT;
				return -1;
			}
		}
		return 1;
	}
	/* Fold into the last side op on fd, as the queue does (never DEL+ADD;
	 * a cancelled entry keeps its slot: only sig_take frees slots). */
	if (last >= 0 && sigops[last].op.op != EPOLL_CTL_DEL) {
		if (!atomic_compare_exchange_strong(fs, &v, nv | S_Q))
			return 1;
		o = &sigops[last].op;
		qop_fold(o, op, ev);
		thr.q->st.coalesced++;
		return 0;
	}
	k = atomic_fetch_add(&thr.nsig, 1);
	if (k >= SIGQ) {
		atomic_fetch_sub(&thr.nsig, 1);
		thr.q->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, EPB_FB_SIGQ_FULL, 0);
		return 1;
	}
	sigops[k].op.op = 0;
	if (!atomic_compare_exchange_strong(fs, &v, nv | S_Q)) {
		/* changed meanwhile: leave the slot unused (no op) */
		sigops[k].ready = 1;
		return 1;
	}
	sigops[k].op = (struct qop){ .epfd = epfd, .fd = fd, .op = op, .epi = id, .ordered = 1,
				     .ev = ev ? *ev : (struct epoll_event){ 0 } };
	sigops[k].ready = 1;
	thr.q->st.deferred++;
	return 0;
}

/* Append the handlers' side ops to q (this thread's own queue, locked).
 * Returns 1 when q filled up first (flush it and call again), else 0.
 * A handler may run between any two lines here (never concurrently): the
 * fd's S_Q is set before the entry stops being "ready", and the op is read
 * only after that, so a handler either folds into the entry before it is
 * taken or sees S_Q and appends a new one behind it. */
int sig_take(struct tq *q)
{
	int i = 0, n;

	if (likely(atomic_load_explicit(&thr.nsig, memory_order_relaxed) == 0) || q != thr.q)
		return 0;
again:
	/* A handler may add one while this runs: re-read the count, and
	 * reset it only if nothing was added since (else go on). */
	for (; i < atomic_load(&thr.nsig) && i < SIGQ; i++) {
		_Atomic uint64_t *s = slot_ptr(thr.tab, sigops[i].op.fd);
		unsigned epi = sigops[i].op.epi;
		struct qop o;
		uint64_t v;

		if (!sigops[i].ready)
			continue;
		if (q->n == QCAP)
			return 1;
		/* a failed op of a flush since the handler ran may have
		 * cleared the slot */
		v = s ? atomic_load(s) : 0;
		while (s && s_id(v) == epi && s_kind(v) == K_POLL && !(v & S_Q) &&
		       !atomic_compare_exchange_weak(s, &v, v | S_Q))
			;
		atomic_signal_fence(memory_order_seq_cst);
		sigops[i].ready = 0;
		atomic_signal_fence(memory_order_seq_cst);
		o = sigops[i].op;
		if (o.op)
			queue_append(q, o.epfd, o.op, o.fd, &o.ev, o.epi, o.ordered);
	}
	n = i;
	if (!atomic_compare_exchange_strong(&thr.nsig, &n, 0))
		goto again;
	return 0;
}
