// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The base layer's /proc readers (linked with libepbatch-base.a alone: no
 * libbpf).  Issue 12, defect 10: a multi-process server's CPU time is the
 * whole tree's, live workers and reaped ones included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/base.h"

static void burn(double secs)
{
	struct timespec ts;
	double end;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + secs;
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	while ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 < end);
}

static void test_tree_cpu(void **state)
{
	double before = proc_tree_cpu_s(getpid()), after;
	int go[2], st;
	pid_t live, gone;
	char b;

	(void)state;
	assert_false(isnan(before));
	assert_int_equal(pipe(go), 0);
	/* a worker that burns 0.3 s and stays alive, with a grandchild burning 0.3 s */
	live = fork();
	if (live == 0) {
		setpgid(0, 0);
		if (fork() == 0) {
			burn(0.3);
			pause();
			_exit(0);
		}
		burn(0.3);
		if (write(go[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	/* a worker that burns 0.3 s and exits (reaped: its time is in our cutime) */
	gone = fork();
	if (gone == 0) {
		burn(0.3);
		_exit(0);
	}
	waitpid(gone, &st, 0);
	assert_int_equal(read(go[0], &b, 1), 1);
	usleep(400000);		/* the grandchild finishes its burn */
	after = proc_tree_cpu_s(getpid());
	setpgid(live, live);
	kill(-live, SIGKILL);	/* the worker and its grandchild */
	waitpid(live, &st, 0);
	/* 0.9 s burnt by the tree; ticks are 10 ms, allow for them */
	assert_true(after - before >= 0.8);
	assert_true(isnan(proc_tree_cpu_s(999999999)));
}

static void test_check_target(void **state)
{
	(void)state;
	assert_int_equal(proc_check_target(getpid()), 0);
	assert_int_equal(proc_check_target(2), -1);	/* kthreadd */
	assert_int_equal(proc_check_target(999999999), -1);
}

/* An epoll fd's registrations with EPOLLEXCLUSIVE, from its fdinfo: the
 * parser on the kernel's text, and the reader on a live instance. */
static void test_epoll_exclusive(void **state)
{
	static const char text[] = "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\n"
		"tfd:        4 events: 10000019 data:                4  pos:0 ino:414c7a1 sdev:f\n"
		"tfd:        5 events:       19 data:                5  pos:0 ino:414c7a2 sdev:f\n"
		"tfd:        7 events: 50000001 data:                7  pos:0 ino:414c7a3 sdev:f\n";
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, p[2];

	(void)state;
	assert_int_equal(epoll_fdinfo_exclusive(text), 2);
	assert_int_equal(epoll_fdinfo_exclusive(""), 0);

	ep = epoll_create1(0);
	assert_true(ep >= 0 && pipe(p) == 0);
	assert_int_equal(proc_epoll_exclusive(getpid(), ep), 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev), 0);
	assert_int_equal(proc_epoll_exclusive(getpid(), ep), 1);
	/* not an epoll fd, or none */
	assert_int_equal(proc_epoll_exclusive(getpid(), p[0]), -1);
	close(ep);
	assert_int_equal(proc_epoll_exclusive(getpid(), ep), -1);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_cpu),
		cmocka_unit_test(test_check_target),
		cmocka_unit_test(test_epoll_exclusive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
