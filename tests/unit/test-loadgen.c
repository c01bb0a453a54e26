// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load generator output parsers, on outputs captured from the real tools
 * against nginx, redis and memcached on loopback (tests/fixtures/loadgen/).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loadgen.h"

#define FIXTURES "tests/fixtures/loadgen/"
#define NEAR(a, b) assert_true(fabs_((a) - (b)) < 1e-6 * (1 + fabs_(b)))

static double fabs_(double x)
{
	return x < 0 ? -x : x;
}

static char *slurp(const char *name)
{
	char path[256];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Parses fixture name with kind, and checks that auto picks the same parser. */
static void parse(const char *name, const char *kind, struct load_result *r)
{
	char *text = slurp(name), err[256] = "";
	struct load_result a;

	if (loadgen_parse(kind, text, r, err, sizeof(err)))
		fail_msg("%s: %s", name, err);
	assert_string_equal(r->kind, kind);
	assert_string_equal(loadgen_detect(text), kind);
	assert_int_equal(loadgen_parse("auto", text, &a, err, sizeof(err)), 0);
	assert_memory_equal(&a, r, sizeof(a));
	free(text);
}

static void test_epbatch_load(void **state)
{
	struct load_result r;

	(void)state;
	parse("epbatch-load.json", "epbatch-load", &r);
	assert_true(r.has_counts);
	NEAR(r.requests, 47358);
	NEAR(r.errors, 0);
	NEAR(r.rps, 47337.8);
	assert_true(r.has_latency);
	NEAR(r.p99_ms, 2.0152);
	assert_true(r.has_cpu);
}

static void test_wrk(void **state)
{
	struct load_result r;

	(void)state;
	parse("wrk-ka.txt", "wrk", &r);
	NEAR(r.requests, 25787);
	NEAR(r.duration_s, 1.00);
	NEAR(r.rps, 25720.28);
	NEAR(r.errors, 0);
	assert_false(r.has_latency);

	parse("wrk-close.txt", "wrk", &r);
	NEAR(r.requests, 9946);
	NEAR(r.rps, 9924.37);
	NEAR(r.errors, 0);

	parse("wrk-latency.txt", "wrk", &r);
	NEAR(r.requests, 28840);
	assert_true(r.has_latency);
	NEAR(r.p50_ms, 0.131);
	NEAR(r.p90_ms, 3.72);
	NEAR(r.p99_ms, 8.16);
	NEAR(r.p999_ms, 0);	/* wrk prints 50/75/90/99 */
}

static void test_wrk_errors(void **state)
{
	struct load_result r;

	(void)state;
	parse("wrk-non2xx.txt", "wrk", &r);	/* 404 for every request */
	NEAR(r.requests, 35110);
	NEAR(r.errors, 35110);

	parse("wrk-sockerr.txt", "wrk", &r);	/* the server closes without answering */
	NEAR(r.requests, 0);
	NEAR(r.errors, 10595);
	NEAR(r.duration_s, 1.10);

	parse("wrk-timeout.txt", "wrk", &r);	/* a listener that never answers */
	NEAR(r.requests, 0);
	NEAR(r.errors, 4 + 17096);
	NEAR(r.duration_s, 3.02);
}

static void test_ab(void **state)
{
	struct load_result r;

	(void)state;
	parse("ab-close.txt", "ab", &r);
	NEAR(r.requests, 2000);
	NEAR(r.errors, 0);
	NEAR(r.duration_s, 0.230);
	NEAR(r.rps, 8687.57);
	assert_true(r.has_latency);
	NEAR(r.p50_ms, 1);
	NEAR(r.p90_ms, 1);
	NEAR(r.p99_ms, 4);

	parse("ab-ka.txt", "ab", &r);
	NEAR(r.requests, 2000);
	NEAR(r.rps, 36341.17);

	parse("ab-non2xx.txt", "ab", &r);
	NEAR(r.requests, 500);
	NEAR(r.errors, 500);
}

static void test_h2load(void **state)
{
	struct load_result r;

	(void)state;
	parse("h2load-h1.txt", "h2load", &r);
	NEAR(r.requests, 2000);
	NEAR(r.errors, 0);
	NEAR(r.duration_s, 0.07806);
	NEAR(r.rps, 25622.63);
	assert_false(r.has_latency);

	parse("h2load-non2xx.txt", "h2load", &r);
	NEAR(r.requests, 500);
	NEAR(r.errors, 500);
}

static void test_redis_benchmark(void **state)
{
	struct load_result r;

	(void)state;
	/* two tests of -n requests each: the overall rate is harmonic */
	parse("redis-benchmark-setget.csv", "redis-benchmark", &r);
	assert_false(r.has_counts);
	NEAR(r.rps, 2 / (1 / 29940.12 + 1 / 29585.80));
	NEAR(r.p50_ms, 0.151);
	NEAR(r.p99_ms, 0.407);
	NEAR(r.errors, 0);

	parse("redis-benchmark-close.csv", "redis-benchmark", &r);
	NEAR(r.rps, 10471.20);
	NEAR(r.p99_ms, 1.175);

	parse("redis-benchmark-q.txt", "redis-benchmark", &r);
	NEAR(r.rps, 25316.46);
	NEAR(r.p50_ms, 0.143);

	parse("redis-benchmark-full.txt", "redis-benchmark", &r);
	assert_true(r.has_counts);
	NEAR(r.requests, 6000);
	NEAR(r.rps, 2 / (1 / 31914.89 + 1 / 34090.91));
	NEAR(r.duration_s, 3000 / 31914.89 + 3000 / 34090.91);
	NEAR(r.p50_ms, 0.127);
	NEAR(r.p99_ms, 0.335);
}

static void test_memcslap(void **state)
{
	struct load_result r;

	(void)state;
	parse("memcslap.txt", "memcslap", &r);
	NEAR(r.requests, 8000);
	NEAR(r.duration_s, 0.425);
	NEAR(r.rps, 8000 / 0.425);
	NEAR(r.errors, 0);

	parse("memcslap-get.txt", "memcslap", &r);
	NEAR(r.requests, 4000);
	NEAR(r.duration_s, 0.202);

	parse("memcslap-refused.txt", "memcslap", &r);	/* nothing listening */
	NEAR(r.requests, 0);
	NEAR(r.errors, 2);
}

static void test_bad_input(void **state)
{
	struct load_result r;
	char err[256] = "", *ab = slurp("ab-close.txt");

	(void)state;
	assert_int_equal(loadgen_parse("auto", "", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not recognised"));
	assert_int_equal(loadgen_parse("auto", "Segmentation fault\n", &r, err, sizeof(err)), -1);
	assert_null(loadgen_detect("hello\n"));
	assert_int_equal(loadgen_parse("siege", ab, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown load generator 'siege'"));
	/* the right tool named, the wrong output: say what is missing */
	assert_int_equal(loadgen_parse("wrk", ab, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "wrk output has no"));
	assert_int_equal(loadgen_parse("memcslap", ab, &r, err, sizeof(err)), -1);
	assert_int_equal(loadgen_parse("h2load", ab, &r, err, sizeof(err)), -1);
	assert_int_equal(loadgen_parse("redis-benchmark", ab, &r, err, sizeof(err)), -1);
	assert_int_equal(loadgen_parse("epbatch-load", "{\"rps\": 1}", &r, err, sizeof(err)), -1);
	/* wrk killed before its summary: the header alone is not a result */
	assert_int_equal(loadgen_parse("wrk", "Running 10s test @ http://127.0.0.1:8080/\n"
				       "  1 threads and 32 connections\n", &r, err, sizeof(err)), -1);
	/* h2load that never finished */
	assert_int_equal(loadgen_parse("h2load", "requests: 10 total, 10 started, 5 done, 5 succeeded, "
				       "0 failed, 0 errored, 0 timeout\n", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "finished in"));
	free(ab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epbatch_load),
		cmocka_unit_test(test_wrk),
		cmocka_unit_test(test_wrk_errors),
		cmocka_unit_test(test_ab),
		cmocka_unit_test(test_h2load),
		cmocka_unit_test(test_redis_benchmark),
		cmocka_unit_test(test_memcslap),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
