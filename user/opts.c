// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command lines of `epbatch-trace -p PID` and `epbatch-trace record`. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "opts.h"

#define COMM_MAX 15	/* TASK_COMM_LEN - 1 */

void usage(FILE *f)
{
	fprintf(f,
"Usage: epbatch-trace -p PID[,PID...] [-d SECONDS] [-i SECONDS] [--json FILE|-]\n"
"                     [--spin-method auto|fentry|kprobe|sample|none] [--children] [-v]\n"
"       epbatch-trace [-a] [--comm NAME] [--cgroup PATH] [--threads] [...]  (system-wide)\n"
"       epbatch-trace record -o FILE.json [-d SECONDS] (-p PID | -- COMMAND [ARGS...])\n"
"       epbatch-trace run|compare|gate|calibrate ... (see epbatch-trace(8))\n"
"\n"
"Per-thread epoll_ctl/epoll_wait counts and spin-lock slow-path time of a process,\n"
"or, without -p, of every process (a table of processes ranked by epoll_ctl rate).\n"
"  -p, --pid PID[,PID...] processes to trace (all their threads)\n"
"  -a, --all              every process (the default without -p)\n"
"      --comm NAME        only threads named NAME or of a process named NAME\n"
"      --cgroup PATH      only tasks in the cgroup v2 directory PATH or below it\n"
"      --threads          with several processes: a row per thread, not per process\n"
"  -d, --duration S       stop after S seconds (default: until Ctrl-C or exit)\n"
"  -i, --interval S       print a table every S seconds (default 1; 0: summary only)\n"
"  -j, --json FILE        write the epbatch/1 JSON document (- for stdout)\n"
"      --csv FILE         a CSV row per thread per interval (- for stdout)\n"
"      --ndjson FILE      a JSON object per line, per thread per interval (- for stdout)\n"
"      --openmetrics FILE Prometheus text exposition of the counters since attach,\n"
"                         rewritten atomically every interval (node_exporter textfile)\n"
"  -m, --spin-method M    auto (fentry, then kprobe, then sample), fentry, kprobe,\n"
"                         sample or none\n"
"      --sample-hz N      sampling rung frequency per CPU (default 99)\n"
"  -c, --children         also trace processes the target forks\n"
"  -T, --syscall-time     time epoll syscalls (ns; two clock reads per call) and\n"
"                         keep log2 histograms per thread (epoll_ctl by op, wait\n"
"                         time, events per wait) in the JSON\n"
"      --hist             print those histograms as text bars after the summary\n"
"                         (implies -T)\n"
"      --stacks           user and kernel stacks of the epoll_ctl callers by op,\n"
"                         kernel stacks of the spin-lock slow path: the top ones\n"
"                         in the summary and the JSON\n"
"      --stack-period N   walk the stacks of one epoll_ctl in N, drawn at random,\n"
"                         and scale the counts by N (default 256; 1: every call)\n"
"      --folded FILE      those stacks in the folded format of flame graphs\n"
"                         (flamegraph.pl, inferno, speedscope); implies --stacks\n"
"      --shim-probes      count libepbatch.so's batches and their sizes from its USDT\n"
"                         probes (a uprobe trap per batch: costly, see docs)\n"
"      --bpf-stats        report the tracer's own BPF run time (BPF_ENABLE_STATS;\n"
"                         costs two clock reads per program run)\n"
"  -n, --top N            rows per table (default 20, 0: all)\n"
"  -s, --sort KEY         row order: auto (largest share of any column, the\n"
"                         default: never hides a thread that dominates one),\n"
"                         ctl, wait, spin or tid\n"
"      --version          print the version\n"
"  -v, --verbose          show libbpf's log\n"
"  -h, --help             this help\n");
}

static const char *const spin_names[] = {
	[SPIN_AUTO] = "auto", [SPIN_FENTRY] = "fentry", [SPIN_KPROBE] = "kprobe",
	[SPIN_SAMPLE] = "sample", [SPIN_OFF] = "none",
};

