// SPDX-License-Identifier: GPL-2.0
/*
 * kmod-test: behaviour of /dev/epoll_batch (epoll_batch.ko), run in the test
 * guest.  Every op type, both fallbacks, every error path of the batch and
 * of single ops, partial progress on a fault and on a signal, and the fused
 * wait (timeout, maxevents, sigmask).  Prints one "ok"/"not ok" line per
 * test and exits non-zero if any check failed.
 */
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "vmtest.h"

#define SENTINEL 0x5a5a5a5a

static int dev;
static long page;

static struct epoll_batch_op mkop(int epfd, int op, int fd, uint32_t events,
				  uint64_t data, uint32_t flags)
{
	struct epoll_batch_op o = {
		.epfd = epfd, .op = op, .fd = fd, .events = events,
		.data = data, .flags = flags, .result = SENTINEL,
	};
	return o;
}

static struct epoll_batch mkbatch(struct epoll_batch_op *ops, uint32_t n)
{
	struct epoll_batch b = { .ops = (uintptr_t)ops, .nr_ops = n,
				 .nr_done = SENTINEL, .wait_result = SENTINEL };
	return b;
}

/* A readable eventfd. */
static int ready_fd(void)
{
	int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);

	MUST(fd >= 0);
	return fd;
}

/* Which data (or -1 for none) epoll reports for a single ready fd. */
static int64_t reported(int ep)
{
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, 0);

	return n == 1 ? (int64_t)ev.data.u64 : -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_op_types(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd();
	struct epoll_batch_op ops[3];
	struct epoll_batch b;

	MUST(ep >= 0);
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 11, 0);
	b = mkbatch(ops, 1);
	CHECK(epb_submit(dev, &b) == 0, "ADD");
	CHECK(b.nr_done == 1 && ops[0].result == 0, "nr_done %u result %d",
	      b.nr_done, ops[0].result);
	CHECK(reported(ep) == 11, "ADD data %lld", (long long)reported(ep));

	ops[0] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 22, 0);
	b = mkbatch(ops, 1);
	CHECK(epb_submit(dev, &b) == 0 && ops[0].result == 0, "MOD %d", ops[0].result);
	CHECK(reported(ep) == 22, "MOD data %lld", (long long)reported(ep));

	/* MOD to EPOLLOUT only: an eventfd that is writable stays ready. */
	ops[0] = mkop(ep, EPOLL_CTL_DEL, fd, 0, 0, 0);
	b = mkbatch(ops, 1);
	CHECK(epb_submit(dev, &b) == 0 && ops[0].result == 0, "DEL %d", ops[0].result);
	CHECK(reported(ep) == -1, "still registered after DEL");

	/* All three in one batch, in order. */
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 1, 0);
	ops[1] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 2, 0);
	ops[2] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLET, 3, 0);
	b = mkbatch(ops, 3);
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == 3, "ADD,MOD,MOD");
	CHECK(!ops[0].result && !ops[1].result && !ops[2].result, "%d %d %d",
	      ops[0].result, ops[1].result, ops[2].result);
	CHECK(reported(ep) == 3, "last MOD wins: %lld", (long long)reported(ep));
	CHECK(reported(ep) == -1, "EPOLLET from the last MOD applies");
	close(fd);
	close(ep);
}

static void test_fallbacks(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd();
	struct epoll_batch_op ops[2];
	struct epoll_batch b;

	MUST(ep >= 0);
	MUST(epoll_ctl(ep, EPOLL_CTL_ADD, fd,
		       &(struct epoll_event){ .events = EPOLLIN, .data.u64 = 1 }) == 0);
	/* ADD of a registered fd: EEXIST without the flag, MOD with it. */
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 2, 0);
	ops[1] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 3, EPOLL_BATCH_F_ADD_OR_MOD);
	b = mkbatch(ops, 2);
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == 2, "submit");
	CHECK(ops[0].result == -EEXIST, "plain ADD: %d", ops[0].result);
	CHECK(ops[1].result == 0, "ADD_OR_MOD: %d", ops[1].result);
	CHECK(reported(ep) == 3, "ADD_OR_MOD modified: %lld", (long long)reported(ep));

	/* MOD of an unregistered fd: ENOENT without the flag, ADD with it. */
	MUST(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == 0);
	ops[0] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 4, 0);
	ops[1] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 5, EPOLL_BATCH_F_MOD_OR_ADD);
	b = mkbatch(ops, 2);
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == 2, "submit");
	CHECK(ops[0].result == -ENOENT, "plain MOD: %d", ops[0].result);
	CHECK(ops[1].result == 0, "MOD_OR_ADD: %d", ops[1].result);
	CHECK(reported(ep) == 5, "MOD_OR_ADD added: %lld", (long long)reported(ep));

	/* The flags on a first attempt that succeeds change nothing. */
	ops[0] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 6, EPOLL_BATCH_F_MOD_OR_ADD);
	b = mkbatch(ops, 1);
	CHECK(epb_submit(dev, &b) == 0 && ops[0].result == 0, "MOD_OR_ADD on registered");
	CHECK(reported(ep) == 6, "data %lld", (long long)reported(ep));

	/* A fallback that fails itself reports the retry's error. */
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLEXCLUSIVE, 7,
		      EPOLL_BATCH_F_ADD_OR_MOD);
	b = mkbatch(ops, 1);
	CHECK(epb_submit(dev, &b) == 0 && ops[0].result == -EINVAL,
	      "ADD_OR_MOD with EPOLLEXCLUSIVE: %d", ops[0].result);
	close(fd);
	close(ep);
}

