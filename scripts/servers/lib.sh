# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Shared part of the real-server scenario scripts (scripts/servers/*.sh).
# A server script defines:
#   SRV_NAME, SRV_SCENARIOS ("keepalive close ..."),
#   srv_start          start the server in the background on $PORT inside
#                      $DIR under $PRELOAD_ENV; set SRV_PID (the process the
#                      tracer follows with --children)
#   srv_stop_signal    the signal that stops it cleanly (TERM, QUIT, USR1)
#   srv_check SCEN     the integrity check (srvcheck and friends); non-zero
#                      on any client error, timeout or mismatch
#   srv_load SCEN S    a real load generator for S seconds; its output on stdout
# and may define srv_cleanup_hook (run at exit, before the directory goes)
# then calls srv_main "$@".  See docs/real-servers.md.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRVDIR=$ROOT/scripts/servers
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SRVCHECK=${SRVCHECK:-$BUILD/tests/srvcheck}
LOADPARSE=${LOADPARSE:-$BUILD/tests/loadparse}
TRACE=${TRACE:-$BUILD/epbatch-trace}
SHIM=${SHIM:-$BUILD/libepbatch.so}
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

die() { echo "$SRV_NAME.sh: $*" >&2; exit 2; }
say() { echo "# $SRV_NAME: $*" >&2; }

# A free TCP port on 127.0.0.1: below the ephemeral range (clients of
# connection-per-request scenarios hold thousands of ephemeral ports, bound
# and in TIME_WAIT) and used by no socket in any state now.
srv_free_port() {
	local p i lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$lo" -gt 11000 ] || lo=32768
	for i in $(seq 1 50); do
		p=$((10000 + (RANDOM * 32768 + RANDOM + $$ + i) % (lo - 10000)))
		if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

# Waits (at most 10 s) until something listens on 127.0.0.1:PORT while PID lives.
srv_wait_port() {
	local port=$1 pid=$2 i
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || { say "exited before listening on $port"; return 1; }
		[ -n "$(ss -Hltn "src 127.0.0.1 and sport = :$port" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	say "not listening on 127.0.0.1:$port after 10 s"
	return 1
}

# The environment a variant runs the server under: baseline has no shim.
srv_preload_env() {
	case $1 in
	baseline) echo "" ;;
	sync|uring|kmod|auto)
		[ -f "$SHIM" ] || die "no $SHIM (make $BUILD/libepbatch.so)"
		echo "LD_PRELOAD=$SHIM EPBATCH_BACKEND=$1 EPBATCH_STATS=1" ;;
	uring+batch|kmod+batch)
		# every op the mirror can answer deferred, whatever the batch size
		[ -f "$SHIM" ] || die "no $SHIM (make $BUILD/libepbatch.so)"
		echo "LD_PRELOAD=$SHIM EPBATCH_BACKEND=${1%+batch} EPBATCH_MIN_BATCH=0 EPBATCH_STATS=1" ;;
	*) die "unknown variant '$1' (baseline, sync, uring, kmod, auto, uring+batch, kmod+batch)" ;;
	esac
}

# The shim backends to test on this machine: sync and uring (io_uring with
# IORING_OP_EPOLL_CTL, Linux 5.6+; the shim says so in the server log if not,
# and srv_stop fails on that line), kmod when the module is loaded; and each
# batching one again with every op deferred (+batch): where syscalls are
# cheap the shim's own policy keeps these servers' small batches direct, so
# without it their batched paths would go untested.
srv_backends() {
	local b="sync uring uring+batch"
	[ -c /dev/epoll_batch ] && b="$b kmod kmod+batch"
	echo "$b"
}

