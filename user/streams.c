// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Machine-readable streams: --csv, --ndjson (a row/object per thread per
 * interval, with a timestamp) and --openmetrics (Prometheus text exposition
 * format 0.0.4, what node_exporter's textfile collector reads, rewritten
 * atomically every interval).  The CSV columns are the NDJSON keys with the
 * path joined by '_' (epoll_ctl.add -> epoll_ctl_add); the plain counters of
 * both, and their OpenMetrics series, come from EPB_COUNTERS (bpf/epbatch.h).
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "streams.h"
#include "procs.h"

void iso_time(char *buf, size_t len, double wall)
{
	time_t sec = (time_t)wall;
	int ms = (int)((wall - (double)sec) * 1e3);
	struct tm tm;
	char b[32];

	if (ms < 0 || ms > 999)
		ms = 0;
	gmtime_r(&sec, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", b, ms);
}

static bool row_shown(const struct thread_stats *t)
{
	return stats_active(t) || t->spin_ns || t->samples;
}

/* ---- CSV (RFC 4180: a field with a comma, quote or line break is quoted) ---- */

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A counter's flat name: PREFIX + [GROUP_] + KEY + SUFFIX (the group NULL: none). */
static const char *flat_name(char *buf, size_t len, const char *prefix, const char *grp,
			     const char *key, const char *suffix)
{
	snprintf(buf, len, "%s%s%s%s%s", prefix, grp ? grp : "", grp ? "_" : "", key, suffix);
	return buf;
}

void csv_header(FILE *f)
{
	char name[96];

	fputs("ts,time,interval_s,tid,tgid,comm,private_fd_table,exited,"
	      "epoll_ctl_add,epoll_ctl_mod,epoll_ctl_del,epoll_ctl_errors,epoll_ctl_ns,"
	      "epoll_ctl_batched_add,epoll_ctl_batched_mod,epoll_ctl_batched_del", f);

#define EPB_CSV_H(f_, grp, key, help) fputs(flat_name(name, sizeof(name), ",", grp, key, ""), f);
	EPB_COUNTERS(EPB_CSV_H)
#undef EPB_CSV_H
	fputs(",epoll_wait_ns,batch_submits,loop_iterations,shim_batch_size,"
	      "spin_count,spin_ns,spin_files_lock_ns,spin_files_lock_count\n", f);
}

static void csv_ns(FILE *f, uint64_t ns, bool timed)
{
	if (timed)
		fprintf(f, ",%llu", (unsigned long long)ns);
	else
		fputc(',', f);		/* empty: not measured (null in JSON) */
}

void csv_row(FILE *f, const struct thread_stats *t, double wall_end, double seconds, bool timed)
{
	char when[40];

	iso_time(when, sizeof(when), wall_end);
	fprintf(f, "%.3f,%s,%.3f,%u,%u,", wall_end, when, seconds, t->tid, t->tgid);
	csv_str(f, t->tid ? t->comm : "(no thread)");
	fprintf(f, ",%d,%d,%llu,%llu,%llu,%llu", t->private_fd_table, t->exited,
		(unsigned long long)t->ctl[EPB_CTL_ADD], (unsigned long long)t->ctl[EPB_CTL_MOD],
		(unsigned long long)t->ctl[EPB_CTL_DEL],
		(unsigned long long)(t->ctl_err[0] + t->ctl_err[1] + t->ctl_err[2]));
	csv_ns(f, t->ctl_ns, timed);
	for (int op = 0; op < EPB_CTL_OPS; op++)
		fprintf(f, ",%llu", (unsigned long long)t->ctl_batched[op]);
#define EPB_CSV_V(f_, grp, key, help) fprintf(f, ",%llu", (unsigned long long)t->f_);
	EPB_COUNTERS(EPB_CSV_V)
#undef EPB_CSV_V
	csv_ns(f, t->wait_ns, timed);
	fprintf(f, ",%llu,%llu,%.2f,%llu,%llu,%llu,%llu\n", (unsigned long long)t->batch_submits,
		(unsigned long long)stats_loop_iterations(t),
		t->shim_flushes ? (double)t->shim_ops / (double)t->shim_flushes : 0.0,
		(unsigned long long)t->spin_count, (unsigned long long)t->spin_ns,
		(unsigned long long)t->spin_files_ns, (unsigned long long)t->spin_files_count);
}

/* ---- NDJSON: the epbatch/1 thread object plus when ---- */

json_t *ndjson_row(const struct thread_stats *t, double wall_end, double seconds, bool timed)
{
	json_t *o = json_object(), *th = report_thread_json(t, timed);
	char when[40];

	iso_time(when, sizeof(when), wall_end);
	/* milliseconds, as in the CSV */
	json_object_set_new(o, "ts", json_real(round(wall_end * 1e3) / 1e3));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "interval_s", json_real(round(seconds * 1e3) / 1e3));
	json_object_update(o, th);
	json_decref(th);
	return o;
}

