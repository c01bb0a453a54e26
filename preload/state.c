/* SPDX-License-Identifier: MIT */
/*
 * The mirror, the per-thread queue and the decision to defer an epoll_ctl.
 *
 * An op is deferred only when its result is already known (from the mirror
 * of the interest set) and the calling thread is the only thread that waits
 * on the epoll instance; everything else goes to the kernel at once.  See
 * docs/shim.md for the rules and why each one exists.
 */
#include "shim.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sdt.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TLS __attribute__((tls_model("initial-exec")))

enum backend be_kind = BE_SYNC;
int opt_unshare, opt_stats;
struct fdtab main_tab;
TLS __thread struct fdtab *my_tab;
TLS __thread int crit;

static TLS __thread int tid_cache;
static TLS __thread struct tq *tq_cache;
static TLS __thread int loop_thread;	/* has waited: EPBATCH_UNSHARE done */
static TLS __thread int in_wait;	/* between plain_wait's flush and its wait */

static struct epinfo *epis;
static _Atomic unsigned epi_next = 1;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tq *registry;
static struct stats dead_stats;
static pthread_key_t exit_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static _Atomic int inited;

static inline struct fdtab *tab(void)
{
	return my_tab ? my_tab : &main_tab;
}

int my_tid(void)
{
	if (unlikely(!tid_cache))
		tid_cache = gettid();
	return tid_cache;
}

