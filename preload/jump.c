/* SPDX-License-Identifier: MIT */
/*
 * longjmp and siglongjmp out of a signal handler that interrupted a fused
 * wait.  Natively such a jump leaves epoll_wait cleanly: its syscall has
 * returned EINTR, nothing of it is left.  The shim's fused wait is its
 * critical section (crit) around a submission whose wait request is still
 * armed in the kernel when the handler runs (io_uring), or whose results
 * it has not taken yet (the module): jumped over, crit would stay up for
 * good and the request would take the next events into the abandoned
 * buffer.  So the shim's jump functions (interpose.c) first bring such a wait to
 * an end (fused_abandon, wait.c) when the jump leaves its frame -- not when
 * it stays inside the handler's own frames -- then jump.  Any other jump is
 * glibc's at once.
 */
#include "shim.h"

/*
 * The stack pointer a jump buffer restores.  glibc on x86_64 keeps it in
 * __jmpbuf[6] mangled with the thread's pointer guard (tcbhead_t at
 * %fs:0x30): rotated left by 17 bits after the XOR.
 */
static uintptr_t jump_sp(const void *env)
{
	uintptr_t v = ((const uintptr_t *)env)[6], guard;

	__asm__("mov %%fs:0x30, %0" : "=r"(guard));
	return ((v >> 17) | (v << (64 - 17))) ^ guard;
}

/* Whether a jump to env leaves the fused wait whose state is at sp (its
 * frame): to a frame above it, on the same stack.  A handler on the
 * alternate signal stack that jumps within that stack stays in the
 * handler. */
static int jump_leaves(const void *env, uintptr_t sp)
{
	uintptr_t to = jump_sp(env);
	stack_t ss;

	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		return to < (uintptr_t)ss.ss_sp || to >= (uintptr_t)ss.ss_sp + ss.ss_size;
	return to > sp;
}

__attribute__((noinline, cold)) void jump_from_wait(const void *env)
{
	if (jump_leaves(env, (uintptr_t)thr.fctx))
		fused_abandon();
}
