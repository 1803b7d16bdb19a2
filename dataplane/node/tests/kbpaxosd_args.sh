#!/bin/bash
# SPDX-License-Identifier: MIT
# kbpaxosd parses --node strictly: anything but a plain decimal id is refused with exit 2
# and a message naming the option, before the config is read or DPDK is started (the
# config path given does not exist, so a value that slipped through would exit 1).
# Usage: kbpaxosd_args.sh KBPAXOSD
set -u
daemon=$1
missing=/nonexistent/kbpaxos-args-test.ini
fails=0
for v in abc "" -0 1x 2.9 " 1" "1 " +1 0x1 1000 99999999999999999999; do
	err=$("$daemon" --config "$missing" --node "$v" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 2 ] || [[ "$err" != *"--node '$v'"* ]]; then
		echo "FAIL: --node '$v': exit $rc, stderr: $err"
		fails=$((fails + 1))
	fi
done
# A plain id gets past the option parser to the config (which is missing here: exit 1).
err=$("$daemon" --config "$missing" --node 2 2>&1 >/dev/null)
rc=$?
if [ $rc -ne 1 ] || [[ "$err" != *"$missing"* ]]; then
	echo "FAIL: --node 2 should reach the config check: exit $rc, stderr: $err"
	fails=$((fails + 1))
fi
# --init is an option of its own, documented in the usage.
"$daemon" --help 2>&1 | grep -q -- "--init" || { echo "FAIL: usage does not mention --init"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo "PASS kbpaxosd_args"
exit $((fails > 0))
