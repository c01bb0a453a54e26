/* SPDX-License-Identifier: MIT */
/* The shim's counters: EPBATCH_STATS prints them at exit. */
#include "shim.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

static struct stats dead_stats;	/* of threads that exited */

void stats_add(struct stats *d, const struct stats *s)
{
	d->deferred += s->deferred;
	d->flushed += s->flushed;
	d->batches += s->batches;
	d->coalesced += s->coalesced;
	d->passthrough += s->passthrough;
	d->fallbacks += s->fallbacks;
	d->fused_waits += s->fused_waits;
	d->mispredicted += s->mispredicted;
	d->steals += s->steals;
	d->fused_closes += s->fused_closes;
	d->direct += s->direct;
	d->iters_direct += s->iters_direct;
	d->iters_batch += s->iters_batch;
	d->sync_flushes += s->sync_flushes;
	d->lost_closes += s->lost_closes;
}

/* Under the registry lock (queue_retire). */
void stats_retire(const struct stats *st)
{
	stats_add(&dead_stats, st);
}

static void add_queue(struct tq *q, void *arg)
{
	stats_add(arg, &q->st);
}

void stats_print(void)
{
	struct stats s = dead_stats;
	unsigned mb = policy_min_batch_known();
	char line[768], mbs[16];
	int len;

	queue_each(add_queue, &s);
	/* min_batch: never measured (no loop ran), or batching never pays */
	if (!mb || mb == UINT_MAX)
		snprintf(mbs, sizeof(mbs), "%s", mb ? "never" : "-");
	else
		snprintf(mbs, sizeof(mbs), "%u", mb);
	len = snprintf(line, sizeof(line),
		       "epbatch: pid=%d backend=%s deferred=%lu flushed=%lu batches=%lu "
		       "coalesced=%lu passthrough=%lu fallbacks=%lu fused_waits=%lu "
		       "mispredicted=%lu steals=%lu fused_closes=%lu direct=%lu "
		       "min_batch=%s iters_direct=%lu iters_batch=%lu sync_flushes=%lu "
		       "lost_closes=%lu\n",
		       getpid(), be_name(be_kind), s.deferred, s.flushed, s.batches,
		       s.coalesced, s.passthrough, s.fallbacks, s.fused_waits,
		       s.mispredicted, s.steals, s.fused_closes, s.direct, mbs,
		       s.iters_direct, s.iters_batch, s.sync_flushes, s.lost_closes);
	if (len > 0)
		(void)!write(2, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
}
