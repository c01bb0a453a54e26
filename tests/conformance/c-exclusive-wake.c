/* SPDX-License-Identifier: MIT */
/*
 * EPOLLEXCLUSIVE across processes (nginx's workers on their listening
 * socket): two children, each with its own epoll instance holding the one
 * listening socket with EPOLLEXCLUSIVE, both asleep in epoll_wait with an op
 * queued just before; one connection must wake exactly one of them.  (A wait
 * fused into io_uring sleeps as a poll of the epoll file, which an exclusive
 * wake-up does not stop at: both woke.)
 */
#include "transcript.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCHILD 2

/* A child that registers the listener before its loop's first wait (the
 * kernel gets the ADD at once), or after it (deferred: a batching shim
 * queues it). */
static int child(int deferred, int lfd, struct t_chan *ready, int report)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), efd = t_eventfd(0), n;
	struct epoll_event ev = { .events = EPOLLIN }, out[4];
	char c;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0)
		return 1;
	if (deferred)
		epoll_wait(ep, out, 4, 0);	/* this process's loop owns ep */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return 1;
	epoll_wait(ep, out, 4, 0);
	t_post(ready);
	ev.events = EPOLLIN | EPOLLOUT;
	epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev);	/* queued under a batching shim */
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev);
	n = epoll_wait(ep, out, 4, 1000);	/* the connection, or nothing */
	c = (char)('0' + (n > 0));
	return write(report, &c, 1) == 1 ? 0 : 1;
}

/*
 * One round: two children, the first registered in the listener's wait
 * queue first.  An exclusive wake-up stops at the first child asleep in
 * epoll_wait itself, so a round shows whether the first child's way of
 * registering (first_deferred) kept its wait out of io_uring.
 */
static void round_of(int first_deferred)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), cfd, rep[2], woken = 0, st;
	struct t_chan ready[NCHILD];
	pid_t pid[NCHILD];
	char c;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0 || pipe(rep) < 0)
		t_die("listening socket");
	/* one at a time, so the first is first in the listener's queue */
	for (int i = 0; i < NCHILD; i++) {
		t_chan_init(&ready[i]);
		pid[i] = fork();
		if (pid[i] < 0)
			t_die("fork");
		if (pid[i] == 0)
			_exit(child(i == 0 ? first_deferred : !first_deferred, lfd, &ready[i], rep[1]));
		t_take(&ready[i]);
		t_wait_sleeping(pid[i]);
	}
	t_log("## the first child's ADD %s; both asleep in epoll_wait; one connection",
	      first_deferred ? "after its first wait" : "before it");
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		t_die("connect");
	for (int i = 0; i < NCHILD; i++) {
		if (read(rep[0], &c, 1) != 1)
			t_die("report");
		woken += c == '1';
	}
	for (int i = 0; i < NCHILD; i++)
		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			t_log("child %d failed", i);
	t_log("children woken: %d", woken);
	close(cfd);
	close(lfd);
	close(rep[0]);
	close(rep[1]);
}

int main(void)
{
	int e = t_epoll(), f = t_eventfd(0);

	t_begin("exclusive-wake");
	/* An epoll call made and its instance closed before the forks (as
	 * nginx's master does): a shim is set up by then, so the listeners
	 * made next are known to its mirror and a child's direct ADD of one
	 * is predicted, not learnt afterwards. */
	t_ctl_quiet(e, EPOLL_CTL_ADD, f, EPOLLIN, 0);
	close(f);
	close(e);
	round_of(1);
	round_of(0);
	return 0;
}
