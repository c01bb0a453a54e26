#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Every source file of the tree carries an SPDX line (LICENSE, LICENSES/).
cd "$(dirname "$0")/.." || exit 1
scripts/spdx-check.sh || { echo "files above lack an SPDX line"; exit 1; }
[ -s LICENSE ] && [ -s LICENSES/GPL-2.0.txt ] && [ -s LICENSES/BSD-2-Clause.txt ] || exit 1
echo "ok"
