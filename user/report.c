// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Output: the per-thread table and the epbatch/1 JSON document. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "report.h"
#include "compare.h"
#include "hist.h"
#include "procs.h"

/* ---- the table ---- */

/* What a thread holds of each column the table ranks by. */
enum { K_CTL, K_WAIT, K_BATCH, K_SPIN, K_ACCEPT, K_CLOSE, K_NR };

static void key_values(const struct thread_stats *t, double v[K_NR])
{
	v[K_CTL] = (double)stats_ctl_total(t);
	v[K_WAIT] = (double)stats_loop_iterations(t);
	v[K_BATCH] = (double)t->batch_submits;
	v[K_SPIN] = (double)t->spin_ns;
	v[K_ACCEPT] = (double)t->accept;
	v[K_CLOSE] = (double)t->close;
}

struct ranked {
	const struct thread_stats *t;
	double score, then[2];		/* ties: --sort ctl goes on by waits, then spin */
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	for (int i = 0; i < 2; i++)
		if (x->then[i] != y->then[i])
			return x->then[i] < y->then[i] ? 1 : -1;
	return x->t->tid < y->t->tid ? -1 : x->t->tid > y->t->tid;
}

/*
 * SORT_AUTO ranks a thread by its largest share of any column's total, so a
 * thread that dominates one column (the only one spinning, the only one
 * accepting) is never cut by -n, however little epoll it does.
 */
static double score(const struct thread_stats *t, const struct thread_stats *tot, enum sort_key k)
{
	double v[K_NR], tv[K_NR], best = 0;

	switch (k) {
	case SORT_CTL:
		return (double)stats_ctl_total(t);
	case SORT_WAIT:
		return (double)stats_loop_iterations(t);
	case SORT_SPIN:
		return (double)t->spin_ns;
	case SORT_TID:
		return -(double)t->tid;
	case SORT_AUTO:
		break;
	}
	key_values(t, v);
	key_values(tot, tv);
	for (int i = 0; i < K_NR; i++)
		if (tv[i] > 0 && v[i] / tv[i] > best)
			best = v[i] / tv[i];
	return best;
}

/* Rows in table order (active threads only); returns how many. */
size_t report_rank(const struct report *r, enum sort_key k, const struct thread_stats **out)
{
	struct ranked *rk = malloc((r->nr_rows ? r->nr_rows : 1) * sizeof(*rk));
	size_t n = 0;

	if (!rk)
		return 0;
	for (uint32_t i = 0; i < r->nr_rows; i++) {
		const struct thread_stats *t = &r->rows[i];

		if (!stats_active(t) && !t->spin_ns)
			continue;
		rk[n].t = t;
		rk[n].score = score(t, &r->totals, k);
		rk[n].then[0] = k == SORT_CTL ? (double)t->wait : 0;
		rk[n].then[1] = k == SORT_CTL ? (double)t->spin_ns : 0;
		n++;
	}
	qsort(rk, n, sizeof(*rk), by_score);
	for (size_t i = 0; i < n; i++)
		out[i] = rk[i].t;
	free(rk);
	return n;
}

/*
 * Columns, in order, with the priority by which they are dropped when the
 * terminal is narrower than the table (highest first), as top does.
 */
enum col { C_TID, C_PID, C_COMM, C_ADD, C_MOD, C_DEL, C_CTLS, C_WAITS, C_PER, C_BATCH,
	   C_ACCS, C_CLOSES, C_SPINMS, C_SPINPCT, C_PRIV, C_NR };
static const struct { const char *name; int width, prio; bool left; } cols[C_NR] = {
	[C_TID] = { "TID", 8, 0, false },	[C_PID] = { "PID", 8, 3, false },
	[C_COMM] = { "COMM", 15, 0, true },	[C_ADD] = { "ADD", 8, 6, false },
	[C_MOD] = { "MOD", 8, 6, false },	[C_DEL] = { "DEL", 8, 6, false },
	[C_CTLS] = { "CTL/s", 9, 1, false },	[C_WAITS] = { "WAIT/s", 9, 1, false },
	[C_PER] = { "CTL/WAIT", 8, 2, false },	[C_BATCH] = { "BATCH", 7, 4, false },
	[C_ACCS] = { "ACC/s", 8, 5, false },	[C_CLOSES] = { "CLOSE/s", 8, 5, false },
	[C_SPINMS] = { "SPIN_ms", 8, 1, false }, [C_SPINPCT] = { "SPIN%", 6, 3, false },
	[C_PRIV] = { "PRIV", 4, 2, false },
};