/* ---- the files ---- */

static int open_one(const char *path, FILE **f, char **tmp)
{
	*tmp = NULL;
	if (!path)
		return 0;
	if (!strcmp(path, "-")) {
		*f = stdout;
		return 0;
	}
	if (check_writable(path))
		return -1;
	*f = atomic_open(path, tmp);
	return *f ? 0 : -1;
}

bool streams_any(const struct streams *s)
{
	return s->csv || s->ndjson || s->om_path;
}

int streams_open(struct streams *s, const struct trace_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->timed = o->time_syscalls;
	s->csv_path = o->csv;
	s->ndjson_path = o->ndjson;
	s->om_path = o->openmetrics;
	if (s->om_path && check_writable(s->om_path))
		return -1;
	if (open_one(o->csv, &s->csv, &s->csv_tmp) || open_one(o->ndjson, &s->ndjson, &s->ndjson_tmp)) {
		streams_close(s);
		return -1;
	}
	if (s->csv) {
		csv_header(s->csv);
		fflush(s->csv);
	}
	return 0;
}

int streams_interval(struct streams *s, const struct report *r, double wall_end)
{
	for (uint32_t i = 0; i < r->nr_rows; i++) {
		const struct thread_stats *t = &r->rows[i];

		if (!row_shown(t))
			continue;
		if (s->csv)
			csv_row(s->csv, t, wall_end, r->seconds, s->timed);
		if (s->ndjson) {
			json_t *o = ndjson_row(t, wall_end, r->seconds, s->timed);

			/* 15 digits: a time rounded to milliseconds prints
			 * as such (17 would show the nearest double's tail) */
			json_dumpf(o, s->ndjson, JSON_COMPACT | JSON_REAL_PRECISION(15));
			fputc('\n', s->ndjson);
			json_decref(o);
		}
	}
	/* a follower (tail -f, a pipe) sees each interval as it ends */
	if (s->csv)
		fflush(s->csv);
	if (s->ndjson)
		fflush(s->ndjson);
	return 0;
}

static int close_one(FILE **f, char **tmp, const char *path)
{
	int ret = 0;

	if (!*f)
		return 0;
	if (*f == stdout)
		ret = fflush(stdout) ? -1 : 0;
	else
		ret = atomic_close(*f, *tmp, path);
	*f = NULL;
	*tmp = NULL;
	return ret;
}

int streams_close(struct streams *s)
{
	int a = close_one(&s->csv, &s->csv_tmp, s->csv_path);
	int b = close_one(&s->ndjson, &s->ndjson_tmp, s->ndjson_path);

	return a || b ? -1 : 0;
}

void streams_abort(struct streams *s)
{
	if (s->csv && s->csv != stdout)
		atomic_abort(s->csv, s->csv_tmp);
	if (s->ndjson && s->ndjson != stdout)
		atomic_abort(s->ndjson, s->ndjson_tmp);
	s->csv = s->ndjson = NULL;
	s->csv_tmp = s->ndjson_tmp = NULL;
}

/* ---- OpenMetrics / Prometheus text exposition ---- */

/* Label values: backslash, double quote and line feed escaped. */
static void label(FILE *f, const char *name, const char *v, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_labels(FILE *f, const char *name, const struct proc_sum *p, const char *op)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%u", p->tgid);
	fprintf(f, "%s{", name);
	label(f, "pid", pid, true);
	label(f, "comm", p->comm, false);
	if (op)
		label(f, "op", op, false);
	fputs("} ", f);
}

static void sample_u(FILE *f, const char *name, const struct proc_sum *p, const char *op, uint64_t v)
{
	sample_labels(f, name, p, op);
	fprintf(f, "%llu\n", (unsigned long long)v);
}

static void sample_s(FILE *f, const char *name, const struct proc_sum *p, uint64_t ns)
{
	sample_labels(f, name, p, NULL);
	fprintf(f, "%.9f\n", (double)ns / 1e9);
}

/* A counter family with one sample per process: a field of thread_stats, as is or ns as seconds. */
static void counter_series(FILE *f, const char *name, const char *help, const struct proc_sum *ps,
			   size_t n, size_t off, bool ns)
{
	family(f, name, "counter", help);
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&ps[i].s + off, sizeof(v));
		if (ns)
			sample_s(f, name, &ps[i], v);
		else
			sample_u(f, name, &ps[i], NULL, v);
	}
}
/* the offset of a uint64_t field of thread_stats (a field of another size does not compile) */
#define STAT_OFF(field) (offsetof(struct thread_stats, field) +				\
	0 * sizeof(char[sizeof(((struct thread_stats *)0)->field) == sizeof(uint64_t) ? 1 : -1]))

