/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Unit test of bench/hist.c: the buckets tile the whole uint64_t range with
 * the promised precision, and quantiles of known distributions come out
 * within it.
 */
#include "hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);        \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
			failures++;                                        \
		}                                                          \
	} while (0)

/* Relative error of a reported quantile: at most half a bucket, 1/64. */
#define PRECISION (1.0 / (2 * HIST_SUB))

static void test_buckets(void)
{
	uint64_t next = 0;

	/* Consecutive buckets are contiguous, never overlap, and end at 2^64-1. */
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		uint64_t lo, hi;

		hist_bucket_range(i, &lo, &hi);
		CHECK(lo == next, "bucket %u starts at %llu, expected %llu", i,
		      (unsigned long long)lo, (unsigned long long)next);
		CHECK(hist_index(lo) == i && hist_index(hi) == i, "bucket %u: ends map elsewhere", i);
		CHECK((double)(hi - lo) <= (double)lo / HIST_SUB, "bucket %u is wider than 1/%u", i, HIST_SUB);
		next = hi + 1;
	}
	CHECK(next == 0, "the buckets do not end at UINT64_MAX");
	CHECK(hist_index(UINT64_MAX) == HIST_BUCKETS - 1, "UINT64_MAX is not in the last bucket");
}

static int near(uint64_t got, double want)
{
	return fabs((double)got - want) <= want * PRECISION + 1;
}

static void test_quantiles(void)
{
	struct hist *h = malloc(sizeof(*h)), *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	if (!h || !a || !b)
		abort();
	hist_init(h);
	CHECK(hist_quantile(h, 0.5) == 0 && hist_mean(h) == 0, "empty histogram");

	/* 1..100000 us as ns, uniform: quantile q is q * 1e8 ns. */
	for (uint64_t v = 1; v <= 100000; v++)
		hist_add(h, v * 1000);
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	for (unsigned i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t got = hist_quantile(h, qs[i]);
		CHECK(near(got, qs[i] * 1e8), "uniform p%g: %llu, expected about %.0f", qs[i] * 100,
		      (unsigned long long)got, qs[i] * 1e8);
	}
	CHECK(hist_quantile(h, 1.0) == 100000000, "p100 is not the exact max");
	CHECK(h->max == 100000000 && h->min == 1000, "min/max");
	CHECK(fabs(hist_mean(h) - 50000500.0) < 1e-3, "mean %.3f", hist_mean(h));

	/* A long tail: 990 fast values and 10 slow ones; p99 is fast, p99.9 slow. */
	hist_init(a);
	hist_init(b);
	for (int i = 0; i < 990; i++)
		hist_add(a, 50000);
	for (int i = 0; i < 10; i++)
		hist_add(b, 7000000);
	hist_merge(a, b);
	CHECK(a->count == 1000, "merge count");
	CHECK(near(hist_quantile(a, 0.99), 50000), "tail p99: %llu", (unsigned long long)hist_quantile(a, 0.99));
	CHECK(near(hist_quantile(a, 0.999), 7000000), "tail p99.9: %llu",
	      (unsigned long long)hist_quantile(a, 0.999));
	CHECK(a->max == 7000000 && a->min == 50000, "merge min/max");

	/* Small exact values are exact. */
	hist_init(b);
	for (uint64_t v = 0; v < 64; v++)
		hist_add(b, v);
	CHECK(hist_quantile(b, 0.5) == 31, "exact small p50: %llu", (unsigned long long)hist_quantile(b, 0.5));
	free(h);
	free(a);
	free(b);
}

int main(void)
{
	test_buckets();
	test_quantiles();
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	printf("all histogram checks passed\n");
	return 0;
}
