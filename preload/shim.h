/* SPDX-License-Identifier: MIT */
/*
 * libepbatch.so internals: the fd mirror, the per-thread queue and the
 * backends.  docs/shim.md explains the design; this header only says what
 * each piece holds.
 */
#ifndef EPBATCH_SHIM_H
#define EPBATCH_SHIM_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

#include "uapi/epoll_batch.h"

/* Largest maxevents the fused wait takes; larger waits flush, then wait. */
#define EPOLL_BATCH_FUSED_MAX EPOLL_BATCH_MAX_EVENTS

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * One 64-bit word per fd number, changed only with atomic operations so a
 * reader never sees half an update and a stale writer loses its CAS:
 *   bits  0..31  events of the registration the mirror believes in
 *   bits 32..47  epoll instance id (registered in, or, for an epoll fd, is)
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
#define S_REG		(1ULL << 56)
#define S_Q		(1ULL << 57)
#define S_KIND_SHIFT	60

static inline unsigned s_kind(uint64_t s) { return (unsigned)(s >> S_KIND_SHIFT); }
static inline unsigned s_id(uint64_t s) { return (unsigned)((s >> S_ID_SHIFT) & S_ID_MASK); }
static inline uint32_t s_events(uint64_t s) { return (uint32_t)(s & S_EVMASK); }
static inline uint64_t s_make(unsigned kind, unsigned id, uint64_t flags, uint32_t ev)
{
	return ((uint64_t)kind << S_KIND_SHIFT) | ((uint64_t)id << S_ID_SHIFT) | flags | ev;
}

/* The fd-number -> state table.  Threads share one unless EPBATCH_UNSHARE
 * (or close_range(CLOSE_RANGE_UNSHARE)) gave one a private fd table. */
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

struct tq;
struct uring_state;
struct epinfo {
	_Atomic int waiter;		/* 0 none yet, tid, or WAITER_SHARED */
	_Atomic int flags;
	struct tq *_Atomic owner;	/* queue of the single waiter */
};
#define MAX_EPI 65535

/* One deferred epoll_ctl. */
struct qop {
	int epfd;
	int fd;
	int op;			/* EPOLL_CTL_*, or 0 once cancelled */
	uint32_t events;
	uint64_t data;
	unsigned epi;
	int ordered;		/* follows a DEL of the same fd in this batch */
};

#define QCAP 256

enum backend { BE_SYNC, BE_URING, BE_KMOD };

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
	unsigned n;
	struct qop ops[QCAP];
	struct stats st;
	struct uring_state *ur;	/* io_uring backend, owner thread only */
	struct tq *next;	/* registry */
};

/* state.c */
extern enum backend be_kind;
extern int opt_unshare, opt_stats;
extern struct fdtab main_tab;
extern __thread struct fdtab *my_tab;
extern __thread int crit;		/* >0: this thread is inside the shim */

void shim_init(void);
int my_tid(void);
struct tq *my_queue(void);
struct epinfo *epi_get(unsigned id);
unsigned epi_new(int flags);
_Atomic uint64_t *slot_ptr(struct fdtab *t, int fd);
void slot_set(int fd, uint64_t v);
void slot_reset(int fd);
void note_pollable(int fd);
void note_epoll(int fd, int flags);
void note_dup(int oldfd, int newfd);
void sync_fd(int fd);
void sync_instance(unsigned id);
void flush_queue(struct tq *q);
void flush_all(int steal_others);
void mark_all_epi(int flag, int only_non_cloexec);
void fork_prepare(void);
void fork_parent(pid_t pid);
void fork_child(void);
void fork_reaped(pid_t pid);
void fork_taint(void);
void fork_before_exec(void);
int shim_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int shim_wait(int epfd, struct epoll_event *evs, int maxevents,
	      const struct timespec *ts, const sigset_t *sigmask, int kind);
void shim_poll_epfd(int fd);
void shim_close_prepare(int fd);
int shim_close(int fd, int *rc);
void shim_close_done(int fd);
void shim_unshare_tab(void);
void shim_atfork_child(void);
void queue_lock(struct tq *q);
void queue_unlock(struct tq *q);
void stats_add(struct stats *dst, const struct stats *src);

/* backend.c: submit q->ops[0..n) (and, with w, the wait); results in res[] */
struct waitreq {
	int epfd;
	struct epoll_event *evs;
	int maxevents;
	const struct timespec *ts;	/* NULL: forever */
	const sigset_t *sigmask;
	int result;			/* events, or -errno */
	int skipped;			/* the wait did not run: the caller waits */
};
int backend_init(void);
const char *backend_name(enum backend b);
int backend_submit(struct tq *q, const struct qop *ops, unsigned n, int *res,
		   struct waitreq *w);
int backend_submit_close(struct tq *q, const struct qop *ops, unsigned n, int *res,
			 unsigned close_at, int fd);
void sync_submit(const struct qop *ops, unsigned n, int *res);
void backend_thread_exit(struct tq *q);
void backend_forget_after_fork(struct tq *q);
int backend_owns_fd(int fd);
void backend_fd_closed(int fd);
int backend_has_fused_wait(void);
int sig_pending(void);		/* state.c: a handler op waits in the side list */

/* Real libc functions (interpose.c resolves them with dlsym(RTLD_NEXT)). */
extern int (*real_epoll_ctl)(int, int, int, struct epoll_event *);
extern int (*real_epoll_wait)(int, struct epoll_event *, int, int);
extern int (*real_epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
extern int (*real_epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
				const sigset_t *);
extern int (*real_close)(int);
void resolve_real(void);

#endif
