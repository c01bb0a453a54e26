# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=sh
# Sourced by the test scripts that print a line per check and close with
# "N passed, N failed" (tests/conformance/t-conformance.sh, tests/libs/t-libs.sh).
# Plain POSIX sh: the conformance suite also runs in the guest's busybox.
#   tap_workdir NAME   a work directory in $work: KEEP=DIR keeps one,
#                      else a temporary one removed at exit
#   ok TEXT            a passed check
#   notok NAME REASON  a failed one; NAME goes into the closing list
#   tap_end            the closing lines; exit status 1 on any failure

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
