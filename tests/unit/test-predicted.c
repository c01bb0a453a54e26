// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cost model's own test in run's reports (compare.c, verdicts.c): a
 * variant's "predicted" change (the baseline's what_if) against its measured
 * median and 95% interval, on fixed summaries: agrees, disagrees, not
 * predicted (a reason recorded; the metric not measured; an older summary
 * without predictions, which gets no line and no table).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"
#include "summary.h"

/*
 * baseline: CPU 10 us/req, 1.0 epoll syscalls/req.  preload: predicted -2 us
 * (8, inside [7.5, 8.5]: agrees) and -0.9 syscalls (0.1, outside [0.45,
 * 0.55]: disagrees).  unshare: no CPU figure (no spin method), syscalls 0
 * change (agrees).  kmod: predicted, but its CPU time was not measured.
 * drift: no change predicted, its CPU a little above the baseline's.
 */
static const char with_pred[] =
	"{\"schema\": \"epbatch-summary/1\", \"variants\": {"
	"  \"baseline\": {\"runs\": 3,"
	"    \"cpu_us_per_req\": {\"median\": 10, \"ci95\": [9.5, 10.5], \"samples\": [9.5, 10, 10.5]},"
	"    \"epoll_syscalls_per_req\": {\"median\": 1.0, \"ci95\": [0.99, 1.01], \"samples\": [0.99, 1.0, 1.01]}},"
	"  \"preload\": {\"runs\": 3,"
	"    \"cpu_us_per_req\": {\"median\": 8, \"ci95\": [7.5, 8.5], \"samples\": [7.5, 8, 8.5]},"
	"    \"epoll_syscalls_per_req\": {\"median\": 0.5, \"ci95\": [0.45, 0.55], \"samples\": [0.45, 0.5, 0.55]},"
	"    \"predicted\": {"
	"      \"cpu_us_per_req\": {\"change\": -2.0, \"value\": 8.0, \"baseline\": 10, \"from\": \"baseline what_if batch:uring\"},"
	"      \"epoll_syscalls_per_req\": {\"change\": -0.9, \"value\": 0.1, \"baseline\": 1.0, \"from\": \"baseline what_if batch:uring\"}}},"
	"  \"unshare\": {\"runs\": 3,"
	"    \"cpu_us_per_req\": {\"median\": 9.9, \"ci95\": [9.4, 10.4], \"samples\": [9.4, 9.9, 10.4]},"
	"    \"epoll_syscalls_per_req\": {\"median\": 1.0, \"ci95\": [0.98, 1.02], \"samples\": [0.98, 1.0, 1.02]},"
	"    \"predicted\": {"
	"      \"cpu_us_per_req\": {\"change\": null, \"value\": null, \"from\": \"baseline what_if unshare\","
	"                         \"why\": \"what_if unshare has no figure: no spin method ran\"},"
	"      \"epoll_syscalls_per_req\": {\"change\": 0, \"value\": 1.0, \"baseline\": 1.0, \"from\": \"baseline what_if unshare\"}}},"
	"  \"kmod\": {\"runs\": 3,"
	"    \"epoll_syscalls_per_req\": {\"median\": 0.5, \"ci95\": [0.5, 0.5], \"samples\": [0.5, 0.5, 0.5]},"
	"    \"predicted\": {"
	"      \"cpu_us_per_req\": {\"change\": -1.0, \"value\": 9.0, \"baseline\": 10, \"from\": \"baseline what_if batch:kmod\"}}},"
	"  \"drift\": {\"runs\": 3,"
	"    \"cpu_us_per_req\": {\"median\": 10.4, \"ci95\": [10.3, 10.45], \"samples\": [10.3, 10.4, 10.45]},"
	"    \"predicted\": {"
	"      \"cpu_us_per_req\": {\"change\": 0, \"value\": 10, \"baseline\": 10, \"from\": \"baseline what_if drift\"}}}"
	"}}";

