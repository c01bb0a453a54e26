/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The cost model (docs/cost-model.md): what each operation costs on this
 * machine (struct calib, the "epbatch-calibration/1" document and its cache)
 * and what an intervention would save for a traced op mix (what_if).  No
 * libbpf, no liburing: the measuring is in calibrate.c, the unit tests link
 * this file alone.
 */
#ifndef EPBATCH_COSTMODEL_H
#define EPBATCH_COSTMODEL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "../bpf/epbatch.h"		/* EPB_BLOCK_SLOTS */

#define CALIB_SCHEMA "epbatch-calibration/1"
#define CM_NB 6				/* batch sizes measured */
extern const unsigned cm_batch[CM_NB];	/* 1, 2, 4, 8, 16, 64 */
#define CM_MAX_BATCH 256		/* the shim's queue: larger is "never" */

enum cm_backend { CM_URING, CM_KMOD, CM_NBE };
extern const char *const cm_backend_names[CM_NBE];	/* "uring", "kmod" */

/* One measured figure: the median over rounds and their range; ns < 0: not measured. */
struct cm_fig {
	double ns, lo, hi;
};

struct cm_backend_cal {
	bool present;			/* measured (or, for an estimate, derived) */
	bool estimated;			/* derived from the direct costs, not measured */
	char skipped[200];		/* why not measured */
	struct cm_fig per_op[CM_NB];	/* one submission of n ops, per op */
	struct cm_fig fused_wait;	/* what adding the wait to that submission costs */
	int break_even;			/* the break-even batch, blocking waits; 0: never */
	int break_even_poll;		/* ... 0-timeout waits (their fused form cancels: dearer) */
	/* ... connection ops (ADD, DEL with its close), blocking waits; 0:
	 * never.  Only where break_even_conn_known: an older shim or cache
	 * has none, and then the MOD break-even stands for every op
	 * (cm_conn_break_even), as it did before. */
	int break_even_conn;
	bool break_even_conn_known;
	bool break_even_by_shim;	/* measured by libepbatch.so itself, else the model's rule */
	bool break_even_by_env;		/* what_if only: fixed by EPBATCH_MIN_BATCH */
	/* the 0-timeout waits' batched form the shim measured as the cheaper
	 * (its stats line's poll_form; CM_POLL_UNKNOWN where it did not say) */
	enum cm_poll_form { CM_POLL_UNKNOWN, CM_POLL_FUSED, CM_POLL_UNFUSED } poll_form;
};

struct calib {
	char kernel[128], cpu[128], key[20];
	char mitigations[2048];		/* "name: state\n" per /sys/.../vulnerabilities file */
	char measured_at[32];		/* UTC, ISO 8601 */
	double seconds;			/* how long measuring took */
	int rounds;
	struct cm_fig syscall, ctl[3], wait;	/* ctl: add, mod, del */
	struct cm_backend_cal be[CM_NBE];
	struct cm_fig shim_op;		/* the shim's user-space cost per batched op */
	struct cm_fig shim_direct_op;	/* ... per op on its direct path */
	struct cm_fig shim_wait;	/* ... per wait on its direct path (the wait's wrapper) */
	struct cm_fig shim_fd;		/* ... per connection: the fd mirror's bookkeeping */
	char shim_skipped[200];
	char file[PATH_MAX];		/* the cache file it was read from or written to */
	bool cached;			/* read from the cache */
};

/* kernel, cpu, mitigations and the cache key of this machine (those and
 * the bytes of the libepbatch.so that calibrate measures). */
void calib_machine(struct calib *c);
/* The libepbatch.so calibrate measures: next to epbatch-trace (a build
 * tree), else in EPBATCH_LIBDIR; -1 when neither is readable. */
int calib_shim_path(char *buf, size_t len);
/* The cache file for c->key; -1 when no directory can be named. */
int calib_cache_path(const struct calib *c, char *buf, size_t len);
/* The break-evens of each present backend the shim did not measure, by the
 * shim's rule (epb_break_even) applied to the model's costs; its loop is
 * of MODs, so connection ops get the same figure. */
void calib_break_even(struct calib *c);
/* The break-even the model uses for connection ops: break_even_conn where
 * known, else the MOD break-even (0: never). */
int cm_conn_break_even(const struct cm_backend_cal *b);
/* Batch cost (ns, for n ops, without the wait) interpolated from the table. */
double cm_batch_ns(const struct cm_backend_cal *b, double n);
/* The module's costs estimated from the direct ones (it is not here). */
void calib_kmod_estimate(const struct calib *c, struct cm_backend_cal *out);
/* The module's costs as the model prices it: measured where it is here,
 * else estimated into *est. */
const struct cm_backend_cal *cm_kmod(const struct calib *c, struct cm_backend_cal *est);

/* The environment that makes libepbatch.so decide by the break-evens it
 * measured for backend b during calibrate (untraced): "EPBATCH_MIN_BATCH=
 * B,P,C" in mb and, where the shim chose a 0-timeout form,
 * "EPBATCH_POLL_FORM=fused|unfused" in pf (else "").  0, or -1 (both "")
 * when the shim did not measure b. */
int cm_shim_env(const struct cm_backend_cal *b, char *mb, size_t ml, char *pf, size_t pl);
#define MIN_BATCH_KEY "EPBATCH_MIN_BATCH="
#define POLL_FORM_KEY "EPBATCH_POLL_FORM="

