/* SPDX-License-Identifier: MIT */
/*
 * Backends: how a batch of epoll_ctl ops (and, fused, the wait after it)
 * reaches the kernel.  A backend knows nothing of the shim's queues, mirror
 * or counters: it takes the ops and the wait as arguments and says what
 * happened in struct be_report.  Per-thread backend state (an io_uring) is
 * the backend's own and is only ever used by the thread that owns it.
 *   sync   one epoll_ctl syscall per op (the A/B control, and the way a
 *          thread applies another thread's queue)        be_sync.c
 *   uring  a per-thread io_uring: IORING_OP_EPOLL_CTL per op and, fused,
 *          IORING_OP_EPOLL_WAIT (kernel >= 6.15, probed)  be_uring.c
 *   kmod   one ioctl on /dev/epoll_batch                  be_kmod.c
 */
#ifndef EPBATCH_BE_H
#define EPBATCH_BE_H

#include <stdatomic.h>
#include <stdint.h>

#include "epbatch/shim_probes.h"
#include "uapi/epoll_batch.h"
#include "real.h"

#pragma GCC visibility push(hidden)

/* One epoll_ctl as a batch carries it. */
struct qop {
	struct epoll_event ev;	/* what the kernel copies when the op is prepared */
	int epfd;
	int fd;
	int op;			/* EPOLL_CTL_*, or 0 once cancelled */
	unsigned epi;		/* the shim's instance id (the backends ignore it) */
	int ordered;		/* follows a DEL of the same fd in this batch */
};

/* Largest batch: one thread's queue. */
#define QCAP 256

/* IORING_OP_EPOLL_WAIT (Linux 6.15): the installed uapi headers predate it;
 * the number is from the kernel's include/uapi/linux/io_uring.h and is
 * confirmed by IORING_REGISTER_PROBE before use. */
#define OP_EPOLL_WAIT 59

/* The wait fused with a batch. */
struct be_wait {
	int epfd;
	struct epoll_event *evs;
	int maxevents;
	const struct timespec *ts;	/* NULL: forever */
	const sigset_t *sigmask;
	const _Atomic int *sigops;	/* >0: a signal handler left an op that must
					 * reach the kernel before the wait (kmod) */
	int result;			/* out: events, or -errno */
	int skipped;			/* out: the wait did not run: the caller waits */
};

/* What a submission did besides the per-op results. */
struct be_report {
	int failed;		/* the backend failed: errno (ops ran through sync) */
	unsigned late;		/* ctl ops that completed after the fused wait */
	unsigned errors;	/* ops whose res[] is not 0 */
};

extern enum epbatch_backend be_kind;
extern int be_fused;	/* the backend can fuse a wait with a batch */

/* EPBATCH_BACKEND and EPBATCH_FUSED; -1 after printing why on stderr. */
int be_init(void);
const char *be_name(enum epbatch_backend b);

int uring_submit(const struct qop *ops, unsigned n, unsigned live, int ordered, int *res,
		 struct be_wait *w, int close_at, int close_fd, int *close_res,
		 struct be_report *rep);
void be_submit_other(const struct qop *ops, unsigned n, int *res, struct be_wait *w,
		     struct be_report *rep, int ret);

/* Run ops[0..n) (and w, when not NULL) with this thread's backend (live: how
 * many of them are not cancelled; ordered: a DEL and a later ADD of one fd
 * are among them: keep them in order); res[i] is op i's result (0 or -errno;
 * cancelled ops give 0).  Never fails: a backend that cannot run the batch
 * falls back to sync (rep->failed says so).  io_uring's way is inlined into
 * the callers (a batched iteration's), the rest is be_submit_other(). */
static inline void be_submit(const struct qop *ops, unsigned n, unsigned live, int ordered,
			     int *res, struct be_wait *w, struct be_report *rep)
{
	int ret = 1;

	if (likely(be_kind == EPB_BE_URING)) {
		ret = uring_submit(ops, n, live, ordered, res, w, -1, -1, NULL, rep);
		if (likely(ret == 0))
			return;
	}
	be_submit_other(ops, n, res, w, rep, ret);
}
/* The ops, then close(fd) hard-linked behind ops[close_at], in one syscall.
 * Returns close's result (0 or -errno), or 1 when the backend cannot (nothing
 * was submitted). */
int be_submit_close(const struct qop *ops, unsigned n, unsigned live, int ordered, int *res,
		    unsigned close_at, int fd, struct be_report *rep);
/* Returns how many ops failed. */
unsigned be_sync_submit(const struct qop *ops, unsigned n, int *res);

/* A fused wait's submission that a signal handler is leaving with
 * siglongjmp (jump.c): bring it to an end here, nothing of it left in
 * flight.  rep is the one be_submit() was given. */
enum be_abandoned {
	BE_AB_NONE,	/* nothing of it reached the kernel: the caller runs the ops */
	BE_AB_SETTLED,	/* res[] and rep as be_submit() would have left them */
	BE_AB_SYNC,	/* the ops ran one by one (a failed backend), res[] and rep are in */
};
enum be_abandoned be_abandon(int *res, struct be_report *rep);
void be_thread_exit(void);
void be_after_fork(void);
/* The kmod backend's device fd: the application closed or replaced it. */
extern _Atomic int kmod_dev_fd;
static inline int be_owns_fd(int fd)
{
	return fd >= 0 && fd == atomic_load_explicit(&kmod_dev_fd, memory_order_relaxed);
}
void be_fd_closed(int fd);

/* be_uring.c / be_kmod.c, for be.c */
int uring_probe(void);
int uring_has_wait(void);
int uring_has_close(void);
void uring_thread_exit(void);
void uring_after_fork(void);
int uring_abandon(struct be_report *rep);
int kmod_abandon(int *res, struct be_report *rep);
int kmod_open(void);
int kmod_submit(const struct qop *ops, unsigned n, int *res, struct be_wait *w,
		unsigned *errors);
void kmod_fd_closed(int fd);

#define SIGSET_SZ (_NSIG / 8)

#pragma GCC visibility pop

#endif
