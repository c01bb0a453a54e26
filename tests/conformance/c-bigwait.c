/* SPDX-License-Identifier: MIT */
/*
 * A wait with maxevents 10,000 (redis asks for 10,128) while 6,000 fds are
 * ready, with queued ops before it.  epoll may return fewer events than
 * maxevents, so a shim may split such a wait; what it may not do is lose,
 * duplicate or reorder an event: with EPOLLONESHOT each armed fd is
 * reported exactly once across the waits, in the order the kernel queued
 * them (the order of the ADDs/MODs that made them ready), and a further
 * wait reports nothing.  The transcript holds counts and checksums, not
 * 6,000 lines; per-wait event counts are not printed (they may legally
 * differ), only totals.
 */
#include "transcript.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define NFD 6000
#define MAXEV 10000
#define ROUND_WAITS 64

static int fds[NFD];
static int seen[NFD];
static struct epoll_event ev[MAXEV];

enum wait_kind { W_WAIT, W_PWAIT, W_PWAIT2 };

static int do_wait(int ep, enum wait_kind k, int timeout)
{
	sigset_t none;
	struct timespec ts = { 0, 0 };

	sigemptyset(&none);
	switch (k) {
	case W_PWAIT:
		return epoll_pwait(ep, ev, MAXEV, timeout, &none);
	case W_PWAIT2:
		return epoll_pwait2(ep, ev, MAXEV, timeout < 0 ? NULL : &ts, &none);
	default:
		return epoll_wait(ep, ev, MAXEV, timeout);
	}
}

/*
 * Wait until `expect` distinct tags base..base+NFD-1 were reported (or
 * ROUND_WAITS waits passed), then once more with timeout 0.  Prints the
 * totals: events, distinct, duplicates, foreign tags, events out of the
 * expected order, bad masks, and an order-sensitive checksum.
 */
static void round_(const char *what, int ep, enum wait_kind k, uint64_t base,
		   int expect, int descending, int oneshot)
{
	long total = 0, distinct = 0, dups = 0, foreign = 0, order = 0, badmask = 0;
	unsigned long long sum = 0;
	long pos = 0;
	int waits = 0, rc, errs = 0;

	for (int i = 0; i < NFD; i++)
		seen[i] = 0;
	while (distinct < expect && waits < ROUND_WAITS) {
		rc = do_wait(ep, k, waits == 0 ? -1 : 1000);
		waits++;
		if (rc < 0) {
			errs++;
			continue;
		}
		for (int i = 0; i < rc; i++) {
			uint64_t t = ev[i].data.u64;
			long idx = (long)(t - base);

			total++;
			if (ev[i].events != EPOLLIN)
				badmask++;
			if (t < base || idx >= NFD) {
				foreign++;
				continue;
			}
			if (seen[idx]++) {
				dups++;
				continue;
			}
			/* the position this tag must have in the kernel's order */
			if (idx != (descending ? NFD - 1 - pos : pos))
				order++;
			distinct++;
			pos++;
			sum = sum * 1000003ULL + (unsigned long long)t;
		}
	}
	/* Level-triggered: a split wait legitimately reports an fd again
	 * (the kernel re-queues it at the tail), so neither the total nor
	 * the duplicates are part of the transcript then. */
	if (oneshot)
		t_log("%s: events %ld, duplicates %ld", what, total, dups);
	t_log("%s: distinct %ld of %d, foreign %ld, out of order %ld, bad masks %ld, "
	      "wait errors %d, checksum %llx",
	      what, distinct, expect, foreign, order, badmask, errs, sum);
	if (oneshot)
		t_log("%s: further wait(0) = %d", what, do_wait(ep, k, 0));
}