static void test_op_errors(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd(), p[2], reg;
	struct epoll_batch_op ops[16];
	struct epoll_batch b;
	int n = 0, i;
	struct {
		int want;
		const char *what;
	} exp[16];

	MUST(ep >= 0 && pipe(p) == 0);
	reg = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	MUST(reg >= 0);
#define OP(w, ...) do { exp[n].want = (w); exp[n].what = #__VA_ARGS__; \
			ops[n++] = mkop(__VA_ARGS__); } while (0)
	OP(-EBADF, -1, EPOLL_CTL_ADD, fd, EPOLLIN, 0, 0);
	OP(-EBADF, 999999, EPOLL_CTL_ADD, fd, EPOLLIN, 0, 0);
	OP(-EBADF, ep, EPOLL_CTL_ADD, -5, EPOLLIN, 0, 0);
	OP(-EBADF, ep, EPOLL_CTL_ADD, 999999, EPOLLIN, 0, 0);
	OP(-EINVAL, p[0], EPOLL_CTL_ADD, fd, EPOLLIN, 0, 0);	/* epfd not epoll */
	OP(-EINVAL, ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0, 0);	/* fd == epfd */
	OP(-EINVAL, ep, 0, fd, EPOLLIN, 0, 0);			/* bad op */
	OP(-EINVAL, ep, 42, fd, EPOLLIN, 0, 0);
	OP(-EPERM, ep, EPOLL_CTL_ADD, reg, EPOLLIN, 0, 0);	/* no poll */
	OP(-ENOENT, ep, EPOLL_CTL_DEL, fd, 0, 0, 0);
	OP(-EINVAL, ep, EPOLL_CTL_ADD, fd, EPOLLIN, 0, 1U << 7);	/* unknown flag */
	OP(-EINVAL, ep, EPOLL_CTL_MOD, fd, EPOLLIN, 0, EPOLL_BATCH_F_ADD_OR_MOD);
	OP(-EINVAL, ep, EPOLL_CTL_ADD, fd, EPOLLIN, 0, EPOLL_BATCH_F_MOD_OR_ADD);
	OP(-EINVAL, ep, EPOLL_CTL_DEL, fd, 0, 0, EPOLL_BATCH_F_ALL);
	OP(0, ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 77, 0);		/* still runs */
	OP(-EEXIST, ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 78, 0);
#undef OP
	b = mkbatch(ops, n);
	CHECK(epb_submit(dev, &b) == 0, "a batch of failing ops still returns 0");
	CHECK(b.nr_done == (uint32_t)n, "nr_done %u of %d", b.nr_done, n);
	for (i = 0; i < n; i++)
		CHECK(ops[i].result == exp[i].want, "op %d (%s): %d, want %d", i,
		      exp[i].what, ops[i].result, exp[i].want);
	CHECK(reported(ep) == -1, "pipe not readable yet");
	MUST(write(p[1], "x", 1) == 1);
	CHECK(reported(ep) == 77, "the good op took effect");
	close(reg);
	close(p[0]);
	close(p[1]);
	close(fd);
	close(ep);
}

static void test_stop_on_error(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd();
	struct epoll_batch_op ops[3];
	struct epoll_event evs[2];
	struct epoll_batch b;

	MUST(ep >= 0);
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 1, 0);
	ops[1] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 2, 0);	/* EEXIST */
	ops[2] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 3, 0);
	b = mkbatch(ops, 3);
	b.flags = EPOLL_BATCH_STOP_ON_ERROR | EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 2;
	CHECK(epb_submit(dev, &b) == 0, "stop-on-error returns 0");
	CHECK(b.nr_done == 2, "nr_done %u, want 2", b.nr_done);
	CHECK(ops[0].result == 0 && ops[1].result == -EEXIST, "%d %d",
	      ops[0].result, ops[1].result);
	CHECK(ops[2].result == SENTINEL, "op after the failure untouched: %d",
	      ops[2].result);
	CHECK(b.wait_result == -ECANCELED, "wait skipped: %d", b.wait_result);
	CHECK(reported(ep) == 1, "op 2 did not run");
	close(fd);
	close(ep);
}

