/* SPDX-License-Identifier: MIT */
/*
 * A seeded random walk through epoll operations.  Every other scenario pins
 * down sequences someone thought of; a shim that defers, coalesces and
 * predicts epoll_ctl is most likely wrong in one nobody wrote down: a MOD
 * queued behind a dup2, an EEXIST decided by a registration only a dup keeps
 * alive, a batch cut by a fork, a readiness change between a queued ADD and
 * the wait, one thread's queued op and another thread's close.  This
 * scenario makes thousands of such interleavings from a fixed list of seeds
 * -- non-blocking waits only, every readiness change synchronous (eventfds,
 * pipes, UNIX sockets), and two threads that never run at once, so the
 * transcript is the same from run to run -- and lets the runner diff them.
 *
 * Each seed: two primed epoll instances, a pool of eventfds, pipe ends and
 * socket ends (p0..p9) and up to three dups of them (d0..d2), then bursts of
 * random operations (epoll_ctl, right and wrong; readiness changes; close,
 * reopen, dup, dup2/dup3, close_range over a few numbers, closefrom;
 * nesting; a new instance; fork), each burst ended by a wait.  Some of the
 * calls go through libc's syscall() instead of their libc function (the
 * shim must see both), printed as the libc call is.
 *
 * A second thread (B) takes the walk over now and then and hands it back
 * (a baton: exactly one of the two runs steps at a time), often right after
 * an op the shim may hold queued, so that ops one thread queued meet the
 * other thread's epoll_ctl, close, dup2, close_range and waits; the first
 * steps after a switch often go for the fd of the other thread's last op.
 * Its lines are headed "B: ".  Each thread is the event loop of one
 * instance (A ep0, B ep1) and mostly keeps to it, so that both defer at
 * once; an instance the other thread waited on or changed is one the shim
 * stops deferring on for good, and its thread replaces it when it takes
 * the walk back (nested ones, and those a fork child changed, are replaced
 * too).
 *
 * A step prints a line (a few for some), headed by its number within the
 * seed.  To reproduce and cut down a difference: C_RANDOM_SEEDS=7 (or
 * "3,7,11") runs only those seeds and C_RANDOM_STEPS=N cuts every seed to N
 * steps.  Every seed starts from the same fd table, so a seed alone prints
 * what it printed among the others, and fewer steps print a prefix of the
 * same walk.
 */
#include "transcript.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NPOOL 10
#define NDUP 3
#define NNAME (NPOOL + NDUP)
#define MAX_POOL_CLOSED 4
#define DEFAULT_STEPS 1500
#define MAX_SEEDS 256
/* Peers (the ends that drive a pool fd's readiness) live from here up, out
 * of the numbers the walk closes, dups onto and reuses. */
#define PEER_BASE 512
#define NFILES 64
/* Small waits repeat until every ready fd is in the union: this bounds the
 * number of ready registrations one instance can hold in a walk (pool and
 * dup names, times the few numbers a file is registered under). */
#define UNION_MAX 256
/* Percent of the calls that have a syscall() form made that way. */
#define SYS_PCT 15
/* Per step, the chance that an instance the shim stopped deferring on is
 * replaced.  With two threads that happens often (one thread's op or wait
 * on the other's instance), and deferral, which the threads' paths need,
 * would otherwise be rare. */
#define RENEW_PCT 25
/* Per step, while the thread may have ops queued (maybe_queued), the chance
 * of a switch, besides the switch step's own weight: about as many switches
 * again, most of them handing over a queue with ops in it. */
#define SWITCH_QUEUED_PCT 4
/* close_range covers up to this many consecutive numbers; closefrom closes
 * up to this many names (and every peer: they are above). */
#define SPAN_MAX 3

/* The last four are walks that found a bug (each scenario named has it by
 * hand, but 14): 14, a DEL of a learnt fd deferred with its instance id
 * dropped (predict() keeps it; caught in review, not released); 43,
 * dup2(fd, fd) wiping fd's queued op from the mirror (c-dup);
 * 222, close_range missing a dup the mirror learnt only from its ADD
 * (c-close-range); 617, one thread's ADD of a file to its own instance
 * taking the slot of an fd whose DEL sat in another thread's queue
 * (c-xthread-move). */
static const uint64_t default_seeds[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 43, 222, 617 };

enum kind { K_EFD, K_PIPE_R, K_PIPE_W, K_SOCK, NKIND };
static const char *const kind_name[NKIND] = {
	"eventfd", "pipe read end", "pipe write end", "socket",
};

/*
 * What the walk knows of its own fds, so that it picks meaningful targets
 * and keeps peers alive exactly as long as their file: a file is referred to
 * by one or more low fd numbers (a dup, a dup2 onto another name), and a
 * name is one of those numbers.  Registrations are not modelled: what the
 * kernel says about them is the point of the transcript.
 */
struct file {
	int used, kind, peer, refs;
};

struct name {
	char s[4];
	int fd;		/* -1: closed */
	int last;	/* the number it had, for operations on a closed name */
};

static struct file files[NFILES];
static int num_file[PEER_BASE];
static struct name names[NNAME];
static int ep[2], reg;
static const char *const epname[2] = { "ep0", "ep1" };
/*
 * What the kernel last said about (instance, name): 0 not registered, 1
 * registered, 2 registered with EPOLLEXCLUSIVE (a MOD is EINVAL).  Only a
 * bias for the next op: most ops should succeed, because an op the shim
 * expects to fail goes to the kernel at once and ends the batch.
 */
static unsigned char hint[2][NNAME];
/*
 * Set when the walk did what makes the shim stop deferring on an instance
 * for good (docs/shim.md: the epoll fd named as the target of an epoll_ctl,
 * a fork child's epoll_ctl on an inherited instance, the other thread's
 * wait or op on it: waiter below).  Such an instance is
 * soon replaced by a new one, so that most of the walk runs where the shim
 * defers.  Only what the walk covers depends on it, not what it prints.
 */
static int tainted[2];
/*
 * Which thread the shim takes for an instance's only waiter (0: A, 1: B),
 * or W_SHARED once the other thread waited on it or changed it (the shim
 * then stops deferring on it for good: docs/shim.md, "Waiters and
 * ownership").  Like tainted, it steers only what the walk covers.
 */
