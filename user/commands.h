/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Subcommands of epbatch-trace, each in a file of its own. */
#ifndef EPBATCH_COMMANDS_H
#define EPBATCH_COMMANDS_H

int record_main(int argc, char **argv);
int run_main(int argc, char **argv);
int compare_main(int argc, char **argv);
int gate_main(int argc, char **argv);
int calibrate_main(int argc, char **argv);

/* run/compare/gate are added here as they land */
#define COMMANDS_EXTRA { "run", run_main }, { "compare", compare_main }, { "gate", gate_main }, \
	{ "calibrate", calibrate_main },

#endif
