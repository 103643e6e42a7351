#!/usr/bin/env bats
# The Slurm executor (sluice-slurm(7)) against a real single-node Slurm
# started here (test/slurm.bash) and stopped by pid.  Skipped, with the
# reason, where the daemons cannot run.

load helper
load slurm

setup_file() {
	# one cluster for the file, whose queue some tests count or wait to
	# see empty (a warm rerun submits nothing, fail-fast's cancelled
	# jobs end): the tests of this file run one at a time, whatever
	# --jobs says
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	# a short path: munged's socket must fit in sun_path
	SLURM_DIR=$(mktemp -d /tmp/sluice-slurm.XXXXXX)
	export SLURM_DIR
	chmod 0755 "$SLURM_DIR"
	if ! slurm_start "$SLURM_DIR"; then
		slurm_stop "$SLURM_DIR"
		echo "${slurm_why:-cannot start Slurm}" > "$SLURM_DIR/skip"
	fi
	export SLURM_CONF="$SLURM_DIR/slurm.conf"
}

teardown_file() {
	slurm_stop "$SLURM_DIR"
	rm -rf "$SLURM_DIR"
}

setup() {
	export SLUICE_CACHE_DIR="$BATS_TEST_TMPDIR/cache"
	export SLUICE_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export TMPDIR="$BATS_TEST_TMPDIR"
	cd "$BATS_TEST_TMPDIR" || return 1
	if [ -s "$SLURM_DIR/skip" ]; then
		skip "no Slurm here: $(cat "$SLURM_DIR/skip")"
	fi
	WORK="$BATS_TEST_TMPDIR/work"
}

# jobs the controller knows (it keeps finished ones for MinJobAge)
njobs() {
	squeue --noheader --states=all --format=%i | wc -l
}

@test "slurm: wordfreq gives byte-identical output to a local run" {
	cp -r "$ROOT/examples/wordfreq" .
	sluice run -q wordfreq/pipeline.json > local.out
	run -0 sluice run -q --executor slurm --workdir "$WORK" \
	    wordfreq/pipeline.json
	printf '%s\n' "$output" > slurm.out
	cmp local.out slurm.out
	[ ! -e wordfreq/.sluice-work ]
}

@test "slurm: logs (fds, a gang, after) gives byte-identical output" {
	cp -r "$ROOT/examples/logs" .
	sluice run -q logs/pipeline.json > local.out 2>/dev/null
	sluice run --executor slurm logs/pipeline.json > slurm.out 2> err
	cmp local.out slurm.out
	# read | parse is one job: 7 stages, 6 jobs
	grep -q '^sluice: 6 jobs submitted to Slurm$' err
	grep -q '^done: report complete at' err
	# the default work directory is gone after a clean run
	[ ! -e logs/.sluice-work ]
}

@test "slurm: a failing stage cancels its dependents" {
	cat > p.json <<-'EOF'
	{ "name": "fails", "stages": {
	  "bad": { "run": "echo partial; echo broken input >&2; exit 3" },
	  "left": { "run": "cat", "stdin": "bad" },
	  "right": { "run": ["wc", "-l"], "stdin": "bad" },
	  "last": { "run": "cat; cat <&3", "stdin": "left",
	            "fds": { "3": "right" } }
	} }
	EOF
	before=$(njobs)
	run -1 sluice run -k --executor slurm --workdir "$WORK" p.json
	assert_output --partial "sluice: stage 'bad' (pid "
	assert_output --partial "exited with status 3"
	assert_output --partial "bad: broken input"
	refute_output --partial "partial"
	# submitted with afterok, cancelled by Slurm, or never submitted
	assert_output --regexp "left [^ ]+ \(cancelled\)|left \(skipped"
	assert_output --regexp "last [^ ]+ \(cancelled\)|last \(skipped"
	# Slurm cancels the dependents asynchronously: wait for it, bounded
	wait_until 60 sh -c '[ -z "$(squeue --noheader --name=sluice:a,sluice:b,sluice:c)" ]'
	[ "$(njobs)" -gt "$before" ]
}

@test "slurm: fail-fast cancels what runs, and stops" {
	cat > p.json <<-'EOF'
	{ "name": "ff", "stages": {
	  "slow": { "run": "sleep 60" },
	  "bad": { "run": "sleep 1; exit 4" }
	} }
	EOF
	SECONDS=0
	run -1 sluice run --executor slurm --workdir "$WORK" p.json
	assert_output --partial "sluice: stage 'bad' (pid "
	assert_output --regexp "slow [^ ]+ \(cancelled\)"
	[ "$SECONDS" -lt 30 ]
	# Slurm ends a cancelled job asynchronously (slurmd kills it, then
	# reports): wait for it, bounded
	wait_until 60 sh -c '[ -z "$(squeue --noheader)" ]'
}

