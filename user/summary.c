// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reading and building summary.json (epbatch-summary/1); see summary.h. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/stats.h"
#include "summary.h"

const struct summary_metric_def summary_metrics[SM_COUNT] = {
	[SM_RPS] = { "rps", "rps", "req/s", true, 0 },
	[SM_P99_MS] = { "p99_ms", "p99 latency ms", "ms", false, 3 },
	[SM_EPOLL_PER_REQ] = { "epoll_syscalls_per_req", "epoll syscalls/req", "syscalls/req", false, 3 },
	[SM_EPOLL_PER_ITER] = { "epoll_syscalls_per_iteration", "epoll syscalls/iter", "syscalls/iteration",
				false, 3 },
	[SM_SPIN_NS_PER_REQ] = { "spin_ns_per_req", "spin ns/req", "ns/req", false, 1 },
	[SM_CPU_US_PER_REQ] = { "cpu_us_per_req", "server CPU us/req", "us/req", false, 2 },
	[SM_BATCH_SIZE] = { "batch_size", "batch size", "ops/batch", true, 2 },
};

int summary_metric_index(const char *key)
{
	for (int i = 0; i < SM_COUNT; i++)
		if (!strcmp(summary_metrics[i].key, key))
			return i;
	return -1;
}

void summary_series_free(struct summary_series *s)
{
	free(s->samples);
	memset(s, 0, sizeof(*s));
}

int summary_series_set(struct summary_series *s, const double *x, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->median = s->ci[0] = s->ci[1] = NAN;
	if (!n)
		return 0;
	s->samples = malloc(n * sizeof(*x));
	if (!s->samples)
		return -1;
	memcpy(s->samples, x, n * sizeof(*x));
	s->n = n;
	s->median = stats_median(x, n);
	if (stats_bootstrap_median_ci(x, n, 0.95, STATS_BOOT_RESAMPLES, STATS_BOOT_SEED, s->ci))
		s->ci[0] = s->ci[1] = s->median;
	return 0;
}

json_t *summary_series_json(const double *x, size_t n)
{
	struct summary_series s;
	json_t *o, *arr;

	if (!n || summary_series_set(&s, x, n))
		return NULL;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_real(x[i]));
	o = json_pack("{s:f,s:[f,f],s:o}", "median", s.median, "ci95", s.ci[0], s.ci[1],
		      "samples", arr);
	summary_series_free(&s);
	return o;
}

/*
 * One metric object.  Samples are the truth; a hand-written summary with a
 * median only still loads (n = 1), so old or trimmed files stay readable.
 */
static int series_from_json(json_t *o, struct summary_series *s, const char *what,
			    char *err, size_t errlen)
{
	json_t *samples = json_object_get(o, "samples"), *med = json_object_get(o, "median");
	json_t *ci = json_object_get(o, "ci95"), *v;
	double *x;
	size_t i, n;

	memset(s, 0, sizeof(*s));
	s->median = s->ci[0] = s->ci[1] = NAN;
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%.200s is not an object", what);
		return -1;
	}
	if (json_is_array(samples) && json_array_size(samples)) {
		n = json_array_size(samples);
		x = malloc(n * sizeof(*x));
		if (!x) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		json_array_foreach(samples, i, v) {
			if (!json_is_number(v)) {
				snprintf(err, errlen, "%.200s.samples[%zu] is not a number", what, i);
				free(x);
				return -1;
			}
			x[i] = json_number_value(v);
		}
		i = (size_t)summary_series_set(s, x, n);
		free(x);
		if (i) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	} else if (json_is_number(med)) {
		double m = json_number_value(med);

		if (summary_series_set(s, &m, 1)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	} else if (med && !json_is_null(med)) {
		snprintf(err, errlen, "%.200s.median is not a number", what);
		return -1;
	}
	/* Keep the interval the file states (it was computed from the same
	 * samples with the same seed, but a file may carry one without them). */
	if (s->n && json_is_array(ci) && json_array_size(ci) == 2 &&
	    json_is_number(json_array_get(ci, 0)) && json_is_number(json_array_get(ci, 1))) {
		s->ci[0] = json_number_value(json_array_get(ci, 0));
		s->ci[1] = json_number_value(json_array_get(ci, 1));
	}
	return 0;
}

static void variant_free(struct summary_variant *v)
{
	free(v->name);
	for (int m = 0; m < SM_COUNT; m++)
		summary_series_free(&v->m[m]);
}

void summary_free(struct summary *s)
{
	for (size_t i = 0; i < s->nv; i++)
		variant_free(&s->v[i]);
	free(s->v);
	free(s->path);
	json_decref(s->doc);
	memset(s, 0, sizeof(*s));
}

