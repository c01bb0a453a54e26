# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The median of n values and a distribution-free 95% confidence interval of
# that median, by order statistics: of the sorted values x(1) <= ... <= x(n)
# the interval is [x(l), x(n - l + 1)], l the largest index with
# P(Bin(n, 1/2) <= l - 1) <= 0.025 (so it covers the median with at least
# 95%); with fewer than 6 values no l >= 1 qualifies and it is min..max.
# The one implementation of this rule in the tree, in POSIX awk that busybox
# awk runs too (no ^: the qemu guest's busybox awk lacks it).  Used as
#   a library:  awk -f scripts/lib/median-ci.awk -f PROGRAM.awk ...
#               (scripts/bench-shim.sh), with these functions:
#     mci_sort(a, n)    sorts a[1..n] in place (insertion sort, numbers)
#     mci_median(a, n)  the median of sorted a[1..n] (n > 0)
#     mci_lo(n)         l above: the interval is a[l]..a[n - l + 1] of sorted a
#   a command:  scripts/lib/median-ci [-f FORMAT] (runs this file with
#               -v mci_cli=1 -v mci_fmt=FORMAT; scripts/cost-model-check.sh,
#               scripts/servers/bench.sh): "median [lo, hi]" of stdin
function mci_sort(a, n,    i, j, x) {
	for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
}
function mci_median(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function mci_lo(n,    p, cdf, l) {
	if (n < 6) return 1
	# 0.5^n by halving (no ^ in busybox awk without math support)
	p = 1
	for (l = 0; l < n; l++) p /= 2
	cdf = p
	for (l = 1; ; l++) {
		p = p * (n - l + 1) / l          # P(X = l)
		if (cdf + p > 0.025) return l
		cdf += p
	}
}
function mci_err(msg) { print "median-ci: " msg | "cat 1>&2"; close("cat 1>&2"); mci_bad = 1; exit 2 }

# the command: one number a line, blank lines ignored
mci_cli && /^[ \t]*$/ { next }
mci_cli {
	if ($0 !~ /^[ \t]*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?[ \t]*$/)
		mci_err("line " NR ": '" $0 "' is not a number")
	mci_v[++mci_n] = $0 + 0
}
END {
	if (mci_cli) {
		if (mci_bad) exit 2
		if (!mci_n) mci_err("no numbers on stdin")
		mci_sort(mci_v, mci_n)
		mci_l = mci_lo(mci_n)
		printf mci_fmt " [" mci_fmt ", " mci_fmt "]\n", mci_median(mci_v, mci_n), mci_v[mci_l], mci_v[mci_n - mci_l + 1]
	}
}
