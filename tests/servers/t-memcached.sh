#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# memcached under the shim (every backend this machine has) and without it:
# scenarios keepalive close; zero client errors, zero integrity mismatches, clean exit
# (scripts/servers/memcached.sh --check).
. "$(dirname "$0")/lib.sh"
servers_require memcached
servers_run memcached keepalive close