# Stops SRV_PID with its clean-stop signal and checks the exit: status 0
# within STOP_TIMEOUT seconds, and no sanitizer report, core dump or libepbatch
# complaint in its log.  Returns 0 when clean.
srv_stop() {
	local sig=$1 i rc
	[ -n "${SRV_PID:-}" ] || return 0
	kill -"$sig" "$SRV_PID" 2>/dev/null
	for i in $(seq 1 $((STOP_TIMEOUT * 20))); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$SRV_PID" 2>/dev/null; then
		say "still running $STOP_TIMEOUT s after SIG$sig: killing it"
		kill -KILL "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
		return 1
	fi
	wait "$SRV_PID"
	rc=$?
	SRV_PID=
	if [ $rc != 0 ]; then
		say "exited with status $rc after SIG$sig"
		return 1
	fi
	if grep -E "libepbatch:|AddressSanitizer|runtime error|core dumped|Segmentation" "$DIR"/*.log >&2; then
		say "its log has the lines above"
		return 1
	fi
	return 0
}

srv_cleanup() {
	declare -F srv_cleanup_hook >/dev/null && srv_cleanup_hook
	local p
	for p in ${TRACE_PID:-}; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ -n "${SRV_PID:-}" ]; then
		kill -KILL "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		say "kept $DIR"
	else
		rm -rf "$DIR"
	fi
}

# The shim's own counters from the server log (EPBATCH_STATS=1), summed over
# processes: "deferred=N batches=N ..."; a break-even (min_batch*) is each
# process's own, listed in their order ("-": never measured): summed, as
# until 2026-12-05, nginx's master and two workers read "min_batch=3".
srv_shim_stats() {
	awk '/^epbatch: pid=/ { for (i = 2; i <= NF; i++) { split($i, kv, "=")
		if (kv[1] ~ /^min_batch/) { v = kv[1] in b ? b[kv[1]] "," kv[2] : kv[2]; b[kv[1]] = v }
		else if (kv[1] != "pid" && kv[2] ~ /^[0-9]+$/) s[kv[1]] += kv[2] } }
	     END { for (k in s) printf "%s=%d ", k, s[k]; for (k in b) printf "%s=%s ", k, b[k]; print "" }' "$DIR"/*.log
}

# CPU seconds the threads of PID's tree have run so far (the first field of
# /proc/P/task/T/schedstat, in ns: utime and stime tick at 10 ms, too coarse
# for a load of a fraction of a second).
srv_tree_cpu() {
	local p
	for p in $(srv_tree "$1"); do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null
	done | awk '{ t += $1 } END { printf "%.4f\n", t / 1e9 }'
}

# PID and all its descendants.
srv_tree() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do srv_tree "$c"; done
}

srv_usage() {
	cat >&2 <<EOF
usage: $SRV_NAME.sh [--variant baseline|sync|uring|kmod|auto|uring+batch|kmod+batch] [--scenario S] [--check]
       [--load SECONDS] [--trace FILE.json] [--keep]
  scenarios: $SRV_SCENARIOS
  --check      integrity check: zero client errors, zero mismatches, clean exit
  --load S     run the scenario's load generator for S seconds and print its
               result (epbatch-load-shaped JSON, via the loadgen parser)
  --trace F    with --load: epbatch-trace record --children -p SERVER -o F
               for the load's duration
  --keep       keep the temporary directory (config, logs)
EOF
	exit 2
}

srv_main() {
	local variant=baseline scen check=0 load=0 trace="" out rc=0 ok trc cpu0
	scen=${SRV_SCENARIOS%% *}
	while [ $# -gt 0 ]; do
		case $1 in
		--variant) [ $# -ge 2 ] || srv_usage; variant=$2; shift 2 ;;
		--scenario) [ $# -ge 2 ] || srv_usage; scen=$2; shift 2 ;;
		--check) check=1; shift ;;
		--load) [ $# -ge 2 ] || srv_usage; load=$2; shift 2 ;;
		--trace) [ $# -ge 2 ] || srv_usage; trace=$2; shift 2 ;;
		--keep) KEEP=1; shift ;;
		-h|--help) srv_usage ;;
		*) echo "$SRV_NAME.sh: unknown argument '$1'" >&2; srv_usage ;;
		esac
	done
	case " $SRV_SCENARIOS " in *" $scen "*) ;; *) die "unknown scenario '$scen' ($SRV_SCENARIOS)" ;; esac
	case $load in ''|*[!0-9]*) die "--load wants whole seconds, not '$load'" ;; esac
	[ "$load" -le 600 ] || die "--load is at most 600 s"
	[ $check = 1 ] || [ "$load" -gt 0 ] || die "nothing to do: give --check and/or --load S"
	[ -z "$trace" ] || [ "$load" -gt 0 ] || die "--trace needs --load"
	[ -x "$SRVCHECK" ] || die "no $SRVCHECK (make $BUILD/tests/srvcheck)"
	PRELOAD_ENV=$(srv_preload_env "$variant") || exit 2
	if [ -n "$trace" ]; then
		# The tracer measures the machine first unless that is cached
		# (seconds, after the shim changed): do it now, so that the
		# recorder below attaches within the second the load waits.  A
		# traced shim that measured its own break-evens would do so with
		# every syscall slowed by the tracer's syscall tracepoints, and
		# batch what the same server untraced does not (memcached close:
		# 2 and 4 ops instead of 4 and never): under auto it takes the
		# ones calibrate's shim measured untraced, as epbatch-trace run
		# does, unless the user set EPBATCH_MIN_BATCH.
		cal_env=$("$TRACE" calibrate --env 2>/dev/null) || say "calibrate failed: the tracer measures itself"
		if [ "$variant" = auto ] && [ -z "${EPBATCH_MIN_BATCH:-}" ] && [ -n "$cal_env" ]; then
			PRELOAD_ENV="$PRELOAD_ENV $cal_env"
			say "traced: the shim decides with calibrate's break-evens ($cal_env)"
		fi
	fi
	SCENARIO=$scen
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/epbatch-$SRV_NAME.XXXXXX") || exit 1
	chmod 755 "$DIR"	# workers that drop to nobody read their files here
	trap srv_cleanup EXIT
	trap 'exit 130' INT TERM
	PORT=$(srv_free_port) || exit 1
	srv_start || { say "failed to start"; cat "$DIR/server.log" >&2; exit 1; }
	say "pid $SRV_PID, port $PORT, variant $variant, scenario $scen, dir $DIR"
	if [ $check = 1 ]; then
		srv_check "$scen" || { say "integrity check FAILED ($variant, $scen)"; rc=1; }
	fi
	if [ "$load" -gt 0 ]; then
		if [ -n "$trace" ]; then
			# one recorder for the tree: --children takes the workers
			# already there (from /proc, at attach) and any forked later.
			# One per process besides counted every worker twice.
			"$TRACE" record --children -p "$SRV_PID" -d 600 -o "$DIR/trace.json" \
				>"$DIR/trace.log" 2>&1 &
			TRACE_PID=$!
			sleep 1	# attach before the load starts
		fi
		cpu0=$(srv_tree_cpu "$SRV_PID")
		out=$(srv_load "$scen" "$load" 2>&1)
		# the server's own CPU time during the load (bench.sh: per request)
		say "server cpu_s=$(awk -v a="$cpu0" -v b="$(srv_tree_cpu "$SRV_PID")" 'BEGIN { printf "%.4f", b - a }')"
		echo "$out" >"$DIR/load.out"
		if [ -n "$trace" ]; then
			# the load ran a time or a count: stop the tracer when it is done
			kill -INT "$TRACE_PID"
			wait "$TRACE_PID"
			trc=$?
			[ $trc = 0 ] || say "tracer exited with status $trc on SIGINT"
			TRACE_PID=
			if ! { jq -e .totals "$DIR/trace.json" >/dev/null 2>&1 &&
			       cp "$DIR/trace.json" "$trace.tmp.$$" && mv -f "$trace.tmp.$$" "$trace"; }; then
				say "tracer failed:"
				cat "$DIR/trace.log" >&2
				rc=1
			fi
		fi
		if [ -x "$LOADPARSE" ]; then
			echo "$out" | "$LOADPARSE" || { say "load output not understood:"; echo "$out" >&2; rc=1; }
		else
			echo "$out"
		fi
	fi
	ok=0
	srv_stop "$(srv_stop_signal)" || ok=1
	[ $ok = 0 ] || { say "unclean exit ($variant, $scen)"; tail -n 20 "$DIR/server.log" >&2; rc=1; }
	[ "$variant" = baseline ] || say "shim: $(srv_shim_stats)"
	return $rc
}
