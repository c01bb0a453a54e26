/* SPDX-License-Identifier: MIT */
/*
 * No EINTR without a signal.  This program installs no signal handler and
 * sends no signal, so no wait may ever fail with EINTR.  Under the shim the
 * kernel can still make an interruptible sleep return EINTR when io_uring
 * queues "signal-like" task work on the thread (TIF_NOTIFY_SIGNAL): tearing
 * down a ring does, a few milliseconds later, to the task that released it.
 * The shim's start-up probe ring did exactly that, and the first short
 * waits of the program (here, at once after start) caught it.  The waits
 * alternate between an empty queue (the untouched real call) and one
 * queued op (the batch, fused with the wait where possible), across all
 * three wait calls, and each one times out (nothing is ready).
 */
#include "transcript.h"

#include <errno.h>
#include <time.h>

#define ROUNDS 60

int main(void)
{
	int ep = t_epoll(), quiet = t_eventfd(0);
	struct timespec ms1 = { 0, 1000000 };
	struct epoll_event ev[8];
	int eintr[3] = { 0, 0, 0 }, other = 0, events = 0;

	t_begin("spurious-eintr");
	PRIME(ep);
	for (int i = 0; i < ROUNDS; i++) {
		int kind = i % 3, rc;

		/* every other round: one op queued before the wait */
		if (i % 2)
			t_ctl_quiet(ep, i % 4 == 1 ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, quiet,
				    EPOLLIN, 1);
		if (kind == 0)
			rc = epoll_wait(ep, ev, 8, 1);
		else if (kind == 1)
			rc = epoll_pwait(ep, ev, 8, 1, NULL);
		else
			rc = epoll_pwait2(ep, ev, 8, &ms1, NULL);
		if (rc < 0 && errno == EINTR)
			eintr[kind]++;
		else if (rc < 0)
			other++;
		else
			events += rc;
	}
	t_log("%d rounds: EINTR from epoll_wait %d, epoll_pwait %d, epoll_pwait2 %d; "
	      "other errors %d; events %d", ROUNDS, eintr[0], eintr[1], eintr[2], other,
	      events);
	return 0;
}
