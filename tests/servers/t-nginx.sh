#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# nginx under the shim (every backend this machine has) and without it:
# scenarios keepalive close large; zero client errors, zero integrity mismatches, clean exit
# (scripts/servers/nginx.sh --check).
. "$(dirname "$0")/lib.sh"
servers_require nginx
servers_run nginx keepalive close large