/* Which columns fit WIDTH (0: all); the PID column when threads of several processes show. */
static void report_columns(int width, bool pid_col, bool shown[C_NR])
{
	int total = 0;

	for (int c = 0; c < C_NR; c++) {
		shown[c] = c != C_PID || pid_col;
		total += shown[c] ? cols[c].width + 1 : 0;
	}
	for (int prio = 6; width > 0 && total - 1 > width && prio > 0; prio--)
		for (int c = C_NR - 1; c >= 0 && total - 1 > width; c--)
			if (shown[c] && cols[c].prio == prio) {
				shown[c] = false;
				total -= cols[c].width + 1;
			}
}

static int term_width(FILE *f)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;

	if (env && atoi(env) > 0)
		return atoi(env);
	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return 0;	/* not a terminal: every column */
}

static void cell(FILE *f, const bool shown[C_NR], enum col c, const char *text, bool *first)
{
	if (!shown[c])
		return;
	fprintf(f, cols[c].left ? "%s%-*.*s" : "%s%*.*s", *first ? "" : " ", cols[c].width,
		cols[c].width, text);
	*first = false;
}

/* A process table's first columns are the process id and its thread count. */
static const char *col_name(enum col c, bool by_process)
{
	if (by_process && c == C_TID)
		return "PID";
	if (by_process && c == C_PID)
		return "THR";
	return cols[c].name;
}

static void row(FILE *f, const bool shown[C_NR], const char *tid, const char *pid, const char *comm,
		const struct thread_stats *t, double secs, const char *priv)
{
	/* waits whichever way they went: under a batching shim most are
	 * fused into its submissions, not epoll_wait syscalls */
	uint64_t ctl = stats_ctl_total(t), waits = stats_loop_iterations(t);
	double spin_ms = (double)t->spin_ns / 1e6;
	char b[C_NR][32];
	bool first = true;

	/* ops by kind, batched ones too; CTL/s and CTL/WAIT: the syscalls */
	snprintf(b[C_ADD], 32, "%llu", (unsigned long long)stats_ctl_ops(t, EPB_CTL_ADD));
	snprintf(b[C_MOD], 32, "%llu", (unsigned long long)stats_ctl_ops(t, EPB_CTL_MOD));
	snprintf(b[C_DEL], 32, "%llu", (unsigned long long)stats_ctl_ops(t, EPB_CTL_DEL));
	snprintf(b[C_CTLS], 32, "%.0f", (double)ctl / secs);
	snprintf(b[C_WAITS], 32, "%.0f", (double)waits / secs);
	if (waits)
		snprintf(b[C_PER], 32, "%.2f", (double)ctl / (double)waits);
	else
		snprintf(b[C_PER], 32, "-");
	snprintf(b[C_BATCH], 32, "%llu", (unsigned long long)t->batch_submits);
	snprintf(b[C_ACCS], 32, "%.0f", (double)t->accept / secs);
	snprintf(b[C_CLOSES], 32, "%.0f", (double)t->close / secs);
	snprintf(b[C_SPINMS], 32, "%.2f", spin_ms);
	snprintf(b[C_SPINPCT], 32, "%.1f", 100.0 * spin_ms / (secs * 1e3));
	cell(f, shown, C_TID, tid, &first);
	cell(f, shown, C_PID, pid, &first);
	cell(f, shown, C_COMM, comm, &first);
	for (int c = C_ADD; c < C_PRIV; c++)
		cell(f, shown, (enum col)c, b[c], &first);
	cell(f, shown, C_PRIV, priv, &first);
	fputc('\n', f);
}

