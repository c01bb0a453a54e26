/* SPDX-License-Identifier: MIT */
/*
 * The io_uring backend: one ring per thread, IORING_OP_EPOLL_CTL per op and,
 * for the fused wait, IORING_OP_EPOLL_WAIT (kernel >= 6.15, probed).
 */
#include "be.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING_ENTRIES 512	/* QCAP ctl ops + closes + wait + cancel */
#define TAG_WAIT  0xffff0001ULL
#define TAG_CANCEL 0xffff0003ULL
#define TAG_CLOSE 0xffff0004ULL

struct uring_state {
	struct io_uring ring;
	unsigned gen;		/* fork generation it was made in */
};

static int have_uring_wait;	/* IORING_OP_EPOLL_WAIT is supported */
static int have_uring_close;	/* IORING_OP_CLOSE is supported */
static _Atomic unsigned fork_gen;
static unsigned ring_flags;
static TLS struct uring_state *my_ring;

int uring_has_wait(void)
{
	return have_uring_wait;
}

int uring_has_close(void)
{
	return have_uring_close;
}

static struct uring_state *ring_setup(void);
static void ring_hide_fd(struct uring_state *u);

/*
 * The probe ring is not torn down: it becomes the ring of the thread that
 * made it (the one that loaded the shim, usually the main thread, often an
 * event loop).  Releasing a ring makes the kernel queue task work on the
 * releasing thread with TWA_SIGNAL (io_uring's exit work), which a few
 * milliseconds later makes that thread's next interruptible sleep --
 * epoll_wait included -- return EINTR although no signal was sent
 * (tests/conformance/c-spurious-eintr.c).
 */
static struct uring_state *_Atomic spare_ring;
static int spare_tid;

int uring_probe(void)
{
	struct uring_state *u = ring_setup();
	struct io_uring_probe *p;
	int ok = 0;

	if (!u)
		return 0;
	p = io_uring_get_probe_ring(&u->ring);
	if (p) {
		ok = io_uring_opcode_supported(p, IORING_OP_EPOLL_CTL);
		have_uring_wait = p->last_op >= OP_EPOLL_WAIT &&
				  io_uring_opcode_supported(p, OP_EPOLL_WAIT);
		have_uring_close = io_uring_opcode_supported(p, IORING_OP_CLOSE);
		io_uring_free_probe(p);
	}
	ring_hide_fd(u);
	if (u->ring.ring_fd >= 0) {
		/* No registered ring fds (kernel < 5.18): keeping it would
		 * keep an fd the application does not know about. */
		io_uring_queue_exit(&u->ring);
		free(u);
		return ok;
	}
	/* Kept even when unusable (ok == 0): freeing it is what hurts. */
	spare_tid = my_tid();
	atomic_store(&spare_ring, u);
	return ok;
}


static void ring_free(struct uring_state *u)
{
	/* The ring fd was closed right after setup (ring_hide_fd) and its
	 * number may be the application's now: -1 makes liburing's exit path
	 * close nothing.  The registered index is released with the thread. */
	u->ring.ring_fd = -1;
	io_uring_queue_exit(&u->ring);
	free(u);
}

/* An io_uring with the cheapest task-work mode the kernel has, the ring fd
 * still open (the probe needs it). */
static struct uring_state *ring_setup(void)
{
	struct uring_state *u = calloc(1, sizeof(*u));
	unsigned flags[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
			IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int ret = -1;

	if (!u)
		return NULL;
	if (ring_flags)
		ret = io_uring_queue_init(RING_ENTRIES, &u->ring, ring_flags);
	for (unsigned i = 0; ret < 0 && i < sizeof(flags) / sizeof(flags[0]); i++) {
		ret = io_uring_queue_init(RING_ENTRIES, &u->ring, flags[i]);
		if (ret == 0 && flags[i])
			ring_flags = flags[i];
	}
	if (ret < 0) {
		free(u);
		return NULL;
	}
	u->gen = atomic_load(&fork_gen);
	return u;
}

/*
 * Register the ring (IORING_REGISTER_RING_FDS) and close its fd:
 * io_uring_enter finds it by registered index, so an application that
 * closes every fd it does not know (close_range(3, ~0U)) cannot take it
 * away, and its fd numbers are the same as without the shim.
 */
static void ring_hide_fd(struct uring_state *u)
{
	int fd = u->ring.ring_fd;

	if (io_uring_register_ring_fd(&u->ring) == 1) {
		real_close(fd);
		u->ring.ring_fd = -1;
	}
}

/* A per-thread ring: the start-up probe's if this is the thread that made
 * it (SINGLE_ISSUER binds a ring to its creator), else a new one. */
static struct uring_state *ring_new(void)
{
	struct uring_state *u = atomic_load(&spare_ring);

