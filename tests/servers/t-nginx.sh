#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# nginx under the shim (every backend this machine has) and without it:
# scenarios keepalive close large; zero client errors, zero integrity mismatches, clean exit
# (scripts/servers/nginx.sh --check); and a traced load: each of its
# workers' threads counted once (which worker takes the connections is the
# kernel's choice: at least one waits).
. "$(dirname "$0")/lib.sh"
servers_require nginx
rc=0
servers_run nginx keepalive close large || rc=1
servers_traced nginx keepalive 1 || rc=1
exit $rc
