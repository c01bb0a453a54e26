/* SPDX-License-Identifier: MIT */
/*
 * A thread with its own fd table (EPBATCH_UNSHARE, or the application's own
 * unshare(CLONE_FILES)) needs its own mirror: its fd numbers now name other
 * files than the other threads' do.
 */
#include "shim.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Give this thread a private copy of the mirror (its fd table was just
 * unshared).  Every epoll instance in the old table is now reachable from
 * both tables, but that matters only for an instance a thread of one table
 * defers on while a thread of the other table uses it: sync_instance()
 * stops deferral on it at that first use.  Marking them all here, as the
 * first version did, took deferral away from every worker whose epoll fd
 * existed when another worker unshared first: with per-thread SO_REUSEPORT
 * listeners most workers then passed every op through (docs/shim.md).
 */
void shim_unshare_tab(void)
{
	struct fdtab *old = thr.tab, *nt;
	int maxfd;

	if (thr.in_vfork)
		return;		/* a vfork child's table is its own */
	nt = calloc(1, sizeof(*nt));
	if (!nt || tab_alloc(nt)) {
		free(nt);
		return;
	}
	maxfd = atomic_load(&old->maxfd);
	for (int fd = 0; fd <= maxfd && fd < nt->size && fd < old->size; fd++)
		atomic_store(&nt->slot[fd], atomic_load(&old->slot[fd]) & ~S_Q);
	atomic_store(&nt->maxfd, maxfd);
	thr.tab = nt;
	if (my_queue())		/* its exit destructor frees the copy */
		thr.q->tab = nt;
	if (old != &main_tab)
		tab_free(old);	/* a second unshare: the previous copy is ours alone */
}

/* EPBATCH_UNSHARE: a thread's first wait makes it an event-loop thread. */
void unshare_loop_thread(void)
{
	if (!opt_unshare)
		return;
	flush_all(0);
	/* the raw syscall: the unshare() wrapper (interpose.c) would copy
	 * the mirror a second time */
	if (syscall(SYS_unshare, CLONE_FILES) == 0) {
		shim_unshare_tab();
	} else if (thr.q) {
		thr.q->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, EPB_FB_UNSHARE, errno);
	}
}
