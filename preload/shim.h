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
 *   flush.c                applying queues: flush, sync before a passthrough
 *   ctl.c close.c wait.c unshare.c   the decisions per libc call
 *   proc.c                 fork/exec/spawn/vfork hooks
 *   stats.c init.c         counters, start-up, thread and process exit
 *   interpose.c            the exported wrappers
 * docs/shim.md explains the rules and why each one exists.
 */
#ifndef EPBATCH_SHIM_H
#define EPBATCH_SHIM_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/sdt.h>
#include <sys/types.h>

#include "be.h"

/* ---- mirror.c ---- */

/*
 * One 64-bit word per fd number, changed only with atomic operations so a
 * reader never sees half an update and a stale writer loses its CAS:
 *   bits  0..31  events of the registration the mirror believes in
 *   bits 32..47  epoll instance id (registered in, or, for an epoll fd, is)
 *   bits 48..55  index in the owner's queue of the last op queued on the fd
 *                (meaningful only while S_Q is set and the op there is on
 *                this fd and instance: see queue.c, qop_last)
 *   bit  56      REG: registered in that instance (after queued ops)
 *   bit  57      Q: an op on this fd sits in the queue of the instance's owner
 *   bits 60..63  kind
 * The mirror describes the state the kernel will have once every queued
 * op is applied; that is what the next epoll_ctl's result depends on.
 */
enum fd_kind { K_UNKNOWN = 0, K_POLL = 1, K_EPOLL = 2 };

#define S_EVMASK	0xffffffffULL
#define S_ID_SHIFT	32
#define S_ID_MASK	0xffffULL
#define S_IDX_SHIFT	48
#define S_IDX_MASK	0xffULL
#define S_REG		(1ULL << 56)
#define S_Q		(1ULL << 57)
#define S_KIND_SHIFT	60

static inline unsigned s_kind(uint64_t s) { return (unsigned)(s >> S_KIND_SHIFT); }
static inline unsigned s_id(uint64_t s) { return (unsigned)((s >> S_ID_SHIFT) & S_ID_MASK); }
static inline unsigned s_idx(uint64_t s) { return (unsigned)((s >> S_IDX_SHIFT) & S_IDX_MASK); }
static inline uint32_t s_events(uint64_t s) { return (uint32_t)(s & S_EVMASK); }
static inline uint64_t s_make(unsigned kind, unsigned id, uint64_t flags, uint32_t ev)
{
	return ((uint64_t)kind << S_KIND_SHIFT) | ((uint64_t)id << S_ID_SHIFT) | flags | ev;
}
static inline uint64_t s_with_idx(uint64_t s, unsigned idx)
{
	return (s & ~(S_IDX_MASK << S_IDX_SHIFT)) | ((uint64_t)idx << S_IDX_SHIFT) | S_Q;
}

/* The fd-number -> state table.  Threads share one unless EPBATCH_UNSHARE
 * (or the application's unshare(CLONE_FILES)) gave one a private fd table. */
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
extern TLS struct fdtab *my_tab;

static inline struct fdtab *tab(void)
{
	return my_tab ? my_tab : &main_tab;
}
static inline _Atomic uint64_t *slot_ptr(struct fdtab *t, int fd)
{
	return (unsigned)fd < (unsigned)t->size ? &t->slot[fd] : NULL;
}

int mirror_init(void);
int tab_alloc(struct fdtab *t);
void tab_free(struct fdtab *t);
struct epinfo *epi_get(unsigned id);
void mark_all_epi(int flag, int only_non_cloexec);
void clear_all_epi(int flag);
int any_epi_inherited(void);
void slot_set(int fd, uint64_t v);
void slot_reset(int fd);
void note_pollable(int fd);
void note_epoll(int fd, int flags);
void note_dup(int oldfd, int newfd);
int predict(uint64_t v, unsigned id, int op, const struct epoll_event *ev, uint64_t *nv);
void learn(int epfd, int op, int fd, const struct epoll_event *ev, int err);

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
		fallbacks, fused_waits, mispredicted, steals, fused_closes;
};

/* Per-thread queue.  Heap-allocated and recycled, never freed: another
 * thread may still hold a pointer through struct epinfo.owner. */
struct tq {
	_Atomic int lock;	/* 0 free, 1 owner, 2 another thread flushing it */
	int tid;
	int dead;
	struct fdtab *tab;
	unsigned n;		/* ops[0..n) queued, cancelled ones included */
	unsigned live;		/* of them not cancelled */
	int ordered;		/* one of them follows a DEL of its fd */
	struct qop ops[QCAP];
	struct stats st;
	struct tq *next;	/* registry */
};

extern TLS struct tq *my_q;	/* this thread's queue, once it has one */
extern TLS int crit;		/* >0: this thread is inside the shim */

void queue_init(void (*on_exit)(void *));
struct tq *my_queue(void);
void queue_lock(struct tq *q);
void queue_unlock(struct tq *q);
int qop_fold(struct qop *o, int op, const struct epoll_event *ev);
void queue_append(struct tq *q, const struct qop *o);
void queue_clear(struct tq *q);

/* The last op queued on (id, fd) in q, if v (fd's slot) names one: O(1),
 * the slot remembers its index.  A stale index (from an earlier batch)
 * names an op on another fd, or one past q->n. */
static inline struct qop *qop_at(struct tq *q, uint64_t v, int fd, unsigned id)
{
	unsigned i = s_idx(v);
	struct qop *o;

	if (!(v & S_Q) || i >= q->n)
		return NULL;
	o = &q->ops[i];
	return o->fd == fd && o->epi == id ? o : NULL;
}
void queue_after_fork(void);
void queue_retire(struct tq *q);
void queue_each(void (*fn)(struct tq *q, void *arg), void *arg);

/* ---- sig.c ---- */
int sig_pending(void);
extern TLS _Atomic int nsig;
int sig_defer(int epfd, int op, int fd, struct epoll_event *ev);
int sig_take(struct tq *q);

/* ---- flush.c ---- */
void flush_queue(struct tq *q);
void flush_locked(struct tq *q);
void take_sigops(struct tq *q);
void flush_all(int steal_others);
void sync_instance(unsigned id);
void batch_done(struct tq *self, const struct qop *ops, unsigned n, const int *res,
		unsigned live, enum epbatch_backend backend, const struct be_report *rep);

/* ---- ctl.c close.c wait.c unshare.c ---- */
extern TLS int in_wait;
int shim_ctl(int epfd, int op, int fd, struct epoll_event *ev);
void shim_close_prepare(int fd);
int shim_close(int fd, int *rc);
void shim_close_span(unsigned first, unsigned last);
void shim_poll_epfd(int fd);
int shim_wait(int epfd, struct epoll_event *evs, int maxevents,
	      const struct timespec *ts, const sigset_t *sigmask, enum epbatch_wait_kind kind);
void shim_unshare_tab(void);
void unshare_loop_thread(void);

/* ---- proc.c ---- */
void proc_atfork_prepare(void);
void proc_atfork_parent(void);
void proc_atfork_child(void);
void proc_before_exec(void);
void proc_before_spawn(void);

/* ---- stats.c init.c ---- */
extern int opt_unshare, opt_stats;
void stats_add(struct stats *dst, const struct stats *src);
void stats_retire(const struct stats *st);
void stats_print(void);
void shim_init(void);

#endif
