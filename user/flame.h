/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A flame graph of a stack set as inline SVG (no script, no network): one
 * box per frame, as wide as its share of the counts, callers below callees;
 * each box's <title> (the browser's tooltip) has the frame, its count and
 * share.  Used by report.html (html.c); libbpf-free.
 */
#ifndef EPBATCH_FLAME_H
#define EPBATCH_FLAME_H

#include <stdio.h>
#include "stackset.h"

#define FLAME_W 1000		/* px */
#define FLAME_ROW 17		/* px per frame */

/*
 * The epoll_ctl callers of set (comm, user frames root first, then the op),
 * titled TITLE, with element id ID.  0, or -1 when set has no such stacks
 * (nothing written).
 */
int flame_svg(FILE *f, const struct stack_set *set, const char *id, const char *title);
#endif
