// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cost model (costmodel.c, whatif.c) on fixed inputs: the calibration
 * and trace in tests/fixtures/costmodel/, with every expected figure worked
 * out by hand in the comments (docs/cost-model.md has the formulas).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include "costmodel.h"
#include "whatif.h"

#define FIX "tests/fixtures/costmodel/"

static struct calib cal;

static void load_cal(struct calib *c)
{
	json_error_t je;
	json_t *doc = json_load_file(FIX "calibration.json", 0, &je);
	char why[200];

	assert_non_null(doc);
	assert_int_equal(calib_from_json(doc, c, why, sizeof(why)), 0);
	json_decref(doc);
}

static void test_load(void **state)
{
	(void)state;
	load_cal(&cal);
	assert_float_equal(cal.syscall.ns, 100, 0);
	assert_float_equal(cal.syscall.lo, 90, 0);
	assert_float_equal(cal.ctl[2].ns, 400, 0);
	assert_true(cal.be[CM_URING].present);
	assert_false(cal.be[CM_KMOD].present);
	assert_string_equal(cal.be[CM_KMOD].skipped, "no /dev/epoll_batch: the module is not loaded");
	/* the break-evens the shim measured, as calibrate recorded them */
	assert_true(cal.be[CM_URING].break_even_by_shim);
	assert_int_equal(cal.be[CM_URING].break_even, 4);
	assert_int_equal(cal.be[CM_URING].break_even_poll, 8);
	assert_float_equal(cal.shim_fd.ns, 100, 0);
	/* the fixture predates break_even_batch_conn: not measured, and the
	 * MOD break-even stands for connection ops too */
	assert_false(cal.be[CM_URING].break_even_conn_known);
	assert_int_equal(cm_conn_break_even(&cal.be[CM_URING]), 4);
}

/* Where the shim did not measure, the shim's rule on the model's costs:
 * direct(n) = n (300 + 10) + 250 + 5; batched(n) = batch(n) + 20 n + 150:
 * n = 2: 600 + 40 + 150 = 790 < 0.98 x 875, and so at 4 .. 32: 2. */
static void test_break_even_rule(void **state)
{
	json_t *doc = json_load_file(FIX "calibration.json", 0, NULL);
	json_t *u = json_object_get(json_object_get(doc, "backends"), "uring");
	struct calib c;
	char why[200];

	(void)state;
	json_object_del(u, "break_even_source");
	assert_int_equal(calib_from_json(doc, &c, why, sizeof(why)), 0);
	assert_false(c.be[CM_URING].break_even_by_shim);
	assert_int_equal(c.be[CM_URING].break_even, 2);
	/* the model's loop is of MODs: connection ops get the same */
	assert_true(c.be[CM_URING].break_even_conn_known);
	assert_int_equal(c.be[CM_URING].break_even_conn, 2);
	/* batching never pays: a batch dearer than the syscalls at every size */
	for (int i = 0; i < CM_NB; i++)
		c.be[CM_URING].per_op[i].ns = 400;
	c.be[CM_URING].break_even_by_shim = false;
	calib_break_even(&c);
	assert_int_equal(c.be[CM_URING].break_even, 0);
	json_decref(doc);
}

static void test_interpolation(void **state)
{
	(void)state;
	load_cal(&cal);
	assert_float_equal(cm_batch_ns(&cal.be[CM_URING], 1), 500, 1e-9);
	assert_float_equal(cm_batch_ns(&cal.be[CM_URING], 3), 700, 1e-9);	/* 600 .. 800 */
	assert_float_equal(cm_batch_ns(&cal.be[CM_URING], 64), 64 * 160, 1e-9);
	/* beyond 64: the marginal cost of 16..64 ((10240 - 2720) / 48 = 156.67) */
	assert_float_equal(cm_batch_ns(&cal.be[CM_URING], 112), 10240 + 48 * 7520.0 / 48, 1e-6);
	assert_float_equal(cm_batch_ns(&cal.be[CM_URING], 0.5), 250, 1e-9);
}

/*
 * A process that already batches: what its batches save against the same
 * calls made direct, no shim.  The ops' kernel work cancels; per fused
 * wait 250 - 150, per batch of n its overhead beyond n MODs (batch(n) -
 * 300 n), per op the shim's 20.
 */