/* One rule: any failed op under STOP_ON_ERROR cancels the wait, the last too. */
static void test_stop_on_error_last(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd();
	struct epoll_batch_op ops[2];
	struct epoll_event evs[2];
	struct epoll_batch b;
	double t0;

	MUST(ep >= 0);
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 1, 0);
	ops[1] = mkop(ep, EPOLL_CTL_DEL, fd + 1000, 0, 0, 0);	/* EBADF */
	b = mkbatch(ops, 2);
	b.flags = EPOLL_BATCH_STOP_ON_ERROR | EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 2;
	b.wait_timeout_ns = 2000 * 1000000LL;
	t0 = now();
	CHECK(epb_submit(dev, &b) == 0, "stop-on-error returns 0");
	CHECK(b.nr_done == 2, "nr_done %u, want 2", b.nr_done);
	CHECK(ops[0].result == 0 && ops[1].result == -EBADF, "%d %d",
	      ops[0].result, ops[1].result);
	CHECK(b.wait_result == -ECANCELED, "the last op failed, wait_result %d, want -ECANCELED",
	      b.wait_result);
	CHECK(now() - t0 < 1.5, "the wait did not run");
	CHECK(reported(ep) == 1, "op 0 ran, its event was not consumed by a wait");
	/* Without STOP_ON_ERROR the same batch waits (and sees the event). */
	ops[0] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 2, 0);
	ops[1] = mkop(ep, EPOLL_CTL_DEL, fd + 1000, 0, 0, 0);
	b = mkbatch(ops, 2);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 2;
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == 2 && b.wait_result == 1,
	      "without STOP_ON_ERROR the wait runs: nr_done %u wait %d", b.nr_done,
	      b.wait_result);
	close(fd);
	close(ep);
}

struct writer { int fd; int ms; };

static void *write_later(void *arg)
{
	struct writer *w = arg;
	uint64_t one = 1;

	usleep(w->ms * 1000);
	if (write(w->fd, &one, sizeof(one)) != sizeof(one))
		perror("eventfd write");
	return NULL;
}

/*
 * Timeouts above INT_MAX ms (24.8 days): the wait is not clamped short and
 * does not turn into a poll or an error; it ends with the event that comes.
 * (That a 25-day wait lasts 25 days is tested on a simulated clock in
 * tests/unit/test-kmod-logic.c.)
 */
static void test_long_timeout(void)
{
	const int64_t timeouts[] = {
		(int64_t)INT_MAX * 1000000 + 1, 30LL * 86400 * 1000000000, INT64_MAX,
	};
	int ep = epoll_create1(EPOLL_CLOEXEC), efd;
	struct epoll_event evs[1];
	struct epoll_batch_op op;
	struct epoll_batch b;
	struct writer w;
	pthread_t t;
	uint64_t v;
	double t0, dt;
	size_t i;

	MUST(ep >= 0);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	MUST(efd >= 0);
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		op = mkop(ep, EPOLL_CTL_ADD, efd, EPOLLIN, 77, EPOLL_BATCH_F_ADD_OR_MOD);
		b = mkbatch(&op, 1);
		b.flags = EPOLL_BATCH_WAIT;
		b.wait_epfd = ep;
		b.wait_events = (uintptr_t)evs;
		b.wait_maxevents = 1;
		b.wait_timeout_ns = timeouts[i];
		w.fd = efd;
		w.ms = 200;
		MUST(pthread_create(&t, NULL, write_later, &w) == 0);
		t0 = now();
		CHECK(epb_submit(dev, &b) == 0 && op.result == 0, "submit, timeout %lld ns",
		      (long long)timeouts[i]);
		dt = now() - t0;
		pthread_join(t, NULL);
		CHECK(b.wait_result == 1 && evs[0].data.u64 == 77,
		      "timeout %lld ns: wait_result %d, want the event",
		      (long long)timeouts[i], b.wait_result);
		CHECK(dt >= 0.19, "timeout %lld ns: returned after %.3f s, before the event",
		      (long long)timeouts[i], dt);
		MUST(read(efd, &v, sizeof(v)) == sizeof(v));
	}
	close(efd);
	close(ep);
}

