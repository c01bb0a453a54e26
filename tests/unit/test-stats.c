// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stats.c against values worked out by hand or read from the standard
 * Mann-Whitney critical-value tables (two-tailed alpha = 0.05: n1 = n2 = 5
 * -> U <= 2, n1 = n2 = 10 -> U <= 23).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include "base/stats.h"

#define EPS 1e-9

static void test_mean_median(void **state)
{
	const double odd[] = { 3, 1, 2 }, even[] = { 4, 1, 3, 2 }, one[] = { 7 };

	(void)state;
	assert_float_equal(stats_mean(odd, 3), 2, EPS);
	assert_float_equal(stats_median(odd, 3), 2, EPS);
	assert_float_equal(stats_median(even, 4), 2.5, EPS);
	assert_float_equal(stats_median(one, 1), 7, EPS);
	/* the input is not reordered */
	assert_float_equal(odd[0], 3, 0);
	assert_true(isnan(stats_median(odd, 0)));
	assert_true(isnan(stats_mean(odd, 0)));
}

static void test_quantile_type7(void **state)
{
	const double s[] = { 1, 2, 3, 4 };

	(void)state;
	/* h = q * (n - 1): 0.25 * 3 = 0.75 -> 1 + 0.75 * (2 - 1) */
	assert_float_equal(stats_quantile_sorted(s, 4, 0.25), 1.75, EPS);
	assert_float_equal(stats_quantile_sorted(s, 4, 0), 1, EPS);
	assert_float_equal(stats_quantile_sorted(s, 4, 1), 4, EPS);
	assert_true(isnan(stats_quantile_sorted(s, 4, 1.5)));
}

static void test_bootstrap(void **state)
{
	const double x[] = { 10, 12, 11, 50, 9, 10.5, 11.5 }, c[] = { 5, 5, 5 };
	const double two[] = { 0, 1 };
	double a[2], b[2];

	(void)state;
	assert_int_equal(stats_bootstrap_median_ci(x, 7, 0.95, STATS_BOOT_RESAMPLES,
						   STATS_BOOT_SEED, a), 0);
	assert_int_equal(stats_bootstrap_median_ci(x, 7, 0.95, STATS_BOOT_RESAMPLES,
						   STATS_BOOT_SEED, b), 0);
	/* reproducible: same seed, same interval */
	assert_float_equal(a[0], b[0], 0);
	assert_float_equal(a[1], b[1], 0);
	/* it holds the median (11) and, being a median interval, not the outlier */
	assert_true(a[0] <= 11 && 11 <= a[1]);
	assert_true(a[0] >= 9 && a[1] < 50);
	/* a different seed still gives a sane interval */
	assert_int_equal(stats_bootstrap_median_ci(x, 7, 0.95, 500, 1, b), 0);
	assert_true(b[0] <= 11 && 11 <= b[1]);

	/* no spread, no interval */
	assert_int_equal(stats_bootstrap_median_ci(c, 3, 0.95, 100, 1, a), 0);
	assert_float_equal(a[0], 5, 0);
	assert_float_equal(a[1], 5, 0);
	assert_int_equal(stats_bootstrap_median_ci(c, 1, 0.95, 100, 1, a), 0);
	assert_float_equal(a[0], 5, 0);
	assert_float_equal(a[1], 5, 0);

	/*
	 * {0, 1}: a resample is {0,0} (median 0) or {1,1} (median 1) with
	 * probability 1/4 each, so the 2.5% and 97.5% points are 0 and 1.
	 */
	assert_int_equal(stats_bootstrap_median_ci(two, 2, 0.95, 2000, 7, a), 0);
	assert_float_equal(a[0], 0, EPS);
	assert_float_equal(a[1], 1, EPS);

	assert_int_equal(stats_bootstrap_median_ci(x, 0, 0.95, 100, 1, a), -1);
	assert_int_equal(stats_bootstrap_median_ci(x, 7, 1.0, 100, 1, a), -1);
	assert_int_equal(stats_bootstrap_median_ci(x, 7, 0.95, 0, 1, a), -1);
}

