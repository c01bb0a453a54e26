#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# scripts/lib/median-ci, the one rule behind every "median [95% interval]"
# the benchmark scripts print: known order statistics, and bad input.
cd "$(dirname "$0")/.." || exit 1
MCI=scripts/lib/median-ci
fails=0
is() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "FAIL - $1: want '$2', got '$3'"; fails=$((fails + 1)); fi
}
# 1..10 in any order: l = 2 (P(Bin(10, 1/2) <= 1) = 11/1024 <= 0.025 < 56/1024)
is "10 values: 2nd and 9th" "5.5 [2, 9]" "$(printf '%s\n' 7 3 10 1 5 9 2 8 4 6 | $MCI)"
# 1..20: l = 6 (P(<= 5) = 0.0207, P(<= 6) = 0.0577)
is "20 values: 6th and 15th" "10.5 [6, 15]" "$(seq 20 | sort -r | $MCI)"
is "below 6 values: min..max" "3 [1, 5]" "$(printf '5\n1\n\n3\n2\n4\n' | $MCI)"
is "ties and a format" "1.000 [0.900, 1.100]" "$(printf '%s\n' 1 1 1 0.9 1.1 | $MCI -f %.3f)"
is "signs and exponents" "-1e-08 [-2, 3e+08]" "$(printf '%s\n' -2 -1e-8 3e8 | $MCI)"
for bad in "x" "1.2.3" ""; do
	out=$(printf '%s\n' 1 "$bad" | $MCI 2>/tmp/mci.$$); rc=$?
	[ -z "$bad" ] && { out=$(: | $MCI 2>/tmp/mci.$$); rc=$?; }
	is "bad input '$bad': exit 2, one line on stderr, nothing on stdout" "2 1 " \
		"$rc $(wc -l </tmp/mci.$$) $out"
done
$MCI -f %d </dev/null 2>/tmp/mci.$$; is "a format that is not a number's: exit 2" "2 1" "$? $(wc -l </tmp/mci.$$)"
rm -f /tmp/mci.$$
echo "$fails failed checks"
[ "$fails" = 0 ]
