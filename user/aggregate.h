/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-thread deltas and sums of the kernel's per-thread array (the counter table). */
#ifndef EPBATCH_AGGREGATE_H
#define EPBATCH_AGGREGATE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "../bpf/epbatch.h"
#include "opts.h"
#include "base/base.h"

/* User-facing numbers of one thread (or the totals) over an interval. */
struct thread_stats {
	uint32_t tid, tgid;
	char comm[EPB_COMM_LEN];
	char proc_comm[EPB_COMM_LEN];	/* its process's name when the thread was first seen */
	bool private_fd_table, exited;
	uint64_t ctl[EPB_CTL_OPS], ctl_err[EPB_CTL_OPS], ctl_ns, wait_ns;
	uint64_t ctl_batched[EPB_CTL_OPS];	/* ops a shim batched, by op (bpf/epbatch.h) */
#define EPB_FIELD(f, group, key, help) uint64_t f;
	EPB_COUNTERS(EPB_FIELD)		/* bpf/epbatch.h: the one counter table */
#undef EPB_FIELD
	uint64_t batch_submits;		/* kmod_submit + uring_enter */
	uint64_t spin_count, spin_ns, spin_files_count, spin_files_ns;	/* by the method */
	uint64_t spin_hist[EPB_HIST_SLOTS];
	/* -T: log2 histograms (bpf/epbatch.h) */
	uint64_t ctl_hist[EPB_CTL_OPS][EPB_LAT_SLOTS], wait_hist[EPB_LAT_SLOTS];
	uint64_t wait_ev_hist[EPB_EV_SLOTS];
	/* blocks of EPB_POLICY_BLOCK waits by the epoll_ctl calls per wait of
	 * the block before each, and the calls they held (bpf/epbatch.h) */
	uint64_t block_hist[EPB_BLOCK_SLOTS], block_ops[EPB_BLOCK_SLOTS];
	/* the same waits one by one, by that block's bucket and their calls */
	uint64_t iter_hist[EPB_ITER_SLOTS][EPB_ITER_SLOTS], iter_ops[EPB_ITER_SLOTS][EPB_ITER_SLOTS];
	/* batched submissions by the epoll_ctl ops they carried (bpf/epbatch.h) */
	uint64_t batch_hist[EPB_BATCH_SLOTS];
	int32_t wait_fd;		/* the epoll fd of its last wait; -1: none (or totals) */
	/* of that instance's registrations, those with EPOLLEXCLUSIVE, as
	 * /proc showed them at the end (whatif_read_instances); -1: not known */
	int64_t wait_excl;
};

struct snapshot {
	uint32_t n;			/* slots copied */
	struct epb_thread *t;
	double ts;			/* seconds, CLOCK_MONOTONIC */
};

int snapshot_take(struct snapshot *s, const struct epb_thread *threads, uint32_t n, double ts);
void snapshot_free(struct snapshot *s);
/* cur - prev for slot i, with spin time derived for the method. */
void thread_delta(const struct epb_thread *cur, const struct epb_thread *prev,
		  enum spin_choice method, double period_ns, struct thread_stats *out);
void stats_add(struct thread_stats *sum, const struct thread_stats *t);
bool stats_active(const struct thread_stats *t);

/*
 * Exited threads whose slots were handed back to the kernel (live.c): their
 * counts since attach, kept for the summary, the JSON and OpenMetrics.  A
 * thread that made no epoll call and never spun is only summed in folded
 * (the "(no thread)" row), so a machine that runs thousands of short
 * processes does not grow this list.
 */
struct retired {
	struct thread_stats *t;
	size_t n, cap;
	struct thread_stats folded;
	uint64_t nr_folded;
};
/* 0, or -1 when out of memory (the thread is then folded). */
int retired_add(struct retired *r, const struct thread_stats *t);
void retired_free(struct retired *r);
/* JSON keys and OpenMetrics labels of the ops, by enum epb_ctl_op */
extern const char *const ctl_op_names[EPB_CTL_OPS];

uint64_t stats_ctl_total(const struct thread_stats *t);
uint64_t stats_loop_iterations(const struct thread_stats *t);
uint64_t stats_ctl_ops(const struct thread_stats *t, enum epb_ctl_op op);
uint64_t stats_ctl_batched(const struct thread_stats *t);
#endif
