// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --csv, --ndjson and --openmetrics formatting (streams.c) and their options. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "opts.h"
#include "streams.h"

static void fill(struct report *r, struct thread_stats rows[3])
{
	memset(rows, 0, 3 * sizeof(*rows));
	rows[0].tid = 11;
	rows[0].tgid = 10;
	strcpy(rows[0].comm, "wo\"rk,er\\0");
	rows[0].ctl[EPB_CTL_MOD] = 40;
	rows[0].ctl_err[EPB_CTL_MOD] = 2;
	rows[0].wait = 20;
	rows[0].private_fd_table = true;
	rows[0].spin_ns = 5000000;
	rows[1].tid = 10;
	rows[1].tgid = 10;
	strcpy(rows[1].comm, "srv");
	rows[1].ctl[EPB_CTL_ADD] = 3;
	rows[1].ctl_batched[EPB_CTL_MOD] = 9;	/* batched by a shim */
	rows[2].tid = 21;
	rows[2].tgid = 20;
	strcpy(rows[2].comm, "other");
	rows[2].wait = 7;
	memset(r, 0, sizeof(*r));
	r->pid = 10;
	r->comm = "srv";
	r->seconds = 2.0;
	r->method = SPIN_SAMPLE;
	r->rows = rows;
	r->nr_rows = 3;
}

static char *capture(void (*fn)(FILE *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

/* Flatten an object's keys, joined by '_', in document order. */
static void flatten(json_t *o, const char *prefix, char *out, size_t len)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		char name[128];

		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "_" : "", k);
		if (json_is_object(v)) {
			flatten(v, name, out, len);
			continue;
		}
		if (*out)
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, name, len - strlen(out) - 1);
	}
}

static void hdr(FILE *f, void *arg)
{
	(void)arg;
	csv_header(f);
}

/* The CSV columns are exactly the NDJSON keys, flattened, in the same order. */
static void test_csv_columns_are_ndjson_keys(void **state)
{
	struct thread_stats rows[3];
	struct report r;
	char *h = capture(hdr, NULL), flat[4096] = "";
	json_t *o;

	(void)state;
	fill(&r, rows);
	o = ndjson_row(&rows[0], 1700000000.5, 2.0, false);
	flatten(o, "", flat, sizeof(flat));
	h[strcspn(h, "\n")] = 0;
	/* same set: as many columns as keys, and every key a column */
	int nk = 1, nc = 1;

	for (char *p = flat; *p; p++)
		nk += *p == ',';
	for (char *p = h; *p; p++)
		nc += *p == ',';
	assert_int_equal(nk, nc);
	for (char *c = strtok(flat, ","); c; c = strtok(NULL, ",")) {
		char needle[140];

		snprintf(needle, sizeof(needle), ",%s,", c);
		char *hh;

		assert_true(asprintf(&hh, ",%s,", h) > 0);
		if (!strstr(hh, needle))
			fail_msg("NDJSON key %s is not a CSV column", c);
		free(hh);
	}
	json_decref(o);
	free(h);
}

struct rowarg {
	struct thread_stats *t;
	bool timed;
};

static void one_row(FILE *f, void *arg)
{
	struct rowarg *a = arg;

	csv_row(f, a->t, 1700000000.5, 2.0, a->timed);
}

static void test_csv_row(void **state)
{
	struct thread_stats rows[3];
	struct report r;
	struct rowarg a = { .timed = false };
	char *h = capture(hdr, NULL), *row;
	int nh = 0, nr = 0;
	bool q = false;

	(void)state;
	fill(&r, rows);
	a.t = &rows[0];
	row = capture(one_row, &a);
	/* RFC 4180: the comm with a comma and a quote is quoted, the quote doubled */
	assert_non_null(strstr(row, ",11,10,\"wo\"\"rk,er\\0\",1,0,0,40,0,2,,"));
	assert_non_null(strstr(row, "1700000000.500,2023-11-14T22:13:20.500Z,2.000,"));
	for (char *p = h; *p; p++)
		nh += *p == ',';
	for (char *p = row; *p; p++) {
		q ^= *p == '"';
		nr += *p == ',' && !q;
	}
	assert_int_equal(nh, nr);
	free(row);
	/* -T: the ns columns have numbers */
	rows[0].ctl_ns = 1234;
	a.timed = true;
	row = capture(one_row, &a);
	assert_non_null(strstr(row, ",2,1234,"));
	free(row);
	free(h);
}

static void om(FILE *f, void *arg)
{
	openmetrics_write(f, arg, true, 1700000000.0);
}

