// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Parsers for load generators' output (see loadgen.h).  Each text parser
 * walks the output one line at a time (both '\n' and '\r' end a line:
 * redis-benchmark redraws its progress line with '\r') and picks the lines
 * it knows with sscanf; anything else is ignored, so banners, progress and
 * warnings do no harm.  What counts as an error per generator is written
 * down in docs/real-servers.md.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "loadgen.h"

#define LINE_MAX_LEN 512

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

/* epbatch-load --out -: one JSON object (docs/bench.md). */
static int parse_epbatch_load(const char *text, struct load_result *r, char *err, size_t n)
{
	json_error_t je;
	json_t *doc = json_loads(text, JSON_DISABLE_EOF_CHECK, &je), *lat;

	if (!json_is_object(doc) || !json_object_get(doc, "requests")) {
		snprintf(err, n, "not epbatch-load JSON (%s)", doc ? "no \"requests\"" : je.text);
		json_decref(doc);
		return -1;
	}
	r->kind = "epbatch-load";
	r->has_counts = true;
	r->requests = num(doc, "requests");
	r->errors = num(doc, "errors");
	r->duration_s = num(doc, "duration_s");
	r->rps = num(doc, "rps");
	lat = json_object_get(doc, "latency_us");
	if (json_is_object(lat)) {
		r->has_latency = true;
		r->p50_ms = num(lat, "p50") / 1e3;
		r->p90_ms = num(lat, "p90") / 1e3;
		r->p99_ms = num(lat, "p99") / 1e3;
		r->p999_ms = num(lat, "p999") / 1e3;
	}
	if (json_is_object(json_object_get(doc, "cpu_s"))) {
		r->has_cpu = true;
		r->cpu_user_s = num(json_object_get(doc, "cpu_s"), "user");
		r->cpu_sys_s = num(json_object_get(doc, "cpu_s"), "sys");
	}
	json_decref(doc);
	return 0;
}

/*
 * Copies the line at *p into buf (without its end, truncated to n - 1) and
 * moves *p past it.  Returns false at the end of the text.
 */
static bool next_line(const char **p, char *buf, size_t n)
{
	size_t len = strcspn(*p, "\r\n");

	if (!**p)
		return false;
	if (len >= n)
		len = n - 1;
	memcpy(buf, *p, len);
	buf[len] = '\0';
	*p += strcspn(*p, "\r\n");
	if (**p)
		(*p)++;
	return true;
}

/* "131.00us", "1.48ms", "2.01s", "1.50m", "1.00h" -> milliseconds. */
static bool time_ms(const char *s, double *ms)
{
	static const struct { const char *unit; double ms; } units[] = {
		{ "us", 1e-3 }, { "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
	};
	char unit[8];
	double v;

	if (sscanf(s, "%lf%7[a-z]", &v, unit) != 2)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(unit, units[i].unit)) {
			*ms = v * units[i].ms;
			return true;
		}
	}
	return false;
}

/* Stores a percentile line's value in the matching field (50, 90, 99, 99.9). */
static void set_percentile(struct load_result *r, double pct, double ms)
{
	if (pct == 50)
		r->p50_ms = ms;
	else if (pct == 90)
		r->p90_ms = ms;
	else if (pct == 99)
		r->p99_ms = ms;
	else if (pct == 99.9)
		r->p999_ms = ms;
	else
		return;
	r->has_latency = true;
}

static int missing(char *err, size_t n, const char *kind, const char *what)
{
	snprintf(err, n, "%s output has no %s", kind, what);
	return -1;
}

/*
 * wrk: "N requests in 1.00s, ..."; errors are the socket errors (connect,
 * read, write, timeout) plus "Non-2xx or 3xx responses"; percentiles from
 * the "Latency Distribution" block (--latency).
 */
static int parse_wrk(const char *text, struct load_result *r, char *err, size_t n)
{
	char line[LINE_MAX_LEN], dur[32];
	double a, b, c, d;
	bool got = false, rate = false, dist = false;

	while (next_line(&text, line, sizeof(line))) {
		if (sscanf(line, " %lf requests in %31[^,]", &a, dur) == 2 && time_ms(dur, &b)) {
			r->requests = a;
			r->duration_s = b / 1e3;
			got = true;
		} else if (sscanf(line, " Socket errors: connect %lf, read %lf, write %lf, timeout %lf",
				  &a, &b, &c, &d) == 4) {
			r->errors += a + b + c + d;
		} else if (sscanf(line, " Non-2xx or 3xx responses: %lf", &a) == 1) {
			r->errors += a;
		} else if (sscanf(line, "Requests/sec: %lf", &a) == 1) {
			r->rps = a;
			rate = true;
		} else if (strstr(line, "Latency Distribution")) {
			dist = true;
		} else if (dist && sscanf(line, " %lf%% %31s", &a, dur) == 2 && time_ms(dur, &b)) {
			set_percentile(r, a, b);
		} else {
			dist = false;
		}
	}
	if (!got)
		return missing(err, n, "wrk", "'N requests in T' line");
	if (!rate && r->duration_s > 0)
		r->rps = r->requests / r->duration_s;
	r->has_counts = true;
	return 0;
}

