/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The base layer of user/: what every part needs and nothing needs libbpf
 * for.  File output (the one atomic writer), time, the one number parser,
 * the JSON helpers and /proc readers.  Statistics are in stats.h.  Used by
 * the tracer, the results commands and their unit tests; links with jansson
 * and libm only (build/libepbatch-base.a).
 */
#ifndef EPBATCH_BASE_H
#define EPBATCH_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define PROG "epbatch-trace"

#ifndef EPBATCH_VERSION
#define EPBATCH_VERSION "0.0.0-dev"
#endif

/* ---- err.c ---- */
/* The program name errors start with ("epbatch-trace"; bench/ sets its own). */
extern const char *base_prog;
/* One line on stderr: "PROG: message" (the message ends with \n). */
void base_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* base_err with a va_list; NEWLINE ends the line for a message without one
 * (bench_die's).  One write, so the line cannot interleave with another
 * thread's. */
void base_verr(const char *fmt, va_list ap, bool newline) __attribute__((format(printf, 1, 0)));

/* ---- cli.c ---- */
/*
 * The one message for a bad option, after getopt_long (optstring starting
 * with ':') returned C ('?' unknown, ':' missing value): "epbatch-trace CMD:
 * unknown option '--x' (see epbatch-trace CMD --help)".  CMD NULL: top level.
 */
void cli_bad_option(const char *cmd, int c, char *const argv[], int optind, int optopt);

/* ---- time.c ---- */
double now_s(void);			/* CLOCK_MONOTONIC, seconds */
double wall_s(void);			/* CLOCK_REALTIME, seconds since the epoch */

/* ---- num.c: the one number parser; one line on stderr on bad input ---- */
int parse_number(const char *opt, const char *s, double min, double max, double *out);
int parse_int(const char *opt, const char *s, long min, long max, long *out);

/* ---- fileio.c: the one atomic writer ---- */
/*
 * Fail early, before any work, when PATH cannot be written: "-" is stdout
 * (always fine); a device or FIFO is written in place (it must be writable);
 * a directory or an uncreatable temporary sibling is an error (one line
 * printed, -1).
 */
int check_writable(const char *path);
/* Open PATH's temporary sibling for writing; atomic_close renames it. */
FILE *atomic_open(const char *path, char **tmp);
/* Flush, fsync, rename; 0, or -1 after one line on stderr (temporary removed). */
int atomic_close(FILE *f, char *tmp, const char *path);
/* Drop a file opened by atomic_open without publishing it. */
void atomic_abort(FILE *f, char *tmp);
/*
 * DATA as the whole of PATH, atomically (temp + fsync + rename; "-" is
 * stdout; a device or FIFO is written in place).  Quiet: -1 with errno, for
 * callers that word their own error line (bench/).
 */
int write_file_atomic(const char *path, const void *data, size_t len);
/* The whole file (at most max bytes), NUL-terminated; NULL if unreadable. */
char *read_text(const char *path, size_t max);
/* S with <, >, & and " escaped for HTML and SVG text and attributes (NULL: nothing). */
void fput_xml(const char *s, FILE *f);

/* ---- json.c: the JSON helper set (jansson) ---- */
struct json_t;
/* A number member (integer or real) as double; 0 (jnum) or dflt when absent. */
double jnum(const struct json_t *o, const char *key);
double jnum_or(const struct json_t *o, const char *key, double dflt);
/* Write DOC atomically (temp + rename); "-" = stdout.  0 or -1 with one line printed. */
int json_write_file(struct json_t *doc, const char *path);
/* Add "version" (the program's) to a document. */
void json_set_version(struct json_t *doc);

/* ---- proc.c: /proc readers ---- */
struct proc_stat {
	char state;			/* R, S, D, Z, ... */
	pid_t ppid;
	unsigned long flags;		/* PF_* */
	unsigned long long utime, stime;	/* clock ticks */
	unsigned long long cutime, cstime;	/* of reaped children */
};
#define PROC_PF_KTHREAD 0x00200000UL
int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *st);
/*
 * CPU time (user + system, seconds) of PID and all its descendants: every
 * live process of the tree, plus what the children they reaped left in
 * their cutime/cstime.  NAN when PID is gone.
 */
double proc_tree_cpu_s(pid_t pid);
/* The directory of this program (/proc/self/exe's, without the last
 * component) into buf; -1 when it cannot be read. */
int self_exe_dir(char *buf, size_t len);
/* /proc/PID/comm into buf ("" when gone). */
void proc_comm(pid_t pid, char *buf, size_t len);
/* Threads listed in /proc/PID/task (0 when gone). */
int proc_nr_tasks(pid_t pid);
/* Of an epoll fd's registrations, as /proc/PID/fdinfo/FD lists them (text:
 * "tfd: N events: HEX ..." lines), those with EPOLLEXCLUSIVE. */
long epoll_fdinfo_exclusive(const char *text);
/* The same for fd FD of process PID; -1 when it is not an epoll fd (or
 * the process or the fd is gone, or cannot be read). */
long proc_epoll_exclusive(pid_t pid, int fd);
/*
 * Can PID be traced?  One line on stderr and -1 when it does not exist, is a
 * kernel thread or is a zombie (its every thread has exited).
 */
int proc_check_target(pid_t pid);

/*
 * --cgroup PATH (cgroup.c): a cgroup v2 directory, absolute or below
 * /sys/fs/cgroup; its canonical path in real, its id and its depth below the
 * hierarchy's root (0 for the root).  -1 after one line when it is not one.
 */
int cgroup_resolve(const char *path, char *real, size_t real_len, uint64_t *id, uint32_t *level);
/*
 * Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on
 * hybrid systems); -1 when it is not (buf then holds the usual place).
 */
int cgroup2_mount(char *buf, size_t len);

#endif
