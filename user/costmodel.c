// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cost model's arithmetic and documents: the machine key and cache of
 * "epbatch-calibration/1", the break-even batch size, and what_if (the
 * formulas are described in words in docs/cost-model.md).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "costmodel.h"
#include "base/base.h"
#include "epbatch/break_even.h"
#include "epbatch/min_batch.h"

const unsigned cm_batch[CM_NB] = { 1, 2, 4, 8, 16, 64 };
const char *const cm_backend_names[CM_NBE] = { "uring", "kmod" };
const char *const wi_names[WI_N] = { "batch:uring", "batch:kmod", "unshare" };
static const char *const ctl_names[3] = { "add", "mod", "del" };

/* ---- the machine ---- */

static uint64_t fnv1a_bytes(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	return fnv1a_bytes(h, (const unsigned char *)s, strlen(s));
}

#ifndef EPBATCH_LIBDIR
#define EPBATCH_LIBDIR "/usr/local/lib"
#endif

int calib_shim_path(char *buf, size_t len)
{
	char dir[PATH_MAX - 64];

	if (!self_exe_dir(dir, sizeof(dir))) {
		snprintf(buf, len, "%s/libepbatch.so", dir);
		if (!access(buf, R_OK))
			return 0;
	}
	snprintf(buf, len, "%s/libepbatch.so", EPBATCH_LIBDIR);
	return access(buf, R_OK) ? -1 : 0;
}

/* The bytes of the shim calibrate would measure, into h: a rebuilt or
 * upgraded libepbatch.so costs differently and decides its own break-even. */
static uint64_t hash_shim(uint64_t h)
{
	unsigned char buf[65536];
	char path[PATH_MAX];
	size_t n;
	FILE *f;

	if (calib_shim_path(path, sizeof(path)) || !(f = fopen(path, "rb")))
		return fnv1a(h, "no shim");
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		h = fnv1a_bytes(h, buf, n);
	fclose(f);
	return h;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

void calib_machine(struct calib *c)
{
	static const char vdir[] = "/sys/devices/system/cpu/vulnerabilities";
	struct dirent **ents = NULL;
	struct utsname un;
	char *cpuinfo, *p;
	size_t used = 0;
	uint64_t h = 0xcbf29ce484222325ULL;
	int n;

	snprintf(c->kernel, sizeof(c->kernel), "%s", uname(&un) ? "unknown" : un.release);
	snprintf(c->cpu, sizeof(c->cpu), "unknown");
	cpuinfo = read_text("/proc/cpuinfo", 1 << 20);
	if (cpuinfo && (p = strstr(cpuinfo, "model name"))) {
		p = strchr(p, ':');
		if (p) {
			p += 1 + strspn(p + 1, " \t");
			snprintf(c->cpu, sizeof(c->cpu), "%.*s", (int)strcspn(p, "\n"), p);
		}
	}
	free(cpuinfo);
	c->mitigations[0] = 0;
	n = scandir(vdir, &ents, NULL, by_name);
	for (int i = 0; i < n; i++) {
		char path[512], *v;

		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", vdir, ents[i]->d_name);
			v = read_text(path, 4096);
			if (v && used < sizeof(c->mitigations)) {
				v[strcspn(v, "\n")] = 0;
				used += (size_t)snprintf(c->mitigations + used, sizeof(c->mitigations) - used,
							 "%s: %s\n", ents[i]->d_name, v);
			}
			free(v);
		}
		free(ents[i]);
	}
	free(ents);
	if (used >= sizeof(c->mitigations))
		c->mitigations[sizeof(c->mitigations) - 1] = 0;
	h = fnv1a(h, c->kernel);
	h = fnv1a(h, "\n");
	h = fnv1a(h, c->cpu);
	h = fnv1a(h, "\n");
	h = fnv1a(h, c->mitigations);
	h = hash_shim(h);
	snprintf(c->key, sizeof(c->key), "%016llx", (unsigned long long)h);
}

/* $XDG_CACHE_HOME/epbatch, else /var/cache/epbatch (root), else ~/.cache/epbatch. */
static int cache_dir(char *buf, size_t len)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (x && *x == '/')
		return snprintf(buf, len, "%s/epbatch", x) >= (int)len ? -1 : 0;
	if (!geteuid())
		return snprintf(buf, len, "/var/cache/epbatch") >= (int)len ? -1 : 0;
	if (home && *home == '/')
		return snprintf(buf, len, "%s/.cache/epbatch", home) >= (int)len ? -1 : 0;
	return -1;
}

int calib_cache_path(const struct calib *c, char *buf, size_t len)
{
	char dir[PATH_MAX - 64];

	if (cache_dir(dir, sizeof(dir)))
		return -1;
	return snprintf(buf, len, "%s/calibration-%s.json", dir, c->key) >= (int)len ? -1 : 0;
}

/* ---- the arithmetic ---- */

/* Cost of one submission of n ops (no wait), from the per-op table:
 * linear between the measured sizes, the marginal cost of the last
 * interval beyond 64, n itself below 1. */
double cm_batch_ns(const struct cm_backend_cal *b, double n)
{
	double x0, x1, y0, y1;
	int i;

	if (n <= 0)
		return 0;
	if (n <= 1)
		return n * b->per_op[0].ns;
	for (i = 1; i < CM_NB - 1 && n > cm_batch[i]; i++)
		;
	x0 = cm_batch[i - 1];
	x1 = cm_batch[i];
	y0 = x0 * b->per_op[i - 1].ns;
	y1 = x1 * b->per_op[i].ns;
	return y0 + (y1 - y0) * (n - x0) / (x1 - x0);
}

static double fig(const struct cm_fig *f)
{
	return f->ns > 0 ? f->ns : 0;
}

/*
 * What a submission of n ops costs beyond the ops' own in-kernel work: the
 * table is of MODs, and a MOD's direct cost is its in-kernel work plus one
 * syscall's entry and exit, so a batched op of any kind costs its direct
 * figure plus its share of this (< 0 where the batch is the cheaper way).
 */
static double batch_overhead(const struct calib *c, const struct cm_backend_cal *b, double n)
{
	return cm_batch_ns(b, n) - n * fig(&c->ctl[1]);
}

/*
 * The shim's rule (include/epbatch/break_even.h) on the model's costs, for a
 * backend the shim could not measure here: a loop iteration of n MODs and a
 * wait that returns at once, the direct way (with the shim's direct-path
 * cost) and batched (the wait fused, the shim's batched cost).
 */
