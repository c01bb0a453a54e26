// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The whole machine (issue 13), libbpf-free parts: threads summed into
 * processes (names, thread counts, the "(no thread)" row), top's order
 * (epoll_ctl, then waits, then spin), the "processes" JSON, and the exited
 * threads kept when their slots are recycled.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>
#include "opts.h"
#include "aggregate.h"
#include "report.h"
#include "procs.h"

static struct thread_stats th(uint32_t tid, uint32_t tgid, const char *comm, const char *pcomm,
			      uint64_t add, uint64_t wait)
{
	struct thread_stats t = { .tid = tid, .tgid = tgid };

	snprintf(t.comm, sizeof(t.comm), "%s", comm);
	snprintf(t.proc_comm, sizeof(t.proc_comm), "%s", pcomm);
	t.ctl[EPB_CTL_ADD] = add;
	t.wait = wait;
	return t;
}

static void fill(struct report *r, struct thread_stats *rows, uint32_t n)
{
	memset(r, 0, sizeof(*r));
	r->rows = rows;
	r->nr_rows = n;
	r->seconds = 1;
	for (uint32_t i = 0; i < n; i++)
		stats_add(&r->totals, &rows[i]);
}

static void test_group(void **state)
{
	struct thread_stats rows[5] = {
		th(0, 0, "", "", 0, 0),			/* "(no thread)" */
		th(21, 20, "ctl-1", "gen", 60, 1),	/* main thread never seen: its name */
		th(10, 10, "srv", "srv", 5, 0),
		th(11, 10, "worker", "srv", 7, 3),
		th(22, 20, "ctl-2", "gen", 40, 1),
	};
	struct proc_sum ps[5];
	struct report r;
	size_t n;

	(void)state;
	rows[0].close = 9;	/* active, but no process to charge it to system-wide */
	rows[3].private_fd_table = true;
	fill(&r, rows, 5);
	n = procs_group(&r, ps);
	assert_int_equal(n, 2);
	assert_int_equal(ps[0].tgid, 10);
	assert_string_equal(ps[0].comm, "srv");
	assert_int_equal(ps[0].threads, 2);
	assert_int_equal(ps[0].private_threads, 1);
	assert_int_equal(ps[0].s.ctl[EPB_CTL_ADD], 12);
	assert_int_equal(ps[1].tgid, 20);
	assert_string_equal(ps[1].comm, "gen");
	assert_int_equal(ps[1].s.ctl[EPB_CTL_ADD], 100);
	/* one target (-p): "(no thread)" is its */
	r.pid = 10;
	n = procs_group(&r, ps);
	assert_int_equal(ps[0].s.close, 9);
}

static void test_rank(void **state)
{
	struct thread_stats rows[4] = {
		th(1, 1, "a", "a", 10, 5),
		th(2, 2, "b", "b", 50, 0),
		th(3, 3, "c", "c", 10, 9),	/* ties with a on epoll_ctl: more waits first */
		th(4, 4, "d", "d", 0, 0),	/* idle: not in the table */
	};
	const struct thread_stats *out[4];
	struct trace_opts o;
	struct report r, pr;
	json_t *a;
	bool help;

	(void)state;
	assert_int_equal(parse_live_args(2, (char *[]){ "t", "-a", NULL }, &o, &help), 0);
	fill(&r, rows, 4);
	assert_int_equal(procs_report(&r, &pr), 0);
	assert_int_equal(report_rank(&pr, o.sort, out), 3);
	assert_string_equal(out[0]->comm, "b");
	assert_string_equal(out[1]->comm, "c");
	assert_string_equal(out[2]->comm, "a");
	a = report_processes_json(&pr, &o);
	assert_int_equal(json_array_size(a), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "pid")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "threads")), 1);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(json_array_get(a, 1), "epoll_ctl"), "add")), 10);
	json_decref(a);
	procs_free(&pr);
}

static void test_retired(void **state)
{
	struct thread_stats epoll = th(5, 5, "srv", "srv", 3, 1), other = th(6, 6, "gcc", "gcc", 0, 0);
	struct retired ret = {};

	(void)state;
	other.close = 4;
	for (int i = 0; i < 100; i++)
		assert_int_equal(retired_add(&ret, &epoll), 0);
	assert_int_equal(retired_add(&ret, &other), 0);
	assert_int_equal(ret.n, 100);			/* epoll threads keep a row each */
	assert_int_equal(ret.t[99].tid, 5);
	assert_int_equal(ret.nr_folded, 1);		/* the others are only summed */
	assert_int_equal(ret.folded.close, 4);
	assert_int_equal(ret.folded.tid, 0);
	retired_free(&ret);
	assert_null(ret.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_retired),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
