#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Lists the tracked source files (C, headers, shell, Python, make fragments)
# whose first lines carry no SPDX-License-Identifier; exits 1 if there are any.
#   scripts/spdx-check.sh [PATH...]     (default: the whole tree)
cd "$(dirname "$0")/.." || exit 2
missing=0
for f in $(git ls-files -- "$@" | grep -E '\.(c|h|sh|py|mk)$|(^|/)(Makefile|Kbuild)$' |
	grep -v '^scripts/third_party/'); do
	head -n 3 "$f" | grep -q 'SPDX-License-Identifier:' && continue
	echo "$f"
	missing=1
done
exit $missing
