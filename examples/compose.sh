#!/bin/sh
# examples/compose.sh: sluice pipelines and stages are ordinary Unix
# commands: their output is text (JSON Lines for the bundled stages), so
# they compose with | like any other tool.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sluice=${SLUICE:-$here/../bin/sluice}
[ -x "$sluice" ] || sluice=sluice

# 1. a whole pipeline is one filter in a shell pipeline
"$sluice" run -q "$here/wordfreq/pipeline.json" | awk 'NF == 2 { print $2 }' |
	paste -sd' ' -

# 2. stages run on their own too: `sluice NAME` runs libexec/sluice/NAME
if "$sluice" introspect --usage >/dev/null 2>&1; then
	"$sluice" introspect "$here/data/chinook.sqlite" |
		jq -r 'select(.columns != null) | "\(.name): \(.columns | length) columns"' |
		head -n 5
fi
