#!/usr/bin/env bats
# The shared cache: hits, keys, early cutoff, corruption, safety,
# concurrency, crashes and a full disk.
load helper

teardown() {
	[ -n "${mnt:-}" ] && umount "$mnt" 2>/dev/null
	return 0
}

# a pipeline whose cached stages say on stderr when they really run
cache_pipeline() {
	printf 'alpha\nbeta\ngamma\n' > words.txt
	cat > p.json <<'JSON'
{ "name": "cached", "jobs": 2, "stages": {
    "read": { "run": "echo ran-read >&2; cat words.txt", "inputs": ["words.txt"], "cache": "schema" },
    "upper": { "run": "echo ran-upper >&2; tr a-z A-Z", "stdin": "read", "cache": "typemap" },
    "count": { "run": ["wc", "-l"], "stdin": "upper" },
    "show": { "run": ["cat"], "stdin": "upper" } } }
JSON
}

# the map stages' lines of what came from the cache (not with -q)
maplines() {
	printf '%s\n' "$stderr" | grep ': map: ' || true
}

ran() {
	printf '%s\n' "$stderr" | grep -c '^[a-z]*: ran-' || true
}

@test "cache-1.1: a second run replays cached stages without running them" {
	cache_pipeline
	run -0 --separate-stderr sluice run -q p.json
	assert_output "3
ALPHA
BETA
GAMMA"
	assert_equal "$(ran)" 2
	run -0 --separate-stderr sluice run -q --trace t.jsonl p.json
	assert_output "3
ALPHA
BETA
GAMMA"
	assert_equal "$(ran)" 0
	# what they said when they ran is replayed, tagged
	assert_equal "$stderr" "read (cached): ran-read
upper (cached): ran-upper"
	run -0 jq -r '[.stage, .cache] | @tsv' t.jsonl
	assert_line "read	hit"
	assert_line "upper	hit"
	assert_line "count	off"
	run -0 sluice cache --json stats
	run -0 jq -r '.categories[] | "\(.name) \(.lookups) \(.hits) \(.misses) \(.stores) \(.entries)"' <<< "$output"
	assert_output "stderr 2 2 0 2 2
schema 2 1 1 1 1
typemap 2 1 1 1 1"
}

@test "cache-1.2: an input that changes is a miss; early cutoff when the bytes are the same" {
	cache_pipeline
	sluice run -q p.json > /dev/null 2>&1
	# same words, different file bytes: read re-runs ...
	printf 'alpha\nbeta\ngamma\n' > words.txt
	touch -d '2001-01-01' words.txt
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$(ran)" 0
	printf 'alpha\nbeta\ndelta\n' > words.txt
	run -0 --separate-stderr sluice run -q p.json
	assert_line "DELTA"
	assert_equal "$(ran)" 2
	# ... and a stage that re-runs but writes the same bytes lets its
	# consumer hit
	sed -i 's/cat words.txt/cat words.txt; true/' p.json
	run -0 --separate-stderr sluice run -q p.json
	printf '%s\n' "$stderr" | grep -qx 'read: ran-read'
	! printf '%s\n' "$stderr" | grep -q '^upper: ran-upper'
	printf '%s\n' "$stderr" | grep -qx 'upper (cached): ran-upper'
}

@test "cache-1.3: --no-cache, cache false in a profile, and --refresh" {
	cache_pipeline
	sed -i 's/"stages"/"profiles": { "dev": { "cache": false } }, "stages"/' p.json
	sluice run -q p.json > /dev/null 2>&1
	run -0 --separate-stderr sluice run -q --no-cache p.json
	assert_equal "$(ran)" 2
	run -0 --separate-stderr sluice run -q --profile dev p.json
	assert_equal "$(ran)" 2
	run -0 --separate-stderr sluice run -q --refresh p.json
	assert_equal "$(ran)" 2
	run -0 sluice cache --json stats
	run -0 jq -r '.categories[] | select(.name == "schema") | "\(.stores)"' <<< "$output"
	assert_output 2
}

@test "cache-1.4: only successful outputs are stored" {
	cat > p.json <<'JSON'
{ "stages": { "flaky": { "run": "echo partial; test -e ok", "cache": "c" } } }
JSON
	run -1 --separate-stderr sluice run -q p.json
	run -0 sluice cache --json stats
	run -0 jq -r '.entries' <<< "$output"
	assert_output 0
	touch ok
	run -0 --separate-stderr sluice run -q p.json
	assert_output partial
}

@test "cache-1.5: -n says which stages would come from the cache" {
	cache_pipeline
	run -0 sluice run -n p.json
	assert_line "  read: sh -c 'echo ran-read >&2; cat words.txt' (cache: miss)"
	assert_line --partial "< read (cache: depends on stages that run)"
	sluice run -q p.json > /dev/null 2>&1
	run -0 sluice run -n p.json
	assert_line "  read: sh -c 'echo ran-read >&2; cat words.txt' (from the cache)"
	assert_line "  upper: sh -c 'echo ran-upper >&2; tr a-z A-Z' < read (from the cache)"
	assert_line "  count: wc -l < upper"
}

@test "cache-1.6: a corrupted blob or index entry is never served" {
	cache_pipeline
	sluice run -q p.json > /dev/null 2>&1
	# flip a byte in every blob
	for f in "$SLUICE_CACHE_DIR"/blobs/*/*; do
		printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
	done
	run -0 --separate-stderr sluice run -q p.json
	assert_output "3
ALPHA
BETA
GAMMA"
	printf '%s\n' "$stderr" | grep -q "is corrupt; running it"
	# those hits saved nothing: counted as misses, with no bytes saved
	run -0 sluice cache --json stats
	assert_equal "$(jq -c '[.categories[] | select(.name != "stderr") | [.hits, .bytes_saved, .time_saved_ms]] | unique' <<< "$output")" "[[0,0,0]]"
	# stdout and stderr of both stages, stored again over the damaged
	# files of the same names
	run -0 sluice cache verify
	assert_output "verify: 4 entries checked, 0 corrupt"
	# flip bytes in the index entries (after the 8 KiB header)
	perl -e 'open(F, "+<", $ARGV[0]) or die; binmode F;
	    for ($o = 8192; $o < -s F; $o += 64) { seek(F, $o, 0); read(F, $b, 64);
	    next if $b eq "\0" x 64; seek(F, $o + 20, 0); print F "\xff\xff"; }' \
	    "$SLUICE_CACHE_DIR/index"
	run -0 --separate-stderr sluice run -q p.json
	assert_output "3
ALPHA
BETA
GAMMA"
	assert_equal "$(ran)" 2
}

@test "cache-1.7: verify reports and removes corrupt entries" {
	cache_pipeline
	sluice run -q p.json > /dev/null 2>&1
	f=$(ls "$SLUICE_CACHE_DIR"/blobs/*/* | head -n 1)
	printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
	run -1 sluice cache verify
	assert_output "verify: 4 entries checked, 1 corrupt (removed)"
	run -0 sluice cache verify
	assert_output "verify: 3 entries checked, 0 corrupt"
	run -0 sluice cache gc
	assert_output "gc: 0 expired, 0 unreferenced files removed"
	run -0 sluice cache clear typemap
	assert_output "cleared category 'typemap'"
	run -0 sluice cache clear
	run -0 sluice cache --json stats
	run -0 jq -r '.entries' <<< "$output"
	assert_output 0
}

@test "cache-1.8: unsafe cache directories and planted symlinks are refused (exit 77)" {
	cache_pipeline
	mkdir -m 0777 open
	chmod 0777 open
	run -77 --separate-stderr sluice run --cache-dir open p.json
	assert_equal "$stderr" "sluice: cache directory 'open' is writable by group or others (mode 0777): refusing; chmod go-w it"
	mkdir -m 0700 theirs
	chown nobody theirs
	run -77 --separate-stderr sluice run --cache-dir theirs p.json
	echo "$stderr" | grep -qx "sluice: cache directory 'theirs' is owned by uid [0-9]*, not by you (uid 0): refusing"
	mkdir -m 0700 real
	ln -s real link
	run -77 --separate-stderr sluice run --cache-dir link p.json
	assert_equal "$stderr" "sluice: cache directory 'link' is not a directory (a symbolic link)"
	mkdir -m 0700 planted
	ln -s /etc/passwd planted/index
	run -77 --separate-stderr sluice run --cache-dir planted p.json
	echo "$stderr" | grep -q "^sluice: cannot open cache index 'planted/index': "
	run -77 sluice cache --cache-dir open stats
}

