// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `epbatch-trace compare`: loads the summaries, builds the view (compare.c)
 * and renders it as text, Markdown (compare.c) and HTML (html.c).  Kept apart
 * from compare.c so that the view and its renderers do not call each other.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"

static void compare_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " compare A.json[:VARIANT] B.json[:VARIANT] ... [--html FILE] [--markdown FILE|-]\n"
"Compares summary.json files written by `" PROG " run`: medians with 95%% intervals\n"
"side by side, then per pair the change, ratio and Mann-Whitney U significance\n"
"(alpha %.2f) of every metric.  One file: its variants against its first.  Plain\n"
"files: variants paired by name with the first file's.  FILE:VARIANT: one variant.\n"
"  --html FILE             also write a self-contained HTML report with charts\n"
"  --markdown FILE|-       also write the tables in Markdown (-: stdout, instead\n"
"                          of the text tables)\n"
"  --version               print the version\n"
"Summaries of different workloads are compared with a warning on stderr.\n", CMP_ALPHA);
}

int compare_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "html", required_argument, NULL, 'H' },
		{ "markdown", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *html = NULL, *markdown = NULL;
	struct summary *sums;
	struct cmp_view view;
	char err[768];
	size_t n;
	int c, ret = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'H': html = optarg; break;
		case 'm': markdown = optarg; break;
		case 'h': compare_usage(stdout); return 0;
		case 'V': printf(PROG " %s\n", EPBATCH_VERSION); return 0;
		default:
			cli_bad_option("compare", c, argv, optind, optopt);
			return 2;
		}
	}
	n = (size_t)(argc - optind);
	if (!n) {
		fprintf(stderr, PROG " compare: give at least one summary.json (see --help)\n");
		return 2;
	}
	/* output paths checked before any work */
	if ((html && check_writable(html)) || (markdown && check_writable(markdown)))
		return 2;
	sums = calloc(n, sizeof(*sums));
	if (!sums)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (summary_load(argv[optind + (int)i], &sums[i], err, sizeof(err))) {
			fprintf(stderr, PROG " compare: %s\n", err);
			for (size_t k = 0; k < i; k++)
				summary_free(&sums[k]);
			free(sums);
			return 2;
		}
	if (cmp_view_build(&view, sums, n, (const char *const *)argv + optind, err, sizeof(err))) {
		fprintf(stderr, PROG " compare: %s\n", err);
		free(sums);
		return 2;
	}
	for (size_t i = 1; i < n; i++)
		if (summary_workload_differs(&sums[0], &sums[i], err, sizeof(err)))
			fprintf(stderr, PROG " compare: warning: %s\n", err);
	cmp_print(stdout, &view, markdown && !strcmp(markdown, "-"));
	if (markdown && strcmp(markdown, "-")) {
		char *tmp;
		FILE *f = atomic_open(markdown, &tmp);

		if (!f)
			ret = 1;
		else {
			cmp_print(f, &view, true);
			if (atomic_close(f, tmp, markdown))
				ret = 1;
		}
	}
	if (html) {
		if (html_write(html, &view))
			ret = 1;
		else
			fprintf(stderr, "report: %s\n", html);
	}
	cmp_view_free(&view);
	free(sums);
	return ret;
}
