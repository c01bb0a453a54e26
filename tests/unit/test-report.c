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
#include "opts.h"
#include "aggregate.h"
#include "report.h"
#include "session.h"

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
	struct trace_opts o = { .top = 1, .sort = SORT_CTL };

	fill(&r, rows);
	report_table(f, &r, "interval", &o);
	fclose(f);
	assert_non_null(strstr(buf, "worker-0"));
	assert_null(strstr(buf, "worker-1"));		/* -n 1: top row only */
	/* what the cut rows held */
	assert_non_null(strstr(buf, "(1 more threads: 3 ctl, 0 waits, 0.00 ms spin"));
	assert_non_null(strstr(buf, "TOTAL"));
	assert_non_null(strstr(buf, "spin: sample"));
	/* the method's notes are printed once by the session, not per table */
	assert_null(strstr(buf, "fentry: load"));
	assert_non_null(strstr(buf, "yes"));		/* worker-0's private table */
	/* 5 ms of spin in a 2 s interval is 0.25 % */
	assert_non_null(strstr(buf, "5.00"));
	free(buf);
}

/*
 * Defect 3: 30 epoll threads and 3 threads that only spin (socket/close):
 * the default order must show the spinners in a top-20 table.
 */
static void test_sort_keeps_spinners(void **state)
{
	struct thread_stats rows[33] = {};
	const struct thread_stats *order[33];
	struct trace_opts o = { .top = 20 };
	struct report r = { .pid = 1, .comm = "srv", .seconds = 1, .rows = rows, .nr_rows = 33 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	for (int i = 0; i < 33; i++) {
		rows[i].tid = (uint32_t)(100 + i);
		snprintf(rows[i].comm, sizeof(rows[i].comm), i < 30 ? "epoll-%d" : "churn-%d", i & 63);
		if (i < 30) {
			rows[i].ctl[EPB_CTL_MOD] = 1000 + (uint64_t)i;
			rows[i].wait = 500;
		} else {
			rows[i].close = 10;
			rows[i].spin_ns = 26000000;
		}
		stats_add(&r.totals, &rows[i]);
	}
	f = open_memstream(&buf, &len);
	report_table(f, &r, "interval", &o);
	fclose(f);
	for (int i = 30; i < 33; i++) {
		char name[32];

		snprintf(name, sizeof(name), "churn-%d", i);
		assert_non_null(strstr(buf, name));
	}
	assert_non_null(strstr(buf, "(13 more threads"));
	free(buf);
	/* the explicit keys */
	assert_int_equal(report_rank(&r, SORT_SPIN, order), 33);
	assert_int_equal(order[0]->tid, 130);
	assert_int_equal(report_rank(&r, SORT_CTL, order), 33);
	assert_int_equal(order[0]->tid, 129);
	assert_int_equal(report_rank(&r, SORT_TID, order), 33);
	assert_int_equal(order[0]->tid, 100);
}

/* Defect 13: the table fits the terminal: columns dropped by priority. */
static void test_table_width(void **state)
{
	struct thread_stats rows[2];
	struct trace_opts o = { .top = 0, .children = true };
	struct report r;
	char *buf = NULL, *line;
	size_t len = 0;
	FILE *f;

	(void)state;
	fill(&r, rows);
	setenv("COLUMNS", "80", 1);
	f = open_memstream(&buf, &len);
	report_table(f, &r, "interval", &o);
	fclose(f);
	unsetenv("COLUMNS");
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		assert_true(strlen(line) <= 80);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	report_table(f, &r, "interval", &o);	/* not a terminal: every column */
	fclose(f);
	assert_non_null(strstr(buf, "PID"));	/* --children */
	assert_non_null(strstr(buf, "ACC/s"));
	assert_non_null(strstr(buf, "CLOSE/s"));
	assert_non_null(strstr(buf, "ADD"));
	free(buf);
}

/* Defect 9: a directory as the output path fails before any work. */
static void test_writable_dir(void **state)
{
	char dir[] = "/tmp/epb-dir-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(check_writable(dir), -1);
	assert_int_equal(check_writable("-"), 0);
	assert_int_equal(check_writable("/dev/null"), 0);	/* written in place, never renamed over */
	rmdir(dir);
	{
		json_t *doc = json_pack("{s:i}", "x", 1);
		struct stat st;

		assert_int_equal(json_write_file(doc, "/dev/null"), 0);
		assert_int_equal(stat("/dev/null", &st), 0);
		assert_true(S_ISCHR(st.st_mode));	/* still the device */
		json_decref(doc);
	}
}

static void doc_key(char *buf, size_t len, const char *grp, const char *key)
{
	if (grp)
		snprintf(buf, len, "`%s.%s`", grp, key);
	else
		snprintf(buf, len, "`%s`", key);
}

static json_t *sub_object(json_t *o, const char *grp)
{
	return grp ? json_object_get(o, grp) : o;
}

/* The one counter table: every key it generates is in the JSON and in the schema doc. */
static void test_counter_table_documented(void **state)
{
	char *doc = read_text("docs/json-schema.md", 1 << 20);
	struct thread_stats rows[2];
	struct trace_opts o = { .sample_hz = 99 };
	struct report r;
	json_t *j, *th;
	char want[96];

	(void)state;
	assert_non_null(doc);
	fill(&r, rows);
	j = report_json(&r, &o, errs, NULL, 1.0);
	th = json_array_get(json_object_get(j, "threads"), 0);
#define CHECK(f, grp, key, help)								\
	doc_key(want, sizeof(want), grp, key);						\
	if (!strstr(doc, want))								\
		fail_msg("%s is not documented in docs/json-schema.md", want);		\
	assert_true(json_is_integer(json_object_get(sub_object(th, grp), key)));
	EPB_COUNTERS(CHECK)
#undef CHECK
	json_decref(j);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_keys),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_sort_keeps_spinners),
		cmocka_unit_test(test_table_width),
		cmocka_unit_test(test_writable_dir),
		cmocka_unit_test(test_counter_table_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
