// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `epbatch-trace gate`: a CI performance-regression gate over two
 * epbatch-summary/1 files (see docs/ci.md).
 *
 * A metric regresses only when BOTH hold:
 *   - its median moved in the bad direction by more than the metric's
 *     threshold (percent of the baseline median, and more than the metric's
 *     absolute floor, so that 3 ns -> 6 ns of spin time is not "+100%"), and
 *   - the repeats differ significantly (two-sided Mann-Whitney U, alpha).
 * The threshold keeps statistically real but practically irrelevant changes
 * from failing builds (with 40 repeats, 0.5% is "significant"); the test
 * keeps one unlucky repeat on a noisy machine from failing them.  When the
 * repeats are too few for the test ever to reach alpha (3 vs 3: p >= 0.1),
 * the gate says so and decides on the threshold alone.
 *
 * Exit status: 0 nothing regressed, 1 something regressed, 2 bad input or an
 * output that could not be written.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "compare.h"
#include "gate.h"
#include "base/stats.h"
#include "base/base.h"

/*
 * Default thresholds.  Count metrics (syscalls per request and per loop
 * iteration, batch size)
 * depend on the code, not on the machine's mood: gated tightly.  Wall-clock
 * metrics on a shared 2-vCPU machine move by tens of percent between
 * identical runs (docs/ci.md has the measurements): gated loosely.  The
 * floors are the smallest absolute change worth a verdict.
 */
const struct gate_metric gate_metrics[SM_COUNT] = {
	[SM_EPOLL_PER_REQ] = { 5, 0.005, true },
	[SM_EPOLL_PER_ITER] = { 5, 0.005, true },
	[SM_BATCH_SIZE] = { 5, 0.05, true },
	[SM_SPIN_NS_PER_REQ] = { 50, 100, false },
	[SM_CPU_US_PER_REQ] = { 15, 0.5, false },
	[SM_RPS] = { 5, 0, false },
	[SM_P99_MS] = { 25, 0.05, false },
};

static const char *verdict_names[] = {
	[GATE_OK] = "ok", [GATE_BETTER] = "better", [GATE_NOISE] = "not significant",
	[GATE_REGRESSED] = "REGRESSED", [GATE_NODATA] = "no data", [GATE_MISSING] = "MISSING",
};

const char *gate_verdict_name(enum gate_verdict v)
{
	return verdict_names[v];
}

/* Signed percent change of the median; +-inf from a zero baseline. */
static double pct_change(double base, double cand)
{
	if (base == cand)
		return 0;
	if (base == 0)
		return cand > 0 ? INFINITY : -INFINITY;
	return (cand - base) / fabs(base) * 100;
}