static void test_batched_saving(void **state)
{
	const struct cm_batched k16 = { .ops = 160, .batches = 10, .waits = 10 };
	const struct cm_batched k1 = { .ops = 10, .batches = 10, .waits = 10 };
	const struct cm_batched unfused = { .ops = 40, .batches = 10, .waits = 0 };
	const struct cm_batched none = { 0 };
	/* 10 connections' DELs, each fused with its close: batches of 2 */
	const struct cm_batched fused_close = { .ops = 10, .batches = 10, .waits = 0, .closes = 10 };

	(void)state;
	load_cal(&cal);
	/* 10 x 100 - 10 x (2720 - 4800) - 160 x 20 */
	assert_float_equal(cm_batched_saving(&cal, &cal.be[CM_URING], &k16), 18600, 1e-6);
	/* one op a batch costs: 10 x 100 - 10 x (500 - 300) - 10 x 20 */
	assert_float_equal(cm_batched_saving(&cal, &cal.be[CM_URING], &k1), -1200, 1e-6);
	/* flushes with the waits apart (0-timeout, unfused): no wait saved */
	assert_float_equal(cm_batched_saving(&cal, &cal.be[CM_URING], &unfused), 3200, 1e-6);
	assert_float_equal(cm_batched_saving(&cal, &cal.be[CM_URING], &none), 0, 0);
	/* - 10 x (600 - 2 x 300) - 10 x 20 */
	assert_float_equal(cm_batched_saving(&cal, &cal.be[CM_URING], &fused_close), -200, 1e-6);
}

static void test_batch_pays(void **state)
{
	struct wi_in in = { .mod = 4000, .waits = 1000, .seconds = 2, .requests = -1, .spin_measured = true };
	struct wi_out o[WI_N];

	(void)state;
	load_cal(&cal);
	whatif_compute(&cal, &in, o);
	/* 4 ops per wait >= 4 (the shim's break-even): batch.  Per iteration
	 * the batch's overhead 800 - 4 x 300 = -400 and the fused wait 150
	 * instead of 250; 4000 x 20 in the shim: -(1000 x -500 + 80000) / 2 s */
	assert_true(o[WI_URING].known);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].ops_per_wait, 4, 1e-9);
	assert_float_equal(o[WI_URING].saved_per_s, 210000, 1e-6);
	assert_true(isnan(o[WI_URING].saved_per_req));
	/* kmod estimated: batch(4) = 100 + 4 x 200 (overhead -300), wait
	 * 250 - 100: -(1000 x (-300 - 100) + 80000) / 2; its break-even by
	 * the rule: 220 n + 250 < 0.98 (310 n + 255) from n = 1 */
	assert_true(o[WI_KMOD].estimated);
	assert_float_equal(o[WI_KMOD].saved_per_s, 160000, 1e-6);
	assert_int_equal(o[WI_KMOD].break_even, 1);
	assert_non_null(strstr(o[WI_KMOD].assumptions, "no /dev/epoll_batch"));
	assert_non_null(strstr(o[WI_KMOD].assumptions, "connection ops: 1 ops as MODs"));
}

/*
 * The shim's mode on a connection-heavy thread follows the break-even of
 * its op mix (epb_mix_break_even), not the MOD one alone.  1000 each of
 * ADD, MOD and DEL, 1000 closes and waits: the DELs go with their closes,
 * b = 2000 / 1000 = 2 carried per wait; share = 2000 x 256 / 3000 = 170.
 */
