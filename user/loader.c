// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading and attaching the BPF objects, and the spin-lock method ladder.
 *
 * The syscall accounting (epbatch.bpf.c) is one object; each spin-lock rung
 * is an object of its own that reuses the first one's maps.  A skeleton
 * fails as a whole when one of its programs fails, so keeping the rungs
 * apart is what lets `auto` fall from fentry to kprobe to sampling without
 * losing the counts.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "uapi/epoll_batch.h"
#include "loader.h"
#include "ksyms.h"
#include "epbatch.skel.h"
#include "spin_fentry.skel.h"
#include "spin_kprobe.skel.h"
#include "spin_sample.skel.h"
#include "usdt.skel.h"
#include "stacks.skel.h"

/* what the BPF side reads of a module submission (bpf/epbatch.h) is the uapi's */
#define SAME_FIELD(a, b, f) (offsetof(a, f) == offsetof(b, f) && \
			     sizeof(((a *)0)->f) == sizeof(((b *)0)->f))
_Static_assert(SAME_FIELD(struct epb_kmod_batch, struct epoll_batch, ops) &&
	       SAME_FIELD(struct epb_kmod_batch, struct epoll_batch, nr_ops) &&
	       SAME_FIELD(struct epb_kmod_batch, struct epoll_batch, flags) &&
	       sizeof(struct epb_kmod_batch) <= sizeof(struct epoll_batch), "struct epoll_batch's head");
_Static_assert(sizeof(struct epb_kmod_op) == sizeof(struct epoll_batch_op) &&
	       SAME_FIELD(struct epb_kmod_op, struct epoll_batch_op, op), "struct epoll_batch_op");
_Static_assert(EPOLL_BATCH_MAX_OPS <= EPB_KMOD_MAX_OPS, "EPOLL_BATCH_MAX_OPS");

/*
 * The queued-spinlock slow paths (NR_SLOW of them), then the functions that
 * take files->file_lock (kernels name them differently).
 */
#define NR_SLOW 2
static const char *const ksym_names[] = {
	"native_queued_spin_lock_slowpath",
	"__pv_queued_spin_lock_slowpath",
	"alloc_fd", "__get_unused_fd_flags", "get_unused_fd_flags", "put_unused_fd",
	"file_close_fd", "close_fd", "pick_file", "__close_range", "do_dup2",
	"ksys_dup3", "f_dupfd", "replace_fd", "expand_files", "dup_fd",
};
#define NR_KSYMS (sizeof(ksym_names) / sizeof(*ksym_names))

static void note(struct tracer *tr, const char *fmt, ...)
{
	va_list ap;

	if (tr->nr_notes >= MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(tr->notes[tr->nr_notes++], sizeof(tr->notes[0]), fmt, ap);
	va_end(ap);
}

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

int check_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (geteuid() == 0)
		return 0;
	/* CAP_BPF (39) and CAP_PERFMON (38) since 5.8; CAP_SYS_ADMIN covers both */
	if (!syscall(SYS_capget, &h, d) &&
	    (has_cap(d, CAP_SYS_ADMIN) || (has_cap(d, 39) && has_cap(d, 38))))
		return 0;
	fprintf(stderr, PROG ": needs root or CAP_BPF+CAP_PERFMON (try: sudo " PROG " ...)\n");
	return -1;
}

static int libbpf_quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l, (void)fmt, (void)ap;
	return 0;
}

static int libbpf_verbose(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l;
	return vfprintf(stderr, fmt, ap);
}

static long pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long v = 4194304;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 4194304;
		fclose(f);
	}
	return v;
}

