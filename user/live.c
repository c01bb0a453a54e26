// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The tracing session shared by `-p PID` and `record`: attach, print a table
 * per interval, stop at -d, on Ctrl-C or when the target exits (not an
 * error), then print the summary and write the JSON.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "session.h"
#include "loader.h"
#include "report.h"
#include "streams.h"
#include "procs.h"
#include "whatif.h"
#include "stacks.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* SIGINT and SIGTERM end the session (on), or are back to their defaults. */
static void stop_handlers(bool on)
{
	struct sigaction sa = { .sa_handler = on ? on_signal : SIG_DFL };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * Rows for [prev, cur]; prev NULL means since attach.  With ret (reports
 * since attach), the exited threads whose slots were recycled too.
 */
static int build_report(struct report *r, const struct tracer *tr, const struct snapshot *cur,
			const struct snapshot *prev, double seconds, const struct retired *ret)
{
	size_t extra = ret ? ret->n : 0;

	r->rows = calloc(cur->n + extra ? cur->n + extra : 1, sizeof(*r->rows));
	if (!r->rows)
		return -1;
	memset(&r->totals, 0, sizeof(r->totals));
	r->totals.wait_fd = -1;		/* a thread's alone */
	r->totals.wait_excl = -1;
	r->nr_rows = (uint32_t)(cur->n + extra);
	r->seconds = seconds;
	r->method = tr->method;
	r->notes = (const char (*)[192])tr->notes;
	r->nr_notes = tr->nr_notes;
	for (uint32_t i = 0; i < cur->n; i++) {
		thread_delta(&cur->t[i], prev && i < prev->n ? &prev->t[i] : NULL, tr->method,
			     tr->sample_period_ns, &r->rows[i]);
		/* recycled threads without epoll calls: "(no thread)" (slot 0) */
		if (i == EPB_SLOT_UNATTRIBUTED && ret)
			stats_add(&r->rows[i], &ret->folded);
		stats_add(&r->totals, &r->rows[i]);
	}
	for (size_t i = 0; i < extra; i++) {
		r->rows[cur->n + i] = ret->t[i];
		stats_add(&r->totals, &ret->t[i]);
	}
	return 0;
}

/*
 * Capacity (docs/tracer.md): a slot whose thread had exited at the last
 * snapshot already (so no probe can still be writing it) is read one last
 * time, its counts since attach kept in ret, and handed back to the
 * kernel; base and cur forget it, so its next thread counts from zero.
 */
static void recycle_exited(struct tracer *tr, struct snapshot *cur, const struct snapshot *prev,
			   struct snapshot *base, struct retired *ret, uint64_t *recycled)
{
	struct thread_stats t;

	for (uint32_t i = EPB_SLOT_UNATTRIBUTED + 1; i < cur->n && i < prev->n; i++) {
		if (!cur->t[i].exited || !prev->t[i].exited || cur->t[i].tid != prev->t[i].tid)
			continue;
		thread_delta(&cur->t[i], i < base->n ? &base->t[i] : NULL, tr->method,
			     tr->sample_period_ns, &t);
		retired_add(ret, &t);
		tracer_recycle(tr, i);
		memset(&cur->t[i], 0, sizeof(cur->t[i]));
		if (i < base->n)
			memset(&base->t[i], 0, sizeof(base->t[i]));
		(*recycled)++;
	}
}

static bool pids_gone(const struct trace_opts *o)
{
	for (int i = 0; i < o->nr_pids; i++)
		if (!kill(o->pids[i], 0) || errno != ESRCH)
			return false;
	return true;
}

/* The session's tables: a row per process with several processes (unless --threads). */
static void print_table(FILE *out, const struct report *r, const char *title, const struct trace_opts *o)
{
	struct report pr;

	if (o->pid || o->command || o->threads_view || procs_report(r, &pr)) {
		report_table(out, r, title, o);
		return;
	}
	report_table(out, &pr, title, o);
	procs_free(&pr);
}

/* What the per-thread array held: its capacity, recycled slots, threads not counted. */
static json_t *capacity_json(const struct tracer *tr, uint64_t recycled, const struct retired *ret)
{
	return json_pack("{s:i,s:i,s:I,s:I,s:I}", "slots", (int)tracer_capacity(tr),
			 "used", (int)tracer_nr_slots(tr) - 1, "recycled", (json_int_t)recycled,
			 "folded_threads", (json_int_t)ret->nr_folded,
			 "dropped_threads", (json_int_t)tracer_dropped_threads(tr));
}

static void warn_dropped(FILE *out, const struct tracer *tr)
{
	uint64_t d = tracer_dropped_threads(tr);

	if (d)
		fprintf(out, "warning: %llu threads not counted: the per-thread array (%u slots) was full "
			"(exited threads' slots are recycled every interval)\n",
			(unsigned long long)d, tracer_capacity(tr));
}

/* "scope" of the JSON: what was traced. */
static json_t *scope_json(const struct trace_opts *o)
{
	json_t *s = json_object(), *pids = json_array();

	json_object_set_new(s, "mode", json_string(o->system_wide ? "system" : o->nr_pids > 1 ? "pids" : "pid"));
	for (int i = 0; i < o->nr_pids; i++)
		json_array_append_new(pids, json_integer(o->pids[i]));
	json_object_set_new(s, "pids", pids);
	json_object_set_new(s, "comm", o->match_comm ? json_string(o->match_comm) : json_null());
	json_object_set_new(s, "cgroup", o->cgroup ? json_pack("{s:s,s:I,s:i}", "path", o->cgroup,
		"id", (json_int_t)o->cgroup_id, "level", (int)o->cgroup_level) : json_null());
	return s;
}

static bool target_gone(pid_t pid, int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd >= 0)
		return poll(&p, 1, 0) == 1;
	return kill(pid, 0) && errno == ESRCH;
}

