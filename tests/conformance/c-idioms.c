/* SPDX-License-Identifier: MIT */
/*
 * EEXIST/ENOENT idioms and the sequences a coalescing queue folds:
 * ADD twice, MOD/DEL of an fd never added, a web server's "ADD, on EEXIST
 * MOD", ADD+DEL (cancels, yet a second DEL must still say ENOENT), ADD+MOD
 * (folds into one ADD), MOD+MOD (the last wins), DEL+ADD of an EPOLLEXCLUSIVE
 * listener (nginx; cannot become a MOD).  Every sequence runs between two
 * waits, so it sits in one batch under the shim, and the wait after it shows
 * what the kernel ended up with.
 */
#include "transcript.h"

#include <errno.h>

int main(void)
{
	int ep = t_epoll();
	int a = t_eventfd(1), b = t_eventfd(1), c = t_eventfd(1), lst = t_eventfd(1);

	t_begin("idioms");
	PRIME(ep);

	t_log("## ADD twice; MOD and DEL of an fd never added");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 3);
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	WAIT(ep, 8, 0);

	t_log("## ADD, on EEXIST MOD (the web server idiom)");
	if (CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLOUT, 4) < 0 && errno == EEXIST)
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 4);
	if (CTL(ep, EPOLL_CTL_ADD, b, EPOLLOUT, 5) < 0 && errno == EEXIST)
		CTL(ep, EPOLL_CTL_MOD, b, EPOLLOUT, 5);
	WAIT(ep, 8, 0);

	t_log("## MOD, on ENOENT ADD (the other half of the idiom)");
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	if (CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 6) < 0 && errno == ENOENT)
		CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 6);
	WAIT(ep, 8, 0);

	t_log("## ADD+DEL, then DEL again, then ADD again");
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 7);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	CTL(ep, EPOLL_CTL_MOD, c, EPOLLIN, 8);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 9);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLOUT, 10);
	WAIT(ep, 8, 0);

	t_log("## ADD+MOD, ADD+MOD+MOD, MOD+MOD");
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 11);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLOUT, 12);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 13);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN | EPOLLOUT, 14);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLOUT | EPOLLONESHOT, 15);
	WAIT(ep, 8, 0);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 16);
	CTL(ep, EPOLL_CTL_MOD, a, 0, 17);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 18);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN | EPOLLOUT, 19);
	WAIT(ep, 8, 0);

	t_log("## DEL then MOD, DEL then DEL");
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 20);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	WAIT(ep, 8, 0);

	t_log("## MOD to a mask with no events, then back");
	CTL(ep, EPOLL_CTL_MOD, b, 0, 21);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 22);
	WAIT(ep, 8, 0);

	t_log("## DEL+ADD of an EPOLLEXCLUSIVE listener in one iteration (nginx)");
	CTL(ep, EPOLL_CTL_ADD, lst, EPOLLIN | EPOLLEXCLUSIVE, 30);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, lst, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, lst, EPOLLIN | EPOLLEXCLUSIVE, 31);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, lst, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, lst, EPOLLIN | EPOLLEXCLUSIVE, 32);
	CTL(ep, EPOLL_CTL_MOD, lst, EPOLLIN, 33);
	CTL(ep, EPOLL_CTL_DEL, lst, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, lst, EPOLLIN, 34);
	CTL(ep, EPOLL_CTL_MOD, lst, EPOLLIN | EPOLLEXCLUSIVE, 35);
	WAIT(ep, 8, 0);

	t_log("## the same fd in two epoll fds");
	{
		int ep2 = t_epoll();

		PRIME(ep2);
		CTL(ep2, EPOLL_CTL_ADD, a, EPOLLIN, 40);
		CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 41);
		CTL(ep2, EPOLL_CTL_DEL, a, 0, 0);
		CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
		CTL(ep2, EPOLL_CTL_ADD, a, EPOLLOUT, 42);
		WAIT(ep, 8, 0);
		WAIT(ep2, 8, 0);
	}
	return 0;
}
