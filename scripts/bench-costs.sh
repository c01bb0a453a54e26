#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmark (not a test): what a syscall, epoll_ctl, epoll_wait and the
# io_uring backend's batches (1..64 ops, alone and fused with the wait) cost
# on this machine, without the shim (preload/bench/costs.c), and the bound
# of the double re-arm loop (the least any shim over io_uring could spend on
# it, against no shim).  The table on stdout, JSON in build/bench/costs.json.
#   scripts/bench-costs.sh [-r ROUNDS]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
rounds=9
while getopts r: opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	*) echo "usage: scripts/bench-costs.sh [-r ROUNDS]" >&2; exit 2 ;;
	esac
done
bin=$BUILD/shim/epbatch-costs
[ -x "$bin" ] || { echo "bench-costs: $bin missing (make tests-build)" >&2; exit 1; }
mkdir -p "$BUILD/bench"
"$bin" -r "$rounds"
"$bin" -r "$rounds" -j >"$BUILD/bench/costs.json.tmp"
mv "$BUILD/bench/costs.json.tmp" "$BUILD/bench/costs.json"
echo "JSON: $BUILD/bench/costs.json"