#define W_SHARED 2
static int waiter[2];
static sigset_t wait_mask;
static char pfx[32];
static uint64_t rng;

/*
 * The baton: the thread whose turn it is runs walk steps, the other sleeps
 * in baton_wait(), so every line and every call comes in one order, as
 * from one thread.  walk_over releases both at the end.
 */
static pthread_mutex_t baton_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t baton_cv = PTHREAD_COND_INITIALIZER;
static int baton, walk_over;
static __thread int self;	/* 0: A, the main thread; 1: B */
static const char *const thread_pfx[2] = { "", "B: " };
/* The walk's position, shared by the two threads: steps made, the seed's
 * length, ops left in the current burst before its wait (-1: none begun). */
static int done, steps, burst;
/*
 * The name and instance of the last epoll_ctl that succeeded on an open
 * name: an op the shim may hold queued when the thread that made it hands
 * the walk over.  The other thread's first step then often goes for it
 * (follow: step_follow), or it would mostly find the queue flushed by its
 * owner's next wait.
 */
static struct name *last_ctl;
static int last_ctl_ep, follow;
/* Set by such an op on an instance the shim lets this thread defer on,
 * cleared by its next wait (which flushes its queue): a switch is likelier
 * then, and hands the other thread a queue with something in it. */
static int maybe_queued;

/*
 * Numbers that were open when the program started (inherited: a jobserver
 * pipe, a harness's fd; under the shim, the shim's own, if any), in order.
 * They are not the walk's to close: close_range and closefrom go around
 * them, and a span counts only the other numbers, so that a seed makes the
 * same steps whatever the program inherited (the kernel hands the walk the
 * same numbers in the same order, only some of them further up).
 */
#define MAX_FOREIGN 64
static int foreign[MAX_FOREIGN], nforeign;

/* xorshift64*, seeded through splitmix64 so that seeds 1, 2, 3 diverge. */
static void rng_seed(uint64_t seed)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	rng = (z ^ (z >> 31)) | 1;
}

static unsigned below(unsigned n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

static int chance(unsigned pct)
{
	return below(100) < pct;
}

static void model_fail(const char *what) __attribute__((noreturn));
static void model_fail(const char *what)
{
	errno = EINVAL;
	t_die(what);
}

/* A transcript line headed by the step's prefix. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t_log("%s%s", pfx, line);
}

static long res(const char *what, long rc)
{
	char line[512];
	int e = errno;

	snprintf(line, sizeof(line), "%s%s", pfx, what);
	errno = e;
	return t_res(line, rc);
}

/* ---- the libc call, or the same call through syscall() ---- */

/* The shim interposes libc's syscall() for these numbers as it does the
 * functions (libuv closes through it): both ways must look the same. */
static int use_sys(void)
{
	return chance(SYS_PCT);
}

static int x_close(int fd)
{
	return use_sys() ? (int)syscall(SYS_close, fd) : close(fd);
}

static int x_dup(int fd)
{
	return use_sys() ? (int)syscall(SYS_dup, fd) : dup(fd);
}

static int x_dup2(int fd, int to)
{
#ifdef SYS_dup2
	if (use_sys())
		return (int)syscall(SYS_dup2, fd, to);
#endif
	return dup2(fd, to);
}

static int x_dup3(int fd, int to, int flags)
{
	return use_sys() ? (int)syscall(SYS_dup3, fd, to, flags) : dup3(fd, to, flags);
}

static int is_foreign(int fd)
{
	for (int i = 0; i < nforeign; i++)
		if (foreign[i] == fd)
			return 1;
	return 0;
}

/* close_range(lo, hi, 0) around the foreign numbers in [lo, hi]: one call,
 * or one per run of the walk's numbers.  0, or the first failure. */
static int close_around(unsigned lo, unsigned hi, int sys)
{
	unsigned a = lo;

	for (int i = 0; i <= nforeign; i++) {
		unsigned f = i < nforeign ? (unsigned)foreign[i] : 0, b = hi;
		int rc = 0;

		if (i < nforeign && f < a)
			continue;
		if (i < nforeign && f <= hi)
			b = f - 1;
		if (a <= b)
			rc = sys ? (int)syscall(SYS_close_range, a, b, 0) : close_range(a, b, 0);
		if (rc < 0 || i == nforeign || f >= hi)
			return rc;
		a = f + 1;
	}
	return 0;
}

static int x_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	return use_sys() ? (int)syscall(SYS_epoll_ctl, epfd, op, fd, ev) :
			   epoll_ctl(epfd, op, fd, ev);
}

/* ---- the fd model ---- */

static int file_new(int kind, int peer)
{
	for (int f = 0; f < NFILES; f++) {
		if (!files[f].used) {
			files[f] = (struct file){ .used = 1, .kind = kind, .peer = peer };
			return f;
		}
	}
	model_fail("out of file slots");
}

static void num_set(int fd, int f)
{
	if (fd < 0 || fd >= PEER_BASE)
		model_fail("fd number out of the walk's range");
	num_file[fd] = f;
	files[f].refs++;
}

/* fd's number no longer refers to its file: the last reference takes the
 * file, and its peer goes with it. */
static void num_drop(int fd)
{
	int f = num_file[fd];

	if (f < 0)
		model_fail("dropping a number the model does not hold");
	num_file[fd] = -1;
	if (--files[f].refs > 0)
		return;
	if (files[f].peer >= 0 && close(files[f].peer) < 0)
		t_die("close of a peer");
	files[f].used = 0;
}

static int move_high(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, PEER_BASE);

	if (h < 0 || close(fd) < 0)
		t_die("moving a peer out of the low numbers");
	return h;
}

/*
 * A new pool file; the peer is moved high.  Pipes are one page and socket
 * send buffers minimal, so "fill" is a few writes.
 */
static int file_open(int kind)
{
	int p[2], fd, peer = -1, one = 1;

	switch (kind) {
	case K_EFD:
		fd = t_eventfd(below(2));
		break;
	case K_PIPE_R:
	case K_PIPE_W:
		t_pipe(p);
		if (fcntl(p[0], F_SETPIPE_SZ, 4096) < 0)
			t_die("F_SETPIPE_SZ");
		/* Each end stays where pipe2 put it: a dup is an fd the shim
		 * knows less about (an older registration of its file may
		 * survive under it), and defers less on. */
		fd = kind == K_PIPE_R ? p[0] : p[1];
		peer = move_high(kind == K_PIPE_R ? p[1] : p[0]);
		break;
	default:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) < 0)
			t_die("socketpair");
		if (setsockopt(p[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)) < 0 ||
		    setsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)) < 0)
			t_die("SO_SNDBUF");
		fd = p[0];
		peer = move_high(p[1]);
		break;
	}
	num_set(fd, file_new(kind, peer));
	return fd;
}

