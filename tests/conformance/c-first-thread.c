/* SPDX-License-Identifier: MIT */
/*
 * A loop that runs alone, then starts the process's first thread.  While a
 * process has one thread the shim changes its words without the bus lock
 * (preload/real.h); its queued ops must survive the moment a second thread
 * appears and takes them: the new thread's first wait on the same epoll fd
 * sees every op the loop queued, and an fd the new thread closes and
 * replaces is not registered under its old number.
 */
#include "transcript.h"

#include <pthread.h>
#include <unistd.h>

static int ep, a, b, c, d;
static struct t_chan go, done;

static void *second(void *arg)
{
	(void)arg;
	t_log("B (the second thread): first wait, A's queued ops must be in");
	WAIT(ep, 8, 0);
	t_log("B closes d, and a new readable eventfd takes its number");
	T(close(d));
	d = t_reopen_on(d, 1);
	t_post(&done);
	t_take(&go);
	t_log("B waits again: A's ops since, not the new d");
	WAIT(ep, 8, 0);
	t_post(&done);
	return NULL;
}

int main(void)
{
	pthread_t th;

	t_begin("first-thread");
	ep = t_epoll();
	a = t_eventfd(1);
	b = t_eventfd(1);
	c = t_eventfd(0);
	d = t_eventfd(1);
	t_chan_init(&go);
	t_chan_init(&done);

	t_log("## A, the only thread, waits and queues ops (the ADDs of a loop)");
	PRIME(ep);
	for (int round = 0; round < 3; round++) {
		CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 1);
		CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 2);
		CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 3);
		CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN | EPOLLONESHOT, 4);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 5);
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 6);
		CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
		CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
		CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
		WAIT(ep, 8, 0);
	}
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 7);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 8);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN | EPOLLONESHOT, 9);

	t_log("## A starts the process's first thread, which waits on the same epoll fd");
	if (pthread_create(&th, NULL, second, NULL) != 0)
		t_die("pthread_create");
	t_take(&done);

	t_log("## A, one of two threads now, queues again");
	CTL(ep, EPOLL_CTL_MOD, c, EPOLLOUT, 10);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 11);
	CTL(ep, EPOLL_CTL_MOD, d, EPOLLIN, 12);
	t_post(&go);
	t_take(&done);
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	WAIT(ep, 8, 0);
	return 0;
}
