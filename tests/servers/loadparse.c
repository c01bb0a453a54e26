// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * loadparse [KIND]: reads a load generator's output on stdin and prints what
 * user/loadgen.c understood of it as one JSON object (epbatch-load's keys:
 * requests, errors, duration_s, rps, plus kind and latency_ms).  KIND is
 * auto (the default), epbatch-load, wrk, ab, h2load, redis-benchmark or
 * memcslap.  The scenario scripts (scripts/servers/) use it so that the
 * numbers they print come from the same parser `epbatch-trace run` uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loadgen.h"

#define MAX_INPUT (16 << 20)

int main(int argc, char **argv)
{
	char *text, err[256];
	struct load_result r;
	size_t n;

	if (argc > 2 || (argc == 2 && !strcmp(argv[1], "--help"))) {
		fprintf(stderr, "usage: loadparse [KIND] < OUTPUT\n");
		return 2;
	}
	text = malloc(MAX_INPUT + 1);
	if (!text) {
		fprintf(stderr, "loadparse: out of memory\n");
		return 1;
	}
	n = fread(text, 1, MAX_INPUT, stdin);
	text[n] = '\0';
	if (loadgen_parse(argc == 2 ? argv[1] : "auto", text, &r, err, sizeof(err))) {
		fprintf(stderr, "loadparse: %s\n", err);
		free(text);
		return 1;
	}
	printf("{\"kind\": \"%s\", \"requests\": %.0f, \"errors\": %.0f, \"duration_s\": %.3f, "
	       "\"rps\": %.1f, \"has_counts\": %s", r.kind, r.requests, r.errors, r.duration_s, r.rps,
	       r.has_counts ? "true" : "false");
	if (r.has_latency)
		printf(", \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f}",
		       r.p50_ms, r.p90_ms, r.p99_ms, r.p999_ms);
	printf("}\n");
	free(text);
	return 0;
}
