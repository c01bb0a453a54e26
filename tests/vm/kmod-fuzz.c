// SPDX-License-Identifier: GPL-2.0
/*
 * kmod-fuzz: randomized EPOLL_BATCH_IOC_SUBMIT calls with garbage fields and
 * pointers, run in the test guest, while a second thread closes and reopens
 * the descriptors the ops name.  Checks the module's contract on every call:
 * the return is 0 or one of the documented errors, nr_done never exceeds
 * nr_ops, results are 0 or an errno epoll_ctl can give, and ops past
 * nr_done are untouched.  The kernel side (no WARN/BUG/oops, rmmod works) is
 * checked by the guest suite afterwards.
 *
 * Pointers are only ever NULL, kernel or non-canonical addresses, addresses
 * below mmap_min_addr, or offsets into a scratch arena whose neighbours are
 * PROT_NONE / read-only pages: never the fuzzer's own heap or stack (an
 * address freed by munmap would be reused by the next thread stack).
 *
 *   kmod-fuzz [-n CALLS] [-s SEED]
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "vmtest.h"

#define NFDS 16
#define SENTINEL ((int32_t)0x5eed5eed)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int pool[NFDS];		/* epoll fds, eventfds, sockets, pipes */
static volatile int stop_churn;
static long churned;
static char *arena;		/* [PROT_NONE][rw x 4][read-only][PROT_NONE] */
static long page;

static int new_pool_fd(unsigned int i)
{
	int sv[2];

	switch (i % 4) {
	case 0:
		return epoll_create1(EPOLL_CLOEXEC);
	case 1:
		return eventfd(i, EFD_CLOEXEC | EFD_NONBLOCK);
	case 2:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return -1;
		close(sv[1]);
		return sv[0];
	default:
		return epoll_create1(EPOLL_CLOEXEC);
	}
}

/* Closes and reopens pool descriptors under the batches' feet. */
static void *churn(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;

	while (!stop_churn) {
		unsigned int i;
		int fd;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		i = s % NFDS;
		fd = new_pool_fd(i);
		if (fd >= 0) {
			dup2(fd, pool[i]);
			close(fd);
		}
		churned++;
		usleep(50);
	}
	return NULL;
}

static int rand_fd(void)
{
	switch (below(8)) {
	case 0:
		return (int)rnd();
	case 1:
		return -1 - (int)below(3);
	case 2:
		return 0;
	default:
		return pool[below(NFDS)];
	}
}

/* A pointer for the kernel to read and write: see the header comment. */
static uint64_t rand_ptr(size_t len)
{
	size_t span = 4 * page;

	switch (below(12)) {
	case 0:
		return 0;
	case 1:
		return 0xffff888000000000ULL + below(1ULL << 30);
	case 2:
		return 0x8000000000000000ULL | rnd();
	case 3:	/* below mmap_min_addr: never mapped */
		return below(65536);
	case 4:
		return (uintptr_t)arena + below(page);		/* PROT_NONE */
	case 5:
		return (uintptr_t)arena + 5 * page + below(page);	/* read-only */
	case 6:	/* straddling into the read-only page */
		return (uintptr_t)arena + 5 * page - below((len < span ? len : span) + 1);
	case 7:	/* straddling out of the PROT_NONE page */
		return (uintptr_t)arena + page - below((len < (size_t)page ? len : (size_t)page) + 1);
	case 8:
		return rnd() | (1ULL << 47);	/* never a user address */
	default:
		if (len >= span)
			return (uintptr_t)arena + page;
		return (uintptr_t)arena + page + below(span - len + 1);
	}
}

