/* SPDX-License-Identifier: MIT */
/*
 * close, close_range, dup2 onto an fd, and poll/select on an epoll fd: no
 * queued op may outlive the open file its number names, and an epoll fd
 * that is waited on some other way stops deferring.
 */
#include "shim.h"

#include <errno.h>

/* Called before fd is closed or replaced (close, close_range, dup2 onto it). */
void shim_close_prepare(int fd)
{
	struct fdtab *t = thr.tab;
	_Atomic uint64_t *s;
	uint64_t v;

	if (unlikely(thr.in_vfork))
		return;		/* a vfork child's fds are not the parent's */
	if (unlikely(be_owns_fd(fd)))
		be_fd_closed(fd);
	if ((unsigned)fd >= (unsigned)t->size)
		return;
	s = &t->slot[fd];
	/* An fd the mirror knows nothing of has nothing queued, and no op
	 * can be queued on it (predict needs a known fd): no RMW needed. */
	if (!atomic_load_explicit(s, memory_order_relaxed))
		return;
	v = atomic_exchange(s, 0);
	if (slot_needs_sync(v))
		sync_instance(s_id(v));
}

void shim_close_span(unsigned first, unsigned last)
{
	int maxfd = atomic_load(&main_tab.maxfd);

	if (atomic_load(&thr.tab->maxfd) > maxfd)
		maxfd = atomic_load(&thr.tab->maxfd);
	if (maxfd < 0 || first > (unsigned)maxfd || thr.in_vfork)
		return;
	if (last > (unsigned)maxfd)
		last = (unsigned)maxfd;
	for (unsigned fd = first; fd <= last; fd++)
		shim_close_prepare((int)fd);
}

/*
 * close(fd) when this thread's own queue holds an op on fd (a connection
 * closed in the loop iteration that queued its DEL: connection-per-request
 * servers do this once per request).  Returns 1 with *rc (close's return
 * value, errno set) when it closed fd itself, 0 when the ordinary
 * shim_close_prepare() + close() must follow.
 *   - ops on fd that cancelled (ADD+DEL in one batch): the kernel never saw
 *     them, so nothing needs flushing; the rest of the queue stays queued.
 *   - a live op on fd, io_uring backend: the queue and the close go in one
 *     io_uring_enter, the close hard-linked behind fd's op, instead of a
 *     flush syscall and then close(2).
 */
static __attribute__((noinline)) int close_queued(int fd, _Atomic uint64_t *s, uint64_t v,
						  int *rc);

/* close(fd) past close_quick(): 1 when the shim closed fd itself (*rc:
 * close's return value), 0 when fd is ready for the caller's close(2). */
int shim_close(int fd, int *rc)
{
	struct fdtab *t = thr.tab;
	uint64_t v;

	if (likely((unsigned)fd < (unsigned)t->size)) {
		v = atomic_load_explicit(&t->slot[fd], memory_order_acquire);
		if (unlikely(v & S_Q) && close_queued(fd, &t->slot[fd], v, rc))
			return 1;
	}
	shim_close_prepare(fd);
	return 0;
}

/* shim_close() of an fd with an op queued (S_Q; s: its slot, v: its value). */
static int close_queued(int fd, _Atomic uint64_t *s, uint64_t v, int *rc)
{
	struct tq *q = thr.q;
	struct be_report rep = { 0, 0, 0 };
	int res[QCAP], live, cres;
	unsigned n;

	if (thr.crit || thr.in_vfork || !q || !(v & S_Q) || s_kind(v) != K_POLL ||
	    atomic_load(&epi_get(s_id(v))->owner) != q)
		return 0;
	thr.crit++;
	queue_lock(q);
	/* Under the lock: this thread's ops on fd are all in q (the Q bit
	 * names the queue of the instance's owner, which is q). */
	v = atomic_exchange(s, 0);
	live = queue_last_live(q, fd);
	if (live < 0) {
		take_sigops(q);
		queue_unlock(q);
		thr.crit--;
		return 0;	/* nothing of fd's reached or will reach the kernel */
	}
	n = q->n;
	if (q->ordered ||
	    (cres = be_submit_close(q->ops, n, q->live, q->ordered, res, (unsigned)live, fd,
					    &rep)) == 1) {
		/* The ordinary way: flush, then the caller's close(2). */
		take_sigops(q);
		queue_unlock(q);
		thr.crit--;
		atomic_store(s, v);	/* shim_close_prepare() flushes */
		return 0;
	}
	batch_done(q, q->ops, n, res, q->live, be_kind, &rep);
	thr.lp.closed += q->live;	/* batched, for the policy's ratio */
	q->st.fused_closes++;
	queue_clear(q);
	take_sigops(q);
	queue_unlock(q);
	thr.crit--;
	if (cres < 0) {
		errno = -cres;
		*rc = -1;
	} else {
		*rc = 0;
	}
	return 1;
}

void shim_poll_epfd(int fd)
{
	_Atomic uint64_t *s = slot_ptr(thr.tab, fd);
	uint64_t v = s ? atomic_load(s) : 0;

	if (s_kind(v) != K_EPOLL)
		return;
	/* poll/select on an epoll fd is a wait nobody announced: stop deferring */
	atomic_fetch_or(&epi_get(s_id(v))->flags, EPI_NESTED);
	sync_instance(s_id(v));
}
