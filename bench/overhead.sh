#!/usr/bin/env bash
# bench/overhead.sh: what sluice costs per stage and per byte, side by
# side with the tools a user would pick instead, in one run.
#
#   (a) N independent no-op stages (/bin/true) at -j2: sluice, ninja,
#       make, GNU parallel, xargs -P2 and the floor (bench/spawn-floor.c:
#       vfork+execve or posix_spawn, then waitpid, nothing else)
#   (b) a chain of M dependent no-op stages: sluice ("after" edges),
#       ninja, make, and the floor at -j1
#   (c) 2 GiB through head | cat | cat | cat: sluice vs bash
#   (d) 2 GiB fanned out to 3 `wc -c`: sluice vs bash tee >(...) >(...)
#
# Prints a table (median time, us per job or GiB/s, ratio sluice/peer)
# and one PASS/MISS line per target of issue 3.  Not a test: it asserts
# nothing, but exits non-zero when a tool fails or is missing.
#
#   bench/overhead.sh            full run (about 5 minutes on 2 quiet cores)
#   QUICK=1 bench/overhead.sh    smoke run: small sizes, few runs
#   SLUICE=path                  use that binary instead of `make bin/sluice`
#
# Everything generated goes to bench/out/overhead/ (git-ignored).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out/overhead
QUICK=${QUICK:-0}

die() { echo "overhead.sh: $*" >&2; exit 1; }
say() { echo "overhead.sh: $*" >&2; }

if [ "$QUICK" = 1 ]; then
	NA=200 NB=50 SIZE=128M BYTES=$((128 << 20))
	ROUNDS=1 RUNS_FAST=2 RUNS_CHAIN=2 RUNS_SLOW=1 RUNS_C=1 RUNS_D=1 WARMUP=0
else
	NA=2000 NB=500 SIZE=2G BYTES=$((2 << 30))
	# every scenario runs ROUNDS times, its tools one after the other,
	# so a burst of background load hits them all alike
	ROUNDS=3 RUNS_FAST=3 RUNS_CHAIN=5 RUNS_SLOW=1 RUNS_C=2 RUNS_D=1 WARMUP=1
fi
JOBS=2

# tools ------------------------------------------------------------------
need() {	# need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 ||
	    die "'$1' not found (Debian package $2; make deps installs it)"
}
need hyperfine hyperfine
need ninja ninja-build
need make make
need parallel parallel
need xargs findutils
need jq jq
need cc gcc
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package time)"
[ -x /bin/true ] || die "/bin/true not found"

mkdir -p "$OUT"
BUILT="$(git describe --always --dirty 2>/dev/null || echo 'no git')"
if [ -z "${SLUICE:-}" ]; then
	# plain build (make rebuilds if the last build had other flags);
	# then a private copy, so a concurrent sanitizer build cannot
	# swap the binary under the benchmark
	make -s bin/sluice > "$OUT/make.log" 2>&1 ||
	    { cat "$OUT/make.log" >&2; die "make bin/sluice failed"; }
	cp bin/sluice "$OUT/sluice.bin"
	SLUICE=$OUT/sluice.bin
	export SLUICE_LIBEXEC=$ROOT/libexec/sluice
else
	BUILT=$SLUICE
fi
[ -x "$SLUICE" ] || die "$SLUICE: not an executable"
if ldd "$SLUICE" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	say "warning: $SLUICE is a sanitizer build; its times mean little"
fi
cc -O2 -Wall -Wextra -o "$OUT/spawn-floor" bench/spawn-floor.c ||
    die "cannot compile bench/spawn-floor.c"
FLOOR=$OUT/spawn-floor

# sluice keeps run records and logs here, not in the user's home
export SLUICE_STATE_DIR=$OUT/state
export SLUICE_CACHE_DIR=$OUT/cache
export NO_COLOR=1

