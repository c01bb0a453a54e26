// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `epbatch-trace run`: the before/after comparison.  For each repeat, for
 * each variant (interleaved, A B C A B C, so drift hits them alike): start
 * the server with the variant's environment, wait until it listens, attach
 * the tracer (a forked child running the same session as `record -p`), drive
 * the load, stop everything, and turn the counts into per-request metrics.
 * At the end (or on Ctrl-C, with what finished): summary.json, report.md,
 * report.html and the table on stdout.  See docs/run.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "compare.h"
#include "loadgen.h"
#include "base/stats.h"
#include "session.h"
#include "loader.h"
#include "whatif.h"
#include "stackset.h"

enum { V_PRELOAD = 1, V_KMOD = 2, V_UNSHARE = 4 };

static const struct variant_def {
	const char *name;
	unsigned flags;
} variant_defs[] = {
	{ "baseline", 0 },
	{ "preload", V_PRELOAD },
	{ "kmod", V_PRELOAD | V_KMOD },
	{ "unshare", V_UNSHARE },
	{ "preload+unshare", V_PRELOAD | V_UNSHARE },
};
#define NR_VARIANT_DEFS (sizeof(variant_defs) / sizeof(*variant_defs))
#define MAX_VARIANTS NR_VARIANT_DEFS

struct run_cfg {
	const struct variant_def *v[MAX_VARIANTS];
	const char *skip[MAX_VARIANTS];		/* why a variant cannot run here */
	size_t nv;
	int repeat, threads, connections, load_threads, port;
	double duration;
	const char *mode, *out, *load_cmd, *load_kind;
	bool stacks;				/* --stacks: the callers' flame graphs */
	char **server;				/* -- SERVER ...; NULL: the reference server */
	char bindir[PATH_MAX], shim[PATH_MAX + 32], ref_server[PATH_MAX + 32], ref_load[PATH_MAX + 32];
	/* MIN_BATCH_KEY "B,P,C" per backend (cm_backend_names), from
	 * calibrate; "" where it has none, or the user set EPBATCH_MIN_BATCH */
	char min_batch_env[CM_NBE][80];
	/* POLL_FORM_KEY "fused|unfused" beside it, where calibrate's shim said */
	char poll_form_env[CM_NBE][40];
	const char *user_min_batch;		/* EPBATCH_MIN_BATCH as run found it */
};


/* A run's what_if figures, per kind (run_rec.wi) */
enum wi_fig {
	WI_NS_SAVED,		/* cpu_ns_saved_per_req; NAN: none */
	WI_CTL_REQ,		/* epoll_ctl calls per request that would no longer be
				 * syscalls of their own, on the threads that wait */
	WI_CTL_ITER,		/* the same per loop iteration */
	WI_FIGS
};