void report_table(FILE *f, const struct report *r, const char *title, const struct trace_opts *o)
{
	const struct thread_stats **rows = malloc((r->nr_rows ? r->nr_rows : 1) * sizeof(*rows));
	struct thread_stats cut = {};
	double secs = r->seconds > 0 ? r->seconds : 1e-9;
	size_t n, shown_rows;
	char tid[16], pid[16], stamp[16];
	time_t now = time(NULL);
	bool shown[C_NR], first = true;
	struct tm tm;

	if (!rows)
		return;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	n = report_rank(r, o->sort, rows);
	shown_rows = o->top && n > (size_t)o->top ? (size_t)o->top : n;
	report_columns(term_width(f), o->children || r->scope || r->procs, shown);
	if (r->scope)
		fprintf(f, "%s %s  %s  %.2f s  spin: %s\n", stamp, title, r->scope, r->seconds,
			spin_method_name(r->method));
	else
		fprintf(f, "%s %s  pid %d (%s)  %.2f s  spin: %s\n", stamp, title, r->pid,
			r->comm ? r->comm : "?", r->seconds, spin_method_name(r->method));
	for (int c = 0; c < C_NR; c++)
		cell(f, shown, (enum col)c, col_name((enum col)c, r->procs), &first);
	fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		const struct thread_stats *t = rows[i];

		if (i >= shown_rows) {
			stats_add(&cut, t);
			continue;
		}
		snprintf(tid, sizeof(tid), "%u", t->tid);
		snprintf(pid, sizeof(pid), "%u", t->tgid);
		if (r->procs) {
			/* THR and PRIV: the process's threads, those with a table of their own */
			const struct proc_sum *p = &r->procs[t - r->rows];
			char priv[16];

			snprintf(pid, sizeof(pid), "%u", p->threads);
			snprintf(priv, sizeof(priv), "%u", p->private_threads);
			row(f, shown, tid, pid, t->comm, t, secs, priv);
			continue;
		}
		row(f, shown, t->tid ? tid : "-", t->tid ? pid : "-", t->tid ? t->comm : "(no thread)",
		    t, secs, t->tid ? (t->private_fd_table ? "yes" : "no") : "-");
	}
	if (n > shown_rows)
		fprintf(f, "%8s (%zu more %s: %llu ctl, %llu waits, %.2f ms spin; -n 0 shows all)\n",
			"", n - shown_rows, r->procs ? "processes" : "threads",
			(unsigned long long)stats_ctl_total(&cut),
			(unsigned long long)cut.wait, (double)cut.spin_ns / 1e6);
	row(f, shown, "TOTAL", "", "", &r->totals, secs, "");
	fflush(f);
	free(rows);
}

void report_hist(FILE *f, const struct report *r, const struct trace_opts *o)
{
	const struct thread_stats **rows = malloc((r->nr_rows ? r->nr_rows : 1) * sizeof(*rows));
	size_t n;
	char who[64];

	if (!rows)
		return;
	n = report_rank(r, o->sort, rows);
	if (o->top && n > (size_t)o->top)
		n = (size_t)o->top;
	fprintf(f, "\nlog2 histograms (-T), all threads, then per thread:\n\n");
	hist_print_thread(f, "all threads", &r->totals);
	for (size_t i = 0; i < n; i++) {
		if (!rows[i]->tid)
			continue;
		snprintf(who, sizeof(who), "tid %u (%s)", rows[i]->tid, rows[i]->comm);
		hist_print_thread(f, who, rows[i]);
	}
	fflush(f);
	free(rows);
}

/* The sub-object NAME of o, created on first use. */
static json_t *group(json_t *o, const char *name)
{
	json_t *g = json_object_get(o, name);

	if (!g) {
		g = json_object();
		json_object_set_new(o, name, g);
	}
	return g;
}

/* The object a counter's key goes in: o itself, or its sub-object NAME. */
static json_t *in_group(json_t *o, const char *name)
{
	return name ? group(o, name) : o;
}