static void test_conn_mix(void **state)
{
	struct wi_in in = { .add = 1000, .mod = 1000, .del = 1000, .closes = 1000, .waits = 1000,
			    .seconds = 1, .requests = -1 };
	struct cm_backend_cal *u = &cal.be[CM_URING];
	struct wi_out o[WI_N];

	(void)state;
	load_cal(&cal);
	/* MOD break-even 2, connection ops never: 2 x 256 / 86 = 5.95 -> 6 > 2: direct,
	 * at its direct path's cost: 3000 x 10 + 1000 x 5 + 1000 x 100 */
	u->break_even = 2;
	u->break_even_conn = 0;
	u->break_even_conn_known = true;
	whatif_compute(&cal, &in, o);
	assert_int_equal(o[WI_URING].break_even, 6);
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].saved_per_s, -135000, 1e-6);
	assert_non_null(strstr(o[WI_URING].assumptions, "break-even batch 6 ops for this mix of 67% ADD+DEL"));
	assert_non_null(strstr(o[WI_URING].assumptions, "MOD ops: 2 ops, connection ops: never;"));
	/* both 2: the mix's is 2 and the shim batches; always batched: 1000
	 * iterations of overhead(2) 600 - 600 = 0 and the fused wait 150 -
	 * 250, 3000 x 20 in the shim, 1000 x 100 fd bookkeeping */
	u->break_even_conn = 2;
	whatif_compute(&cal, &in, o);
	assert_int_equal(o[WI_URING].break_even, 2);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].saved_per_s, -(-100000 + 60000 + 100000), 1e-6);
	assert_float_equal(o[WI_URING].saved_per_s, o[WI_URING].always_per_s, 0);

	/* only connection ops, no closes: 8 carried per wait; never for conn: direct */
	in = (struct wi_in){ .add = 4000, .del = 4000, .waits = 1000, .seconds = 1, .requests = -1 };
	u->break_even_conn = 0;
	whatif_compute(&cal, &in, o);
	assert_int_equal(o[WI_URING].break_even, 0);
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
	u->break_even_conn = 2;
	whatif_compute(&cal, &in, o);
	assert_int_equal(o[WI_URING].break_even, 2);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	/* a calibration without the figure: the MOD break-even for every op
	 * (2: batch, as before the shim priced connection ops apart), said so */
	u->break_even_conn_known = false;
	u->break_even_conn = 0;
	whatif_compute(&cal, &in, o);
	assert_int_equal(o[WI_URING].break_even, 2);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	assert_non_null(strstr(o[WI_URING].assumptions, "not measured"));
}

/*
 * A thread that registered an fd with EPOLLEXCLUSIVE (an nginx worker's
 * listener): under io_uring the shim's fused wait takes its 0-timeout form,
 * so the loop is priced by that form's break-even (8 here), and the saving
 * is an upper bound (a wait that would sleep costs a second syscall).  The
 * module's fused wait is epoll_pwait itself: its figures do not change.
 */
static void test_exclusive(void **state)
{
	struct wi_in in = { .mod = 4000, .waits = 1000, .seconds = 2, .requests = -1 };
	struct wi_out o[WI_N], plain[WI_N];

	(void)state;
	load_cal(&cal);
	whatif_compute(&cal, &in, plain);
	in.excl_adds = 1;
	whatif_compute(&cal, &in, o);
	/* 4 ops per wait: the blocking break-even (4) batches, the 0-timeout one (8) does not */
	assert_true(wi_mode(&plain[WI_URING]) != WI_MODE_DIRECT);
	assert_false(plain[WI_URING].upper_bound);
	assert_int_equal(o[WI_URING].break_even, 8);
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].saved_per_s, -(4000 * 10 + 1000 * 5) / 2.0, 1e-6);
	assert_non_null(strstr(o[WI_URING].assumptions, "1 ADDs with EPOLLEXCLUSIVE"));
	assert_int_equal(o[WI_KMOD].break_even, plain[WI_KMOD].break_even);
	assert_float_equal(o[WI_KMOD].saved_per_s, plain[WI_KMOD].saved_per_s, 0);
	/* 8 ops per wait: it batches, at most what a loop that never sleeps saves */
	in.mod = 8000;
	whatif_compute(&cal, &in, o);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	assert_true(o[WI_URING].upper_bound);
}

static void test_batch_too_small(void **state)
{
	struct wi_in in = { .mod = 1000, .waits = 1000, .seconds = 2, .requests = 4000 };
	struct wi_out o[WI_N];
	char line[800];

	(void)state;
	load_cal(&cal);
	whatif_compute(&cal, &in, o);
	/* 1 op per wait < 4: the shim stays direct and costs 10 ns per op and
	 * 5 per wait: -(1000 x 10 + 1000 x 5) / 2 s */
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].saved_per_s, -7500, 1e-6);
	assert_float_equal(o[WI_URING].saved_per_req, -3.75, 1e-9);
	/* always batched: -(1000 x (500 - 300 + 150 - 250) + 1000 x 20) / 2 */
	assert_float_equal(o[WI_URING].always_per_s, -60000, 1e-6);
	whatif_sentence(line, sizeof(line), WI_URING, &o[WI_URING]);
	assert_non_null(strstr(line, "would cost"));
	assert_non_null(strstr(line, "too small"));
	/* no spin method: unshare unknown */
	assert_false(o[WI_UNSHARE].known);
}