static bool valid_name(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

/*
 * A parser of the text exposition format's rules: every sample's family has
 * HELP and TYPE before it and no family appears twice; names are valid;
 * counters end in _total; label values are escaped.
 */
static void test_openmetrics_format(void **state)
{
	struct thread_stats rows[3];
	struct report r;
	char *txt, *line, *save, family[128] = "", type[16] = "", seen[8192] = ",";
	int samples = 0;

	(void)state;
	fill(&r, rows);
	txt = capture(om, &r);
	for (line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# HELP ", 7)) {
			size_t n = strcspn(line + 7, " ");
			char key[140];

			assert_true(valid_name(line + 7, n));
			snprintf(family, sizeof(family), "%.*s", (int)n, line + 7);
			snprintf(key, sizeof(key), ",%s,", family);
			if (strstr(seen, key))
				fail_msg("family %s twice", family);
			strncat(seen, family, sizeof(seen) - strlen(seen) - 2);
			strcat(seen, ",");
			type[0] = 0;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(strncmp(line + 7, family, strlen(family)), 0);
			snprintf(type, sizeof(type), "%s", line + 8 + strlen(family));
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge"));
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(family, "_total"));
			continue;
		}
		assert_true(line[0] != '#');
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(line, "{ "), line);
		if (strcmp(name, family))
			fail_msg("sample %s outside its family %s", name, family);
		assert_true(type[0]);
		samples++;
	}
	free(txt);
	assert_true(samples > 20);
}

static void test_openmetrics_processes(void **state)
{
	struct thread_stats rows[3];
	struct report r;
	char *txt;

	(void)state;
	fill(&r, rows);
	txt = capture(om, &r);
	/* threads summed per process, the traced one named by r->comm */
	assert_non_null(strstr(txt, "epbatch_epoll_ctl_total{pid=\"10\",comm=\"srv\",op=\"mod\"} 40\n"));
	assert_non_null(strstr(txt, "epbatch_epoll_ctl_total{pid=\"10\",comm=\"srv\",op=\"add\"} 3\n"));
	assert_non_null(strstr(txt, "epbatch_threads{pid=\"10\",comm=\"srv\"} 2\n"));
	assert_non_null(strstr(txt, "epbatch_private_fd_table_threads{pid=\"10\",comm=\"srv\"} 1\n"));
	assert_non_null(strstr(txt, "epbatch_epoll_wait_total{pid=\"20\",comm=\"other\"} 7\n"));
	/* the batched ops: one family, by op, as epoll_ctl's */
	assert_non_null(strstr(txt, "epbatch_epoll_ctl_batched_total{pid=\"10\",comm=\"srv\",op=\"mod\"} 9\n"));
	assert_null(strstr(txt, "epbatch_epoll_ctl_batched_mod_total"));
	assert_non_null(strstr(txt, "epbatch_spin_seconds_total{pid=\"10\",comm=\"srv\"} 0.005000000\n"));
	assert_non_null(strstr(txt, "epbatch_info{version=\"" EPBATCH_VERSION "\",spin_method=\"sample\"} 1\n"));
	free(txt);
	/* a process named with a quote and a backslash: escaped label value */
	r.pid = 99;
	txt = capture(om, &r);
	assert_non_null(strstr(txt, "epbatch_epoll_ctl_total{pid=\"10\",comm=\"srv\",op=\"add\"} 3\n"));
	free(txt);
	strcpy(rows[1].comm, "a\"b\\c");
	txt = capture(om, &r);
	assert_non_null(strstr(txt, "{pid=\"10\",comm=\"a\\\"b\\\\c\",op=\"add\"} 3\n"));
	free(txt);
}

static int parse(const char *a, const char *b, const char *c, struct trace_opts *o)
{
	char *argv[] = { "epbatch-trace", "-p", "1", (char *)a, (char *)b, (char *)c, NULL };
	int argc = 3 + (a != NULL) + (b != NULL) + (c != NULL);
	bool help;

	return parse_live_args(argc, argv, o, &help);
}

static void test_options(void **state)
{
	struct trace_opts o;

	(void)state;
	assert_int_equal(parse("--csv", "x.csv", NULL, &o), 0);
	assert_string_equal(o.csv, "x.csv");
	assert_ptr_equal(trace_human_out(&o), stdout);
	assert_int_equal(parse("--ndjson", "-", NULL, &o), 0);
	assert_ptr_equal(trace_human_out(&o), stderr);
	assert_int_equal(parse("--openmetrics", "-", NULL, &o), -1);
	assert_int_equal(parse("--openmetrics", "m.prom", NULL, &o), 0);
	assert_string_equal(o.openmetrics, "m.prom");
	assert_int_equal(parse("--csv", "-", "--ndjson=-", &o), -1);
}

static void test_iso_time(void **state)
{
	char b[40];

	(void)state;
	iso_time(b, sizeof(b), 0.25);
	assert_string_equal(b, "1970-01-01T00:00:00.250Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_columns_are_ndjson_keys),
		cmocka_unit_test(test_csv_row),
		cmocka_unit_test(test_openmetrics_format),
		cmocka_unit_test(test_openmetrics_processes),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_iso_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
