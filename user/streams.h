/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Machine-readable streams of a session: --csv and --ndjson (a row or an
 * object per thread per interval) and --openmetrics (the Prometheus text
 * exposition of the counters since attach, rewritten every interval).
 * libbpf-free: the unit tests link it.
 */
#ifndef EPBATCH_STREAMS_H
#define EPBATCH_STREAMS_H

#include <stdbool.h>
#include <stdio.h>
#include "report.h"

struct streams {
	FILE *csv, *ndjson;		/* NULL when not asked for */
	char *csv_tmp, *ndjson_tmp;	/* temporary siblings, renamed at the end */
	const char *csv_path, *ndjson_path, *om_path;
	bool timed;			/* -T: the *_ns columns have values */
	const char *version;		/* for epbatch_info */
};

/* Paths checked (check_writable) and files opened; 0, or -1 after one line. */
int streams_open(struct streams *s, const struct trace_opts *o);
bool streams_any(const struct streams *s);
/*
 * The rows of one interval (r: deltas over r->seconds, ending at wall-clock
 * time wall_end): a CSV row and an NDJSON object per active thread.
 */
int streams_interval(struct streams *s, const struct report *r, double wall_end);
/* --openmetrics: cum holds the counters since attach; rewritten atomically. */
int streams_openmetrics(struct streams *s, const struct report *cum, double wall_now);
/* Publish the files (rename); 0 or -1 after one line. */
int streams_close(struct streams *s);
/* Drop them unpublished (the session failed). */
void streams_abort(struct streams *s);

/* Formatting, for the unit tests. */
void csv_header(FILE *f);
void csv_row(FILE *f, const struct thread_stats *t, double wall_end, double seconds, bool timed);
struct json_t *ndjson_row(const struct thread_stats *t, double wall_end, double seconds, bool timed);
/* The whole exposition of cum; spin_method and version go in epbatch_info. */
void openmetrics_write(FILE *f, const struct report *cum, bool timed, double wall_now);
/* An ISO 8601 UTC time with milliseconds ("2026-12-01T10:00:01.123Z"). */
void iso_time(char *buf, size_t len, double wall);
#endif
