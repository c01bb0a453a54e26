// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The shim's own counters, from its USDT probes (preload/, provider
 * "epbatch"): how many batches it flushed and how many ops they carried,
 * whatever the backend (io_uring batches are invisible to syscall counts).
 * Attached only when the target has libepbatch.so; a separate object so a
 * kernel without uprobes loses only this.
 */
#include "common.bpf.h"
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* epbatch:flush(nr_ops, backend) */
SEC("usdt")
int BPF_USDT(on_flush, long nr_ops, long backend)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct epb_thread *t;

	t = epb_current_record(id);
	if (!t)
		return 0;
	__sync_fetch_and_add(&t->shim_flushes, 1);
	__sync_fetch_and_add(&t->shim_ops, nr_ops);
	return 0;
}

/* epbatch:passthrough(epfd, op, fd) */
SEC("usdt")
int BPF_USDT(on_passthrough, long epfd, long op, long fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct epb_thread *t;

	t = epb_current_record(id);
	if (t)
		__sync_fetch_and_add(&t->shim_passthrough, 1);
	return 0;
}
