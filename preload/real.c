/* SPDX-License-Identifier: MIT */
/* The libc functions the rest of the shim calls past its own wrappers. */
#include "real.h"

#include <dlfcn.h>
#include <unistd.h>

int (*real_epoll_ctl)(int, int, int, struct epoll_event *);
int (*real_epoll_wait)(int, struct epoll_event *, int, int);
int (*real_epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
int (*real_epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			 const sigset_t *);
int (*real_close)(int);
long (*real_syscall)(long, ...);

TLS int tid_cache;

void resolve_real(void)
{
	real_epoll_ctl = dlsym(RTLD_NEXT, "epoll_ctl");
	real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
	real_epoll_pwait = dlsym(RTLD_NEXT, "epoll_pwait");
	real_epoll_pwait2 = dlsym(RTLD_NEXT, "epoll_pwait2");
	real_close = dlsym(RTLD_NEXT, "close");
	real_syscall = dlsym(RTLD_NEXT, "syscall");
}

int my_tid_slow(void)
{
	tid_cache = gettid();
	return tid_cache;
}
