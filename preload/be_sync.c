/* SPDX-License-Identifier: MIT */
/* The sync backend: one epoll_ctl syscall per op. */
#include "be.h"

#include <errno.h>

void be_sync_submit(const struct qop *ops, unsigned n, int *res)
{
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = { .events = ops[i].events, .data.u64 = ops[i].data };

		res[i] = 0;
		if (ops[i].op && real_epoll_ctl(ops[i].epfd, ops[i].op, ops[i].fd, &ev) < 0)
			res[i] = -errno;
	}
}
