/* SPDX-License-Identifier: MIT */
/* The sync backend: one epoll_ctl syscall per op. */
#include "be.h"

#include <errno.h>

unsigned be_sync_submit(const struct qop *ops, unsigned n, int *res)
{
	unsigned errors = 0;

	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = ops[i].ev;

		res[i] = 0;
		if (ops[i].op && sys_epoll_ctl(ops[i].epfd, ops[i].op, ops[i].fd, &ev) < 0)
			res[i] = -errno;
		errors += res[i] != 0;
	}
	return errors;
}
