#!/bin/sh
# bench/codegen.sh: database schema to TypeScript, side by side:
# sluice (examples/zero/pipeline.json, every process) against
# kysely-codegen and @rmp135/sql-ts (with better-sqlite3), and the
# floor: a C program that only reads every column once through
# libsqlite3.  On chinook, northwind, sakila and a synthetic SQLite
# database of 1,000 tables.  Prints the median wall time of RUNS runs
# and the peak RSS (sluice: summed over all its processes), and the
# ratios.  Peers are installed with npm into bench/.peers/ (git-ignored)
# on the first run.
#   bench/codegen.sh            RUNS=10 by default
#   RUNS=3 bench/codegen.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/bench/out/codegen
peers=$top/bench/.peers
runs=${RUNS:-10}
mkdir -p "$out"
# the generated files go to tmpfs when there is one: sluice writes one
# file per table (1,002 on t1000) where the peers write one, and creating
# a thousand files on a disk file system costs more than the generation
# (here 60-300 ms on ext4); GEN=DIR puts them elsewhere, and a last line
# times t1000 with them on disk
if [ -z "${GEN:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	GEN=$(mktemp -d /dev/shm/sluice-codegen.XXXXXX)
	trap 'rm -rf "$GEN"' EXIT
fi
gen=${GEN:-$out/gen}
export SLUICE_STATE_DIR="$out/state" SLUICE_CACHE_DIR="$out/cache"

if ! make -s -C "$top" all >/dev/null 2>&1; then
	[ -x "$top/bin/sluice" ] && [ -x "$top/libexec/sluice/render" ] ||
	    { echo "codegen.sh: make failed" >&2; exit 1; }
	echo "codegen.sh: make failed; using the programs already built" >&2
fi
cc -O2 -o "$out/floor" "$top/bench/codegen-floor.c" -lsqlite3

if [ ! -x "$peers/node_modules/.bin/kysely-codegen" ] ||
    [ ! -x "$peers/node_modules/.bin/sql-ts" ]; then
	echo "codegen.sh: installing the peers into bench/.peers" >&2
	mkdir -p "$peers"
	# better-sqlite3 builds its native module in an install script
	printf '%s\n' '{ "name": "sluice-bench-peers", "private": true,' \
	    '  "allowScripts": { "better-sqlite3": true } }' \
	    > "$peers/package.json"
	(cd "$peers" && npm install --no-audit --no-fund --loglevel=error \
	    kysely-codegen kysely better-sqlite3 typescript @rmp135/sql-ts \
	    knex >&2)
fi
bin=$peers/node_modules/.bin

for db in chinook northwind sakila; do
	cp "$top/test/data/schemas/$db.sqlite" "$out/$db.sqlite"
done
for n in 50 1000; do
	[ -f "$out/t$n.sqlite" ] ||
	    "$top/bench/gen-schema" "$n" sql | sqlite3 "$out/t$n.sqlite"
done
: > "$out/results"

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# measure NAME CMD...: RUNS runs; sets ms (median wall) and kb (max
# peak RSS of the process, summed with the trace for sluice)
measure() {
	name=$1
	shift
	: > "$out/$name.wall"
	kb=0
	i=0
	ms=failed
	while [ "$i" -lt "$runs" ]; do
		rm -rf "$gen" "$out/trace.jsonl"
		t0=$(now_us)
		if ! /usr/bin/time -f '%M' -o "$out/rss" "$@" >/dev/null \
		    2>"$out/$name.err"; then
			echo "codegen.sh: $name failed on $f:" \
			    "$(grep -m1 -i error "$out/$name.err")" >&2
			kb=0
			return 0
		fi
		t1=$(now_us)
		echo $(( t1 - t0 )) >> "$out/$name.wall"
		r=$(tail -n 1 "$out/rss")
		# sluice: its own peak (time's %M is the largest of the
		# whole tree) and each stage's, from the run record
		if [ -f "$out/trace.jsonl" ]; then
			r=$(( $(tail -n 1 "$SLUICE_STATE_DIR/history.jsonl" |
			    jq .sluice_rss_kb) + $(jq -s \
			    'map(.max_rss_kb) | add' "$out/trace.jsonl") ))
		fi
		[ "$r" -gt "$kb" ] && kb=$r
		i=$((i + 1))
	done
	ms=$(sort -n "$out/$name.wall" | awk '{ v[NR] = $1 } END {
	    if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
	    printf "%.1f", m / 1000 }')
}

printf '%-10s %-15s %10s %10s %10s\n' database tool "wall ms" "peak RSS" \
    "vs sluice"
for db in chinook northwind sakila t50 t1000; do
	f=$out/$db.sqlite
	tables=$(sqlite3 "$f" "SELECT count(*) FROM sqlite_schema WHERE
	    type = 'table' AND name NOT LIKE 'sqlite_%'")
	measure sluice "$top/bin/sluice" run -q --no-cache \
	    --trace "$out/trace.jsonl" -D schema="$f" -D out="$gen" \
	    "$top/examples/zero/pipeline.json"
	s_ms=$ms s_kb=$kb
	measure floor "$out/floor" "$f"
	f_ms=$ms f_kb=$kb
	measure kysely "$bin/kysely-codegen" --dialect sqlite --url "$f" \
	    --out-file "$out/kysely.d.ts"
	k_ms=$ms k_kb=$kb
	printf '{"client":"better-sqlite3","connection":{"filename":"%s"},%s}\n' \
	    "$f" '"useNullAsDefault":true,"filename":"'"$out/sqlts"'"' \
	    > "$out/sqlts.json"
	measure sqlts "$bin/sql-ts" -c "$out/sqlts.json"
	q_ms=$ms q_kb=$kb
	echo "$db $tables $s_ms $s_kb $f_ms $k_ms $k_kb $q_ms $q_kb" \
	    >> "$out/results"
	for row in "sluice $s_ms $s_kb" "floor $f_ms $f_kb" \
	    "kysely-codegen $k_ms $k_kb" "sql-ts $q_ms $q_kb"; do
		# shellcheck disable=SC2086
		set -- $row
		printf '%-10s %-15s %10s %9sM %9sx\n' "$db($tables)" "$1" "$2" \
		    "$(awk -v k="$3" 'BEGIN { printf "%.1f", k / 1024 }')" \
		    "$(awk -v a="$2" -v b="$s_ms" 'BEGIN { if (a + 0 > 0)
		    printf "%.2f", a / b; else printf "-" }')"
	done
done
echo "(wall: median of $runs runs; sluice's RSS is summed over all its"
echo " processes; 'vs sluice' is the tool's wall time over sluice's;"
echo " generated files in $gen)"

# the targets of issue 5, from the figures above
awk '
function verdict(ok) { return ok ? "PASS" : "MISS" }
{
	db = $1; s = $3; skb = $4; f = $5; k = $6; kkb = $7; q = $8; qkb = $9
	fast = k; fkb = kkb
	if (q + 0 > 0 && q + 0 < fast + 0) { fast = q; fkb = qkb }
	if (db == "t50")
		printf "%s  50 tables: %.1f ms (< 20 ms), %.1f MB summed RSS (< 20 MB)\n",
		    verdict(s < 20 && skb < 20 * 1024), s, skb / 1024
	if (db == "t1000")
		printf "%s  1,000 tables: %.2fx the floor (%.1f vs %.1f ms; target 1.3x)\n",
		    verdict(s <= 1.3 * f), s / f, s, f
	printf "%s  %s: %.1fx faster than the fastest peer (target 10x), %.2f of its memory (target 0.1)\n",
	    verdict(fast / s >= 10 && skb <= 0.1 * fkb), db, fast / s, skb / fkb
}' "$out/results"

# the same t1000 run with its 1,002 files on the disk, for the record
if [ "$gen" != "$out/gen" ]; then
	gen=$out/gen	# measure removes it before each run
	measure sluice "$top/bin/sluice" run -q --no-cache -D \
	    schema="$out/t1000.sqlite" -D out="$gen" \
	    "$top/examples/zero/pipeline.json"
	rm -rf "$gen"
	echo "t1000 with the generated files on $(df --output=fstype "$out" |
	    tail -1) instead: $ms ms"
fi
