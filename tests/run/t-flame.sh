#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `run --stacks`: each variant's stacks in summary.json, and report.html's
# flame graph of the epoll_ctl callers (inline SVG) rendered by headless
# Chromium: the DOM has the boxes and the reference server's caller, and a
# screenshot of the graph alone has its coloured boxes.  Without --stacks no
# stacks and no flame graph.
. "$(dirname "$0")/../trace/lib.sh"
[ -x "$BUILD/epbatch-bench-server" ] && [ -x "$BUILD/epbatch-load" ] || { echo "reference workload not built"; exit 1; }

R=$T/r
EPBATCH_MIN_BATCH=0 "$TRACE" run --variants baseline,preload --repeat 1 --duration 1 --stacks -o "$R" \
	>"$T/run.out" 2>"$T/run.err"
rc=$?
check "run --stacks exits 0 (got $rc)" [ $rc = 0 ]
check "summary.json: stacks per variant; the server's set_interest calls epoll_ctl" pyjson "$R/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for v in ("baseline", "preload"):
    st = s["variants"][v]["stacks"]
    assert st["period"] == 256, (v, st)
    assert all(e["count"] == st["period"] * e["walked"] for e in st["epoll_ctl"])
# the shim batches every op here (EPBATCH_MIN_BATCH=0): preload may make no epoll_ctl at all
base = s["variants"]["baseline"]["stacks"]["epoll_ctl"]
assert any(e["op"] == "mod" and e["user"][-2:] == ["set_interest", "epoll_ctl"] for e in base), base[:3]
PY
check "report.html: the baseline's flame graph; preload's, or why there is none" sh -c \
	"grep -q '<svg class=\"flame\" id=\"flame-0\"' '$R/report.html' &&
	 grep -Eq '<svg class=\"flame\" id=\"flame-1\"|preload: epoll_ctl callers: no stacks recorded' '$R/report.html'"

if command -v chromium >/dev/null 2>&1; then
	shot() { # shot URL OUT [--dump-dom]
		prof=$(mktemp -d)
		if [ "${3:-}" = --dump-dom ]; then
			timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
				--disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
				--dump-dom "$1" >"$2" 2>/dev/null
		else
			timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
				--disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
				--hide-scrollbars --window-size=1040,400 --screenshot="$2" "$1" >/dev/null 2>&1
		fi
		rm -rf "$prof"
	}
	shot "file://$R/report.html" "$T/dom.html" --dump-dom
	check "Chromium: the flame graphs' boxes, the caller and the op in the DOM" pyjson "$T/dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
svgs = re.findall(r'<svg class="flame".*?</svg>', dom, re.S)
assert len(svgs) >= 1, len(svgs)
for s in svgs:
    assert s.count("<rect") >= 4, s[:300]
assert "<title>set_interest (" in svgs[0] and "[MOD]" in svgs[0]
assert "Who calls epoll_ctl" in dom
PY
	# the graph alone, drawn: its boxes are coloured (a blank page is one colour)
	{ echo '<!DOCTYPE html><html><body style="margin:0;background:#fff">'
	  sed -n '/<svg class="flame" id="flame-0"/,/<\/svg>/p' "$R/report.html"
	  echo '</body></html>'; } >"$T/flame.html"
	shot "file://$T/flame.html" "$T/flame.png"
	check "Chromium: a screenshot of the flame graph has coloured boxes" pyjson "$T/flame.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif typ == b"IDAT":
        idat += body
    pos += 12 + n
raw, prev, rows, i = zlib.decompress(idat), bytearray(w * bpp), [], 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + w * bpp])
    i += 1 + w * bpp
    for x in range(len(line)):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
colours = set()
coloured = 0
for line in rows:
    for x in range(0, w * bpp, bpp * 4):
        r, g, b = line[x], line[x + 1], line[x + 2]
        if max(r, g, b) - min(r, g, b) > 40:   # saturated: a box, not text or background
            coloured += 1
            colours.add((r >> 3, g >> 3, b >> 3))
print("# coloured samples", coloured, "distinct colours", len(colours))
assert coloured > 500 and len(colours) >= 3, (coloured, len(colours))
PY
else
	echo "# chromium not installed: the flame graph not rendered (scripts/deps.sh installs it)"
fi

# without --stacks: none of it
"$TRACE" run --variants baseline --repeat 1 --duration 1 -o "$T/n" >"$T/run2.out" 2>&1
check "without --stacks: no stacks in summary.json" pyjson "$T/n/summary.json" <<'PY'
import json, sys
assert "stacks" not in json.load(open(sys.argv[1]))["variants"]["baseline"]
PY
check "without --stacks: no flame graph" sh -c "! grep -q 'svg class=\"flame\"' '$T/n/report.html'"
finish