# inputs -----------------------------------------------------------------
gen_inputs() {
	local i d

	# (a) independent no-op stages
	d=$OUT/a
	rm -rf "$d"
	mkdir -p "$d"
	{
		printf '{ "name": "overhead-a", "jobs": %d, "stages": {\n' "$JOBS"
		for ((i = 1; i <= NA; i++)); do
			printf '  "s%d": { "run": ["/bin/true"], "cache": false }%s\n' \
			    "$i" "$( ((i < NA)) && echo , || true)"
		done
		printf '} }\n'
	} > "$d/pipeline.json"
	{
		printf 'rule noop\n  command = /bin/true\n  description = noop $out\n'
		# outputs are never created: every edge runs every time
		for ((i = 1; i <= NA; i++)); do
			printf 'build o%d: noop\n' "$i"
		done
	} > "$d/build.ninja"
	{
		printf '.PHONY: all'
		for ((i = 1; i <= NA; i++)); do printf ' t%d' "$i"; done
		printf '\nall:'
		for ((i = 1; i <= NA; i++)); do printf ' t%d' "$i"; done
		printf '\n'
		for ((i = 1; i <= NA; i++)); do printf 't%d:\n\t/bin/true\n' "$i"; done
	} > "$d/Makefile"

	# (b) a chain: each stage after the previous one
	d=$OUT/b
	rm -rf "$d"
	mkdir -p "$d"
	{
		printf '{ "name": "overhead-b", "jobs": %d, "stages": {\n' "$JOBS"
		printf '  "s1": { "run": ["/bin/true"], "cache": false },\n'
		for ((i = 2; i <= NB; i++)); do
			printf '  "s%d": { "run": ["/bin/true"], "after": ["s%d"], "cache": false }%s\n' \
			    "$i" $((i - 1)) "$( ((i < NB)) && echo , || true)"
		done
		printf '} }\n'
	} > "$d/pipeline.json"
	{
		printf 'rule noop\n  command = /bin/true\n  description = noop $out\n'
		printf 'build o1: noop\n'
		for ((i = 2; i <= NB; i++)); do
			printf 'build o%d: noop o%d\n' "$i" $((i - 1))
		done
	} > "$d/build.ninja"
	{
		printf '.PHONY: all'
		for ((i = 1; i <= NB; i++)); do printf ' t%d' "$i"; done
		printf '\nall: t%d\nt1:\n\t/bin/true\n' "$NB"
		for ((i = 2; i <= NB; i++)); do
			printf 't%d: t%d\n\t/bin/true\n' "$i" $((i - 1))
		done
	} > "$d/Makefile"

	# (c) a 4-stage cat chain; the last one is the sink (sluice's stdout)
	cat > "$OUT/c.json" <<-EOF
	{ "name": "overhead-c", "jobs": 4, "stages": {
	  "src": { "run": ["head", "-c", "$SIZE", "/dev/zero"], "cache": false },
	  "cat1": { "run": ["cat"], "stdin": "src", "cache": false },
	  "cat2": { "run": ["cat"], "stdin": "cat1", "cache": false },
	  "cat3": { "run": ["cat"], "stdin": "cat2", "cache": false } } }
	EOF

	# (d) one producer, three consumers
	cat > "$OUT/d.json" <<-EOF
	{ "name": "overhead-d", "jobs": 4, "stages": {
	  "src": { "run": ["head", "-c", "$SIZE", "/dev/zero"], "cache": false },
	  "wc1": { "run": ["wc", "-c"], "stdin": "src", "cache": false },
	  "wc2": { "run": ["wc", "-c"], "stdin": "src", "cache": false },
	  "wc3": { "run": ["wc", "-c"], "stdin": "src", "cache": false } } }
	EOF
}

# commands ---------------------------------------------------------------
# labels and shell commands, index by index; hyperfine runs them in bash
A_LABEL=("sluice -j$JOBS" "ninja -j$JOBS" "make -j$JOBS" "xargs -P$JOBS"
    "floor vfork+execve" "floor posix_spawn" "GNU parallel -j$JOBS")
