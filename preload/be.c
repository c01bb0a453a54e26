/* SPDX-License-Identifier: MIT */
/* Choosing the backend (EPBATCH_BACKEND) and running a batch with it. */
#include "be.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum epbatch_backend be_kind = EPB_BE_SYNC;
int be_fused;
static int fused_off;		/* EPBATCH_FUSED=0 */
static void kmod_refused(void);

/* be_fused anew: be_kind was just set */
static void set_fused(void)
{
	be_fused = !fused_off &&
		   (be_kind == EPB_BE_KMOD || (be_kind == EPB_BE_URING && uring_has_wait()));
}

const char *be_name(enum epbatch_backend b)
{
	switch (b) {
	case EPB_BE_KMOD:
		return "kmod";
	case EPB_BE_URING:
		return "uring";
	default:
		return "sync";
	}
}

int be_init(void)
{
	const char *v = getenv("EPBATCH_BACKEND");
	const char *f = getenv("EPBATCH_FUSED");

	fused_off = f && strcmp(f, "0") == 0;
	if (!v || !*v)
		v = "auto";
	if (strcmp(v, "sync") == 0) {
		be_kind = EPB_BE_SYNC;
	} else if (strcmp(v, "kmod") == 0) {
		if (kmod_open() < 0) {
			fprintf(stderr, "libepbatch: EPBATCH_BACKEND=kmod: cannot open %s: %s\n",
				EPOLL_BATCH_DEVICE, strerror(errno));
			return -1;
		}
		be_kind = EPB_BE_KMOD;
	} else if (strcmp(v, "uring") == 0) {
		if (!uring_probe()) {
			fprintf(stderr, "libepbatch: EPBATCH_BACKEND=uring: io_uring with IORING_OP_EPOLL_CTL is not available\n");
			return -1;
		}
		be_kind = EPB_BE_URING;
	} else if (strcmp(v, "auto") == 0) {
		if (kmod_open() >= 0)
			be_kind = EPB_BE_KMOD;
		else if (uring_probe())
			be_kind = EPB_BE_URING;
		else
			be_kind = EPB_BE_SYNC;
	} else {
		fprintf(stderr, "libepbatch: EPBATCH_BACKEND='%s': expected auto, kmod, uring or sync\n", v);
		return -1;
	}
	set_fused();
	return 0;
}

/* be_submit_other()'s plain wait after its ops ran one by one (be_abandon) */
static TLS int sync_waiting;

/* be_submit() for every way but an io_uring submission that succeeded:
 * the module's, sync's, and the sync fallback of a failed one (ret: -1
 * when uring_submit() failed, 1 when it was not called). */
void be_submit_other(const struct qop *ops, unsigned n, int *res, struct be_wait *w,
		     struct be_report *rep, int ret)
{
	unsigned skip;

	if (be_kind == EPB_BE_KMOD) {
		ret = kmod_submit(ops, n, res, w, &rep->errors);
		if (ret == -1 && errno == EPERM)
			kmod_refused();
	}
	if (ret == 0)
		return;
	if (be_kind != EPB_BE_SYNC)
		rep->failed = errno ? errno : EIO;
	/* ret < -1: the first (-2 - ret) ops already ran */
	skip = ret < -1 ? (unsigned)(-2 - ret) : 0;
	rep->errors = be_sync_submit(ops + skip, n - skip, res + skip);
	for (unsigned i = 0; i < skip; i++)
		rep->errors += res[i] != 0;
	if (w) {
		int ms = -1, r;

		if (w->ts)
			ms = (int)(w->ts->tv_sec * 1000 + (w->ts->tv_nsec + 999999) / 1000000);
		sync_waiting = 1;
		r = sys_wait(w->epfd, w->evs, w->maxevents, ms, NULL, w->sigmask, EPB_PWAIT);
		sync_waiting = 0;
		w->result = r < 0 ? -errno : r;
	}
}

int be_submit_close(const struct qop *ops, unsigned n, unsigned live, int ordered, int *res,
		    unsigned close_at, int fd, struct be_report *rep)
{
	int cres = 0;

	if (be_kind != EPB_BE_URING || fused_off || !uring_has_close())
		return 1;
	if (uring_submit(ops, n, live, ordered, res, NULL, (int)close_at, fd, &cres, rep) < 0)
		return 1;
	return cres;
}

enum be_abandoned be_abandon(int *res, struct be_report *rep)
{
	if (sync_waiting) {
		sync_waiting = 0;
		return BE_AB_SYNC;
	}
	if (be_kind == EPB_BE_URING && uring_abandon(rep))
		return BE_AB_SETTLED;
	if (be_kind == EPB_BE_KMOD && kmod_abandon(res, rep))
		return BE_AB_SETTLED;
	return BE_AB_NONE;
}

void be_thread_exit(void)
{
	uring_thread_exit();
}

void be_after_fork(void)
{
	uring_after_fork();
}

/* The module refused this process (it runs under a seccomp filter and the
 * administrator did not set allow_seccomp: docs/kmod.md): from now on the
 * io_uring backend, which the filter governs, or direct syscalls. */
static void kmod_refused(void)
{
	be_kind = uring_probe() ? EPB_BE_URING : EPB_BE_SYNC;
	set_fused();
}

void be_fd_closed(int fd)
{
	kmod_fd_closed(fd);
}