static void fill_config(struct epb_config *c, const struct trace_opts *o, pid_t tgid)
{
	/* one process: cfg.tgid, the cheapest test; else the filters (common.bpf.h) */
	c->tgid = trace_filtered(o) ? 0 : (__u32)tgid;
	if (trace_filtered(o)) {
		c->filter = (o->nr_pids ? EPB_F_PIDS : 0) | (o->cgroup ? EPB_F_CGROUP : 0) |
			    (o->match_comm ? EPB_F_COMM : 0);
		c->cgroup_id = o->cgroup_id;
		c->cgroup_level = o->cgroup_level;
		/* NUL-padded, at most 15 characters (opts.c) */
		if (o->match_comm)
			memcpy(c->comm, o->match_comm, strnlen(o->match_comm, sizeof(c->comm) - 1));
	}
	/* tests only: a small per-thread array, to fill it (tests/trace/t-system.sh) */
	if (getenv("EPBATCH_TEST_SLOTS"))
		c->max_slots = (__u32)atoi(getenv("EPBATCH_TEST_SLOTS"));
	c->follow_children = o->children;
	c->kmod_cmd = EPOLL_BATCH_IOC_SUBMIT;
	c->kmod_wait_flag = EPOLL_BATCH_WAIT;
	c->time_syscalls = o->time_syscalls;
	c->stacks = o->stacks;
}

/*
 * The spin rungs' stack slots (bpf/stacks.bpf.h): the --stacks object's map,
 * or, without --stacks, a map of one slot the rung never touches.
 */
static int share_spin_stacks(struct bpf_object *rung, const struct tracer *tr)
{
	struct bpf_map *m = bpf_object__find_map_by_name(rung, "spin_stacks");

	if (!m || bpf_object__find_map_by_name(rung, "stack_traces"))
		return 0;	/* no spin stacks, or the --stacks object itself */
	if (!tr->stacks)
		return bpf_map__set_max_entries(m, 1);
	return bpf_map__reuse_fd(m, bpf_map__fd(tr->stacks->maps.spin_stacks)) ? -errno : 0;
}

/* Hand the rung the maps the main object created. */
static int share_maps(struct bpf_object *rung, const struct tracer *tr)
{
	static const char *names[] = { "threads", "tid_slot", "tgids" };
	struct bpf_object *main_obj = tr->main->obj;

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(rung, names[i]);
		struct bpf_map *src = bpf_object__find_map_by_name(main_obj, names[i]);

		if (!m || !src)
			return -ENOENT;
		if (bpf_map__reuse_fd(m, bpf_map__fd(src)))
			return -errno;
	}
	return share_spin_stacks(rung, tr);
}

/* Parent of PID (0 when gone). */
static pid_t parent_of(pid_t pid)
{
	struct proc_stat st;

	return proc_read_stat(pid, 0, &st) ? 0 : st.ppid;
}

/*
 * --children: the fork tracepoint catches processes forked from now on; the
 * ones that already exist (nginx's workers, started before the tracer) are
 * found by walking /proc, to any depth, and added to the same map.
 */
static void add_existing_children(struct tracer *tr, pid_t tgid)
{
	int fd = bpf_map__fd(tr->main->maps.tgids);
	bool added = true;
	__u8 one = 1;

	/* repeat until a pass adds nothing: grandchildren may sort before parents */
	while (added) {
		struct dirent *d;
		DIR *dir = opendir("/proc");

		added = false;
		while (dir && (d = readdir(dir))) {
			pid_t pid = (pid_t)atoi(d->d_name), pp;
			__u32 key = (__u32)pid, pkey;
			__u8 v;

			if (pid <= 0 || pid == tgid || !bpf_map_lookup_elem(fd, &key, &v))
				continue;
			pp = parent_of(pid);
			pkey = (__u32)pp;
			if (pp > 0 && (pp == tgid || !bpf_map_lookup_elem(fd, &pkey, &v)) &&
			    !bpf_map_update_elem(fd, &key, &one, BPF_ANY))
				added = true;
		}
		if (dir)
			closedir(dir);
	}
}

