/* SPDX-License-Identifier: MIT */
/*
 * EPBATCH_MIN_BATCH, the break-evens a user fixes for libepbatch.so
 * (docs/libepbatch.7), read by the shim (policy.c: it batches by them
 * instead of measuring) and by epbatch-trace (costmodel.c: its what-if
 * model prices the shim as it would then decide).  One parser, so both
 * read the same value the same way.
 */
#ifndef EPBATCH_MIN_BATCH_H
#define EPBATCH_MIN_BATCH_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epbatch/break_even.h"

#define EPB_MB_NEVER (~0U)	/* a break-even of "never": always direct */
#define EPB_MB_MAX 256		/* the largest size: the shim's queue (QCAP) */

/* One item of the list: a size 1..max or "never"; 0 when it is neither.
 * *s moves past it. */
static inline unsigned epb_min_batch_item(const char **s, unsigned max)
{
	char *end;
	long n;

	if (!strncmp(*s, "never", 5)) {
		*s += 5;
		return EPB_MB_NEVER;
	}
	if (**s < '0' || **s > '9')
		return 0;
	errno = 0;
	n = strtol(*s, &end, 10);
	if (errno || n <= 0 || (unsigned long)n > max)
		return 0;
	*s = end;
	return (unsigned)n;
}

/*
 * v: "0" (always batch: every op the shim can answer is deferred, whatever
 * the batch size), "N" (batch from N ops on), "N,C" (MODs from N,
 * connection ops from C) or "B,P,C" (MODs with waits that may block from
 * B, with 0-timeout waits from P, connection ops from C); each a size
 * 1..max or "never", but a single item cannot be "never" (the sync
 * backend's job).  out[] by enum epb_break_kind.  Returns 1 for "0" (out
 * all 1), 0 for a list, -1 when v is none of these.
 */
static inline int epb_min_batch_parse(const char *v, unsigned max, unsigned out[EPB_BRK_KINDS])
{
	unsigned got[EPB_BRK_KINDS];
	const char *p = v;
	int n = 0;

	if (!strcmp(v, "0")) {
		out[EPB_BRK_BLOCK] = out[EPB_BRK_POLL] = out[EPB_BRK_CONN] = 1;
		return 1;
	}
	while (n < EPB_BRK_KINDS && (got[n] = epb_min_batch_item(&p, max)) && (*p == ',' || !*p)) {
		n++;
		if (!*p++)
			break;
	}
	if (!n || p[-1] != 0 || (n == 1 && got[0] == EPB_MB_NEVER))
		return -1;
	out[EPB_BRK_BLOCK] = got[0];
	out[EPB_BRK_POLL] = n == 3 ? got[1] : got[0];
	out[EPB_BRK_CONN] = got[n - 1];
	return 0;
}

#endif