static void test_no_waits(void **state)
{
	struct wi_in in = { .add = 500, .del = 500, .seconds = 1, .requests = -1 };
	struct wi_out o[WI_N];

	(void)state;
	load_cal(&cal);
	whatif_compute(&cal, &in, o);
	assert_true(o[WI_URING].known);
	/* nothing deferred, but the shim's direct path costs 10 ns per op */
	assert_float_equal(o[WI_URING].saved_per_s, -10000, 1e-9);
	assert_non_null(strstr(o[WI_URING].assumptions, "no epoll waits"));
}

/* Connection per request: ADD, wait, DEL, close.  The DEL is flushed with
 * its close (a submission of 2: overhead 600 - 600 = 0); the ADD rides on
 * the wait (overhead 500 - 300 = 200, fused wait 150 instead of 250); 2 x
 * 20 in the shim and 100 of fd bookkeeping per close.  Batching ADD and DEL
 * saves none of their in-kernel work (500, 400 direct): it costs. */
static void test_conn(void **state)
{
	struct wi_in in = { .add = 1000, .del = 1000, .closes = 1000, .waits = 1000, .seconds = 1,
			    .requests = -1 };
	struct wi_out o[WI_N];

	(void)state;
	load_cal(&cal);
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_URING].always_per_s, -(1000 * (200 - 100) + 0 + 40000 + 100000), 1e-6);
	/* 1 op carried per wait < 4: direct, 2 x 10 + 5 (its wait) + 100 per connection */
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].saved_per_s, -(20000 + 5000 + 100000), 1e-6);
	/* run's syscall prediction keeps one submission per fused close */
	assert_float_equal(o[WI_URING].fused_closes, 1000, 0);
	{
		json_t *w = whatif_json(o);

		assert_int_equal(json_integer_value(json_object_get(json_object_get(w, "batch:uring"),
								     "fused_closes")), 1000);
		json_decref(w);
	}
}

static void test_unshare(void **state)
{
	struct wi_in in = { .spin_files_ns = 1000000, .spin_measured = true, .seconds = 2, .requests = -1 };
	struct wi_out o[WI_N];

	(void)state;
	load_cal(&cal);
	whatif_compute(&cal, &in, o);
	assert_true(o[WI_UNSHARE].upper_bound);
	assert_float_equal(o[WI_UNSHARE].saved_per_s, 500000, 1e-9);
	in.private_fd_table = true;
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_UNSHARE].saved_per_s, 0, 0);
}

/* The trace fixture: per thread and the sum over threads, and per request. */
static void test_trace_fixture(void **state)
{
	json_t *doc = json_load_file(FIX "trace.json", 0, NULL), *threads, *th, *w;
	double sum = 0, unshare = 0;
	struct wi_out o[WI_N];
	struct wi_in in;
	size_t i;

	(void)state;
	load_cal(&cal);
	assert_non_null(doc);
	threads = json_object_get(doc, "threads");
	json_array_foreach(threads, i, th) {
		wi_in_from_json(th, doc, &in);
		assert_float_equal(in.requests, 10000, 0);
		whatif_compute(&cal, &in, o);
		sum += o[WI_URING].saved_per_s;
		unshare += o[WI_UNSHARE].saved_per_s;
		json_object_set_new(th, "what_if", whatif_json(o));
	}
	/* 210000 (thread 101 batches) - 7500 (102 stays direct: 1000 ops, 1000 waits) */
	assert_float_equal(sum, 202500, 1e-6);
	/* 101: 1e6 ns / 2 s; 102 has a private table */
	assert_float_equal(unshare, 500000, 1e-6);
	th = json_array_get(threads, 0);
	w = json_object_get(json_object_get(th, "what_if"), "batch:uring");
	/* per request: 210000 x 2 s / 10000 requests */
	assert_float_equal(json_number_value(json_object_get(w, "cpu_ns_saved_per_req")), 42, 1e-9);
	assert_string_equal(json_string_value(json_object_get(w, "shim_mode")), "batch");
	/* whatif_json_requests fills per_req the same way from per_s */
	json_object_set_new(doc, "what_if", json_pack("{s:{s:f,s:n}}", "batch:uring",
			    "cpu_ns_saved_per_s", 205000.0, "cpu_ns_saved_per_req"));
	whatif_json_requests(doc, 10000);
	w = json_object_get(json_object_get(doc, "what_if"), "batch:uring");
	assert_float_equal(json_number_value(json_object_get(w, "cpu_ns_saved_per_req")), 41, 1e-9);
	/* null, not 0, where nothing is known */
	in.spin_measured = false;
	in.private_fd_table = false;
	whatif_compute(&cal, &in, o);
	w = whatif_json(o);
	assert_true(json_is_null(json_object_get(json_object_get(w, "unshare"), "cpu_ns_saved_per_s")));
	json_decref(w);
	json_decref(doc);
}

