/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Threads summed into processes: the system-wide table, its JSON
 * "processes" and the OpenMetrics series.  libbpf-free: the unit tests
 * link it.
 */
#ifndef EPBATCH_PROCS_H
#define EPBATCH_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include "report.h"

/* One process: the sum of its threads. */
struct proc_sum {
	uint32_t tgid;
	char comm[EPB_COMM_LEN + 1];	/* its main thread's name when that thread was seen */
	bool have_leader;
	uint32_t threads, private_threads;
	struct thread_stats s;
};

/*
 * The rows of r grouped by process, in tgid order; ps has room for
 * r->nr_rows.  The "(no thread)" row counts for r->pid (the one target),
 * or for no process when the whole machine is traced.  Returns how many.
 */
size_t procs_group(const struct report *r, struct proc_sum *ps);

/*
 * A report with a row per process (tid = tgid = the process id, comm its
 * name) from a report with a row per thread; out->procs holds the counts
 * of threads.  procs_free() releases both.
 */
int procs_report(const struct report *threads, struct report *out);
void procs_free(struct report *out);
#endif
