/* SPDX-License-Identifier: MIT */
/*
 * The shim's benchmark loop: N socketpairs registered EPOLLIN|EPOLLONESHOT
 * with data pending, so every iteration is one epoll_wait that returns N
 * events and N EPOLL_CTL_MOD re-arms -- the keep-alive pattern at its
 * densest.  With -c, the connection-per-request pattern instead: each
 * iteration opens a new fd (an eventfd, readable at once), ADDs it, waits
 * for it, DELs it and closes it.  Prints one JSON object: iterations,
 * nanoseconds per iteration.
 *   epbatch-rearm [-c] [-n FDS] [-i ITERATIONS] [-t TIMEOUT_MS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 1024

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int parse(const char *arg, const char *what, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "epbatch-rearm: %s must be an integer in [%d, %d], not '%s'\n",
			what, lo, hi, arg);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static int sv[MAX_FDS][2];
	static struct epoll_event out[MAX_FDS];
	int nfds = 64, iters = 20000, timeout = -1, opt, ep, conn = 0;
	double t0, t1;
	long events = 0;

	while ((opt = getopt(argc, argv, "cn:i:t:")) != -1) {
		switch (opt) {
		case 'c': conn = 1; break;
		case 'n': nfds = parse(optarg, "-n", 1, MAX_FDS); break;
		case 'i': iters = parse(optarg, "-i", 1, 100000000); break;
		case 't': timeout = parse(optarg, "-t", -1, 1000000); break;
		default:
			fprintf(stderr, "usage: epbatch-rearm [-c] [-n FDS] [-i ITERATIONS] [-t TIMEOUT_MS]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "epbatch-rearm: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("epbatch-rearm: epoll_create1");
		return 1;
	}
	if (conn) {
		t0 = now_ns();
		for (int it = 0; it < iters; it++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)it };
			int fd = eventfd(1, EFD_NONBLOCK), n;

			if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
				perror("epbatch-rearm: eventfd/ADD");
				return 1;
			}
			n = epoll_wait(ep, out, MAX_FDS, timeout);
			if (n != 1 || out[0].data.u32 != (unsigned)it) {
				fprintf(stderr, "epbatch-rearm: iteration %d: epoll_wait returned %d\n", it, n);
				return 1;
			}
			events += n;
			if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0 || close(fd) < 0) {
				perror("epbatch-rearm: DEL/close");
				return 1;
			}
		}
		t1 = now_ns();
		printf("{\"mode\": \"conn\", \"iterations\": %d, \"events\": %ld, \"ns_per_iter\": %.1f}\n",
		       iters, events, (t1 - t0) / iters);
		return 0;
	}
	for (int i = 0; i < nfds; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = i };

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]) < 0 ||
		    write(sv[i][1], "x", 1) != 1 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[i][0], &ev) < 0) {
			perror("epbatch-rearm: setup");
			return 1;
		}
	}
	t0 = now_ns();
	for (int it = 0; it < iters; it++) {
		int n = epoll_wait(ep, out, MAX_FDS, timeout);

		if (n != nfds) {
			fprintf(stderr, "epbatch-rearm: iteration %d: epoll_wait returned %d, expected %d\n",
				it, n, nfds);
			return 1;
		}
		events += n;
		for (int k = 0; k < n; k++) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data = out[k].data };

			if (epoll_ctl(ep, EPOLL_CTL_MOD, sv[out[k].data.u32][0], &ev) < 0) {
				perror("epbatch-rearm: epoll_ctl MOD");
				return 1;
			}
		}
	}
	t1 = now_ns();
	printf("{\"fds\": %d, \"iterations\": %d, \"events\": %ld, \"ns_per_iter\": %.1f}\n",
	       nfds, iters, events, (t1 - t0) / iters);
	return 0;
}
