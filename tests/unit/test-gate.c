// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The gate's per-metric decision and its pairing of variants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"
#include "gate.h"
#include "base/stats.h"
#include "summary.h"

static int metric(const char *key)
{
	int m = summary_metric_index(key);

	assert_true(m >= 0);
	return m;
}

/*
 * n repeats around `center` with a spread of +-spread, in a fixed scrambled
 * order (so the two sides of a comparison are not sorted alike).
 */
static struct summary_series series(double center, double spread, size_t n, size_t phase)
{
	struct summary_series s = { .n = n };

	s.samples = malloc(n * sizeof(double));
	assert_non_null(s.samples);
	for (size_t i = 0; i < n; i++) {
		size_t k = (i * 7 + phase) % n;	/* 7 is coprime with the n used here */

		s.samples[i] = n == 1 ? center :
			       center + spread * (2.0 * (double)k / (double)(n - 1) - 1);
	}
	s.median = stats_median(s.samples, n);
	return s;
}

static struct gate_result decide(const char *key, struct summary_series b, struct summary_series c)
{
	struct gate_config cfg;
	struct gate_result r;

	gate_config_defaults(&cfg);
	gate_compare_metric(&b, &c, metric(key), &cfg, &r);
	free(b.samples);
	free(c.samples);
	return r;
}

static void test_same_is_ok(void **state)
{
	struct gate_result r;

	(void)state;
	r = decide("rps", series(50000, 2000, 10, 0), series(50000, 2000, 10, 3));
	assert_int_equal(r.verdict, GATE_OK);
	assert_true(r.tested);
	assert_true(r.p > 0.5);
	assert_float_equal(r.change, 0, 1e-9);
}

static void test_rps_loss_regresses(void **state)
{
	struct gate_result r;

	(void)state;
	/* 10% fewer requests per second, 10 repeats each, +-2% noise */
	r = decide("rps", series(50000, 1000, 10, 0), series(45000, 900, 10, 3));
	assert_int_equal(r.verdict, GATE_REGRESSED);
	assert_true(r.p < 0.001);
	assert_float_equal(r.change, -10, 1e-9);
	/* the same change upward is an improvement, not a regression */
	r = decide("rps", series(45000, 900, 10, 0), series(50000, 1000, 10, 3));
	assert_int_equal(r.verdict, GATE_BETTER);
}

static void test_direction_lower_is_better(void **state)
{
	struct gate_result r;

	(void)state;
	r = decide("epoll_syscalls_per_req", series(1.0, 0.01, 5, 0), series(1.2, 0.01, 5, 1));
	assert_int_equal(r.verdict, GATE_REGRESSED);
	r = decide("epoll_syscalls_per_req", series(1.0, 0.01, 5, 0), series(0.05, 0.001, 5, 1));
	assert_int_equal(r.verdict, GATE_BETTER);
	assert_float_equal(r.change, -95, 1e-9);
}

static void test_significant_but_small_is_ok(void **state)
{
	struct gate_result r;

	(void)state;
	/* 2% slower, clearly separated over 20 repeats: real, but under 5% */
	r = decide("rps", series(50000, 100, 20, 0), series(49000, 100, 20, 3));
	assert_true(r.p < 0.001);
	assert_int_equal(r.verdict, GATE_OK);
}

static void test_big_but_noisy_is_not_significant(void **state)
{
	struct gate_result r;
	struct summary_series b = series(50000, 20000, 5, 0), c = series(50000, 20000, 5, 2);

	(void)state;
	/* medians 10% apart, but the repeats overlap almost completely */
	for (size_t i = 0; i < 5; i++)
		c.samples[i] -= 5000;
	c.median = stats_median(c.samples, 5);
	r = decide("rps", b, c);
	assert_true(r.tested);
	assert_true(r.p > 0.05);
	assert_int_equal(r.verdict, GATE_NOISE);
}

static void test_too_few_uses_threshold_alone(void **state)
{
	struct gate_result r;

	(void)state;
	r = decide("rps", series(50000, 100, 3, 0), series(45000, 100, 3, 1));
	assert_true(r.too_few);
	assert_false(r.tested);
	assert_int_equal(r.verdict, GATE_REGRESSED);
	assert_non_null(strstr(r.note, "3 vs 3"));
	r = decide("rps", series(50000, 100, 3, 0), series(49000, 100, 3, 1));
	assert_int_equal(r.verdict, GATE_OK);
	/* one median each (a summary without samples) */
	r = decide("rps", series(50000, 0, 1, 0), series(40000, 0, 1, 0));
	assert_true(r.too_few);
	assert_int_equal(r.verdict, GATE_REGRESSED);
}

