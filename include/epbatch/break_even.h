/* SPDX-License-Identifier: MIT */
/*
 * The one rule that decides batching's break-even batch size, shared by
 * libepbatch.so (policy.c applies it to what it measures through its own
 * paths at first use) and epbatch-trace (costmodel.c applies it only where
 * the shim cannot measure: the module's costs estimated on a machine without
 * /dev/epoll_batch).  `epbatch-trace calibrate` takes a present backend's
 * break-even from the shim itself (its stats line), so both report the same.
 */
#ifndef EPBATCH_BREAK_EVEN_H
#define EPBATCH_BREAK_EVEN_H

/* The batch sizes measured: 2, 4, 8, 16, 32 (EPB_BE_SIZE(i) = 2 << i). */
#define EPB_BE_SIZES 5
#define EPB_BE_SIZE(i) (2U << (i))
/* A batch must be this much faster (percent) to count: beyond the spread
 * of the shim's minimum-of-5 timings. */
#define EPB_BE_MARGIN_PCT 2

/*
 * direct[i], batch[i]: ns per loop iteration of EPB_BE_SIZE(i) ops and a
 * wait, the direct way and batched.  The break-even is the smallest size at
 * which, and at every larger size, the batch is faster by the margin; 0:
 * batching never pays (not even at the largest size).
 */
static inline unsigned epb_break_even(const unsigned long direct[EPB_BE_SIZES],
				      const unsigned long batch[EPB_BE_SIZES])
{
	unsigned be = 0;

	for (int i = EPB_BE_SIZES - 1; i >= 0 && batch[i] * 100 < direct[i] * (100 - EPB_BE_MARGIN_PCT); i--)
		be = EPB_BE_SIZE(i);
	return be;
}

#endif
