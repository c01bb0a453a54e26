/* SPDX-License-Identifier: MIT */
/*
 * libepbatch.so internals above the backends: the fd mirror, the per-thread
 * queue, and the functions each layer offers the one above it.  From the
 * bottom up (a file calls only into the layers below it):
 *   real.c                 libc functions past the shim's wrappers
 *   be*.c                  backends (be.h)
 *   mirror.c               fd-number -> state table, epoll instances, predict
 *   fork.c                 who else may hold our epoll instances (fork)
 *   queue.c                per-thread queues, their lock, the fold rule
 *   sig.c                  epoll_ctl from signal handlers: the side list
 *   cancel.c               pthread_cancel: the fused waits as cancellation points
 *   flush.c                applying queues: flush, sync before a passthrough
 *   ctl.c close.c wait.c unshare.c   the decisions per libc call
 *   proc.c                 fork/exec/spawn/vfork hooks
 *   stats.c init.c         counters, start-up, thread and process exit
 *   interpose.c            the exported wrappers
 * docs/shim.md explains the rules and why each one exists.
 */
#ifndef EPBATCH_SHIM_H
#define EPBATCH_SHIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/sdt.h>
#include <sys/types.h>

#include "be.h"
#include "epbatch/break_even.h"

#pragma GCC visibility push(hidden)

/* ---- mirror.c ---- */

/*
 * One 64-bit word per fd number, changed only with atomic operations so a
 * reader never sees half an update and a stale writer loses its CAS:
 *   bits  0..31  events of the registration the mirror believes in
 *   bits 32..47  epoll instance id (registered in, or, for an epoll fd, is)
 *   bits 48..55  unused
 *   bit  56      REG: registered in that instance (after queued ops)
 *   bit  57      Q: an op on this fd may sit in the queue of the instance's
 *                owner (set before one is queued, cleared with the slot or
 *                by slot_unqueue after that queue's flush; the id stays
 *                while it is set: a stale Q costs another thread an empty
 *                flush, and spares the owner a locked RMW per op in its
 *                next batches)
 *   bit  58      OPEN: with REG, learnt from an ADD of an fd the mirror did
 *                not know (learn_slot): registered in that instance, and
 *                maybe in others it never saw, so a DEL makes it unknown
 *                again instead of "registered nowhere"
 *   bits 60..63  kind
 * The mirror describes the state the kernel will have once every queued
 * op is applied; that is what the next epoll_ctl's result depends on.
 */
enum fd_kind { K_UNKNOWN = 0, K_POLL = 1, K_EPOLL = 2 };

#define S_EVMASK	0xffffffffULL
#define S_ID_SHIFT	32
#define S_ID_MASK	0xffffULL
#define S_REG		(1ULL << 56)
#define S_Q		(1ULL << 57)
#define S_OPEN		(1ULL << 58)
#define S_KIND_SHIFT	60

static inline unsigned s_kind(uint64_t s) { return (unsigned)(s >> S_KIND_SHIFT); }
static inline unsigned s_id(uint64_t s) { return (unsigned)((s >> S_ID_SHIFT) & S_ID_MASK); }
static inline uint32_t s_events(uint64_t s) { return (uint32_t)(s & S_EVMASK); }
static inline uint64_t s_make(unsigned kind, unsigned id, uint64_t flags, uint32_t ev)
{
	return ((uint64_t)kind << S_KIND_SHIFT) | ((uint64_t)id << S_ID_SHIFT) | flags | ev;
}

/* The fd-number -> state table.  Threads share one unless EPBATCH_UNSHARE
 * (or the application's unshare(CLONE_FILES)) gave one a private fd table.
 * At most TAB_MAX slots (larger fd numbers pass through). */
#define TAB_MAX (1 << 22)
struct fdtab {
	_Atomic uint64_t *slot;
	int size;
	_Atomic int maxfd;	/* highest fd ever recorded: bounds scans */
};

/* Per epoll instance (not per fd number: dup'd epoll fds and copied fd
 * tables point at the same one).  Never freed: readers hold bare ids. */
#define EPI_XPROC	(1 << 0)	/* another process may hold it (fork) */
#define EPI_NESTED	(1 << 1)	/* inside another epoll, or polled */
#define EPI_XTABLE	(1 << 2)	/* reachable from two fd tables */
#define EPI_CLOEXEC	(1 << 3)	/* created with EPOLL_CLOEXEC (not a bar) */
#define EPI_FORKED	(1 << 4)	/* a fork child holds it: cleared once every
					 * forked process is reaped (fork_reaped) */
#define EPI_EXCL	(1 << 5)	/* has had an EPOLLEXCLUSIVE registration (kept
					 * after its DEL), and the fused wait would be
					 * io_uring's: it must not sleep (epi_note_excl) */
#define EPI_NODEFER	(EPI_XPROC | EPI_NESTED | EPI_XTABLE | EPI_FORKED)
#define WAITER_SHARED	(-1)
#define MAX_EPI 65535

struct tq;
struct epinfo {
	_Atomic int waiter;		/* 0 none yet, tid, or WAITER_SHARED */
	_Atomic int flags;
	struct tq *_Atomic owner;	/* queue of the single waiter */
};

extern struct fdtab main_tab;
extern struct epinfo *epis;
/* Some instance has (had) EPI_XPROC: 0 says none does, in one load. */
extern _Atomic int epi_xproc_seen;
/* Some instance has EPI_EXCL: 0 says none does, in one load. */
extern _Atomic int epi_excl_seen;

