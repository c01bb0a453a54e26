// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A set of named stacks and its outputs: text, JSON, folded (stackset.h). */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "stackset.h"
#include "base/base.h"

static const char *const kind_names[STACK_KINDS] = { "add", "mod", "del", "other", "spin" };
static const char *const kind_labels[STACK_KINDS] = { "ADD", "MOD", "DEL", "other op", "spin" };

const char *stack_kind_name(enum stack_kind k)
{
	return k < STACK_KINDS ? kind_names[k] : "?";
}

static bool same_frames(char *const *a, size_t na, const char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static char **copy_frames(const char *const *f, size_t n)
{
	char **c = calloc(n ? n : 1, sizeof(*c));

	for (size_t i = 0; c && i < n; i++)
		if (!(c[i] = strdup(f[i]))) {
			while (i--)
				free(c[i]);
			free(c);
			return NULL;
		}
	return c;
}

static void free_frames(char **f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i]);
	free(f);
}

int stackset_add(struct stack_set *set, enum stack_kind kind, uint32_t pid, const char *comm,
		 uint64_t count, uint64_t walked, const char *const *user, size_t nr_user,
		 const char *const *kernel, size_t nr_kernel)
{
	struct stack *st;

	for (size_t i = 0; i < set->n; i++) {
		st = &set->s[i];
		if (st->kind == kind && st->pid == pid &&
		    same_frames(st->user, st->nr_user, user, nr_user) &&
		    same_frames(st->kernel, st->nr_kernel, kernel, nr_kernel)) {
			st->count += count;
			st->walked += walked;
			return 0;
		}
	}
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct stack *p = realloc(set->s, cap * sizeof(*p));

		if (!p)
			return -1;
		set->s = p;
		set->cap = cap;
	}
	st = &set->s[set->n];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->pid = pid;
	snprintf(st->comm, sizeof(st->comm), "%s", comm ? comm : "");
	st->count = count;
	st->walked = walked;
	st->user = copy_frames(user, nr_user);
	st->kernel = copy_frames(kernel, nr_kernel);
	if (!st->user || !st->kernel) {
		free_frames(st->user, nr_user);
		free_frames(st->kernel, nr_kernel);
		return -1;
	}
	st->nr_user = nr_user;
	st->nr_kernel = nr_kernel;
	set->n++;
	return 0;
}

void stackset_note(struct stack_set *set, const char *fmt, ...)
{
	va_list ap;

	if (set->nr_notes >= (int)(sizeof(set->notes) / sizeof(set->notes[0])))
		return;
	va_start(ap, fmt);
	vsnprintf(set->notes[set->nr_notes++], sizeof(set->notes[0]), fmt, ap);
	va_end(ap);
}

static int by_count(const void *a, const void *b)
{
	const struct stack *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->kind - y->kind;
}

void stackset_sort(struct stack_set *set)
{
	if (set->n)
		qsort(set->s, set->n, sizeof(*set->s), by_count);
}

void stackset_free(struct stack_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free_frames(set->s[i].user, set->s[i].nr_user);
		free_frames(set->s[i].kernel, set->s[i].nr_kernel);
	}
	free(set->s);
	memset(set, 0, sizeof(*set));
}

/* ";frame" as the folded format needs it (';' separates frames); at 0 no ';'. */
static size_t put_frame(char *buf, size_t len, size_t at, const char *frame, const char *suffix)
{
	if (at && at + 1 < len)
		buf[at++] = ';';
	for (const char *p = frame; *p; p++)
		if (at + 1 < len)
			buf[at++] = *p == ';' ? ':' : *p;
	for (const char *p = suffix; *p; p++)
		if (at + 1 < len)
			buf[at++] = *p;
	if (len)
		buf[at < len ? at : len - 1] = 0;
	return at;
}