static struct name *pick(int want_open)
{
	int cand[NNAME] = { 0 }, n = 0;

	for (int i = 0; i < NNAME; i++)
		if (want_open ? names[i].fd >= 0 : names[i].fd < 0 && names[i].last >= 0)
			cand[n++] = i;
	return n ? &names[cand[below((unsigned)n)]] : NULL;
}

/* A name usually open, now and then closed (its old number: EBADF, or
 * whatever file took the number since). */
static struct name *pick_any(void)
{
	struct name *n = chance(6) ? pick(0) : NULL;

	return n ? n : pick(1);
}

static int name_fd(const struct name *n)
{
	return n->fd >= 0 ? n->fd : n->last;
}

static struct file *name_file(const struct name *n)
{
	return &files[num_file[n->fd]];
}

static int pool_closed(void)
{
	int c = 0;

	for (int i = 0; i < NPOOL; i++)
		c += names[i].fd < 0;
	return c;
}

/* ---- epoll_ctl ---- */

static const char *op_name(int op, char *buf, size_t len)
{
	switch (op) {
	case EPOLL_CTL_ADD: return "ADD";
	case EPOLL_CTL_MOD: return "MOD";
	case EPOLL_CTL_DEL: return "DEL";
	default:
		snprintf(buf, len, "op %d", op);
		return buf;
	}
}

/* The thread that runs the walk waits on epfd, or changes what it holds:
 * the first thread to wait on an instance is its only waiter, any other
 * thread's wait or epoll_ctl makes it shared. */
static void ep_used(int epfd)
{
	for (int i = 0; i < 2; i++) {
		if (epfd == ep[i] && waiter[i] != self) {
			waiter[i] = W_SHARED;
			tainted[i] = 1;
		}
	}
}

/* t_ctl with the step's prefix; nullev passes a NULL event pointer. */
static int ctl(int epfd, const char *epn, int op, int fd, const char *fdn,
	       uint32_t events, uint64_t data, int nullev)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	char what[256], o[16];
	int rc = x_epoll_ctl(epfd, op, fd, nullev ? NULL : &ev);
	int e = errno;

	for (int i = 0; i < 2; i++)
		tainted[i] |= fd == ep[i];
	ep_used(epfd);

	if (nullev) {
		snprintf(what, sizeof(what), "epoll_ctl(%s, %s, %s, NULL)", epn,
			 op_name(op, o, sizeof(o)), fdn);
	} else {
		char m[128];

		snprintf(what, sizeof(what), "epoll_ctl(%s, %s, %s, %s, %llu)", epn,
			 op_name(op, o, sizeof(o)), fdn, t_mask(events, m, sizeof(m)),
			 (unsigned long long)data);
	}
	errno = e;
	return (int)res(what, rc);
}

/* EXCLUSIVE is valid only with ADD and IN/OUT/ET/WAKEUP: elsewhere EINVAL. */
static uint32_t rand_mask(void)
{
	uint32_t m = 0;

	if (chance(4))
		return 0;
	if (chance(75))
		m |= EPOLLIN;
	if (chance(40))
		m |= EPOLLOUT;
	if (chance(20))
		m |= EPOLLET;
	if (chance(15))
		m |= EPOLLONESHOT;
	if (chance(15))
		m |= EPOLLRDHUP;
	if (chance(5))
		m |= EPOLLEXCLUSIVE;
	if (chance(3))
		m |= EPOLLWAKEUP;
	return m;
}

/* Tags: a random hundreds part, and which name made the registration. */
static uint64_t rand_tag(int who)
{
	return 100 * (uint64_t)(1 + below(99)) + (uint64_t)who;
}

static int rand_op(int h)
{
	unsigned r = below(100);

	if (h == 1)
		return r < 65 ? EPOLL_CTL_MOD : r < 87 ? EPOLL_CTL_DEL : EPOLL_CTL_ADD;
	if (h == 2)
		return r < 70 ? EPOLL_CTL_DEL : r < 85 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	return r < 75 ? EPOLL_CTL_ADD : r < 88 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
}

static void hint_learn(int e, int who, int op, uint32_t m, int rc)
{
	unsigned char *h = &hint[e][who];

	if (rc == 0)
		*h = op == EPOLL_CTL_DEL ? 0 : op == EPOLL_CTL_ADD && (m & EPOLLEXCLUSIVE) ? 2 : 1;
	else if (errno == EEXIST && !*h)
		*h = 1;
	else if (errno == ENOENT || errno == EBADF)
		*h = 0;
	else if (errno == EINVAL && op == EPOLL_CTL_MOD && !(m & EPOLLEXCLUSIVE))
		*h = 2;
}

static void hint_forget(const struct name *n)
{
	hint[0][n - names] = hint[1][n - names] = 0;
}

/* Each name has a home instance: an fd registered in both is one the shim
 * no longer predicts, and sends to the kernel. */
static int home(const struct name *n)
{
	return (n - names) % 2;
}

/*
 * Each thread has a home instance too, its event loop: A ep0, B ep1.  Its
 * waits and ops mostly go there, so that both threads defer at once, each
 * on its own instance, and their queues meet where they share an fd (an
 * op, a close, a dup2 on an fd the other has an op queued on) more often
 * than where one thread's op or wait on the other's instance makes it
 * shared and ends deferral on it.
 */
static struct name *pick_ctl(void)
{
	struct name *n = pick_any();
	int cand[NNAME] = { 0 }, k = 0;

	if (home(n) == self || !chance(75))
		return n;
	for (int i = 0; i < NNAME; i++)
		if (names[i].fd >= 0 && home(&names[i]) == self)
			cand[k++] = i;
	return k ? &names[cand[below((unsigned)k)]] : n;
}

