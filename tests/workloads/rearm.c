// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rearm: a known caller of epoll_ctl for the --stacks tests.  main calls
 * rearm_many, which re-arms one eventfd with epoll_ctl(MOD) N times per round
 * (built with frame pointers, and once more stripped: rearm-stripped).
 *   rearm ROUNDS [N]   (defaults 10 rounds of 10000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

__attribute__((noinline)) void rearm_many(int ep, int fd, long n)
{
	struct epoll_event ev;

	for (long i = 0; i < n; i++) {
		ev.events = (i & 1) ? EPOLLIN : EPOLLOUT;
		ev.data.u64 = (unsigned long)i;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev)) {
			perror("rearm: epoll_ctl");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10, n = argc > 2 ? atol(argv[2]) : 10000;
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(0), fd = eventfd(0, 0);

	if (ep < 0 || fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) || rounds < 0 || n < 0) {
		fprintf(stderr, "usage: rearm [ROUNDS [N]] (and an epoll that works)\n");
		return 2;
	}
	for (long r = 0; r < rounds; r++)
		rearm_many(ep, fd, n);
	return 0;
}
