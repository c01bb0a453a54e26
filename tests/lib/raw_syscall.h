/* SPDX-License-Identifier: MIT */
/*
 * A syscall made past libc, so past any LD_PRELOAD shim (which interposes
 * libc's syscall() too): the tests' way to change what the shim cannot see.
 * Elsewhere than x86_64 it is libc's syscall(), which the shim does see;
 * RAW_SYSCALL_HIDDEN says which one it is.  Returns -errno on failure.
 */
#ifndef EPBATCH_TESTS_RAW_SYSCALL_H
#define EPBATCH_TESTS_RAW_SYSCALL_H

#include "epbatch/raw_syscall.h"

#define RAW_SYSCALL_HIDDEN EPB_SYSCALL_RAW
#define raw_syscall epb_syscall4

#endif
