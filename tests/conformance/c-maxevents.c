/* SPDX-License-Identifier: MIT */
/*
 * epoll_wait with maxevents smaller than the number of ready fds.  The
 * kernel hands out ready fds round-robin across successive waits; which fds
 * a single wait returns depends on the ready list's order, so each wait
 * prints only its count, and the transcript shows the sorted union of a run
 * of waits -- which is fixed: with level-triggered fds every ready fd is
 * returned within ceil(ready / maxevents) waits.
 */
#include "transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFD 7

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Run `waits` waits of `max` events; print counts and the union of tags. */
static void drain(const char *what, int ep, int max, int waits)
{
	int seen[64] = { 0 };
	int nseen = 0;
	char counts[256];
	size_t off = 0;

	counts[0] = '\0';
	for (int w = 0; w < waits; w++) {
		struct epoll_event ev[8];
		int n = epoll_wait(ep, ev, max, 0);

		if (n < 0) {
			t_res("epoll_wait", n);
			return;
		}
		off += (size_t)snprintf(counts + off, sizeof(counts) - off, " %d", n);
		for (int k = 0; k < n; k++) {
			int tag = (int)ev[k].data.u64, dup = 0;

			for (int s = 0; s < nseen; s++)
				dup |= seen[s] == tag;
			if (!dup && nseen < 64)
				seen[nseen++] = tag;
		}
	}
	qsort(seen, (size_t)nseen, sizeof(int), cmp_int);
	t_log("%s: %d waits of max %d returned:%s", what, waits, max, counts);
	t_log_set("  distinct tags", seen, nseen);
}

int main(void)
{
	int ep = t_epoll();
	int fd[NFD];

	t_begin("maxevents");
	PRIME(ep);
	for (int i = 0; i < NFD; i++)
		fd[i] = t_eventfd(1);

	t_log("## level-triggered: 7 ready, maxevents 2");
	for (int i = 0; i < NFD; i++)
		t_ctl(ep, "ep", EPOLL_CTL_ADD, fd[i], "fd[i]", EPOLLIN, (uint64_t)i);
	drain("LT", ep, 2, 4);
	drain("LT", ep, 3, 3);
	drain("LT", ep, 1, 7);

	t_log("## edge-triggered: each reported once, then nothing");
	for (int i = 0; i < NFD; i++)
		t_ctl(ep, "ep", EPOLL_CTL_MOD, fd[i], "fd[i]", EPOLLIN | EPOLLET, (uint64_t)(10 + i));
	drain("ET", ep, 2, 5);

	t_log("## oneshot: each reported once; re-arm half, drain again");
	for (int i = 0; i < NFD; i++)
		t_ctl(ep, "ep", EPOLL_CTL_MOD, fd[i], "fd[i]", EPOLLIN | EPOLLONESHOT, (uint64_t)(20 + i));
	drain("ONESHOT", ep, 3, 4);
	for (int i = 0; i < NFD; i += 2)
		t_ctl(ep, "ep", EPOLL_CTL_MOD, fd[i], "fd[i]", EPOLLIN | EPOLLONESHOT, (uint64_t)(30 + i));
	drain("ONESHOT", ep, 3, 3);

	t_log("## maxevents 0 and negative are errors");
	{
		struct epoll_event ev[1];
		/* volatile: the compiler rejects a constant negative size. */
		volatile int zero = 0, negative = -1;

		memset(ev, 0, sizeof(ev));
		T(epoll_wait(ep, ev, zero, 0));
		T(epoll_wait(ep, ev, negative, 0));
	}
	return 0;
}