	if (u && spare_tid == my_tid() && u->gen == atomic_load(&fork_gen) &&
	    atomic_compare_exchange_strong(&spare_ring, &u, NULL))
		return u;
	u = ring_setup();
	if (u)
		ring_hide_fd(u);
	return u;
}

static HOT struct uring_state *ring_get(void)
{
	struct uring_state *u = my_ring;
	int cancel;

	if (likely(u && u->gen == atomic_load_explicit(&fork_gen, memory_order_relaxed)))
		return u;
	cancel = nocancel_begin();	/* liburing closes and opens fds */
	if (u)
		ring_free(u);
	my_ring = u = ring_new();
	nocancel_end(cancel);
	return u;
}

struct reap {
	int *res;		/* zeroed at the first failure (res_n entries) */
	unsigned res_n;
	unsigned ctl_left;	/* ctl (and close) CQEs still to come */
	int wait_res, have_wait, close_res, cancel_left;
	unsigned seen;		/* CQEs reaped so far */
	unsigned other;		/* of them, neither a ctl op's nor the close's */
	unsigned nonctl;	/* of them, not a ctl op's */
	unsigned ctl_before;	/* ctl ops' CQEs before the wait's */
	unsigned errors;	/* ctl ops that failed */
};

/* A ctl op the kernel refused (rare): res[] is written only here, so a
 * batch without failures never touches it (batch_done reads it only
 * after one). */
static __attribute__((noinline, cold)) void reap_failed(struct reap *rp, __u64 ud, int res)
{
	if (!rp->errors)
		memset(rp->res, 0, rp->res_n * sizeof(*rp->res));
	rp->res[ud] = res;
	rp->errors++;
}

/* A CQE that is not a successful ctl op's (at: its place among the CQEs
 * reaped): a failed op, the wait, the close, a cancel. */
static inline __attribute__((always_inline)) void
reap_other(struct reap *rp, const struct io_uring_cqe *cqe, unsigned at)
{
	__u64 ud = cqe->user_data;

	if (ud < QCAP) {
		reap_failed(rp, ud, cqe->res);
		return;
	}
	if (ud == TAG_WAIT) {
		rp->wait_res = cqe->res;
		rp->have_wait = 1;
		rp->ctl_before = at - rp->nonctl;	/* CQEs before it, less the others */
		rp->other++;
	} else if (ud == TAG_CLOSE) {
		rp->close_res = cqe->res;
	} else {
		rp->cancel_left -= ud == TAG_CANCEL;
		rp->other++;
	}
	rp->nonctl++;
}

/* a ctl op's res is 0 or -errno: as unsigned, >= QCAP unless 0 */
#define CQE_CTL_OK(cqe) (((cqe)->user_data | (__u32)(cqe)->res) < QCAP)

static inline __attribute__((always_inline)) void reap(struct io_uring *r, struct reap *rp)
{
	/* io_uring_for_each_cqe's walk with the tail read once (the macro
	 * re-reads it, and recomputes the CQE size, per CQE); the ring is
	 * never made with IORING_SETUP_CQE32.  A successful ctl op's CQE
	 * (nearly all of them) costs one test. */
	unsigned head = *r->cq.khead, n = io_uring_cq_ready(r), mask = r->cq.ring_mask;
	const struct io_uring_cqe *cqes = r->cq.cqes, *first = &cqes[head & mask], *cqe;
	unsigned other = rp->other;

	if (likely((head & mask) + n <= mask + 1)) {
		/* no wrap (the usual case): a pointer walk */
		for (cqe = first; cqe != first + n; cqe++)
			if (unlikely(!CQE_CTL_OK(cqe)))
				reap_other(rp, cqe, rp->seen + (unsigned)(cqe - first));
	} else {
		for (unsigned k = 0; k < n; k++) {
			cqe = &cqes[(head + k) & mask];
			if (unlikely(!CQE_CTL_OK(cqe)))
				reap_other(rp, cqe, rp->seen + k);
		}
	}
	io_uring_cq_advance(r, n);
	rp->seen += n;
	rp->ctl_left -= n - (rp->other - other);
}

/* Submit what is queued in the ring and wait until the ctl and close CQEs
 * (and the wait's, when want_wait) are in.  A signal may interrupt the
 * wait (the handler has run by then); the ops are already in flight, so
 * wait again.  0, or -errno when nothing could be submitted. */
static HOT int settle_ring(struct io_uring *r, struct reap *rp, int want_wait)
{
	int ret;

	for (;;) {
		unsigned want = rp->ctl_left + (unsigned)rp->cancel_left +
				(want_wait && !rp->have_wait);

		ret = io_uring_submit_and_wait(r, want);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			return ret;
		reap(r, rp);
		if (!rp->ctl_left && !rp->cancel_left && (!want_wait || rp->have_wait))
			return 0;
	}
}

/* Stop the fused epoll wait (a timeout, or a signal) and collect it: events
 * it had taken meanwhile are returned, not lost. */
static void cancel_wait(struct io_uring *r, struct reap *rp)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);

	io_uring_prep_cancel64(sqe, TAG_WAIT, 0);
	sqe->user_data = TAG_CANCEL;
	rp->cancel_left++;
	settle_ring(r, rp, 1);
}

