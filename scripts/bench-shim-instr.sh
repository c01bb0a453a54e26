#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmark (not a test): exact, machine-independent costs of libepbatch.so
# on build/shim/epbatch-rearm loops.
#
# 1. User-space instructions (valgrind --tool=callgrind, event Ir).  Every
#    loop runs twice, N1 and N2 iterations; the difference divided by
#    N2-N1 is the cost of one iteration with start-up (the shim's
#    constructor, ring set-up, the initial ADDs) cancelled.  Counted:
#      - inclusive Ir of the epoll entry points the application calls
#        (epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2): libc's
#        wrappers in the baseline, the shim's interposers (everything they
#        run: queueing, coalescing, submission, reaping, the real libc
#        calls) under the shim;
#      - the whole process's Ir (a cross-check: the loop itself is equal).
#    Reported per epoll_ctl call the application made, per op the kernel
#    finally got, and "above libc" (minus the baseline's figure); and the
#    whole process's instructions per iteration above no shim (in conn mode
#    that is per connection: the wrappers of eventfd and close included).
# 2. Syscalls per iteration (strace -f -c, same N1/N2 difference): all
#    syscalls, and epoll_ctl / epoll_wait* / io_uring_enter / ioctl apart.
#
#   scripts/bench-shim-instr.sh [-n N1,N2] [-v VARIANT,...] [-o FILE]
#   (variants besides baseline, default sync,auto,uring,floor; kmod too when
#   /dev/epoll_batch exists)
# floor is not the shim: build/shim/libepbatch-floor.so (preload/bench/floor.c),
# the least a deferral over liburing costs (no mirror, lock, owner or
# signal checks; the batch's SQEs taken together, as the shim does), in the
# MOD loops' blocking-wait cells only.
# JSON: build/bench/shim-instr.json (schema epbatch-bench-shim-instr/1).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
n1=200 n2=600 out=$BUILD/bench/shim-instr.json vlist=""
usage() { echo "usage: scripts/bench-shim-instr.sh [-n N1,N2] [-v VARIANT,...] [-o FILE]" >&2; exit 2; }
while getopts n:v:o: opt; do
	case $opt in
	n) n1=${OPTARG%,*} n2=${OPTARG#*,} ;;
	v) vlist=$(echo "$OPTARG" | tr , ' ') ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
for v in "$n1" "$n2"; do
	case $v in '' | *[!0-9]*) echo "bench-shim-instr: '$v' is not a positive integer" >&2; exit 2 ;; esac
done
if [ "$n2" -le "$n1" ] || [ "$n1" -le 0 ]; then echo "bench-shim-instr: want 0 < N1 < N2" >&2; exit 2; fi
[ -n "$vlist" ] || { vlist="sync auto uring floor"; [ -e /dev/epoll_batch ] && vlist="$vlist kmod"; }
for v in $vlist; do
	case $v in auto | sync | uring | kmod | floor) ;; *) echo "bench-shim-instr: unknown variant '$v'" >&2; exit 2 ;; esac
done
variants="baseline $vlist"
SHIM=$BUILD/libepbatch.so LOOP=$BUILD/shim/epbatch-rearm FLOOR=$BUILD/shim/libepbatch-floor.so
if [ ! -f "$SHIM" ] || [ ! -x "$LOOP" ] || [ ! -f "$FLOOR" ]; then make -s "$SHIM" "$LOOP" "$FLOOR"; fi
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")
LOOP=$(cd "$(dirname "$LOOP")" && pwd)/$(basename "$LOOP")
FLOOR=$(cd "$(dirname "$FLOOR")" && pwd)/$(basename "$FLOOR")
have_vg=1 have_st=1
command -v valgrind >/dev/null || { have_vg=0; echo "bench-shim-instr: no valgrind: instruction counts skipped" >&2; }
command -v strace >/dev/null || { have_st=0; echo "bench-shim-instr: no strace: syscall counts skipped" >&2; }

