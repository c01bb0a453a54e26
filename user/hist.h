/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* -T log2 histograms: their JSON objects and --hist's text bars (libbpf-free). */
#ifndef EPBATCH_HIST_H
#define EPBATCH_HIST_H

#include <stdint.h>
#include <stdio.h>
#include "aggregate.h"

/* Time buckets: [i] holds [2^i, 2^(i+1)) ns ([0]: 0-1 ns).  Event buckets:
 * [0] no event, [i] holds [2^(i-1), 2^i) events; call buckets (the calls
 * of an iteration, epb_count_slot) alike.  Calls-per-wait buckets (the
 * blocks of waits, bpf/epbatch.h): [i] holds i to i + 1, the last
 * open-ended. */
enum hist_kind { HIST_NS, HIST_EVENTS, HIST_CALLS, HIST_PER_WAIT };

/* {"LOWER_BOUND": count, ...} for the non-empty buckets. */
struct json_t *hist_json(const uint64_t *h, int n, enum hist_kind k);
/* Bars as funclatency prints them; nothing when the histogram is empty. */
void hist_print(FILE *f, const char *title, const uint64_t *h, int n, enum hist_kind k);
/* A thread's (or the totals') histograms: epoll_ctl by op, wait time, events per wait,
 * epoll_ctl calls per wait, and its blocks of waits by epoll_ctl calls per wait. */
void hist_print_thread(FILE *f, const char *who, const struct thread_stats *t);
#endif
