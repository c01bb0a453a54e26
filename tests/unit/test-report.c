// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The epbatch/1 JSON document, its atomic writing, and the table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "trace.h"

static uint64_t errs[EPB_CTL_OPS][EPB_MAX_ERRNO + 1];
static const char notes[2][192] = { "fentry: load: Operation not permitted", "kprobe: none" };

static void fill(struct report *r, struct thread_stats rows[2])
{
	memset(rows, 0, 2 * sizeof(*rows));
	rows[0].tid = 11;
	strcpy(rows[0].comm, "worker-0");
	rows[0].ctl[EPB_CTL_MOD] = 40;
	rows[0].ctl_err[EPB_CTL_MOD] = 2;
	rows[0].wait = 20;
	rows[0].private_fd_table = true;
	rows[0].spin_ns = 5000000;
	rows[1].tid = 12;
	strcpy(rows[1].comm, "worker-1");
	rows[1].ctl[EPB_CTL_ADD] = 3;
	memset(r, 0, sizeof(*r));
	r->pid = 10;
	r->comm = "srv";
	r->seconds = 2.0;
	r->method = SPIN_SAMPLE;
	r->notes = notes;
	r->nr_notes = 2;
	r->rows = rows;
	r->nr_rows = 2;
	stats_add(&r->totals, &rows[0]);
	stats_add(&r->totals, &rows[1]);
}

static void test_json_keys(void **state)
{
	struct thread_stats rows[2];
	struct trace_opts o = { .sample_hz = 99, .variant = "preload" };
	struct report r;
	json_t *doc, *t0;

	(void)state;
	fill(&r, rows);
	errs[EPB_CTL_MOD][2] = 2;	/* ENOENT */
	doc = report_json(&r, &o, errs, NULL, 12.5);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), "epbatch/1");
	assert_int_equal(json_integer_value(json_object_get(doc, "pid")), 10);
	assert_string_equal(json_string_value(json_object_get(doc, "spin_method")), "sample");
	assert_string_equal(json_string_value(json_object_get(doc, "variant")), "preload");
	assert_int_equal(json_array_size(json_object_get(doc, "spin_method_notes")), 2);
	assert_true(json_real_value(json_object_get(doc, "duration_s")) == 2.0);
	json_t *tot = json_object_get(doc, "totals");
	json_t *ctl = json_object_get(tot, "epoll_ctl");
	assert_int_equal(json_integer_value(json_object_get(ctl, "mod")), 40);
	assert_int_equal(json_integer_value(json_object_get(ctl, "add")), 3);
	assert_int_equal(json_integer_value(json_object_get(ctl, "errors")), 2);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(json_object_get(ctl, "errno"), "mod"), "ENOENT")), 2);
	assert_int_equal(json_integer_value(json_object_get(tot, "epoll_wait")), 20);
	assert_non_null(json_object_get(json_object_get(tot, "spin"), "files_lock_ns"));
	assert_non_null(json_object_get(json_object_get(tot, "spin"), "slowpath_samples"));
	assert_int_equal(json_array_size(json_object_get(doc, "threads")), 2);
	t0 = json_array_get(json_object_get(doc, "threads"), 0);
	assert_int_equal(json_integer_value(json_object_get(t0, "tid")), 11);
	assert_true(json_is_true(json_object_get(t0, "private_fd_table")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(t0, "spin"), "ns")), 5000000);
	assert_true(json_is_false(json_object_get(json_object_get(doc, "bpf"), "stats_enabled")));
	json_decref(doc);
}

static void test_atomic_write(void **state)
{
	char dir[] = "/tmp/epb-unit-XXXXXX", path[64], bad[96];
	json_t *doc = json_pack("{s:s}", "schema", "epbatch/1"), *back;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.json", dir);
	assert_int_equal(check_writable(path), 0);
	assert_int_not_equal(stat(path, &st), 0);	/* the probe leaves nothing */
	assert_int_equal(json_write_file(doc, path), 0);
	back = json_load_file(path, 0, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "schema")), "epbatch/1");
	json_decref(back);
	snprintf(bad, sizeof(bad), "%s/missing/out.json", dir);
	assert_int_equal(check_writable(bad), -1);
	assert_int_equal(json_write_file(doc, bad), -1);
	unlink(path);
	rmdir(dir);
	json_decref(doc);
}

static void test_table(void **state)
{
	struct thread_stats rows[2];
	struct report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	fill(&r, rows);
	report_table(f, &r, "interval", 1);
	fclose(f);
	assert_non_null(strstr(buf, "worker-0"));
	assert_null(strstr(buf, "worker-1"));		/* -n 1: top row only */
	assert_non_null(strstr(buf, "1 more active"));
	assert_non_null(strstr(buf, "TOTAL"));
	assert_non_null(strstr(buf, "spin: sample (fentry: load"));
	assert_non_null(strstr(buf, "yes"));		/* worker-0's private table */
	/* 5 ms of spin in a 2 s interval is 0.25 % */
	assert_non_null(strstr(buf, "5.00"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_keys),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
