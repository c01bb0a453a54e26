/* SPDX-License-Identifier: MIT */
/*
 * A signal handler that leaves a blocking epoll wait with siglongjmp or
 * longjmp instead of returning.  Natively the wait is simply over (its
 * syscall returned EINTR): the op queued before it is in effect, no event is
 * taken, and later ops and waits work as before.  Under the shim the wait
 * may be a fused submission still armed in the kernel when the handler
 * runs; jumped over, it took the next events and left the thread inside
 * the shim for good (preload/jump.c).  Also: a handler that makes an
 * epoll_ctl first, a jump that stays inside the handler (the wait then
 * ends with EINTR), and each on the alternate signal stack.
 */
#include "transcript.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { OUT_SIG, OUT_PLAIN, OUT_AFTER_CTL, INSIDE, MODES };
static const char *const mode_name[MODES] = {
	"siglongjmp out", "longjmp out", "epoll_ctl, then siglongjmp out", "a jump inside the handler",
};

static pid_t main_tid;
static sigjmp_buf out_sig;
static jmp_buf out_plain;
static volatile sig_atomic_t mode;
static int ep, b;

static void on_usr1(int sig)
{
	sigjmp_buf in;

	(void)sig;
	switch (mode) {
	case OUT_SIG:
		siglongjmp(out_sig, 1);
	case OUT_PLAIN:
		longjmp(out_plain, 1);
	case OUT_AFTER_CTL:
		t_ctl_quiet(ep, EPOLL_CTL_MOD, b, EPOLLIN, 30);
		siglongjmp(out_sig, 1);
	default:
		if (!sigsetjmp(in, 0))
			siglongjmp(in, 1);
	}
}

/* One signal, once the main thread sleeps in its wait. */
static void *kicker(void *arg)
{
	(void)arg;
	t_wait_sleeping(main_tid);
	syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
	return NULL;
}

int main(void)
{
	struct epoll_event evs[8];
	stack_t ss = { .ss_size = 1 << 16 };
	sigset_t usr1;
	int a;

	t_begin("longjmp");
	main_tid = (pid_t)syscall(SYS_gettid);
	ss.ss_sp = malloc(ss.ss_size);
	if (!ss.ss_sp || sigaltstack(&ss, NULL))
		t_die("sigaltstack");
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ep = t_epoll();
	a = t_eventfd(0);
	b = t_eventfd(0);
	CTL(ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLONESHOT, 1);
	CTL(ep, EPOLL_CTL_ADD, b, EPOLLIN, 2);
	PRIME(ep);
	for (int alt = 0; alt < 2; alt++) {
		for (int m = 0; m < MODES; m++) {
			struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = alt ? SA_ONSTACK : 0 };
			uint64_t data = 10 + (uint64_t)(alt * MODES + m);
			pthread_t t;
			int rc = 0, jumped = 0;

			t_log("## %s%s", mode_name[m], alt ? ", on the alternate stack" : "");
			sigaction(SIGUSR1, &sa, NULL);
			mode = m;
			CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, data);	/* queued: a is not readable */
			if (pthread_create(&t, NULL, kicker, NULL))
				t_die("pthread_create");
			if (m == OUT_PLAIN) {
				if (setjmp(out_plain))
					jumped = 1;
				else
					rc = epoll_wait(ep, evs, 8, -1);
				/* longjmp left SIGUSR1 blocked, as the handler ran */
				sigprocmask(SIG_UNBLOCK, &usr1, NULL);
			} else if (sigsetjmp(out_sig, 1)) {
				jumped = 1;
			} else {
				rc = epoll_wait(ep, evs, 8, -1);
			}
			pthread_join(t, NULL);
			if (jumped)
				t_log("the wait was left by the jump");
			else
				t_res("the wait, interrupted", rc);
			/* the MOD before the wait took effect; the wait took no event */
			t_eventfd_set(a, 1);
			WAIT(ep, 8, 0);
			t_eventfd_set(a, 0);
			/* and the next ops and waits work (the handler's MOD too) */
			t_eventfd_set(b, 1);
			CTL(ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, data + 100);
			WAIT(ep, 8, 10);
			t_eventfd_set(b, 0);
			CTL(ep, EPOLL_CTL_MOD, b, EPOLLIN, 2);
		}
	}
	return 0;
}
