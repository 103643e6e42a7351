#!/bin/sh
# mk/demo.sh: run the bundled examples end to end and say where their
# output and logs are.  Called by `make demo` after `make deps all`.
set -eu
top=$(pwd)
state=${SLUICE_STATE_DIR:-$top/.demo/state}
export SLUICE_STATE_DIR="$state"
mkdir -p "$state"

out=$top/.demo/zero
echo "== examples/zero: TypeScript models for Rocicorp Zero from bos.schema.rb"
bin/sluice run --report "$top/.demo/zero.html" \
    -D schema="$top/examples/zero/bos.schema.rb" -D out="$out" \
    examples/zero/pipeline.json
echo "== examples/wordfreq: word frequencies (fan-in, then fan-out)"
bin/sluice run examples/wordfreq/pipeline.json
echo "== examples/logs: an access log summary (fan-out, extra fds, after)"
bin/sluice run --report "$top/.demo/logs.html" examples/logs/pipeline.json
echo "== examples/compose.sh: stages composed with | in a shell"
sh examples/compose.sh
echo
echo "make demo: generated TypeScript is in $out"
echo "make demo: the HTML report of that run is $top/.demo/zero.html"
echo "make demo: (and of the logs example: $top/.demo/logs.html)"
echo "make demo: run records and stage logs are in $state/runs/"
