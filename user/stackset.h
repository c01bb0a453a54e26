/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A set of named stacks (--stacks), libbpf-free: the epoll_ctl callers' user
 * and kernel stacks by op and the spin-lock slow path's kernel stacks, with
 * their counts.  Its outputs: the summary's top stacks, the "stacks" object
 * of the epbatch/1 JSON (and back, for `run`'s flame graphs), and the folded
 * format (`comm;root;...;leaf COUNT`) of flamegraph.pl, inferno, speedscope.
 * The tracer fills it (stacks.c); the results layer reads it from JSON.
 */
#ifndef EPBATCH_STACKSET_H
#define EPBATCH_STACKSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The ops of enum epb_ctl_op, then epoll_ctl with another op, then the spin path. */
enum stack_kind { STACK_ADD, STACK_MOD, STACK_DEL, STACK_BAD_OP, STACK_SPIN, STACK_KINDS };

struct stack {
	enum stack_kind kind;
	uint32_t pid;
	char comm[16];
	uint64_t count;		/* calls (walked calls x period), or spin entries / samples */
	uint64_t walked;	/* calls whose stacks were walked */
	char **user;		/* root first; NULL for the spin path */
	size_t nr_user;
	char **kernel;		/* root first */
	size_t nr_kernel;
};

struct stack_set {
	struct stack *s;
	size_t n, cap;
	unsigned period;	/* one epoll_ctl in period walked */
	const char *spin_unit;	/* "entries" or "samples"; NULL: no spin stacks */
	uint64_t lost_ctl;	/* walked calls not counted (the key map was full) */
	uint64_t lost_spin;	/* spin stacks that found their slot taken */
	char notes[4][160];	/* what could not be named, and why */
	int nr_notes;
};

/* Add a stack (frames copied, root first); same kind, pid and frames merge. */
int stackset_add(struct stack_set *set, enum stack_kind kind, uint32_t pid, const char *comm,
		 uint64_t count, uint64_t walked, const char *const *user, size_t nr_user,
		 const char *const *kernel, size_t nr_kernel);
void stackset_note(struct stack_set *set, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Most counted first. */
void stackset_sort(struct stack_set *set);
void stackset_free(struct stack_set *set);
const char *stack_kind_name(enum stack_kind k);	/* "add" ... "spin" */

/* One folded line without its count: "comm;user...;[MOD];kernel_[k]..." */
size_t stack_fold(const struct stack *st, char *buf, size_t len);
/* Every stack, folded, one a line (kinds: bit mask of 1 << kind). */
void stackset_write_folded(FILE *f, const struct stack_set *set, unsigned kinds);
/* --folded FILE, through the atomic writer; 0 or -1 after one line. */
int stackset_folded_file(const struct stack_set *set, const char *path);
/* The summary: the top n stacks of each op and of the spin path. */
void stackset_print(FILE *f, const struct stack_set *set, int n);

struct json_t;
struct json_t *stackset_json(const struct stack_set *set);
/* Back from the "stacks" object (adds to set); 0 or -1 when malformed. */
int stackset_from_json(struct stack_set *set, const struct json_t *stacks);
#endif