@test "slurm: SIGINT cancels every job and exits 130" {
	cat > p.json <<-'EOF'
	{ "name": "int", "stages": {
	  "a": { "run": "sleep 60" },
	  "b": { "run": "sleep 60" },
	  "c": { "run": "cat; echo late", "stdin": ["a", "b"] }
	} }
	EOF
	sluice run --executor slurm --workdir "$WORK" p.json > out 2> err &
	pid=$!
	# three jobs of this run out, one running at least (c waits on
	# afterok); jobs of earlier tests may still be completing
	wait_until 60 sh -c '[ "$(squeue --noheader --name=sluice:a,sluice:b,sluice:c | wc -l)" -eq 3 ] &&
	    squeue --noheader --states=RUNNING --name=sluice:a,sluice:b | grep -q .'
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	# Slurm cancels the dependents asynchronously: wait for it, bounded
	wait_until 60 sh -c '[ -z "$(squeue --noheader --name=sluice:a,sluice:b,sluice:c)" ]'
	run -0 cat err
	assert_output --regexp "c [^ ]+ \(cancelled\)"
	assert_output --partial "interrupted by SIGINT"
	[ ! -s out ]
}

@test "slurm: a warm rerun submits nothing and gives the same output" {
	cat > p.json <<-'EOF'
	{ "name": "warm", "stages": {
	  "gen": { "run": "seq 1 500; echo gen-said >&2", "cache": "data" },
	  "sq": { "run": ["awk", "{ print $1 * $1 }"], "stdin": "gen",
	          "cache": "data" },
	  "sum": { "run": ["awk", "{ s += $1 } END { print s }"],
	           "stdin": "sq", "cache": "data" }
	} }
	EOF
	sluice run -q p.json > local.out
	sluice run --executor slurm --workdir "$WORK" --cache-dir c p.json \
	    > cold.out 2> cold.err
	grep -q '^sluice: 3 jobs submitted to Slurm$' cold.err
	before=$(njobs)
	sluice run --executor slurm --workdir "$WORK" --cache-dir c p.json \
	    > warm.out 2> warm.err
	grep -q '^sluice: 0 jobs submitted to Slurm$' warm.err
	grep -q 'sum 0s\? *(cached)\|sum .*(cached)' warm.err
	# what gen said when it ran on the cluster is replayed
	grep -qx 'gen: gen-said' cold.err
	grep -qx 'gen (cached): gen-said' warm.err
	[ "$(njobs)" -eq "$before" ]
	cmp local.out cold.out
	cmp local.out warm.out
}

@test "slurm: the run record has per-stage CPU and RSS from the wrapper" {
	cat > p.json <<-'EOF'
	{ "name": "rec", "stages": {
	  "burn": { "run": ["awk", "BEGIN { for (i = 0; i < 3000000; i++) s += i; print s }"] },
	  "big": { "run": ["awk", "BEGIN { s = \"x\"; while (length(s) < 30000000) s = s s; print length(s) }"] },
	  "both": { "run": "cat; cat <&3", "stdin": "burn", "fds": { "3": "big" } }
	} }
	EOF
	run -0 sluice run -q --executor slurm --workdir "$WORK" p.json
	rec=$(ls "$SLUICE_STATE_DIR"/runs/*/run.json)
	run -0 jq -r '.stages[] | "\(.name) \(.cpu_us) \(.max_rss_kb)
	    \(.proc.pid) \(.proc.exit)"' "$rec"
	echo "$output"
	# awk's loop costs CPU; the 30 MB string shows in RSS
	[ "$(jq '.stages[] | select(.name == "burn") | .cpu_us' "$rec")" \
	    -gt 10000 ]
	[ "$(jq '.stages[] | select(.name == "big") | .max_rss_kb' "$rec")" \
	    -gt 25000 ]
	[ "$(jq '[.stages[] | select(.max_rss_kb > 0 and .proc.exit == 0)]
	    | length' "$rec")" -eq 3 ]
	# sacct's figures beside the wrapper's: the test cluster has no
	# accounting database, so they come from the job completion log
	# (jobcomp/filetxt), which has no TotalCPU or MaxRSS
	[ "$(jq -r '.options.executor' "$rec")" = slurm ]
	run -0 jq -r '.stages[] | select(.name == "burn") | .slurm | [.source,
	    .state, .exit_code, .node, .total_cpu_us, .max_rss_kb] |
	    map(tostring) | join(" ")' "$rec"
	assert_output "jobcomp COMPLETED 0:0 $(hostname -s) null null"
	[ "$(jq '[.stages[].slurm.job] | unique | length' "$rec")" -eq 3 ]
	[ "$(jq '[.stages[].slurm | select(.elapsed_s >= 0 and
	    .wait_s >= 0)] | length' "$rec")" -eq 3 ]
	# history and report read it as any other run
	run -0 sluice history
	assert_output --partial "rec"
}

@test "slurm: figures from an accounting database (sacct without -c)" {
	# the test cluster has no slurmdbd: a stand-in sacct answers as one
	# does, with the job's line and its steps' lines
	mkdir fake
	cat > fake/sacct <<-'EOF'
	#!/bin/sh
	for a; do
		case $a in
		--completion) exit 9 ;;
		--jobs=*) ids=${a#--jobs=} ;;
		esac
	done
	for id in $(echo "$ids" | tr , ' '); do
		t='2026-11-30T10:00:00|2026-11-30T10:00:03|2026-11-30T10:01:05'
		echo "$id|CANCELLED by 0|0:15|00:01:02|1-00:01:02.500||n7|$t"
		echo "$id.batch|CANCELLED|0:15|00:01:02|01:02.500|2048K|n7|$t"
		echo "$id.extern|COMPLETED|0:0|00:01:02|00:00:00|1.5M|n7|$t"
	done
	EOF
	chmod +x fake/sacct
	cat > p.json <<-'EOF'
	{ "name": "db", "stages": { "a": { "run": ["echo", "a"] } } }
	EOF
	PATH=$PWD/fake:$PATH run -0 sluice run -q --executor slurm \
	    --workdir "$WORK" p.json
	rec=$(ls "$SLUICE_STATE_DIR"/runs/*/run.json)
	run -0 jq -r '.stages[0].slurm | [.source, .state, .exit_code, .node,
	    .wait_s, .elapsed_s, .total_cpu_us, .max_rss_kb] | map(tostring) |
	    join(" ")' "$rec"
	assert_output "sacct CANCELLED 0:15 n7 3 62 86462500000 2048"
	# the stage's own figures stay the wrapper's
	[ "$(jq '.stages[0].proc.exit' "$rec")" -eq 0 ]
}

