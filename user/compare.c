// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `epbatch-trace compare A.json B.json ... [--html FILE] [--markdown]`, and
 * the tables `run` prints: variants side by side, then each pair's change
 * per metric with its Mann-Whitney significance (see compare.h).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "compare.h"
#include "base/stats.h"
#include "base/base.h"

/* ---- one metric ---- */

const char *cmp_verdict_text(enum cmp_verdict v)
{
	switch (v) {
	case CMP_NODATA: return "not measured";
	case CMP_TOO_FEW: return "too few repeats";
	case CMP_SAME: return "no significant change";
	case CMP_BETTER: return "better";
	case CMP_WORSE: return "worse";
	}
	return "?";
}

void cmp_metric(const struct summary_series *ref, const struct summary_series *cand, int metric,
		struct cmp_metric *out)
{
	cmp_metric_alpha(ref, cand, metric, CMP_ALPHA, out);
}

void cmp_metric_alpha(const struct summary_series *ref, const struct summary_series *cand,
		      int metric, double alpha, struct cmp_metric *out)
{
	struct stats_mw mw;

	out->ref = ref->n ? ref->median : NAN;
	out->cand = cand->n ? cand->median : NAN;
	out->delta = out->cand - out->ref;
	out->ratio = out->ref != 0 ? out->cand / out->ref : NAN;
	out->p = NAN;
	if (!ref->n || !cand->n) {
		out->verdict = CMP_NODATA;
		return;
	}
	/* With 2 vs 2 repeats the smallest p Mann-Whitney can give is 0.33: no
	 * difference, however large, can be called significant; say so. */
	if (ref->n < 2 || cand->n < 2 || stats_mw_too_few(ref->n, cand->n, alpha) ||
	    stats_mann_whitney(cand->samples, cand->n, ref->samples, ref->n, &mw)) {
		out->verdict = CMP_TOO_FEW;
		return;
	}
	out->p = mw.p;
	if (mw.p > alpha || out->delta == 0)
		out->verdict = CMP_SAME;
	else
		out->verdict = (out->delta > 0) == summary_metrics[metric].higher_better ?
			       CMP_BETTER : CMP_WORSE;
}

/* ---- one metric against the cost model's prediction ---- */

const int cmp_pred_metrics[CMP_NPRED] = { SM_CPU_US_PER_REQ, SM_EPOLL_PER_REQ, SM_EPOLL_PER_ITER };

/* x in [lo, hi], whose ends are exact sample values or their differences:
 * allowing for printing's rounding. */
static enum cmp_pred_verdict pred_within(double x, double lo, double hi)
{
	double eps = 1e-9 * fmax(1, fmax(fabs(lo), fabs(hi)));

	return x >= lo - eps && x <= hi + eps ? PRED_AGREES : PRED_DISAGREES;
}

void cmp_predicted(const struct summary_variant *v, const struct summary_variant *base,
		   int metric, struct cmp_pred *out)
{
	const struct summary_series *b = base ? &base->m[metric] : NULL;
	double ci[2];
	json_t *pr = v->obj ? json_object_get(json_object_get(v->obj, "predicted"),
					      summary_metrics[metric].key) : NULL;
	json_t *ch = json_object_get(pr, "change"), *val = json_object_get(pr, "value");
	const struct summary_series *s = &v->m[metric];

	memset(out, 0, sizeof(*out));
	out->change = out->value = NAN;
	out->shift = out->slo = out->shi = NAN;
	out->measured = s->n ? s->median : NAN;
	out->lo = s->n ? s->ci[0] : NAN;
	out->hi = s->n ? s->ci[1] : NAN;
	out->verdict = PRED_NONE;
	snprintf(out->from, sizeof(out->from), "%s",
		 json_string_value(json_object_get(pr, "from")) ?: "");
	out->recorded = json_is_object(pr);
	if (!json_is_object(pr)) {
		snprintf(out->why, sizeof(out->why), "%s",
			 v->obj && json_object_get(v->obj, "predicted") ?
			 "the summary has no prediction for this metric" :
			 "the summary has no \"predicted\" (not written by run with the cost model)");
		return;
	}
	if (!json_is_number(ch) || !json_is_number(val)) {
		snprintf(out->why, sizeof(out->why), "%s",
			 json_string_value(json_object_get(pr, "why")) ?: "no predicted value recorded");
		return;
	}
	out->change = json_number_value(ch);
	out->value = json_number_value(val);
	if (!s->n) {
		snprintf(out->why, sizeof(out->why), "predicted, but %s was not measured",
			 summary_metrics[metric].label);
		return;
	}
	if (isnan(out->lo) || isnan(out->hi))
		out->lo = out->hi = out->measured;
	if (b && b->n && !stats_shift_ci(s->samples, s->n, b->samples, b->n, 0.95, ci)) {
		out->shift = s->median - b->median;
		out->slo = ci[0];
		out->shi = ci[1];
		out->verdict = pred_within(out->change, ci[0], ci[1]);
	} else {
		out->verdict = pred_within(out->value, out->lo, out->hi);
	}
}

