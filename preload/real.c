/* SPDX-License-Identifier: MIT */
/* The libc functions the rest of the shim calls past its own wrappers. */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

int (*real_epoll_ctl)(int, int, int, struct epoll_event *);
int (*real_epoll_wait)(int, struct epoll_event *, int, int);
int (*real_epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
int (*real_epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			 const sigset_t *);
int (*real_close)(int);
long (*real_syscall)(long, ...);

TLS int tid_cache;

#ifdef HAVE_SYS_DIRECT
_Atomic int sys_direct;

/* Which of the epoll functions dlsym(RTLD_NEXT) found are those of the libc
 * already loaded (no other library interposes them after the shim). */
static int next_is_libc(void)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	int which = 0;

	if (!libc)
		return 0;
	if (real_epoll_ctl && real_epoll_ctl == dlsym(libc, "epoll_ctl"))
		which |= SYS_CTL;
	if (real_epoll_wait && real_epoll_wait == dlsym(libc, "epoll_wait") &&
	    real_epoll_pwait == dlsym(libc, "epoll_pwait") &&
	    real_epoll_pwait2 == dlsym(libc, "epoll_pwait2"))
		which |= SYS_WAITS;
	dlclose(libc);
	return which;
}
#endif

#ifdef HAVE_SYS_DIRECT
__attribute__((noinline, cold)) int sys_fail(long r)
{
	errno = (int)-r;
	return -1;
}
#endif

void resolve_real(void)
{
	real_epoll_ctl = dlsym(RTLD_NEXT, "epoll_ctl");
	real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
	real_epoll_pwait = dlsym(RTLD_NEXT, "epoll_pwait");
	real_epoll_pwait2 = dlsym(RTLD_NEXT, "epoll_pwait2");
	real_close = dlsym(RTLD_NEXT, "close");
	real_syscall = dlsym(RTLD_NEXT, "syscall");
#ifdef HAVE_SYS_DIRECT
	atomic_store(&sys_direct, next_is_libc());
#endif
}

int my_tid_slow(void)
{
	tid_cache = gettid();
	return tid_cache;
}
