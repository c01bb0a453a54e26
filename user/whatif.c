// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The what-if section of a trace: per thread and in total, what batching
 * (each backend) and unshare(CLONE_FILES) would save, from the traced op
 * mix and this machine's calibration (costmodel.c), in the summary table and
 * as "what_if" in the epbatch/1 JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "whatif.h"

void wi_in_from_stats(const struct thread_stats *t, double secs, enum spin_choice m, struct wi_in *in)
{
	memset(in, 0, sizeof(*in));
	in->add = t->ctl[EPB_CTL_ADD];
	in->mod = t->ctl[EPB_CTL_MOD];
	in->del = t->ctl[EPB_CTL_DEL];
	in->waits = t->wait;
	in->batch_submits = t->batch_submits;
	in->batched_ops = stats_ctl_batched(t);
	in->closes = t->close;
	in->excl_adds = t->ctl_excl_add;
	in->spin_files_ns = t->spin_files_ns;
	in->spin_measured = m != SPIN_OFF && m != SPIN_AUTO;
	in->private_fd_table = t->private_fd_table;
	in->seconds = secs;
	in->requests = -1;
	memcpy(in->block_hist, t->block_hist, sizeof(in->block_hist));
	memcpy(in->block_ops, t->block_ops, sizeof(in->block_ops));
	memcpy(in->iter_hist, t->iter_hist, sizeof(in->iter_hist));
	memcpy(in->iter_ops, t->iter_ops, sizeof(in->iter_ops));
	in->excl_instance = t->wait_excl > 0 ? (uint64_t)t->wait_excl : 0;
	in->coalescible = t->ctl_coalescible;
}

void whatif_read_instances(struct report *r)
{
	for (uint32_t i = 0; i < r->nr_rows; i++) {
		struct thread_stats *t = &r->rows[i];

		t->wait_excl = t->tid && t->wait_fd >= 0 ? proc_epoll_exclusive((pid_t)t->tgid, t->wait_fd) : -1;
	}
}

/* What a thread's own batches (a shim's) save by the model, ns over the
 * trace, each backend's apart (the module's estimated where it is absent);
 * false when a backend they used was not measured. */
static bool thread_batched_saving(const struct calib *c, const struct thread_stats *t, double *ns)
{
	const struct cm_batched u = { t->uring_ctl, t->uring_epoll_enter, t->uring_wait, t->uring_close };
	const struct cm_batched k = { t->kmod_ops, t->kmod_submit, t->kmod_wait, 0 };
	struct cm_backend_cal est;

	*ns = 0;
	if (u.batches) {
		if (!c->be[CM_URING].present)
			return false;
		*ns += cm_batched_saving(c, &c->be[CM_URING], &u);
	}
	if (k.batches)
		*ns += cm_batched_saving(c, cm_kmod(c, &est), &k);
	return true;
}

/* The same over the report's threads (each batches by its own sizes). */
static bool batched_saving(const struct calib *c, const struct report *r, double *ns)
{
	double t;

	*ns = 0;
	for (uint32_t i = 0; i < r->nr_rows; i++) {
		if (!stats_ctl_batched(&r->rows[i]))
			continue;
		if (!thread_batched_saving(c, &r->rows[i], &t))
			return false;
		*ns += t;
	}
	return true;
}

/* "already_batched" in the what_if object wi, where t (a thread of r, or
 * r's totals) batched: its ops that reached the kernel in batches and what
 * those batches save by the model (ns per second, so that per_req() adds
 * the figure per request). */
static void batched_json(json_t *wi, const struct calib *c, const struct report *r,
			 const struct thread_stats *t)
{
	uint64_t b = stats_ctl_batched(t), d = stats_ctl_total(t), it = stats_loop_iterations(t);
	double ns;
	bool priced;

	if (!b)
		return;
	priced = t == &r->totals ? batched_saving(c, r, &ns) : thread_batched_saving(c, t, &ns);
	json_object_set_new(wi, "already_batched", json_pack("{s:I,s:f,s:f,s:o}", "ops", (json_int_t)b,
		"share", round(1000.0 * (double)b / (double)(b + d)) / 1000,
		"per_iteration", it ? round(100.0 * (double)b / (double)it) / 100 : 0.0,
		"cpu_ns_saved_per_s", priced && r->seconds > 0 ? json_real(round(ns / r->seconds)) : json_null()));
}

/* Totals: each intervention's sum over the threads (each thread decides
 * alone whether to batch), not the model applied to the summed mix. */
