// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The JSON helper set, over jansson. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base.h"

double jnum_or(const json_t *o, const char *key, double dflt)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	return json_is_number(v) ? json_number_value(v) : dflt;
}

double jnum(const json_t *o, const char *key)
{
	return jnum_or(o, key, 0);
}

void json_set_version(json_t *doc)
{
	json_object_set_new(doc, "version", json_string(EPBATCH_VERSION));
}

int json_write_file(json_t *doc, const char *path)
{
	const size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(9);
	char *tmp;
	FILE *f;

	if (!strcmp(path, "-")) {
		int err = json_dumpf(doc, stdout, flags);

		fputc('\n', stdout);
		return (err || fflush(stdout)) ? -1 : 0;
	}
	f = atomic_open(path, &tmp);
	if (!f)
		return -1;
	if (json_dumpf(doc, f, flags) || fputc('\n', f) == EOF) {
		base_err("cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
		atomic_abort(f, tmp);
		return -1;
	}
	return atomic_close(f, tmp, path);
}