@test "cache-1.9: categories have TTLs; expired entries are never served" {
	cat > p.json <<'JSON'
{ "cache_categories": { "short": { "ttl": "1s" }, "long": { "ttl": "7d", "share": "50%" } },
  "stages": { "a": { "run": "echo ran-a >&2; echo out", "cache": "short" },
              "b": { "run": "echo ran-b >&2; echo out", "cache": "long" } } }
JSON
	sluice run -q p.json > /dev/null 2>&1
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$(ran)" 0
	# the short entry expires within a bounded wait (no sleep)
	wait_until 5 sh -c 'sluice run -n p.json | grep -q "a: .*(cache: miss)"'
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$stderr" "b (cached): ran-b
a: ran-a"
	run -0 sluice cache --json stats
	run -0 jq -r '.categories[] | select(.name != "stderr") | "\(.name) \(.ttl_s) \(.share)"' <<< "$output"
	assert_output "short 1 0
long 604800 0.5"
	echo '{ "cache_categories": { "x": { "ttl": "soon" } }, "stages": { "a": { "run": ["true"] } } }' > bad.json
	run -65 --separate-stderr sluice check bad.json
	assert_equal "$stderr" "sluice: bad.json:1:39: 'ttl' expects a duration such as \"2s\" or \"150ms\", found \"soon\""
}

@test "cache-1.10: four coordinators share one cache at the same time" {
	cache_pipeline
	local pids=() i
	for i in 1 2 3 4; do
		sluice run -q p.json > "out.$i" 2>/dev/null 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	for i in 1 2 3 4; do
		assert_equal "$(cat "out.$i")" "3
ALPHA
BETA
GAMMA"
	done
	run -0 sluice cache --json stats
	run -0 jq -r '.categories[] | "\(.name) \(.lookups) \(.hits + .misses) \(.entries)"' <<< "$output"
	assert_line "schema 4 4 1"
	assert_line "typemap 4 4 1"
	assert_line --regexp '^stderr [0-9]+ [0-9]+ 2$'
	run -0 sluice cache verify
	assert_output "verify: 4 entries checked, 0 corrupt"
}

@test "cache-1.11: 200 runs killed at random moments never leave a wrong answer" {
	cat > p.json <<'JSON'
{ "vars": { "n": "1" }, "stages": {
    "big": { "run": ["sh", "-c", "seq 1 $0", "${n}"], "cache": "c" },
    "sum": { "run": ["awk", "{ s += $1 } END { printf \"%.0f\\n\", s }"], "stdin": "big", "cache": "c" } } }
JSON
	local i n want got
	for i in $(seq 1 200); do
		n=$(( (i % 7) * 20000 + 1 ))
		timeout -s KILL "0.0$(( RANDOM % 40 + 1 ))" \
		    sluice run -q -D n=$n p.json > /dev/null 2>&1 3>&- || true
	done
	run -0 sluice cache verify
	assert_output --regexp '^verify: [0-9]+ entries checked, 0 corrupt$'
	for i in 0 1 2 3 4 5 6; do
		n=$(( i * 20000 + 1 ))
		want=$(( n * (n + 1) / 2 ))
		run -0 --separate-stderr sluice run -q -D n=$n p.json
		assert_output "$want"
	done
}

@test "cache-1.12: a full disk makes a store fail cleanly, the run still succeeds" {
	mnt=$BATS_TEST_TMPDIR/small
	mkdir -m 0700 "$mnt"
	# room for the 20 MB index and 1 MB of blobs
	mount -t tmpfs -o size=21m,mode=0700 tmpfs "$mnt" ||
	    skip "cannot mount a tmpfs here"
	cat > p.json <<'JSON'
{ "stages": { "big": { "run": ["seq", "1", "500000"], "cache": "c" },
              "sum": { "run": ["awk", "{ s += $1 } END { printf \"%.0f\\n\", s }"], "stdin": "big" } } }
JSON
	run -0 --separate-stderr sluice run -q --cache-dir "$mnt/cache" p.json
	assert_output 125000250000
	printf '%s\n' "$stderr" | grep -q "^sluice: stage 'big': cannot write to the cache (No space left on device); not storing its output$"
	run -0 sluice cache --cache-dir "$mnt/cache" verify
	assert_output "verify: 0 entries checked, 0 corrupt"
	run -0 --separate-stderr sluice run -q --cache-dir "$mnt/cache" p.json
	assert_output 125000250000
	# a reader that waits for it (cached too) gets what the capture held
	# when the disk filled, and the rest
	sed 's/"500000"/"500001"/; s/"stdin": "big"/&, "cache": "c"/' p.json > p2.json
	run -0 --separate-stderr sluice run -q --cache-dir "$mnt/cache" p2.json
	assert_output 125000750001
	printf '%s\n' "$stderr" | grep -q "^sluice: stage 'big': cannot write to the cache (No space left on device); not storing its output$"
	# no room even for the index: the run goes on without the cache
	umount "$mnt"
	mount -t tmpfs -o size=1m,mode=0700 tmpfs "$mnt"
	run -0 --separate-stderr sluice run -q --cache-dir "$mnt/cache" p.json
	assert_output 125000250000
	printf '%s\n' "$stderr" | grep -q "^sluice: cannot allocate the cache index in '$mnt/cache': No space left on device; running without the cache$"
}

@test "cache-1.13: preload fills the cache without running what nothing cached needs" {
	cache_pipeline
	run -0 --separate-stderr sluice cache preload p.json
	assert_output ""
	assert_equal "$(ran)" 2
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$(ran)" 0
	assert_line "ALPHA"
}

@test "map-1.1: a map stage is sharded over processes and keeps input order" {
	cat > p.json <<'JSON'
{ "jobs": 3, "stages": {
    "gen": { "run": ["seq", "1", "100"] },
    "sq": { "run": ["awk", "{ print $1 * $1 }"], "stdin": "gen", "map": true, "batch": 7 } } }
JSON
	run -0 --separate-stderr sluice run p.json
	assert_equal "$output" "$(seq 1 100 | awk '{ print $1 * $1 }')"
	assert_equal "$(maplines)" "sq: map: 100 records, 0 from the cache, 100 in 15 processes"
	# a last line without a newline stays so, however many shards
	cat > p.json <<'JSON'
{ "stages": {
    "gen": { "run": "printf 'a\\nb\\nc'" },
    "up": { "run": ["tr", "a-z", "A-Z"], "stdin": "gen", "map": true } } }
JSON
	for j in 1 2 3; do
		sluice run -q -j$j p.json > out.$j
		assert_equal "$(od -c < out.$j)" "$(printf 'a\nb\nc' | tr a-z A-Z | od -c)"
	done
}

@test "map-1.2: a map stage that does not write one line per line fails" {
	cat > p.json <<'JSON'
{ "stages": {
    "gen": { "run": ["seq", "1", "10"] },
    "bad": { "run": ["grep", "1"], "stdin": "gen", "map": true, "batch": 5 } } }
JSON
	run -1 --separate-stderr sluice run -q p.json
	assert_output ""
	echo "$stderr" | grep -qx "bad: sluice: stage 'bad' is a map stage but wrote 1 lines for 5 input lines (1-5)"
	# nothing more: under the sanitizers, no leak report either
	! grep -q Sanitizer <<< "$stderr"
}

@test "map-1.3: a failing shard fails the stage and names the lines" {
	cat > p.json <<'JSON'
{ "jobs": 1, "stages": {
    "gen": { "run": ["seq", "1", "6"] },
    "bad": { "run": "grep -q 4 && exit 3; cat", "stdin": "gen", "map": true, "batch": 3 } } }
JSON
	run -1 --separate-stderr sluice run -q p.json
	echo "$stderr" | grep -qx "bad: sluice: stage 'bad': the shard of lines 4-6 exited with status 3"
	! grep -q Sanitizer <<< "$stderr"
}

