#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC1091,SC2015  # lib.sh; "A && B || fail" is meant
# Every server mode and listener layout under load: zero errors, requests
# answered, the server's own count agrees, workers named worker-N, and
# --unshare gives each worker a private fd table (kcmp KCMP_FILES).
. "$(dirname "$0")/lib.sh"

# private_tables PID: one line per worker thread, "TID 1" if it shares the
# process leader's fd table and "TID 0" if it has its own (kcmp KCMP_FILES).
private_tables() {
	python3 - "$1" <<'PY'
import ctypes, os, sys
nr = {"x86_64": 312, "aarch64": 272}.get(os.uname().machine)
pid = int(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
KCMP_FILES = 2
for tid in sorted(int(t) for t in os.listdir("/proc/%d/task" % pid)):
    if tid == pid:
        continue
    if nr is None:
        print(tid, "unknown"); continue
    r = libc.syscall(nr, pid, tid, KCMP_FILES, 0, 0)
    print(tid, ("error%d" % ctypes.get_errno()) if r < 0 else (1 if r == 0 else 0))
PY
}

for mode in oneshot flip conn "conn --no-del" "churn --churn 8" "churn --churn 8 --churn-op socket"; do
	lmode=keepalive
	case $mode in conn* | churn*) lmode=close ;; esac
	for layout in "" "--reuseport" "--reuseport --unshare"; do
		# shellcheck disable=SC2086
		start_server --mode $mode --threads 2 $layout
		names=$(cat /proc/"$SRV_PID"/task/*/comm | grep -c '^worker-[01]$')
		[ "$names" = 2 ] || fail "$mode $layout: expected threads worker-0 and worker-1"
		private_tables "$SRV_PID" >"$TMP/kcmp"
		[ "$(wc -l <"$TMP/kcmp")" = 2 ] || fail "$mode $layout: expected 2 worker threads"
		while read -r tid s; do
			case "$layout:$s" in
			*unshare:1) fail "$mode $layout: thread $tid still shares the fd table" ;;
			*unshare:0 | --reuseport:1 | :1 | *:unknown) ;;
			*) fail "$mode $layout: thread $tid: kcmp says '$s'" ;;
			esac
		done <"$TMP/kcmp"
		load --mode $lmode --connections 16 --threads 2 --duration 1
		# shellcheck disable=SC2154  # reqs is set by load() in lib.sh
		n=$reqs
		stop_server
		read -r s bad th <<-EOF
		$(json "$TMP/srv.json" 'd["requests"], d["bad_requests"], len(d["threads"])')
		EOF
		# The server also answered the requests in flight at the load's deadline.
		[ "$s" -ge "$n" ] && [ "$s" -le $((n + 16)) ] || fail "$mode $layout: server answered $s, load counted $n"
		[ "$bad" = 0 ] && [ "$th" = 2 ] || fail "$mode $layout: bad_requests $bad, threads $th"
		# churn: exactly --churn fds allocated and freed per request answered
		case $mode in churn*)
			c=$(json "$TMP/srv.json" 'sum(t["churned"] for t in d["threads"])')
			[ "$c" = $((s * 8)) ] || fail "$mode $layout: churned $c fds for $s requests, want $((s * 8))" ;;
		esac
		echo "ok: $mode $layout: $n requests, 0 errors"
	done
done
