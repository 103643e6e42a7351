#!/bin/bash
# bench/codegen-pg.sh: live PostgreSQL schema to TypeScript, side by
# side: sluice (examples/zero/pipeline.json on a postgres:// URL, every
# process) against kysely-codegen (pg driver), pg-to-ts and
# @rmp135/sql-ts (knex + pg), and the floor: a C program that reads
# every column once through libpq (bench/codegen-pg-floor.c).  On the
# lago and danbooru structure.sql loaded into a throwaway server
# (test/pg.bash: 127.0.0.1 and a socket in a temp dir, a free port,
# stopped by its pid) and a synthetic database of 1,000 tables.  Also
# times introspect alone, live and on a 1,400-table structure.sql
# written by pg_dump.  Prints the median wall time of RUNS runs and the
# peak RSS (sluice: summed over its processes), and the ratios.  Peers
# are installed with npm into bench/.peers/ (git-ignored) on first use;
# a peer slower than 30 s is run once.
#   bench/codegen-pg.sh            RUNS=10 by default
#   RUNS=3 bench/codegen-pg.sh
#   DBS="lago danbooru" bench/codegen-pg.sh   only those databases
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/bench/out/codegen-pg
peers=$top/bench/.peers
runs=${RUNS:-10}
mkdir -p "$out"
# the generated files go to tmpfs when there is one, as in codegen.sh
# (one file per table against the peers' one; GEN=DIR chooses)
if [ -z "${GEN:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	GEN=$(mktemp -d /dev/shm/sluice-codegen-pg.XXXXXX)
fi
gen=${GEN:-$out/gen}
export SLUICE_STATE_DIR="$out/state" SLUICE_CACHE_DIR="$out/cache"
# shellcheck source=../test/pg.bash
. "$top/test/pg.bash"

make -s -C "$top" all >/dev/null 2>&1 ||
    { echo "codegen-pg.sh: make failed" >&2; exit 1; }
cc -O2 -o "$out/floor" "$top/bench/codegen-pg-floor.c" -lpq

bin=$peers/node_modules/.bin
if [ ! -x "$bin/kysely-codegen" ] || [ ! -x "$bin/sql-ts" ] ||
    [ ! -d "$peers/node_modules/pg" ]; then
	echo "codegen-pg.sh: installing the peers into bench/.peers" >&2
	mkdir -p "$peers"
	[ -f "$peers/package.json" ] || printf '%s\n' \
	    '{ "name": "sluice-bench-peers", "private": true }' \
	    > "$peers/package.json"
	(cd "$peers" && npm install --no-audit --no-fund --loglevel=error \
	    kysely-codegen kysely pg @rmp135/sql-ts knex typescript >&2)
fi
# pg-to-ts formats with TypeScript's compiler API, which TypeScript 7
# (the other peers' typescript) no longer has: its own folder, with 5
pgtots=$peers/pg-to-ts/node_modules/.bin/pg-to-ts
if [ ! -x "$pgtots" ]; then
	mkdir -p "$peers/pg-to-ts"
	printf '%s\n' '{ "name": "sluice-bench-pg-to-ts", "private": true }' \
	    > "$peers/pg-to-ts/package.json"
	(cd "$peers/pg-to-ts" && npm install --no-audit --no-fund \
	    --loglevel=error pg-to-ts typescript@5 >&2)
fi

srv=$(mktemp -d /tmp/sluice-bench-pg.XXXXXX)
trap 'pg_stop "$srv"; rm -rf "$srv"; case $gen in /dev/shm/*) rm -rf "$gen";; esac' EXIT INT TERM
pg_start "$srv"
url() { echo "postgres://postgres@127.0.0.1:$PGPORT/$1"; }

echo "codegen-pg.sh: loading lago, danbooru and 1,000 synthetic tables" >&2
for db in lago danbooru; do
	pg_psql -c "CREATE DATABASE $db" postgres
	sed '/^\\/d' "$top/test/data/schemas/$db.structure.sql" |
	    psql -X -q -d "$db" -f - >/dev/null 2>&1 || true
done
# gen-schema writes SQLite's dialect; PostgreSQL spells a few things
# differently
gen_pg() {
	"$top/bench/gen-schema" "$1" sql | sed -e \
	    's/integer PRIMARY KEY AUTOINCREMENT/bigserial PRIMARY KEY/g' \
	    -e 's/datetime(6)/timestamp(6)/g' \
	    -e 's/boolean DEFAULT 1/boolean DEFAULT true/g' \
	    -e 's/boolean DEFAULT 0/boolean DEFAULT false/g' \
	    -e '/^BEGIN;$/d' -e '/^COMMIT;$/d'
}
for n in 1000 1400; do
	pg_psql -c "CREATE DATABASE t$n" postgres
	gen_pg "$n" | pg_psql -d "t$n" >/dev/null
done
pg_dump -s -d t1400 > "$out/t1400.structure.sql"
# as a database in use is: its catalogs vacuumed and analyzed (fresh
# from thousands of CREATEs they are not, and autovacuum would do it
# while the tools are timed, on one of the cores they run on)
for db in lago danbooru t1000 t1400; do
	pg_psql -d "$db" -c "VACUUM ANALYZE" >/dev/null
done

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# one_run NAME CMD...: one timed run of CMD, its wall time (us)
# appended to NAME.wall and the largest peak RSS so far kept in NAME.kb
# (sluice: summed over its processes); 1 if it failed
one_run() {
	local name=$1 t0 t1 r old
	shift
	rm -rf "$gen" "$out/trace.jsonl" "$out/$name.ts"
	t0=$(now_us)
	if ! /usr/bin/time -f '%M' -o "$out/rss" "$@" >/dev/null \
	    2>"$out/$name.err"; then
		echo "codegen-pg.sh: $name failed:" \
		    "$(grep -m1 -i error "$out/$name.err")" >&2
		return 1
	fi
	t1=$(now_us)
	echo $(( t1 - t0 )) >> "$out/$name.wall"
	r=$(tail -n 1 "$out/rss")
	# sluice: its own peak (time's %M is the largest of the whole
	# tree) and each stage's, from the run record
	if [ -f "$out/trace.jsonl" ]; then
		r=$(( $(tail -n 1 "$SLUICE_STATE_DIR/history.jsonl" |
		    jq .sluice_rss_kb) + $(jq -s 'map(.max_rss_kb) | add' \
		    "$out/trace.jsonl") ))
	fi
	old=$(cat "$out/$name.kb")
	[ "$r" -gt "$old" ] && echo "$r" > "$out/$name.kb"
	return 0
}

# the median of NAME.wall, in ms
median_ms() {
	sort -n "$out/$1.wall" | awk '{ v[NR] = $1 } END {
	    if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
	    printf "%.1f", m / 1000 }'
}

