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

/* The batch sizes measured: 1, 2, 4, 8, 16, 32 (EPB_BE_SIZE(i) = 1 << i).
 * A batch of 1 is a MOD fused with its wait: one io_uring_enter instead of
 * two syscalls, which pays where a syscall's entry and exit are dear (KPTI
 * without PCID); of connection ops, an ADD fused with one wait and a DEL
 * with its close before the next. */
#define EPB_BE_SIZES 6
#define EPB_BE_SIZE(i) (1U << (i))
/* A batch must be this much faster (percent) to count: beyond the spread
 * of the shim's minimum-of-3 timings. */
#define EPB_BE_MARGIN_PCT 2

/*
 * The shim's policy counts a loop's waits, and decides again, in blocks of
 * this many (past the loop's first two blocks): a block whose epoll_ctl
 * calls per wait reach the break-even is batched, give or take the block it
 * takes to see a change.  epbatch-trace's BPF side keeps each thread's
 * blocks of as many waits by their calls per wait, from which the cost
 * model predicts which of them the shim would batch (docs/cost-model.md).
 */
#define EPB_POLICY_BLOCK 16

/*
 * direct[i], batch[i]: ns per loop iteration of EPB_BE_SIZE(i) ops and a
 * wait, the direct way and batched.  The break-even is the smallest size at
 * which, and at every larger size, the batch is faster by the margin; 0:
 * batching never pays (not even at the largest size).
 */
/* The batch's lead at one size, net of the margin: > 0 where it pays. */
static inline long long epb_be_lead(unsigned long direct, unsigned long batch)
{
	return (long long)direct * (100 - EPB_BE_MARGIN_PCT) - (long long)batch * 100;
}

static inline unsigned epb_break_even(const unsigned long direct[EPB_BE_SIZES],
				      const unsigned long batch[EPB_BE_SIZES])
{
	unsigned be = 0;

	for (int i = EPB_BE_SIZES - 1; i >= 0 && epb_be_lead(direct[i], batch[i]) > 0; i--)
		be = EPB_BE_SIZE(i);
	return be;
}

/*
 * Measuring every size takes milliseconds where syscalls are dear, and it
 * need not: a loop iteration's time is a straight line in its size n, both
 * ways (a fixed part -- the wait, a batch's submission -- and a cost per
 * op), so the batch's lead net of the margin, direct * (100 - margin) -
 * batch * 100, is one too.  When it is positive at two sizes and larger at
 * the larger one, it is at every larger size: the rule's answer is known
 * without them.  A size whose verdict is clear either way (beyond the
 * margin by EPB_BE_CLEAR_PCT) needs fewer runs of its timing.
 */
#define EPB_BE_CLEAR_PCT 15

/* Whether batch is clearly faster or clearly slower than direct. */
static inline int epb_be_clear(unsigned long direct, unsigned long batch)
{
	return batch * 100 <= direct * (100 - EPB_BE_MARGIN_PCT - EPB_BE_CLEAR_PCT) ||
	       batch * 100 >= direct * (100 - EPB_BE_MARGIN_PCT + EPB_BE_CLEAR_PCT);
}

/*
 * Sizes [0, n) are measured: whether the larger ones need not be.  Yes
 * when the batch pays at the last two and its lead grows from one to the
 * other; then epb_break_even_extend() fills in the rest along the lines.
 */
static inline int epb_break_even_settled(const unsigned long direct[EPB_BE_SIZES],
					 const unsigned long batch[EPB_BE_SIZES], int n)
{
	long long a, b;

	if (n < 2 || n >= EPB_BE_SIZES)
		return 0;
	a = epb_be_lead(direct[n - 2], batch[n - 2]);
	b = epb_be_lead(direct[n - 1], batch[n - 1]);
	return a > 0 && b > a;
}

/* Sizes n.. on the lines through sizes n - 2 and n - 1 (settled). */
static inline void epb_break_even_extend(unsigned long direct[EPB_BE_SIZES],
					 unsigned long batch[EPB_BE_SIZES], int n)
{
	double x0 = EPB_BE_SIZE(n - 2), x1 = EPB_BE_SIZE(n - 1);
	double sd = ((double)direct[n - 1] - (double)direct[n - 2]) / (x1 - x0);
	double sb = ((double)batch[n - 1] - (double)batch[n - 2]) / (x1 - x0);

	for (int i = n; i < EPB_BE_SIZES; i++) {
		double dx = EPB_BE_SIZE(i) - x1, dd = (double)direct[n - 1] + sd * dx,
		       bb = (double)batch[n - 1] + sb * dx;

		direct[i] = dd > 0 ? (unsigned long)dd : 0;
		batch[i] = bb > 0 ? (unsigned long)bb : 0;
	}
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