static void *map_zero(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int tab_alloc(struct fdtab *t)
{
	struct rlimit rl;
	rlim_t n = 1 << 16;

	/* Sized by the hard limit, which only privileged code can raise; pages
	 * are touched only for fd numbers in use.  Larger fds pass through. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
		n = rl.rlim_max;
	if (n > (1 << 22))
		n = 1 << 22;
	if (n < 1024)
		n = 1024;
	t->slot = map_zero(n * sizeof(*t->slot));
	t->size = t->slot ? (int)n : 0;
	atomic_store(&t->maxfd, -1);
	return t->slot ? 0 : -1;
}

static void thread_exit(void *arg);
static void fork_share_init(void);

/* A thread's private mirror (EPBATCH_UNSHARE, unshare()), when it is done
 * with it.  Queues keep a stale pointer, only ever compared, not read. */
static void tab_free(struct fdtab *t)
{
	if (t->slot)
		munmap(t->slot, (size_t)t->size * sizeof(*t->slot));
	free(t);
}

static void env_flag(const char *name, int *out)
{
	const char *v = getenv(name);

	*out = v && *v && strcmp(v, "0") != 0;
}

static void stats_print(void);

static TLS __thread int in_init;

static void init_once_fn(void)
{
	/* The shim's own calls below (open, dlsym's allocations) come back
	 * through the wrappers; they see an empty table and pass through. */
	in_init = 1;
	resolve_real();
	env_flag("EPBATCH_UNSHARE", &opt_unshare);
	env_flag("EPBATCH_STATS", &opt_stats);
	epis = map_zero((MAX_EPI + 1) * sizeof(*epis));
	if (tab_alloc(&main_tab) || !epis) {
		fprintf(stderr, "libepbatch: cannot map the fd table; passing every call through\n");
		main_tab.size = 0;
	}
	pthread_key_create(&exit_key, thread_exit);
	fork_share_init();
	if (backend_init() < 0)
		exit(2);
	in_init = 0;
	atomic_store(&inited, 1);
}

void shim_init(void)
{
	if (likely(atomic_load_explicit(&inited, memory_order_acquire)) || in_init)
		return;
	pthread_once(&init_once, init_once_fn);
}

struct epinfo *epi_get(unsigned id)
{
	return &epis[id];
}

unsigned epi_new(int flags)
{
	unsigned id = atomic_fetch_add(&epi_next, 1);

	if (id > MAX_EPI || !epis)
		return 0;
	atomic_store(&epis[id].waiter, 0);
	atomic_store(&epis[id].owner, NULL);
	atomic_store(&epis[id].flags, flags);
	return id;
}

void mark_all_epi(int flag, int only_non_cloexec)
{
	unsigned n = atomic_load(&epi_next);

	for (unsigned id = 1; id < n && id <= MAX_EPI; id++) {
		if (only_non_cloexec && (atomic_load(&epis[id].flags) & EPI_CLOEXEC))
			continue;
		atomic_fetch_or(&epis[id].flags, flag);
	}
}

/*
 * Deferral after fork.  A fork child holds every epoll instance of its
 * parent, and the parent cannot flush its queue into the child's view, so
 * while a child may use them the parent defers nothing on them
 * (EPI_FORKED).  Most children never touch them (redis' BGSAVE child
 * writes a file and _exits), and once every forked process is gone the
 * instances are the parent's alone again.  "Gone" is counted in a page
 * shared by every process forked from this one (MAP_SHARED, inherited by
 * fork, dropped by exec): live is incremented before each fork and
 * decremented when a shim process reaps a pid it forked (wait* wrappers).
 * It cannot reach 0 while any forked process, grandchildren included, is
 * unreaped, or was reaped by a process without this page (re-parented to
 * init, auto-reaped with SIGCHLD ignored): then deferral simply does not
 * come back.  tainted is set for good when a forked process changes an
 * inherited instance (the parent's mirror would be stale) or execs while
 * holding an instance not marked close-on-exec (its own children would
 * escape the count).  The child itself never defers on inherited
 * instances (EPI_XPROC): its parent is alive.
 */
struct forkshare {
	_Atomic int live;	/* forked processes not yet reaped */
	_Atomic int tainted;
};
static struct forkshare *fshare;
#define MAX_KIDS 64
static _Atomic pid_t kids[MAX_KIDS];	/* pids this process forked, unreaped */
static int forked_child;		/* this process is a fork child */

static void fork_share_init(void)
{
	void *p = mmap(NULL, sizeof(*fshare), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	fshare = p == MAP_FAILED ? NULL : p;
}

void fork_prepare(void)
{
	if (fshare)
		atomic_fetch_add(&fshare->live, 1);
}

void fork_parent(pid_t pid)
{
	if (!fshare)
		return;
	if (pid < 0) {
		atomic_fetch_sub(&fshare->live, 1);
		return;
	}
	for (int i = 0; i < MAX_KIDS; i++) {
		pid_t z = 0;

		if (atomic_compare_exchange_strong(&kids[i], &z, pid))
			return;
	}
	/* No room to remember it: it is never seen reaped, live stays > 0. */
}

void fork_child(void)
{
	forked_child = 1;
	for (int i = 0; i < MAX_KIDS; i++)
		atomic_store(&kids[i], 0);
}

void fork_reaped(pid_t pid)
{
	unsigned n;

	if (!fshare || pid <= 0)
		return;
	for (int i = 0; i < MAX_KIDS; i++) {
		pid_t p = pid;

		if (!atomic_compare_exchange_strong(&kids[i], &p, 0))
			continue;
		if (atomic_fetch_sub(&fshare->live, 1) != 1 || atomic_load(&fshare->tainted))
			return;
		/* No forked process is left: the instances are ours alone. */
		n = atomic_load(&epi_next);
		for (unsigned id = 1; id < n && id <= MAX_EPI; id++)
			atomic_fetch_and(&epis[id].flags, ~EPI_FORKED);
		return;
	}
}

/* A forked process changes an inherited instance. */
void fork_taint(void)
{
	if (fshare && forked_child)
		atomic_store(&fshare->tainted, 1);
}

void fork_before_exec(void)
{
	unsigned n = atomic_load(&epi_next);

	if (!fshare || !forked_child)
		return;
	for (unsigned id = 1; id < n && id <= MAX_EPI; id++)
		if (!(atomic_load(&epis[id].flags) & EPI_CLOEXEC))
			atomic_store(&fshare->tainted, 1);
}

_Atomic uint64_t *slot_ptr(struct fdtab *t, int fd)
{
	if (fd < 0 || fd >= t->size)
		return NULL;
	return &t->slot[fd];
}

void slot_set(int fd, uint64_t v)
{
	struct fdtab *t = tab();
	_Atomic uint64_t *s = slot_ptr(t, fd);
	int m;

	if (!s)
		return;
	atomic_store(s, v);
	m = atomic_load_explicit(&t->maxfd, memory_order_relaxed);
	while (fd > m && !atomic_compare_exchange_weak(&t->maxfd, &m, fd))
		;
}

void slot_reset(int fd)
{
	_Atomic uint64_t *s = slot_ptr(tab(), fd);

	if (s)
		atomic_store(s, 0);
}

void note_pollable(int fd)
{
	slot_set(fd, s_make(K_POLL, 0, 0, 0));
}

void note_epoll(int fd, int flags)
{
	unsigned id = epi_new(flags & EPOLL_CLOEXEC ? EPI_CLOEXEC : 0);

	slot_set(fd, id ? s_make(K_EPOLL, id, 0, 0) : 0);
}

void note_dup(int oldfd, int newfd)
{
	_Atomic uint64_t *s = slot_ptr(tab(), oldfd);
	uint64_t v = s ? atomic_load(s) : 0;

	/* A dup of an epoll fd is the same instance.  A dup of anything else
	 * is a new (file, fd) key whose registration the mirror cannot know:
	 * an older registration of that file under this number may survive. */
	if (s_kind(v) == K_EPOLL)
		slot_set(newfd, s_make(K_EPOLL, s_id(v), 0, 0));
	else
		slot_reset(newfd);
}

void stats_add(struct stats *d, const struct stats *s)
{
	d->deferred += s->deferred;
	d->flushed += s->flushed;
	d->batches += s->batches;
	d->coalesced += s->coalesced;
	d->passthrough += s->passthrough;
	d->fallbacks += s->fallbacks;
	d->fused_waits += s->fused_waits;
	d->mispredicted += s->mispredicted;
	d->steals += s->steals;
	d->fused_closes += s->fused_closes;
}

struct tq *my_queue(void)
{
	struct tq *q = tq_cache;

	if (likely(q))
		return q;
	pthread_mutex_lock(&reg_lock);
	for (q = registry; q; q = q->next)
		if (q->dead && q->n == 0 && atomic_load(&q->lock) == 0)
			break;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&reg_lock);
			return NULL;
		}
		q->next = registry;
		registry = q;
	}
	q->tid = my_tid();
	q->tab = tab();
	memset(&q->st, 0, sizeof(q->st));
	q->dead = 0;
	pthread_mutex_unlock(&reg_lock);
	tq_cache = q;
	pthread_setspecific(exit_key, q);
	return q;
}

/* The owner takes its own lock only to keep a flushing thread out; the CAS
 * is uncontended unless another thread is flushing this queue right now. */
