/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading what a load generator printed: requests, errors, rate, latency.
 * `epbatch-trace run --load 'CMD'` captures CMD's stdout and hands it here.
 * What each parser reads, and what counts as an error, is in
 * docs/real-servers.md ("Load generators").
 */
#ifndef EPBATCH_LOADGEN_H
#define EPBATCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>

struct load_result {
	const char *kind;	/* which parser understood it */
	bool has_counts;	/* false: the generator printed only rates
				 * (redis-benchmark --csv / -q): requests and
				 * duration_s are 0, rps is set */
	double requests;	/* completed requests */
	double errors;		/* failed requests (connect, read, status, timeout) */
	double duration_s;
	double rps;
	bool has_latency;
	double p50_ms, p90_ms, p99_ms, p999_ms;	/* 0 when the generator has no such percentile */
	bool has_cpu;		/* the generator's own CPU time (epbatch-load) */
	double cpu_user_s, cpu_sys_s;
};

/*
 * kind: "auto" (detect), "epbatch-load", "wrk", "ab", "h2load",
 * "redis-benchmark", "memcslap".  Returns 0, or -1 with a one-line reason
 * in err.
 */
int loadgen_parse(const char *kind, const char *text, struct load_result *out,
		  char *err, size_t errlen);

/* The kind "auto" would pick for text, or NULL when none fits. */
const char *loadgen_detect(const char *text);

#endif
