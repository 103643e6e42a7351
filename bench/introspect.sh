#!/bin/sh
# bench/introspect.sh: time and peak memory of `sluice introspect` on
# synthetic schemas of 100, 1,000 and 10,000 tables (bench/gen-schema),
# as schema.rb and as a SQLite database, side by side with the peer a
# user would run instead: `sqlite3 DB .schema` for SQLite; for
# schema.rb (no Ruby here) an awk pass over the file, the floor of any
# reader.  Prints per-table time, peak RSS against the input size, the
# ratios and the growth from one size to the next (linear is x10).
# Targets (issue 4): under 1 ms per table, RSS under 4x the input.
#   bench/introspect.sh [SIZES...]     default: 100 1000 10000
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
intro="$root/libexec/sluice/introspect"
gen="$root/bench/gen-schema"
[ -x "$intro" ] || { echo "introspect.sh: build first (make)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "introspect.sh: needs sqlite3" >&2; exit 1; }
sizes=${*:-100 1000 10000}
runs=${RUNS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/introspect-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

now() { date +%s%N; }

# best wall time in ns of $runs runs of "$@" (stdout discarded)
best() {
	b=
	i=0
	while [ $i -lt "$runs" ]; do
		t0=$(now)
		"$@" > /dev/null
		t1=$(now)
		t=$((t1 - t0))
		if [ -z "$b" ] || [ $t -lt "$b" ]; then b=$t; fi
		i=$((i + 1))
	done
	echo "$b"
}

# peak RSS in KiB of one run
rss() {
	/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}

awkfloor() { awk '/create_table/ { n++ } END { print n }' "$1"; }

printf '%-9s %6s %9s %10s %9s %8s %7s %10s %7s\n' form tables input \
    time per-table rss rss/in peer x-peer
prev_rb= ; prev_sq= ; growth=
for n in $sizes; do
	rb="$work/s$n.rb"
	db="$work/s$n.sqlite"
	"$gen" "$n" rb > "$rb"
	"$gen" "$n" sql | sqlite3 "$db"
	for form in schemarb sqlite; do
		if [ $form = schemarb ]; then
			f=$rb
			peer=$(best awkfloor "$f")
		else
			f=$db
			peer=$(best sqlite3 "$f" .schema)
		fi
		out=$("$intro" "$f" | wc -l)
		[ "$out" -eq "$n" ] || { echo "introspect.sh: $f: $out records, expected $n" >&2; exit 1; }
		t=$(best "$intro" "$f")
		kb=$(rss "$intro" "$f")
		size=$(wc -c < "$f")
		awk -v form=$form -v n="$n" -v size="$size" -v t="$t" -v kb="$kb" \
		    -v peer="$peer" 'BEGIN {
			printf "%-9s %6d %8.1fK %8.2fms %7.1fus %7dK %6.2fx %8.2fms %6.2fx\n",
			    form, n, size / 1024, t / 1e6, t / n / 1e3, kb,
			    kb * 1024 / size, peer / 1e6, t / peer
		}'
		if [ $form = schemarb ]; then
			[ -n "$prev_rb" ] && growth="$growth schemarb $prev_rb->$n: x$(awk -v a="${prev_rb#*:}" -v b="$t" 'BEGIN { printf "%.1f", b / a }')"
			prev_rb="$n:$t"
		else
			[ -n "$prev_sq" ] && growth="$growth sqlite $prev_sq->$n: x$(awk -v a="${prev_sq#*:}" -v b="$t" 'BEGIN { printf "%.1f", b / a }')"
			prev_sq="$n:$t"
		fi
	done
done
echo
echo "time growth (tables x10 each step; linear is about x10):${growth:-}" |
    sed 's/ \([0-9]*\):[0-9]*->/ \1->/g'
echo "targets: per-table under 1000us (replaced system: 100ms), rss/in under 4x at 1000 tables"
echo "peer: schemarb = awk line scan (floor, parses nothing); sqlite = sqlite3 DB .schema"