static void test_mw_exact_small(void **state)
{
	const double lo[] = { 1, 2, 3 }, hi[] = { 4, 5, 6 };
	const double a[] = { 1, 2, 4 }, b[] = { 3, 5, 6 };
	struct stats_mw r;

	(void)state;
	/* complete separation, 3 vs 3: 2 of C(6,3) = 20 arrangements as extreme */
	assert_int_equal(stats_mann_whitney(lo, 3, hi, 3, &r), 0);
	assert_true(r.exact);
	assert_false(r.ties);
	assert_float_equal(r.u, 0, EPS);
	assert_float_equal(r.p, 0.1, EPS);
	/* the other way round: U = 9, same p */
	assert_int_equal(stats_mann_whitney(hi, 3, lo, 3, &r), 0);
	assert_float_equal(r.u, 9, EPS);
	assert_float_equal(r.p, 0.1, EPS);
	/* U = 1: counts of U = 0, 1 are 1, 1 -> p = 2 * 2/20 */
	assert_int_equal(stats_mann_whitney(a, 3, b, 3, &r), 0);
	assert_float_equal(r.u, 1, EPS);
	assert_float_equal(r.p, 0.2, EPS);
	/* identical samples' ranks interleave: U = mean, p = 1 */
	assert_int_equal(stats_mann_whitney(lo, 3, lo, 3, &r), 0);
	assert_true(r.ties);
	assert_float_equal(r.p, 1, EPS);
}

/*
 * a_j = k_j - 0.5 + j/100 against b = 0..n-1 puts exactly k_j of b below a_j,
 * so U = sum k_j, without ties.
 */
static void build_u(const int *k, size_t n, double *a, double *b)
{
	for (size_t j = 0; j < n; j++) {
		a[j] = k[j] - 0.5 + (double)j / 100;
		b[j] = (double)j;
	}
}

static void test_mw_critical_values(void **state)
{
	/* n1 = n2 = 5: U counts 0..3 are 1, 1, 2, 3 of C(10,5) = 252 */
	const int u2[5] = { 0, 0, 0, 1, 1 }, u3[5] = { 0, 0, 1, 1, 1 };
	/* n1 = n2 = 10: the table's critical U is 23 */
	const int u23[10] = { 0, 0, 0, 0, 0, 0, 0, 3, 10, 10 };
	const int u24[10] = { 0, 0, 0, 0, 0, 0, 0, 4, 10, 10 };
	double a[10], b[10];
	struct stats_mw r;

	(void)state;
	build_u(u2, 5, a, b);
	assert_int_equal(stats_mann_whitney(a, 5, b, 5, &r), 0);
	assert_float_equal(r.u, 2, EPS);
	assert_true(r.exact);
	assert_float_equal(r.p, 2.0 * 4 / 252, EPS);
	build_u(u3, 5, a, b);
	assert_int_equal(stats_mann_whitney(a, 5, b, 5, &r), 0);
	assert_float_equal(r.u, 3, EPS);
	assert_float_equal(r.p, 2.0 * 7 / 252, EPS);
	assert_true(r.p > 0.05);

	build_u(u23, 10, a, b);
	assert_int_equal(stats_mann_whitney(a, 10, b, 10, &r), 0);
	assert_float_equal(r.u, 23, EPS);
	assert_true(r.p <= 0.05);
	build_u(u24, 10, a, b);
	assert_int_equal(stats_mann_whitney(a, 10, b, 10, &r), 0);
	assert_float_equal(r.u, 24, EPS);
	assert_true(r.p > 0.05);
}

static void test_mw_normal_ties(void **state)
{
	/*
	 * Worked by hand.  Pooled and sorted: 1a 2a 2a 2b 3a 3b 4b 5b; mid-ranks
	 * 1, 3, 3, 3, 5.5, 5.5, 7, 8.  Rank sum of a = 1 + 3 + 3 + 5.5 = 12.5,
	 * U = 12.5 - 4*5/2 = 2.5, mean 8.  Ties: a triple and a pair, sum(t^3 - t)
	 * = 24 + 6 = 30.  var = 16/12 * (9 - 30/56) = 11.2857142857;
	 * z = (|2.5 - 8| - 0.5) / sqrt(var) = 1.4883513;
	 * p = erfc(z / sqrt 2) = 0.1366 (normal table: 2 * (1 - 0.93168)).
	 */
	const double a[] = { 1, 2, 2, 3 }, b[] = { 2, 3, 4, 5 };
	const double same[] = { 4, 4, 4 };
	struct stats_mw r;

	(void)state;
	assert_int_equal(stats_mann_whitney(a, 4, b, 4, &r), 0);
	assert_true(r.ties);
	assert_false(r.exact);
	assert_float_equal(r.u, 2.5, EPS);
	assert_float_equal(r.p, 0.13665, 0.0005);

	/* all equal: no evidence, p = 1 */
	assert_int_equal(stats_mann_whitney(same, 3, same, 3, &r), 0);
	assert_float_equal(r.p, 1, EPS);

	assert_int_equal(stats_mann_whitney(a, 0, b, 4, &r), -1);
}

