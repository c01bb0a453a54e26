# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Shared by the tracer's integration tests (sourced).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TRACE=$BUILD/epbatch-trace
CTLGEN=$BUILD/tests/ctlgen
T=$(mktemp -d /tmp/epbatch-test.XXXXXX)
trap 'rm -rf "$T"; [ -n "${BGPIDS:-}" ] && kill $BGPIDS 2>/dev/null' EXIT
BGPIDS=
fails=0

[ "$(id -u)" = 0 ] || { echo "needs root (real BPF)"; exit 77; }
[ -x "$TRACE" ] && [ -x "$CTLGEN" ] || { echo "not built: run make"; exit 1; }

ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
# check DESCRIPTION CMD...: pass when CMD succeeds
check() { d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
finish() { echo "$fails failed checks"; [ "$fails" = 0 ]; }

# JSON assertions in python3: jq is not assumed
pyjson() { python3 - "$@"; }

# one_line DESC EXPECTED_RC CMD...: exactly one stderr line, that exit code
one_line() {
	d=$1 want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	n=$(wc -l <"$T/err")
	if [ "$rc" = "$want" ] && [ "$n" = 1 ]; then ok "$d: $(cat "$T/err")"
	else fail "$d: rc=$rc (want $want), $n stderr lines:"; cat "$T/err"; fi
}