/* A traced process's own batches through one backend (a shim's). */
struct cm_batched {
	uint64_t ops;		/* the epoll_ctl ops they carried */
	uint64_t batches;	/* the submissions (io_uring_enter, module ioctls) */
	uint64_t waits;		/* of those, the ones with a fused epoll wait */
	uint64_t closes;	/* the closes fused into them (each behind its fd's DEL) */
};
/* What those batches save, ns (< 0: they cost), against the same calls
 * made direct without a shim: each op an epoll_ctl, each fused wait an
 * epoll_wait and each fused close a close of its own, none of the shim's
 * instructions. */
double cm_batched_saving(const struct calib *c, const struct cm_backend_cal *b,
			 const struct cm_batched *x);

struct json_t;
struct json_t *calib_json(const struct calib *c);
/* 0, or -1 with why (a malformed or foreign document). */
int calib_from_json(const struct json_t *doc, struct calib *c, char *why, size_t wl);
/* The cached calibration of this machine: 0 if found and valid. */
int calib_load_cache(struct calib *c);
/* Write the document to the cache atomically (mkdir -p); 0 or -1 after one line. */
int calib_save_cache(struct calib *c);
void calib_print(FILE *f, const struct calib *c);
/* calibrate.c: measure this machine (~3 s); 0, or -1 after one line. */
int calib_measure(struct calib *c, bool verbose);
/* The cached calibration, else measure and cache it (a line on stderr unless quiet). */
int calib_ensure(struct calib *c, bool quiet);

/* ---- what if ---- */
enum wi_kind { WI_URING, WI_KMOD, WI_UNSHARE, WI_N };
extern const char *const wi_names[WI_N];	/* "batch:uring", "batch:kmod", "unshare" */

/* A thread's (or the totals') op mix over an interval. */
struct wi_in {
	uint64_t add, mod, del, waits, batch_submits;
	uint64_t batched_ops;		/* epoll_ctl ops those submissions carried */
	uint64_t closes;		/* close and close_range calls */
	uint64_t excl_adds;		/* successful ADDs with EPOLLEXCLUSIVE */
	uint64_t excl_instance;		/* ... registered on the instance it waits on, at the end */
	uint64_t coalescible;		/* calls a batching queue would fold away (bpf/epbatch.h) */
	uint64_t spin_files_ns;
	bool spin_measured;		/* a spin method ran */
	bool private_fd_table;
	double seconds;
	double requests;		/* < 0: not known */
	/* its waits in blocks of EPB_POLICY_BLOCK by epoll_ctl calls per wait,
	 * and the calls they held (bpf/epbatch.h); none (a record from before
	 * them, or fewer waits than a block): the model prices the average */
	uint64_t block_hist[EPB_BLOCK_SLOTS], block_ops[EPB_BLOCK_SLOTS];
	/* the same waits one by one (bpf/epbatch.h): iter_hist[g][j] waits in
	 * blocks after a block of calls-per-wait bucket g that carried bucket
	 * j of calls, iter_ops[g][j] those calls; none: every call of a block
	 * the shim batches is taken to ride on a fused wait */
	uint64_t iter_hist[EPB_ITER_SLOTS][EPB_ITER_SLOTS], iter_ops[EPB_ITER_SLOTS][EPB_ITER_SLOTS];
};

struct wi_out {
	bool known;			/* false: saved_per_s is null */
	double saved_per_s;		/* CPU ns saved per second; < 0: it would cost */
	double saved_per_req;		/* NAN when requests are not known */
	double always_per_s;		/* batching: with EPBATCH_MIN_BATCH=0 (every iteration batched) */
	double ops_per_wait;
	double fused_closes;		/* batching: DELs that would go with their close (count) */
	int break_even;			/* batching: of the thread's op mix (epb_mix_break_even); 0 = never */
	double batched_share;		/* batching: of the epoll_ctl calls, those in blocks it batches */
	double fused_share;		/* ... and of those, in iterations that reach its batch size */
	double ctl_batched;		/* batching: calls that would not be syscalls of their own (count):
					 * those riding on a fused wait, and the folded ones */
	bool estimated;			/* the backend's costs are estimated */
	bool upper_bound;
	char assumptions[1024];
};

/* Batching: what the shim's policy would do, from batched_share -- every
 * block batched, some of them, or none (its direct way). */
enum wi_mode { WI_MODE_DIRECT, WI_MODE_MIXED, WI_MODE_BATCH };

static inline enum wi_mode wi_mode(const struct wi_out *o)
{
	return o->batched_share >= 1 - 1e-9 ? WI_MODE_BATCH :
	       o->batched_share > 0 ? WI_MODE_MIXED : WI_MODE_DIRECT;
}

void whatif_compute(const struct calib *c, const struct wi_in *in, struct wi_out out[WI_N]);
struct json_t *whatif_json(const struct wi_out out[WI_N]);
/* The op mix of an epbatch/1 thread or totals object. */
void wi_in_from_json(const struct json_t *o, const struct json_t *doc, struct wi_in *in);
/* One line saying what an intervention would do ("batch:uring would cost ..."). */
void whatif_sentence(char *buf, size_t len, enum wi_kind k, const struct wi_out *o);

#endif