size_t stack_fold(const struct stack *st, char *buf, size_t len)
{
	char op[32];
	size_t at = put_frame(buf, len, 0, st->comm[0] ? st->comm : "?", "");

	for (size_t i = 0; i < st->nr_user; i++)
		at = put_frame(buf, len, at, st->user[i], "");
	/* the op (or the spin path) between the user and the kernel frames */
	snprintf(op, sizeof(op), "[%s]", kind_labels[st->kind]);
	at = put_frame(buf, len, at, op, "");
	for (size_t i = 0; i < st->nr_kernel; i++)
		at = put_frame(buf, len, at, st->kernel[i], "_[k]");
	return at;
}

void stackset_write_folded(FILE *f, const struct stack_set *set, unsigned kinds)
{
	static char line[65536];

	for (size_t i = 0; i < set->n; i++) {
		if (!(kinds & (1U << set->s[i].kind)) || !set->s[i].count)
			continue;
		stack_fold(&set->s[i], line, sizeof(line));
		fprintf(f, "%s %" PRIu64 "\n", line, set->s[i].count);
	}
}

int stackset_folded_file(const struct stack_set *set, const char *path)
{
	char *tmp;
	FILE *f = atomic_open(path, &tmp);

	if (!f)
		return -1;
	stackset_write_folded(f, set, ~0U);
	return atomic_close(f, tmp, path);
}

/* Leaf first, as a reader looks for the caller: "a <- b <- c". */
static void print_frames(FILE *f, char *const *fr, size_t n, size_t max, bool *first)
{
	for (size_t i = n; i-- > 0 && max; max--) {
		fprintf(f, "%s%s", *first ? "" : " <- ", fr[i]);
		*first = false;
	}
}

void stackset_print(FILE *f, const struct stack_set *set, int n)
{
	uint64_t tot[STACK_KINDS] = {};

	for (size_t i = 0; i < set->n; i++)
		tot[set->s[i].kind] += set->s[i].count;
	fprintf(f, "\nepoll_ctl callers (user stacks, leaf first; one call in %u walked, counts scaled):\n",
		set->period);
	if (!tot[STACK_ADD] && !tot[STACK_MOD] && !tot[STACK_DEL] && !tot[STACK_BAD_OP])
		fprintf(f, "  no epoll_ctl was walked\n");
	for (int k = 0; k < STACK_KINDS; k++) {
		int shown = 0;

		if (!tot[k])
			continue;
		if (k == STACK_SPIN)
			fprintf(f, "spin-lock slow path (kernel stacks, leaf first; counts are %s):\n",
				set->spin_unit ? set->spin_unit : "entries");
		for (size_t i = 0; i < set->n && shown < n; i++) {
			const struct stack *st = &set->s[i];
			bool first = true;

			if ((int)st->kind != k)
				continue;
			fprintf(f, "  %-4s %10" PRIu64 " %5.1f%%  %s[%u]: ", k == STACK_SPIN ? "" : kind_labels[k],
				st->count, 100.0 * (double)st->count / (double)tot[k], st->comm, st->pid);
			if (k == STACK_SPIN)
				print_frames(f, st->kernel, st->nr_kernel, 8, &first);
			else
				print_frames(f, st->user, st->nr_user, 8, &first);
			fputc('\n', f);
			shown++;
		}
	}
	if (!tot[STACK_SPIN])
		fprintf(f, "spin-lock slow path: no %s with a stack\n",
			set->spin_unit ? set->spin_unit : "spin-lock method to take stacks from");
	if (set->lost_ctl || set->lost_spin)
		fprintf(f, "  not counted: %" PRIu64 " walked epoll_ctl (stack table full), %" PRIu64
			" spin stacks (slot taken)\n", set->lost_ctl, set->lost_spin);
	for (int i = 0; i < set->nr_notes; i++)
		fprintf(f, "  note: %s\n", set->notes[i]);
}

static json_t *frames_json(char *const *fr, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(fr[i]));
	return a;
}

