// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Output: the per-thread table and the epbatch/1 JSON document. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "trace.h"
#include "compare.h"

static int by_activity(const void *a, const void *b)
{
	const struct thread_stats *x = a, *y = b;
	uint64_t ax = stats_ctl_total(x) + x->wait + x->batch_submits;
	uint64_t ay = stats_ctl_total(y) + y->wait + y->batch_submits;

	if (ax != ay)
		return ax < ay ? 1 : -1;
	if (x->spin_ns != y->spin_ns)
		return x->spin_ns < y->spin_ns ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void row(FILE *f, const char *tid, const char *comm, const struct thread_stats *t,
		double secs, const char *priv)
{
	uint64_t ctl = stats_ctl_total(t);
	double spin_ms = (double)t->spin_ns / 1e6;
	char per[16];

	if (t->wait)
		snprintf(per, sizeof(per), "%.2f", (double)ctl / (double)t->wait);
	else
		snprintf(per, sizeof(per), "-");
	fprintf(f, "%8s %-15.15s %8llu %8llu %8llu %9.0f %9.0f %8s %7llu %8.2f %6.1f %4s\n",
		tid, comm, (unsigned long long)t->ctl[EPB_CTL_ADD],
		(unsigned long long)t->ctl[EPB_CTL_MOD], (unsigned long long)t->ctl[EPB_CTL_DEL],
		(double)ctl / secs, (double)t->wait / secs, per,
		(unsigned long long)t->batch_submits, spin_ms,
		100.0 * spin_ms / (secs * 1e3), priv);
}

void report_table(FILE *f, const struct report *r, const char *title, int top)
{
	struct thread_stats *rows = malloc((r->nr_rows ? r->nr_rows : 1) * sizeof(*rows));
	uint32_t shown = 0, active = 0;
	double secs = r->seconds > 0 ? r->seconds : 1e-9;
	char tid[16], stamp[16];
	time_t now = time(NULL);
	struct tm tm;

	if (!rows)
		return;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	memcpy(rows, r->rows, r->nr_rows * sizeof(*rows));
	qsort(rows, r->nr_rows, sizeof(*rows), by_activity);
	fprintf(f, "%s %s  pid %d (%s)  %.2f s  spin: %s", stamp, title, r->pid,
		r->comm ? r->comm : "?", r->seconds, spin_method_name(r->method));
	if (r->method == SPIN_SAMPLE || r->method == SPIN_KPROBE || r->method == SPIN_OFF)
		for (int i = 0; i < r->nr_notes; i++)
			fprintf(f, "%s%s", i ? "; " : " (", r->notes[i]);
	fprintf(f, "%s\n", (r->method != SPIN_FENTRY && r->nr_notes) ? ")" : "");
	fprintf(f, "%8s %-15s %8s %8s %8s %9s %9s %8s %7s %8s %6s %4s\n", "TID", "COMM",
		"ADD", "MOD", "DEL", "CTL/s", "WAIT/s", "CTL/WAIT", "BATCH", "SPIN_ms", "SPIN%", "PRIV");
	for (uint32_t i = 0; i < r->nr_rows; i++) {
		const struct thread_stats *t = &rows[i];

		if (!stats_active(t) && !t->spin_ns)
			continue;
		active++;
		if (top && shown >= (uint32_t)top)
			continue;
		shown++;
		snprintf(tid, sizeof(tid), "%u", t->tid);
		row(f, t->tid ? tid : "-", t->tid ? t->comm : "(no thread)", t, secs,
		    t->tid ? (t->private_fd_table ? "yes" : "no") : "-");
	}
	if (active > shown)
		fprintf(f, "%8s (%u more active threads; -n 0 shows all)\n", "", active - shown);
	row(f, "TOTAL", "", &r->totals, secs, "");
	fflush(f);
	free(rows);
}

static json_t *spin_json(const struct thread_stats *t, bool hist)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			      "count", (json_int_t)t->spin_count, "ns", (json_int_t)t->spin_ns,
			      "files_lock_ns", (json_int_t)t->spin_files_ns,
			      "files_lock_count", (json_int_t)t->spin_files_count,
			      "samples", (json_int_t)t->samples,
			      "slowpath_samples", (json_int_t)t->slow_samples,
			      "files_lock_samples", (json_int_t)t->slow_files_samples);

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
	return o;
}