/* -p A,B: the processes the kernel traces (EPB_F_PIDS), before anything runs. */
static int add_pids(struct tracer *tr, const struct trace_opts *o)
{
	int fd = bpf_map__fd(tr->main->maps.tgids);
	__u8 one = 1;

	for (int i = 0; i < o->nr_pids; i++) {
		__u32 key = (__u32)o->pids[i];

		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY)) {
			fprintf(stderr, PROG ": cannot add PID %d to the filter: %s\n", (int)key,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Programs whose tracepoint an older kernel may lack: attach is best effort. */
static bool optional_prog(const char *name)
{
	return !strcmp(name, "epoll_pwait2_enter") || !strcmp(name, "epoll_pwait2_exit") ||
	       !strcmp(name, "close_range_e") || !strcmp(name, "on_rename");
}

/* Whether the kernel has tracepoint CAT/NAME: tracefs lists it (the syscall
 * tracepoints are attached through tracefs already; reading the kernel's
 * BTF for the event's type would cost more: try_fentry says why). */
static bool tracepoint_exists(const char *cat, const char *name)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[256];

	for (size_t i = 0; i < sizeof(roots) / sizeof(*roots); i++) {
		snprintf(path, sizeof(path), "%s/events/%s/%s", roots[i], cat, name);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

/*
 * io_uring's submit event, by the name this kernel gives it (io_uring_submit_req
 * from 6.3, io_uring_submit_sqe before): the one program of the two that
 * loads (a tp_btf program for an event the kernel lacks fails the whole
 * object's load).  Neither (no io_uring): the trace's io_uring_epoll_* stay
 * 0, and its notes say why.
 */
static void pick_uring_event(struct tracer *tr)
{
	bool req = tracepoint_exists("io_uring", "io_uring_submit_req");
	bool sqe = !req && tracepoint_exists("io_uring", "io_uring_submit_sqe");

	bpf_program__set_autoload(tr->main->progs.uring_req, req);
	bpf_program__set_autoload(tr->main->progs.uring_sqe, sqe);
	if (!req && !sqe)
		note(tr, "io_uring: no submit tracepoint: io_uring_epoll_ctl and io_uring_epoll_wait not counted");
}

static int load_main(struct tracer *tr, const struct trace_opts *o, pid_t tgid)
{
	struct bpf_program *prog;
	struct bpf_link *link;
	size_t len;
	void *p;
	int err;

	tr->main = epbatch_bpf__open();
	if (!tr->main) {
		fprintf(stderr, PROG ": cannot open the BPF object: %s\n", strerror(errno));
		return -1;
	}
	fill_config((struct epb_config *)&tr->main->rodata->cfg, o, tgid);
	bpf_map__set_max_entries(tr->main->maps.tid_slot, (__u32)pid_max());
	/* a wait's entry only matters for timing it: without -T, three
	 * programs fewer on every epoll wait */
	if (!o->cgroup)
		bpf_program__set_autoload(tr->main->progs.on_cgroup_attach, false);
	pick_uring_event(tr);
	if (!o->time_syscalls) {
		bpf_program__set_autoload(tr->main->progs.epoll_wait_enter, false);
		bpf_program__set_autoload(tr->main->progs.epoll_pwait_enter, false);
		bpf_program__set_autoload(tr->main->progs.epoll_pwait2_enter, false);
	}
	err = epbatch_bpf__load(tr->main);
	if (err) {
		fprintf(stderr, PROG ": cannot load the BPF programs: %s%s\n", strerror(-err),
			o->verbose ? "" : " (run with -v for the verifier log)");
		return -1;
	}
	bpf_object__for_each_program(prog, tr->main->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (tr->nr_main_links == (int)(sizeof(tr->main_links) / sizeof(*tr->main_links)))
			return -1;
		link = bpf_program__attach(prog);
		if (!link) {
			err = -errno;
			if (optional_prog(bpf_program__name(prog))) {
				note(tr, "%s: not attached (%s)", bpf_program__name(prog), strerror(-err));
				continue;
			}
			fprintf(stderr, PROG ": cannot attach %s: %s\n", bpf_program__name(prog),
				strerror(-err));
			return -1;
		}
		tr->main_links[tr->nr_main_links++] = link;
	}
	len = (size_t)bpf_map__value_size(tr->main->maps.threads) * EPB_MAX_THREADS;
	/* writable: user space zeroes the records of exited threads it recycles */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(tr->main->maps.threads), 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, PROG ": cannot map the per-thread array: %s\n", strerror(errno));
		return -1;
	}
	tr->threads = p;
	tr->threads_len = len;
	return 0;
}

static bool ksym_exists(const struct ksyms *ks, const char *name)
{
	uint64_t a, b;

	return ks && ksyms_range(ks, name, &a, &b);
}

/* The two exact rungs are the same object shape: four programs, the shared maps. */
struct exact_rung {
	const char *name;
	int (*load)(void *skel);
	int (*attach)(void *skel);
};

static int fentry_load(void *s) { return spin_fentry_bpf__load(s); }
static int fentry_attach(void *s) { return spin_fentry_bpf__attach(s); }
static int kprobe_load(void *s) { return spin_kprobe_bpf__load(s); }
static int kprobe_attach(void *s) { return spin_kprobe_bpf__attach(s); }

static int load_exact(struct tracer *tr, const struct exact_rung *r, void *skel,
		      struct bpf_object *obj, struct epb_config *cfg,
		      const struct trace_opts *o, pid_t tgid, bool native, bool pv)
{
	static const char *progs[] = { "native_enter", "native_exit", "pv_enter", "pv_exit" };
	int err;

	fill_config(cfg, o, tgid);
	for (int i = 0; i < 4; i++)
		bpf_program__set_autoload(bpf_object__find_program_by_name(obj, progs[i]),
					  i < 2 ? native : pv);
	err = share_maps(obj, tr);
	if (!err)
		err = r->load(skel);
	if (err) {
		note(tr, "%s: load: %s", r->name, strerror(-err));
		return -1;
	}
	err = r->attach(skel);
	if (err) {
		note(tr, "%s: attach: %s", r->name, strerror(-err));
		return -1;
	}
	return 0;
}

/*
 * Which slow paths exist is read from kallsyms, not from BTF: parsing the
 * kernel's BTF once more would cost a third of the attach time, and where
 * kallsyms hides addresses, fentry is tried on both (libbpf then reports
 * the one that is missing).
 */
static int try_fentry(struct tracer *tr, const struct trace_opts *o, pid_t tgid,
		      const struct ksyms *ks)
{
	static const struct exact_rung rung = { "fentry", fentry_load, fentry_attach };
	bool native = !ks || ksym_exists(ks, ksym_names[0]);
	bool pv = !ks || ksym_exists(ks, ksym_names[1]);
	struct spin_fentry_bpf *s;

	if (!native && !pv) {
		note(tr, "fentry: no queued-spinlock slow path in /proc/kallsyms");
		return -1;
	}
	s = spin_fentry_bpf__open();
	if (!s) {
		note(tr, "fentry: open: %s", strerror(errno));
		return -1;
	}
	if (load_exact(tr, &rung, s, s->obj, (struct epb_config *)&s->rodata->cfg, o, tgid, native, pv)) {
		spin_fentry_bpf__destroy(s);
		return -1;
	}
	tr->fentry = s;
	return 0;
}

static int try_kprobe(struct tracer *tr, const struct trace_opts *o, pid_t tgid,
		      const struct ksyms *ks)
{
	static const struct exact_rung rung = { "kprobe", kprobe_load, kprobe_attach };
	bool native = ksym_exists(ks, ksym_names[0]);
	bool pv = ksym_exists(ks, ksym_names[1]);
	struct spin_kprobe_bpf *s;

	if (!ks) {
		note(tr, "kprobe: /proc/kallsyms shows no addresses");
		return -1;
	}
	/* libbpf attaches kprobes through the kprobe PMU or kprobe_events */
	if (access("/sys/bus/event_source/devices/kprobe", F_OK) &&
	    access("/sys/kernel/tracing/kprobe_events", F_OK) &&
	    access("/sys/kernel/debug/tracing/kprobe_events", F_OK)) {
		note(tr, "kprobe: the kernel has no kprobes (CONFIG_KPROBES)");
		return -1;
	}
	if (!native && !pv) {
		note(tr, "kprobe: no queued-spinlock slow path in /proc/kallsyms");
		return -1;
	}
	s = spin_kprobe_bpf__open();
	if (!s) {
		note(tr, "kprobe: open: %s", strerror(errno));
		return -1;
	}
	if (load_exact(tr, &rung, s, s->obj, (struct epb_config *)&s->rodata->cfg, o, tgid, native, pv)) {
		spin_kprobe_bpf__destroy(s);
		return -1;
	}
	tr->kprobe = s;
	return 0;
}

static void add_range(struct epb_config *c, const struct ksyms *ks, const char *name)
{
	uint64_t a, b;

	if (c->nr_ranges < EPB_MAX_RANGES && ksyms_range(ks, name, &a, &b)) {
		c->range_start[c->nr_ranges] = a;
		c->range_end[c->nr_ranges] = b;
		c->nr_ranges++;
	}
}

static int try_sample(struct tracer *tr, const struct trace_opts *o, pid_t tgid,
		      const struct ksyms *ks)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
	};
	struct spin_sample_bpf *s;
	struct epb_config *c;
	int ncpu = libbpf_num_possible_cpus(), err, n = 0;

	if (!ks) {
		note(tr, "sample: /proc/kallsyms shows no addresses");
		return -1;
	}
	s = spin_sample_bpf__open();
	if (!s) {
		note(tr, "sample: open: %s", strerror(errno));
		return -1;
	}
	c = (struct epb_config *)&s->rodata->cfg;
	fill_config(c, o, tgid);
	for (size_t i = 0; i < NR_SLOW; i++)
		add_range(c, ks, ksym_names[i]);
	c->nr_slow_ranges = c->nr_ranges;
	if (!c->nr_slow_ranges) {
		note(tr, "sample: no queued-spinlock slow path in /proc/kallsyms");
		goto fail;
	}
	for (size_t i = NR_SLOW; i < NR_KSYMS; i++)
		add_range(c, ks, ksym_names[i]);
	err = share_maps(s->obj, tr);
	if (!err)
		err = spin_sample_bpf__load(s);
	if (err) {
		note(tr, "sample: load: %s", strerror(-err));
		goto fail;
	}
	attr.sample_period = (uint64_t)(1e9 / o->sample_hz);
	tr->sample_period_ns = (double)attr.sample_period;
	tr->sample_links = calloc((size_t)ncpu, sizeof(*tr->sample_links));
	if (!tr->sample_links)
		goto fail;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)	/* possible but not online */
				continue;
			note(tr, "sample: perf_event_open: %s", strerror(errno));
			goto fail;
		}
		tr->sample_links[n] = bpf_program__attach_perf_event(s->progs.on_sample, fd);
		if (!tr->sample_links[n]) {
			note(tr, "sample: attach: %s", strerror(errno));
			close(fd);
			goto fail;
		}
		n++;
		tr->nr_sample_links = n;
	}
	tr->sample = s;
	return 0;
