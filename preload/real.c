/* SPDX-License-Identifier: MIT */
/* The libc functions the rest of the shim calls past its own wrappers. */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

int (*real_epoll_ctl)(int, int, int, struct epoll_event *);
int (*real_epoll_wait)(int, struct epoll_event *, int, int);
int (*real_epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
int (*real_epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			 const sigset_t *);
int (*real_close)(int);
long (*real_syscall)(long, ...);
void (*real_longjmp)(struct __jmp_buf_tag *, int);
void (*real__longjmp)(struct __jmp_buf_tag *, int);
void (*real_siglongjmp)(struct __jmp_buf_tag *, int);
void (*real_longjmp_chk)(struct __jmp_buf_tag *, int);

TLS int tid_cache;

#ifdef HAVE_SYS_DIRECT
_Atomic int raw_ctl;
/* raw_wait_gate's 0 bytes: before resolve_real(), and after sys_waits_off() */
static const char wait_unresolved, wait_never;
const char *_Atomic raw_wait_gate = &wait_unresolved;
_Atomic int raw_mt;
static int membarrier_ok;

/* Whether a and b are in the same loaded object.  dladdr() allocates
 * nothing (dlopen would: the first wrapper call can come from inside an
 * allocator's initialisation, with its lock held -- jemalloc's, in redis). */
static int same_object(void *a, void *b)
{
	Dl_info ia, ib;

	return a && b && dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

/* Which of the epoll functions dlsym(RTLD_NEXT) found are libc's own (no
 * other library interposes them after the shim): in the object that holds
 * gnu_get_libc_version().  real.h says what each allows. */
static void next_is_libc(void)
{
	void *libc = (void *)gnu_get_libc_version;
	const char *unresolved = &wait_unresolved;

	if (same_object((void *)real_epoll_ctl, libc))
		atomic_store(&raw_ctl, 1);
	/* not over a pthread_cancel that came first */
	if (same_object((void *)real_epoll_wait, libc) &&
	    same_object((void *)real_epoll_pwait, libc) &&
	    same_object((void *)real_epoll_pwait2, libc)) {
		int mt = RAW_MT_UNRESOLVED;

		atomic_compare_exchange_strong(&raw_wait_gate, &unresolved,
					       (const char *)&__libc_single_threaded);
		/* one syscall at start-up; a fork child keeps the
		 * registration (it is the address space's), exec drops it */
		membarrier_ok = epb_syscall4(SYS_membarrier,
					     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0, 0) == 0;
		if (membarrier_ok)
			atomic_compare_exchange_strong(&raw_mt, &mt, RAW_MT_ON);
	}
}

void sys_waits_off(void)
{
	atomic_store(&raw_wait_gate, &wait_never);
	atomic_store(&raw_mt, RAW_MT_NEVER);
}

/* After sys_waits_off(): every wait that read raw_mt on has its mark
 * (in_fused) visible to this thread (real.h). */
void sys_waits_fence(void)
{
	if (membarrier_ok)
		epb_syscall4(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0, 0);
}
#endif

__attribute__((noinline, cold)) int sys_fail(long r)
{
	errno = (int)-r;
	return -1;
}

void resolve_real(void)
{
	real_epoll_ctl = dlsym(RTLD_NEXT, "epoll_ctl");
	real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
	real_epoll_pwait = dlsym(RTLD_NEXT, "epoll_pwait");
	real_epoll_pwait2 = dlsym(RTLD_NEXT, "epoll_pwait2");
	real_close = dlsym(RTLD_NEXT, "close");
	real_syscall = dlsym(RTLD_NEXT, "syscall");
	real_longjmp = dlsym(RTLD_NEXT, "longjmp");
	real__longjmp = dlsym(RTLD_NEXT, "_longjmp");
	real_siglongjmp = dlsym(RTLD_NEXT, "siglongjmp");
	real_longjmp_chk = dlsym(RTLD_NEXT, "__longjmp_chk");
#ifdef HAVE_SYS_DIRECT
	next_is_libc();
#endif
}

int my_tid_slow(void)
{
	tid_cache = gettid();
	return tid_cache;
}
