/* SPDX-License-Identifier: MIT */
/*
 * Behaviour checks for libepbatch.so, one per subcommand.  Each asserts what
 * an application observes (return values, errno, events) and exits 0 only
 * if all of it is what the kernel gives natively; the t-*.sh scripts run it
 * natively and under the shim and also check the shim's counters.
 *   shim-check coalesce | unshare private|shared | closerange | workers [unshare] | forkreap | forkepoll closed|keep | grow | shrink | sighandler
 *              | forkcalib | refused
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/raw_syscall.h"

#define NFD 64

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "shim-check: line %d: ", __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			failures++;                                          \
		}                                                            \
	} while (0)

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, op, fd, &ev);
}

/* ctl that must return want (0, or -1 with errno werr) */
static void ctl_expect(int ep, int op, int fd, uint32_t events, uint64_t data, int werr)
{
	int rc = ctl(ep, op, fd, events, data);

	if (werr)
		CHECK(rc == -1 && errno == werr, "op %d fd %d: rc %d errno %s, want %s", op, fd,
		      rc, strerror(errno), strerror(werr));
	else
		CHECK(rc == 0, "op %d fd %d: rc %d (%s), want 0", op, fd, rc, strerror(errno));
}

/* A wait must return exactly the (data, events) pairs given, any order. */
static void wait_expect(int ep, int n, const uint64_t *data, const uint32_t *events)
{
	struct epoll_event out[NFD * 2];
	int got = epoll_wait(ep, out, NFD * 2, 0);

	CHECK(got == n, "wait returned %d events, want %d", got, n);
	for (int i = 0; i < got && got == n; i++) {
		int found = 0;

		for (int j = 0; j < n; j++)
			found |= out[i].data.u64 == data[j] && out[i].events == events[j];
		CHECK(found, "unexpected event data %llu events %#x",
		      (unsigned long long)out[i].data.u64, out[i].events);
	}
}

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
		perror("shim-check: socketpair");
		exit(1);
	}
}

static int coalesce(void)
{
	int ep = epoll_create1(0), a[2], b[2], c[2];
	struct epoll_event out[8];

	pair(a);
	pair(b);
	pair(c);
	epoll_wait(ep, out, 8, 0);	/* this thread now owns ep: ops defer */

	/* ADD+DEL cancel; a second DEL still gets ENOENT, a MOD too */
	ctl_expect(ep, EPOLL_CTL_ADD, a[0], EPOLLOUT, 1, 0);
	ctl_expect(ep, EPOLL_CTL_DEL, a[0], 0, 0, 0);
	ctl_expect(ep, EPOLL_CTL_DEL, a[0], 0, 0, ENOENT);
	ctl_expect(ep, EPOLL_CTL_MOD, a[0], EPOLLOUT, 1, ENOENT);
	wait_expect(ep, 0, NULL, NULL);

	/* ADD+MOD fold into one ADD with the MOD's events and data;
	 * MOD+MOD keeps the last; ADD twice is EEXIST at once */
	ctl_expect(ep, EPOLL_CTL_ADD, b[0], EPOLLIN, 2, 0);
	ctl_expect(ep, EPOLL_CTL_ADD, b[0], EPOLLIN, 2, EEXIST);
	ctl_expect(ep, EPOLL_CTL_MOD, b[0], EPOLLOUT, 3, 0);
	ctl_expect(ep, EPOLL_CTL_ADD, c[0], EPOLLOUT, 4, 0);
	wait_expect(ep, 2, (uint64_t[]){ 3, 4 }, (uint32_t[]){ EPOLLOUT, EPOLLOUT });
	ctl_expect(ep, EPOLL_CTL_MOD, c[0], EPOLLIN, 5, 0);
	ctl_expect(ep, EPOLL_CTL_MOD, c[0], EPOLLOUT, 6, 0);
	ctl_expect(ep, EPOLL_CTL_MOD, b[0], EPOLLIN, 7, 0);
	wait_expect(ep, 1, (uint64_t[]){ 6 }, (uint32_t[]){ EPOLLOUT });

	/* DEL then ADD is not a MOD: EPOLLEXCLUSIVE may be re-added, a MOD
	 * of an exclusive registration is EINVAL */
	ctl_expect(ep, EPOLL_CTL_DEL, c[0], 0, 0, 0);
	ctl_expect(ep, EPOLL_CTL_ADD, c[0], EPOLLOUT | EPOLLEXCLUSIVE, 8, 0);
	ctl_expect(ep, EPOLL_CTL_MOD, c[0], EPOLLOUT, 9, EINVAL);
	ctl_expect(ep, EPOLL_CTL_DEL, c[0], 0, 0, 0);
	ctl_expect(ep, EPOLL_CTL_ADD, c[0], EPOLLOUT, 10, 0);
	wait_expect(ep, 1, (uint64_t[]){ 10 }, (uint32_t[]){ EPOLLOUT });

	/* errors the kernel must decide are still synchronous */
	ctl_expect(ep, EPOLL_CTL_ADD, 0x7ffff, EPOLLIN, 0, EBADF);
	{
		int f = open("/proc/self/status", O_RDONLY);

		ctl_expect(ep, EPOLL_CTL_ADD, f, EPOLLIN, 0, EPERM);
		close(f);
	}
	ctl_expect(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0, EINVAL);
	return failures ? 1 : 0;
}

