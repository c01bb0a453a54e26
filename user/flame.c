// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A flame graph as inline SVG (flame.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "flame.h"
#include "base/base.h"

struct fnode {
	const char *name;	/* points into the stack set (or a static label) */
	uint64_t count;
	struct fnode *kids;
	size_t nkids, cap;
};

static struct fnode *child(struct fnode *n, const char *name)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (!strcmp(n->kids[i].name, name))
			return &n->kids[i];
	if (n->nkids == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4;
		struct fnode *k = realloc(n->kids, cap * sizeof(*k));

		if (!k)
			return NULL;
		n->kids = k;
		n->cap = cap;
	}
	memset(&n->kids[n->nkids], 0, sizeof(*n->kids));
	n->kids[n->nkids].name = name;
	return &n->kids[n->nkids++];
}

static void fnode_free(struct fnode *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		fnode_free(&n->kids[i]);
	free(n->kids);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct fnode *)a)->name, ((const struct fnode *)b)->name);
}

static int depth_of(struct fnode *n)
{
	int d = 0;

	/* siblings in name order, as flame graphs draw them */
	if (n->nkids)
		qsort(n->kids, n->nkids, sizeof(*n->kids), by_name);
	for (size_t i = 0; i < n->nkids; i++) {
		int k = depth_of(&n->kids[i]);

		if (k > d)
			d = k;
	}
	return d + 1;
}

/* A warm colour per name (the same frame has the same colour everywhere). */
static void colour(const char *name, char *buf, size_t len)
{
	unsigned h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	if (!strncmp(name, "[unknown]", 9))
		snprintf(buf, len, "#c8c8c8");
	else
		snprintf(buf, len, "hsl(%u,%u%%,%u%%)", 5 + h % 50, 70 + (h >> 8) % 25, 55 + (h >> 16) % 12);
}

static void draw(FILE *f, const struct fnode *n, double x, int level, int height, double scale,
		 uint64_t total)
{
	double w = (double)n->count * scale, cx = x;
	int y = height - (level + 1) * FLAME_ROW;
	char col[48];

	if (w < 0.3)	/* too narrow to see: its callees are narrower still */
		return;
	colour(n->name, col, sizeof(col));
	fprintf(f, "<g><title>");
	fput_xml(n->name, f);
	fprintf(f, " (%" PRIu64 ", %.2f%%)</title><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
		"fill=\"%s\" rx=\"2\"/>", n->count, 100.0 * (double)n->count / (double)total, x, y, w,
		FLAME_ROW - 1, col);
	if (w > 24) {	/* a label that fits: ~7 px per character */
		size_t fit = (size_t)((w - 6) / 7), len = strlen(n->name);
		char label[512];

		snprintf(label, sizeof(label), "%.*s%s", (int)(len > fit ? (fit > 2 ? fit - 2 : 0) : len),
			 n->name, len > fit ? ".." : "");
		fprintf(f, "<text x=\"%.1f\" y=\"%d\">", x + 3, y + FLAME_ROW - 5);
		fput_xml(label, f);
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	for (size_t i = 0; i < n->nkids; i++) {
		draw(f, &n->kids[i], cx, level + 1, height, scale, total);
		cx += (double)n->kids[i].count * scale;
	}
}

int flame_svg(FILE *f, const struct stack_set *set, const char *id, const char *title)
{
	static const char *const ops[] = { "[ADD]", "[MOD]", "[DEL]", "[other op]" };
	struct fnode root = { .name = "all" };
	int height, depth;

	for (size_t i = 0; i < set->n; i++) {
		const struct stack *st = &set->s[i];
		struct fnode *n = &root;

		if (st->kind >= STACK_SPIN || !st->count)
			continue;
		root.count += st->count;
		n = child(n, st->comm[0] ? st->comm : "?");
		for (size_t k = 0; n && k <= st->nr_user; k++) {
			n->count += st->count;
			n = child(n, k < st->nr_user ? st->user[k] : ops[st->kind]);
		}
		if (n)
			n->count += st->count;
	}
	if (!root.count) {
		fnode_free(&root);
		return -1;
	}
	depth = depth_of(&root);
	height = (depth + 2) * FLAME_ROW + 8;
	fprintf(f, "<svg class=\"flame\" id=\"");
	fput_xml(id, f);
	fprintf(f, "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"12\" role=\"img\">\n",
		FLAME_W, height, FLAME_W, height);
	fprintf(f, "<text class=\"ct\" x=\"0\" y=\"14\" font-weight=\"600\">");
	fput_xml(title, f);
	fprintf(f, "</text>\n");
	draw(f, &root, 0, 0, height, (double)FLAME_W / (double)root.count, root.count);
	fputs("</svg>\n", f);
	fnode_free(&root);
	return 0;
}
