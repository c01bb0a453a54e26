// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Threads summed into processes (procs.h). */
#include <stdlib.h>
#include <string.h>
#include "procs.h"

struct keyed {
	uint32_t tgid, row;
};

static int by_key(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* The process a row counts for; 0 for none. */
static uint32_t row_tgid(const struct report *r, const struct thread_stats *t)
{
	if (t->tid)
		return t->tgid;
	/* "(no thread)": the target's, when it did anything */
	return stats_active(t) || t->spin_ns || t->samples ? (uint32_t)r->pid : 0;
}

size_t procs_group(const struct report *r, struct proc_sum *ps)
{
	struct keyed *k = malloc((r->nr_rows ? r->nr_rows : 1) * sizeof(*k));
	size_t nk = 0, n = 0;

	if (!k)
		return 0;
	for (uint32_t i = 0; i < r->nr_rows; i++) {
		uint32_t tgid = row_tgid(r, &r->rows[i]);

		if (tgid)
			k[nk++] = (struct keyed){ tgid, i };
	}
	/* sorted, a process's rows are adjacent: O(n log n) for 16384 threads */
	qsort(k, nk, sizeof(*k), by_key);
	for (size_t i = 0; i < nk; i++) {
		const struct thread_stats *t = &r->rows[k[i].row];
		struct proc_sum *p;

		if (!n || ps[n - 1].tgid != k[i].tgid) {
			memset(&ps[n], 0, sizeof(ps[n]));
			ps[n].tgid = k[i].tgid;
			n++;
		}
		p = &ps[n - 1];
		stats_add(&p->s, t);
		if (t->tid) {
			p->threads++;
			p->private_threads += t->private_fd_table;
		}
		/* the main thread's name: its row's, else as the kernel saw it when a thread began */
		if (t->tid && (t->tid == p->tgid || !p->comm[0]) && !p->have_leader) {
			snprintf(p->comm, sizeof(p->comm), "%s",
				 t->tid != p->tgid && t->proc_comm[0] ? t->proc_comm : t->comm);
			p->have_leader = t->tid == p->tgid;
		}
	}
	for (size_t j = 0; j < n; j++)
		if (r->comm && *r->comm && ps[j].tgid == (uint32_t)r->pid)
			snprintf(ps[j].comm, sizeof(ps[j].comm), "%s", r->comm);
	free(k);
	return n;
}

int procs_report(const struct report *threads, struct report *out)
{
	struct proc_sum *ps = calloc(threads->nr_rows ? threads->nr_rows : 1, sizeof(*ps));
	struct thread_stats *rows;
	size_t n;

	*out = *threads;
	out->rows = NULL;
	out->procs = NULL;
	if (!ps)
		return -1;
	n = procs_group(threads, ps);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		free(ps);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		rows[i] = ps[i].s;
		rows[i].tid = rows[i].tgid = ps[i].tgid;
		memcpy(rows[i].comm, ps[i].comm, sizeof(rows[i].comm) - 1);
		rows[i].comm[sizeof(rows[i].comm) - 1] = 0;
		rows[i].private_fd_table = ps[i].private_threads > 0;
	}
	out->rows = rows;
	out->nr_rows = (uint32_t)n;
	out->procs = ps;
	return 0;
}

void procs_free(struct report *out)
{
	free(out->rows);
	free((void *)out->procs);
	out->rows = NULL;
	out->procs = NULL;
}
