/* SPDX-License-Identifier: MIT */
/*
 * close_range, dup3 and dup2 made through libc's syscall() instead of their
 * libc wrappers, with epoll ops queued on the fds they close or replace.
 * Natively every epoll_ctl took effect when it returned, so it applied to
 * the file that had the number then; the registration of a file that stays
 * open elsewhere (a dup) outlives the number's close, and the new file at
 * the number is not registered.
 */
#include "transcript.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	int ep = t_epoll(), epd;
	int a, b, c, d, e;

	t_begin("syscall-fdops");
	PRIME(ep);

	t_log("## DEL queued, syscall(SYS_close_range) over the fd, a dup keeps the file");
	a = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	WAIT(ep, 8, 0);
	d = t_dup(a);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(syscall(SYS_close_range, a, a, 0));
	WAIT(ep, 8, 0);
	T(close(d));

	t_log("## ADD+MOD queued, syscall(SYS_close_range) over a range, dups keep the files");
	a = t_eventfd(1);
	b = t_eventfd(1);
	c = t_eventfd(0);
	d = t_dup(a);
	e = t_dup(b);
	t_log("a, b, c consecutive: %s", b == a + 1 && c == a + 2 ? "yes" : "no");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 3);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 4);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 5);
	T(syscall(SYS_close_range, a, c, 0));
	t_log("a and b stay registered (their files are open), with the last events");
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	T(close(d));
	T(close(e));
	WAIT(ep, 8, 0);

	t_log("## syscall(SYS_close_range, ..., CLOSE_RANGE_CLOEXEC) closes nothing");
	a = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 6);
	T(syscall(SYS_close_range, a, a, CLOSE_RANGE_CLOEXEC));
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(close(a));

	t_log("## DEL queued, syscall(SYS_dup3) onto the fd, a dup keeps the old file");
	a = t_eventfd(1);
	b = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 7);
	WAIT(ep, 8, 0);
	d = t_dup(a);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(syscall(SYS_dup3, b, a, 0) == a);
	WAIT(ep, 8, 0);
	t_log("the new file at a's number is not registered");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 8);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 9);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(close(a));
	T(close(b));
	T(close(d));

	t_log("## ADD queued, syscall(SYS_dup3) onto the fd: the old file was registered, then closed");
	a = t_eventfd(0);
	b = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 10);
	T(syscall(SYS_dup3, b, a, O_CLOEXEC) == a);
	t_log("nothing is registered under a's number now");
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 11);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(close(a));
	T(close(b));

	t_log("## MOD queued, syscall(SYS_dup2) onto the fd, a dup keeps the old file");
	a = t_eventfd(1);
	b = t_eventfd(0);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 12);
	WAIT(ep, 8, 0);
	d = t_dup(a);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 13);
	T(syscall(SYS_dup2, b, a) == a);
	WAIT(ep, 8, 0);
	T(close(d));
	WAIT(ep, 8, 0);
	T(close(a));
	T(close(b));

	t_log("## ADD queued on an epoll fd, then syscall(SYS_close) of it; a dup of it waits");
	a = t_eventfd(1);
	epd = t_dup(ep);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 14);
	T(syscall(SYS_close, ep));
	WAIT(epd, 8, 0);
	CTL(epd, EPOLL_CTL_MOD, a, EPOLLOUT, 15);
	WAIT(epd, 8, 0);
	return 0;
}