# cells: mode wait K
cells="keepalive:block:64 keepalive:zero:64 keepalive:short:64 keepalive:pwait:64 keepalive:pwait2:64 double:zero:64 double:block:64 keepalive:block:1 keepalive:zero:1 keepalive+mt:block:1 keepalive+mt:pwait:1 conn:block:1"
# MODE+mt: the loop with an idle thread started first (-T), so the process
# is multi-threaded: libc's waits take their cancellable way, and the shim's
# direct waits go through them
loop_mode() { case $1 in *+mt) echo "-m ${1%+mt} -T" ;; *) echo "-m $1" ;; esac; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The batching backends run with EPBATCH_MIN_BATCH=0 (every op deferred):
# their rows are the cost of deferral, and the shim's own break-even
# measurement, timed under valgrind or strace, would pick direct or batch
# at random (a run of N1 and one of N2 iterations could then take
# different paths and their difference mean nothing).  sync is always
# direct.  auto runs with the break-evens and 0-timeout form its
# measurement finds outside the tools, here, once (a connection loop makes
# it measure every kind): its rows are what the default policy does on
# this machine.
auto_env=
if printf '%s\n' "$variants" | grep -qw auto; then
	said=$(env EPBATCH_STATS=1 LD_PRELOAD="$SHIM" "$LOOP" -m conn -w block -d 1 -i 500 2>&1 >/dev/null |
		sed -n 's/.* min_batch=\([^ ]*\) min_batch_poll=\([^ ]*\) min_batch_conn=\([^ ]*\) poll_form=\([a-z]*\).*/\1,\2,\3 \4/p' |
		tail -1)
	case $said in
	*-*|"") echo "bench-shim-instr: the shim measured no break-even ('$said'): auto's rows are what it measures under each tool" >&2 ;;
	*) auto_env="EPBATCH_MIN_BATCH=${said% *} EPBATCH_POLL_FORM=${said#* }"
	   echo "bench-shim-instr: auto runs with $auto_env (the shim's measurement, outside the tools)" >&2 ;;
	esac
fi
envfor() { # the env(1) arguments of a variant
	case $1 in
	baseline) echo "EPBATCH_UNUSED=1" ;;
	auto) echo "$auto_env LD_PRELOAD=$SHIM" ;;
	sync) echo "EPBATCH_BACKEND=sync LD_PRELOAD=$SHIM" ;;
	floor) echo "LD_PRELOAD=$FLOOR" ;;
	*) echo "EPBATCH_BACKEND=$1 EPBATCH_MIN_BATCH=0 LD_PRELOAD=$SHIM" ;;
	esac
}

# floor runs in the MOD loops' blocking-wait cells only (any other wait, and
# ADD and DEL, go to libc there)
skip() { [ "$1" = floor ] && { [ "$2" != block ] || [ "$3" = conn ]; }; }

