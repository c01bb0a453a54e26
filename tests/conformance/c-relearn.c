/* SPDX-License-Identifier: MIT */
/*
 * fds the shim's mirror does not know (an fd registered in two instances, a
 * FIFO from open(), a dup) that are then added to an instance: the mirror
 * learns them at that ADD, but not that they are registered nowhere else.
 * After a DEL from the instance it learnt, an fd still registered in
 * another one must give EEXIST to an ADD there, as natively.
 */
#include "transcript.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	int ep = t_epoll(), ep2 = t_epoll();
	int a = t_eventfd(1), f, d;
	char path[64];

	t_begin("relearn");
	PRIME(ep);

	t_log("## registered in two instances, out of one and back in, out again");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	CTL(ep2, EPOLL_CTL_ADD, a, EPOLLIN, 2);
	CTL(ep2, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep2, EPOLL_CTL_ADD, a, EPOLLIN, 3);
	CTL(ep2, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 4);	/* still in ep: EEXIST */
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 5);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);	/* ENOENT */
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 6);
	WAIT(ep, 8, 0);

	t_log("## a FIFO from open(): learnt at its ADD, then batched");
	snprintf(path, sizeof(path), "/tmp/c-relearn.%d", (int)getpid());
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		t_die("mkfifo");
	f = open(path, O_RDWR | O_NONBLOCK);
	unlink(path);
	if (f < 0)
		t_die("open fifo");
	CTL(ep, EPOLL_CTL_MOD, f, EPOLLOUT, 10);	/* ENOENT */
	CTL(ep, EPOLL_CTL_ADD, f, EPOLLOUT, 11);
	CTL(ep, EPOLL_CTL_ADD, f, EPOLLOUT, 12);	/* EEXIST */
	WAIT(ep, 8, 0);
	for (int i = 0; i < 3; i++) {
		CTL(ep, EPOLL_CTL_MOD, f, i % 2 ? EPOLLOUT : EPOLLIN, 13 + i);
		WAIT(ep, 8, 0);
	}
	CTL(ep, EPOLL_CTL_DEL, f, 0, 0);
	CTL(ep, EPOLL_CTL_MOD, f, EPOLLOUT, 16);	/* ENOENT */
	CTL(ep, EPOLL_CTL_ADD, f, EPOLLOUT | EPOLLEXCLUSIVE, 17);
	CTL(ep, EPOLL_CTL_MOD, f, EPOLLOUT, 18);	/* EINVAL: exclusive */
	WAIT(ep, 8, 0);

	t_log("## a dup: a second registration of one file, under its own number");
	d = t_dup(a);
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 20);
	CTL(ep2, EPOLL_CTL_ADD, d, EPOLLIN, 21);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, d, 0, 0);
	CTL(ep2, EPOLL_CTL_ADD, d, EPOLLIN, 22);	/* EEXIST */
	CTL(ep, EPOLL_CTL_ADD, d, EPOLLIN, 23);
	WAIT(ep, 8, 0);
	WAIT(ep2, 8, 0);
	T(close(d));
	T(close(f));
	WAIT(ep, 8, 0);
	return 0;
}
