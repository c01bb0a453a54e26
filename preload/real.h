/* SPDX-License-Identifier: MIT */
/*
 * The bottom layer of libepbatch.so: the libc functions the shim wraps,
 * found with dlsym(RTLD_NEXT), and the few process facts every layer reads.
 * Nothing here calls into the rest of the shim.
 */
#ifndef EPBATCH_REAL_H
#define EPBATCH_REAL_H

#include <signal.h>
#include <sys/epoll.h>
#include <time.h>

#pragma GCC visibility push(hidden)

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
/* Thread-locals of a preloaded library, reached without __tls_get_addr. */
#define TLS __attribute__((tls_model("initial-exec"))) __thread

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

#pragma GCC visibility pop

#endif
