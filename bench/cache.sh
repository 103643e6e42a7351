#!/usr/bin/env bash
# bench/cache.sh: what the shared cache saves, side by side with ccache,
# in one run (issue 6, "How it is checked, with numbers").
#
#   1. examples/zero on a synthetic 1,000-table schema (bench/gen-schema):
#      a cold run (empty cache, no output), a warm run (nothing changed)
#      and a run after one table changed; also the same pipeline with
#      `write` not cached (it then runs every time, and the stages it
#      reads are replayed to it), and the shape's floor: the same DAG
#      whose stages only
#      cat the bytes examples/zero's stages write (with every stage
#      stored again, and without the cache).  If examples/zero is
#      missing or fails, a synthetic
#      compile-like pipeline takes its place (1,000 records through an
#      awk map stage that does real work per record); the table says
#      which one ran.
#   2. the same compile-like work both ways: 200 generated C files
#      compiled with `cc -O2 -c`, once as records of a sluice map stage
#      (per-record cache) and once through `ccache cc` (the anchor):
#      cold, warm, one file changed.
#   3. bench/cache-micro.c against src/lib/libsluice.a: one store and one
#      lookup in microseconds, lookups with 100,000 and 1,000,000 entries
#      in the index (must stay flat).
#
# Prints a table (medians over the rounds, ratios) and PASS/MISS lines
# for the targets: warm under 5% of cold, one table changed under 10%
# of cold, lookups flat from 100,000 to 1,000,000 entries (median within
# 1.5x).  Not a test: exits non-zero only when a tool fails or a run
# gives wrong output.
#
#   bench/cache.sh               full run (about 3 minutes on 2 cores)
#   QUICK=1 bench/cache.sh       smoke run: small sizes, one round
#   SLUICE=path                  use that binary instead of `make`
#   SYNTHETIC=1                  the synthetic pipeline, not examples/zero
#
# Everything generated goes to bench/out/cache/ (git-ignored).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out/cache
QUICK=${QUICK:-0}

die() { echo "cache.sh: $*" >&2; exit 1; }
say() { echo "cache.sh: $*" >&2; }

if [ "$QUICK" = 1 ]; then
	TABLES=200 NSYN=200 CFILES=40 ROUNDS=1 CROUNDS=1
	MICRO_SIZES="10000 100000" SLOTS=262144
else
	TABLES=1000 NSYN=1000 CFILES=200 ROUNDS=5 CROUNDS=3
	# 1,000,000 entries need 2^21 slots at the 3/4 load bound
	MICRO_SIZES="100000 1000000" SLOTS=2097152
fi
JOBS=2
CFUNCS=10		# functions per generated C file (~90 ms at -O2)

need() {	# need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 ||
	    die "'$1' not found (Debian package $2; make deps installs it)"
}
need ccache ccache
need cc gcc
need jq jq
need awk mawk
need base64 coreutils
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"

rm -rf "$OUT"
mkdir -p "$OUT"/{bin,libexec,tmp,times}
export TMPDIR=$OUT/tmp

# build ------------------------------------------------------------------
BUILT="$(git describe --always --dirty 2>/dev/null || echo 'no git')"
if [ -z "${SLUICE:-}" ]; then
	if ! make -s > "$OUT/make.log" 2>&1; then
		# others may be mid-edit: an existing build still serves
		[ -x bin/sluice ] && [ -f src/lib/libsluice.a ] &&
		    [ -x libexec/sluice/render ] ||
		    { tail -20 "$OUT/make.log" >&2; die "make failed"; }
		say "warning: make failed (see $OUT/make.log); benchmarking the existing build"
		BUILT="$BUILT (make failed: existing build)"
	fi
	# private copies: a concurrent sanitizer build cannot swap them
	cp bin/sluice "$OUT/bin/sluice"
	cp -R libexec/sluice "$OUT/libexec/sluice"
	cp src/lib/libsluice.a "$OUT/libsluice.a"
	SLUICE=$OUT/bin/sluice
	export SLUICE_LIBEXEC=$OUT/libexec/sluice