static void total_out(const struct report *r, const struct calib *c, struct wi_out out[WI_N])
{
	struct wi_in in;
	struct wi_out t[WI_N];
	double calls = 0;

	wi_in_from_stats(&r->totals, r->seconds, r->method, &in);
	whatif_compute(c, &in, out);
	for (int k = 0; k < WI_N; k++) {
		out[k].saved_per_s = 0;
		out[k].always_per_s = 0;
		out[k].batched_share = 0;
		out[k].fused_share = 0;
		out[k].ctl_batched = 0;
	}
	for (uint32_t i = 0; i < r->nr_rows; i++) {
		double n;

		wi_in_from_stats(&r->rows[i], r->seconds, r->method, &in);
		whatif_compute(c, &in, t);
		n = (double)(in.add + in.mod + in.del);
		calls += n;
		for (int k = 0; k < WI_N; k++) {
			out[k].saved_per_s += t[k].known ? t[k].saved_per_s : 0;
			out[k].always_per_s += t[k].known ? t[k].always_per_s : 0;
			out[k].batched_share += t[k].known ? t[k].batched_share * n : 0;
			out[k].fused_share += t[k].known ? t[k].fused_share * n : 0;
			out[k].ctl_batched += t[k].known ? t[k].ctl_batched : 0;
		}
	}
	for (int k = 0; k < WI_N; k++) {
		out[k].batched_share = calls > 0 ? out[k].batched_share / calls : 0;
		out[k].fused_share = calls > 0 ? out[k].fused_share / calls : 0;
	}
	for (int k = 0; k < WI_N; k++)
		if (k != WI_UNSHARE)
			snprintf(out[k].assumptions + strlen(out[k].assumptions),
				 sizeof(out[k].assumptions) - strlen(out[k].assumptions),
				 "; total = the sum over threads, each batching or not by its own op mix");
}

static json_t *calib_ref(const struct calib *c)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:f,s:f}", "file", c->file, "key", c->key,
			 "measured_at", c->measured_at, "cached", c->cached,
			 "syscall_ns", c->syscall.ns, "epoll_ctl_mod_ns", c->ctl[1].ns);
}

void whatif_add_json(json_t *doc, const struct report *r, const struct calib *c)
{
	json_t *threads = json_object_get(doc, "threads"), *th;
	struct wi_out out[WI_N];
	struct wi_in in;
	size_t i;

	if (!c) {
		json_object_set_new(doc, "what_if", json_pack("{s:s}", "skipped",
			"no calibration of this machine (epbatch-trace calibrate could not measure it)"));
		return;
	}
	json_object_set_new(doc, "calibration", calib_ref(c));
	total_out(r, c, out);
	json_object_set_new(doc, "what_if", whatif_json(out));
	batched_json(json_object_get(doc, "what_if"), c, r, &r->totals);
	json_array_foreach(threads, i, th) {
		json_int_t tid = json_integer_value(json_object_get(th, "tid"));
		json_int_t tgid = json_integer_value(json_object_get(th, "tgid"));

		for (uint32_t j = 0; j < r->nr_rows; j++) {
			if (r->rows[j].tid != tid || r->rows[j].tgid != tgid)
				continue;
			wi_in_from_stats(&r->rows[j], r->seconds, r->method, &in);
			whatif_compute(c, &in, out);
			json_object_set_new(th, "what_if", whatif_json(out));
			batched_json(json_object_get(th, "what_if"), c, r, &r->rows[j]);
			break;
		}
	}
}

static void per_req(json_t *w, double secs, double requests)
{
	const char *k;
	json_t *x;

	json_object_foreach(w, k, x) {
		json_t *v = json_object_get(x, "cpu_ns_saved_per_s");

		if (json_is_number(v))
			json_object_set_new(x, "cpu_ns_saved_per_req",
					    json_real(round(json_number_value(v) * secs / requests * 10) / 10));
	}
}

void whatif_json_requests(json_t *doc, double requests)
{
	double secs = jnum(doc, "duration_s");
	json_t *threads = json_object_get(doc, "threads"), *th, *w = json_object_get(doc, "what_if");
	size_t i;

	if (requests <= 0 || secs <= 0)
		return;
	if (json_is_object(w))
		per_req(w, secs, requests);
	json_array_foreach(threads, i, th)
		if (json_is_object(json_object_get(th, "what_if")))
			per_req(json_object_get(th, "what_if"), secs, requests);
}

