/* SPDX-License-Identifier: MIT */
/*
 * Errors the kernel decides: a shim that defers must still return each one
 * synchronously, from the epoll_ctl call that caused it, after the thread
 * has waited on the epoll fd (the deferring state).
 */
#include "transcript.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	int ep = t_epoll(), other = t_epoll();
	int a = t_eventfd(1), b = t_eventfd(0), closed = t_eventfd(0);
	int memfd = memfd_create("conformance", 0);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int p[2];
	int chain[6];
	struct epoll_event ev = { .events = EPOLLIN };

	t_begin("errors");
	if (memfd < 0 || devnull < 0)
		t_die("memfd_create or /dev/null");
	t_pipe(p);
	PRIME(ep);
	PRIME(other);

	t_log("## bad file descriptors");
	T(close(closed));
	CTL(ep, EPOLL_CTL_ADD, closed, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_MOD, closed, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_DEL, closed, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, -1, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_ADD, 100000, EPOLLIN, 1);
	CTL(-1, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(closed, EPOLL_CTL_ADD, a, EPOLLIN, 1);

	t_log("## files that do not support poll");
	CTL(ep, EPOLL_CTL_ADD, memfd, EPOLLIN, 2);
	CTL(ep, EPOLL_CTL_ADD, devnull, EPOLLIN, 3);
	CTL(ep, EPOLL_CTL_DEL, memfd, 0, 0);

	t_log("## EINVAL");
	CTL(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 4);
	CTL(p[0], EPOLL_CTL_ADD, a, EPOLLIN, 5);	/* epfd is not an epoll fd */
	CTL(ep, 7, a, EPOLLIN, 6);			/* unknown op */
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 7);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN | EPOLLEXCLUSIVE, 8);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN | EPOLLEXCLUSIVE, 9);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 10);
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 11);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN | EPOLLEXCLUSIVE, 12);	/* MOD to exclusive */
	CTL(ep, EPOLL_CTL_ADD, other, EPOLLIN | EPOLLEXCLUSIVE, 13);	/* exclusive on epoll fd */
	T(epoll_create(0));
	T(epoll_create1(12345));

	t_log("## EFAULT: a NULL event is only allowed for DEL");
	T(epoll_ctl(ep, EPOLL_CTL_ADD, a, NULL));
	T(epoll_ctl(ep, EPOLL_CTL_MOD, b, NULL));
	T(epoll_ctl(ep, EPOLL_CTL_DEL, b, NULL));
	T(epoll_ctl(ep, EPOLL_CTL_DEL, b, NULL));
	T(epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev));

	t_log("## ELOOP: a cycle of epoll fds, and nesting too deep");
	CTL(ep, EPOLL_CTL_ADD, other, EPOLLIN, 20);
	CTL(other, EPOLL_CTL_ADD, ep, EPOLLIN, 21);
	for (int i = 0; i < 6; i++) {
		chain[i] = t_epoll();
		PRIME(chain[i]);
	}
	for (int i = 1; i < 6; i++)
		t_ctl(chain[i], "chain[i]", EPOLL_CTL_ADD, chain[i - 1], "chain[i-1]",
		      EPOLLIN, (uint64_t)(30 + i));
	CTL(chain[0], EPOLL_CTL_ADD, chain[5], EPOLLIN, 40);
	CTL(chain[0], EPOLL_CTL_ADD, chain[3], EPOLLIN, 41);

	t_log("## what is registered after all that");
	WAIT(ep, 16, 0);
	T(write(a, "\1\0\0\0\0\0\0\0", 8));
	T(write(b, "\1\0\0\0\0\0\0\0", 8));
	WAIT(ep, 16, 0);
	WAIT(other, 16, 0);
	for (int i = 0; i < 6; i++)
		t_wait("epoll_wait(chain[i], 16, 0)", chain[i], 16, 0);
	return 0;
}