fail:
	for (int i = 0; i < tr->nr_sample_links; i++)
		bpf_link__destroy(tr->sample_links[i]);
	free(tr->sample_links);
	tr->sample_links = NULL;
	tr->nr_sample_links = 0;
	spin_sample_bpf__destroy(s);
	return -1;
}

/* /proc/kallsyms is slow to read: it is read while the main object loads. */
static void *ksyms_thread(void *arg)
{
	(void)arg;
	return ksyms_load("/proc/kallsyms", ksym_names, NR_KSYMS);
}

/* Where the target may load libepbatch.so from: its maps, LD_PRELOAD, next to us. */
static int shim_candidates(pid_t pid, char out[][PATH_MAX], int max)
{
	char path[PATH_MAX], line[PATH_MAX + 128], real[PATH_MAX], dir[PATH_MAX - 32];
	const char *pre = getenv("LD_PRELOAD");
	int n = 0;
	FILE *f;

#define ADD(p)	do {								\
		if (n < max && realpath((p), real)) {				\
			int dup_ = 0;						\
			for (int i_ = 0; i_ < n; i_++)				\
				dup_ |= !strcmp(out[i_], real);			\
			if (!dup_)						\
				strcpy(out[n++], real);				\
		}								\
	} while (0)
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p && strstr(p, "libepbatch")) {
			p[strcspn(p, "\n")] = 0;
			ADD(p);
		}
	}
	if (f)
		fclose(f);
	if (pre) {
		char buf[PATH_MAX], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", pre);
		for (char *tok = strtok_r(buf, ": ", &save); tok; tok = strtok_r(NULL, ": ", &save))
			if (strstr(tok, "libepbatch"))
				ADD(tok);
	}
	if (!self_exe_dir(dir, sizeof(dir))) {
		snprintf(path, sizeof(path), "%s/libepbatch.so", dir);
		ADD(path);
		snprintf(path, sizeof(path), "%s/../lib/libepbatch.so", dir);
		ADD(path);
	}
