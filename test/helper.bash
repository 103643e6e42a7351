# test/helper.bash: loaded by every bats file (load helper).
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
export ROOT
export PATH="$ROOT/bin:$PATH"
export NO_COLOR=1
unset SLUICE_PROFILE SLUICE_LIBEXEC

setup() {
	export SLUICE_CACHE_DIR="$BATS_TEST_TMPDIR/cache"
	export SLUICE_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export TMPDIR="$BATS_TEST_TMPDIR"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# wait_until SECONDS CMD...: poll CMD until it succeeds or time runs out
wait_until() {
	local limit=$1 end
	shift
	end=$(( $(date +%s%N) + limit * 1000000000 ))
	until "$@"; do
		if [ "$(date +%s%N)" -gt "$end" ]; then
			echo "wait_until: timed out after ${limit}s: $*" >&2
			return 1
		fi
		read -r -t 0.02 <> <(:) || true
	done
}

# scrub: mask what changes between runs (times, sizes, pids, temp paths)
scrub() {
	sed -E -e "s#$BATS_TEST_TMPDIR#TMP#g" -e "s#$ROOT#ROOT#g" \
	    -e 's/[0-9]+(\.[0-9]+)?(ns|us|ms|s)\b/T/g' \
	    -e 's/[0-9]+(\.[0-9]+)?[BKMG]\b/SIZE/g' \
	    -e 's/pid [0-9]+/pid N/g'
}

# golden ID: compare stdin with test/golden/ID.out (UPDATE_GOLDEN=1 rewrites)
golden() {
	local f="$ROOT/test/golden/$1.out"
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		mkdir -p "$ROOT/test/golden"
		cat > "$f"
		return 0
	fi
	diff -u "$f" -
}

# speeds_pipeline SRCRUN SRCFIELDS READERFIELDS: p.json, where src runs
# SRCRUN (printing 1 to 3,000,000) and three readers of different speeds
# check what they got, one stopped until "whole" ends (a FIFO, gate);
# the FIELDS go into src's and each reader's object
speeds_pipeline() {
	cat > p.json <<JSON
{ "jobs": 5, "stages": {
    "src": { "run": "$1"$2 },
    "whole": { "run": ["cksum"], "stdin": "src"$3 },
    "small": { "run": "dd bs=1000 status=none | cksum", "stdin": "src"$3 },
    "stopped": { "run": "read -r x < gate; cksum", "stdin": "src"$3 },
    "open": { "run": "echo go > gate", "after": ["whole"]$3 } } }
JSON
	mkfifo gate
}
