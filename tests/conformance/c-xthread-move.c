/* SPDX-License-Identifier: MIT */
/*
 * One thread's queued op on a file, another thread's ADD of the same file
 * to its own epoll instance, then the number is given to a new file.  A
 * loop thread registers x in its instance and, after a wait, queues a DEL
 * (round 0) or a MOD (round 1) of it; the main thread, the loop of a second
 * instance, adds x there and dup2()s a new file onto x's number.  A dup of
 * x keeps the old file open, so its registration in the loop's instance
 * lives on.  Natively the DEL or MOD reached the old file before the dup2;
 * under a shim that lost track of where it was queued, it reaches the new
 * file (ENOENT, unseen) and the loop's next wait reports the old tag.
 */
#include "transcript.h"

#include <pthread.h>
#include <unistd.h>

static int ep1, x;
static struct t_chan to_loop, to_main;

static void *loop(void *arg)
{
	(void)arg;
	PRIME(ep1);
	for (int round = 0; round < 2; round++) {
		t_take(&to_loop);
		t_log("loop: round %d registers x, waits, then %s it", round,
		      round ? "MODs" : "DELs");
		CTL(ep1, EPOLL_CTL_ADD, x, EPOLLIN, 10 + (uint64_t)round);
		WAIT(ep1, 8, 0);
		if (round)
			CTL(ep1, EPOLL_CTL_MOD, x, EPOLLIN, 20 + (uint64_t)round);
		else
			CTL(ep1, EPOLL_CTL_DEL, x, 0, 0);
		t_post(&to_main);
		t_take(&to_loop);
		t_log("loop: waits after main added x to ep0 and replaced it");
		WAIT(ep1, 8, 0);
		WAIT(ep1, 8, 0);
		t_post(&to_main);
	}
	return NULL;
}

int main(void)
{
	int ep0 = t_epoll();
	pthread_t th;

	t_begin("xthread-move");
	ep1 = t_epoll();
	PRIME(ep0);
	t_chan_init(&to_loop);
	t_chan_init(&to_main);
	if (pthread_create(&th, NULL, loop, NULL) != 0)
		t_die("pthread_create");
	for (int round = 0; round < 2; round++) {
		int d, z;

		x = t_eventfd(1);
		d = t_dup(x);
		t_post(&to_loop);
		t_take(&to_main);
		t_log("main: x added to ep0, then dup2(z, x)");
		CTL(ep0, EPOLL_CTL_ADD, x, EPOLLOUT, 30 + (uint64_t)round);
		z = t_eventfd(0);
		t_log("dup2 == x: %s", dup2(z, x) == x ? "yes" : "no");
		T(close(z));
		WAIT(ep0, 8, 0);
		t_post(&to_loop);
		t_take(&to_main);
		T(close(d));
		T(close(x));
		WAIT(ep0, 8, 0);
	}
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	return 0;
}
