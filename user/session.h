/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The tracing session shared by `-p`, `record` and `run` (live.c), and record.c. */
#ifndef EPBATCH_SESSION_H
#define EPBATCH_SESSION_H

#include <sys/types.h>
#include "opts.h"
#include "base/base.h"

/* Trace tgid until -d, Ctrl-C or exit; tables per interval, summary, JSON. */
int trace_session(const struct trace_opts *o, pid_t tgid, int pidfd, int (*start)(void *), void *arg);
int trace_pid(const struct trace_opts *o);
/* The signal that ended the last session (SIGINT, SIGTERM) or 0. */
int trace_stop_signal(void);

/* record.c */
/* 0 if execvp would find NAME, else 127/126 after one line on stderr. */
int record_resolve(const char *name);
#endif