static void test_roundtrip_and_errors(void **state)
{
	struct calib back;
	char why[200];
	json_t *doc;

	(void)state;
	load_cal(&cal);
	doc = calib_json(&cal);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), CALIB_SCHEMA);
	assert_true(json_is_string(json_object_get(json_object_get(doc, "skipped"), "kmod")));
	assert_null(json_object_get(json_object_get(doc, "backends"), "kmod"));
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), 0);
	assert_float_equal(back.be[CM_URING].per_op[3].ns, 180, 0);
	assert_float_equal(back.shim_op.ns, 20, 0);
	assert_int_equal(back.be[CM_URING].break_even, 4);
	assert_int_equal(back.be[CM_URING].break_even_poll, 8);
	assert_true(back.be[CM_URING].break_even_by_shim);
	assert_float_equal(back.shim_fd.ns, 100, 0);
	/* not measured: no key, and it reads back as not measured */
	assert_null(json_object_get(json_object_get(json_object_get(doc, "backends"), "uring"),
				    "break_even_batch_conn"));
	assert_false(back.be[CM_URING].break_even_conn_known);
	/* "never" is null and reads back as known */
	cal.be[CM_URING].break_even_conn_known = true;
	cal.be[CM_URING].break_even_conn = 0;
	json_decref(doc);
	doc = calib_json(&cal);
	assert_true(json_is_null(json_object_get(json_object_get(json_object_get(doc, "backends"), "uring"),
						 "break_even_batch_conn")));
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), 0);
	assert_true(back.be[CM_URING].break_even_conn_known);
	assert_int_equal(back.be[CM_URING].break_even_conn, 0);
	/* a size reads back; a value that is not one is not known */
	json_object_set_new(json_object_get(json_object_get(doc, "backends"), "uring"), "break_even_batch_conn",
			    json_integer(8));
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), 0);
	assert_true(back.be[CM_URING].break_even_conn_known);
	assert_int_equal(back.be[CM_URING].break_even_conn, 8);
	json_object_set_new(json_object_get(json_object_get(doc, "backends"), "uring"), "break_even_batch_conn",
			    json_string("never"));
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), 0);
	assert_false(back.be[CM_URING].break_even_conn_known);
	assert_int_equal(cm_conn_break_even(&back.be[CM_URING]), 4);
	/* the 0-timeout waits' form: absent (the fixture's shim did not
	 * say), then as the shim said it, and a value that is not one */
	assert_int_equal(back.be[CM_URING].poll_form, CM_POLL_UNKNOWN);
	cal.be[CM_URING].poll_form = CM_POLL_UNFUSED;
	json_decref(doc);
	doc = calib_json(&cal);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(doc, "backends"),
									      "uring"),
							      "break_even_poll_form")),
			    "unfused");
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), 0);
	assert_int_equal(back.be[CM_URING].poll_form, CM_POLL_UNFUSED);
	json_object_set_new(json_object_get(json_object_get(doc, "backends"), "uring"), "break_even_poll_form",
			    json_string("fused"));
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), 0);
	assert_int_equal(back.be[CM_URING].poll_form, CM_POLL_FUSED);
	json_object_set_new(json_object_get(json_object_get(doc, "backends"), "uring"), "break_even_poll_form",
			    json_string("sideways"));
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), 0);
	assert_int_equal(back.be[CM_URING].poll_form, CM_POLL_UNKNOWN);
	cal.be[CM_URING].poll_form = CM_POLL_UNKNOWN;
	/* a missing figure and a foreign schema are refused with a reason */
	json_object_del(doc, "syscall_ns");
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "syscall_ns"));
	json_object_set_new(doc, "schema", json_string("epbatch/1"));
	assert_int_equal(calib_from_json(doc, &back, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not an"));
	json_decref(doc);
}

/*
 * A loop in spells (the shim decides per block of EPB_POLICY_BLOCK waits,
 * on the block before): 300 blocks of 1 MOD per wait, each after such a
 * block, and 30 of 16 per wait after blocks of 16.  On average 12480 /
 * 5280 = 2.36 per wait, under the break-even of 4, yet the busy spells
 * batch.  Quiet part, direct: 4800 x 10 + 4800 x 5 = 72000.  Busy part,
 * batched: 480 iterations of 16, each (2720 - 16 x 300) + (150 - 250) =
 * -2180, and 7680 x 20 in the shim: -892800.  Saved: 892800 - 72000.
 */
static void blocks_in(struct wi_in *in, unsigned busy_after)
{
	*in = (struct wi_in){ .mod = 12480, .waits = 5280, .seconds = 1, .requests = -1 };
	in->block_hist[1] = 300;
	in->block_ops[1] = 4800;
	in->block_hist[busy_after] += 30;
	in->block_ops[busy_after] += 7680;
}

static void test_blocks(void **state)
{
	struct wi_in in;
	struct wi_out o[WI_N];
	char line[900];
	json_t *j;

	(void)state;
	load_cal(&cal);
	blocks_in(&in, 16);
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_URING].ops_per_wait, 12480.0 / 5280, 1e-9);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].batched_share, 7680.0 / 12480, 1e-9);
	assert_float_equal(o[WI_URING].ctl_batched, 7680, 1e-9);
	assert_float_equal(o[WI_URING].saved_per_s, 892800 - 72000, 1e-6);
	assert_non_null(strstr(o[WI_URING].assumptions, "62% of the calls (9% of the waits) came after a block"));
	j = whatif_json(o);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "batch:uring"), "shim_mode")),
			    "mixed");
	json_decref(j);
	whatif_sentence(line, sizeof(line), WI_URING, &o[WI_URING]);
	assert_non_null(strstr(line, "break-even 4 ops; 62% of the calls in the blocks it would batch)"));

	/* The same busy blocks, each after a quiet one: the shim sees them a
	 * block late, so it batches none (the direct way's cost throughout:
	 * 12480 x 10 + 5280 x 5). */
	blocks_in(&in, 1);
	whatif_compute(&cal, &in, o);
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].ctl_batched, 0, 0);
	assert_float_equal(o[WI_URING].saved_per_s, -(12480 * 10 + 5280 * 5), 1e-6);

	/* No blocks (a record from before them): the average decides */
	memset(in.block_hist, 0, sizeof(in.block_hist));
	memset(in.block_ops, 0, sizeof(in.block_ops));
	whatif_compute(&cal, &in, o);
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].saved_per_s, -(12480 * 10 + 5280 * 5), 1e-6);
}

