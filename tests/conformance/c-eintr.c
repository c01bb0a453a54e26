/* SPDX-License-Identifier: MIT */
/*
 * A wait that would sleep forever (epoll_wait(-1), epoll_pwait(-1) with a
 * mask), with an op queued before it, interrupted by a signal: -1 EINTR
 * whether or not the handler has SA_RESTART (an epoll wait is never
 * restarted), the handler run, and the queued op in effect afterwards.
 * Another thread signals the waiter until it is back (a signal that lands
 * before the wait only runs the handler; the next one ends the wait).
 */
#include "transcript.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pid_t main_tid;
static atomic_int back;
static volatile sig_atomic_t caught;

static void on_usr1(int sig)
{
	(void)sig;
	caught++;
}

static void *kicker(void *arg)
{
	struct timespec ms = { 0, 2000000 };

	(void)arg;
	t_wait_sleeping(main_tid);
	while (!atomic_load(&back)) {
		syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
		nanosleep(&ms, NULL);
	}
	return NULL;
}

int main(void)
{
	int ep = t_epoll(), a = t_eventfd(0);
	struct epoll_event evs[8];
	sigset_t none;
	pthread_t t;

	t_begin("eintr");
	main_tid = (pid_t)syscall(SYS_gettid);
	sigemptyset(&none);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 1);
	PRIME(ep);
	for (int restart = 0; restart < 2; restart++) {
		for (int pwait = 0; pwait < 2; pwait++) {
			struct sigaction sa = { .sa_handler = on_usr1,
						.sa_flags = restart ? SA_RESTART : 0 };
			uint64_t data = 10 + restart * 2 + pwait;
			int rc;

			t_log("## %s(-1), handler %s SA_RESTART", pwait ? "epoll_pwait" : "epoll_wait",
			      restart ? "with" : "without");
			sigaction(SIGUSR1, &sa, NULL);
			CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, data);	/* queued: a is not readable */
			caught = 0;
			atomic_store(&back, 0);
			if (pthread_create(&t, NULL, kicker, NULL))
				t_die("pthread_create");
			rc = pwait ? epoll_pwait(ep, evs, 8, -1, &none) : epoll_wait(ep, evs, 8, -1);
			atomic_store(&back, 1);
			pthread_join(t, NULL);
			t_res("the wait, interrupted", rc);
			t_log("handler ran: %s", caught ? "yes" : "no");
			t_eventfd_set(a, 1);
			WAIT(ep, 8, 0);				/* the MOD took effect */
			t_eventfd_set(a, 0);
		}
	}
	return 0;
}
