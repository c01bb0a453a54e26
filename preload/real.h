/* SPDX-License-Identifier: MIT */
/*
 * The bottom layer of libepbatch.so: the libc functions the shim wraps,
 * found with dlsym(RTLD_NEXT), the few process facts every layer reads, and
 * the CAS every layer's shared words go through.
 * Nothing here calls into the rest of the shim.
 */
#ifndef EPBATCH_REAL_H
#define EPBATCH_REAL_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>

#include "epbatch/raw_syscall.h"
#include "epbatch/shim_probes.h"	/* enum epbatch_wait_kind */

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 32)
#include <sys/single_threaded.h>
#define HAVE_LOCAL_CAS 1
#endif
#endif

#pragma GCC visibility push(hidden)

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
/* Thread-locals of a preloaded library, reached without __tls_get_addr. */
#define TLS __attribute__((tls_model("initial-exec"))) __thread
/*
 * The functions of an event loop's every iteration, direct or batched: GCC
 * puts them in .text.hot, together (four code pages, not six).  Where every
 * syscall flushes the TLB (KPTI without PCID) each code page an iteration
 * runs through costs a page walk after the syscall: 2-3% of a batched K=4..16
 * loop's time on such a host (docs/performance.md, "Ninth pass").
 */
#define HOT __attribute__((hot))

extern int (*real_epoll_ctl)(int, int, int, struct epoll_event *);
extern int (*real_epoll_wait)(int, struct epoll_event *, int, int);
extern int (*real_epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
extern int (*real_epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
				const sigset_t *);
extern int (*real_close)(int);
extern long (*real_syscall)(long, ...);
/* glibc's jumps (interpose.c), looked up at start-up, not first in a
 * signal handler: dlsym is not async-signal-safe */
extern void (*real_longjmp)(struct __jmp_buf_tag *, int);
extern void (*real__longjmp)(struct __jmp_buf_tag *, int);
extern void (*real_siglongjmp)(struct __jmp_buf_tag *, int);
extern void (*real_longjmp_chk)(struct __jmp_buf_tag *, int);

void resolve_real(void);

/*
 * The epoll syscalls, made here rather than by libc's wrappers where that
 * is the same thing (raw_ctl, raw_wait_gate, below).  On a host whose kernel leaves
 * user space's return predictions cold after a syscall (the 2026-12-06 one:
 * retpolines, RSB filling, SRSO "safe RET"), every return between the
 * syscall and the application mispredicts -- the first ~85 ns after a MOD,
 * each further one ~6 ns -- and libc's wrapper under the shim's added one:
 * 2-4% of a one-op iteration (docs/performance.md, "Fourteenth pass").
 *
 * raw_ctl: set once by resolve_real() when the epoll_ctl dlsym(RTLD_NEXT)
 * finds is libc's own (no other interposer after the shim, which must
 * still see the calls).  The waits are cancellation points: glibc's make
 * the bare syscall only while its own flag says the process has one
 * thread, and a thread that cancels itself clears that flag but not the
 * copy of it an executable may hold (a copy relocation of
 * __libc_single_threaded, the only one the shim can read).  So the shim
 * makes a wait's syscall itself only while the process has one thread and
 * nothing was ever cancelled: raw_wait_gate points at
 * __libc_single_threaded once resolve_real() found libc's waits next, unless
 * sys_waits_off() (the first pthread_cancel, cancel.c) came first; else,
 * and for good after that call, at a 0 byte -- one load and one compare on
 * the direct way.
 *
 * raw_mt (RAW_MT_ON): the same for a process with more threads, where a
 * wait is a cancellation point that another thread's pthread_cancel must be
 * able to interrupt.  It is on once resolve_real() found libc's waits next
 * and the process is registered for private expedited membarrier(2), and
 * off (RAW_MT_NEVER) after any pthread_cancel.  A wait marks its queue
 * (in_fused) before it reads raw_mt; pthread_cancel turns raw_mt off, then
 * sys_waits_fence() (a membarrier: a full barrier in every running thread
 * of the process, so the waiter's own store-load pair needs none), then
 * looks for marks: either the waiter sees raw_mt off and takes libc's
 * wrapper, or the canceller sees its mark and interrupts it (cancel.c).
 */
#if defined(__x86_64__) && defined(HAVE_LOCAL_CAS)
#define HAVE_SYS_DIRECT 1
extern _Atomic int raw_ctl;
extern const char *_Atomic raw_wait_gate;
enum { RAW_MT_UNRESOLVED, RAW_MT_ON, RAW_MT_NEVER };
extern _Atomic int raw_mt;

static inline int sys_ctl_direct(void)
{
	return likely(atomic_load_explicit(&raw_ctl, memory_order_relaxed));
}

static inline int sys_wait_direct(void)
{
	return likely(*atomic_load_explicit(&raw_wait_gate, memory_order_relaxed) != 0);
}

static inline int sys_wait_direct_mt(void)
{
	return atomic_load_explicit(&raw_mt, memory_order_relaxed) == RAW_MT_ON;
}

void sys_waits_off(void);
void sys_waits_fence(void);
#else
#define sys_ctl_direct() 0
#define sys_wait_direct() 0
#define sys_wait_direct_mt() 0
#define sys_waits_off() ((void)0)
#define sys_waits_fence() ((void)0)
#endif

/* errno = -r, -1: out of line, so that the callers' common way keeps no
 * register across a call */
int sys_fail(long r);

/* libc's way of returning a syscall's result (epb_syscall*: -errno) */
static inline int sys_ret(long r)
{
	if (unlikely((unsigned long)r > -4096UL))
		return sys_fail(r);
	return (int)r;
}

/* epoll_ctl is no cancellation point: the syscall whenever raw_ctl */
static inline int sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (sys_ctl_direct())
		return sys_ret(epb_syscall4(SYS_epoll_ctl, epfd, op, fd, ev));
	return real_epoll_ctl(epfd, op, fd, ev);
}