static void test_mw_exact_agrees_with_normal_for_large_n(void **state)
{
	/*
	 * 30 vs 30 (exact, N = 60) and 31 vs 31 (normal, N = 62) with the same
	 * interleaving pattern: the two p-values must be close, or one of the
	 * two code paths is wrong.
	 */
	double a[31], b[31];
	struct stats_mw e, n;

	(void)state;
	for (int i = 0; i < 31; i++) {
		/* b is a shifted by 3.3 steps: a moderate effect */
		a[i] = i;
		b[i] = i + 3.3;
	}
	assert_int_equal(stats_mann_whitney(a, 30, b, 30, &e), 0);
	assert_int_equal(stats_mann_whitney(a, 31, b, 31, &n), 0);
	assert_true(e.exact);
	assert_false(n.exact);
	/* U = sum_{j=0..25} (26 - j) = 351; exact p by the recurrence of Mann
	 * and Whitney (1947), f(u; m, n) = f(u - n; m - 1, n) + f(u; m, n - 1),
	 * run separately: 0.146231 */
	assert_float_equal(e.u, 351, EPS);
	assert_float_equal(e.p, 0.146231, 1e-5);
	assert_float_equal(e.p, n.p, 0.02);
}

static void test_min_p(void **state)
{
	(void)state;
	assert_float_equal(stats_mw_min_p(2, 2), 1.0 / 3, EPS);
	assert_float_equal(stats_mw_min_p(3, 3), 0.1, EPS);
	assert_float_equal(stats_mw_min_p(4, 4), 2.0 / 70, EPS);
	assert_float_equal(stats_mw_min_p(1, 1), 1, EPS);
	assert_true(stats_mw_too_few(2, 2, 0.05));
	assert_true(stats_mw_too_few(3, 3, 0.05));
	assert_false(stats_mw_too_few(4, 4, 0.05));
	assert_false(stats_mw_too_few(3, 3, 0.1));
	/* 3 vs 40: 2 / C(43, 3) = 2 / 12341 */
	assert_false(stats_mw_too_few(3, 40, 0.05));
	/* the bound is real: complete separation reaches it exactly */
	{
		const double x[] = { 1, 2 }, y[] = { 3, 4 };
		struct stats_mw r;

		assert_int_equal(stats_mann_whitney(x, 2, y, 2, &r), 0);
		assert_float_equal(r.p, stats_mw_min_p(2, 2), EPS);
	}
}

/*
 * The shift interval: 10 vs 10 runs, the variant 10 above the baseline
 * (a = 10..19, b = 0..9): of the 100 differences the 24th smallest and
 * largest (P(U <= 23) = 0.022 <= 0.025 < P(U <= 24)), 7 and 13.  3 vs 3
 * cannot reach 95%: the whole range.  Normal branch (25 vs 40): still
 * inside the range and around the shift.
 */
static void test_shift_ci(void **state)
{
	double a[40], b[40], ci[2];

	(void)state;
	for (int i = 0; i < 10; i++) {
		a[i] = 10 + i;
		b[i] = i;
	}
	assert_int_equal(stats_shift_ci(a, 10, b, 10, 0.95, ci), 0);
	assert_float_equal(ci[0], 7, 1e-12);
	assert_float_equal(ci[1], 13, 1e-12);
	assert_int_equal(stats_shift_ci(a, 3, b, 3, 0.95, ci), 0);
	assert_float_equal(ci[0], 10 - 2, 1e-12);	/* 10 - 2 */
	assert_float_equal(ci[1], 12 - 0, 1e-12);	/* 12 - 0 */
	for (int i = 0; i < 40; i++) {
		a[i] = 100 + i % 25;
		b[i] = i;
	}
	assert_int_equal(stats_shift_ci(a, 25, b, 40, 0.95, ci), 0);
	assert_true(ci[0] > 100 - 39 && ci[1] < 124 && ci[0] < 92.5 && ci[1] > 92.5);
	assert_int_equal(stats_shift_ci(a, 0, b, 3, 0.95, ci), -1);
	assert_int_equal(stats_shift_ci(a, 3, b, 3, 1.5, ci), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mean_median),
		cmocka_unit_test(test_quantile_type7),
		cmocka_unit_test(test_bootstrap),
		cmocka_unit_test(test_mw_exact_small),
		cmocka_unit_test(test_mw_critical_values),
		cmocka_unit_test(test_mw_normal_ties),
		cmocka_unit_test(test_mw_exact_agrees_with_normal_for_large_n),
		cmocka_unit_test(test_min_p),
		cmocka_unit_test(test_shift_ci),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