A_CMD=(
	"'$SLUICE' run -q -j$JOBS '$OUT/a/pipeline.json'"
	"ninja -C '$OUT/a' -j$JOBS"
	"make -s -C '$OUT/a' -j$JOBS"
	"seq $NA | xargs -P$JOBS -n1 /bin/true"
	"'$FLOOR' -m vfork -n $NA -j $JOBS /bin/true"
	"'$FLOOR' -m spawn -n $NA -j $JOBS /bin/true"
	"seq $NA | parallel --will-cite -j$JOBS /bin/true"
)
A_SLOW=6	# index from which a tool is slow: fewer runs

B_LABEL=("sluice -j$JOBS" "ninja -j$JOBS" "make -j$JOBS"
    "floor vfork+execve -j1" "floor posix_spawn -j1")
B_CMD=(
	"'$SLUICE' run -q -j$JOBS '$OUT/b/pipeline.json'"
	"ninja -C '$OUT/b' -j$JOBS"
	"make -s -C '$OUT/b' -j$JOBS"
	"'$FLOOR' -m vfork -n $NB -j 1 /bin/true"
	"'$FLOOR' -m spawn -n $NB -j 1 /bin/true"
)

C_LABEL=("sluice" "bash pipeline")
C_CMD=(
	"'$SLUICE' run -q '$OUT/c.json' > /dev/null"
	"head -c $SIZE /dev/zero | cat | cat | cat > /dev/null"
)

# the final cat ends only when every wc (process substitutions too) has
# closed its stdout, so the shell waits for all of them; fd 3: a process
# substitution would otherwise inherit tee's stdout, the pipe to wc
D_LABEL=("sluice" "bash tee >(..) >(..)")
D_CMD=(
	"'$SLUICE' run -q '$OUT/d.json' > /dev/null"
	"{ head -c $SIZE /dev/zero | tee >(wc -c >&3) >(wc -c >&3) | wc -c; } 3>&1 | cat > /dev/null"
)

# one run of each command, outputs checked: a tool that fails stops here
validate() {
	local out n

	say "checking every tool once"
	out=$("$SLUICE" run -q -j$JOBS --trace "$OUT/a.trace" \
	    "$OUT/a/pipeline.json") || die "sluice failed on (a)"
	n=$(wc -l < "$OUT/a.trace")
	[ "$n" -eq "$NA" ] || die "sluice ran $n processes for (a), not $NA"
	out=$(ninja -C "$OUT/a" -j$JOBS) || die "ninja failed on (a)"
	[[ $out == *"[$NA/$NA]"* ]] || die "ninja did not run $NA edges in (a)"
	make -s -C "$OUT/a" -j$JOBS >/dev/null || die "make failed on (a)"
	seq $NA | xargs -P$JOBS -n1 /bin/true || die "xargs failed on (a)"
	"$FLOOR" -m vfork -n $NA -j $JOBS /bin/true || die "floor failed"
	"$FLOOR" -m spawn -n $NA -j $JOBS /bin/true || die "floor failed"
	seq 20 | parallel --will-cite -j$JOBS /bin/true ||
	    die "GNU parallel failed"

	"$SLUICE" run -q -j$JOBS --trace "$OUT/b.trace" \
	    "$OUT/b/pipeline.json" >/dev/null || die "sluice failed on (b)"
	n=$(wc -l < "$OUT/b.trace")
	[ "$n" -eq "$NB" ] || die "sluice ran $n processes for (b), not $NB"
	out=$(ninja -C "$OUT/b" -j$JOBS) || die "ninja failed on (b)"
	[[ $out == *"[$NB/$NB]"* ]] || die "ninja did not run $NB edges in (b)"
	make -s -C "$OUT/b" -j$JOBS >/dev/null || die "make failed on (b)"

	out=$("$SLUICE" run -q "$OUT/c.json" | wc -c) ||
	    die "sluice failed on (c)"
	[ "$out" -eq "$BYTES" ] || die "sluice (c) passed $out bytes, not $BYTES"
	out=$("$SLUICE" run -q "$OUT/d.json") || die "sluice failed on (d)"
	[ "$out" = "$(printf '%s\n%s\n%s' $BYTES $BYTES $BYTES)" ] ||
	    die "sluice (d): consumers saw '$(echo $out)', not 3 x $BYTES"
	out=$(bash -c "{ head -c $SIZE /dev/zero | tee >(wc -c >&3) >(wc -c >&3) | wc -c; } 3>&1 | cat") ||
	    die "bash tee failed on (d)"
	[ "$out" = "$(printf '%s\n%s\n%s' $BYTES $BYTES $BYTES)" ] ||
	    die "bash tee (d): consumers saw '$(echo $out)', not 3 x $BYTES"
	rm -rf "$SLUICE_STATE_DIR"
}

