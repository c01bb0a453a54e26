#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmark (not a test): libepbatch.so against no shim on event loops
# (build/shim/epbatch-rearm, preload/bench/rearm.c), as a matrix of cells
# (mode x wait form x K fds) and variants:
#   baseline  no LD_PRELOAD
#   auto      LD_PRELOAD=libepbatch.so, default backend
#   sync      EPBATCH_BACKEND=sync (pass-through: the shim's bookkeeping alone)
#   uring     EPBATCH_BACKEND=uring
#   kmod      EPBATCH_BACKEND=kmod (only when /dev/epoll_batch exists)
#   null      not the shim: build/shim/libepbatch-null.so (preload/bench/null.c),
#             the epoll calls forwarded to libc and nothing else: what any
#             interposer costs (only when asked for with -v)
# Interleaved: every round runs every cell once per variant, variants back to
# back in an order rotated each round, so machine noise (other builds on the
# same 2 vCPUs) hits them alike.  Per cell: the median ns/iteration of each
# variant, and the ratio variant/baseline = the median of the per-round
# ratios, with a distribution-free 95% interval of that median (order
# statistics of the binomial; with fewer than 6 rounds it is min..max:
# scripts/lib/median-ci.awk).
# A ratio above 1.03 is flagged SLOWER.  Reports numbers; never fails on a
# timing (exit 1 only when a loop itself fails, 2 on bad usage).
#
#   scripts/bench-shim.sh [-q] [-r ROUNDS] [-i ITERATIONS] [-T SECONDS]
#                         [-k K,K,...] [-m MODE,...] [-v VARIANT,...] [-o FILE]
#   -q  quick: 3 rounds, a quarter of the iterations, fewer cells
#   -r  rounds (default 15)          -i  iterations per run at K=64 (default
#   -T  stop starting rounds after       400; K fds run 64/K times as many,
#       SECONDS (default 600)            conn mode 16x)
#   -k  the K list of the keep-alive cells (default 1,2,4,8,16,64)
#   -m  only these modes (keepalive,double,rearm,idle,conn; default all)
#   -v  variants besides baseline (default auto,sync,uring[,kmod]; also null)
# JSON: build/bench/shim.json (schema epbatch-bench-shim/2).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
rounds=15 iters=400 budget=600 quick=0 out=$BUILD/bench/shim.json
klist="1 2 4 8 16 64" vlist="" mlist=""
usage() {
	echo "usage: scripts/bench-shim.sh [-q] [-r ROUNDS] [-i ITERATIONS] [-T SECONDS] [-k K,...] [-m MODE,...] [-v VARIANT,...] [-o FILE]" >&2
	exit 2
}
posint() {
	case $1 in '' | *[!0-9]*) echo "bench-shim: $2 '$1' is not a positive integer" >&2; exit 2 ;; esac
	[ "$1" -gt 0 ] || { echo "bench-shim: $2 '$1' is not a positive integer" >&2; exit 2; }
}
r_set=0 i_set=0
while getopts qr:i:T:k:m:v:o: opt; do
	case $opt in
	q) quick=1 ;;
	r) rounds=$OPTARG r_set=1 ;;
	i) iters=$OPTARG i_set=1 ;;
	T) budget=$OPTARG ;;
	k) klist=$(echo "$OPTARG" | tr , ' ') ;;
	m) mlist=$(echo "$OPTARG" | tr , ' ') ;;
	v) vlist=$(echo "$OPTARG" | tr , ' ') ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
posint "$rounds" rounds
posint "$iters" iterations
posint "$budget" seconds
for k in $klist; do posint "$k" K; [ "$k" -le 1024 ] || { echo "bench-shim: K $k > 1024" >&2; exit 2; }; done
if [ $quick = 1 ]; then
	[ $r_set = 1 ] || rounds=3
	[ $i_set = 1 ] || iters=100
	klist="1 8 64"
fi
[ -n "$vlist" ] || { vlist="auto sync uring"; [ -e /dev/epoll_batch ] && vlist="$vlist kmod"; }
for v in $vlist; do
	case $v in auto | sync | uring | kmod | null) ;; *) echo "bench-shim: unknown variant '$v'" >&2; exit 2 ;; esac
