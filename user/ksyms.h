/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Kernel symbols from /proc/kallsyms: text ranges for the sampler, names for stacks. */
#ifndef EPBATCH_KSYMS_H
#define EPBATCH_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/base.h"

struct ksyms;
/*
 * names: the functions ksyms_range() will be asked about; names NULL keeps
 * every name, for ksyms_name() (--stacks).
 */
struct ksyms *ksyms_load(const char *path, const char *const *names, size_t nr_names);
void ksyms_free(struct ksyms *ks);
/* [start, end) of a function's text; false if absent */
bool ksyms_range(const struct ksyms *ks, const char *name, uint64_t *start, uint64_t *end);
/* The symbol ADDR lies in (loaded with names NULL); NULL before the first one. */
const char *ksyms_name(const struct ksyms *ks, uint64_t addr);
#endif
