/* SPDX-License-Identifier: MIT */
/*
 * epoll_pwait/epoll_pwait2 semantics a fused ctl+wait must keep: the
 * temporary signal mask (a pending signal it unblocks interrupts the wait
 * with EINTR -- unless events are ready, then the events are returned and
 * the signal stays pending), the caller's mask restored afterwards, timeouts
 * of 0 and a few milliseconds, and the argument errors.  Ops are queued
 * before each call, so the wait is the flush point.
 */
#include "transcript.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t caught;

static void on_usr1(int sig)
{
	(void)sig;
	caught++;
}

static void state(void)
{
	sigset_t cur, pend;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	sigpending(&pend);
	t_log("  handler ran %d times; SIGUSR1 blocked %d, pending %d", (int)caught,
	      sigismember(&cur, SIGUSR1), sigismember(&pend, SIGUSR1));
}

static int pwait(const char *what, int ep, int timeout, const sigset_t *m)
{
	struct epoll_event ev[8];

	return t_events(what, epoll_pwait(ep, ev, 8, timeout, m), ev);
}

static int pwait2(const char *what, int ep, const struct timespec *ts, const sigset_t *m)
{
	struct epoll_event ev[8];

	return t_events(what, epoll_pwait2(ep, ev, 8, ts, m), ev);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t usr1, open_mask;
	int ep = t_epoll(), a = t_eventfd(1), b = t_eventfd(0), notep = t_eventfd(0);
	struct timespec zero = { 0, 0 }, ms5 = { 0, 5000000 }, bad = { 0, 2000000000 },
			neg = { -1, 0 };

	t_begin("pwait");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	sigprocmask(SIG_BLOCK, NULL, &open_mask);
	sigdelset(&open_mask, SIGUSR1);
	PRIME(ep);

	t_log("## pending signal, mask unblocks it, nothing ready: EINTR");
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 1);
	raise(SIGUSR1);
	state();
	pwait("epoll_pwait(ep, 1000, open_mask)", ep, 1000, &open_mask);
	state();

	t_log("## pending signal, queued ADD of a ready fd: events win, signal stays pending");
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 2);
	raise(SIGUSR1);
	pwait("epoll_pwait(ep, 1000, open_mask)", ep, 1000, &open_mask);
	state();
	t_log("## mask keeps it blocked: timeout 0 returns, signal still pending");
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	pwait("epoll_pwait(ep, 0, NULL)", ep, 0, NULL);
	state();
	pwait2("epoll_pwait2(ep, zero, NULL)", ep, &zero, NULL);
	state();
	t_log("## epoll_pwait2 unblocking it: EINTR");
	/* Still pending here, so this raise() changes nothing; it keeps the rest
	 * of the transcript meaningful if an earlier wait lost the signal. */
	raise(SIGUSR1);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLOUT, 3);
	CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 4);
	pwait2("epoll_pwait2(ep, NULL, open_mask)", ep, NULL, &open_mask);
	state();

	t_log("## epoll_pwait2 timeouts");
	pwait2("epoll_pwait2(ep, zero, NULL)", ep, &zero, NULL);
	pwait2("epoll_pwait2(ep, 5ms, NULL)", ep, &ms5, NULL);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLOUT, 5);
	pwait2("epoll_pwait2(ep, 5ms, NULL)", ep, &ms5, NULL);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLPRI, 6);
	pwait2("epoll_pwait2(ep, 5ms, usr1 blocked)", ep, &ms5, &usr1);
	CTL(ep, EPOLL_CTL_MOD, a, EPOLLOUT, 7);
	pwait2("epoll_pwait2(ep, NULL, NULL)", ep, NULL, NULL);
	pwait2("epoll_pwait2(ep, bad nsec, NULL)", ep, &bad, NULL);
	pwait2("epoll_pwait2(ep, negative, NULL)", ep, &neg, NULL);
	CTL(ep, EPOLL_CTL_DEL, a, 0, 0);
	WAIT(ep, 8, 5);
	pwait("epoll_pwait(ep, 5, NULL)", ep, 5, NULL);

	t_log("## argument errors, with an op queued before each");
	{
		struct epoll_event ev[1];
		struct epoll_event *volatile nullp = NULL;

		memset(ev, 0, sizeof(ev));
		CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN, 8);
		T(epoll_wait(notep, ev, 1, 0));
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 9);
		T(epoll_wait(-1, ev, 1, 0));
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 10);
		T(epoll_wait(ep, nullp, 1, 0));
		CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN, 11);
		T(epoll_pwait2(ep, ev, 1, &bad, NULL));
		WAIT(ep, 8, 0);
	}
	return 0;
}
