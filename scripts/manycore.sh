#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The Apache Traffic Server experiment (a private fd table per event thread:
# accept4/close stop spinning on the shared files_struct->file_lock), with
# the reference server, on a machine with many cores: baseline (one table
# shared by every worker) against unshare (unshare(CLONE_FILES) per worker),
# at 8, 32 and 128 worker threads, in conn mode (a real connection per
# request) and churn mode (conn + 256 descriptors allocated and freed per
# request).  Writes the table docs/results.md shows.
#
#   scripts/manycore.sh [--threads "8 32 128"] [--modes "conn churn"]
#                       [--repeat 3] [--duration 5] [--load-threads N] [-o DIR]
#   scripts/manycore.sh --table DIR...    the table of existing `run` outputs
#
# Needs root (BPF), `make` done, and a kernel where fentry or kprobes work
# (most distribution kernels) for exact slow-path counts; with only perf
# sampling the counts columns stay 0 and the table says "sample".  Runs
# 2 variants x repeats x (duration + ~3 s) per configuration: with the
# defaults 6 configurations, about 5 minutes on 16 cores.  The load
# generator runs on the same machine (loopback): give it cores
# (--load-threads, default a quarter of the CPUs).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TRACE=$BUILD/epbatch-trace

# One line per trace JSON of a `run` (runs/<variant>-<n>.json):
# variant method requests rps count ns files_count files_ns threads private max_thread_files_count
parse_run() {
	awk -v var="$2" '
	/"spin_method":/ { m = $2; gsub(/[",]/, "", m) }
	/"threads": \[/ { th = 1 }
	/"load": \{/ { th = 0; ld = 1 }
	th && /"tid":/ { in_spin = 0; w = 0 }
	th && $1 == "\"comm\":" { w = $2 ~ /^"worker-/; nt += w }
	th && w && /"private_fd_table": true/ { np++ }
	/"spin": \{/ { in_spin = 1 }
	in_spin && $1 == "\"count\":" && !th && c == "" { c = $2 }
	in_spin && $1 == "\"ns\":" && !th && n == "" { n = $2 }
	in_spin && $1 == "\"files_lock_ns\":" && !th && fn == "" { fn = $2 }
	in_spin && $1 == "\"files_lock_count\":" && !th && fc == "" { fc = $2 }
	in_spin && $1 == "\"files_lock_count\":" && th && w { v = $2 + 0; if (v > mx) mx = v; in_spin = 0 }
	ld && $1 == "\"requests\":" { r = $2 }
	ld && $1 == "\"rps\":" { p = $2 }
	END {
		gsub(/,/, "", c); gsub(/,/, "", n); gsub(/,/, "", fn); gsub(/,/, "", fc)
		gsub(/,/, "", r); gsub(/,/, "", p)
		printf "%s %s %.0f %.1f %.0f %.0f %.0f %.0f %d %d %.0f\n", var, m, r, p, c, n, fc, fn, nt, np, mx
	}' "$1"
}

# The markdown rows of one `run` output directory.
table_rows() {
	dir=$1
	mode=$(sed -n 's/.*"mode": "\([a-z]*\)".*/\1/p' "$dir"/runs/*.server.json 2>/dev/null | head -n 1)
	for f in "$dir"/runs/*.json; do
		case $f in *.server.json | *.load.json) continue ;; esac
		v=${f##*/}
		v=${v%-*.json}
		parse_run "$f" "$v"
	done | awk -v mode="${mode:-?}" '
	{ k = $1; if (!(k in runs)) order[++nk] = k
	  runs[k]++; meth[k] = $2; req[k] += $3; rps[k] += $4; c[k] += $5; ns[k] += $6
	  fc[k] += $7; fn[k] += $8; nt[k] = $9; np[k] = $10; mx[k] += $11 }
	END {
		for (i = 1; i <= nk; i++) {
			k = order[i]; q = req[k] > 0 ? req[k] : 1
			printf "| %s | %d | %s | %s | %d | %.0f | %.3f | %.0f | %.3f | %.0f | %.3f | %d/%d |\n",
				mode, nt[k], k, meth[k], runs[k], rps[k] / runs[k], c[k] / q, ns[k] / q,
				fc[k] / q, fn[k] / q, mx[k] / q, np[k], nt[k]
		}
	}'
}

table() {
	echo "| mode | threads | variant | method | runs | rps | slow-path entries/req | slow-path ns/req | file_lock entries/req | file_lock ns/req | file_lock entries/req, busiest thread | private tables |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for d in "$@"; do
		[ -d "$d/runs" ] || { echo "manycore.sh: $d is not an epbatch-trace run output" >&2; exit 2; }
		table_rows "$d"
	done
}

if [ "${1:-}" = --table ]; then
	shift
	[ $# -gt 0 ] || { echo "usage: scripts/manycore.sh --table DIR..." >&2; exit 2; }
	table "$@"
	exit 0
fi

threads="8 32 128" modes="conn churn" repeat=3 duration=5 out=$BUILD/manycore
cpus=$(getconf _NPROCESSORS_ONLN)
lthreads=$((cpus / 4))
[ "$lthreads" -ge 1 ] || lthreads=1
while [ $# -gt 0 ]; do
	case $1 in
	--threads) threads=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--load-threads) lthreads=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "manycore.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[ -x "$TRACE" ] || { echo "manycore.sh: $TRACE not built (run make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "manycore.sh: needs root (BPF)" >&2; exit 1; }

mkdir -p "$out"
dirs=""
start=$(date +%s)
for m in $modes; do
	for n in $threads; do
		d=$out/$m-t$n
		rm -rf "$d"
		# enough connections to keep every worker busy; at least one per load thread
		conns=$((n * 4))
		[ $conns -ge 64 ] || conns=64
		lt=$lthreads
		[ "$lt" -le "$conns" ] || lt=$conns
		echo "manycore: $m, $n threads ($conns connections, $lt load threads) -> $d" >&2
		"$TRACE" run --variants baseline,unshare --mode "$m" --threads "$n" \
			--repeat "$repeat" --duration "$duration" --connections "$conns" \
			--load-threads "$lt" -o "$d" >"$d.log" 2>&1 ||
			{ echo "manycore.sh: run failed, see $d.log" >&2; tail -n 5 "$d.log" >&2; exit 1; }
		dirs="$dirs $d"
	done
done
{
	echo "# unshare(CLONE_FILES) on $(uname -n): $cpus CPUs, $(uname -r), $(date -u +%Y-%m-%d)"
	echo
	grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true
	echo
	echo "\`scripts/manycore.sh --threads \"$threads\" --modes \"$modes\" --repeat $repeat --duration $duration\`"
	echo "(load: epbatch-load, $lthreads threads, 4 connections per worker, at least 64), $(($(date +%s) - start)) s."
	echo
	# shellcheck disable=SC2086
	table $dirs
} >"$out/table.md"
cat "$out/table.md"
