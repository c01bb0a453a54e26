/* SPDX-License-Identifier: MIT */
/*
 * EPOLLRDHUP, EPOLLHUP and EPOLLERR after the peer goes away: half-close
 * and close of a UNIX stream socket pair, both ends of a pipe, and a TCP
 * connection on 127.0.0.1.  HUP and ERR are reported whether or not they
 * were asked for; registrations are queued just before the peer acts.
 */
#include "transcript.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void tcp(int ep)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int lst = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int cli = socket(AF_INET, SOCK_STREAM, 0);
	int srv;
	char buf[16];

	/* A test guest may boot with the loopback interface down: say so in the
	 * transcript (the same natively and under the shim) rather than fail. */
	if (lst < 0 || cli < 0 || bind(lst, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lst, 8) < 0 || getsockname(lst, (struct sockaddr *)&sin, &len) < 0) {
		t_log("TCP on 127.0.0.1 unavailable (%s): part skipped", t_errname(errno));
		return;
	}
	CTL(ep, EPOLL_CTL_ADD, lst, EPOLLIN | EPOLLEXCLUSIVE, 20);
	if (connect(cli, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		t_log("TCP on 127.0.0.1 unavailable (%s): part skipped", t_errname(errno));
		return;
	}
	WAIT(ep, 8, 2000);
	srv = accept4(lst, NULL, NULL, SOCK_NONBLOCK);
	t_log("accept4 ok: %s", srv >= 0 ? "yes" : "no");
	CTL(ep, EPOLL_CTL_DEL, lst, 0, 0);
	CTL(ep, EPOLL_CTL_ADD, srv, EPOLLIN | EPOLLRDHUP | EPOLLET, 21);
	WAIT(ep, 8, 0);
	T(write(cli, "hello", 5));
	WAIT(ep, 8, 2000);
	/* Drained, so that only the FIN can make it readable again. */
	T(read(srv, buf, sizeof(buf)));
	CTL(ep, EPOLL_CTL_MOD, srv, EPOLLIN | EPOLLRDHUP, 22);
	WAIT(ep, 8, 0);
	T(close(cli));
	WAIT(ep, 8, 2000);
	CTL(ep, EPOLL_CTL_MOD, srv, EPOLLOUT, 23);
	WAIT(ep, 8, 0);
	T(close(srv));
	T(close(lst));
	WAIT(ep, 8, 0);
}

int main(void)
{
	int ep = t_epoll();
	int s[2], p[2];

	t_begin("hup");
	PRIME(ep);

	t_log("## UNIX stream: peer shuts down writing, then closes");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) < 0)
		t_die("socketpair");
	CTL(ep, EPOLL_CTL_ADD, s[0], EPOLLIN | EPOLLRDHUP, 1);
	WAIT(ep, 8, 0);
	T(shutdown(s[1], SHUT_WR));
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, s[0], EPOLLOUT, 2);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, s[0], EPOLLIN | EPOLLRDHUP, 3);
	T(close(s[1]));
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, s[0], 0, 4);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, s[0], 0, 0);
	T(close(s[0]));

	t_log("## pipe: writer closes (HUP on the reader), reader closes (ERR on the writer)");
	t_pipe(p);
	CTL(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 10);
	T(write(p[1], "x", 1));
	T(close(p[1]));
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, p[0], 0, 0);
	T(close(p[0]));
	t_pipe(p);
	CTL(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLET, 11);
	T(close(p[0]));
	WAIT(ep, 8, 0);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_MOD, p[1], 0, 12);
	WAIT(ep, 8, 0);
	CTL(ep, EPOLL_CTL_DEL, p[1], 0, 0);
	T(close(p[1]));

	t_log("## TCP on 127.0.0.1");
	tcp(ep);
	return 0;
}