static int break_even(const struct calib *c, const struct cm_backend_cal *b)
{
	unsigned long d[EPB_BE_SIZES], x[EPB_BE_SIZES];

	for (int i = 0; i < EPB_BE_SIZES; i++) {
		double n = EPB_BE_SIZE(i);

		d[i] = (unsigned long)(n * (fig(&c->ctl[1]) + fig(&c->shim_direct_op)) + fig(&c->wait) +
				       fig(&c->shim_wait));
		x[i] = (unsigned long)(cm_batch_ns(b, n) + n * fig(&c->shim_op) + fig(&b->fused_wait));
	}
	return (int)epb_break_even(d, x);
}

/* The model's break-evens of a backend: its loop is of MODs, so connection
 * ops get the same figure (the shim times a connection loop of its own). */
static void model_break_even(const struct calib *c, struct cm_backend_cal *b)
{
	b->break_even = b->break_even_poll = b->break_even_conn = break_even(c, b);
	b->break_even_conn_known = true;
}

void calib_break_even(struct calib *c)
{
	for (int i = 0; i < CM_NBE; i++)
		if (c->be[i].present && !c->be[i].break_even_by_shim)
			model_break_even(c, &c->be[i]);
}

int cm_conn_break_even(const struct cm_backend_cal *b)
{
	return b->break_even_conn_known ? b->break_even_conn : b->break_even;
}

/*
 * No module here: one ioctl is one syscall's entry and exit plus, per op,
 * the kernel's own epoll_ctl work (epoll_ctl MOD minus a syscall's entry and
 * exit); the wait run inside it costs epoll_wait minus the entry and exit.
 * Copying the op array in and the results out is not counted.
 */
void calib_kmod_estimate(const struct calib *c, struct cm_backend_cal *out)
{
	double sys = fig(&c->syscall), op = fig(&c->ctl[1]) - sys;

	memset(out, 0, sizeof(*out));
	out->present = out->estimated = true;
	if (op < 0)
		op = 0;
	for (int i = 0; i < CM_NB; i++) {
		out->per_op[i].ns = (sys + cm_batch[i] * op) / cm_batch[i];
		out->per_op[i].lo = out->per_op[i].hi = out->per_op[i].ns;
	}
	out->fused_wait.ns = fig(&c->wait) - sys > 0 ? fig(&c->wait) - sys : 0;
	out->fused_wait.lo = out->fused_wait.hi = out->fused_wait.ns;
	model_break_even(c, out);
}

const struct cm_backend_cal *cm_kmod(const struct calib *c, struct cm_backend_cal *est)
{
	if (c->be[CM_KMOD].present)
		return &c->be[CM_KMOD];
	calib_kmod_estimate(c, est);
	return est;
}

/* "never" (0) or the size */
static const char *be_item(char *buf, size_t len, int be)
{
	if (be <= 0)
		return "never";
	snprintf(buf, len, "%d", be);
	return buf;
}

int cm_shim_env(const struct cm_backend_cal *b, char *mb, size_t ml, char *pf, size_t pl)
{
	char x[3][16];

	mb[0] = pf[0] = 0;
	if (!b->present || !b->break_even_by_shim)
		return -1;
	snprintf(mb, ml, MIN_BATCH_KEY "%s,%s,%s", be_item(x[0], sizeof(x[0]), b->break_even),
		 be_item(x[1], sizeof(x[1]), b->break_even_poll),
		 be_item(x[2], sizeof(x[2]), cm_conn_break_even(b)));
	/* the poll break-even is that of the form the shim chose: told the
	 * one, it must take the other */
	if (b->poll_form != CM_POLL_UNKNOWN)
		snprintf(pf, pl, POLL_FORM_KEY "%s", b->poll_form == CM_POLL_UNFUSED ? "unfused" : "fused");
	return 0;
}

/*
 * The ops' own kernel work is the same both ways, so what is left is the
 * batches' overhead beyond it (batch_overhead, per batch of the mean size:
 * a fused close counts as one more request of its batch, as what_if prices
 * it), the fused waits against epoll_wait syscalls, and the shim's
 * user-space cost per batched op.
 */
double cm_batched_saving(const struct calib *c, const struct cm_backend_cal *b,
			 const struct cm_batched *x)
{
	double n;

	if (!x->batches)
		return 0;
	n = (double)(x->ops + x->closes) / (double)x->batches;
	return (double)x->waits * (fig(&c->wait) - fig(&b->fused_wait)) -
	       (double)x->batches * batch_overhead(c, b, n) - (double)x->ops * fig(&c->shim_op);
}

/* ---- the document ---- */

static json_t *jfig(const struct cm_fig *f)
{
	return f->ns >= 0 ? json_real(round(f->ns * 10) / 10) : json_null();
}

static json_t *jspread(const struct cm_fig *f)
{
	return f->ns >= 0 ? json_pack("[f,f]", round(f->lo * 10) / 10, round(f->hi * 10) / 10) :
			    json_null();
}

/* a break-even batch size; 0 (never): null */
static json_t *jbreak_even(int be)
{
	return be ? json_integer(be) : json_null();
}