int main(void)
{
	struct rlimit rl;
	int ep;

	t_begin("bigwait");
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		t_die("getrlimit");
	if (rl.rlim_cur < NFD + 64) {
		rl.rlim_cur = NFD + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			t_die("setrlimit RLIMIT_NOFILE (need 6064 fds)");
	}
	ep = t_epoll();
	for (int i = 0; i < NFD; i++)
		fds[i] = t_eventfd(1);
	PRIME(ep);

	t_log("## 6000 ADDs (ONESHOT) queued, then waits with maxevents 10000");
	for (int i = 0; i < NFD; i++)
		if (t_ctl_quiet(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN | EPOLLONESHOT, (uint64_t)i) != 0)
			t_die("epoll_ctl ADD");
	round_("add", ep, W_WAIT, 0, NFD, 0, 1);

	t_log("## 6000 MODs (re-arm, new tags) queued in reverse order");
	for (int i = NFD - 1; i >= 0; i--)
		if (t_ctl_quiet(ep, EPOLL_CTL_MOD, fds[i], EPOLLIN | EPOLLONESHOT,
				10000 + (uint64_t)i) != 0)
			t_die("epoll_ctl MOD");
	round_("mod", ep, W_WAIT, 10000, NFD, 1, 1);

	t_log("## 200 MODs queued (re-arm 200 fds), epoll_pwait");
	for (int i = 0; i < 200; i++)
		if (t_ctl_quiet(ep, EPOLL_CTL_MOD, fds[i * 30], EPOLLIN | EPOLLONESHOT,
				20000 + (uint64_t)(i * 30)) != 0)
			t_die("epoll_ctl MOD");
	{
		long n = 0, bad = 0, rest;
		unsigned long long sum = 0;
		int rc = epoll_pwait(ep, ev, MAXEV, -1, NULL);

		for (int i = 0; i < rc; i++) {
			n++;
			if (ev[i].data.u64 != 20000 + (uint64_t)(i * 30))
				bad++;
			sum = sum * 1000003ULL + ev[i].data.u64;
		}
		/* fewer than 200 events from one wait is legal: collect the rest */
		rest = 0;
		for (int w = 0; w < ROUND_WAITS && n + rest < 200; w++) {
			rc = epoll_pwait(ep, ev, MAXEV, 1000, NULL);
			for (int i = 0; i < rc; i++) {
				if (ev[i].data.u64 != 20000 + (uint64_t)((n + rest) * 30))
					bad++;
				sum = sum * 1000003ULL + ev[i].data.u64;
				rest++;
			}
		}
		t_log("pwait: events %ld, out of order %ld, checksum %llx", n + rest, bad, sum);
		t_log("pwait: further wait(0) = %d", epoll_pwait(ep, ev, MAXEV, 0, NULL));
	}

	t_log("## 6000 MODs to level-triggered, epoll_pwait2: every fd reported");
	for (int i = 0; i < NFD; i++)
		if (t_ctl_quiet(ep, EPOLL_CTL_MOD, fds[i], EPOLLIN, 30000 + (uint64_t)i) != 0)
			t_die("epoll_ctl MOD");
	round_("level", ep, W_PWAIT2, 30000, NFD, 0, 0);

	t_log("## 3000 DELs and 3000 MODs to ONESHOT queued; one more round");
	for (int i = 0; i < NFD; i++) {
		if (i % 2)
			t_ctl_quiet(ep, EPOLL_CTL_DEL, fds[i], 0, 0);
		else
			t_ctl_quiet(ep, EPOLL_CTL_MOD, fds[i], EPOLLIN | EPOLLONESHOT,
				    40000 + (uint64_t)i);
	}
	{
		long n = 0, bad = 0, dups = 0;
		unsigned long long sum = 0;

		for (int i = 0; i < NFD; i++)
			seen[i] = 0;
		for (int w = 0; w < ROUND_WAITS && n < NFD / 2; w++) {
			int rc = epoll_wait(ep, ev, MAXEV, w == 0 ? -1 : 1000);

			for (int i = 0; i < rc; i++) {
				long idx = (long)ev[i].data.u64 - 40000;

				if (idx < 0 || idx >= NFD || idx % 2) {
					bad++;
					continue;
				}
				if (seen[idx]++)
					dups++;
				else
					n++;
				sum = sum * 1000003ULL + ev[i].data.u64;
			}
		}
		t_log("half: distinct %ld of %d, foreign %ld, duplicates %ld, checksum %llx",
		      n, NFD / 2, bad, dups, sum);
		t_log("half: further wait(0) = %d", epoll_wait(ep, ev, MAXEV, 0));
	}
	return 0;
}
