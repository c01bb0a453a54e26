/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A log-bucketed latency histogram (the HdrHistogram idea, reduced): values
 * below 64 get a bucket each, above that every power of two is split into 32
 * linear sub-buckets, so a bucket is at most 1/32 of its value wide and a
 * reported percentile is within about 1.6% of the true value.  Fixed size,
 * no allocation: each load thread keeps its own and they are merged at the end.
 */
#ifndef EPBATCH_BENCH_HIST_H
#define EPBATCH_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5				/* 32 sub-buckets per power of two */
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (2 * HIST_SUB + 58 * HIST_SUB)	/* covers all of uint64_t */

struct hist {
	uint64_t count;
	uint64_t sum;	/* for the mean; 2^64 ns is 584 years, no overflow */
	uint64_t max;
	uint64_t min;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * The value at quantile Q (0 < Q <= 1): the midpoint of the bucket holding
 * the ceil(Q * count)-th smallest value, clamped to [min, max] so that
 * p100 is the exact maximum.  0 when the histogram is empty.
 */
uint64_t hist_quantile(const struct hist *h, double q);

double hist_mean(const struct hist *h);

/* Exposed for the unit test: the bucket of V and the range a bucket covers. */
unsigned hist_index(uint64_t v);
void hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi);

#endif
