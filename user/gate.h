/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `epbatch-trace gate`: the decision per metric, separated from reading files
 * and printing so that unit tests can drive it with plain arrays.  Metrics,
 * their keys and directions are summary.h's (SM_*); the gate adds its
 * thresholds.
 */
#ifndef EPBATCH_GATE_H
#define EPBATCH_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include "summary.h"

struct gate_metric {
	double default_pct;	/* default threshold, percent of the baseline median */
	double floor;		/* absolute changes at or below this never count */
	bool count;		/* a count metric (deterministic), as opposed to wall clock */
};
/* indexed by SM_* */
extern const struct gate_metric gate_metrics[SM_COUNT];

struct gate_config {
	double threshold[SM_COUNT];	/* percent */
	double alpha;
	unsigned metric_mask;		/* bit SM_*: gate this metric */
	bool allow_missing;		/* a metric the candidate lost is "no data", not a failure */
};

/* GATE_MISSING: measured in the baseline, not in the candidate (fails the gate). */
enum gate_verdict { GATE_OK, GATE_BETTER, GATE_NOISE, GATE_REGRESSED, GATE_NODATA, GATE_MISSING };

struct gate_result {
	int metric;		/* SM_* */
	double base, cand;	/* medians */
	double change;		/* percent, signed, + means the candidate is larger */
	double threshold;
	double p;		/* Mann-Whitney two-sided p, when tested */
	bool tested, too_few;
	size_t nb, nc;
	enum gate_verdict verdict;
	char note[224];
};

#define GATE_MAX_PAIRS 32
#define GATE_MAX_NOTES 32

struct gate_pair {
	const char *base_variant, *cand_variant;
	struct gate_result res[SM_COUNT];
	size_t nres;
};

struct gate_report {
	const char *baseline, *candidate;	/* as given on the command line */
	double alpha;
	struct gate_pair pairs[GATE_MAX_PAIRS];
	size_t npairs;
	size_t regressions;	/* regressed metrics plus variants that vanished */
	size_t missing;		/* variants of the baseline the candidate lost */
	const char *missing_names[GATE_MAX_PAIRS];
	char notes[GATE_MAX_NOTES][256];
	size_t nnotes;
};

void gate_config_defaults(struct gate_config *cfg);
const char *gate_verdict_name(enum gate_verdict v);
void gate_compare_metric(const struct summary_series *b, const struct summary_series *c,
			 int metric, const struct gate_config *cfg, struct gate_result *r);
/*
 * Pair the variants up: when one side was given as FILE:VARIANT (holds one
 * variant) and the other holds several, the namesake; when both hold one,
 * those two; otherwise every variant of the baseline with its namesake.
 * Returns 0, or -1 after one line on stderr (nothing to compare).
 */
int gate_pair_up(const struct summary *b, bool b_one, const struct summary *c, bool c_one,
		 const struct gate_config *cfg, struct gate_report *rep);
int gate_main(int argc, char **argv);

#endif