/* The blocks as a trace writes them (report.c), read back; of another
 * block length than the shim decides on, left out. */
static void test_blocks_json(void **state)
{
	json_t *doc = json_pack("{s:f}", "duration_s", 1.0);
	json_t *th = json_pack("{s:{s:i},s:i,s:{s:i,s:{s:{s:i,s:i},s:{s:i,s:i}}}}", "epoll_ctl", "mod", 12480,
			       "epoll_wait", 5280, "epoll_ctl_blocks", "waits_per_block", EPB_POLICY_BLOCK,
			       "after_calls_per_wait", "1", "blocks", 300, "calls", 4800, "16", "blocks", 30,
			       "calls", 7680);
	struct wi_in in, want;
	struct wi_out o[WI_N];

	(void)state;
	load_cal(&cal);
	wi_in_from_json(th, doc, &in);
	blocks_in(&want, 16);
	assert_memory_equal(in.block_hist, want.block_hist, sizeof(want.block_hist));
	assert_memory_equal(in.block_ops, want.block_ops, sizeof(want.block_ops));
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_URING].ctl_batched, 7680, 1e-9);

	/* the instance it waits on has an EPOLLEXCLUSIVE registration made
	 * before the trace: its fused wait is priced in the 0-timeout form
	 * (break-even 8), so the busy blocks (16 per wait) still batch, as an
	 * upper bound */
	assert_false(o[WI_URING].upper_bound);
	json_object_set_new(th, "epoll_wait_fd_exclusive", json_integer(1));
	wi_in_from_json(th, doc, &in);
	assert_int_equal(in.excl_instance, 1);
	whatif_compute(&cal, &in, o);
	assert_int_equal(o[WI_URING].break_even, 8);
	assert_true(o[WI_URING].upper_bound);
	assert_non_null(strstr(o[WI_URING].assumptions, "the instance it waits on has 1 registrations with EPOLLEXCLUSIVE"));

	json_object_set_new(json_object_get(th, "epoll_ctl_blocks"), "waits_per_block", json_integer(8));
	wi_in_from_json(th, doc, &in);
	for (int k = 0; k < EPB_BLOCK_SLOTS; k++)
		assert_int_equal(in.block_hist[k] + in.block_ops[k], 0);
	json_decref(th);
	json_decref(doc);
}