void queue_lock(struct tq *q)
{
	int want = q == tq_cache ? 1 : 2;
	int zero = 0;

	while (!atomic_compare_exchange_weak_explicit(&q->lock, &zero, want,
						      memory_order_acquire,
						      memory_order_relaxed)) {
		zero = 0;
		sched_yield();
	}
}

void queue_unlock(struct tq *q)
{
	atomic_store_explicit(&q->lock, 0, memory_order_release);
}

/* Clear the Q bit of each flushed fd; a mispredicted op (the kernel said
 * something the mirror did not expect: the fd was changed behind the shim's
 * back) makes the fd unknown, so its later ops go to the kernel. */
static void settle(struct tq *self, const struct qop *ops, unsigned n, const int *res)
{
	struct fdtab *t = tab();

	for (unsigned i = 0; i < n; i++) {
		_Atomic uint64_t *s;
		uint64_t v, nv;

		s = slot_ptr(t, ops[i].fd);
		if (!s)
			continue;
		v = atomic_load(s);
		do {
			if (s_id(v) != ops[i].epi)
				break;
			nv = res[i] ? 0 : v & ~S_Q;
		} while (!atomic_compare_exchange_weak(s, &v, nv));
		if (res[i]) {
			self->st.mispredicted++;
			DTRACE_PROBE2(epbatch, fallback, 1, -res[i]);
		}
	}
}

/*
 * One pass over a queue: how many ops will reach the kernel (ADD+DEL
 * pairs are cancelled in place), and whether a DEL and a later ADD of one
 * fd must run in order: io_uring runs those as a linked chain, which
 * completes after an unlinked wait would start, so such a batch (rare) is
 * flushed before the wait or close, not fused with it.
 */
struct qscan {
	unsigned live;
	int ordered;
};

static struct qscan queue_scan(const struct tq *q)
{
	struct qscan r = { 0, 0 };

	for (unsigned i = 0; i < q->n; i++) {
		r.live += q->ops[i].op != 0;
		r.ordered |= q->ops[i].op && q->ops[i].ordered;
	}
	return r;
}

/* After a batch ran (flush, fused wait or fused close): the mirror takes
 * the kernel's answers, the counters and the USDT probe the batch. */
static void batch_done(struct tq *self, const struct qop *ops, unsigned n, const int *res,
		       unsigned live, int backend)
{
	if (live) {
		DTRACE_PROBE2(epbatch, flush, live, backend);
		self->st.flushed += live;
		self->st.batches++;
	}
	settle(self, ops, n, res);
}

/* Flush q (held locked by the caller).  Its owner uses its backend; a
 * thread flushing another thread's queue (rare) makes plain epoll_ctl
 * calls, since a ring belongs to the thread that made it. */
static void drain_sigops(struct tq *q);

static void flush_locked(struct tq *q)
{
	struct tq *self = tq_cache ? tq_cache : q;
	int res[QCAP];
	unsigned n = q->n, live;

	if (!n)
		return;
	live = queue_scan(q).live;
	if (!live)
		memset(res, 0, n * sizeof(res[0]));
	else if (q == tq_cache)
		backend_submit(q, q->ops, n, res, NULL);
	else
		sync_submit(q->ops, n, res);
	batch_done(self, q->ops, n, res, live, q == tq_cache ? be_kind : BE_SYNC);
	q->n = 0;
}

/* Whether q holds anything to flush.  For this thread's own queue that
 * includes handlers' side ops: one that ran after the last drain_sigops()
 * of a critical section (before crit dropped) is still in the side list. */
static int queue_busy(struct tq *q)
{
	return q && (q->n || (q == tq_cache && sig_pending()));
}

void flush_queue(struct tq *q)
{
	if (!queue_busy(q))
		return;
	crit++;
	queue_lock(q);
	if (q != tq_cache && q->tab != tab()) {
		/* Its fd numbers mean other files in this thread's table. */
		if (tq_cache)
			tq_cache->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, 2, 0);
	} else {
		if (q != tq_cache && tq_cache) {
			tq_cache->st.steals++;
			DTRACE_PROBE1(epbatch, steal, q->tid);
		}
		/* Handlers' ops that ran during the flush too: a flush point
		 * (a wait, a close, fork...) must cover everything before it. */
		do {
			flush_locked(q);
			drain_sigops(q);
		} while (q == tq_cache && q->n);
	}
	queue_unlock(q);
	crit--;
}

/* Make the kernel's view of instance id match the mirror. */
void sync_instance(unsigned id)
{
	struct tq *q;

	if (!id)
		return;
	q = atomic_load(&epi_get(id)->owner);
	/* Touched from another fd table (EPBATCH_UNSHARE): its owner's fd
	 * numbers mean other files here, so from now on its ops go to the
	 * kernel at once (what is queued now, flush_queue cannot apply). */
	if (q && q->tab != tab() && q != tq_cache)
		atomic_fetch_or(&epi_get(id)->flags, EPI_XTABLE);
	if (queue_busy(q))
		flush_queue(q);
}

void sync_fd(int fd)
{
	_Atomic uint64_t *s = slot_ptr(tab(), fd);
	uint64_t v = s ? atomic_load(s) : 0;

	if (v & S_Q)
		sync_instance(s_id(v));
	if (s_kind(v) == K_EPOLL)
		sync_instance(s_id(v));
}

void flush_all(int steal_others)
{
	struct tq *q;

	if (tq_cache)
		flush_queue(tq_cache);
	if (!steal_others)
		return;
	pthread_mutex_lock(&reg_lock);
	for (q = registry; q; q = q->next)
		if (q != tq_cache && !q->dead && q->n)
			flush_queue(q);
	pthread_mutex_unlock(&reg_lock);
}