static inline struct epinfo *epi_get(unsigned id)
{
	return &epis[id];
}

/*
 * Instance id gets an EPOLLEXCLUSIVE registration.  io_uring's epoll wait
 * sleeps as a poll of the epoll file, and an exclusive wake-up stops only
 * at an instance with a task asleep in epoll_wait itself (ep_poll_callback):
 * sleeping fused, the waits of every process or thread holding the
 * exclusive file (nginx's workers, the reference server's, on their shared
 * listening socket) would all wake for each event.  So under the io_uring
 * backend a fused wait on such an instance takes only what is ready, and
 * the kernel's own wait does the sleeping (shim_wait_flush).  The module's
 * fused wait is epoll_pwait itself: no bar.
 */
static inline void epi_note_excl(unsigned id)
{
	struct epinfo *ep = epi_get(id);

	if (be_kind == EPB_BE_URING &&
	    !(atomic_load_explicit(&ep->flags, memory_order_relaxed) & EPI_EXCL)) {
		atomic_store(&epi_excl_seen, 1);	/* before the instance has it */
		atomic_fetch_or(&ep->flags, EPI_EXCL);
	}
}
static inline _Atomic uint64_t *slot_ptr(struct fdtab *t, int fd)
{
	return (unsigned)fd < (unsigned)t->size ? &t->slot[fd] : NULL;
}

void *map_zero(size_t len);
int mirror_init(void);
int tab_alloc(struct fdtab *t);
void tab_free(struct fdtab *t);
void mark_all_epi(int flag, int only_non_cloexec);
void clear_all_epi(int flag);
int any_epi_inherited(void);
int tab_has_epoll(const struct fdtab *t);
void tab_raise_maxfd(struct fdtab *t, int fd);

/* fd has a slot now: the table's scans (close_range, closefrom, unshare,
 * bounded by maxfd) must reach it. */
static inline void tab_cover(struct fdtab *t, int fd)
{
	if (unlikely(fd > atomic_load_explicit(&t->maxfd, memory_order_relaxed)))
		tab_raise_maxfd(t, fd);
}
void slot_reset(int fd);
void note_epoll(int fd, int flags);
void note_dup(int oldfd, int newfd);

#define S_KEEP S_Q

/* The slot of an fd the mirror forgets (the kernel decides its ops from
 * now on): with its Q bit, the instance whose owner's queue may hold an op
 * on fd, which a close of fd must still flush. */
static inline uint64_t s_forget(uint64_t v)
{
	return v & S_Q ? v & (S_Q | S_ID_MASK << S_ID_SHIFT) : 0;
}

int slot_unqueue(_Atomic uint64_t *fs, uint64_t *v, unsigned id);
/* What the kernel would return for op on a POLL fd with mirror state v in
 * instance id: 0 (success, *nv is the state after it; the S_Q bit of v is
 * kept), or 1 when the shim cannot know (the kernel decides). */
#define EXCL_OK_BITS (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | \
		      EPOLLET | EPOLLEXCLUSIVE)
static inline int predict(uint64_t v, unsigned id, int op, const struct epoll_event *ev, uint64_t *nv)
{
	int reg = (v & S_REG) != 0;

	if (reg && s_id(v) != id)
		return 1;	/* in another instance: the mirror holds one */
	switch (op) {
	case EPOLL_CTL_ADD:
		if (reg || !ev)
			return 1;
		/* An op on fd may sit in the queue of another instance's
		 * owner, which the Q bit names through the slot's id: a slot
		 * naming this instance would send a close of fd to flush the
		 * wrong queue (learn_slot flushes that one first). */
		if ((v & S_Q) && s_id(v) != id)
			return 1;
		if ((ev->events & EPOLLEXCLUSIVE) && (ev->events & ~EXCL_OK_BITS))
			return 1;
		*nv = s_make(K_POLL, id, S_REG | (v & S_KEEP), ev->events);
		return 0;
	case EPOLL_CTL_MOD:
		if (!reg || !ev || ((ev->events | s_events(v)) & EPOLLEXCLUSIVE))
			return 1;
		/* The slot keeps events only to know EPOLLEXCLUSIVE, which
		 * neither the old nor the new events of a successful MOD have:
		 * nothing it keeps changes. */
		*nv = v;
		return 0;
	case EPOLL_CTL_DEL:
		if (!reg)
			return 1;
		/* an S_OPEN fd becomes unknown, its id kept (as a stale Q
		 * bit needs: the queue to flush is the instance's owner's;
		 * not s_forget(v): a deferral adds Q to what this returns) */
		*nv = v & S_OPEN ? v & (S_KEEP | S_ID_MASK << S_ID_SHIFT) :
				   s_make(K_POLL, id, v & S_KEEP, 0);
		return 0;
	}
	return 1;
}

/* ---- fork.c ---- */
void fork_share_init(void);
void fork_prepare(void);
void fork_parent(pid_t pid);
void fork_child(void);
void fork_reaped(pid_t pid);
void fork_taint(void);
void fork_before_exec(void);

/* ---- queue.c ---- */

struct stats {
	unsigned long deferred, flushed, batches, coalesced, passthrough,
		fallbacks, fused_waits, mispredicted, steals, fused_closes,
		direct, iters_direct, iters_batch, sync_flushes, lost_closes;
};