/*
 * Inside the blocks it batches, the shim sends an iteration with fewer ops
 * than its batch size (the MOD break-even, 4) the direct way (flush.c).
 * 1200 waits, every block after a block of 5 calls per wait (batched);
 * half the waits carry 2 calls, half 8.  Batched: the 600 of 8, b = 8:
 * 600 x ((8 x 180 - 8 x 300) + 150 - 250) + 4800 x 20 = -540000; the 600
 * of 2 flushed direct: 1200 x 20 + 600 x 5 = 27000.
 */
static void iters_in(struct wi_in *in)
{
	*in = (struct wi_in){ .mod = 6000, .waits = 1200, .seconds = 1, .requests = -1 };
	in->block_hist[5] = 75;
	in->block_ops[5] = 6000;
	in->iter_hist[3][2] = 600;	/* after a block of 4-7 per wait: 2-3 calls */
	in->iter_ops[3][2] = 1200;
	in->iter_hist[3][4] = 600;	/* ... and 8-15 */
	in->iter_ops[3][4] = 4800;
}

static void test_small_iterations(void **state)
{
	json_t *doc = json_pack("{s:f}", "duration_s", 1.0), *th;
	struct wi_in in, back;
	struct wi_out o[WI_N];
	char line[900];

	(void)state;
	load_cal(&cal);
	iters_in(&in);
	whatif_compute(&cal, &in, o);
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_BATCH);
	assert_float_equal(o[WI_URING].batched_share, 1, 1e-9);
	assert_float_equal(o[WI_URING].fused_share, 0.8, 1e-9);
	assert_float_equal(o[WI_URING].ctl_batched, 4800, 1e-9);
	assert_float_equal(o[WI_URING].saved_per_s, 540000 - 27000, 1e-6);
	assert_non_null(strstr(o[WI_URING].assumptions, "80% in iterations that reach the batch size"));
	whatif_sentence(line, sizeof(line), WI_URING, &o[WI_URING]);
	assert_non_null(strstr(line, "break-even 4 ops; 80% in batches)"));

	/* a few calls folded away (cs 1%) leave an iteration of 4-7 calls at
	 * the batch size: the cut does not move a whole bucket for them */
	in.iter_hist[3][3] = in.iter_hist[3][4];
	in.iter_ops[3][3] = in.iter_ops[3][4];
	in.iter_hist[3][4] = in.iter_ops[3][4] = 0;
	in.coalescible = 60;
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_URING].fused_share, 0.8, 1e-9);
	/* half folded away (the double re-arm's share): 4-7 calls are 2-3 ops */
	in.coalescible = 3000;
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_URING].fused_share, 0, 0);
	iters_in(&in);

	/* every iteration at the batch size: all of it rides on the waits */
	in.iter_hist[3][2] = in.iter_ops[3][2] = 0;
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_URING].fused_share, 1, 1e-9);
	assert_float_equal(o[WI_URING].ctl_batched, 6000, 1e-9);

	/* no iterations for that bucket (a record from before them): the
	 * whole blocks, as before: b = 5, batch(5) = 960 */
	memset(in.iter_hist, 0, sizeof(in.iter_hist));
	memset(in.iter_ops, 0, sizeof(in.iter_ops));
	whatif_compute(&cal, &in, o);
	assert_float_equal(o[WI_URING].ctl_batched, 6000, 1e-9);
	assert_float_equal(o[WI_URING].saved_per_s, 1200 * (1500 - 960 + 100) - 6000 * 20, 1e-6);

	/* as a trace writes them (report.c: keys are the buckets' lower
	 * bounds), read back; a key that is no bucket is left out */
	th = json_pack("{s:{s:i},s:i,s:{s:i,s:{s:{s:i,s:i}}},s:{s:i,s:{s:{s:{s:i,s:i},s:{s:i,s:i},s:{s:i,s:i}}}}}",
		       "epoll_ctl", "mod", 6000, "epoll_wait", 1200,
		       "epoll_ctl_blocks", "waits_per_block", EPB_POLICY_BLOCK, "after_calls_per_wait",
		       "5", "blocks", 75, "calls", 6000,
		       "epoll_ctl_iterations", "waits_per_block", EPB_POLICY_BLOCK, "after_calls_per_wait",
		       "4", "2", "waits", 600, "calls", 1200, "8", "waits", 600, "calls", 4800,
		       "3", "waits", 1, "calls", 3);
	wi_in_from_json(th, doc, &back);
	iters_in(&in);
	assert_memory_equal(back.iter_hist, in.iter_hist, sizeof(in.iter_hist));
	assert_memory_equal(back.iter_ops, in.iter_ops, sizeof(in.iter_ops));
	json_decref(th);
	json_decref(doc);
}

