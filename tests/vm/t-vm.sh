#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Host side of the VM tests (picked up by tests/run-tests.sh): build the
# module for the guest's kernel and the guest test programs, then boot the
# guest with scripts/vm-test, which runs tests/vm/guest-suite.sh (the
# module's tests and fuzzer, then tests/vm/guest.d/*.sh).  Fails on any
# guest failure, a guest that does not boot, or one that does not finish in
# time (TEST_TIMEOUT minus a margin for the build).
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
for t in qemu-system-x86_64 busybox cpio; do
	if ! command -v $t >/dev/null; then
		echo "SKIP: $t is not installed (scripts/deps.sh --vm installs the test guest)"
		exit 77
	fi
done
kver=$(scripts/vm-test --print-kernel-version) || exit 1
if [ ! -f "/usr/src/linux-headers-$kver/Makefile" ]; then
	echo "SKIP: no linux-headers-$kver for the guest kernel (scripts/deps.sh --vm)"
	exit 77
fi
make -s vm-kmod vm-progs || { echo "t-vm: building the module or the guest programs failed"; exit 1; }
limit=${TEST_TIMEOUT:-600}
[ "$limit" -gt 120 ] && limit=$((limit - 60))
scripts/vm-test --timeout "$limit"
rc=$?
exit $rc
