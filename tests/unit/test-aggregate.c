// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-thread deltas, totals and the method-dependent spin time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "opts.h"
#include "aggregate.h"
#include "report.h"
#include "session.h"

static struct epb_thread mk(uint32_t tid, uint64_t add, uint64_t wait, uint64_t spin_ns,
			    uint64_t slow_samples)
{
	struct epb_thread t = { .tid = tid, .tgid = 100 };

	strcpy(t.comm, "worker");
	t.ctl[EPB_CTL_ADD] = add;
	t.ctl[EPB_CTL_MOD] = 2 * add;
	t.ctl_err[EPB_CTL_MOD] = 1;
	t.wait = wait;
	t.spin_ns = spin_ns;
	t.spin_count = spin_ns ? 3 : 0;
	t.slow_samples = slow_samples;
	t.kmod_submit = 4;
	t.uring_enter = 6;
	return t;
}

static void test_delta_exact(void **state)
{
	struct epb_thread prev = mk(5, 10, 7, 1000, 2), cur = mk(5, 25, 17, 4000, 9);
	struct thread_stats d;

	(void)state;
	thread_delta(&cur, &prev, SPIN_FENTRY, 0, &d);
	assert_int_equal(d.tid, 5);
	assert_int_equal(d.ctl[EPB_CTL_ADD], 15);
	assert_int_equal(d.ctl[EPB_CTL_MOD], 30);
	assert_int_equal(d.ctl_err[EPB_CTL_MOD], 0);
	assert_int_equal(d.wait, 10);
	assert_int_equal(d.spin_ns, 3000);
	assert_int_equal(stats_ctl_total(&d), 45);
	/* batch submissions: module ioctls plus io_uring_enter */
	thread_delta(&cur, NULL, SPIN_FENTRY, 0, &d);
	assert_int_equal(d.batch_submits, 10);
}

static void test_sample_time_is_estimated(void **state)
{
	struct epb_thread cur = mk(5, 1, 1, 999999, 8);
	struct thread_stats d;

	(void)state;
	thread_delta(&cur, NULL, SPIN_SAMPLE, 250000.0, &d);
	assert_int_equal(d.spin_ns, 8 * 250000);	/* samples x period, not the exact field */
	assert_int_equal(d.spin_count, 0);
	thread_delta(&cur, NULL, SPIN_KPROBE, 250000.0, &d);
	assert_int_equal(d.spin_ns, 999999);
}

static void test_totals_and_activity(void **state)
{
	struct epb_thread a = mk(1, 3, 4, 10, 0), b = mk(2, 5, 6, 20, 0), idle = { .tid = 3 };
	struct thread_stats da, db, di, sum = {};

	(void)state;
	thread_delta(&a, NULL, SPIN_FENTRY, 0, &da);
	thread_delta(&b, NULL, SPIN_FENTRY, 0, &db);
	thread_delta(&idle, NULL, SPIN_FENTRY, 0, &di);
	stats_add(&sum, &da);
	stats_add(&sum, &db);
	stats_add(&sum, &di);
	assert_int_equal(sum.ctl[EPB_CTL_ADD], 8);
	assert_int_equal(sum.wait, 10);
	assert_int_equal(sum.spin_ns, 30);
	assert_int_equal(sum.spin_count, 6);
	assert_true(stats_active(&da));
	assert_false(stats_active(&di));
}

static void test_snapshot(void **state)
{
	struct epb_thread arr[3] = { mk(0, 0, 0, 0, 0), mk(1, 1, 1, 1, 1), mk(2, 2, 2, 2, 2) };
	struct snapshot s = {};

	(void)state;
	assert_int_equal(snapshot_take(&s, arr, 3, 1.5), 0);
	arr[1].wait = 99;	/* a copy, not a view */
	assert_int_equal(s.n, 3);
	assert_int_equal(s.t[1].wait, 1);
	assert_int_equal(snapshot_take(&s, arr, 0, 2.0), 0);
	assert_int_equal(s.n, 0);
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_exact),
		cmocka_unit_test(test_sample_time_is_estimated),
		cmocka_unit_test(test_totals_and_activity),
		cmocka_unit_test(test_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
