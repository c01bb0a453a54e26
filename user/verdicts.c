// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The words at the top of every report (report.md, report.html, run's
 * terminal output): a verdict per variant in plain language, how spin time
 * was measured, and the machine and workload as readable lines.  The
 * verdicts are cmp_metric()'s, the one engine every output uses.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"
#include "base/stats.h"

/* Coefficient of variation of a series (NAN with fewer than 2 samples). */
static double cv(const struct summary_series *s)
{
	double m, ss = 0;

	if (s->n < 2)
		return NAN;
	m = stats_mean(s->samples, s->n);
	for (size_t i = 0; i < s->n; i++)
		ss += (s->samples[i] - m) * (s->samples[i] - m);
	return m != 0 ? sqrt(ss / (double)(s->n - 1)) / fabs(m) : NAN;
}

/*
 * Repeats per variant that would detect a 10% change at alpha 0.05 with 80%
 * power, from the spread seen: the normal approximation 2 (1.96 + 0.84)^2
 * (cv / 0.10)^2, times 1.05 for Mann-Whitney's efficiency, and never fewer
 * than the 4 that the test needs to reach alpha at all.
 */
int cmp_repeats_for(const struct summary_series *a, const struct summary_series *b, double effect)
{
	double c = fmax(isnan(cv(a)) ? 0 : cv(a), isnan(cv(b)) ? 0 : cv(b));
	double n = 2 * 2.8 * 2.8 * (c / effect) * (c / effect) * 1.05;
	size_t k = 4;

	while (stats_mw_too_few(k, k, CMP_ALPHA))
		k++;
	return n > (double)k ? (int)ceil(n) : (int)k;
}

void cmp_verdict_line(const struct cmp_view *v, const struct cmp_pair *p, char *buf, size_t len)
{
	const struct cmp_item *ref = &v->items[p->ref], *cand = &v->items[p->cand];
	size_t o = 0;
	bool any = false;

#define ADD(...) do { int n_ = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__); \
		      if (n_ > 0) o += (size_t)n_; } while (0)
	ADD("%s vs %s: ", cand->label, ref->label);
	for (int m = 0; m < SM_COUNT; m++) {
		const struct cmp_metric *c = &p->m[m];

		if (c->verdict == CMP_BETTER || c->verdict == CMP_WORSE)
			ADD("%s%s %+.0f%% (significant, %s)", any ? "; " : "", summary_metrics[m].label,
			    isnan(c->ratio) ? 0 : 100 * (c->ratio - 1), cmp_verdict_text(c->verdict));
		else if (c->verdict == CMP_TOO_FEW && m != SM_RPS && !isnan(c->ratio) &&
			 fabs(c->ratio - 1) >= 0.05)
			ADD("%s%s %+.0f%% (not testable with %zu vs %zu repeats)", any ? "; " : "",
			    summary_metrics[m].label, 100 * (c->ratio - 1), ref->v->m[m].n,
			    cand->v->m[m].n);
		else
			continue;
		any = true;
	}
	if (!any)
		ADD("no significant change in any metric");
	/* a metric the reference has and the candidate lost is worth a word */
	for (int m = 0; m < SM_COUNT; m++)
		if (p->m[m].verdict == CMP_NODATA && ref->v->m[m].n && !cand->v->m[m].n)
			ADD("; %s not measured in %s", summary_metrics[m].label, cand->label);
	/* throughput is what people ask about first: say what it would take */
	const struct cmp_metric *r = &p->m[SM_RPS];

	if (r->verdict == CMP_SAME || r->verdict == CMP_TOO_FEW) {
		size_t n = ref->v->m[SM_RPS].n < cand->v->m[SM_RPS].n ? ref->v->m[SM_RPS].n
									 : cand->v->m[SM_RPS].n;

		ADD("; throughput change %s with %zu repeats: use --repeat %d for a 10%% effect",
		    r->verdict == CMP_TOO_FEW ? "cannot be significant" : "not significant", n,
		    cmp_repeats_for(&ref->v->m[SM_RPS], &cand->v->m[SM_RPS], 0.10));
	}
#undef ADD
}

int cmp_pred_line(const struct cmp_view *v, const struct cmp_pair *p, char *buf, size_t len)
{
	size_t o = 0;
	int said = 0;

#define ADD(...) do { int n_ = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__); \
		      if (n_ > 0) o += (size_t)n_; } while (0)
	/* what the summary predicted (cmp_pred.recorded); an older summary: no
	 * line rather than a wall of "not predicted" */
	for (int k = 0; k < CMP_NPRED; k++) {
		char t[512];

		if (!p->pred[k].recorded)
			continue;
		if (!said++)
			ADD("%s: cost model vs measured: ", v->items[p->cand].label);
		else
			ADD("; ");
		cmp_pred_text(&p->pred[k], cmp_pred_metrics[k], t, sizeof(t));
		ADD("%s %s", summary_metrics[cmp_pred_metrics[k]].label, t);
	}
	if (!said)
		return 0;
#undef ADD
	return 1;
}

