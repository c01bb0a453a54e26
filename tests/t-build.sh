#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The build's own guarantees (issue 12): objects depend on the headers they
# include (-MMD -MP: the uapi header rebuilds user/loader.o), every object on
# the flags it was built with ($(BUILD)/.flags), and a failed recipe leaves no
# target behind (.DELETE_ON_ERROR).  make -n -W FILE asks "what if FILE
# changed" without touching anything.
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
fails=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
[ -f "$BUILD/user/loader.o" ] && [ -f "$BUILD/.flags" ] || { echo "not built: run make"; exit 1; }

whatif() { make -n BUILD="$BUILD" -W "$1" "$2" 2>/dev/null; }
whatif include/uapi/epoll_batch.h "$BUILD/user/loader.o" | grep -q "user/loader.c" &&
	ok "uapi header change rebuilds user/loader.o" || fail "uapi header change does not rebuild loader.o"
whatif bpf/common.bpf.h "$BUILD/bpf/epbatch.bpf.o" | grep -q "bpf/epbatch.bpf.c" &&
	ok "a BPF header change rebuilds the BPF object" || fail "bpf/common.bpf.h does not rebuild epbatch.bpf.o"
whatif user/base/base.h "$BUILD/user/report.o" | grep -q "user/report.c" &&
	ok "a base header change rebuilds its users" || fail "base.h does not rebuild report.o"
whatif user/compare.h "$BUILD/user/aggregate.o" | grep -q "user/aggregate.c" &&
	fail "an unrelated header rebuilds aggregate.o" || ok "an unrelated header rebuilds nothing"
for t in "$BUILD/user/report.o" "$BUILD/bpf/epbatch.bpf.o" "$BUILD/epbatch-bench-server"; do
	whatif "$BUILD/.flags" "$t" | grep -q -- "-o $t\|-o $t " &&
		ok "a flags change rebuilds $t" || fail "a flags change does not rebuild $t"
done
grep -q '^\.DELETE_ON_ERROR:' Makefile && ok ".DELETE_ON_ERROR" || fail "no .DELETE_ON_ERROR"
echo "$fails failed checks"
[ "$fails" = 0 ]
