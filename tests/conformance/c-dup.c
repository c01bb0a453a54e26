/* SPDX-License-Identifier: MIT */
/*
 * dup'd registrations and dup2/dup3 onto registered fds.  A registration
 * belongs to the open file description and the fd number it was made with:
 * it survives close() of that number while a dup keeps the description
 * open (and can then no longer be named by any fd), and dup2/dup3 onto a
 * registered number closes the old description under it.
 */
#include "transcript.h"

#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	int ep = t_epoll();
	int a = t_eventfd(0), d, x, y, z;

	t_begin("dup");
	PRIME(ep);

	t_log("## registration persists through a dup after close of the original");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	d = dup(a);
	t_log("dup(a) ok: %s", d >= 0 ? "yes" : "no");
	T(close(a));
	WAIT(ep, 8, 0);
	t_eventfd_set(d, 1);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);	/* the number is closed: EBADF */
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);	/* never registered under d: ENOENT */
	CTL(ep, EPOLL_CTL_MOD, d, EPOLLOUT, 2);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 3);	/* a second registration of the same file */
	WAIT(ep, 8, 0);
	T(close(d));				/* last reference: both registrations go */
	WAIT(ep, 8, 0);

	t_log("## ADD, dup, close original, all before one wait");
	a = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 4);
	d = dup(a);
	T(close(a));
	WAIT(ep, 8, 0);
	T(close(d));
	WAIT(ep, 8, 0);

	t_log("## dup2 onto a registered fd with ops queued on it");
	x = t_eventfd(1);
	y = t_eventfd(1);
	z = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, x, EPOLLIN, 10);
	CTL(ep, EPOLL_CTL_ADD, y, EPOLLIN, 11);
	t_log("dup2(z, x) == x: %s", dup2(z, x) == x ? "yes" : "no");
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, x, EPOLLOUT, 12);	/* z's file under x: ENOENT */
	CTL(ep, EPOLL_CTL_ADD, x, EPOLLOUT, 13);
	WAIT(ep, 8, 0);

	t_log("## dup3 onto a registered fd, then the source closed");
	CTL(ep, EPOLL_CTL_MOD, y, EPOLLOUT, 14);
	t_log("dup3(z, y, O_CLOEXEC) == y: %s", dup3(z, y, O_CLOEXEC) == y ? "yes" : "no");
	T(close(z));
	CTL(ep, EPOLL_CTL_ADD, y, EPOLLIN, 15);
	WAIT(ep, 8, 0);

	t_log("## dup2 onto itself and dup3 onto itself change nothing");
	t_log("dup2(y, y) == y: %s", dup2(y, y) == y ? "yes" : "no");
	T(dup3(y, y, 0));
	CTL(ep, EPOLL_CTL_ADD, y, EPOLLIN, 16);
	WAIT(ep, 8, 0);

	t_log("## an op queued on fd, dup2(fd, fd), then fd closed (a dup keeps the file)");
	{
		int p = t_eventfd(1), q = t_eventfd(0), r;

		CTL(ep, EPOLL_CTL_ADD, p, EPOLLIN, 30);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_MOD, p, EPOLLOUT, 31);
		t_log("dup2(p, p) == p: %s", dup2(p, p) == p ? "yes" : "no");
		r = dup(p);
		T(close(p));			/* the MOD first: the registration keeps OUT */
		WAIT(ep, 8, 0);
		T(close(r));

		t_log("## an ADD queued on fd, dup2(fd, fd), then another file dup2'd onto fd");
		p = t_eventfd(1);
		CTL(ep, EPOLL_CTL_ADD, p, EPOLLIN | EPOLLOUT, 32);
		t_log("dup2(p, p) == p: %s", dup2(p, p) == p ? "yes" : "no");
		t_log("dup2(q, p) == p: %s", dup2(q, p) == p ? "yes" : "no");
		WAIT(ep, 8, 0);			/* the ADD went with the old file */
		CTL(ep, EPOLL_CTL_ADD, p, EPOLLOUT, 33);
		WAIT(ep, 8, 0);
		T(close(p));
		T(close(q));
	}

	t_log("## dup2 of a registered fd onto a free number, original closed");
	{
		int hi = 200;

		CTL(ep, EPOLL_CTL_MOD, y, EPOLLIN | EPOLLOUT, 17);
		t_log("dup2(y, 200) == 200: %s", dup2(y, hi) == hi ? "yes" : "no");
		T(close(y));
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_MOD, hi, EPOLLIN, 18);
		T(close(x));
		WAIT(ep, 8, 0);
		T(close(hi));
		WAIT(ep, 8, 0);
	}

	t_log("## fcntl(F_DUPFD) then close of the original with a queued DEL");
	a = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 20);
	WAIT(ep, 8, 0);
	d = fcntl(a, F_DUPFD_CLOEXEC, 100);
	t_log("F_DUPFD_CLOEXEC ok: %s", d >= 100 ? "yes" : "no");
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	T(close(a));
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 21);
	WAIT(ep, 8, 0);
	return 0;
}