void gate_compare_metric(const struct summary_series *b, const struct summary_series *c,
			 int metric, const struct gate_config *cfg, struct gate_result *r)
{
	const struct gate_metric *m = &gate_metrics[metric];
	const char *key = summary_metrics[metric].key;
	double worse, abs_change;
	bool beyond, significant;
	struct cmp_metric cm;

	memset(r, 0, sizeof(*r));
	r->metric = metric;
	r->threshold = cfg->threshold[metric];
	r->nb = b->n;
	r->nc = c->n;
	r->p = NAN;
	r->base = b->n ? b->median : NAN;
	r->cand = c->n ? c->median : NAN;
	if (!b->n || !c->n || isnan(b->median) || isnan(c->median)) {
		bool in_b = b->n && !isnan(b->median), in_c = c->n && !isnan(c->median);

		r->verdict = GATE_NODATA;
		/*
		 * absent on both sides is normal (no batches without the shim);
		 * a metric the candidate lost fails unless --allow-missing: a
		 * candidate must not pass by no longer measuring what regressed
		 */
		if (in_b && !in_c && !cfg->allow_missing)
			r->verdict = GATE_MISSING;
		if (in_b || in_c)
			snprintf(r->note, sizeof(r->note), "%s: not measured in the %s%s", key,
				 in_b ? "candidate" : "baseline",
				 r->verdict == GATE_MISSING ? " (--allow-missing accepts that)" : "");
		return;
	}
	r->change = pct_change(b->median, c->median);
	/* how much worse, in percent: positive is the bad direction */
	worse = summary_metrics[metric].higher_better ? -r->change : r->change;
	abs_change = fabs(c->median - b->median);
	beyond = worse > r->threshold && abs_change > m->floor;

	/* significance is the verdict engine's (compare's), at the gate's alpha */
	cmp_metric_alpha(b, c, metric, cfg->alpha, &cm);
	if (cm.verdict == CMP_TOO_FEW) {
		r->too_few = true;
		/* the same words for every metric, so that the note is shown once */
		snprintf(r->note, sizeof(r->note),
			 "%zu vs %zu repeats cannot reach alpha %g (smallest p %.3g): "
			 "medians compared against the thresholds only", b->n, c->n, cfg->alpha,
			 stats_mw_min_p(b->n, c->n));
	} else {
		r->tested = true;
		r->p = cm.p;
	}
	significant = r->too_few || cm.verdict == CMP_BETTER || cm.verdict == CMP_WORSE;

	/* the gate's own part: thresholds and floors on top of significance */
	if (beyond && significant)
		r->verdict = GATE_REGRESSED;
	else if (beyond)
		r->verdict = GATE_NOISE;
	else if (-worse > r->threshold && abs_change > m->floor && significant)
		r->verdict = GATE_BETTER;
	else
		r->verdict = GATE_OK;
}

/* ---- output ---------------------------------------------------------------- */

static void fmt_change(char *buf, size_t len, const struct gate_result *r)
{
	if (r->verdict == GATE_NODATA || r->verdict == GATE_MISSING)
		snprintf(buf, len, "-");
	else if (isinf(r->change))
		snprintf(buf, len, "%s", r->change > 0 ? "+inf" : "-inf");
	else
		snprintf(buf, len, "%+.1f%%", r->change);
}

static void fmt_p(char *buf, size_t len, const struct gate_result *r)
{
	if (r->tested)
		snprintf(buf, len, "%.3g", r->p);
	else if (r->too_few)
		snprintf(buf, len, "n/a (n=%zu/%zu)", r->nb, r->nc);
	else
		snprintf(buf, len, "-");
}

/* One row of output: a variant pair and metric, formatted once for every output. */
struct row {
	const struct gate_result *r;
	const char *metric;
	char pair[160], base[32], cand[32], change[32], thr[32], p[48];
	char msg[512];		/* the whole row as one sentence (JUnit messages) */
};

static void for_each_row(const struct gate_report *rep, void (*fn)(FILE *, const struct row *),
			 FILE *f)
{
	struct row w;

	for (size_t i = 0; i < rep->npairs; i++) {
		const struct gate_pair *pr = &rep->pairs[i];

		for (size_t k = 0; k < pr->nres; k++) {
			const struct gate_result *r = &pr->res[k];

			w.r = r;
			w.metric = summary_metrics[r->metric].key;
			if (!strcmp(pr->base_variant, pr->cand_variant))
				snprintf(w.pair, sizeof(w.pair), "%s", pr->base_variant);
			else
				snprintf(w.pair, sizeof(w.pair), "%s->%s", pr->base_variant,
					 pr->cand_variant);
			cmp_fmt(w.base, sizeof(w.base), r->metric, r->base);
			cmp_fmt(w.cand, sizeof(w.cand), r->metric, r->cand);
			fmt_change(w.change, sizeof(w.change), r);
			snprintf(w.thr, sizeof(w.thr), "%g%%", r->threshold);
			fmt_p(w.p, sizeof(w.p), r);
			snprintf(w.msg, sizeof(w.msg), "%s %s: %s -> %s (%s, threshold %s, p %s): %s",
				 w.pair, w.metric, w.base, w.cand, w.change, w.thr, w.p,
				 gate_verdict_name(r->verdict));
			fn(f, &w);
		}
	}
}