/* Per-thread queue.  Heap-allocated and recycled, never freed: another
 * thread may still hold a pointer through struct epinfo.owner. */
_Static_assert(QCAP <= 256, "struct tq's idx holds a queue index in a byte");
struct tq {
	_Atomic int lock;	/* 0 free, 1 owner, 2 another thread flushing it */
	int tid;
	int dead;
	_Atomic int in_fused;	/* its thread is in a wait that pthread_cancel
				 * must interrupt: a fused one, or
				 * mt_wait's (cancel.c) */
	_Atomic int kicked;	/* pthread_cancel interrupted that wait (cancel.c) */
	pthread_t pt;		/* its thread, for pthread_cancel (cancel.c) */
	struct fdtab *tab;
	unsigned n;		/* ops[0..n) queued, cancelled ones included */
	uint8_t *idx;		/* by fd number (TAB_MAX): the index in ops[] of
				 * the fd's last queued op, if ops[] has one
				 * there on that fd and instance (qop_at) */
	unsigned live;		/* of them not cancelled */
	int ordered;		/* one of them follows a DEL of its fd */
	struct qop ops[QCAP];
	struct stats st;
	struct tq *next;	/* registry */
};


void queue_init(void (*on_exit)(void *));
struct tq *my_queue(void);
void queue_lock_wait(struct tq *q);

/* Empty q (its owner, or under its lock). */
static inline void queue_clear(struct tq *q)
{
	q->n = 0;
	q->live = 0;
	q->ordered = 0;
}

/*
 * The fold rule, for the queue and for the signal side list alike: a new op
 * on the (instance, fd) of o, the last op queued on it.  ADD+DEL cancel (o
 * becomes a no-op: the kernel never sees either), MOD+DEL is a DEL, ADD+MOD
 * stays an ADD with the new events, MOD+MOD keeps the last.  Returns 0 when
 * folded, 1 when the new op must be appended: after a DEL (DEL then ADD is
 * never a MOD: with EPOLLEXCLUSIVE a MOD is EINVAL, and a re-add also resets
 * the item) or after a cancelled pair.
 */
static inline int qop_closed(const struct qop *o)
{
	return o->op == EPOLL_CTL_DEL || o->op == 0;	/* nothing folds into it */
}

static inline int qop_fold(struct qop *o, int op, const struct epoll_event *ev)
{
	if (qop_closed(o))
		return 1;
	if (op == EPOLL_CTL_DEL) {
		o->op = o->op == EPOLL_CTL_ADD ? 0 : EPOLL_CTL_DEL;
	} else {
		o->ev = *ev;
	}
	return 0;
}

/* The last op queued on fd in q (in any instance), or NULL: O(1), q->idx
 * remembers its index (fd < TAB_MAX).  A stale index (from an earlier
 * batch) names an op on another fd, or one past q->n: every append on fd
 * rewrites it. */
static inline struct qop *qop_last(struct tq *q, int fd)
{
	unsigned i = q->idx[fd];

	return i < q->n && q->ops[i].fd == fd ? &q->ops[i] : NULL;
}

/* The last op queued on (id, fd) in q, or NULL. */
static inline struct qop *qop_at(struct tq *q, int fd, unsigned id)
{
	struct qop *o = qop_last(q, fd);

	return o && o->epi == id ? o : NULL;
}
/* The index of the last live op on fd in q, or -1: O(1) unless fd's last
 * op is a cancelled pair (a live DEL may sit before it). */
static inline int queue_last_live(struct tq *q, int fd)
{
	const struct qop *o = qop_last(q, fd);

	if (!o)
		return -1;	/* nothing on fd in this queue */
	for (int i = (int)(o - q->ops); i >= 0; i--)
		if (q->ops[i].op && q->ops[i].fd == fd)
			return i;	/* the first, unless fd's last op is cancelled */
	return -1;
}
void queue_after_fork(void);
void queue_retire(struct tq *q);
void queue_each(void (*fn)(struct tq *q, void *arg), void *arg);

/* ---- cancel.c ---- */
extern _Atomic int cancel_seen;
void cancel_point(void);
int shim_cancel(int (*real_cancel)(pthread_t), pthread_t th);

/* ---- sig.c ---- */
static inline int sig_pending(void);
int sig_defer(int epfd, int op, int fd, struct epoll_event *ev);
int sig_take(struct tq *q);

/* ---- policy.c ---- */

/* A moving average with weight 1/4 for x, rounded towards x: a constant x
 * is reached exactly, from below and from above.  (Rounded up both ways, a
 * share of connection ops that fell to 0 stayed at 1/16 per iteration, and
 * that was enough to lift a MOD loop's break-even by one: mix_break_even.) */
static inline int ewma(int avg, int x)
{
	/* >> of a negative: GCC shifts arithmetically (rounds down) */
	return avg + ((x - avg + (x > avg ? 3 : 0)) >> 2);
}

/* The most direct waits counted together, at the block's last one
 * (policy_wait_quiet, policy_count_wait); the tracer's cost model reads a
 * loop in blocks of as many (include/epbatch/break_even.h). */
#define QUIET_WAITS EPB_POLICY_BLOCK

/* A block's moving average in one step: its mean x gets the weight 7/8
 * (per wait, 1/4 each, it would get 1 - (3/4)^n: 0.9 at 8, 0.99 at 16;
 * a steady loop's average and decisions come out the same). */