# Sum a callgrind output file: prints "total IR" and, per entry point of the
# given object, "ENTRY inclusive-Ir calls".  Name compression ((id) name)
# is resolved; a cost line right after calls= is a callee's inclusive cost.
cg_sum() { # cg_sum FILE OBJECT-SUBSTRING
	awk -v want="$2" '
	function name(s,    id, rest) {
		if (s ~ /^\(/) {
			id = substr(s, 1, index(s, ")")); rest = substr(s, length(id) + 1); sub(/^ /, "", rest)
			if (rest != "") names[id] = rest
			return names[id]
		}
		return s
	}
	/^(ob|cob)=/ { k = substr($0, 1, index($0, "=") - 1); v = name(substr($0, index($0, "=") + 1))
		if (k == "ob") ob = v; next }
	/^(fn|cfn)=/ { k = substr($0, 1, index($0, "=") - 1); v = name(substr($0, index($0, "=") + 1))
		if (k == "fn") fn = v; next }
	/^calls=/ { incall = 1; ncalls = $1; sub(/^calls=/, "", ncalls); next }
	/^(summary|totals):/ { total = $2; next }
	/^[0-9+*-]/ {
		if (!incall) { o = ob; sub(/.*\//, "", o); self[o ":" fn] += $2 }
		mine = index(ob, want) && (fn == "epoll_ctl" || fn == "epoll_wait" || fn == "epoll_pwait" || fn == "epoll_pwait2" || fn ~ /^__epoll_pwait2/)
		if (mine) {
			ent = fn; sub(/^__epoll_pwait2.*/, "epoll_pwait2", ent)
			incl[ent] += $2
		}
		incall = 0
		next
	}
	END {
		print "total", total + 0
		for (e in incl) print e, incl[e]
		for (e in self) print "self:" e, self[e]
	}' "$1"
}

# Calls of each entry point are known from the loop (ctl_calls, iterations),
# so only costs are taken from callgrind.
if [ $have_vg = 1 ]; then
	for c in $cells; do
		IFS=: read -r m w k <<EOF
$c
EOF
		# valgrind 3.19 has no epoll_pwait2 (syscall 441): ENOSYS
		[ "$w" = pwait2 ] && continue
		for v in $variants; do
			skip "$v" "$w" "$m" && continue
			for n in $n1 $n2; do
				f=$tmp/cg.$m.$w.$k.$v.$n
				# shellcheck disable=SC2046
				valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$f.out" \
					env $(envfor "$v") "$LOOP" $(loop_mode "$m") -w "$w" -n "$k" -i "$n" -d 0 \
					>"$f.json" 2>"$f.log" </dev/null ||
					{ echo "bench-shim-instr: callgrind $v $m $w K=$k failed:" >&2; tail -5 "$f.log" >&2; exit 1; }
				case $v in baseline) obj=libc.so ;; floor) obj=libepbatch-floor.so ;; *) obj=libepbatch.so ;; esac
				cg_sum "$f.out" "$obj" >"$f.sum"
				sed -n 's/.*"ctl_calls": \([0-9]*\).*/\1/p' "$f.json" >"$f.ctl"
			done
			echo "bench-shim-instr: callgrind $m $w K=$k $v done" >&2
		done
	done
fi

# strace: every syscall the process makes, by name (-f: the shim's threads too)
if [ $have_st = 1 ]; then
	for c in $cells; do
		IFS=: read -r m w k <<EOF
$c
EOF
		for v in $variants; do
			skip "$v" "$w" "$m" && continue
			for n in $n1 $n2; do
				f=$tmp/st.$m.$w.$k.$v.$n
				# shellcheck disable=SC2046
				# env under strace: the shim must not load into strace itself
				strace -f -c -o "$f.out" env $(envfor "$v") EPBATCH_STATS=1 "$LOOP" $(loop_mode "$m") -w "$w" -n "$k" -i "$n" -d 0 \
					>/dev/null 2>"$f.log" </dev/null ||
					{ echo "bench-shim-instr: strace $v $m $w K=$k failed" >&2; exit 1; }
				# strace -c: calls is column 4 (or 3 when there is no errors column... it is
				# always "% time seconds usecs/call calls [errors] syscall")
				awk '$1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF, $4 }' "$f.out" >"$f.sum"
				# the shim's counters (EPBATCH_STATS=1: one line on stderr at exit)
				sed -n 's/^epbatch: pid=[0-9]* //p' "$f.log" | tail -1 >"$f.stats"
			done
		done
	done
fi

