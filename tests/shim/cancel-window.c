// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pthread_cancel of a thread whose epoll_wait the shim makes itself, with
 * the cancel's signal spent before the wait's syscall: run under
 * build/shim/libepbatch-window.so with EPBATCH_TEST_WINDOW=1, which holds
 * the wait there until a signal comes (preload/wait.c).  The canceller must
 * signal again (preload/cancel.c, kick_until_heard), or the thread stays in
 * a wait that nothing ends.
 *
 *   cancel-window raw|fused
 *
 * raw: the wait of a thread that does not batch (a multi-threaded
 * process's direct wait); fused: one MOD queued first and the wait fused
 * with it (run with EPBATCH_BACKEND=uring EPBATCH_MIN_BATCH=0).  Exit 0:
 * the thread was cancelled within 5 s; 1 otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int ep, efd, fused;
static atomic_int ready;

static void *waiter(void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };

	(void)arg;
	/* fused: a first wait makes this thread the instance's loop, whose
	 * MOD then waits in the queue for the next wait */
	if (fused && (epoll_wait(ep, &ev, 1, 0) < 0 || epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev)))
		perror("cancel-window: first wait, MOD");
	/* the eventfd is never readable: only a cancel ends this wait */
	atomic_store(&ready, 1);
	epoll_wait(ep, &ev, 1, -1);
	fprintf(stderr, "cancel-window: the wait returned\n");
	return NULL;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct timespec deadline;
	pthread_t t;
	void *res = NULL;
	int rc;

	if (argc != 2 || (strcmp(argv[1], "raw") && strcmp(argv[1], "fused"))) {
		fprintf(stderr, "usage: cancel-window raw|fused\n");
		return 2;
	}
	fused = !strcmp(argv[1], "fused");
	ep = epoll_create1(0);
	efd = eventfd(0, 0);
	if (ep < 0 || efd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev)) {
		perror("cancel-window: set-up");
		return 1;
	}
	if (pthread_create(&t, NULL, waiter, NULL)) {
		fprintf(stderr, "cancel-window: pthread_create failed\n");
		return 1;
	}
	while (!atomic_load(&ready))
		usleep(100);
	usleep(100000);	/* past its look, held before its syscall */
	pthread_cancel(t);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	rc = pthread_timedjoin_np(t, &res, &deadline);
	if (rc) {
		fprintf(stderr, "cancel-window: %s: the thread was not cancelled (%s)\n", argv[1],
			strerror(rc));
		return 1;
	}
	if (res != PTHREAD_CANCELED) {
		fprintf(stderr, "cancel-window: %s: the thread ended, not cancelled\n", argv[1]);
		return 1;
	}
	printf("cancel-window: %s: cancelled\n", argv[1]);
	return 0;
}