#undef ADD
	return n;
}

/*
 * The shim's USDT probes (batches and their sizes, whatever the backend).
 * Best effort: a target without the shim simply has nothing to attach to.
 */
static void attach_usdt(struct tracer *tr, const struct trace_opts *o, pid_t tgid)
{
	static char paths[4][PATH_MAX];
	int n = shim_candidates(tgid, paths, 4), links = 0;
	struct usdt_bpf *s;

	if (!n)
		return;
	s = usdt_bpf__open();
	if (!s)
		return;
	fill_config((struct epb_config *)&s->rodata->cfg, o, tgid);
	if (share_maps(s->obj, tr) || usdt_bpf__load(s)) {
		note(tr, "usdt: cannot load the shim probes");
		usdt_bpf__destroy(s);
		return;
	}
	for (int i = 0; i < n && tr->nr_usdt_links + 2 <= (int)(sizeof(tr->usdt_links) / sizeof(*tr->usdt_links)); i++) {
		/* pid -1 with --children or several processes: they are filtered in BPF */
		pid_t p = o->children || trace_filtered(o) ? -1 : tgid;
		struct bpf_link *a = bpf_program__attach_usdt(s->progs.on_flush, p, paths[i],
							      "epbatch", "flush", NULL);
		struct bpf_link *b = a ? bpf_program__attach_usdt(s->progs.on_passthrough, p, paths[i],
								  "epbatch", "passthrough", NULL) : NULL;

		if (!a) {
			note(tr, "usdt: %s: cannot attach epbatch:flush (-v shows why)", paths[i]);
			continue;
		}
		tr->usdt_links[tr->nr_usdt_links++] = a;
		links++;
		if (b)
			tr->usdt_links[tr->nr_usdt_links++] = b;
	}
	if (!links) {	/* no link refers to s: it can go */
		usdt_bpf__destroy(s);
		return;
	}
	tr->usdt = s;
}

