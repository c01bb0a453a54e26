/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Output of a session: the per-thread table and the epbatch/1 JSON document. */
#ifndef EPBATCH_REPORT_H
#define EPBATCH_REPORT_H

#include <stdio.h>
#include <stdint.h>
#include "aggregate.h"
#include "loader.h"
#include "base/base.h"

struct proc_sum;

struct report {
	pid_t pid;
	const char *comm;
	double seconds;			/* interval length */
	enum spin_choice method;
	const char (*notes)[192];
	int nr_notes;
	struct thread_stats *rows;	/* one per thread, any order */
	uint32_t nr_rows;
	struct thread_stats totals;
	/* system-wide, several processes: what was traced, for the title line */
	const char *scope;
	/* a row per process (procs.h): procs[i] holds row i's thread counts */
	const struct proc_sum *procs;
};

/* Active rows in table order (--sort); out has room for r->nr_rows. */
size_t report_rank(const struct report *r, enum sort_key k, const struct thread_stats **out);
void report_table(FILE *f, const struct report *r, const char *title, const struct trace_opts *o);
/* --hist: the -T histograms as text bars, all threads then each of the top rows. */
void report_hist(FILE *f, const struct report *r, const struct trace_opts *o);
/* The epbatch/1 document; the caller adds/keeps its own extra keys. */
struct json_t;
struct json_t *report_json(const struct report *r, const struct trace_opts *o,
			   const uint64_t ctl_errno[EPB_CTL_OPS][EPB_MAX_ERRNO + 1],
			   const struct bpf_usage *bpf, double attach_ms);
/* One object of "threads" (also each line of --ndjson). */
struct json_t *report_thread_json(const struct thread_stats *t, bool timed);
/* "processes": an object per row of a process report, in table order. */
struct json_t *report_processes_json(const struct report *procs, const struct trace_opts *o);
#endif
