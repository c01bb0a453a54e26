/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --stacks in a session: a thread keeps the traced processes' maps current
 * while they live (read as soon as the kernel announces a process's first
 * walked epoll_ctl, then every STACKS_TICK_S), and at the end what the
 * kernel counted (bpf/stacks.bpf.c, bpf/stacks.bpf.h) is named into a stack
 * set (stackset.h).
 */
#ifndef EPBATCH_STACKS_H
#define EPBATCH_STACKS_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include "loader.h"
#include "stackset.h"
#include "symbolize.h"

#define STACKS_TICK_S 0.5		/* maps re-read while the processes live */
#define STACKS_MAX_PROCS 256

struct stacks_state {
	struct symbolizer *sym;
	pthread_mutex_t lock;		/* sym and procs: the thread and the session */
	pthread_t thread;
	bool running;
	volatile int stop;
	struct ring_buffer *rb;
	struct { pid_t pid; char comm[16]; } procs[STACKS_MAX_PROCS];
	int nr_procs;
	char leader_comm[EPB_COMM_LEN + 1];	/* comm_of()'s answer from the thread records */
};

/*
 * Start (tr has --stacks loaded); 0, or -1 after one line on stderr.
 * read_now: the target runs its own program already (not a child that has
 * yet to exec: its maps would be ours).  comm: the target's name, until
 * /proc tells.
 */
int stacks_begin(struct stacks_state *s, const struct tracer *tr, pid_t tgid, const char *comm,
		 bool read_now);
/* Forget what was counted while attaching (the tables subtract it too). */
void stacks_reset(const struct tracer *tr);
/* Stop the thread, read the live processes' maps once more, name everything counted. */
int stacks_collect(struct stacks_state *s, const struct tracer *tr, struct stack_set *set);
void stacks_end(struct stacks_state *s);
#endif