# measuring --------------------------------------------------------------
# hf SCEN ROUND RUNS WARMUP FIRST LAST: hyperfine over commands
# FIRST..LAST of scenario SCEN (warm-up runs in the first round only);
# every run's time is appended to $OUT/times/SCEN.INDEX
hf() {
	local scen=$1 round=$2 runs=$3 warm=$4 first=$5 last=$6
	local -n labels=${scen}_LABEL cmds=${scen}_CMD
	local args=() i json=$OUT/json/$scen.$round.$first.json

	[ "$round" -eq 1 ] || warm=0
	for ((i = first; i <= last; i++)); do
		args+=(-n "${labels[i]}" "${cmds[i]}")
	done
	hyperfine --shell=bash --style=basic --runs "$runs" --warmup "$warm" \
	    --export-json "$json" "${args[@]}" >> "$OUT/hyperfine.log" 2>&1 ||
	    die "hyperfine failed in ($scen): a tool exited non-zero, see $OUT/hyperfine.log"
	for ((i = first; i <= last; i++)); do
		jq -r ".results[$((i - first))].times[]" "$json" \
		    >> "$OUT/times/$scen.$i"
	done
	rm -rf "$SLUICE_STATE_DIR"
}

# tstat SCEN INDEX: "median min max count" in seconds
tstat() {
	sort -g "$OUT/times/$1.$2" | awk '
	    { t[NR] = $1 }
	    END {
		m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		printf "%.6f %.6f %.6f %d\n", m, t[1], t[NR], NR
	    }'
}
median() { tstat "$1" "$2" | cut -d' ' -f1; }

# peak RSS in KiB of one command: the largest of three runs
peak_rss() {
	local i kb max=0

	for i in 1 2 3; do
		/usr/bin/time -f %M -o "$OUT/rss" "$@" >/dev/null ||
		    die "$1 failed while measuring its RSS"
		kb=$(tail -n 1 "$OUT/rss")
		((kb > max)) && max=$kb
	done
	echo "$max"
}

# main -------------------------------------------------------------------
# how busy the CPUs are without us: percent over one second
cpu_busy() {
	local a b
	a=$(head -n 1 /proc/stat)
	sleep 1
	b=$(head -n 1 /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk '
	    { idle[NR] = $5 + $6; tot[NR] = 0
	      for (i = 2; i <= NF; i++) tot[NR] += $i }
	    END { d = tot[2] - tot[1]
		  printf "%d", (d > 0 ? 100 * (1 - (idle[2] - idle[1]) / d) : 0) }'
}

# CPU seconds all processes used (/proc/stat), and ours (bash times)
cpu_all() {
	head -n 1 /proc/stat | awk -v hz="$(getconf CLK_TCK)" \
	    '{ printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }'
}
# (in this shell, not in $(...): a subshell starts its counts at zero)
cpu_ours() {
	times > "$OUT/cputimes"
	tail -n 1 "$OUT/cputimes" | awk '{
		s = 0
		for (i = 1; i <= 2; i++) {
			split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2]
		}
		printf "%.2f", s
	    }'
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }	# not date: the clock may jump

T0=$(uptime_s)
BUSY0=$(cpu_busy)
ALL0=$(cpu_all)
cpu_ours > "$OUT/ours0"
gen_inputs
validate
rm -rf "$OUT/times" "$OUT/json" "$OUT/hyperfine.log"
mkdir -p "$OUT/times" "$OUT/json"