static int variant_from_json(const char *name, json_t *vo, struct summary_variant *v,
			     const char *path, char *err, size_t errlen)
{
	char what[512];
	json_t *runs = json_object_get(vo, "runs");

	memset(v, 0, sizeof(*v));
	v->obj = vo;
	v->name = strdup(name);
	if (!v->name) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!json_is_object(vo)) {
		snprintf(err, errlen, "%s: variant %s is not an object", path, name);
		return -1;
	}
	v->runs = json_is_integer(runs) ? (int)json_integer_value(runs) : 0;
	for (int m = 0; m < SM_COUNT; m++) {
		char why[512];

		snprintf(what, sizeof(what), "%s.%s", name, summary_metrics[m].key);
		if (series_from_json(json_object_get(vo, summary_metrics[m].key), &v->m[m], what,
				     why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s", path, why);
			return -1;
		}
	}
	return 0;
}

int summary_from_json(json_t *doc, const char *path, const char *variant, struct summary *s,
		      char *err, size_t errlen)
{
	json_t *schema = json_object_get(doc, "schema"), *variants, *vo;
	const char *name;

	memset(s, 0, sizeof(*s));
	if (!json_is_string(schema) || strcmp(json_string_value(schema), SUMMARY_SCHEMA)) {
		snprintf(err, errlen, "%s: not an " SUMMARY_SCHEMA " file (schema: %s)", path,
			 json_is_string(schema) ? json_string_value(schema) : "missing");
		return -1;
	}
	variants = json_object_get(doc, "variants");
	if (!json_is_object(variants)) {
		snprintf(err, errlen, "%s: no \"variants\" object", path);
		return -1;
	}
	if (variant && !json_object_get(variants, variant)) {
		json_t *sk = json_object_get(json_object_get(doc, "skipped"), variant);

		if (json_is_string(sk))
			snprintf(err, errlen, "%s: variant %s was skipped: %s", path, variant,
				 json_string_value(sk));
		else
			snprintf(err, errlen, "%s: no variant '%s'", path, variant);
		return -1;
	}
	s->v = calloc(json_object_size(variants) + 1, sizeof(*s->v));
	s->path = strdup(path);
	json_incref(doc);
	s->doc = doc;
	if (!s->v || !s->path) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_object_foreach(variants, name, vo) {
		if (variant && strcmp(name, variant))
			continue;
		if (variant_from_json(name, vo, &s->v[s->nv++], path, err, errlen))
			goto fail;
	}
	return 0;
fail:
	summary_free(s);
	return -1;
}

int summary_load(const char *spec, struct summary *s, char *err, size_t errlen)
{
	const char *colon = strrchr(spec, ':');
	char *path, *variant = NULL;
	json_error_t je;
	json_t *doc;
	int ret;

	memset(s, 0, sizeof(*s));
	if (!access(spec, F_OK) || !colon || colon == spec || !colon[1])
		path = strdup(spec);
	else {
		path = strndup(spec, (size_t)(colon - spec));
		variant = strdup(colon + 1);
		if (!variant) {
			free(path);
			path = NULL;
		}
	}
	if (!path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	doc = json_load_file(path, 0, &je);
	if (!doc) {
		if (access(path, R_OK))
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: malformed JSON: %s", path, je.line, je.text);
		ret = -1;
	} else {
		ret = summary_from_json(doc, path, variant, s, err, errlen);
		json_decref(doc);
	}
	free(path);
	free(variant);
	return ret;
}

const struct summary_variant *summary_find(const struct summary *s, const char *name)
{
	for (size_t i = 0; i < s->nv; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

const char *summary_skip_reason(const struct summary *s, const char *name)
{
	json_t *r = json_object_get(json_object_get(s->doc, "skipped"), name);

	return json_is_string(r) ? json_string_value(r) : NULL;
}

const char *summary_missing_reason(const struct summary_variant *v, int m)
{
	json_t *miss = v->obj ? json_object_get(v->obj, "missing") : NULL;

	return json_string_value(json_object_get(miss, summary_metrics[m].key));
}

/* Keys of "workload" that describe how the run was made, not what ran. */
static bool workload_key_ignored(const char *k)
{
	return !strcmp(k, "duration_s") || !strcmp(k, "repeat") || !strcmp(k, "order");
}

static void short_json(const json_t *v, char *buf, size_t len)
{
	char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	snprintf(buf, len, "%.80s", t ? t : "(none)");
	free(t);
}

int summary_workload_differs(const struct summary *a, const struct summary *b, char *why,
			     size_t len)
{
	json_t *wa = json_object_get(a->doc, "workload"), *wb = json_object_get(b->doc, "workload");
	const json_t *pass[2][2] = { { wa, wb }, { wb, wa } };
	const char *k;
	json_t *v;

	if (!json_is_object(wa) || !json_is_object(wb))
		return 0;
	for (int i = 0; i < 2; i++) {
		json_object_foreach((json_t *)pass[i][0], k, v) {
			json_t *o = json_object_get(pass[i][1], k);
			char x[96], y[96];

			if (workload_key_ignored(k) || json_equal(v, o))
				continue;
			short_json(i ? o : v, x, sizeof(x));
			short_json(i ? v : o, y, sizeof(y));
			snprintf(why, len, "different workloads: %s %s in %s, %s in %s", k, x, a->path,
				 y, b->path);
			return 1;
		}
	}
	return 0;
}
