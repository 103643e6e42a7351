#!/bin/sh
# mk/demo.sh: run the bundled examples end to end and say where their
# output and logs are.  Called by `make demo` after `make deps all`.
set -eu
top=$(pwd)
state=${SLUICE_STATE_DIR:-$top/.demo/state}
export SLUICE_STATE_DIR="$state"
mkdir -p "$state"

if [ -f examples/zero/pipeline.json ] && [ -x libexec/sluice/render ]; then
	out=$top/.demo/zero
	bin/sluice run -D schema="$top/examples/zero/bos.schema.rb" \
	    -D out="$out" examples/zero/pipeline.json
	echo "make demo: generated TypeScript in $out"
fi
echo "== examples/wordfreq: word frequencies (fan-in, then fan-out)"
bin/sluice run examples/wordfreq/pipeline.json
echo "== examples/logs: an access log summary (fan-out, extra fds, after)"
bin/sluice run --report "$top/.demo/logs.html" examples/logs/pipeline.json
echo "== examples/compose.sh: stages composed with | in a shell"
sh examples/compose.sh
echo
echo "make demo: run records and stage logs are in $state/runs/"
echo "make demo: the HTML report of the logs example is $top/.demo/logs.html"