/* What the kernel would return for op on a POLL fd with mirror state v in
 * instance id, or 1 when the shim cannot know (then the kernel decides). */
#define EXCL_OK_BITS (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | \
		      EPOLLET | EPOLLEXCLUSIVE)
static int predict(uint64_t v, unsigned id, int op, const struct epoll_event *ev,
		   uint64_t *nv)
{
	int reg = (v & S_REG) != 0;

	if (reg && s_id(v) != id)
		return 1;	/* in another instance: the mirror holds one */
	switch (op) {
	case EPOLL_CTL_ADD:
		if (reg || !ev)
			return 1;
		if ((ev->events & EPOLLEXCLUSIVE) && (ev->events & ~EXCL_OK_BITS))
			return 1;
		*nv = s_make(K_POLL, id, S_REG | (v & S_Q), ev->events);
		return 0;
	case EPOLL_CTL_MOD:
		if (!reg || !ev || ((ev->events | s_events(v)) & EPOLLEXCLUSIVE))
			return 1;
		*nv = s_make(K_POLL, id, S_REG | (v & S_Q), ev->events);
		return 0;
	case EPOLL_CTL_DEL:
		if (!reg)
			return 1;
		*nv = s_make(K_POLL, id, v & S_Q, 0);
		return 0;
	}
	return 1;
}

/* Fold op into the last queued op on the same (instance, fd), or append. */
static void enqueue(struct tq *q, int epfd, int op, int fd, const struct epoll_event *ev,
		    unsigned id, int had_q)
{
	struct qop *o;

	if (had_q) {
		for (unsigned i = q->n; i-- > 0;) {
			o = &q->ops[i];
			if (o->fd != fd || o->epi != id || !o->op)
				continue;
			if (o->op == EPOLL_CTL_DEL)
				break;		/* DEL then ADD: never a MOD */
			q->st.coalesced++;
			DTRACE_PROBE2(epbatch, coalesced, fd, op);
			if (op == EPOLL_CTL_DEL) {
				/* ADD+DEL never reach the kernel; MOD+DEL is a DEL */
				o->op = o->op == EPOLL_CTL_ADD ? 0 : EPOLL_CTL_DEL;
			} else {
				/* ADD+MOD stays an ADD, MOD+MOD keeps the last */
				o->events = ev->events;
				o->data = ev->data.u64;
			}
			return;
		}
	}
	o = &q->ops[q->n];
	o->ordered = had_q;
	o->epfd = epfd;
	o->fd = fd;
	o->events = ev ? ev->events : 0;
	o->data = ev ? ev->data.u64 : 0;
	o->epi = id;
	o->op = op;
	q->n++;
}

/* Learn from what the kernel said to an op the shim passed through. */
static void learn(int epfd, int op, int fd, const struct epoll_event *ev, int rc)
{
	struct fdtab *t = tab();
	_Atomic uint64_t *es = slot_ptr(t, epfd), *fs = slot_ptr(t, fd);
	uint64_t e, v, nv;
	unsigned id;

	if (!es || !fs)
		return;
	e = atomic_load(es);
	if (s_kind(e) != K_EPOLL)
		return;
	id = s_id(e);
	v = atomic_load(fs);
	do {
		if (s_kind(v) != K_POLL)
			return;
		if (atomic_load(&epi_get(id)->flags) & EPI_XPROC) {
			nv = v & S_Q;	/* another process changes it too */
		} else if (predict(v, id, op, ev, &nv) == 0) {
			/* The mirror expected success: trust it iff so. */
			if (rc)
				nv = v & S_Q;
		} else if (rc == 0) {
			nv = v & S_Q;	/* a success the mirror could not know */
		} else {
			return;		/* an error, as the mirror expected */
		}
	} while (!atomic_compare_exchange_weak(fs, &v, nv));
}

/* The kernel decides: make it see every queued op this one could depend
 * on, then pass the call through. */
static int passthrough(int epfd, int op, int fd, struct epoll_event *ev)
{
	_Atomic uint64_t *es = slot_ptr(tab(), epfd), *fs = slot_ptr(tab(), fd);
	uint64_t e = es ? atomic_load(es) : 0, v = fs ? atomic_load(fs) : 0;
	int rc, me = my_tid();

	if (s_kind(e) != K_EPOLL)
		fork_taint();	/* an epoll fd the mirror does not know: maybe inherited */
	if (s_kind(e) == K_EPOLL) {
		struct epinfo *ep = epi_get(s_id(e));
		int w = atomic_load(&ep->waiter);

		if (atomic_load(&ep->flags) & EPI_XPROC)
			fork_taint();	/* no-op unless this is a fork child */

		/* Another thread's loop: from now on every thread's op on it
		 * goes to the kernel at once. */
		if (w > 0 && w != me)
			atomic_compare_exchange_strong(&ep->waiter, &w, WAITER_SHARED);
		sync_instance(s_id(e));
	}
	if (s_kind(v) == K_EPOLL) {
		/* Nested: readiness of that instance now shows in this one. */
		atomic_fetch_or(&epi_get(s_id(v))->flags, EPI_NESTED);
		sync_instance(s_id(v));
	} else if (v & S_Q) {
		sync_instance(s_id(v));
	}
	if (tq_cache)
		tq_cache->st.passthrough++;
	DTRACE_PROBE3(epbatch, passthrough, epfd, op, fd);
	rc = real_epoll_ctl(epfd, op, fd, ev);
	if (fs && es)
		learn(epfd, op, fd, ev, rc ? errno : 0);
	return rc;
}

