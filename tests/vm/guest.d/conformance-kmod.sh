#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# In the guest, where /dev/epoll_batch exists: the epoll conformance suite
# natively and under the shim with the kmod backend (and io_uring on 6.1,
# which has IORING_OP_EPOLL_CTL but not IORING_OP_EPOLL_WAIT).
BACKENDS="kmod kmod+batch uring uring+batch" exec sh tests/conformance/t-conformance.sh
