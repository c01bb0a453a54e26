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

/*
 * The break-evens the shim measures, in this order: MOD loops with a wait
 * that may block and with a 0-timeout wait, connection ops (ADD, DEL with
 * its close).  Its stats line (EPBATCH_STATS) reports each as
 * " KEY=N|never|-", KEY from epb_break_key(); epbatch-trace calibrate reads
 * them back from there.
 */
enum epb_break_kind { EPB_BRK_BLOCK, EPB_BRK_POLL, EPB_BRK_CONN, EPB_BRK_KINDS };
static inline const char *epb_break_key(enum epb_break_kind k)
{
	return k == EPB_BRK_BLOCK ? "min_batch" : k == EPB_BRK_POLL ? "min_batch_poll" : "min_batch_conn";
}

/* The batch sizes measured: 2, 4, 8, 16, 32 (EPB_BE_SIZE(i) = 2 << i). */
#define EPB_BE_SIZES 5
#define EPB_BE_SIZE(i) (2U << (i))
/* A batch must be this much faster (percent) to count: beyond the spread
 * of the shim's minimum-of-3 timings. */
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

/*
 * The break-even of a loop whose ops are MODs, break-even be_mod, and, a
 * share of them (x 256), connection ops (ADD, DEL with its close),
 * break-even be_conn (0: never, for either): each op of a kind pays 1/its
 * break-even of a batch's fixed cost, so the mix pays from
 * 1 / ((1 - share) / be_mod + share / be_conn) ops on, rounded up.
 * 0: never.  The shim (policy.c) applies it to each loop's own mix, the
 * cost model (costmodel.c) to the traced thread's.
 */
#define EPB_SHARE_ONE 256U
static inline unsigned epb_mix_break_even(unsigned be_mod, unsigned be_conn, unsigned share)
{
	unsigned long long num, den, r;

	if (share > EPB_SHARE_ONE)
		share = EPB_SHARE_ONE;
	if (!be_conn || !share) {
		if (!be_mod || share == EPB_SHARE_ONE)
			return 0;
		num = (unsigned long long)be_mod * EPB_SHARE_ONE;
		den = EPB_SHARE_ONE - share;
	} else if (!be_mod) {
		num = (unsigned long long)be_conn * EPB_SHARE_ONE;
		den = share;
	} else {
		num = (unsigned long long)be_mod * be_conn * EPB_SHARE_ONE;
		den = (unsigned long long)(EPB_SHARE_ONE - share) * be_conn +
		      (unsigned long long)share * be_mod;
	}
	r = (num + den - 1) / den;
	return r >= 0xffffffffULL ? 0 : (unsigned)r;
}

#endif
