/* SPDX-License-Identifier: MIT */
/*
 * A syscall made past libc, so past any LD_PRELOAD shim (which interposes
 * libc's syscall() too): the tests' way to change what the shim cannot see.
 * Elsewhere than x86_64 it is libc's syscall(), which the shim does see;
 * RAW_SYSCALL_HIDDEN says which one it is.
 */
#ifndef EPBATCH_TESTS_RAW_SYSCALL_H
#define EPBATCH_TESTS_RAW_SYSCALL_H

#include <sys/syscall.h>
#include <unistd.h>

#ifdef __x86_64__
#define RAW_SYSCALL_HIDDEN 1
static inline long raw_syscall(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long rc;

	__asm__ volatile("syscall"
			 : "=a"(rc)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return rc;
}
#else
#define RAW_SYSCALL_HIDDEN 0
static inline long raw_syscall(long nr, long a, long b, long c, long d)
{
	return syscall(nr, a, b, c, d);
}
#endif

#endif
