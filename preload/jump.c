/* SPDX-License-Identifier: MIT */
/*
 * longjmp and siglongjmp out of a signal handler that interrupted a fused
 * wait.  Natively such a jump leaves epoll_wait cleanly: its syscall has
 * returned EINTR, nothing of it is left.  The shim's fused wait is its
 * critical section (crit) around a submission whose wait request is still
 * armed in the kernel when the handler runs (io_uring), or whose results
 * it has not taken yet (the module): jumped over, crit would stay up for
 * good and the request would take the next events into the abandoned
 * buffer.  So the shim's jump functions first bring such a wait to an end
 * (fused_abandon, wait.c) when the jump leaves its frame -- not when it
 * stays inside the handler's own frames -- then jump.  Any other jump is
 * glibc's at once.
 */
#include "shim.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))

typedef void (*jump_fn)(void *env, int val);

static jump_fn _Atomic real_jumps[4];
static const char *const jump_names[4] = { "longjmp", "_longjmp", "siglongjmp", "__longjmp_chk" };

static __attribute__((noinline, cold)) jump_fn jump_resolve(int i)
{
	jump_fn f = (jump_fn)dlsym(RTLD_NEXT, jump_names[i]);

	if (!f)
		abort();	/* libc without it: nothing to jump with */
	atomic_store(&real_jumps[i], f);
	return f;
}

void jump_init(void)
{
	for (int i = 0; i < 4; i++)
		if (!atomic_load(&real_jumps[i]))
			jump_resolve(i);
}

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

/* Whether a jump to env leaves the fused wait at sp: to a frame above it,
 * on the same stack.  A handler on the alternate signal stack that jumps
 * within that stack stays in the handler. */
static int jump_leaves(const void *env, uintptr_t sp)
{
	uintptr_t to = jump_sp(env);
	stack_t ss;

	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		return to < (uintptr_t)ss.ss_sp || to >= (uintptr_t)ss.ss_sp + ss.ss_size;
	return to > sp;
}

static __attribute__((noinline, cold)) void jump_from_wait(const void *env)
{
	if (jump_leaves(env, thr.fctx->sp))
		fused_abandon();
}

static inline __attribute__((noreturn, always_inline)) void jump(int i, void *env, int val)
{
	jump_fn f = atomic_load_explicit(&real_jumps[i], memory_order_relaxed);

	if (unlikely(thr.fctx))
		jump_from_wait(env);
	if (unlikely(!f))
		f = jump_resolve(i);
	f(env, val);
	__builtin_unreachable();	/* glibc's jumps do not return */
}

EXPORT __attribute__((noreturn)) void longjmp(jmp_buf env, int val)
{
	jump(0, env, val);
}

EXPORT __attribute__((noreturn)) void _longjmp(jmp_buf env, int val)
{
	jump(1, env, val);
}

EXPORT __attribute__((noreturn)) void siglongjmp(sigjmp_buf env, int val)
{
	jump(2, env, val);
}

EXPORT __attribute__((noreturn)) void __longjmp_chk(jmp_buf env, int val)
{
	jump(3, env, val);
}
