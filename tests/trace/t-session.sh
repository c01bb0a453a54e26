#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The edges of a tracing session (issue 12, defects 1, 2, 4-9, 13): machine
# output alone on stdout, the attach window kept out of the rates, the
# private-FD-table flag with a zombie leader, targets that cannot be traced,
# record's exit status, name and stopping, and output paths checked first.
. "$(dirname "$0")/lib.sh"

# wait_file FILE: until FILE has a line (a helper printed its pid), 15 s at most
wait_file() {
	for i in $(seq 150); do [ -s "$1" ] && return 0; sleep 0.1; done
	return 1
}

# a process that does epoll_ctl ADD+DEL every 2 ms (at most 500 pairs/s)
paced() {
	python3 -c '
import select, os, time, sys
ep = select.epoll(); r, w = os.pipe()
print(os.getpid(), flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    ep.register(r); ep.unregister(r); time.sleep(0.002)
' "$1"
}

# 1: --json - : stdout is the JSON document alone, tables on stderr
paced 15 >"$T/paced.pid" & BGPIDS="$BGPIDS $!"
wait_file "$T/paced.pid"
P=$(cat "$T/paced.pid")
$TRACE -p "$P" -d 1.5 -i 0.5 --json - >"$T/stdout" 2>"$T/stderr"
check "1: --json - exits 0" [ $? = 0 ]
check "1: stdout is one JSON document" python3 -c "import json,sys; json.load(open('$T/stdout'))"
check "1: the tables went to stderr" grep -q TOTAL "$T/stderr"
$TRACE -p "$P" -d 0.5 -i 0 --json - >"$T/stdout" 2>"$T/stderr"
check "1: -i 0 --json - : JSON alone too" python3 -c "import json,sys; json.load(open('$T/stdout'))"

# 2: counts made while attaching are not charged to the trace (a 3 s attach)
EPBATCH_TEST_ATTACH_DELAY_MS=3000 $TRACE -p "$P" -d 1 -i 0 --json "$T/slow.json" >/dev/null 2>&1
pyjson "$T/slow.json" <<'PY' && ok "2: rates exclude the attach window" || fail "2: attach window charged to the trace"
import json, sys
d = json.load(open(sys.argv[1]))
adds = d["totals"]["epoll_ctl"]["add"]
rate = adds / d["duration_s"]
aw = d["attach_window"]
print("# add/s %.0f over %.2f s; attach window %.0f ms, %d ctl" % (rate, d["duration_s"], aw["ms"], aw["epoll_ctl"]))
assert rate <= 550, rate                 # paced at <= 500/s; 4x that without the fix
assert aw["ms"] >= 3000 and aw["epoll_ctl"] > 0, aw
PY
kill "$P" 2>/dev/null

# 4: main called pthread_exit (zombie leader): the workers share its table
$CTLGEN --leader-exit --gate --threads 2 --adds 20 --waits 4 >"$T/le.out" &
LE=$!; BGPIDS="$BGPIDS $LE"
for i in 1 2 3 4 5 6 7 8 9 10; do grep -q ready "$T/le.out" && break; sleep 0.1; done
( sleep 1.5; kill -USR1 $LE ) &
$TRACE record -o "$T/le.json" -p $LE -d 4 >/dev/null 2>"$T/le.err"
pyjson "$T/le.json" <<'PY' && ok "4: zombie leader: no false private FD table (attached after)" || fail "4: PRIV with a zombie leader (attached after)"
import json, sys
d = json.load(open(sys.argv[1]))
th = [t for t in d["threads"] if t["comm"].startswith("ctl-")]
assert len(th) == 2, d["threads"]
assert all(not t["private_fd_table"] for t in th), th
PY
$TRACE record -o "$T/le2.json" -- $CTLGEN --leader-exit --threads 2 --adds 20 --waits 4 >/dev/null 2>&1
pyjson "$T/le2.json" <<'PY' && ok "4: zombie leader: no false private FD table (leader exit seen)" || fail "4: PRIV with a zombie leader (exit seen)"
import json, sys
d = json.load(open(sys.argv[1]))
th = [t for t in d["threads"] if t["comm"].startswith("ctl-")]
assert len(th) == 2 and all(t["epoll_wait"] == 4 * int(t["comm"][4:]) for t in th), th
assert all(not t["private_fd_table"] for t in th), th
PY

# 5: a kernel thread
one_line "5: -p 2 (kthreadd)" 1 $TRACE -p 2 -d 1
grep -q "kernel thread" "$T/err" || fail "5: the line says kernel thread"

# 6: a zombie, and a process that exits while the tracer attaches
python3 -c '
import os, time
pid = os.fork()
if pid == 0: os._exit(0)
print(pid, flush=True); time.sleep(10)' >"$T/z.pid" & BGPIDS="$BGPIDS $!"
wait_file "$T/z.pid"
sleep 0.3
one_line "6: a zombie pid" 1 $TRACE -p "$(cat "$T/z.pid")" -d 1
sleep 1 & S=$!
EPBATCH_TEST_ATTACH_DELAY_MS=1500 $TRACE -p $S -d 1 >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 1 ] && grep -q "exited while" "$T/err" && [ "$(wc -l <"$T/err")" = 1 ]; then ok "6: exit while attaching: rc 1, one line"
else fail "6: exit while attaching: rc=$rc"; cat "$T/err"; fi

