// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* -T log2 histograms: JSON objects and text bars (--hist), funclatency style. */
#include <jansson.h>
#include <string.h>
#include "hist.h"

static uint64_t lower(int i, enum hist_kind k)
{
	if (k == HIST_PER_WAIT)
		return (uint64_t)i;
	if (k == HIST_EVENTS || k == HIST_CALLS)
		return epb_count_low((__u32)i);
	return i ? 1ULL << i : 0;
}

/* The last bucket is open-ended: it holds everything above its lower bound. */
static uint64_t upper(int i, int n, enum hist_kind k)
{
	if (i == n - 1)
		return UINT64_MAX;
	return lower(i + 1, k) - 1;
}

json_t *hist_json(const uint64_t *h, int n, enum hist_kind k)
{
	json_t *o = json_object();
	char key[24];

	for (int i = 0; i < n; i++) {
		if (!h[i])
			continue;
		snprintf(key, sizeof(key), "%llu", (unsigned long long)lower(i, k));
		json_object_set_new(o, key, json_integer((json_int_t)h[i]));
	}
	return o;
}

#define BAR_WIDTH 40

void hist_print(FILE *f, const char *title, const uint64_t *h, int n, enum hist_kind k)
{
	int first = -1, last = -1;
	uint64_t max = 0;

	for (int i = 0; i < n; i++) {
		if (!h[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (h[i] > max)
			max = h[i];
	}
	if (first < 0)
		return;
	fprintf(f, "%s\n%24s : %-9s distribution\n", title,
		k == HIST_NS ? "ns" : k == HIST_EVENTS ? "events" : k == HIST_CALLS ? "calls" : "calls/wait", "count");
	for (int i = first; i <= last; i++) {
		char range[48], bar[BAR_WIDTH + 1];
		int w = (int)((double)h[i] * BAR_WIDTH / (double)max + 0.5);
		uint64_t lo = lower(i, k), hi = upper(i, n, k);

		if (hi == UINT64_MAX)
			snprintf(range, sizeof(range), "%llu ->", (unsigned long long)lo);
		else if (k == HIST_PER_WAIT)	/* a mean: from lo up to, not including, lo + 1 */
			snprintf(range, sizeof(range), "%llu -> %llu.99", (unsigned long long)lo,
				 (unsigned long long)lo);
		else if (hi == lo)
			snprintf(range, sizeof(range), "%llu", (unsigned long long)lo);
		else
			snprintf(range, sizeof(range), "%llu -> %llu", (unsigned long long)lo,
				 (unsigned long long)hi);
		if (h[i] && !w)
			w = 1;		/* a non-empty bucket is never drawn as empty */
		memset(bar, '*', (size_t)w);
		bar[w] = 0;
		fprintf(f, "%24s : %-9llu |%-*s|\n", range, (unsigned long long)h[i], BAR_WIDTH, bar);
	}
	fputc('\n', f);
}

void hist_print_thread(FILE *f, const char *who, const struct thread_stats *t)
{
	static const char *ops[EPB_CTL_OPS] = { "ADD", "MOD", "DEL" };
	char title[160];

	for (int op = 0; op < EPB_CTL_OPS; op++) {
		snprintf(title, sizeof(title), "%s: epoll_ctl %s time", who, ops[op]);
		hist_print(f, title, t->ctl_hist[op], EPB_LAT_SLOTS, HIST_NS);
	}
	snprintf(title, sizeof(title), "%s: epoll wait time (blocked time included)", who);
	hist_print(f, title, t->wait_hist, EPB_LAT_SLOTS, HIST_NS);
	snprintf(title, sizeof(title), "%s: events returned per epoll wait", who);
	hist_print(f, title, t->wait_ev_hist, EPB_EV_SLOTS, HIST_EVENTS);
	{
		/* the iterations, whatever block they were in */
		uint64_t calls[EPB_ITER_SLOTS] = { 0 };

		for (int g = 0; g < EPB_ITER_SLOTS; g++)
			for (int j = 0; j < EPB_ITER_SLOTS; j++)
				calls[j] += t->iter_hist[g][j];
		snprintf(title, sizeof(title), "%s: epoll_ctl calls per epoll wait (each since the wait before; a "
			 "thread's first %d left out)", who, EPB_POLICY_BLOCK);
		hist_print(f, title, calls, EPB_ITER_SLOTS, HIST_CALLS);
	}
	snprintf(title, sizeof(title), "%s: epoll_ctl ops per batched submission (io_uring_enter, module "
		 "ioctl)", who);
	hist_print(f, title, t->batch_hist, EPB_BATCH_SLOTS, HIST_CALLS);
	/* each block is counted in the slot of the block before it (what the
	 * cost model needs), so the counts are the blocks' own but for the
	 * first and the last */
	snprintf(title, sizeof(title), "%s: blocks of %d epoll waits by epoll_ctl calls per wait", who,
		 EPB_POLICY_BLOCK);
	hist_print(f, title, t->block_hist, EPB_BLOCK_SLOTS, HIST_PER_WAIT);
}
