#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: every benchmark, each writing JSON under build/bench/ and
# printing its table.  Benchmarks report numbers; they are not tests.
set -u
cd "$(dirname "$0")/.."
mkdir -p build/bench
status=0
for b in scripts/bench-costs.sh scripts/cost-model-check.sh scripts/bench-overhead.sh scripts/bench-trace-server.sh scripts/bench-shim.sh scripts/bench-shim-instr.sh scripts/bench-server-instr.sh bench/measure.sh; do
	[ -x "$b" ] || continue
	echo "== $b"
	"$b" || status=1
done
exit $status
