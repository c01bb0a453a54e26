// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one number parser of every subcommand: one clear line on bad input. */
#include <errno.h>
#include <stdlib.h>
#include "base.h"

int parse_number(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v != v || v < min || v > max) {
		base_err("invalid value '%s' for %s (expected a number from %g to %g)\n",
			s, opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_int(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		base_err("invalid value '%s' for %s (expected an integer from %ld to %ld)\n",
			s, opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}
