#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Static checks are part of the tests: cppcheck on every C file of user
# space, tests and the shim, and checkpatch.pl --strict on the module.
cd "$(dirname "$0")/.." || exit 1
command -v cppcheck >/dev/null || { echo "cppcheck is not installed"; exit 77; }
exec make -s lint
