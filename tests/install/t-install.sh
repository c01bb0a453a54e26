#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make install into a DESTDIR, then the installed epbatch-trace: --version,
# and `run`, which must find its reference server and load generator in
# LIBEXECDIR (issue 12: it looked only beside itself); make uninstall
# removes every file it installed.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/epbatch-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

[ -x "$BUILD/epbatch-trace" ] || { echo "not built: run make"; exit 1; }
D=$T/root
make -s BUILD="$BUILD" DESTDIR="$D" install >"$T/make.log" 2>&1 || { cat "$T/make.log"; fail "make install"; }
P=$D/usr/local
for f in sbin/epbatch-trace libexec/epbatch/epbatch-bench-server libexec/epbatch/epbatch-load \
	share/man/man8/epbatch-trace.8; do
	[ -e "$P/$f" ] && ok "installed $f" || fail "not installed: $f"
done
"$P/sbin/epbatch-trace" --version | grep -q "^epbatch-trace $(cat VERSION)$" && ok "--version" ||
	fail "--version: $("$P/sbin/epbatch-trace" --version 2>&1)"
if [ "$(id -u)" = 0 ]; then
	"$P/sbin/epbatch-trace" run --variants baseline --repeat 1 --duration 1 -o "$T/out" \
		>"$T/run.out" 2>"$T/run.err"
	rc=$?
	if [ $rc = 0 ] && python3 -c "
import json, sys
s = json.load(open('$T/out/summary.json'))
assert s['variants']['baseline']['runs'] == 1
assert s['version'] == open('VERSION').read().strip()
"; then ok "the installed run finds its reference programs"
	else fail "installed run (exit $rc)"; tail -5 "$T/run.err"; fi
else
	echo "# not root: the installed run is not tried"
fi
make -s BUILD="$BUILD" DESTDIR="$D" uninstall >"$T/make.log" 2>&1 || fail "make uninstall"
left=$(find "$D" -type f | wc -l)
[ "$left" = 0 ] && ok "uninstall removed every file" || { fail "uninstall left $left files"; find "$D" -type f; }
echo "$fails failed checks"
[ "$fails" = 0 ]
