/* SPDX-License-Identifier: MIT */
/*
 * New processes and exec: nothing queued may be lost or run twice, and an
 * epoll instance another process may change stops deferring.
 */
#include "shim.h"

void proc_atfork_prepare(void)
{
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
}

void proc_atfork_child(void)
{
	/* The parent is alive and uses them: never defer on these here. */
	mark_all_epi(EPI_XPROC, 0);
	fork_child();
	my_tid_reset();
	/* Only this thread lives on: the careful count is its own, plus,
	 * while the parent's epoll instances are here, the fork taint
	 * (fork.c) that an epoll_ctl on one of them must report. */
	atomic_store(&ctl_careful, (epi_count() ? CAREFUL_FORKED : 0) + (thr.lp.batch != 0));
	queue_after_fork();
	be_after_fork();
}

void proc_before_exec(void)
{
	shim_init();
	/* exec ends every other thread: flush their queues too */
	flush_all(1);
	fork_before_exec();
}

void proc_before_spawn(void)
{
	shim_init();
	flush_all(1);
	/* The child starts a new program with every epoll fd not marked
	 * close-on-exec: it may change those instances. */
	mark_all_epi(EPI_XPROC, 1);
}
