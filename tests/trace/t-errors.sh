#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Every failure a user can cause: one clear line on stderr, non-zero exit,
# nothing half-written.
. "$(dirname "$0")/lib.sh"

one_line "no such pid" 1 $TRACE -p 999999 -d 1
one_line "unknown flag" 2 $TRACE -p 1 --frobnicate
one_line "unknown short flag" 2 $TRACE -p 1 -Z
one_line "bad duration" 2 $TRACE -p 1 -d abc
one_line "bad spin method" 2 $TRACE -p 1 --spin-method magic
one_line "-p with a list item that is not a pid" 2 $TRACE -p 1,x -d 1
one_line "record without -o" 2 $TRACE record -- true
one_line "record with both -p and a command" 2 $TRACE record -o "$T/x.json" -p 1 -- true
one_line "unwritable json path" 1 $TRACE -p 1 -d 1 --json /nonexistent/dir/out.json
check "no file created for the unwritable path" [ ! -e /nonexistent/dir/out.json ]
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	one_line "not root" 1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all $TRACE -p 1 -d 1
fi

# no kernel BTF: hide /sys/kernel/btf in a private mount namespace
if command -v unshare >/dev/null; then
	one_line "no BTF" 1 unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf && exec $TRACE -p 1 -d 1"
fi

# a failed write must not clobber an existing file
echo '{"keep": true}' >"$T/keep.json"
chmod 0444 "$T" 2>/dev/null
# root ignores modes: use a path whose directory is a file instead
one_line "json path under a regular file" 1 $TRACE -p 1 -d 1 --json "$T/keep.json/x"
chmod 0755 "$T"
check "existing file untouched" grep -q keep "$T/keep.json"

# forcing a method this kernel lacks is an error that names the reason
for m in fentry kprobe; do
	$TRACE -p 1 -d 0.2 -i 0 --spin-method $m >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc = 0 ]; then ok "--spin-method $m works here"
	else check "--spin-method $m unavailable: one line naming why" \
		sh -c "[ \$(wc -l <'$T/err') = 1 ] && grep -q '$m' '$T/err'"; fi
done
finish
