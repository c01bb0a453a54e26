/* SPDX-License-Identifier: MIT */
/*
 * Backends: how a batch of epoll_ctl ops (and, fused, the wait after it)
 * reaches the kernel.
 *   sync   one epoll_ctl syscall per op (the A/B control; also the path a
 *          thread takes when it flushes another thread's queue)
 *   uring  a per-thread io_uring: IORING_OP_EPOLL_CTL per op, and for the
 *          fused wait IORING_OP_EPOLL_WAIT (probed; kernel >= 6.15)
 *   kmod   one ioctl on /dev/epoll_batch (include/uapi/epoll_batch.h)
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sdt.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The installed uapi headers predate it; the number is from the kernel's
 * include/uapi/linux/io_uring.h and is confirmed by IORING_REGISTER_PROBE
 * before use. */
#define OP_EPOLL_WAIT 59

#define RING_ENTRIES 512	/* QCAP ctl ops + wait + link timeout + cancel */
#define TAG_WAIT  0xffff0001ULL
#define TAG_TMO   0xffff0002ULL
#define TAG_CANCEL 0xffff0003ULL
#define TAG_CLOSE 0xffff0004ULL
#define SIGSET_SZ (_NSIG / 8)

struct uring_state {
	struct io_uring ring;
	unsigned gen;		/* fork generation it was made in */
};

static int have_uring_wait;	/* IORING_OP_EPOLL_WAIT is supported */
static int have_uring_close;	/* IORING_OP_CLOSE is supported */
static int fused_off;		/* EPBATCH_FUSED=0 */
static _Atomic int dev_fd = -1;
static _Atomic unsigned fork_gen;
static unsigned ring_flags;

const char *backend_name(enum backend b)
{
	switch (b) {
	case BE_KMOD:
		return "kmod";
	case BE_URING:
		return "uring";
	default:
		return "sync";
	}
}

int backend_has_fused_wait(void)
{
	if (fused_off)
		return 0;
	return be_kind == BE_KMOD || (be_kind == BE_URING && have_uring_wait);
}