static void test_floor_and_zero(void **state)
{
	struct gate_result r;

	(void)state;
	/* 30 ns -> 60 ns of spin per request: +100%, but under the floor */
	r = decide("spin_ns_per_req", series(30, 1, 5, 0), series(60, 1, 5, 1));
	assert_float_equal(r.change, 100, 1e-9);
	assert_int_equal(r.verdict, GATE_OK);
	/* no batching in either: 0 -> 0 is no change */
	r = decide("batch_size", series(0, 0, 5, 0), series(0, 0, 5, 1));
	assert_int_equal(r.verdict, GATE_OK);
	/* batching lost entirely: 8 -> 0 */
	r = decide("batch_size", series(8, 0.5, 5, 0), series(0, 0, 5, 1));
	assert_int_equal(r.verdict, GATE_REGRESSED);
	/* from a zero baseline: infinitely worse */
	r = decide("spin_ns_per_req", series(0, 0, 5, 0), series(5000, 100, 5, 1));
	assert_true(isinf(r.change));
	assert_int_equal(r.verdict, GATE_REGRESSED);
}

static void test_missing_metric(void **state)
{
	struct summary_series none = { .median = NAN };
	struct gate_result r;

	(void)state;
	struct summary_series b = series(1, 0.1, 5, 0);
	struct gate_config cfg;

	(void)state;
	/* defect 11: lost in the candidate fails the gate ... */
	r = decide("p99_ms", series(1, 0.1, 5, 0), none);
	assert_int_equal(r.verdict, GATE_MISSING);
	assert_non_null(strstr(r.note, "candidate"));
	/* ... unless --allow-missing */
	gate_config_defaults(&cfg);
	cfg.allow_missing = true;
	gate_compare_metric(&b, &none, metric("p99_ms"), &cfg, &r);
	assert_int_equal(r.verdict, GATE_NODATA);
	free(b.samples);
	/* absent in the baseline only: no data, not a failure */
	r = decide("p99_ms", none, series(1, 0.1, 5, 0));
	assert_int_equal(r.verdict, GATE_NODATA);
}


/* One verdict engine: gate's significance is compare's, on the same pairs. */
static void test_one_verdict_engine(void **state)
{
	static const double shifts[] = { 0, 0.5, 1, 2, 5, 20 };
	struct gate_config cfg;

	(void)state;
	gate_config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(shifts) / sizeof(*shifts); i++)
		for (size_t n = 3; n <= 8; n++) {
			struct summary_series b = series(100, 3, n, 0), c = series(100 + shifts[i], 3, n, 1);
			struct cmp_metric cm;
			struct gate_result r;

			cmp_metric_alpha(&b, &c, metric("rps"), cfg.alpha, &cm);
			gate_compare_metric(&b, &c, metric("rps"), &cfg, &r);
			assert_int_equal(r.too_few, cm.verdict == CMP_TOO_FEW);
			if (!r.too_few)
				assert_int_equal(r.p <= cfg.alpha,
						 cm.verdict == CMP_BETTER || cm.verdict == CMP_WORSE ||
						 (cm.verdict == CMP_SAME && cm.delta == 0 && cm.p <= cfg.alpha));
			free(b.samples);
			free(c.samples);
		}
}

static void test_thresholds_are_configurable(void **state)
{
	struct summary_series b = series(50000, 100, 10, 0), c = series(47000, 100, 10, 3);
	struct gate_config cfg;
	struct gate_result r;

	(void)state;
	gate_config_defaults(&cfg);
	gate_compare_metric(&b, &c, metric("rps"), &cfg, &r);
	assert_int_equal(r.verdict, GATE_REGRESSED);	/* -6% against 5% */
	cfg.threshold[metric("rps")] = 10;
	gate_compare_metric(&b, &c, metric("rps"), &cfg, &r);
	assert_int_equal(r.verdict, GATE_OK);
	free(b.samples);
	free(c.samples);
}

/* ---- summaries and pairing ---- */

static json_t *doc(const char *text)
{
	json_error_t err;
	json_t *d = json_loads(text, 0, &err);

	assert_non_null(d);
	return d;
}

#define VARIANT(name, rps1, rps2, rps3, rps4)                                        \
	"\"" name "\": {\"runs\": 4, \"rps\": {\"median\": 0, \"samples\": [" #rps1 "," #rps2 \
	"," #rps3 "," #rps4 "]}, \"epoll_syscalls_per_req\": {\"median\": 1.0}}"