static inline int ewma_block(int avg, int x)
{
	return x + ((avg - x + (avg < x ? 7 : 0)) >> 3);	/* rounded towards x */
}

/* x, the mean of n >= 1 iterations (a direct or a batched block), into avg. */
static inline int ewma_n(int avg, int x, unsigned n)
{
	return n == 1 ? ewma(avg, x) : ewma_block(avg, x);
}

struct loopstate {
	unsigned ops;		/* epoll_ctl calls since the last counted wait */
	int avg;		/* their moving average, x16 */
	int ratio;		/* ops left after coalescing / ops, x256 (0: unknown) */
	int batch;		/* defer this iteration's ops (2: a probe) */
	unsigned probe;		/* direct iterations since the last probe */
	unsigned probe_every;	/* ... between probes (0: PROBE_EVERY) */
	int calibrating;	/* policy.c is measuring on this thread */
	int careful;		/* counted in ctl_careful */
	int poll;		/* its fused waits have a 0 timeout (wait_fused_poll) */
	unsigned saved;		/* ops coalescing saved in this iteration */
	unsigned closed;	/* ops fused closes sent in it (close.c) */
	int coal;		/* their share of the ops, x256 (0: unknown) */
	int settled;		/* the last mode reported (epbatch:mode) */
	/* A direct iteration at or above policy_batch_from skips
	 * policy_decide() while the average stays below recheck_avg and
	 * recheck_left iterations remain before the next probe (set by
	 * policy_decide when nothing else could change its answer). */
	int recheck_avg;
	unsigned recheck_left, recheck_set;
	/* ADD and DEL calls (the connection ops: priced apart, policy.c)
	 * since the last policy_decide(), and per iteration, x16, averaged */
	unsigned conn;
	int avg_conn;
	/* Direct waits left in this block, the counting one included, and
	 * the block's length (both >= 1 between waits: LP_INIT) */
	unsigned quiet;
	unsigned quiet_len;
	/* The same for batched waits (policy_batch_quiet: ops, saved and
	 * closed then sum over the block), and the ops its batches carried
	 * before the last one */
	unsigned bquiet;
	unsigned bquiet_len;
	unsigned bcarried;
	unsigned long iters_mark;	/* the queue's iterations at that decide */
	int conn_loop;		/* the iterations since the one before, all past the
				 * loop's first CONN_AFTER, had half a connection op
				 * each or more (policy.c conn_break_even) */
};
extern int policy_fixed;
int policy_init(void);
/* The break-even batch sizes: 0 until measured, UINT_MAX never
 * (policy_min_batch below reads its thread's) */
extern _Atomic unsigned min_batch[EPB_BRK_KINDS];
unsigned policy_min_batch_measure(void);
extern _Atomic int poll_unfused;
/* kind: enum epb_break_kind (include/epbatch/break_even.h) */
unsigned policy_min_batch_known(int kind);
extern unsigned policy_batch_from;
/* Threads that batch now (or did, until their queue is empty), plus
 * CAREFUL_FORKED in a fork child that holds its parent's epoll instances
 * (fork_taint must see every epoll_ctl there): while not 0, every
 * epoll_ctl takes the careful way (ctl.c). */
extern _Atomic int ctl_careful;
#define CAREFUL_FORKED (1 << 24)	/* direct: batch once the average reaches it */
/* Until the shim is set up (init.c): the careful way sets it up, so the
 * direct way needs no test of its own. */
#define CAREFUL_INIT (1 << 25)
void policy_decide(struct tq *q, int poll);
void policy_count_block(struct tq *q);
void policy_thread_exit(void);
void policy_release(void);
void policy_fork_prepare(void);
void policy_fork_done(int child);


/*
 * A fused wait's state, on its frame (wait.c): what settling it takes when
 * a signal handler leaves it with siglongjmp instead of returning (jump.c:
 * fused_abandon), beyond the thread's queue and its ops array (thr.q,
 * q->ops).  Its address is in that frame: a jump to a frame above it
 * leaves the wait.
 */
struct fused_ctx {
	unsigned n, live;
	int *res;
	struct be_report *rep;
};
void fused_abandon(void);
void jump_from_wait(const void *env);

/* ---- the thread's own state (one thread-local block: one address) ---- */
struct thr {
	struct fdtab *tab;	/* its mirror: &main_tab unless its fd table was unshared */
	struct tq *q;		/* its queue, once it has one */
	union {
		struct {
			uint16_t crit;		/* >0: inside the shim (a signal
						 * handler's op must not touch
						 * the queue) */
			uint16_t in_wait;	/* between plain_wait's flush
						 * and its wait */
		};
		uint32_t busy;	/* either: a batching thread's epoll_ctl must
				 * not defer (ctl_slow's one test) */
	};
	int loop_thread;	/* has waited: EPBATCH_UNSHARE done */
	uint64_t owned;		/* slot of the instance it last waited on as owner,
				 * while it has a queue (OWNED_NONE: none) */
	int in_vfork;		/* between vfork and its return in the parent:
				 * the child runs on these thread-locals */
	_Atomic int nsig;	/* ops in sig.c's side list (one base with the
				 * rest: the wrappers test it on every call) */
	struct loopstate lp;	/* policy.c */
	struct fused_ctx *fctx;	/* its fused wait under way (wait.c), for a
				 * handler that jumps out of it (jump.c) */
};
extern TLS struct thr thr;
#define LP_INIT { .quiet = 1, .quiet_len = 1, .bquiet = 1, .bquiet_len = 1 }
/* thr.owned of a thread that waits on no instance it owns: no slot is of
 * kind 15, so no wait takes the wrappers' common way (interpose.c). */
