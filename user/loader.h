/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Loading and attaching the BPF objects, the spin-lock method ladder, privileges. */
#ifndef EPBATCH_LOADER_H
#define EPBATCH_LOADER_H

#include <stdint.h>
#include <linux/types.h>
#include "../bpf/epbatch.h"
#include "opts.h"
#include "base/base.h"

#define MAX_NOTES 6
struct tracer {
	struct epbatch_bpf *main;
	struct spin_fentry_bpf *fentry;
	struct spin_kprobe_bpf *kprobe;
	struct spin_sample_bpf *sample;
	struct usdt_bpf *usdt;		/* the shim's probes, when it is there */
	struct stacks_bpf *stacks;	/* --stacks: the epoll_ctl callers' stacks */
	struct bpf_link *stacks_link;
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
/* Slots for threads (the per-thread array's, but EPB_SLOT_UNATTRIBUTED). */
uint32_t tracer_capacity(const struct tracer *tr);
/* Threads that found the per-thread array full (not counted). */
uint64_t tracer_dropped_threads(const struct tracer *tr);
/*
 * Hand the slot of an exited thread back to the kernel: its record is
 * zeroed and the next new thread may take it.  Only once its last counts
 * have been read.
 */
void tracer_recycle(struct tracer *tr, uint32_t slot);
/* Preflight checks shared by every subcommand; print one line on failure. */
int check_privileges(void);
#endif