void cmp_spin_line(const struct cmp_item *it, char *buf, size_t len)
{
	json_t *s = json_object_get(it->v->obj, "spin");
	const char *method = json_string_value(json_object_get(s, "method"));
	double hz = jnum(s, "sample_hz"), samples = jnum(s, "slowpath_samples");
	double entries = jnum(s, "count");

	if (!method || !strcmp(method, "none")) {
		snprintf(buf, len, "%s: spin time not measured%s%s", it->label,
			 summary_missing_reason(it->v, SM_SPIN_NS_PER_REQ) ? ": " : "",
			 summary_missing_reason(it->v, SM_SPIN_NS_PER_REQ) ?: "");
	} else if (!strcmp(method, "sample")) {
		snprintf(buf, len, "%s: spin time estimated by sampling at %.0f Hz per CPU: %.0f "
			 "slow-path sample%s over all runs, each standing for %.1f ms (an estimate, "
			 "not an exact figure%s)", it->label, hz, samples, samples == 1 ? "" : "s",
			 hz > 0 ? 1e3 / hz : NAN, samples < 10 ? "; too few samples to compare" : "");
	} else {
		snprintf(buf, len, "%s: spin time measured exactly (%s), %.0f slow-path entries over "
			 "all runs", it->label, method, entries);
	}
}

/* "2 CPUs, AMD EPYC, Linux 6.18 (x86_64)" */
void cmp_machine_line(const json_t *doc, char *buf, size_t len)
{
	json_t *m = json_object_get(doc, "machine");

	if (!json_is_object(m)) {
		snprintf(buf, len, "unknown");
		return;
	}
	snprintf(buf, len, "%.0f CPUs, %s, Linux %s (%s)", jnum(m, "cpus"),
		 json_string_value(json_object_get(m, "model")) ?: "?",
		 json_string_value(json_object_get(m, "kernel")) ?: "?",
		 json_string_value(json_object_get(m, "arch")) ?: "?");
}

/* "epbatch-bench-server, mode oneshot, 2 threads; load: epbatch-load, 32 connections ..." */
void cmp_workload_line(const json_t *doc, char *buf, size_t len)
{
	json_t *w = json_object_get(doc, "workload"), *l;
	size_t o = 0;

	if (!json_is_object(w)) {
		snprintf(buf, len, "unknown");
		return;
	}
	l = json_object_get(w, "load");
#define ADD(...) do { int n_ = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__); \
		      if (n_ > 0) o += (size_t)n_; } while (0)
	ADD("%s, mode %s", json_string_value(json_object_get(w, "server")) ?: "?",
	    json_string_value(json_object_get(w, "mode")) ?: "?");
	if (json_is_number(json_object_get(w, "server_threads")))
		ADD(", %.0f server threads", jnum(w, "server_threads"));
	if (json_is_true(json_object_get(w, "reuseport")))
		ADD(", a listener per thread (SO_REUSEPORT)");
	if (json_is_string(l))
		ADD("; load: %s", json_string_value(l));
	else if (json_is_object(l))
		ADD("; load: %s, %.0f connections, %.0f thread%s, %s",
		    json_string_value(json_object_get(l, "generator")) ?: "?", jnum(l, "connections"),
		    jnum(l, "threads"), jnum(l, "threads") == 1 ? "" : "s",
		    json_string_value(json_object_get(l, "mode")) ?: "?");
	ADD("; %.0f s per run, %.0f repeats, %s", jnum(w, "duration_s"), jnum(w, "repeat"),
	    json_string_value(json_object_get(w, "order")) ?: "");
#undef ADD
}

void cmp_print_summary(FILE *f, const struct cmp_view *v, bool markdown)
{
	char line[1024];

	if (v->nsums) {
		cmp_machine_line(v->sums[0].doc, line, sizeof(line));
		fprintf(f, markdown ? "- **machine**: %s\n" : "machine:  %s\n", line);
		cmp_workload_line(v->sums[0].doc, line, sizeof(line));
		fprintf(f, markdown ? "- **workload**: %s\n" : "workload: %s\n", line);
	}
	fputs(markdown ? "\n## Verdict\n\n" : "\nverdict:\n", f);
	for (size_t i = 0; i < v->npairs; i++) {
		cmp_verdict_line(v, &v->pairs[i], line, sizeof(line));
		fprintf(f, markdown ? "- %s\n" : "  %s\n", line);
	}
	for (size_t i = 0; i < v->npairs; i++)
		if (cmp_pred_line(v, &v->pairs[i], line, sizeof(line)))
			fprintf(f, markdown ? "- %s\n" : "  %s\n", line);
	if (!v->npairs)
		fputs(markdown ? "- one variant only: nothing to compare\n" : "  one variant only: nothing to compare\n", f);
	for (size_t i = 0; i < v->nitems; i++) {
		cmp_spin_line(&v->items[i], line, sizeof(line));
		fprintf(f, markdown ? "- %s\n" : "  %s\n", line);
	}
	fputc('\n', f);
}