/*
 * epoll_ctl from a signal handler that interrupted the shim on this thread
 * (crit > 0): the queue may be half-changed or in flight, so the handler
 * does not touch it.
 *   - fd has an op pending in this thread: queued or in flight (S_Q in the
 *     instance of epfd), or in the side list below: the kernel's answer now
 *     would not include that op (a DEL queued, then the handler's ADD gets
 *     EEXIST).  The mirror, which already includes it, gives the answer;
 *     the op goes to a small per-thread side list (sigops) that the
 *     interrupted code appends to the queue when it leaves its critical
 *     section (drain_sigops), so it reaches the kernel after the queued
 *     ops, and before any later op of the interrupted code's on fd.
 *   - otherwise: the kernel decides at once and the mirror learns.
 * The side list must count as "pending" by itself: settle() clears S_Q as
 * soon as a batch completed, before drain_sigops() has moved the side ops
 * into the queue, and a second handler in that window used to go to the
 * kernel without the first handler's op (6.1 guest under TCG, where two
 * signals often land in one flush: an ADD got EEXIST, a DEL ENOENT).
 * A new side op on the fd of the last pending one is folded into it as
 * enqueue() folds (a signal flood during one long flush stays bounded).
 */
#define SIGQ 64
struct sigop {
	struct qop op;
	int ready;		/* not yet taken by drain_sigops */
};
static TLS __thread struct sigop sigops[SIGQ];
static TLS __thread _Atomic int nsig;

/* Index of the last live side op on (fd, id) not yet taken by
 * drain_sigops, or -1 (a cancelled ADD+DEL pair leaves nothing pending). */
static int sig_last(int fd, unsigned id)
{
	int n = atomic_load(&nsig);

	for (int i = (n < SIGQ ? n : SIGQ); i-- > 0;)
		if (sigops[i].ready && sigops[i].op.op && sigops[i].op.fd == fd &&
		    sigops[i].op.epi == id)
			return i;
	return -1;
}

int sig_pending(void)
{
	return atomic_load_explicit(&nsig, memory_order_relaxed) != 0;
}

static int sig_defer(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdtab *t = tab();
	_Atomic uint64_t *es = slot_ptr(t, epfd), *fs = slot_ptr(t, fd);
	uint64_t e = es ? atomic_load(es) : 0, v = fs ? atomic_load(fs) : 0, nv;
	unsigned id = s_id(e);
	int k, reg, last;
	struct qop *o;

	if (!fs || !tq_cache || s_kind(e) != K_EPOLL || s_kind(v) != K_POLL ||
	    s_id(v) != id || atomic_load(&epi_get(id)->owner) != tq_cache ||
	    (atomic_load(&epi_get(id)->flags) & EPI_NODEFER) || epfd == fd)
		return 1;
	last = sig_last(fd, id);
	if (!(v & S_Q) && last < 0)
		return 1;
	reg = (v & S_REG) != 0;
	if (predict(v, id, op, ev, &nv)) {
		/* The errors the queued ops make certain, as the kernel would
		 * give them once they ran; anything else: the kernel decides. */
		if (op == EPOLL_CTL_ADD && reg && ev) {
			errno = EEXIST;
			return -1;
		}
		if ((op == EPOLL_CTL_MOD && ev) || op == EPOLL_CTL_DEL) {
			if (!reg) {
				errno = ENOENT;
				return -1;
			}
		}
		return 1;
	}
	/* Fold into the last side op on fd, as enqueue() does (never DEL+ADD;
	 * a cancelled entry keeps its slot: only drain_sigops frees slots). */
	if (last >= 0 && sigops[last].op.op != EPOLL_CTL_DEL) {
		if (!atomic_compare_exchange_strong(fs, &v, nv | S_Q))
			return 1;
		o = &sigops[last].op;
		if (op == EPOLL_CTL_DEL) {
			o->op = o->op == EPOLL_CTL_ADD ? 0 : EPOLL_CTL_DEL;
		} else {
			o->events = ev->events;
			o->data = ev->data.u64;
		}
		tq_cache->st.coalesced++;
		return 0;
	}
	k = atomic_fetch_add(&nsig, 1);
	if (k >= SIGQ) {
		atomic_fetch_sub(&nsig, 1);
		tq_cache->st.fallbacks++;
		return 1;
	}
	sigops[k].op.op = 0;
	if (!atomic_compare_exchange_strong(fs, &v, nv | S_Q)) {
		/* changed meanwhile: leave the slot unused (no op) */
		sigops[k].ready = 1;
		return 1;
	}
	sigops[k].op = (struct qop){ .epfd = epfd, .fd = fd, .op = op, .epi = id, .ordered = 1,
				     .events = ev ? ev->events : 0, .data = ev ? ev->data.u64 : 0 };
	sigops[k].ready = 1;
	tq_cache->st.deferred++;
	return 0;
}

/* Append the handlers' side ops to q (this thread's own queue, locked).
 * A handler may run between any two lines here (never concurrently): the
 * fd's S_Q is set before the entry stops being "ready", and the op is read
 * only after that, so a handler either folds into the entry before it is
 * taken or sees S_Q and appends a new one behind it. */