else
	BUILT=$SLUICE
	cp src/lib/libsluice.a "$OUT/libsluice.a" 2>/dev/null ||
	    die "src/lib/libsluice.a missing: build first (make)"
fi
[ -x "$SLUICE" ] || die "$SLUICE: not an executable"
if ldd "$SLUICE" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	say "warning: $SLUICE is a sanitizer build; its times mean little"
fi
cc -O2 -o "$OUT/timed" bench/timed.c || die "cannot compile bench/timed.c"
cc -O2 -D_GNU_SOURCE -Isrc/lib -o "$OUT/cache-micro" bench/cache-micro.c \
    "$OUT/libsluice.a" -lbsd -lxxhash -lm ||
    die "cannot compile bench/cache-micro.c against src/lib/libsluice.a"

# the real compiler, never a ccache masquerade link
CC_REAL=$(readlink -f "$(command -v cc)")
case ${CC_REAL##*/} in *ccache*) die "cc on PATH is ccache; put the real compiler first" ;; esac

export SLUICE_STATE_DIR=$OUT/state
export NO_COLOR=1
export CCACHE_DIR=$OUT/ccache/dir CCACHE_MAXSIZE=2G
unset CCACHE_DISABLE CCACHE_RECACHE CCACHE_PREFIX 2>/dev/null || true

# helpers ----------------------------------------------------------------
# timed OUTFILE CMD...: run CMD (stdout to OUTFILE, stderr to OUTFILE.err),
# print its wall time in seconds; a failing tool ends the benchmark.
# Timed by bench/timed.c from its fork to its wait: bash's own fork and
# exec around a command (about 1.3 ms here, EPOCHREALTIME around
# `true`) are not the command's, and would be a quarter of a warm run
timed() {
	local out=$1 t
	shift
	if ! t=$("$OUT/timed" "$out" "$out.err" "$@"); then
		tail -20 "$out.err" >&2
		die "failed: $*"
	fi
	printf '%s' "$t"
}

record() { echo "$2" >> "$OUT/times/$1"; }	# record NAME SECONDS

median() {	# median NAME -> seconds (empty if none)
	[ -s "$OUT/times/$1" ] || return 0
	sort -g "$OUT/times/$1" | awk '{ v[NR] = $1 } END {
		printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

dirsum() {	# digest of every file's path and content under a directory
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum) | md5sum | cut -c1-32
}

# "map: N records, M from the cache, K in P processes" -> K (redone)
redone() {
	sed -n 's/.*map: \([0-9]*\) records, \([0-9]*\) from the cache.*/\1 \2/p' "$1" |
	    awk '{ n += $1 - $2 } END { print n + 0 }'
}

# workload 1: examples/zero ----------------------------------------------
W1=$OUT/zero
mkdir -p "$W1"
# the generated files go to tmpfs when there is one, as in codegen.sh:
# creating 1,002 files on this ext4 takes 60 to 600 ms, more than the
# generation, and would swamp the cold figure; GEN=DIR chooses
if [ -z "${GEN:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	GEN=$(mktemp -d /dev/shm/sluice-cache.XXXXXX)
	trap 'rm -rf "$GEN"' EXIT
fi
GEN=${GEN:-$W1}
ZERO=0
MID=$((TABLES / 2))
"$ROOT/bench/gen-schema" "$TABLES" rb > "$W1/schema0.rb"
if [ "${SYNTHETIC:-0}" = 1 ]; then
	say "SYNTHETIC=1: using the synthetic pipeline"
elif [ -f examples/zero/pipeline.json ]; then
	# a snapshot: the example may change under us while we run
	cp examples/zero/pipeline.json "$W1/pipeline.json"
	cp examples/zero/*.tmpl "$W1/" 2>/dev/null || true
	jq 'del(.stages.write.cache, .stages.write.outputs)' \
	    "$W1/pipeline.json" > "$W1/writeruns.json" || die "jq failed"
	cp "$W1/schema0.rb" "$W1/schema.rb"
	if "$SLUICE" run -q -j "$JOBS" --no-cache -D schema="$W1/schema.rb" \
	    -D out="$W1/trial-out" "$W1/pipeline.json" > "$W1/trial.log" 2>&1 &&
	    [ "$(find "$W1/trial-out" -type f | wc -l)" -ge "$TABLES" ]; then
		ZERO=1
	else
		say "examples/zero does not work on a $TABLES-table schema" \
		    "(see $W1/trial.log); using the synthetic pipeline"
	fi
	rm -rf "$W1/trial-out"
else
	say "examples/zero/pipeline.json missing; using the synthetic pipeline"
fi

# change table MID of schema.rb: a column renamed (a new name each time)
zero_change() {
	awk -v t="create_table \"table_$MID\"" -v k="$1" '
	index($0, t) { inb = 1 }
	inb && /t\.string "email"/ { sub(/"email"/, "\"email_v" k "\""); inb = 0 }
	{ print }' "$W1/schema0.rb" > "$W1/schema.rb"
	cmp -s "$W1/schema0.rb" "$W1/schema.rb" && die "table_$MID not changed"
	return 0
}

# the synthetic fallback: NSYN records, an awk map stage with real work
# per record (a rolling checksum over the record, 40 passes)
if [ "$ZERO" = 0 ]; then
	awk -v n="$NSYN" 'BEGIN { srand(7); for (i = 1; i <= n; i++) {
		printf "record_%04d", i
		for (k = 0; k < 24; k++) printf " f%d=%d", k, int(rand() * 1e6)
		print "" } }' > "$W1/records0.txt"
	cat > "$W1/pipeline.json" <<-EOF
	{ "name": "bench-synthetic", "jobs": $JOBS, "stages": {
	  "records": { "run": ["cat", "records.txt"], "inputs": ["records.txt"],
	               "cache": "records" },
	  "compile": { "run": ["awk", "{ s = 0; for (p = 0; p < 40; p++) for (i = 1; i <= length(\$0); i++) s = (s * 31 + index(\"0123456789abcdefghijklmnopqrstuvwxyz_= \", substr(\$0, i, 1)) + p) % 1000003; print \$1, s }"],
	               "stdin": "records", "map": true, "cache": "compile" },
	  "link": { "run": ["sort"], "stdin": "compile", "cache": "link" }
	} }
	EOF
fi
syn_change() {
	awk -v m="$MID" -v k="$1" 'NR == m { $2 = "f0=changed" k } { print }' \
	    "$W1/records0.txt" > "$W1/records.txt"
}

# run_w1 VARIANT KIND ROUND: one run of workload 1.  Not -q, which
# would hide the line a map stage prints of its records (redone)
run_w1() {
	local v=$1 kind=$2 r=$3 f=$W1/run-$1-$2 t
	if [ "$ZERO" = 1 ]; then
		t=$(timed "$f" "$SLUICE" run -j "$JOBS" \
		    --cache-dir "$W1/cache-$v" -D schema="$W1/schema.rb" \
		    -D out="$GEN/out-$v" "$W1/$v.json")
		dirsum "$GEN/out-$v" > "$f.sum"
	else
		t=$(timed "$f" "$SLUICE" run -j "$JOBS" \
		    --cache-dir "$W1/cache-$v" "$W1/$v.json")
		md5sum < "$f" | cut -c1-32 > "$f.sum"
	fi
	record "w1-$v-$kind" "$t"
	# keep the run record of the last round, for the per-stage lines
	cp "$(ls -td "$SLUICE_STATE_DIR"/runs/*/ | head -1)/run.json" \
	    "$W1/rec-$v-$kind.json" 2>/dev/null || true
	redone "$f.err" >> "$OUT/times/w1-$v-$kind.redone"
}