done
variants="baseline $vlist"
for m in $mlist; do
	case $m in keepalive | double | rearm | idle | conn) ;; *) echo "bench-shim: unknown mode '$m'" >&2; exit 2 ;; esac
done
SHIM=$BUILD/libepbatch.so LOOP=$BUILD/shim/epbatch-rearm NULLSO=$BUILD/shim/libepbatch-null.so
if [ ! -f "$SHIM" ] || [ ! -x "$LOOP" ]; then make -s "$SHIM" "$LOOP"; fi
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")
case " $vlist " in *" null "*)
	[ -f "$NULLSO" ] || make -s "$NULLSO"
	NULLSO=$(cd "$(dirname "$NULLSO")" && pwd)/$(basename "$NULLSO") ;;
esac

# The cells: "mode wait K iterations [loop args]"
cells() {
	waits="block zero short pwait pwait2"
	[ $quick = 1 ] && waits="block zero short"
	for w in $waits; do
		for k in $klist; do
			echo "keepalive $w $k $((iters * 64 / k))"
		done
	done
	for w in zero block; do echo "double $w 64 $iters"; done
	if [ $quick = 0 ]; then
		for w in block zero; do
			for k in 1 64; do echo "rearm $w $k $((iters * 64 / k))"; done
		done
	fi
	# idle: the wait really times out (1 ms epoll_wait, 200 us epoll_pwait2;
	# the loop sets its timer slack to 1 ns, so both variants sleep alike)
	for k in 1 64; do
		echo "idle short $k $(( (iters + 7) / 8 ))"
		[ $quick = 1 ] || echo "idle pwait2 $k $(( (iters + 3) / 4 )) -u 200"
	done
	echo "conn block 1 $((iters * 16))"
}

# The untimed warm-up: a tenth of the run, and at least 40 iterations, past
# the shim's first decisions: its break-even measurement (once per process,
# ~1 ms here) made 50-iteration idle runs look 2% slower under io_uring.
warmup() {
	wu=$(($1 / 10 + 1))
	[ $wu -ge 40 ] || wu=40
	echo $wu
}

run() { # run VARIANT MODE WAIT K ITERS [ARGS]: prints ns/iteration
	v=$1 m=$2 w=$3 k=$4 n=$5
	shift 5
	set -- "$LOOP" -m "$m" -w "$w" -n "$k" -i "$n" -W "$(warmup "$n")" -d 5 "$@"
	case $v in
	baseline) "$@" ;;
	auto) env -u EPBATCH_BACKEND LD_PRELOAD="$SHIM" "$@" ;;
	null) LD_PRELOAD="$NULLSO" "$@" ;;
	*) EPBATCH_BACKEND=$v LD_PRELOAD="$SHIM" "$@" ;;
	esac </dev/null | sed -n 's/.*"ns_per_iter": \([0-9.]*\).*/\1/p'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$mlist" ]; then
	cells | while read -r m rest; do
		case " $mlist " in *" $m "*) echo "$m $rest" ;; esac
	done >"$tmp/cells"
else
	cells >"$tmp/cells"
fi
[ -s "$tmp/cells" ] || { echo "bench-shim: no cells selected" >&2; exit 2; }
ncells=$(wc -l <"$tmp/cells")
nvar=$(echo "$variants" | wc -w)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
echo "bench-shim: $ncells cells x $nvar variants, up to $rounds rounds (stops after ${budget}s)" >&2
r=0
while [ $r -lt "$rounds" ]; do
	if [ $r -gt 0 ] && [ $(($(date +%s) - start)) -ge "$budget" ]; then
		echo "bench-shim: time budget reached after $r rounds" >&2
		break
	fi
	c=0
	while read -r m w k n extra; do
		# rotate the variant order by round and cell
		# shellcheck disable=SC2086 # a list of words
		set -- $variants
		i=$(( (r + c) % nvar ))
		while [ $i -gt 0 ]; do x=$1; shift; set -- "$@" "$x"; i=$((i - 1)); done
		for v in "$@"; do
			# shellcheck disable=SC2086
			ns=$(run "$v" "$m" "$w" "$k" "$n" $extra) || true
			[ -n "$ns" ] || { echo "bench-shim: $v $m $w K=$k failed" >&2; exit 1; }
			echo "$r $m $w $k $v $ns" >>"$tmp/samples"
		done
		c=$((c + 1))
	done <"$tmp/cells"
	r=$((r + 1))
	echo "bench-shim: round $r done ($(($(date +%s) - start))s)" >&2
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$(dirname "$out")"