static int shared_fd = -1;
static pthread_barrier_t bar;

static void *loop_thread(void *arg)
{
	int ep = epoll_create1(0), p[2];
	struct epoll_event out[1];

	(void)arg;
	epoll_wait(ep, out, 1, 0);	/* becomes an event-loop thread */
	if (pipe(p) < 0)
		exit(1);
	shared_fd = p[0];
	pthread_barrier_wait(&bar);	/* main checks the fd now */
	pthread_barrier_wait(&bar);
	return NULL;
}

/* EPBATCH_UNSHARE=1: an fd the loop thread opens after its first wait is
 * not in the main thread's table. */
static int unshare_check(const char *want)
{
	pthread_t t;
	int visible;

	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, loop_thread, NULL);
	pthread_barrier_wait(&bar);
	visible = fcntl(shared_fd, F_GETFD) >= 0;
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	if (strcmp(want, "private") == 0)
		CHECK(!visible, "fd %d opened by the loop thread is visible to main", shared_fd);
	else
		CHECK(visible, "fd %d opened by the loop thread is not visible to main", shared_fd);
	return failures ? 1 : 0;
}

/* Re-arm NFD oneshot fds for rounds iterations; every wait must return all. */
static void rearm_rounds(int ep, int sv[][2], int rounds)
{
	struct epoll_event out[NFD];

	for (int r = 0; r < rounds; r++) {
		int n = epoll_wait(ep, out, NFD, 1000);

		CHECK(n == NFD, "round %d: wait returned %d (%s), want %d", r, n,
		      n < 0 ? strerror(errno) : "", NFD);
		if (n != NFD)
			return;
		for (int i = 0; i < n; i++)
			ctl_expect(ep, EPOLL_CTL_MOD, sv[out[i].data.u32][0],
				   EPOLLIN | EPOLLONESHOT, out[i].data.u32, 0);
	}
}

static int setup_rearm(int sv[][2])
{
	int ep = epoll_create1(0);

	for (int i = 0; i < NFD; i++) {
		pair(sv[i]);
		if (write(sv[i][1], "x", 1) != 1)
			exit(1);
		ctl_expect(ep, EPOLL_CTL_ADD, sv[i][0], EPOLLIN | EPOLLONESHOT, (uint64_t)i, 0);
	}
	return ep;
}

/*
 * Per-thread event loops, each with its own epoll fd made before any of
 * them waits (the usual SO_REUSEPORT server start-up).  Under
 * EPBATCH_UNSHARE=1 worker 0 unshares its fd table first, while worker 1's
 * epoll fd already exists; both must still batch (t-shim-checks.sh checks
 * the shim's counters: no op passed through).
 */
static pthread_barrier_t wbar;
static int self_unshare;

static void *worker(void *arg)
{
	static int sv[2][NFD][2];
	int id = (int)(long)arg, ep;

	/* "workers unshare": each worker unshares its fd table itself before
	 * it opens anything (a server's own --unshare), so both workers' fds
	 * have the same numbers in their two tables. */
	if (self_unshare && unshare(CLONE_FILES) < 0) {
		perror("shim-check: unshare");
		exit(1);
	}
	pthread_barrier_wait(&wbar);
	ep = setup_rearm(sv[id]);

	pthread_barrier_wait(&wbar);	/* both epoll fds exist */
	if (id == 0)
		rearm_rounds(ep, sv[id], 1);	/* worker 0 unshares first */
	pthread_barrier_wait(&wbar);
	rearm_rounds(ep, sv[id], 100);
	return NULL;
}

