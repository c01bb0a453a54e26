/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * epoll_batch: run many epoll_ctl operations, and optionally one epoll wait,
 * in a single ioctl on /dev/epoll_batch.
 *
 * This header is the whole ABI between kmod/ (the module) and preload/ (the
 * LD_PRELOAD shim); both include it.  Every field has a fixed size and the
 * structures have no implicit padding, so 32- and 64-bit callers agree.
 */
#ifndef _UAPI_EPOLL_BATCH_H
#define _UAPI_EPOLL_BATCH_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define EPOLL_BATCH_DEVICE	"/dev/epoll_batch"

/* Largest nr_ops accepted by one EPOLL_BATCH_IOC_SUBMIT. */
#define EPOLL_BATCH_MAX_OPS	1024
/* Largest maxevents accepted by the fused wait (the kernel's own limit is higher). */
#define EPOLL_BATCH_MAX_EVENTS	4096

/* Per-op flags (struct epoll_batch_op.flags). */
/* EPOLL_CTL_ADD that fails with EEXIST is retried as EPOLL_CTL_MOD. */
#define EPOLL_BATCH_F_ADD_OR_MOD	(1U << 0)
/* EPOLL_CTL_MOD that fails with ENOENT is retried as EPOLL_CTL_ADD. */
#define EPOLL_BATCH_F_MOD_OR_ADD	(1U << 1)
#define EPOLL_BATCH_F_ALL		(EPOLL_BATCH_F_ADD_OR_MOD | EPOLL_BATCH_F_MOD_OR_ADD)

struct epoll_batch_op {
	__s32 epfd;		/* in: epoll fd */
	__s32 op;		/* in: EPOLL_CTL_ADD, EPOLL_CTL_MOD or EPOLL_CTL_DEL */
	__s32 fd;		/* in: target fd */
	__u32 events;		/* in: epoll_event.events */
	__u64 data;		/* in: epoll_event.data */
	__u32 flags;		/* in: EPOLL_BATCH_F_* */
	__s32 result;		/* out: 0, or -errno of this op */
};

/* struct epoll_batch.flags */
/* Run the wait described by wait_* after the ops (only if all ops ran). */
#define EPOLL_BATCH_WAIT		(1U << 0)
/* Stop at the first op that fails (default: run every op, each gets a result). */
#define EPOLL_BATCH_STOP_ON_ERROR	(1U << 1)
#define EPOLL_BATCH_FLAGS_ALL		(EPOLL_BATCH_WAIT | EPOLL_BATCH_STOP_ON_ERROR)

struct epoll_batch {
	__u64 ops;		/* in: user pointer to struct epoll_batch_op[nr_ops] */
	__u32 nr_ops;		/* in: 0..EPOLL_BATCH_MAX_OPS */
	__u32 nr_done;		/* out: ops that ran; results of [0, nr_done) are valid */
	__u32 flags;		/* in: EPOLL_BATCH_WAIT, EPOLL_BATCH_STOP_ON_ERROR */
	__s32 wait_epfd;	/* in: epoll fd to wait on (with EPOLL_BATCH_WAIT) */
	__u64 wait_events;	/* in: user pointer to struct epoll_event[wait_maxevents] */
	__s32 wait_maxevents;	/* in: 1..EPOLL_BATCH_MAX_EVENTS */
	__s32 wait_result;	/* out: events returned, or -errno of the wait;
				 * -ECANCELED: STOP_ON_ERROR stopped the ops */
	__s64 wait_timeout_ns;	/* in: <0 waits forever, 0 polls, >0 relative
				 * timeout (rounded up to whole ms) */
	__u64 wait_sigmask;	/* in: 0, or user pointer to a sigset_t (as epoll_pwait) */
	__u32 wait_sigsetsize;	/* in: sizeof the kernel sigset_t (8 on x86_64) */
	__u32 reserved;		/* in: must be 0 */
};

/*
 * Returns 0 when every op ran (each op's own result says whether it
 * succeeded) and, with EPOLL_BATCH_WAIT, the wait ran (see wait_result).
 * Returns -1 with errno when the batch itself is bad (EINVAL, EFAULT, E2BIG)
 * or was interrupted (EINTR): nr_done then says how many ops ran (it is
 * not written only when the struct epoll_batch itself faults).  EPERM: the
 * caller is under seccomp and the module's allow_seccomp is off (nothing
 * ran, nr_done not written).  Per-op
 * flags that do not fit the op (ADD_OR_MOD on a MOD...) fail that op with
 * -EINVAL.  See docs/kmod.md.
 */
#define EPOLL_BATCH_IOC_SUBMIT	_IOWR(0xEB, 0x01, struct epoll_batch)

#endif /* _UAPI_EPOLL_BATCH_H */