static int dev_open(void)
{
	int fd = open(EPOLL_BATCH_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		atomic_store(&dev_fd, fd);
	return fd;
}

int backend_owns_fd(int fd)
{
	return fd >= 0 && fd == atomic_load(&dev_fd);
}

/* The application closed (or dup'd over) the device fd: forget it and
 * reopen on next use.  Rings have no fd to lose (see ring_new). */
void backend_fd_closed(int fd)
{
	int expect = fd;

	atomic_compare_exchange_strong(&dev_fd, &expect, -1);
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

static int probe_uring(void)
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

int backend_init(void)
{
	const char *v = getenv("EPBATCH_BACKEND");
	const char *f = getenv("EPBATCH_FUSED");

	fused_off = f && strcmp(f, "0") == 0;
	if (!v || !*v)
		v = "auto";
	if (strcmp(v, "sync") == 0) {
		be_kind = BE_SYNC;
	} else if (strcmp(v, "kmod") == 0) {
		if (dev_open() < 0) {
			fprintf(stderr, "libepbatch: EPBATCH_BACKEND=kmod: cannot open %s: %s\n",
				EPOLL_BATCH_DEVICE, strerror(errno));
			return -1;
		}
		be_kind = BE_KMOD;
	} else if (strcmp(v, "uring") == 0) {
		if (!probe_uring()) {
			fprintf(stderr, "libepbatch: EPBATCH_BACKEND=uring: io_uring with IORING_OP_EPOLL_CTL is not available\n");
			return -1;
		}
		be_kind = BE_URING;
	} else if (strcmp(v, "auto") == 0) {
		if (dev_open() >= 0)
			be_kind = BE_KMOD;
		else if (probe_uring())
			be_kind = BE_URING;
		else
			be_kind = BE_SYNC;
	} else {
		fprintf(stderr, "libepbatch: EPBATCH_BACKEND='%s': expected auto, kmod, uring or sync\n", v);
		return -1;
	}
	return 0;
}

/* ---- sync ---- */

void sync_submit(const struct qop *ops, unsigned n, int *res)
{
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = { .events = ops[i].events, .data.u64 = ops[i].data };

		res[i] = 0;
		if (ops[i].op && real_epoll_ctl(ops[i].epfd, ops[i].op, ops[i].fd, &ev) < 0)
			res[i] = -errno;
	}
}

/* ---- io_uring ---- */

static void ring_free(struct uring_state *u)
{
	/* The ring fd was closed right after setup: make liburing's exit
	 * path close nothing (that number may be the application's now). */
	u->ring.ring_fd = -1;
	u->ring.int_flags = 0;
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

static int ring_fd(struct uring_state *u, unsigned *flags)
{
	if (u->ring.ring_fd < 0) {
		*flags |= IORING_ENTER_REGISTERED_RING;
		return u->ring.enter_ring_fd;
	}
	return u->ring.ring_fd;
}

static unsigned flush_sq(struct io_uring *r)
{
	struct io_uring_sq *sq = &r->sq;
	unsigned tail = sq->sqe_tail;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		io_uring_smp_store_release(sq->ktail, tail);
	}
	return tail - *sq->khead;
}

static int ur_enter(struct uring_state *u, unsigned submit, unsigned wait, const sigset_t *mask)
{
	unsigned flags = IORING_ENTER_GETEVENTS;
	int fd = ring_fd(u, &flags);
	struct io_uring_getevents_arg arg;
	long ret;

	if (mask) {
		memset(&arg, 0, sizeof(arg));
		arg.sigmask = (unsigned long)mask;
		arg.sigmask_sz = SIGSET_SZ;
		flags |= IORING_ENTER_EXT_ARG;
		ret = syscall(__NR_io_uring_enter, fd, submit, wait, flags, &arg, sizeof(arg));
	} else {
		ret = syscall(__NR_io_uring_enter, fd, submit, wait, flags, NULL, SIGSET_SZ);
	}
	return ret < 0 ? -errno : (int)ret;
}

struct reap {
	int *res;
	unsigned left;
	int wait_res, have_wait, tmo_fired, close_res;
	unsigned late;		/* ctl CQEs that came after the wait's */
};

static void reap(struct io_uring *r, struct reap *rp)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(r, head, cqe) {
		seen++;
		if (cqe->user_data == TAG_WAIT) {
			rp->wait_res = cqe->res;
			rp->have_wait = 1;
		} else if (cqe->user_data == TAG_TMO) {
			rp->tmo_fired = cqe->res == -ETIME;
		} else if (cqe->user_data == TAG_CLOSE) {
			rp->close_res = cqe->res;
		} else if (cqe->user_data < QCAP) {
			rp->res[cqe->user_data] = cqe->res;
			rp->late += rp->have_wait;
		}
		if (cqe->user_data != TAG_CANCEL)
			rp->left--;
	}
	io_uring_cq_advance(r, seen);
}

/* Wait for every outstanding CQE.  A signal may interrupt the wait (the
 * handler has run by then); the ops are already in flight, so wait again. */
static void drain(struct uring_state *u, struct reap *rp)
{
	reap(&u->ring, rp);
	while (rp->left) {
		ur_enter(u, flush_sq(&u->ring), rp->left, NULL);
		reap(&u->ring, rp);
	}
}

static struct uring_state *ring_get(struct tq *self)
{
	struct uring_state *u = self->ur;

	if (u && u->gen == atomic_load(&fork_gen))
		return u;
	if (u)
		ring_free(u);
	self->ur = u = ring_new();
	return u;
}

/* w: the fused wait, or NULL.  close_at: the index of the op after which
 * (hard-linked, so only once it completed) the ring closes close_fd, or -1. */
static int uring_submit(struct tq *self, const struct qop *ops, unsigned n, int *res,
			struct waitreq *w, int close_at, int close_fd, int *close_res)
{
	struct uring_state *u = ring_get(self);
	struct io_uring *r;
	struct io_uring_sqe *sqe, *last = NULL;
	struct epoll_event evs[QCAP];
	struct __kernel_timespec kts;
	struct reap rp = { .res = res };
	unsigned k = 0;
	int ret, ordered = 0;