static void test_summary_pairing(void **state)
{
	json_t *b = doc("{\"schema\": \"epbatch-summary/1\", \"variants\": {"
			VARIANT("baseline", 100, 101, 99, 100) ","
			VARIANT("preload", 130, 131, 129, 130) ","
			VARIANT("kmod", 140, 141, 139, 140) ","
			VARIANT("unshare", 100, 101, 99, 100) "}}");
	json_t *c = doc("{\"schema\": \"epbatch-summary/1\", \"variants\": {"
			VARIANT("baseline", 100, 102, 99, 100) ","
			VARIANT("preload", 100, 101, 99, 100) "},"
			"\"skipped\": {\"kmod\": \"no /dev/epoll_batch\"}}");
	struct summary sb, sc, one;
	struct gate_config cfg;
	struct gate_report *rep = calloc(1, sizeof(*rep));
	char err[256];

	(void)state;
	assert_non_null(rep);
	gate_config_defaults(&cfg);
	assert_int_equal(summary_from_json(b, "b", NULL, &sb, err, sizeof(err)), 0);
	assert_int_equal(summary_from_json(c, "c", NULL, &sc, err, sizeof(err)), 0);

	assert_int_equal(gate_pair_up(&sb, false, &sc, false, &cfg, rep), 0);
	assert_int_equal(rep->npairs, 2);
	/* preload lost its gain (rps, 4 vs 4 is testable); kmod (skipped, with a
	 * reason) and unshare (not run) vanished: each a regression */
	assert_int_equal(rep->missing, 2);
	assert_string_equal(rep->missing_names[0], "kmod");
	assert_string_equal(rep->missing_names[1], "unshare");
	assert_int_equal(rep->regressions, 3);
	assert_int_equal(rep->nnotes, 2);
	assert_non_null(strstr(rep->notes[0], "no /dev/epoll_batch"));

	/* one variant against its namesake */
	memset(rep, 0, sizeof(*rep));
	assert_int_equal(summary_from_json(b, "b", "preload", &one, err, sizeof(err)), 0);
	assert_int_equal(gate_pair_up(&one, true, &sc, false, &cfg, rep), 0);
	assert_int_equal(rep->npairs, 1);
	assert_int_equal(rep->regressions, 1);
	/* FILE:VARIANT on both sides: any two variants (baseline vs preload) */
	memset(rep, 0, sizeof(*rep));
	assert_int_equal(gate_pair_up(&one, true, &sb, true, &cfg, rep), 0);
	assert_string_equal(rep->pairs[0].cand_variant, "baseline");
	assert_int_equal(rep->regressions, 1);
	summary_free(&one);
	/* the namesake is missing: nothing to compare */
	memset(rep, 0, sizeof(*rep));
	assert_int_equal(summary_from_json(b, "b", "unshare", &one, err, sizeof(err)), 0);
	assert_int_equal(gate_pair_up(&one, true, &sc, false, &cfg, rep), -1);
	summary_free(&one);

	summary_free(&sb);
	summary_free(&sc);
	json_decref(b);
	json_decref(c);
	free(rep);
}

/* defect 12: summaries of different workloads are told apart */
static void test_workload_differs(void **state)
{
	json_t *a = doc("{\"schema\": \"epbatch-summary/1\", \"workload\": {\"server\": \"epbatch-bench-server\","
			"\"mode\": \"oneshot\", \"duration_s\": 5, \"repeat\": 3}, \"variants\": {"
			VARIANT("baseline", 100, 101, 99, 100) "}}");
	json_t *b = doc("{\"schema\": \"epbatch-summary/1\", \"workload\": {\"server\": \"epbatch-bench-server\","
			"\"mode\": \"oneshot\", \"duration_s\": 3, \"repeat\": 8}, \"variants\": {"
			VARIANT("baseline", 100, 101, 99, 100) "}}");
	json_t *c = doc("{\"schema\": \"epbatch-summary/1\", \"workload\": {\"server\": \"nginx -c x\","
			"\"mode\": \"custom\"}, \"variants\": {"
			VARIANT("baseline", 100, 101, 99, 100) "}}");
	struct summary sa, sb, sc;
	char err[256], why[256];

	(void)state;
	assert_int_equal(summary_from_json(a, "a", NULL, &sa, err, sizeof(err)), 0);
	assert_int_equal(summary_from_json(b, "b", NULL, &sb, err, sizeof(err)), 0);
	assert_int_equal(summary_from_json(c, "c", NULL, &sc, err, sizeof(err)), 0);
	/* duration and repeats are how, not what */
	assert_int_equal(summary_workload_differs(&sa, &sb, why, sizeof(why)), 0);
	assert_int_equal(summary_workload_differs(&sa, &sc, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "nginx"));
	summary_free(&sa);
	summary_free(&sb);
	summary_free(&sc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_is_ok),
		cmocka_unit_test(test_rps_loss_regresses),
		cmocka_unit_test(test_direction_lower_is_better),
		cmocka_unit_test(test_significant_but_small_is_ok),
		cmocka_unit_test(test_big_but_noisy_is_not_significant),
		cmocka_unit_test(test_too_few_uses_threshold_alone),
		cmocka_unit_test(test_floor_and_zero),
		cmocka_unit_test(test_missing_metric),
		cmocka_unit_test(test_one_verdict_engine),
		cmocka_unit_test(test_workload_differs),
		cmocka_unit_test(test_thresholds_are_configurable),
		cmocka_unit_test(test_summary_pairing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