/* The node: 0660 root:root by default, so another user cannot open it. */
static void test_node_mode(void)
{
	const char *want = getenv("VMTEST_DEV_MODE");
	unsigned int mode = want ? strtoul(want, NULL, 8) : 0660;
	struct stat st;
	pid_t pid;
	int status;

	MUST(stat(EPOLL_BATCH_DEVICE, &st) == 0);
	CHECK(S_ISCHR(st.st_mode), "a character device");
	CHECK((st.st_mode & 07777) == mode, "mode %04o, want %04o",
	      st.st_mode & 07777, mode);
	CHECK(!(st.st_mode & 0007), "no permission for others: %04o", st.st_mode & 07777);
	pid = fork();
	MUST(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		fd = open(EPOLL_BATCH_DEVICE, O_RDONLY);
		if (fd >= 0)
			_exit(3);
		fd = open(EPOLL_BATCH_DEVICE, O_RDWR);
		_exit(fd >= 0 ? 3 : errno == EACCES ? 0 : 4);
	}
	MUST(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "user nobody: exit %d (3: it opened the device)", WEXITSTATUS(status));
}

/*
 * A filter that returns EPERM for epoll_ctl and the epoll waits, ALLOW for
 * the rest (with @deny_epoll 0: ALLOW for everything).
 */
static void install_filter(int deny_epoll)
{
#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		 BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
	struct sock_filter deny[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY(__NR_epoll_ctl), DENY(__NR_epoll_wait), DENY(__NR_epoll_pwait),
		DENY(__NR_epoll_pwait2),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter allow[] = {
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = deny_epoll ? sizeof(deny) / sizeof(deny[0]) : 1,
		.filter = deny_epoll ? deny : allow,
	};
#undef DENY

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(10);
}

/*
 * In a child under a seccomp filter: the ioctl is refused with EPERM and
 * nothing runs (or, with @allowed, the administrator's allow_seccomp=1, it
 * works).  Returns the child's exit code: 0 when as expected.
 */
static int seccomp_child(int deny_epoll, int allowed)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd();
	struct epoll_event ev = { .events = EPOLLIN };
	struct epoll_event evs[1];
	struct epoll_batch_op op;
	struct epoll_batch b;
	int ret;

	if (ep < 0)
		return 11;
	install_filter(deny_epoll);
	if (deny_epoll && (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 || errno != EPERM))
		return 12;	/* the filter itself does not work */
	op = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 5, 0);
	b = mkbatch(&op, 1);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 1;
	ret = epb_submit(dev, &b);
	if (allowed)
		return ret == 0 && op.result == 0 && b.wait_result == 1 ? 0 : 13;
	if (ret != -EPERM)
		return 14;	/* the sandbox was bypassed */
	if (op.result != SENTINEL || b.nr_done != SENTINEL || b.wait_result != SENTINEL)
		return 15;	/* something ran */
	return 0;
}

