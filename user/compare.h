/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What `run` and `compare` show: variants side by side (medians with 95%
 * intervals) and, for each pair, the change per metric with its ratio and
 * Mann-Whitney significance.  compare.c builds it and prints the text and
 * Markdown forms; html.c draws the same view as report.html.
 */
#ifndef EPBATCH_COMPARE_H
#define EPBATCH_COMPARE_H

#include <stdbool.h>
#include <stdio.h>
#include "summary.h"
#include "base/base.h"

#define CMP_ALPHA 0.05

/* One column of the side-by-side table: a variant of some summary. */
struct cmp_item {
	char *label;
	const struct summary *src;
	const struct summary_variant *v;
};

enum cmp_verdict {
	CMP_NODATA,		/* the metric is missing on one side */
	CMP_TOO_FEW,		/* too few repeats for the test to ever reach alpha */
	CMP_SAME,		/* not significant at alpha */
	CMP_BETTER,		/* significant, in the metric's good direction */
	CMP_WORSE,
};

struct cmp_metric {
	double ref, cand;	/* medians */
	double delta;		/* cand - ref */
	double ratio;		/* cand / ref; NAN when ref is 0 */
	double p;		/* Mann-Whitney two-sided; NAN when not tested */
	enum cmp_verdict verdict;
};

/*
 * The cost model's own test: what the reference's what_if predicted for a
 * variant (summary.json "predicted", written by run) against what was
 * measured.  The prediction is a change from the baseline, so it is held
 * against the measured change: it agrees when it lies in the 95% interval
 * of the shift between the variant's runs and the baseline's
 * (stats_shift_ci), which carries the baseline's spread as well as the
 * variant's.  Without the baseline's runs (a summary loaded as
 * FILE:VARIANT) the predicted value is held against the variant's own
 * interval of the median.
 */
enum cmp_pred_verdict {
	PRED_NONE,		/* no prediction (why says why) */
	PRED_AGREES,
	PRED_DISAGREES,
};

struct cmp_pred {
	double change;		/* predicted change from the baseline; NAN: none */
	double value;		/* baseline median + change */
	double measured, lo, hi;	/* the variant's median and 95% interval */
	double shift, slo, shi;	/* the measured change (medians) and its 95% interval;
				 * NAN without the baseline's runs */
	enum cmp_pred_verdict verdict;
	bool recorded;		/* the summary has an entry for the metric (a
				 * summary older than the metric has none) */
	char from[160];		/* what the prediction came from */
	char why[256];		/* PRED_NONE: why there is none */
};

/* The metrics a prediction is made for, in the order reports show them. */
#define CMP_NPRED 3
extern const int cmp_pred_metrics[CMP_NPRED];	/* SM_CPU_US_PER_REQ, SM_EPOLL_PER_REQ,
							 * SM_EPOLL_PER_ITER */

struct cmp_pair {
	size_t ref, cand;	/* indexes into items */
	struct cmp_metric m[SM_COUNT];
	struct cmp_pred pred[CMP_NPRED];
};

struct cmp_view {
	const char *title;
	struct summary *sums;	/* the loaded files (owned) */
	size_t nsums;
	struct cmp_item *items;
	size_t nitems;
	struct cmp_pair *pairs;
	size_t npairs;
};

/* The comparison of one metric; ref/cand may be absent (n == 0). */
void cmp_metric(const struct summary_series *ref, const struct summary_series *cand,
		int metric, struct cmp_metric *out);
/*
 * The one verdict engine: medians, change, Mann-Whitney p and the direction
 * at ALPHA.  cmp_metric() uses CMP_ALPHA; gate adds its thresholds on top of
 * cmp_metric_alpha() with its --alpha.
 */
void cmp_metric_alpha(const struct summary_series *ref, const struct summary_series *cand,
		      int metric, double alpha, struct cmp_metric *out);
