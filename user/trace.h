/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * epbatch-trace internals shared between the files of user/.
 * One file per job: opts.c (command lines), ksyms.c (kernel symbols),
 * loader.c (BPF objects, the spin-lock method ladder), aggregate.c (per-thread
 * deltas and totals), report.c (table and epbatch/1 JSON), live.c (the
 * interval loop shared by -p and record), record.c, main.c.
 */
#ifndef EPBATCH_TRACE_H
#define EPBATCH_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include "../bpf/epbatch.h"
#include "base/base.h"

/* ---- opts.c ---- */
enum spin_choice { SPIN_AUTO = 0, SPIN_FENTRY, SPIN_KPROBE, SPIN_SAMPLE, SPIN_OFF };
/* Row order of the tables: SORT_AUTO = by the largest share of any column. */
enum sort_key { SORT_AUTO = 0, SORT_CTL, SORT_WAIT, SORT_SPIN, SORT_TID };

struct trace_opts {
	pid_t pid;			/* -p; 0 with a command */
	char **command;			/* record -- COMMAND ...; NULL-terminated */
	double duration;		/* -d; 0 = until the target exits or Ctrl-C */
	double interval;		/* -i; 0 = no interval tables */
	const char *json;		/* --json / record -o; "-" = stdout */
	enum spin_choice spin;
	int sample_hz;			/* sampling rung frequency per CPU */
	bool children;			/* also trace processes the target forks */
	bool bpf_stats;			/* BPF_ENABLE_STATS run time in the JSON */
	bool time_syscalls;		/* -T: nanoseconds inside epoll syscalls */
	bool shim_probes;		/* the shim's USDT probes (a trap per batch) */
	bool quiet;			/* no tables (record) */
	bool verbose;			/* libbpf's log */
	int top;			/* rows per table; 0 = all */
	const char *variant;		/* recorded in the JSON when set */
	const char *comm;		/* the target's name when /proc cannot tell yet (record) */
	enum sort_key sort;		/* --sort */
	bool version;			/* --version was asked for (with *help) */
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

/* ---- ksyms.c ---- */
struct ksyms;
/* names: the functions ksyms_range() will be asked about */
struct ksyms *ksyms_load(const char *path, const char *const *names, size_t nr_names);
void ksyms_free(struct ksyms *ks);
/* [start, end) of a function's text; false if absent */
bool ksyms_range(const struct ksyms *ks, const char *name, uint64_t *start, uint64_t *end);

/* ---- loader.c ---- */
#define MAX_NOTES 6
struct tracer {
	struct epbatch_bpf *main;
	struct spin_fentry_bpf *fentry;
	struct spin_kprobe_bpf *kprobe;
	struct spin_sample_bpf *sample;
	struct usdt_bpf *usdt;		/* the shim's probes, when it is there */
	struct bpf_link *usdt_links[8];
	int nr_usdt_links;
	struct bpf_link *main_links[48];
	int nr_main_links;
	struct bpf_link **sample_links;
	int nr_sample_links;
	const struct epb_thread *threads;	/* mmap of the threads map */
	size_t threads_len;
	enum spin_choice method;	/* what runs; SPIN_OFF = none */
	char notes[MAX_NOTES][192];	/* why higher rungs were not used */
	int nr_notes;
	double sample_period_ns;
	int stats_fd;
	double attach_ms;
};

int tracer_open(struct tracer *tr, const struct trace_opts *o, pid_t tgid);
void tracer_close(struct tracer *tr);
uint32_t tracer_nr_slots(const struct tracer *tr);
struct bpf_usage { uint64_t run_time_ns, run_cnt; int programs; };
void tracer_bpf_usage(const struct tracer *tr, struct bpf_usage *u);
void tracer_ctl_errno(const struct tracer *tr, uint64_t out[EPB_CTL_OPS][EPB_MAX_ERRNO + 1]);
/* Preflight checks shared by every subcommand; print one line on failure. */
int check_privileges(void);

/* ---- aggregate.c ---- */
/* User-facing numbers of one thread (or the totals) over an interval. */
struct thread_stats {
	uint32_t tid, tgid;
	char comm[EPB_COMM_LEN];
	bool private_fd_table, exited;
	uint64_t ctl[EPB_CTL_OPS], ctl_err[EPB_CTL_OPS], ctl_ns, wait_ns;
#define EPB_FIELD(f, group, key) uint64_t f;
	EPB_COUNTERS(EPB_FIELD)		/* bpf/epbatch.h: the one counter table */
#undef EPB_FIELD
	uint64_t batch_submits;		/* kmod_submit + uring_enter */
	uint64_t spin_count, spin_ns, spin_files_count, spin_files_ns;	/* by the method */
	uint64_t spin_hist[EPB_HIST_SLOTS];
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
uint64_t stats_ctl_total(const struct thread_stats *t);

/* ---- report.c ---- */
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
};

/* Active rows in table order (--sort); out has room for r->nr_rows. */
size_t report_rank(const struct report *r, enum sort_key k, const struct thread_stats **out);
void report_table(FILE *f, const struct report *r, const char *title, const struct trace_opts *o);
/* The epbatch/1 document; the caller adds/keeps its own extra keys. */
struct json_t;
struct json_t *report_json(const struct report *r, const struct trace_opts *o,
			   const uint64_t ctl_errno[EPB_CTL_OPS][EPB_MAX_ERRNO + 1],
			   const struct bpf_usage *bpf, double attach_ms);

/* ---- live.c ---- */
/* Trace tgid until -d, Ctrl-C or exit; tables per interval, summary, JSON. */
int trace_session(const struct trace_opts *o, pid_t tgid, int pidfd, int (*start)(void *), void *arg);
int trace_pid(const struct trace_opts *o);
/* The signal that ended the last session (SIGINT, SIGTERM) or 0. */
int trace_stop_signal(void);

/* ---- record.c ---- */
/* 0 if execvp would find NAME, else 127/126 after one line on stderr. */
int record_resolve(const char *name);

#endif /* EPBATCH_TRACE_H */