w1_round() {
	local v=$1 r=$2
	rm -rf "$W1/cache-$v" "$GEN/out-$v"
	if [ "$ZERO" = 1 ]; then cp "$W1/schema0.rb" "$W1/schema.rb"
	else cp "$W1/records0.txt" "$W1/records.txt"; fi
	run_w1 "$v" cold "$r"
	run_w1 "$v" warm "$r"
	cmp -s "$W1/run-$v-cold.sum" "$W1/run-$v-warm.sum" ||
	    die "$v: the warm run's output differs from the cold run's"
	if [ "$ZERO" = 1 ]; then zero_change "$r"; else syn_change "$r"; fi
	run_w1 "$v" change "$r"
	cmp -s "$W1/run-$v-cold.sum" "$W1/run-$v-change.sum" &&
	    die "$v: the output did not change after a change of the input"
	return 0
}

if [ "$ZERO" = 1 ]; then
	W1_VARIANTS="pipeline writeruns"
else
	W1_VARIANTS="pipeline"
fi

# workload 2: compile CFILES C files, sluice map vs ccache ---------------
W2=$OUT/compile
mkdir -p "$W2/src" "$W2/obj"
# gen_c I K [SALT]: one translation unit on one line (a record)
gen_c() {
	awk -v i="$1" -v k="$2" -v salt="${3:-0}" 'BEGIN {
		printf "typedef unsigned long u64; "
		for (f = 0; f < k; f++)
			printf "u64 f%d_%d(const u64 *a, u64 n) { u64 s = %d; for (u64 j = 0; j < n; j++) { s = s * 31 + a[j] * %d; if (s & 1) s ^= a[(j * 7) %% n] >> 3; else s += j * %d; } return s; } ", i, f, f + i + salt, f * 3 + 1, i + 5
		printf "u64 sum%d(const u64 *a, u64 n) { return 0", i
		for (f = 0; f < k; f++) printf " + f%d_%d(a, n)", i, f
		print "; }"
	}'
}
for ((i = 1; i <= CFILES; i++)); do
	gen_c "$i" "$CFUNCS" > "$W2/src0-$i.c"