#define OWNED_NONE (~0ULL)

/* The owner takes its own lock only to keep a flushing thread out; the CAS
 * is uncontended unless another thread is flushing this queue right now. */
static inline void queue_lock(struct tq *q)
{
	int zero = 0;

	if (unlikely(!cas_int(&q->lock, &zero, q == thr.q ? 1 : 2)))
		queue_lock_wait(q);
}

static inline void queue_unlock(struct tq *q)
{
	atomic_store_explicit(&q->lock, 0, memory_order_release);
}

/* Append an op (ev: NULL for a DEL, whose ev may be NULL; op 0: a
 * cancelled pair), written in place: the common deferral builds no copy. */
static inline void queue_append(struct tq *q, int epfd, int op, int fd,
				const struct epoll_event *ev, unsigned id, int ordered)
{
	struct qop *n = &q->ops[q->n];

	q->idx[fd] = (uint8_t)q->n++;
	if (ev)
		n->ev = *ev;
	/* an ADD the kernel will get: the instance's fused wait must not
	 * sleep from this batch on (a handler's ADD from the side list too) */
	if (unlikely(op == EPOLL_CTL_ADD && (ev->events & EPOLLEXCLUSIVE)))
		epi_note_excl(id);
	n->epfd = epfd;
	n->fd = fd;
	n->op = op;
	n->epi = id;
	n->ordered = ordered;
	q->live += op != 0;
	q->ordered |= ordered;
}

/*
 * At the wait of an iteration that went the direct way.  While a loop
 * stays direct (past its first 2 * QUIET_WAITS iterations), its waits are
 * counted up to QUIET_WAITS at a time: the others cost this decrement, and
 * the block's last one calls policy_count_wait(), so a loop whose ops grow
 * is seen at most QUIET_WAITS - 1 iterations later.  A block ends where a
 * probe is due (recheck_left).  1: nothing more to do.
 */
static inline int policy_wait_quiet(void)
{
	return likely(--thr.lp.quiet != 0);	/* one subtract: quiet is >= 1 here */
}

/* n direct iterations and the epoll_ctl calls since the last count, into
 * q's counters; returns those calls. */
static inline unsigned policy_count_direct(struct tq *q, unsigned n)
{
	unsigned ops = thr.lp.ops;

	thr.lp.ops = 0;
	q->st.iters_direct += n;
	q->st.direct += ops;
	return ops;
}

/* The iterations since the last counted wait and their epoll_ctl calls,
 * into the counters and the average.  1: the next iteration goes direct
 * too (below policy_batch_from nothing else can pay); 0: the caller must
 * call policy_decide(). */
static inline int policy_count_wait(struct tq *q)
{
	struct loopstate *l = &thr.lp;
	unsigned n = l->quiet_len, ops = policy_count_direct(q, n);	/* n >= 1 */

	l->avg = ewma_n(l->avg, (int)(ops * 16 / n), n);
	if (likely((unsigned)l->avg < policy_batch_from)) {
		n = QUIET_WAITS;
	} else {
		/* the block's other waits took as many of recheck_left (a block
		 * begun here is never longer than what is left, plus this wait;
		 * one begun below policy_batch_from took none before) */
		l->recheck_left -= n - 1 < l->recheck_left ? n - 1 : l->recheck_left;
		if (l->avg >= l->recheck_avg || !l->recheck_left) {
			l->quiet = l->quiet_len = 1;
			return 0;
		}
		l->recheck_left--;
		n = l->recheck_left < QUIET_WAITS ? l->recheck_left + 1 : QUIET_WAITS;
	}
	/* blocks only past the loop's start: its first iterations decide at
	 * once, as a loop's set-up and first ops come */
	if (unlikely(q->st.iters_direct + q->st.iters_batch < 2 * QUIET_WAITS))
		n = 1;
	l->quiet = l->quiet_len = n;
	return 1;
}

/*
 * At the wait of a batched iteration: inside a block of QUIET_WAITS that
 * policy_decide() began (a loop past its start that batches, not a probe),
 * the decision stands and the iteration is only counted; its epoll_ctl
 * calls, the ops coalescing saved and those fused closes carried keep
 * adding up, and the block's last wait decides on them all.  A loop that
 * shrinks below the break-even is seen at most QUIET_WAITS - 1 iterations
 * later, as one that grows past it is on the direct side.  1: counted.
 */
static inline int policy_batch_quiet(struct tq *q)
{
	struct loopstate *l = &thr.lp;

	/* > 1 only while batch is 1: policy_decide() ends a block whenever
	 * it runs, and policy_thread_exit() and calibrate() too */
	if (likely(l->bquiet <= 1))
		return 0;
	l->bquiet--;
	l->bcarried += q->live;
	q->st.iters_batch++;
	return 1;
}

/* At each wait of an event-loop thread (see policy.c). */
static inline void policy_wait(struct tq *q, int poll)
{
	if (likely(!thr.lp.batch) && (policy_wait_quiet() || likely(policy_count_wait(q))))
		return;
	if (policy_batch_quiet(q))
		return;
	policy_decide(q, poll);
}

