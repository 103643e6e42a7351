#!/usr/bin/env bash
# bench/monitor.sh: what the per-process monitor costs and how exact it
# is (issue 7, "How it is checked").
#
#   1. overhead: the same pipelines with --monitor off, basic and full,
#      interleaved round by round (the order rotates) so background load
#      hits every mode alike:
#        (a) 2,000 stages: /bin/true, and every tenth a short awk loop
#        (b) examples/zero on a 1,000-table schema (bench/gen-schema),
#            --no-cache so every stage runs; a synthetic pipeline of real
#            work takes its place if examples/zero is missing or fails
#      Wall time is noisy on a shared machine, so the coordinator's own
#      CPU time is shown too: the user+sys of `sluice run` with every
#      process it reaped (the shell's `times`, before and after) minus
#      the stages' CPU from the run record.  The "CPU estimate" is the extra coordinator CPU
#      of full over off as a share of off's wall time.
#   2. accuracy: processes of known memory use (perl holding N MiB, one
#      behind a shell, one that frees a peak before it exits), run as
#      stages; the run record's max RSS (and the /proc sampler's own
#      peak) against /usr/bin/time -f %M of the same command.
#
# Prints tables with medians and ratios and PASS/MISS lines for the
# targets: monitoring (full vs off) under 1% of wall time, max RSS within
# 5% of /usr/bin/time (and the sampler's own peak within 5% for a single
# process that holds its memory for several sampling intervals).  Not a test: exits non-zero only when a tool fails.
#
#   bench/monitor.sh             full run (about 3 minutes on 2 cores)
#   QUICK=1 bench/monitor.sh     smoke run: small sizes, few rounds
#   SLUICE=path                  use that binary instead of `make`
#
# Everything generated goes to bench/out/monitor/ (git-ignored).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out/monitor
QUICK=${QUICK:-0}

die() { echo "monitor.sh: $*" >&2; exit 1; }
say() { echo "monitor.sh: $*" >&2; }

if [ "$QUICK" = 1 ]; then
	NSTAGES=200 TABLES=200 ROUNDS_A=2 ROUNDS_B=2 ROUNDS_RSS=1
	RSS_SIZES="20 100"
else
	NSTAGES=2000 TABLES=1000 ROUNDS_A=7 ROUNDS_B=9 ROUNDS_RSS=3
	RSS_SIZES="20 100 400"
fi
JOBS=2
MODES="off basic full"

need() {	# need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 ||
	    die "'$1' not found (Debian package $2; make deps installs it)"
}
need jq jq
need perl perl-base
need awk mawk
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package time)"
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"

rm -rf "$OUT"
mkdir -p "$OUT"/{bin,libexec,tmp,times,runtime}
chmod 700 "$OUT/runtime"
export TMPDIR=$OUT/tmp

# build ------------------------------------------------------------------
BUILT="$(git describe --always --dirty 2>/dev/null || echo 'no git')"
if [ -z "${SLUICE:-}" ]; then
	if ! make -s > "$OUT/make.log" 2>&1; then
		# others may be mid-edit: an existing build still serves
		[ -x bin/sluice ] && [ -x libexec/sluice/render ] ||
		    { tail -20 "$OUT/make.log" >&2; die "make failed"; }
		say "warning: make failed (see $OUT/make.log); benchmarking the existing build"
		BUILT="$BUILT (make failed: existing build)"
	fi
	# private copies: a concurrent sanitizer build cannot swap them
	cp bin/sluice "$OUT/bin/sluice"
	cp -R libexec/sluice "$OUT/libexec/sluice"
	SLUICE=$OUT/bin/sluice
	export SLUICE_LIBEXEC=$OUT/libexec/sluice
else
	BUILT=$SLUICE
fi
[ -x "$SLUICE" ] || die "$SLUICE: not an executable"
if ldd "$SLUICE" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	say "warning: $SLUICE is a sanitizer build; its times mean little"
fi

