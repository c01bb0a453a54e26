// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Error lines of the base layer: one write per line, the program's name first. */
#include <stdarg.h>
#include <stdio.h>
#include "base.h"

const char *base_prog = PROG;

void base_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s", base_prog, msg);
}