/*
 * A wait that may sleep, submitted with its ops in one io_uring_enter that
 * waits for every CQE (the ops' and the wait's) with the wait's timeout and
 * sigmask (IORING_ENTER_EXT_ARG): a loop that sleeps costs one syscall per
 * iteration, as it does without the shim.  With a sigmask a timeout is
 * always given, so that liburing enters once and returns (with one, its
 * get-CQE loop does not enter again after a wake-up that did not bring
 * every CQE: the signal that woke it must end the wait with EINTR);
 * "forever" is 2^30 s (the kernel adds the start time to it, so KTIME_MAX
 * would wrap).  Forever without a sigmask needs no EXT_ARG: a plain
 * io_uring_submit_and_wait() enters once too.  Returns 0
 * (rp reaped; *expired: the wait's own timeout passed), or -errno when
 * nothing was submitted.
 */
static HOT int submit_and_wait(struct io_uring *r, struct reap *rp, const struct be_wait *w,
			       int *expired)
{
	struct __kernel_timespec kts = { .tv_sec = 1L << 30 };
	struct io_uring_cqe *cqe;
	struct timespec t0, t1;
	int ret;

	*expired = 0;
	if (!w->ts && !w->sigmask) {
		/* Forever, no mask (epoll_wait(-1), the usual loop): one plain
		 * enter that submits and waits for every CQE, or until a
		 * signal, then returns what it submitted.  liburing's EXT_ARG
		 * call below costs ~90 more instructions per wait. */
		ret = io_uring_submit_and_wait(r, rp->ctl_left + 1);
		if (ret < 0)
			return ret;
		reap(r, rp);
		return 0;
	}
	if (w->ts) {
		kts.tv_sec = w->ts->tv_sec;
		kts.tv_nsec = w->ts->tv_nsec;
		clock_gettime(CLOCK_MONOTONIC, &t0);
	}
	ret = io_uring_submit_and_wait_timeout(r, &cqe, rp->ctl_left + 1, &kts,
					       (sigset_t *)w->sigmask);
	if (ret < 0)
		return ret;
	reap(r, rp);
	if (w->ts && !rp->have_wait) {
		long long sec;
		long nsec;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		sec = (long long)(t1.tv_sec - t0.tv_sec);
		nsec = t1.tv_nsec - t0.tv_nsec;
		if (nsec < 0) {
			sec--;
			nsec += 1000000000L;
		}
		*expired = sec > (long long)w->ts->tv_sec ||
			   (sec == (long long)w->ts->tv_sec && nsec >= w->ts->tv_nsec);
	}
	return 0;
}

/*
 * The SQEs of a submission.  uring_submit() makes sure of the room first
 * (io_uring_sq_space_left()), so they are taken with no test: liburing's
 * io_uring_get_sqe() re-reads the kernel's SQ head and the ring's setup
 * flags for each (~15 of the ~45 instructions an op cost the flush with
 * liburing 2.3), and its public API has no way to take n SQEs at once.
 * sqe_next() does what io_uring_get_sqe() does when there is room (the ring
 * is never IORING_SETUP_SQE128); sqe_tail is the one field of liburing's
 * the shim writes.  Each SQE is still written by liburing's io_uring_prep_*.
 */
static inline struct io_uring_sqe *sqe_next(struct io_uring *r)
{
	return &r->sq.sqes[r->sq.sqe_tail++ & r->sq.ring_mask];
}

/* The SQE of ops[i] (o): the kernel copies the event when it prepares the
 * op, inside the submission, and ops[] outlives that. */
static inline void prep_ctl(struct io_uring_sqe *sqe, const struct qop *o, unsigned i)
{
	io_uring_prep_epoll_ctl(sqe, o->epfd, o->fd, o->op, (struct epoll_event *)&o->ev);
	sqe->user_data = i;
}