# Report: one row per cell and variant.
report() {
	for c in $cells; do
		IFS=: read -r m w k <<EOF
$c
EOF
		for v in $variants; do
			skip "$v" "$w" "$m" && continue
			a=$tmp/cg.$m.$w.$k.$v.$n1 b=$tmp/cg.$m.$w.$k.$v.$n2
			s1=$tmp/st.$m.$w.$k.$v.$n1.sum s2=$tmp/st.$m.$w.$k.$v.$n2.sum
			printf '%s %s %s %s ' "$m" "$w" "$k" "$v"
			if [ -f "$a.sum" ] && [ -f "$b.sum" ]; then
				ctl1=$(cat "$a.ctl") ctl2=$(cat "$b.ctl")
				awk -v n1="$n1" -v n2="$n2" -v c1="$ctl1" -v c2="$ctl2" '
					FNR == 1 { f++ }
					{ x[f, $1] = $2 }
					END {
						d = n2 - n1; ctl = (c2 - c1) / d
						tot = (x[2, "total"] - x[1, "total"]) / d
						cc = (x[2, "epoll_ctl"] - x[1, "epoll_ctl"]) / d
						ww = (x[2, "epoll_wait"] + x[2, "epoll_pwait"] + x[2, "epoll_pwait2"] - x[1, "epoll_wait"] - x[1, "epoll_pwait"] - x[1, "epoll_pwait2"]) / d
						printf "%.2f %.2f %.2f %.2f ", ctl, tot, cc, ww
					}' "$a.sum" "$b.sum"
			else
				printf -- '- - - - '
			fi
			if [ -f "$s1" ] && [ -f "$s2" ]; then
				awk -v n1="$n1" -v n2="$n2" '
					FNR == 1 { f++ }
					{ x[f, $1] += $2 }
					END {
						d = n2 - n1
						split("total epoll_ctl epoll_wait epoll_pwait epoll_pwait2 io_uring_enter ioctl close", S, " ")
						for (i = 1; i <= 8; i++) printf "%.3f ", (x[2, S[i]] - x[1, S[i]]) / d
					}' "$s1" "$s2"
			else
				printf -- '- - - - - - - - '
			fi
			# the shim's counters in the N2 run, after a "|"
			printf '| %s' "$(cat "$tmp/st.$m.$w.$k.$v.$n2.stats" 2>/dev/null)"
			echo
		done
	done
}
report >"$tmp/rows"

# Where the shim's instructions go: self Ir per op by function (N2-N1), for
# the shim variants in three cells, functions with >= 1 Ir per op.
breakdown() {
	for c in keepalive:block:64 double:zero:64 keepalive:zero:1; do
		IFS=: read -r m w k <<EOF
$c
EOF
		for v in $vlist; do
			a=$tmp/cg.$m.$w.$k.$v.$n1.sum b=$tmp/cg.$m.$w.$k.$v.$n2.sum
			if [ ! -f "$a" ] || [ ! -f "$b" ]; then continue; fi
			echo "-- $m $w K=$k $v: self Ir per op by function ($k ops per iteration)"
			awk -v d=$((n2 - n1)) -v ops="$k" '
				FNR == 1 { f++ }
				/^self:/ { x[f, $1] = $2; k[$1] = 1 }
				END {
					for (e in k) {
						v = (x[2, e] - x[1, e]) / d / ops
						if (v >= 1 && e !~ /epbatch-rearm:/) printf "%9.1f  %s\n", v, substr(e, 6)
					}
				}' "$a" "$b" | sort -rn | head -25
		done
	done
}
[ $have_vg = 1 ] && breakdown >"$tmp/breakdown"

