/* SPDX-License-Identifier: MIT */
/*
 * A syscall made with the syscall instruction itself, past libc's
 * functions (so past any LD_PRELOAD library that interposes them, libc's
 * syscall() included), and with no function return between the kernel and
 * the caller.  x86_64; elsewhere it is libc's syscall(), and
 * EPB_SYSCALL_RAW is 0.  Returns the kernel's value (-errno on failure).
 */
#ifndef EPBATCH_RAW_SYSCALL_H
#define EPBATCH_RAW_SYSCALL_H

#include <sys/syscall.h>
#include <unistd.h>

#ifdef __x86_64__
#define EPB_SYSCALL_RAW 1

/*
 * Each argument goes in its register with its own type, as glibc's
 * syscall macros pass them (ARGIFY): an int is not widened to 64 bits --
 * the kernel reads only the low half of an int argument -- and a pointer
 * or a long is a long.  Saves the widening instructions on the shim's
 * direct way.
 */
#define EPB_ARG(x) ((__typeof__((x) - (x)))(x))

#define epb_syscall6(n, a, b, c, d, e, f)                                              \
	({                                                                             \
		register __typeof__(EPB_ARG(d)) r10_ __asm__("r10") = EPB_ARG(d);      \
		register __typeof__(EPB_ARG(e)) r8_ __asm__("r8") = EPB_ARG(e);        \
		register __typeof__(EPB_ARG(f)) r9_ __asm__("r9") = EPB_ARG(f);        \
		long r_;                                                               \
		__asm__ __volatile__("syscall"                                         \
				     : "=a"(r_)                                        \
				     : "0"((long)(n)), "D"(EPB_ARG(a)), "S"(EPB_ARG(b)), \
				       "d"(EPB_ARG(c)), "r"(r10_), "r"(r8_), "r"(r9_)  \
				     : "rcx", "r11", "memory");                        \
		r_;                                                                    \
	})

/* the same with four arguments: r8 and r9 left alone */
#define epb_syscall4(n, a, b, c, d)                                                    \
	({                                                                             \
		register __typeof__(EPB_ARG(d)) r10_ __asm__("r10") = EPB_ARG(d);      \
		long r_;                                                               \
		__asm__ __volatile__("syscall"                                         \
				     : "=a"(r_)                                        \
				     : "0"((long)(n)), "D"(EPB_ARG(a)), "S"(EPB_ARG(b)), \
				       "d"(EPB_ARG(c)), "r"(r10_)                      \
				     : "rcx", "r11", "memory");                        \
		r_;                                                                    \
	})
#else
#include <errno.h>

#define EPB_SYSCALL_RAW 0

static inline long epb_syscall_libc(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);

	return r < 0 ? -(long)errno : r;
}

#define epb_syscall6(n, a, b, c, d, e, f)                                                \
	epb_syscall_libc((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), \
			 (long)(f))
#define epb_syscall4(n, a, b, c, d) epb_syscall6(n, a, b, c, d, 0, 0)
#endif

#endif