/* Time is null, not 0, when it was not measured (no -T). */
static json_t *ns_json(uint64_t ns, bool timed)
{
	return timed ? json_integer((json_int_t)ns) : json_null();
}

static json_t *ctl_json(const struct thread_stats *t, bool timed)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:o}",
			 "add", (json_int_t)t->ctl[EPB_CTL_ADD], "mod", (json_int_t)t->ctl[EPB_CTL_MOD],
			 "del", (json_int_t)t->ctl[EPB_CTL_DEL],
			 "errors", (json_int_t)(t->ctl_err[0] + t->ctl_err[1] + t->ctl_err[2]),
			 "ns", ns_json(t->ctl_ns, timed));
}

/* Keys shared by totals and threads. */
static void common_keys(json_t *o, const struct thread_stats *t, bool timed)
{
	json_object_set_new(o, "epoll_ctl", ctl_json(t, timed));
	json_object_set_new(o, "epoll_wait", json_integer((json_int_t)t->wait));
	json_object_set_new(o, "epoll_wait_events", json_integer((json_int_t)t->wait_events));
	json_object_set_new(o, "epoll_wait_ns", ns_json(t->wait_ns, timed));
	json_object_set_new(o, "batch_submits", json_integer((json_int_t)t->batch_submits));
	json_object_set_new(o, "kmod_submits", json_integer((json_int_t)t->kmod_submits));
	json_object_set_new(o, "kmod_ops", json_integer((json_int_t)t->kmod_ops));
	json_object_set_new(o, "io_uring_enter", json_integer((json_int_t)t->uring_enter));
	json_object_set_new(o, "shim", json_pack("{s:I,s:I,s:I,s:f}",
		"flushes", (json_int_t)t->shim_flushes, "ops", (json_int_t)t->shim_ops,
		"passthrough", (json_int_t)t->shim_passthrough,
		"batch_size", t->shim_flushes ? (double)t->shim_ops / (double)t->shim_flushes : 0.0));
	json_object_set_new(o, "accept", json_integer((json_int_t)t->accept));
	json_object_set_new(o, "socket", json_integer((json_int_t)t->socket));
	json_object_set_new(o, "close", json_integer((json_int_t)t->close));
	json_object_set_new(o, "dup", json_integer((json_int_t)t->dup));
	json_object_set_new(o, "unshare_files", json_integer((json_int_t)t->unshare_files));
}

static const char *op_names[EPB_CTL_OPS] = { "add", "mod", "del" };

json_t *report_json(const struct report *r, const struct trace_opts *o,
		    const uint64_t ctl_errno[EPB_CTL_OPS][EPB_MAX_ERRNO + 1],
		    const struct bpf_usage *bpf, double attach_ms)
{
	json_t *doc = json_object(), *notes = json_array(), *threads = json_array();
	json_t *totals = json_object(), *errs = json_object();
	struct utsname un;

	json_object_set_new(doc, "schema", json_string("epbatch/1"));
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
	json_object_set_new(totals, "spin", spin_json(&r->totals, true));
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
		json_object_set_new(errs, op_names[op], e);
	}
	json_object_set_new(json_object_get(totals, "epoll_ctl"), "errno", errs);
	json_object_set_new(doc, "totals", totals);

	for (uint32_t i = 0; i < r->nr_rows; i++) {
		const struct thread_stats *t = &r->rows[i];
		json_t *th = json_object();

		if (!t->tid && !stats_active(t) && !t->spin_ns && !t->samples)
			continue;	/* an empty unattributed slot */
		json_object_set_new(th, "tid", json_integer(t->tid));
		json_object_set_new(th, "tgid", json_integer(t->tgid));
		json_object_set_new(th, "comm", json_string(t->tid ? t->comm : "(no thread)"));
		json_object_set_new(th, "private_fd_table", json_boolean(t->private_fd_table));
		json_object_set_new(th, "exited", json_boolean(t->exited));
		common_keys(th, t, o->time_syscalls);
		json_object_set_new(th, "spin", spin_json(t, false));
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