static void cellv(char *buf, size_t len, const struct wi_out *o)
{
	if (!o->known)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%+.3f%s", o->saved_per_s / 1e6, o->estimated ? "*" : "");
}

/* BATCHED: the share of the calls the shim would send in batches -- in the
 * blocks of waits it would batch, the iterations that reach its batch size
 * (shown: the row has waits) */
static void cell_share(char *buf, size_t len, const struct wi_out *o, bool shown)
{
	if (!o->known || !shown)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f%%", 100 * o->fused_share);
}

/* A shim that already batches: how much of the traced ops it took off the
 * syscall path and what that saves by the model, before the figures that
 * price only the direct calls left. */
static void batched_line(FILE *f, const struct report *r, const struct calib *c)
{
	const struct thread_stats *t = &r->totals;
	uint64_t b = stats_ctl_batched(t), d = stats_ctl_total(t), it = stats_loop_iterations(t);
	double ns;

	if (!b)
		return;
	fprintf(f, "\nalready batched: %llu of %llu epoll_ctl ops (%.1f%%) reached the kernel in batches "
		"(io_uring requests %llu, module ops %llu), %.2f per loop iteration",
		(unsigned long long)b, (unsigned long long)(b + d), 100.0 * (double)b / (double)(b + d),
		(unsigned long long)t->uring_ctl, (unsigned long long)t->kmod_ops,
		it ? (double)b / (double)it : 0.0);
	if (c && r->seconds > 0 && batched_saving(c, r, &ns))
		fprintf(f, "; by the model they save %.3f ms of CPU per second (%.0f ns per batched op) "
			"against the same calls made direct without a shim", ns / r->seconds / 1e6,
			ns / (double)b);
	fprintf(f, "; what follows prices the %llu direct calls left\n", (unsigned long long)d);
}

void whatif_table(FILE *f, const struct report *r, const struct calib *c, const struct trace_opts *o)
{
	const struct thread_stats **rows;
	struct wi_out out[WI_N];
	struct wi_in in;
	char b[WI_N][32], line[900], share[16];
	size_t n;

	batched_line(f, r, c);
	if (!c) {
		fprintf(f, "what if: no calibration of this machine (run " PROG " calibrate)\n");
		return;
	}
	rows = malloc((r->nr_rows ? r->nr_rows : 1) * sizeof(*rows));
	if (!rows)
		return;
	n = report_rank(r, o->sort, rows);
	if (o->top && n > (size_t)o->top)
		n = (size_t)o->top;
	fprintf(f, "\nwhat if (CPU ms saved per second; negative = it would cost; calibration %s %s):\n",
		c->cached ? "cached" : "measured", c->measured_at);
	/* BATCHED: the share of the thread's calls the shim would send in
	 * batches with io_uring (docs/cost-model.md) */
	fprintf(f, "%8s %-15s %8s %8s %12s %12s %12s\n", "TID", "COMM", "CTL/WAIT", "BATCHED", "batch:uring",
		"batch:kmod", "unshare<=");
	for (size_t i = 0; i < n; i++) {
		if (!rows[i]->tid)
			continue;
		wi_in_from_stats(rows[i], r->seconds, r->method, &in);
		whatif_compute(c, &in, out);
		for (int k = 0; k < WI_N; k++)
			cellv(b[k], sizeof(b[k]), &out[k]);
		snprintf(line, sizeof(line), "%.2f", out[WI_URING].ops_per_wait);
		cell_share(share, sizeof(share), &out[WI_URING], rows[i]->wait);
		fprintf(f, "%8u %-15.15s %8s %8s %12s %12s %12s\n", rows[i]->tid, rows[i]->comm,
			rows[i]->wait ? line : "-", share, b[0], b[1], b[2]);
	}
	total_out(r, c, out);
	for (int k = 0; k < WI_N; k++)
		cellv(b[k], sizeof(b[k]), &out[k]);
	cell_share(share, sizeof(share), &out[WI_URING], true);
	fprintf(f, "%8s %-15s %8s %8s %12s %12s %12s\n", "TOTAL", "", "", share, b[0], b[1], b[2]);
	for (int k = 0; k < WI_N; k++) {
		whatif_sentence(line, sizeof(line), (enum wi_kind)k, &out[k]);
		fprintf(f, "  %s\n", line);
	}
	if (out[WI_KMOD].estimated)
		fprintf(f, "  * estimated: no /dev/epoll_batch here (docs/cost-model.md)\n");
	free(rows);
}
