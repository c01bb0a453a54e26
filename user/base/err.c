// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Error lines of the base layer: one write per line, the program's name first. */
#include <stdarg.h>
#include <stdio.h>
#include "base.h"

const char *base_prog = PROG;

void base_verr(const char *fmt, va_list ap, bool newline)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s%s", base_prog, msg, newline ? "\n" : "");
}

void base_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	base_verr(fmt, ap, false);
	va_end(ap);
}
