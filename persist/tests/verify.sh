#!/bin/bash
# SPDX-License-Identifier: MIT
# kbpaxos-log verify fails (exit 1, the reason on stderr) on every way a log directory
# can be damaged, swapped or wrong, and on a directory that holds no log; it succeeds on
# a whole log and changes nothing; dump prints whose log it is.  Also: bench removes its
# directory itself, whatever the path holds (no shell: a quote in it is just a quote).
# Usage: verify.sh KBPAXOS_LOG MKLOG   (runs in a temp dir under the current directory)
set -u
tool=$(realpath "$1")
mklog=$(realpath "$2")
tmp=$(mktemp -d "$PWD/kbp-verify.XXXXXX") || exit 1
trap 'rm -rf -- "$tmp"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
seg() { printf '%s/seg-%016x.log' "$1" "$2"; }

# fresh NAME [CLUSTER NODE ACCEPTS SNAP]: a new log in $tmp/NAME (300 accepts: 6 segments).
fresh() {
	rm -rf -- "${tmp:?}/$1"
	mkdir "$tmp/$1" && "$mklog" "$tmp/$1" "${2:-7}" "${3:-1}" "${4:-300}" ${5:+"$5"} || bad "mklog $1"
}

# refused CASE DIR NEEDLE...: verify must exit 1 and say each NEEDLE on stderr.
refused() {
	local name=$1 dir=$2 err rc n before=$fails
	shift 2
	err=$("$tool" verify "$dir" 2>&1 >/dev/null)
	rc=$?
	[ $rc -eq 1 ] || { bad "$name: verify exited $rc (stderr: $err)"; return; }
	for n in "$@"; do
		[[ "$err" == *"$n"* ]] || bad "$name: stderr lacks '$n': $err"
	done
	[ $fails -ne $before ] || echo "ok: $name: $err"
}

fresh good
sum_before=$(cd "$tmp/good" && sha1sum -- * | sha1sum)
out=$("$tool" verify "$tmp/good") || bad "verify of a whole log failed"
[[ "$out" == *"promised"* ]] || bad "verify output: $out"
dump=$("$tool" dump "$tmp/good") || bad "dump of a whole log failed"
grep -q '^identity cluster=7 node=1 config_digest=d16e570000000007 segments=1\.\.' <<<"$dump" || bad "dump lacks the identity: $(head -n 2 <<<"$dump")"
grep -q '^segment  seq=2 (seg-0000000000000002.log)' <<<"$dump" || bad "dump lacks segment lines"
[ "$(cd "$tmp/good" && sha1sum -- * | sha1sum)" = "$sum_before" ] || bad "verify or dump changed the log"

fresh d; rm "$(seg "$tmp/d" 2)"
refused "middle segment deleted" "$tmp/d" "seg-0000000000000002.log is missing" "a gap"
fresh d; truncate -s $((4096 + 20 * 1048)) "$(seg "$tmp/d" 2)"
refused "closed segment truncated at a record boundary" "$tmp/d" "seg-0000000000000002.log is truncated at a record boundary at offset 25056"
fresh d; truncate -s 4096 "$(seg "$tmp/d" 3)"
refused "closed segment truncated to its header" "$tmp/d" "seg-0000000000000003.log is truncated to its header"
fresh d; truncate -s $((4096 + 20 * 1048 + 100)) "$(seg "$tmp/d" 2)"
refused "truncated mid-record" "$tmp/d" "truncated mid-record at offset 25056: the record needs 1048 bytes, 100 are present"
fresh d
newest=$(ls "$tmp/d" | sed -n 's/^seg-\(.*\)\.log$/\1/p' | sort | tail -n 1)
rm "$tmp/d/seg-$newest.log"
refused "newest segment deleted" "$tmp/d" "the newest segment seg-$newest.log is missing"
fresh d; fresh o 7 2; cp "$(seg "$tmp/o" 2)" "$(seg "$tmp/d" 2)"
refused "segment from another node" "$tmp/d" "seg-0000000000000002.log belongs to cluster 7 node 2"
fresh d; fresh o 8 1; cp "$(seg "$tmp/o" 2)" "$(seg "$tmp/d" 2)"
refused "segment from another cluster" "$tmp/d" "seg-0000000000000002.log belongs to cluster 8 node 1"
fresh d 7 1 300 250; rm "$tmp/d/snap-00000000000000fa.snap"
refused "snapshot deleted" "$tmp/d" "snap-00000000000000fa.snap is missing"
fresh d; rm "$tmp/d/kbpaxos.id"
refused "identity file deleted" "$tmp/d" "no identity file"
mkdir "$tmp/empty"
refused "empty directory" "$tmp/empty" "no kbpaxos log in $tmp/empty"
refused "missing directory" "$tmp/nonexistent" "No such file or directory"
mkdir "$tmp/other"; echo hello >"$tmp/other/notes.txt"
refused "directory of something else" "$tmp/other" "no kbpaxos log in" "notes.txt"
fresh d; echo hello >"$tmp/d/notes.txt"
refused "log directory holding something else" "$tmp/d" "holds 'notes.txt', which is not part of a kbpaxos log"

# bench: its own directory inside --dir, removed afterwards without a shell.
mkdir "$tmp/it's \$(touch pwned)"
"$tool" bench --dir "$tmp/it's \$(touch pwned)" --seconds 0.1 --segment-mb 8 >/dev/null || bad "bench failed"
[ -z "$(ls -A "$tmp/it's \$(touch pwned)")" ] || bad "bench left files: $(ls -A "$tmp/it's \$(touch pwned)")"
[ ! -e pwned ] && [ ! -e "$tmp/pwned" ] || bad "a path was run through a shell"

[ $fails -eq 0 ] && echo "PASS kbpaxos-log verify"
exit $((fails > 0))