static void check_seccomp(int allowed)
{
	int deny, status;
	pid_t pid;

	for (deny = 0; deny <= 1; deny++) {
		pid = fork();
		MUST(pid >= 0);
		if (pid == 0)
			_exit(seccomp_child(deny, allowed));
		MUST(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s filter, allow_seccomp=%d: child exit %d (14: the ioctl ran)",
		      deny ? "epoll-denying" : "allow-all", allowed,
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
}

static void test_seccomp_refused(void)
{
	check_seccomp(0);
}

static void test_seccomp_allowed(void)
{
	check_seccomp(1);
}

static void test_batch_errors(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd();
	static struct epoll_batch_op big[EPOLL_BATCH_MAX_OPS + 1];
	struct epoll_batch_op ops[1];
	struct epoll_event evs[1];
	struct epoll_batch b, *ro;
	sigset_t ss;
	int i;

	MUST(ep >= 0);
	CHECK(epb_submit(dev, NULL) == -EFAULT, "NULL batch");
	CHECK(epb_submit(dev, (void *)0xffff888000000000UL) == -EFAULT, "kernel batch");
	CHECK(epb_submit(dev, (void *)0x8000000000000000UL) == -EFAULT, "non-canonical batch");
	CHECK(ioctl(dev, _IOWR(0xEB, 0x02, struct epoll_batch), &b) < 0 && errno == ENOTTY,
	      "unknown ioctl: %s", strerror(errno));
	CHECK(ioctl(dev, _IOR(0xEB, 0x01, struct epoll_batch), &b) < 0 && errno == ENOTTY,
	      "wrong direction bits: %s", strerror(errno));

	ops[0] = mkop(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 1, 0);
	b = mkbatch(ops, 1);
	b.flags = 1U << 5;
	CHECK(epb_submit(dev, &b) == -EINVAL, "bad batch flags");
	b = mkbatch(ops, 1);
	b.flags = ~0U;
	CHECK(epb_submit(dev, &b) == -EINVAL, "all batch flags");
	b = mkbatch(ops, 1);
	b.reserved = 1;
	CHECK(epb_submit(dev, &b) == -EINVAL, "reserved != 0");
	CHECK(ops[0].result == SENTINEL && b.nr_done == 0,
	      "a rejected batch runs nothing and says so: nr_done %u", b.nr_done);

	for (i = 0; i <= EPOLL_BATCH_MAX_OPS; i++)
		big[i] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, i, EPOLL_BATCH_F_MOD_OR_ADD);
	b = mkbatch(big, EPOLL_BATCH_MAX_OPS + 1);
	b.nr_done = SENTINEL;
	CHECK(epb_submit(dev, &b) == -E2BIG && b.nr_done == 0, "nr_ops > max");
	b = mkbatch(big, UINT32_MAX);
	CHECK(epb_submit(dev, &b) == -E2BIG, "nr_ops UINT32_MAX");
	CHECK(big[0].result == SENTINEL, "E2BIG ran nothing");
	b = mkbatch(big, EPOLL_BATCH_MAX_OPS);
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == EPOLL_BATCH_MAX_OPS,
	      "nr_ops == max: nr_done %u", b.nr_done);
	CHECK(big[EPOLL_BATCH_MAX_OPS - 1].result == 0 &&
	      big[EPOLL_BATCH_MAX_OPS].result == SENTINEL, "results of a full batch");
	CHECK(reported(ep) == EPOLL_BATCH_MAX_OPS - 1, "last op of a full batch won");

	/* nr_ops == 0: a no-op; the ops pointer is not looked at. */
	b = mkbatch((void *)8, 0);
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == 0, "nr_ops 0");

	/* Bad ops pointers: nothing runs, nr_done 0. */
	b = mkbatch(NULL, 1);
	CHECK(epb_submit(dev, &b) == -EFAULT && b.nr_done == 0, "NULL ops");
	b = mkbatch((void *)0xffffffffff600000UL, 1);
	CHECK(epb_submit(dev, &b) == -EFAULT && b.nr_done == 0, "vsyscall page ops");
	b = mkbatch((void *)0xffff888000000000UL, 1);
	CHECK(epb_submit(dev, &b) == -EFAULT && b.nr_done == 0, "kernel ops");
	b = mkbatch((void *)(0x800000000000UL - 64), 4);
	CHECK(epb_submit(dev, &b) == -EFAULT && b.nr_done == 0, "ops across the user limit");

	/* A read-only batch: nr_done cannot be written, so nothing runs. */
	ro = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(ro != MAP_FAILED);
	ops[0] = mkop(ep, EPOLL_CTL_DEL, fd, 0, 0, 0);
	*ro = mkbatch(ops, 1);
	MUST(mprotect(ro, page, PROT_READ) == 0);
	CHECK(epb_submit(dev, ro) == -EFAULT, "read-only batch");
	CHECK(ops[0].result == SENTINEL && reported(ep) >= 0, "read-only batch ran nothing");
	munmap(ro, page);

	/* Wait parameters are checked before any op runs. */
	ops[0] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, 5, 0);
	b = mkbatch(ops, 1);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 0;
	CHECK(epb_submit(dev, &b) == -EINVAL, "maxevents 0");
	b.wait_maxevents = -1;
	CHECK(epb_submit(dev, &b) == -EINVAL, "maxevents -1");
	b.wait_maxevents = EPOLL_BATCH_MAX_EVENTS + 1;
	CHECK(epb_submit(dev, &b) == -EINVAL, "maxevents > max");
	b.wait_maxevents = 1;
	sigemptyset(&ss);
	b.wait_sigmask = (uintptr_t)&ss;
	b.wait_sigsetsize = 4;
	CHECK(epb_submit(dev, &b) == -EINVAL, "sigsetsize 4");
	b.wait_sigsetsize = 128;
	CHECK(epb_submit(dev, &b) == -EINVAL, "sigsetsize 128");
	CHECK(ops[0].result == SENTINEL, "bad wait parameters ran nothing");
	close(fd);
	close(ep);
}

