/* SPDX-License-Identifier: MIT */
/*
 * epoll_ctl and the epoll waits made through libc's syscall() (as programs
 * that carry their own syscall layer do), interleaved with the libc calls
 * on the same epoll fd and fds.  Natively each call sees every earlier one
 * applied: a raw ADD after a libc ADD is EEXIST, a raw wait after a libc
 * ADD reports the fd, a libc MOD after a raw DEL is ENOENT.
 */
#include "transcript.h"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int raw_ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return (int)syscall(SYS_epoll_ctl, ep, op, fd, &ev);
}
#define RAWCTL(ep, op, fd, ev, data) \
	t_res("raw epoll_ctl(" #ep ", " #op ", " #fd ", " #ev ", " #data ")", \
	      raw_ctl((ep), (op), (fd), (ev), (data)))

static struct epoll_event evbuf[64];

#define RAWWAIT(ep, max) \
	t_events("syscall(SYS_epoll_wait, " #ep ", " #max ", 0)", \
		 (int)syscall(SYS_epoll_wait, (ep), evbuf, (max), 0), evbuf)
#define RAWPWAIT(ep, max) \
	t_events("syscall(SYS_epoll_pwait, " #ep ", " #max ", 0, NULL)", \
		 (int)syscall(SYS_epoll_pwait, (ep), evbuf, (max), 0, NULL, (size_t)8), evbuf)

int main(void)
{
	int ep = t_epoll();
	int a = t_eventfd(1), b = t_eventfd(1), c = t_eventfd(0);
	struct timespec zero = { 0, 0 };

	t_begin("syscall-epoll");
	PRIME(ep);

	t_log("## libc ADD, then a raw ADD of the same fd");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	RAWCTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 2);
	WAIT(ep, 8, 0);

	t_log("## libc MOD, then a raw wait");
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLOUT, 3);
	RAWWAIT(ep, 8);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 4);
	RAWPWAIT(ep, 8);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLOUT, 5);
	t_events("syscall(SYS_epoll_pwait2, ep, 8, {0,0}, NULL)",
		 (int)syscall(SYS_epoll_pwait2, ep, evbuf, 8, &zero, NULL, (size_t)8), evbuf);

	t_log("## libc DEL, then a raw MOD and a raw DEL");
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	RAWCTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 6);
	RAWCTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	WAIT(ep, 8, 0);

	t_log("## raw DEL, then libc MOD and DEL of the same fd");
	RAWCTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 7);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	WAIT(ep, 8, 0);

	t_log("## raw ADD, then libc ADD, MOD, DEL");
	RAWCTL(ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLOUT, 8);
	CTL(ep, EPOLL_CTL_ADD, c, EPOLLIN, 9);
	CTL(ep, EPOLL_CTL_MOD, c, EPOLLOUT, 10);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	CTL(ep, EPOLL_CTL_DEL, c, 0, 0);
	WAIT(ep, 8, 0);

	t_log("## alternating libc and raw ops on one fd, one wait at the end");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 11);
	RAWCTL(ep, EPOLL_CTL_MOD, a, EPOLLOUT, 12);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 13);
	RAWCTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLOUT, 14);
	RAWWAIT(ep, 8);
	WAIT(ep, 8, 0);

	t_log("## raw epoll_create1: libc ops on it, waits both ways");
	{
		int ep3 = (int)syscall(SYS_epoll_create1, 0);

		if (ep3 < 0)
			t_die("epoll_create1");
		PRIME(ep3);
		CTL(ep3, EPOLL_CTL_ADD, b, EPOLLIN, 15);
		RAWWAIT(ep3, 8);
		CTL(ep3, EPOLL_CTL_MOD, b, EPOLLOUT, 16);
		WAIT(ep3, 8, 0);
		RAWCTL(ep3, EPOLL_CTL_DEL, b, 0, 0);
		CTL(ep3, EPOLL_CTL_ADD, b, EPOLLIN, 17);
		WAIT(ep3, 8, 0);
	}
	return 0;
}
