#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Machine-readable streams (issue 13): --csv and --ndjson give a row/object
# per thread per interval whose sums are the exact counts; `-` leaves stdout
# to the stream alone; --openmetrics is valid Prometheus text (promtool),
# rewritten every interval, and node_exporter's textfile collector serves it.
. "$(dirname "$0")/lib.sh"

A=40 M=60 D=15 B=4 W=30 N=3
ARGS="--threads $N --adds $A --mods $M --dels $D --bad $B --waits $W"

# sums FILE.csv|FILE.ndjson: per-thread sums of the rows equal ctlgen's exact counts
sums() {
	pyjson "$1" $A $M $D $B $W $N <<'PY'
import csv, json, sys, collections
f, A, M, D, B, W, N = sys.argv[1], *map(int, sys.argv[2:])
if f.endswith(".csv"):
    rows = list(csv.DictReader(open(f)))
    get = lambda r, k: int(r[k.replace(".", "_")])
else:
    rows = [json.loads(l) for l in open(f)]
    def get(r, k):
        for p in k.split("."):
            r = r[p]
        return r
assert rows, "no rows"
tot = collections.defaultdict(lambda: collections.Counter())
stamps = set()
for r in rows:
    assert float(r["ts"]) > 1.6e9 and r["time"].endswith("Z"), r["ts"]
    stamps.add(r["ts"])
    for k in ("epoll_ctl.add", "epoll_ctl.mod", "epoll_ctl.del", "epoll_ctl.errors", "epoll_wait"):
        tot[r["comm"]][k] += get(r, k)
for k in range(1, N + 1):
    t = tot["ctl-%d" % k]
    want = {"epoll_ctl.add": (A + B) * k, "epoll_ctl.mod": (M + B) * k, "epoll_ctl.del": D * k,
            "epoll_ctl.errors": 2 * B * k, "epoll_wait": W * k}
    assert dict(t) == want, "ctl-%d: %s != %s" % (k, dict(t), want)
print("intervals", len(stamps))
PY
}

# record, spread over several 0.2 s intervals (--pause 250 ms between phases)
$TRACE record -i 0.2 -o "$T/r.json" --csv "$T/r.csv" --ndjson "$T/r.ndjson" \
	-- $CTLGEN $ARGS --pause 250 >"$T/r.out" 2>&1
check "record with --csv --ndjson exits 0" [ $? = 0 ]
check "--csv: rows sum to the exact per-thread counts" sums "$T/r.csv"
check "--ndjson: objects sum to the exact per-thread counts" sums "$T/r.ndjson"
# ts and interval_s are rounded to milliseconds: printed so, not as the
# nearest double's 17 digits (0.20000000000000001)
check "--ndjson: times printed in milliseconds" sh -c \
	"grep -c . '$T/r.ndjson' | grep -qv '^0\$' && ! grep -Eq '\"(ts|interval_s)\":[0-9]+\.[0-9]{4}' '$T/r.ndjson'"
check "--csv: rows of several intervals" sh -c "[ \$(cut -d, -f1 '$T/r.csv' | sort -u | wc -l) -ge 4 ]"
check "--csv: header documented in docs/tracer.md" sh -c \
	"grep -qF \"\$(head -n 1 '$T/r.csv' | cut -d, -f1-8)\" docs/tracer.md"
check "no temporary file left" sh -c "! ls '$T' | grep -q tmp"

# -: the stream alone on stdout, tables on stderr
$TRACE record -i 0.2 --csv - -o "$T/d.json" -- $CTLGEN $ARGS --pause 100 >"$T/d.csv" 2>"$T/d.err"
check "--csv -: stdout is CSV only, one header" pyjson "$T/d.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert rows[0][0] == "ts" and all(len(r) == len(rows[0]) for r in rows), rows[:3]
assert sum(1 for r in rows if r[0] == "ts") == 1
PY
check "--csv -: tables on stderr" grep -q TOTAL "$T/d.err"
check "--csv -: sums" sums "$T/d.csv"
$TRACE record -i 0.2 --ndjson - -o "$T/n.json" -- $CTLGEN $ARGS >"$T/n.ndjson" 2>"$T/n.err"
check "--ndjson -: stdout is one JSON object per line" sums "$T/n.ndjson"

