/* SPDX-License-Identifier: MIT */
/*
 * The values libepbatch.so passes as arguments of its USDT probes (provider
 * "epbatch", listed in docs/shim.md) and prints in its stats line.  The
 * shim and epbatch-trace's USDT side both include this header, so a probe
 * argument means the same thing on both sides.
 */
#ifndef EPBATCH_SHIM_PROBES_H
#define EPBATCH_SHIM_PROBES_H

/* epbatch:flush arg 2, and the stats line's backend= */
enum epbatch_backend {
	EPB_BE_SYNC = 0,
	EPB_BE_URING = 1,
	EPB_BE_KMOD = 2,
};

/* Which libc wait the application called. */
enum epbatch_wait_kind {
	EPB_WAIT = 0,		/* epoll_wait: timeout in ms */
	EPB_PWAIT = 1,		/* epoll_pwait: timeout in ms, sigmask */
	EPB_PWAIT2 = 2,		/* epoll_pwait2: timespec, sigmask */
};

/* epbatch:fallback arg 1 (reason); arg 2 is the value named here. */
enum epbatch_fallback {
	EPB_FB_MISPREDICTED = 1,	/* a deferred op failed in the kernel: its errno */
	EPB_FB_FOREIGN_TABLE = 2,	/* a queue of another fd table: 0 */
	EPB_FB_UNSHARE = 3,		/* EPBATCH_UNSHARE's unshare failed: errno */
	EPB_FB_BACKEND = 4,		/* a batching backend failed: errno */
	EPB_FB_LATE_CTL = 5,		/* ctl ops completed after the fused wait: count */
	EPB_FB_SIGQ_FULL = 6,		/* a signal handler's op found the side list full: 0 */
	EPB_FB_LOST_CLOSE = 7,		/* a deferred op met EBADF (fd closed behind the
					 * shim): EBADF */
};

/* epbatch:mode arg 1: how this thread's next loop iteration submits its ops */
enum epbatch_mode {
	EPB_MODE_DIRECT = 0,	/* each epoll_ctl is its own syscall (batching would cost) */
	EPB_MODE_BATCH = 1,	/* deferred, then one batch (fused with the wait) */
};

#endif