/*
 * Calls the queue folds away (epoll_ctl_coalescible): the double re-arm,
 * 128 MODs of 64 fds per wait, half folded.  The 64 sent: (64 x 160 - 64 x
 * 300) + (150 - 250) = -9060 per iteration, 100 iterations; 12800 x 20 in
 * the shim; the 6400 folded save their MOD, 300 each.
 */
static void test_coalescing(void **state)
{
	struct wi_in in = { .mod = 12800, .waits = 100, .coalescible = 6400, .seconds = 1, .requests = -1 };
	struct wi_out o[WI_N];

	(void)state;
	load_cal(&cal);
	whatif_compute(&cal, &in, o);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	assert_float_equal(o[WI_URING].saved_per_s, 906000 - 256000 + 6400 * 300, 1e-6);
	assert_float_equal(o[WI_URING].ctl_batched, 12800, 1e-9);
	assert_non_null(strstr(o[WI_URING].assumptions, "64.00 carried by the wait after 50% folded away"));

	/* 3 calls per wait, 2 after folding: under the break-even of 4, but
	 * folding saves a third of the calls, so the shim batches (its rule:
	 * over a quarter, in a loop of 2 or more per wait) */
	in = (struct wi_in){ .mod = 300, .waits = 100, .coalescible = 100, .seconds = 1, .requests = -1 };
	whatif_compute(&cal, &in, o);
	assert_true(wi_mode(&o[WI_URING]) != WI_MODE_DIRECT);
	/* none folded: 3 per wait stays direct */
	in.coalescible = 0;
	whatif_compute(&cal, &in, o);
	assert_true(wi_mode(&o[WI_URING]) == WI_MODE_DIRECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_interpolation),
		cmocka_unit_test(test_break_even_rule),
		cmocka_unit_test(test_batch_pays),
		cmocka_unit_test(test_batch_too_small),
		cmocka_unit_test(test_no_waits),
		cmocka_unit_test(test_conn),
		cmocka_unit_test(test_conn_mix),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_blocks_json),
		cmocka_unit_test(test_small_iterations),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_exclusive),
		cmocka_unit_test(test_unshare),
		cmocka_unit_test(test_batched_saving),
		cmocka_unit_test(test_trace_fixture),
		cmocka_unit_test(test_roundtrip_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
