#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC1091,SC2015  # lib.sh; "A && B || fail" is meant
# Bad input: one clear line on stderr, nothing on stdout, non-zero exit,
# for both programs; loads to anything but 127.0.0.1 are refused; a load
# against a port nobody listens on fails with one line and the JSON.
. "$(dirname "$0")/lib.sh"

# bad PATTERN CMD...: CMD must exit non-zero with exactly one stderr line
# matching PATTERN, and print nothing on stdout.
bad() {
	pat=$1; shift
	"$@" >"$TMP/out" 2>"$TMP/err" && fail "'$*' succeeded"
	[ "$(wc -l <"$TMP/err")" = 1 ] || { cat "$TMP/err"; fail "'$*': expected one line on stderr"; }
	[ -s "$TMP/out" ] && fail "'$*': wrote to stdout"
	grep -q -- "$pat" "$TMP/err" || fail "'$*': stderr '$(cat "$TMP/err")' does not match '$pat'"
	echo "ok: $* -> $(cat "$TMP/err")"
}

bad "needs --reuseport" "$SRV" --unshare --max-seconds 1
bad "unknown option '--bogus'" "$SRV" --bogus
bad "needs a value" "$SRV" --threads
bad "invalid --mode 'edge'" "$SRV" --mode edge
bad "are for --mode churn" "$SRV" --mode conn --churn 4
bad "invalid --churn-op 'open'" "$SRV" --mode churn --churn-op open
bad "invalid value 'two' for --threads" "$SRV" --threads two
bad "invalid value '0' for --threads" "$SRV" --threads 0
bad "invalid value '70000' for --port" "$SRV" --port 70000
bad "invalid --bind" "$SRV" --bind 300.1.1.1
bad "unexpected argument" "$SRV" extra
bad "invalid value '-1' for --max-seconds" "$SRV" --max-seconds -1
bad "cannot write --ready-file" "$SRV" --ready-file "$TMP/no/such/dir/ready" --max-seconds 5

# A port already taken (without --reuseport on either side) cannot be bound.
start_server --threads 1
bad "cannot bind 127.0.0.1:$PORT" "$SRV" --port "$PORT" --max-seconds 1
stop_server

bad "only 127.0.0.1" "$LOAD" --port 80 --host 10.0.0.1
bad "only 127.0.0.1" "$LOAD" --port 80 --host 127.0.0.2
bad "only 127.0.0.1" "$LOAD" --port 80 --host example.com
bad "only 127.0.0.1" "$LOAD" --port 80 --host 0.0.0.0
bad "--port is required" "$LOAD"
bad "unknown option '--url'" "$LOAD" --url http://127.0.0.1/
bad "invalid value '601' for --duration" "$LOAD" --port 80 --duration 601
bad "invalid value '0' for --connections" "$LOAD" --port 80 --connections 0
bad "invalid --mode 'pipeline'" "$LOAD" --port 80 --mode pipeline
bad "is more than --connections" "$LOAD" --port 80 --connections 2 --threads 4
bad "invalid value 'x' for --requests" "$LOAD" --port 80 --requests x

# Nobody listens on $PORT now: every connect is refused.  The JSON still
# records what happened, and the exit status says the run measured nothing.
"$LOAD" --port "$PORT" --duration 0.3 --out "$TMP/refused.json" 2>"$TMP/err" && fail "load to a closed port succeeded"
[ "$(wc -l <"$TMP/err")" = 1 ] && grep -q "no request succeeded.*connect" "$TMP/err" || fail "closed port: $(cat "$TMP/err")"
[ "$(json "$TMP/refused.json" 'd["requests"]')" = 0 ] || fail "closed port: requests not 0"
[ "$(json "$TMP/refused.json" 'd["error_kinds"]["connect"] > 0')" = True ] || fail "closed port: no connect errors"
echo "ok: closed port -> $(cat "$TMP/err")"

# --help is not an error.
"$SRV" --help | grep -q -- '--mode' || fail "server --help"
"$LOAD" --help | grep -q -- '--connections' || fail "load --help"
echo "ok: --help"
