#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# nginx under the shim (every backend this machine has) and without it:
# scenarios keepalive close large; zero client errors, zero integrity mismatches, clean exit
# (scripts/servers/nginx.sh --check).  Every worker's instance holds the
# shared listener with EPOLLEXCLUSIVE: under io_uring nothing is deferred.
. "$(dirname "$0")/lib.sh"
servers_require nginx
SERVERS_EXCLUSIVE=1 servers_run nginx keepalive close large
