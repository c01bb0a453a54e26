// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Small-sample statistics: see stats.h for what each function promises. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "stats.h"

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

/* A sorted copy of x, or NULL (n == 0 or out of memory). */
static double *sorted_copy(const double *x, size_t n)
{
	double *s;

	if (!n)
		return NULL;
	s = malloc(n * sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s, x, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return s;
}

double stats_mean(const double *x, size_t n)
{
	double sum = 0;

	if (!n)
		return NAN;
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	return sum / (double)n;
}

double stats_quantile_sorted(const double *sorted, size_t n, double q)
{
	double h, frac;
	size_t lo;

	if (!n || !(q >= 0 && q <= 1))
		return NAN;
	h = q * (double)(n - 1);
	lo = (size_t)h;
	if (lo >= n - 1)
		return sorted[n - 1];
	frac = h - (double)lo;
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

double stats_median(const double *x, size_t n)
{
	double *s = sorted_copy(x, n), m;

	if (!s)
		return NAN;
	m = stats_quantile_sorted(s, n, 0.5);
	free(s);
	return m;
}

/*
 * splitmix64: tiny, good enough for resampling indices, and the same on
 * every platform (rand() is not), which is what makes the intervals
 * reproducible.
 */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform index below n without modulo bias (Lemire's multiply-shift). */
static size_t rand_index(uint64_t *state, size_t n)
{
	return (size_t)(((unsigned __int128)splitmix64(state) * n) >> 64);
}

int stats_bootstrap_median_ci(const double *x, size_t n, double level,
			      unsigned resamples, uint64_t seed, double ci[2])
{
	double *meds, *res;
	uint64_t state = seed;

	if (!n || !(level > 0 && level < 1) || !resamples)
		return -1;
	meds = malloc(resamples * sizeof(*meds));
	res = malloc(n * sizeof(*res));
	if (!meds || !res) {
		free(meds);
		free(res);
		return -1;
	}
	for (unsigned r = 0; r < resamples; r++) {
		for (size_t i = 0; i < n; i++)
			res[i] = x[rand_index(&state, n)];
		qsort(res, n, sizeof(*res), cmp_double);
		meds[r] = stats_quantile_sorted(res, n, 0.5);
	}
	qsort(meds, resamples, sizeof(*meds), cmp_double);
	ci[0] = stats_quantile_sorted(meds, resamples, (1 - level) / 2);
	ci[1] = stats_quantile_sorted(meds, resamples, 1 - (1 - level) / 2);
	free(meds);
	free(res);
	return 0;
}

/*
 * Exact null distribution of U for m and n samples without ties: the number
 * of arrangements giving U = u is the coefficient of q^u in the Gaussian
 * binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i).
 * Built one factor at a time; after each full step the polynomial is
 * [n+i choose i]_q, whose coefficients are counts (<= C(m+n, m), which fits
 * in int64 for m + n <= 60 with room for the intermediate step).
 * Returns the m*n + 1 counts (the caller frees them), or NULL when out of
 * memory.
 */
static int64_t *mw_exact_counts(size_t m, size_t n)
{
	size_t top = m * n, deg = 0;
	int64_t *c = calloc(top + 1, sizeof(*c));

	if (!c)
		return NULL;
	c[0] = 1;
	for (size_t i = 1; i <= m; i++) {
		size_t k = n + i;

		/* multiply by (1 - q^k); degree grows by k */
		for (size_t j = deg + k; j >= k; j--)
			if (j <= top)
				c[j] -= c[j - k];
		/*
		 * divide by (1 - q^i): c[j] += c[j - i], ascending.  Run up to
		 * the product's degree so the terms above the quotient's degree
		 * (i*n) come out zero instead of staying as leftovers that the
		 * next multiplication would read.
		 */
		for (size_t j = i; j <= deg + k && j <= top; j++)
			c[j] += c[j - i];
		deg += n;
	}
	return c;
}

/* P(U <= u) under the exact null distribution, or NAN when out of memory. */
static double mw_exact_cdf(size_t m, size_t n, size_t u)
{
	int64_t *c = mw_exact_counts(m, n);
	double le = 0, total = 0;

	if (!c)
		return NAN;
	for (size_t j = 0; j <= m * n; j++) {
		total += (double)c[j];
		if (j <= u)
			le += (double)c[j];
	}
	free(c);
	return le / total;
}

int stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
		       struct stats_mw *out)
{
	size_t N = na + nb;
	struct item { double v; int from_a; } *all;
	double rank_sum_a = 0, tie_term = 0, mu, sigma2, u;

	if (!na || !nb)
		return -1;
	all = malloc(N * sizeof(*all));
	if (!all)
		return -1;
	for (size_t i = 0; i < na; i++)
		all[i] = (struct item){ a[i], 1 };
	for (size_t j = 0; j < nb; j++)
		all[na + j] = (struct item){ b[j], 0 };
	/* sort by value; struct item starts with its double, so cmp_double works */
	qsort(all, N, sizeof(*all), cmp_double);

	/* mid-ranks for tied groups, and the tie correction sum(t^3 - t) */
	out->ties = false;
	for (size_t i = 0; i < N;) {
		size_t j = i;
		double t, mid;

		while (j + 1 < N && all[j + 1].v == all[i].v)
			j++;
		t = (double)(j - i + 1);
		mid = (double)(i + j) / 2 + 1;	/* ranks are 1-based */
		for (size_t k = i; k <= j; k++)
			if (all[k].from_a)
				rank_sum_a += mid;
		if (t > 1) {
			out->ties = true;
			tie_term += t * t * t - t;
		}
		i = j + 1;
	}
	free(all);

	u = rank_sum_a - (double)na * (double)(na + 1) / 2;
	out->u = u;
	mu = (double)na * (double)nb / 2;

	if (!out->ties && N <= STATS_MW_EXACT_MAX) {
		/* the distribution is symmetric about mu: double the smaller tail */
		double lower = u < mu ? u : (double)na * (double)nb - u;
		double cdf = mw_exact_cdf(na, nb, (size_t)lower);

		if (isnan(cdf))
			return -1;
		out->exact = true;
		out->p = fmin(1.0, 2 * cdf);
		return 0;
	}

	out->exact = false;
	sigma2 = (double)na * (double)nb / 12 *
		 ((double)(N + 1) - tie_term / ((double)N * (double)(N - 1)));
	if (sigma2 <= 0) {	/* every value equal: no evidence of any difference */
		out->p = 1;
		return 0;
	}
	/* continuity correction: U moves in steps of 1/2 with ties, 1 without; 0.5 is the usual choice */
	{
		double z = (fabs(u - mu) - 0.5) / sqrt(sigma2);

		out->p = z <= 0 ? 1.0 : fmin(1.0, erfc(z / M_SQRT2));
	}
	return 0;
}

double stats_mw_min_p(size_t na, size_t nb)
{
	/* 2 / C(na+nb, na), computed in floating point to avoid overflow */
	double c = 1;
	size_t k = na < nb ? na : nb, N = na + nb;

	if (!na || !nb)
		return 1;
	for (size_t i = 1; i <= k; i++)
		c = c * (double)(N - k + i) / (double)i;
	return fmin(1.0, 2 / c);
}

bool stats_mw_too_few(size_t na, size_t nb, double alpha)
{
	return stats_mw_min_p(na, nb) > alpha;
}

int stats_shift_ci(const double *a, size_t na, const double *b, size_t nb, double level,
		   double ci[2])
{
	size_t nd = na * nb, c = 1;
	double tail = (1 - level) / 2, *d;

	if (!na || !nb || !(level > 0 && level < 1))
		return -1;
	d = malloc(nd * sizeof(*d));
	if (!d)
		return -1;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			d[i * nb + j] = a[i] - b[j];
	qsort(d, nd, sizeof(*d), cmp_double);
	if (na + nb <= STATS_MW_EXACT_MAX) {
		int64_t *cnt = mw_exact_counts(na, nb);
		double total = 0, le;

		if (!cnt) {
			free(d);
			return -1;
		}
		for (size_t j = 0; j <= nd; j++)
			total += (double)cnt[j];
		/* P(U <= c - 1) grows with c: the last c that keeps it in the tail */
		for (le = (double)cnt[0]; c < nd / 2 + 1 && (le + (double)cnt[c]) / total <= tail; c++)
			le += (double)cnt[c];
		free(cnt);
	} else {
		/* the normal quantile of 1 - tail, by bisection on erfc */
		double lo = 0, hi = 10, z, k;

		for (int i = 0; i < 60; i++) {
			z = (lo + hi) / 2;
			if (erfc(z / M_SQRT2) / 2 > tail)
				lo = z;
			else
				hi = z;
		}
		z = (lo + hi) / 2;
		k = floor((double)nd / 2 - z * sqrt((double)nd * (double)(na + nb + 1) / 12));
		c = k >= 1 ? (size_t)k : 1;
	}
	ci[0] = d[c - 1];
	ci[1] = d[nd - c];
	free(d);
	return 0;
}
