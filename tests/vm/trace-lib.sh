# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Shared by the guest tests that run the tracer (guest.d/trace-*.sh, sourced
# with NAME set): the static tracer and workload, a work directory, and the
# JSON reader busybox can run (no python in the guest).
BUILD=${BUILD:-build}
TRACE=$BUILD/vm/epbatch-trace
GEN=$BUILD/vm/ctlgen
[ -x "$TRACE" ] && [ -x "$GEN" ] || { echo "$NAME: $TRACE or $GEN not built"; exit 1; }
fails=0
T=/tmp/$NAME
mkdir -p $T

# first numeric value of KEY in FILE: the totals block comes before the threads
first() { sed -n "s/.*\"$1\": \([0-9][0-9]*\).*/\1/p" "$2" | head -n 1; }