static void drain_sigops(struct tq *q)
{
	int i = 0, n;

	if (likely(atomic_load_explicit(&nsig, memory_order_relaxed) == 0) || q != tq_cache)
		return;
again:
	/* A handler may add one while this runs: re-read the count, and
	 * reset it only if nothing was added since (else go on). */
	for (; i < atomic_load(&nsig) && i < SIGQ; i++) {
		_Atomic uint64_t *s = slot_ptr(tab(), sigops[i].op.fd);
		unsigned epi = sigops[i].op.epi;
		struct qop o;
		uint64_t v;

		if (!sigops[i].ready)
			continue;
		/* full: flush first, its settle() may clear S_Q of this fd */
		if (q->n == QCAP)
			flush_locked(q);
		/* a flush since the handler ran may have cleared the Q bit */
		v = s ? atomic_load(s) : 0;
		while (s && s_id(v) == epi && s_kind(v) == K_POLL &&
		       !atomic_compare_exchange_weak(s, &v, v | S_Q))
			;
		atomic_signal_fence(memory_order_seq_cst);
		sigops[i].ready = 0;
		atomic_signal_fence(memory_order_seq_cst);
		o = sigops[i].op;
		if (o.op)
			q->ops[q->n++] = o;
	}
	n = i;
	if (!atomic_compare_exchange_strong(&nsig, &n, 0))
		goto again;
}

static int nested_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	_Atomic uint64_t *fs = slot_ptr(tab(), fd);
	uint64_t v = fs ? atomic_load(fs) : 0;
	int rc, saved;

	{
		_Atomic uint64_t *es = slot_ptr(tab(), epfd);
		uint64_t e = es ? atomic_load(es) : 0;

		if (s_kind(e) != K_EPOLL || (atomic_load(&epi_get(s_id(e))->flags) & EPI_XPROC))
			fork_taint();
	}
	rc = sig_defer(epfd, op, fd, ev);
	if (rc <= 0)
		return rc;
	rc = real_epoll_ctl(epfd, op, fd, ev);
	saved = errno;
	if (fs && (v & S_Q)) {
		while (!atomic_compare_exchange_weak(fs, &v, v & (S_Q | (S_ID_MASK << S_ID_SHIFT))))
			;
	} else if (fs) {
		learn(epfd, op, fd, ev, rc ? saved : 0);
	}
	errno = saved;
	return rc;
}

int shim_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdtab *t = tab();
	_Atomic uint64_t *es = slot_ptr(t, epfd), *fs = slot_ptr(t, fd);
	struct epinfo *ep;
	struct tq *q;
	uint64_t e, v, nv;
	unsigned id;
	int me;

	if (unlikely(crit))
		return nested_ctl(epfd, op, fd, ev);
	if (be_kind == BE_SYNC || !es || !fs || epfd == fd)
		return passthrough(epfd, op, fd, ev);
	e = atomic_load_explicit(es, memory_order_acquire);
	if (s_kind(e) != K_EPOLL)
		return passthrough(epfd, op, fd, ev);
	id = s_id(e);
	ep = epi_get(id);
	me = my_tid();
	q = tq_cache;
	/* in_wait: a handler that interrupted plain_wait() after its flush:
	 * queued now, the op would miss the wait it natively precedes. */
	if (atomic_load(&ep->waiter) != me || !q || unlikely(in_wait))
		return passthrough(epfd, op, fd, ev);

	crit++;
	queue_lock(q);
	drain_sigops(q);
	/* Re-check under the lock: a thread that made the instance shared
	 * flushes this queue after taking the same lock. */
	if (atomic_load(&ep->waiter) != me || (atomic_load(&ep->flags) & EPI_NODEFER))
		goto locked_pass;
	v = atomic_load(fs);
	for (;;) {
		if (s_kind(v) != K_POLL || predict(v, id, op, ev, &nv))
			goto locked_pass;
		if (q->n == QCAP) {
			flush_locked(q);
			v = atomic_load(fs);
			continue;
		}
		if (atomic_compare_exchange_weak(fs, &v, nv | S_Q))
			break;
		/* A handler's op on fd came first (sig_defer): queue it
		 * before this one, then decide again. */
		drain_sigops(q);
		v = atomic_load(fs);
	}
	enqueue(q, epfd, op, fd, ev, id, (v & S_Q) != 0);
	q->st.deferred++;
	DTRACE_PROBE3(epbatch, deferred, epfd, op, fd);
	drain_sigops(q);	/* handlers that ran after this op was decided */
	queue_unlock(q);
	crit--;
	return 0;

locked_pass:
	drain_sigops(q);
	queue_unlock(q);
	crit--;
	return passthrough(epfd, op, fd, ev);
}

/* Called before fd is closed or replaced (close, close_range, dup2 onto it):
 * no queued op may outlive the open file its number names. */
void shim_close_prepare(int fd)
{
	_Atomic uint64_t *s = slot_ptr(tab(), fd);
	uint64_t v;

	if (backend_owns_fd(fd))
		backend_fd_closed(fd);
	if (!s)
		return;
	v = atomic_exchange(s, 0);
	if ((v & S_Q) || s_kind(v) == K_EPOLL)
		sync_instance(s_id(v));
}

