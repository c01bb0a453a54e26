// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Helpers shared by the bench programs; see common.h. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The base layer's error line (user/base/err.c), with the newline added. */
void bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	base_verr(fmt, ap, true);
	va_end(ap);
	exit(2);
}

/* The one number parser (user/base/num.c); a bad value is a usage error. */
long bench_parse_long(const char *opt, const char *arg, long min, long max)
{
	long v;

	if (parse_int(opt, arg, min, max, &v))
		exit(2);
	return v;
}

double bench_parse_seconds(const char *opt, const char *arg, double min, double max)
{
	double v;

	if (parse_number(opt, arg, min, max, &v))
		exit(2);
	return v;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The one atomic writer (user/base/fileio.c); -1 with errno for the caller's line. */
int bench_write_file(const char *path, const char *data, size_t len)
{
	return write_file_atomic(path, data, len);
}

void bench_buf_printf(struct bench_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			bench_die("formatting output failed");
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s)
			bench_die("out of memory");
		b->s = s;
		b->cap = cap;
	}
}

void bench_buf_free(struct bench_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