const char *cmp_verdict_text(enum cmp_verdict v);
/*
 * Metric M of variant V against its "predicted" object (the same engine,
 * the prediction's side), BASE the baseline the prediction is a change
 * from (NULL: not at hand): fills out, verdict and all.
 */
void cmp_predicted(const struct summary_variant *v, const struct summary_variant *base,
		   int metric, struct cmp_pred *out);
/* "agrees", "disagrees (predicted X, measured Y [lo, hi])", "not predicted: why". */
void cmp_pred_text(const struct cmp_pred *p, int metric, char *buf, size_t len);

/*
 * Build the view over loaded summaries (taken over: freed by
 * cmp_view_free).  One summary: every variant against the first.  Several:
 * when the first is one variant (FILE:VARIANT) every other item is compared
 * with it; otherwise variants are paired by name with the first file's.
 * Returns 0, or -1 with one line in err (nothing to compare).
 */
int cmp_view_build(struct cmp_view *v, struct summary *sums, size_t n, const char *const *specs,
		   char *err, size_t errlen);
void cmp_view_free(struct cmp_view *v);

/* Number formatting shared by every output: the metric's decimals, "-" when absent. */
void cmp_fmt(char *buf, size_t len, int metric, double x);

/* A table of strings: row 0 is the header. */
struct cmp_table {
	char caption[256];
	size_t rows, cols;
	char **cell;		/* rows * cols, row-major */
};
/* Metrics down, items across: "median [lo, hi]" (plus runs and skipped). */
int cmp_overview_table(const struct cmp_view *v, struct cmp_table *t);
/* One pair: metric, medians, change, ratio, p, verdict. */
int cmp_pair_table(const struct cmp_view *v, const struct cmp_pair *p, struct cmp_table *t);
void cmp_table_free(struct cmp_table *t);
/* Every pair's predictions: variant, metric, predicted change and value, measured, verdict. */
int cmp_pred_table(const struct cmp_view *v, struct cmp_table *t);
/* Variants a summary does not have, with the reason ("skipped"); 0 rows: none. */
int cmp_skipped_table(const struct cmp_view *v, struct cmp_table *t);
/* The per-thread breakdown of an item (from its median-rps run); 0 rows: none. */
int cmp_threads_table(const struct cmp_item *it, struct cmp_table *t);

/* The tables; markdown selects Markdown, else aligned text. */
void cmp_print(FILE *f, const struct cmp_view *v, bool markdown);
/* Every item's per-thread table (report.md). */
void cmp_print_threads(FILE *f, const struct cmp_view *v, bool markdown);

/* ---- verdicts.c: the words of a report ---- */
/* "preload vs baseline: epoll syscalls/req -77% (significant, better); ..." */
void cmp_verdict_line(const struct cmp_view *v, const struct cmp_pair *p, char *buf, size_t len);
/* "preload: cost model: server CPU us/req agrees; epoll syscalls/req disagrees (...)"; 0: no line. */
int cmp_pred_line(const struct cmp_view *v, const struct cmp_pair *p, char *buf, size_t len);
/* How an item's spin time was measured (method, rate, samples). */
void cmp_spin_line(const struct cmp_item *it, char *buf, size_t len);
void cmp_machine_line(const struct json_t *doc, char *buf, size_t len);
void cmp_workload_line(const struct json_t *doc, char *buf, size_t len);
/* Repeats per variant to detect EFFECT (0.10: 10%) given the spread seen. */
int cmp_repeats_for(const struct summary_series *a, const struct summary_series *b, double effect);
/* Machine, workload, verdicts, spin method: the top of every report. */
void cmp_print_summary(FILE *f, const struct cmp_view *v, bool markdown);

/* ---- html.c ---- */
/* Write report.html (atomically); 0, or -1 after one line on stderr. */
int html_write(const char *path, const struct cmp_view *v);

int compare_main(int argc, char **argv);
int run_main(int argc, char **argv);

#endif
