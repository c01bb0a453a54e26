/* SPDX-License-Identifier: MIT */
/*
 * memcached's start-up: the main thread creates each worker's epoll fd and
 * adds the worker's notification eventfd to it before the worker thread
 * exists; later it hands connections over by adding them to the worker's
 * epoll fd while the worker sleeps in epoll_wait.  A variant first lets the
 * main thread peek at the worker's epoll fd (so it is that fd's only waiter
 * and its ops may be queued) before the worker starts.
 */
#include "transcript.h"

#include <pthread.h>
#include <unistd.h>

struct worker {
	const char *name;
	int ep, notify, conn;
	pid_t tid;
	struct t_chan go, done;
	pthread_t th;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = gettid();
	t_take(&w->go);
	t_log("%s: first wait; the notify fd added by main is ready", w->name);
	WAIT(w->ep, 8, 5000);
	t_eventfd_set(w->notify, 0);
	t_log("%s: sleeps until main hands over a connection", w->name);
	t_hold(1);
	t_post(&w->done);
	WAIT(w->ep, 8, 5000);
	CTL(w->ep, EPOLL_CTL_MOD, w->conn, EPOLLOUT, 12);
	WAIT(w->ep, 8, 0);
	t_hold(0);
	t_post(&w->done);
	return NULL;
}

static void run(struct worker *w, int main_peeks)
{
	int main_ep = t_epoll();

	t_log("## %s (main peeks at the worker's epoll fd first: %s)", w->name,
	      main_peeks ? "yes" : "no");
	w->ep = t_epoll();
	w->notify = t_eventfd(0);
	w->conn = t_eventfd(1);
	t_chan_init(&w->go);
	t_chan_init(&w->done);
	/* Main waits on its own epoll fd, so it is an event-loop thread. */
	PRIME(main_ep);
	if (main_peeks)
		t_wait("main: epoll_wait(w->ep, 8, 0)", w->ep, 8, 0);
	CTL(w->ep, EPOLL_CTL_ADD, w->notify, EPOLLIN, 10);
	t_eventfd_set(w->notify, 1);
	if (pthread_create(&w->th, NULL, worker_main, w) != 0)
		t_die("pthread_create");
	t_post(&w->go);
	t_take(&w->done);
	t_wait_sleeping(w->tid);
	t_hold(1);
	CTL(w->ep, EPOLL_CTL_ADD, w->conn, EPOLLIN, 11);
	t_take(&w->done);
	t_hold(0);
	if (pthread_join(w->th, NULL) != 0)
		t_die("pthread_join");
	WAIT(main_ep, 8, 0);
}

int main(void)
{
	struct worker w1 = { .name = "worker-1" }, w2 = { .name = "worker-2" };

	t_begin("worker");
	run(&w1, 0);
	run(&w2, 1);
	return 0;
}