json_t *calib_json(const struct calib *c)
{
	json_t *doc = json_object(), *ctl = json_object(), *bes = json_object(), *skip = json_object();
	json_t *sp = json_object(), *spctl = json_object(), *mit = json_object();
	char line[512];
	const char *p = c->mitigations;

	json_object_set_new(doc, "schema", json_string(CALIB_SCHEMA));
	json_set_version(doc);
	json_object_set_new(doc, "kernel", json_string(c->kernel));
	json_object_set_new(doc, "cpu", json_string(c->cpu));
	while (*p) {
		size_t l = strcspn(p, "\n");
		char *colon;

		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		colon = strstr(line, ": ");
		if (colon) {
			*colon = 0;
			json_object_set_new(mit, line, json_string(colon + 2));
		}
		p += l + (p[l] == '\n');
	}
	json_object_set_new(doc, "mitigations", mit);
	json_object_set_new(doc, "key", json_string(c->key));
	json_object_set_new(doc, "measured_at", json_string(c->measured_at));
	json_object_set_new(doc, "measure_seconds", json_real(round(c->seconds * 1000) / 1000));
	json_object_set_new(doc, "rounds", json_integer(c->rounds));
	json_object_set_new(doc, "syscall_ns", jfig(&c->syscall));
	json_object_set_new(sp, "syscall_ns", jspread(&c->syscall));
	for (int i = 0; i < 3; i++) {
		json_object_set_new(ctl, ctl_names[i], jfig(&c->ctl[i]));
		json_object_set_new(spctl, ctl_names[i], jspread(&c->ctl[i]));
	}
	json_object_set_new(doc, "epoll_ctl_ns", ctl);
	json_object_set_new(sp, "epoll_ctl_ns", spctl);
	json_object_set_new(doc, "epoll_wait_ns", jfig(&c->wait));
	json_object_set_new(sp, "epoll_wait_ns", jspread(&c->wait));
	for (int b = 0; b < CM_NBE; b++) {
		const struct cm_backend_cal *be = &c->be[b];
		json_t *o, *per, *sper;
		char k[8];

		if (!be->present || be->estimated) {
			json_object_set_new(skip, cm_backend_names[b],
					    json_string(be->skipped[0] ? be->skipped : "not measured"));
			continue;
		}
		per = json_object();
		sper = json_object();
		for (int i = 0; i < CM_NB; i++) {
			snprintf(k, sizeof(k), "%u", cm_batch[i]);
			json_object_set_new(per, k, jfig(&be->per_op[i]));
			json_object_set_new(sper, k, jspread(&be->per_op[i]));
		}
		o = json_pack("{s:o,s:o,s:o,s:o,s:s}", "per_op_ns", per, "fused_wait_ns", jfig(&be->fused_wait),
			      "break_even_batch", jbreak_even(be->break_even),
			      "break_even_batch_poll", jbreak_even(be->break_even_poll),
			      "break_even_source", be->break_even_by_shim ? "shim" : "model");
		/* absent where not measured: a reader then uses break_even_batch */
		if (be->break_even_conn_known)
			json_object_set_new(o, "break_even_batch_conn", jbreak_even(be->break_even_conn));
		if (be->poll_form != CM_POLL_UNKNOWN)
			json_object_set_new(o, "break_even_poll_form",
					    json_string(be->poll_form == CM_POLL_UNFUSED ? "unfused" : "fused"));
		json_object_set_new(bes, cm_backend_names[b], o);
		json_object_set_new(sp, cm_backend_names[b],
				    json_pack("{s:o,s:o}", "per_op_ns", sper, "fused_wait_ns",
					      jspread(&be->fused_wait)));
	}
	json_object_set_new(doc, "backends", bes);
	json_object_set_new(doc, "shim_op_ns", jfig(&c->shim_op));
	json_object_set_new(doc, "shim_direct_op_ns", jfig(&c->shim_direct_op));
	json_object_set_new(doc, "shim_wait_ns", jfig(&c->shim_wait));
	json_object_set_new(sp, "shim_wait_ns", jspread(&c->shim_wait));
	json_object_set_new(doc, "shim_fd_ns", jfig(&c->shim_fd));
	json_object_set_new(sp, "shim_fd_ns", jspread(&c->shim_fd));
	json_object_set_new(sp, "shim_op_ns", jspread(&c->shim_op));
	json_object_set_new(sp, "shim_direct_op_ns", jspread(&c->shim_direct_op));
	if (c->shim_skipped[0])
		json_object_set_new(skip, "shim", json_string(c->shim_skipped));
	json_object_set_new(doc, "skipped", skip);
	json_object_set_new(doc, "spread", sp);
	return doc;
}

/* A figure from KEY of o (and its spread from sp): -1 when null or absent. */
static int get_fig(const json_t *o, const json_t *sp, const char *key, struct cm_fig *f, bool need)
{
	json_t *v = json_object_get(o, key), *s = sp ? json_object_get(sp, key) : NULL;

	f->ns = f->lo = f->hi = -1;
	if (!v || json_is_null(v))
		return need ? -1 : 0;
	if (!json_is_number(v) || json_number_value(v) < 0)
		return -1;
	f->ns = f->lo = f->hi = json_number_value(v);
	if (json_is_array(s) && json_array_size(s) == 2) {
		f->lo = json_number_value(json_array_get(s, 0));
		f->hi = json_number_value(json_array_get(s, 1));
	}
	return 0;
}

static void get_str(const json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, len, "%s", s ? s : "");
}

