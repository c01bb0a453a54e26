// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command-line parsing of epbatch-trace -p and record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "opts.h"
#include "aggregate.h"
#include "report.h"
#include "session.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(a) ((int)(sizeof(a) / sizeof(*(a))) - 1)

static int live(char **argv, int argc, struct trace_opts *o)
{
	bool help;

	return parse_live_args(argc, argv, o, &help);
}

static void test_live_defaults(void **state)
{
	char **a = ARGV("epbatch-trace", "-p", "123");
	struct trace_opts o;

	(void)state;
	assert_int_equal(live(a, 3, &o), 0);
	assert_int_equal(o.pid, 123);
	assert_true(o.interval == 1.0);
	assert_true(o.duration == 0.0);
	assert_int_equal(o.spin, SPIN_AUTO);
	assert_null(o.json);
	assert_false(o.bpf_stats);	/* opt-in: it costs clock reads */
}

static void test_live_all_flags(void **state)
{
	char **a = ARGV("epbatch-trace", "-p", "7", "-d", "2.5", "-i", "0.5", "--json", "out.json",
			"--spin-method", "sample", "--children", "-v", "--sample-hz", "99", "--bpf-stats");
	struct trace_opts o;

	(void)state;
	assert_int_equal(live(a, 16, &o), 0);
	assert_int_equal(o.pid, 7);
	assert_true(o.duration == 2.5 && o.interval == 0.5);
	assert_string_equal(o.json, "out.json");
	assert_int_equal(o.spin, SPIN_SAMPLE);
	assert_true(o.children && o.verbose && o.bpf_stats);
	assert_int_equal(o.sample_hz, 99);
}

static void test_live_rejects(void **state)
{
	struct trace_opts o;

	(void)state;
	assert_int_equal(live(ARGV("t", "-p", "0"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "12x"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1", "-d", "-3"), 5, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1", "--spin-method", "x"), 5, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1", "--bogus"), 4, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1", "extra"), 4, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1", "-o", "x"), 5, &o), -1);	/* record only */
	assert_int_equal(live(ARGV("t", "-p"), 2, &o), -1);
}

static void test_record(void **state)
{
	char **a = ARGV("record", "-o", "r.json", "-d", "3", "--", "ls", "-l");
	struct trace_opts o;
	bool help;

	(void)state;
	assert_int_equal(parse_record_args(8, a, &o, &help), 0);
	assert_string_equal(o.json, "r.json");
	assert_non_null(o.command);
	assert_string_equal(o.command[0], "ls");
	assert_string_equal(o.command[1], "-l");
	assert_null(o.command[2]);
	assert_true(o.quiet);
	assert_int_equal(parse_record_args(4, ARGV("record", "--", "ls", "-l"), &o, &help), -1);
	assert_int_equal(parse_record_args(3, ARGV("record", "-o", "x"), &o, &help), -1);
	assert_int_equal(parse_record_args(6, ARGV("record", "-o", "x", "-p", "5", "ls"), &o, &help), -1);
	assert_int_equal(parse_record_args(5, ARGV("record", "-o", "x", "-p", "5"), &o, &help), 0);
	assert_int_equal(o.pid, 5);
}

/* No -p: the whole machine; -p A,B: several processes; the filters. */
static void test_system_wide(void **state)
{
	struct trace_opts o;

	(void)state;
	assert_int_equal(live(ARGV("t", "-d", "1"), 3, &o), 0);
	assert_true(o.system_wide && trace_filtered(&o));
	assert_int_equal(o.pid, 0);
	assert_int_equal(o.sort, SORT_CTL);	/* top's order: epoll_ctl rate, then waits, spin */
	assert_int_equal(live(ARGV("t", "-a", "--threads", "--sort", "spin"), 5, &o), 0);
	assert_true(o.system_wide && o.threads_view);
	assert_int_equal(o.sort, SORT_SPIN);
	assert_int_equal(live(ARGV("t", "-p", "12,34,56"), 3, &o), 0);
	assert_int_equal(o.nr_pids, 3);
	assert_int_equal(o.pid, 0);
	assert_true(o.pids[0] == 12 && o.pids[1] == 34 && o.pids[2] == 56);
	assert_false(o.system_wide);
	assert_true(trace_filtered(&o));
	/* one process stays the cheap single-tgid filter, with its per-thread order */
	assert_int_equal(live(ARGV("t", "-p", "12"), 3, &o), 0);
	assert_int_equal(o.pid, 12);
	assert_false(trace_filtered(&o));
	assert_int_equal(o.sort, SORT_AUTO);
	assert_int_equal(live(ARGV("t", "--comm", "nginx"), 3, &o), 0);
	assert_string_equal(o.match_comm, "nginx");
	assert_int_equal(live(ARGV("t", "--comm", "fifteen-chars-x"), 3, &o), 0);
	assert_int_equal(live(ARGV("t", "-p", "7", "--comm", "srv"), 5, &o), 0);
	assert_true(o.pid == 7 && trace_filtered(&o));
}

static void test_system_wide_rejects(void **state)
{
	struct trace_opts o;

	(void)state;
	assert_int_equal(live(ARGV("t", "-p", "1,x"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1,,2"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1,"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", ",1"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1,1"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1,0"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "-p", "1", "-p", "2"), 5, &o), -1);
	assert_int_equal(live(ARGV("t", "-a", "-p", "2"), 4, &o), -1);
	assert_int_equal(live(ARGV("t", "--comm", "sixteen-chars-xx"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "--comm", ""), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "--cgroup", "/nonexistent/epbatch"), 3, &o), -1);
	assert_int_equal(live(ARGV("t", "--cgroup", "/tmp"), 3, &o), -1);	/* not cgroup v2 */
	assert_int_equal(live(ARGV("t", "--children"), 2, &o), -1);	/* follows -p only */
	assert_int_equal(parse_record_args(5, ARGV("record", "-o", "x", "-p", "1,2"), &o,
					   &(bool){ false }), -1);
	assert_int_equal(parse_record_args(6, ARGV("record", "-o", "x", "--comm", "a", "ls"), &o,
					   &(bool){ false }), -1);
}

/* The scope line of the tables. */
static void test_scope(void **state)
{
	struct trace_opts o;
	char buf[128];

	(void)state;
	assert_int_equal(live(ARGV("t", "--comm", "srv"), 3, &o), 0);
	trace_scope(&o, buf, sizeof(buf));
	assert_string_equal(buf, "all processes, comm srv");
	assert_int_equal(live(ARGV("t", "-p", "3,4"), 3, &o), 0);
	trace_scope(&o, buf, sizeof(buf));
	assert_string_equal(buf, "2 processes (3, 4)");
	trace_scope(&o, buf, 8);	/* truncated, terminated */
	assert_int_equal(strlen(buf), 7);
}

static void test_help(void **state)
{
	struct trace_opts o;
	bool help;

	(void)state;
	assert_int_equal(parse_live_args(2, ARGV("t", "--help"), &o, &help), 0);
	assert_true(help);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_defaults),
		cmocka_unit_test(test_live_all_flags),
		cmocka_unit_test(test_live_rejects),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_system_wide),
		cmocka_unit_test(test_system_wide_rejects),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