/* The common batch's SQEs: one per live op (every op: all), nothing linked;
 * sqe_next()'s way with the tail in a register (the SQE stores may alias
 * the ring's fields, so sqe_next() itself would reload it for each).
 * Returns their number. */
static inline __attribute__((always_inline)) unsigned
prep_ops(struct io_uring *r, const struct qop *ops, unsigned n, int all)
{
	struct io_uring_sq *sq = &r->sq;
	unsigned tail = sq->sqe_tail, mask = sq->ring_mask, k = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!all && !ops[i].op)
			continue;	/* cancelled */
		prep_ctl(&sq->sqes[(tail + k++) & mask], &ops[i], i);
	}
	sq->sqe_tail = tail + k;
	return k;
}

/* Two loops, so the usual one (no op cancelled) tests none. */
static inline unsigned prep_batch(struct io_uring *r, const struct qop *ops, unsigned n,
				  unsigned live)
{
	return likely(live == n) ? prep_ops(r, ops, n, 1) : prep_ops(r, ops, n, 0);
}

/* The SQEs of a batch with order to keep (a DEL and a later ADD of one fd
 * hard-linked, ordered) or a fused close (hard-linked behind the op at
 * close_at).  Returns the number of CQEs they post. */
static unsigned prep_linked(struct io_uring *r, const struct qop *ops, unsigned n, int ordered,
			    int close_at, int close_fd)
{
	struct io_uring_sqe *sqe, *last = NULL;
	unsigned ctl = 0;

	for (unsigned i = 0; i < n; i++) {
		if (unlikely(!ops[i].op))
			continue;
		sqe = sqe_next(r);
		prep_ctl(sqe, &ops[i], i);
		ctl++;
		if (ordered && last)
			last->flags |= IOSQE_IO_HARDLINK;
		last = sqe;
		if ((int)i == close_at) {
			/* the fd's last op, then its close (even if the op
			 * failed: close(2) does not depend on it either) */
			sqe->flags |= IOSQE_IO_HARDLINK;
			sqe = sqe_next(r);
			io_uring_prep_close(sqe, close_fd);
			sqe->user_data = TAG_CLOSE;
			last = NULL;
			ctl++;
		}
	}
	return ctl;
}

/* Nothing was submitted (err: -errno): this ring is dropped, and the caller
 * runs the ops synchronously and waits the ordinary way. */
static __attribute__((noinline, cold)) int ring_failed(struct uring_state *u, int err)
{
	ring_free(u);
	my_ring = NULL;
	errno = -err;
	return -1;
}

/* A fused wait's submission under way (uring_abandon), on uring_submit's
 * frame: r once its SQEs are being written, rp once they go to the kernel. */
static TLS struct {
	struct io_uring *r;
	struct reap *rp;
} inflight;

/* The fused wait of uring_submit() that a signal handler interrupted, and
 * is leaving with siglongjmp.  Submitted, its wait request stays armed in
 * the ring (it would take the next events into the abandoned buffer) and
 * the ops' CQEs would be taken for the next batch's: cancel the wait and
 * reap everything, as uring_submit() does after an EINTR.  Written but not
 * submitted: the SQEs are dropped, and 0 says nothing ran. */
int uring_abandon(struct be_report *rep)
{
	struct io_uring *r = inflight.r;
	struct reap *rp = inflight.rp;

	inflight.r = NULL;
	if (!r)
		return 0;
	if (!rp) {
		r->sq.sqe_tail = r->sq.sqe_head;
		return 0;
	}
	if (!rp->have_wait)
		cancel_wait(r, rp);
	else if (rp->ctl_left || rp->cancel_left)
		settle_ring(r, rp, 0);
	rep->errors += rp->errors;
	return 1;
}

/*
 * The ops, and, fused, the epoll wait, in one io_uring_enter.  The wait
 * SQE follows the ctl SQEs, which run inline and in order on an instance
 * only this thread uses, so the wait sees their effect.
 * IORING_OP_EPOLL_WAIT completes inline when events are ready and otherwise
 * arms a poll on the epoll file:
 *   timeout 0   a cancel of the wait goes in the same submission, after it:
 *               an armed wait is cancelled at once (0 events), a completed
 *               one is not found; the enter waits for the ctl CQEs and the
 *               cancel's.  (A linked timeout, as the first version used,
 *               armed an hrtimer on every call: 17% of the 0-timeout
 *               loop's time.)
 *   otherwise   submit_and_wait(): the enter also waits for the wait's CQE,
 *               with its timeout and sigmask; without it (a timeout or a
 *               signal) the wait is cancelled, and 0 or EINTR returned, or
 *               the events it took.
 * w: the fused wait, or NULL.  close_at: the index of the op after which
 * (hard-linked, so only once it completed) the ring closes close_fd, or -1.
 * Returns 0, or -1 with errno when nothing was submitted.
 */
