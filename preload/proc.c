/* SPDX-License-Identifier: MIT */
/*
 * New processes and exec: nothing queued may be lost or run twice, and an
 * epoll instance another process may change stops deferring.
 */
#include "shim.h"

#include <errno.h>
#include <unistd.h>

void proc_atfork_prepare(void)
{
	/* No half measurement in the child (policy.c). */
	policy_fork_prepare();
	/* Every thread's queue: the child must see the state at fork. */
	flush_all(1);
	fork_prepare();
}

void proc_atfork_parent(void)
{
	/* The child holds the same epoll instances now and may change them
	 * behind this process's mirror: no deferral on them until every
	 * forked process has been reaped (fork.c, fork_reaped). */
	mark_all_epi(EPI_FORKED, 0);
	policy_fork_done(0);
}

void proc_atfork_child(void)
{
	/* The parent is alive and uses them: never defer on these here. */
	mark_all_epi(EPI_XPROC, 0);
	fork_child();
	my_tid_reset();
	thr.owned = OWNED_NONE;
	/* Only this thread lives on: the careful count is its own, plus,
	 * while the parent's epoll instances are here, the fork taint
	 * (fork.c) that an epoll_ctl on one of them must report: where
	 * the parent had an epoll fd open at the fork (one it made and
	 * closed before does not count: every epoll_ctl of the child would
	 * take the careful way for good, as in nginx's workers). */
	atomic_store(&ctl_careful, (tab_has_epoll(thr.tab) ? CAREFUL_FORKED : 0) +
				   (thr.lp.batch != 0));
	queue_after_fork();
	be_after_fork();
	policy_fork_done(1);
}

void proc_before_exec(void)
{
	shim_init();
	if (thr.in_vfork)
		return;	/* a vfork child: nothing here is its own */
	/* exec ends every other thread: flush their queues too */
	flush_all(1);
	fork_before_exec();
}

void proc_before_spawn(void)
{
	shim_init();
	if (thr.in_vfork)
		return;
	flush_all(1);
	/* The child starts a new program with every epoll fd not marked
	 * close-on-exec: it may change those instances. */
	mark_all_epi(EPI_XPROC, 1);
}

/* vfork (vfork.S), before the syscall, in an ordinary call: every queued op
 * reaches the kernel, and instances the child could take into a new program
 * (not close-on-exec) stop deferring, as for posix_spawn.  From here on,
 * until shim_vfork_done, this thread's thread-locals are also the child's:
 * in_vfork keeps the child's close, dup, exec... from writing the parent's
 * mirror and queues (its fd table is a copy: they are not the parent's fds). */
void shim_vfork_prepare(void)
{
	shim_init();
	proc_before_spawn();
	thr.in_vfork++;
	thr.crit++;	/* the child's epoll_ctl and waits: straight to libc */
}

/* vfork in the parent, once the child has exec'd or exited. */
long shim_vfork_done(long rc)
{
	thr.crit--;
	thr.in_vfork--;
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

#ifndef __x86_64__
/* No vfork.S for this architecture: fork semantics (the child may still
 * only exec or _exit). */
__attribute__((visibility("default"))) pid_t vfork(void)
{
	return fork();
}
#endif
