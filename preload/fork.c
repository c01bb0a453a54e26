/* SPDX-License-Identifier: MIT */
/*
 * Who else may hold this process's epoll instances: fork accounting.
 */
#include "shim.h"

#include <sys/mman.h>

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

void fork_share_init(void)
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
	if (!fshare || pid <= 0)
		return;
	for (int i = 0; i < MAX_KIDS; i++) {
		pid_t p = pid;

		if (!atomic_compare_exchange_strong(&kids[i], &p, 0))
			continue;
		if (atomic_fetch_sub(&fshare->live, 1) != 1 || atomic_load(&fshare->tainted))
			return;
		/* No forked process is left: the instances are ours alone. */
		clear_all_epi(EPI_FORKED);
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
	if (fshare && forked_child && any_epi_inherited())
		atomic_store(&fshare->tainted, 1);
}
