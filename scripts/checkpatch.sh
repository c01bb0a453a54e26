#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Run the kernel's checkpatch.pl --strict on kmod/*.c (and kmod/Kbuild).
# Uses checkpatch.pl from an installed kernel tree (headers/source package)
# when there is one, else the copy in scripts/third_party/checkpatch/.
#   scripts/checkpatch.sh [FILE...]     default: kmod/*.c
# Exit 0 when clean, 1 on any error/warning/check, 2 when it cannot run.
set -eu
cd "$(dirname "$0")/.."
cp=""
for c in /usr/src/linux-headers-*/scripts/checkpatch.pl /usr/src/linux-source-*/scripts/checkpatch.pl \
	 scripts/third_party/checkpatch/checkpatch.pl; do
	[ -f "$c" ] && { cp=$c; break; }
done
if [ -z "$cp" ]; then
	echo "checkpatch.sh: no checkpatch.pl found (expected scripts/third_party/checkpatch/checkpatch.pl)" >&2
	exit 2
fi
command -v perl >/dev/null || { echo "checkpatch.sh: perl is not installed" >&2; exit 2; }
[ $# -gt 0 ] || set -- kmod/*.c
for f in "$@"; do
	[ -f "$f" ] || { echo "checkpatch.sh: no such file: $f" >&2; exit 2; }
done
# --no-tree: not run inside a kernel tree; --strict: the CHECK level too.
# SPDX_LICENSE_TAG is checked by file type; FILE_PATH_CHANGES and
# MAINTAINERS only make sense for patches to the kernel itself.
exec perl "$cp" --no-tree --strict --terse --show-types --color=never \
	--ignore FILE_PATH_CHANGES -f "$@"