/* n in instance e: an op the hint makes likely to succeed. */
static void ctl_name(struct name *n, int e)
{
	int who = (int)(n - names), op = rand_op(n->fd >= 0 ? hint[e][who] : 0), rc;
	/* DEL ignores the event; now and then it carries garbage. */
	uint32_t m = op == EPOLL_CTL_DEL && chance(75) ? 0 : rand_mask();
	uint64_t tag = op == EPOLL_CTL_DEL && m == 0 ? 0 : rand_tag(who);

	rc = ctl(ep[e], epname[e], op, name_fd(n), n->s, m, tag, 0);
	if (n->fd < 0)
		return;
	hint_learn(e, who, op, m, rc);
	if (rc == 0) {
		last_ctl = n;
		last_ctl_ep = e;
		maybe_queued |= waiter[e] == self && !tainted[e];
	}
}

static void step_ctl(void)
{
	struct name *n = pick_ctl();

	ctl_name(n, home(n) ^ chance(8));
}

/* An epoll fd in the other: waits then see the inner one as IN.  The reverse
 * of an existing nesting is ELOOP.  (The shim stops deferring on an epoll
 * fd named as the target of any epoll_ctl: mostly ep1, which is renewed
 * more often.) */
static void step_nest(void)
{
	int o = chance(85) ? 0 : 1, i = 1 - o, op = rand_op(0);
	uint32_t m = rand_mask();

	ctl(ep[o], epname[o], op, ep[i], epname[i], m, rand_tag(20 + i), 0);
}

/* Calls whose error the kernel decides, in its own order of checks. */
static void step_bad(void)
{
	int e = chance(70) ? 0 : 1, op = rand_op((int)below(3)), who;
	struct name *n = pick(1), *c;

	who = (int)(n - names);
	switch (below(8)) {
	case 0:
		c = pick(0);
		if (c) {
			ctl(ep[e], epname[e], op, c->last, c->s, rand_mask(),
			    rand_tag((int)(c - names)), 0);
			break;
		}
		/* fall through - nothing is closed just now */
	case 1:
		for (int i = 0; i < 2; i++) {
			uint32_t m = rand_mask();

			hint_learn(e, who, EPOLL_CTL_ADD, m,
				   ctl(ep[e], epname[e], EPOLL_CTL_ADD, n->fd, n->s, m,
				       rand_tag(who), 0));
		}
		break;
	case 2:
		ctl(ep[e], epname[e], op, ep[e], epname[e], rand_mask(), rand_tag(20 + e), 0);
		break;
	case 3:
		c = pick(1);
		ctl(n->fd, n->s, op, c->fd, c->s, rand_mask(), rand_tag((int)(c - names)), 0);
		break;
	case 4:
		ctl(ep[e], epname[e], op, reg, "reg", rand_mask(), rand_tag(30), 0);
		break;
	case 5:
		hint_learn(e, who, EPOLL_CTL_DEL, 0,
			   ctl(ep[e], epname[e], EPOLL_CTL_DEL, n->fd, n->s, 0, 0, 1));
		break;
	case 6:
		ctl(ep[e], epname[e], chance(50) ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, n->fd,
		    n->s, 0, 0, 1);
		break;
	default:
		ctl(ep[e], epname[e], chance(50) ? 0 : 4, n->fd, n->s, rand_mask(),
		    rand_tag(who), 0);
		break;
	}
}

/* ---- readiness ---- */

/* Read until empty: 0 at end of file, else -1 with errno (EAGAIN: empty). */
static long drain(int fd)
{
	char buf[4096];

	for (int i = 0; i < 1024; i++) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			return r;
	}
	errno = EOVERFLOW;
	return -1;
}

/* Write until full: -1 with errno (EAGAIN: full; EPIPE: no reader). */
static long fill(int fd)
{
	static const char buf[4096];

	for (int i = 0; i < 1024; i++)
		if (write(fd, buf, sizeof(buf)) < 0)
			return -1;
	errno = EOVERFLOW;
	return -1;
}

/*
 * What drives a pool file's readiness: its peer, or the file itself.  A
 * pipe end takes only what applies to it; the rest fail in ways the
 * transcript shows (EPIPE, EOF, ECONNRESET).
 */
enum act { A_PEER_WRITE, A_DRAIN, A_FILL, A_PEER_DRAIN, A_PEER_SHUT, A_SHUT, A_PEER_CLOSE };
static const char *const act_name[] = {
	"peer write 1", "drain", "fill", "peer drain", "peer shutdown(SHUT_WR)",
	"shutdown(SHUT_WR)", "close peer",
};
static const unsigned act_weight[] = { 30, 25, 15, 18, 5, 4, 3 };

static int act_applies(const struct file *f, int a)
{
	if (f->peer < 0 && (a == A_PEER_WRITE || a == A_PEER_DRAIN || a == A_PEER_SHUT ||
			    a == A_PEER_CLOSE))
		return 0;
	if (f->kind == K_PIPE_R)
		return a == A_PEER_WRITE || a == A_DRAIN || a == A_PEER_CLOSE;
	if (f->kind == K_PIPE_W)
		return a == A_FILL || a == A_PEER_DRAIN || a == A_PEER_CLOSE;
	return 1;
}

static void step_ready(void)
{
	struct name *n = pick(1);
	struct file *f = name_file(n);
	unsigned total = 0, r;
	char what[64];
	eventfd_t v;
	long rc;
	int a;

	if (f->kind == K_EFD) {
		if (chance(55)) {
			snprintf(what, sizeof(what), "%s: eventfd_write 1", n->s);
			res(what, eventfd_write(n->fd, 1));
		} else {
			snprintf(what, sizeof(what), "%s: eventfd_read", n->s);
			res(what, eventfd_read(n->fd, &v));
		}
		return;
	}
	for (a = A_PEER_WRITE; a <= A_PEER_CLOSE; a++)
		total += act_applies(f, a) ? act_weight[a] : 0;
	r = below(total);
	for (a = A_PEER_WRITE; a < A_PEER_CLOSE; a++) {
		unsigned w = act_applies(f, a) ? act_weight[a] : 0;

		if (r < w)
			break;
		r -= w;
	}
	switch (a) {
	case A_PEER_WRITE:
		rc = write(f->peer, "x", 1);
		break;
	case A_DRAIN:
		rc = drain(n->fd);
		break;
	case A_FILL:
		rc = fill(n->fd);
		break;
	case A_PEER_DRAIN:
		rc = drain(f->peer);
		break;
	case A_PEER_SHUT:
		rc = shutdown(f->peer, SHUT_WR);
		break;
	case A_SHUT:
		rc = shutdown(n->fd, SHUT_WR);
		break;
	default:
		rc = close(f->peer);
		f->peer = -1;
		break;
	}
	snprintf(what, sizeof(what), "%s: %s", n->s, act_name[a]);
	res(what, rc);
}