/* A fault in the middle of the ops array: the ops before it ran, exactly. */
static void test_fault_mid_batch(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fds[4], i, k;
	struct epoll_batch_op *ops;
	struct epoll_batch b;
	char *area;

	MUST(ep >= 0);
	for (i = 0; i < 4; i++)
		fds[i] = ready_fd();
	area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(area != MAP_FAILED);
	/* Unreadable: 3 ops fit before the guard page, the 4th is in it. */
	MUST(mprotect(area + page, page, PROT_NONE) == 0);
	ops = (struct epoll_batch_op *)(area + page) - 3;
	for (i = 0; i < 3; i++)
		ops[i] = mkop(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN, 100 + i, 0);
	b = mkbatch(ops, 4);
	CHECK(epb_submit(dev, &b) == -EFAULT, "fault at op 3");
	CHECK(b.nr_done == 3, "nr_done %u, want 3", b.nr_done);
	for (i = 0; i < 3; i++)
		CHECK(ops[i].result == 0, "op %d: %d", i, ops[i].result);
	{
		struct epoll_event evs[8];

		k = epoll_wait(ep, evs, 8, 0);
		CHECK(k == 3, "%d fds registered, want 3", k);
	}

	/* Readable but not writable: the result of op 0 cannot be stored. */
	MUST(mprotect(area + page, page, PROT_READ | PROT_WRITE) == 0);
	ops = (struct epoll_batch_op *)(area + page);
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fds[3], EPOLLIN, 200, 0);
	MUST(mprotect(area + page, page, PROT_READ) == 0);
	b = mkbatch(ops, 1);
	CHECK(epb_submit(dev, &b) == -EFAULT && b.nr_done == 0,
	      "read-only ops: nr_done %u", b.nr_done);
	CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fds[3], NULL) < 0 && errno == ENOENT,
	      "an op whose result cannot be written does not run");
	munmap(area, 2 * page);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	close(ep);
}

static volatile sig_atomic_t sigs;
static void on_sig(int s)
{
	(void)s;
	sigs++;
}

struct killer {
	pthread_t target;
	volatile int stop;
	int period_us;
	long sent;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;

	while (!k->stop) {
		pthread_kill(k->target, SIGUSR1);
		k->sent++;
		usleep(k->period_us);
	}
	return NULL;
}

/* Signals between ops: -EINTR, nr_done exact, the last op that ran won. */
static void test_eintr(void)
{
	static struct epoll_batch_op ops[EPOLL_BATCH_MAX_OPS];
	int ep = epoll_create1(EPOLL_CLOEXEC), fd = ready_fd(), i, r;
	int eintr = 0, full = 0, bad = 0;
	struct killer k = { .target = pthread_self(), .period_us = 200 };
	struct epoll_batch b;
	pthread_t t;
	double t0;
	int64_t got;

	MUST(ep >= 0);
	MUST(epoll_ctl(ep, EPOLL_CTL_ADD, fd,
		       &(struct epoll_event){ .events = EPOLLIN }) == 0);
	MUST(sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_sig }, NULL) == 0);
	MUST(pthread_create(&t, NULL, killer_main, &k) == 0);
	t0 = now();
	while ((eintr < 20 || full < 1) && now() - t0 < 60) {
		for (i = 0; i < EPOLL_BATCH_MAX_OPS; i++)
			ops[i] = mkop(ep, EPOLL_CTL_MOD, fd, EPOLLIN, i + 1, 0);
		b = mkbatch(ops, EPOLL_BATCH_MAX_OPS);
		r = epb_submit(dev, &b);
		got = reported(ep);
		if (r == -EINTR) {
			eintr++;
			if (b.nr_done < 1 || b.nr_done >= EPOLL_BATCH_MAX_OPS ||
			    ops[b.nr_done - 1].result != 0 ||
			    ops[b.nr_done].result != SENTINEL || got != b.nr_done)
				bad++;
			if (bad == 1 && b.nr_done >= 1 && b.nr_done < EPOLL_BATCH_MAX_OPS)
				printf("# EINTR nr_done %u last %d next %d data %lld\n",
				       b.nr_done, ops[b.nr_done - 1].result,
				       ops[b.nr_done].result, (long long)got);
		} else if (r == 0) {
			full++;
			if (b.nr_done != EPOLL_BATCH_MAX_OPS || got != EPOLL_BATCH_MAX_OPS)
				bad++;
		} else {
			bad++;
			printf("# unexpected %s\n", strerror(-r));
		}
	}
	k.stop = 1;
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
	printf("# %d interrupted batches, %d complete, %ld signals sent\n",
	       eintr, full, k.sent);
	CHECK(eintr >= 20, "only %d EINTR in 60 s", eintr);
	CHECK(bad == 0, "%d batches with inexact partial progress", bad);
	close(fd);
	close(ep);
}