/*
 * --stacks: its own object, loaded before the spin rungs (they count into
 * its spin_stacks map); without the flag it is never opened.
 */
static int load_stacks(struct tracer *tr, const struct trace_opts *o, pid_t tgid)
{
	struct stacks_bpf *s = stacks_bpf__open();
	int err;

	if (!s) {
		fprintf(stderr, PROG ": --stacks: cannot open its BPF object: %s\n", strerror(errno));
		return -1;
	}
	fill_config((struct epb_config *)&s->rodata->cfg, o, tgid);
	s->rodata->stack_period = (__u32)o->stack_period;
	err = share_maps(s->obj, tr);
	if (!err)
		err = stacks_bpf__load(s);
	if (err) {
		fprintf(stderr, PROG ": --stacks: cannot load its BPF programs: %s%s\n", strerror(-err),
			o->verbose ? "" : " (run with -v for the verifier log)");
		stacks_bpf__destroy(s);
		return -1;
	}
	tr->stacks_link = bpf_program__attach(s->progs.stacks_ctl);
	if (!tr->stacks_link) {
		fprintf(stderr, PROG ": --stacks: cannot attach: %s\n", strerror(errno));
		stacks_bpf__destroy(s);
		return -1;
	}
	tr->stacks = s;
	return 0;
}

