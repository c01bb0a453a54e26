#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The epoll conformance suite: run every scenario natively (twice: the
# transcript must not change from run to run) and under
# LD_PRELOAD=libepbatch.so with each backend, and diff the transcripts.
# Any difference, a crash or a timeout fails.  One line per scenario x
# backend, then "N passed, N failed"; exit status 1 on any failure.
#
# Plain POSIX sh (busybox in the test guest).  Environment:
#   BUILD             build directory (default: build, relative to the repo)
#   CONF_DIR          scenario binaries (default: $BUILD/conformance)
#   SHIM              the shim (default: $BUILD/libepbatch.so)
#   BACKENDS          backends to run (default: "sync uring uring+batch
#                     uring+unfused", plus kmod and kmod+batch when
#                     /dev/epoll_batch exists); NAME+batch runs NAME with
#                     EPBATCH_MIN_BATCH=0 (every op the mirror can answer
#                     deferred, whatever the batch size: the batching
#                     machinery, which the default policy uses only for big
#                     batches); NAME+unfused the same with 0-timeout waits
#                     batched unfused (EPBATCH_POLL_FORM=unfused); "none" =
#                     native runs only, for developing scenarios before the
#                     shim exists
#   SCENARIO_TIMEOUT  seconds per run (default 20); a hang is a failure
#   KEEP              directory to keep every transcript in (default: a
#                     temporary directory, removed at the end)
#   tests/conformance/t-conformance.sh [PATTERN]   PATTERN filters scenario names (grep -E)
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
tap_setup "sync uring uring+batch uring+unfused" "kmod kmod+batch"
CONF_DIR=$(abs "${CONF_DIR:-$BUILD/conformance}")
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-20}
pattern=${1:-.}
[ "$BACKENDS" = none ] && BACKENDS=""

tap_workdir conformance
out=$work

# run FILE CMD...: the transcript (stdout, then the exit status, then stderr)
# of one run, in FILE; prints the exit status.
run() {
	file=$1
	shift
	timeout "$SCENARIO_TIMEOUT" "$@" >"$file" 2>"$file.err" </dev/null
	rc=$?
	echo "# exit $rc" >>"$file"
	if [ -s "$file.err" ]; then
		echo "# stderr:" >>"$file"
		cat "$file.err" >>"$file"
	fi
	rm -f "$file.err"
	echo "$rc"
}

# describe RC: why a run failed, for the report line
describe() {
	case $1 in
	124 | 137 | 142 | 143) echo "timed out or killed after ${SCENARIO_TIMEOUT}s (exit $1)" ;;
	*) echo "exit $1" ;;
	esac
}

# show_diff NATIVE SHIM: the start of the difference and, since a run that
# hung or crashed differs from its first missing line to the end, where the
# shim's transcript stopped.
show_diff() {
	diff -u "$1" "$2" | sed -n '3,32p' | sed 's/^/#   /'
	if [ "$(tail -n 1 "$1")" != "$(tail -n 1 "$2")" ] || ! grep -q '^# exit 0$' "$2"; then
		echo "#   ... the run under the shim ended with:"
		tail -n 8 "$2" | sed 's/^/#   | /'
	fi
}

scenarios=""
for bin in "$CONF_DIR"/c-*; do
	[ -x "$bin" ] && scenarios="$scenarios $bin"
done
if [ -z "$scenarios" ]; then
	notok "scenarios" "none in $CONF_DIR (build them with make tests-build)"
fi

shim_ok=1
if [ -n "$BACKENDS" ] && [ ! -f "$SHIM" ]; then
	notok "libepbatch.so" "not found at $SHIM: the shim must be built (make build/libepbatch.so)"
	shim_ok=0
fi

for bin in $scenarios; do
	name=${bin##*/c-}
	echo "$name" | grep -Eq -- "$pattern" || continue
	native=$out/$name.native
	rc=$(run "$native" "$bin")
	if [ "$rc" != 0 ]; then
		notok "$name native" "$(describe "$rc")"
		tail -n 5 "$native" | sed 's/^/#   /'
		continue
	fi
	rc=$(run "$out/$name.native2" "$bin")
	if ! cmp -s "$native" "$out/$name.native2"; then
		notok "$name native" "transcript differs between two native runs (scenario is not deterministic)"
		show_diff "$native" "$out/$name.native2"
		continue
	fi
	ok "$name native"
	[ $shim_ok = 1 ] || continue
	for b in $BACKENDS; do
		t=$out/$name.$b
		# shellcheck disable=SC2046 # backend_env's words
		rc=$(run "$t" env $(backend_env "$b") LD_PRELOAD="$SHIM" \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$bin")
		if cmp -s "$native" "$t"; then
			ok "$name $b"
		else
			notok "$name $b" "transcript differs from native ($(describe "$rc"))"
			show_diff "$native" "$t"
		fi
	done
done

tap_end