static void test_wait(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), fds[5], i, seen;
	struct epoll_event evs[8];
	struct epoll_batch_op ops[5];
	struct epoll_batch b;
	double t0, dt;

	MUST(ep >= 0);
	memset(evs, 0, sizeof(evs));
	for (i = 0; i < 5; i++)
		fds[i] = ready_fd();

	/* ops then the wait, one syscall. */
	for (i = 0; i < 5; i++)
		ops[i] = mkop(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN, 1000 + i, 0);
	b = mkbatch(ops, 5);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 3;
	b.wait_timeout_ns = -1;
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == 5, "ops + wait");
	CHECK(b.wait_result == 3, "maxevents 3 caps the wait: %d", b.wait_result);
	for (seen = 0, i = 0; i < 3 && i < b.wait_result; i++)
		seen += evs[i].data.u64 >= 1000 && evs[i].data.u64 < 1005 &&
			(evs[i].events & EPOLLIN);
	CHECK(seen == 3, "events carry the data of the ops");

	/* A wait-only batch. */
	b = mkbatch(NULL, 0);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 8;
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == 5, "wait only: %d",
	      b.wait_result);

	/* Timeout: nothing ready, the wait lasts at least the timeout. */
	for (i = 0; i < 5; i++)
		MUST(epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL) == 0);
	b.wait_timeout_ns = 0;
	t0 = now();
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == 0, "poll: %d", b.wait_result);
	b.wait_timeout_ns = 150 * 1000000LL;
	t0 = now();
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == 0, "timeout: %d", b.wait_result);
	dt = now() - t0;
	CHECK(dt >= 0.149, "a 150 ms wait returned after %.3f s", dt);
	b.wait_timeout_ns = 1;	/* rounds up to 1 ms, never down to a poll */
	t0 = now();
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == 0, "1 ns: %d", b.wait_result);
	CHECK(now() - t0 >= 0.0009, "a 1 ns timeout waited %.6f s", now() - t0);

	/* Errors of the wait itself go to wait_result; the ops ran. */
	ops[0] = mkop(ep, EPOLL_CTL_ADD, fds[0], EPOLLIN, 9, 0);
	b = mkbatch(ops, 1);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_epfd = fds[1];
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 1;
	CHECK(epb_submit(dev, &b) == 0 && b.nr_done == 1 && ops[0].result == 0,
	      "ops ran before a bad wait");
	CHECK(b.wait_result == -EINVAL, "wait on a non-epoll fd: %d", b.wait_result);
	b = mkbatch(NULL, 0);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_maxevents = 1;
	b.wait_events = (uintptr_t)evs;
	b.wait_epfd = -1;
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == -EBADF, "wait epfd -1: %d",
	      b.wait_result);
	b.wait_epfd = ep;
	b.wait_events = 0;
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == -EFAULT,
	      "NULL events: %d", b.wait_result);
	b.wait_events = 0xffff888000000000UL;
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == -EFAULT,
	      "kernel events: %d", b.wait_result);
	CHECK(reported(ep) == 9, "no event lost to a failed wait");
	b.wait_events = (uintptr_t)evs;
	b.wait_sigmask = 0x10;
	b.wait_sigsetsize = sizeof(uint64_t);
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == -EFAULT,
	      "bad sigmask pointer: %d", b.wait_result);
	for (i = 0; i < 5; i++)
		close(fds[i]);
	close(ep);
}

struct delayed { pthread_t target; int ms; };

static void *send_later(void *arg)
{
	struct delayed *d = arg;

	usleep(d->ms * 1000);
	pthread_kill(d->target, SIGUSR1);
	return NULL;
}

/* wait_sigmask: epoll_pwait semantics (mask during the wait only). */
static void test_wait_sigmask(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct delayed d = { .target = pthread_self(), .ms = 100 };
	struct epoll_event evs[1];
	struct killer k;
	sigset_t block, empty, cur;
	struct epoll_batch b;
	pthread_t t;
	uint64_t kmask;
	double t0;

	MUST(ep >= 0);
	MUST(sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_sig }, NULL) == 0);
	sigemptyset(&empty);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);

	/* Blocked normally, unblocked by the wait's mask: the signal ends it. */
	MUST(pthread_sigmask(SIG_SETMASK, &block, NULL) == 0);
	kmask = 0;
	b = mkbatch(NULL, 0);
	b.flags = EPOLL_BATCH_WAIT;
	b.wait_epfd = ep;
	b.wait_events = (uintptr_t)evs;
	b.wait_maxevents = 1;
	b.wait_timeout_ns = -1;
	b.wait_sigmask = (uintptr_t)&kmask;
	b.wait_sigsetsize = sizeof(kmask);
	sigs = 0;
	MUST(pthread_create(&t, NULL, send_later, &d) == 0);
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == -EINTR,
	      "unblocked by the mask: %d", b.wait_result);
	pthread_join(t, NULL);
	CHECK(sigs == 1, "the handler ran (%d)", (int)sigs);
	MUST(pthread_sigmask(SIG_SETMASK, NULL, &cur) == 0);
	CHECK(sigismember(&cur, SIGUSR1), "the caller's mask is back after -EINTR");

	/* Unblocked normally, blocked by the wait's mask: the wait times out. */
	MUST(pthread_sigmask(SIG_SETMASK, &empty, NULL) == 0);
	kmask = 1ULL << (SIGUSR1 - 1);
	b.wait_timeout_ns = 300 * 1000000LL;
	sigs = 0;
	t0 = now();
	MUST(pthread_create(&t, NULL, send_later, &d) == 0);
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == 0,
	      "blocked by the mask: %d", b.wait_result);
	CHECK(now() - t0 >= 0.299, "the wait ran its full timeout");
	pthread_join(t, NULL);
	CHECK(sigs == 1, "the blocked signal was delivered after the wait (%d)", (int)sigs);
	MUST(pthread_sigmask(SIG_SETMASK, NULL, &cur) == 0);
	CHECK(!sigismember(&cur, SIGUSR1), "the caller's mask is back");

	/* No mask: a signal interrupts the wait. */
	b.wait_sigmask = 0;
	b.wait_sigsetsize = 12345;	/* ignored without a mask, as epoll_pwait */
	b.wait_timeout_ns = -1;
	sigs = 0;
	/* Sent until the wait ends, so one lands inside it. */
	k.target = pthread_self();
	k.stop = 0;
	k.period_us = 50000;
	MUST(pthread_create(&t, NULL, killer_main, &k) == 0);
	CHECK(epb_submit(dev, &b) == 0 && b.wait_result == -EINTR,
	      "no mask: %d", b.wait_result);
	k.stop = 1;
	pthread_join(t, NULL);
	CHECK(sigs >= 1, "handler ran (%d)", (int)sigs);
	signal(SIGUSR1, SIG_DFL);
	close(ep);
}