/* The ladder: the first rung that works, or the one asked for. */
static void attach_spin(struct tracer *tr, const struct trace_opts *o, pid_t tgid,
			struct ksyms *ks)
{
	bool any = o->spin == SPIN_AUTO;

	tr->method = SPIN_OFF;
	if (o->spin == SPIN_OFF) {
		note(tr, "spin: disabled by --spin-method none");
		return;
	}
	if ((any || o->spin == SPIN_FENTRY) && !try_fentry(tr, o, tgid, ks))
		tr->method = SPIN_FENTRY;
	else if ((any || o->spin == SPIN_KPROBE) && !try_kprobe(tr, o, tgid, ks))
		tr->method = SPIN_KPROBE;
	else if ((any || o->spin == SPIN_SAMPLE) && !try_sample(tr, o, tgid, ks))
		tr->method = SPIN_SAMPLE;
}

/*
 * libbpf resolves tracepoint ids through tracefs; minimal systems and
 * containers often boot without it mounted, so mount it as perf does.
 */
static void ensure_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events", F_OK))
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		fprintf(stderr, PROG ": tracefs is not mounted and mounting it failed: %s\n",
			strerror(errno));
}

int tracer_open(struct tracer *tr, const struct trace_opts *o, pid_t tgid)
{
	double t0 = now_s();
	struct ksyms *ks = NULL;
	pthread_t reader;
	bool reading;
	int err;

	memset(tr, 0, sizeof(*tr));
	tr->stats_fd = -1;
	libbpf_set_print(o->verbose ? libbpf_verbose : libbpf_quiet);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, PROG ": the kernel has no BTF (/sys/kernel/btf/vmlinux; needs CONFIG_DEBUG_INFO_BTF=y)\n");
		return -1;
	}
	ensure_tracefs();
	if (o->bpf_stats) {
		tr->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (tr->stats_fd < 0)
			note(tr, "bpf-stats: %s", strerror(errno));
	}
	reading = o->spin != SPIN_OFF && !pthread_create(&reader, NULL, ksyms_thread, NULL);
	err = load_main(tr, o, tgid);
	if (reading)
		pthread_join(reader, (void **)&ks);
	if (err) {
		ksyms_free(ks);
		tracer_close(tr);
		return -1;
	}
	if (o->nr_pids && trace_filtered(o) && add_pids(tr, o)) {
		ksyms_free(ks);
		tracer_close(tr);
		return -1;
	}
	if (o->children)
		add_existing_children(tr, tgid);
	if (o->stacks && load_stacks(tr, o, tgid)) {
		ksyms_free(ks);
		tracer_close(tr);
		return -1;
	}
	attach_spin(tr, o, tgid, ks);
	ksyms_free(ks);
	/* tests only: a slow attach (hundreds of threads) made reproducible */
	if (getenv("EPBATCH_TEST_ATTACH_DELAY_MS"))
		usleep((useconds_t)atoi(getenv("EPBATCH_TEST_ATTACH_DELAY_MS")) * 1000);
	/*
	 * Opt-in: every USDT hit is a uprobe trap (~5.6 us on a Firecracker
	 * guest), paid only by the variant that has the shim, which biased
	 * A/B comparisons against it.  Batch sizes are also in EPBATCH_STATS.
	 */
	if (o->shim_probes)
		attach_usdt(tr, o, tgid);
	if (o->spin != SPIN_AUTO && o->spin != SPIN_OFF && tr->method != o->spin) {
		fprintf(stderr, PROG ": --spin-method %s is not available here: %s\n",
			spin_choice_name(o->spin), tr->nr_notes ? tr->notes[tr->nr_notes - 1] : "?");
		tracer_close(tr);
		return -1;
	}
	tr->attach_ms = (now_s() - t0) * 1e3;
	return 0;
}

