/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * summary.json ("epbatch-summary/1"): what `run` writes and `compare` and
 * `gate` read.  A summary holds, per variant, the repeats of each metric
 * (samples) with their median and bootstrap 95% interval; see docs/run.md.
 *
 *   struct summary s;
 *   if (summary_load("out/summary.json:preload", &s, err, sizeof(err)))
 *           ... one line in err ...
 *   for (size_t i = 0; i < s.nv; i++)
 *           s.v[i].m[SM_RPS].samples / .n / .median / .ci[0..1]
 *   summary_free(&s);
 */
#ifndef EPBATCH_SUMMARY_H
#define EPBATCH_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>

#define SUMMARY_SCHEMA "epbatch-summary/1"

struct json_t;

/* The metrics of a variant, in the order reports show them. */
enum summary_metric {
	SM_RPS,			/* requests per second (load generator) */
	SM_P99_MS,		/* 99th percentile latency, ms (load generator) */
	SM_EPOLL_PER_REQ,	/* (epoll_ctl + epoll_wait* + batch submits) / requests */
	SM_EPOLL_PER_ITER,	/* the same syscalls / event-loop iterations (the
				 * application's epoll waits, fused ones included) */
	SM_SPIN_NS_PER_REQ,	/* spin-lock slow-path ns / requests */
	SM_CPU_US_PER_REQ,	/* server CPU (user + sys) us / requests */
	SM_BATCH_SIZE,		/* ops flushed / batches (the shim's EPBATCH_STATS line) */
	SM_COUNT
};

struct summary_metric_def {
	const char *key;	/* summary.json key */
	const char *label;	/* column heading */
	const char *unit;
	bool higher_better;
	int decimals;		/* for tables */
};
extern const struct summary_metric_def summary_metrics[SM_COUNT];
/* SM_* for a key, or -1. */
int summary_metric_index(const char *key);

/* The repeats of one metric; n == 0 means the metric is absent. */
struct summary_series {
	double *samples;
	size_t n;
	double median;
	double ci[2];		/* bootstrap 95% interval of the median */
};

struct summary_variant {
	char *name;
	int runs;			/* successful runs */
	struct summary_series m[SM_COUNT];
	const struct json_t *obj;	/* the variant's object (threads, backend...) */
};

struct summary {
	char *path;			/* the file (without :VARIANT) */
	struct json_t *doc;		/* owned */
	struct summary_variant *v;	/* in file order */
	size_t nv;
};

/*
 * Load SPEC, "FILE" or "FILE:VARIANT" (then only that variant is kept; a
 * FILE whose name contains ':' is taken whole when it exists).  Returns 0,
 * or -1 with one line in err: missing file, malformed JSON, wrong schema,
 * unknown variant, bad metric.
 */
int summary_load(const char *spec, struct summary *s, char *err, size_t errlen);
/* The same from a parsed document (a reference is taken). */
int summary_from_json(struct json_t *doc, const char *path, const char *variant,
		      struct summary *s, char *err, size_t errlen);
void summary_free(struct summary *s);
const struct summary_variant *summary_find(const struct summary *s, const char *name);
/* Why NAME is not in the summary ("skipped"), or NULL. */
const char *summary_skip_reason(const struct summary *s, const char *name);
/* Why metric M of a variant was not measured (its "missing" object), or NULL. */
const char *summary_missing_reason(const struct summary_variant *v, int m);
/*
 * Do A and B describe different workloads (server, mode, threads, load;
 * not duration or repeats)?  1 with the first difference in why, else 0
 * (also when a summary does not say).
 */
int summary_workload_differs(const struct summary *a, const struct summary *b, char *why,
			     size_t len);

/* ---- building (run) ---- */

/* {"median", "ci95": [lo, hi], "samples": [...]} of n values; NULL if n == 0. */
struct json_t *summary_series_json(const double *x, size_t n);
/* Fill a series from values (copied); -1 on out of memory. */
int summary_series_set(struct summary_series *s, const double *x, size_t n);
void summary_series_free(struct summary_series *s);

#endif