static int known_op_errno(int r)
{
	switch (-r) {
	case 0: case EBADF: case EINVAL: case EPERM: case EEXIST: case ENOENT:
	case ELOOP: case ENOMEM: case ENOSPC: case EINTR:
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long calls = 20000, i, ok = 0, errs[8] = { 0 };
	uint64_t seed = 0x5eed;
	long bad = 0;
	pthread_t t;
	int dev, opt;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		char *end;

		if (opt == 'n')
			calls = strtol(optarg, &end, 0);
		else if (opt == 's')
			seed = strtoull(optarg, &end, 0);
		else
			return 2;
		if (*optarg == '\0' || *end != '\0' || calls <= 0) {
			fprintf(stderr, "kmod-fuzz: bad value '%s' for -%c\n", optarg, opt);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng_state = seed ? seed : 1;
	page = sysconf(_SC_PAGESIZE);
	dev = epb_open();
	signal(SIGPIPE, SIG_IGN);

	arena = mmap(NULL, 7 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(arena != MAP_FAILED);
	MUST(mprotect(arena, page, PROT_NONE) == 0);
	MUST(mprotect(arena + 5 * page, page, PROT_READ) == 0);
	MUST(mprotect(arena + 6 * page, page, PROT_NONE) == 0);
	for (i = 0; i < NFDS; i++) {
		pool[i] = new_pool_fd(i);
		MUST(pool[i] >= 0);
	}
	MUST(pthread_create(&t, NULL, churn, (void *)(uintptr_t)seed) == 0);

	for (i = 0; i < calls; i++) {
		struct epoll_batch b;
		struct epoll_batch_op *ops;
		uint32_t n, j, maxn;
		int r, in_arena;

		memset(&b, 0, sizeof(b));
		switch (below(10)) {
		case 0:
			n = (uint32_t)rnd();
			break;
		case 1:
			n = EPOLL_BATCH_MAX_OPS - 2 + below(5);
			break;
		case 2:
			n = 0;
			break;
		default:
			n = 1 + below(120);
		}
		b.nr_ops = n;
		/* Usually valid ops in the arena, else a garbage pointer. */
		maxn = 4 * page / sizeof(*ops);
		in_arena = below(4) != 0 && n <= maxn;
		if (in_arena) {
			ops = (struct epoll_batch_op *)(arena + page) + below(maxn - n + 1);
			for (j = 0; j < n; j++) {
				ops[j].epfd = rand_fd();
				ops[j].op = below(8) ? (int32_t)(1 + below(3)) : (int32_t)rnd();
				ops[j].fd = rand_fd();
				ops[j].events = below(4) ? (uint32_t)(EPOLLIN | EPOLLOUT) : (uint32_t)rnd();
				ops[j].data = rnd();
				ops[j].flags = below(4) ? below(4) : (uint32_t)rnd();
				ops[j].result = SENTINEL;
			}
			b.ops = (uintptr_t)ops;
		} else {
			ops = NULL;
			b.ops = rand_ptr((size_t)(n > 1000000 ? 1000000 : n) * sizeof(*ops));
		}
		if (!below(8))
			b.flags = (uint32_t)rnd();
		else
			b.flags = below(4);
		if (!below(16))
			b.reserved = (uint32_t)rnd();
		b.wait_epfd = rand_fd();
		b.wait_maxevents = below(6) ? (int32_t)(1 + below(64)) : (int32_t)rnd();
		b.wait_events = below(3) ? (uintptr_t)(arena + page) + below(3 * page) :
			rand_ptr(64 * 12);
		/* Never block for long: nothing would wake the wait. */
		b.wait_timeout_ns = below(4) ? 0 : (int64_t)below(2000000);
		if (below(3)) {
			b.wait_sigmask = 0;
		} else {
			b.wait_sigmask = below(2) ? (uintptr_t)(arena + page) : rand_ptr(8);
			b.wait_sigsetsize = below(4) ? 8 : (uint32_t)rnd();
		}
		b.nr_done = 0xdeadbeef;
		b.wait_result = SENTINEL;

		if (!below(200)) {	/* garbage batch pointer or command */
			r = ioctl(dev, below(2) ? EPOLL_BATCH_IOC_SUBMIT : (unsigned long)rnd(),
				  (void *)(uintptr_t)rand_ptr(sizeof(b)));
			r = r < 0 ? -errno : 0;
			if (r != 0 && r != -EFAULT && r != -EINVAL && r != -ENOTTY &&
			    r != -E2BIG && r != -EINTR) {
				bad++;
				printf("FAIL call %ld: raw ioctl gave %s\n", i, strerror(-r));
			}
			continue;
		}

		r = epb_submit(dev, &b);
		switch (r) {
		case 0: errs[0]++; ok++; break;
		case -EINVAL: errs[1]++; break;
		case -EFAULT: errs[2]++; break;
		case -E2BIG: errs[3]++; break;
		case -EINTR: errs[4]++; break;
		default:
			bad++;
			printf("FAIL call %ld: unexpected %s\n", i, strerror(-r));
			continue;
		}
		if ((r == -EINVAL || r == -E2BIG) && b.nr_done != 0) {
			bad++;
			printf("FAIL call %ld: rejected batch: nr_done %u\n", i, b.nr_done);
			continue;
		}
		if (b.nr_done > b.nr_ops) {
			bad++;
			printf("FAIL call %ld: nr_done %u > nr_ops %u\n", i, b.nr_done, b.nr_ops);
			continue;
		}
		if (r == 0 && !(b.flags & EPOLL_BATCH_STOP_ON_ERROR) && b.nr_done != b.nr_ops) {
			bad++;
			printf("FAIL call %ld: returned 0 after %u of %u ops\n", i, b.nr_done, b.nr_ops);
		}
		if (r == 0 && (b.flags & EPOLL_BATCH_WAIT) && b.wait_result > b.wait_maxevents) {
			bad++;
			printf("FAIL call %ld: wait_result %d > maxevents %d\n", i,
			       b.wait_result, b.wait_maxevents);
		}
		/* Events of a wait may land on the ops (both in the arena). */
		if (!in_arena || (r == 0 && (b.flags & EPOLL_BATCH_WAIT) && b.wait_result > 0))
			continue;
		for (j = 0; j < b.nr_done; j++) {
			if (!known_op_errno(ops[j].result)) {
				bad++;
				printf("FAIL call %ld: op %u result %d\n", i, j, ops[j].result);
				break;
			}
		}
		for (j = b.nr_done; j < b.nr_ops; j++) {
			if (ops[j].result != SENTINEL) {
				bad++;
				printf("FAIL call %ld: op %u past nr_done %u was written\n", i, j,
				       b.nr_done);
				break;
			}
		}
		if (bad > 20)
			break;
	}
	stop_churn = 1;
	pthread_join(t, NULL);
	printf("kmod-fuzz: seed %#llx, %ld calls: %ld ok, EINVAL %ld, EFAULT %ld, E2BIG %ld, EINTR %ld; %ld fd churns; %ld contract violations\n",
	       (unsigned long long)seed, i, ok, errs[1], errs[2], errs[3], errs[4], churned, bad);
	for (i = 0; i < NFDS; i++)
		close(pool[i]);
	close(dev);
	return bad ? 1 : 0;
}
