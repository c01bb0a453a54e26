# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=sh
# Sourced by the test scripts that print a line per check and close with
# "N passed, N failed" (tests/conformance/t-conformance.sh, tests/libs/t-libs.sh,
# tests/shim/t-shim-alt.sh).
# Plain POSIX sh: the conformance suite also runs in the guest's busybox.
#   tap_setup DEFAULT KMOD  the common start: native runs are native, cd to
#                      the repo root ($root; the script is tests/DIR/NAME.sh),
#                      BUILD and SHIM absolute, BACKENDS defaults to DEFAULT
#                      plus KMOD when /dev/epoll_batch exists
#   abs PATH           PATH made absolute from $root
#   backend_env B      the environment of backend B: EPBATCH_BACKEND, and
#                      for B+batch (every op the mirror can answer
#                      deferred) EPBATCH_MIN_BATCH=0, for B+unfused that
#                      and EPBATCH_POLL_FORM=unfused (0-timeout waits
#                      batched unfused); to be word-split
#   tap_workdir NAME   a work directory in $work: KEEP=DIR keeps one,
#                      else a temporary one removed at exit
#   ok TEXT            a passed check
#   notok NAME REASON  a failed one; NAME goes into the closing list
#   tap_end            the closing lines; exit status 1 on any failure

tap_setup() {
	# Native runs must be native, and the shim runs with its defaults except
	# the backend: EPBATCH_STATS would add output, EPBATCH_UNSHARE changes
	# fd-table sharing between threads on purpose (documented as not
	# transparent).
	unset LD_PRELOAD EPBATCH_BACKEND EPBATCH_STATS EPBATCH_UNSHARE
	root=$(cd "$(dirname "$0")/../.." && pwd)
	cd "$root" || exit 1
	BUILD=$(abs "${BUILD:-build}")
	SHIM=$(abs "${SHIM:-$BUILD/libepbatch.so}")
	if [ -z "${BACKENDS:-}" ]; then
		BACKENDS=$1
		[ -e /dev/epoll_batch ] && BACKENDS="$BACKENDS $2"
	fi
}

abs() { case $1 in /*) echo "$1" ;; *) echo "$root/$1" ;; esac; }

backend_env() {
	case $1 in
	*+batch) echo "EPBATCH_BACKEND=${1%+batch} EPBATCH_MIN_BATCH=0" ;;
	*+unfused) echo "EPBATCH_BACKEND=${1%+unfused} EPBATCH_MIN_BATCH=0 EPBATCH_POLL_FORM=unfused" ;;
	*) echo "EPBATCH_BACKEND=$1 EPBATCH_MIN_BATCH=" ;;
	esac
}

tap_workdir() {
	if [ -n "${KEEP:-}" ]; then
		work=$KEEP
		mkdir -p "$work" || exit 1
	else
		work=$(mktemp -d "${TMPDIR:-/tmp}/epbatch-$1.XXXXXX") || exit 1
		trap 'rm -rf "$work"' EXIT
		trap 'exit 130' INT TERM
	fi
}

pass=0 fail=0 failed=""
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() {
	fail=$((fail + 1))
	failed="$failed $(echo "$1" | tr ' ' /)"
	echo "not ok - $1${2:+: $2}"
}

tap_end() {
	[ -n "$failed" ] && echo "# failed:$failed"
	echo "$pass passed, $fail failed"
	[ $fail = 0 ]
}
