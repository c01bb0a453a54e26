/* SPDX-License-Identifier: MIT */
/*
 * close() and fd-number reuse between an epoll_ctl and the next wait.  The
 * kernel keys a registration by (open file, fd number) and drops it when the
 * file's last reference goes; a queued operation that names an fd number must
 * never be applied to a different open file that later got the same number.
 * "same number" lines check that the application still gets the lowest free
 * number, as it would without the shim.
 */
#include "transcript.h"

#include <unistd.h>

int main(void)
{
	int ep = t_epoll();
	int a = t_eventfd(1), b, c, d;

	t_begin("fdreuse");
	PRIME(ep);

	t_log("## ADD fd, close fd, new fd on the same number, ADD again, wait");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	T(close(a));
	b = t_reopen_on(a, 1);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLOUT, 2);
	WAIT(ep, 8, 0);

	t_log("## ADD fd, close, new fd on the number, no ADD: nothing reported");
	c = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 3);
	T(close(c));
	d = t_reopen_on(c, 1);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, d, EPOLLIN, 4);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);

	t_log("## DEL, close, ADD on the same number in one iteration (memcached)");
	for (int round = 0; round < 3; round++) {
		int n;

		CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 10 + round);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
		T(close(d));
		n = t_reopen_on(d, round % 2);
		d = n;
		CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN | EPOLLOUT, 20 + round);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	}

	t_log("## MOD, then close without DEL, new fd on the number, MOD it: ENOENT");
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 30);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, d, EPOLLOUT, 31);
	T(close(d));
	d = t_reopen_on(d, 0);
	CTL(ep, EPOLL_CTL_MOD, d, EPOLLOUT, 32);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLOUT, 33);
	WAIT(ep, 8, 0);

	t_log("## close of an fd queued as ADD then DEL, then reuse");
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 40);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	T(close(d));
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	d = t_reopen_on(d, 1);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 41);
	WAIT(ep, 8, 0);

	t_log("## the epoll fd itself closed with ops queued, number reused by a new epoll fd");
	{
		int ep2 = t_epoll(), ep3, e = t_eventfd(1);

		PRIME(ep2);
		CTL(ep2, EPOLL_CTL_ADD, e, EPOLLIN, 50);
		T(close(ep2));
		ep3 = t_epoll();
		t_log("new epoll fd takes the same number: %s", ep3 == ep2 ? "yes" : "no");
		PRIME(ep3);
		CTL(ep3, EPOLL_CTL_MOD, e, EPOLLIN, 51);
		CTL(ep3, EPOLL_CTL_ADD, e, EPOLLOUT, 52);
		WAIT(ep3, 8, 0);
	}
	T(close(b));
	WAIT(ep, 8, 0);
	return 0;
}