void cmp_pred_text(const struct cmp_pred *p, int metric, char *buf, size_t len)
{
	char a[32], b[32], lo[32], hi[32];

	switch (p->verdict) {
	case PRED_AGREES:
		snprintf(buf, len, "agrees");
		return;
	case PRED_DISAGREES:
		if (!isnan(p->shift)) {
			int d = summary_metrics[metric].decimals;

			snprintf(buf, len, "disagrees (predicted change %+.*f, measured %+.*f [%+.*f, %+.*f])",
				 d, p->change, d, p->shift, d, p->slo, d, p->shi);
			return;
		}
		cmp_fmt(a, sizeof(a), metric, p->value);
		cmp_fmt(b, sizeof(b), metric, p->measured);
		cmp_fmt(lo, sizeof(lo), metric, p->lo);
		cmp_fmt(hi, sizeof(hi), metric, p->hi);
		snprintf(buf, len, "disagrees (predicted %s, measured %s [%s, %s])", a, b, lo, hi);
		return;
	case PRED_NONE:
		break;
	}
	snprintf(buf, len, "not predicted: %s", p->why[0] ? p->why : "no reason recorded");
}

void cmp_fmt(char *buf, size_t len, int metric, double x)
{
	if (isnan(x))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", summary_metrics[metric].decimals, x);
}

/* ---- the view ---- */

static int add_item(struct cmp_view *v, const struct summary *s, const struct summary_variant *var,
		    const char *prefix)
{
	struct cmp_item *it = &v->items[v->nitems];

	if (prefix) {
		if (asprintf(&it->label, "%s:%s", prefix, var->name) < 0)
			return -1;
	} else if (!(it->label = strdup(var->name)))
		return -1;
	it->src = s;
	it->v = var;
	v->nitems++;
	return 0;
}

static void add_pair(struct cmp_view *v, size_t ref, size_t cand)
{
	struct cmp_pair *p = &v->pairs[v->npairs++];

	p->ref = ref;
	p->cand = cand;
	for (int m = 0; m < SM_COUNT; m++)
		cmp_metric(&v->items[ref].v->m[m], &v->items[cand].v->m[m], m, &p->m[m]);
	/* a prediction is a change from its own summary's baseline */
	for (int k = 0; k < CMP_NPRED; k++)
		cmp_predicted(v->items[cand].v, summary_find(v->items[cand].src, "baseline"),
			      cmp_pred_metrics[k], &p->pred[k]);
}

