// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The command-line messages every subcommand shares (one wording, one line). */
#include <stdio.h>
#include "base.h"

void cli_bad_option(const char *cmd, int c, char *const argv[], int optind, int optopt)
{
	const char *sep = cmd ? " " : "", *name = cmd ? cmd : "";
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		fprintf(stderr, "%s%s%s: option '%s' needs a value\n", base_prog, sep, name, arg);
	else if (optopt > 0 && optopt < 256 && optopt != '?')
		fprintf(stderr, "%s%s%s: unknown option '-%c' (see %s%s%s --help)\n", base_prog, sep,
			name, optopt, base_prog, sep, name);
	else
		fprintf(stderr, "%s%s%s: unknown option '%s' (see %s%s%s --help)\n", base_prog, sep,
			name, arg, base_prog, sep, name);
}