static size_t count_verdict(const struct gate_report *rep, enum gate_verdict v)
{
	size_t n = 0;

	for (size_t i = 0; i < rep->npairs; i++)
		for (size_t k = 0; k < rep->pairs[i].nres; k++)
			n += rep->pairs[i].res[k].verdict == v;
	return n;
}

static size_t count_rows(const struct gate_report *rep)
{
	size_t n = 0;

	for (size_t i = 0; i < rep->npairs; i++)
		n += rep->pairs[i].nres;
	return n;
}

/* Notes: the report's own, then the rows', each distinct one once. */
static void for_each_note(const struct gate_report *rep, void (*fn)(FILE *, const char *), FILE *f)
{
	const char *said[GATE_MAX_PAIRS * SM_COUNT];
	size_t nsaid = 0;

	for (size_t i = 0; i < rep->nnotes; i++)
		fn(f, rep->notes[i]);
	for (size_t i = 0; i < rep->npairs; i++)
		for (size_t k = 0; k < rep->pairs[i].nres; k++) {
			const char *note = rep->pairs[i].res[k].note;
			bool dup = false;

			for (size_t j = 0; j < nsaid && !dup; j++)
				dup = !strcmp(said[j], note);
			if (!note[0] || dup)
				continue;
			said[nsaid++] = note;
			fn(f, note);
		}
}

#define TABLE_FMT "%-18s %-24s %12s %12s %9s %9s %14s  %s\n"

static void row_plain(FILE *f, const struct row *w)
{
	fprintf(f, TABLE_FMT, w->pair, w->metric, w->base, w->cand, w->change, w->thr, w->p,
		gate_verdict_name(w->r->verdict));
}

static void note_plain(FILE *f, const char *note)
{
	fprintf(f, "note: %s\n", note);
}

static void print_table(FILE *f, const struct gate_report *rep)
{
	fprintf(f, TABLE_FMT, "variant", "metric", "baseline", "candidate", "change", "threshold",
		"p", "verdict");
	for_each_row(rep, row_plain, f);
	for_each_note(rep, note_plain, f);
	fprintf(f, "%s: %zu regression%s\n", rep->regressions ? "FAIL" : "PASS", rep->regressions,
		rep->regressions == 1 ? "" : "s");
}

static void row_md(FILE *f, const struct row *w)
{
	const char *em = w->r->verdict == GATE_REGRESSED ? "**" : "";

	fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s%s%s |\n", w->pair, w->metric, w->base,
		w->cand, w->change, w->thr, w->p, em, gate_verdict_name(w->r->verdict), em);
}

static void note_md(FILE *f, const char *note)
{
	fprintf(f, "- %s\n", note);
}

static void print_markdown(FILE *f, const struct gate_report *rep)
{
	fprintf(f, "### epbatch gate: %s\n\n", rep->regressions ? "**FAIL**" : "PASS");
	fprintf(f, "Baseline `%s`, candidate `%s`, alpha %g. %zu regression%s.\n\n",
		rep->baseline, rep->candidate, rep->alpha, rep->regressions,
		rep->regressions == 1 ? "" : "s");
	fprintf(f, "| variant | metric | baseline | candidate | change | threshold | p | verdict |\n");
	fprintf(f, "|---|---|---:|---:|---:|---:|---:|---|\n");
	for_each_row(rep, row_md, f);
	fputc('\n', f);
	for_each_note(rep, note_md, f);
}

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* XML 1.0 forbids most control characters, even escaped */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

