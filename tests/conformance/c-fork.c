/* SPDX-License-Identifier: MIT */
/*
 * fork with an inherited epoll fd (redis BGSAVE, pre-forking servers).  The
 * epoll instance is shared by parent and child: what one queued before or
 * after the fork must be visible to the other's wait, once and only once.
 * Parent and child take turns, handing over through pipes, so the
 * transcript order is fixed.
 */
#include "transcript.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static struct t_chan to_child, to_parent, to_loop, to_main;
static int loop_ep, loop_fd;

/* An event-loop thread that queues ops and then lets main fork. */
static void *loop_thread(void *arg)
{
	(void)arg;
	PRIME(loop_ep);
	CTL(loop_ep, EPOLL_CTL_ADD, loop_fd, EPOLLIN, 20);
	CTL(loop_ep, EPOLL_CTL_MOD, loop_fd, EPOLLIN | EPOLLOUT, 21);
	t_post(&to_main);
	t_take(&to_loop);
	WAIT(loop_ep, 8, 0);
	return NULL;
}

static void reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		t_die("waitpid");
	t_log("child exited: %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(void)
{
	int ep = t_epoll();
	int a = t_eventfd(1), b = t_eventfd(1), c = t_eventfd(1), e = t_eventfd(0);
	pid_t pid;

	t_begin("fork");
	t_chan_init(&to_child);
	t_chan_init(&to_parent);
	PRIME(ep);

	t_log("## ops queued before fork are seen by the child and the parent");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_ADD, e, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_MOD, e, EPOLLOUT, 3);
	pid = fork();
	if (pid < 0)
		t_die("fork");
	if (pid == 0) {
		WAIT(ep, 8, 0);
		t_log("child: ctl after its wait, then _exit without waiting again");
		CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
		CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 4);
		CTL(ep, EPOLL_CTL_MOD, e, EPOLLIN, 5);
		_exit(0);
	}
	reap(pid);
	WAIT(ep, 8, 0);

	t_log("## parent queues after fork; the child waits at once");
	pid = fork();
	if (pid < 0)
		t_die("fork");
	if (pid == 0) {
		t_take(&to_child);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
		t_post(&to_parent);
		t_take(&to_child);
		t_log("child: the parent's ops while the child sleeps in epoll_wait");
		t_hold(1);
		t_post(&to_parent);
		WAIT(ep, 8, 5000);
		t_hold(0);
		exit(0);
	}
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 6);
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	t_post(&to_child);
	t_take(&to_parent);
	WAIT(ep, 8, 0);
	/* Empty the set, so the child's next wait blocks until the parent acts. */
	CTL(ep, EPOLL_CTL_DEL, e, 0, 0);
	WAIT(ep, 8, 0);
	t_post(&to_child);
	t_take(&to_parent);
	t_wait_sleeping(pid);
	t_hold(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 7);
	reap(pid);
	t_hold(0);

	t_log("## fork in a loop: each child waits once, the parent re-arms between");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 8);
	for (int i = 0; i < 3; i++) {
		pid = fork();
		if (pid < 0)
			t_die("fork");
		if (pid == 0) {
			WAIT(ep, 8, 0);
			_exit(0);
		}
		reap(pid);
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 10 + (uint64_t)i);
	}
	WAIT(ep, 8, 0);
	WAIT(ep, 8, 0);

	t_log("## another thread's queued ops when main forks");
	{
		pthread_t th;

		loop_ep = t_epoll();
		loop_fd = t_eventfd(1);
		t_chan_init(&to_loop);
		t_chan_init(&to_main);
		if (pthread_create(&th, NULL, loop_thread, NULL) != 0)
			t_die("pthread_create");
		t_take(&to_main);
		pid = fork();
		if (pid < 0)
			t_die("fork");
		if (pid == 0) {
			t_wait("child: epoll_wait(loop_ep, 8, 0)", loop_ep, 8, 0);
			_exit(0);
		}
		reap(pid);
		t_post(&to_loop);
		if (pthread_join(th, NULL) != 0)
			t_die("pthread_join");
	}
	return 0;
}