/* Counts made while attaching: base - zero, summed (not charged to any interval). */
static json_t *attach_window_json(const struct tracer *tr, const struct snapshot *base)
{
	struct thread_stats t, sum = {};

	for (uint32_t i = 0; i < base->n; i++) {
		thread_delta(&base->t[i], NULL, tr->method, tr->sample_period_ns, &t);
		stats_add(&sum, &t);
	}
	return json_pack("{s:f,s:I,s:I,s:s}", "ms", tr->attach_ms,
			 "epoll_ctl", (json_int_t)stats_ctl_total(&sum),
			 "epoll_wait", (json_int_t)sum.wait,
			 "note", "made while the programs were being attached: not in totals or rates");
}

int trace_session(const struct trace_opts *o, pid_t tgid, int pidfd, int (*start)(void *), void *arg)
{
	struct snapshot base = {}, prev = {}, cur = {};
	static uint64_t errs0[EPB_CTL_OPS][EPB_MAX_ERRNO + 1];
	struct tracer tr;
	struct report r = { .pid = tgid }, cum;
	struct retired gone_threads = {};
	uint64_t recycled = 0;
	char scope[512];
	struct streams st = {};
	double t0, next, end;
	char comm[EPB_COMM_LEN + 1];
	/* with --json - (--csv -, --ndjson -) the document owns stdout: tables go to stderr */
	FILE *out = trace_human_out(o);
	int ret = 1;
	bool gone = false, ticks;
	static struct calib cal;
	const struct calib *calp;
	struct stacks_state stk = {};
	struct stack_set stset = {};

	if (o->json && check_writable(o->json))
		return 1;
	if (o->folded && check_writable(o->folded))
		return 1;
	if (streams_open(&st, o))
		return 1;
	/*
	 * Ctrl-C or SIGTERM from here on ends the session: also one that comes
	 * during the measurement and the attaching below (seconds), which a
	 * script's tracer started with & would otherwise ignore (a shell
	 * without job control starts background commands with SIGINT
	 * ignored) and so run until -d.
	 */
	stop_handlers(true);
	/* before the programs attach: they slow every syscall down */
	calp = calib_ensure(&cal, true) ? NULL : &cal;
	/* interval snapshots for the tables, the streams or both */
	ticks = !o->quiet || streams_any(&st);
	if (o->comm)
		snprintf(comm, sizeof(comm), "%s", o->comm);
	else if (tgid)
		proc_comm(tgid, comm, sizeof(comm));
	else
		comm[0] = 0;
	r.comm = comm;
	trace_scope(o, scope, sizeof(scope));
	if (!o->pid && !o->command)
		r.scope = scope;
	if (tracer_open(&tr, o, tgid)) {
		streams_abort(&st);
		stop_handlers(false);
		return 1;
	}
	if (o->stacks && stacks_begin(&stk, &tr, tgid, comm, !start))
		goto out;
	/*
	 * Counting starts here: what the target did while the programs were
	 * being attached (seconds with hundreds of busy threads) is subtracted,
	 * and reported apart as the attach window.
	 */
	if (snapshot_take(&base, tr.threads, tracer_nr_slots(&tr), now_s()))
		goto out;
	tracer_ctl_errno(&tr, errs0);
	if (o->stacks)
		stacks_reset(&tr);
	/* stopped while setting up: a command that was to run is not started */
	if (start && !stop_signal && start(arg))
		goto out;
	if (!start && tgid && target_gone(tgid, pidfd)) {
		fprintf(stderr, PROG ": PID %d exited while the tracer was attaching\n", (int)tgid);
		goto out;
	}
	t0 = now_s();
	if (!o->quiet) {
		/* the method's notes once here, not in every table */
		if (r.scope)
			fprintf(stderr, "Tracing %s: attached in %.0f ms, spin-lock method: %s", scope,
				tr.attach_ms, spin_method_name(tr.method));
		else
			fprintf(stderr, "Tracing pid %d (%s): attached in %.0f ms, spin-lock method: %s",
				(int)tgid, comm, tr.attach_ms, spin_method_name(tr.method));
		for (int i = 0; i < tr.nr_notes; i++)
			fprintf(stderr, "%s%s", i ? "; " : " (", tr.notes[i]);
		fprintf(stderr, "%s. Ctrl-C to stop.\n", tr.nr_notes ? ")" : "");
	}
	if (snapshot_take(&prev, base.t, base.n, t0))
		goto out;
	next = o->interval > 0 ? t0 + o->interval : 1e300;
	end = o->duration > 0 ? t0 + o->duration : 1e300;

	while (!stop_signal) {
		double now = now_s(), until = next < end ? next : end;
		int ms = (int)((until - now) * 1e3);
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (ms > 0) {
			/* without a pidfd, look for the target's exit every 100 ms */
			if (pidfd < 0 && ms > 100 && !o->system_wide)
				ms = 100;
			if (poll(&p, pidfd >= 0, ms) == 1)
				gone = true;
		}
		if (!gone)
			gone = tgid ? target_gone(tgid, pidfd) : o->nr_pids > 1 && pids_gone(o);
		now = now_s();
		if (now >= next && !gone && ticks) {
			if (snapshot_take(&cur, tr.threads, tracer_nr_slots(&tr), now) ||
			    build_report(&r, &tr, &cur, &prev, now - prev.ts, NULL))
				goto out;
			if (!o->quiet) {
				print_table(out, &r, "interval", o);
				warn_dropped(out, &tr);
			}
			streams_interval(&st, &r, wall_s());
			free(r.rows);
			r.rows = NULL;
			if (st.om_path) {
				cum = r;
				if (build_report(&cum, &tr, &cur, &base, now - t0, &gone_threads))
					goto out;
				streams_openmetrics(&st, &cum, wall_s());
				free(cum.rows);
			}
			recycle_exited(&tr, &cur, &prev, &base, &gone_threads, &recycled);
			struct snapshot t = prev;
			prev = cur;
			cur = t;
		}
		if (now >= next)
			next += o->interval * (1 + (int)((now - next) / o->interval));
		if (gone || now >= end)
			break;
	}

	double t1 = now_s();
	if (snapshot_take(&cur, tr.threads, tracer_nr_slots(&tr), t1))
		goto out;
	/* the streams' last rows: from the last interval to the end, so rows sum to the totals */
	if (st.csv || st.ndjson) {
		if (build_report(&r, &tr, &cur, &prev, t1 - prev.ts, NULL))
			goto out;
		streams_interval(&st, &r, wall_s());
		free(r.rows);
		r.rows = NULL;
	}
	if (build_report(&r, &tr, &cur, &base, t1 - t0, &gone_threads))
		goto out;
	whatif_read_instances(&r);
	if (st.om_path && streams_openmetrics(&st, &r, wall_s()))
		goto out;
	if (!o->quiet) {
		fputc('\n', out);
		print_table(out, &r, gone ? "summary (target exited)" : "summary", o);
		warn_dropped(out, &tr);
		whatif_table(out, &r, calp, o);
	}
	if (o->hist)
		report_hist(out, &r, o);
	if (o->stacks) {
		stacks_collect(&stk, &tr, &stset);
		if (!o->quiet)
			stackset_print(out, &stset, 5);
	}
	ret = streams_close(&st) ? 1 : 0;
	if (o->folded && stackset_folded_file(&stset, o->folded))
		ret = 1;
	if (o->json) {
		static uint64_t errs[EPB_CTL_OPS][EPB_MAX_ERRNO + 1];
		struct bpf_usage u;
		json_t *doc;

		tracer_ctl_errno(&tr, errs);
		for (int op = 0; op < EPB_CTL_OPS; op++)
			for (int e = 0; e <= EPB_MAX_ERRNO; e++)
				errs[op][e] -= errs0[op][e];
		tracer_bpf_usage(&tr, &u);
		doc = report_json(&r, o, errs, tr.stats_fd >= 0 ? &u : NULL, tr.attach_ms);
		json_object_set_new(doc, "attach_window", attach_window_json(&tr, &base));
		json_object_set_new(doc, "capacity", capacity_json(&tr, recycled, &gone_threads));
		if (!o->command && trace_filtered(o)) {
			struct report pr;

			json_object_set_new(doc, "scope", scope_json(o));
			if (!procs_report(&r, &pr)) {
				json_object_set_new(doc, "processes", report_processes_json(&pr, o));
				procs_free(&pr);
			}
		}
		whatif_add_json(doc, &r, calp);
		if (o->stacks)
			json_object_set_new(doc, "stacks", stackset_json(&stset));
		if (json_write_file(doc, o->json))
			ret = 1;
		json_decref(doc);
	}
out:
	if (ret)
		streams_abort(&st);
	free(r.rows);
	retired_free(&gone_threads);
	snapshot_free(&base);
	snapshot_free(&prev);
	snapshot_free(&cur);
	stackset_free(&stset);
	stacks_end(&stk);
	tracer_close(&tr);
	stop_handlers(false);
	return ret;
}

int trace_stop_signal(void)
{
	return stop_signal;
}

/* Several processes (-p A,B) or the whole machine: no one target to wait for. */
static int trace_many(const struct trace_opts *o)
{
	for (int i = 0; i < o->nr_pids; i++)
		if (proc_check_target(o->pids[i]))
			return 1;
	return trace_session(o, 0, -1, NULL, NULL);
}

/* Trace running processes: `-p PID[,PID...]`, the whole machine, `record -p PID`. */
int trace_pid(const struct trace_opts *o)
{
	int pidfd, ret;

	if (!o->pid)
		return trace_many(o);
	if (proc_check_target(o->pid))
		return 1;
	pidfd = (int)syscall(SYS_pidfd_open, o->pid, 0);
	if (pidfd < 0 && errno == ESRCH) {
		fprintf(stderr, PROG ": no such process: %d\n", (int)o->pid);
		return 1;
	}
	/* without pidfd_open (before 5.3) the target is polled with kill(0) */
	ret = trace_session(o, o->pid, pidfd, NULL, NULL);
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}