const char *spin_choice_name(enum spin_choice c)
{
	return spin_names[c];
}

const char *spin_method_name(enum spin_choice m)
{
	return m == SPIN_OFF || m == SPIN_AUTO ? "none" : spin_choice_name(m);
}

void trace_opts_defaults(struct trace_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval = 1;
	/* each cpu-clock sample cost ~50 us of the sampled task on a Firecracker
	 * guest (docs/overhead.md): 99 Hz keeps sampling inside the budget */
	o->sample_hz = 99;
	o->top = 20;
	/* a stack walk costs several syscalls (docs/overhead.md) */
	o->stack_period = EPB_STACK_PERIOD;
	/* kernel run-time stats cost two clock reads per program run (measured
	 * ~300 ns each on a Firecracker guest): opt-in, never a silent default */
	o->bpf_stats = false;
}

enum { OPT_SAMPLE_HZ = 256, OPT_BPF_STATS, OPT_NO_BPF_STATS, OPT_VARIANT, OPT_SHIM_PROBES, OPT_VERSION,
       OPT_CSV, OPT_NDJSON, OPT_OPENMETRICS, OPT_HIST, OPT_STACKS, OPT_FOLDED, OPT_STACK_PERIOD };

/* the whole machine's options (issue 13) */
enum { OPT_COMM = 512, OPT_CGROUP, OPT_THREADS };

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "threads", no_argument, NULL, OPT_THREADS },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'i' },
	{ "json", required_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "ndjson", required_argument, NULL, OPT_NDJSON },
	{ "openmetrics", required_argument, NULL, OPT_OPENMETRICS },
	{ "spin-method", required_argument, NULL, 'm' },
	{ "sample-hz", required_argument, NULL, OPT_SAMPLE_HZ },
	{ "children", no_argument, NULL, 'c' },
	{ "syscall-time", no_argument, NULL, 'T' },
	{ "hist", no_argument, NULL, OPT_HIST },
	{ "bpf-stats", no_argument, NULL, OPT_BPF_STATS },
	{ "no-bpf-stats", no_argument, NULL, OPT_NO_BPF_STATS },
	{ "variant", required_argument, NULL, OPT_VARIANT },
	{ "shim-probes", no_argument, NULL, OPT_SHIM_PROBES },
	{ "stacks", no_argument, NULL, OPT_STACKS },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "stack-period", required_argument, NULL, OPT_STACK_PERIOD },
	{ "top", required_argument, NULL, 'n' },
	{ "sort", required_argument, NULL, 's' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/* -p A,B,...: every id once, each a positive integer. */
static int parse_pids(const char *arg, struct trace_opts *o)
{
	char buf[4096], *save = NULL;
	long v;

	if (o->nr_pids) {
		fprintf(stderr, PROG ": -p given twice: list the processes with commas (-p A,B)\n");
		return -1;
	}
	/* strtok_r would skip empty items: "1,,2" and ",1" are typos, not lists */
	if (strlen(arg) >= sizeof(buf) || !*arg || *arg == ',' || arg[strlen(arg) - 1] == ',' ||
	    strstr(arg, ",,")) {
		fprintf(stderr, PROG ": invalid -p '%s' (expected PID or PID,PID,...)\n", arg);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_int("-p", tok, 1, 0x7fffffff, &v))
			return -1;
		for (int i = 0; i < o->nr_pids; i++)
			if (o->pids[i] == (pid_t)v) {
				fprintf(stderr, PROG ": -p lists %ld twice\n", v);
				return -1;
			}
		if (o->nr_pids == TRACE_MAX_PIDS) {
			fprintf(stderr, PROG ": -p lists more than %d processes (try --comm or --cgroup)\n",
				TRACE_MAX_PIDS);
			return -1;
		}
		o->pids[o->nr_pids++] = (pid_t)v;
	}
	o->pid = o->nr_pids == 1 ? o->pids[0] : 0;
	return 0;
}

