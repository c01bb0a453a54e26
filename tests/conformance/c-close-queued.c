/* SPDX-License-Identifier: MIT */
/*
 * close() of an fd whose epoll_ctl is still queued, the file kept open by a
 * dup so that the registration (keyed by file and fd number) outlives the
 * close unless the DEL really ran first.  The shim may apply the queued
 * ops and close the fd in one submission (io_uring: the fd's op, then the
 * close, linked); the close's result, the events after it and the reuse
 * of the number must be what close(2) gives.
 */
#include "transcript.h"

#include <unistd.h>

int main(void)
{
	int ep = t_epoll(), other = t_eventfd(1), a, d;

	t_begin("close-queued");
	PRIME(ep);

	t_log("## DEL queued, then close; a dup keeps the file open");
	a = t_eventfd(1);
	d = dup(a);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_ADD, other, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(close(a));
	WAIT(ep, 8, 0);
	T(close(a));
	T(close(d));

	t_log("## MOD queued, then close: the registration survives through the dup");
	a = t_eventfd(1);
	d = dup(a);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 3);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, other, EPOLLIN, 4);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 5);
	T(close(a));
	WAIT(ep, 8, 0);
	T(close(d));
	WAIT(ep, 8, 0);

	t_log("## ADD and DEL in one batch, then close");
	a = t_eventfd(1);
	d = dup(a);
	CTL(ep, EPOLL_CTL_MOD, other, EPOLLIN, 6);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 7);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(close(a));
	WAIT(ep, 8, 0);
	T(close(d));

	t_log("## DEL then ADD of one fd queued, then close");
	a = t_eventfd(1);
	d = dup(a);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 8);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLOUT, 9);
	T(close(a));
	WAIT(ep, 8, 0);
	T(close(d));
	WAIT(ep, 8, 0);

	t_log("## the number is reused at once");
	a = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 10);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(close(a));
	d = t_eventfd(1);
	t_log("same number: %d", d == a);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 11);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 12);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	T(close(d));
	WAIT(ep, 8, 0);
	return 0;
}