/* ---- the fd table ---- */

static void step_reopen(void);

/* Whether closing n would leave too few pool names open. */
static int keep_open(const struct name *n)
{
	return pool_closed() >= MAX_POOL_CLOSED && n < names + NPOOL;
}

static void close_name(struct name *n)
{
	char what[32];
	int fd = n->fd;

	snprintf(what, sizeof(what), "close(%s)", n->s);
	if (res(what, x_close(fd)) == 0) {
		num_drop(fd);
		n->fd = -1;
		hint_forget(n);
	}
}

static void step_close(void)
{
	struct name *n = pick(1);

	if (keep_open(n))
		step_reopen();
	else
		close_name(n);
}

/* A new file of any kind on a closed pool name: the number it takes must be
 * the one the kernel gives without the shim. */
static void step_reopen(void)
{
	struct name *n = NULL;
	int kind = (int)below(NKIND);

	for (int i = 0, k = 0; i < NPOOL; i++)
		if (names[i].fd < 0 && below((unsigned)++k) == 0)
			n = &names[i];
	if (!n) {
		step_close();
		return;
	}
	n->fd = file_open(kind);
	hint_forget(n);
	say("%s = new %s, same number: %s", n->s, kind_name[kind], n->fd == n->last ? "yes" : "no");
	n->last = n->fd;
}

/* A second number for a file, so that its registration can outlive the
 * name it was made under. */
static void step_dup(void)
{
	struct name *s = pick(1), *d = NULL;
	char what[32];
	int fd;

	for (int i = NPOOL, k = 0; i < NNAME; i++)
		if (names[i].fd < 0 && below((unsigned)++k) == 0)
			d = &names[i];
	if (!d) {
		d = &names[NPOOL + below(NDUP)];
		snprintf(what, sizeof(what), "close(%s)", d->s);
		if (res(what, x_close(d->fd)) == 0) {
			num_drop(d->fd);
			d->fd = -1;
			hint_forget(d);
		}
		return;
	}
	fd = x_dup(s->fd);
	if (fd < 0) {
		snprintf(what, sizeof(what), "dup(%s)", s->s);
		res(what, fd);
		return;
	}
	say("%s = dup(%s)", d->s, s->s);
	hint_forget(d);
	num_set(fd, num_file[s->fd]);
	d->fd = d->last = fd;
}

/* dup2/dup3 onto another open name: its old file is closed under any
 * registration it had (unless the same file is still open elsewhere). */
static void dup2_onto(struct name *s, struct name *d)
{
	int use3 = chance(40), rc;

	if (s == d) {
		say("%s(%s, %s) == %s: %s", "dup2", s->s, d->s, d->s,
		    x_dup2(s->fd, d->fd) == d->fd ? "yes" : "no");
		return;
	}
	rc = use3 ? x_dup3(s->fd, d->fd, chance(50) ? O_CLOEXEC : 0) : x_dup2(s->fd, d->fd);
	say("%s(%s, %s) == %s: %s", use3 ? "dup3" : "dup2", s->s, d->s, d->s,
	    rc == d->fd ? "yes" : "no");
	if (rc == d->fd) {
		int f = num_file[s->fd], old = d->fd;

		num_drop(old);
		num_set(old, f);
		hint_forget(d);
	}
}

static void step_dup2(void)
{
	struct name *s = pick(1);

	dup2_onto(s, pick(1));
}

/* A new epoll fd for ep[e], whose number (old) was just closed: it should
 * take the same number.  Primed: the thread that runs the walk is its only
 * waiter, and the shim defers on it again. */
static void ep_remake(int e, int old)
{
	char what[64];

	ep[e] = t_epoll();
	tainted[e] = 0;
	waiter[e] = self;
	memset(hint[e], 0, sizeof(hint[e]));
	say("%s = new epoll fd, same number: %s", epname[e], ep[e] == old ? "yes" : "no");
	snprintf(what, sizeof(what), "%sepoll_wait(%s, 8, 0)", pfx, epname[e]);
	t_wait(what, ep[e], 8, 0);
}

/*
 * Close an epoll fd (its registrations go with it; nested, it leaves the
 * outer one) and make a new one: the shim stops deferring on an instance
 * for good once it was nested, shared with a fork child or with the other
 * thread, and a new one makes it defer again.
 */
static void step_renew(int e)
{
	char what[64];

	snprintf(what, sizeof(what), "close(%s)", epname[e]);
	if (res(what, x_close(ep[e])) == 0)
		ep_remake(e, ep[e]);
}

/* The walk's name of number fd ("-": none), for close_range's line. */
static const char *fd_label(int fd)
{
	for (int i = 0; i < NNAME; i++)
		if (names[i].fd == fd)
			return names[i].s;
	for (int e = 0; e < 2; e++)
		if (ep[e] == fd)
			return epname[e];
	return "-";
}

/* The model after close_range/closefrom closed fd: a name's number drops
 * its file (peer too, on its last number); an epoll fd is made again by
 * the caller, which returns 1 for it. */
static int closed_under(int fd)
{
	for (int i = 0; i < NNAME; i++) {
		if (names[i].fd == fd) {
			num_drop(fd);
			names[i].fd = -1;
			hint_forget(&names[i]);
			return 0;
		}
	}
	return fd == ep[0] || fd == ep[1];
}

/*
 * close_range(lo, hi, 0) over up to SPAN_MAX consecutive numbers from one
 * of the walk's own (a name, an epoll fd), with the free numbers between
 * them: never reg, stdio, a peer (they are far above) or a number that was
 * open when the program started.  Ops are queued on most of them.
 */
