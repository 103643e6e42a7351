#!/bin/sh
# mk/lint.sh: lint every man page with mandoc; any message fails.
# makewhatis first, so cross-references between our pages resolve.
set -u
makewhatis=$(command -v makewhatis || echo /usr/sbin/makewhatis)
"$makewhatis" man 2>/dev/null
out=$(mandoc -T lint -W style -m man man/man*/*.[0-9] 2>&1 |
	grep -v 'outdated mandoc.db')
rm -f man/mandoc.db
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	exit 1
fi
# every SYNOPSIS must match the program's usage message
sh mk/synopsis.sh