void tracer_close(struct tracer *tr)
{
	for (int i = 0; i < tr->nr_sample_links; i++)
		bpf_link__destroy(tr->sample_links[i]);
	free(tr->sample_links);
	for (int i = 0; i < tr->nr_main_links; i++)
		bpf_link__destroy(tr->main_links[i]);
	for (int i = 0; i < tr->nr_usdt_links; i++)
		bpf_link__destroy(tr->usdt_links[i]);
	if (tr->usdt)
		usdt_bpf__destroy(tr->usdt);
	bpf_link__destroy(tr->stacks_link);
	if (tr->sample)
		spin_sample_bpf__destroy(tr->sample);
	if (tr->kprobe)
		spin_kprobe_bpf__destroy(tr->kprobe);
	if (tr->fentry)
		spin_fentry_bpf__destroy(tr->fentry);
	if (tr->stacks)	/* after the rungs, which count into its map */
		stacks_bpf__destroy(tr->stacks);
	if (tr->threads)
		munmap((void *)tr->threads, tr->threads_len);
	if (tr->main)
		epbatch_bpf__destroy(tr->main);
	if (tr->stats_fd >= 0)
		close(tr->stats_fd);
	memset(tr, 0, sizeof(*tr));
	tr->stats_fd = -1;
}

uint32_t tracer_nr_slots(const struct tracer *tr)
{
	uint32_t n = __atomic_load_n(&tr->main->data->next_slot, __ATOMIC_ACQUIRE);

	return n > EPB_MAX_THREADS ? EPB_MAX_THREADS : n;
}

uint32_t tracer_capacity(const struct tracer *tr)
{
	uint32_t max = tr->main->rodata->cfg.max_slots;

	/* slot 0 is EPB_SLOT_UNATTRIBUTED */
	return (max && max < EPB_MAX_THREADS ? max : EPB_MAX_THREADS) - 1;
}

uint64_t tracer_dropped_threads(const struct tracer *tr)
{
	return __atomic_load_n(&tr->main->bss->dropped_threads, __ATOMIC_RELAXED);
}

void tracer_recycle(struct tracer *tr, uint32_t slot)
{
	struct epbatch_bpf__bss *b = tr->main->bss;
	uint64_t tail = b->free_tail;

	if (slot == EPB_SLOT_UNATTRIBUTED || slot >= EPB_MAX_THREADS)
		return;
	memset((struct epb_thread *)&tr->threads[slot], 0, sizeof(tr->threads[slot]));
	b->free_ring[tail & (EPB_MAX_THREADS - 1)] = slot;
	/* the entry (and the zeroed record) before the tail that publishes it */
	__atomic_store_n(&b->free_tail, tail + 1, __ATOMIC_RELEASE);
}

static void prog_usage(struct bpf_object *obj, struct bpf_usage *u)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		u->run_time_ns += info.run_time_ns;
		u->run_cnt += info.run_cnt;
		u->programs++;
	}
}

void tracer_bpf_usage(const struct tracer *tr, struct bpf_usage *u)
{
	memset(u, 0, sizeof(*u));
	prog_usage(tr->main->obj, u);
	if (tr->fentry)
		prog_usage(tr->fentry->obj, u);
	if (tr->kprobe)
		prog_usage(tr->kprobe->obj, u);
	if (tr->sample)
		prog_usage(tr->sample->obj, u);
	if (tr->usdt)
		prog_usage(tr->usdt->obj, u);
	if (tr->stacks)
		prog_usage(tr->stacks->obj, u);
}

void tracer_ctl_errno(const struct tracer *tr, uint64_t out[EPB_CTL_OPS][EPB_MAX_ERRNO + 1])
{
	int fd = bpf_map__fd(tr->main->maps.ctl_errno);

	for (__u32 op = 0; op < EPB_CTL_OPS; op++)
		for (__u32 e = 0; e <= EPB_MAX_ERRNO; e++) {
			__u32 key = op * (EPB_MAX_ERRNO + 1) + e;
			__u64 v = 0;

			bpf_map_lookup_elem(fd, &key, &v);
			out[op][e] = v;
		}
}
