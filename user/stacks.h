/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --stacks in a session: keep the traced processes' maps current while they
 * live (stacks_tick), then read what the kernel counted (bpf/stacks.bpf.c,
 * bpf/stacks.bpf.h) and name it into a stack set (stackset.h).
 */
#ifndef EPBATCH_STACKS_H
#define EPBATCH_STACKS_H

#include <sys/types.h>
#include "loader.h"
#include "stackset.h"
#include "symbolize.h"

struct stacks_state {
	struct symbolizer *sym;
	struct { pid_t pid; char comm[16]; } procs[64];	/* comm of each process seen */
	int nr_procs;
	double next_tick;		/* now_s() of the next stacks_tick */
};
#define STACKS_TICK_S 0.5		/* maps re-read while the processes live */

/*
 * 0, or -1 after one line on stderr.  read_now: the target runs its own
 * program already (not a child that has yet to exec: its maps would be ours).
 */
int stacks_begin(struct stacks_state *s, pid_t tgid, bool read_now);
/* Re-read the maps of every process with counted stacks (each interval, at the end). */
void stacks_tick(struct stacks_state *s, const struct tracer *tr, pid_t tgid);
/* Forget what was counted while attaching (the tables subtract it too). */
void stacks_reset(const struct tracer *tr);
/* Name everything counted so far into set (empty on entry). */
int stacks_collect(struct stacks_state *s, const struct tracer *tr, struct stack_set *set);
void stacks_end(struct stacks_state *s);
#endif
