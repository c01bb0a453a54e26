/* SPDX-License-Identifier: MIT */
/*
 * libepbatch-null.so: the least any LD_PRELOAD interposer of the epoll calls
 * costs, for scripts/bench-shim.sh to time beside the shim (variant "null"):
 * epoll_ctl, epoll_wait, epoll_pwait and epoll_pwait2 forwarded to libc's
 * through pointers looked up once, and nothing else.  A benchmark
 * reference, not a shim.  What libepbatch.so's direct way costs above this
 * is its own work (the tests, the mirror, the policy's counts), not the
 * extra call level every interposer adds.
 */
#include <dlfcn.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>

static int (*next_ctl)(int, int, int, struct epoll_event *);
static int (*next_wait)(int, struct epoll_event *, int, int);
static int (*next_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
static int (*next_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			  const sigset_t *);

__attribute__((constructor)) static void null_init(void)
{
	next_ctl = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
	next_wait = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	next_pwait = (int (*)(int, struct epoll_event *, int, int, const sigset_t *))
		dlsym(RTLD_NEXT, "epoll_pwait");
	next_pwait2 = (int (*)(int, struct epoll_event *, int, const struct timespec *,
			       const sigset_t *))dlsym(RTLD_NEXT, "epoll_pwait2");
}

__attribute__((visibility("default"))) int epoll_ctl(int epfd, int op, int fd,
						      struct epoll_event *ev)
{
	return next_ctl(epfd, op, fd, ev);
}

__attribute__((visibility("default"))) int epoll_wait(int epfd, struct epoll_event *evs,
						       int maxevents, int timeout)
{
	return next_wait(epfd, evs, maxevents, timeout);
}

__attribute__((visibility("default"))) int epoll_pwait(int epfd, struct epoll_event *evs,
							int maxevents, int timeout,
							const sigset_t *sigmask)
{
	return next_pwait(epfd, evs, maxevents, timeout, sigmask);
}

__attribute__((visibility("default"))) int epoll_pwait2(int epfd, struct epoll_event *evs,
							 int maxevents, const struct timespec *timeout,
							 const sigset_t *sigmask)
{
	return next_pwait2(epfd, evs, maxevents, timeout, sigmask);
}
