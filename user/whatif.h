/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The what-if section of a trace's table and JSON (whatif.c), from costmodel.h. */
#ifndef EPBATCH_WHATIF_H
#define EPBATCH_WHATIF_H

#include <stdio.h>
#include "costmodel.h"
#include "report.h"

void wi_in_from_stats(const struct thread_stats *t, double secs, enum spin_choice m, struct wi_in *in);
/* Each thread's wait_excl: the EPOLLEXCLUSIVE registrations of the epoll
 * instance it last waited on, from /proc (those made before the tracer
 * came are in no counter); at the end of a trace, while it is there. */
void whatif_read_instances(struct report *r);
/* "what_if" (total) and each thread's; c NULL: what_if says why it is missing. */
void whatif_add_json(struct json_t *doc, const struct report *r, const struct calib *c);
/* Fill cpu_ns_saved_per_req once the requests are known (run). */
void whatif_json_requests(struct json_t *doc, double requests);
void whatif_table(FILE *f, const struct report *r, const struct calib *c, const struct trace_opts *o);

#endif
