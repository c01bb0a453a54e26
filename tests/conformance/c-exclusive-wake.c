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

static int child(int lfd, struct t_chan *ready, int report)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), efd = t_eventfd(0), n;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE }, out[4];
	char c;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return 1;
	ev.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0)
		return 1;
	epoll_wait(ep, out, 4, 0);	/* this process's loop owns ep */
	t_post(ready);
	ev.events = EPOLLIN | EPOLLOUT;
	epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev);	/* queued under a batching shim */
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev);
	n = epoll_wait(ep, out, 4, 1000);	/* the connection, or nothing */
	c = (char)('0' + (n > 0));
	return write(report, &c, 1) == 1 ? 0 : 1;
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), cfd, rep[2], woken = 0, st;
	struct t_chan ready[NCHILD];
	pid_t pid[NCHILD];
	char c;

	t_begin("exclusive-wake");
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 8) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0 || pipe(rep) < 0)
		t_die("listening socket");
	for (int i = 0; i < NCHILD; i++) {
		t_chan_init(&ready[i]);
		pid[i] = fork();
		if (pid[i] < 0)
			t_die("fork");
		if (pid[i] == 0)
			_exit(child(lfd, &ready[i], rep[1]));
	}
	for (int i = 0; i < NCHILD; i++) {
		t_take(&ready[i]);
		t_wait_sleeping(pid[i]);
	}
	t_log("## both children asleep in epoll_wait; one connection");
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		t_die("connect");
	for (int i = 0; i < NCHILD; i++) {
		if (read(rep[0], &c, 1) != 1)
			t_die("report");
		woken += c == '1';
		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			t_log("child %d failed", i);
	}
	t_log("children woken: %d", woken);
	close(cfd);
	close(lfd);
	return 0;
}