/*
 * ab: "Complete requests"; errors are "Failed requests" + "Non-2xx
 * responses" + "Write errors"; percentiles (whole ms) from the
 * "Percentage of the requests served" table.
 */
static int parse_ab(const char *text, struct load_result *r, char *err, size_t n)
{
	char line[LINE_MAX_LEN];
	double a, b;
	bool got = false, table = false;

	while (next_line(&text, line, sizeof(line))) {
		if (sscanf(line, "Complete requests: %lf", &a) == 1) {
			r->requests = a;
			got = true;
		} else if (sscanf(line, "Failed requests: %lf", &a) == 1 ||
			   sscanf(line, "Non-2xx responses: %lf", &a) == 1 ||
			   sscanf(line, "Write errors: %lf", &a) == 1) {
			r->errors += a;
		} else if (sscanf(line, "Time taken for tests: %lf", &a) == 1) {
			r->duration_s = a;
		} else if (sscanf(line, "Requests per second: %lf", &a) == 1) {
			r->rps = a;
		} else if (strstr(line, "Percentage of the requests served")) {
			table = true;
		} else if (table && sscanf(line, " %lf%% %lf", &a, &b) == 2) {
			set_percentile(r, a, b);
		}
	}
	if (!got)
		return missing(err, n, "ab", "'Complete requests' line");
	if (!r->rps && r->duration_s > 0)
		r->rps = r->requests / r->duration_s;
	r->has_counts = true;
	return 0;
}

/*
 * h2load: "requests: T total, S started, D done, OK succeeded, F failed,
 * E errored, X timeout"; requests are the done ones, errors the failed ones
 * (h2load counts errored, timed-out and non-2xx/3xx requests in failed).
 * It prints no percentiles.
 */
static int parse_h2load(const char *text, struct load_result *r, char *err, size_t n)
{
	char line[LINE_MAX_LEN], dur[32];
	double total, started, done, ok, failed, a, b;
	bool got = false, fin = false;

	while (next_line(&text, line, sizeof(line))) {
		if (sscanf(line, "requests: %lf total, %lf started, %lf done, %lf succeeded, %lf failed",
			   &total, &started, &done, &ok, &failed) == 5) {
			r->requests = done;
			r->errors = failed;
			got = true;
		} else if (sscanf(line, "finished in %31[^,], %lf req/s", dur, &a) == 2 && time_ms(dur, &b)) {
			r->duration_s = b / 1e3;
			r->rps = a;
			fin = true;
		}
	}
	if (!got)
		return missing(err, n, "h2load", "'requests: ... done ... failed' line");
	if (!fin)
		return missing(err, n, "h2load", "'finished in T, R req/s' line");
	r->has_counts = true;
	return 0;
}

/* Keeps the worst p50 and p99 over several tests (0: not printed). */
static void worst_latency(struct load_result *r, double p50, double p99)
{
	if (p50 > r->p50_ms)
		r->p50_ms = p50;
	if (p99 > r->p99_ms)
		r->p99_ms = p99;
	r->has_latency = true;
}

/*
 * redis-benchmark, in its three output forms.  Each test (-t get,set) runs
 * -n requests, so the overall rate of k tests is k / sum(1 / rps_i).
 *   default: "N requests completed in T seconds", "throughput summary: R
 *            requests per second" and the "latency summary" values;
 *   --csv:   "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
 *            "p95_latency_ms","p99_latency_ms","max_latency_ms" rows;
 *   -q:      "GET: R requests per second, p50=X msec".
 * --csv and -q print no request counts (has_counts is false).  Errors are
 * the lines redis-benchmark prints for them ("Error ...", "Could not
 * connect ...", "Writing to socket: ..."), when the caller kept stderr.
 * Percentiles are the worst over the tests.
 */
