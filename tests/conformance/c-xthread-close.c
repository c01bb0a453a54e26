/* SPDX-License-Identifier: MIT */
/*
 * One thread's queued operation, another thread's close: a loop thread
 * (the only waiter of its epoll fd) registers a connection, then a different
 * thread closes that connection (a reaper, a timeout thread) or dup2()s over
 * it, and a new file takes the number.  Natively the registration went with
 * the old file; the new file under the same number must not be registered
 * when the loop thread next waits.
 */
#include "transcript.h"

#include <pthread.h>
#include <unistd.h>

static int ep, x;
static struct t_chan to_loop, to_main;

static void *loop(void *arg)
{
	(void)arg;
	PRIME(ep);
	for (int round = 0; round < 3; round++) {
		t_take(&to_loop);
		t_log("loop: round %d registers x", round);
		t_ctl(ep, "ep", EPOLL_CTL_ADD, x, "x", EPOLLIN, (uint64_t)(10 + round));
		t_ctl(ep, "ep", EPOLL_CTL_MOD, x, "x", EPOLLIN | EPOLLOUT, (uint64_t)(20 + round));
		t_post(&to_main);
		t_take(&to_loop);
		t_log("loop: waits after main replaced x");
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, x, 0, 0);
		CTL(ep, EPOLL_CTL_ADD, x, EPOLLIN, 30 + (uint64_t)round);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, x, 0, 0);
		t_post(&to_main);
	}
	return NULL;
}

int main(void)
{
	pthread_t th;

	t_begin("xthread-close");
	ep = t_epoll();
	t_chan_init(&to_loop);
	t_chan_init(&to_main);
	if (pthread_create(&th, NULL, loop, NULL) != 0)
		t_die("pthread_create");

	for (int round = 0; round < 3; round++) {
		int old = t_eventfd(0), n;

		x = old;
		t_post(&to_loop);
		t_take(&to_main);
		switch (round) {
		case 0:
			t_log("main: close(x), new fd on the number");
			T(close(x));
			n = t_eventfd(1);
			break;
		case 1: {
			int z = t_eventfd(1);

			t_log("main: dup2(z, x)");
			t_log("dup2 == x: %s", dup2(z, x) == x ? "yes" : "no");
			T(close(z));
			n = x;
			break;
		}
		default:
			t_log("main: close_range(x, x), new fd on the number");
			T(close_range((unsigned int)x, (unsigned int)x, 0));
			n = t_eventfd(1);
			break;
		}
		t_log("same number: %s", n == old ? "yes" : "no");
		t_post(&to_loop);
		t_take(&to_main);
		T(close(n));
	}
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	WAIT(ep, 8, 0);
	return 0;
}
