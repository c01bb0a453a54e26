/* SPDX-License-Identifier: MIT */
/*
 * libepbatch-floor.so: the least a deferral over liburing can cost, for
 * scripts/bench-shim-instr.sh to count beside the shim (variant "floor"):
 * liburing's public API, but for the SQEs of a batch, which it takes
 * together as the shim does (be_uring.c sqe_next() says why).  A benchmark
 * reference, not a shim: it knows only the loop of build/shim/epbatch-rearm
 * with blocking waits on one epoll fd and a single thread, and checks
 * nothing.  epoll_ctl(MOD) goes into an array, folded into the fd's earlier
 * op by an index by fd; epoll_wait sends the array as EPOLL_CTL SQEs with
 * IORING_OP_EPOLL_WAIT after them in one io_uring_submit_and_wait() and
 * walks the CQEs with one test each.  No mirror, no prediction, no lock
 * word, no owner check, no signal safety, no statistics: what libepbatch.so
 * spends above this is what those cost.  Any other call, or a kernel
 * without IORING_OP_EPOLL_WAIT, goes to libc (another wait after the array,
 * sent op by op, so the loop stays right).
 */
#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "../be.h"	/* the backends' op record, QCAP and OP_EPOLL_WAIT */

#define FDS 4096
#define WAIT_TAG (1ULL << 32)

static struct qop q[QCAP];	/* only ev and fd are written */
static unsigned n;
static uint8_t idx[FDS];
static int epfd_q = -1, ready;
static struct io_uring ring;
static int (*libc_ctl)(int, int, int, struct epoll_event *);
static int (*libc_wait)(int, struct epoll_event *, int, int);

__attribute__((constructor)) static void floor_init(void)
{
	struct io_uring_probe *p;

	libc_ctl = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
	libc_wait = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	if (io_uring_queue_init(2 * QCAP, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN))
		return;
	p = io_uring_get_probe_ring(&ring);
	ready = p && p->last_op >= OP_EPOLL_WAIT && io_uring_opcode_supported(p, OP_EPOLL_WAIT);
	io_uring_free_probe(p);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	unsigned i;

	if (op != EPOLL_CTL_MOD || !ready || (unsigned)fd >= FDS || (epfd != epfd_q && n) ||
	    n == QCAP)
		return libc_ctl(epfd, op, fd, ev);
	epfd_q = epfd;
	i = idx[fd];
	if (i < n && q[i].fd == fd) {
		q[i].ev = *ev;
		return 0;
	}
	idx[fd] = (uint8_t)n;
	q[n].ev = *ev;
	q[n].fd = fd;
	n++;
	return 0;
}

int epoll_wait(int epfd, struct epoll_event *evs, int maxevents, int timeout)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int rc = 0;

	if (!n || epfd != epfd_q || timeout != -1) {
		/* not the loop it knows: what it holds first, one by one */
		for (unsigned i = 0; i < n; i++)
			if (libc_ctl(epfd_q, EPOLL_CTL_MOD, q[i].fd, &q[i].ev))
				abort();
		n = 0;
		return libc_wait(epfd, evs, maxevents, timeout);
	}
	/* the SQEs taken together, as the shim's prep_ops() does (the ring
	 * is empty between waits: 2 * QCAP entries hold n + 1) */
	for (unsigned i = 0, tail = ring.sq.sqe_tail; i < n; i++) {
		sqe = &ring.sq.sqes[(tail + i) & ring.sq.ring_mask];
		io_uring_prep_epoll_ctl(sqe, epfd, q[i].fd, EPOLL_CTL_MOD, &q[i].ev);
		sqe->user_data = i;
	}
	ring.sq.sqe_tail += n;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_rw(OP_EPOLL_WAIT, sqe, epfd, evs, (unsigned)maxevents, 0);
	sqe->user_data = WAIT_TAG;
	io_uring_submit_and_wait(&ring, n + 1);
	io_uring_for_each_cqe(&ring, head, cqe) {
		if (cqe->user_data == WAIT_TAG)
			rc = cqe->res;
		else if (cqe->res < 0)
			abort();	/* the loop's MODs cannot fail */
		seen++;
	}
	io_uring_cq_advance(&ring, seen);
	n = 0;
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}
