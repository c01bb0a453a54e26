#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Install every package epbatch needs to build and test, and nothing twice.
# Idempotent: packages already present are skipped; `apt-get update` runs at
# most once per invocation, and only when something is missing.
#   scripts/deps.sh            build + test dependencies (what `make check` needs)
#   scripts/deps.sh --vm       also the qemu test guest (Debian kernel, headers, qemu)
#   scripts/deps.sh --servers  also the third-party servers and load generators
set -eu

BUILD="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
liburing-dev libjansson-dev libcmocka-dev systemtap-sdt-dev linux-perf strace cppcheck libclang-rt-14-dev
python3 iproute2 procps"
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
