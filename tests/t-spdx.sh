#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Every source file carries an SPDX line (LICENSE, LICENSES/).  The folders
# listed are the ones converted so far; scripts/spdx-check.sh with no
# arguments lists the rest of the tree.
cd "$(dirname "$0")/.." || exit 1
scripts/spdx-check.sh Makefile user bpf include tests/trace tests/run tests/gate tests/unit \
	tests/install tests/workloads tests/perf tests/build.mk tests/run-tests.sh tests/t-asan.sh \
	tests/t-lint.sh tests/t-spdx.sh scripts || { echo "files above lack an SPDX line"; exit 1; }
[ -s LICENSE ] && [ -s LICENSES/GPL-2.0.txt ] && [ -s LICENSES/BSD-2-Clause.txt ] || exit 1
echo "ok"