static const char without_pred[] =
	"{\"schema\": \"epbatch-summary/1\", \"variants\": {"
	"  \"baseline\": {\"runs\": 3,"
	"    \"cpu_us_per_req\": {\"median\": 10, \"ci95\": [9.5, 10.5], \"samples\": [9.5, 10, 10.5]}},"
	"  \"preload\": {\"runs\": 3,"
	"    \"cpu_us_per_req\": {\"median\": 8, \"ci95\": [7.5, 8.5], \"samples\": [7.5, 8, 8.5]}}}}";

static void load(const char *text, struct summary *s)
{
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	char err[512];

	assert_non_null(doc);
	assert_int_equal(summary_from_json(doc, "fixed.json", NULL, s, err, sizeof(err)), 0);
	json_decref(doc);
}

static void test_pred_verdicts(void **state)
{
	const struct summary_variant *base;
	struct summary s;
	struct cmp_pred p;
	char buf[512];

	(void)state;
	load(with_pred, &s);
	base = summary_find(&s, "baseline");
	/* agrees: -2 in the measured change's interval [-3, -1] */
	cmp_predicted(summary_find(&s, "preload"), base, SM_CPU_US_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_AGREES);
	/* the measured change and its interval: 7.5..8.5 less 9.5..10.5 */
	assert_float_equal(p.shift, -2.0, 1e-12);
	assert_float_equal(p.slo, -3.0, 1e-12);
	assert_float_equal(p.shi, -1.0, 1e-12);
	assert_float_equal(p.change, -2.0, 1e-12);
	assert_float_equal(p.value, 8.0, 1e-12);
	assert_string_equal(p.from, "baseline what_if batch:uring");
	cmp_pred_text(&p, SM_CPU_US_PER_REQ, buf, sizeof(buf));
	assert_string_equal(buf, "agrees");
	/* disagrees: -0.9 outside [-0.56, -0.44], the numbers in the words */
	cmp_predicted(summary_find(&s, "preload"), base, SM_EPOLL_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_DISAGREES);
	cmp_pred_text(&p, SM_EPOLL_PER_REQ, buf, sizeof(buf));
	assert_string_equal(buf, "disagrees (predicted change -0.900, measured -0.500 [-0.560, -0.440])");
	/* without the baseline's runs: the predicted value against the
	 * variant's own interval, as summaries loaded as FILE:VARIANT are */
	cmp_predicted(summary_find(&s, "preload"), NULL, SM_EPOLL_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_DISAGREES);
	assert_true(isnan(p.shift));
	cmp_pred_text(&p, SM_EPOLL_PER_REQ, buf, sizeof(buf));
	assert_string_equal(buf, "disagrees (predicted 0.100, measured 0.500 [0.450, 0.550])");
	/* the baseline's own spread counts (make demo, 3 runs each, showed
	 * this for every variant): drift, predicted to change nothing, ran at
	 * 10.3..10.45 against a baseline at 9.5..10.5; the measured change's
	 * interval [-0.2, +0.95] holds 0 (agrees), while the predicted value
	 * 10 is outside the variant's own 10.3..10.45 */
	cmp_predicted(summary_find(&s, "drift"), base, SM_CPU_US_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_AGREES);
	cmp_predicted(summary_find(&s, "drift"), NULL, SM_CPU_US_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_DISAGREES);
	/* not predicted: the recorded reason */
	cmp_predicted(summary_find(&s, "unshare"), base, SM_CPU_US_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_NONE);
	assert_true(isnan(p.change));
	cmp_pred_text(&p, SM_CPU_US_PER_REQ, buf, sizeof(buf));
	assert_string_equal(buf, "not predicted: what_if unshare has no figure: no spin method ran");
	/* a zero change is a prediction (unshare changes no syscall count) */
	cmp_predicted(summary_find(&s, "unshare"), base, SM_EPOLL_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_AGREES);
	/* predicted, not measured */
	cmp_predicted(summary_find(&s, "kmod"), base, SM_CPU_US_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_NONE);
	assert_non_null(strstr(p.why, "not measured"));
	/* the metric has no prediction in the object */
	cmp_predicted(summary_find(&s, "kmod"), base, SM_EPOLL_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_NONE);
	assert_string_equal(p.why, "the summary has no prediction for this metric");
	/* the reference itself has none */
	cmp_predicted(base, base, SM_CPU_US_PER_REQ, &p);
	assert_int_equal(p.verdict, PRED_NONE);
	summary_free(&s);
}

