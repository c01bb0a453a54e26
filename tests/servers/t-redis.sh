#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# redis under the shim (every backend this machine has) and without it:
# scenarios keepalive close; zero client errors, zero integrity mismatches, clean exit
# (scripts/servers/redis.sh --check).
. "$(dirname "$0")/lib.sh"
servers_require redis-server
servers_run redis keepalive close
