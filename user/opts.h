/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The command lines of `-p PID` and `record`: struct trace_opts and its parser. */
#ifndef EPBATCH_OPTS_H
#define EPBATCH_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "base/base.h"

enum spin_choice { SPIN_AUTO = 0, SPIN_FENTRY, SPIN_KPROBE, SPIN_SAMPLE, SPIN_OFF };
/* Row order of the tables: SORT_AUTO = by the largest share of any column. */
enum sort_key { SORT_AUTO = 0, SORT_CTL, SORT_WAIT, SORT_SPIN, SORT_TID };

/* --stack-period's default: walk one epoll_ctl stack in this many (docs/overhead.md) */
#define EPB_STACK_PERIOD 256

struct trace_opts {
	pid_t pid;			/* -p with one process; 0 with a command or several */
	char **command;			/* record -- COMMAND ...; NULL-terminated */
	double duration;		/* -d; 0 = until the target exits or Ctrl-C */
	double interval;		/* -i; 0 = no interval tables */
	const char *json;		/* --json / record -o; "-" = stdout */
	const char *csv;		/* --csv: a row per thread per interval; "-" = stdout */
	const char *ndjson;		/* --ndjson: an object per thread per interval */
	const char *openmetrics;	/* --openmetrics: Prometheus text, rewritten every interval */
	enum spin_choice spin;
	int sample_hz;			/* sampling rung frequency per CPU */
	bool children;			/* also trace processes the target forks */
	bool bpf_stats;			/* BPF_ENABLE_STATS run time in the JSON */
	bool time_syscalls;		/* -T: nanoseconds inside epoll syscalls, log2 histograms */
	bool hist;			/* --hist: the histograms as text bars (implies -T) */
	bool shim_probes;		/* the shim's USDT probes (a trap per batch) */
	bool stacks;			/* --stacks: who calls epoll_ctl, where the spin path spins */
	int stack_period;		/* --stack-period: walk one epoll_ctl in N */
	const char *folded;		/* --folded FILE: those stacks, folded (implies --stacks) */
	bool quiet;			/* no tables (record) */
	bool verbose;			/* libbpf's log */
	int top;			/* rows per table; 0 = all */
	const char *variant;		/* recorded in the JSON when set */
	const char *comm;		/* the target's name when /proc cannot tell yet (record) */
	enum sort_key sort;		/* --sort */
	bool version;			/* --version was asked for (with *help) */
	/* several processes, the whole machine (docs/tracer.md, "The whole machine") */
#define TRACE_MAX_PIDS 256		/* -p A,B,...: the tgids map holds them (and --children's) */
	pid_t pids[TRACE_MAX_PIDS];	/* -p A,B,...: every process listed (pids[0] == pid with one) */
	int nr_pids;
	bool system_wide;		/* no -p (or -a): every process, filters below */
	bool threads_view;		/* --threads: a row per thread, not per process */
	const char *match_comm;		/* --comm: the task's or its process's name */
	const char *cgroup;		/* --cgroup PATH, resolved to: */
	uint64_t cgroup_id;
	uint32_t cgroup_level;
};

/* Returns 0, or -1 after printing one line; *help set for --help. */
/* The defaults of every option (what a command line without flags gives). */
void trace_opts_defaults(struct trace_opts *o);
int parse_live_args(int argc, char **argv, struct trace_opts *o, bool *help);
int parse_record_args(int argc, char **argv, struct trace_opts *o, bool *help);
const char *spin_choice_name(enum spin_choice c);
/* The method that ran, for output: "none" for SPIN_OFF and SPIN_AUTO. */
const char *spin_method_name(enum spin_choice m);
void usage(FILE *f);
/* Where tables go: stderr when a machine format owns stdout ("-"). */
FILE *trace_human_out(const struct trace_opts *o);
/* Does the kernel filter by something else than one tgid (-p A,B, --comm, --cgroup, -a)? */
bool trace_filtered(const struct trace_opts *o);
/* "the whole machine", "2 processes (12, 34)", with the filters: the tables' title. */
void trace_scope(const struct trace_opts *o, char *buf, size_t len);
#endif