static int workers(int unshare_itself)
{
	pthread_t t[2];

	self_unshare = unshare_itself;
	pthread_barrier_init(&wbar, NULL, 2);
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return failures ? 1 : 0;
}

/*
 * redis' BGSAVE: fork a child that never touches the epoll fd and _exits,
 * reap it, go on.  Events must be right throughout; t-shim-checks.sh
 * checks that the re-arms after the reap are batched again.
 */
/*
 * A loop that grows: 200 iterations that re-arm one fd, then 200 that
 * re-arm 64 (t-shim-policy.sh: the shim must batch the second part, past
 * the few iterations its policy takes to see the change).
 */
/* A wait that takes all NFD events (every fd armed), then rounds that
 * re-arm fd 0 alone and wait for it. */
static void one_fd_rounds(int ep, int sv[][2], int rounds)
{
	struct epoll_event out[NFD];
	int n = epoll_wait(ep, out, NFD, 1000);

	CHECK(n == NFD, "wait before the 1-fd rounds returned %d, want %d", n, NFD);
	for (int r = 0; r < rounds && !failures; r++) {
		ctl_expect(ep, EPOLL_CTL_MOD, sv[0][0], EPOLLIN | EPOLLONESHOT, 0, 0);
		n = epoll_wait(ep, out, NFD, 1000);
		CHECK(n == 1 && out[0].data.u32 == 0, "round %d: wait returned %d, want fd 0's event", r, n);
	}
}

static int grow(void)
{
	static int sv[NFD][2];
	int ep = setup_rearm(sv);

	one_fd_rounds(ep, sv, 200);
	for (int i = 0; i < NFD; i++)
		ctl_expect(ep, EPOLL_CTL_MOD, sv[i][0], EPOLLIN | EPOLLONESHOT, (uint64_t)i, 0);
	rearm_rounds(ep, sv, 200);
	return failures ? 1 : 0;
}

/*
 * The other way: 200 iterations that re-arm 64 fds, then 200 that re-arm
 * one (t-shim-policy.sh: the shim must go direct in the second part within
 * a batched quiet block and the average's fall).
 */
static int shrink(void)
{
	static int sv[NFD][2];
	int ep = setup_rearm(sv);

	rearm_rounds(ep, sv, 200);	/* its last round re-armed all */
	one_fd_rounds(ep, sv, 200);
	return failures ? 1 : 0;
}

/*
 * fork() after an epoll instance was made and closed (nginx's master tests
 * epoll once, closes it, then forks its workers), or with it still open
 * (keep): the child runs a loop on an instance of its own.  t-shim-checks.sh
 * reads the child's counters: with nothing inherited its epoll_ctl calls
 * take the direct way (passthrough=0); with the parent's instance open in
 * it, the careful way, which reports a change of an inherited instance.
 */
static int forkepoll(int keep)
{
	static int sv[NFD][2];
	int old = epoll_create1(0), status;
	pid_t pid;

	CHECK(old >= 0, "epoll_create1");
	if (!keep)
		close(old);
	pid = fork();
	if (pid == 0) {
		int ep = setup_rearm(sv);

		rearm_rounds(ep, sv, 50);
		exit(failures ? 1 : 0);
	}
	CHECK(pid > 0, "fork failed");
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child failed");
	return failures ? 1 : 0;
}

static int forkreap(void)
{
	static int sv[NFD][2];
	int ep = setup_rearm(sv);

	rearm_rounds(ep, sv, 5);
	for (int i = 0; i < 3; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		CHECK(pid > 0, "fork failed");
		rearm_rounds(ep, sv, 5);	/* the child may be alive: no deferral */
		CHECK(waitpid(pid, NULL, 0) == pid, "waitpid");
		rearm_rounds(ep, sv, 100);
	}
	return failures ? 1 : 0;
}

/*
 * fork() while another thread measures the shim's break-evens (policy.c:
 * the first wait of a loop of 64 re-arms does): the main thread forks as
 * fast as it can from just before the loop thread starts until it is done.
 * Each child must hold no fd the program did not make (the measurement's
 * private socket pairs and epoll fd), and runs a loop of its own, so that
 * t-shim-policy.sh sees in its stats line that it measured (a child that
 * inherited a measurement under way would never measure: min_batch=-).
 */