static void row_junit(FILE *f, const struct row *w)
{
	fprintf(f, "    <testcase classname=\"epbatch-gate.");
	xml_escape(f, w->pair);
	fprintf(f, "\" name=\"%s\" time=\"0\">\n", w->metric);
	if (w->r->verdict == GATE_REGRESSED || w->r->verdict == GATE_MISSING) {
		fprintf(f, "      <failure type=\"%s\" message=\"",
			w->r->verdict == GATE_MISSING ? "missing" : "regression");
		xml_escape(f, w->msg);
		fprintf(f, "\">");
		xml_escape(f, w->r->note[0] ? w->r->note : w->msg);
		fprintf(f, "</failure>\n");
	} else if (w->r->verdict == GATE_NODATA) {
		fprintf(f, "      <skipped message=\"");
		xml_escape(f, w->r->note);
		fprintf(f, "\"/>\n");
	}
	fprintf(f, "      <system-out>");
	xml_escape(f, w->msg);
	fprintf(f, "</system-out>\n    </testcase>\n");
}

static void note_xml(FILE *f, const char *note)
{
	xml_escape(f, note);
	fputc('\n', f);
}

/*
 * JUnit XML as Jenkins, GitLab and the GitHub test reporters read it: a
 * testcase per variant and metric, and a failed one per vanished variant so
 * that the report is red whenever the exit status is.
 */
static void print_junit(FILE *f, const struct gate_report *rep)
{
	size_t tests = count_rows(rep) + rep->missing;
	size_t failures = count_verdict(rep, GATE_REGRESSED) + count_verdict(rep, GATE_MISSING) +
			  rep->missing;
	size_t skipped = count_verdict(rep, GATE_NODATA);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"epbatch-gate\" tests=\"%zu\" failures=\"%zu\">\n", tests,
		failures);
	fprintf(f, "  <testsuite name=\"epbatch-gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"%zu\">\n", tests, failures, skipped);
	for_each_row(rep, row_junit, f);
	for (size_t i = 0; i < rep->missing; i++) {
		fprintf(f, "    <testcase classname=\"epbatch-gate.");
		xml_escape(f, rep->missing_names[i]);
		fprintf(f, "\" name=\"variant present\" time=\"0\">\n"
			"      <failure type=\"missing\" message=\"variant ");
		xml_escape(f, rep->missing_names[i]);
		fprintf(f, " is in the baseline but not in the candidate\"/>\n    </testcase>\n");
	}
	fprintf(f, "    <system-out>");
	for_each_note(rep, note_xml, f);
	fprintf(f, "</system-out>\n  </testsuite>\n</testsuites>\n");
}

/* A text output: "-" is stdout, a path is written through a temporary name and renamed. */
static int write_output(const char *path, void (*fn)(FILE *, const struct gate_report *),
			const struct gate_report *rep)
{
	char *tmp;
	FILE *f;

	if (!strcmp(path, "-")) {
		fn(stdout, rep);
		return fflush(stdout) ? -1 : 0;
	}
	f = atomic_open(path, &tmp);
	if (!f)
		return -1;
	fn(f, rep);
	return atomic_close(f, tmp, path);
}

/* ---- pairing and the command ------------------------------------------------ */

static void __attribute__((format(printf, 2, 3)))
add_note(struct gate_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->nnotes >= GATE_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(rep->notes[rep->nnotes++], sizeof(rep->notes[0]), fmt, ap);
	va_end(ap);
}

/*
 * Runs of the candidate that failed (summary.json "failures"): said, not
 * gated.  The variant's metrics come from the runs that worked; a variant
 * whose every run failed is missing, and that does fail the gate.
 */
static void note_failed_runs(struct gate_report *rep, const struct summary *s, const char *name)
{
	json_t *failures = json_object_get(s->doc, "failures"), *f;
	const char *first = NULL;
	size_t i, n = 0;

	json_array_foreach(failures, i, f) {
		json_t *v = json_object_get(f, "variant"), *why = json_object_get(f, "reason");

		if (!json_is_string(v) || strcmp(json_string_value(v), name))
			continue;
		if (!n++ && json_is_string(why))
			first = json_string_value(why);
	}
	if (n)
		add_note(rep, "%zu run%s of %s failed in the candidate (first: %s)", n,
			 n == 1 ? "" : "s", name, first ? first : "no reason given");
}

