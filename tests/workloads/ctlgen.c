// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ctlgen: a workload whose epoll syscalls are known exactly, for testing the
 * tracer.  Thread k (1-based, named "ctl-k") makes, each multiplied by k:
 *   ADD  adds + bad   (bad of them fail with EEXIST)
 *   MOD  mods + bad   (bad of them fail with ENOENT)
 *   DEL  dels
 *   waits: waits/2 epoll_wait + waits/2 epoll_pwait (timeout 0)
 * --churn N instead makes each thread do N socket()+close() pairs: threads
 * allocating and freeing fds contend on the shared files->file_lock.
 * --pause MS sleeps MS milliseconds after each phase (adds, mods, dels), so
 * the counts spread over several of a tracer's intervals.
 * --gate waits for SIGUSR1 (or a line on stdin) before starting, so a tracer
 * can attach to the pid first.
 * --leader-exit: main starts the threads and calls pthread_exit (the leader
 * becomes a zombie while the threads run, as some servers do); with --gate
 * the threads wait for the signal, else they start after 200 ms.
 * --concurrency N: at most N threads make their ops at a time (thread k holds
 * 2k+2 fds meanwhile: 300 threads all at once would want ~90,000).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static long nthreads = 2, adds, mods, dels, bad, waits, churn, pause_ms;
static int gate_fd[2], leader_exit, gated;
static long concurrency;	/* 0: no bound */
static sem_t slots;		/* of concurrency */

static void die(const char *what)
{
	fprintf(stderr, "ctlgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void ctl_ops(long k)
{
	long na = adds * k, nm = mods * k, nd = dels * k, nb = bad * k;
	struct epoll_event ev = { .events = EPOLLIN }, out[8];
	int ep = epoll_create1(EPOLL_CLOEXEC), *fds, ghost;
	sigset_t none;

	if (ep < 0)
		die("epoll_create1");
	fds = calloc((size_t)na + 1, sizeof(*fds));
	ghost = eventfd(0, EFD_CLOEXEC);	/* never added: MOD fails with ENOENT */
	if (!fds || ghost < 0)
		die("setup");
	for (long i = 0; i < na; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		ev.data.u64 = (uint64_t)i;
		if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
			die("add");
	}
	for (long i = 0; i < nb; i++)
		if (!epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) || errno != EEXIST)
			die("add twice did not fail with EEXIST");
	if (pause_ms)
		usleep((useconds_t)pause_ms * 1000);
	for (long i = 0; i < nm; i++) {
		ev.events = (i & 1) ? EPOLLIN : EPOLLOUT;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, fds[i % na], &ev))
			die("mod");
	}
	for (long i = 0; i < nb; i++)
		if (!epoll_ctl(ep, EPOLL_CTL_MOD, ghost, &ev) || errno != ENOENT)
			die("mod of an unregistered fd did not fail with ENOENT");
	if (pause_ms)
		usleep((useconds_t)pause_ms * 1000);
	for (long i = 0; i < nd; i++)
		if (epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL))
			die("del");
	if (pause_ms)
		usleep((useconds_t)pause_ms * 1000);
	sigemptyset(&none);
	for (long i = 0; i < waits * k; i++) {
		int n = (i & 1) ? epoll_pwait(ep, out, 8, 0, &none) : epoll_wait(ep, out, 8, 0);

		if (n < 0)
			die("wait");
	}
	for (long i = 0; i < na; i++)
		close(fds[i]);
	close(ghost);
	close(ep);
	free(fds);
}

static void churn_fds(long n)
{
	for (long i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0)
			die("socket");
		close(s);
	}
}

static void *worker(void *arg)
{
	long k = (long)arg;
	char name[16];

	snprintf(name, sizeof(name), "ctl-%ld", k);
	pthread_setname_np(pthread_self(), name);
	if (leader_exit) {
		struct pollfd p = { .fd = gate_fd[0], .events = POLLIN };

		if (!gated)
			usleep(200000);
		else
			while (poll(&p, 1, -1) < 0 && errno == EINTR)
				;
	}
	while (concurrency && sem_wait(&slots) && errno == EINTR)
		;
	if (churn)
		churn_fds(churn);
	else
		ctl_ops(k);
	if (concurrency)
		sem_post(&slots);
	return NULL;
}

static void on_usr1(int sig)
{
	char b = 1;

	(void)sig;
	if (write(gate_fd[1], &b, 1) != 1)
		_exit(1);
}

static void wait_gate(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	char b;

	if (pipe(gate_fd))
		die("pipe");
	sigaction(SIGUSR1, &sa, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(gate_fd[0], &b, 1) < 0 && errno == EINTR)
		;
}

static long num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end || v < 0 || v > 100000000) {
		fprintf(stderr, "ctlgen: invalid number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", 1, NULL, 't' }, { "adds", 1, NULL, 'a' }, { "mods", 1, NULL, 'm' },
		{ "dels", 1, NULL, 'd' }, { "bad", 1, NULL, 'b' }, { "waits", 1, NULL, 'w' },
		{ "churn", 1, NULL, 'c' }, { "gate", 0, NULL, 'g' },
		{ "leader-exit", 0, NULL, 'L' }, { "pause", 1, NULL, 'P' },
		{ "concurrency", 1, NULL, 'C' }, { 0 }
	};
	pthread_t *tids;
	int c, gate = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': nthreads = num(optarg); break;
		case 'a': adds = num(optarg); break;
		case 'm': mods = num(optarg); break;
		case 'd': dels = num(optarg); break;
		case 'b': bad = num(optarg); break;
		case 'w': waits = num(optarg); break;
		case 'c': churn = num(optarg); break;
		case 'g': gate = 1; break;
		case 'L': leader_exit = 1; break;
		case 'P': pause_ms = num(optarg); break;
		case 'C': concurrency = num(optarg); break;
		default: return 2;
		}
	}
	if (concurrency && sem_init(&slots, 0, (unsigned)(concurrency > 1000000 ? 1000000 : concurrency)))
		die("sem_init");
	if ((!churn && adds < 1) || dels > adds || nthreads < 1) {
		fprintf(stderr, "ctlgen: need --adds >= 1, --dels <= --adds, --threads >= 1\n");
		return 2;
	}
	if (leader_exit) {
		struct sigaction sa = { .sa_handler = on_usr1 };

		gated = gate;
		if (pipe(gate_fd))
			die("pipe");
		sigaction(SIGUSR1, &sa, NULL);
		tids = calloc((size_t)nthreads, sizeof(*tids));
		for (long k = 1; k <= nthreads; k++)
			if (pthread_create(&tids[k - 1], NULL, worker, (void *)k))
				die("pthread_create");
		if (gate) {
			printf("ready %d\n", (int)getpid());
			fflush(stdout);
		}
		pthread_exit(NULL);
	}
	if (gate)
		wait_gate();
	tids = calloc((size_t)nthreads, sizeof(*tids));
	for (long k = 1; k <= nthreads; k++)
		if (pthread_create(&tids[k - 1], NULL, worker, (void *)k))
			die("pthread_create");
	for (long k = 0; k < nthreads; k++)
		pthread_join(tids[k], NULL);
	free(tids);
	return 0;
}
