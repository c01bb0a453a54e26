/* SPDX-License-Identifier: MIT */
/*
 * EPOLLONESHOT re-arm loops, the keep-alive pattern of multi-threaded
 * servers: every reported fd is disabled until the loop re-arms it with MOD,
 * so each iteration's batch is one MOD per event.  The data tag changes every
 * iteration, so a MOD applied late, twice or not at all shows in the next
 * wait.
 */
#include "transcript.h"

#include <unistd.h>

#define NFD 8
#define ROUNDS 20

int main(void)
{
	int ep = t_epoll();
	int fd[NFD];

	t_begin("oneshot");
	PRIME(ep);
	for (int i = 0; i < NFD; i++) {
		fd[i] = t_eventfd(i % 2);
		t_ctl(ep, "ep", EPOLL_CTL_ADD, fd[i], "fd[i]", EPOLLIN | EPOLLONESHOT, (uint64_t)i);
	}

	t_log("## re-arm loop: each round makes one more fd readable, re-arms what fired");
	for (int r = 0; r < ROUNDS; r++) {
		struct epoll_event ev[NFD];
		int n;

		t_eventfd_set(fd[(2 * r) % NFD], 1);
		n = epoll_wait(ep, ev, NFD, 0);
		t_events("epoll_wait(ep, NFD, 0)", n, ev);
		for (int k = 0; k < n; k++) {
			int i = (int)(ev[k].data.u64 % 100);

			/* Every third round leaves fd[i] disarmed for one round. */
			if ((r + i) % 3 == 0)
				continue;
			t_ctl(ep, "ep", EPOLL_CTL_MOD, fd[i], "fd[i]", EPOLLIN | EPOLLONESHOT,
			      (uint64_t)(100 * (r + 1) + i));
		}
		/* Re-arm what the previous round skipped. */
		for (int i = 0; i < NFD; i++)
			if ((r + i) % 3 == 1 && r > 0)
				t_ctl(ep, "ep", EPOLL_CTL_MOD, fd[i], "fd[i]",
				      EPOLLIN | EPOLLONESHOT, (uint64_t)(100 * (r + 1) + i));
		if (r % 5 == 4)
			for (int i = 0; i < NFD; i += 3)
				t_eventfd_set(fd[i], 0);
	}

	t_log("## a disarmed fd stays registered: ADD is EEXIST, DEL works once");
	WAIT(ep, NFD, 0);
	WAIT(ep, NFD, 0);
	CTL(ep, EPOLL_CTL_ADD, fd[1], EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_DEL, fd[1], 0, 0);
	CTL(ep, EPOLL_CTL_DEL, fd[1], 0, 0);
	CTL(ep, EPOLL_CTL_MOD, fd[3], EPOLLIN | EPOLLONESHOT, 3000);
	CTL(ep, EPOLL_CTL_MOD, fd[3], EPOLLIN | EPOLLONESHOT, 3001);
	WAIT(ep, NFD, 0);
	WAIT(ep, NFD, 0);
	return 0;
}
