/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Small-sample statistics for repeated benchmark runs: `run` summarises the
 * repeats of each variant, `compare` and `gate` decide whether two sets of
 * repeats differ.  Benchmarks are repeated 3-40 times, so everything here is
 * written for small n: the median rather than the mean, a percentile
 * bootstrap interval rather than a normal one, and Mann-Whitney U (rank
 * based, no normality assumed) with its exact null distribution when that is
 * feasible.
 *
 * Functions never modify their inputs; NaN values in inputs are the caller's
 * bug (they are not filtered).  Functions returning double return NAN when
 * the answer does not exist (n == 0) or memory ran out.
 */
#ifndef EPBATCH_STATS_H
#define EPBATCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

double stats_mean(const double *x, size_t n);
double stats_median(const double *x, size_t n);

/*
 * Quantile q (0..1) of an ascending array, linear interpolation between
 * order statistics (Hyndman & Fan type 7, the default of R and numpy).
 */
double stats_quantile_sorted(const double *sorted, size_t n, double q);

/*
 * Percentile-bootstrap interval of the median at `level` (0.95 for a 95%
 * interval): `resamples` resamples drawn with a PRNG seeded with `seed`, so
 * the same samples always give the same interval.  Use STATS_BOOT_RESAMPLES
 * and STATS_BOOT_SEED unless there is a reason not to.  n == 1 gives
 * [x, x].  Returns 0, or -1 (n == 0, level outside (0,1), resamples == 0,
 * out of memory) leaving ci untouched.
 */
#define STATS_BOOT_RESAMPLES 2000u
#define STATS_BOOT_SEED	     UINT64_C(0x65706261746368)	/* "epbatch" */
int stats_bootstrap_median_ci(const double *x, size_t n, double level,
			      unsigned resamples, uint64_t seed, double ci[2]);

/* Result of a two-sided Mann-Whitney U test of a against b. */
struct stats_mw {
	double u;	/* U statistic of a: pairs (a_i, b_j) with a_i > b_j, ties count 1/2 */
	double p;	/* two-sided p-value */
	bool exact;	/* p from the exact null distribution (no ties, small n) */
	bool ties;	/* some value occurs more than once in a and b together */
};

/*
 * Two-sided Mann-Whitney U test.  Exact p (the null distribution of U
 * counted exactly) when there are no ties and na + nb <= STATS_MW_EXACT_MAX;
 * otherwise the normal approximation with continuity and tie corrections.
 * All values equal gives p = 1.  Returns 0, or -1 when na or nb is 0 or
 * memory ran out.
 */
#define STATS_MW_EXACT_MAX 60
int stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
		       struct stats_mw *out);

/*
 * The smallest two-sided p-value Mann-Whitney can produce with na and nb
 * samples (complete separation, no ties): 2 / C(na+nb, na), capped at 1.
 * 2 vs 2 gives 0.333, 3 vs 3 gives 0.1, 4 vs 4 gives 0.029.
 */
double stats_mw_min_p(size_t na, size_t nb);

/*
 * True when na vs nb repeats can never reach significance at alpha, however
 * different the samples are: the test cannot be used, say so.
 */
bool stats_mw_too_few(size_t na, size_t nb, double alpha);

/*
 * Distribution-free interval of the shift a - b (Hodges-Lehmann's, from the
 * Mann-Whitney test): of the na * nb differences a_i - b_j, sorted, the
 * C-th smallest and C-th largest, C the largest count with P(U < C) <=
 * (1 - level) / 2 under U's null distribution (exact, as for no ties, for
 * na + nb <= STATS_MW_EXACT_MAX, else normal).  Where no such C exists
 * (3 vs 3 at 95%: the exact test cannot reach it) the whole range of the
 * differences, the widest the runs allow.  Returns 0, or -1 (na or nb 0,
 * level outside (0,1), out of memory) leaving ci untouched.
 */
int stats_shift_ci(const double *a, size_t na, const double *b, size_t nb, double level,
		   double ci[2]);

#endif