json_t *stackset_json(const struct stack_set *set)
{
	json_t *o = json_object(), *ctl = json_array(), *spin = json_array(), *notes = json_array();

	for (size_t i = 0; i < set->n; i++) {
		const struct stack *st = &set->s[i];
		json_t *e = json_pack("{s:s,s:I,s:s,s:I}", "op", stack_kind_name(st->kind),
				      "pid", (json_int_t)st->pid, "comm", st->comm,
				      "count", (json_int_t)st->count);

		if (st->kind == STACK_SPIN) {
			json_object_del(e, "op");
			json_object_set_new(e, "kernel", frames_json(st->kernel, st->nr_kernel));
			json_array_append_new(spin, e);
			continue;
		}
		json_object_set_new(e, "walked", json_integer((json_int_t)st->walked));
		json_object_set_new(e, "user", frames_json(st->user, st->nr_user));
		json_object_set_new(e, "kernel", frames_json(st->kernel, st->nr_kernel));
		json_array_append_new(ctl, e);
	}
	for (int i = 0; i < set->nr_notes; i++)
		json_array_append_new(notes, json_string(set->notes[i]));
	json_object_set_new(o, "period", json_integer(set->period));
	json_object_set_new(o, "spin_unit", set->spin_unit ? json_string(set->spin_unit) : json_null());
	json_object_set_new(o, "lost", json_pack("{s:I,s:I}", "epoll_ctl", (json_int_t)set->lost_ctl,
						 "spin", (json_int_t)set->lost_spin));
	json_object_set_new(o, "notes", notes);
	json_object_set_new(o, "epoll_ctl", ctl);
	json_object_set_new(o, "spin", spin);
	return o;
}

/* A JSON array of strings as frames (NULL when it is not one). */
static const char **frames_of(const json_t *a, size_t *n)
{
	const char **f;

	*n = json_is_array(a) ? json_array_size(a) : 0;
	if (!json_is_array(a))
		return NULL;
	f = calloc(*n ? *n : 1, sizeof(*f));
	for (size_t i = 0; f && i < *n; i++)
		if (!(f[i] = json_string_value(json_array_get(a, i)))) {
			free(f);
			return NULL;
		}
	return f;
}

static int add_json(struct stack_set *set, const json_t *e, bool spin)
{
	const char *op = json_string_value(json_object_get(e, "op"));
	const char **user = NULL, **kernel;
	size_t nu = 0, nk;
	int k = STACK_SPIN, ret;

	if (!spin) {
		for (k = 0; k < STACK_SPIN; k++)
			if (op && !strcmp(op, kind_names[k]))
				break;
		user = frames_of(json_object_get(e, "user"), &nu);
		if (k == STACK_SPIN || !user)
			return free(user), -1;
	}
	kernel = frames_of(json_object_get(e, "kernel"), &nk);
	if (!kernel || !json_is_integer(json_object_get(e, "count"))) {
		free(user);
		free(kernel);
		return -1;
	}
	ret = stackset_add(set, (enum stack_kind)k, (uint32_t)jnum(e, "pid"),
			   json_string_value(json_object_get(e, "comm")),
			   (uint64_t)jnum(e, "count"), (uint64_t)jnum(e, "walked"), user, nu, kernel, nk);
	free(user);
	free(kernel);
	return ret;
}

int stackset_from_json(struct stack_set *set, const json_t *stacks)
{
	const json_t *ctl = json_object_get(stacks, "epoll_ctl"), *spin = json_object_get(stacks, "spin");
	size_t i;
	json_t *e;

	if (!json_is_array(ctl) || !json_is_array(spin))
		return -1;
	const char *unit = json_string_value(json_object_get(stacks, "spin_unit"));

	set->period = (unsigned)jnum_or(stacks, "period", 1);
	if (unit)	/* the set outlives the document: its own copy of the word */
		set->spin_unit = !strcmp(unit, "samples") ? "samples" : "entries";
	json_array_foreach(ctl, i, e)
		if (add_json(set, e, false))
			return -1;
	json_array_foreach(spin, i, e)
		if (add_json(set, e, true))
			return -1;
	return 0;
}
