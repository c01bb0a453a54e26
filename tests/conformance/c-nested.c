/* SPDX-License-Identifier: MIT */
/*
 * Nested epoll: an epoll fd registered in another epoll fd is readable when
 * it has events, so an operation queued on the inner one changes what a wait
 * on the outer one reports -- in the same thread, and in a thread blocked on
 * the outer epoll fd that never touches the inner one.
 */
#include "transcript.h"

#include <pthread.h>
#include <unistd.h>

static int outer, inner, a, b;
static struct t_chan go, done;
static pid_t tid;

static void *outer_waiter(void *arg)
{
	(void)arg;
	tid = gettid();
	t_take(&go);
	t_log("T: blocked on the outer epoll fd");
	t_hold(1);
	t_post(&done);
	WAIT(outer, 8, 5000);
	t_hold(0);
	t_post(&done);
	return NULL;
}

int main(void)
{
	int deep;
	pthread_t th;

	t_begin("nested");
	outer = t_epoll();
	inner = t_epoll();
	deep = t_epoll();
	a = t_eventfd(1);
	b = t_eventfd(1);
	PRIME(outer);
	PRIME(inner);
	PRIME(deep);

	t_log("## same thread: ops on the inner epoll fd, then a wait on the outer");
	CTL(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 1);
	CTL(inner, EPOLL_CTL_ADD, a, EPOLLIN, 2);
	WAIT(outer, 8, 0);
	CTL(inner, EPOLL_CTL_MOD, a, EPOLLPRI, 3);
	WAIT(outer, 8, 0);
	CTL(inner, EPOLL_CTL_MOD, a, EPOLLIN, 4);
	CTL(inner, EPOLL_CTL_DEL, a, 0, 0);
	WAIT(outer, 8, 0);
	WAIT(inner, 8, 0);

	t_log("## three levels: deep in inner in outer");
	CTL(inner, EPOLL_CTL_ADD, deep, EPOLLIN, 5);
	CTL(deep, EPOLL_CTL_ADD, b, EPOLLIN, 6);
	WAIT(outer, 8, 0);
	WAIT(inner, 8, 0);
	WAIT(deep, 8, 0);
	CTL(deep, EPOLL_CTL_DEL, b, 0, 0);
	WAIT(outer, 8, 0);

	t_log("## the inner epoll fd registered with EPOLLET and EPOLLONESHOT");
	CTL(outer, EPOLL_CTL_MOD, inner, EPOLLIN | EPOLLONESHOT, 7);
	CTL(deep, EPOLL_CTL_ADD, b, EPOLLIN, 8);
	WAIT(outer, 8, 0);
	WAIT(outer, 8, 0);
	CTL(outer, EPOLL_CTL_MOD, inner, EPOLLIN | EPOLLET, 9);
	WAIT(outer, 8, 0);
	WAIT(outer, 8, 0);
	CTL(deep, EPOLL_CTL_DEL, b, 0, 0);
	CTL(inner, EPOLL_CTL_ADD, a, EPOLLIN, 10);
	WAIT(outer, 8, 0);
	CTL(inner, EPOLL_CTL_DEL, a, 0, 0);
	CTL(outer, EPOLL_CTL_MOD, inner, EPOLLIN, 11);
	WAIT(outer, 8, 0);

	t_log("## another thread blocked on the outer epoll fd; main adds to the inner");
	t_chan_init(&go);
	t_chan_init(&done);
	if (pthread_create(&th, NULL, outer_waiter, NULL) != 0)
		t_die("pthread_create");
	t_post(&go);
	t_take(&done);
	t_wait_sleeping(tid);
	t_hold(1);
	CTL(inner, EPOLL_CTL_ADD, a, EPOLLIN, 12);
	t_take(&done);
	t_hold(0);
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	WAIT(inner, 8, 0);
	return 0;
}