/* --comm: the kernel compares the whole 16-byte task name, so a longer one never matches. */
static int parse_comm(const char *arg, struct trace_opts *o)
{
	if (!*arg || strlen(arg) > COMM_MAX) {
		fprintf(stderr, PROG ": --comm '%s': a task name has 1 to %d characters\n", arg,
			COMM_MAX);
		return -1;
	}
	o->match_comm = arg;
	return 0;
}

/* The index of s in names[0..n), or -1. */
static int name_index(const char *const names[], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* How many machine formats write to stdout (-). */
static int stdout_formats(const struct trace_opts *o)
{
	const char *out[] = { o->json, o->csv, o->ndjson };
	int n = 0;

	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		n += out[i] && !strcmp(out[i], "-");
	return n;
}

/* One getopt loop for both forms; `record` differs in -o and the command. */
static int parse(int argc, char **argv, struct trace_opts *o, bool *help, bool record)
{
	const char *shorts = record ? "+:p:d:i:o:m:cTn:s:vh" : "+:p:ad:i:j:m:cTn:s:vh";
	static char cgroup_real[4096];
	static const char *const sorts[] = { [SORT_AUTO] = "auto", [SORT_CTL] = "ctl", [SORT_WAIT] = "wait",
				       [SORT_SPIN] = "spin", [SORT_TID] = "tid" };
	bool sort_set = false, all = false;
	long v;
	int c;

	trace_opts_defaults(o);
	*help = false;
	if (record)
		o->quiet = true, o->interval = 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pids(optarg, o))
				return -1;
			break;
		case 'a':
			all = true;
			break;
		case OPT_COMM:
			if (parse_comm(optarg, o))
				return -1;
			break;
		case OPT_CGROUP:
			/* resolved now: a wrong path fails before anything is attached */
			if (cgroup_resolve(optarg, cgroup_real, sizeof(cgroup_real), &o->cgroup_id,
					   &o->cgroup_level))
				return -1;
			o->cgroup = cgroup_real;
			break;
		case OPT_THREADS:
			o->threads_view = true;
			break;
		case 'd':
			if (parse_number("-d", optarg, 0.001, 1e7, &o->duration))
				return -1;
			break;
		case 'i':
			if (parse_number("-i", optarg, 0, 1e7, &o->interval))
				return -1;
			if (record)
				o->quiet = o->interval == 0;
			break;
		case 'j':
		case 'o':
			if (!record && c == 'o')
				goto bad;
			o->json = optarg;
			break;
		case 'm':
			v = name_index(spin_names, SPIN_OFF + 1, optarg);
			if (v < 0) {
				fprintf(stderr, PROG ": invalid --spin-method '%s' (auto, fentry, kprobe, sample or none)\n",
					optarg);
				return -1;
			}
			o->spin = (enum spin_choice)v;
			break;
		case OPT_CSV:
			o->csv = optarg;
			break;
		case OPT_NDJSON:
			o->ndjson = optarg;
			break;
		case OPT_OPENMETRICS:
			if (!strcmp(optarg, "-")) {
				fprintf(stderr, PROG ": --openmetrics needs a file (rewritten every interval), not -\n");
				return -1;
			}
			o->openmetrics = optarg;
			break;
		case OPT_SAMPLE_HZ:
			if (parse_int("--sample-hz", optarg, 1, 100000, &v))
				return -1;
			o->sample_hz = (int)v;
			break;
		case 'c':
			o->children = true;
			break;
		case 'T':
			o->time_syscalls = true;
			break;
		case OPT_HIST:
			o->hist = o->time_syscalls = true;
			break;
		case OPT_BPF_STATS:
			o->bpf_stats = true;
			break;
		case OPT_NO_BPF_STATS:
			o->bpf_stats = false;
			break;
		case OPT_SHIM_PROBES:
			o->shim_probes = true;
			break;
		case OPT_STACKS:
			o->stacks = true;
			break;
		case OPT_STACK_PERIOD:
			if (parse_int("--stack-period", optarg, 1, 1 << 20, &v))
				return -1;
			o->stack_period = (int)v;
			break;
		case OPT_FOLDED:
			if (!strcmp(optarg, "-")) {
				fprintf(stderr, PROG ": --folded needs a file (for a pipe: --folded /dev/stdout)\n");
				return -1;
			}
			o->folded = optarg;
			o->stacks = true;
			break;
		case OPT_VARIANT:
			o->variant = optarg;
			break;
		case 'n':
			if (parse_int("-n", optarg, 0, 1000000, &v))
				return -1;
			o->top = (int)v;
			break;
		case 's':
			v = name_index(sorts, SORT_TID + 1, optarg);
			if (v < 0) {
				fprintf(stderr, PROG ": invalid --sort '%s' (auto, ctl, wait, spin or tid)\n", optarg);
				return -1;
			}
			o->sort = (enum sort_key)v;
			sort_set = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case OPT_VERSION:
			*help = true;
			o->version = true;
			return 0;
		case 'h':
			*help = true;
			return 0;
		default:
bad:
			cli_bad_option(record ? "record" : NULL, c, argv, optind, optopt);
			return -1;
		}
	}
	/* one machine format owns stdout */
	if (stdout_formats(o) > 1) {
		fprintf(stderr, PROG ": only one of --json, --csv, --ndjson can write to stdout (-)\n");
		return -1;
	}
	if (optind < argc) {
		if (!record) {
			fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
			return -1;
		}
		o->command = &argv[optind];
	}
	if (all && o->nr_pids) {
		fprintf(stderr, PROG ": -a traces every process: not with -p\n");
		return -1;
	}
	if (record) {
		if (o->nr_pids > 1 || o->match_comm || o->cgroup || o->threads_view) {
			fprintf(stderr, PROG " record: one process (-p PID or a command); for several, "
				"use epbatch-trace -p A,B or --comm without record\n");
			return -1;
		}
		if (!o->json) {
			fprintf(stderr, PROG " record: -o FILE.json is required\n");
			return -1;
		}
		if (!o->pid == !o->command) {
			fprintf(stderr, PROG " record: give either -p PID or -- COMMAND, not %s\n",
				o->pid ? "both" : "neither");
			return -1;
		}
	} else if (!o->nr_pids) {
		o->system_wide = true;
	}
	if (o->children && !o->nr_pids && !o->command) {
		fprintf(stderr, PROG ": --children follows the processes of -p: give -p PID\n");
		return -1;
	}
	/* several processes: top's order, by epoll_ctl rate, then waits, then spin time */
	if (!o->pid && !record && !sort_set)
		o->sort = SORT_CTL;
	return 0;
}