# measure NAME CMD...: RUNS runs (one if a run takes over 30 s); sets
# ms (median wall) and kb (max peak RSS)
measure() {
	local name=$1 i=0 n=$runs
	shift
	: > "$out/$name.wall"
	echo 0 > "$out/$name.kb"
	ms=failed kb=0
	while [ "$i" -lt "$n" ]; do
		one_run "$name" "$@" || return 0
		[ "$(tail -n 1 "$out/$name.wall")" -gt 30000000 ] && n=1
		i=$((i + 1))
	done
	ms=$(median_ms "$name")
	kb=$(cat "$out/$name.kb")
}

# measure_pair NAME CMD... -- NAME2 CMD2...: the two in turn, RUNS runs
# each, so that the machine's load at any moment weighs on both alike
# (their ratio is a target); sets ms, kb and ms2, kb2
measure_pair() {
	local a=() b=() i=0 name name2
	name=$1
	shift
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	name2=$1
	shift
	b=("$@")
	: > "$out/$name.wall"
	: > "$out/$name2.wall"
	echo 0 > "$out/$name.kb"
	echo 0 > "$out/$name2.kb"
	ms=failed kb=0 ms2=failed kb2=0
	while [ "$i" -lt "$runs" ]; do
		one_run "$name" "${a[@]}" || return 0
		one_run "$name2" "${b[@]}" || return 0
		i=$((i + 1))
	done
	ms=$(median_ms "$name")
	kb=$(cat "$out/$name.kb")
	ms2=$(median_ms "$name2")
	kb2=$(cat "$out/$name2.kb")
}

row() {
	printf '%-14s %-18s %10s %9sM %9sx\n' "$1" "$2" "$3" \
	    "$(awk -v k="$4" 'BEGIN { printf "%.1f", k / 1024 }')" \
	    "$(awk -v a="$3" -v b="$5" 'BEGIN { if (a + 0 > 0)
	    printf "%.2f", a / b; else printf "-" }')"
}

printf '%-14s %-18s %10s %10s %10s\n' database tool "wall ms" "peak RSS" \
    "vs sluice"
for db in ${DBS:-lago danbooru t1000}; do
	u=$(url "$db")
	tables=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_class
	    WHERE relnamespace = 'public'::regnamespace
	    AND relkind IN ('r', 'p') AND NOT relispartition")
	measure sluice "$top/bin/sluice" run -q --no-cache \
	    --trace "$out/trace.jsonl" -D schema="$u" -D out="$gen" \
	    "$top/examples/zero/pipeline.json"
	s_ms=$ms s_kb=$kb
	measure_pair introspect "$top/libexec/sluice/introspect" "$u" -- \
	    floor "$out/floor" "$u"
	i_ms=$ms i_kb=$kb f_ms=$ms2 f_kb=$kb2
	measure kysely "$bin/kysely-codegen" --dialect postgres --url "$u" \
	    --out-file "$out/kysely.ts"
	k_ms=$ms k_kb=$kb
	measure pgtots "$pgtots" generate -c "$u" -o "$out/pgtots.ts"
	p_ms=$ms p_kb=$kb
	printf '{"client":"pg","connection":"%s","filename":"%s"}\n' \
	    "$u" "$out/sqlts" > "$out/sqlts.json"
	measure sqlts "$bin/sql-ts" -c "$out/sqlts.json"
	q_ms=$ms q_kb=$kb
	row "$db($tables)" "sluice (pipeline)" "$s_ms" "$s_kb" "$s_ms"
	row "" "introspect alone" "$i_ms" "$i_kb" "$s_ms"
	row "" "floor (libpq)" "$f_ms" "$f_kb" "$s_ms"
	row "" "kysely-codegen" "$k_ms" "$k_kb" "$s_ms"
	row "" "pg-to-ts" "$p_ms" "$p_kb" "$s_ms"
	row "" "sql-ts" "$q_ms" "$q_kb" "$s_ms"
	# the issue's target: the stage that talks to the server within
	# 1.3x of the floor
	awk -v i="$i_ms" -v f="$f_ms" 'BEGIN { if (f + 0 > 0) printf \
	    "%-14s introspect/floor %10.2fx  target <= 1.3x: %s\n", "", \
	    i / f, i / f <= 1.3 ? "PASS" : "MISS" }'
done
measure parse "$top/libexec/sluice/introspect" "$out/t1400.structure.sql"
row "t1400.sql" "introspect (file)" "$ms" "$kb" "$ms"
echo "(wall: median of $runs runs, a peer over 30 s once; sluice's RSS is"
echo " summed over all its processes; 'vs sluice' is the tool's wall time"
echo " over sluice's pipeline; t1400.sql: pg_dump -s of 1,400 tables;"
echo " generated files in $gen)"