static int add_pair(struct gate_report *rep, const struct summary *cand,
		    const struct summary_variant *b, const struct summary_variant *c,
		    const struct gate_config *cfg)
{
	struct gate_pair *pr;

	if (rep->npairs >= GATE_MAX_PAIRS) {
		fprintf(stderr, PROG " gate: more than %d variants\n", GATE_MAX_PAIRS);
		return -1;
	}
	pr = &rep->pairs[rep->npairs++];
	pr->base_variant = b->name;
	pr->cand_variant = c->name;
	note_failed_runs(rep, cand, c->name);
	for (int m = 0; m < SM_COUNT; m++) {
		struct gate_result *r;

		if (!(cfg->metric_mask & (1u << m)))
			continue;
		r = &pr->res[pr->nres++];
		gate_compare_metric(&b->m[m], &c->m[m], m, cfg, r);
		rep->regressions += r->verdict == GATE_REGRESSED || r->verdict == GATE_MISSING;
		/* the run's own reason, when it gave one */
		if (r->note[0] && (summary_missing_reason(c, m) || summary_missing_reason(b, m))) {
			size_t l = strlen(r->note);

			snprintf(r->note + l, sizeof(r->note) - l, ": %s",
				 summary_missing_reason(c, m) ? summary_missing_reason(c, m)
							      : summary_missing_reason(b, m));
		}
	}
	return 0;
}

int gate_pair_up(const struct summary *b, bool b_one, const struct summary *c, bool c_one,
		 const struct gate_config *cfg, struct gate_report *rep)
{
	const struct summary_variant *bv, *cv;

	if (b_one && c_one)	/* FILE:VARIANT on both sides: any two variants */
		return add_pair(rep, c, &b->v[0], &c->v[0], cfg);
	if (b_one || c_one) {	/* one variant against its namesake */
		const struct summary *many = b_one ? c : b;
		const char *name = (b_one ? b : c)->v[0].name;
		const char *why = summary_skip_reason(many, name);

		bv = b_one ? &b->v[0] : summary_find(b, name);
		cv = c_one ? &c->v[0] : summary_find(c, name);
		if (!bv || !cv) {
			fprintf(stderr, PROG " gate: %s: no variant '%s'%s%s\n", many->path, name,
				why ? ", skipped: " : "", why ? why : "");
			return -1;
		}
		return add_pair(rep, c, bv, cv, cfg);
	}
	for (size_t i = 0; i < b->nv; i++) {
		const char *why;

		bv = &b->v[i];
		cv = summary_find(c, bv->name);
		if (cv) {
			if (add_pair(rep, c, bv, cv, cfg))
				return -1;
			continue;
		}
		/*
		 * A variant the baseline has and the candidate lacks fails the
		 * gate, whatever the reason: `run` lists a variant whose every
		 * run failed (the shim broke the server?) as skipped too, and a
		 * baseline made on the same machine type only holds variants
		 * that machine can run.
		 */
		why = summary_skip_reason(c, bv->name);
		add_note(rep, "variant %s is in the baseline but not in the candidate (%s): "
			 "counted as a regression", bv->name, why ? why : "not run");
		rep->regressions++;
		if (rep->missing < GATE_MAX_PAIRS)
			rep->missing_names[rep->missing++] = bv->name;
	}
	if (!rep->npairs) {
		fprintf(stderr, PROG " gate: %s and %s have no variant in common\n", b->path, c->path);
		return -1;
	}
	return 0;
}

