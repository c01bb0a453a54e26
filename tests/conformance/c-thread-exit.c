/* SPDX-License-Identifier: MIT */
/*
 * Thread exit with queued operations: a thread that has waited on its epoll
 * fd makes epoll_ctl calls and exits without waiting again (returning from
 * its start routine, calling pthread_exit deep in a call chain, or being
 * cancelled); another thread then waits on that epoll fd and must see every
 * one of those operations.
 */
#include "transcript.h"

#include <pthread.h>
#include <unistd.h>

static int ep, a, b, c;

enum how { RETURN, PTHREAD_EXIT, CANCEL };

struct job {
	enum how how;
	int round;
	struct t_chan ready;
};

static void __attribute__((noinline)) leave(struct job *j)
{
	if (j->how == PTHREAD_EXIT)
		pthread_exit(NULL);
	if (j->how == CANCEL) {
		t_post(&j->ready);
		/* pause() is a cancellation point; bounded by t_begin's alarm. */
		for (;;)
			pause();
	}
}

static void *loop_thread(void *arg)
{
	struct job *j = arg;
	uint64_t base = 10 * (uint64_t)(j->round + 1);

	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, base + 1);
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLOUT, base + 2);
	CTL(ep, EPOLL_CTL_MOD, c, EPOLLIN, base + 3);
	leave(j);
	return NULL;
}

static void one(enum how how, int round, const char *name)
{
	struct job j = { .how = how, .round = round };
	pthread_t th;

	t_log("## the loop thread leaves by %s", name);
	t_chan_init(&j.ready);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	if (pthread_create(&th, NULL, loop_thread, &j) != 0)
		t_die("pthread_create");
	if (how == CANCEL) {
		t_take(&j.ready);
		if (pthread_cancel(th) != 0)
			t_die("pthread_cancel");
	}
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	t_log("main: joined");
	WAIT(ep, 8, 0);
	close(j.ready.r);
	close(j.ready.w);
}

int main(void)
{
	t_begin("thread-exit");
	ep = t_epoll();
	a = t_eventfd(1);
	b = t_eventfd(1);
	c = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 0);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 0);
	one(RETURN, 0, "returning");
	one(PTHREAD_EXIT, 1, "pthread_exit");
	one(CANCEL, 2, "cancellation");
	return 0;
}
