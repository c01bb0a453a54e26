// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * report.html: one self-contained page (inline CSS and SVG, no script, no
 * network resource) with the view of compare.h drawn as charts: per metric,
 * a bar per variant at its median with a whisker over its 95% interval and a
 * dot per repeat; then the tables; then the per-thread breakdown; with
 * `run --stacks`, a flame graph of the epoll_ctl callers per variant.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "compare.h"
#include "flame.h"
#include "base/base.h"

static void esc(FILE *f, const char *s)
{
	fput_xml(s, f);
}

/* One bar of a chart: a value, optionally an interval and the repeats. */
struct bar {
	const char *label;
	double value, lo, hi;		/* lo/hi NAN: no whisker */
	const double *dots;
	size_t ndots;
};

#define CH_W 860
#define CH_LABEL 200
#define CH_PLOT 400
#define CH_ROW 30
#define CH_TOP 30

/*
 * A horizontal bar chart.  Bars start at zero so that lengths compare
 * honestly (a ratio of two bars is the ratio of the numbers).
 */
static void svg_bars(FILE *f, const char *id, const char *title, const struct bar *b, size_t n,
		     int decimals, const char *unit)
{
	double max = 0;
	int h = CH_TOP + (int)n * CH_ROW + 24;
	static const char *colors[] = { "#7f8c8d", "#2e86de", "#10ac84", "#ee5253", "#f39c12", "#8e44ad" };

	for (size_t i = 0; i < n; i++) {
		if (b[i].value > max)
			max = b[i].value;
		if (!isnan(b[i].hi) && b[i].hi > max)
			max = b[i].hi;
		for (size_t k = 0; k < b[i].ndots; k++)
			if (b[i].dots[k] > max)
				max = b[i].dots[k];
	}
	if (!(max > 0))
		max = 1;
	max *= 1.05;
	fprintf(f, "<svg class=\"chart\" id=\"%s\" role=\"img\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">\n", id, CH_W, h, CH_W, h);
	fputs("<title>", f);
	esc(f, title);
	fputs("</title>\n<text x=\"0\" y=\"18\" class=\"ct\">", f);
	esc(f, title);
	fputs(" (", f);
	esc(f, unit);
	fputs(")</text>\n", f);
	/* axis at zero and at the top of the scale */
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>\n", CH_LABEL,
		CH_TOP - 4, CH_LABEL, CH_TOP + (int)n * CH_ROW);
	for (size_t i = 0; i < n; i++) {
		int y = CH_TOP + (int)i * CH_ROW;
		double w = isnan(b[i].value) ? 0 : b[i].value / max * CH_PLOT;

		fputs("<g class=\"bar\">", f);
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"lb\" text-anchor=\"end\">", CH_LABEL - 6, y + 18);
		esc(f, b[i].label);
		fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>",
			CH_LABEL, y + 4, w, CH_ROW - 8, colors[i % (sizeof(colors) / sizeof(*colors))]);
		if (!isnan(b[i].lo) && !isnan(b[i].hi)) {
			double x0 = CH_LABEL + b[i].lo / max * CH_PLOT, x1 = CH_LABEL + b[i].hi / max * CH_PLOT;

			fprintf(f, "<path class=\"wh\" d=\"M%.1f %dH%.1fM%.1f %dV%dM%.1f %dV%d\"/>",
				x0, y + CH_ROW / 2, x1, x0, y + 8, y + CH_ROW - 8, x1, y + 8, y + CH_ROW - 8);
		}
		for (size_t k = 0; k < b[i].ndots; k++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"2.5\" class=\"dot\"/>",
				CH_LABEL + b[i].dots[k] / max * CH_PLOT, y + CH_ROW / 2);
		if (isnan(b[i].value))
			fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"val\">not measured</text>", CH_LABEL + 6, y + 18);
		else if (!isnan(b[i].lo))
			fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"val\">%.*f [%.*f, %.*f]</text>",
				CH_LABEL + CH_PLOT + 8, y + 18, decimals, b[i].value, decimals, b[i].lo,
				decimals, b[i].hi);
		else
			fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"val\">%.*f</text>",
				CH_LABEL + CH_PLOT + 8, y + 18, decimals, b[i].value);
		fputs("</g>\n", f);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"sc\">0</text>", CH_LABEL, h - 6);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"sc\" text-anchor=\"end\">%.*f</text>\n",
		CH_LABEL + CH_PLOT, h - 6, decimals, max);
	fputs("</svg>\n", f);
}

