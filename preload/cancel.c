/* SPDX-License-Identifier: MIT */
/*
 * pthread_cancel: the epoll waits stay cancellation points under the shim.
 *
 * glibc's waits are: a cancel pending when one starts ends the thread there,
 * and pthread_cancel signals (SIGCANCEL) a thread blocked in one, because
 * the wrapper enables asynchronous cancellation around the syscall.  A wait
 * the shim fuses into its backend's submission (io_uring_enter, the
 * module's ioctl) is neither: the request would only set a bit the thread
 * never looks at, and a blocked thread would stay blocked.  So:
 *   - the first pthread_cancel in the process sets cancel_seen; from then on
 *     a fused wait first acts on a pending cancel (cancel_point), and the
 *     wait syscalls go through libc's wrappers (sys_waits_off, real.h);
 *   - a fused wait marks its queue (in_fused) before it looks at
 *     cancel_seen, and pthread_cancel looks at in_fused after the request,
 *     each side's store and load ordered by a full barrier (a locked
 *     instruction) -- so either the waiter sees the request before it
 *     blocks, or the canceller sees the waiter blocked and interrupts it
 *     with glibc's own SIGCANCEL (the handler acts only on asynchronous
 *     cancellation, so the signal just ends the fused wait with EINTR);
 *   - a fused wait that ends with EINTR acts on a pending cancel once the
 *     shim's state is whole again (wait.c); if the thread is still there
 *     (it has cancellation disabled) and the signal was this file's
 *     (kicked), the wait goes on as the kernel's own, as it would have
 *     natively: no signal reaches a thread that cannot be cancelled.
 * A thread that left its fused wait just before the signal may see one
 * spurious EINTR from a later syscall that is no cancellation point.
 */
#include "shim.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc's SIGCANCEL (nptl: the first real-time signal, kept from users) */
#define GLIBC_SIGCANCEL __SIGRTMIN

_Atomic int cancel_seen;

/* A fused wait's entry once a cancel was ever asked for: in_fused is set
 * (the caller's locked store), so a request from now on finds it; one
 * made before is acted on here, before the shim changes anything. */
__attribute__((noinline, cold)) void cancel_point(void)
{
	pthread_testcancel();
}

static void wake_fused(struct tq *q, void *arg)
{
	const pthread_t *th = arg;

	if (!q->dead && pthread_equal(q->pt, *th) && atomic_load(&q->in_fused)) {
		atomic_store(&q->kicked, 1);
		real_syscall(SYS_tgkill, (long)getpid(), (long)q->tid, (long)GLIBC_SIGCANCEL);
	}
}

int shim_cancel(int (*real_cancel)(pthread_t), pthread_t th)
{
	int rc;

	/* before the request: a locked store, ordered before the request's
	 * own locked update and this thread's load of in_fused below */
	if (!atomic_exchange(&cancel_seen, 1))
		sys_waits_off();
	rc = real_cancel(th);
	if (rc == 0 && !pthread_equal(th, pthread_self()))
		queue_each(wake_fused, &th);
	return rc;
}
