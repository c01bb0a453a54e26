// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctl-loop: a loop that does nothing but epoll_ctl(MOD), the worst case for
 * a syscall tracer.  Prints "ns_per_call N" and "calls_per_s N".
 *   ctl-loop --iters N [--gate]   (--gate: wait for SIGUSR1 before looping)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	long iters = 1000000;
	int gate = 0, ep, fd;
	struct epoll_event ev = { .events = EPOLLIN };
	struct timespec a, b;
	sigset_t mask, old;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			iters = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--gate"))
			gate = 1;
		else {
			fprintf(stderr, "usage: ctl-loop --iters N [--gate]\n");
			return 2;
		}
	}
	if (iters < 1 || iters > 1000000000L) {
		fprintf(stderr, "ctl-loop: --iters must be 1..1e9\n");
		return 2;
	}
	ep = epoll_create1(0);
	fd = eventfd(0, 0);
	if (ep < 0 || fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		fprintf(stderr, "ctl-loop: setup: %s\n", strerror(errno));
		return 1;
	}
	if (gate) {
		signal(SIGUSR1, on_usr1);
		sigemptyset(&mask);
		sigaddset(&mask, SIGUSR1);
		sigprocmask(SIG_BLOCK, &mask, &old);
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		while (!go)
			sigsuspend(&old);
	}
	struct rusage ra, rb;

	getrusage(RUSAGE_SELF, &ra);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < iters; i++) {
		ev.events = (i & 1) ? EPOLLIN : EPOLLOUT;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev)) {
			fprintf(stderr, "ctl-loop: epoll_ctl: %s\n", strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	getrusage(RUSAGE_SELF, &rb);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	/*
	 * CPU time of this process: BPF programs on its syscalls run in its
	 * context and are charged here, while other processes' load on a shared
	 * machine is not (wall time is; a ptrace tracer's cost shows only there).
	 */
	double cpu = (double)(rb.ru_utime.tv_sec - ra.ru_utime.tv_sec + rb.ru_stime.tv_sec - ra.ru_stime.tv_sec) * 1e9 +
		     (double)(rb.ru_utime.tv_usec - ra.ru_utime.tv_usec + rb.ru_stime.tv_usec - ra.ru_stime.tv_usec) * 1e3;
	printf("ns_per_call %.1f\ncpu_ns_per_call %.1f\ncalls_per_s %.0f\n", ns / (double)iters,
	       cpu / (double)iters, (double)iters * 1e9 / ns);
	return 0;
}
