#!/bin/sh
# SPDX-License-Identifier: MIT
# docs/PROTOCOL.md's example frames must be exactly what kbp_wire_dump prints now.
# Usage: check_protocol_doc.sh KBP_WIRE_DUMP PROTOCOL_MD
set -eu
dump=$1 doc=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
sed -n '/^<!-- BEGIN kbp_wire_dump -->$/,/^<!-- END kbp_wire_dump -->$/p' "$doc" | sed '1d;$d' > "$tmp"
if ! "$dump" | diff -u "$tmp" - ; then
    echo "docs/PROTOCOL.md is stale: regenerate its example frames with kbp_wire_dump" >&2
    exit 1
fi
