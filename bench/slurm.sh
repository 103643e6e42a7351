#!/usr/bin/env bash
# bench/slurm.sh: the Slurm executor against the local one (issue 11,
# "How it is checked"), on a single-node Slurm started here
# (test/slurm.bash, in a temporary directory, stopped by pid on exit).
#
# For each pipeline (examples/wordfreq, examples/logs, examples/zero if it
# runs here, and a synthetic DAG of 200 stages: 40 chains of 5 stages
# joined by plain pipes, then one stage reading all 40), ROUNDS runs
# each of --executor local and slurm, and prints medians of:
#   stages, jobs submitted (grouping keeps it far below the stages),
#   wall time local and slurm,
#   Slurm's bare latency: one trivial `sbatch --wrap=true` job from
#     submission to COMPLETED in squeue, polled every 100 ms (median of 3),
#   wall per job: (slurm wall - local wall) / jobs, what each job costs
#     end to end, Slurm's scheduling included, and
#   sluice's own overhead per job: the coordinator's CPU (user+sys of
#     sluice and the sbatch/squeue/scancel it ran, the shell's `times`)
#     per job submitted.
# Not a test: exits non-zero only when a tool fails or Slurm cannot run.
#
#   bench/slurm.sh              full run (3 rounds)
#   QUICK=1 bench/slurm.sh      one round
#   SLUICE=path                 use that binary instead of `make`
#
# Everything generated goes to bench/out/slurm/ (git-ignored).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out/slurm
ROUNDS=3
[ "${QUICK:-0}" = 1 ] && ROUNDS=1

die() { echo "slurm.sh: $*" >&2; exit 1; }

if [ -z "${SLUICE:-}" ]; then
	make -s >/dev/null || die "make failed"
	SLUICE=$ROOT/bin/sluice
fi
rm -rf "$OUT"
mkdir -p "$OUT"
# shellcheck source=../test/slurm.bash
. "$ROOT/test/slurm.bash"
SDIR=$(mktemp -d /tmp/sluice-bench-slurm.XXXXXX)
chmod 0755 "$SDIR"
trap 'slurm_stop "$SDIR"; rm -rf "$SDIR"' EXIT
slurm_start "$SDIR" || die "no Slurm: $slurm_why"
export SLUICE_STATE_DIR=$OUT/state SLUICE_CACHE_DIR=$OUT/cache

# the synthetic DAG
syn=$OUT/syn
mkdir -p "$syn"
{
	echo '{ "name": "syn200", "jobs": 0, "stages": {'
	for c in $(seq 1 40); do
		echo "\"c${c}s1\": { \"run\": [\"seq\", \"1\", \"$((c * 100))\"] },"
		for s in 2 3 4 5; do
			echo "\"c${c}s$s\": { \"run\": [\"awk\", \"{ print \$1 + $s }\"], \"stdin\": \"c${c}s$((s - 1))\" },"
		done
	done
	printf '"all": { "run": ["awk", "{ s += $1 } END { print NR, s }"], "stdin": ['
	for c in $(seq 1 40); do
		printf '"c%ds5"%s' "$c" "$([ "$c" -lt 40 ] && echo ,)"
	done
	echo '] } } }'
} > "$syn/pipeline.json"

pipes=("$ROOT/examples/wordfreq/pipeline.json"
    "$ROOT/examples/logs/pipeline.json" "$syn/pipeline.json")
if (cd "$ROOT/examples/zero" && "$SLUICE" run -q --no-cache \
    pipeline.json >/dev/null 2>&1); then
	pipes=("$ROOT/examples/zero/pipeline.json" "${pipes[@]}")
else
	echo "slurm.sh: examples/zero does not run here; left out" >&2
fi

# seconds of user+sys of this shell's children so far
child_cpu() {
	# not in $(...): a subshell would report its own children
	times > "$OUT/times"
	sed -n 2p "$OUT/times" | sed 's/m/ /g; s/s//g' |
	    awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }'
}

now() { date +%s.%N; }

# Slurm's bare latency: submit one trivial job, poll squeue every 100 ms
bare=()
for i in 1 2 3; do
	t0=$(now)
	id=$(sbatch --parsable --output=/dev/null --wrap=true)
	until [ "$(squeue --noheader --states=all --jobs="$id" --format=%T)" \
	    = COMPLETED ]; do
		sleep 0.1
	done
	bare+=("$(echo "$(now) - $t0" | bc)")
done
BARE=$(printf '%s\n' "${bare[@]}" | sort -n | sed -n 2p)

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %6s %5s %9s %9s %7s %11s %10s\n' pipeline stages jobs \
    local_s slurm_s bare_s wall_ms/job cpu_ms/job
for p in "${pipes[@]}"; do
	name=$(basename "$(dirname "$p")")
	dir=$(dirname "$p")
	stages=$(jq '.stages | length' "$p")
	lw=()
	sw=()
	cpu=()
	jobs=0
	for r in $(seq "$ROUNDS"); do
		t0=$(now)
		(cd "$dir" && "$SLUICE" run -q --no-cache pipeline.json \
		    > "$OUT/$name.local") || die "$name: local run failed"
		lw+=("$(echo "$(now) - $t0" | bc)")
		child_cpu > "$OUT/c0"
		c0=$(cat "$OUT/c0")
		t0=$(now)
		(cd "$dir" && "$SLUICE" run --no-cache --executor slurm \
		    --workdir "$OUT/work" pipeline.json \
		    > "$OUT/$name.slurm" 2> "$OUT/$name.err") ||
		    die "$name: slurm run failed: $(tail -n 3 "$OUT/$name.err")"
		sw+=("$(echo "$(now) - $t0" | bc)")
		child_cpu > "$OUT/c1"
		cpu+=("$(echo "$(cat "$OUT/c1") - $c0" | bc)")
		jobs=$(sed -n 's/^sluice: \([0-9]*\) jobs\{0,1\} submitted.*/\1/p' \
		    "$OUT/$name.err")
		cmp -s "$OUT/$name.local" "$OUT/$name.slurm" ||
		    die "$name: slurm output differs from local"
	done
	L=$(printf '%s\n' "${lw[@]}" | median)
	S=$(printf '%s\n' "${sw[@]}" | median)
	C=$(printf '%s\n' "${cpu[@]}" | median)
	ovh=$(echo "($S - $L) * 1000 / $jobs" | bc -l)
	cpj=$(echo "$C * 1000 / $jobs" | bc -l)
	printf '%-10s %6d %5d %9.2f %9.2f %7.2f %11.0f %10.1f\n' "$name" \
	    "$stages" "$jobs" "$L" "$S" "$BARE" "$ovh" "$cpj"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
