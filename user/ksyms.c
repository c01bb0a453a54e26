// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Kernel text symbols from /proc/kallsyms: where a few functions start and
 * end.  /proc/kallsyms has over 100k lines, so this keeps every address (to
 * find where a function ends: at the next symbol) but only the names asked
 * for, and parses by hand: sscanf() alone took most of the attach time.
 * --stacks asks for every name (names NULL): each address then has its name.
 */
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

struct ksym {
	uint64_t addr;
	char *name;			/* with every name kept; else NULL */
};

struct ksyms {
	struct ksym *addrs;		/* every symbol address, sorted */
	size_t n;
	const char *const *names;	/* the names asked for */
	uint64_t *starts;		/* their addresses, 0 if absent */
	size_t nr_names;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = ((const struct ksym *)a)->addr, y = ((const struct ksym *)b)->addr;

	return x < y ? -1 : x > y;
}

static int push(struct ksyms *ks, size_t *cap, uint64_t addr, const char *name)
{
	if (ks->n == *cap) {
		struct ksym *p = realloc(ks->addrs, (*cap = *cap ? *cap * 2 : 131072) * sizeof(*p));

		if (!p)
			return -1;
		ks->addrs = p;
	}
	ks->addrs[ks->n].addr = addr;
	ks->addrs[ks->n].name = name ? strdup(name) : NULL;
	if (name && !ks->addrs[ks->n].name)
		return -1;
	ks->n++;
	return 0;
}

struct ksyms *ksyms_load(const char *path, const char *const *names, size_t nr_names)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	char line[512];
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	if (!ks || !f)
		goto fail;
	ks->names = names;
	ks->nr_names = nr_names;
	ks->starts = calloc(nr_names ? nr_names : 1, sizeof(*ks->starts));
	if (!ks->starts)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		char *end, *name;
		uint64_t addr = strtoull(line, &end, 16);

		/* "ffffffff81705750 T fd_install [module]" */
		if (!addr || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		name = end + 3;
		name[strcspn(name, " \t\n")] = 0;
		if (push(ks, &cap, addr, names ? NULL : name))
			goto fail;
		for (size_t i = 0; i < nr_names; i++)
			if (!ks->starts[i] && !strcmp(name, names[i]))
				ks->starts[i] = addr;
	}
	fclose(f);
	if (!ks->n) {	/* kptr_restrict hides the addresses */
		ksyms_free(ks);
		return NULL;
	}
	qsort(ks->addrs, ks->n, sizeof(*ks->addrs), cmp_u64);
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
		free(ks->addrs[i].name);
	free(ks->addrs);
	free(ks->starts);
	free(ks);
}

/* Index of the first symbol above ADDR (ks->n: none). */
static size_t first_above(const struct ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->addrs[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A function ends where the next symbol at a higher address begins. */
bool ksyms_range(const struct ksyms *ks, const char *name, uint64_t *start, uint64_t *end)
{
	size_t lo;

	for (size_t i = 0; i < ks->nr_names; i++) {
		if (strcmp(ks->names[i], name) || !ks->starts[i])
			continue;
		*start = ks->starts[i];
		lo = first_above(ks, *start);
		if (lo == ks->n)
			return false;
		*end = ks->addrs[lo].addr;
		return true;
	}
	return false;
}

const char *ksyms_name(const struct ksyms *ks, uint64_t addr)
{
	size_t i = first_above(ks, addr);

	return i ? ks->addrs[i - 1].name : NULL;
}
