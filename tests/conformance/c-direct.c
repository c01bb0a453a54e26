/* SPDX-License-Identifier: MIT */
/*
 * The shim's direct way predicts an ADD or a DEL from its fd mirror before
 * the call and checks the prediction with one compare-and-swap after it
 * (preload/ctl.c, ctl_direct).  Here the mirror is wrong on purpose: the
 * fds are closed, and their numbers reused, with raw syscall instructions
 * that no LD_PRELOAD library sees.  An op predicted to succeed then fails:
 * the application must get the kernel's errno, and the number must work
 * normally once the shim sees a new file take it.
 *
 * Everything before the last part runs before this thread waits on the
 * epoll fd, so no backend defers these ops (an instance nobody waits on
 * goes to the kernel at once): a deferred op on an fd closed behind the
 * shim's back is a known limit (docs/shim.md, "syscall()").
 */
#include "transcript.h"
#include "../lib/raw_syscall.h"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static void raw_close(int fd)
{
	if (raw_syscall(SYS_close, fd, 0, 0, 0) != 0)
		t_die("raw close");
}

/* A readable eventfd on the lowest free number, unseen by the shim. */
static int raw_eventfd(int expected)
{
	long fd = raw_syscall(SYS_eventfd2, 1, EFD_NONBLOCK, 0, 0);

	if (fd < 0)
		t_die("raw eventfd2");
	t_log("unseen new fd takes the same number: %s", fd == expected ? "yes" : "no");
	return (int)fd;
}

int main(void)
{
	int ep = t_epoll();
	int a = t_eventfd(1), b, c, d, e, f;

	t_begin("direct");

	t_log("## ADD of an fd closed behind the shim: EBADF, then the number works");
	raw_close(a);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	b = t_reopen_on(a, 1);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 3);	/* EEXIST */

	t_log("## DEL of a registered fd closed behind the shim: EBADF, then ENOENT on a new file");
	c = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 4);
	raw_close(c);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	d = t_reopen_on(c, 1);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 5);

	t_log("## the number reused behind the shim: DEL says ENOENT, ADD works");
	e = t_eventfd(1);
	CTL(ep, EPOLL_CTL_ADD, e, EPOLLIN, 6);
	raw_close(e);
	f = raw_eventfd(e);
	CTL(ep, EPOLL_CTL_DEL, f, 0, 0);
	CTL(ep, EPOLL_CTL_DEL, f, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, f, EPOLLIN, 7);
	CTL(ep, EPOLL_CTL_DEL, f, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, f, EPOLLIN, 8);

	t_log("## what is registered now");
	WAIT(ep, 8, 0);

	t_log("## connection pattern afterwards: new fd, ADD, wait, DEL, close");
	for (int i = 0; i < 4; i++) {
		int g = t_eventfd(1);

		CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
		CTL(ep, EPOLL_CTL_ADD, g, EPOLLIN, 10 + (uint64_t)i);
		WAIT(ep, 8, 0);
		CTL(ep, EPOLL_CTL_DEL, g, 0, 0);
		CTL(ep, EPOLL_CTL_DEL, g, 0, 0);	/* ENOENT */
		T(close(g));
		CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 20 + (uint64_t)i);
	}
	WAIT(ep, 8, 0);
	return 0;
}