	if (!u)
		return -1;
	r = &u->ring;
	for (unsigned i = 0; i < n; i++)
		ordered |= ops[i].op && ops[i].ordered;
	for (unsigned i = 0; i < n; i++) {
		res[i] = 0;
		if (!ops[i].op)
			continue;
		evs[i].events = ops[i].events;
		evs[i].data.u64 = ops[i].data;
		sqe = io_uring_get_sqe(r);
		io_uring_prep_epoll_ctl(sqe, ops[i].epfd, ops[i].fd, ops[i].op, &evs[i]);
		sqe->user_data = i;
		/* a DEL and a later ADD of one fd must run in order */
		if (ordered && last)
			last->flags |= IOSQE_IO_HARDLINK;
		last = sqe;
		k++;
		if ((int)i == close_at) {
			/* the fd's last op, then its close (even if the op
			 * failed: close(2) does not depend on it either) */
			sqe->flags |= IOSQE_IO_HARDLINK;
			sqe = io_uring_get_sqe(r);
			io_uring_prep_close(sqe, close_fd);
			sqe->user_data = TAG_CLOSE;
			last = NULL;
			k++;
		}
	}
	rp.left = k;
	if (w) {
		sqe = io_uring_get_sqe(r);
		io_uring_prep_rw(OP_EPOLL_WAIT, sqe, w->epfd, w->evs, (unsigned)w->maxevents, 0);
		sqe->user_data = TAG_WAIT;
		/* No IOSQE_IO_DRAIN: it sends the wait through io-wq, and under
		 * epoll_pwait's sigmask a pending signal would then win over
		 * ready events.  Ops on an instance only this thread uses run
		 * inline, in order; one punted because another thread briefly
		 * held the instance's mutex shows up in reap() as "late". */
		rp.left++;
		if (w->ts) {
			sqe->flags |= IOSQE_IO_LINK;
			kts.tv_sec = w->ts->tv_sec;
			kts.tv_nsec = w->ts->tv_nsec;
			sqe = io_uring_get_sqe(r);
			io_uring_prep_link_timeout(sqe, &kts, 0);
			sqe->user_data = TAG_TMO;
			rp.left++;
		}
	}
	/* Wait for the ops and the epoll wait only, not for the link
	 * timeout's own CQE: that one may come a little later, and a signal
	 * arriving meanwhile would be taken under the caller's sigmask although
	 * the wait already has its events (epoll_pwait returns the events and
	 * leaves the signal pending). */
	ret = ur_enter(u, flush_sq(r), k + (w ? 1 : 0), w ? w->sigmask : NULL);
	if (ret < 0 && ret != -EINTR) {
		/* Nothing was submitted: drop this ring, run the ops
		 * synchronously and wait the ordinary way. */
		ring_free(u);
		self->ur = NULL;
		return -1;
	}
	reap(r, &rp);
	if (w && !rp.have_wait && !rp.tmo_fired) {
		/* The wait returned early without its CQE: a signal.  Cancel
		 * the epoll wait and collect it; events it already took are
		 * returned, not lost. */
		sqe = io_uring_get_sqe(r);
		io_uring_prep_cancel64(sqe, TAG_WAIT, 0);
		sqe->user_data = TAG_CANCEL;
		drain(u, &rp);
		w->result = rp.wait_res > 0 ? rp.wait_res : -EINTR;
		return 0;
	}
	drain(u, &rp);
	if (close_res)
		*close_res = rp.close_res;
	if (rp.late) {
		self->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, 5, rp.late);
	}
	if (w) {
		if (rp.wait_res == -ECANCELED && rp.tmo_fired)
			w->result = 0;
		else
			w->result = rp.wait_res;
	}
	return 0;
}

/* ---- kmod ---- */

/*
 * One ioctl for the ops and, fused, the wait.  A signal between two ops ends
 * the ioctl with EINTR after ops [0, nr_done) ran (exact: see the uapi
 * header); the handler has run by the time the ioctl returns.  The
 * application's epoll_ctl calls were all answered already, and natively a
 * signal arriving among them would only have run its handler before the
 * wait began, never failed the wait: so the rest of the ops are submitted
 * again, the wait with them, until everything ran.  Only the wait itself
 * reports EINTR (in wait_result), as epoll_pwait does.
 */
static int kmod_submit(const struct qop *ops, unsigned n, int *res,
		       struct waitreq *w)
{
	struct epoll_batch_op bops[QCAP];
	unsigned idx[QCAP], k = 0, done = 0;
	struct epoll_batch b;
	struct waitreq *wq = w;	/* the wait still to run with the ops */
	int fd = atomic_load(&dev_fd), retried = 0;