/* Descriptors and their epoll registrations are not leaked by batches. */
static void test_no_leak(void)
{
	int ep, fd, i;
	struct epoll_batch_op ops[64];
	struct epoll_batch b;
	int before, after;

	before = open("/dev/null", O_RDONLY);
	MUST(before >= 0);
	close(before);
	for (i = 0; i < 200; i++) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		fd = ready_fd();
		MUST(ep >= 0);
		for (int j = 0; j < 64; j++)
			ops[j] = mkop(ep, j % 3 == 0 ? EPOLL_CTL_ADD : j % 3 == 1 ?
				      EPOLL_CTL_MOD : EPOLL_CTL_DEL, fd, EPOLLIN, j,
				      EPOLL_BATCH_F_ADD_OR_MOD * (j % 3 == 0));
		b = mkbatch(ops, 64);
		MUST(epb_submit(dev, &b) == 0);
		close(fd);
		close(ep);
	}
	after = open("/dev/null", O_RDONLY);
	MUST(after >= 0);
	close(after);
	CHECK(before == after, "lowest free fd moved from %d to %d", before, after);
}

static void run(const char *name, void (*fn)(void))
{
	int before = vt_failed;

	fn();
	printf("%s - %s\n", vt_failed == before ? "ok" : "not ok", name);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	dev = epb_open();
	/* Run by guest-suite.sh with the module's allow_seccomp=1. */
	if (argc > 1 && !strcmp(argv[1], "--seccomp-allowed")) {
		run("seccomp: allow_seccomp=1 lets a filtered caller in", test_seccomp_allowed);
		printf("kmod-test: %d checks, %d failed\n", vt_checks, vt_failed);
		return vt_failed ? 1 : 0;
	}
	run("device node 0660, other users refused", test_node_mode);
	run("seccomp: a filtered caller gets EPERM, nothing runs", test_seccomp_refused);
	run("op types ADD/MOD/DEL, in order", test_op_types);
	run("fallbacks EEXIST->MOD, ENOENT->ADD", test_fallbacks);
	run("per-op errors (bad epfd/fd, non-epoll epfd, bad op, flags)", test_op_errors);
	run("EPOLL_BATCH_STOP_ON_ERROR", test_stop_on_error);
	run("EPOLL_BATCH_STOP_ON_ERROR: a failing last op cancels the wait", test_stop_on_error_last);
	run("batch errors (pointers, flags, reserved, nr_ops 0 and > max, wait params)", test_batch_errors);
	run("fault mid-batch: exact partial progress", test_fault_mid_batch);
	run("signal mid-batch: EINTR with exact nr_done", test_eintr);
	run("fused wait: ops+wait, maxevents, timeout, errors", test_wait);
	run("fused wait sigmask (epoll_pwait semantics)", test_wait_sigmask);
	run("fused wait: timeouts above INT_MAX ms", test_long_timeout);
	run("no descriptor leak", test_no_leak);
	close(dev);
	printf("kmod-test: %d checks, %d failed\n", vt_checks, vt_failed);
	return vt_failed ? 1 : 0;
}
