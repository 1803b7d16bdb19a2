#!/bin/bash
# SPDX-License-Identifier: MIT
# (d) restart all three nodes, cleanly and then after kill -9: the state is recovered.
. "$(dirname "$0")/lib.sh"

start_cluster
"$LOAD" write --config "$CONFIG" --prefix ra --count 500 --clients 16 || fail "writes"
cli put reg a >/dev/null && cli cas reg a b >/dev/null || fail "put/cas reg"

cluster stop || fail "stop"
log "all nodes stopped (SIGTERM); starting again"
start_cluster
"$LOAD" verify --config "$CONFIG" --prefix ra --count 500 --clients 16 || fail "state lost after a clean restart"
[ "$(cli get reg)" = b ] || fail "reg after a clean restart: $(cli get reg)"
cli cas reg b c >/dev/null || fail "cas after restart"

for n in 0 1 2; do cluster kill-node "$n" >/dev/null || fail "kill-node $n"; done
log "all nodes killed (SIGKILL); starting again"
start_cluster
"$LOAD" verify --config "$CONFIG" --prefix ra --count 500 --clients 16 || fail "state lost after kill -9 of every node"
[ "$(cli get reg)" = c ] || fail "reg after kill -9: $(cli get reg)"
# The sessions survived too: the cluster keeps taking new writes.
cli put after restart >/dev/null || fail "put after recovery"
echo "PASS restart_all"
