#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# srvcheck itself can fail: nothing listening, a wrong body, a wrong status,
# bad usage.  (Without this the server tests could not tell "no problem"
# from "no check".)
. "$(dirname "$0")/lib.sh"
servers_require nginx
S=$BUILD/tests/srvcheck
fail=0
expect() {	# expect RC DESCRIPTION COMMAND...
	local want=$1 what=$2 rc
	shift 2
	"$@" >/tmp/srvcheck.$$ 2>&1
	rc=$?
	if [ $rc = "$want" ]; then echo "ok - $what"; else
		echo "not ok - $what: exit $rc, wanted $want"; sed 's/^/#   /' /tmp/srvcheck.$$; fail=1; fi
	rm -f /tmp/srvcheck.$$
}
SRV_NAME=t . scripts/servers/lib.sh
. scripts/servers/http.sh
DIR=$(mktemp -d) && chmod 755 "$DIR"
trap 'kill -QUIT $NGINX_PID 2>/dev/null; wait; rm -rf "$DIR"' EXIT
free=$(srv_free_port)
expect 1 "nothing listening is an error" "$S" --proto redis --port "$free" --keys 10
PORT=$(srv_free_port)
nginx_start "$DIR" "$PORT" || exit 1
expect 0 "the right body" "$S" --proto http --port "$PORT" --requests 20 --expect-body "hello
"
expect 1 "a wrong body is a mismatch" "$S" --proto http --port "$PORT" --requests 20 --expect-body "hellO
"
expect 1 "a 404 is an error" "$S" --proto http --port "$PORT" --requests 5 --path /nothing --expect-body x
expect 1 "a server that is not redis" "$S" --proto redis --port "$PORT" --keys 5 --timeout 1
expect 2 "bad usage" "$S" --proto gopher --port "$PORT"
expect 2 "no port" "$S" --proto http --expect-body x
exit $fail