static _Atomic int fc_go, fc_done;
static int fc_ep, fc_sv[NFD][2];

static void *fc_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&fc_go))
		sched_yield();
	rearm_rounds(fc_ep, fc_sv, 50);
	atomic_store(&fc_done, 1);
	return NULL;
}

/* The fds open now (not dir's own) into set, or, check set, each one not
 * in it reported. */
#define FC_MAXFD 4096
static void fc_fds(unsigned char *set, int check)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	CHECK(d != NULL, "opendir /proc/self/fd: %s", strerror(errno));
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		char link[256] = "", path[300];

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (!check) {
			if (fd < FC_MAXFD)
				set[fd] = 1;
			continue;
		}
		if (fd < FC_MAXFD && set[fd])
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		(void)!readlink(path, link, sizeof(link) - 1);
		CHECK(0, "child: fd %d (%s) was not open at the fork", fd, link);
	}
	if (d)
		closedir(d);
}

static unsigned char fc_open[FC_MAXFD];

/* A fork child: its fds, then a loop of its own. */
static void fc_child(void)
{
	static int sv[NFD][2];
	int ep;

	fc_fds(fc_open, 1);
	ep = setup_rearm(sv);
	rearm_rounds(ep, sv, 20);
	fflush(stderr);
	exit(failures ? 1 : 0);	/* exit, not _exit: the shim's stats line */
}

static int forkcalib(void)
{
	pid_t kids[64];
	int n = 0, status;
	pthread_t t;

	fc_ep = setup_rearm(fc_sv);
	fc_fds(fc_open, 0);
	pthread_create(&t, NULL, fc_loop, NULL);
	while (n < 64 && !atomic_load(&fc_done)) {
		pid_t pid = fork();

		if (pid == 0)
			fc_child();
		CHECK(pid > 0, "fork: %s", strerror(errno));
		if (pid < 0)
			break;
		kids[n++] = pid;
		atomic_store(&fc_go, 1);	/* the loop starts while forks go on */
	}
	pthread_join(t, NULL);
	for (int i = 0; i < n; i++)
		CHECK(waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0, "child %d failed", (int)kids[i]);
	return failures ? 1 : 0;
}

/* A daemon closes every fd it does not know; the shim keeps batching. */
static int closerange(void)
{
	static int sv[NFD][2];
	int ep;

	close_range(3, ~0U, 0);
	ep = setup_rearm(sv);
	rearm_rounds(ep, sv, 100);
	close_range(3, ~0U, 0);
	ep = setup_rearm(sv);
	rearm_rounds(ep, sv, 100);
	for (int fd = 3; fd <= sv[NFD - 1][1]; fd++)
		if (fd != ep)
			close(fd);
	close(ep);
	ep = setup_rearm(sv);
	rearm_rounds(ep, sv, 100);
	return failures ? 1 : 0;
}

static int sig_ep, sig_fd;
static volatile sig_atomic_t sig_bad, sig_runs;

static void on_alarm(int sig)
{
	int saved = errno;
	int rc = ctl(sig_ep, sig_runs % 2 ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, sig_fd, EPOLLIN, 999);

	(void)sig;
	if (rc != 0)
		sig_bad++;
	sig_runs++;
	errno = saved;
}

/* A handler's epoll_ctl lands anywhere inside the shim: the main loop's
 * re-arms must all hold and the handler's ADD/DEL must alternate cleanly. */
static int sighandler(void)
{
	static int sv[NFD][2];
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct epoll_event out[NFD + 1];
	int n, seen = 0;

	sig_ep = setup_rearm(sv);
	sig_fd = eventfd(0, 0);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int r = 0; r < 3000 && sig_runs < 400; r++) {
		n = epoll_wait(sig_ep, out, NFD + 1, 1000);
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			if (out[i].data.u64 == 999)
				continue;
			ctl_expect(sig_ep, EPOLL_CTL_MOD, sv[out[i].data.u32][0],
				   EPOLLIN | EPOLLONESHOT, out[i].data.u32, 0);
		}
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(sig_runs > 10, "only %d signals handled", (int)sig_runs);
	CHECK(sig_bad == 0, "%d handler epoll_ctl calls failed", (int)sig_bad);
	/* known final state: every pair re-armed, handler fd in iff runs odd */
	if (write(sig_fd, &(uint64_t){ 1 }, 8) != 8)
		exit(1);
	n = epoll_wait(sig_ep, out, NFD + 1, 1000);
	for (int i = 0; i < n; i++)
		seen += out[i].data.u64 != 999;
	CHECK(seen == NFD, "final wait saw %d of %d re-armed fds", seen, NFD);
	CHECK(n == NFD + (int)(sig_runs % 2), "final wait returned %d, want %d", n,
	      NFD + (int)(sig_runs % 2));
	return failures ? 1 : 0;
}