done
CMID=$((CFILES / 2))
for ((i = 1; i <= CFILES; i++)); do cat "$W2/src0-$i.c"; done > "$W2/records0.txt"

# the map stage's command: one record (a C file) in, its object out
cat > "$W2/cc-record.sh" <<EOF
#!/bin/sh
# compile each input line as a C file; print its object, base64, one line
set -eu
d=\$(mktemp -d "\${TMPDIR:-/tmp}/ccrec.XXXXXX")
trap 'rm -rf "\$d"' EXIT
while IFS= read -r line; do
	printf '%s\n' "\$line" > "\$d/rec.c"
	"$CC_REAL" -O2 -c -o "\$d/rec.o" "\$d/rec.c"
	base64 -w0 "\$d/rec.o"
	echo
done
EOF
chmod +x "$W2/cc-record.sh"
cat > "$W2/pipeline.json" <<EOF
{ "name": "bench-compile", "jobs": $JOBS, "stages": {
  "sources": { "run": ["cat", "records.txt"], "inputs": ["records.txt"],
               "cache": "sources" },
  "compile": { "run": ["$W2/cc-record.sh"], "stdin": "sources", "map": true,
               "cache": "objects" },
  "link":    { "run": ["md5sum"], "stdin": "compile", "cache": "link" }
} }
EOF

w2_sluice() {	# w2_sluice KIND (not -q: see run_w1)
	local f=$W2/sluice-$1 t
	t=$(timed "$f" "$SLUICE" run -j "$JOBS" --cache-dir "$W2/cache" \
	    "$W2/pipeline.json")
	record "w2-sluice-$1" "$t"
	redone "$f.err" >> "$OUT/times/w2-sluice-$1.redone"
}

