/* SPDX-License-Identifier: MIT */
/* The kmod backend: one ioctl on /dev/epoll_batch (include/uapi/epoll_batch.h). */
#include "be.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

_Atomic int kmod_dev_fd = -1;	/* be.h: be_owns_fd() inline */

int kmod_open(void)
{
	int cancel = nocancel_begin(), fd = open(EPOLL_BATCH_DEVICE, O_RDWR | O_CLOEXEC);

	nocancel_end(cancel);
	if (fd >= 0)
		atomic_store(&kmod_dev_fd, fd);
	return fd;
}

/* The application closed (or dup'd over) the device fd: forget it and
 * reopen on next use. */
void kmod_fd_closed(int fd)
{
	int expect = fd;

	atomic_compare_exchange_strong(&kmod_dev_fd, &expect, -1);
}

/*
 * One ioctl for the ops and, fused, the wait.  A signal between two ops ends
 * the ioctl with EINTR after ops [0, nr_done) ran (exact: see the uapi
 * header); the handler has run by the time the ioctl returns.  The
 * application's epoll_ctl calls were all answered already, and natively a
 * signal arriving among them would only have run its handler before the
 * wait began, never failed the wait: so the rest of the ops are submitted
 * again, the wait with them, until everything ran.  Only the wait itself
 * reports EINTR (in wait_result), as epoll_pwait does.
 * Returns 0, -1 (nothing ran) or -2 - k (ops [0, k) ran, then it failed).
 */
/* A fused wait's submission under way (kmod_abandon), on kmod_submit's
 * frame: its ops from done on go to the ioctl that b describes. */
static TLS struct {
	const struct qop *ops;
	const struct epoll_batch_op *bops;
	const unsigned *idx;
	const struct epoll_batch *b;
	unsigned k, done;
} inflight;

/* kmod_submit() interrupted by a signal whose handler leaves with
 * siglongjmp: nothing is in flight (an ioctl returned, or none is made
 * yet), but the ops the last one ran may not be in res[] yet (their results
 * are in bops), and those after them (an EINTR between ops, or no ioctl
 * yet) did not run: they run now, one by one.  0 when it made no ioctl. */
int kmod_abandon(int *res, struct be_report *rep)
{
	unsigned ran;

	if (!inflight.bops)
		return 0;
	ran = inflight.b->nr_done <= inflight.b->nr_ops ? inflight.b->nr_done : inflight.b->nr_ops;
	for (unsigned j = inflight.done; j < inflight.k; j++) {
		const struct qop *o = &inflight.ops[inflight.idx[j]];
		int r;

		if (j < inflight.done + ran) {
			r = inflight.bops[j].result;
		} else {
			struct epoll_event ev = o->ev;

			r = sys_epoll_ctl(o->epfd, o->op, o->fd, &ev) ? -errno : 0;
		}
		res[inflight.idx[j]] = r;
		rep->errors += r != 0;
	}
	inflight.bops = NULL;
	return 1;
}

int kmod_submit(const struct qop *ops, unsigned n, int *res, struct be_wait *w,
		unsigned *errors)
{
	struct epoll_batch_op bops[QCAP];
	unsigned idx[QCAP], k = 0, done = 0;
	struct epoll_batch b;
	struct be_wait *wq = w;	/* the wait still to run with the ops */
	int fd = atomic_load(&kmod_dev_fd), retried = 0;

	if (fd < 0 && (fd = kmod_open()) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		res[i] = 0;
		if (!ops[i].op)
			continue;
		bops[k] = (struct epoll_batch_op){
			.epfd = ops[i].epfd, .op = ops[i].op, .fd = ops[i].fd,
			.events = ops[i].ev.events, .data = ops[i].ev.data.u64,
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
		/* memset above: nr_done 0 until the ioctl says, so an abandon
		 * before it runs every op from done on itself */
		if (w)
			inflight = (typeof(inflight)){ ops, bops, idx, &b, k, done };
		rc = ioctl(fd, EPOLL_BATCH_IOC_SUBMIT, &b);
		if (rc < 0 && (errno == EBADF || errno == ENOTTY) && !retried && done == 0) {
			/* The application closed the device fd, or its number
			 * now names another file: open the device again. */
			retried = 1;
			kmod_fd_closed(fd);
			if ((fd = kmod_open()) < 0) {
				inflight.bops = NULL;
				return -1;
			}
			continue;
		}
		if (rc < 0 && errno != EINTR) {
			inflight.bops = NULL;
			return done ? -2 - (int)done : -1;
		}
		if (b.nr_done > b.nr_ops)	/* never, per the ABI */
			b.nr_done = b.nr_ops;
		for (unsigned j = 0; j < b.nr_done; j++) {
			res[idx[done + j]] = bops[done + j].result;
			*errors += bops[done + j].result != 0;
		}
		done += b.nr_done;
		inflight.done = done;
		if (rc == 0)
			break;
		/* EINTR between ops: the rest (and the wait) again.  If the
		 * handler left an op in the shim's side list, it must reach
		 * the kernel before the wait, as natively: finish the ops
		 * without the wait; the caller queues it and waits. */
		if (wq && wq->sigops && atomic_load(wq->sigops))
			wq = NULL;
	}
	inflight.bops = NULL;
	if (w && wq)
		w->result = b.wait_result;
	else if (w)
		w->skipped = 1;
	return 0;
}