static void close_range_from(int lo)
{
	int more = (int)below(SPAN_MAX), hi = lo, remake[2] = { 0, 0 };
	char line[128];
	size_t off;

	for (int fd = lo + 1; more > 0 && fd != reg && fd < PEER_BASE; fd++) {
		hi = fd;
		more -= !is_foreign(fd);
	}
	off = (size_t)snprintf(line, sizeof(line), "close_range({%s", fd_label(lo));
	for (int fd = lo + 1; fd <= hi; fd++)
		if (!is_foreign(fd))
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s", fd_label(fd));
	snprintf(line + off, sizeof(line) - off, "}, 0)");
	if (res(line, close_around((unsigned)lo, (unsigned)hi, use_sys())) < 0)
		return;
	for (int fd = lo; fd <= hi; fd++)
		if (closed_under(fd))
			remake[fd == ep[1]] = fd;
	for (int e = 0; e < 2; e++)
		if (remake[e])
			ep_remake(e, remake[e]);
}

static void step_close_range(void)
{
	int cand[NNAME + 2], nc = 0;

	if (pool_closed() >= MAX_POOL_CLOSED) {
		step_reopen();
		return;
	}
	for (int i = 0; i < NNAME; i++)
		if (names[i].fd >= 0)
			cand[nc++] = names[i].fd;
	cand[nc++] = ep[0];
	cand[nc++] = ep[1];
	close_range_from(cand[below((unsigned)nc)]);
}

/*
 * closefrom(lo) from one of the walk's names on: every name from there up
 * (up to SPAN_MAX of them), and every peer (they live above), which is a
 * readiness change for every pool file left open (HUP, EOF, EPIPE).  lo is
 * above the epoll fds and reg.  Sometimes as syscall(SYS_close_range, lo,
 * ~0U, 0), which is what glibc's closefrom makes; with a foreign number
 * above lo, as close_range calls around it.
 */
static void step_closefrom(void)
{
	int fds[NNAME], n = 0, k, lo, sys, floor = ep[0] > ep[1] ? ep[0] : ep[1];
	char line[128];
	size_t off;

	if (reg > floor)
		floor = reg;
	for (int i = 0; i < NNAME; i++)
		if (names[i].fd > floor)
			fds[n++] = names[i].fd;
	if (pool_closed() >= MAX_POOL_CLOSED || n == 0) {
		step_close_range();
		return;
	}
	/* from the highest down: lo = fds[k] closes k + 1 names */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] < fds[j]; j--) {
			int t = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	k = (int)below((unsigned)(n < SPAN_MAX ? n : SPAN_MAX));
	lo = fds[k];
	off = (size_t)snprintf(line, sizeof(line), "closefrom(%s): closes", fd_label(lo));
	for (int i = k; i >= 0; i--)
		off += (size_t)snprintf(line + off, sizeof(line) - off, " %s", fd_label(fds[i]));
	snprintf(line + off, sizeof(line) - off, " and every peer");
	/* The peers go with it: the model forgets them first, so that a file
	 * closed below does not close its peer again. */
	for (int f = 0; f < NFILES; f++)
		files[f].peer = -1;
	sys = use_sys();
	if (nforeign && foreign[nforeign - 1] > lo) {
		if (close_around((unsigned)lo, ~0U, sys) < 0)
			t_die("close_range around the numbers open at the start");
	} else if (sys) {
		if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0) < 0)
			t_die("syscall(SYS_close_range, lo, ~0U, 0)");
	} else {
		closefrom(lo);
	}
	say("%s", line);
	for (int i = 0; i <= k; i++)
		closed_under(fds[i]);
}

/* ---- waits ---- */

/* The raw forms take the kernel's sigset size. */
#define KSIGSET (_NSIG / 8)

/* sys: through syscall(), chosen once per step: how many waits a union
 * takes is not the walk's to decide (small_waits), so it draws nothing. */
static int do_wait(int kind, int epfd, struct epoll_event *ev, int max, int nomask, int sys)
{
	static const struct timespec zero = { 0, 0 };
	const sigset_t *mask = nomask ? NULL : &wait_mask;
	int rc;

	ep_used(epfd);
	maybe_queued = 0;
	switch (kind) {
	case 0:
#ifdef SYS_epoll_wait
		if (sys)
			return (int)syscall(SYS_epoll_wait, epfd, ev, max, 0);
#endif
		return epoll_wait(epfd, ev, max, 0);
	case 1:
		if (sys)
			return (int)syscall(SYS_epoll_pwait, epfd, ev, max, 0, &wait_mask, KSIGSET);
		return epoll_pwait(epfd, ev, max, 0, &wait_mask);
	default:
		rc = sys ? (int)syscall(SYS_epoll_pwait2, epfd, ev, max, &zero, mask, KSIGSET) :
			   epoll_pwait2(epfd, ev, max, &zero, mask);
		/* a kernel without it: the same wait another way, same line */
		if (rc < 0 && errno == ENOSYS)
			rc = epoll_pwait(epfd, ev, max, 0, mask);
		return rc;
	}
}

static void wait_label(char *buf, size_t len, int kind, int e, int max, int nomask)
{
	switch (kind) {
	case 0:
		snprintf(buf, len, "%sepoll_wait(%s, %d, 0)", pfx, epname[e], max);
		break;
	case 1:
		snprintf(buf, len, "%sepoll_pwait(%s, %d, 0, &mask)", pfx, epname[e], max);
		break;
	default:
		snprintf(buf, len, "%sepoll_pwait2(%s, %d, {0, 0}, %s)", pfx, epname[e], max,
			 nomask ? "NULL" : "&mask");
		break;
	}
}

/*
 * With maxevents below the number of ready fds, which fds one wait returns
 * depends on the ready list's order, which a deferring shim legitimately
 * changes (a queued ADD of a ready fd joins the list when it is applied, not
 * when it was called), and so does how many a later wait returns.  What is
 * fixed is the union: the kernel hands ready fds out round-robin, so waits
 * repeated until one comes back short (it scanned the whole list), or
 * UNION_MAX events' worth, have returned every ready fd.  Only that union is
 * printed, as one wait.
 */
static void small_waits(int kind, int e, int max, int nomask, int sys)
{
	struct epoll_event ev[2], all[UNION_MAX];
	char label[128];
	int nall = 0;

	wait_label(label, sizeof(label), kind, e, max, nomask);
	strncat(label, " repeated, union", sizeof(label) - strlen(label) - 1);
	for (int w = 0; w < UNION_MAX / max; w++) {
		int rc = do_wait(kind, ep[e], ev, max, nomask, sys);

		if (rc < 0) {
			t_events(label, rc, ev);
			return;
		}
		for (int k = 0; k < rc; k++) {
			int seen = 0;

			for (int j = 0; j < nall && !seen; j++)
				seen = all[j].data.u64 == ev[k].data.u64 && all[j].events == ev[k].events;
			if (!seen)
				all[nall++] = ev[k];
		}
		if (rc < max)
			break;
	}
	t_events(label, nall, all);
}

