#!/bin/sh
# mk/ts.sh: install the pinned TypeScript compiler and @rocicorp/zero
# (test/ts/package-lock.json) with the machine's npm, only when
# test/ts/node_modules is missing or older than the lockfile.  Quiet
# when there is nothing to do; a machine without npm skips (the
# TypeScript tests then skip too).
set -eu
cd "$(dirname "$0")/../test/ts"
if ! command -v npm >/dev/null 2>&1; then
	echo "mk/ts.sh: npm not found: TypeScript checks will be skipped" >&2
	exit 0
fi
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; then
	exit 0
fi
echo "mk/ts.sh: npm ci in test/ts" >&2
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
touch "$stamp"