static int parse_redis_benchmark(const char *text, struct load_result *r, char *err, size_t n)
{
	char line[LINE_MAX_LEN];
	double req = 0, inv_rps = 0, a, v[6];
	int tests = 0, req_tests = 0, k;
	bool latency_next = false;

	while (next_line(&text, line, sizeof(line))) {
		const char *q = strstr(line, " requests per second, p50=");

		int end = 0;

		/* %n: the whole phrase matched, not only a leading number */
		if (sscanf(line, " %lf requests completed in%n", &a, &end) == 1 && end) {
			req += a;
			req_tests++;
		} else if (sscanf(line, " throughput summary: %lf requests per second", &a) == 1 && a > 0) {
			inv_rps += 1 / a;
			tests++;
		} else if (strstr(line, "latency summary") || (latency_next && strstr(line, "p50"))) {
			latency_next = true;
			continue;
		} else if (latency_next && sscanf(line, " %lf %lf %lf %lf %lf %lf",
						  &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6) {
			worst_latency(r, v[2], v[4]);
		} else if (line[0] == '"' && strncmp(line, "\"test\"", 6) &&
			   (k = sscanf(line, "\"%*[^\"]\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\"",
				       &a, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5])) >= 1 && a > 0) {
			inv_rps += 1 / a;
			tests++;
			if (k == 7)
				worst_latency(r, v[2], v[4]);
		} else if (q && sscanf(q, " requests per second, p50=%lf", &v[0]) == 1 &&
			   sscanf(strchr(line, ':') ? strchr(line, ':') + 1 : line, " %lf", &a) == 1 && a > 0) {
			inv_rps += 1 / a;
			tests++;
			worst_latency(r, v[0], 0);
		} else if (!strncmp(line, "Error", 5) || strstr(line, "Could not connect") ||
			   !strncmp(line, "Writing to socket", 17)) {
			r->errors++;
		}
		latency_next = false;
	}
	if (!tests)
		return missing(err, n, "redis-benchmark", "test result (throughput summary, CSV row or -q line)");
	r->rps = tests / inv_rps;
	if (req_tests == tests) {
		/* each test's time from its count and rate: the printed
		 * "completed in 0.09 seconds" has two decimals only */
		r->requests = req;
		r->duration_s = req / r->rps;
		r->has_counts = true;
	}
	return 0;
}

/*
 * memcslap: "Time to set 8000 keys by 8 threads: 0.425 seconds." (set, get
 * or mget, the test that ran after loading); errors are its "Failed..." and
 * "Fatal error..." lines, one per failed operation or connection.
 */
static int parse_memcslap(const char *text, struct load_result *r, char *err, size_t n)
{
	char line[LINE_MAX_LEN];
	double keys, threads, secs;
	bool got = false;

	while (next_line(&text, line, sizeof(line))) {
		if (sscanf(line, "Time to %*s %lf keys by %lf threads: %lf seconds", &keys, &threads, &secs) == 3) {
			r->requests += keys;
			r->duration_s += secs;
			got = true;
		} else if (!strncmp(line, "Failed", 6) || !strncmp(line, "Fatal error", 11)) {
			r->errors++;
		}
	}
	if (!got)
		return missing(err, n, "memcslap", "'Time to OP N keys by T threads' line");
	if (r->duration_s > 0)
		r->rps = r->requests / r->duration_s;
	r->has_counts = true;
	return 0;
}

static const struct parser {
	const char *kind;
	int (*parse)(const char *text, struct load_result *r, char *err, size_t n);
} parsers[] = {
	{ "epbatch-load", parse_epbatch_load },
	{ "wrk", parse_wrk },
	{ "ab", parse_ab },
	{ "h2load", parse_h2load },
	{ "redis-benchmark", parse_redis_benchmark },
	{ "memcslap", parse_memcslap },
};

const char *loadgen_detect(const char *text)
{
	if (text[strspn(text, " \t\r\n")] == '{')
		return "epbatch-load";
	if (strstr(text, "Requests/sec:") && strstr(text, " requests in "))
		return "wrk";
	if (strstr(text, "Complete requests:"))
		return "ab";
	if (strstr(text, "finished in ") && strstr(text, "requests: "))
		return "h2load";
	if (strstr(text, "\"test\",\"rps\"") || strstr(text, "requests completed in") ||
	    strstr(text, " requests per second, p50="))
		return "redis-benchmark";
	if (strstr(text, " keys by ") && strstr(text, "Time to "))
		return "memcslap";
	return NULL;
}

int loadgen_parse(const char *kind, const char *text, struct load_result *out,
		  char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!strcmp(kind, "auto")) {
		kind = loadgen_detect(text);
		if (!kind) {
			snprintf(err, errlen, "load generator output not recognised (epbatch-load, wrk, ab, "
				 "h2load, redis-benchmark or memcslap)");
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		if (!strcmp(kind, parsers[i].kind)) {
			out->kind = parsers[i].kind;
			return parsers[i].parse(text, out, err, errlen);
		}
	}
	snprintf(err, errlen, "unknown load generator '%s' (epbatch-load, wrk, ab, h2load, "
		 "redis-benchmark, memcslap, auto)", kind);
	return -1;
}
