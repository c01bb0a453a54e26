#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Run the kernel's checkpatch.pl --strict on the module's sources.
# checkpatch.pl (with spelling.txt and const_structs.checkpatch) is the one
# of the kernel the module targets, from Debian's linux-source-6.1 package:
# `scripts/deps.sh --checkpatch build/checkpatch` extracts it from the
# package's tarball once (~15 s) and keeps it in build/.
#   scripts/checkpatch.sh [FILE...]     default: kmod/*.c kmod/*.h
# Exit 0 when clean, 1 on any error/warning/check, 2 when it cannot run.
set -eu
cd "$(dirname "$0")/.."
command -v perl >/dev/null || { echo "checkpatch.sh: perl is not installed" >&2; exit 2; }
cp=$(scripts/deps.sh --checkpatch "${BUILD:-build}/checkpatch") || {
	echo "checkpatch.sh: cannot get checkpatch.pl (install linux-source-6.1: scripts/deps.sh)" >&2
	exit 2
}
[ $# -gt 0 ] || set -- kmod/*.c kmod/*.h
for f in "$@"; do
	[ -f "$f" ] || { echo "checkpatch.sh: no such file: $f" >&2; exit 2; }
done
# --no-tree: not run inside a kernel tree; --strict: the CHECK level too.
# FILE_PATH_CHANGES and MAINTAINERS only make sense for patches to the
# kernel itself.
exec perl "$cp" --no-tree --strict --terse --show-types --color=never \
	--ignore FILE_PATH_CHANGES -f "$@"