int parse_live_args(int argc, char **argv, struct trace_opts *o, bool *help)
{
	return parse(argc, argv, o, help, false);
}

int parse_record_args(int argc, char **argv, struct trace_opts *o, bool *help)
{
	return parse(argc, argv, o, help, true);
}

bool trace_filtered(const struct trace_opts *o)
{
	return o->system_wide || o->nr_pids > 1 || o->match_comm || o->cgroup;
}

void trace_scope(const struct trace_opts *o, char *buf, size_t len)
{
	size_t n = 0;

#define PUT(...) (n += n < len ? (size_t)snprintf(buf + n, len - n, __VA_ARGS__) : 0)
	buf[0] = 0;
	if (o->system_wide) {
		PUT("all processes");
	} else {
		PUT("%d process%s (", o->nr_pids, o->nr_pids == 1 ? "" : "es");
		for (int i = 0; i < o->nr_pids && n < len; i++)
			PUT("%s%d", i ? ", " : "", (int)o->pids[i]);
		PUT(")");
	}
	if (o->match_comm)
		PUT(", comm %s", o->match_comm);
	if (o->cgroup)
		PUT(", cgroup %s", o->cgroup);
#undef PUT
}

FILE *trace_human_out(const struct trace_opts *o)
{
	return stdout_formats(o) ? stderr : stdout;
}