# run records, history and the live state file stay in bench/out
export SLUICE_STATE_DIR=$OUT/state
export XDG_RUNTIME_DIR=$OUT/runtime
export NO_COLOR=1

# helpers ----------------------------------------------------------------
median() {	# median FILE [COLUMN] -> value
	[ -s "$1" ] || return 0
	awk -v c="${2:-1}" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
		printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() {	# minmax FILE [COLUMN] -> "min max"
	awk -v c="${2:-1}" 'NR == 1 || $c < lo { lo = $c } NR == 1 || $c > hi { hi = $c }
	    END { printf "%.3f %.3f", lo, hi }' "$1"
}
latest_run() { ls -td "$SLUICE_STATE_DIR"/runs/*/ | head -1; }

# one_run NAME MODE ARGS...: time `sluice run --monitor MODE ARGS`; append
# "wall_s selfcpu_s stages_cpu_s processes" to times/NAME-MODE
one_run() {
	local name=$1 mode=$2 f=$OUT/last t0 t1 tm rec
	shift 2
	# the shell's own `times` (children: 1 ms resolution, where
	# /usr/bin/time prints 10 ms) before and after, in this shell
	times > "$f.c0"
	t0=$EPOCHREALTIME
	if ! "$SLUICE" run -q -j "$JOBS" --monitor "$mode" "$@" > "$f.out" \
	    2> "$f.err"; then
		tail -20 "$f.err" >&2
		die "failed: sluice run --monitor $mode $*"
	fi
	t1=$EPOCHREALTIME
	times > "$f.c1"
	rec=$(latest_run)/run.json
	[ "$(jq -r .options.monitor "$rec")" = "$mode" ] ||
	    die "$rec: not the run just made"
	tm=$(cat "$f.c0" "$f.c1" | awk 'FNR % 2 == 0 {
		for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); s[NR] += p[1] * 60 + p[2] } }
	    END { printf "%.6f 0", s[4] - s[2] }')
	awk -v a="$t0" -v b="$t1" -v tm="$tm" \
	    -v rec="$(jq -r '"\(.cpu_us) \([.stages[].procs | length] | add)"' "$rec")" 'BEGIN {
		split(tm, u, " ")
		split(rec, x, " ")
		printf "%.6f %.6f %.6f %d\n", b - a, u[1] + u[2] - x[1] / 1e6, x[1] / 1e6, x[2] }' \
	    >> "$OUT/times/$name-$mode"
}

# rounds NAME N ARGS...: N rounds of every mode, the order rotating
rounds() {
	local name=$1 n=$2 r i m
	local -a modes
	read -ra modes <<< "$MODES"
	shift 2
	# a warm-up run of each mode (page cache, first-run effects), not kept
	for m in $MODES; do
		"$SLUICE" run -q -j "$JOBS" --monitor "$m" "$@" > /dev/null 2>&1 ||
		    die "failed: sluice run --monitor $m $*"
	done
	for ((r = 0; r < n; r++)); do
		say "$name: round $((r + 1))/$n"
		for ((i = 0; i < ${#modes[@]}; i++)); do
			m=${modes[(i + r) % ${#modes[@]}]}
			one_run "$name" "$m" "$@"
		done
	done
}

# (a) NSTAGES stages -----------------------------------------------------
A=$OUT/a
mkdir -p "$A"
{
	printf '{ "name": "monitor-a", "jobs": %d, "stages": {\n' "$JOBS"
	for ((i = 1; i <= NSTAGES; i++)); do
		if ((i % 10 == 0)); then
			printf '  "s%d": { "run": ["awk", "BEGIN { for (i = 0; i < 50000; i++) s += i; print s }"], "cache": false }' "$i"
		else
			printf '  "s%d": { "run": ["/bin/true"], "cache": false }' "$i"
		fi
		((i < NSTAGES)) && printf ',\n'
	done
	printf '\n} }\n'
} > "$A/pipeline.json"

# (b) examples/zero, or a synthetic pipeline of real work ---------------
B=$OUT/b
mkdir -p "$B"
ZERO=0
"$ROOT/bench/gen-schema" "$TABLES" rb > "$B/schema.rb"
if [ -f examples/zero/pipeline.json ]; then
	cp examples/zero/pipeline.json "$B/pipeline.json"	# a snapshot
	cp examples/zero/*.tmpl "$B/" 2>/dev/null || true
	if "$SLUICE" run -q -j "$JOBS" --no-cache -D schema="$B/schema.rb" \
	    -D out="$B/trial-out" "$B/pipeline.json" > "$B/trial.log" 2>&1 &&
	    [ "$(find "$B/trial-out" -type f | wc -l)" -ge "$TABLES" ]; then
		ZERO=1
	else
		say "examples/zero does not work on a $TABLES-table schema" \
		    "(see $B/trial.log); using a synthetic pipeline"
	fi
fi
if [ "$ZERO" = 1 ]; then
	B_ARGS=(--no-cache -D schema="$B/schema.rb" -D out="$B/out" "$B/pipeline.json")
	B_TITLE="examples/zero, $TABLES tables"
else
	# schema.rb through sort, awk and sed stages, a map stage and a join
	cat > "$B/pipeline.json" <<-'EOF'
	{ "name": "monitor-b", "stages": {
	  "src":    { "run": ["cat", "schema.rb"] },
	  "tables": { "run": ["awk", "/create_table/ { t = $2 } /t\\./ { print t, $1, $2 }"], "stdin": "src" },
	  "sorted": { "run": ["sort", "-k2,2", "-k1,1"], "stdin": "tables" },
	  "upper":  { "run": ["sed", "s/[a-z]/\\U&/g"], "stdin": "tables", "map": true },
	  "count":  { "run": "sort | uniq -c | sort -rn", "stdin": "sorted" },
	  "join":   { "run": ["wc", "-l"], "stdin": ["upper", "count"] }
	} }
	EOF
	B_ARGS=(--no-cache "$B/pipeline.json")
	B_TITLE="SYNTHETIC (examples/zero failing), $TABLES tables"
fi

# (c) accuracy of max RSS ------------------------------------------------
C=$OUT/c
mkdir -p "$C"
HOLD=0.6	# seconds a process holds its memory (6 sampling intervals)
# x= grows the string in place: N MiB touched, no temporary copy; undef
# gives it back to the system (a large block is its own mapping)
perl_hold() { echo "my \$x = \"x\"; \$x x= $1 << 20; select(undef, undef, undef, $HOLD)"; }
perl_spike() { echo "my \$x = \"x\"; \$x x= $1 << 20; undef \$x; select(undef, undef, undef, $HOLD)"; }
C_NAMES=() C_ARGV=()	# C_ARGV: each a JSON array
add_proc() {	# add_proc NAME ARGV...
	C_NAMES+=("$1")
	shift
	C_ARGV+=("$(jq -cn '$ARGS.positional' --args -- "$@")")
}
for mb in $RSS_SIZES; do
	add_proc "perl-${mb}M" perl -e "$(perl_hold "$mb")"
done
add_proc "sh-perl-100M" sh -c "perl -e '$(perl_hold 100)'; :"
add_proc "perl-200M-freed" perl -e "$(perl_spike 200)"
{
	printf '{ "name": "monitor-rss", "jobs": 1, "stages": {\n'
	for ((i = 0; i < ${#C_NAMES[@]}; i++)); do
		printf '  "%s": { "run": %s, "cache": false }' "${C_NAMES[i]}" "${C_ARGV[i]}"
		((i + 1 < ${#C_NAMES[@]})) && printf ',\n'
	done
	printf '\n} }\n'
} > "$C/pipeline.json"

accuracy() {
	local r i rec
	local -a argv
	for ((r = 1; r <= ROUNDS_RSS; r++)); do
		say "max RSS: round $r/$ROUNDS_RSS"
		"$SLUICE" run -q -j 1 "$C/pipeline.json" > "$C/run.out" 2> "$C/run.err" ||
		    { cat "$C/run.err" >&2; die "sluice run $C/pipeline.json failed"; }
		rec=$(latest_run)/run.json
		for ((i = 0; i < ${#C_NAMES[@]}; i++)); do
			jq -r --arg n "${C_NAMES[i]}" '.stages[] | select(.name == $n) |
			    "\(.proc.max_rss_kb) \(.proc.sampled_rss_kb)"' "$rec" \
			    >> "$OUT/times/rss-$i-sluice"
			mapfile -t argv < <(jq -r '.[]' <<< "${C_ARGV[i]}")
			/usr/bin/time -f %M -o "$C/time.out" "${argv[@]}" > /dev/null ||
			    die "failed: ${C_NAMES[i]} under /usr/bin/time"
			tail -1 "$C/time.out" >> "$OUT/times/rss-$i-time"
		done
	done
}

# run --------------------------------------------------------------------
T_START=$EPOCHREALTIME
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
rounds a "$ROUNDS_A" "$A/pipeline.json"
rounds b "$ROUNDS_B" "${B_ARGS[@]}"
accuracy
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# report -----------------------------------------------------------------
verdict() {	# verdict OK TEXT VALUE
	if [ "$1" = 1 ]; then printf 'PASS  %-56s %s\n' "$2" "$3"
	else printf 'MISS  %-56s %s\n' "$2" "$3"; fi
}

overhead_table() {	# overhead_table NAME TITLE
	local name=$1 m w0 c0 w cpu self np
	w0=$(median "$OUT/times/$name-off" 1)
	c0=$(median "$OUT/times/$name-off" 2)
	np=$(median "$OUT/times/$name-off" 4)
	printf '%s\n' "$2"
	for m in $MODES; do
		w=$(median "$OUT/times/$name-$m" 1)
		self=$(median "$OUT/times/$name-$m" 2)
		cpu=$(median "$OUT/times/$name-$m" 3)
		awk -v m="$m" -v w="$w" -v w0="$w0" -v mm="$(minmax "$OUT/times/$name-$m" 1)" \
		    -v n="$(wc -l < "$OUT/times/$name-$m")" -v self="$self" -v c0="$c0" \
		    -v cpu="$cpu" -v np="$np" 'BEGIN {
			split(mm, r, " ")
			printf "  %-6s %9.3f s  %6.3f..%-7.3f %2d  %+7.2f%%  %9.1f ms %8.1f us %+8.1f us  %+7.2f%%\n",
			    m, w, r[1], r[2], n, 100 * (w - w0) / w0, self * 1e3,
			    self * 1e6 / np, (self - c0) * 1e6 / np,
			    100 * (self - c0) / w0
		}'
	done
}

report() {
	local i n mx sm tm d ds okmax=1 oksam=1 worst=0 worsts=0 wa wb ea eb

	printf 'bench/monitor.sh  %s  sluice %s  %s CPUs  %s s\n' \
	    "$(date -u +%Y-%m-%dT%H:%MZ)" "$BUILT" "$(nproc)" "$ELAPSED"
	printf 'load average %s at the start, %s at the end; -j%d; medians\n\n' \
	    "$LOAD0" "$LOAD1" "$JOBS"
	printf '  %-6s %11s  %-14s %2s  %8s  %12s %11s %11s  %8s\n' monitor \
	    "wall" "min..max (s)" n "vs off" "sluice CPU" "per proc" "vs off" "CPU est."
	overhead_table a "(a) $NSTAGES stages (/bin/true, every 10th a short awk loop), $ROUNDS_A rounds"
	overhead_table b "(b) $B_TITLE, --no-cache, $ROUNDS_B rounds"
	echo
	echo "(sluice CPU: the coordinator's own user+sys, i.e. CPU of sluice run and its children minus the"
	echo " stages' CPU in the run record; CPU est.: extra coordinator CPU over off, as a share of off's wall)"
	echo
	printf '%-18s %8s %14s %8s %14s %8s  %s\n' "max RSS, $ROUNDS_RSS round(s)" \
	    "time %M" "record max" "diff" "sampled peak" "diff" ""
	for ((i = 0; i < ${#C_NAMES[@]}; i++)); do
		tm=$(median "$OUT/times/rss-$i-time" 1)
		mx=$(median "$OUT/times/rss-$i-sluice" 1)
		sm=$(median "$OUT/times/rss-$i-sluice" 2)
		d=$(awk -v a="$mx" -v b="$tm" 'BEGIN { printf "%+.2f", 100 * (a - b) / b }')
		ds=$(awk -v a="$sm" -v b="$tm" 'BEGIN { printf "%+.2f", 100 * (a - b) / b }')
		printf '%-18s %7.0fK %13.0fK %7s%% %13.0fK %7s%%  %s\n' "${C_NAMES[i]}" \
		    "$tm" "$mx" "$d" "$sm" "$ds" \
		    "$(case ${C_NAMES[i]} in
		    *freed) echo "(peak freed before exit: only wait4 sees it)" ;;
		    sh-*) echo "(the work is the shell's child: sampled is the shell alone)" ;;
		    esac)"
		okmax=$(awk -v ok="$okmax" -v d="$d" 'BEGIN { print (ok && d <= 5 && d >= -5) ? 1 : 0 }')
		worst=$(awk -v w="$worst" -v d="$d" 'BEGIN { d = d < 0 ? -d : d; print (d > w ? d : w) }')
		case ${C_NAMES[i]} in
		*freed|sh-*) ;;	# not the sampler's to see: the note says why
		*)	oksam=$(awk -v ok="$oksam" -v d="$ds" 'BEGIN { print (ok && d <= 5 && d >= -5) ? 1 : 0 }')
			worsts=$(awk -v w="$worsts" -v d="$ds" 'BEGIN { d = d < 0 ? -d : d; print (d > w ? d : w) }') ;;
		esac
	done
	echo
	wa=$(median "$OUT/times/a-off" 1) ea=$(median "$OUT/times/a-full" 1)
	wb=$(median "$OUT/times/b-off" 1) eb=$(median "$OUT/times/b-full" 1)
	verdict "$(awk -v a="$wa" -v b="$ea" 'BEGIN { print (b - a) / a < 0.01 ? 1 : 0 }')" \
	    "(a) full vs off: wall overhead under 1% (medians)" \
	    "$(awk -v a="$wa" -v b="$ea" 'BEGIN { printf "%+.2f%%", 100 * (b - a) / a }')"
	verdict "$(awk -v a="$wb" -v b="$eb" 'BEGIN { print (b - a) / a < 0.01 ? 1 : 0 }')" \
	    "(b) full vs off: wall overhead under 1% (medians)" \
	    "$(awk -v a="$wb" -v b="$eb" 'BEGIN { printf "%+.2f%%", 100 * (b - a) / a }')"
	for n in a b; do
		verdict "$(awk -v w="$(median "$OUT/times/$n-off" 1)" -v c0="$(median "$OUT/times/$n-off" 2)" \
		    -v c1="$(median "$OUT/times/$n-full" 2)" 'BEGIN { print (c1 - c0) / w < 0.01 ? 1 : 0 }')" \
		    "($n) full vs off: coordinator CPU under 1% of wall" \
		    "$(awk -v w="$(median "$OUT/times/$n-off" 1)" -v c0="$(median "$OUT/times/$n-off" 2)" \
		    -v c1="$(median "$OUT/times/$n-full" 2)" 'BEGIN { printf "%+.2f%%", 100 * (c1 - c0) / w }')"
	done
	verdict "$okmax" "run record max RSS within 5% of /usr/bin/time -f %M" "worst $(printf '%.2f' "$worst")%"
	verdict "$oksam" "sampled peak within 5%, one process holding its memory" "worst $(printf '%.2f' "$worsts")%"
}

report | tee "$OUT/report.txt"
