/* SPDX-License-Identifier: MIT */
/*
 * vfork() with vfork's own semantics: the child shares the parent's memory
 * until it execs or exits, and the parent sleeps until then (programs rely
 * on it: libuv probes it, CPython's subprocess uses it).  It cannot be a C
 * wrapper: the child returns from it first, and whatever it then calls
 * reuses the stack below the caller's frame, so a C frame's return address
 * would be gone when the parent returns through it.  As the C libraries do
 * it: the return address is kept in a register (not shared with the child)
 * across the syscall and pushed back after it.  Before: the shim's work in
 * an ordinary call (proc.c, shim_vfork_prepare: flush, and from now on no
 * shim code in this thread's child writes the parent's state); after, in
 * the parent only (shim_vfork_done: errno, and the thread is itself again).
 * The child returns straight to the caller.
 */
#include <asm/unistd.h>

	.text
	.globl	vfork
	.type	vfork, @function
vfork:
	.cfi_startproc
	endbr64
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	call	shim_vfork_prepare
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	.cfi_register %rip, %rdi
	movl	$__NR_vfork, %eax
	syscall
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rip, 0
	testq	%rax, %rax
	jz	1f
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	movq	%rax, %rdi
	call	shim_vfork_done
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
1:	ret
	.cfi_endproc
	.size	vfork, .-vfork

	.section .note.GNU-stack, "", @progbits
