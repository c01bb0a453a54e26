// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* epbatch-trace: per-thread epoll and fd-table spin-lock profiler. */
#include <string.h>
#include "opts.h"
#include "session.h"
#include "loader.h"
#include "commands.h"

static int live_main(int argc, char **argv)
{
	struct trace_opts o;
	bool help;

	if (parse_live_args(argc, argv, &o, &help))
		return 2;
	if (help) {
		if (o.version)
			printf(PROG " %s\n", EPBATCH_VERSION);
		else
			usage(stdout);
		return 0;
	}
	if (check_privileges())
		return 1;
	return trace_pid(&o);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
		{ "record", record_main },
		COMMANDS_EXTRA
	};

	if (argc > 1) {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
			if (cmds[i].name && !strcmp(argv[1], cmds[i].name))
				return cmds[i].fn(argc - 1, argv + 1);
	}
	if (argc == 1) {
		fprintf(stderr, "usage: " PROG " -p PID[,PID...] | -a [OPTIONS] | record|run|compare|gate ... (--help for more)\n");
		return 2;
	}
	return live_main(argc, argv);
}