static void gate_usage(FILE *f)
{
	fprintf(f,
"Usage: epbatch-trace gate --baseline FILE[:VARIANT] --candidate FILE[:VARIANT]\n"
"           [--max-regress PCT] [--max-regress-METRIC PCT] [--threshold METRIC=PCT]\n"
"           [--metrics LIST] [--alpha A] [--junit FILE] [--markdown FILE]\n"
"           [--save-baseline FILE]\n"
"       epbatch-trace gate --candidate FILE[:VARIANT] --save-baseline FILE\n"
"\n"
"Fails (exit 1) when a metric of the candidate summary.json is worse than the\n"
"baseline's by more than its threshold AND the difference is significant\n"
"(two-sided Mann-Whitney U over the repeats). Exit 0: nothing regressed;\n"
"2: bad input. With plain files the variants present in both are compared.\n"
"  --max-regress PCT       one threshold for every metric (percent)\n"
"  --max-regress-METRIC PCT, --threshold METRIC=PCT   one metric's threshold\n"
"  --metrics LIST          gate only these metrics (comma-separated)\n"
"  --alpha A               significance level (default 0.05)\n"
"  --junit FILE            JUnit XML, one testcase per variant and metric\n"
"  --markdown FILE         Markdown table (for a CI job summary)\n"
"  --allow-missing         a metric the baseline has and the candidate lacks\n"
"                          is reported, not a failure\n"
"  --allow-different-workload  gate summaries of different workloads\n"
"                          (refused by default: server, mode, threads, load)\n"
"  --version               print the version\n"
"  --save-baseline FILE    write the candidate as a baseline file (with\n"
"                          --baseline: only when nothing regressed)\n"
"Metrics (default threshold):\n");
	for (int i = 0; i < SM_COUNT; i++)
		fprintf(f, "  %-24s %-10s %s is better, %g%% (changes up to %g %s ignored)\n",
			summary_metrics[i].key, gate_metrics[i].count ? "count" : "wall clock",
			summary_metrics[i].higher_better ? "higher" : "lower",
			gate_metrics[i].default_pct, gate_metrics[i].floor, summary_metrics[i].unit);
}

void gate_config_defaults(struct gate_config *cfg)
{
	cfg->alpha = 0.05;
	cfg->allow_missing = false;
	cfg->metric_mask = (1u << SM_COUNT) - 1;
	for (int i = 0; i < SM_COUNT; i++)
		cfg->threshold[i] = gate_metrics[i].default_pct;
}

/* A percentage, "5" or "5%". */
static int parse_pct(const char *opt, const char *s, double *out)
{
	size_t n = strlen(s);
	char buf[64];

	if (n && n < sizeof(buf) && s[n - 1] == '%') {
		memcpy(buf, s, n - 1);
		buf[n - 1] = 0;
		s = buf;
	}
	return parse_number(opt, s, 0, 10000, out);
}

/* SM_* of the metric key in s[0..len), or -1. */
static int metric_index(const char *s, size_t len)
{
	char key[64];

	if (len >= sizeof(key))
		return -1;
	memcpy(key, s, len);
	key[len] = 0;
	return summary_metric_index(key);
}

/* METRIC=PCT into thr[METRIC]; returns the metric's index or -1. */
static int parse_threshold(const char *arg, double *thr)
{
	const char *eq = strchr(arg, '=');
	int m = eq ? metric_index(arg, (size_t)(eq - arg)) : -1;

	if (!eq) {
		fprintf(stderr, PROG " gate: --threshold wants METRIC=PCT, got '%s'\n", arg);
		return -1;
	}
	if (m < 0) {
		fprintf(stderr, PROG " gate: unknown metric '%.*s' in --threshold\n", (int)(eq - arg), arg);
		return -1;
	}
	return parse_pct("--threshold", eq + 1, &thr[m]) ? -1 : m;
}

static int parse_metrics(const char *list, unsigned *mask)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int m = metric_index(p, len);

		if (m < 0) {
			fprintf(stderr, PROG " gate: unknown metric '%.*s' in --metrics\n", (int)len, p);
			return -1;
		}
		*mask |= 1u << m;
		p += len;
		if (*p)
			p++;
	}
	if (!*mask) {
		fprintf(stderr, PROG " gate: --metrics names no metric\n");
		return -1;
	}
	return 0;
}