/* The counter families beyond EPB_COUNTERS (timed: only with -T). */
static const struct {
	const char *name, *help;
	size_t off;
	bool ns, timed;
} om_more[] = {
	{ "epbatch_batch_submits_total", "batched submissions (kmod ioctls and io_uring_enter calls)",
	  STAT_OFF(batch_submits), false, false },
	{ "epbatch_spin_seconds_total",
	  "time in the spin-lock slow path (estimated from samples with the sample method)",
	  STAT_OFF(spin_ns), true, false },
	{ "epbatch_spin_files_lock_seconds_total",
	  "of that, time spinning on the process's files_struct->file_lock", STAT_OFF(spin_files_ns),
	  true, false },
	{ "epbatch_spin_entries_total", "slow-path entries (fentry and kprobe methods; 0 with sampling)",
	  STAT_OFF(spin_count), false, false },
	{ "epbatch_epoll_ctl_seconds_total", "time inside epoll_ctl (-T)", STAT_OFF(ctl_ns), true, true },
	{ "epbatch_epoll_wait_seconds_total", "time inside the epoll waits, blocked time included (-T)",
	  STAT_OFF(wait_ns), true, true },
};

/* A counter family by epoll_ctl op: the op-indexed array at off in each
 * process's sums, one sample per process and op. */
static void op_series(FILE *f, const char *name, const char *help, const struct proc_sum *ps,
		      size_t n, size_t off)
{
	family(f, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		for (int op = 0; op < EPB_CTL_OPS; op++) {
			uint64_t v;

			memcpy(&v, (const char *)&ps[i].s + off + (size_t)op * sizeof(v), sizeof(v));
			sample_u(f, name, &ps[i], ctl_op_names[op], v);
		}
}

void openmetrics_write(FILE *f, const struct report *r, bool timed, double wall_now)
{
	struct proc_sum *ps = calloc(r->nr_rows ? r->nr_rows : 1, sizeof(*ps));
	size_t n;
	char name[96];

	if (!ps)
		return;
	n = procs_group(r, ps);
	family(f, "epbatch_info", "gauge", "epbatch-trace version and spin-lock method (value 1)");
	fprintf(f, "epbatch_info{");
	label(f, "version", EPBATCH_VERSION, true);
	label(f, "spin_method", spin_method_name(r->method), false);
	fputs("} 1\n", f);
	family(f, "epbatch_trace_seconds", "gauge", "seconds traced since the programs were attached");
	fprintf(f, "epbatch_trace_seconds %.3f\n", r->seconds);
	family(f, "epbatch_last_update_timestamp_seconds", "gauge",
	       "when epbatch-trace wrote this file (Unix time)");
	fprintf(f, "epbatch_last_update_timestamp_seconds %.3f\n", wall_now);

	family(f, "epbatch_threads", "gauge", "threads of the process that made a traced syscall");
	for (size_t i = 0; i < n; i++)
		sample_u(f, "epbatch_threads", &ps[i], NULL, ps[i].threads);
	family(f, "epbatch_private_fd_table_threads", "gauge",
	       "of those, threads with an FD table of their own (unshare(CLONE_FILES))");
	for (size_t i = 0; i < n; i++)
		sample_u(f, "epbatch_private_fd_table_threads", &ps[i], NULL, ps[i].private_threads);
	op_series(f, "epbatch_epoll_ctl_total", "epoll_ctl calls by op, failed ones included", ps, n,
		  offsetof(struct thread_stats, ctl));
	op_series(f, "epbatch_epoll_ctl_errors_total", "epoll_ctl calls that failed, by op", ps, n,
		  offsetof(struct thread_stats, ctl_err));
	op_series(f, "epbatch_epoll_ctl_batched_total",
		  "epoll_ctl ops batched (io_uring requests and module ops), by op", ps, n,
		  offsetof(struct thread_stats, ctl_batched));
#define EPB_OM(f_, grp, key, help)							\
	flat_name(name, sizeof(name), "epbatch_", grp, key, "_total");			\
	counter_series(f, name, help, ps, n, STAT_OFF(f_), false);
	EPB_COUNTERS(EPB_OM)
#undef EPB_OM
	for (size_t i = 0; i < sizeof(om_more) / sizeof(om_more[0]); i++)
		if (!om_more[i].timed || timed)
			counter_series(f, om_more[i].name, om_more[i].help, ps, n, om_more[i].off,
				       om_more[i].ns);
	free(ps);
}

int streams_openmetrics(struct streams *s, const struct report *cum, double wall_now)
{
	char *tmp;
	FILE *f;

	if (!s->om_path)
		return 0;
	f = atomic_open(s->om_path, &tmp);
	if (!f)
		return -1;
	openmetrics_write(f, cum, s->timed, wall_now);
	return atomic_close(f, tmp, s->om_path);
}