# compile every source with ccache, JOBS at a time (a script: timed
# runs commands, not shell functions)
cat > "$W2/ccache-all.sh" <<EOF
cd "$W2/obj" && printf '%s\\n' "$W2"/src/*.c |
    xargs -P "$JOBS" -n 1 ccache "$CC_REAL" -O2 -c
EOF

w2_ccache() {	# w2_ccache KIND
	local t h0 h1
	h0=$(ccache --print-stats 2>/dev/null | awk '$1 == "cache_miss" { print $2 }')
	t=$(timed "$W2/ccache-$1" sh "$W2/ccache-all.sh")
	h1=$(ccache --print-stats 2>/dev/null | awk '$1 == "cache_miss" { print $2 }')
	record "w2-ccache-$1" "$t"
	echo $(( ${h1:-0} - ${h0:-0} )) >> "$OUT/times/w2-ccache-$1.redone"
	[ "$(find "$W2/obj" -name '*.o' | wc -l)" -eq "$CFILES" ] ||
	    die "ccache: not $CFILES objects"
}

w2_round() {
	local r=$1
	# sluice: per-record cache of a map stage
	rm -rf "$W2/cache"
	cp "$W2/records0.txt" "$W2/records.txt"
	w2_sluice cold
	w2_sluice warm
	cmp -s "$W2/sluice-cold" "$W2/sluice-warm" ||
	    die "compile: the warm run's output differs from the cold run's"
	gen_c "$CMID" "$CFUNCS" "$((r * 1000))" > "$W2/changed.c"
	awk -v m="$CMID" -v f="$W2/changed.c" 'NR == m { getline $0 < f } { print }' \
	    "$W2/records0.txt" > "$W2/records.txt"
	w2_sluice change
	cmp -s "$W2/sluice-cold" "$W2/sluice-change" &&
	    die "compile: the output did not change after a change of a record"
	# ccache: the same compiles, one process per file
	rm -rf "$CCACHE_DIR" "$W2/src" "$W2/obj"
	mkdir -p "$CCACHE_DIR" "$W2/src" "$W2/obj"
	for ((i = 1; i <= CFILES; i++)); do
		cp "$W2/src0-$i.c" "$W2/src/f$i.c"
	done
	w2_ccache cold
	w2_ccache warm
	gen_c "$CMID" "$CFUNCS" "$((r * 1000))" > "$W2/src/f$CMID.c"
	w2_ccache change
}

# workload 3: the C API --------------------------------------------------
micro() {
	rm -rf "$OUT/micro"
	# shellcheck disable=SC2086
	SLUICE_CACHE_SLOTS=$SLOTS "$OUT/cache-micro" "$OUT/micro" 1000 \
	    $MICRO_SIZES > "$OUT/micro.txt" ||
	    die "cache-micro failed"
	rm -rf "$OUT/micro"	# a large index: do not keep it
}

# the shape's floor: the same DAG whose stages only pass on the bytes
# examples/zero's stages write on the schema (cat), every stage run and
# stored again (--refresh), and without the cache.  A run after a change
# that reaches every stage cannot be faster than this while each stage
# reads and writes the whole schema.
shape_floor() {
	local F=$W1/floor lx=${SLUICE_LIBEXEC:-$ROOT/libexec/sluice} i t
	rm -rf "$F"
	mkdir -p "$F"
	"$lx/introspect" "$W1/schema0.rb" > "$F/a.jsonl" &&
	    "$lx/typemap" < "$F/a.jsonl" > "$F/b.jsonl" &&
	    "$lx/relations" < "$F/b.jsonl" > "$F/c.jsonl" &&
	    (cd "$W1" && "$lx/render" --path \
	    'types/{{name|singular|kebab}}-data.ts' data.ts.tmpl \
	    < "$F/b.jsonl" > "$F/d.jsonl" && "$lx/render" --all --path \
	    generated-schema.ts --path index.ts schema.ts.tmpl index.ts.tmpl \
	    < "$F/c.jsonl" > "$F/e.jsonl") ||
	    die "shape floor: the stages failed by hand"
	cat > "$F/p.json" <<-'EOF'
	{ "name": "shape-floor", "stages": {
	  "a": { "run": "cat a.jsonl", "inputs": ["a.jsonl"], "cache": "schema" },
	  "b": { "run": "cat > /dev/null; cat b.jsonl", "stdin": "a", "cache": "typemap" },
	  "c": { "run": "cat > /dev/null; cat c.jsonl", "stdin": "b", "cache": "typemap" },
	  "d": { "run": "cat > /dev/null; cat d.jsonl", "stdin": "b", "cache": "template" },
	  "e": { "run": "cat > /dev/null; cat e.jsonl", "stdin": "c", "cache": "template" },
	  "w": { "run": "cat > /dev/null", "stdin": ["d", "e"], "cache": false } } }
	EOF
	# an index there already, as for a change run
	timed "$F/out" "$SLUICE" run -q -j "$JOBS" --cache-dir "$F/cache" \
	    "$F/p.json" > /dev/null
	for ((i = 1; i <= ROUNDS; i++)); do
		t=$(timed "$F/out" "$SLUICE" run -q -j "$JOBS" --refresh \
		    --cache-dir "$F/cache" "$F/p.json")
		record floor-refresh "$t"
		t=$(timed "$F/out" "$SLUICE" run -q -j "$JOBS" --no-cache \
		    "$F/p.json")
		record floor-nocache "$t"
	done
}

# run --------------------------------------------------------------------
T_START=$EPOCHREALTIME
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
	for v in $W1_VARIANTS; do
		say "round $r/$ROUNDS: workload 1 ($v)"
		w1_round "$v" "$r"
	done
	((r > CROUNDS)) && continue
	say "round $r/$ROUNDS: $CFILES C files, sluice map and ccache"
	w2_round "$r"
done
if [ "$ZERO" = 1 ]; then
	say "the shape's floor: the same DAG of cat stages"
	shape_floor
fi
say "cache-micro: store and lookups up to ${MICRO_SIZES##* } entries"
micro
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# report -----------------------------------------------------------------
fmt_t() {	# seconds -> "12.3 ms" / "1.234 s"
	awk -v t="$1" 'BEGIN { if (t < 1) printf "%7.1f ms", t * 1e3; else printf "%7.3f s ", t }'
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%6.1f%%", 100 * a / b }'; }
mode() {	# most frequent value of NAME.redone
	sort "$OUT/times/$1.redone" | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

row() {	# row TITLE PREFIX RECORDS
	local c w x
	c=$(median "$2-cold") w=$(median "$2-warm") x=$(median "$2-change")
	printf '%-40s %s %s %s %s %s %7s/%s\n' "$1" "$(fmt_t "$c")" \
	    "$(fmt_t "$w")" "$(pct "$w" "$c")" "$(fmt_t "$x")" \
	    "$(pct "$x" "$c")" "$(mode "$2-change")" "$3"
}

verdict() {	# verdict OK TEXT VALUE
	if [ "$1" = 1 ]; then printf 'PASS  %-58s %s\n' "$2" "$3"
	else printf 'MISS  %-58s %s\n' "$2" "$3"; fi
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? 1 : 0 }'; }

report() {
	local c w x hs hb ok

	printf 'bench/cache.sh  %s  sluice %s  %s CPUs  %s s\n' \
	    "$(date -u +%Y-%m-%dT%H:%MZ)" "$BUILT" "$(nproc)" "$ELAPSED"
	printf 'medians of %d rounds (workload 1), %d (workload 2); load average %s at the start, %s at the end\n\n' \
	    "$ROUNDS" "$CROUNDS" "$LOAD0" "$LOAD1"
	if [ "$ZERO" = 1 ]; then
		echo "workload 1: examples/zero (snapshot), bench/gen-schema $TABLES tables; change: one column of table_$MID renamed"
		echo "  (generated files in $GEN, $(df --output=fstype "$GEN" | tail -1))"
	else
		echo "workload 1: SYNTHETIC (examples/zero missing or failing): $NSYN records, awk map stage; change: record $MID"
	fi
	echo "workload 2: $CFILES generated C files ($CFUNCS functions each), cc -O2 -c, -j$JOBS; change: file $CMID"
	echo
	printf '%-40s %10s %10s %7s %10s %7s %10s\n' workload cold warm \
	    warm/c "1 changed" chg/c redone
	if [ "$ZERO" = 1 ]; then
		row "examples/zero $TABLES tables" w1-pipeline "$TABLES"
		row "  same, write not cached (runs each time)" w1-writeruns "$TABLES"
		c=$(median w1-pipeline-cold)
		printf '%-40s %s %s\n' "  shape floor: cat stages, all stored" \
		    "$(fmt_t "$(median floor-refresh)")" \
		    "$(pct "$(median floor-refresh)" "$c") of cold"
		printf '%-40s %s %s\n' "  shape floor: cat stages, no cache" \
		    "$(fmt_t "$(median floor-nocache)")" \
		    "$(pct "$(median floor-nocache)" "$c") of cold"
	else
		row "synthetic map, $NSYN records" w1-pipeline "$NSYN"
	fi
	row "compile $CFILES C files: sluice map stage" w2-sluice "$CFILES"
	row "compile $CFILES C files: ccache (anchor)" w2-ccache "$CFILES"
	echo
	echo "(redone: records the map stage processed again, resp. ccache misses, in the 1-changed run)"
	[ "$ZERO" = 1 ] && echo "(shape floor: the same DAG whose stages only cat the bytes examples/zero's stages write; a change that reaches every stage costs at least this while each stage reads the whole schema)"
	echo
	echo "workload 1 per stage, last round (run record: cache result, wall ms, CPU ms):"
	for v in $W1_VARIANTS; do
		for k in cold warm change; do
			[ -f "$W1/rec-$v-$k.json" ] || continue
			printf '  %-9s %-6s %s\n' "$v" "$k" "$(jq -r '[.stages[] |
			    "\(.name) \(.proc.cache // "-") \((.proc.wall_us // 0) / 1000 | floor)/\(((.proc.user_us // 0) + (.proc.sys_us // 0)) / 1000 | floor)"] |
			    join(", ")' "$W1/rec-$v-$k.json")"
		done
	done
	echo
	printf '%-40s %9s %9s %9s %9s %9s\n' "cache C API (cache-micro)" entries \
	    median p90 p99 mean
	awk '{
		if ($1 == "store") name = "store (new 256-byte result, packed)"
		else if ($1 == "fill") name = "store into a shared blob (index only)"
		else if ($1 == "hit") name = "lookup, hit"
		else if ($1 == "miss") name = "lookup, miss"
		else name = "get_buf (lookup, read, verify value)"
		if ($1 == "fill")
			printf "%-40s %9d %8.2fus %9s %9s %8.2fus\n", name, $2, $4, "-", "-", $7
		else
			printf "%-40s %9d %8.2fus %7.2fus %7.2fus %7.2fus\n", name, $2, $4, $5, $6, $7
	}' "$OUT/micro.txt"
	echo
	echo "anchor: ccache warm/cold $(pct "$(median w2-ccache-warm)" "$(median w2-ccache-cold)")," \
	    "1 changed/cold $(pct "$(median w2-ccache-change)" "$(median w2-ccache-cold)");" \
	    "sluice on the same compiles: warm $(awk -v s="$(median w2-sluice-warm)" -v c="$(median w2-ccache-warm)" 'BEGIN { printf "%.2fx", s / c }')," \
	    "1 changed $(awk -v s="$(median w2-sluice-change)" -v c="$(median w2-ccache-change)" 'BEGIN { printf "%.2fx", s / c }') ccache's time"
	echo
	c=$(median w1-pipeline-cold) w=$(median w1-pipeline-warm) x=$(median w1-pipeline-change)
	local what=examples/zero
	[ "$ZERO" = 1 ] || what="synthetic map"
	verdict "$(lt "$w" "$(awk -v c="$c" 'BEGIN { print c * 0.05 }')")" \
	    "$what: warm run under 5% of cold" "$(pct "$w" "$c" | tr -d ' ')"
	verdict "$(lt "$x" "$(awk -v c="$c" 'BEGIN { print c * 0.10 }')")" \
	    "$what: one table changed under 10% of cold" "$(pct "$x" "$c" | tr -d ' ')"
	hs=$(awk '$1 == "hit" { v = $4 } END { print v }' "$OUT/micro.txt")
	hb=$(awk -v n="${MICRO_SIZES%% *}" '$1 == "hit" && $2 == n { print $4 }' "$OUT/micro.txt")
	ok=$(awk -v a="$hs" -v b="$hb" 'BEGIN { print (a <= 1.5 * b) ? 1 : 0 }')
	verdict "$ok" "lookup flat: ${MICRO_SIZES##* } vs ${MICRO_SIZES%% *} entries (<= 1.5x)" \
	    "$(awk -v a="$hs" -v b="$hb" 'BEGIN { printf "%.2fus vs %.2fus, %.2fx", a, b, a / b }')"
}

report | tee "$OUT/report.txt"
