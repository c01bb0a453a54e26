/* SPDX-License-Identifier: MIT */
/*
 * The bottom layer of libepbatch.so: the libc functions the shim wraps,
 * found with dlsym(RTLD_NEXT), the few process facts every layer reads, and
 * the CAS every layer's shared words go through.
 * Nothing here calls into the rest of the shim.
 */
#ifndef EPBATCH_REAL_H
#define EPBATCH_REAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

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

void resolve_real(void);

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