static void test_pred_reports(void **state)
{
	struct summary *s = calloc(1, sizeof(*s));
	struct cmp_view v;
	struct cmp_table t;
	char err[512], line[1024], *md = NULL;
	size_t mdlen = 0;
	FILE *f;

	(void)state;
	assert_non_null(s);
	load(with_pred, s);
	assert_int_equal(cmp_view_build(&v, s, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(v.npairs, 4);
	/* the pairs carry the engine's result */
	assert_int_equal(v.pairs[0].pred[0].verdict, PRED_AGREES);	/* preload CPU */
	assert_int_equal(v.pairs[0].pred[1].verdict, PRED_DISAGREES);	/* preload syscalls */
	assert_int_equal(cmp_pred_line(&v, &v.pairs[0], line, sizeof(line)), 1);
	assert_string_equal(line, "preload: cost model vs measured: server CPU us/req agrees; "
			    "epoll syscalls/req disagrees (predicted change -0.900, measured -0.500 "
			    "[-0.560, -0.440])");
	assert_int_equal(cmp_pred_line(&v, &v.pairs[1], line, sizeof(line)), 1);
	assert_non_null(strstr(line, "server CPU us/req not predicted: what_if unshare has no figure"));
	/* the table: a row per pair and metric, predicted and measured change side by side */
	assert_int_equal(cmp_pred_table(&v, &t), 0);
	assert_int_equal(t.rows, 1 + 4 * CMP_NPRED);
	assert_string_equal(t.cell[0 * t.cols + 3], "predicted change");
	assert_string_equal(t.cell[0 * t.cols + 4], "measured change [95% interval]");
	assert_string_equal(t.cell[1 * t.cols + 0], "preload");
	assert_string_equal(t.cell[1 * t.cols + 2], "10.00");	/* baseline */
	assert_string_equal(t.cell[1 * t.cols + 3], "-2.00");
	assert_string_equal(t.cell[1 * t.cols + 4], "-2.00 [-3.00, -1.00]");
	assert_string_equal(t.cell[1 * t.cols + 6], "8.00 [7.50, 8.50]");
	assert_string_equal(t.cell[1 * t.cols + 7], "agrees");
	assert_string_equal(t.cell[2 * t.cols + 7], "disagrees");
	cmp_table_free(&t);
	/* report.md's form has the table and the verdict line */
	f = open_memstream(&md, &mdlen);
	assert_non_null(f);
	cmp_print_summary(f, &v, true);
	cmp_print(f, &v, true);
	fclose(f);
	assert_non_null(strstr(md, "- preload: cost model vs measured: server CPU us/req agrees"));
	assert_non_null(strstr(md, "**the cost model: predicted"));
	free(md);
	cmp_view_free(&v);
	free(s);

	/* an older summary: no line, no table */
	s = calloc(1, sizeof(*s));
	assert_non_null(s);
	load(without_pred, s);
	assert_int_equal(cmp_view_build(&v, s, 1, NULL, err, sizeof(err)), 0);
	assert_int_equal(cmp_pred_line(&v, &v.pairs[0], line, sizeof(line)), 0);
	assert_int_equal(v.pairs[0].pred[0].verdict, PRED_NONE);
	assert_int_equal(cmp_pred_table(&v, &t), 0);
	assert_int_equal(t.rows, 1);
	cmp_table_free(&t);
	md = NULL;
	f = open_memstream(&md, &mdlen);
	assert_non_null(f);
	cmp_print(f, &v, true);
	fclose(f);
	assert_null(strstr(md, "cost model"));
	free(md);
	cmp_view_free(&v);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pred_verdicts),
		cmocka_unit_test(test_pred_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
