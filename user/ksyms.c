// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Kernel text symbols from /proc/kallsyms: where a function starts and ends. */
#include <stdlib.h>
#include <string.h>
#include "trace.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n;
};

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms_load(const char *path)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	size_t cap = 0;
	char line[512], name[256], type;
	unsigned long long addr;
	FILE *f = fopen(path, "r");

	if (!ks || !f)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (ks->n == cap) {
			struct ksym *p = realloc(ks->syms, (cap = cap ? cap * 2 : 65536) * sizeof(*p));

			if (!p)
				goto fail;
			ks->syms = p;
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].name = strdup(name);
		if (!ks->syms[ks->n].name)
			goto fail;
		ks->n++;
	}
	fclose(f);
	if (!ks->n) {	/* kptr_restrict hides the addresses */
		ksyms_free(ks);
		return NULL;
	}
	qsort(ks->syms, ks->n, sizeof(*ks->syms), by_addr);
	return ks;
fail:
	if (f)
		fclose(f);
	ksyms_free(ks);
	return NULL;
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++)
		free(ks->syms[i].name);
	free(ks->syms);
	free(ks);
}

/* A function ends where the next symbol at a higher address begins. */
bool ksyms_range(const struct ksyms *ks, const char *name, uint64_t *start, uint64_t *end)
{
	for (size_t i = 0; i < ks->n; i++) {
		if (strcmp(ks->syms[i].name, name))
			continue;
		*start = ks->syms[i].addr;
		for (size_t j = i + 1; j < ks->n; j++) {
			if (ks->syms[j].addr > *start) {
				*end = ks->syms[j].addr;
				return true;
			}
		}
		return false;
	}
	return false;
}
