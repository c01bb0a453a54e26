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

static inline long epb_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long r;

	__asm__ __volatile__("syscall"
			     : "=a"(r)
			     : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return r;
}

/* the same with four arguments: r8 and r9 left alone */
static inline long epb_syscall4(long n, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long r;

	__asm__ __volatile__("syscall"
			     : "=a"(r)
			     : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			     : "rcx", "r11", "memory");
	return r;
}
#else
#define EPB_SYSCALL_RAW 0

static inline long epb_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);

	return r < 0 ? -(long)errno : r;
}

static inline long epb_syscall4(long n, long a, long b, long c, long d)
{
	return epb_syscall6(n, a, b, c, d, 0, 0);
}
#endif

#endif