/*
 * close(fd) when this thread's own queue holds an op on fd (a connection
 * closed in the loop iteration that queued its DEL: connection-per-request
 * servers do this once per request).  Returns 1 with *rc (close's return
 * value, errno set) when it closed fd itself, 0 when the caller must do the
 * ordinary shim_close_prepare() + close().
 *   - ops on fd that cancelled (ADD+DEL in one batch): the kernel never saw
 *     them, so nothing needs flushing; the rest of the queue stays queued.
 *   - a live op on fd, io_uring backend: the queue and the close go in one
 *     io_uring_enter, the close hard-linked behind fd's op, instead of a
 *     flush syscall and then close(2).
 */
int shim_close(int fd, int *rc)
{
	_Atomic uint64_t *s = slot_ptr(tab(), fd);
	uint64_t v = s ? atomic_load(s) : 0;
	struct tq *q = tq_cache;
	int res[QCAP], live = -1, cres;
	struct qscan qs;
	unsigned n;

	if (crit || !q || !(v & S_Q) || s_kind(v) != K_POLL ||
	    atomic_load(&epi_get(s_id(v))->owner) != q)
		return 0;
	crit++;
	queue_lock(q);
	/* Under the lock: this thread's ops on fd are all in q (the Q bit
	 * names the queue of the instance's owner, which is q). */
	v = atomic_exchange(s, 0);
	for (unsigned i = 0; i < q->n; i++)
		if (q->ops[i].op && q->ops[i].fd == fd)
			live = (int)i;
	if (live < 0) {
		drain_sigops(q);
		queue_unlock(q);
		crit--;
		return 0;	/* nothing of fd's reached or will reach the kernel */
	}
	n = q->n;
	qs = queue_scan(q);
	if (qs.ordered || (cres = backend_submit_close(q, q->ops, n, res, (unsigned)live, fd)) == 1) {
		/* The ordinary way: flush, then the caller's close(2). */
		drain_sigops(q);
		queue_unlock(q);
		crit--;
		atomic_store(s, v);
		shim_close_prepare(fd);
		return 0;
	}
	batch_done(q, q->ops, n, res, qs.live, be_kind);
	q->st.fused_closes++;
	q->n = 0;
	drain_sigops(q);
	queue_unlock(q);
	crit--;
	if (cres < 0) {
		errno = -cres;
		*rc = -1;
	} else {
		*rc = 0;
	}
	return 1;
}

void shim_poll_epfd(int fd)
{
	_Atomic uint64_t *s = slot_ptr(tab(), fd);
	uint64_t v = s ? atomic_load(s) : 0;

	if (s_kind(v) != K_EPOLL)
		return;
	/* poll/select on an epoll fd is a wait nobody announced: stop deferring */
	atomic_fetch_or(&epi_get(s_id(v))->flags, EPI_NESTED);
	sync_instance(s_id(v));
}

/*
 * Give this thread a private copy of the mirror (its fd table was just
 * unshared).  Every epoll instance in the old table is now reachable from
 * both tables, but that matters only for an instance a thread of one table
 * defers on while a thread of the other table uses it: sync_instance()
 * stops deferral on it at that first use.  Marking them all here, as the
 * first version did, took deferral away from every worker whose epoll fd
 * existed when another worker unshared first: with per-thread SO_REUSEPORT
 * listeners most workers then passed every op through (docs/shim.md).
 */
void shim_unshare_tab(void)
{
	struct fdtab *old = tab(), *nt = calloc(1, sizeof(*nt));
	int maxfd;

	if (!nt || tab_alloc(nt)) {
		free(nt);
		return;
	}
	maxfd = atomic_load(&old->maxfd);
	for (int fd = 0; fd <= maxfd && fd < nt->size && fd < old->size; fd++) {
		atomic_store(&nt->slot[fd], atomic_load(&old->slot[fd]) & ~S_Q);
	}
	atomic_store(&nt->maxfd, maxfd);
	my_tab = nt;
	if (my_queue())		/* its exit destructor frees the copy */
		tq_cache->tab = nt;
	if (old != &main_tab)
		tab_free(old);	/* a second unshare: the previous copy is ours alone */
}

static void become_loop_thread(void)
{
	loop_thread = 1;
	if (!opt_unshare)
		return;
	flush_all(0);
	/* the raw syscall: the unshare() wrapper (interpose.c) would copy
	 * the mirror a second time */
	if (syscall(SYS_unshare, CLONE_FILES) == 0) {
		shim_unshare_tab();
	} else if (tq_cache) {
		tq_cache->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, 3, errno);
	}
}

static int real_wait(int epfd, struct epoll_event *evs, int maxevents,
		     const struct timespec *ts, const sigset_t *sigmask, int kind)
{
	int ms;

	if (kind == 2)
		return real_epoll_pwait2(epfd, evs, maxevents, ts, sigmask);
	ms = ts ? (int)(ts->tv_sec * 1000 + ts->tv_nsec / 1000000) : -1;
	if (kind == 1)
		return real_epoll_pwait(epfd, evs, maxevents, ms, sigmask);
	return real_epoll_wait(epfd, evs, maxevents, ms);
}

/*
 * Flush this thread's queue, then the real wait.  A signal handler that
 * runs after the flush (crit is 0 again) and calls epoll_ctl must not queue
 * its op: natively it would be in effect before the wait, and the wait
 * (maybe an infinite one) would not see it.  in_wait makes it pass through.
 */
static int plain_wait(int epfd, struct epoll_event *evs, int maxevents,
		      const struct timespec *ts, const sigset_t *sigmask, int kind)
{
	int rc;

	in_wait++;
	flush_all(0);
	rc = real_wait(epfd, evs, maxevents, ts, sigmask, kind);
	in_wait--;
	return rc;
}

