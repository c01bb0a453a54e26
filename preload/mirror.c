/* SPDX-License-Identifier: MIT */
/*
 * The mirror: what the shim knows of each fd number (its kind and, for a
 * pollable fd, the epoll instance and events it is registered with, as they
 * will be once every queued op is applied) and of each epoll instance (its
 * waiter and whether anything outside this thread can see it).  An op is
 * deferred only when the mirror knows its result (predict).
 */
#include "shim.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

struct fdtab main_tab;
TLS struct thr thr = { .tab = &main_tab, .owned = OWNED_NONE, .lp = LP_INIT };
struct epinfo *epis;
static _Atomic unsigned epi_next = 1;

void *map_zero(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int tab_alloc(struct fdtab *t)
{
	struct rlimit rl;
	rlim_t n = 1 << 16;

	/* Sized by the hard limit, which only privileged code can raise; pages
	 * are touched only for fd numbers in use.  Larger fds pass through. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
		n = rl.rlim_max;
	if (n > TAB_MAX)
		n = TAB_MAX;
	if (n < 1024)
		n = 1024;
	t->slot = map_zero(n * sizeof(*t->slot));
	atomic_store(&t->maxfd, -1);
	/* release: the slots, and at start-up the libc pointers resolved
	 * before (close_quick) */
	__atomic_store_n(&t->size, t->slot ? (int)n : 0, __ATOMIC_RELEASE);
	return t->slot ? 0 : -1;
}

/* A thread's private mirror (EPBATCH_UNSHARE, unshare()), when it is done
 * with it.  Queues keep a stale pointer, only ever compared, not read. */
void tab_free(struct fdtab *t)
{
	if (t->slot)
		munmap(t->slot, (size_t)t->size * sizeof(*t->slot));
	free(t);
}

/* 0, or -1: no table (every call then passes through). */
int mirror_init(void)
{
	epis = map_zero((MAX_EPI + 1) * sizeof(*epis));
	/* failing, main_tab's size stays 0: every call passes through */
	return !epis || tab_alloc(&main_tab) ? -1 : 0;
}

static unsigned epi_new(int flags)
{
	unsigned id = atomic_fetch_add(&epi_next, 1);

	if (id > MAX_EPI || !epis)
		return 0;
	atomic_store(&epis[id].waiter, 0);
	atomic_store(&epis[id].owner, NULL);
	atomic_store(&epis[id].flags, flags);
	return id;
}

_Atomic int epi_xproc_seen;
_Atomic int epi_excl_seen;

void mark_all_epi(int flag, int only_non_cloexec)
{
	unsigned n = atomic_load(&epi_next);

	if (flag & EPI_XPROC)
		atomic_store(&epi_xproc_seen, 1);	/* before any instance has it */

	for (unsigned id = 1; id < n && id <= MAX_EPI; id++) {
		if (only_non_cloexec && (atomic_load(&epis[id].flags) & EPI_CLOEXEC))
			continue;
		atomic_fetch_or(&epis[id].flags, flag);
	}
}

void clear_all_epi(int flag)
{
	unsigned n = atomic_load(&epi_next);

	for (unsigned id = 1; id < n && id <= MAX_EPI; id++)
		atomic_fetch_and(&epis[id].flags, ~flag);
}

/* tab_cover() (shim.h) saw fd above the table's highest one. */
void tab_raise_maxfd(struct fdtab *t, int fd)
{
	int m = atomic_load_explicit(&t->maxfd, memory_order_relaxed);

	while (fd > m && !atomic_compare_exchange_weak(&t->maxfd, &m, fd))
		;
}

void slot_reset(int fd)
{
	_Atomic uint64_t *s = slot_ptr(thr.tab, fd);

	if (s && !thr.in_vfork)
		atomic_store(s, 0);
}

void note_epoll(int fd, int flags)
{
	unsigned id = epi_new(flags & EPOLL_CLOEXEC ? EPI_CLOEXEC : 0);

	slot_set(fd, id ? s_make(K_EPOLL, id, 0, 0) : 0);
}

void note_dup(int oldfd, int newfd)
{
	_Atomic uint64_t *s = slot_ptr(thr.tab, oldfd);
	uint64_t v = s ? atomic_load(s) : 0;

	/* A dup of an epoll fd is the same instance.  A dup of anything else
	 * is a new (file, fd) key whose registration the mirror cannot know:
	 * an older registration of that file under this number may survive. */
	if (s_kind(v) == K_EPOLL)
		slot_set(newfd, s_make(K_EPOLL, s_id(v), 0, 0));
	else
		slot_reset(newfd);
}



/* Whether an epoll instance would survive exec (one not created
 * close-on-exec). */
int any_epi_inherited(void)
{
	unsigned n = atomic_load(&epi_next);

	for (unsigned id = 1; id < n && id <= MAX_EPI; id++)
		if (!(atomic_load(&epis[id].flags) & EPI_CLOEXEC))
			return 1;
	return 0;
}

/* Whether an fd of table t is an epoll fd (what a fork child inherits;
 * an instance made and closed before the fork, as nginx's master does
 * once, is not one). */
int tab_has_epoll(const struct fdtab *t)
{
	int max = atomic_load(&t->maxfd);

	for (int fd = 0; fd <= max && fd < t->size; fd++)
		if (s_kind(atomic_load_explicit(&t->slot[fd], memory_order_relaxed)) == K_EPOLL)
			return 1;
	return 0;
}