/* Spin time: what the method measured (the sample counts are in the counter table). */
static void spin_json(json_t *parent, const struct thread_stats *t, bool hist)
{
	json_t *o = group(parent, "spin");

	json_object_set_new(o, "count", json_integer((json_int_t)t->spin_count));
	json_object_set_new(o, "ns", json_integer((json_int_t)t->spin_ns));
	json_object_set_new(o, "files_lock_ns", json_integer((json_int_t)t->spin_files_ns));
	json_object_set_new(o, "files_lock_count", json_integer((json_int_t)t->spin_files_count));

	if (hist) {
		json_t *h = json_object();
		char key[24];

		for (int i = 0; i < EPB_HIST_SLOTS; i++) {
			if (!t->spin_hist[i])
				continue;
			snprintf(key, sizeof(key), "%llu", 1ULL << i);
			json_object_set_new(h, key, json_integer((json_int_t)t->spin_hist[i]));
		}
		json_object_set_new(o, "hist_log2_ns", h);
	}
}

/* Time is null, not 0, when it was not measured (no -T). */
static json_t *ns_json(uint64_t ns, bool timed)
{
	return timed ? json_integer((json_int_t)ns) : json_null();
}

static json_t *ctl_json(const struct thread_stats *t, bool timed)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:o}",
			 "add", (json_int_t)t->ctl[EPB_CTL_ADD], "mod", (json_int_t)t->ctl[EPB_CTL_MOD],
			 "del", (json_int_t)t->ctl[EPB_CTL_DEL],
			 "errors", (json_int_t)(t->ctl_err[0] + t->ctl_err[1] + t->ctl_err[2]),
			 "ns", ns_json(t->ctl_ns, timed));

	if (timed)	/* -T: log2 histograms of the time by op */
		json_object_set_new(o, "hist_log2_ns", json_pack("{s:o,s:o,s:o}",
			"add", hist_json(t->ctl_hist[EPB_CTL_ADD], EPB_LAT_SLOTS, HIST_NS),
			"mod", hist_json(t->ctl_hist[EPB_CTL_MOD], EPB_LAT_SLOTS, HIST_NS),
			"del", hist_json(t->ctl_hist[EPB_CTL_DEL], EPB_LAT_SLOTS, HIST_NS)));
	return o;
}

/* The waits in blocks of EPB_POLICY_BLOCK, by the epoll_ctl calls per wait
 * of the block before each (bpf/epbatch.h): {"waits_per_block": 16,
 * "after_calls_per_wait": {"K": {"blocks": B, "calls": C}}} for the
 * non-empty slots, K their lower bound (the last, "32", open-ended). */
static json_t *blocks_json(const struct thread_stats *t)
{
	json_t *by = json_object();
	char key[16];

	for (int k = 0; k < EPB_BLOCK_SLOTS; k++) {
		if (!t->block_hist[k])
			continue;
		snprintf(key, sizeof(key), "%d", k);
		json_object_set_new(by, key, json_pack("{s:I,s:I}", "blocks", (json_int_t)t->block_hist[k],
						       "calls", (json_int_t)t->block_ops[k]));
	}
	return json_pack("{s:i,s:o}", "waits_per_block", EPB_POLICY_BLOCK, "after_calls_per_wait", by);
}

/* The same waits one by one (bpf/epbatch.h): {"waits_per_block": 16,
 * "after_calls_per_wait": {"G": {"J": {"waits": W, "calls": C}}}}, G the
 * log2 bucket of the block before theirs and J that of the calls each wait
 * ended, both by their lower bound (0, 1, 2, 4, ... 32: open-ended). */
static json_t *iters_json(const struct thread_stats *t)
{
	json_t *by = json_object();
	char gk[16], jk[16];

	for (int g = 0; g < EPB_ITER_SLOTS; g++) {
		json_t *row = json_object();

		for (int j = 0; j < EPB_ITER_SLOTS; j++) {
			if (!t->iter_hist[g][j])
				continue;
			snprintf(jk, sizeof(jk), "%llu", (unsigned long long)epb_count_low((__u32)j));
			json_object_set_new(row, jk, json_pack("{s:I,s:I}", "waits", (json_int_t)t->iter_hist[g][j],
							       "calls", (json_int_t)t->iter_ops[g][j]));
		}
		snprintf(gk, sizeof(gk), "%llu", (unsigned long long)epb_count_low((__u32)g));
		if (json_object_size(row))
			json_object_set_new(by, gk, row);
		else
			json_decref(row);
	}
	return json_pack("{s:i,s:o}", "waits_per_block", EPB_POLICY_BLOCK, "after_calls_per_wait", by);
}