@test "map-1.6: a map stage's shards get their lines whole: misses among hits, pipes that fill, a last line without a newline" {
	# 30,000 lines of about 100 bytes: each shard's input is more than
	# a pipe holds; the second run hits every other line, so each
	# shard's lines lie apart in the input
	awk 'BEGIN { for (i = 1; i <= 30000; i++) printf "%06d %s\n", i, sprintf("%094d", i * 7) }' > all.txt
	awk 'NR % 2' all.txt > half.txt
	printf 'last-line-without-newline' >> all.txt
	cat > p.json <<'JSON'
{ "jobs": 2, "stages": {
    "in": { "run": ["cat", "${f}"] },
    "up": { "run": ["tr", "a-z0", "A-Z9"], "stdin": "in", "map": true, "cache": "m" } } }
JSON
	run -0 --separate-stderr sluice run -D f=half.txt p.json
	assert_equal "$(maplines)" "up: map: 15000 records, 0 from the cache, 15000 in 2 processes"
	run -0 --separate-stderr sluice run -D f=all.txt p.json
	assert_equal "$(maplines)" "up: map: 30001 records, 15000 from the cache, 15001 in 2 processes"
	assert_equal "$(printf '%s\n' "$output" | md5sum)" "$( (cat all.txt; echo) | tr a-z0 A-Z9 | md5sum)"
}

@test "map-1.4: change one record of 1,000 and only that record is processed again (and, with -q, nothing says so)" {
	seq 1 1000 | sed 's/^/table-/' > tables.txt
	cat > p.json <<'JSON'
{ "jobs": 2, "stages": {
    "tables": { "run": ["cat", "tables.txt"], "inputs": ["tables.txt"] },
    "render": { "run": ["awk", "{ print \"rendered \" $0 }"], "stdin": "tables", "map": true, "cache": "template" },
    "count": { "run": ["wc", "-l"], "stdin": "render" } } }
JSON
	run -0 --separate-stderr sluice run p.json
	assert_output 1000
	assert_equal "$(maplines)" "render: map: 1000 records, 0 from the cache, 1000 in 2 processes"
	sed -i 's/^table-500$/table-500-changed/' tables.txt
	run -0 --separate-stderr sluice run p.json
	assert_output 1000
	assert_equal "$(maplines)" "render: map: 1000 records, 999 from the cache, 1 in 1 process"
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$stderr" ""
	# -q: a record processed again, and no line says so
	sed -i 's/^table-7$/table-7-changed/' tables.txt
	run -0 --separate-stderr sluice run -q p.json
	assert_output 1000
	assert_equal "$stderr" ""
	# ... but it was stored: the next change is the only one processed
	sed -i 's/^table-8$/table-8-changed/' tables.txt
	run -0 --separate-stderr sluice run p.json
	assert_equal "$(maplines)" "render: map: 1000 records, 999 from the cache, 1 in 1 process"
}

@test "cache-1.14: preload also runs the stages a cached stage waits for with after" {
	cat > p.json <<'JSON'
{ "stages": {
    "setup": { "run": "echo ready > flag" },
    "cached": { "run": "cat flag; echo ran-cached >&2", "after": ["setup"], "cache": "c" },
    "other": { "run": "echo ran-other >&2" } } }
JSON
	run -0 --separate-stderr sluice cache preload p.json
	assert_equal "$stderr" "cached: ran-cached"
	assert_file_exists flag
	run -0 --separate-stderr sluice run -q p.json
	assert_output "ready"
	run -0 sort <<< "$stderr"
	assert_output "cached (cached): ran-cached
other: ran-other"
}

@test "cache-1.15: a cached stage whose readers all hit is never replayed" {
	command -v strace > /dev/null || skip "strace is not installed (make deps)"
	cat > p.json <<'JSON'
{ "stages": {
    "big": { "run": "seq 1 200000", "cache": "c" },
    "count": { "run": ["wc", "-l"], "stdin": "big", "cache": "c" },
    "show": { "run": ["cat"], "stdin": "count" } } }
JSON
	run -0 sluice run -q p.json
	assert_output 200000
	big=$(find "$SLUICE_CACHE_DIR/blobs" -type f -size +1000k)
	small=$(find "$SLUICE_CACHE_DIR/blobs" -type f -size -100c)
	[ -f "$big" ] && [ -f "$small" ]
	# warm: big's output is checked (mapped) but not one byte of it is
	# read or spliced, since count hits too; count's is replayed to show
	# (LeakSanitizer cannot run under ptrace)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run -0 strace -f -y -e trace=read,splice,sendfile,copy_file_range \
	    -o trace.txt sluice run -q p.json
	assert_output 200000
	run grep -c "<$big>" trace.txt
	assert_output 0
	run -0 grep -c "<$small>" trace.txt
	[ "$output" -ge 1 ]
}

@test "cache-1.16: a hit replays what the stage said on stderr, tagged; a new run replaces it" {
	cat > p.json <<'JSON'
{ "stages": {
    "warn": { "run": "echo 'warning: t.c left out' >&2; printf 'no newline' >&2; cat msg", "inputs": ["msg"], "cache": "c" },
    "quiet": { "run": "cat msg", "inputs": ["msg"], "cache": "c" } } }
JSON
	echo one > msg
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$stderr" "warn: warning: t.c left out
warn: no newline"
	run -0 --separate-stderr sluice run -q p.json
	assert_output "one
one"
	assert_equal "$stderr" "warn (cached): warning: t.c left out
warn (cached): no newline"
	# a run that said nothing (--refresh: same key) leaves no stale lines
	cat > q.json <<'JSON'
{ "stages": { "maybe": { "run": "test -e loud && echo noisy >&2; cat msg", "cache": "c" } } }
JSON
	touch loud
	run -0 --separate-stderr sluice run -q q.json
	assert_equal "$stderr" "maybe: noisy"
	rm loud
	run -0 --separate-stderr sluice run -q --refresh q.json
	assert_equal "$stderr" ""
	run -0 --separate-stderr sluice run -q --trace t.jsonl q.json
	assert_equal "$stderr" ""
	run -0 jq -r .cache t.jsonl
	assert_output hit
}

@test "map-1.5: a map stage's shards take only the job slots that are free" {
	seq 1 1000 > lines.txt
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "hold": { "run": "timeout 30 sh -c 'until [ -e done ]; do sleep 0.01; done'" },
    "lines": { "run": ["cat", "lines.txt"] },
    "double": { "run": ["awk", "{ print $1 * 2 }"], "stdin": "lines", "after": ["lines"], "map": true },
    "count": { "run": "wc -l; touch done", "stdin": "double" } } }
JSON
	run -0 --separate-stderr sluice run p.json
	assert_output 1000
	# of the four slots, hold has one and count, which starts with
	# double to read its output, another
	assert_equal "$(maplines)" "double: map: 1000 records, 0 from the cache, 1000 in 2 processes"
}