# bad input: one line, non-zero
for bad in "--openmetrics -" "--csv - --ndjson -" "--json - --csv -" "--csv $T" "--ndjson /nonexistent/x.ndjson"; do
	# shellcheck disable=SC2086
	$TRACE -p $$ -d 1 $bad >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check "'$bad': exit non-zero with one line" sh -c "[ $rc != 0 ] && [ \$(wc -l <'$T/bad.err') = 1 ] && [ ! -s '$T/bad.out' ]"
done

# --openmetrics: valid exposition, rewritten every interval while the target runs
mkfifo "$T/gate"
$CTLGEN $ARGS --pause 400 --gate <"$T/gate" >"$T/ready" &
GEN=$!
exec 3>"$T/gate"
BGPIDS=$GEN
for i in $(seq 50); do grep -q ready "$T/ready" && break; sleep 0.1; done
mkdir "$T/textfile"
$TRACE -p $GEN -i 0.2 --openmetrics "$T/textfile/epbatch.prom" >/dev/null 2>"$T/om.err" &
TR=$!
for i in $(seq 100); do grep -q "^Tracing" "$T/om.err" && break; sleep 0.05; done
kill -USR1 $GEN
for i in $(seq 50); do [ -f "$T/textfile/epbatch.prom" ] && break; sleep 0.05; done
t1=$(sed -n 's/^epbatch_last_update_timestamp_seconds //p' "$T/textfile/epbatch.prom")
sleep 0.5
t2=$(sed -n 's/^epbatch_last_update_timestamp_seconds //p' "$T/textfile/epbatch.prom")
check "--openmetrics: rewritten every interval" python3 -c "assert float('$t2') > float('$t1') > 0"

# node_exporter's textfile collector serves the file over HTTP (127.0.0.1 only)
NE=$(command -v prometheus-node-exporter || command -v node_exporter || true)
if [ -n "$NE" ]; then
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	$NE --web.listen-address=127.0.0.1:$PORT --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$T/textfile" >"$T/ne.log" 2>&1 &
	NEPID=$!
	BGPIDS="$BGPIDS $NEPID"
fi
wait $TR
check "--openmetrics: exit 0 when the target exits" [ $? = 0 ]
exec 3>&-
check "--openmetrics: final counts exact" pyjson "$T/textfile/epbatch.prom" $A $B $D $N <<'PY'
import re, sys
f, A, B, D, N = sys.argv[1], *map(int, sys.argv[2:])
s = N * (N + 1) // 2
txt = open(f).read()
m = re.search(r'^epbatch_epoll_ctl_total\{pid="\d+",comm="ctlgen",op="add"\} (\d+)$', txt, re.M)
assert m and int(m.group(1)) == (A + B) * s, m and m.group(0)
m = re.search(r'^epbatch_epoll_ctl_total\{pid="\d+",comm="ctlgen",op="del"\} (\d+)$', txt, re.M)
assert m and int(m.group(1)) == D * s, m and m.group(0)
PY
if command -v promtool >/dev/null; then
	check "promtool check metrics accepts it" sh -c "promtool check metrics <'$T/textfile/epbatch.prom'"
else
	echo "# promtool missing (scripts/deps.sh installs prometheus): the unit test's parser still checks the format"
fi
if [ -n "$NE" ]; then
	check "node_exporter textfile collector serves epbatch_epoll_ctl_total" pyjson $PORT "$T/ne.log" <<'PY'
import sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
for i in range(150):
    try:
        body = urllib.request.urlopen(url, timeout=2).read().decode()
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("node_exporter did not answer: " + open(sys.argv[2]).read())
assert 'epbatch_epoll_ctl_total{comm="ctlgen",op="mod",pid="' in body, body[:2000]
assert 'node_textfile_scrape_error 0' in body, [l for l in body.splitlines() if "textfile" in l]
PY
	kill $NEPID 2>/dev/null
else
	echo "# prometheus-node-exporter missing (scripts/deps.sh installs it): end-to-end scrape skipped"
fi
finish
