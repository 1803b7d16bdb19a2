#!/bin/bash
# SPDX-License-Identifier: MIT
# (g) Frames that fit.  The nodes' tap ports take 1,514-byte frames while [cluster] mtu is
# 9000.  Through the leader's tap:
#   - one request carrying six GETs of a 1 KiB value is answered in full: the replies are
#     split across frames that fit the tap (one frame would be ~6.4 KB and never leave);
#   - a 2.2 KB request (a CAS with a 64-byte key and two 1 KiB values) is answered: the
#     kernel side of the tap takes the cluster's MTU, so it arrives unfragmented;
#   - no TX drop of any cause, and the port's real frame limit shows in /kbpaxos/ports.
. "$(dirname "$0")/lib.sh"
PROBE=$BUILD/dataplane/client/tests/frames_probe
[ -x "$PROBE" ] || skip "no $PROBE"

start_cluster
L=$(leader) || fail "no leader"
log "leader is node $L"
V1=$(head -c 1024 /dev/zero | tr '\0' 'a')
V2=$(head -c 1024 /dev/zero | tr '\0' 'b')
cli put big "$V1" >/dev/null || fail "put of a 1 KiB value"

"$PROBE" --config "$CONFIG" --node "$L" --key big --gets 6 >"$TMP/probe" 2>&1
rc=$?
cat "$TMP/probe"
[ $rc -eq 0 ] || fail "six GETs of a 1 KiB value in one request were not all answered"
frames=$(awk '/^FRAMES/ { print $2 }' "$TMP/probe")
[ "$frames" -ge 5 ] || fail "the six 1 KiB answers came in $frames frames: more than a tap frame each"
max=$(awk '/^frame:/ { if ($2 > m) m = $2 } END { print m + 0 }' "$TMP/probe")
[ $((max + 42)) -le 1514 ] || fail "a reply frame of $((max + 42)) bytes left through a 1,514-byte tap"

K64=$(printf 'k%.0s' $(seq 1 64))
cli put "$K64" "$V1" >/dev/null || fail "put with a 64-byte key and a 1 KiB value"
out=$(cli cas "$K64" "$V1" "$V2" 2>&1) || fail "the 2.2 KB CAS request got no answer: $out"
[ "$(cli get "$K64")" = "$V2" ] || fail "the 2.2 KB CAS did not take"
log "a 2,200-byte request (CAS, 64-byte key, two 1 KiB values) was answered"

ports=$(cli telemetry "$L" /kbpaxos/ports) || fail "telemetry /kbpaxos/ports"
echo "$ports" | jq -c '.["/kbpaxos/ports"] | to_entries[] | {port: .key, link: .value.link, frame_max: .value.frame_max, tx_port_errors: .value.tx_port_errors}'
[ "$(echo "$ports" | jq '.["/kbpaxos/ports"].tap.frame_max')" = 1514 ] || fail "the tap port's frame limit is not 1514"
[ "$(echo "$ports" | jq '.["/kbpaxos/ports"].n1.frame_max // .["/kbpaxos/ports"].n0.frame_max')" = 9014 ] ||
	fail "a memif peer port's frame limit is not 9014"
# Nothing was lost on the way out: no TX drop of any cause on the tap, none too big anywhere.
for k in tx_drop_link_down tx_drop_full tx_drop_no_mbuf tx_drop_too_big tx_port_errors; do
	v=$(echo "$ports" | jq ".[\"/kbpaxos/ports\"].tap.$k")
	[ "$v" = 0 ] || fail "leader node $L, tap port: $k = $v"
done
st=$(cli telemetry "$L" /kbpaxos/status)
for k in tx_drop_too_big tx_port_errors replies_too_big; do
	v=$(echo "$st" | jq ".[\"/kbpaxos/status\"].$k")
	[ "$v" = 0 ] || fail "leader node $L: $k = $v"
done
echo "PASS frames"
