/* SPDX-License-Identifier: MIT */
/*
 * Hundreds of fds in one event-loop iteration: 1000 ADDs (and then 1000
 * MODs, 1000 DELs, 1000 closes) between two waits, more than any batch or
 * queue holds, with errors mixed in (duplicate ADDs, fds that do not poll)
 * that must be reported by the call that caused them.
 */
#include "transcript.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define NFD 1000

static int fd[NFD];

/* Results of NFD calls: how many succeeded, and the failures grouped by
 * errno, as index ranges. */
static void tally(const char *what, const int *rc, const int *err)
{
	int ok = 0, idx[NFD], done[NFD] = { 0 };

	for (int i = 0; i < NFD; i++)
		ok += rc[i] == 0;
	t_log("%s: %d ok", what, ok);
	for (int i = 0; i < NFD; i++) {
		char label[64];
		int n = 0;

		if (rc[i] == 0 || done[i])
			continue;
		for (int j = i; j < NFD; j++) {
			if (rc[j] != 0 && !done[j] && err[j] == err[i]) {
				done[j] = 1;
				idx[n++] = j;
			}
		}
		snprintf(label, sizeof(label), "  -1 %s at", t_errname(err[i]));
		t_log_set(label, idx, n);
	}
}

int main(void)
{
	static int rc[NFD], err[NFD];
	struct rlimit rl;
	int ep = t_epoll();
	int memfd = memfd_create("overflow", 0);

	t_begin("overflow");
	if (memfd < 0)
		t_die("memfd_create");
	/* Room for NFD eventfds besides whatever the runtime holds. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int i = 0; i < NFD; i++)
		fd[i] = t_eventfd(i % 3 == 0);
	PRIME(ep);

	t_log("## 1000 ADDs, every 100th also added twice, every 250th a memfd (EPERM)");
	for (int i = 0; i < NFD; i++) {
		int f = i % 250 == 249 ? memfd : fd[i];

		rc[i] = t_ctl_quiet(ep, EPOLL_CTL_ADD, f, EPOLLIN, (uint64_t)i);
		err[i] = errno;
		if (i % 100 == 50) {
			rc[i] = t_ctl_quiet(ep, EPOLL_CTL_ADD, fd[i], EPOLLIN, 5000);
			err[i] = errno;
		}
	}
	tally("ADD", rc, err);
	WAIT(ep, T_MAX_EVENTS, 0);

	t_log("## 1000 MODs to OUT (always ready) with new tags");
	for (int i = 0; i < NFD; i++) {
		rc[i] = t_ctl_quiet(ep, EPOLL_CTL_MOD, fd[i], EPOLLOUT, (uint64_t)(10000 + i));
		err[i] = errno;
	}
	tally("MOD", rc, err);
	WAIT(ep, T_MAX_EVENTS, 0);

	t_log("## 1000 MODs then DELs of the 500 odd fds, one iteration");
	for (int i = 0; i < NFD; i++) {
		rc[i] = t_ctl_quiet(ep, EPOLL_CTL_MOD, fd[i], EPOLLIN, (uint64_t)(20000 + i));
		err[i] = errno;
	}
	tally("MOD", rc, err);
	for (int i = 0; i < NFD; i++) {
		rc[i] = i % 2 ? t_ctl_quiet(ep, EPOLL_CTL_DEL, fd[i], 0, 0) : 0;
		err[i] = errno;
	}
	tally("DEL (even fds untouched)", rc, err);
	WAIT(ep, T_MAX_EVENTS, 0);

	t_log("## 500 ADD+DEL pairs cancel; the second DEL of each still fails");
	for (int i = 1; i < NFD; i += 2) {
		t_ctl_quiet(ep, EPOLL_CTL_ADD, fd[i], EPOLLIN, (uint64_t)(30000 + i));
		t_ctl_quiet(ep, EPOLL_CTL_DEL, fd[i], 0, 0);
	}
	for (int i = 0; i < NFD; i++) {
		rc[i] = i % 2 ? t_ctl_quiet(ep, EPOLL_CTL_DEL, fd[i], 0, 0) : 0;
		err[i] = errno;
	}
	tally("second DEL (even fds untouched)", rc, err);
	WAIT(ep, T_MAX_EVENTS, 0);

	t_log("## MOD all registered, then close all 1000 without DEL, then a wait");
	for (int i = 0; i < NFD; i += 2)
		t_ctl_quiet(ep, EPOLL_CTL_MOD, fd[i], EPOLLOUT, (uint64_t)(40000 + i));
	for (int i = 0; i < NFD; i++) {
		rc[i] = close(fd[i]);
		err[i] = errno;
	}
	tally("close", rc, err);
	WAIT(ep, T_MAX_EVENTS, 0);
	return 0;
}
