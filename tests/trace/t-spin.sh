#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The spin-lock method ladder reports honestly which rung ran and why the
# ones above it did not, and the rung that runs measures something.
. "$(dirname "$0")/lib.sh"

$TRACE record -o "$T/auto.json" -- $CTLGEN --threads 2 --churn 200000 >"$T/out" 2>&1
check "record of an fd-churning workload exits 0" [ $? = 0 ]
pyjson "$T/auto.json" <<'PY' && ok "auto: method and notes are consistent" || fail "auto: method/notes"
import json, sys
d = json.load(open(sys.argv[1]))
m, notes = d["spin_method"], d["spin_method_notes"]
ladder = ["fentry", "kprobe", "sample"]
assert m in ladder, m
for higher in ladder[:ladder.index(m)]:
    assert any(n.startswith(higher + ":") for n in notes), (higher, notes)
print("# method", m, "notes", notes)
PY

$TRACE record -o "$T/sample.json" --spin-method sample -- $CTLGEN --threads 2 --churn 200000 >"$T/out" 2>&1
check "--spin-method sample exits 0" [ $? = 0 ]
pyjson "$T/sample.json" <<'PY' && ok "sample: samples counted per thread, spin time derived" || fail "sample rung"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["spin_method"] == "sample", d["spin_method"]
assert d["sample_hz"] > 0
tot = d["totals"]["spin"]
assert tot["samples"] > 0, tot
# time is estimated as slow-path samples x period
period = 1e9 / d["sample_hz"]
assert abs(tot["ns"] - tot["slowpath_samples"] * int(period)) <= tot["slowpath_samples"] + 1, tot
thr = [t for t in d["threads"] if t["comm"].startswith("ctl-")]
assert len(thr) == 2 and all(t["spin"]["samples"] > 0 for t in thr), thr
assert sum(t["socket"] for t in thr) == 400000, [t["socket"] for t in thr]
assert sum(t["close"] for t in thr) >= 400000
print("# samples", tot["samples"], "slow-path", tot["slowpath_samples"], "fd-table", tot["files_lock_samples"])
PY
finish
