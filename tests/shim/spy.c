/* SPDX-License-Identifier: MIT */
/*
 * A library that interposes the epoll calls after libepbatch.so
 * (LD_PRELOAD=libepbatch.so:libspy.so), counts the calls that reach it and
 * passes them on to libc: the shim must still go through it, not make
 * those syscalls itself (tests/shim/t-shim-libc.sh).  At exit it prints
 * "spy: ctl=N wait=N pwait=N" on stderr.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/epoll.h>

static atomic_long n_ctl, n_wait, n_pwait;

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	atomic_fetch_add(&n_ctl, 1);
	return NEXT(epoll_ctl)(epfd, op, fd, ev);
}

int epoll_wait(int epfd, struct epoll_event *evs, int maxevents, int timeout)
{
	atomic_fetch_add(&n_wait, 1);
	return NEXT(epoll_wait)(epfd, evs, maxevents, timeout);
}

int epoll_pwait(int epfd, struct epoll_event *evs, int maxevents, int timeout,
		const sigset_t *sigmask)
{
	atomic_fetch_add(&n_pwait, 1);
	return NEXT(epoll_pwait)(epfd, evs, maxevents, timeout, sigmask);
}

__attribute__((destructor)) static void report(void)
{
	fprintf(stderr, "spy: ctl=%ld wait=%ld pwait=%ld\n", atomic_load(&n_ctl),
		atomic_load(&n_wait), atomic_load(&n_pwait));
}
