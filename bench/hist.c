/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Log-bucketed histogram; see hist.h. */
#include "hist.h"

#include <math.h>
#include <string.h>

/*
 * Values below 2*HIST_SUB map to themselves.  Above, with m the index of the
 * highest set bit, shift = m - HIST_SUB_BITS leaves v >> shift in
 * [HIST_SUB, 2*HIST_SUB): the top HIST_SUB_BITS bits after the leading one
 * pick the sub-bucket, and each shift gets HIST_SUB buckets of its own.
 */
unsigned hist_index(uint64_t v)
{
	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	unsigned m = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = m - HIST_SUB_BITS;
	return 2 * HIST_SUB + (shift - 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

void hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi)
{
	if (idx < 2 * HIST_SUB) {
		*lo = *hi = idx;
		return;
	}
	unsigned shift = (idx - 2 * HIST_SUB) / HIST_SUB + 1;
	uint64_t sub = (idx - 2 * HIST_SUB) % HIST_SUB + HIST_SUB;
	*lo = sub << shift;
	*hi = *lo + ((uint64_t)1 << shift) - 1;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_add(struct hist *h, uint64_t v)
{
	h->bucket[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	if (v < h->min)
		h->min = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
	if (src->min < dst->min)
		dst->min = src->min;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	if (rank >= h->count)
		return h->max;	/* the largest value is known exactly */

	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			uint64_t lo, hi, mid;

			hist_bucket_range(i, &lo, &hi);
			mid = lo + (hi - lo) / 2;
			if (mid > h->max)
				mid = h->max;
			if (mid < h->min)
				mid = h->min;
			return mid;
		}
	}
	return h->max;	/* not reached: the buckets sum to count */
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