/*
 * The candidate summary as a baseline: the same epbatch-summary/1 document
 * (so `compare` reads it too), limited to the variants loaded (one, for
 * FILE:VARIANT), with a note of where and when it was made.
 */
static int save_baseline(const struct summary *c, const char *out)
{
	json_t *doc = json_deep_copy(c->doc), *variants, *keep, *meta;
	char when[32];
	time_t now = time(NULL);
	int ret = -1;

	keep = json_object();
	if (!doc || !keep)
		goto out;
	variants = json_object_get(doc, "variants");
	for (size_t i = 0; i < c->nv; i++)
		json_object_set(keep, c->v[i].name, json_object_get(variants, c->v[i].name));
	json_object_set(doc, "variants", keep);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	meta = json_pack("{s:s, s:s, s:s}", "from", c->path, "saved_at", when, "version",
			 EPBATCH_VERSION);
	if (meta)
		json_object_set_new(doc, "baseline", meta);
	ret = json_write_file(doc, out);
	if (!ret)
		fprintf(stderr, PROG " gate: baseline written to %s\n", out);
out:
	json_decref(keep);
	json_decref(doc);
	return ret;
}

/* One summary; on failure the one-line reason is printed. */
static int load(const char *spec, struct summary *s)
{
	char err[512];

	if (!summary_load(spec, s, err, sizeof(err)))
		return 0;
	fprintf(stderr, PROG " gate: %s\n", err);
	return -1;
}

enum { OPT_BASELINE = 256, OPT_CANDIDATE, OPT_MAX, OPT_THRESHOLD, OPT_METRICS, OPT_ALPHA,
       OPT_JUNIT, OPT_MARKDOWN, OPT_SAVE, OPT_HELP, OPT_ALLOW_MISSING, OPT_ALLOW_WORKLOAD,
       OPT_VERSION, OPT_PER_METRIC };