HOT int uring_submit(const struct qop *ops, unsigned n, unsigned live, int ordered, int *res,
		     struct be_wait *w, int close_at, int close_fd, int *close_res,
		     struct be_report *rep)
{
	struct uring_state *u = ring_get();
	struct io_uring *r;
	struct io_uring_sqe *sqe;
	struct reap rp = { .res = res, .res_n = n };
	int ret, expired = 0, poll = w && w->ts && !w->ts->tv_sec && !w->ts->tv_nsec;
	unsigned nctl;

	if (!u)
		return -1;
	r = &u->ring;
	/* Room for the ops, a close, the wait and its cancel: always (every
	 * enter takes all it is given, SUBMIT_ALL, and RING_ENTRIES > QCAP +
	 * 3), or the ring is given up as after a failed enter. */
	if (unlikely(io_uring_sq_space_left(r) < n + 3))
		return ring_failed(u, -EBUSY);
	if (w) {
		inflight.r = r;
		inflight.rp = NULL;
	}
	rp.ctl_left = likely(!ordered && close_at < 0) ? prep_batch(r, ops, n, live) :
		      prep_linked(r, ops, n, ordered, close_at, close_fd);
	nctl = rp.ctl_left - (close_at >= 0);	/* the close's CQE is not a ctl op's */
	if (w) {
		sqe = sqe_next(r);
		io_uring_prep_rw(OP_EPOLL_WAIT, sqe, w->epfd, w->evs, (unsigned)w->maxevents, 0);
		sqe->user_data = TAG_WAIT;
		/* No IOSQE_IO_DRAIN: it sends the wait through io-wq, and under
		 * epoll_pwait's sigmask a pending signal would then win over
		 * ready events.  An op punted because another thread briefly
		 * held the instance's mutex shows up in reap() as "late". */
		if (poll) {
			sqe = sqe_next(r);
			io_uring_prep_cancel64(sqe, TAG_WAIT, 0);
			sqe->user_data = TAG_CANCEL;
			rp.cancel_left = 1;
		}
	}
	if (w)
		inflight.rp = &rp;
	if (w && !poll && (r->features & IORING_FEAT_EXT_ARG)) {
		ret = submit_and_wait(r, &rp, w, &expired);
		/* ops that completed late (or a wake-up before them) */
		if (!ret && (rp.ctl_left || rp.cancel_left))
			ret = settle_ring(r, &rp, 0);
		if (!ret && !rp.have_wait) {
			cancel_wait(r, &rp);
			if (rp.wait_res == -ECANCELED)
				rp.wait_res = expired ? 0 : -EINTR;
		}
	} else {
		ret = settle_ring(r, &rp, poll);
	}
	if (ret < 0) {
		inflight.r = NULL;
		return ring_failed(u, ret);
	}
	if (w && !rp.have_wait) {
		/* a kernel without IORING_FEAT_EXT_ARG: the ops first, then
		 * the wait in a second enter */
		struct __kernel_timespec kts;
		struct io_uring_cqe *cqe;

		if (w->ts) {
			kts.tv_sec = w->ts->tv_sec;
			kts.tv_nsec = w->ts->tv_nsec;
		}
		ret = io_uring_wait_cqes(r, &cqe, 1, w->ts ? &kts : NULL, (sigset_t *)w->sigmask);
		reap(r, &rp);
		if (!rp.have_wait)
			cancel_wait(r, &rp);
		if (rp.wait_res == -ECANCELED)
			rp.wait_res = ret == -ETIME ? 0 : -EINTR;
	}
	inflight.r = NULL;
	if (close_res)
		*close_res = rp.close_res;
	/* ctl ops that completed after the wait's CQE (all are in by now) */
	if (rp.have_wait)
		rep->late += nctl - rp.ctl_before;
	rep->errors += rp.errors;
	if (w)
		w->result = poll && rp.wait_res == -ECANCELED ? 0 : rp.wait_res;
	return 0;
}

void uring_thread_exit(void)
{
	if (my_ring) {
		ring_free(my_ring);
		my_ring = NULL;
	}
}

/* The ring's registration belongs to the parent's task: every ring made
 * before this fork is stale here. */
void uring_after_fork(void)
{
	atomic_fetch_add(&fork_gen, 1);
}