static void wait_on(int e)
{
	static const int maxes[] = { 64, 128, 512 };
	struct epoll_event ev[512];
	char label[128];
	int kind = (int)below(3), nomask = chance(50), sys = use_sys(), max;

	if (chance(12)) {
		small_waits(kind, e, 1 + (int)below(2), nomask, sys);
		return;
	}
	/* maxevents above any number of registrations one instance gets here:
	 * a full wait's set of events is then fixed. */
	max = maxes[below(3)];

	wait_label(label, sizeof(label), kind, e, max, nomask);
	t_events(label, do_wait(kind, ep[e], ev, max, nomask, sys), ev);
}

static void step_wait(void)
{
	wait_on(chance(80) ? self : 1 - self);
}

/* ---- fork ---- */

/*
 * The child gets the parent's queued operations with the instance: it makes
 * a few of its own, waits, makes a few more and leaves without waiting again;
 * the parent's next waits must see all of it, once.
 */
static void step_fork(void)
{
	/* Now and then the child only waits: the shim may then defer on the
	 * parent's instances again once the child is reaped. */
	int n = chance(35) ? 0 : 1 + (int)below(4), st;
	pid_t pid = fork();

	if (pid < 0)
		t_die("fork");
	if (pid == 0) {
		snprintf(pfx, sizeof(pfx), "%schild: ", thread_pfx[self]);
		for (int i = n; i > 0; i--) {
			if (chance(85))
				step_ctl();
			else
				step_nest();
		}
		step_wait();
		for (int i = n ? (int)below(3) : 0; i > 0; i--)
			step_ctl();
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid)
		t_die("waitpid");
	if (n)
		tainted[0] = tainted[1] = 1;
	say("child exited: %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* ---- the second thread ---- */

/* Sleep until it is this thread's turn, or the walk is over. */
static void baton_wait(void)
{
	pthread_mutex_lock(&baton_mu);
	while (baton != self && !walk_over)
		pthread_cond_wait(&baton_cv, &baton_mu);
	pthread_mutex_unlock(&baton_mu);
}

static void baton_pass(int to, int over)
{
	pthread_mutex_lock(&baton_mu);
	baton = to;
	walk_over |= over;
	pthread_cond_broadcast(&baton_cv);
	pthread_mutex_unlock(&baton_mu);
}

/* The other thread takes the walk over from the next step; this one sleeps
 * until it is handed back (and goes on with whatever step comes then). */
static void step_switch(void)
{
	say("switch to %c", "AB"[1 - self]);
	follow = 1;
	maybe_queued = 0;
	baton_pass(1 - self, 0);
	baton_wait();
}

static void step_op(void);

/*
 * Often the first step of a thread after a switch: one on the fd or the
 * instance of the other thread's last successful epoll_ctl, which it may
 * hold queued.  The shim must apply that op before this thread's op on the
 * same instance (which makes it shared) or fd (in the other instance), its
 * close, dup2 or close_range of the fd, and its wait on the instance.  After
 * an op on the fd the next step often follows too: a thread that adds an
 * fd it got from another to its own loop, then closes it.
 */
static void step_follow(void)
{
	struct name *n = last_ctl;
	int e = last_ctl_ep;

	if (!n || n->fd < 0) {
		step_op();
		return;
	}
	switch (below(6)) {
	case 0:
		ctl_name(n, e);
		follow = chance(50);	/* and then maybe more on it */
		break;
	case 1:
		ctl_name(n, 1 - e);
		follow = chance(50);
		break;
	case 2:
		if (!keep_open(n)) {
			close_name(n);
			break;
		}
		/* fall through - a dup2 onto it closes its file, not the name */
	case 3:
		dup2_onto(pick(1), n);
		break;
	case 4:
		if (pool_closed() < MAX_POOL_CLOSED) {
			close_range_from(n->fd);
			break;
		}
		/* fall through */
	default:
		wait_on(e);
		break;
	}
}

/* ---- the walk ---- */

static void step_renew_any(void)
{
	step_renew((int)below(2));
}

/*
 * The weights of the operations between waits.  Those marked churn change
 * the fd table or the instances' sharing, after which the shim sends more
 * to the kernel at once; a seed's churn (a quarter, once or twice these
 * weights) makes some walks mostly deferred batches and others mostly fd
 * table traffic.
 */
static const struct {
	void (*fn)(void);
	unsigned weight, churn;
} ops[] = {
	{ step_ctl, 450, 0 },
	{ step_ready, 270, 0 },
	{ step_bad, 50, 1 },
	{ step_nest, 10, 1 },
	{ step_close, 50, 1 },
	{ step_reopen, 50, 1 },
	{ step_dup, 40, 1 },
	{ step_dup2, 30, 1 },
	{ step_close_range, 12, 1 },
	{ step_closefrom, 2, 1 },
	{ step_fork, 4, 1 },
	{ step_renew_any, 3, 0 },
	{ step_switch, 4, 0 },
};
static unsigned churn;	/* quarters */

static void step_op(void)
{
	unsigned total = 0, r;

	/* Each thread replaces its own instance: the other's, replaced
	 * here, would make this thread its waiter. */
	if (tainted[self] && chance(RENEW_PCT)) {
		step_renew(self);
		return;
	}
	if (maybe_queued && chance(SWITCH_QUEUED_PCT)) {
		step_switch();
		return;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		total += ops[i].churn ? ops[i].weight * churn / 4 : ops[i].weight;
	r = below(total);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		unsigned w = ops[i].churn ? ops[i].weight * churn / 4 : ops[i].weight;

		if (r < w) {
			ops[i].fn();
			return;
		}
		r -= w;
	}
}

/*
 * Steps until the walk is over, on whichever thread has the baton: bursts
 * of 0..20 operations (often a few) between waits, so that batches of
 * every size form.  A switch inside a step hands the rest of the walk to
 * the other thread until it switches back; the walk's position is global.
 * The thread that makes the last step releases the other one.
 */
static void walk(void)
{
	while (done < steps) {
		int f;

		snprintf(pfx, sizeof(pfx), "%s%d ", thread_pfx[self], done++);
		/* A thread taking the walk over first replaces its own instance
		 * if the other thread's wait or op made it shared (or B's, still
		 * A's from the seed's start), so that both threads defer. */
		if (follow && (waiter[self] != self || tainted[self])) {
			step_renew(self);
			continue;
		}
		f = follow && chance(70);
		follow = 0;
		if (burst < 0)
			burst = chance(30) ? (int)below(4) : (int)below(21);
		if (f)
			step_follow();
		else if (burst-- > 0)
			step_op();
		else
			step_wait();
	}
	baton_pass(self, 1);
}

static void *thread_b(void *arg)
{
	(void)arg;
	self = 1;
	baton_wait();
	walk();
	return NULL;
}

static void run_seed(uint64_t seed)
{
	char pool[512];
	size_t off = 0;
	pthread_t b;
	int err;

	/* t_begin's limit, per seed: a long list of seeds given by hand is
	 * not a hang. */
	alarm(30);
	rng_seed(seed);
	churn = (unsigned[]){ 1, 4, 4, 8 }[below(4)];
	t_log("## seed %llu", (unsigned long long)seed);
	ep[0] = t_epoll();
	ep[1] = t_epoll();
	reg = memfd_create("c-random", MFD_CLOEXEC);
	if (reg < 0)
		t_die("memfd_create");
	/* PRIME both: the shim defers only on an epoll fd this thread waited on. */
	t_wait("epoll_wait(ep0, 8, 0)", ep[0], 8, 0);
	t_wait("epoll_wait(ep1, 8, 0)", ep[1], 8, 0);
	for (int i = 0; i < PEER_BASE; i++)
		num_file[i] = -1;
	memset(hint, 0, sizeof(hint));
	tainted[0] = tainted[1] = 0;
	waiter[0] = waiter[1] = 0;
	for (int i = 0; i < NNAME; i++) {
		int kind = (int)below(NKIND);

		names[i].s[0] = i < NPOOL ? 'p' : 'd';
		names[i].s[1] = (char)('0' + (i < NPOOL ? i : i - NPOOL));
		names[i].fd = names[i].last = i < NPOOL ? file_open(kind) : -1;
		if (i < NPOOL)
			off += (size_t)snprintf(pool + off, sizeof(pool) - off, "%s%s %s",
						i ? ", " : "", names[i].s, kind_name[kind]);
	}
	t_log("pool: %s; churn x%.2f", pool, churn / 4.0);

	/* B is made anew for each seed: a thread that never waited on an
	 * instance, and whose queue the shim makes on its first wait. */
	done = 0;
	burst = -1;
	last_ctl = NULL;
	follow = 0;
	maybe_queued = 0;
	baton = 0;
	walk_over = 0;
	err = pthread_create(&b, NULL, thread_b, NULL);
	if (err) {
		errno = err;
		t_die("pthread_create");
	}
	walk();
	/* B's queue, if it has ops queued, is flushed as it exits. */
	err = pthread_join(b, NULL);
	if (err) {
		errno = err;
		t_die("pthread_join");
	}
	t_wait("end epoll_wait(ep0, 512, 0)", ep[0], 512, 0);
	t_wait("end epoll_wait(ep1, 512, 0)", ep[1], 512, 0);

	/* Leave the fd table as the seed found it, so that the next seed's
	 * numbers do not depend on this one. */
	for (int i = 0; i < NNAME; i++) {
		if (names[i].fd >= 0) {
			if (close(names[i].fd) < 0)
				t_die("close at the end of a seed");
			num_drop(names[i].fd);
		}
		names[i].fd = names[i].last = -1;
	}
	for (int f = 0; f < NFILES; f++)
		if (files[f].used)
			model_fail("a file outlived every name");
	if (close(ep[0]) < 0 || close(ep[1]) < 0 || close(reg) < 0)
		t_die("close of the epoll fds");
	pfx[0] = '\0';
}

/* "1,2,3" into seeds[]; the number of seeds. */
static int parse_seeds(const char *s, uint64_t *seeds)
{
	int n = 0;

	while (*s) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(s, &end, 10);
		if (end == s || errno || n == MAX_SEEDS || (*end && *end != ','))
			model_fail("C_RANDOM_SEEDS: a comma-separated list of numbers");
		seeds[n++] = v;
		s = *end ? end + 1 : end;
	}
	return n;
}

int main(void)
{
	uint64_t seeds[MAX_SEEDS];
	const char *es = getenv("C_RANDOM_SEEDS"), *en = getenv("C_RANDOM_STEPS");
	int nseeds;
	DIR *d;

	t_begin("random");
	/* A write to a pipe or socket whose reader is gone is EPIPE, printed. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		t_die("SIGPIPE");
	sigemptyset(&wait_mask);
	sigaddset(&wait_mask, SIGUSR1);
	/* Numbers open before the walk began are not its own (stdio aside). */
	d = opendir("/proc/self/fd");
	if (!d)
		t_die("/proc/self/fd");
	for (struct dirent *de; (de = readdir(d)) != NULL; ) {
		int fd = atoi(de->d_name), i;

		if (de->d_name[0] == '.' || fd < 3 || fd == dirfd(d))
			continue;
		if (nforeign == MAX_FOREIGN)
			model_fail("too many fds open at the start");
		for (i = nforeign++; i > 0 && foreign[i - 1] > fd; i--)
			foreign[i] = foreign[i - 1];
		foreign[i] = fd;
	}
	closedir(d);
	steps = DEFAULT_STEPS;
	if (es && *es) {
		nseeds = parse_seeds(es, seeds);
	} else {
		nseeds = (int)(sizeof(default_seeds) / sizeof(default_seeds[0]));
		memcpy(seeds, default_seeds, sizeof(default_seeds));
	}
	if (en && *en) {
		char *end;
		long v = strtol(en, &end, 10);

		if (*end || v < 0 || v > 1000000)
			model_fail("C_RANDOM_STEPS: a number of steps");
		steps = (int)v;
	}
	for (int i = 0; i < nseeds; i++)
		run_seed(seeds[i]);
	return 0;
}