/*
 * A deferred op the kernel refuses.  A DEL made behind the shim's back
 * (raw_syscall) leaves the mirror believing fd REFUSED_FD is registered, so
 * its next MOD is deferred, returns 0 and fails in the batch (natively it is
 * ENOENT: the one answer allowed to differ, the shim cannot know).  The
 * failure must be pinned on that op alone: its fd becomes unknown, so its
 * later MOD is ENOENT and its re-ADD works, while every other fd of the same
 * batches keeps batching and reporting its events (t-shim-checks.sh checks
 * the counters: mispredicted=1, and only that fd's later ops passed through).
 */
#define REFUSED_FD 37
static int refused(void)
{
	static int sv[NFD][2];
	struct epoll_event out[NFD + 1];
	int ep = setup_rearm(sv), n, rc, gone = 0;

	if (!RAW_SYSCALL_HIDDEN) {
		printf("shim-check refused: no syscall past libc here (x86_64 only)\n");
		return 77;
	}
	for (int r = 0; r < 40; r++) {
		n = epoll_wait(ep, out, NFD + 1, 1000);
		CHECK(n == NFD - gone, "round %d: %d events, want %d", r, n, NFD - gone);
		if (r == 10) {
			CHECK(raw_syscall(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, sv[REFUSED_FD][0], 0) == 0,
			      "hidden DEL failed");
			gone = 1;
		}
		for (int i = 0; i < n; i++) {
			unsigned k = out[i].data.u32;

			if (k >= NFD) {
				CHECK(0, "round %d: event for %u", r, k);
				continue;
			}
			CHECK(!(r > 10 && gone && k == REFUSED_FD), "round %d: event for %u", r, k);
			rc = ctl(ep, EPOLL_CTL_MOD, sv[k][0], EPOLLIN | EPOLLONESHOT, k);
			/* the MOD after the hidden DEL: 0 under a batching shim */
			CHECK(rc == 0 || (r == 10 && k == REFUSED_FD && errno == ENOENT),
			      "round %d: MOD of %u: %s", r, k, strerror(errno));
		}
		if (r == 20) {
			/* the mirror learnt the fd is unknown: the kernel decides */
			ctl_expect(ep, EPOLL_CTL_MOD, sv[REFUSED_FD][0], EPOLLIN, REFUSED_FD, ENOENT);
			ctl_expect(ep, EPOLL_CTL_ADD, sv[REFUSED_FD][0], EPOLLIN | EPOLLONESHOT,
				   REFUSED_FD, 0);
			gone = 0;
		}
	}
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "coalesce") == 0)
		return coalesce();
	if (argc == 3 && strcmp(argv[1], "unshare") == 0)
		return unshare_check(argv[2]);
	if (argc == 2 && strcmp(argv[1], "closerange") == 0)
		return closerange();
	if (argc == 2 && strcmp(argv[1], "workers") == 0)
		return workers(0);
	if (argc == 3 && strcmp(argv[1], "workers") == 0 && strcmp(argv[2], "unshare") == 0)
		return workers(1);
	if (argc == 2 && strcmp(argv[1], "forkreap") == 0)
		return forkreap();
	if (argc == 3 && strcmp(argv[1], "forkepoll") == 0)
		return forkepoll(strcmp(argv[2], "keep") == 0);
	if (argc == 2 && strcmp(argv[1], "grow") == 0)
		return grow();
	if (argc == 2 && strcmp(argv[1], "shrink") == 0)
		return shrink();
	if (argc == 2 && strcmp(argv[1], "sighandler") == 0)
		return sighandler();
	if (argc == 2 && strcmp(argv[1], "forkcalib") == 0)
		return forkcalib();
	if (argc == 2 && strcmp(argv[1], "refused") == 0)
		return refused();
	fprintf(stderr, "usage: shim-check coalesce | unshare private|shared | closerange | workers [unshare] | forkreap | forkepoll closed|keep | grow | shrink | sighandler | forkcalib | refused\n");
	return 2;
}
