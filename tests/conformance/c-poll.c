/* SPDX-License-Identifier: MIT */
/*
 * poll(), ppoll() and select() on an epoll fd: the epoll fd is readable when
 * its ready list is not empty, which depends on every epoll_ctl made on it
 * before the call -- also from another thread that polls it.
 */
#include "transcript.h"

#include <poll.h>
#include <pthread.h>
#include <sys/select.h>
#include <unistd.h>

static int ep, a, b;

static void poll_it(const char *what, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc = poll(&p, 1, 0);

	if (rc < 0)
		t_res(what, rc);
	else
		t_log("%s = %d revents 0x%x", what, rc, (unsigned int)p.revents);
}

static void ppoll_it(const char *what, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec zero = { 0, 0 };
	int rc = ppoll(&p, 1, &zero, NULL);

	if (rc < 0)
		t_res(what, rc);
	else
		t_log("%s = %d revents 0x%x", what, rc, (unsigned int)p.revents);
}

static void select_it(const char *what, int fd)
{
	fd_set r;
	struct timeval zero = { 0, 0 };
	int rc;

	FD_ZERO(&r);
	FD_SET(fd, &r);
	rc = select(fd + 1, &r, NULL, NULL, &zero);
	if (rc < 0)
		t_res(what, rc);
	else
		t_log("%s = %d readable %d", what, rc, FD_ISSET(fd, &r) ? 1 : 0);
}

static void *other_thread(void *arg)
{
	(void)arg;
	poll_it("thread: poll(ep)", ep);
	select_it("thread: select(ep)", ep);
	return NULL;
}

int main(void)
{
	pthread_t th;

	t_begin("poll");
	ep = t_epoll();
	a = t_eventfd(1);
	b = t_eventfd(0);
	PRIME(ep);

	t_log("## queued ADD of a ready fd, then poll/ppoll/select on the epoll fd");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	poll_it("poll(ep)", ep);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	ppoll_it("ppoll(ep)", ep);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLOUT, 2);
	select_it("select(ep)", ep);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLPRI, 3);
	select_it("select(ep)", ep);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 4);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 5);
	poll_it("poll(ep)", ep);
	WAIT(ep, 8, 0);

	t_log("## poll on the epoll fd among other fds");
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	{
		struct pollfd p[2] = { { .fd = b, .events = POLLIN }, { .fd = ep, .events = POLLIN } };
		int rc = poll(p, 2, 0);

		t_log("poll(b, ep) = %d revents 0x%x 0x%x", rc, (unsigned int)p[0].revents,
		      (unsigned int)p[1].revents);
	}

	t_log("## another thread polls the epoll fd after main queued");
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLOUT, 6);
	if (pthread_create(&th, NULL, other_thread, NULL) != 0)
		t_die("pthread_create");
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	CTL(ep, EPOLL_CTL_DEL, b, 0, 0);
	if (pthread_create(&th, NULL, other_thread, NULL) != 0)
		t_die("pthread_create");
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	WAIT(ep, 8, 0);
	return 0;
}
