#!/bin/bash
# SPDX-License-Identifier: MIT
# docs/PERSIST.md's byte tables (identity file, segment header, record, snapshot header)
# must say exactly what the encoders write: layout_dump finds each field's offset and
# width by encoding, this script reads the tables, and the two lists must be equal.
# Usage: layout.sh LAYOUT_DUMP PERSIST.md
set -u
dump=$1
doc=$2
want=$(awk '
	/^Identity file `kbpaxos.id`/ { sec = "ident" }
	/^Segment `seg-/ { sec = "seg" }
	/^Record \(/ { sec = "rec" }
	/^Snapshot `snap-/ { sec = "snap" }
	/^## / && !/On-disk format/ { sec = "" }
	sec != "" && /^\| [0-9]+ \|/ {
		split($0, c, "|")
		off = c[2]; type = c[3]; field = c[4]
		gsub(/^ +| +$/, "", off); gsub(/^ +| +$/, "", type); gsub(/^ +| +$/, "", field)
		sub(/:.*/, "", field); sub(/ \(.*/, "", field)
		print sec "|" off "|" type "|" field
	}' "$doc" | sort -t '|' -k1,1 -k2,2n)
got=$("$dump" | sort -t '|' -k1,1 -k2,2n) || { echo "FAIL: layout_dump failed"; exit 1; }
if [ "$want" != "$got" ]; then
	echo "FAIL: $doc and the encoders disagree (< doc, > encoders):"
	diff <(echo "$want") <(echo "$got")
	exit 1
fi
echo "PASS: $(wc -l <<<"$got") fields of $doc match kbp_log_format.h"