/* the kernel's sigset size, as glibc passes it */
#define SYS_SIGSET_SIZE (_NSIG / 8)

/* The waits by kind (enum epbatch_wait_kind, a constant where inlined):
 * libc's wrapper, the raw syscall (-errno), and whichever sys_wait_direct()
 * allows. */
static inline int real_wait(int epfd, struct epoll_event *evs, int maxevents, int ms,
			    const struct timespec *ts, const sigset_t *sigmask,
			    enum epbatch_wait_kind kind)
{
	if (kind == EPB_WAIT)
		return real_epoll_wait(epfd, evs, maxevents, ms);
	if (kind == EPB_PWAIT)
		return real_epoll_pwait(epfd, evs, maxevents, ms, sigmask);
	return real_epoll_pwait2(epfd, evs, maxevents, ts, sigmask);
}

static inline long wait_syscall(int epfd, struct epoll_event *evs, int maxevents, int ms,
				const struct timespec *ts, const sigset_t *sigmask,
				enum epbatch_wait_kind kind)
{
	if (kind == EPB_WAIT)
		return epb_syscall4(SYS_epoll_wait, epfd, evs, maxevents, ms);
	if (kind == EPB_PWAIT)
		return epb_syscall6(SYS_epoll_pwait, epfd, evs, maxevents, ms, sigmask,
				    SYS_SIGSET_SIZE);
	return epb_syscall6(SYS_epoll_pwait2, epfd, evs, maxevents, ts, sigmask,
			    SYS_SIGSET_SIZE);
}

static inline int sys_wait(int epfd, struct epoll_event *evs, int maxevents, int ms,
			   const struct timespec *ts, const sigset_t *sigmask,
			   enum epbatch_wait_kind kind)
{
	if (sys_wait_direct())
		return sys_ret(wait_syscall(epfd, evs, maxevents, ms, ts, sigmask, kind));
	return real_wait(epfd, evs, maxevents, ms, ts, sigmask, kind);
}

/*
 * The shim's own cold work (a thread's ring set up or dropped, the
 * module opened, start-up) calls cancellation points -- close, open,
 * write -- inside application calls that natively have none, or in the
 * middle of a wait the shim has begun: a pending cancel must not act there
 * and leave the shim half done (a queue locked, a measurement under way).
 * nocancel_begin() returns the state nocancel_end() puts back.
 */
static inline int nocancel_begin(void)
{
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	return old;
}

static inline void nocancel_end(int old)
{
	pthread_setcancelstate(old, NULL);
}

/* gettid(), cached per thread (a fork child clears it: my_tid_reset). */
extern TLS int tid_cache;
int my_tid_slow(void);
static inline int my_tid(void)
{
	return likely(tid_cache) ? tid_cache : my_tid_slow();
}
static inline void my_tid_reset(void)
{
	tid_cache = 0;
}

/*
 * Compare-and-swap of the shim's own words (fd slots, queue lock words),
 * with atomic_compare_exchange_strong's contract (1: swapped; 0: *old is
 * the current value).  Their writers are the process's threads and, within
 * a thread, its signal handlers.  While the process has one thread, a
 * cmpxchg without the LOCK prefix is atomic with respect to all of them: it
 * is one instruction, and a signal arrives between instructions.  glibc's
 * __libc_single_threaded says so; pthread_create clears it before the
 * second thread starts, and glibc's malloc skips its own locks on it.  The
 * bus lock is most of what the shim costs a connection-per-request loop
 * (docs/performance.md, "Fourth pass").
 */
#ifdef HAVE_LOCAL_CAS
/*
 * One cmpxchg, with the LOCK prefix unless the process has one thread (a
 * jump over the prefix byte: glibc's own locks did this), its width from
 * the operands.  Its result is the flag cmpxchg sets, so the caller's test
 * of it is one branch: a choice between two CASes would merge two results
 * and test again (2-3 instructions per CAS).
 */
#define CAS_WORD(p, old, nv)                                                          \
	({                                                                            \
		__typeof__(*(old)) prev_ = *(old);                                    \
		_Bool ok_;                                                            \
		__asm__ __volatile__("cmpb $0, %4\n\t"                                \
				     "jne 1f\n\t"                                     \
				     "lock\n"                                         \
				     "1:\tcmpxchg %3, %1"                              \
				     : "=@ccz"(ok_), "+m"(*(volatile __typeof__(prev_) *)(p)), \
				       "+a"(prev_)                                    \
				     : "r"(nv), "m"(__libc_single_threaded)           \
				     : "memory");                                     \
		*(old) = prev_;                                                       \
		ok_;                                                                  \
	})

static inline _Bool cas_u64(_Atomic uint64_t *p, uint64_t *old, uint64_t nv)
{
	return CAS_WORD(p, old, nv);
}

static inline _Bool cas_int(_Atomic int *p, int *old, int nv)
{
	return CAS_WORD(p, old, nv);
}
#else

static inline _Bool cas_u64(_Atomic uint64_t *p, uint64_t *old, uint64_t nv)
{
	return atomic_compare_exchange_strong_explicit(p, old, nv, memory_order_acq_rel,
						       memory_order_acquire);
}

static inline _Bool cas_int(_Atomic int *p, int *old, int nv)
{
	return atomic_compare_exchange_strong_explicit(p, old, nv, memory_order_acquire,
						       memory_order_relaxed);
}
#endif

#pragma GCC visibility pop

#endif