/* ---- flush.c ---- */
void flush_queue(struct tq *q);
void flush_locked(struct tq *q);
void take_sigops(struct tq *q);

void flush_all(int steal_others);
void sync_instance(unsigned id);
void batch_report(struct tq *self, const struct qop *ops, unsigned n, const int *res,
		  const struct be_report *rep);

/* After a batch ran (flush, fused wait or fused close): the counters and
 * the USDT probe the batch; the mirror takes the kernel's answers when
 * anything went otherwise than predicted (batch_report). */
static inline void batch_done(struct tq *self, const struct qop *ops, unsigned n, const int *res,
			      unsigned live, enum epbatch_backend backend,
			      const struct be_report *rep)
{
	if (live) {
		DTRACE_PROBE2(epbatch, flush, live, backend);
		self->st.flushed += live;
		self->st.batches++;
	}
	if (unlikely(rep->failed | rep->late | rep->errors))
		batch_report(self, ops, n, res, rep);
}

/* ---- ctl.c close.c wait.c unshare.c ---- */
int ctl_slow(int epfd, int op, int fd, struct epoll_event *ev);
int ctl_passthrough(int epfd, int op, int fd, struct epoll_event *ev);
int ctl_direct(int epfd, int op, int fd, struct epoll_event *ev);
int ctl_mod_failed(int epfd, int fd, int err);
int ctl_mod_libc(int epfd, int fd, struct epoll_event *ev);
void shim_close_prepare(int fd);
int shim_close(int fd, int *rc);
void shim_close_span(unsigned first, unsigned last);
void shim_poll_epfd(int fd);
/* ms: the timeout of epoll_wait/epoll_pwait; ts: epoll_pwait2's */
int shim_wait(int epfd, struct epoll_event *evs, int maxevents, int ms,
	      const struct timespec *ts, const sigset_t *sigmask, enum epbatch_wait_kind kind);
/* (the caller's queue, thr.q, is not NULL; the wrappers' seven arguments,
 * so that they reach it by a jump) */
int shim_wait_flush(int epfd, struct epoll_event *evs, int maxevents, int ms,
		    const struct timespec *ts, const sigset_t *sigmask,
		    enum epbatch_wait_kind kind);
void shim_unshare_tab(void);
void unshare_loop_thread(void);

/* ---- proc.c ---- */
void proc_atfork_prepare(void);
void proc_atfork_parent(void);
void proc_atfork_child(void);
void proc_before_exec(void);
void proc_before_spawn(void);
void shim_vfork_prepare(void);
long shim_vfork_done(long rc);

/* ---- stats.c init.c ---- */
extern int opt_unshare, opt_stats;
extern const char *opt_stats_path;
void stats_add(struct stats *dst, const struct stats *src);
void stats_retire(const struct stats *st);
void stats_print(void);
extern _Atomic int shim_inited;
void shim_init_slow(void);
void shim_backend_init(void);
static inline void shim_init(void)
{
	if (unlikely(!atomic_load_explicit(&shim_inited, memory_order_acquire)))
		shim_init_slow();
}

/* Before a longjmp or siglongjmp (interpose.c): a signal handler's jump
 * out of a fused wait settles it first (jump.c). */
static inline void shim_jump(const void *env)
{
	if (unlikely(thr.fctx))
		jump_from_wait(env);
	shim_init();	/* glibc's jump functions, resolve_real() */
}

/* ---- mirror.c, inline for the wrappers and ctl.c ---- */

/* The slot of a new pollable file (note_pollable): known kind, registered
 * nowhere, nothing queued. */
#define S_FRESH ((uint64_t)K_POLL << S_KIND_SHIFT)

/* A new file under fd (the wrappers that make fds): no RMW needed, nothing
 * can be queued on a number that names no file yet.  Inline, so the
 * wrappers that make fds call nothing but libc (a vfork child's fds are
 * not the parent's: in_vfork writes nothing). */
static inline void slot_set(int fd, uint64_t v)
{
	struct fdtab *t = thr.tab;

	if (unlikely((unsigned)fd >= (unsigned)t->size || thr.in_vfork))
		return;
	atomic_store_explicit(&t->slot[fd], v, memory_order_release);
	tab_cover(t, fd);
}

static inline void note_pollable(int fd)
{
	slot_set(fd, S_FRESH);
}

/* learn() for fd's slot in table t (v: its value, read after the op) in
 * instance id. */
