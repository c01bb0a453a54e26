#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Real event libraries under libepbatch.so: build/libs/uv-echo (libuv) and
# build/libs/ev-echo (libevent, with and without its epoll changelist) each
# run a TCP echo server and clients on 127.0.0.1 in one process (many
# connections, closes, a dup, child processes) and print a transcript of
# totals.  Each runs natively and under LD_PRELOAD=libepbatch.so with every
# backend (sync, uring, and kmod when /dev/epoll_batch exists), and each
# batching one again with every op deferred (+batch: EPBATCH_MIN_BATCH=0);
# stdout, the exit status and stderr must be identical.
# Under a batching backend the shim's counters must show mispredicted=0 in
# every process (a deferred op the kernel rejected: the application was told
# it succeeded).
#
# The counters come from EPBATCH_STATS=$tmp/stats.NAME.BACKEND: the shim
# writes FILE.PID per process, and nothing on stderr.  One line per check, "N passed, N failed"; exit 0, 1 on
# a failure, 77 (reason on the last line) when neither library is installed.
#   BUILD (default build), SHIM (default $BUILD/libepbatch.so),
#   BACKENDS (default "sync uring uring+batch" [+ kmod kmod+batch]), LIBS_TIMEOUT (default 60 s),
#   KEEP=DIR keeps every output.
#   tests/libs/t-libs.sh [PATTERN]   PATTERN filters the program names (grep -E)
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
tap_setup "sync uring uring+batch" "kmod kmod+batch"
LIBS_TIMEOUT=${LIBS_TIMEOUT:-60}
pattern=${1:-.}

# name|binary|arguments
progs=""
missing=""
if [ -x "$BUILD/libs/uv-echo" ]; then
	progs="$progs uv-echo|$BUILD/libs/uv-echo|"
else
	missing="$missing libuv1-dev"
fi
if [ -x "$BUILD/libs/ev-echo" ]; then
	progs="$progs ev-echo|$BUILD/libs/ev-echo| ev-echo-changelist|$BUILD/libs/ev-echo|--changelist"
else
	missing="$missing libevent-dev"
fi
if [ -z "$progs" ]; then
	echo "t-libs: no programs in $BUILD/libs: missing$missing (scripts/deps.sh installs them; then make tests-build)"
	exit 77
fi
if [ ! -f "$SHIM" ]; then
	echo "not ok - libepbatch.so not found at $SHIM (make all)"
	exit 1
fi

tap_workdir libs
tmp=$work

# run OUT BIN ARGS...: stdout then "# exit N" in OUT, stderr in OUT.err
run() {
	o=$1
	shift
	timeout "$LIBS_TIMEOUT" "$@" >"$o" 2>"$o.err" </dev/null
	echo "# exit $?" >>"$o"
}

# field NAME: sum of NAME=N over the lines on stdin
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { s += $2; n++ } END { print (n ? s : "none") }'; }

for p in $progs; do
	name=${p%%|*}
	rest=${p#*|}
	bin=${rest%%|*}
	args=${rest#*|}
	echo "$name" | grep -Eq -- "$pattern" || continue
	# shellcheck disable=SC2086 # args is one optional word
	run "$tmp/$name.native" "$bin" $args
	if ! grep -q '^# exit 0$' "$tmp/$name.native"; then
		notok "$name native" "$(tail -n 1 "$tmp/$name.native")"
		sed 's/^/#   /' "$tmp/$name.native" "$tmp/$name.native.err" | tail -n 12
		continue
	fi
	ok "$name native"
	for b in $BACKENDS; do
		out=$tmp/$name.$b
		st=$tmp/stats.$name.$b
		# +batch: every op the mirror can answer deferred (the policy
		# keeps these small loops direct where syscalls are cheap)
		# shellcheck disable=SC2046,SC2086 # backend_env's words, args
		run "$out" env $(backend_env "$b") EPBATCH_STATS="$st" LD_PRELOAD="$SHIM" "$bin" $args
		if ! cmp -s "$tmp/$name.native" "$out"; then
			notok "$name $b" "output differs from native"
			diff -u "$tmp/$name.native" "$out" | sed -n '3,30p' | sed 's/^/#   /'
			sed 's/^/#   stderr: /' "$out.err" | head -n 5
		elif ! cmp -s "$tmp/$name.native.err" "$out.err"; then
			notok "$name $b" "stderr differs from native"
			diff -u "$tmp/$name.native.err" "$out.err" | sed -n '3,20p' | sed 's/^/#   /'
		else
			ok "$name $b"
		fi
		cat "$st".* >"$out.stats" 2>/dev/null
		nlines=$(grep -c 'pid=' "$out.stats")
		if [ "$nlines" = 0 ]; then
			notok "$name $b stats" "no counters (EPBATCH_STATS=$st wrote no $st.PID)"
			continue
		fi
		[ "$b" = sync ] && continue
		mis=$(field mispredicted <"$out.stats")
		case $b in *+batch)
			[ "$(field deferred <"$out.stats")" -gt 0 ] ||
				notok "$name $b" "deferred=0: nothing was batched" ;;
		esac
		if [ "$mis" = 0 ]; then
			ok "$name $b mispredicted=0 ($nlines processes; deferred=$(field deferred <"$out.stats"))"
		else
			notok "$name $b" "mispredicted=$mis, want 0"
			sed 's/^/#   /' "$out.stats" | grep -v 'mispredicted=0 ' | head -n 5
		fi
	done
done

tap_end
