#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC1091,SC2015  # lib.sh; "A && B || fail" is meant
# epbatch-load classifies what goes wrong: a scripted misbehaving server on
# 127.0.0.1 (Python, bounded to 10 s) produces each error kind in turn, and
# the load reports it mostly under that kind (a slow fake can add a few
# timeouts), with zero requests and exit status 1.
. "$(dirname "$0")/lib.sh"

# fake BEHAVIOUR: serve on a free port (written to $TMP/fake.port).
fake() {
	rm -f "$TMP/fake.port"
	python3 - "$1" "$TMP/fake.port" <<'PY' &
import os, socket, sys, threading, time
how, portfile = sys.argv[1], sys.argv[2]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(128)
with open(portfile + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
answers = {
    "garbage": b"HELLO WORLD\r\n\r\n",
    "status": b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
    "short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
}
def serve(c):
    try:
        c.recv(4096)
        if how in answers:
            c.sendall(answers[how])
        if how == "short" or how == "reset":
            c.close()
            return
        time.sleep(10)
    except OSError:
        pass
    c.close()
ls.settimeout(0.1)
end = time.time() + 10
while time.time() < end:
    if how == "silent":          # never accept: connects succeed, nothing answers
        time.sleep(0.1); continue
    try:
        c, _ = ls.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	FAKE_PID=$!
	i=0
	while [ ! -s "$TMP/fake.port" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "fake server did not start"
		sleep 0.05
	done
	PORT=$(cat "$TMP/fake.port")
}

for case in "silent timeout" "garbage invalid" "status status" "short short" "reset reset"; do
	# shellcheck disable=SC2086  # split "behaviour kind"
	set -- $case
	fake "$1"
	"$LOAD" --port "$PORT" --connections 2 --duration 0.6 --timeout 0.2 --out "$TMP/l.json" 2>"$TMP/err" &&
		fail "$1: epbatch-load succeeded against a broken server"
	kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null
	read -r reqs n total <<-EOF
	$(json "$TMP/l.json" "d['requests'], d['error_kinds']['$2'], d['errors']")
	EOF
	[ "$reqs" = 0 ] && [ "$n" -gt 0 ] && [ $((2 * n)) -ge "$total" ] ||
		fail "$1: expected only '$2' errors, got $(json "$TMP/l.json" 'd["error_kinds"]')"
	grep -q "mostly $2" "$TMP/err" || fail "$1: stderr '$(cat "$TMP/err")' does not name '$2'"
	echo "ok: $1 server -> $n '$2' errors"
done
