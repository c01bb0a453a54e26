// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Parsers for load generators' output (see loadgen.h). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "loadgen.h"

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

int loadgen_parse(const char *kind, const char *text, struct load_result *out,
		  char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!strcmp(kind, "epbatch-load") || (!strcmp(kind, "auto") && text[strspn(text, " \t\r\n")] == '{'))
		return parse_epbatch_load(text, out, err, errlen);
	snprintf(err, errlen, "unknown load generator output (kind '%s')", kind);
	return -1;
}
