/* SPDX-License-Identifier: MIT */
/*
 * A signal handler that calls epoll_ctl on the epoll fd the interrupted
 * thread is busy with: the main thread runs a loop of epoll_ctl (and waits),
 * another thread interrupts it with a realtime signal 101 times, and each
 * handler run adds or deletes one more fd.  Whatever the handler interrupts
 * -- an epoll_ctl being queued, a flush, a wait -- every call must return
 * what the kernel would, and the final state must be the one the calls
 * describe.  The number of loop rounds depends on timing, so the loop
 * prints only counts of failures; a final round sets a known state.
 */
#include "transcript.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NFD 64
#define NSIG_SENT 101
#define MAX_ROUNDS 200000

static int ep, hfd, fd[NFD];
static pid_t main_tid;
static atomic_int handled;
static int h_rc[NSIG_SENT], h_err[NSIG_SENT];

static void on_signal(int sig)
{
	int saved = errno;
	int k = atomic_load(&handled);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 9999 };

	(void)sig;
	if (k < NSIG_SENT) {
		h_rc[k] = epoll_ctl(ep, k % 2 ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, hfd, &ev);
		h_err[k] = h_rc[k] ? errno : 0;
	}
	atomic_store(&handled, k + 1);
	errno = saved;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sends one signal at a time and waits for its handler, so that none merge
 * and each lands at whatever point the main loop happens to be. */
static void *sender(void *arg)
{
	double deadline = now() + 10;

	(void)arg;
	for (int i = 0; i < NSIG_SENT && now() < deadline; i++) {
		syscall(SYS_tgkill, getpid(), main_tid, SIGRTMIN);
		while (atomic_load(&handled) <= i && now() < deadline)
			sched_yield();
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	struct epoll_event evs[NFD + 1];
	int fails = 0, first_err = 0, rounds = 0, ok = 0;
	pthread_t th;

	t_begin("sighandler");
	ep = t_epoll();
	hfd = t_eventfd(1);
	for (int i = 0; i < NFD; i++)
		fd[i] = t_eventfd(1);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) < 0)
		t_die("sigaction");
	main_tid = gettid();
	PRIME(ep);
	for (int i = 0; i < NFD; i++)
		t_ctl(ep, "ep", EPOLL_CTL_ADD, fd[i], "fd[i]", EPOLLIN, (uint64_t)i);

	if (pthread_create(&th, NULL, sender, NULL) != 0)
		t_die("pthread_create");
	/* The loop: MOD every fd, DEL+ADD every 8th, wait every 4th round. */
	while (atomic_load(&handled) < NSIG_SENT && rounds < MAX_ROUNDS) {
		uint32_t m = rounds % 2 ? EPOLLIN | EPOLLOUT : EPOLLIN;

		for (int j = 0; j < NFD; j++) {
			int rc = t_ctl_quiet(ep, EPOLL_CTL_MOD, fd[j], m, (uint64_t)(1000 * (rounds % 2) + j));

			if (rc == 0 && j % 8 == 0) {
				rc = t_ctl_quiet(ep, EPOLL_CTL_DEL, fd[j], 0, 0);
				if (rc == 0)
					rc = t_ctl_quiet(ep, EPOLL_CTL_ADD, fd[j], m, (uint64_t)j);
			}
			if (rc != 0 && fails++ == 0)
				first_err = errno;
		}
		if (rounds % 4 == 3 && epoll_wait(ep, evs, NFD + 1, 0) < 0 && fails++ == 0)
			first_err = errno;
		rounds++;
	}
	if (pthread_join(th, NULL) != 0)
		t_die("pthread_join");
	t_log("handler ran %d of %d times", atomic_load(&handled), NSIG_SENT);
	t_log("loop: %d failed calls%s%s", fails, fails ? ", first " : "",
	      fails ? t_errname(first_err) : "");
	for (int k = 0; k < NSIG_SENT; k++) {
		if (h_rc[k] == 0)
			ok++;
		else
			t_log("handler call %d (%s) = -1 %s", k, k % 2 ? "DEL" : "ADD",
			      t_errname(h_err[k]));
	}
	t_log("handler: %d calls succeeded", ok);

	t_log("## a final round sets a known state; the handler's fd is registered");
	for (int j = 0; j < NFD; j++)
		if (t_ctl_quiet(ep, EPOLL_CTL_MOD, fd[j], EPOLLIN, (uint64_t)(5000 + j)) != 0)
			t_res("final MOD", -1);
	WAIT(ep, NFD + 1, 0);
	CTL(ep, EPOLL_CTL_ADD, hfd, EPOLLIN, 1);
	CTL(ep, EPOLL_CTL_DEL, hfd, 0, 0);
	return 0;
}