/* What one run produced. */
struct run_rec {
	size_t var;
	int rep;
	double m[SM_COUNT];
	bool has[SM_COUNT];
	char why[SM_COUNT][256];	/* why a metric is absent (!has) */
	char spin_method[16];		/* how spin time was measured */
	double sample_hz, slow_samples, spin_count;
	json_t *threads;	/* the per-thread list for the report */
	json_t *stacks;		/* --stacks: the run's "stacks" object */
	char backend[32];
	char file[64];		/* runs/V-N.json, relative to the output dir */
	/* the run's what_if (the baseline's predict the others), by enum wi_fig */
	double wi[WI_FIGS][WI_N];
	char wi_why[WI_N][200];		/* why wi[WI_NS_SAVED] is NAN */
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

/* ---- processes ---- */

struct spawn_io {
	const char *out, *err;		/* files for stdout/stderr; NULL: /dev/null */
	const char *const *set;		/* "NAME=VALUE" to set */
	const char *const *unset;	/* names to remove */
};

static void redirect(int fd, const char *path)
{
	int f = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (f >= 0) {
		dup2(f, fd);
		close(f);
	}
}

/*
 * Each child gets a process group of its own, so that a Ctrl-C at the
 * terminal reaches only the runner, which then stops the run in order.
 */
static pid_t spawn(char *const *argv, const struct spawn_io *io)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid)
		return pid;
	setpgid(0, 0);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	redirect(0, NULL);
	redirect(1, io->out);
	redirect(2, io->err);
	for (const char *const *u = io->unset; u && *u; u++)
		unsetenv(*u);
	for (const char *const *s = io->set; s && *s; s++)
		putenv((char *)*s);
	execvp(argv[0], argv);
	fprintf(stderr, PROG " run: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Wait up to `secs` for pid; 1 when it exited (status in *st), 0 if not. */
static int wait_for(pid_t pid, double secs, int *st, bool stop_on_interrupt)
{
	double end = now_s() + secs;

	do {
		pid_t r = waitpid(pid, st, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return 1;
		if (stop_on_interrupt && interrupted)
			return 0;
		usleep(20000);
	} while (now_s() < end);
	return 0;
}

/* sig to pid (its whole group when group), then SIGKILL after `grace` s. */
static int stop_child(pid_t pid, int sig, bool group, double grace)
{
	int st = 0;

	if (pid <= 0)
		return 0;
	kill(group ? -pid : pid, sig);
	if (!wait_for(pid, grace, &st, false)) {
		kill(group ? -pid : pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	return st;
}

/* ---- the tracer, in a forked child ---- */

static int tracer_attached(void *arg)
{
	int fd = *(int *)arg;
	char b = 1;

	return write(fd, &b, 1) == 1 ? 0 : -1;
}

/*
 * The child runs the very session `record -p PID` runs (same options, same
 * JSON) and signals on a pipe once the programs are attached; it stops on
 * SIGTERM and writes the JSON.  Returns the child, or -1 (reason in why).
 */
static pid_t start_tracer(pid_t target, const char *variant, const char *json, const char *log,
			  bool stacks, char *why, size_t whylen)
{
	int p[2];
	pid_t pid;
	char b;
	struct pollfd pf;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct trace_opts o;
		int pidfd, ret;

		setpgid(0, 0);
		close(p[0]);
		redirect(1, NULL);
		redirect(2, log);
		/* what `record -p PID --variant V -o JSON` would run */
		trace_opts_defaults(&o);
		o.pid = target;
		o.variant = variant;
		o.json = json;
		o.quiet = true;
		o.interval = 0;
		o.stacks = stacks;
		/* servers with worker processes (nginx, haproxy -W): the whole tree */
		o.children = true;
		pidfd = (int)syscall(SYS_pidfd_open, target, 0);
		ret = trace_session(&o, target, pidfd, tracer_attached, &p[1]);
		fflush(NULL);
		_exit(ret);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		snprintf(why, whylen, "cannot fork the tracer: %s", strerror(errno));
		return -1;
	}
	/* Attaching takes a few hundred ms; allow for a loaded machine. */
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	for (int i = 0; i < 600 && !interrupted; i++)
		if (poll(&pf, 1, 100) == 1)
			break;
	if (pf.revents & POLLIN && read(p[0], &b, 1) == 1) {
		close(p[0]);
		return pid;
	}
	close(p[0]);
	stop_child(pid, SIGKILL, false, 1);
	snprintf(why, whylen, "the tracer did not attach (see %.300s)", log);
	return -1;
}

/* ---- reading what a run left ---- */

/* The last non-empty line of a log, for one-line failure reasons. */
static void last_line(const char *path, char *out, size_t len)
{
	char *t = read_text(path, 1 << 16), *e, *s;

	out[0] = 0;
	if (!t)
		return;
	e = t + strlen(t);
	while (e > t && (e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	s = strrchr(t, '\n');
	snprintf(out, len, "%s", s ? s + 1 : t);
	free(t);
}

/*
 * The shim's EPBATCH_STATS=1 line(s) in the server's stderr, one per process
 * that had it loaded: sum flushed and batches; batch size = flushed/batches.
 */
static json_t *shim_stats(const char *log, char *backend, size_t blen)
{
	char *t = read_text(log, 1 << 20), *l;
	double flushed = 0, batches = 0, deferred = 0;
	int lines = 0;

	backend[0] = 0;
	if (!t)
		return NULL;
	for (l = strstr(t, "epbatch: pid="); l; l = strstr(l + 1, "epbatch: pid=")) {
		unsigned long d, f, b;
		char be[32];

		if (sscanf(l, "epbatch: pid=%*d backend=%31s deferred=%lu flushed=%lu batches=%lu",
			   be, &d, &f, &b) != 4)
			continue;
		snprintf(backend, blen, "%s", be);
		deferred += (double)d;
		flushed += (double)f;
		batches += (double)b;
		lines++;
	}
	free(t);
	if (!lines)
		return NULL;
	return json_pack("{s:s,s:f,s:f,s:f,s:i}", "backend", backend, "deferred", deferred,
			 "flushed", flushed, "batches", batches, "processes", lines);
}

static double epoll_syscalls(json_t *o)
{
	json_t *ctl = json_object_get(o, "epoll_ctl");

	return jnum(ctl, "add") + jnum(ctl, "mod") + jnum(ctl, "del") + jnum(o, "epoll_wait") +
	       jnum(o, "batch_submits");
}

/*
 * Epoll syscalls per event-loop iteration: the same syscalls over the
 * application's epoll waits, whichever way each reached the kernel (a wait
 * fused into a batch is one iteration, its submission one syscall).
 */
static void per_iteration(struct run_rec *rec, json_t *totals)
{
	double iters = jnum(totals, "loop_iterations");

	rec->has[SM_EPOLL_PER_ITER] = iters > 0;
	if (iters > 0)
		rec->m[SM_EPOLL_PER_ITER] = epoll_syscalls(totals) / iters;
	else
		snprintf(rec->why[SM_EPOLL_PER_ITER], sizeof(rec->why[0]),
			 "the trace saw no epoll wait of the server's");
}

/* The threads that did anything, in the few keys the report shows. */
static json_t *thread_list(json_t *trace)
{
	json_t *out = json_array(), *t;
	size_t i;

	json_array_foreach(json_object_get(trace, "threads"), i, t) {
		json_t *spin = json_object_get(t, "spin");
		double sys = epoll_syscalls(t), ctl = sys - jnum(t, "epoll_wait") - jnum(t, "batch_submits");

		if (!sys && !jnum(spin, "ns"))
			continue;
		json_array_append_new(out, json_pack("{s:O?,s:O?,s:b,s:f,s:f,s:f,s:f,s:f}",
			"tid", json_object_get(t, "tid"), "comm", json_object_get(t, "comm"),
			"private_fd_table", json_is_true(json_object_get(t, "private_fd_table")),
			"epoll_ctl", ctl, "epoll_wait", jnum(t, "epoll_wait"),
			"batch_submits", jnum(t, "batch_submits"), "spin_ns", jnum(spin, "ns"),
			"files_lock_ns", jnum(spin, "files_lock_ns")));
	}
	return out;
}

/* ---- one run ---- */

struct run_paths {
	char trace[PATH_MAX], trace_log[PATH_MAX], load[PATH_MAX], load_log[PATH_MAX];
	char server_log[PATH_MAX], server_stats[PATH_MAX], ready[PATH_MAX];
};

enum progress_at { AT_START, AT_TICK, AT_END };

/*
 * The live line: rewritten in place on a terminal; in a log (not a tty), one
 * line as each run starts and its result as it ends.
 */
static void progress(const struct run_cfg *c, size_t done, size_t total, const char *var, int rep,
		     double t0, double avg, enum progress_at at)
{
	double el = now_s() - t0, left = (double)(total - done) * avg - (at == AT_END ? avg : el);

	if (left < 0)
		left = 0;
	if (isatty(2))
		fprintf(stderr, "\r\033[K[%zu/%zu] %s repeat %d/%d: %4.1f/%.0f s  ETA %dm%02ds%s", done + 1,
			total, var, rep, c->repeat, el > c->duration ? c->duration : el, c->duration,
			(int)left / 60, (int)left % 60, at == AT_END ? "\n" : "");
	else if (at == AT_START)
		fprintf(stderr, "[%zu/%zu] %s repeat %d/%d (ETA %dm%02ds)\n", done + 1, total, var, rep,
			c->repeat, (int)left / 60, (int)left % 60);
}

/* Poll until the server is ready: its --ready-file, or a connect to --port. */
static int wait_ready(const struct run_cfg *c, pid_t srv, const char *ready, int *port,
		      char *why, size_t wl)
{
	double end = now_s() + 30;
	int st;

	while (now_s() < end && !interrupted) {
		if (waitpid(srv, &st, WNOHANG) == srv) {
			snprintf(why, wl, "server exited before it listened (status %d)",
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			return -1;
		}
		if (!c->server) {
			char *t = read_text(ready, 64);

			*port = t ? atoi(t) : 0;
			free(t);
			if (*port > 0)
				return 0;
		} else {
			struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->port),
						 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
			int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

			ok = s >= 0 && !connect(s, (struct sockaddr *)&a, sizeof(a));
			if (s >= 0)
				close(s);
			if (ok) {
				*port = c->port;
				return 0;
			}
		}
		usleep(20000);
	}
	snprintf(why, wl, interrupted ? "interrupted" : "server did not listen within 30 s");
	return -1;
}

/*
 * The shim's break-evens for the preload variants, as calibrate measured
 * them, before the tracer attached: a traced server's shim measures its
 * own with every syscall slowed by the tracer's syscall tracepoints (on the
 * machine of docs/performance.md, 2 and 4 ops instead of 16 and 32), and
 * would batch where the same server untraced does not.  Only the shim's own
 * measurements (break_even_by_shim), and not over the user's
 * EPBATCH_MIN_BATCH.
 */
static void pin_min_batch(struct run_cfg *c, const struct calib *cal)
{
	c->user_min_batch = getenv("EPBATCH_MIN_BATCH");
	if (c->user_min_batch && !*c->user_min_batch)
		c->user_min_batch = NULL;
	for (int b = 0; b < CM_NBE; b++) {
		c->min_batch_env[b][0] = c->poll_form_env[b][0] = 0;
		if (c->user_min_batch)
			continue;
		cm_shim_env(&cal->be[b], c->min_batch_env[b], sizeof(c->min_batch_env[b]),
			    c->poll_form_env[b], sizeof(c->poll_form_env[b]));
		if (getenv("EPBATCH_POLL_FORM"))	/* the user's own */
			c->poll_form_env[b][0] = 0;
	}
	if (c->min_batch_env[CM_URING][0])
		fprintf(stderr, PROG " run: the preload variants' shim decides with calibrate's break-evens (%s%s%s; "
			"measured without the tracer, whose syscall tracepoints make every syscall dearer)\n",
			c->min_batch_env[CM_URING], c->poll_form_env[CM_URING][0] ? " " : "",
			c->poll_form_env[CM_URING]);
}

/* The environment of a variant (static storage: used right away by spawn). */
static void variant_env(const struct run_cfg *c, const struct variant_def *v, const char **set,
			const char **unset)
{
	static char preload[PATH_MAX + 64];
	const char *min_batch = c->min_batch_env[v->flags & V_KMOD ? CM_KMOD : CM_URING];
	const char *poll_form = c->poll_form_env[v->flags & V_KMOD ? CM_KMOD : CM_URING];
	size_t ns = 0, nu = 0;

	unset[nu++] = "EPBATCH_UNSHARE";
	if (v->flags & V_PRELOAD || (c->server && v->flags & V_UNSHARE)) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", c->shim);
		set[ns++] = preload;
		set[ns++] = "EPBATCH_STATS=1";
	} else {
		unset[nu++] = "LD_PRELOAD";
	}
	if (v->flags & V_PRELOAD && *min_batch)
		set[ns++] = min_batch;
	if (v->flags & V_PRELOAD && *poll_form)
		set[ns++] = poll_form;
	if (v->flags & V_KMOD)
		set[ns++] = "EPBATCH_BACKEND=kmod";
	else if (c->server && v->flags & V_UNSHARE && !(v->flags & V_PRELOAD))
		set[ns++] = "EPBATCH_BACKEND=sync";	/* the shim only for unshare */
	if (c->server && v->flags & V_UNSHARE)
		set[ns++] = "EPBATCH_UNSHARE=1";
	set[ns] = NULL;
	unset[nu] = NULL;
}

/* Replace every {port} in the load command. */
static char *subst_port(const char *cmd, int port)
{
	size_t n = strlen(cmd) + 1;
	char *out, *o;

	for (const char *p = strstr(cmd, "{port}"); p; p = strstr(p + 1, "{port}"))
		n += 8;
	out = o = calloc(1, n);
	if (!out)
		return NULL;
	while (*cmd) {
		if (!strncmp(cmd, "{port}", 6)) {
			o += sprintf(o, "%d", port);
			cmd += 6;
		} else {
			*o++ = *cmd++;
		}
	}
	*o = 0;
	return out;
}

static int run_load(const struct run_cfg *c, int port, const struct run_paths *rp,
		    struct load_result *lr, const char *var, size_t done, size_t total, int rep,
		    double t0, double avg, char *why, size_t wl)
{
	char ps[16], cs[16], ts[16], ds[32], *cmd = NULL, *text, err[256], env_port[48];
	const char *set[] = { env_port, NULL };
	struct spawn_io io = { .out = rp->load, .err = rp->load_log, .set = set };
	pid_t pid;
	int st = 0, ret = -1;
	double bound;

	snprintf(ps, sizeof(ps), "%d", port);
	snprintf(cs, sizeof(cs), "%d", c->connections);
	snprintf(ts, sizeof(ts), "%d", c->load_threads);
	snprintf(ds, sizeof(ds), "%g", c->duration);
	snprintf(env_port, sizeof(env_port), "EPBATCH_PORT=%d", port);
	if (c->load_cmd) {
		char *argv[] = { "/bin/sh", "-c", NULL, NULL };

		cmd = subst_port(c->load_cmd, port);
		if (!cmd)
			return -1;
		argv[2] = cmd;
		pid = spawn(argv, &io);
	} else {
		char *argv[] = { (char *)c->ref_load, "--port", ps, "--connections", cs, "--threads", ts,
				 "--duration", ds, "--mode",
				 strcmp(c->mode, "oneshot") && strcmp(c->mode, "flip") ? "close" : "keepalive", "--out", "-", NULL };

		pid = spawn(argv, &io);
	}
	free(cmd);
	if (pid < 0) {
		snprintf(why, wl, "cannot fork the load generator: %s", strerror(errno));
		return -1;
	}
	/* Every load is bounded: its own duration, plus a grace period. */
	bound = c->duration + 60;
	for (double end = now_s() + bound; ; ) {
		if (wait_for(pid, 0.25, &st, true))
			break;
		if (interrupted || now_s() > end) {
			stop_child(pid, SIGINT, true, 2);
			snprintf(why, wl, interrupted ? "interrupted" : "the load generator ran past %.0f s", bound);
			return -1;
		}
		progress(c, done, total, var, rep, t0, avg, AT_TICK);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		last_line(rp->load_log, err, sizeof(err));
		snprintf(why, wl, "load generator failed (status %d): %s",
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), err[0] ? err : "no message");
		return -1;
	}
	text = read_text(rp->load, 1 << 22);
	if (!text || loadgen_parse(c->load_kind, text, lr, err, sizeof(err)))
		snprintf(why, wl, "%.300s: %s", rp->load, text ? err : "cannot read");
	else if (lr->requests <= 0)
		snprintf(why, wl, "no request completed");
	else
		ret = 0;
	free(text);
	return ret;
}

static void run_paths(const struct run_cfg *c, const char *var, int rep, struct run_paths *p,
		      char *file, size_t flen)
{
	snprintf(file, flen, "runs/%s-%d.json", var, rep);
#define P(f, suffix) snprintf(p->f, sizeof(p->f), "%s/runs/%s-%d%s", c->out, var, rep, suffix)
	P(trace, ".json");
	P(trace_log, ".trace.log");
	P(load, c->load_cmd ? ".load.out" : ".load.json");
	P(load_log, ".load.log");
	P(server_log, ".server.log");
	P(server_stats, ".server.json");
	P(ready, ".ready");
#undef P
}

static char **server_argv(const struct run_cfg *c, const struct variant_def *v,
			  const struct run_paths *p)
{
	static char th[16], maxs[32];
	static char *argv[24];
	int n = 0;

	if (c->server)
		return c->server;
	snprintf(th, sizeof(th), "%d", c->threads);
	/* a safety bound in case the runner dies without stopping it */
	snprintf(maxs, sizeof(maxs), "%.0f", c->duration + 120);
	argv[n++] = (char *)c->ref_server;
	argv[n++] = "--mode";
	argv[n++] = (char *)c->mode;
	argv[n++] = "--threads";
	argv[n++] = th;
	/* per-thread listeners in every variant, so baseline and unshare differ
	 * only by the private fd table */
	argv[n++] = "--reuseport";
	argv[n++] = "--ready-file";
	argv[n++] = (char *)p->ready;
	argv[n++] = "--stats";
	argv[n++] = (char *)p->server_stats;
	argv[n++] = "--max-seconds";
	argv[n++] = maxs;
	if (v->flags & V_UNSHARE)
		argv[n++] = "--unshare";
	argv[n] = NULL;
	return argv;
}

/* Add the load and the server's side to the run's epbatch/1 JSON. */
static json_t *annotate_trace(const struct run_paths *p, const struct load_result *lr,
			      double cpu_s, json_t *shim, char *why, size_t wl)
{
	json_error_t je;
	json_t *doc = json_load_file(p->trace, 0, &je), *load;

	if (!json_is_object(doc)) {
		snprintf(why, wl, "no trace JSON (%s)", je.text);
		json_decref(doc);
		return NULL;
	}
	load = json_pack("{s:s,s:f,s:f,s:f,s:f}", "kind", lr->kind, "requests", lr->requests,
			 "errors", lr->errors, "rps", lr->rps, "duration_s", lr->duration_s);
	if (lr->has_latency) {
		json_object_set_new(load, "p50_ms", json_real(lr->p50_ms));
		json_object_set_new(load, "p99_ms", json_real(lr->p99_ms));
	}
	if (lr->has_cpu)
		json_object_set_new(load, "cpu_s", json_real(lr->cpu_user_s + lr->cpu_sys_s));
	json_object_set_new(doc, "load", load);
	whatif_json_requests(doc, lr->requests);
	json_object_set_new(doc, "server", json_pack("{s:f,s:o?}", "cpu_s", cpu_s, "epbatch_stats",
						    json_incref(shim)));
	if (json_write_file(doc, p->trace)) {
		snprintf(why, wl, "cannot rewrite %.300s", p->trace);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/*
 * Batch size: ops flushed / batches from the shim's EPBATCH_STATS line; when
 * that line is missing, from the trace's exact kmod submissions; else absent,
 * with the reason.
 */
static void batch_size(struct run_rec *rec, bool shim_loaded, json_t *shim, json_t *totals)
{
	double submits = jnum(totals, "batch_submits");

	if (jnum(shim, "batches") > 0) {
		rec->m[SM_BATCH_SIZE] = jnum(shim, "flushed") / jnum(shim, "batches");
		rec->has[SM_BATCH_SIZE] = true;
	} else if (jnum(totals, "kmod_submits") > 0) {
		rec->m[SM_BATCH_SIZE] = jnum(totals, "kmod_ops") / jnum(totals, "kmod_submits");
		rec->has[SM_BATCH_SIZE] = true;
	} else if (!shim_loaded)
		snprintf(rec->why[SM_BATCH_SIZE], sizeof(rec->why[0]), "the shim is not loaded");
	else if (shim)
		snprintf(rec->why[SM_BATCH_SIZE], sizeof(rec->why[0]),
			 "the shim flushed no batch (it passed every call through)");
	else
		snprintf(rec->why[SM_BATCH_SIZE], sizeof(rec->why[0]),
			 "no EPBATCH_STATS line in the server's log (did the server exit normally?); "
			 "the trace counted %.0f batch submissions", submits);
}

/*
 * What the run's what_if predicts per request: the CPU saved, and the
 * epoll_ctl calls that would no longer be syscalls of their own (what_if's
 * ctl_batched: in the blocks of waits the shim's policy would batch, those
 * of the iterations that reach its batch size, which join the fused
 * submission, and those folded away; in the threads that wait; their waits
 * stay one syscall each, now the submission; a DEL that goes with its
 * close is a submission of its own).
 */
static void whatif_rec(struct run_rec *rec, json_t *doc, double requests)
{
	json_t *wi = json_object_get(doc, "what_if"), *th;
	double iters = jnum(json_object_get(doc, "totals"), "loop_iterations"), ctl;
	size_t i;

	for (int k = 0; k < WI_N; k++) {
		json_t *x = json_object_get(wi, wi_names[k]), *v = json_object_get(x, "cpu_ns_saved_per_req");

		rec->wi[WI_NS_SAVED][k] = json_is_number(v) ? json_number_value(v) : NAN;
		rec->wi[WI_CTL_REQ][k] = rec->wi[WI_CTL_ITER][k] = k == WI_UNSHARE ? 0 : NAN;
		if (json_is_string(json_object_get(wi, "skipped")))
			snprintf(rec->wi_why[k], sizeof(rec->wi_why[k]), "%s",
				 json_string_value(json_object_get(wi, "skipped")));
		else if (!json_is_object(x))
			snprintf(rec->wi_why[k], sizeof(rec->wi_why[k]), "the trace has no what_if");
		else if (!json_is_number(v))
			snprintf(rec->wi_why[k], sizeof(rec->wi_why[k]), "what_if %s has no figure: %s",
				 wi_names[k], json_string_value(json_object_get(x, "assumptions")) ?: "");
		if (k == WI_UNSHARE || !json_is_object(x) || requests <= 0)
			continue;
		ctl = 0;
		json_array_foreach(json_object_get(doc, "threads"), i, th) {
			json_t *tx = json_object_get(json_object_get(th, "what_if"), wi_names[k]);

			if (jnum(th, "epoll_wait") > 0)
				ctl += jnum(tx, "ctl_batched");
		}
		rec->wi[WI_CTL_REQ][k] = ctl / requests;
		if (iters > 0)
			rec->wi[WI_CTL_ITER][k] = ctl / iters;
	}
}

static int run_one(const struct run_cfg *c, size_t vi, int rep, struct run_rec *rec, size_t done,
		   size_t total, double avg, char *why, size_t wl)
{
	const struct variant_def *v = c->v[vi];
	const char *set[8], *unset[4];
	struct spawn_io io = { .err = NULL, .set = set, .unset = unset };
	struct run_paths p = { 0 };
	struct load_result lr;
	pid_t srv, tr = -1;
	int port = 0, ret = -1, st;
	double t0 = now_s(), cpu0, cpu1;
	json_t *doc = NULL, *shim = NULL, *totals;

	memset(rec, 0, sizeof(*rec));
	rec->var = vi;
	rec->rep = rep;
	run_paths(c, v->name, rep, &p, rec->file, sizeof(rec->file));
	unlink(p.ready);
	progress(c, done, total, v->name, rep, t0, avg, AT_START);
	variant_env(c, v, set, unset);
	io.out = io.err = p.server_log;
	srv = spawn(server_argv(c, v, &p), &io);
	if (srv < 0) {
		snprintf(why, wl, "cannot fork the server: %s", strerror(errno));
		return -1;
	}
	if (wait_ready(c, srv, p.ready, &port, why, wl))
		goto out;
	tr = start_tracer(srv, v->name, p.trace, p.trace_log, c->stacks, why, wl);
	if (tr < 0)
		goto out;
	/* the whole process tree: nginx's and haproxy's workers do the work */
	cpu0 = proc_tree_cpu_s(srv);
	if (run_load(c, port, &p, &lr, v->name, done, total, rep, t0, avg, why, wl))
		goto out;
	cpu1 = proc_tree_cpu_s(srv);
	/* The tracer first (it writes the JSON on SIGTERM), then the server. */
	st = stop_child(tr, SIGTERM, false, 15);
	if (st) {
		char last[256];

		tr = -1;
		last_line(p.trace_log, last, sizeof(last));
		snprintf(why, wl, "the tracer %s %d: %s (see %.300s)",
			 WIFSIGNALED(st) ? "died of signal" : "exited with status",
			 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), last[0] ? last : "no message",
			 p.trace_log);
		goto out;
	}
	tr = -1;
	stop_child(srv, SIGTERM, false, 10);
	srv = -1;
	shim = shim_stats(p.server_log, rec->backend, sizeof(rec->backend));
	doc = annotate_trace(&p, &lr, cpu1 - cpu0, shim, why, wl);
	if (!doc)
		goto out;
	totals = json_object_get(doc, "totals");
	rec->m[SM_RPS] = lr.rps;
	rec->has[SM_RPS] = true;
	rec->m[SM_P99_MS] = lr.p99_ms;
	rec->has[SM_P99_MS] = lr.has_latency;
	if (!lr.has_latency)
		snprintf(rec->why[SM_P99_MS], sizeof(rec->why[0]),
			 "the load generator's output (%s) has no latency percentiles", lr.kind);
	rec->m[SM_EPOLL_PER_REQ] = epoll_syscalls(totals) / lr.requests;
	rec->has[SM_EPOLL_PER_REQ] = true;
	per_iteration(rec, totals);
	rec->m[SM_SPIN_NS_PER_REQ] = jnum(json_object_get(totals, "spin"), "ns") / lr.requests;
	rec->has[SM_SPIN_NS_PER_REQ] =
		strcmp(json_string_value(json_object_get(doc, "spin_method")) ?: "none", "none") != 0;
	if (!rec->has[SM_SPIN_NS_PER_REQ])
		snprintf(rec->why[SM_SPIN_NS_PER_REQ], sizeof(rec->why[0]),
			 "no spin-lock method could run (%s)",
			 json_string_value(json_array_get(json_object_get(doc, "spin_method_notes"), 0)) ?:
			 "no reason recorded");
	snprintf(rec->spin_method, sizeof(rec->spin_method), "%s",
		 json_string_value(json_object_get(doc, "spin_method")) ?: "none");
	rec->sample_hz = jnum(doc, "sample_hz");
	rec->slow_samples = jnum(json_object_get(totals, "spin"), "slowpath_samples");
	rec->spin_count = jnum(json_object_get(totals, "spin"), "count");
	rec->m[SM_CPU_US_PER_REQ] = (cpu1 - cpu0) * 1e6 / lr.requests;
	rec->has[SM_CPU_US_PER_REQ] = !isnan(cpu1 - cpu0);
	if (!rec->has[SM_CPU_US_PER_REQ])
		snprintf(rec->why[SM_CPU_US_PER_REQ], sizeof(rec->why[0]),
			 "the server's CPU time could not be read from /proc (it exited during the load?)");
	batch_size(rec, v->flags & V_PRELOAD || (c->server && v->flags & V_UNSHARE), shim, totals);
	whatif_rec(rec, doc, lr.requests);
	rec->threads = json_pack("{s:s,s:f,s:o}", "run", rec->file, "requests", lr.requests,
				 "list", thread_list(doc));
	rec->stacks = json_incref(json_object_get(doc, "stacks"));
	ret = 0;
out:
	if (tr > 0)
		stop_child(tr, SIGTERM, false, 15);
	if (srv > 0)
		stop_child(srv, SIGTERM, false, 10);
	unlink(p.ready);
	json_decref(doc);
	json_decref(shim);
	progress(c, done, total, v->name, rep, t0, avg, AT_END);
	if (!ret && !isatty(2))
		fprintf(stderr, "    %.0f rps, %.3f epoll syscalls/req, %.3f per loop iteration\n",
			rec->m[SM_RPS], rec->m[SM_EPOLL_PER_REQ], rec->m[SM_EPOLL_PER_ITER]);
	return ret;
}

/* ---- summary and reports ---- */

static json_t *machine_json(void)
{
	struct utsname un;
	char *cpu = read_text("/proc/cpuinfo", 1 << 16), *m, model[256] = "unknown";

	if (cpu && (m = strstr(cpu, "model name")) && (m = strchr(m, ':'))) {
		m += 1 + strspn(m + 1, " \t");
		snprintf(model, sizeof(model), "%.*s", (int)strcspn(m, "\n"), m);
	}
	free(cpu);
	uname(&un);
	return json_pack("{s:i,s:s,s:s,s:s}", "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "kernel", un.release, "arch", un.machine, "model", model);
}

static char *join_argv(char *const *argv)
{
	size_t n = 1;
	char *s;

	for (char *const *a = argv; *a; a++)
		n += strlen(*a) + 1;
	s = calloc(1, n);
	for (char *const *a = argv; s && *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

static json_t *workload_json(const struct run_cfg *c)
{
	char *srv = c->server ? join_argv(c->server) : NULL;
	json_t *w = json_pack("{s:s,s:s,s:f,s:i,s:s}",
			      "server", srv ? srv : "epbatch-bench-server",
			      "mode", c->server ? "custom" : c->mode, "duration_s", c->duration,
			      "repeat", c->repeat, "order", "interleaved");

	free(srv);
	if (!c->server) {
		json_object_set_new(w, "server_threads", json_integer(c->threads));
		json_object_set_new(w, "reuseport", json_true());
	}
	if (c->load_cmd)
		json_object_set_new(w, "load", json_string(c->load_cmd));
	else
		json_object_set_new(w, "load", json_pack("{s:s,s:i,s:i,s:s}", "generator", "epbatch-load",
							 "connections", c->connections, "threads",
							 c->load_threads, "mode",
							 strcmp(c->mode, "oneshot") && strcmp(c->mode, "flip") ? "close" : "keepalive"));
	return w;
}

/* The break-evens the shim variants decided with (pin_min_batch), or NULL:
 * each shim measured its own.  Not part of the workload (which gate and
 * compare match between summaries): how the shim was told to decide. */
static json_t *shim_min_batch_json(const struct run_cfg *c)
{
	const char *u = c->min_batch_env[CM_URING], *k = c->min_batch_env[CM_KMOD];

	if (c->user_min_batch)
		return json_pack("{s:s,s:s}", "source", "environment", "value", c->user_min_batch);
	if (!*u && !*k)
		return NULL;
	return json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "source", "calibrate",
			 "uring", *u ? u + strlen(MIN_BATCH_KEY) : NULL,
			 "kmod", *k ? k + strlen(MIN_BATCH_KEY) : NULL,
			 "uring_poll_form", c->poll_form_env[CM_URING][0] ?
				 c->poll_form_env[CM_URING] + strlen(POLL_FORM_KEY) : NULL,
			 "kmod_poll_form", c->poll_form_env[CM_KMOD][0] ?
				 c->poll_form_env[CM_KMOD] + strlen(POLL_FORM_KEY) : NULL);
}

/* The run whose rps is nearest the median: its threads stand for the variant. */
static const struct run_rec *median_run(const struct run_rec *const *r, size_t n, double med)
{
	const struct run_rec *best = n ? r[0] : NULL;

	for (size_t i = 1; i < n; i++)
		if (fabs(r[i]->m[SM_RPS] - med) < fabs(best->m[SM_RPS] - med))
			best = r[i];
	return best;
}

/* The median of the baseline runs' figure (NAN ones left out): metric, or,
 * metric < 0, what_if figure fig of kind; NAN: none has it. */
static double base_median(const struct run_rec *recs, size_t nrec, size_t bvi, int kind, int metric,
			  enum wi_fig fig, double *x)
{
	size_t n = 0;

	for (size_t i = 0; i < nrec; i++) {
		double f;

		if (recs[i].var != bvi)
			continue;
		if (metric >= 0)
			f = recs[i].has[metric] ? recs[i].m[metric] : NAN;
		else
			f = recs[i].wi[fig][kind];
		if (!isnan(f))
			x[n++] = f;
	}
	return n ? stats_median(x, n) : NAN;
}

static json_t *pred_metric(double base, double change, const char *from, const char *why)
{
	if (why || isnan(base) || isnan(change))
		return json_pack("{s:n,s:n,s:s,s:s}", "change", "value", "from", from, "why",
				 why ? why : isnan(base) ? "the baseline did not measure this metric"
					   : "no prediction");
	return json_pack("{s:f,s:f,s:f,s:s}", "change", change, "value", base + change,
			 "baseline", base, "from", from);
}

/* --stacks: every run's stacks of a variant, added up (the flame graph's input). */
static json_t *merged_stacks(const struct run_rec *const *mine, size_t n)
{
	struct stack_set set = {};
	json_t *o;

	for (size_t i = 0; i < n; i++)
		if (mine[i]->stacks && stackset_from_json(&set, mine[i]->stacks))
			stackset_note(&set, "%s: its stacks could not be read", mine[i]->file);
	stackset_sort(&set);
	o = stackset_json(&set);
	stackset_free(&set);
	return o;
}

/*
 * What the baseline's what_if predicted for variant vi (docs/cost-model.md,
 * "run: predicted against measured"): the CPU per request it saves, and the
 * epoll syscalls per request and per loop iteration it removes (a fused
 * wait stays one syscall: only the calls it carries go).  NULL for the
 * baseline itself.
 */
static json_t *predicted_json(const struct run_cfg *c, size_t vi, const struct run_rec *recs,
			      size_t nrec, const char *backend, double *x)
{
	const struct variant_def *v = c->v[vi];
	int kinds[2], nk = 0;
	size_t bvi = SIZE_MAX, nb = 0, o;
	double cpu = 0, sys = 0, sys_iter = 0;
	char from[160], cpu_why[256] = "", *why = NULL;

	if (v->flags & V_PRELOAD)
		kinds[nk++] = v->flags & V_KMOD || (backend && !strcmp(backend, "kmod")) ? WI_KMOD : WI_URING;
	if (v->flags & V_UNSHARE)
		kinds[nk++] = WI_UNSHARE;
	if (!nk)
		return NULL;
	o = (size_t)snprintf(from, sizeof(from), "baseline what_if");
	for (int i = 0; i < nk; i++)
		o += (size_t)snprintf(from + o, sizeof(from) - o, "%s%s", i ? " + " : " ", wi_names[kinds[i]]);
	for (size_t i = 0; i < c->nv; i++)
		if (!strcmp(c->v[i]->name, "baseline"))
			bvi = i;
	for (size_t i = 0; bvi != SIZE_MAX && i < nrec; i++)
		nb += recs[i].var == bvi;
	if (bvi == SIZE_MAX)
		why = "no baseline variant in this run (the prediction comes from its trace)";
	else if (!nb)
		why = "no baseline run finished (the prediction comes from its trace)";
	for (int i = 0; !why && i < nk; i++) {
		double saved = base_median(recs, nrec, bvi, kinds[i], -1, WI_NS_SAVED, x);

		if (isnan(saved) && !cpu_why[0]) {
			for (size_t r = 0; r < nrec; r++)
				if (recs[r].var == bvi) {
					snprintf(cpu_why, sizeof(cpu_why), "%s", recs[r].wi_why[kinds[i]]);
					break;
				}
			if (!cpu_why[0])
				snprintf(cpu_why, sizeof(cpu_why), "what_if %s has no figure", wi_names[kinds[i]]);
		}
		cpu -= saved / 1e3;
		sys -= base_median(recs, nrec, bvi, kinds[i], -1, WI_CTL_REQ, x);
		sys_iter -= base_median(recs, nrec, bvi, kinds[i], -1, WI_CTL_ITER, x);
	}
	return json_pack("{s:o,s:o,s:o}",
		summary_metrics[SM_CPU_US_PER_REQ].key,
		pred_metric(why ? NAN : base_median(recs, nrec, bvi, 0, SM_CPU_US_PER_REQ, 0, x), cpu,
			    from, why ? why : cpu_why[0] ? cpu_why : NULL),
		summary_metrics[SM_EPOLL_PER_REQ].key,
		pred_metric(why ? NAN : base_median(recs, nrec, bvi, 0, SM_EPOLL_PER_REQ, 0, x), sys,
			    from, why ? why : isnan(sys) && cpu_why[0] ? cpu_why : NULL),
		summary_metrics[SM_EPOLL_PER_ITER].key,
		pred_metric(why ? NAN : base_median(recs, nrec, bvi, 0, SM_EPOLL_PER_ITER, 0, x), sys_iter,
			    from, why ? why : isnan(sys_iter) && cpu_why[0] ? cpu_why : NULL));
}

static json_t *build_summary(const struct run_cfg *c, const struct run_rec *recs, size_t nrec,
			     json_t *failures, const char *started)
{
	json_t *doc = json_object(), *vars = json_object(), *skipped = json_object();
	const struct run_rec **mine = calloc(nrec + 1, sizeof(*mine));
	double *x = calloc(nrec + 1, sizeof(*x));

	if (!mine || !x) {
		free(mine);
		free(x);
		json_decref(doc);
		json_decref(vars);
		json_decref(skipped);
		return NULL;
	}
	for (size_t vi = 0; vi < c->nv; vi++) {
		const char *name = c->v[vi]->name;
		json_t *vo, *files = json_array();
		size_t n = 0;

		if (c->skip[vi]) {
			json_object_set_new(skipped, name, json_string(c->skip[vi]));
			json_decref(files);
			continue;
		}
		for (size_t i = 0; i < nrec; i++)
			if (recs[i].var == vi) {
				mine[n++] = &recs[i];
				json_array_append_new(files, json_string(recs[i].file));
			}
		if (!n) {
			json_t *f;
			size_t i;
			const char *why = NULL;

			json_array_foreach(failures, i, f)
				if (!strcmp(json_string_value(json_object_get(f, "variant")) ?: "", name)) {
					why = json_string_value(json_object_get(f, "reason"));
					break;
				}
			char reason[512];

			snprintf(reason, sizeof(reason), "%s%s", why ? "every run failed: " : "",
				 why ? why : "interrupted before it ran");
			json_object_set_new(skipped, name, json_string(reason));
			json_decref(files);
			continue;
		}
		vo = json_object();
		json_t *missing = json_object();

		json_object_set_new(vo, "runs", json_integer((json_int_t)n));
		for (int m = 0; m < SM_COUNT; m++) {
			const char *why = NULL;
			size_t k = 0;
			json_t *s;

			for (size_t i = 0; i < n; i++)
				if (mine[i]->has[m])
					x[k++] = mine[i]->m[m];
				else if (!why)
					why = mine[i]->why[m][0] ? mine[i]->why[m] : "no reason recorded";
			s = summary_series_json(x, k);
			if (s)
				json_object_set_new(vo, summary_metrics[m].key, s);
			/* a metric not measured says why, in every output (never a 0) */
			if (why && !k)
				json_object_set_new(missing, summary_metrics[m].key, json_string(why));
			else if (why)
				json_object_set_new(missing, summary_metrics[m].key,
						    json_sprintf("measured in %zu of %zu runs: %s", k, n, why));
		}
		json_object_set_new(vo, "missing", missing);
		double samples = 0, entries = 0;

		for (size_t i = 0; i < n; i++) {
			samples += mine[i]->slow_samples;
			entries += mine[i]->spin_count;
		}
		json_object_set_new(vo, "spin", json_pack("{s:s,s:f,s:f,s:f}",
			"method", mine[0]->spin_method, "sample_hz", mine[0]->sample_hz,
			"slowpath_samples", samples, "count", entries));
		for (size_t i = 0; i < n; i++)
			x[i] = mine[i]->m[SM_RPS];
		if (mine[0]->backend[0])
			json_object_set_new(vo, "backend", json_string(mine[0]->backend));
		json_object_set(vo, "threads", median_run(mine, n, stats_median(x, n))->threads);
		if (c->stacks)
			json_object_set_new(vo, "stacks", merged_stacks(mine, n));
		json_object_set_new(vo, "run_files", files);
		json_t *pred = predicted_json(c, vi, recs, nrec, mine[0]->backend, x);

		if (pred)
			json_object_set_new(vo, "predicted", pred);
		json_object_set_new(vars, name, vo);
	}
	free(mine);
	free(x);
	json_object_set_new(doc, "schema", json_string(SUMMARY_SCHEMA));
	json_set_version(doc);
	json_object_set_new(doc, "started", json_string(started));
	json_object_set_new(doc, "machine", machine_json());
	json_object_set_new(doc, "workload", workload_json(c));
	{
		json_t *mb = shim_min_batch_json(c);

		if (mb)
			json_object_set_new(doc, "shim_min_batch", mb);
	}
	json_object_set_new(doc, "variants", vars);
	json_object_set_new(doc, "skipped", skipped);
	json_object_set(doc, "failures", failures);
	json_object_set_new(doc, "interrupted", json_boolean(interrupted));
	return doc;
}

/* summary.json, report.md, report.html; the table on stdout. */
static int write_reports(const struct run_cfg *c, json_t *doc)
{
	char path[PATH_MAX], err[512], *tmp;
	struct summary *s = calloc(1, sizeof(*s));
	struct cmp_view view;
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/summary.json", c->out);
	if (!s || json_write_file(doc, path)) {
		free(s);
		return -1;
	}
	if (summary_from_json(doc, path, NULL, s, err, sizeof(err)) ||
	    cmp_view_build(&view, s, 1, NULL, err, sizeof(err))) {
		fprintf(stderr, PROG " run: %s\n", err);
		free(s);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/report.md", c->out);
	f = atomic_open(path, &tmp);
	if (f) {
		fputs("# epbatch run\n\n", f);
		cmp_print_summary(f, &view, true);
		if (json_is_true(json_object_get(doc, "interrupted")))
			fputs("**Interrupted**: only the runs that finished are counted.\n\n", f);
		cmp_print(f, &view, true);
		fputs("## Per thread\n\nFrom each variant's run with the median throughput.\n\n", f);
		cmp_print_threads(f, &view, true);
		ret |= atomic_close(f, tmp, path);
	} else {
		ret = -1;
	}
	snprintf(path, sizeof(path), "%s/report.html", c->out);
	ret |= html_write(path, &view);
	putchar('\n');
	cmp_print_summary(stdout, &view, false);
	cmp_print(stdout, &view, false);
	printf("report: %s\n", path);
	cmp_view_free(&view);
	free(s);
	return ret;
}

/* ---- options ---- */

static void run_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " run [--variants LIST] [--repeat N] [--duration S] [--mode oneshot|flip|conn|churn]\n"
"                  [--threads N] [--connections N] [--load-threads N] [-o DIR]\n"
"                  [--load 'CLIENT CMD'] [--load-format KIND] [--port P] [-- SERVER CMD ...]\n"
"Runs a server once per variant and repeat, interleaved, traced and loaded, and\n"
"writes per-run JSON, summary.json, report.md and report.html to DIR.\n"
"  --variants LIST   comma-separated, of: baseline, preload, kmod, unshare,\n"
"                    preload+unshare (default: all; what cannot run here is\n"
"                    reported as skipped, with the reason)\n"
"  --repeat N        runs per variant (default 5)\n"
"  --duration S      load seconds per run (default 5)\n"
"  --mode M          the reference server's mode: oneshot, flip, conn, churn\n"
"                    (default oneshot)\n"
"  --threads N       the reference server's worker threads (default: CPUs)\n"
"  --connections N   epbatch-load connections (default 32)\n"
"  --load-threads N  epbatch-load threads (default 1)\n"
"  -o DIR            output directory (default ./epbatch-results/YYYYmmdd-HHMMSS)\n"
"  --load CMD        load command run with /bin/sh; {port} and $EPBATCH_PORT are the\n"
"                    server's port; its stdout is parsed (--load-format, default auto)\n"
"  --port P          where SERVER CMD listens (required with a server command)\n"
"  --stacks          also walk the epoll_ctl callers' stacks (one call in 256):\n"
"                    report.html draws a flame graph of them per variant (the\n"
"                    walks cost throughput: see docs/overhead.md)\n"
"  --version         print the version\n");
}

static int parse_variants(struct run_cfg *c, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	c->nv = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const struct variant_def *d = NULL;

		for (size_t i = 0; i < NR_VARIANT_DEFS; i++)
			if (!strcmp(variant_defs[i].name, t))
				d = &variant_defs[i];
		for (size_t i = 0; d && i < c->nv; i++)
			if (c->v[i] == d) {
				fprintf(stderr, PROG " run: variant '%s' given twice\n", t);
				free(copy);
				return -1;
			}
		if (!d) {
			fprintf(stderr, PROG " run: unknown variant '%s' (known: baseline, preload, kmod, "
				"unshare, preload+unshare)\n", t);
			free(copy);
			return -1;
		}
		c->v[c->nv++] = d;
	}
	free(copy);
	if (!c->nv) {
		fprintf(stderr, PROG " run: --variants is empty\n");
		return -1;
	}
	return 0;
}

static int parse_run_args(int argc, char **argv, struct run_cfg *c)
{
	enum { O_VARIANTS = 256, O_REPEAT, O_DURATION, O_MODE, O_THREADS, O_CONNS, O_LTHREADS,
	       O_LOAD, O_FORMAT, O_PORT, O_HELP, O_VERSION, O_STACKS };
	static const struct option lo[] = {
		{ "variants", required_argument, NULL, O_VARIANTS },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "mode", required_argument, NULL, O_MODE },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "connections", required_argument, NULL, O_CONNS },
		{ "load-threads", required_argument, NULL, O_LTHREADS },
		{ "load", required_argument, NULL, O_LOAD },
		{ "load-format", required_argument, NULL, O_FORMAT },
		{ "port", required_argument, NULL, O_PORT },
		{ "stacks", no_argument, NULL, O_STACKS },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double x;
	int ch;

	c->repeat = 5;
	c->duration = 5;
	c->mode = "oneshot";
	c->threads = cpus > 0 ? (int)cpus : 1;
	c->connections = 32;
	c->load_threads = 1;
	c->load_kind = "auto";
	if (parse_variants(c, "baseline,preload,kmod,unshare,preload+unshare"))
		return -1;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+:o:h", lo, NULL)) != -1) {
		switch (ch) {
		case O_VARIANTS:
			if (parse_variants(c, optarg))
				return -1;
			break;
		case O_REPEAT:
			if (parse_number("--repeat", optarg, 1, 1000, &x))
				return -1;
			c->repeat = (int)x;
			break;
		case O_DURATION:
			if (parse_number("--duration", optarg, 0.1, 600, &x))
				return -1;
			c->duration = x;
			break;
		case O_MODE:
			if (strcmp(optarg, "oneshot") && strcmp(optarg, "flip") && strcmp(optarg, "conn") &&
			    strcmp(optarg, "churn")) {
				fprintf(stderr, PROG " run: unknown --mode '%s' (oneshot, flip, conn or churn)\n",
					optarg);
				return -1;
			}
			c->mode = optarg;
			break;
		case O_THREADS:
			if (parse_number("--threads", optarg, 1, 256, &x))
				return -1;
			c->threads = (int)x;
			break;
		case O_CONNS:
			if (parse_number("--connections", optarg, 1, 100000, &x))
				return -1;
			c->connections = (int)x;
			break;
		case O_LTHREADS:
			if (parse_number("--load-threads", optarg, 1, 256, &x))
				return -1;
			c->load_threads = (int)x;
			break;
		case O_LOAD: c->load_cmd = optarg; break;
		case O_FORMAT: c->load_kind = optarg; break;
		case O_PORT:
			if (parse_number("--port", optarg, 1, 65535, &x))
				return -1;
			c->port = (int)x;
			break;
		case 'o': c->out = optarg; break;
		case O_STACKS: c->stacks = true; break;
		case 'h':
		case O_HELP:
			run_usage(stdout);
			exit(0);
		case O_VERSION:
			printf(PROG " %s\n", EPBATCH_VERSION);
			exit(0);
		default:
			cli_bad_option("run", ch, argv, optind, optopt);
			return -1;
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--")) {
			fprintf(stderr, PROG " run: unexpected argument '%s' (a server command follows --)\n",
				argv[optind]);
			return -1;
		}
		c->server = argv + optind;
		if (!c->port) {
			fprintf(stderr, PROG " run: a server command needs --port (where it listens)\n");
			return -1;
		}
	}
	if (c->load_threads > c->connections) {
		fprintf(stderr, PROG " run: --load-threads %d is more than --connections %d\n",
			c->load_threads, c->connections);
		return -1;
	}
	return 0;
}

/* Find our own programs next to /proc/self/exe and decide what cannot run. */
#ifndef EPBATCH_BINDIR
#define EPBATCH_BINDIR "/usr/local/sbin"
#define EPBATCH_LIBDIR "/usr/local/lib"
#define EPBATCH_LIBEXECDIR "/usr/local/libexec/epbatch"
#endif

/*
 * Installed (make install): epbatch-trace in BINDIR, the reference programs
 * in LIBEXECDIR, the shim in LIBDIR.  The root is what precedes BINDIR in
 * our own path, so a DESTDIR tree finds its own copies.
 */
static void install_paths(struct run_cfg *c, const char *self)
{
	size_t ls = strlen(self), lb = strlen(EPBATCH_BINDIR);
	char root[PATH_MAX / 2];

	if (ls < lb || ls - lb >= sizeof(root) || !access(c->ref_server, X_OK) || strcmp(self + ls - lb, EPBATCH_BINDIR))
		return;		/* the build tree, or not where we were installed */
	snprintf(root, sizeof(root), "%.*s", (int)(ls - lb), self);
	snprintf(c->ref_server, sizeof(c->ref_server), "%s%s/epbatch-bench-server", root,
		 EPBATCH_LIBEXECDIR);
	snprintf(c->ref_load, sizeof(c->ref_load), "%s%s/epbatch-load", root, EPBATCH_LIBEXECDIR);
	snprintf(c->shim, sizeof(c->shim), "%s%s/libepbatch.so", root, EPBATCH_LIBDIR);
}

static int resolve(struct run_cfg *c)
{
	char self[PATH_MAX];
	int fd;

	if (self_exe_dir(self, sizeof(self))) {
		fprintf(stderr, PROG " run: cannot read /proc/self/exe: %s\n", strerror(errno));
		return -1;
	}
	snprintf(c->bindir, sizeof(c->bindir), "%s", self);
	snprintf(c->shim, sizeof(c->shim), "%s/libepbatch.so", self);
	snprintf(c->ref_server, sizeof(c->ref_server), "%s/epbatch-bench-server", self);
	snprintf(c->ref_load, sizeof(c->ref_load), "%s/epbatch-load", self);
	install_paths(c, self);
	if (!c->server && access(c->ref_server, X_OK)) {
		fprintf(stderr, PROG " run: no reference server %s (run make)\n", c->ref_server);
		return -1;
	}
	if (!c->load_cmd && access(c->ref_load, X_OK)) {
		fprintf(stderr, PROG " run: no load generator %s (run make, or give --load)\n", c->ref_load);
		return -1;
	}
	for (size_t i = 0; i < c->nv; i++) {
		unsigned fl = c->v[i]->flags;

		if ((fl & V_PRELOAD || (c->server && fl & V_UNSHARE)) && access(c->shim, R_OK))
			c->skip[i] = "no libepbatch.so next to epbatch-trace or in LIBDIR";
		else if (fl & V_KMOD) {
			fd = open("/dev/epoll_batch", O_RDWR | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
			else if (errno == ENOENT)
				c->skip[i] = "no /dev/epoll_batch: the module is not loaded";
			else
				c->skip[i] = "cannot open /dev/epoll_batch";
		}
	}
	return 0;
}

static int mkdirs(const char *path)
{
	char *buf = strdup(path);
	int ret = 0;

	if (!buf)
		return -1;
	for (char *p = buf + 1; *p && !ret; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0755) && errno != EEXIST)
				ret = -1;
			*p = '/';
		}
	if (!ret && mkdir(buf, 0755) && errno != EEXIST)
		ret = -1;
	free(buf);
	return ret;
}

int run_main(int argc, char **argv)
{
	static char outbuf[PATH_MAX];
	struct run_cfg c = { 0 };
	struct sigaction sa = { .sa_handler = on_interrupt };
	struct run_rec *recs;
	json_t *failures, *doc;
	size_t nrec = 0, total = 0, done = 0, active = 0;
	char started[64], why[PATH_MAX + 512];
	double avg, t_all;
	time_t now = time(NULL);
	int ret = 0;

	if (parse_run_args(argc, argv, &c))
		return 2;
	if (resolve(&c))
		return 1;
	if (check_privileges())
		return 1;
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	if (!c.out) {
		char stamp[32];

		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now));
		snprintf(outbuf, sizeof(outbuf), "epbatch-results/%s", stamp);
		c.out = outbuf;
	}
	snprintf(why, sizeof(why), "%s/runs", c.out);
	if (mkdirs(why)) {
		fprintf(stderr, PROG " run: cannot create %s: %s\n", why, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < c.nv; i++) {
		if (c.skip[i])
			fprintf(stderr, "%s: skipped: %s\n", c.v[i]->name, c.skip[i]);
		else
			active++;
	}
	total = active * (size_t)c.repeat;
	{
		/* once, before any server runs: every run's trace reads the cache */
		struct calib cal;

		if (!calib_ensure(&cal, false))
			pin_min_batch(&c, &cal);
	}
	recs = calloc(total + 1, sizeof(*recs));
	failures = json_array();
	if (!recs || !failures)
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a first guess of a run's wall time: the load plus start and attach */
	avg = c.duration + 1.5;
	t_all = now_s();
	for (int rep = 1; rep <= c.repeat && !interrupted; rep++)
		for (size_t vi = 0; vi < c.nv && !interrupted; vi++) {
			if (c.skip[vi])
				continue;
			if (!run_one(&c, vi, rep, &recs[nrec], done, total, avg, why, sizeof(why)))
				nrec++;
			else if (!interrupted) {
				fprintf(stderr, PROG " run: %s run %d failed: %s\n", c.v[vi]->name, rep, why);
				json_array_append_new(failures, json_pack("{s:s,s:i,s:s}", "variant",
						      c.v[vi]->name, "repeat", rep, "reason", why));
			}
			done++;
			avg = (now_s() - t_all) / (double)done;
		}
	if (interrupted)
		fprintf(stderr, "\n" PROG " run: interrupted: %zu of %zu runs finished; writing what finished\n",
			nrec, total);
	doc = build_summary(&c, recs, nrec, failures, started);
	if (!doc || write_reports(&c, doc))
		ret = 1;
	else if (interrupted)
		ret = 130;
	else if (!nrec) {
		fprintf(stderr, PROG " run: no run succeeded (see summary.json \"skipped\")\n");
		ret = 1;
	}
	for (size_t i = 0; i < nrec; i++) {
		json_decref(recs[i].threads);
		json_decref(recs[i].stacks);
	}
	free(recs);
	json_decref(doc);
	json_decref(failures);
	return ret;
}