static inline __attribute__((always_inline)) void
learn_slot(struct fdtab *t, int fd, uint64_t v, unsigned id, int op,
	   const struct epoll_event *ev, int err)
{
	_Atomic uint64_t *fs = &t->slot[fd];
	uint64_t nv;
	int xproc;

	if (s_kind(v) == K_EPOLL && op == EPOLL_CTL_ADD && !err)
		/* readiness of that instance now shows in this one */
		atomic_fetch_or(&epi_get(s_id(v))->flags, EPI_NESTED);
	if (op == EPOLL_CTL_ADD && !err && ev && (ev->events & EPOLLEXCLUSIVE))
		epi_note_excl(id);
	xproc = atomic_load_explicit(&epi_get(id)->flags, memory_order_relaxed) & EPI_XPROC;
	for (;;) {
		/* Q names another instance's queue, and the slot is about to
		 * name id or none: that queue first (each value the slot
		 * takes, a CAS retry's too) */
		if (unlikely((v & S_Q) && s_id(v) != id) && !slot_unqueue(fs, &v, id))
			return;
		if (s_kind(v) != K_POLL) {
			/* An fd the mirror does not know (inherited, opened,
			 * received, or forgotten after a surprise:
			 * settle_errors) that an ADD just registered here:
			 * pollable, in id, with these events, and maybe in
			 * instances the mirror never saw (S_OPEN).  Left
			 * unknown, its every later op would pass through, each
			 * flushing the batch before it. */
			if (s_kind(v) != K_UNKNOWN || op != EPOLL_CTL_ADD || err || xproc || !ev)
				return;
			nv = s_make(K_POLL, id, S_REG | S_OPEN | (v & S_KEEP), ev->events);
		} else if (xproc) {
			nv = s_forget(v);	/* another process changes it too */
		} else if (predict(v, id, op, ev, &nv) == 0) {
			/* The mirror expected success: trust it iff so. */
			if (err)
				nv = s_forget(v);
		} else if (err == 0) {
			nv = s_forget(v);	/* a success the mirror could not know */
		} else {
			return;			/* an error, as the mirror expected */
		}
		if (atomic_compare_exchange_weak_explicit(fs, &v, nv, memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	/* A number the mirror knows now: the scans bounded by maxfd
	 * (close_range, closefrom, unshare) must reach it, or an op queued
	 * on it outlives the close. */
	if (unlikely(s_kind(v) != K_POLL))
		tab_cover(t, fd);
}

/* Learn from what the kernel said (err: 0 or errno) to an op the shim
 * passed through; an epoll fd added to an instance makes its own instance
 * nested. */
static inline __attribute__((always_inline)) void
learn(int epfd, int op, int fd, const struct epoll_event *ev, int err)
{
	/* thr.tab and the slots read once, with explicit orders: a seq_cst
	 * load is a compiler barrier that reloaded thr.tab at every use
	 * (20 instructions a call of the reference server's conn mode) */
	struct fdtab *t = thr.tab;
	uint64_t e;

	if ((unsigned)epfd >= (unsigned)t->size || (unsigned)fd >= (unsigned)t->size)
		return;
	e = atomic_load_explicit(&t->slot[epfd], memory_order_acquire);
	if (s_kind(e) != K_EPOLL)
		return;
	learn_slot(t, fd, atomic_load_explicit(&t->slot[fd], memory_order_acquire), s_id(e), op,
		   ev, err);
}

/* ---- close.c, inline for the wrappers ---- */

/* Whether closing (or replacing) the file of a slot with value v must first
 * flush a queue: an op on it is queued (S_Q), or it is an epoll fd. */
static inline int slot_needs_sync(uint64_t v)
{
	/* kind K_EPOLL is the one kind with its bit: one test for both */
	_Static_assert(!(K_EPOLL & (K_POLL | K_UNKNOWN)), "K_EPOLL's bit is its own");
	return (v & (S_Q | (uint64_t)K_EPOLL << S_KIND_SHIFT)) != 0;
}

/*
 * close(fd) (or syscall(SYS_close, fd)) the common way, before the real
 * call: fd's slot shows nothing queued and no instance to flush, so
 * forgetting fd is all shim_close() and shim_close_prepare() would do, in
 * one CAS (an op racing with it fails its own CAS and goes to the kernel).
 * 1: done; 0: nothing was changed, the caller takes their way (a vfork
 * child, the kmod backend's device fd, a slot that changed meanwhile).
 */
static inline int close_quick(int fd)
{
	struct fdtab *t = thr.tab;
	_Atomic uint64_t *s;
	uint64_t v;

	/* acquire: a size set (tab_alloc) says the libc pointers are too */
	if (unlikely((unsigned)fd >= (unsigned)__atomic_load_n(&t->size, __ATOMIC_ACQUIRE)))
		return 0;
	if (fd < 0)
		__builtin_unreachable();	/* t->size is at most 4M: be_owns_fd needs no test */
	if (unlikely(thr.in_vfork || be_owns_fd(fd)))
		return 0;
	s = &t->slot[fd];
	v = atomic_load_explicit(s, memory_order_relaxed);
	if (!v)
		return 1;	/* unknown: nothing queued, nothing to forget */
	return !slot_needs_sync(v) && cas_u64(s, &v, 0);
}

/* Everything the shim does before close(2) of fd (close, syscall(SYS_close),
 * the calibration's connection loop): 1 when it closed fd itself (*rc:
 * close's return value), 0 when the caller's close(2) follows now. */
static inline int close_first(int fd, int *rc)
{
	return likely(close_quick(fd)) ? 0 : shim_close(fd, rc);
}

/* ---- the common wait, inline in the wrappers (interpose.c) ---- */

/*
 * The common wait's ways out (interpose.c) take the timeout in ms and the
 * wait's kind in one argument: x86-64 passes six arguments in registers,
 * and a call with a seventh on the stack cannot be a jump, so every wrapper
 * would need a stack frame.  (The multi-threaded way, bare_*_mt, is one
 * function per kind instead: the wrappers' own arguments, no packing.)
 */
static inline long wk_pack(int ms, enum epbatch_wait_kind kind)
{
	return (long)((unsigned long)kind << 32 | (uint32_t)ms);
}

static inline int wk_ms(long wk)
{
	return (int)(uint32_t)wk;
}

static inline enum epbatch_wait_kind wk_kind(long wk)
{
	return (enum epbatch_wait_kind)((unsigned long)wk >> 32);
}

int bare_wait_mt(int epfd, struct epoll_event *evs, int maxevents, int ms);
int bare_pwait_mt(int epfd, struct epoll_event *evs, int maxevents, int ms,
		  const sigset_t *sigmask);
int bare_pwait2_mt(int epfd, struct epoll_event *evs, int maxevents,
		   const struct timespec *ts, const sigset_t *sigmask);

/* The wait with nothing of this thread's queued: in_wait, so a signal
 * handler's epoll_ctl during it passes through (plain_wait, wait.c).  The
 * syscall here while the process has one thread (real.h); the other way
 * (bare_*_mt, wait.c: marked for pthread_cancel, or libc's wrapper) out of
 * line, so that the common way keeps nothing across a call. */
static inline int bare_wait(int epfd, struct epoll_event *evs, int maxevents, int ms,
			    const struct timespec *ts, const sigset_t *sigmask,
			    enum epbatch_wait_kind kind)
{
	long r;

	if (unlikely(!sys_wait_direct())) {
		if (kind == EPB_WAIT)
			return bare_wait_mt(epfd, evs, maxevents, ms);
		if (kind == EPB_PWAIT)
			return bare_pwait_mt(epfd, evs, maxevents, ms, sigmask);
		return bare_pwait2_mt(epfd, evs, maxevents, ts, sigmask);
	}
	thr.in_wait++;
	r = wait_syscall(epfd, evs, maxevents, ms, ts, sigmask, kind);
	thr.in_wait--;
	return sys_ret(r);
}

/* Whether epfd is an instance marked EPI_EXCL (one load while none is). */
static inline int epfd_has_excl(int epfd)
{
	_Atomic uint64_t *es;
	uint64_t e;

	if (likely(!atomic_load_explicit(&epi_excl_seen, memory_order_relaxed)))
		return 0;
	es = slot_ptr(thr.tab, epfd);
	e = es ? atomic_load_explicit(es, memory_order_acquire) : 0;
	return s_kind(e) == K_EPOLL &&
	       (atomic_load_explicit(&epi_get(s_id(e))->flags, memory_order_relaxed) & EPI_EXCL);
}

/* Whether a wait has a 0 timeout (its fused form is dearer: policy.c). */
static inline int wait_is_poll(int ms, const struct timespec *ts, enum epbatch_wait_kind kind)
{
	return kind == EPB_PWAIT2 ? ts && !ts->tv_sec && !ts->tv_nsec : ms == 0;
}

/* Whether a wait's fused form is the 0-timeout one, whose break-even the
 * policy prices it with: a 0 timeout, or an instance whose fused wait must
 * not sleep (EPI_EXCL: shim_wait_flush sends it with a 0 timeout whatever
 * the caller asked). */
static inline int wait_fused_poll(int epfd, int ms, const struct timespec *ts,
				  enum epbatch_wait_kind kind)
{
	return wait_is_poll(ms, ts, kind) || epfd_has_excl(epfd);
}

/* The break-even batch size of this thread's MOD loop (its wait form:
 * thr.lp.poll); the first call measures it (policy.c). */
static inline unsigned policy_min_batch(void)
{
	unsigned b = atomic_load_explicit(&min_batch[thr.lp.poll], memory_order_relaxed);

	return likely(b) ? b : policy_min_batch_measure();
}

static inline int sig_pending(void)
{
	return atomic_load_explicit(&thr.nsig, memory_order_relaxed) != 0;
}

/*
 * epoll_ctl (ctl.c has the rest).  The direct way, while no thread of the
 * process batches and the shim is set up (ctl_careful == 0) and this thread
 * does not batch either: the op
 * goes to the kernel now, and the mirror learns from the result; in user
 * space only what that takes, since no queue can hold an op this one must
 * follow.  A MOD that succeeds teaches the mirror nothing (predict: the
 * slot keeps what it had), so the common call is the libc call and a few
 * tests; only epfd and fd are kept across it, for a failure.  Otherwise the
 * careful way (ctl.c): the kernel decides after every queued op the call
 * could depend on, or, in a thread that batches, defer_ctl().
 */
static inline int shim_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (unlikely(thr.crit | thr.lp.batch))
		return ctl_slow(epfd, op, fd, ev);
	thr.lp.ops++;
	if (unlikely(atomic_load_explicit(&ctl_careful, memory_order_acquire))) {
		thr.lp.conn += op != EPOLL_CTL_MOD;
		return ctl_passthrough(epfd, op, fd, ev);
	}
	if (unlikely(op != EPOLL_CTL_MOD)) {
		thr.lp.conn++;
		return ctl_direct(epfd, op, fd, ev);
	}
	/* the syscall here (real.h); the rest out of line, so nothing is
	 * kept across a call */
	if (likely(sys_ctl_direct())) {
		long r = epb_syscall4(SYS_epoll_ctl, epfd, EPOLL_CTL_MOD, fd, ev);

		if (likely(r == 0))
			return 0;
		return ctl_mod_failed(epfd, fd, (int)-r);
	}
	return ctl_mod_libc(epfd, fd, ev);
}

#pragma GCC visibility pop

#endif