int cmp_view_build(struct cmp_view *v, struct summary *sums, size_t n, const char *const *specs,
		   char *err, size_t errlen)
{
	size_t total = 0, first_n;

	memset(v, 0, sizeof(*v));
	v->sums = sums;
	v->nsums = n;
	for (size_t i = 0; i < n; i++)
		total += sums[i].nv;
	v->items = calloc(total + 1, sizeof(*v->items));
	v->pairs = calloc(total + 1, sizeof(*v->pairs));
	if (!v->items || !v->pairs)
		goto oom;
	/* Items from several files carry the file in their label. */
	for (size_t i = 0; i < n; i++) {
		const char *prefix = NULL;

		if (n > 1) {
			prefix = specs ? specs[i] : sums[i].path;
			/* FILE:VARIANT: the label is the spec itself */
			if (sums[i].nv == 1 && specs && strrchr(specs[i], ':') &&
			    access(specs[i], F_OK))
				prefix = sums[i].path;
		}
		for (size_t k = 0; k < sums[i].nv; k++)
			if (add_item(v, &sums[i], &sums[i].v[k], prefix))
				goto oom;
	}
	first_n = n ? sums[0].nv : 0;
	if (n == 1) {
		for (size_t k = 1; k < v->nitems; k++)
			add_pair(v, 0, k);
		return 0;
	}
	for (size_t k = first_n; k < v->nitems; k++) {
		size_t ref = 0;
		bool found = first_n == 1;

		for (size_t r = 0; r < first_n && !found; r++)
			if (!strcmp(v->items[r].v->name, v->items[k].v->name)) {
				ref = r;
				found = true;
			}
		/* a single variant named on its own is compared with the first */
		if (!found && v->items[k].src->nv == 1)
			found = true;
		if (found)
			add_pair(v, ref, k);
	}
	if (!v->npairs) {
		snprintf(err, errlen, "no variant in common between %s and the other files",
			 sums[0].path);
		cmp_view_free(v);
		return -1;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	cmp_view_free(v);
	return -1;
}

void cmp_view_free(struct cmp_view *v)
{
	for (size_t i = 0; i < v->nitems; i++)
		free(v->items[i].label);
	for (size_t i = 0; i < v->nsums; i++)
		summary_free(&v->sums[i]);
	free(v->items);
	free(v->pairs);
	memset(v, 0, sizeof(*v));
}

/* ---- tables ---- */

static int tbl_init(struct cmp_table *t, size_t rows, size_t cols)
{
	memset(t, 0, sizeof(*t));
	t->cell = calloc(rows * cols + 1, sizeof(*t->cell));
	if (!t->cell)
		return -1;
	t->rows = rows;
	t->cols = cols;
	return 0;
}

__attribute__((format(printf, 4, 5)))
static void tbl_set(struct cmp_table *t, size_t r, size_t c, const char *fmt, ...)
{
	va_list ap;
	char **cell = &t->cell[r * t->cols + c];

	free(*cell);
	va_start(ap, fmt);
	if (vasprintf(cell, fmt, ap) < 0)
		*cell = NULL;
	va_end(ap);
}

/* A table of rows rows (the header included) whose header row is the
 * NULL-terminated list of column names; as many columns as names. */
__attribute__((sentinel))
static int tbl_start(struct cmp_table *t, size_t rows, ...)
{
	size_t cols = 0;
	const char *name;
	va_list ap;

	va_start(ap, rows);
	while (va_arg(ap, const char *))
		cols++;
	va_end(ap);
	if (tbl_init(t, rows, cols))
		return -1;
	va_start(ap, rows);
	for (size_t c = 0; (name = va_arg(ap, const char *)); c++)
		tbl_set(t, 0, c, "%s", name);
	va_end(ap);
	return 0;
}

static const char *tbl_get(const struct cmp_table *t, size_t r, size_t c)
{
	const char *s = t->cell[r * t->cols + c];

	return s ? s : "";
}

void cmp_table_free(struct cmp_table *t)
{
	for (size_t i = 0; t->cell && i < t->rows * t->cols; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

static void fmt_series(char *buf, size_t len, int m, const struct summary_series *s)
{
	char med[32], lo[32], hi[32];

	if (!s->n) {
		snprintf(buf, len, "not measured");
		return;
	}
	cmp_fmt(med, sizeof(med), m, s->median);
	if (s->n < 2) {
		snprintf(buf, len, "%s", med);
		return;
	}
	cmp_fmt(lo, sizeof(lo), m, s->ci[0]);
	cmp_fmt(hi, sizeof(hi), m, s->ci[1]);
	snprintf(buf, len, "%s [%s, %s]", med, lo, hi);
}

int cmp_overview_table(const struct cmp_view *v, struct cmp_table *t)
{
	char buf[128];

	if (tbl_init(t, SM_COUNT + 2, v->nitems + 1))
		return -1;
	snprintf(t->caption, sizeof(t->caption), "medians [95%% interval] over the repeats");
	tbl_set(t, 0, 0, "metric");
	tbl_set(t, 1, 0, "runs");
	for (int m = 0; m < SM_COUNT; m++)
		tbl_set(t, (size_t)m + 2, 0, "%s", summary_metrics[m].label);
	for (size_t i = 0; i < v->nitems; i++) {
		const struct summary_variant *var = v->items[i].v;
		json_t *be = json_object_get(var->obj, "backend");

		if (json_is_string(be))
			tbl_set(t, 0, i + 1, "%s (%s)", v->items[i].label, json_string_value(be));
		else
			tbl_set(t, 0, i + 1, "%s", v->items[i].label);
		tbl_set(t, 1, i + 1, "%d", var->runs);
		for (int m = 0; m < SM_COUNT; m++) {
			fmt_series(buf, sizeof(buf), m, &var->m[m]);
			tbl_set(t, (size_t)m + 2, i + 1, "%s", buf);
		}
	}
	return 0;
}

int cmp_pair_table(const struct cmp_view *v, const struct cmp_pair *p, struct cmp_table *t)
{
	const char *rl = v->items[p->ref].label, *cl = v->items[p->cand].label;
	char a[32], b[32];

	if (tbl_start(t, SM_COUNT + 1, "metric", rl, cl, "change", "ratio", "p", "verdict", (char *)NULL))
		return -1;
	snprintf(t->caption, sizeof(t->caption), "%s vs %s (Mann-Whitney U, alpha %.2f)", cl, rl,
		 CMP_ALPHA);
	for (int m = 0; m < SM_COUNT; m++) {
		const struct cmp_metric *c = &p->m[m];
		size_t r = (size_t)m + 1;

		cmp_fmt(a, sizeof(a), m, c->ref);
		cmp_fmt(b, sizeof(b), m, c->cand);
		if (isnan(c->ref))
			snprintf(a, sizeof(a), "not measured");
		if (isnan(c->cand))
			snprintf(b, sizeof(b), "not measured");
		tbl_set(t, r, 0, "%s", summary_metrics[m].label);
		tbl_set(t, r, 1, "%s", a);
		tbl_set(t, r, 2, "%s", b);
		if (isnan(c->ratio) || isnan(c->delta)) {
			tbl_set(t, r, 3, "-");
			tbl_set(t, r, 4, "-");
		} else {
			tbl_set(t, r, 3, "%+.1f%%", 100 * (c->ratio - 1));
			tbl_set(t, r, 4, "%.3fx", c->ratio);
		}
		if (isnan(c->p))
			tbl_set(t, r, 5, "-");
		else
			tbl_set(t, r, 5, "%.3g", c->p);
		if (c->verdict == CMP_TOO_FEW)
			tbl_set(t, r, 6, "too few repeats (n=%zu/%zu)",
				v->items[p->ref].v->m[m].n, v->items[p->cand].v->m[m].n);
		else
			tbl_set(t, r, 6, "%s", cmp_verdict_text(c->verdict));
	}
	return 0;
}

int cmp_pred_table(const struct cmp_view *v, struct cmp_table *t)
{
	char a[32], b[32], buf[512];
	size_t r = 1;

	if (tbl_start(t, v->npairs * CMP_NPRED + 1, "variant", "metric", "baseline",
		      "predicted change", "measured change [95% interval]", "predicted",
		      "measured [95% interval]", "verdict", (char *)NULL))
		return -1;
	snprintf(t->caption, sizeof(t->caption),
		 "the cost model: predicted (the baseline's what_if) vs measured change, "
		 "agrees = the predicted change in the 95%% interval of the measured one "
		 "(the shift between the variant's runs and the baseline's)");
	for (size_t i = 0; i < v->npairs; i++)
		/* pairs from summaries without predictions (older files) are left out */
		for (int k = 0; k < CMP_NPRED && json_object_get(v->items[v->pairs[i].cand].v->obj,
								  "predicted"); k++, r++) {
			const struct cmp_pred *p = &v->pairs[i].pred[k];
			int m = cmp_pred_metrics[k];
			double base = p->value - p->change;
			int d = summary_metrics[m].decimals;

			tbl_set(t, r, 0, "%s", v->items[v->pairs[i].cand].label);
			tbl_set(t, r, 1, "%s", summary_metrics[m].label);
			if (isnan(base))
				base = v->pairs[i].m[m].ref;
			cmp_fmt(a, sizeof(a), m, base);
			tbl_set(t, r, 2, "%s", a);
			if (isnan(p->change))
				tbl_set(t, r, 3, "-");
			else
				tbl_set(t, r, 3, "%+.*f", d, p->change);
			if (!isnan(p->shift))
				tbl_set(t, r, 4, "%+.*f [%+.*f, %+.*f]", d, p->shift, d, p->slo,
					d, p->shi);
			else if (isnan(base) || isnan(p->measured))
				tbl_set(t, r, 4, "-");
			else
				tbl_set(t, r, 4, "%+.*f", d, p->measured - base);
			cmp_fmt(a, sizeof(a), m, p->value);
			tbl_set(t, r, 5, "%s", a);
			if (isnan(p->measured)) {
				tbl_set(t, r, 6, "not measured");
			} else {
				char lo[32], hi[32];

				cmp_fmt(b, sizeof(b), m, p->measured);
				cmp_fmt(lo, sizeof(lo), m, p->lo);
				cmp_fmt(hi, sizeof(hi), m, p->hi);
				tbl_set(t, r, 6, "%s [%s, %s]", b, lo, hi);
			}
			cmp_pred_text(p, m, buf, sizeof(buf));
			/* the numbers are in the row: the word is enough */
			tbl_set(t, r, 7, "%s", p->verdict == PRED_DISAGREES ? "disagrees" : buf);
		}
	t->rows = r;
	return 0;
}

int cmp_skipped_table(const struct cmp_view *v, struct cmp_table *t)
{
	size_t rows = 1;
	const char *name;
	json_t *reason;

	for (size_t i = 0; i < v->nsums; i++)
		rows += json_object_size(json_object_get(v->sums[i].doc, "skipped"));
	for (size_t i = 0; i < v->nitems; i++)
		rows += SM_COUNT;
	if (tbl_start(t, rows, "variant", "what", "reason", (char *)NULL))
		return -1;
	snprintf(t->caption, sizeof(t->caption), "not measured, and why");
	rows = 1;
	for (size_t i = 0; i < v->nsums; i++)
		json_object_foreach(json_object_get(v->sums[i].doc, "skipped"), name, reason) {
			if (v->nsums > 1)
				tbl_set(t, rows, 0, "%s:%s", v->sums[i].path, name);
			else
				tbl_set(t, rows, 0, "%s", name);
			tbl_set(t, rows, 1, "every metric");
			tbl_set(t, rows++, 2, "%s", json_is_string(reason) ? json_string_value(reason) : "?");
		}
	/* metrics a variant lacks, with the reason its runs recorded */
	for (size_t i = 0; i < v->nitems; i++)
		for (int m = 0; m < SM_COUNT; m++) {
			const char *why = summary_missing_reason(v->items[i].v, m);

			if (!why)
				continue;
			tbl_set(t, rows, 0, "%s", v->items[i].label);
			tbl_set(t, rows, 1, "%s", summary_metrics[m].label);
			tbl_set(t, rows++, 2, "%s", why);
		}
	t->rows = rows;
	return 0;
}

int cmp_threads_table(const struct cmp_item *it, struct cmp_table *t)
{
	json_t *th = json_object_get(it->v->obj, "threads"), *list = json_object_get(th, "list"), *e;
	double req = jnum(th, "requests");
	size_t i;

	if (tbl_start(t, json_array_size(list) + 1, "tid", "thread", "private fd table", "epoll_ctl",
		      "epoll_wait", "batch submits", "epoll syscalls/req", "spin ns", "files_lock ns",
		      (char *)NULL))
		return -1;
	snprintf(t->caption, sizeof(t->caption), "%s: per thread, run %s (%.0f requests)", it->label,
		 json_string_value(json_object_get(th, "run")) ?: "?", req);
	json_array_foreach(list, i, e) {
		double sys = jnum(e, "epoll_ctl") + jnum(e, "epoll_wait") + jnum(e, "batch_submits");

		tbl_set(t, i + 1, 0, "%.0f", jnum(e, "tid"));
		tbl_set(t, i + 1, 1, "%s", json_string_value(json_object_get(e, "comm")) ?: "?");
		tbl_set(t, i + 1, 2, "%s", json_is_true(json_object_get(e, "private_fd_table")) ? "yes" : "no");
		tbl_set(t, i + 1, 3, "%.0f", jnum(e, "epoll_ctl"));
		tbl_set(t, i + 1, 4, "%.0f", jnum(e, "epoll_wait"));
		tbl_set(t, i + 1, 5, "%.0f", jnum(e, "batch_submits"));
		tbl_set(t, i + 1, 6, "%.4f", req > 0 ? sys / req : 0.0);
		tbl_set(t, i + 1, 7, "%.0f", jnum(e, "spin_ns"));
		tbl_set(t, i + 1, 8, "%.0f", jnum(e, "files_lock_ns"));
	}
	return 0;
}

/* Display width in columns (UTF-8 continuation bytes take none). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void tbl_print(FILE *f, const struct cmp_table *t, bool markdown)
{
	size_t *w = calloc(t->cols, sizeof(*w));

	if (!w)
		return;
	for (size_t r = 0; r < t->rows; r++)
		for (size_t c = 0; c < t->cols; c++)
			if (width(tbl_get(t, r, c)) > w[c])
				w[c] = width(tbl_get(t, r, c));
	fprintf(f, markdown ? "**%s**\n\n" : "%s\n", t->caption);
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < t->cols; c++) {
			const char *s = tbl_get(t, r, c);
			int pad = (int)(w[c] - width(s));

			if (markdown)
				fprintf(f, "| %s%*s ", s, pad, "");
			else
				fprintf(f, "%s%s%*s", c ? "  " : "  ", s, c + 1 < t->cols ? pad : 0, "");
		}
		fputs(markdown ? "|\n" : "\n", f);
		if (markdown && r == 0) {
			for (size_t c = 0; c < t->cols; c++)
				fprintf(f, "|%s%.*s", c ? "-" : ":", (int)w[c] + 1,
					"------------------------------------------------------------------------");
			fputs("|\n", f);
		}
	}
	fputc('\n', f);
	free(w);
}

void cmp_print(FILE *f, const struct cmp_view *v, bool markdown)
{
	struct cmp_table t;

	if (!cmp_overview_table(v, &t)) {
		tbl_print(f, &t, markdown);
		cmp_table_free(&t);
	}
	for (size_t i = 0; i < v->npairs; i++)
		if (!cmp_pair_table(v, &v->pairs[i], &t)) {
			tbl_print(f, &t, markdown);
			cmp_table_free(&t);
		}
	if (!cmp_pred_table(v, &t)) {
		if (t.rows > 1)
			tbl_print(f, &t, markdown);
		cmp_table_free(&t);
	}
	if (!cmp_skipped_table(v, &t)) {
		if (t.rows > 1)
			tbl_print(f, &t, markdown);
		cmp_table_free(&t);
	}
}

/* The per-thread tables, for report.md (the terminal gets the overview only). */
void cmp_print_threads(FILE *f, const struct cmp_view *v, bool markdown)
{
	struct cmp_table t;

	for (size_t i = 0; i < v->nitems; i++)
		if (!cmp_threads_table(&v->items[i], &t)) {
			if (t.rows > 1)
				tbl_print(f, &t, markdown);
			cmp_table_free(&t);
		}
}
