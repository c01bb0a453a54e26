// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * summary.c (reading and building epbatch-summary/1) and the comparison of
 * compare.c: FILE and FILE:VARIANT, every kind of bad input, the verdicts
 * (better/worse by the metric's direction, no change, too few repeats) and
 * the pairing rules of cmp_view_build.
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
#include <unistd.h>
#include "compare.h"
#include "summary.h"

static char dir[] = "/tmp/test-summary.XXXXXX";

static const char *write_tmp(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	FILE *f;

	snprintf(p, 256, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* A summary with baseline (rps 100..104, syscalls 1.0) and preload. */
static const char good[] =
	"{\"schema\": \"epbatch-summary/1\", \"machine\": {\"cpus\": 2},"
	" \"variants\": {"
	"  \"baseline\": {\"runs\": 5,"
	"    \"rps\": {\"median\": 102, \"ci95\": [100, 104], \"samples\": [100, 101, 102, 103, 104]},"
	"    \"epoll_syscalls_per_req\": {\"median\": 1.0, \"ci95\": [1, 1], \"samples\": [1.0, 1.01, 0.99, 1.0, 1.02]}},"
	"  \"preload\": {\"runs\": 5, \"backend\": \"uring\","
	"    \"rps\": {\"median\": 130, \"ci95\": [128, 132], \"samples\": [128, 129, 130, 131, 132]},"
	"    \"epoll_syscalls_per_req\": {\"median\": 0.05, \"ci95\": [0.04, 0.06], \"samples\": [0.04, 0.05, 0.05, 0.06, 0.05]},"
	"    \"batch_size\": {\"median\": 4.8, \"samples\": [4.8, 4.7, 4.9, 4.8, 4.8]}}},"
	" \"skipped\": {\"kmod\": \"no /dev/epoll_batch: the module is not loaded\"}}";

static void test_load_file(void **state)
{
	struct summary s;
	char err[512];
	const struct summary_variant *b, *p;

	(void)state;
	assert_int_equal(summary_load(write_tmp("good.json", good), &s, err, sizeof(err)), 0);
	assert_int_equal(s.nv, 2);
	b = summary_find(&s, "baseline");
	p = summary_find(&s, "preload");
	assert_non_null(b);
	assert_non_null(p);
	assert_int_equal(b->runs, 5);
	assert_int_equal(b->m[SM_RPS].n, 5);
	assert_float_equal(b->m[SM_RPS].median, 102, 1e-9);
	assert_float_equal(b->m[SM_RPS].ci[0], 100, 1e-9);
	assert_int_equal(b->m[SM_BATCH_SIZE].n, 0);	/* absent */
	assert_int_equal(p->m[SM_BATCH_SIZE].n, 5);
	/* no ci95 in the file: computed from the samples */
	assert_true(p->m[SM_BATCH_SIZE].ci[0] <= 4.8 && p->m[SM_BATCH_SIZE].ci[1] >= 4.8);
	assert_string_equal(summary_skip_reason(&s, "kmod"), "no /dev/epoll_batch: the module is not loaded");
	assert_null(summary_skip_reason(&s, "preload"));
	summary_free(&s);
}

static void test_load_variant(void **state)
{
	struct summary s;
	char err[512], spec[512];

	(void)state;
	snprintf(spec, sizeof(spec), "%s:preload", write_tmp("good.json", good));
	assert_int_equal(summary_load(spec, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nv, 1);
	assert_string_equal(s.v[0].name, "preload");
	summary_free(&s);

	snprintf(spec, sizeof(spec), "%s:turbo", write_tmp("good.json", good));
	assert_int_equal(summary_load(spec, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no variant 'turbo'"));
	snprintf(spec, sizeof(spec), "%s:kmod", write_tmp("good.json", good));
	assert_int_equal(summary_load(spec, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "skipped: no /dev/epoll_batch"));
}

static void test_bad_input(void **state)
{
	struct summary s;
	char err[512];

	(void)state;
	assert_int_equal(summary_load("/nonexistent/summary.json", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read /nonexistent/summary.json"));
	assert_int_equal(summary_load(write_tmp("bad.json", "{\"schema\": "), &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "malformed JSON"));
	assert_int_equal(summary_load(write_tmp("bad.json", "{\"schema\": \"epbatch/1\"}"), &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an epbatch-summary/1 file"));
	assert_int_equal(summary_load(write_tmp("bad.json", "{\"schema\": \"epbatch-summary/1\"}"), &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no \"variants\""));
	assert_int_equal(summary_load(write_tmp("bad.json",
		"{\"schema\": \"epbatch-summary/1\", \"variants\": {\"a\": {\"rps\": {\"samples\": [1, \"x\"]}}}}"),
		&s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a.rps.samples[1] is not a number"));
	/* no newline: callers print it as one line */
	assert_null(strchr(err, '\n'));
}

static void test_series_json(void **state)
{
	const double x[] = { 3, 1, 2, 5, 4 };
	json_t *o;

	(void)state;
	assert_null(summary_series_json(x, 0));
	o = summary_series_json(x, 5);
	assert_float_equal(json_number_value(json_object_get(o, "median")), 3, 1e-9);
	assert_int_equal(json_array_size(json_object_get(o, "samples")), 5);
	assert_true(json_number_value(json_array_get(json_object_get(o, "ci95"), 0)) <= 3);
	assert_true(json_number_value(json_array_get(json_object_get(o, "ci95"), 1)) >= 3);
	json_decref(o);
}

static void series(struct summary_series *s, const double *x, size_t n)
{
	assert_int_equal(summary_series_set(s, x, n), 0);
}

static void test_verdicts(void **state)
{
	const double lo[] = { 100, 101, 102, 103, 104 }, hi[] = { 130, 131, 132, 133, 134 };
	const double mix[] = { 99, 102, 104, 101, 103 };
	struct summary_series a, b, c, two, none = { 0 };
	struct cmp_metric r;

	(void)state;
	series(&a, lo, 5);
	series(&b, hi, 5);
	series(&c, mix, 5);
	series(&two, hi, 2);
	/* rps: higher is better */
	cmp_metric(&a, &b, SM_RPS, &r);
	assert_int_equal(r.verdict, CMP_BETTER);
	assert_float_equal(r.ratio, 132.0 / 102.0, 1e-9);
	assert_true(r.p < 0.05);
	/* syscalls per request: the same rise is worse */
	cmp_metric(&a, &b, SM_EPOLL_PER_REQ, &r);
	assert_int_equal(r.verdict, CMP_WORSE);
	cmp_metric(&a, &c, SM_RPS, &r);
	assert_int_equal(r.verdict, CMP_SAME);
	assert_true(r.p >= 0.05);
	/* 5 vs 2 can reach 2/21 = 0.095 at best: never significant */
	cmp_metric(&a, &two, SM_RPS, &r);
	assert_int_equal(r.verdict, CMP_TOO_FEW);
	assert_true(isnan(r.p));
	cmp_metric(&a, &none, SM_RPS, &r);
	assert_int_equal(r.verdict, CMP_NODATA);
	summary_series_free(&a);
	summary_series_free(&b);
	summary_series_free(&c);
	summary_series_free(&two);
}

static void test_view_pairs(void **state)
{
	struct summary *s = calloc(2, sizeof(*s));
	const char *specs[2];
	char err[512], spec1[300];
	struct cmp_view v;
	struct cmp_table t;

	(void)state;
	/* one file: every variant against the first */
	specs[0] = write_tmp("a.json", good);
	assert_int_equal(summary_load(specs[0], &s[0], err, sizeof(err)), 0);
	assert_int_equal(cmp_view_build(&v, s, 1, specs, err, sizeof(err)), 0);
	assert_int_equal(v.nitems, 2);
	assert_int_equal(v.npairs, 1);
	assert_string_equal(v.items[v.pairs[0].cand].v->name, "preload");
	assert_int_equal(v.pairs[0].m[SM_EPOLL_PER_REQ].verdict, CMP_BETTER);
	assert_int_equal(cmp_pair_table(&v, &v.pairs[0], &t), 0);
	assert_int_equal(t.rows, SM_COUNT + 1);
	assert_string_equal(t.cell[(SM_RPS + 1) * t.cols + 3], "+27.5%");
	cmp_table_free(&t);
	assert_int_equal(cmp_skipped_table(&v, &t), 0);
	assert_int_equal(t.rows, 2);
	assert_string_equal(t.cell[3], "kmod");	/* row 1: variant, what, reason */
	assert_string_equal(t.cell[4], "every metric");
	cmp_table_free(&t);
	cmp_view_free(&v);
	free(s);

	/* two plain files: paired by name */
	s = calloc(2, sizeof(*s));
	specs[1] = write_tmp("b.json", good);
	assert_int_equal(summary_load(specs[0], &s[0], err, sizeof(err)), 0);
	assert_int_equal(summary_load(specs[1], &s[1], err, sizeof(err)), 0);
	assert_int_equal(cmp_view_build(&v, s, 2, specs, err, sizeof(err)), 0);
	assert_int_equal(v.npairs, 2);
	for (size_t i = 0; i < v.npairs; i++) {
		assert_string_equal(v.items[v.pairs[i].ref].v->name, v.items[v.pairs[i].cand].v->name);
		assert_int_equal(v.pairs[i].m[SM_RPS].verdict, CMP_SAME);	/* identical samples */
	}
	cmp_view_free(&v);
	free(s);

	/* FILE:VARIANT first: everything else against it */
	s = calloc(2, sizeof(*s));
	snprintf(spec1, sizeof(spec1), "%s:baseline", specs[0]);
	specs[0] = spec1;
	assert_int_equal(summary_load(specs[0], &s[0], err, sizeof(err)), 0);
	assert_int_equal(summary_load(specs[1], &s[1], err, sizeof(err)), 0);
	assert_int_equal(cmp_view_build(&v, s, 2, specs, err, sizeof(err)), 0);
	assert_int_equal(v.npairs, 2);
	assert_int_equal(v.pairs[0].ref, 0);
	assert_int_equal(v.pairs[1].ref, 0);
	cmp_view_free(&v);
	free(s);
}

/*
 * Issue 12, defect 14: the report opens with a verdict per variant in plain
 * words, says how spin time was measured, and shows the machine and the
 * workload as readable lines (not raw JSON).
 */
static const char worded[] =
	"{\"schema\": \"epbatch-summary/1\","
	" \"machine\": {\"cpus\": 2, \"kernel\": \"6.18.44\", \"arch\": \"x86_64\", \"model\": \"AMD EPYC\"},"
	" \"workload\": {\"server\": \"epbatch-bench-server\", \"mode\": \"oneshot\", \"duration_s\": 3,"
	"   \"repeat\": 3, \"order\": \"interleaved\", \"server_threads\": 2, \"reuseport\": true,"
	"   \"load\": {\"generator\": \"epbatch-load\", \"connections\": 32, \"threads\": 1, \"mode\": \"keepalive\"}},"
	" \"variants\": {"
	"  \"baseline\": {\"runs\": 3, \"spin\": {\"method\": \"sample\", \"sample_hz\": 99, \"slowpath_samples\": 1},"
	"    \"rps\": {\"median\": 100, \"samples\": [90, 100, 110]},"
	"    \"epoll_syscalls_per_req\": {\"median\": 1.0, \"samples\": [1.0, 1.01, 0.99]},"
	"    \"spin_ns_per_req\": {\"median\": 10, \"samples\": [0, 10, 30]}},"
	"  \"preload\": {\"runs\": 3, \"spin\": {\"method\": \"none\"},"
	"    \"missing\": {\"spin_ns_per_req\": \"no spin-lock method could run (fentry: EPERM)\"},"
	"    \"rps\": {\"median\": 105, \"samples\": [95, 105, 115]},"
	"    \"epoll_syscalls_per_req\": {\"median\": 0.23, \"samples\": [0.22, 0.23, 0.24]}}}}";

static void test_verdict_words(void **state)
{
	struct summary *s = calloc(1, sizeof(*s));
	const char *specs[1];
	char err[512], line[1024], *buf = NULL;
	size_t len = 0;
	struct cmp_view v;
	FILE *f;

	(void)state;
	specs[0] = write_tmp("w.json", worded);
	assert_int_equal(summary_load(specs[0], s, err, sizeof(err)), 0);
	assert_int_equal(cmp_view_build(&v, s, 1, specs, err, sizeof(err)), 0);
	cmp_verdict_line(&v, &v.pairs[0], line, sizeof(line));
	assert_non_null(strstr(line, "preload vs baseline: "));
	assert_non_null(strstr(line, "epoll syscalls/req -77% (not testable with 3 vs 3 repeats)"));
	/* the candidate lost spin time that the reference measured: said */
	assert_non_null(strstr(line, "spin ns/req not measured in preload"));
	/* 3 vs 3 repeats cannot reach alpha: say so, and what would */
	assert_non_null(strstr(line, "throughput change cannot be significant with 3 repeats: use --repeat "));
	assert_non_null(strstr(line, "for a 10% effect"));
	cmp_spin_line(&v.items[0], line, sizeof(line));
	assert_non_null(strstr(line, "sampling at 99 Hz"));
	assert_non_null(strstr(line, "1 slow-path sample over"));
	cmp_spin_line(&v.items[1], line, sizeof(line));
	assert_non_null(strstr(line, "not measured: no spin-lock method could run"));
	f = open_memstream(&buf, &len);
	cmp_print_summary(f, &v, true);
	cmp_print(f, &v, true);
	fclose(f);
	assert_non_null(strstr(buf, "**machine**: 2 CPUs, AMD EPYC, Linux 6.18.44 (x86_64)"));
	assert_non_null(strstr(buf, "epbatch-bench-server, mode oneshot, 2 server threads"));
	assert_null(strstr(buf, "{\""));		/* no raw JSON */
	assert_non_null(strstr(buf, "p99 latency ms"));	/* a unit on p99 */
	assert_non_null(strstr(buf, "not measured"));	/* never a 0 */
	free(buf);
	/* more spread, more repeats needed */
	assert_true(cmp_repeats_for(&v.items[0].v->m[SM_RPS], &v.items[1].v->m[SM_RPS], 0.10) >= 4);
	cmp_view_free(&v);
	free(s);
}

static void test_html(void **state)
{
	struct summary *s = calloc(1, sizeof(*s));
	const char *specs[1];
	char err[512], path[300], *text;
	struct cmp_view v;
	FILE *f;
	long n;

	(void)state;
	specs[0] = write_tmp("a.json", good);
	assert_int_equal(summary_load(specs[0], s, err, sizeof(err)), 0);
	assert_int_equal(cmp_view_build(&v, s, 1, specs, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/r.html", dir);
	assert_int_equal(html_write(path, &v), 0);
	cmp_view_free(&v);
	free(s);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_non_null(strstr(text, "id=\"chart-rps\""));
	assert_non_null(strstr(text, "id=\"chart-epoll_syscalls_per_req\""));
	assert_non_null(strstr(text, "102 [100, 104]"));	/* baseline rps with its interval */
	assert_non_null(strstr(text, "0.050"));
	assert_null(strstr(text, "<script"));
	assert_null(strstr(text, "https://"));
	free(text);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_variant),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_series_json),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_view_pairs),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_verdict_words),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