/* Keys shared by totals and threads. */
static void common_keys(json_t *o, const struct thread_stats *t, bool timed)
{
	json_object_set_new(o, "epoll_ctl", ctl_json(t, timed));
	json_object_set_new(o, "epoll_ctl_batched", json_pack("{s:I,s:I,s:I}",
		ctl_op_names[EPB_CTL_ADD], (json_int_t)t->ctl_batched[EPB_CTL_ADD],
		ctl_op_names[EPB_CTL_MOD], (json_int_t)t->ctl_batched[EPB_CTL_MOD],
		ctl_op_names[EPB_CTL_DEL], (json_int_t)t->ctl_batched[EPB_CTL_DEL]));
#define EPB_JSON(f, grp, key, help) \
	json_object_set_new(in_group(o, grp), key, json_integer((json_int_t)t->f));
	EPB_COUNTERS(EPB_JSON)
#undef EPB_JSON
	json_object_set_new(o, "epoll_wait_ns", ns_json(t->wait_ns, timed));
	if (timed) {
		json_object_set_new(o, "epoll_wait_hist_log2_ns",
				    hist_json(t->wait_hist, EPB_LAT_SLOTS, HIST_NS));
		json_object_set_new(o, "epoll_wait_events_hist_log2",
				    hist_json(t->wait_ev_hist, EPB_EV_SLOTS, HIST_EVENTS));
	}
	json_object_set_new(o, "batch_submits", json_integer((json_int_t)t->batch_submits));
	json_object_set_new(o, "loop_iterations", json_integer((json_int_t)stats_loop_iterations(t)));
	json_object_set_new(group(o, "shim"), "batch_size",
		json_real(t->shim_flushes ? (double)t->shim_ops / (double)t->shim_flushes : 0.0));
}

json_t *report_thread_json(const struct thread_stats *t, bool timed)
{
	json_t *th = json_object();

	json_object_set_new(th, "tid", json_integer(t->tid));
	json_object_set_new(th, "tgid", json_integer(t->tgid));
	json_object_set_new(th, "comm", json_string(t->tid ? t->comm : "(no thread)"));
	json_object_set_new(th, "private_fd_table", json_boolean(t->private_fd_table));
	json_object_set_new(th, "exited", json_boolean(t->exited));
	common_keys(th, t, timed);
	spin_json(th, t, false);
	return th;
}

json_t *report_processes_json(const struct report *procs, const struct trace_opts *o)
{
	const struct thread_stats **rows = malloc((procs->nr_rows ? procs->nr_rows : 1) * sizeof(*rows));
	json_t *a = json_array();
	size_t n;

	if (!rows)
		return a;
	n = report_rank(procs, o->sort, rows);
	for (size_t i = 0; i < n; i++) {
		const struct proc_sum *p = &procs->procs[rows[i] - procs->rows];
		json_t *pr = json_object();

		json_object_set_new(pr, "pid", json_integer(p->tgid));
		json_object_set_new(pr, "comm", json_string(p->comm));
		json_object_set_new(pr, "threads", json_integer(p->threads));
		json_object_set_new(pr, "private_fd_table_threads", json_integer(p->private_threads));
		common_keys(pr, rows[i], o->time_syscalls);
		spin_json(pr, rows[i], false);
		json_array_append_new(a, pr);
	}
	free(rows);
	return a;
}

