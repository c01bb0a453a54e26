// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The break-even rules of include/epbatch/break_even.h, shared by the shim
 * (policy.c) and the cost model (costmodel.c), on values worked out by
 * hand.  epb_mix_break_even(mod, conn, share): 1 / ((1 - s) / mod + s /
 * conn) with s = share / 256, rounded up; 0 (never) on either side drops
 * that side's term; 0 out: never.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "epbatch/break_even.h"

#define HALF (EPB_SHARE_ONE / 2)

static void test_pure_mod(void **state)
{
	(void)state;
	/* no connection ops: the MOD break-even, whatever the other one */
	assert_int_equal(epb_mix_break_even(4, 8, 0), 4);
	assert_int_equal(epb_mix_break_even(4, 0, 0), 4);
	assert_int_equal(epb_mix_break_even(32, 2, 0), 32);
	assert_int_equal(epb_mix_break_even(0, 2, 0), 0);
}

static void test_pure_conn(void **state)
{
	(void)state;
	/* only connection ops: their break-even, whatever the MOD one */
	assert_int_equal(epb_mix_break_even(4, 8, EPB_SHARE_ONE), 8);
	assert_int_equal(epb_mix_break_even(0, 8, EPB_SHARE_ONE), 8);
	assert_int_equal(epb_mix_break_even(2, 0, EPB_SHARE_ONE), 0);
	/* a share above one is one */
	assert_int_equal(epb_mix_break_even(2, 16, 1000), 16);
	assert_int_equal(epb_mix_break_even(2, 0, 1000), 0);
}

static void test_never(void **state)
{
	(void)state;
	/* never on both sides: never, for any mix */
	for (unsigned s = 0; s <= EPB_SHARE_ONE; s += 32)
		assert_int_equal(epb_mix_break_even(0, 0, s), 0);
	/* connection ops never pay: the MODs carry the batch's fixed cost
	 * alone, 4 / (1 - 1/2) = 8; a quarter conn: 4 / (3/4) = 5.33 -> 6 */
	assert_int_equal(epb_mix_break_even(4, 0, HALF), 8);
	assert_int_equal(epb_mix_break_even(4, 0, EPB_SHARE_ONE / 4), 6);
	/* MODs never pay: 8 / (1/2) = 16 */
	assert_int_equal(epb_mix_break_even(0, 8, HALF), 16);
	/* one MOD in 256 with MODs alone paying: 2 x 256 = 512 (no overflow,
	 * larger than any queue: the caller's b never reaches it) */
	assert_int_equal(epb_mix_break_even(2, 0, EPB_SHARE_ONE - 1), 512);
}

static void test_half(void **state)
{
	(void)state;
	/* equal break-evens: that one, for any mix */
	assert_int_equal(epb_mix_break_even(4, 4, HALF), 4);
	assert_int_equal(epb_mix_break_even(2, 2, 77), 2);
	/* 1 / (1/(2 x 2) + 1/(2 x 8)) = 16/5 = 3.2: rounded up, 4 */
	assert_int_equal(epb_mix_break_even(2, 8, HALF), 4);
	/* 1 / (1/4 + 1/8) = 8/3 = 2.67: 3 */
	assert_int_equal(epb_mix_break_even(2, 4, HALF), 3);
	/* symmetric in the two kinds at a half share */
	assert_int_equal(epb_mix_break_even(8, 2, HALF), 4);
}

static void test_rounding(void **state)
{
	(void)state;
	/* exact results are not rounded up: 1 / (3/4 / 3 + 1/4 / 1) = 2 */
	assert_int_equal(epb_mix_break_even(3, 1, EPB_SHARE_ONE / 4), 2);
	/* just above an integer goes to the next: 2 x 256 / 255 = 2.008 -> 3 */
	assert_int_equal(epb_mix_break_even(2, 0, 1), 3);
	/* 32 and 2, a third conn (85/256): 32 x 2 x 256 / (171 x 2 + 85 x 32) = 5.35 -> 6 */
	assert_int_equal(epb_mix_break_even(32, 2, 85), 6);
}

/* epb_break_even: the smallest size from which every larger one is 2% faster */
static void test_break_even(void **state)
{
	unsigned long d[EPB_BE_SIZES] = { 50, 100, 200, 400, 800, 1600 };
	unsigned long x[EPB_BE_SIZES] = { 60, 99, 190, 390, 700, 1500 };

	(void)state;
	/* sizes 1, 2, 4, 8, 16, 32 */
	assert_int_equal(EPB_BE_SIZE(0), 1);
	assert_int_equal(EPB_BE_SIZE(EPB_BE_SIZES - 1), 32);
	/* size 2: 99 is not 2% below 100; 4 and above are */
	assert_int_equal(epb_break_even(d, x), 4);
	/* a single op fused with its wait pays too (a dear syscall): 1 */
	x[0] = 30;
	x[1] = 60;
	assert_int_equal(epb_break_even(d, x), 1);
	/* a size in the middle that does not pay: from above it */
	x[3] = 400;
	assert_int_equal(epb_break_even(d, x), 16);
	/* the largest does not pay: never */
	x[5] = 1600;
	assert_int_equal(epb_break_even(d, x), 0);
}

/* Settled early: clearly faster at two sizes with a growing lead */
static void test_settled(void **state)
{
	/* direct 1000 + 1000 n, batch 600 + 200 n: 2000/800, 3000/1000 */
	unsigned long d[EPB_BE_SIZES] = { 2000, 3000 }, x[EPB_BE_SIZES] = { 800, 1000 };
	unsigned long d2[EPB_BE_SIZES] = { 2000, 3000 }, x2[EPB_BE_SIZES] = { 1900, 1000 };

	(void)state;
	/* one size is not enough */
	assert_false(epb_break_even_settled(d, x, 1));
	assert_true(epb_break_even_settled(d, x, 2));
	epb_break_even_extend(d, x, 2);
	/* along the lines: at 4, 5000 and 1400; at 32, 33000 and 7000 */
	assert_int_equal(d[2], 5000);
	assert_int_equal(x[2], 1400);
	assert_int_equal(d[5], 33000);
	assert_int_equal(x[5], 7000);
	assert_int_equal(epb_break_even(d, x), 1);
	/* not faster by the margin at one of them (1980 against 2000): on */
	x2[0] = 1980;
	assert_false(epb_break_even_settled(d2, x2, 2));
	/* 5% faster there, and the lead grows: settled */
	x2[0] = 1900;
	assert_true(epb_break_even_settled(d2, x2, 2));
	/* a lead that shrinks (the batch's cost per op is the higher): on */
	x2[0] = 400;
	x2[1] = 1700;
	assert_true(epb_be_clear(d2[1], x2[1]));
	assert_false(epb_break_even_settled(d2, x2, 2));
	/* all sizes measured: nothing left to settle */
	assert_false(epb_break_even_settled(d, x, EPB_BE_SIZES));
	/* a clear verdict either way; a close one is not */
	assert_true(epb_be_clear(1000, 500));
	assert_true(epb_be_clear(1000, 1200));
	assert_false(epb_be_clear(1000, 950));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pure_mod),
		cmocka_unit_test(test_pure_conn),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_half),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_break_even),
		cmocka_unit_test(test_settled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
