#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmark (not a test): the user-space instructions per request of the
# reference server (epbatch-bench-server, 2 workers) under epbatch-load on
# 127.0.0.1, without and with libepbatch.so, counted by valgrind
# --tool=callgrind (event Ir: exact, unlike time on a shared machine).
# Each variant runs twice, loading for D1 and for D2 seconds; the difference
# of the instructions divided by the difference of the requests is the
# cost of one request with start-up (the shim's constructor, its break-even
# measurement, ring set-up) cancelled.  The shim's share: shim - baseline.
#
#   scripts/bench-server-instr.sh [-m MODE,...] [-d D1,D2] [-c CONNECTIONS] [-o FILE]
#   -m  server modes (default oneshot,conn)   -d  load seconds (default 2,5)
#   -c  load connections (default 4)          -o  JSON (default build/bench/server-instr.json)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
modes="oneshot conn" d1=2 d2=5 conns=4 out=$BUILD/bench/server-instr.json
usage() { echo "usage: scripts/bench-server-instr.sh [-m MODE,...] [-d D1,D2] [-c CONNECTIONS] [-o FILE]" >&2; exit 2; }
while getopts m:d:c:o: opt; do
	case $opt in
	m) modes=$(echo "$OPTARG" | tr , ' ') ;;
	d) d1=${OPTARG%,*} d2=${OPTARG#*,} ;;
	c) conns=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
for v in "$d1" "$d2" "$conns"; do
	case $v in '' | *[!0-9]* | 0) echo "bench-server-instr: '$v' is not a positive integer" >&2; exit 2 ;; esac
done
[ "$d2" -gt "$d1" ] || { echo "bench-server-instr: want D1 < D2" >&2; exit 2; }
for m in $modes; do
	case $m in oneshot | flip | conn) ;; *) echo "bench-server-instr: unknown mode '$m' (oneshot, flip, conn)" >&2; exit 2 ;; esac
done
command -v valgrind >/dev/null || { echo "bench-server-instr: no valgrind (scripts/deps.sh installs it)" >&2; exit 2; }
odir=$(dirname "$out")
mkdir -p "$odir"
[ -d "$out" ] && { echo "bench-server-instr: $out is a directory" >&2; exit 2; }
[ -w "$odir" ] || { echo "bench-server-instr: cannot write in $odir" >&2; exit 2; }
SERVER=$BUILD/epbatch-bench-server LOAD=$BUILD/epbatch-load SHIM=$BUILD/libepbatch.so
[ -x "$SERVER" ] && [ -x "$LOAD" ] && [ -f "$SHIM" ] || make -s "$SERVER" "$LOAD" "$SHIM"
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")

tmp=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT

# one MODE VARIANT SECONDS: prints "requests instructions"
one() {
	rm -f "$tmp/port"
	case $2 in
	baseline) set -- "$1" "$2" "$3" EPBATCH_UNUSED=1 ;;
	shim) set -- "$1" "$2" "$3" "LD_PRELOAD=$SHIM" ;;
	esac
	env "$4" EPBATCH_STATS="$tmp/stats" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
		"$SERVER" --mode "$1" --threads 2 --ready-file "$tmp/port" --stats "$tmp/srv.json" \
		--max-seconds 120 >/dev/null 2>"$tmp/vg" &
	srv=$!
	for _ in $(seq 600); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	[ -s "$tmp/port" ] || { echo "bench-server-instr: the server did not start:" >&2; tail -3 "$tmp/vg" >&2; exit 1; }
	lm=keepalive
	[ "$1" = conn ] && lm=close
	"$LOAD" --port "$(cat "$tmp/port")" --mode $lm --connections "$conns" --duration "$3" >/dev/null 2>&1 ||
		{ echo "bench-server-instr: epbatch-load failed ($1, $2)" >&2; exit 1; }
	kill -INT "$srv"
	wait "$srv" || true
	srv=
	req=$(sed -n 's/^{"requests": \([0-9]*\),.*/\1/p' "$tmp/srv.json")
	ir=$(sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' "$tmp/vg" | tr -d ,)
	[ -n "$req" ] && [ -n "$ir" ] || { echo "bench-server-instr: no request count or Ir ($1, $2)" >&2; exit 1; }
	echo "$req $ir"
}

printf '%-8s %-9s %12s %10s\n' mode variant Ir/request "vs base" >"$tmp/table"
echo '{ "schema": "epbatch-bench-server-instr/1", "kernel": "'"$(uname -r)"'", "d1": '"$d1"', "d2": '"$d2"', "connections": '"$conns"', "rows": [' >"$tmp/json"
sep=
for m in $modes; do
	base=
	for v in baseline shim; do
		set -- $(one "$m" $v "$d1") $(one "$m" $v "$d2")
		per=$(echo "scale=1; ($4 - $2) / ($3 - $1)" | bc)
		stats=
		[ $v = shim ] && stats=$(cat "$tmp"/stats.* 2>/dev/null | tail -1 | sed 's/^epbatch: //')
		rm -f "$tmp"/stats.*
		[ $v = baseline ] && base=$per
		diff=$(echo "scale=1; $per - $base" | bc)
		printf '%-8s %-9s %12s %10s\n' "$m" $v "$per" "+$diff" >>"$tmp/table"
		printf '%s  { "mode": "%s", "variant": "%s", "ir_per_request": %s, "ir_per_request_above_baseline": %s, "requests": [%s, %s], "shim_stats": "%s" }' \
			"$sep" "$m" $v "$per" "$diff" "$1" "$3" "$stats" >>"$tmp/json"
		sep=",
"
		echo "bench-server-instr: $m $v done" >&2
	done
done
printf '\n] }\n' >>"$tmp/json"
sed 's/+-/-/' "$tmp/table"
echo "Ir/request: user-space instructions of the server process per request (callgrind), runs of $d2 s minus runs of $d1 s"
mv "$tmp/json" "$out.tmp" && mv "$out.tmp" "$out"
echo "JSON: $out"