	if (fd < 0 && (fd = dev_open()) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		res[i] = 0;
		if (!ops[i].op)
			continue;
		bops[k] = (struct epoll_batch_op){
			.epfd = ops[i].epfd, .op = ops[i].op, .fd = ops[i].fd,
			.events = ops[i].events, .data = ops[i].data,
		};
		idx[k++] = i;
	}
	for (;;) {
		int rc;

		memset(&b, 0, sizeof(b));
		b.ops = (unsigned long)&bops[done];
		b.nr_ops = k - done;
		if (wq) {
			b.flags = EPOLL_BATCH_WAIT;
			b.wait_epfd = wq->epfd;
			b.wait_events = (unsigned long)wq->evs;
			b.wait_maxevents = wq->maxevents;
			b.wait_timeout_ns = wq->ts ? wq->ts->tv_sec * 1000000000LL + wq->ts->tv_nsec : -1;
			b.wait_sigmask = (unsigned long)wq->sigmask;
			b.wait_sigsetsize = wq->sigmask ? SIGSET_SZ : 0;
		}
		rc = ioctl(fd, EPOLL_BATCH_IOC_SUBMIT, &b);
		if (rc < 0 && (errno == EBADF || errno == ENOTTY) && !retried && done == 0) {
			/* The application closed the device fd, or its number
			 * now names another file: open the device again. */
			retried = 1;
			backend_fd_closed(fd);
			if ((fd = dev_open()) < 0)
				return -1;
			continue;
		}
		if (rc < 0 && errno != EINTR)
			return done ? -2 - (int)done : -1;
		if (b.nr_done > b.nr_ops)	/* never, per the ABI */
			b.nr_done = b.nr_ops;
		for (unsigned j = 0; j < b.nr_done; j++)
			res[idx[done + j]] = bops[done + j].result;
		done += b.nr_done;
		if (rc == 0)
			break;
		/* EINTR between ops: the rest (and the wait) again.  If the
		 * handler left an op in the side list (state.c sig_defer), it
		 * must reach the kernel before the wait, as natively: finish
		 * the ops without the wait; the caller queues it and waits. */
		if (wq && sig_pending())
			wq = NULL;
	}
	if (w && wq)
		w->result = b.wait_result;
	else if (w)
		w->skipped = 1;
	return 0;
}

int backend_submit(struct tq *self, const struct qop *ops, unsigned n, int *res,
		   struct waitreq *w)
{
	int ret = -1;

	if (be_kind == BE_URING)
		ret = uring_submit(self, ops, n, res, w, -1, -1, NULL);
	else if (be_kind == BE_KMOD)
		ret = kmod_submit(ops, n, res, w);
	if (ret == 0)
		return 0;
	if (be_kind != BE_SYNC) {
		self->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, 4, errno);
	}
	/* ret < -1: the first (-2 - ret) ops already ran */
	{
		unsigned skip = ret < -1 ? (unsigned)(-2 - ret) : 0;

		sync_submit(ops + skip, n - skip, res + skip);
	}
	if (w) {
		int ms = -1, r;

		if (w->ts)
			ms = (int)(w->ts->tv_sec * 1000 + (w->ts->tv_nsec + 999999) / 1000000);
		r = real_epoll_pwait(w->epfd, w->evs, w->maxevents, ms, w->sigmask);
		w->result = r < 0 ? -errno : r;
	}
	return 0;
}

/*
 * The ops, then close(fd), in one io_uring_enter: the ops up to and
 * including ops[close_at] (the fd's live op, usually its DEL) run first,
 * the close is hard-linked behind it.  Returns close's result (0 or
 * -errno), or 1 when the ring cannot do it and nothing was submitted (the
 * caller then flushes and closes the ordinary way).
 */
int backend_submit_close(struct tq *self, const struct qop *ops, unsigned n, int *res,
			 unsigned close_at, int fd)
{
	int cres = 0;

	if (be_kind != BE_URING || !have_uring_close || fused_off)
		return 1;
	if (uring_submit(self, ops, n, res, NULL, (int)close_at, fd, &cres) < 0)
		return 1;
	return cres;
}

void backend_thread_exit(struct tq *q)
{
	if (q->ur) {
		ring_free(q->ur);
		q->ur = NULL;
	}
}

void backend_forget_after_fork(struct tq *q)
{
	(void)q;
	/* The ring's registration belongs to the parent's task: every ring
	 * made before this fork is stale here. */
	atomic_fetch_add(&fork_gen, 1);
}
