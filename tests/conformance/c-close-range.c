/* SPDX-License-Identifier: MIT */
/*
 * close_range(): closing a range that holds a registered fd with queued ops
 * (the registration must be applied to the file that was there, then
 * dropped with it, or kept with it when another number holds the file
 * open: a dup the shim learnt only from its ADD), CLOSE_RANGE_CLOEXEC (closes nothing), and the daemon's
 * close_range(3, ~0U) that closes every descriptor it did not open itself --
 * after which the application creates new epoll fds and must find them
 * working and numbered from 3 up, as without the shim.
 */
#include "transcript.h"

#include <linux/close_range.h>
#include <unistd.h>

#define NFD 16

int main(void)
{
	int ep = t_epoll(), ep2;
	int a = t_eventfd(1), b = t_eventfd(1), c = t_eventfd(1);
	int fd[NFD];

	t_begin("close-range");
	PRIME(ep);

	t_log("## close_range over a dup, learnt from its ADD, a MOD queued, its file open");
	{
		int d = t_dup(a);

		CTL(ep, EPOLL_CTL_ADD, d, EPOLLOUT, 40);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_MOD, d, EPOLLIN, 41);
		T(close_range((unsigned int)d, (unsigned int)d, 0));
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
		WAIT(ep, 8, 0);
	}

	t_log("## close_range over a registered fd with a queued ADD and MOD");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLOUT, 3);
	T(close_range((unsigned int)b, (unsigned int)b, 0));
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 4);
	{
		int n = t_eventfd(0);

		t_log("new fd takes the closed number: %s", n == b ? "yes" : "no");
		b = n;
	}
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 5);
	WAIT(ep, 8, 0);

	t_log("## CLOSE_RANGE_CLOEXEC closes nothing now");
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 6);
	T(close_range((unsigned int)c, (unsigned int)c, CLOSE_RANGE_CLOEXEC));
	WAIT(ep, 8, 0);

	t_log("## close_range(3, ~0U) with ops queued, then a fresh start");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLOUT, 7);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	T(close_range(3, ~0U, 0));
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 8);
	ep2 = t_epoll();
	t_log("the new epoll fd is 3: %s", ep2 == 3 ? "yes" : "no");
	for (int i = 0; i < NFD; i++)
		fd[i] = t_eventfd((unsigned int)(i % 2));
	t_log("the new eventfds are 4..%d: %s", 3 + NFD,
	      fd[0] == 4 && fd[NFD - 1] == 3 + NFD ? "yes" : "no");
	PRIME(ep2);
	for (int i = 0; i < NFD; i++)
		t_ctl(ep2, "ep2", EPOLL_CTL_ADD, fd[i], "fd[i]", EPOLLIN, (uint64_t)(100 + i));
	WAIT(ep2, 32, 0);
	for (int i = 0; i < NFD; i += 2)
		t_ctl(ep2, "ep2", EPOLL_CTL_MOD, fd[i], "fd[i]", EPOLLOUT, (uint64_t)(200 + i));
	WAIT(ep2, 32, 0);

	t_log("## and again, with the new epoll fd's ops queued");
	for (int i = 1; i < NFD; i += 2)
		t_ctl(ep2, "ep2", EPOLL_CTL_DEL, fd[i], "fd[i]", 0, 0);
	T(close_range(3, ~0U, 0));
	ep = t_epoll();
	a = t_eventfd(1);
	t_log("fds are 3 and 4 again: %s", ep == 3 && a == 4 ? "yes" : "no");
	PRIME(ep);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 300);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 301);
	WAIT(ep, 8, 0);
	T(close(a));
	WAIT(ep, 8, 0);
	return 0;
}