# 7: record's exit status and the command's name
one_line "7: record -- /nonexistent" 127 $TRACE record -o "$T/ne.json" -- /nonexistent
check "7: no JSON for a command that never ran" [ ! -e "$T/ne.json" ]
one_line "7: record -- a command not in PATH" 127 $TRACE record -o "$T/ne.json" -- no-such-command-xyz
printf 'x' >"$T/noexec"
one_line "7: record -- a file that is not executable" 126 $TRACE record -o "$T/ne.json" -- "$T/noexec"
$TRACE record -o "$T/seven.json" -- sh -c 'exit 7' >/dev/null 2>&1
check "7: record exits with the command's status (7)" [ $? = 7 ]
check "7: ... and still writes the JSON" [ -s "$T/seven.json" ]
$TRACE record -o "$T/name.json" -- $CTLGEN --adds 1 >/dev/null 2>&1
pyjson "$T/name.json" <<'PY' && ok "7: comm names the command" || fail "7: comm is not the command"
import json, sys
assert json.load(open(sys.argv[1]))["comm"] == "ctlgen"
PY

# 8: SIGINT to record when the command ignores SIGINT (and SIGTERM)
$TRACE record -o "$T/ign.json" -- sh -c 'trap "" INT TERM; exec sleep 60' >/dev/null 2>&1 &
R=$!
sleep 1.5
CH=$(pgrep -P $R)
kill -INT $R
for i in $(seq 1 100); do kill -0 $R 2>/dev/null || break; sleep 0.1; done
if kill -0 $R 2>/dev/null; then fail "8: record hangs after SIGINT"; kill -9 $R $CH
else ok "8: record ends after SIGINT although the command ignores it"; fi
check "8: the command is gone" sh -c "! kill -0 $CH 2>/dev/null"
check "8: the JSON was written" [ -s "$T/ign.json" ]
$TRACE record -o "$T/term.json" -- sleep 60 >/dev/null 2>&1 &
R=$!
sleep 1.5
CH=$(pgrep -P $R)
kill -TERM $R
for i in $(seq 1 100); do kill -0 $R 2>/dev/null || break; sleep 0.1; done
check "8: SIGTERM stops record" sh -c "! kill -0 $R 2>/dev/null"
check "8: SIGTERM leaves no command running" sh -c "! kill -0 $CH 2>/dev/null"

# SIGINT while the tracer still sets up (here a 3 s attach), from a script
# that started it with & (so with SIGINT ignored, as POSIX shells start
# background commands): the session ends once set up, not at -d.
paced 30 >"$T/paced2.pid" & BGPIDS="$BGPIDS $!"
wait_file "$T/paced2.pid"
EPBATCH_TEST_ATTACH_DELAY_MS=3000 $TRACE record -d 60 -o "$T/early.json" -p "$(cat "$T/paced2.pid")" >/dev/null 2>&1 &
R=$!
sleep 1
kill -INT $R
for i in $(seq 1 150); do kill -0 $R 2>/dev/null || break; sleep 0.1; done
if kill -0 $R 2>/dev/null; then fail "8: a SIGINT during set-up is lost: record runs on"; kill -9 $R
else ok "8: a SIGINT during set-up ends record -p"; fi
check "8: ... and it wrote the JSON" [ -s "$T/early.json" ]
EPBATCH_TEST_ATTACH_DELAY_MS=3000 $TRACE record -o "$T/early2.json" -- sh -c "echo ran >'$T/ran'" >/dev/null 2>&1 &
R=$!
sleep 1
kill -INT $R
for i in $(seq 1 150); do kill -0 $R 2>/dev/null || break; sleep 0.1; done
if kill -0 $R 2>/dev/null; then fail "8: record -- CMD runs on after a SIGINT during set-up"; kill -9 $R
else wait $R; rc=$?; check "8: ... record -- CMD exits 130 (rc $rc)" [ $rc = 130 ]; fi
check "8: ... and never started the command" [ ! -e "$T/ran" ]

# -d ends the recording before the command: it is stopped, record exits 0
start=$(date +%s)
$TRACE record -d 1 -o "$T/d.json" -- sleep 30 >/dev/null 2>&1
rc=$?
check "8: record -d stops the command and exits 0 (rc $rc)" [ $rc = 0 ]
check "8: ... within seconds" [ $(( $(date +%s) - start )) -lt 8 ]
check "8: ... and no sleep 30 is left" sh -c "! pgrep -x -f 'sleep 30' >/dev/null"

# 9: a directory as --json: refused before attaching
start=$(date +%s)
one_line "9: --json DIR" 1 $TRACE -p 1 -d 5 --json "$T"
check "9: refused at once (not after -d)" [ $(( $(date +%s) - start )) -lt 3 ]
one_line "9: record -o DIR" 1 $TRACE record -o "$T" -- true

# 13: the command line
one_line "13: no arguments: one usage line" 2 $TRACE
one_line "13: -p twice" 2 $TRACE -p 1 -p 2
one_line "13: bad --sort" 2 $TRACE -p 1 --sort bogus
for sub in "" record run compare gate; do
	$TRACE $sub --version >"$T/v" 2>&1
	check "13: '$sub --version'" grep -q '^epbatch-trace [0-9]' "$T/v"
	$TRACE $sub --help >"$T/v" 2>&1
	check "13: '$sub --help'" grep -qi 'usage' "$T/v"
	# one CLI style: the same one-line wording in every subcommand
	one_line "13: '$sub' unknown option" 2 $TRACE $sub --no-such-flag
	grep -q "unknown option '--no-such-flag' (see epbatch-trace ${sub:+$sub }--help)" "$T/err" ||
		fail "13: '$sub': not the shared wording: $(cat "$T/err")"
done
finish