# the summary; the median and its 95% interval (mci_sort, mci_median, mci_lo)
# come from scripts/lib/median-ci.awk, the rule's one implementation
cat >"$tmp/summary.awk" <<'AWK'
{
	key = $2 " " $3 " " $4
	if (!(key in seen)) { seen[key] = 1; order[++ncell] = key }
	ns[key, $5, $1] = $6; have[key, $5, $1] = 1
}
END {
	nv = split(variants, V, " ")
	printf "{ \"schema\": \"epbatch-bench-shim/2\", \"date\": \"%s\", \"kernel\": \"%s\", \"nproc\": %d,\n", date, kernel, nproc >out
	printf "  \"loadavg_start\": \"%s\", \"loadavg_end\": \"%s\", \"seconds\": %d,\n", load0, load1, secs >out
	printf "  \"rounds\": %d, \"iterations_k64\": %d, \"slower_threshold\": 1.03,\n  \"cells\": [", rounds, iters >out
	printf "%-9s %-6s %3s %10s", "mode", "wait", "K", "base us" 
	for (j = 2; j <= nv; j++) printf "  %-28s", V[j] " ratio [95%]"
	printf "\n"
	for (c = 1; c <= ncell; c++) {
		key = order[c]; split(key, f, " ")
		printf "%s\n    { \"mode\": \"%s\", \"wait\": \"%s\", \"fds\": %d, \"variants\": {", (c > 1 ? "," : ""), f[1], f[2], f[3] >out
		line = sprintf("%-9s %-6s %3d", f[1], f[2], f[3])
		for (j = 1; j <= nv; j++) {
			v = V[j]; n = 0; nr = 0; samples = ""
			for (r = 0; r < rounds; r++) {
				if (!have[key, v, r]) continue
				a[++n] = ns[key, v, r]; samples = samples (n > 1 ? ", " : "") ns[key, v, r]
				if (j > 1 && have[key, V[1], r] && ns[key, V[1], r] > 0)
					q[++nr] = ns[key, v, r] / ns[key, V[1], r]
			}
			mci_sort(a, n); med = n ? mci_median(a, n) : 0
			if (j == 1) { base = med; line = line sprintf(" %10.2f", med / 1000) }
			printf "%s\n        \"%s\": { \"ns_per_iter_median\": %.1f, \"samples\": [%s]", (j > 1 ? "," : ""), v, med, samples >out
			if (j > 1) {
				mci_sort(q, nr)
				if (nr) {
					l = mci_lo(nr); rm = mci_median(q, nr); lo = q[l]; hi = q[nr - l + 1]
				} else { rm = lo = hi = 0 }
				flag = (rm > 1.03) ? "SLOWER" : ""
				printf ", \"ratio\": %.3f, \"ratio_ci95\": [%.3f, %.3f], \"speedup\": %.2f, \"slower\": %s", rm, lo, hi, (rm > 0 ? 1 / rm : 0), (flag ? "true" : "false") >out
				line = line sprintf("  %5.2f [%5.2f..%5.2f] %-6s     ", rm, lo, hi, flag)
				if (flag) nslow[v]++
			}
			printf " }" >out
		}
		printf " } }" >out
		print line
	}
	printf "\n  ]\n}\n" >out
	printf "ratio = variant time / baseline time per iteration (< 1: the shim is faster); median of %d rounds\n", rounds
	for (j = 2; j <= nv; j++) printf "%s: %d of %d cells SLOWER (ratio > 1.03)\n", V[j], nslow[V[j]] + 0, ncell
}
AWK
awk -v variants="$variants" -v rounds="$r" -v out="$out.tmp" -v kernel="$(uname -r)" \
	-v nproc="$(nproc)" -v iters="$iters" -v load0="$load0" -v load1="$load1" \
	-v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -v secs="$(($(date +%s) - start))" \
	-f scripts/lib/median-ci.awk -f "$tmp/summary.awk" "$tmp/samples"
mv "$out.tmp" "$out"
echo "JSON: $out (kernel $(uname -r), $(nproc) CPUs, load average $load0 -> $load1)"
