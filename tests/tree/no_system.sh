#!/bin/bash
# SPDX-License-Identifier: MIT
# No system() or popen() anywhere in the tree: a path or argument that reaches a shell is
# an injection (issue 11: kbpaxos-log bench ran `rm -rf '<dir>'`).  Files are removed
# with nftw/unlinkat, programs run with fork + exec.  Usage: no_system.sh SOURCE_ROOT
set -u
cd "$1" || exit 1
pattern='(^|[^_[:alnum:]])(system|popen)[[:space:]]*\(|os\.system|shell=True'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and new files, not what .gitignore leaves out (build directories).
	hits=$(git ls-files -z --cached --others --exclude-standard -- '*.c' '*.h' '*.cc' '*.cpp' '*.py' |
		xargs -0 -r grep -nE "$pattern")
else
	hits=$(grep -rnE --include='*.c' --include='*.h' --include='*.cc' --include='*.cpp' --include='*.py' \
		--exclude-dir='build*' "$pattern" .)
fi
if [ -n "$hits" ]; then
	echo "FAIL: calls that run a shell:"
	echo "$hits"
	exit 1
fi
echo "PASS no system() or popen() in $1"
