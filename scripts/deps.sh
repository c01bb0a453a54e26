#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Install every package epbatch needs to build and test, and nothing twice.
# Idempotent: packages already present are skipped; `apt-get update` runs at
# most once per invocation, and only when something is missing.
#   scripts/deps.sh            build + test dependencies (what `make check` needs)
#   scripts/deps.sh --vm       also the qemu test guest (Debian kernel, headers, qemu)
#   scripts/deps.sh --servers  also the third-party servers and load generators
#   scripts/deps.sh --checkpatch DIR
#                              put the kernel's own scripts/checkpatch.pl,
#                              spelling.txt and const_structs.checkpatch into
#                              DIR, taken from Debian's linux-source package
#                              (/usr/src/linux-source-<ver>.tar.xz); nothing is
#                              done when DIR already holds them from the same
#                              tarball.  Prints DIR/checkpatch.pl.
set -eu

# checkpatch from the newest installed linux-source tarball (Debian ships no
# checkpatch.pl in any headers package).
checkpatch() {
	dir=$1
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$tarball" ]; then
		echo "deps.sh: no /usr/src/linux-source-*.tar.xz (scripts/deps.sh installs linux-source-6.1)" >&2
		exit 1
	fi
	stamp="$tarball $(stat -c '%s %Y' "$tarball")"
	if [ -f "$dir/checkpatch.pl" ] && [ "$(cat "$dir/.source" 2>/dev/null)" = "$stamp" ]; then
		echo "$dir/checkpatch.pl"
		return 0
	fi
	top=$(basename "$tarball" .tar.xz)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/epb-checkpatch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xJf "$tarball" -C "$tmp" "$top/scripts/checkpatch.pl" \
		"$top/scripts/spelling.txt" "$top/scripts/const_structs.checkpatch"
	mkdir -p "$dir"
	for f in checkpatch.pl spelling.txt const_structs.checkpatch; do
		mv "$tmp/$top/scripts/$f" "$dir/$f"
	done
	echo "$stamp" >"$dir/.source"
	echo "$dir/checkpatch.pl"
}

if [ "${1:-}" = --checkpatch ]; then
	[ $# = 2 ] || { echo "usage: scripts/deps.sh --checkpatch DIR" >&2; exit 2; }
	checkpatch "$2"
	exit 0
fi

BUILD="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
liburing-dev libjansson-dev libcmocka-dev systemtap-sdt-dev linux-perf strace valgrind cppcheck libclang-rt-14-dev
python3 iproute2 procps libuv1-dev libevent-dev linux-source-6.1
prometheus prometheus-node-exporter"
VM="qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio kmod xz-utils"
SERVERS="nginx-light memcached redis-server redis-tools haproxy wrk apache2-utils
nghttp2-client libmemcached-tools chromium bpftrace jq"

want="$BUILD"
for a in "$@"; do
	case "$a" in
	--vm) want="$want $VM" ;;
	--servers) want="$want $SERVERS" ;;
	--all) want="$want $VM $SERVERS" ;;
	*) echo "deps.sh: unknown option '$a' (use --vm, --servers, --all)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# update-initramfs is the slow part of installing a kernel and the test guest
# builds its own initramfs, so skip it for linux-image.
INITRD=No apt-get install -y -qq --no-install-recommends $missing >/dev/null