@test "cache-1.17: small values go to packs, not a file each; a damaged one is made again; clear and gc remove unused packs" {
	seq 1 200 | sed 's/^/rec-/' > recs.txt
	cat > p.json <<'JSON'
{ "jobs": 2, "stages": {
    "recs": { "run": ["cat", "recs.txt"], "inputs": ["recs.txt"] },
    "up": { "run": ["tr", "a-z", "A-Z"], "stdin": "recs", "map": true, "cache": "m" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_line --index 0 "REC-1"
	assert_line --index 199 "REC-200"
	# one blob file: the stage's whole output; 200 records in one pack
	run -0 sh -c 'find "$SLUICE_CACHE_DIR/blobs" -type f | wc -l'
	assert_output 1
	run -0 ls "$SLUICE_CACHE_DIR/packs"
	assert_output "1.pack"
	run -0 sluice cache verify
	assert_output "verify: 201 entries checked, 0 corrupt"
	# damage one record's value: verify finds it, a run makes it again
	printf 'X' | dd of="$SLUICE_CACHE_DIR/packs/1.pack" bs=1 seek=8 conv=notrunc status=none
	run -1 sluice cache verify
	assert_output "verify: 201 entries checked, 1 corrupt (removed)"
	sed -i 's/^rec-100$/rec-100-changed/' recs.txt
	run -0 --separate-stderr sluice run p.json
	assert_line --index 0 "REC-1"
	assert_line --index 99 "REC-100-CHANGED"
	assert_equal "$(maplines)" "up: map: 200 records, 198 from the cache, 2 in 2 processes"
	run -0 sluice cache verify
	assert_output "verify: 203 entries checked, 0 corrupt"
	# clearing the category leaves no pack behind
	run -0 sluice cache clear m
	run -0 sh -c 'ls "$SLUICE_CACHE_DIR/packs" | wc -l'
	assert_output 0
	run -0 sluice cache --json stats
	run -0 jq -r '.entries' <<< "$output"
	assert_output 0
	run -0 --separate-stderr sluice run p.json
	assert_equal "$(maplines)" "up: map: 200 records, 0 from the cache, 200 in 2 processes"
}

@test "cache-1.18: gc moves the values still in use out of a mostly unused pack" {
	export SLUICE_CACHE_PACK_MAX=256
	seq 1 20 | sed 's/^/b-/' > b1.txt
	seq 1 300 | sed 's/^/a-/' > a.txt
	seq 21 40 | sed 's/^/b-/' > b2.txt
	# b1's values, then a's, then b2's: the first pack holds b1's and
	# the start of a's
	cat > p.json <<'JSON'
{ "stages": {
    "b1": { "run": ["tr", "a-z", "A-Z"], "stdin": "in_b1", "map": true, "cache": "cb" },
    "in_b1": { "run": ["cat", "b1.txt"], "inputs": ["b1.txt"] },
    "in_a": { "run": ["cat", "a.txt"], "inputs": ["a.txt"], "after": ["b1"] },
    "a": { "run": ["tr", "a-z", "A-Z"], "stdin": "in_a", "map": true, "cache": "ca" },
    "in_b2": { "run": ["cat", "b2.txt"], "inputs": ["b2.txt"], "after": ["a"] },
    "b2": { "run": ["tr", "a-z", "A-Z"], "stdin": "in_b2", "map": true, "cache": "cb" } } }
JSON
	run -0 --separate-stderr sluice run -q -j1 p.json
	assert_file_exists "$SLUICE_CACHE_DIR/packs/1.pack"
	[ "$(ls "$SLUICE_CACHE_DIR/packs" | wc -l)" -ge 4 ]
	# without a's values the first pack is mostly unused: b1's values
	# move on and the pack goes, as do the packs of a's values alone
	run -0 sluice cache clear ca
	assert_file_not_exists "$SLUICE_CACHE_DIR/packs/1.pack"
	run -0 sluice cache verify
	assert_output "verify: 42 entries checked, 0 corrupt"
	run -0 sluice cache gc
	assert_output "gc: 0 expired, 0 unreferenced files removed"
	# b1's records still come from the cache
	sed -i 's/^b-20$/b-20-changed/' b1.txt
	run -0 --separate-stderr sluice run -j1 p.json
	assert_line "B-20-CHANGED"
	printf '%s\n' "$stderr" | grep -qx "b1: map: 20 records, 19 from the cache, 1 in 1 process"
}

@test "cache-1.19: evicted small values give their pack space back" {
	export SLUICE_CACHE_PACK_MAX=256
	seq 1 1000 | sed 's/^/r-/' > r.txt
	cat > p.json <<'JSON'
{ "cache_size": "4K", "stages": {
    "in": { "run": ["cat", "r.txt"], "inputs": ["r.txt"] },
    "up": { "run": ["tr", "a-z", "A-Z"], "stdin": "in", "map": true, "batch": 100, "cache": "m" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_line --index 999 "R-1000"
	run -0 sluice cache --json stats
	run -0 jq -r '.categories[] | select(.name == "m") | .evictions > 500' <<< "$output"
	assert_output true
	# ~6 KB of values through a 4 KB bound: what packs keep on disk
	# stays within the bound and one pack
	run -0 sh -c 'find "$SLUICE_CACHE_DIR/packs" -name "*.pack" -exec cat {} + | wc -c'
	[ "$output" -le $((4096 + 256)) ]
	run -0 sluice cache verify
	assert_output --regexp '^verify: [0-9]+ entries checked, 0 corrupt$'
}

@test "cache-1.20: packs (t-cache): gc keeps live values, a small bound keeps packs small, damage is a miss" {
	[ -x "$ROOT/test/unit/t-cache" ] || skip "unit programs not built (make unit)"
	unset SLUICE_CACHE_PACK_MAX
	run -0 "$ROOT/test/unit/t-cache" "$BATS_TEST_TMPDIR/tc"
	assert_output --regexp '^t-cache: gc keeps live values, packs stay within twice the bound \([0-9]+ bytes\), damage is a miss, many at once as one at a time$'
}

@test "cache-1.21: a hit whose readers all hit is not read; a damaged one that is needed after all runs" {
	cat > p.json <<'JSON'
{ "jobs": 2, "stages": {
    "a": { "run": "echo ran-a >&2; seq 1 5", "cache": "x" },
    "b": { "run": "echo ran-b >&2; sed s/^/b/", "stdin": "a", "cache": "x" },
    "c": { "run": "echo ran-c >&2; sed s/^/c/", "stdin": "b", "cache": "x" },
    "out": { "run": ["cat"], "stdin": "c" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "$(seq 1 5 | sed s/^/cb/)"
	# a's and b's stored outputs are not needed (b and c hit): damaged,
	# they are not read, and the run still gives c's stored output
	for f in "$SLUICE_CACHE_DIR"/blobs/*/*; do
		if [ "$(head -c 2 "$f")" = "b1" ]; then
			printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
		fi
	done
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run -0 --separate-stderr strace -f -e trace=openat -o trace.txt sluice run -q p.json
	assert_output "$(seq 1 5 | sed s/^/cb/)"
	assert_equal "$(ran)" 0
	assert_equal "$(grep -c 'blobs/' trace.txt)" 1
	# c's damaged too: c runs, so b's bytes are needed and found
	# damaged, so b runs; a's are intact and replayed
	for f in "$SLUICE_CACHE_DIR"/blobs/*/*; do
		if [ "$(head -c 2 "$f")" = "cb" ]; then
			printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
		fi
	done
	run -0 --separate-stderr sluice run -q p.json
	assert_output "$(seq 1 5 | sed s/^/cb/)"
	printf '%s\n' "$stderr" | grep -qx "sluice: stage 'c': cache blob '.*' is corrupt; running it"
	printf '%s\n' "$stderr" | grep -qx "sluice: stage 'b': cache blob '.*' is corrupt; running it"
	assert_equal "$(ran)" 2
}

# past_tick FILE: the clock is past FILE's change time by more than the
# kernel's coarse tick (4 ms here), so sluice keeps its digest by stat
past_tick() {
	local c
	c=$(stat -c %.9Z "$1")
	[ "$(date +%s%N)" -gt $(( ${c/./} + 20000000 )) ]
}

@test "cache-1.22: a program's digest is kept by its stat, and a changed program is a miss" {
	printf '#!/bin/sh\necho one\n' > prog.sh
	chmod +x prog.sh
	wait_until 5 past_tick prog.sh
	cat > p.json <<'JSON'
{ "stages": { "p": { "run": ["./prog.sh"], "cache": "x" } } }
JSON
	run -0 sluice run -q p.json
	assert_output one
	assert_equal "$(grep -c ' prog.sh$\|/prog.sh$' "$SLUICE_CACHE_DIR/programs")" 1
	run -0 sluice run -q p.json
	assert_output one
	# the same size and modification time, other bytes: its change
	# time tells
	m=$(stat -c %y prog.sh)
	printf '#!/bin/sh\necho two\n' > prog.sh
	touch -d "$m" prog.sh
	wait_until 5 past_tick prog.sh
	run -0 sluice run -q p.json
	assert_output two
	assert_equal "$(grep -c 'prog.sh$' "$SLUICE_CACHE_DIR/programs")" 2
}

@test "cache-1.22b: an input file's digest is kept by its stat: a warm run does not read it, a changed one is a miss" {
	command -v strace > /dev/null || skip "strace is not installed (make deps)"
	printf 'a\nb\n' > in.txt
	cat > p.json <<'JSON'
{ "stages": { "p": { "run": ["wc", "-l", "in.txt"], "inputs": ["in.txt"],
  "cache": "x" } } }
JSON
	wait_until 5 past_tick in.txt
	run -0 sluice run -q p.json
	assert_output '2 in.txt'
	assert_equal "$(grep -c '[ /]in.txt$' "$SLUICE_CACHE_DIR/programs")" 1
	# warm: the key comes from the line; nothing opens the file
	# (LeakSanitizer cannot run under ptrace)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run -0 strace -f -e trace=open,openat -o trace.txt sluice run -q p.json
	assert_output '2 in.txt'
	run grep -c 'in.txt"' trace.txt
	assert_output 0
	# the same size and modification time, other bytes: the change
	# time tells, and the stage runs again
	m=$(stat -c %y in.txt)
	printf 'ab \n' > in.txt
	touch -d "$m" in.txt
	run -0 sluice run -q p.json
	assert_output '1 in.txt'
}

@test "cache-1.23: readers that wait for a cached stage read its output back from the cache, not from queues spilled to TMPDIR" {
	command -v strace > /dev/null || skip "strace is not installed (make deps)"
	cat > p.json <<'JSON'
{ "stages": {
  "make": { "run": ["seq", "1", "1200000"], "cache": "x" },
  "count": { "run": ["wc", "-l"], "stdin": "make", "cache": "x" },
  "sum": { "run": ["cksum"], "stdin": "make", "cache": "x" } } }
JSON
	want="1200000
$(seq 1 1200000 | cksum)"
	mkdir spill
	TMPDIR=$PWD/spill ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run -0 strace -f -e trace=openat,open -o tr.txt sluice run -q --trace t.jsonl p.json
	assert_output "$want"
	# 8.3 MB for two readers that wait: no spill file
	grep -q 'cksum' tr.txt
	run grep -c "$PWD/spill" tr.txt
	assert_output 0
	# every byte counted once in the trace
	assert_equal "$(jq -r 'select(.stage == "make") | .stdout_bytes' t.jsonl)" \
	    "$(seq 1 1200000 | wc -c)"
	assert_equal "$(jq -r 'select(.stage == "count") | .stdin_bytes' t.jsonl)" \
	    "$(seq 1 1200000 | wc -c)"
	# all hits now, the same bytes
	run -0 sluice run -q --trace t2.jsonl p.json
	assert_output "$want"
	assert_equal "$(jq -r .cache t2.jsonl | sort | uniq -c | tr -s ' ')" ' 3 hit'
}

@test "cache-1.23b: a cached stage that ran is read back from its capture by each reader at its own pace: one that reads only once the other is done gets the bytes from the file, not from a queue spilled to TMPDIR" {
	command -v strace > /dev/null || skip "strace is not installed (make deps)"
	# sum reads nothing until count has read everything and opened
	# the FIFO: through sluice's queues, 7 MB would wait for it
	mkfifo gate
	cat > p.json <<'JSON'
{ "stages": {
  "make": { "run": ["seq", "1", "1200000"], "cache": "x" },
  "count": { "run": "wc -l; echo > gate", "stdin": "make", "cache": "x" },
  "sum": { "run": "read go < gate; cksum", "stdin": "make", "cache": "x" } } }
JSON
	mkdir spill
	TMPDIR=$PWD/spill ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    run -0 strace -f -e trace=openat,open -o tr.txt sluice run -q p.json
	assert_output "1200000
$(seq 1 1200000 | cksum)"
	# the stages' opens are in the trace too (the FIFO's)
	grep -q '"gate"' tr.txt
	run grep -c "$PWD/spill" tr.txt
	assert_output 0
}

# a stage that writes files: "put" says on stderr when it ran
outputs_pipeline() {
	cat > p.json <<'JSON'
{ "stages": {
    "src": { "run": ["cat", "in.txt"], "inputs": ["in.txt"], "cache": "x" },
    "put": { "run": "mkdir -p out/sub; cat > out/sub/a.txt; echo b > out/b.txt; echo ran-put >&2; echo put-done",
             "stdin": "src", "outputs": ["out", "missing.txt"], "cache": "files" } } }
JSON
	echo hello > in.txt
}

# a run of outputs_pipeline in which put runs (1) or hits (0)
put_ran() {
	run -0 --separate-stderr sluice run -q p.json
	if [ "$1" = 1 ]; then
		assert_equal "$stderr" "put: ran-put"
	else
		assert_equal "$stderr" ""
	fi
}

@test "outputs-1.1: a stage with outputs does not run while its key and its files are as its last run left them; a file changed, added or removed makes it run" {
	outputs_pipeline
	run -0 --separate-stderr sluice run -q p.json
	assert_output put-done
	assert_equal "$stderr" "put: ran-put"
	# as it left them: nothing runs, nothing is replayed
	run -0 --separate-stderr sluice run -q --trace t.jsonl p.json
	assert_output ''
	assert_equal "$stderr" ""
	assert_equal "$(jq -r 'select(.stage == "put") | .cache' t.jsonl)" hit
	run -0 sluice run -n p.json
	assert_line --partial "put: sh -c 'mkdir -p out/sub; cat > out/sub/a.txt; echo b > out/b.txt; echo ran-put >&2; echo put-done' < src (from the cache)"
	# removed
	rm out/sub/a.txt
	run -0 sluice run -n p.json
	assert_line --partial "< src (cache: its outputs changed)"
	put_ran 1
	assert_equal "$(cat out/sub/a.txt)" hello
	# the same size and modification time, other bytes: the change
	# time tells
	m=$(stat -c %y out/b.txt)
	echo c > out/b.txt
	touch -d "$m" out/b.txt
	put_ran 1
	assert_equal "$(cat out/b.txt)" b
	# added, deep down
	echo x > out/sub/extra
	put_ran 1
	put_ran 0
	# a declared output that was missing appears
	echo y > missing.txt
	put_ran 1
	# replaced by a symbolic link to the same content
	mv out/b.txt b.saved
	ln -s ../b.saved out/b.txt
	put_ran 1
	# its input changed
	put_ran 0
	echo bye > in.txt
	put_ran 1
	assert_equal "$(cat out/sub/a.txt)" bye
}

@test "outputs-1.2: --refresh and --no-cache run a stage with outputs; a failed run stores nothing; statistics count its hits and misses" {
	outputs_pipeline
	run -0 --separate-stderr sluice run -q p.json
	run -0 --separate-stderr sluice run -q --refresh p.json
	assert_equal "$stderr" "put: ran-put"
	run -0 --separate-stderr sluice run -q --no-cache p.json
	assert_equal "$stderr" "put: ran-put"
	# the cache did not see that run, which changed the files
	put_ran 1
	put_ran 0
	# misses: the first run and --refresh (src ran: put could not look
	# before it started) and the one after --no-cache; one hit
	run -0 sluice cache --json stats
	assert_equal "$(jq -c '.categories[] | select(.name == "files") | [.lookups, .hits, .misses, .stores]' <<< "$output")" "[4,1,3,3]"
	# a run that fails leaves nothing that makes the next one hit
	sed -i 's/echo put-done/echo put-done; exit 3/' p.json
	run -1 --separate-stderr sluice run -q p.json
	rm out/b.txt
	sed -i 's/; exit 3//' p.json
	put_ran 1
	assert_file_exists out/b.txt
}

@test "outputs-1.3: a stage with outputs streams its input as its producers run, and its key is stored once they end" {
	# src is not cached and blocks until put has started and read a line:
	# put must not wait for src to end
	mkfifo gate
	cat > p.json <<'JSON'
{ "stages": {
    "src": { "run": "echo first; read go < gate; echo second" },
    "put": { "run": "read l; echo > gate; mkdir -p out; { echo \"$l\"; cat; } > out/a.txt",
             "stdin": "src", "outputs": "out", "cache": "files" } } }
JSON
	run -0 timeout 20 sluice run -q p.json
	assert_equal "$(cat out/a.txt)" "first
second"
	run -0 --separate-stderr timeout 20 sluice run -q --trace t.jsonl p.json
	# src runs again (not cached) and writes the same: put's key is the
	# same, but it cannot know before src ends, and runs
	assert_equal "$(jq -r 'select(.stage == "put") | .cache' t.jsonl)" miss
}

@test "outputs-1.4: \"outputs\" is checked: a file or a list of them, no empty name, and no stage may read a stage that has it" {
	cat > p.json <<'JSON'
{ "stages": {
    "put": { "run": ["true"], "outputs": 3 } } }
JSON
	run -65 sluice run p.json
	assert_output "sluice: p.json:2:42: 'outputs' expects a list of files, found number"
	cat > p.json <<'JSON'
{ "stages": {
    "put": { "run": ["true"], "outputs": [""] } } }
JSON
	run -65 sluice run p.json
	assert_output "sluice: p.json:2:43: 'outputs' expects a file or directory, found an empty string"
	cat > p.json <<'JSON'
{ "stages": {
    "put": { "run": ["true"], "outputs": "out" },
    "read": { "run": ["cat"], "stdin": "put" } } }
JSON
	run -65 sluice run p.json
	assert_output "sluice: p.json:3:40: stage 'read' reads 'put', which has \"outputs\": a stage that writes files is read by no stage"
	cat > p.json <<'JSON'
{ "stages": {
    "put": { "run": ["true"], "map": true, "outputs": "out" } } }
JSON
	run -65 sluice run p.json
	assert_output "sluice: p.json:2:55: stage 'put' is a map stage: its work is its output lines, not files (\"outputs\")"
}

@test "cache-1.23c: a cached stage whose readers all went away before its end is not stored: the rest of its output was never seen" {
	# gen writes only once rd has closed its input and gone
	mkfifo gate
	cat > p.json <<'JSON'
{ "stages": {
  "gen": { "run": "read go < gate; printf 'hello\\nworld\\n'", "cache": "x" },
  "rd": { "run": "exec 0<&-; echo > gate; echo reader-done", "stdin": "gen" } } }
JSON
	run -0 --separate-stderr timeout 20 sluice run -q p.json
	assert_output reader-done
	run -0 sluice cache --json stats
	assert_equal "$(jq -c '.categories[] | select(.name == "x") | [.stores, .entries]' <<< "$output")" "[0,0]"
	# the same gen, read whole: it runs, and its whole output is stored
	cat > p.json <<'JSON'
{ "stages": {
  "gen": { "run": "read go < gate; printf 'hello\\nworld\\n'", "cache": "x" },
  "open": { "run": "echo > gate" },
  "rd": { "run": ["cat"], "stdin": "gen" } } }
JSON
	run -0 --separate-stderr timeout 20 sluice run -q p.json
	assert_output "hello
world"
	run -0 sluice run -n p.json
	assert_line --regexp "^  gen: sh -c .* \\(from the cache\\)$"
	run -0 sluice cache --json stats
	assert_equal "$(jq -c '.categories[] | select(.name == "x") | [.stores, .entries]' <<< "$output")" "[1,1]"
}

@test "cache-1.24: SLUICE_STDIN_DIGEST_FD gives a stage the digest of its input once its producers have ended, the same for the same bytes, never inherited" {
	cat > p.json <<'JSON'
{ "stages": {
  "a": { "run": ["printf", "x\n"], "cache": "x" },
  "b": { "run": ["printf", "y\n"], "cache": "x" },
  "plain": { "run": ["printf", "z\n"] },
  "known": { "run": "cat > /dev/null; echo known ${SLUICE_STDIN_DIGEST_FD:+$(cat <&$SLUICE_STDIN_DIGEST_FD)}", "stdin": ["a", "b"] },
  "live": { "run": "cat > /dev/null; echo live ${SLUICE_STDIN_DIGEST_FD:-none}", "stdin": "plain" } } }
JSON
	export SLUICE_STDIN_DIGEST_FD=7
	# a and b run: the digest comes once they have ended
	run -0 sluice run -q p.json
	assert_line 'live none'
	assert_line --regexp '^known [0-9a-f]{32}$'
	first=$(printf '%s\n' "$output" | sed -n 's/^known //p')
	# they hit: the same, there from the start
	run -0 sluice run -q p.json
	assert_line "known $first"
	assert_line 'live none'
	# other bytes from a: another digest
	sed -i 's/"x\\n"/"w\\n"/' p.json
	run -0 sluice run -q p.json
	assert_line --regexp '^known [0-9a-f]{32}$'
	refute_line "known $first"
}

@test "cache-1.25: a cached stage starts while the stage it reads re-runs, and still hits when that one wrote the same bytes" {
	# make waits (5 s at most) for up to have started before it ends:
	# only a reader started while it runs lets it say "overlap"
	cat > p.json <<'JSON'
{ "stages": {
  "make": { "run": ["bash", "-c", "cat in.txt; for i in $(seq 100); do [ -e started ] && break; read -r -t 0.05 <> <(:) || true; done; [ -e started ] && echo overlap >&2; echo end"], "inputs": ["in.txt"], "cache": "x" },
  "up": { "run": "touch started; echo ran-up >&2; tr a-z A-Z", "stdin": "make", "cache": "x" },
  "count": { "run": "tr -d '\\n'; echo", "stdin": "up", "cache": "x" } } }
JSON
	printf 'a\nb\n' > in.txt
	run -0 --separate-stderr sluice run -q p.json
	assert_output 'ABEND'
	printf '%s\n' "$stderr" | grep -qx 'make: overlap'
	printf '%s\n' "$stderr" | grep -qx 'up: ran-up'
	# another command, the same bytes: make runs again, up starts with
	# it, and since make wrote the same bytes up is a hit
	rm started
	sed -i 's/echo end/true; echo end/' p.json
	run -0 --separate-stderr sluice run -q --trace t.jsonl p.json
	assert_output 'ABEND'
	printf '%s\n' "$stderr" | grep -qx 'make: overlap'
	printf '%s\n' "$stderr" | grep -qx 'up (cached): ran-up'
	! printf '%s\n' "$stderr" | grep -q '^up: ran-up'
	assert_equal "$(jq -r 'select(.stage == "up") | .cache' t.jsonl)" hit
	assert_equal "$(jq -r 'select(.stage == "count") | .cache' t.jsonl)" hit
	# other bytes: up's head start stands, its words are shown
	rm started
	printf 'x\n' > in.txt
	run -0 --separate-stderr sluice run -q --trace t2.jsonl p.json
	assert_output 'XEND'
	printf '%s\n' "$stderr" | grep -qx 'make: overlap'
	printf '%s\n' "$stderr" | grep -qx 'up: ran-up'
	assert_equal "$(jq -r 'select(.stage == "up") | .cache' t2.jsonl)" miss
}

@test "cache-1.26: hits go to their readers from the files, each reader at its own pace: none of their bytes is queued in sluice's memory" {
	# a's and b's outputs, 21 and 24 MB, read back to three readers: one
	# reads a then b (b waits for its turn), one reads a, one stops
	# after 8 bytes of b; with -j 1 the readers start one at a time
	cat > big.json <<'JSON'
{ "jobs": 1, "stages": {
    "a": { "run": ["seq", "1", "${n}"], "cache": "t" },
    "b": { "run": ["seq", "3000001", "${m}"], "cache": "t" },
    "all": { "run": ["md5sum"], "stdin": ["a", "b"] },
    "count": { "run": ["wc", "-c"], "stdin": "a" },
    "head": { "run": ["head", "-c", "8"], "stdin": "b" } } }
JSON
	rss() {	# sluice's own peak of its last run, KB
		tail -n 1 "$SLUICE_STATE_DIR/history.jsonl" | jq .sluice_rss_kb
	}
	# the same pipeline on 10 lines, then on 6,000,000: cold, then warm
	run -0 sluice run -q -D n=5 -D m=3000005 big.json
	run -0 sluice run -q -D n=5 -D m=3000005 big.json
	small=$(rss)
	run -0 sluice run -q -D n=3000000 -D m=6000000 big.json
	run -0 --separate-stderr sluice run -q -D n=3000000 -D m=6000000 big.json
	large=$(rss)
	assert_equal "$(tail -n 1 "$SLUICE_STATE_DIR/history.jsonl" | jq -c '[.stages[] | .cache.result]')" '["hit","hit","off","off","off"]'
	assert_line --index 0 "$(seq 1 6000000 | md5sum)"
	assert_line --index 1 "$(seq 1 3000000 | wc -c)"
	assert_line --index 2 "3000001"
	# 45 MB went through: sluice's own memory grew by less than 4 MB
	# (queued, it had grown by about 11 MB)
	[ $((large - small)) -lt 4096 ] ||
	    fail "sluice's peak RSS went from $small to $large KB"
}

@test "cache-1.30: an empty --cache-dir or --state-dir is a usage error, not a path" {
	echo '{ "stages": { "a": { "run": ["true"], "cache": "x" } } }' > p.json
	run -64 --separate-stderr sluice run --cache-dir '' p.json
	assert_equal "$stderr" "sluice: --cache-dir: an empty path"
	run -64 --separate-stderr sluice cache --cache-dir '' stats
	assert_equal "$stderr" "sluice: --cache-dir: an empty path"
	run -64 --separate-stderr sluice run --state-dir '' p.json
	assert_equal "$stderr" "sluice: --state-dir: an empty path"
}

@test "cache-1.31: an index header whose entry count is flipped is counted again, not trusted (a run stores, gc runs)" {
	echo '{ "stages": { "a": { "run": ["sh", "-c", "echo $$"], "cache": "x" } } }' > p.json
	run -0 sluice run -q --cache-dir c p.json
	# the header's entries (offset 24, after magic, version, size and
	# capacity) set to 2^63 - 1
	printf '\377\377\377\377\377\377\377\177' | dd of=c/index bs=1 seek=24 conv=notrunc 2> /dev/null
	run -0 sluice run -q --refresh --cache-dir c p.json
	run -0 sluice cache --cache-dir c gc
	run -0 sluice cache --cache-dir c --json stats
	run -0 jq '.entries' <<< "$output"
	assert_output 1
}

@test "cache-1.32: a directory planted at a blob's name: an empty one is replaced, another one named on every store, never served" {
	cache_pipeline
	sluice run -q p.json > /dev/null 2>&1
	f=$(ls -d "$SLUICE_CACHE_DIR"/blobs/*/* | sort | head -n 1)
	g=$(ls -d "$SLUICE_CACHE_DIR"/blobs/*/* | sort | tail -n 1)
	[ "$f" != "$g" ]
	rm "$f" "$g"
	mkdir "$f" "$g"
	touch "$g/keep"
	run -0 --separate-stderr sluice run -q p.json
	assert_output "3
ALPHA
BETA
GAMMA"
	# the stage whose blob is the full directory runs, and says why
	# its output is not stored; the empty directory is a file again
	grep -qx "sluice: stage '[a-z]*': cache blob '$g' is not a regular file; running it" <<< "$stderr"
	grep -qx "sluice: stage '[a-z]*': output not cached: cannot store a cache blob: '$g' is a directory (Directory not empty); remove it" <<< "$stderr"
	run -0 sluice cache verify
	[ -f "$f" ]
	[ -f "$g/keep" ]
	rm -r "$g"
	run -0 --separate-stderr sluice run -q p.json
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$(ran)" 0
	assert_equal "$stderr" "read (cached): ran-read
upper (cached): ran-upper"
}

@test "cache-1.33: a FIFO planted at a blob's name is not waited on: the stage runs and its blob is stored again" {
	cache_pipeline
	sluice run -q p.json > /dev/null 2>&1
	for f in "$SLUICE_CACHE_DIR"/blobs/*/*; do
		rm "$f"
		mkfifo "$f"
	done
	# bounded: a reader that waited on the FIFO would never end
	run -0 --separate-stderr timeout 60 sluice run -q p.json
	assert_output "3
ALPHA
BETA
GAMMA"
	grep -q "cache blob '.*' is not a regular file; running it" <<< "$stderr"
	for f in "$SLUICE_CACHE_DIR"/blobs/*/*; do
		[ -f "$f" ]
	done
	run -0 sluice cache verify
}

# spec_pipeline: make -> up (cached) -> mid (cached) -> show, and
# up -> peek (show and peek not cached).  make waits (5 s at most) for up to have written its first
# 300,000 lines before it ends; up, once its input ended, waits the same
# way for mid to have started.  Only a stage started before the one it
# reads has ended lets that one say "overlap".
spec_pipeline() {
	cat > waitfor <<'SH'
#!/bin/bash
for i in $(seq 100); do [ -e "$1" ] && break; read -r -t 0.05 <> <(:) || true; done
[ -e "$1" ] && echo overlap >&2
exit 0
SH
	chmod +x waitfor
	cat > p.json <<'JSON'
{ "stages": {
  "make": { "run": ["bash", "-c", "cat in.txt; ./waitfor upwrote; echo end"], "inputs": ["in.txt"], "cache": "x" },
  "up": { "run": ["bash", "-c", "seq 1 300000; touch upwrote; tr a-z A-Z; ./waitfor midstarted"], "stdin": "make", "cache": "x" },
  "mid": { "run": "touch midstarted; cat", "stdin": "up", "cache": "x" },
  "show": { "run": ["cksum"], "stdin": "mid" },
  "peek": { "run": ["cksum"], "stdin": "up" } } }
JSON
	printf 'a\nb\n' > in.txt
	want=$({ seq 1 300000; printf 'A\nB\nEND\n'; } | cksum)
	want="$want
$want"
}

@test "cache-1.34: a chain of cached stages that re-run starts one after another as each one's key misses; a reader that is not cached never sees a speculative stage's bytes" {
	spec_pipeline
	run -0 --separate-stderr sluice run -q --trace t1.jsonl p.json
	assert_output "$want"
	# up read make while it ran, mid read up while it ran
	printf '%s\n' "$stderr" | grep -qx 'make: overlap'
	printf '%s\n' "$stderr" | grep -qx 'up: overlap'
	assert_equal "$(jq -r .cache t1.jsonl | sort | uniq -c | tr -s ' ')" ' 3 miss
 2 off'
	# make runs again and writes the same bytes: up, started with it
	# (and had written 300,000 lines that peek never saw), hits
	rm upwrote midstarted
	sed -i 's/echo end/true; echo end/' p.json
	run -0 --separate-stderr sluice run -q --trace t2.jsonl p.json
	assert_output "$want"
	printf '%s\n' "$stderr" | grep -qx 'make: overlap'
	assert_equal "$(jq -r 'select(.stage == "up") | .cache' t2.jsonl)" hit
	assert_equal "$(jq -r 'select(.stage == "mid") | .cache' t2.jsonl)" hit
	[ ! -e midstarted ]
}

@test "cache-1.35: a speculative stage whose capture hits a full disk runs on as a miss: its reader got its bytes, and gets the rest, not the stored copy again" {
	mnt=$BATS_TEST_TMPDIR/small
	mkdir -m 0700 "$mnt"
	mount -t tmpfs -o size=24m,mode=0700 tmpfs "$mnt" ||
	    skip "cannot mount a tmpfs here"
	spec_pipeline
	run -0 --separate-stderr sluice run -q --cache-dir "$mnt/cache" p.json
	assert_output "$want"
	# no room left at all; make runs again, the same bytes
	dd if=/dev/zero of="$mnt/fill" bs=64k 2> /dev/null || true
	rm upwrote midstarted
	sed -i 's/echo end/true; echo end/' p.json
	run -0 --separate-stderr sluice run -q --cache-dir "$mnt/cache" --trace t.jsonl p.json
	assert_output "$want"
	printf '%s\n' "$stderr" | grep -q "^sluice: stage 'up': cannot write to the cache (No space left on device); not storing its output$"
	printf '%s\n' "$stderr" | grep -qx 'make: overlap'
	assert_equal "$(jq -r 'select(.stage == "up") | .cache' t.jsonl)" miss
	rm "$mnt/fill"
	run -0 sluice cache --cache-dir "$mnt/cache" verify
	assert_output --regexp '^verify: [0-9]+ entries checked, 0 corrupt$'
}

@test "cache-1.36: render --all in a cached stage keeps each record's pieces: a changed record is rendered again, the others come from the cache, and the output is the uncached one" {
	cat > p.json <<'JSON'
{ "stages": {
  "recs": { "run": ["cat", "recs.jsonl"], "inputs": ["recs.jsonl"], "cache": "recs" },
  "all": { "run": ["render", "--all", "--path", "out.txt", "t.tmpl"], "stdin": "recs", "inputs": ["t.tmpl"], "cache": "pieces" } } }
JSON
	# b's piece names its place in the list (@index, under a section
	# that is no list): rendered each time, one behind, never stored;
	# @last of a record's own list is its own business
	cat > t.tmpl <<'T'
{{#tables}}
{{name}}:{{#cols}} {{.}}{{^@last}},{{/@last}}{{/cols}}{{#note}} [{{@index}}]{{/note}}
{{/tables}}
end
T
	rec() { printf '{"v":1,"kind":"table","name":"%s","cols":[%s]%s}\n' "$@"; }
	{ rec a '"x","y"' ''; rec b '"z"' ',"note":"n"'; rec c '"w"' ''; } > recs.jsonl
	pieces() {	# lookups hits stores of the category
		sluice cache --json stats |
		    jq -r '.categories[] | select(.name == "pieces") | "\(.lookups) \(.hits) \(.stores)"'
	}
	# step WANT PIECES: a run gives WANT, as an uncached one does, and
	# the category's counts are then PIECES
	step() {
		run -0 --separate-stderr sluice run -q p.json
		assert_equal "$(jq -r .content <<< "$output")" "$1"
		run -0 sluice run -q --no-cache p.json
		assert_equal "$(jq -r .content <<< "$output")" "$1"
		assert_equal "$(pieces)" "$2"
	}
	# the stage's own lookup and store; a's and c's pieces stored
	step 'a: x, y
b: z [1]
c: w
end' '4 0 3'
	# c changed: a from the cache, b rendered again, c stored anew
	{ rec a '"x","y"' ''; rec b '"z"' ',"note":"n"'; rec c '"v"' ''; } > recs.jsonl
	step 'a: x, y
b: z [1]
c: v
end' '8 1 5'
	# a record in front: b's place moves, the others' pieces hold
	{ rec n '' ''; rec a '"x","y"' ''; rec b '"z"' ',"note":"n"'; rec c '"v"' ''; } > recs.jsonl
	want='n:
a: x, y
b: z [2]
c: v
end'
	step "$want" '13 3 7'
	# --refresh: stored again, none served
	run -0 --separate-stderr sluice run -q --refresh p.json
	assert_equal "$(jq -r .content <<< "$output")" "$want"
	assert_equal "$(pieces)" '14 3 11'
	# by hand, outside sluice: no cache, the same bytes
	run -0 sluice render --all --path out.txt t.tmpl < recs.jsonl
	assert_equal "$(jq -r .content <<< "$output")" "$want"
}

@test "cache-1.37: a cached stage read by uncached readers of different speeds, one stopped for a while: each gets every byte in order, and the stored copy is the same bytes" {
	speeds_pipeline "echo ran-src >&2; seq 1 3000000" ', "cache": "schema"' \
	    ', "cache": false'
	want=$(seq 1 3000000 | cksum)
	run -0 --separate-stderr sluice run -q p.json
	assert_output "$want
$want
$want"
	assert_equal "$(ran)" 1
	# what was stored while the readers took it is what they got
	run -0 --separate-stderr sluice run -q p.json
	assert_output "$want
$want
$want"
	assert_equal "$(ran)" 0
	run -0 sluice cache verify
}

@test "cache-1.38: typemap in a cached stage keeps each table record's result: only changed records are mapped again, warnings come with their line now, enums and override bytes are in the key, and the output is the uncached one" {
	cat > p.json <<'JSON'
{ "stages": {
  "recs": { "run": ["cat", "recs.jsonl"], "inputs": ["recs.jsonl"], "cache": "recs" },
  "typemap": { "run": ["typemap", "--override", "o.json"], "stdin": "recs", "cache": "tm" } } }
JSON
	rec() { printf '{"v":1,"kind":"table","name":"%s","primary_key":["id"],"columns":[{"name":"id","type":"integer","null":false}%s]}\n' "$@"; }
	mood='{"v":1,"kind":"enum","name":"mood","values":["ok","sad"]}'
	a=',{"name":"raw","type":"binary","null":true}'
	b=',{"name":"m","type":"enum","enum":{"name":"mood"},"null":false}'
	{ echo "$mood"; rec a "$a"; rec b "$b"; rec c ',{"name":"t","type":"string","null":true}'; } > recs.jsonl
	echo '{}' > o.json
	counts() {	# lookups hits stores of the category
		sluice cache --json stats |
		    jq -r '.categories[] | select(.name == "tm") | "\(.lookups) \(.hits) \(.stores)"'
	}
	# step TYPES COUNTS: a run gives the uncached output, whose tables'
	# column types are TYPES, and the category's counts are then COUNTS
	step() {
		run -0 --separate-stderr sluice run -q --no-cache p.json
		want=$output
		run -0 --separate-stderr sluice run -q p.json
		assert_equal "$output" "$want"
		assert_equal "$(jq -c 'select(.kind == "table") | [.name, [.columns[] | .ts_type]]' <<< "$output" | tr '\n' ' ')" "$1"
		assert_equal "$(counts)" "$2"
	}
	# the stage's own lookup and store, and the three tables'
	step '["a",["number","string | null"]] ["b",["number","'"'ok' | 'sad'"'"]] ["c",["number","string | null"]] ' '4 0 4'
	assert_equal "$stderr" "typemap: <stdin>:2: a.raw: type 'binary' is not replicated by Zero: left out of the Zero schema"
	# c changed: a and b from the cache, a's warning said again
	{ echo "$mood"; rec a "$a"; rec b "$b"; rec c ',{"name":"t","type":"text","null":false}'; } > recs.jsonl
	step '["a",["number","string | null"]] ["b",["number","'"'ok' | 'sad'"'"]] ["c",["number","string"]] ' '8 2 6'
	assert_equal "$stderr" "typemap: <stdin>:2: a.raw: type 'binary' is not replicated by Zero: left out of the Zero schema"
	# a table in front: the others hit, a's warning names its line now
	{ echo "$mood"; rec n ''; rec a "$a"; rec b "$b"; rec c ',{"name":"t","type":"text","null":false}'; } > recs.jsonl
	step '["n",["number"]] ["a",["number","string | null"]] ["b",["number","'"'ok' | 'sad'"'"]] ["c",["number","string"]] ' '13 5 8'
	assert_equal "$stderr" "typemap: <stdin>:3: a.raw: type 'binary' is not replicated by Zero: left out of the Zero schema"
	# the enum changed: every table after it is mapped again
	mood='{"v":1,"kind":"enum","name":"mood","values":["ok","sad","mad"]}'
	{ echo "$mood"; rec n ''; rec a "$a"; rec b "$b"; rec c ',{"name":"t","type":"text","null":false}'; } > recs.jsonl
	step '["n",["number"]] ["a",["number","string | null"]] ["b",["number","'"'ok' | 'sad' | 'mad'"'"]] ["c",["number","string"]] ' '18 5 13'
	# the override file's bytes changed, not its name (not one of the
	# stage's inputs: n changed too, so that the stage runs): all again
	echo '{"types":{"text":"Txt"}}' > o.json
	{ echo "$mood"; rec n ',{"name":"u","type":"integer","null":false}'; rec a "$a"; rec b "$b"; rec c ',{"name":"t","type":"text","null":false}'; } > recs.jsonl
	step '["n",["number","number"]] ["a",["number","string | null"]] ["b",["number","'"'ok' | 'sad' | 'mad'"'"]] ["c",["number","Txt"]] ' '23 5 18'
	# a new table takes a's TypeScript name: a's kept result is not
	# used, and the run fails as an uncached one does
	{ echo "$mood"; rec a ''; rec n ''; rec a "$a"; rec b "$b"; rec c ',{"name":"t","type":"text","null":false}'; } > recs.jsonl
	run -1 --separate-stderr sluice run -q --no-cache p.json
	want=$(grep -o "tables 'a' (line 2) and 'a' both.*" <<< "$stderr")
	[ -n "$want" ]
	run -1 --separate-stderr sluice run -q p.json
	assert_equal "$(grep -o "tables 'a' (line 2) and 'a' both.*" <<< "$stderr")" "$want"
}