for ((r = 1; r <= ROUNDS; r++)); do
	say "round $r/$ROUNDS: (a) $NA no-op stages"
	hf A "$r" "$RUNS_FAST" "$WARMUP" 0 $((A_SLOW - 1))
	hf A "$r" "$RUNS_SLOW" 0 "$A_SLOW" $((${#A_CMD[@]} - 1))
	say "round $r/$ROUNDS: (b) chain of $NB"
	hf B "$r" "$RUNS_CHAIN" "$WARMUP" 0 $((${#B_CMD[@]} - 1))
	say "round $r/$ROUNDS: (c) $SIZE through 4 x cat"
	hf C "$r" "$RUNS_C" 0 0 1
	say "round $r/$ROUNDS: (d) $SIZE fanned out to 3"
	hf D "$r" "$RUNS_D" 0 0 1
done

say "peak RSS"
RSS_SLUICE=$(peak_rss "$SLUICE" run -q -j$JOBS "$OUT/a/pipeline.json")
RSS_NINJA=$(peak_rss ninja -C "$OUT/a" -j$JOBS)
RSS_MAKE=$(peak_rss make -s -C "$OUT/a" -j$JOBS)
rm -rf "$SLUICE_STATE_DIR"
ALL1=$(cpu_all) T1=$(uptime_s)
cpu_ours > "$OUT/ours1"
OURS0=$(cat "$OUT/ours0") OURS1=$(cat "$OUT/ours1")
# what other processes took of the CPUs while we measured
OTHERS=$(awk -v a0="$ALL0" -v a1="$ALL1" -v o0="$OURS0" \
    -v o1="$OURS1" -v t0="$T0" -v t1="$T1" -v c="$(nproc)" 'BEGIN {
	x = ((a1 - a0) - (o1 - o0)) / ((t1 - t0) * c) * 100
	printf "%d", x < 0 ? 0 : x
    }')
BUSY1=$(cpu_busy)

# report -----------------------------------------------------------------
human() {	# bytes as 2 GiB / 128 MiB
	if ((BYTES >= 1 << 30)); then echo "$((BYTES >> 30)) GiB"
	else echo "$((BYTES >> 20)) MiB"; fi
}

# row SCEN INDEX KIND N: KIND is job (us per job) or rate (GiB/s)
row() {
	local scen=$1 i=$2 kind=$3 n=$4 title=$5
	local -n labels=${scen}_LABEL
	local s med lo hi cnt base per ratio

	s=$(tstat "$scen" "$i")
	read -r med lo hi cnt <<< "$s"
	base=$(median "$scen" 0)
	if [ "$kind" = job ]; then
		per=$(awk -v t="$med" -v n="$n" 'BEGIN { printf "%8.0f us/job", t * 1e6 / n }')
		ratio=$(awk -v s="$base" -v t="$med" 'BEGIN { printf "%.2fx", s / t }')
	else
		per=$(awk -v t="$med" -v b="$BYTES" 'BEGIN { printf "%8.2f GiB/s ", b / 1073741824 / t }')
		ratio=$(awk -v s="$base" -v t="$med" 'BEGIN { printf "%.2fx", t / s }')
	fi
	[ "$i" -eq 0 ] && ratio=-
	printf '%-26s %-24s %8.3f s  %6.3f..%-7.3f %2d  %s  %8s\n' \
	    "$title" "${labels[i]}" "$med" "$lo" "$hi" "$cnt" "$per" "$ratio"
}

table() {
	local i

	printf '%-26s %-24s %10s  %-14s %2s  %-15s  %8s\n' scenario tool \
	    median "min..max (s)" n "per job / rate" sluice/peer
	for ((i = 0; i < ${#A_CMD[@]}; i++)); do
		row A "$i" job "$NA" "$( ((i == 0)) && echo "(a) $NA no-op stages -j$JOBS")"
	done
	echo
	for ((i = 0; i < ${#B_CMD[@]}; i++)); do
		row B "$i" job "$NB" "$( ((i == 0)) && echo "(b) chain of $NB stages")"
	done
	echo
	for ((i = 0; i < ${#C_CMD[@]}; i++)); do
		row C "$i" rate 0 "$( ((i == 0)) && echo "(c) $(human) 4-stage cat")"
	done
	echo
	for ((i = 0; i < ${#D_CMD[@]}; i++)); do
		row D "$i" rate 0 "$( ((i == 0)) && echo "(d) $(human) fan-out to 3")"
	done
	echo
	printf 'peak RSS, (a): sluice %s KiB, ninja %s KiB, make %s KiB\n' \
	    "$RSS_SLUICE" "$RSS_NINJA" "$RSS_MAKE"
}

# verdict OK VALUE TEXT
verdict() {
	if [ "$1" = 1 ]; then printf 'PASS  %-52s %s\n' "$3" "$2"
	else printf 'MISS  %-52s %s\n' "$3" "$2"; fi
}

# compare NUMERATOR DENOMINATOR OP LIMIT: prints "1 RATIO" or "0 RATIO"
compare() {
	awk -v a="$1" -v b="$2" -v op="$3" -v lim="$4" 'BEGIN {
		r = a / b
		ok = op == "<=" ? r <= lim : r >= lim
		printf "%d %.2fx\n", ok, r
	}'
}

targets() {
	local s ok v

	echo "targets (issue 3; time ratios: lower is better, throughput: higher)"
	read -r ok v <<< "$(compare "$(median A 0)" "$(median A 1)" '<=' 0.85)"
	verdict "$ok" "$v" "(a) sluice time <= 0.85x ninja (aim 0.75x)"
	read -r ok v <<< "$(compare "$(median A 0)" "$(median A 4)" '<=' 1.15)"
	verdict "$ok" "$v" "(a) sluice time within 15% of the vfork floor"
	ok=$((RSS_SLUICE < 8192))
	verdict "$ok" "$RSS_SLUICE KiB" "(a) sluice coordinator peak RSS < 8 MiB (8192 KiB)"
	read -r ok v <<< "$(compare "$(median B 0)" "$(median B 1)" '<=' 0.85)"
	verdict "$ok" "$v" "(b) sluice time <= 0.85x ninja (aim 0.75x)"
	read -r ok v <<< "$(compare "$(median B 0)" "$(median B 3)" '<=' 1.15)"
	verdict "$ok" "$v" "(b) sluice time within 15% of the vfork floor"
	read -r ok v <<< "$(compare "$(median C 1)" "$(median C 0)" '>=' 0.95)"
	verdict "$ok" "$v" "(c) sluice throughput >= 0.95x bash pipeline"
	read -r ok v <<< "$(compare "$(median D 1)" "$(median D 0)" '>=' 2.5)"
	verdict "$ok" "$v" "(d) sluice throughput >= 2.5x bash tee"
}

{
	printf 'sluice overhead benchmark%s: %s, %s CPUs, %s\n' \
	    "$( [ "$QUICK" = 1 ] && echo ' (QUICK: smoke run, not a measurement)')" \
	    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" \
	    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	printf '%s (%s); %s; ninja %s; %s; %s\n' "$("$SLUICE" --version 2>&1 | head -n 1)" \
	    "$BUILT" \
	    "$(hyperfine --version)" "$(ninja --version)" \
	    "$(make --version | head -n 1)" "$(parallel --version | head -n 1)"
	printf 'median of n runs (hyperfine; rounds: %d, each runs every tool)\n' "$ROUNDS"
	printf 'other processes used the CPUs: %d%% before, %d%% during, %d%% after the run\n\n' \
	    "$BUSY0" "$OTHERS" "$BUSY1"
	if ((BUSY0 > 10 || OTHERS > 10 || BUSY1 > 10)); then
		printf 'warning: other work ran on this machine: the times are noisy, compare min..max too\n\n'
	fi
	table
	echo
	targets
	printf '\n(%.0f s; raw times in %s, hyperfine output in %s)\n' \
	    "$(awk -v a="$T0" -v b="$(uptime_s)" 'BEGIN { print b - a }')" \
	    "$OUT/times" "$OUT/hyperfine.log"
} | tee "$OUT/report.txt"
