#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The cost model against measurement (docs/cost-model.md): for each loop of
# the shim's benchmark (keep-alive re-arm at K = 1, 4, 16, 64; connection
# per request), the saving per iteration that `epbatch-trace record`'s
# what_if predicts for the loop traced without the shim, against the
# measured ns/iteration with the shim (EPBATCH_MIN_BATCH=0: always batch;
# and the default policy), interleaved rounds, medians.  A benchmark: it
# prints a table and never fails on a number.  Root (it traces).
#   scripts/cost-model-check.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
exec python3 - "$BUILD" "${1:-9}" <<'PY'
import json, os, statistics, subprocess, sys, tempfile
build, rounds = sys.argv[1], int(sys.argv[2])
trace, rearm, shim = f"{build}/epbatch-trace", f"{build}/shim/epbatch-rearm", os.path.abspath(f"{build}/libepbatch.so")
cal = json.loads(subprocess.run([trace, "calibrate", "--json", "-"], capture_output=True, text=True, check=True).stdout)
cells = [("keepalive K=1", ["-n", "1"], 12800), ("keepalive K=4", ["-n", "4"], 3200),
         ("keepalive K=16", ["-n", "16"], 800), ("keepalive K=64", ["-n", "64"], 200),
         ("conn", ["-c"], 6400)]
env0 = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("EPBATCH_")}
variants = {"baseline": {}, "always": {"LD_PRELOAD": shim, "EPBATCH_BACKEND": "uring", "EPBATCH_MIN_BATCH": "0"},
            "policy": {"LD_PRELOAD": shim, "EPBATCH_BACKEND": "uring"}}
def loop(args, iters, extra):
    out = subprocess.run([rearm, "-w", "block", *args, "-i", str(iters), "-W", str(iters // 10), "-d", "5"],
                         env={**env0, **extra}, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["ns_per_iter"]
print(f"calibration: syscall {cal['syscall_ns']} ns, MOD {cal['epoll_ctl_ns']['mod']} ns, "
      f"uring break-even {cal['backends'].get('uring', {}).get('break_even_batch')}, shim_op {cal['shim_op_ns']} ns")
print(f"{'loop':16} {'base ns/it':>10} {'pred always':>11} {'meas always':>11} {'err':>6} {'pred policy':>11} {'meas policy':>11} {'err':>6}  sign")
for name, args, iters in cells:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([trace, "record", "-o", f"{d}/t.json", "--", rearm, "-w", "block", *args, "-i", str(iters * 4), "-d", "5"],
                       capture_output=True, check=True)
        t = json.load(open(f"{d}/t.json"))
    waits = t["totals"]["epoll_wait"]
    wi = t["what_if"]["batch:uring"]
    s_always = wi["always_batch_cpu_ns_saved_per_s"] * t["duration_s"] / waits
    s_policy = wi["cpu_ns_saved_per_s"] * t["duration_s"] / waits
    m = {v: [] for v in variants}
    for r in range(rounds):
        order = list(variants)[r % 3:] + list(variants)[:r % 3]
        for v in order:
            m[v].append(loop(args, iters, variants[v]))
    base = statistics.median(m["baseline"])
    row = [name, f"{base:10.1f}"]
    signs = []
    for v, s in (("always", s_always), ("policy", s_policy)):
        pred, meas = base - s, statistics.median(m[v])
        ratios = sorted(x / y for x, y in zip(m[v], m["baseline"]))
        lo, hi = ratios[max(0, rounds // 2 - 2)], ratios[min(rounds - 1, rounds // 2 + 2)]
        sig = hi < 1 or lo > 1
        ok = (pred < base) == (meas < base)
        signs.append(f"{v}:{'ok' if ok or not sig else 'WRONG'}{'' if sig else '(ns)'}")
        row += [f"{pred:11.1f}", f"{meas:11.1f}", f"{100 * (pred - meas) / meas:+5.0f}%"]
    print(f"{row[0]:16} {row[1]} {row[2]} {row[3]} {row[4]:>6} {row[5]} {row[6]} {row[7]:>6}  {' '.join(signs)}")
print("pred = measured baseline - the saving per iteration predicted by what_if on the traced baseline loop;")
print("err = (pred - meas) / meas; sign: the predicted and measured direction agree where the ratio's interval excludes 1, (ns) = not significant")
PY
