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

/* A submission's state, on kmod_submit's frame: the module's ops (bops,
 * and idx: their index among the n of ops[], cancelled ones left out) from
 * done on go to the ioctl that b describes. */
struct kmod_sub {
	const struct qop *ops;
	unsigned n;
	struct epoll_batch_op bops[QCAP];
	unsigned idx[QCAP], k, done;
	struct epoll_batch b;
};

/* A fused wait's submission under way (kmod_abandon). */
static TLS struct kmod_sub *inflight;

/* The results of the ops the last ioctl ran (nr_done of them: 0 until it
 * says) in res[] (and errors), past them; a second take finds none. */
static void kmod_take(struct kmod_sub *s, int *res, unsigned *errors)
{
	/* never more than it was given, per the ABI */
	unsigned ran = s->b.nr_done <= s->b.nr_ops ? s->b.nr_done : s->b.nr_ops;

	for (unsigned j = s->done; j < s->done + ran; j++) {
		res[s->idx[j]] = s->bops[j].result;
		*errors += s->bops[j].result != 0;
	}
	s->done += ran;
	s->b.nr_done = 0;
}

/* How far ops[] is done: the index after the last op that ran (the
 * cancelled ones before it need nothing), 0 when none did. */
static unsigned kmod_ran(const struct kmod_sub *s)
{
	return s->done ? s->idx[s->done - 1] + 1 : 0;
}

/* kmod_submit() interrupted by a signal whose handler leaves with
 * siglongjmp: nothing is in flight (an ioctl returned, or none is made
 * yet), but the ops the last one ran may not be in res[] yet, and those
 * after them (an EINTR between ops, or no ioctl yet) did not run: they run
 * now, one by one.  0 when no submission is under way. */
int kmod_abandon(int *res, struct be_report *rep)
{
	struct kmod_sub *s = inflight;
	unsigned from;

	if (!s)
		return 0;
	inflight = NULL;
	kmod_take(s, res, &rep->errors);
	from = kmod_ran(s);
	rep->errors += be_sync_submit(s->ops + from, s->n - from, res + from);
	return 1;
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
 * Returns 0, -1 (nothing ran) or -2 - k (ops [0, k) of ops[] are done --
 * those that ran and the cancelled ones among them --, then it failed).
 */
int kmod_submit(const struct qop *ops, unsigned n, int *res, struct be_wait *w,
		unsigned *errors)
{
	struct kmod_sub s = { .ops = ops, .n = n };
	struct epoll_batch *b = &s.b;
	struct be_wait *wq = w;	/* the wait still to run with the ops */
	int fd = atomic_load(&kmod_dev_fd), retried = 0, rc;

	if (fd < 0 && (fd = kmod_open()) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		res[i] = 0;
		if (!ops[i].op)
			continue;
		s.bops[s.k] = (struct epoll_batch_op){
			.epfd = ops[i].epfd, .op = ops[i].op, .fd = ops[i].fd,
			.events = ops[i].ev.events, .data = ops[i].ev.data.u64,
		};
		s.idx[s.k++] = i;
	}
	if (w)
		inflight = &s;
	for (;;) {
		/* nr_done 0 until the ioctl says (kmod_take) */
		memset(b, 0, sizeof(*b));
		b->ops = (unsigned long)&s.bops[s.done];
		b->nr_ops = s.k - s.done;
		if (wq) {
			b->flags = EPOLL_BATCH_WAIT;
			b->wait_epfd = wq->epfd;
			b->wait_events = (unsigned long)wq->evs;
			b->wait_maxevents = wq->maxevents;
			b->wait_timeout_ns = wq->ts ? wq->ts->tv_sec * 1000000000LL + wq->ts->tv_nsec : -1;
			b->wait_sigmask = (unsigned long)wq->sigmask;
			b->wait_sigsetsize = wq->sigmask ? SIGSET_SZ : 0;
		}
		rc = ioctl(fd, EPOLL_BATCH_IOC_SUBMIT, b);
		/* what ran, whatever the return: a failed ioctl reports it too */
		kmod_take(&s, res, errors);
		if (rc < 0 && (errno == EBADF || errno == ENOTTY) && !retried && s.done == 0) {
			/* The application closed the device fd, or its number
			 * now names another file: open the device again. */
			retried = 1;
			kmod_fd_closed(fd);
			if ((fd = kmod_open()) < 0)
				break;
			continue;
		}
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0)
			break;
		/* EINTR between ops: the rest (and the wait) again.  If the
		 * handler left an op in the shim's side list, it must reach
		 * the kernel before the wait, as natively: finish the ops
		 * without the wait; the caller queues it and waits. */
		if (wq && wq->sigops && atomic_load(wq->sigops))
			wq = NULL;
	}
	inflight = NULL;
	if (rc < 0)
		return s.done ? -2 - (int)kmod_ran(&s) : -1;
	if (w && wq)
		w->result = b->wait_result;
	else if (w)
		w->skipped = 1;
	return 0;
}
