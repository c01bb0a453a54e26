/* SPDX-License-Identifier: MIT */
/*
 * pthread_cancel: the epoll waits stay cancellation points under the shim.
 *
 * glibc's waits are: a cancel pending when one starts ends the thread there,
 * and pthread_cancel signals (SIGCANCEL) a thread blocked in one, because
 * the wrapper enables asynchronous cancellation around the syscall.  A wait
 * the shim fuses into its backend's submission (io_uring_enter, the
 * module's ioctl), or makes itself in a process with more threads than one
 * (mt_wait, wait.c), is neither: the request would only set a bit the
 * thread never looks at, and a blocked thread would stay blocked.  So:
 *   - every pthread_cancel sets cancel_seen and turns the raw waits off
 *     (sys_waits_off, real.h): from the first one on, a fused wait first
 *     acts on a pending cancel (cancel_point), and the wait syscalls go
 *     through libc's wrappers;
 *   - such a wait marks its queue (in_fused) before it looks (a fused wait
 *     at cancel_seen, a raw one at raw_mt), and pthread_cancel looks at
 *     in_fused after its request, each side's store and load ordered by a
 *     full barrier (the fused wait's locked instruction; for the raw wait,
 *     the canceller's membarrier) -- so either the waiter sees the request
 *     before it blocks, or the canceller sees the waiter marked and
 *     interrupts it with glibc's own SIGCANCEL (the handler acts only on
 *     asynchronous cancellation, so the signal just ends the wait with
 *     EINTR);
 *   - the signal may land after the look but before the syscall, and be
 *     spent there: the canceller kicks again while the waiter stays marked
 *     and has not answered (kick_until_heard);
 *   - a wait that ends with EINTR acts on a pending cancel once the shim's
 *     state is whole again (wait.c); if the thread is still there (it has
 *     cancellation disabled) and the signal was this file's (kicked, which
 *     is its answer), the wait goes on as the kernel's own, as it would
 *     have natively: no signal reaches a thread that cannot be cancelled.
 * A thread that left its wait just before the signal may see one spurious
 * EINTR from a later syscall that is no cancellation point.
 */
#include "shim.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
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

/* A round of kicks: the target's queue while it is marked (a wait the
 * kernel would not end for this cancel) -- round 0 kicks it; a later round
 * kicks it again if it has not answered (kicked still set: the signal came
 * between its look at the gate and its syscall, and was spent there). */
struct kick {
	pthread_t th;
	int round;
	int left;	/* marked queues still kicked after this round */
};

static void kick_waiter(struct tq *q, void *arg)
{
	struct kick *k = arg;

	if (q->dead || !pthread_equal(q->pt, k->th) || !atomic_load(&q->in_fused))
		return;
	if (k->round == 0)
		atomic_store(&q->kicked, 1);
	else if (!atomic_load(&q->kicked))
		return;
	k->left++;
	if (k->round != 1)	/* round 1: a first look, a short while after */
		real_syscall(SYS_tgkill, (long)getpid(), (long)q->tid, (long)GLIBC_SIGCANCEL);
}

/* Kick th's wait until it answers or leaves it: ~60 ms at most, then it
 * is left as it is (a wait that no signal reaches). */
#define KICK_ROUNDS 12

static void kick_until_heard(pthread_t th)
{
	struct kick k = { .th = th };
	int saved = errno;

	for (k.round = 0; k.round <= KICK_ROUNDS; k.round++) {
		struct timespec pause = { 0, 50000L << (k.round < 8 ? k.round : 8) };

		k.left = 0;
		queue_each(kick_waiter, &k);
		if (!k.left)
			break;
		real_syscall(SYS_nanosleep, &pause, NULL);
	}
	errno = saved;
}

int shim_cancel(int (*real_cancel)(pthread_t), pthread_t th)
{
	int rc;

	/* Before the request: cancel_seen by a locked store, ordered before
	 * the request's own locked update and the loads of in_fused below
	 * (the fused waits' side, a locked store too); raw_mt off and a
	 * membarrier (the raw waits' side: real.h).  Every time: a waiter
	 * that read raw_mt before another thread's cancel turned it off is
	 * ordered by this thread's own store and barrier only. */
	atomic_store(&cancel_seen, 1);
	sys_waits_off();
	sys_waits_fence();
	rc = real_cancel(th);
	if (rc == 0 && !pthread_equal(th, pthread_self()))
		kick_until_heard(th);
	return rc;
}
