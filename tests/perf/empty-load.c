// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * empty-load: attach the tracer's syscall programs built with EPB_EMPTY
 * (every handler returns at once) to the same hooks, and wait for SIGINT.
 * The overhead benchmark's floor: what merely having programs on these
 * tracepoints costs.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "../../bpf/epbatch.h"
#include "epbatch_empty.skel.h"

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct epbatch_empty_bpf *s = epbatch_empty_bpf__open();

	if (!s)
		return 1;
	bpf_map__set_max_entries(s->maps.tid_slot, 4194304);
	if (epbatch_empty_bpf__load(s) || epbatch_empty_bpf__attach(s)) {
		fprintf(stderr, "empty-load: cannot load/attach\n");
		return 1;
	}
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	epbatch_empty_bpf__destroy(s);
	return 0;
}
