#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# --stacks / --folded with real BPF: a known caller of epoll_ctl is named in
# the folded lines (main;...;rearm_many), a stripped copy gives the unknown
# form, the counts are exact with --stack-period 1, the spin rung's stacks
# end in the slow path, and a bad --folded path is refused before tracing.
. "$(dirname "$0")/lib.sh"
REARM=$BUILD/tests/rearm
[ -x "$REARM" ] && [ -x "$REARM-stripped" ] || { echo "not built: run make tests-build"; exit 1; }

# every call walked: the stack counts are the exact call counts
$TRACE record -o "$T/r.json" --folded "$T/r.folded" --stack-period 1 -- $REARM 4 5000 >"$T/out" 2>&1
check "record --folded exits 0" [ $? = 0 ]
check "folded: main calls rearm_many calls epoll_ctl (MOD)" \
	grep -Eq '^rearm;(.*;)?main;(.*;)?rearm_many;epoll_ctl;\[MOD\](;.*_\[k\])* [0-9]+$' "$T/r.folded"
check "folded: the ADD in main, without rearm_many" \
	grep -Eq '^rearm;(.*;)?main;epoll_ctl;\[ADD\](;[^ ]*)? 1$' "$T/r.folded"
pyjson "$T/r.json" <<'PY' && ok "JSON stacks: exact counts by op with period 1" || fail "JSON stacks"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["stacks"]
assert s["period"] == 1, s["period"]
mod = [e for e in s["epoll_ctl"] if e["op"] == "mod"]
assert sum(e["count"] for e in mod) == d["totals"]["epoll_ctl"]["mod"] == 20000, (mod, d["totals"])
assert all(e["count"] == e["walked"] for e in s["epoll_ctl"])
top = max(mod, key=lambda e: e["count"])
assert top["user"][-2:] == ["rearm_many", "epoll_ctl"], top["user"]
assert top["comm"] == "rearm" and top["pid"] == d["pid"], top
assert top["kernel"], top
PY

# the default period: counts are walked calls x the period (default 256)
$TRACE record -o "$T/p.json" --stacks -- $REARM 10 10000 >"$T/out" 2>&1
pyjson "$T/p.json" <<'PY' && ok "default period: counts scaled by it" || fail "default period"
import json, sys
s = json.load(open(sys.argv[1]))["stacks"]
assert s["period"] == 256, s["period"]
assert all(e["count"] == s["period"] * e["walked"] for e in s["epoll_ctl"]), s["epoll_ctl"]
assert any(e["op"] == "mod" and "rearm_many" in e["user"] for e in s["epoll_ctl"]), s["epoll_ctl"]
PY

# stripped: the frame cannot be named, and says where it is
$TRACE record -o "$T/s.json" --folded "$T/s.folded" -- $REARM-stripped 4 5000 >"$T/out" 2>&1
check "stripped: record exits 0" [ $? = 0 ]
check "stripped: [unknown] in rearm-stripped+0x... frames" grep -q '\[unknown\] in rearm-stripped+0x[0-9a-f]*;' "$T/s.folded"
check "stripped: no rearm_many" sh -c "! grep -q rearm_many '$T/s.folded'"
pyjson "$T/s.json" <<'PY' && ok "stripped: a note says frames could not be named" || fail "stripped note"
import json, sys
s = json.load(open(sys.argv[1]))["stacks"]
assert any("could not be named" in n for n in s["notes"]), s["notes"]
PY

# a -p session prints the top stacks in its summary
# long enough to outlast the attach on a loaded machine; killed after -d
$REARM 2000 10000 >/dev/null 2>&1 &
rp=$!
BGPIDS=$rp
sleep 0.1
$TRACE -p $rp -d 1 -i 0 --stacks >"$T/live" 2>&1
check "-p --stacks exits 0" [ $? = 0 ]
check "summary: the MOD caller stack, leaf first" grep -Eq 'MOD .*rearm\[[0-9]+\]: epoll_ctl <- rearm_many <- main' "$T/live"
kill $rp 2>/dev/null; wait $rp 2>/dev/null; BGPIDS=

# the sampling rung's spin stacks end in the slow path
$TRACE record -o "$T/spin.json" --stacks --spin-method sample --sample-hz 4999 -- \
	$CTLGEN --threads 2 --churn 200000 >"$T/out" 2>&1
check "--stacks with the sampling rung exits 0" [ $? = 0 ]
pyjson "$T/spin.json" <<'PY' && ok "spin stacks: slow-path samples have stacks ending in the slow path" || fail "spin stacks"
import json, sys
d = json.load(open(sys.argv[1]))
s, tot = d["stacks"], d["totals"]["spin"]["slowpath_samples"]
assert s["spin_unit"] == "samples"
n = sum(e["count"] for e in s["spin"]) + s["lost"]["spin"]
print("# slow-path samples", tot, "with stacks", n)
assert n == tot, (n, tot)
assert all(e["kernel"][-1].endswith("spin_lock_slowpath") for e in s["spin"]), s["spin"]
PY

# without --stacks: no stacks key
$TRACE record -o "$T/n.json" -- $REARM 1 100 >"$T/out" 2>&1
pyjson "$T/n.json" <<'PY' && ok "without --stacks: no stacks in the JSON" || fail "stacks without --stacks"
import json, sys
assert "stacks" not in json.load(open(sys.argv[1]))
PY

# a bad --folded path is refused before anything runs
mkdir "$T/dir"
$TRACE record -o "$T/b.json" --folded "$T/dir" -- touch "$T/ran" >"$T/out" 2>&1
rc=$?
check "--folded DIRECTORY: non-zero exit" [ $rc != 0 ]
check "--folded DIRECTORY: one line on stderr" [ "$(wc -l <"$T/out")" = 1 ]
check "--folded DIRECTORY: refused before the command ran" [ ! -e "$T/ran" ]
check "--folded DIRECTORY: no JSON written" [ ! -e "$T/b.json" ]
$TRACE -p $$ --folded - >"$T/out" 2>&1
check "--folded -: refused, one line" [ $? != 0 ] && [ "$(wc -l <"$T/out")" = 1 ]
finish