int gate_main(int argc, char **argv)
{
	struct option opts[16 + SM_COUNT] = {
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "candidate", required_argument, NULL, OPT_CANDIDATE },
		{ "max-regress", required_argument, NULL, OPT_MAX },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "alpha", required_argument, NULL, OPT_ALPHA },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "markdown", required_argument, NULL, OPT_MARKDOWN },
		{ "save-baseline", required_argument, NULL, OPT_SAVE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "allow-missing", no_argument, NULL, OPT_ALLOW_MISSING },
		{ "allow-different-workload", no_argument, NULL, OPT_ALLOW_WORKLOAD },
		{ "version", no_argument, NULL, OPT_VERSION },
	};
	char per_metric_names[SM_COUNT][64];
	const char *base_spec = NULL, *cand_spec = NULL, *junit = NULL, *md = NULL, *save = NULL;
	double per_metric[SM_COUNT], global = NAN;
	bool per_metric_set[SM_COUNT] = { false };
	struct summary b = { 0 }, c = { 0 };
	struct gate_report *rep = NULL;
	struct gate_config cfg;
	int nopt = 13, ch, ret = 2;
	bool allow_workload = false;
	char why[512];

	/* --max-regress-METRIC for every metric, from the table */
	for (int i = 0; i < SM_COUNT; i++) {
		snprintf(per_metric_names[i], sizeof(per_metric_names[i]), "max-regress-%s",
			 summary_metrics[i].key);
		opts[nopt++] = (struct option){ per_metric_names[i], required_argument, NULL,
						OPT_PER_METRIC + i };
	}
	opts[nopt] = (struct option){ 0 };

	gate_config_defaults(&cfg);
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_BASELINE: base_spec = optarg; break;
		case OPT_CANDIDATE: cand_spec = optarg; break;
		case OPT_JUNIT: junit = optarg; break;
		case OPT_MARKDOWN: md = optarg; break;
		case OPT_SAVE: save = optarg; break;
		case OPT_MAX:
			if (parse_pct("--max-regress", optarg, &global))
				goto out;
			break;
		case OPT_THRESHOLD: {
			int m = parse_threshold(optarg, per_metric);

			if (m < 0)
				goto out;
			per_metric_set[m] = true;
			break;
		}
		case OPT_METRICS:
			if (parse_metrics(optarg, &cfg.metric_mask))
				goto out;
			break;
		case OPT_ALPHA:
			/* a level strictly between 0 and 1 */
			if (parse_number("--alpha", optarg, 1e-9, 1 - 1e-9, &cfg.alpha))
				goto out;
			break;
		case OPT_ALLOW_MISSING: cfg.allow_missing = true; break;
		case OPT_ALLOW_WORKLOAD: allow_workload = true; break;
		case OPT_VERSION:
			printf(PROG " %s\n", EPBATCH_VERSION);
			ret = 0;
			goto out;
		case 'h':
		case OPT_HELP:
			gate_usage(stdout);
			ret = 0;
			goto out;
		case ':':
		case '?':
			cli_bad_option("gate", ch, argv, optind, optopt);
			goto out;
		default:
			if (ch >= OPT_PER_METRIC && ch < OPT_PER_METRIC + SM_COUNT) {
				int m = ch - OPT_PER_METRIC;

				if (parse_pct(per_metric_names[m], optarg, &per_metric[m]))
					goto out;
				per_metric_set[m] = true;
			}
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " gate: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	/* a per-metric threshold beats --max-regress, which beats the defaults */
	for (int i = 0; i < SM_COUNT; i++)
		cfg.threshold[i] = per_metric_set[i] ? per_metric[i] : !isnan(global) ? global :
				   cfg.threshold[i];
	if (!cand_spec || (!base_spec && !save)) {
		fprintf(stderr, PROG " gate: --baseline and --candidate are required "
			"(or --candidate with --save-baseline)\n");
		goto out;
	}
	/* fail before any work (and any output) if a result cannot be written */
	if ((junit && check_writable(junit)) || (md && check_writable(md)) ||
	    (save && check_writable(save)))
		goto out;
	if (load(cand_spec, &c))
		goto out;
	if (!base_spec) {
		ret = save_baseline(&c, save) ? 2 : 0;
		goto out;
	}
	if (load(base_spec, &b))
		goto out;
	if (summary_workload_differs(&b, &c, why, sizeof(why))) {
		if (!allow_workload) {
			fprintf(stderr, PROG " gate: %s (--allow-different-workload to gate them anyway)\n",
				why);
			goto out;
		}
		fprintf(stderr, PROG " gate: warning: %s\n", why);
	}

	rep = calloc(1, sizeof(*rep));
	if (!rep)
		goto out;
	rep->baseline = base_spec;
	rep->candidate = cand_spec;
	rep->alpha = cfg.alpha;
	if (allow_workload && summary_workload_differs(&b, &c, why, sizeof(why)))
		add_note(rep, "%s (allowed by --allow-different-workload)", why);
	/* summary_load() keeps only VARIANT of FILE:VARIANT, and its path is FILE */
	if (gate_pair_up(&b, strcmp(base_spec, b.path) != 0, &c, strcmp(cand_spec, c.path) != 0,
			 &cfg, rep))
		goto out;

	print_table(stdout, rep);
	fflush(stdout);
	if ((md && write_output(md, print_markdown, rep)) ||
	    (junit && write_output(junit, print_junit, rep)))
		goto out;
	if (save && rep->regressions)
		fprintf(stderr, PROG " gate: regressed: %s not updated\n", save);
	else if (save && save_baseline(&c, save))
		goto out;
	ret = rep->regressions ? 1 : 0;
out:
	summary_free(&b);
	summary_free(&c);
	free(rep);
	return ret;
}
