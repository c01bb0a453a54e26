/* SPDX-License-Identifier: MIT */
/* The shim's counters: EPBATCH_STATS prints them at exit. */
#include "shim.h"
#include "epbatch/break_even.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/syscall.h>
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

/* EPBATCH_STATS=FILE: the line goes to FILE.PID (written to a temporary
 * name, then renamed), so a program's captured stderr stays its own. */
static void stats_write_file(const char *line, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int fd;

	if (snprintf(path, sizeof(path), "%s.%d", opt_stats_path, getpid()) >= (int)sizeof(path))
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = (int)real_syscall(SYS_openat, AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, len) == (ssize_t)len && real_close(fd) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
}

/* a break-even: "-" never measured (no loop ran), "never": batching never
 * pays, else the batch size */
static void fmt_min_batch(char *buf, size_t len, unsigned mb)
{
	if (!mb || mb == UINT_MAX)
		snprintf(buf, len, "%s", mb ? "never" : "-");
	else
		snprintf(buf, len, "%u", mb);
}

void stats_print(void)
{
	struct stats s = dead_stats;
	char line[768], be[96];
	int len, bl = 0;

	queue_each(add_queue, &s);
	for (int k = 0; k < EPB_BRK_KINDS; k++) {
		char v[16];

		fmt_min_batch(v, sizeof(v), policy_min_batch_known(k));
		bl += snprintf(be + bl, sizeof(be) - (size_t)bl, "%s%s=%s", k ? " " : "",
			       epb_break_key((enum epb_break_kind)k), v);
	}
	/* the 0-timeout waits' batched form, once measured (policy.c) */
	snprintf(be + bl, sizeof(be) - (size_t)bl, " poll_form=%s",
		 !policy_min_batch_known(EPB_BRK_POLL) ? "-" :
		 atomic_load(&poll_unfused) ? "unfused" : "fused");
	len = snprintf(line, sizeof(line),
		       "epbatch: pid=%d backend=%s deferred=%lu flushed=%lu batches=%lu "
		       "coalesced=%lu passthrough=%lu fallbacks=%lu fused_waits=%lu "
		       "mispredicted=%lu steals=%lu fused_closes=%lu direct=%lu "
		       "%s iters_direct=%lu iters_batch=%lu sync_flushes=%lu "
		       "lost_closes=%lu\n",
		       getpid(), be_name(be_kind), s.deferred, s.flushed, s.batches,
		       s.coalesced, s.passthrough, s.fallbacks, s.fused_waits,
		       s.mispredicted, s.steals, s.fused_closes, s.direct, be,
		       s.iters_direct, s.iters_batch, s.sync_flushes, s.lost_closes);
	if (len <= 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	if (opt_stats_path)
		stats_write_file(line, (size_t)len);
	else
		(void)!write(2, line, (size_t)len);
}