static void html_table(FILE *f, const struct cmp_table *t, const char *cls)
{
	fprintf(f, "<table class=\"%s\"><caption>", cls);
	esc(f, t->caption);
	fputs("</caption>\n", f);
	for (size_t r = 0; r < t->rows; r++) {
		fputs("<tr>", f);
		for (size_t c = 0; c < t->cols; c++) {
			const char *s = t->cell[r * t->cols + c];

			fputs(r ? "<td>" : "<th>", f);
			esc(f, s ? s : "");
			fputs(r ? "</td>" : "</th>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* A metric's chart over every item. */
static void metric_chart(FILE *f, const struct cmp_view *v, int m)
{
	struct bar *b = calloc(v->nitems + 1, sizeof(*b));
	char id[64];

	if (!b)
		return;
	for (size_t i = 0; i < v->nitems; i++) {
		const struct summary_series *s = &v->items[i].v->m[m];

		b[i].label = v->items[i].label;
		b[i].value = s->n ? s->median : NAN;
		b[i].lo = s->n > 1 ? s->ci[0] : NAN;
		b[i].hi = s->n > 1 ? s->ci[1] : NAN;
		b[i].dots = s->samples;
		b[i].ndots = s->n;
	}
	snprintf(id, sizeof(id), "chart-%s", summary_metrics[m].key);
	svg_bars(f, id, summary_metrics[m].label, b, v->nitems, summary_metrics[m].decimals,
		 summary_metrics[m].unit);
	free(b);
}

/* Per-thread charts of one item: epoll syscalls per request and spin ns. */
static void thread_charts(FILE *f, const struct cmp_item *it, size_t idx)
{
	json_t *th = json_object_get(it->v->obj, "threads"), *list = json_object_get(th, "list"), *e;
	double req = jnum(th, "requests");
	size_t n = json_array_size(list), i;
	struct bar *sys, *spin;
	char (*names)[64], id[64], title[256];

	bool spin_known = it->v->m[SM_SPIN_NS_PER_REQ].n > 0;

	if (!n)
		return;
	sys = calloc(n, sizeof(*sys));
	spin = calloc(n, sizeof(*spin));
	names = calloc(n, sizeof(*names));
	if (sys && spin && names) {
		json_array_foreach(list, i, e) {
			snprintf(names[i], sizeof(names[i]), "%s %.0f%s",
				 json_string_value(json_object_get(e, "comm")) ?: "?", jnum(e, "tid"),
				 json_is_true(json_object_get(e, "private_fd_table")) ? " (private fds)" : "");
			sys[i].label = spin[i].label = names[i];
			/* unknown is "not measured", never a bar of zero */
			sys[i].value = req > 0 ? (jnum(e, "epoll_ctl") + jnum(e, "epoll_wait") +
						  jnum(e, "batch_submits")) / req : NAN;
			spin[i].value = req > 0 && spin_known ? jnum(e, "spin_ns") / req : NAN;
			sys[i].lo = sys[i].hi = spin[i].lo = spin[i].hi = NAN;
		}
		snprintf(id, sizeof(id), "threads-%zu-epoll", idx);
		snprintf(title, sizeof(title), "%s: epoll syscalls per request, by thread", it->label);
		svg_bars(f, id, title, sys, n, 4, "syscalls/req");
		snprintf(id, sizeof(id), "threads-%zu-spin", idx);
		snprintf(title, sizeof(title), "%s: spin-lock slow path per request, by thread", it->label);
		if (spin_known)
			svg_bars(f, id, title, spin, n, 1, "ns/req");
		else {
			fputs("<p class=\"kv\">", f);
			esc(f, title);
			fputs(": not measured</p>\n", f);
		}
	}
	free(sys);
	free(spin);
	free(names);
}

/* run --stacks: the variant's stacks (summary.json), as a flame graph. */
static void flame_chart(FILE *f, const struct cmp_item *it, size_t idx)
{
	const json_t *stacks = json_object_get(it->v->obj, "stacks");
	struct stack_set set = {};
	char id[64], title[256];

	if (!stacks)
		return;
	snprintf(id, sizeof(id), "flame-%zu", idx);
	snprintf(title, sizeof(title), "%s: epoll_ctl callers", it->label);
	if (stackset_from_json(&set, stacks) || flame_svg(f, &set, id, title)) {
		fputs("<p class=\"kv\">", f);
		esc(f, title);
		fputs(": no stacks recorded</p>\n", f);
	} else {
		fprintf(f, "<p class=\"kv\">One epoll_ctl in %u walked, all runs added up; the width of a "
			"box is its share of the calls, callers below callees; hover a box for its count.</p>\n",
			set.period);
	}
	stackset_free(&set);
}

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
	"h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}"
	"table{border-collapse:collapse;margin:1em 0}caption{text-align:left;font-weight:600;padding:.3em 0}"
	"td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
	"th{background:#f3f3f3}.kv{color:#555}"
	"svg.chart{display:block;margin:1em 0}.ct{font-weight:600;font-size:14px}.lb,.val,.sc{font-size:12px}"
	".sc{fill:#777}.ax{stroke:#999}.wh{stroke:#222;stroke-width:1.5;fill:none}.dot{fill:#222;fill-opacity:.55}"
	"svg.flame{display:block;margin:1em 0}svg.flame rect:hover{stroke:#000}";

int html_write(const char *path, const struct cmp_view *v)
{
	static const int charted[] = { SM_RPS, SM_EPOLL_PER_REQ, SM_EPOLL_PER_ITER, SM_SPIN_NS_PER_REQ,
				       SM_CPU_US_PER_REQ, SM_P99_MS, SM_BATCH_SIZE };
	struct cmp_table t;
	char *tmp, when[64];
	time_t now = time(NULL);
	FILE *f = atomic_open(path, &tmp);

	if (!f)
		return -1;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<title>epbatch report</title>\n<style>%s</style></head><body>\n"
		"<h1>epbatch report</h1>\n<p class=\"kv\">generated %s from ", css, when);
	for (size_t i = 0; i < v->nsums; i++) {
		fputs(i ? ", " : "", f);
		esc(f, v->sums[i].path);
	}
	fputs("</p>\n", f);
	if (v->nsums) {
		char line[1024];

		cmp_machine_line(v->sums[0].doc, line, sizeof(line));
		fputs("<p class=\"kv\"><b>machine</b>: ", f);
		esc(f, line);
		cmp_workload_line(v->sums[0].doc, line, sizeof(line));
		fputs("</p>\n<p class=\"kv\"><b>workload</b>: ", f);
		esc(f, line);
		fputs("</p>\n<h2>Verdict</h2>\n<ul class=\"verdict\">\n", f);
		for (size_t i = 0; i < v->npairs; i++) {
			cmp_verdict_line(v, &v->pairs[i], line, sizeof(line));
			fputs("<li>", f);
			esc(f, line);
			fputs("</li>\n", f);
		}
		for (size_t i = 0; i < v->npairs; i++) {
			if (!cmp_pred_line(v, &v->pairs[i], line, sizeof(line)))
				continue;
			fputs("<li class=\"predicted\">", f);
			esc(f, line);
			fputs("</li>\n", f);
		}
		for (size_t i = 0; i < v->nitems; i++) {
			cmp_spin_line(&v->items[i], line, sizeof(line));
			fputs("<li>", f);
			esc(f, line);
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	fputs("<h2>Variants</h2>\n<p>Bars are medians over the repeats, whiskers their bootstrap 95% "
	      "interval, dots the individual repeats.</p>\n", f);
	for (size_t k = 0; k < sizeof(charted) / sizeof(*charted); k++) {
		bool any = false;

		for (size_t i = 0; i < v->nitems; i++)
			any |= v->items[i].v->m[charted[k]].n > 0;
		if (any)
			metric_chart(f, v, charted[k]);
	}
	if (!cmp_overview_table(v, &t)) {
		html_table(f, &t, "overview");
		cmp_table_free(&t);
	}
	if (v->npairs)
		fputs("<h2>Differences</h2>\n", f);
	for (size_t i = 0; i < v->npairs; i++)
		if (!cmp_pair_table(v, &v->pairs[i], &t)) {
			html_table(f, &t, "pair");
			cmp_table_free(&t);
		}
	if (!cmp_pred_table(v, &t) && t.rows > 1) {
		fputs("<h2>Predicted and measured</h2>\n<p>The cost model (docs/cost-model.md): what the "
		      "baseline's trace predicted each variant would change, next to what it changed.</p>\n", f);
		html_table(f, &t, "predicted");
	}
	cmp_table_free(&t);
	if (!cmp_skipped_table(v, &t)) {
		if (t.rows > 1) {
			fputs("<h2>Not measured</h2>\n", f);
			html_table(f, &t, "skipped");
		}
		cmp_table_free(&t);
	}
	fputs("<h2>Per thread</h2>\n<p>From each variant's run with the median throughput.</p>\n", f);
	for (size_t i = 0; i < v->nitems; i++) {
		thread_charts(f, &v->items[i], i);
		if (!cmp_threads_table(&v->items[i], &t)) {
			if (t.rows > 1)
				html_table(f, &t, "threads");
			cmp_table_free(&t);
		}
	}
	for (size_t i = 0; i < v->nitems; i++) {
		if (!json_object_get(v->items[i].v->obj, "stacks"))
			continue;
		if (!i || !json_object_get(v->items[i - 1].v->obj, "stacks"))
			fputs("<h2>Who calls epoll_ctl</h2>\n", f);
		flame_chart(f, &v->items[i], i);
	}
	fputs("</body></html>\n", f);
	return atomic_close(f, tmp, path);
}