int calib_from_json(const json_t *doc, struct calib *c, char *why, size_t wl)
{
	const json_t *sp = json_object_get(doc, "spread"), *bes, *skip, *mit;
	const char *schema = json_string_value(json_object_get(doc, "schema")), *k;
	json_t *v;
	size_t used = 0;

	memset(c, 0, sizeof(*c));
	if (!schema || strcmp(schema, CALIB_SCHEMA)) {
		snprintf(why, wl, "not an %s document", CALIB_SCHEMA);
		return -1;
	}
	get_str(doc, "kernel", c->kernel, sizeof(c->kernel));
	get_str(doc, "cpu", c->cpu, sizeof(c->cpu));
	get_str(doc, "key", c->key, sizeof(c->key));
	get_str(doc, "measured_at", c->measured_at, sizeof(c->measured_at));
	mit = json_object_get(doc, "mitigations");
	json_object_foreach((json_t *)mit, k, v)
		if (used < sizeof(c->mitigations))
			used += (size_t)snprintf(c->mitigations + used, sizeof(c->mitigations) - used,
						 "%s: %s\n", k, json_string_value(v) ? json_string_value(v) : "");
	c->seconds = jnum(doc, "measure_seconds");
	c->rounds = (int)jnum(doc, "rounds");
	if (get_fig(doc, sp, "syscall_ns", &c->syscall, true) ||
	    get_fig(doc, sp, "epoll_wait_ns", &c->wait, true)) {
		snprintf(why, wl, "syscall_ns or epoll_wait_ns missing or not a number");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (get_fig(json_object_get(doc, "epoll_ctl_ns"),
			    sp ? json_object_get(sp, "epoll_ctl_ns") : NULL, ctl_names[i], &c->ctl[i], true)) {
			snprintf(why, wl, "epoll_ctl_ns.%s missing or not a number", ctl_names[i]);
			return -1;
		}
	if (get_fig(doc, sp, "shim_op_ns", &c->shim_op, false) ||
	    get_fig(doc, sp, "shim_direct_op_ns", &c->shim_direct_op, false) ||
	    get_fig(doc, sp, "shim_wait_ns", &c->shim_wait, false) ||
	    get_fig(doc, sp, "shim_fd_ns", &c->shim_fd, false)) {
		snprintf(why, wl, "shim_op_ns, shim_direct_op_ns, shim_wait_ns or shim_fd_ns is not a number");
		return -1;
	}
	bes = json_object_get(doc, "backends");
	skip = json_object_get(doc, "skipped");
	get_str(skip, "shim", c->shim_skipped, sizeof(c->shim_skipped));
	for (int b = 0; b < CM_NBE; b++) {
		struct cm_backend_cal *be = &c->be[b];
		const json_t *o = json_object_get(bes, cm_backend_names[b]);
		const json_t *bsp = sp ? json_object_get(sp, cm_backend_names[b]) : NULL, *conn;
		const char *form;
		char key[8];

		get_str(skip, cm_backend_names[b], be->skipped, sizeof(be->skipped));
		if (!json_is_object(o))
			continue;
		for (int i = 0; i < CM_NB; i++) {
			snprintf(key, sizeof(key), "%u", cm_batch[i]);
			if (get_fig(json_object_get(o, "per_op_ns"),
				    bsp ? json_object_get(bsp, "per_op_ns") : NULL, key, &be->per_op[i], true)) {
				snprintf(why, wl, "backends.%s.per_op_ns.%s missing or not a number",
					 cm_backend_names[b], key);
				return -1;
			}
		}
		if (get_fig(o, bsp, "fused_wait_ns", &be->fused_wait, true)) {
			snprintf(why, wl, "backends.%s.fused_wait_ns missing", cm_backend_names[b]);
			return -1;
		}
		be->present = true;
		/* the shim's own measurement, as calibrate recorded it */
		if (json_is_string(json_object_get(o, "break_even_source")) &&
		    !strcmp(json_string_value(json_object_get(o, "break_even_source")), "shim")) {
			be->break_even_by_shim = true;
			be->break_even = (int)jnum_or(o, "break_even_batch", 0);
			be->break_even_poll = (int)jnum_or(o, "break_even_batch_poll", 0);
			/* absent (a cache from before it, a shim that did not
			 * say) or not a size: not known, and the MOD
			 * break-even stands for every op */
			conn = json_object_get(o, "break_even_batch_conn");
			if (json_is_null(conn) || (json_is_integer(conn) && json_integer_value(conn) > 0 &&
						   json_integer_value(conn) <= CM_MAX_BATCH)) {
				be->break_even_conn_known = true;
				be->break_even_conn = (int)jnum_or(o, "break_even_batch_conn", 0);
			}
			/* absent: a cache or shim from before the choice */
			form = json_string_value(json_object_get(o, "break_even_poll_form"));
			be->poll_form = !form ? CM_POLL_UNKNOWN :
					!strcmp(form, "unfused") ? CM_POLL_UNFUSED :
					!strcmp(form, "fused") ? CM_POLL_FUSED : CM_POLL_UNKNOWN;
		}
	}
	calib_break_even(c);
	return 0;
}

int calib_load_cache(struct calib *c)
{
	struct calib me = {};
	char path[PATH_MAX], why[200];
	json_error_t je;
	json_t *doc;
	int ret;

	calib_machine(&me);
	if (calib_cache_path(&me, path, sizeof(path)))
		return -1;
	doc = json_load_file(path, 0, &je);
	if (!doc)
		return -1;
	ret = calib_from_json(doc, c, why, sizeof(why));
	/* an older epbatch's document (no shim_wait_ns, a break-even of its own)
	 * is measured over, not mixed with this model */
	if (!json_object_get(doc, "shim_wait_ns"))
		ret = -1;
	json_decref(doc);
	/* a file of another machine (same hash by accident) or an older format */
	if (ret || strcmp(c->key, me.key) || strcmp(c->kernel, me.kernel) || strcmp(c->cpu, me.cpu))
		return -1;
	snprintf(c->file, sizeof(c->file), "%s", path);
	c->cached = true;
	return 0;
}

static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

int calib_save_cache(struct calib *c)
{
	char path[PATH_MAX], dir[PATH_MAX];
	json_t *doc;
	int ret;

	if (calib_cache_path(c, path, sizeof(path))) {
		fprintf(stderr, PROG " calibrate: no cache directory (set XDG_CACHE_HOME or HOME): not cached\n");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	if (mkdir_p(dir)) {
		fprintf(stderr, PROG " calibrate: cannot create %s: %s: not cached\n", dir, strerror(errno));
		return -1;
	}
	doc = calib_json(c);
	ret = json_write_file(doc, path);
	json_decref(doc);
	if (!ret)
		snprintf(c->file, sizeof(c->file), "%s", path);
	return ret;
}

/* "N ops" or "never" (0) */
static void be_str(char *buf, size_t len, int be)
{
	if (be)
		snprintf(buf, len, "%d ops", be);
	else
		snprintf(buf, len, "never");
}

static void pfig(FILE *f, const char *label, const struct cm_fig *x)
{
	if (x->ns < 0)
		fprintf(f, "  %-40s %9s\n", label, "-");
	else
		fprintf(f, "  %-40s %9.1f  [%.1f, %.1f]\n", label, x->ns, x->lo, x->hi);
}

void calib_print(FILE *f, const struct calib *c)
{
	fprintf(f, "calibration of %s, kernel %s (key %s), %s%s\n", c->cpu, c->kernel, c->key,
		c->cached ? "cached, measured " : "measured ", c->measured_at);
	fprintf(f, "  %-40s %9s  %s\n", "operation", "median ns", "[min, max] of rounds");
	pfig(f, "syscall entry+exit (getppid)", &c->syscall);
	pfig(f, "epoll_ctl ADD", &c->ctl[0]);
	pfig(f, "epoll_ctl MOD", &c->ctl[1]);
	pfig(f, "epoll_ctl DEL", &c->ctl[2]);
	pfig(f, "epoll_wait, returns at once", &c->wait);
	for (int b = 0; b < CM_NBE; b++) {
		const struct cm_backend_cal *be = &c->be[b];
		char label[64];

		if (!be->present || be->estimated) {
			fprintf(f, "  %s: not measured: %s\n", cm_backend_names[b],
				be->skipped[0] ? be->skipped : "?");
			continue;
		}
		for (int i = 0; i < CM_NB; i++) {
			snprintf(label, sizeof(label), "%s, batch of %u, per op", cm_backend_names[b], cm_batch[i]);
			pfig(f, label, &be->per_op[i]);
		}
		snprintf(label, sizeof(label), "%s, fused wait", cm_backend_names[b]);
		pfig(f, label, &be->fused_wait);
		for (int p = 0; p < 3; p++) {
			static const char *const form[3] = { "blocking wait", "0-timeout wait", "conn ops" };
			int x = p == 0 ? be->break_even : p == 1 ? be->break_even_poll : be->break_even_conn;
			char v[16];

			snprintf(label, sizeof(label), "  break-even, %s (%s)", form[p],
				 be->break_even_by_shim ? "shim" : "model");
			if (p == 2 && !be->break_even_conn_known)
				snprintf(v, sizeof(v), "-");
			else
				be_str(v, sizeof(v), x);
			fprintf(f, "  %-40s %9s%s\n", label, v,
				p == 2 && !be->break_even_conn_known ?
				"  not measured: the blocking-wait one is used for every op" :
				p == 1 && be->poll_form == CM_POLL_UNFUSED ?
				"  unfused: the ops in one submission, then epoll_wait(0)" :
				p == 1 && be->poll_form == CM_POLL_FUSED ? "  fused, with the wait's cancel" : "");
		}
	}
	pfig(f, "shim, per batched op (user space)", &c->shim_op);
	pfig(f, "shim, per direct op (user space)", &c->shim_direct_op);
	pfig(f, "shim, per direct wait (user space)", &c->shim_wait);
	pfig(f, "shim, per connection (fd bookkeeping)", &c->shim_fd);
	if (c->shim_skipped[0])
		fprintf(f, "  shim: %s\n", c->shim_skipped);
	if (c->file[0])
		fprintf(f, "cache: %s%s\n", c->file, c->cached ? " (--force re-measures)" : "");
}

/* ---- what if ---- */

static void add_note(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_note(char *buf, size_t len, const char *fmt, ...)
{
	size_t l = strlen(buf);
	va_list ap;

	if (l + 3 >= len)
		return;
	if (l) {
		memcpy(buf + l, "; ", 3);
		l += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + l, len - l, fmt, ap);
	va_end(ap);
}

/*
 * The break-even of the thread's op mix, by the shim's rule: share = ADD
 * and DEL calls among all its epoll_ctl calls (x EPB_SHARE_ONE), as the
 * shim counts them (policy.c), with mod, the MOD break-even of the wait form
 * its fused wait takes; 0: never.
 */
static int mix_break_even(const struct cm_backend_cal *be, int mod, const struct wi_in *in)
{
	uint64_t n = in->add + in->mod + in->del;
	unsigned share = n ? (unsigned)((in->add + in->del) * EPB_SHARE_ONE / n) : 0;

	return (int)epb_mix_break_even((unsigned)mod, (unsigned)cm_conn_break_even(be), share);
}

/* Of ops calls, those the queue sends (a share cs is folded away), and of
 * those the f DELs that go with their close (no more than are sent). */
static double sent_ops(double ops, double cs, double *f)
{
	double sent = ops * (1 - cs);

	*f = *f < sent ? *f : sent;
	return sent;
}

static double carried_per_wait(double sent, double waits, double f)
{
	return (sent - f) / waits < 1 ? 1 : (sent - f) / waits;
}

/*
 * One part of a thread's loop batched: ops epoll_ctl calls over waits waits,
 * f of them DELs whose fd is then closed.  The queue folds a share cs of the
 * calls away (a second op on an fd before the wait: epoll_ctl_coalescible):
 * those cost the shim its deferral and nothing else, and save what they
 * cost the direct way, op_ns each (the thread's mix of ADD, MOD and DEL).
 * Of the calls sent, a DEL whose fd is then closed is flushed with that
 * close, both in one submission (the shim's fused close); the others ride
 * on the waits: b = max((sent - f) / waits, 1) per iteration that has ops,
 * in (sent - f) / b such iterations.  Batched against direct, each op still
 * does its own in-kernel work; what changes is, per such iteration, the
 * submission's overhead (batch_overhead) plus the fused wait instead of a
 * wait syscall, per fused close the overhead of a submission of 2 instead
 * of the DEL's and the close's own entry and exit, and the shim's batched
 * cost per op.  What that costs over the kernel's direct way, ns.
 */
static double batched_ns(const struct calib *c, const struct cm_backend_cal *be, double ops,
			 double waits, double f, double cs, double op_ns)
{
	double b, iters, sent = sent_ops(ops, cs, &f);

	if (ops <= 0 || waits <= 0)
		return 0;
	b = carried_per_wait(sent, waits, f);
	iters = (sent - f) / b;
	return iters * (batch_overhead(c, be, b) + fig(&be->fused_wait) - fig(&c->wait)) +
	       f * batch_overhead(c, be, 2) + ops * fig(&c->shim_op) - (ops - sent) * op_ns;
}

/* The same part on the shim's direct way: its cost per op and per wait. */
static double direct_ns(const struct calib *c, double ops, double waits)
{
	return ops * fig(&c->shim_direct_op) + waits * fig(&c->shim_wait);
}

/* Iterations of a block the shim batches that carry fewer ops than its
 * batch size: deferred (and folded) like the others, then flushed as
 * direct syscalls before their wait (flush.c) -- the deferral's cost per
 * op and the direct way's per wait, less what the folded calls save. */
static double sync_flushed_ns(const struct calib *c, double ops, double waits, double cs, double op_ns)
{
	return ops * fig(&c->shim_op) + waits * fig(&c->shim_wait) - ops * cs * op_ns;
}

/*
 * Of a part the shim batches (blocks after a block in slot k), the share of
 * the calls (*ops) and of the waits (*waits) in iterations that reach its
 * batch size t: the MOD break-even of the wait form (policy_min_batch), not
 * the mix's -- the shim's flush compares the ops queued after folding with
 * it, about calls x (1 - cs) of them.  From the iterations of the blocks in
 * k's log2 bucket (iter_hist: one bucket's blocks are taken alike), cut at
 * the first bucket whose lower edge, so folded and rounded, reaches t (the
 * shim's break-evens are powers of two: with nothing folded, an edge).
 * Without them (an older record; a bucket seen only in a thread's first
 * block): all of it.  t 0 (never): none.
 */
static void wi_fused_share(const struct wi_in *in, int k, int t, double cs, double *ops, double *waits)
{
	int g = (int)epb_count_slot((__u64)k, EPB_ITER_SLOTS), edge = 0;
	double w = 0, c = 0, wf = 0, cf = 0;

	*ops = *waits = 1;
	if (t <= 0) {
		*ops = *waits = 0;
		return;
	}
	while (edge < EPB_ITER_SLOTS && (double)epb_count_low((__u32)edge) * (1 - cs) + 0.5 < t)
		edge++;
	for (int j = 0; j < EPB_ITER_SLOTS; j++) {
		w += (double)in->iter_hist[g][j];
		c += (double)in->iter_ops[g][j];
		if (j >= edge) {
			wf += (double)in->iter_hist[g][j];
			cf += (double)in->iter_ops[g][j];
		}
	}
	if (w > 0 && c > 0) {
		*ops = cf / c;
		*waits = wf / w;
	}
}

/*
 * A thread's loop in parts the shim decides on apart: its blocks of
 * EPB_POLICY_BLOCK waits (the shim's policy decides per such block, on the
 * block before), by the epoll_ctl calls per wait of the block before each.
 * Part k gets the share of the thread's calls and waits that its blocks
 * held (the blocks leave out at most the last, unfinished one) and, as
 * calls per wait to decide on, k (the block before had k to k + 1: it
 * reaches an integer break-even b exactly when k >= b); the open-ended last
 * slot, at least k and otherwise its own blocks' mean (a break-even beyond
 * it is judged on them).  Without blocks (an older record, fewer waits than
 * a block) one part: the average.  Returns the number of parts.
 */
struct wi_part {
	double ops, waits, decide;
};

static bool wi_has_blocks(const struct wi_in *in, double *blocks, double *ops)
{
	*blocks = *ops = 0;
	for (int k = 0; k < EPB_BLOCK_SLOTS; k++) {
		*blocks += (double)in->block_hist[k];
		*ops += (double)in->block_ops[k];
	}
	return *blocks > 0 && *ops > 0;
}

static int wi_parts(const struct wi_in *in, struct wi_part p[EPB_BLOCK_SLOTS])
{
	double n = (double)(in->add + in->mod + in->del), w = (double)in->waits;
	double blocks, ops;
	int np = 0;

	if (!wi_has_blocks(in, &blocks, &ops)) {
		p[0] = (struct wi_part){ .ops = n, .waits = w, .decide = w > 0 ? n / w : 0 };
		return 1;
	}
	for (int k = 0; k < EPB_BLOCK_SLOTS; k++) {
		double b = (double)in->block_hist[k], o = (double)in->block_ops[k];
		double own = o / (b * EPB_POLICY_BLOCK);

		if (b == 0)
			continue;
		p[np++] = (struct wi_part){ .ops = n * o / ops, .waits = w * b / blocks,
					    .decide = k < EPB_BLOCK_SLOTS - 1 || own < k ? k : own };
	}
	return np;
}

/*
 * Batching with backend be, as the shim does it (docs/cost-model.md).  Over
 * the interval: n = add + mod + del ops, w waits, cl closes, f = min(del,
 * cl) DELs that would go with their close, shared out over the parts by
 * their ops.  The shim batches a part when its calls per wait (those the
 * fused closes carry count too) reach the break-even of the thread's op mix,
 * by its own rule (epb_mix_break_even): the MOD break-even it measured
 * (blocking waits) and that of connection ops, for the share of ADD and DEL
 * among the n ops; it prices the batched parts by batched_ns() and the
 * others by its direct path.  Either way it keeps its fd bookkeeping per
 * connection (per close).  A part is the blocks that came after a block of
 * the same calls per wait: the shim batches a block when the one before
 * reached the break-even, so a loop whose busy spells last a block or two
 * gets less of them batched than their share of the calls.
 */
static void whatif_batch(const struct calib *c, const struct cm_backend_cal *be, bool uring,
			 const struct wi_in *in, struct wi_out *o)
{
	double n = (double)(in->add + in->mod + in->del), w = (double)in->waits, secs = in->seconds;
	double cl = (double)in->closes, f = (double)(in->del < in->closes ? in->del : in->closes);
	double shim_fd = cl * fig(&c->shim_fd), always = shim_fd, policy = shim_fd, bw = 0;
	/* the share the queue folds away, and what such a call costs direct */
	double cs = n > 0 ? (double)in->coalescible / n : 0;
	double op_ns = n > 0 ? ((double)in->add * fig(&c->ctl[0]) + (double)in->mod * fig(&c->ctl[1]) +
				(double)in->del * fig(&c->ctl[2])) / n : 0;
	struct wi_part part[EPB_BLOCK_SLOTS];
	int np;

	/* io_uring's fused wait undoes EPOLLEXCLUSIVE, so on an instance with
	 * such a registration the shim sends it in the 0-timeout form and
	 * prices the loop so (docs/shim.md); the module's is epoll_pwait */
	bool excl = uring && (in->excl_adds || in->excl_instance);
	/* the MOD break-even of the wait form its fused wait takes: the
	 * shim's batch size (policy_min_batch), and the mix's base */
	int mod_be = excl ? be->break_even_poll : be->break_even;

	o->known = true;
	o->estimated = be->estimated;
	o->break_even = mix_break_even(be, mod_be, in);
	o->ops_per_wait = w > 0 ? n / w : 0;
	if (be->estimated)
		add_note(o->assumptions, sizeof(o->assumptions),
			 "no /dev/epoll_batch here: the module's costs are estimated as one syscall entry+exit per "
			 "batch (%.0f ns) plus each op's in-kernel epoll_ctl work (MOD %.0f ns - that) and a fused wait "
			 "of epoll_wait minus one entry+exit; copying the op array is not counted",
			 fig(&c->syscall), fig(&c->ctl[1]));
	if (n == 0 || w == 0 || secs <= 0) {
		add_note(o->assumptions, sizeof(o->assumptions), "%s%s",
			 n == 0 ? "no epoll_ctl calls: nothing to batch" :
			 "no epoll waits on this thread: the shim defers only on the thread that waits, so its ops "
			 "would go to the kernel at once", cl > 0 ? "; the shim's fd bookkeeping per close counted" : "");
		if (secs > 0)
			o->saved_per_s = o->always_per_s = -(direct_ns(c, n, w) + shim_fd) / secs;
		return;
	}
	o->fused_closes = f;
	np = wi_parts(in, part);
	for (int i = 0; i < np; i++) {
		double pf = f * part[i].ops / n;
		double x = batched_ns(c, be, part[i].ops, part[i].waits, pf, cs, op_ns);

		always += x;
		/* the shim's rule (policy_decide): what a batch carries after
		 * folding, the fused closes' DELs too (its connection
		 * break-even was measured on them), reaches the break-even; or
		 * folding saves over a quarter of the calls of a loop of 2 or
		 * more per wait */
		if ((o->break_even && part[i].decide * (1 - cs) >= o->break_even) ||
		    (part[i].decide >= 2 && cs > 0.25)) {
			/* in those blocks, the iterations under the batch
			 * size go direct after all (flush.c) */
			double so, sw, fo, fw;

			wi_fused_share(in, (int)part[i].decide, mod_be, cs, &so, &sw);
			fo = part[i].ops * so;
			fw = part[i].waits * sw;
			policy += batched_ns(c, be, fo, fw, pf * so, cs, op_ns) +
				  sync_flushed_ns(c, part[i].ops - fo, part[i].waits - fw, cs, op_ns);
			o->batched_share += part[i].ops / n;
			o->fused_share += fo / n;
			o->ctl_batched += (fo - pf * so) + (part[i].ops - fo) * cs;
			bw += part[i].waits;
		} else {
			policy += direct_ns(c, part[i].ops, part[i].waits);
		}
	}
	o->always_per_s = -always / secs;
	o->saved_per_s = -policy / secs;
	{
		char mix_s[16], mod_s[16], conn_s[16], blk_s[300] = "";
		double blocks, blk_ops, sf = f, sent = sent_ops(n, cs, &sf);

		be_str(mix_s, sizeof(mix_s), o->break_even);
		be_str(mod_s, sizeof(mod_s), be->break_even);
		be_str(conn_s, sizeof(conn_s), cm_conn_break_even(be));
		if (wi_has_blocks(in, &blocks, &blk_ops)) {
			int at = snprintf(blk_s, sizeof(blk_s), "; in its blocks of %d waits, %.0f%% of the calls (%.0f%% "
					  "of the waits) came after a block at or above the break-even",
					  EPB_POLICY_BLOCK, 100 * o->batched_share, 100 * bw / w);

			if (o->batched_share > 0 && at > 0 && (size_t)at < sizeof(blk_s))
				snprintf(blk_s + at, sizeof(blk_s) - (size_t)at, ", %.0f%% in iterations that reach "
					 "the batch size (the others go direct)", 100 * o->fused_share);
		}
		add_note(o->assumptions, sizeof(o->assumptions),
			 "%.2f ops per wait, %.2f carried by the wait after %.0f%% folded away and %.0f DEL+close "
			 "pairs fused (every op deferrable, waits return at once); break-even batch %s for this mix of "
			 "%.0f%% ADD+DEL (MOD ops: %s, connection ops: %s%s; %s)%s: the shim would %s",
			 o->ops_per_wait, carried_per_wait(sent, w, sf), 100 * cs, f, mix_s,
			 100.0 * (double)(in->add + in->del) / n, mod_s, conn_s,
			 be->break_even_by_env ? "" : !be->break_even_by_shim ? " as MODs" :
			 be->break_even_conn_known ? "" :
			 ", the MOD figure: not measured in this calibration (from before min_batch_conn; calibrate --force)",
			 be->break_even_by_env ? "set by EPBATCH_MIN_BATCH" :
			 be->break_even_by_shim ? "measured by the shim" : "the model's", blk_s,
			 wi_mode(o) == WI_MODE_BATCH ? "batch" : wi_mode(o) == WI_MODE_MIXED ?
			 "batch those blocks and stay direct in the others" :
			 "stay direct (its direct path's cost)");
	}
	if (excl) {
		char poll_s[16], why[96];

		be_str(poll_s, sizeof(poll_s), be->break_even_poll);
		o->upper_bound = wi_mode(o) != WI_MODE_DIRECT;
		if (in->excl_adds)
			snprintf(why, sizeof(why), "%llu ADDs with EPOLLEXCLUSIVE", (unsigned long long)in->excl_adds);
		else
			snprintf(why, sizeof(why), "the instance it waits on has %llu registrations with "
				 "EPOLLEXCLUSIVE (/proc, at the end)", (unsigned long long)in->excl_instance);
		add_note(o->assumptions, sizeof(o->assumptions),
			 "%s: the fused wait takes its 0-timeout form (MOD break-even %s), "
			 "and a wait that would sleep costs a second syscall, not counted (the trace does not tell "
			 "which waits slept): at most this", why, poll_s);
	}
	if (in->batch_submits)
		add_note(o->assumptions, sizeof(o->assumptions),
			 "the trace shows %llu batched submissions carrying %llu epoll_ctl ops: the process "
			 "already batches; this is for its remaining direct epoll_ctl calls",
			 (unsigned long long)in->batch_submits, (unsigned long long)in->batched_ops);
	if (c->shim_op.ns < 0)
		add_note(o->assumptions, sizeof(o->assumptions), "the shim's own per-op cost was not measured (0 assumed)");
}

/* "never" (EPB_MB_NEVER) is the model's 0 */
static int env_size(unsigned b)
{
	return b == EPB_MB_NEVER ? 0 : (int)b;
}

/*
 * EPBATCH_MIN_BATCH in the tracer's environment: the shim, given it, would
 * batch from those sizes instead of its own measurement, so the model
 * prices it so (`epbatch-trace run` hands the user's value to every
 * process it starts, servers and tracers alike).  "0" (always batch) is
 * priced as 1: a block under one call per wait stays direct in the model.
 * Unset or malformed (the shim would refuse it and say so): be unchanged.
 */
static void env_break_even(struct cm_backend_cal *be)
{
	const char *v = getenv("EPBATCH_MIN_BATCH");
	unsigned b[EPB_BRK_KINDS];

	if (!v || !*v || epb_min_batch_parse(v, EPB_MB_MAX, b) < 0)
		return;
	be->break_even = env_size(b[EPB_BRK_BLOCK]);
	be->break_even_poll = env_size(b[EPB_BRK_POLL]);
	be->break_even_conn = env_size(b[EPB_BRK_CONN]);
	be->break_even_conn_known = true;
	be->break_even_by_env = true;
}

void whatif_compute(const struct calib *c, const struct wi_in *in, struct wi_out out[WI_N])
{
	struct cm_backend_cal uring = c->be[CM_URING], est, kmod = *cm_kmod(c, &est);

	memset(out, 0, sizeof(*out) * WI_N);
	for (int i = 0; i < WI_N; i++)
		out[i].saved_per_req = NAN;
	env_break_even(&uring);
	if (uring.present)
		whatif_batch(c, &uring, true, in, &out[WI_URING]);
	else
		snprintf(out[WI_URING].assumptions, sizeof(out[WI_URING].assumptions),
			 "io_uring was not measured here: %s", c->be[CM_URING].skipped[0] ?
			 c->be[CM_URING].skipped : "unavailable");
	env_break_even(&kmod);
	whatif_batch(c, &kmod, false, in, &out[WI_KMOD]);

	struct wi_out *u = &out[WI_UNSHARE];
	u->upper_bound = true;
	if (in->private_fd_table) {
		u->known = true;
		snprintf(u->assumptions, sizeof(u->assumptions),
			 "the thread already has a private fd table");
	} else if (!in->spin_measured || in->seconds <= 0) {
		snprintf(u->assumptions, sizeof(u->assumptions),
			 "spin-lock time was not measured (spin method none): no prediction");
	} else {
		u->known = true;
		u->saved_per_s = (double)in->spin_files_ns / in->seconds;
		snprintf(u->assumptions, sizeof(u->assumptions),
			 "upper bound = the slow-path time taken on files_struct->file_lock (%.3f ms/s); "
			 "the one unshare() per thread and any contention elsewhere are not counted; safe only "
			 "when threads never hand fds to each other", u->saved_per_s / 1e6);
	}
	for (int i = 0; i < WI_N; i++)
		if (out[i].known && in->requests > 0)
			out[i].saved_per_req = out[i].saved_per_s * in->seconds / in->requests;
}

json_t *whatif_json(const struct wi_out out[WI_N])
{
	static const char *const modes[] = { [WI_MODE_DIRECT] = "direct", [WI_MODE_MIXED] = "mixed",
					      [WI_MODE_BATCH] = "batch" };
	json_t *w = json_object();

	for (int i = 0; i < WI_N; i++) {
		const struct wi_out *o = &out[i];
		json_t *x = json_object();

		json_object_set_new(x, "cpu_ns_saved_per_s", o->known ? json_real(round(o->saved_per_s)) : json_null());
		json_object_set_new(x, "cpu_ns_saved_per_req",
				    o->known && !isnan(o->saved_per_req) ? json_real(round(o->saved_per_req * 10) / 10) :
									   json_null());
		json_object_set_new(x, "assumptions", json_string(o->assumptions));
		json_object_set_new(x, "estimated", json_boolean(o->estimated));
		json_object_set_new(x, "upper_bound", json_boolean(o->upper_bound));
		if (i != WI_UNSHARE && o->known) {
			json_object_set_new(x, "ops_per_wait", json_real(round(o->ops_per_wait * 100) / 100));
			json_object_set_new(x, "break_even_batch",
					    o->break_even ? json_integer(o->break_even) : json_null());
			json_object_set_new(x, "shim_mode", json_string(modes[wi_mode(o)]));
			json_object_set_new(x, "batched_share", json_real(round(o->batched_share * 1000) / 1000));
			json_object_set_new(x, "fused_share", json_real(round(o->fused_share * 1000) / 1000));
			json_object_set_new(x, "ctl_batched", json_integer((json_int_t)round(o->ctl_batched)));
			json_object_set_new(x, "always_batch_cpu_ns_saved_per_s", json_real(round(o->always_per_s)));
			json_object_set_new(x, "fused_closes", json_integer((json_int_t)o->fused_closes));
		}
		json_object_set_new(w, wi_names[i], x);
	}
	return w;
}

static uint64_t ju(const json_t *o, const char *k)
{
	double v = jnum(o, k);

	return v > 0 ? (uint64_t)v : 0;
}

/* report.c's "epoll_ctl_blocks"; left empty when absent (an older record)
 * or of another block length than the shim's policy decides on. */
static void blocks_from_json(const json_t *b, struct wi_in *in)
{
	const json_t *v;
	const char *k;

	if (jnum(b, "waits_per_block") != EPB_POLICY_BLOCK)
		return;
	json_object_foreach((json_t *)json_object_get(b, "after_calls_per_wait"), k, v) {
		char *end;
		long i = strtol(k, &end, 10);

		if (*end || end == k || i < 0 || i >= EPB_BLOCK_SLOTS)
			continue;
		in->block_hist[i] = ju(v, "blocks");
		in->block_ops[i] = ju(v, "calls");
	}
}

/* report.c's "epoll_ctl_iterations", the same way (keys: bucket lower
 * bounds, 0 or a power of two up to 32). */
static int iter_key(const char *k)
{
	char *end;
	long v = strtol(k, &end, 10);
	int slot;

	if (*end || end == k || v < 0)
		return -1;
	slot = (int)epb_count_slot((__u64)v, EPB_ITER_SLOTS);
	return epb_count_low((__u32)slot) == (__u64)v ? slot : -1;
}

static void iters_from_json(const json_t *b, struct wi_in *in)
{
	const json_t *row, *v;
	const char *gk, *jk;

	if (jnum(b, "waits_per_block") != EPB_POLICY_BLOCK)
		return;
	json_object_foreach((json_t *)json_object_get(b, "after_calls_per_wait"), gk, row) {
		int g = iter_key(gk);

		json_object_foreach((json_t *)row, jk, v) {
			int j = iter_key(jk);

			if (g < 0 || j < 0)
				continue;
			in->iter_hist[g][j] = ju(v, "waits");
			in->iter_ops[g][j] = ju(v, "calls");
		}
	}
}

void wi_in_from_json(const json_t *o, const json_t *doc, struct wi_in *in)
{
	const json_t *ctl = json_object_get(o, "epoll_ctl"), *spin = json_object_get(o, "spin");
	const json_t *load = json_object_get(doc, "load");
	const char *m = json_string_value(json_object_get(doc, "spin_method"));

	memset(in, 0, sizeof(*in));
	in->add = ju(ctl, "add");
	in->mod = ju(ctl, "mod");
	in->del = ju(ctl, "del");
	in->waits = ju(o, "epoll_wait");
	in->batch_submits = ju(o, "batch_submits");
	in->batched_ops = ju(o, "io_uring_epoll_ctl") + ju(o, "kmod_ops");
	in->closes = ju(o, "close");
	in->excl_adds = ju(o, "epoll_ctl_exclusive_adds");
	in->excl_instance = ju(o, "epoll_wait_fd_exclusive");
	in->coalescible = ju(o, "epoll_ctl_coalescible");
	in->spin_files_ns = ju(spin, "files_lock_ns");
	in->spin_measured = m && strcmp(m, "none");
	in->private_fd_table = json_is_true(json_object_get(o, "private_fd_table"));
	in->seconds = jnum(doc, "duration_s");
	in->requests = load ? jnum_or(load, "requests", -1) : -1;
	blocks_from_json(json_object_get(o, "epoll_ctl_blocks"), in);
	iters_from_json(json_object_get(o, "epoll_ctl_iterations"), in);
}

void whatif_sentence(char *buf, size_t len, enum wi_kind k, const struct wi_out *o)
{
	const char *what = k == WI_UNSHARE ? "unshare(CLONE_FILES)" : wi_names[k];
	double v = o->saved_per_s;
	char per_req[64] = "";

	if (!o->known) {
		snprintf(buf, len, "%s: no prediction (%s)", what, o->assumptions);
		return;
	}
	if (!isnan(o->saved_per_req))
		snprintf(per_req, sizeof(per_req), ", %.2f us per request", fabs(o->saved_per_req) / 1e3);
	if (k == WI_UNSHARE)
		snprintf(buf, len, "%s would save at most %.3f ms of CPU per second%s (the files_lock spin time)",
			 what, v / 1e6, per_req);
	else if (v < 0)
		snprintf(buf, len, "%s%s would cost %.3f ms of CPU per second%s here: %s", what,
			 o->estimated ? " (estimated)" : "", -v / 1e6, per_req,
			 wi_mode(o) != WI_MODE_DIRECT ? "batching costs more than the syscalls it saves" :
			 "the batches are too small (the shim would stay direct)");
	else {
		char be_s[16], part[128] = "";
		int at = 0;

		be_str(be_s, sizeof(be_s), o->break_even);
		if (wi_mode(o) == WI_MODE_MIXED)
			at = snprintf(part, sizeof(part), "; %.0f%% of the calls in the blocks it would batch",
				      100 * o->batched_share);
		/* in those blocks, iterations under the batch size go direct */
		if (o->fused_share < o->batched_share - 0.005 && at >= 0 && (size_t)at < sizeof(part))
			snprintf(part + at, sizeof(part) - (size_t)at, "%s%.0f%% in batches", at ? ", " : "; ",
				 100 * o->fused_share);
		snprintf(buf, len, "%s%s would save %.3f ms of CPU per second%s (%.2f ops per wait, break-even %s%s)",
			 what, o->estimated ? " (estimated)" : "", v / 1e6, per_req, o->ops_per_wait, be_s, part);
	}
}
