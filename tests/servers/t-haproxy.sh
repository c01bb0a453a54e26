#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# haproxy under the shim (every backend this machine has) and without it:
# scenarios keepalive close large; zero client errors, zero integrity mismatches, clean exit
# (scripts/servers/haproxy.sh --check).
. "$(dirname "$0")/lib.sh"
servers_require haproxy nginx
servers_run haproxy keepalive close large
