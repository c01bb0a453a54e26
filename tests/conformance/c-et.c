/* SPDX-License-Identifier: MIT */
/*
 * EPOLLET: an edge is reported once; new data makes a new edge; MOD (and
 * only an applied MOD) re-checks readiness and reports a level that is
 * already there.  A queued MOD applied twice, late or coalesced wrongly
 * shows up as an extra or a missing event.
 */
#include "transcript.h"

#include <unistd.h>

int main(void)
{
	int ep = t_epoll();
	int p[2], q[2];
	char buf[16];

	t_begin("et");
	t_pipe(p);
	t_pipe(q);
	PRIME(ep);

	t_log("## ADD of an fd with data already there reports it once");
	T(write(p[1], "ab", 2));
	CTL(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLET, 1);
	CTL(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLET, 2);
	WAIT(ep, 8, 0);
	WAIT(ep, 8, 0);

	t_log("## new data is a new edge; a partial read is not");
	T(write(p[1], "c", 1));
	WAIT(ep, 8, 0);
	T(read(p[0], buf, 1));
	WAIT(ep, 8, 0);

	t_log("## MOD re-arms the level that is there; MOD+MOD reports once");
	CTL(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 3);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 4);
	CTL(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 5);
	WAIT(ep, 8, 0);
	WAIT(ep, 8, 0);

	t_log("## MOD to a mask that is not ready, then back, before one wait");
	CTL(ep, EPOLL_CTL_MOD, p[0], EPOLLPRI | EPOLLET, 6);
	CTL(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 7);
	WAIT(ep, 8, 0);

	t_log("## draining, then an edge, then DEL before the wait");
	T(read(p[0], buf, sizeof(buf)));
	T(read(p[0], buf, sizeof(buf)));
	WAIT(ep, 8, 0);
	T(write(p[1], "d", 1));
	CTL(ep, EPOLL_CTL_DEL, p[0], 0, 0);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLET, 8);
	WAIT(ep, 8, 0);

	t_log("## ET with ONESHOT, and a second edge while disarmed");
	T(write(q[1], "x", 1));
	CTL(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLET | EPOLLONESHOT, 9);
	WAIT(ep, 8, 0);
	T(write(q[1], "y", 1));
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, q[0], EPOLLIN | EPOLLET | EPOLLONESHOT, 10);
	WAIT(ep, 8, 0);
	WAIT(ep, 8, 0);

	t_log("## writer edge: fill the pipe, then drain it");
	{
		char big[4096] = { 0 };
		int writes = 0;

		while (write(p[1], big, sizeof(big)) > 0 && writes < 1024)
			writes++;
		WAIT(ep, 8, 0);
		while (read(p[0], big, sizeof(big)) > 0)
			;
		WAIT(ep, 8, 0);
		WAIT(ep, 8, 0);
	}
	return 0;
}