/* kind: 0 epoll_wait, 1 epoll_pwait, 2 epoll_pwait2.  ts is the timeout
 * (NULL: forever), already converted from milliseconds for kinds 0 and 1. */
int shim_wait(int epfd, struct epoll_event *evs, int maxevents,
	      const struct timespec *ts, const sigset_t *sigmask, int kind)
{
	_Atomic uint64_t *es = slot_ptr(tab(), epfd);
	uint64_t e = es ? atomic_load(es) : 0;
	struct qop ops[QCAP];
	int res[QCAP];
	struct waitreq w;
	struct epinfo *ep;
	struct tq *q;
	unsigned n, live;
	int me, wt;

	if (unlikely(crit))
		return real_wait(epfd, evs, maxevents, ts, sigmask, kind);
	if (s_kind(e) != K_EPOLL || be_kind == BE_SYNC) {
		if (unlikely(!loop_thread))
			become_loop_thread();
		return plain_wait(epfd, evs, maxevents, ts, sigmask, kind);
	}
	ep = epi_get(s_id(e));
	me = my_tid();
	wt = atomic_load(&ep->waiter);
	if (unlikely(wt != me)) {
		if (wt == 0) {
			q = my_queue();
			atomic_store(&ep->owner, q);
			if (!q || !atomic_compare_exchange_strong(&ep->waiter, &wt, me))
				wt = atomic_load(&ep->waiter);
			else
				wt = me;
		}
		if (wt != me && wt != WAITER_SHARED) {
			/* A second waiter: the first one's queued ops must be in
			 * the kernel before this thread looks. */
			atomic_compare_exchange_strong(&ep->waiter, &wt, WAITER_SHARED);
			sync_instance(s_id(e));
		}
	}
	if (unlikely(!loop_thread))
		become_loop_thread();
	q = tq_cache;
	if (!q || !q->n || sig_pending() || !backend_has_fused_wait() || maxevents <= 0 ||
	    (be_kind == BE_URING && queue_scan(q).ordered) ||
	    maxevents > EPOLL_BATCH_FUSED_MAX ||
	    (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))) {
		return plain_wait(epfd, evs, maxevents, ts, sigmask, kind);
	}

	/* Fused: the queued ops and the wait in one syscall.  The ops leave
	 * the queue before the call so a thread that must flush it does not
	 * wait behind a sleeping wait. */
	crit++;
	queue_lock(q);
	n = q->n;
	memcpy(ops, q->ops, n * sizeof(ops[0]));
	live = queue_scan(q).live;
	q->n = 0;
	queue_unlock(q);

	w.epfd = epfd;
	w.evs = evs;
	w.maxevents = maxevents;
	w.ts = ts;
	w.sigmask = sigmask;
	w.skipped = 0;
	backend_submit(q, ops, n, res, &w);
	batch_done(q, ops, n, res, live, be_kind);
	if (unlikely(atomic_load(&nsig))) {
		queue_lock(q);
		drain_sigops(q);
		queue_unlock(q);
	}
	q->st.fused_waits++;
	crit--;
	if (unlikely(w.skipped)) {
		/* kmod: a handler ran between two ops and left an op in the
		 * side list (now queued); it goes in before the wait. */
		return plain_wait(epfd, evs, maxevents, ts, sigmask, kind);
	}
	DTRACE_PROBE3(epbatch, fused_wait, epfd, live, w.result);
	if (w.result < 0) {
		errno = -w.result;
		return -1;
	}
	return w.result;
}

void shim_atfork_child(void)
{
	struct tq *q;

	tid_cache = 0;
	/* Other threads do not exist here; their queued ops belong to the
	 * parent, which applies them (no duplication). */
	for (q = registry; q; q = q->next) {
		if (q == tq_cache) {
			q->tid = my_tid();
			backend_forget_after_fork(q);
			continue;
		}
		q->n = 0;
		q->dead = 1;
		atomic_store(&q->lock, 0);
	}
	pthread_mutex_init(&reg_lock, NULL);
}

static void thread_exit(void *arg)
{
	struct tq *q = arg;

	flush_queue(q);
	backend_thread_exit(q);
	if (my_tab) {
		struct fdtab *t = my_tab;

		my_tab = NULL;
		tab_free(t);
	}
	pthread_mutex_lock(&reg_lock);
	stats_add(&dead_stats, &q->st);
	memset(&q->st, 0, sizeof(q->st));
	q->dead = 1;
	pthread_mutex_unlock(&reg_lock);
	tq_cache = NULL;
}

static void stats_print(void)
{
	struct stats s = dead_stats;
	char line[512];
	int len;

	for (struct tq *q = registry; q; q = q->next)
		stats_add(&s, &q->st);
	len = snprintf(line, sizeof(line),
		       "epbatch: pid=%d backend=%s deferred=%lu flushed=%lu batches=%lu "
		       "coalesced=%lu passthrough=%lu fallbacks=%lu fused_waits=%lu "
		       "mispredicted=%lu steals=%lu fused_closes=%lu\n",
		       getpid(), backend_name(be_kind), s.deferred, s.flushed, s.batches,
		       s.coalesced, s.passthrough, s.fallbacks, s.fused_waits,
		       s.mispredicted, s.steals, s.fused_closes);
	if (len > 0)
		(void)!write(2, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (!atomic_load(&inited))
		return;
	if (tq_cache)
		flush_queue(tq_cache);
	if (opt_stats)
		stats_print();
}
