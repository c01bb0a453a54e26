#!/bin/bash
# redis under the shim (every backend this machine has) and without it:
# scenarios keepalive close; zero client errors, zero integrity mismatches, clean exit
# (scripts/servers/redis.sh --check).
. "$(dirname "$0")/lib.sh"
servers_require redis-server
servers_run redis keepalive close