json_t *report_json(const struct report *r, const struct trace_opts *o,
		    const uint64_t ctl_errno[EPB_CTL_OPS][EPB_MAX_ERRNO + 1],
		    const struct bpf_usage *bpf, double attach_ms)
{
	json_t *doc = json_object(), *notes = json_array(), *threads = json_array();
	json_t *totals = json_object(), *errs = json_object();
	struct utsname un;

	json_object_set_new(doc, "schema", json_string("epbatch/1"));
	json_set_version(doc);
	json_object_set_new(doc, "pid", json_integer(r->pid));
	json_object_set_new(doc, "comm", json_string(r->comm ? r->comm : ""));
	json_object_set_new(doc, "duration_s", json_real(r->seconds));
	json_object_set_new(doc, "spin_method", json_string(spin_method_name(r->method)));
	for (int i = 0; i < r->nr_notes; i++)
		json_array_append_new(notes, json_string(r->notes[i]));
	json_object_set_new(doc, "spin_method_notes", notes);
	if (r->method == SPIN_SAMPLE)
		json_object_set_new(doc, "sample_hz", json_integer(o->sample_hz));
	if (o->variant)
		json_object_set_new(doc, "variant", json_string(o->variant));
	if (!uname(&un))
		json_object_set_new(doc, "kernel", json_string(un.release));
	json_object_set_new(doc, "attach_ms", json_real(attach_ms));
	json_object_set_new(doc, "syscall_time", json_boolean(o->time_syscalls));

	common_keys(totals, &r->totals, o->time_syscalls);
	json_object_set_new(totals, "epoll_ctl_blocks", blocks_json(&r->totals));
	json_object_set_new(totals, "epoll_ctl_iterations", iters_json(&r->totals));
	json_object_set_new(totals, "batch_sizes_log2", hist_json(r->totals.batch_hist, EPB_BATCH_SLOTS, HIST_CALLS));
	spin_json(totals, &r->totals, true);
	for (int op = 0; op < EPB_CTL_OPS; op++) {
		json_t *e = json_object();
		char name[16];

		for (int n = 0; n <= EPB_MAX_ERRNO; n++) {
			if (!ctl_errno[op][n])
				continue;
			/* strerrorname_np needs glibc 2.32; Debian 12 has 2.36 */
			const char *s = n ? strerrorname_np(n) : NULL;

			snprintf(name, sizeof(name), "%s", s ? s : n ? "E?" : "other");
			if (!s && n)
				snprintf(name, sizeof(name), "E%d", n);
			json_object_set_new(e, name, json_integer((json_int_t)ctl_errno[op][n]));
		}
		json_object_set_new(errs, ctl_op_names[op], e);
	}
	json_object_set_new(json_object_get(totals, "epoll_ctl"), "errno", errs);
	json_object_set_new(doc, "totals", totals);

	for (uint32_t i = 0; i < r->nr_rows; i++) {
		const struct thread_stats *t = &r->rows[i];

		if (!t->tid && !stats_active(t) && !t->spin_ns && !t->samples)
			continue;	/* an empty unattributed slot */
		json_t *th = report_thread_json(t, o->time_syscalls);

		/* the document's alone: a CSV row has no column for them */
		json_object_set_new(th, "epoll_ctl_blocks", blocks_json(t));
		json_object_set_new(th, "epoll_ctl_iterations", iters_json(t));
		json_object_set_new(th, "batch_sizes_log2", hist_json(t->batch_hist, EPB_BATCH_SLOTS, HIST_CALLS));
		json_object_set_new(th, "epoll_wait_fd", t->wait_fd >= 0 ? json_integer(t->wait_fd) : json_null());
		json_object_set_new(th, "epoll_wait_fd_exclusive",
				    t->wait_excl >= 0 ? json_integer((json_int_t)t->wait_excl) : json_null());
		json_array_append_new(threads, th);
	}
	json_object_set_new(doc, "threads", threads);
	if (!bpf)
		json_object_set_new(doc, "bpf", json_pack("{s:b}", "stats_enabled", 0));
	else
		json_object_set_new(doc, "bpf", json_pack("{s:b,s:I,s:I,s:i,s:f}",
			"stats_enabled", 1,
			"run_time_ns", (json_int_t)bpf->run_time_ns,
			"run_cnt", (json_int_t)bpf->run_cnt, "programs", bpf->programs,
			"run_time_pct", r->seconds > 0 ? 100.0 * (double)bpf->run_time_ns / (r->seconds * 1e9) : 0.0));
	return doc;
}

