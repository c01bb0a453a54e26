#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make demo`: the before/after comparison on the reference server, with
# every variant this machine can run (the others are listed as skipped, with
# the reason), in about a minute: 5 interleaved repeats of 2 s per variant --
# the fewest with which the Mann-Whitney test can call a change significant
# (3 a side cannot reach p < 0.05: the table then only says "not testable").
# Prints the report table and the path of report.html.
#   DEMO_OUT=DIR     where the results go (default epbatch-results/demo-DATE)
#   DEMO_REPEAT=N, DEMO_DURATION=S, DEMO_MODE=oneshot|flip|conn
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
if [ "$(id -u)" != 0 ]; then
	echo "demo: the tracer loads BPF programs: run it as root (sudo make demo)" >&2
	exit 1
fi
for f in epbatch-trace epbatch-bench-server epbatch-load; do
	[ -x "$BUILD/$f" ] || { echo "demo: $BUILD/$f is missing: run make" >&2; exit 1; }
done
out=${DEMO_OUT:-epbatch-results/demo-$(date +%Y%m%d-%H%M%S)}
echo "epbatch demo: reference server, ${DEMO_MODE:-oneshot} mode, results in $out" >&2
exec "$BUILD/epbatch-trace" run --variants baseline,preload,kmod,unshare,preload+unshare \
	--repeat "${DEMO_REPEAT:-5}" --duration "${DEMO_DURATION:-2}" --mode "${DEMO_MODE:-oneshot}" \
	-o "$out"