mkdir -p "$(dirname "$out")"
awk -v out="$out.tmp" -v n1="$n1" -v n2="$n2" -v kernel="$(uname -r)" -v vg="$(valgrind --version 2>/dev/null || echo none)" -v auto_env="$auto_env" '
function num(s) { return s == "-" ? "null" : s }
{
	st = $0; sub(/^[^|]*\| ?/, "", st); gsub(/"/, "", st)
	m = $1; w = $2; k = $3; v = $4; ctl = $5; tot = $6; cc = $7; ww = $8
	key = m " " w " " k
	if (v == "baseline") { bctl[key] = cc; bwait[key] = ww; btot[key] = tot }
	# ops the kernel finally applies: K in double mode when the shim defers
	# (MOD+MOD coalesces), else one per call (baseline, sync pass through)
	ops = (m == "double" && v != "baseline" && v != "sync") ? k : ctl
	row[NR] = $0
	if (cc != "-") {
		per_call = ctl > 0 ? cc / ctl : 0
		per_op = ops > 0 ? (cc + ww) / ops : 0
		above_call = ctl > 0 ? (cc - bctl[key]) / ctl : 0
		above_op = ops > 0 ? (cc + ww - bctl[key] - bwait[key]) / ops : 0
		above_wait = ww - bwait[key]
		proc_op = ops > 0 ? (tot - btot[key]) / ops : 0
		proc_it = tot - btot[key]
	} else per_call = per_op = above_call = above_op = above_wait = proc_op = proc_it = "-"
	if (m == "conn" && v != "baseline")
		C[++nc] = sprintf("  %-8s %s", v, (proc_it == "-" ? "-" : sprintf("%.1f", proc_it)))
	R[NR] = sprintf("%-9s %-5s %3d %-8s %7s %9s %9s %9s %9s %9s %8s %8s %8s %8s",
		m, w, k, v, ctl, (per_call == "-" ? "-" : sprintf("%.1f", per_call)),
		(above_call == "-" ? "-" : sprintf("%.1f", above_call)), (per_op == "-" ? "-" : sprintf("%.1f", per_op)),
		(above_op == "-" ? "-" : sprintf("%.1f", above_op)), (above_wait == "-" ? "-" : sprintf("%.0f", above_wait)),
		$9, $10, $11 + $12 + $13, $14 + $15)
	J[NR] = sprintf("    { \"mode\": \"%s\", \"wait\": \"%s\", \"fds\": %d, \"variant\": \"%s\", \"ctl_calls_per_iter\": %s,\n" \
		"      \"ir_per_iter\": {\"process\": %s, \"epoll_ctl\": %s, \"wait\": %s},\n" \
		"      \"ir_per_ctl_call\": %s, \"ir_per_ctl_call_above_libc\": %s, \"ir_per_op\": %s, \"ir_per_op_above_libc\": %s,\n" \
		"      \"ir_wait_above_libc\": %s, \"process_ir_per_op_above_baseline\": %s, \"process_ir_per_iter_above_baseline\": %s,\n" \
		"      \"syscalls_per_iter\": {\"total\": %s, \"epoll_ctl\": %s, \"epoll_wait\": %s, \"io_uring_enter\": %s, \"ioctl\": %s, \"close\": %s},\n" \
		"      \"shim_stats_n2\": \"%s\" }",
		m, w, k, v, num(ctl), num(tot), num(cc), num(ww), num(per_call), num(above_call), num(per_op), num(above_op),
		num(above_wait), num(proc_op), num(proc_it), num($9), num($10), ($11 == "-" ? "null" : $11 + $12 + $13), num($14), num($15), num($16), st)
}
END {
	printf "{ \"schema\": \"epbatch-bench-shim-instr/1\", \"kernel\": \"%s\", \"valgrind\": \"%s\", \"n1\": %d, \"n2\": %d,\n  \"auto_env\": \"%s\",\n  \"rows\": [\n", kernel, vg, n1, n2, auto_env >out
	for (i = 1; i <= NR; i++) printf "%s%s\n", J[i], (i < NR ? "," : "") >out
	printf "  ]\n}\n" >out
	printf "%-9s %-5s %3s %-8s %7s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n", "mode", "wait", "K", "variant", "ctl/it",
		"Ir/call", "call>libc", "Ir/op", "op>libc", "wait>libc", "sys/it", "ctl/it", "wait/it", "batch/it"
	for (i = 1; i <= NR; i++) print R[i]
	if (nc) {
		print "conn: the whole process'"'"'s instructions per connection (eventfd, ADD, wait, DEL, close) above no shim"
		for (i = 1; i <= nc; i++) print C[i]
	}
}' "$tmp/rows"
mv "$out.tmp" "$out"
cat <<EOF
Ir/call: user-space instructions inside the application's epoll_ctl calls, per call (libc's wrapper
  in the baseline; the shim's interposer, inclusive, otherwise).  call>libc: the same minus the baseline's.
Ir/op: instructions in epoll_ctl + the wait entry point per op the kernel finally gets (double mode
  under a deferring backend: K ops per iteration after coalescing; otherwise one per call);
  op>libc: (the same per iteration minus the baseline's) per op.
wait>libc: instructions per wait call above libc's wrapper.  sys/it: syscalls per iteration (strace),
  wait/it = epoll_wait + epoll_pwait + epoll_pwait2, batch/it = io_uring_enter + ioctl.
N1=$n1, N2=$n2 iterations; JSON: $out
EOF
if [ -s "$tmp/breakdown" ]; then
	cat "$tmp/breakdown"
	cp "$tmp/breakdown" "${out%.json}-functions.txt"
fi