@test "slurm: a stage's stderr shows while its job runs" {
	mkfifo go
	cat > p.json <<-EOF
	{ "name": "stream", "stages": {
	  "talk": { "run": "echo first >&2; timeout 60 sh -c 'read x < $PWD/go'; echo out; printf last >&2" }
	} }
	EOF
	sluice run --executor slurm --workdir "$WORK" p.json > out 2> err &
	pid=$!
	# the first line arrives before the job can end: it waits for us
	wait_until 30 grep -qx 'talk: first' err
	timeout 10 sh -c "echo go > go"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	run -0 cat out
	assert_output out
	# once each, in order; a last line without a newline shows too
	run -0 grep '^talk: ' err
	assert_output "talk: first
talk: last"
}

@test "slurm: \"executor\" in the file runs on Slurm; --executor local wins" {
	cat > p.json <<-'EOF'
	{ "name": "ex", "executor": "slurm",
	  "slurm": { "partition": "debug", "sbatch_options": ["--comment=file"] },
	  "stages": { "a": { "run": ["echo", "hello"] } },
	  "profiles": { "here": { "executor": "local" },
	                "there": { "slurm": { "sbatch_options": ["--comment=profile"] } } } }
	EOF
	run -0 --separate-stderr sluice run -v --workdir "$WORK" p.json
	assert_output hello
	[[ $stderr == *"+ sbatch: "*" --partition=debug --comment=file "* ]]
	[[ $stderr == *"sluice: 1 job submitted to Slurm"* ]]
	rec=$(ls -t "$SLUICE_STATE_DIR"/runs/*/run.json | head -n 1)
	[ "$(jq -r .options.executor "$rec")" = slurm ]
	# a profile's settings replace the file's; --slurm-opt comes last
	run -0 --separate-stderr sluice run -v --profile there \
	    --slurm-opt=--comment=flag --workdir "$WORK" p.json
	[[ $stderr == *" --partition=debug --comment=profile --comment=flag "* ]]
	# --executor local, or a profile's "executor", runs here
	before=$(njobs)
	run -0 --separate-stderr sluice run --executor local p.json
	assert_output hello
	[[ $stderr != *"submitted to Slurm"* ]]
	rec=$(ls -t "$SLUICE_STATE_DIR"/runs/*/run.json | head -n 1)
	[ "$(jq -r .options.executor "$rec")" = local ]
	[ "$(jq '.stages[0].slurm' "$rec")" = null ]
	run -0 --separate-stderr sluice run --profile here p.json
	assert_output hello
	[[ $stderr != *"submitted to Slurm"* ]]
	[ "$(njobs)" -eq "$before" ]
}

@test "slurm: the test daemons listen on 127.0.0.1 only" {
	command -v ss >/dev/null || skip "no ss"
	local ctld slurmd ours
	ctld=$(cat "$SLURM_DIR/slurmctld.pid")
	slurmd=$(cat "$SLURM_DIR/slurmd.pid")
	run -0 ss -Hltnp
	ours=$(printf '%s\n' "$output" | grep -E "pid=($ctld|$slurmd),")
	echo "$ours"
	# each listens; no socket of theirs on another address
	grep -q "pid=$ctld," <<< "$ours"
	grep -q "pid=$slurmd," <<< "$ours"
	run -1 grep -v ' 127\.0\.0\.1:[0-9]* ' <<< "$ours"
}

@test "slurm: --executor refuses anything but local and slurm" {
	run -64 sluice run --executor cloud p.json
	assert_output --partial "--executor expects local or slurm, found 'cloud'"
}
