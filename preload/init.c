/* SPDX-License-Identifier: MIT */
/* Start-up (the environment, the tables, the backend), thread exit and
 * process exit. */
#include "shim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int opt_unshare, opt_stats;
const char *opt_stats_path;	/* EPBATCH_STATS=FILE (not "1") */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
_Atomic int shim_inited;
static TLS int in_init;

static void env_flag(const char *name, int *out)
{
	const char *v = getenv(name);

	*out = v && *v && strcmp(v, "0") != 0;
}

/* pthread key destructor: the thread's queue reaches the kernel. */
static void thread_exit(void *arg)
{
	struct tq *q = arg;

	flush_queue(q);
	policy_count_block(q);
	policy_thread_exit();
	be_thread_exit();
	if (thr.tab != &main_tab) {
		struct fdtab *t = thr.tab;

		thr.tab = &main_tab;
		tab_free(t);
	}
	queue_retire(q);
}

static void init_once_fn(void)
{
	int cancel = nocancel_begin();

	/* The shim's own calls below (open, dlsym's allocations) come back
	 * through the wrappers; they see an empty table and pass through. */
	in_init = 1;
	resolve_real();
	pthread_atfork(proc_atfork_prepare, proc_atfork_parent, proc_atfork_child);
	env_flag("EPBATCH_UNSHARE", &opt_unshare);
	env_flag("EPBATCH_STATS", &opt_stats);
	if (opt_stats && strcmp(getenv("EPBATCH_STATS"), "1") != 0)
		opt_stats_path = getenv("EPBATCH_STATS");
	if (mirror_init())
		fprintf(stderr, "libepbatch: cannot map the fd table; passing every call through\n");
	queue_init(thread_exit);
	fork_share_init();
	in_init = 0;
	atomic_fetch_sub(&ctl_careful, CAREFUL_INIT);
	atomic_store(&shim_inited, 1);
	nocancel_end(cancel);
}

/* What every wrapper needs.  No malloc here: the first wrapper call can come
 * from inside an allocator (jemalloc's initialisation calls syscall() with
 * its lock held, from a library constructor that runs before the shim's). */
void shim_init_slow(void)
{
	if (in_init)
		return;
	pthread_once(&init_once, init_once_fn);
}

static pthread_once_t backend_once = PTHREAD_ONCE_INIT;

static void backend_once_fn(void)
{
	int cancel = nocancel_begin();

	in_init = 1;
	if (be_init() < 0 || policy_init() < 0)
		exit(2);
	in_init = 0;
	nocancel_end(cancel);
}

/* The backend (an io_uring probe allocates): from the shim's constructor,
 * or from the first epoll_create if that comes first.  Until then the sync
 * backend's rules hold (every op goes to the kernel). */
void shim_backend_init(void)
{
	shim_init();
	if (!in_init)
		pthread_once(&backend_once, backend_once_fn);
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (!atomic_load(&shim_inited))
		return;
	if (thr.q)
		flush_queue(thr.q);
	policy_count_block(thr.q);
	if (opt_stats)
		stats_print();
}

__attribute__((constructor)) static void shim_ctor(void)
{
	shim_backend_init();
}
