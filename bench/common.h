/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers shared by epbatch-bench-server and epbatch-load: strict option
 * parsing, a monotonic clock, and writing result files atomically.  The
 * number parser and the atomic writer are user/base's (libepbatch-base.a),
 * the same as epbatch-trace's.
 */
#ifndef EPBATCH_BENCH_COMMON_H
#define EPBATCH_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "../user/base/base.h"

/* Program name used as the prefix of every error line ("epbatch-load: ..."):
 * the base layer's, so its messages carry the same name. */
#define bench_prog base_prog

/* Print "PROG: MESSAGE" as one line on stderr and exit with status 2. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Parse OPT's argument ARG as a decimal integer in [MIN, MAX]; anything
 * else (empty, trailing junk, out of range) is a usage error and exits.
 */
long bench_parse_long(const char *opt, const char *arg, long min, long max);

/* Like bench_parse_long but accepts a decimal fraction ("0.5"). */
double bench_parse_seconds(const char *opt, const char *arg, double min, double max);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * Write LEN bytes to PATH through a temporary file in the same directory and
 * rename(2), so a reader never sees a half-written file (atomicity, not
 * durability: there is no fsync).  PATH "-" means
 * stdout; an existing PATH that is not a regular file (/dev/null, a FIFO)
 * is written in place.  Returns 0, or -1 with errno set.
 */
int bench_write_file(const char *path, const char *data, size_t len);

/*
 * A growable string for building JSON: bench_buf_printf appends, and a
 * failed allocation exits (the programs cannot report anything without it).
 */
struct bench_buf {
	char *s;
	size_t len, cap;
};
void bench_buf_printf(struct bench_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bench_buf_free(struct bench_buf *b);

#endif
