/* SPDX-License-Identifier: MIT */
/*
 * Cross-thread use of one epoll fd.  An epoll_ctl must reach the kernel
 * before a wait in another thread can miss it: a thread blocked in
 * epoll_wait must wake when another thread adds a ready fd, and a thread
 * that starts waiting on an epoll fd whose first waiter still holds queued
 * operations must see those operations.
 */
#include "transcript.h"

#include <pthread.h>
#include <unistd.h>

static int ep, a, b, c;
static struct t_chan go_b, done_b;
static pid_t tid_b;

static void *thread_b(void *arg)
{
	(void)arg;
	tid_b = gettid();
	t_take(&go_b);
	t_log("B: first wait, A's queued ops must be visible");
	WAIT(ep, 8, 0);
	t_eventfd_set(a, 0);
	WAIT(ep, 8, 0);
	t_post(&done_b);

	t_take(&go_b);
	t_log("B: blocked in epoll_wait while A adds a ready fd");
	t_hold(1);
	t_post(&done_b);
	WAIT(ep, 8, 5000);
	t_hold(0);
	t_post(&done_b);

	t_take(&go_b);
	t_log("B: blocked again; A modifies an fd to a ready mask");
	t_hold(1);
	t_post(&done_b);
	WAIT(ep, 8, 5000);
	t_hold(0);
	t_post(&done_b);
	return NULL;
}

int main(void)
{
	pthread_t th;

	t_begin("threads");
	ep = t_epoll();
	a = t_eventfd(1);
	b = t_eventfd(1);
	c = t_eventfd(0);
	t_chan_init(&go_b);
	t_chan_init(&done_b);
	if (pthread_create(&th, NULL, thread_b, NULL) != 0)
		t_die("pthread_create");

	t_log("## A waits first, queues ops, then B starts waiting on the same epoll fd");
	PRIME(ep);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 2);
	t_post(&go_b);
	t_take(&done_b);

	t_log("## A adds a ready fd while B sleeps in epoll_wait");
	t_post(&go_b);
	t_take(&done_b);
	t_wait_sleeping(tid_b);
	t_hold(1);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN | EPOLLONESHOT, 3);
	t_take(&done_b);
	t_hold(0);

	t_log("## A, now one of two waiters, waits and queues again");
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, c, EPOLLOUT, 4);
	CTL(ep, EPOLL_CTL_MOD, c, EPOLLIN, 5);
	t_post(&go_b);
	t_take(&done_b);
	t_wait_sleeping(tid_b);
	t_hold(1);
	CTL(ep, EPOLL_CTL_MOD, c, EPOLLOUT, 6);
	t_take(&done_b);
	t_hold(0);
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	WAIT(ep, 8, 0);
	return 0;
}
