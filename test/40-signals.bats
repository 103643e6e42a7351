#!/usr/bin/env bats
# Signals to sluice: forwarded to every stage's process group, nothing
# left running, the run recorded as interrupted, death by the signal.
load helper

signal_pipeline() {
	cat > p.json <<'JSON'
{ "name": "sig", "jobs": 4, "stages": {
    "a": { "run": "echo $$ > a.pid.tmp; mv a.pid.tmp a.pid; exec sleep 300" },
    "b": { "run": "trap '' INT TERM HUP; echo $$ > b.pid.tmp; mv b.pid.tmp b.pid; while :; do sleep 1; done" },
    "c": { "run": ["sh", "-c", "echo $$ > c.pid.tmp; mv c.pid.tmp c.pid; exec sleep 300"] },
    "d": { "run": ["cat"], "stdin": "c" } } }
JSON
}

# whatever happens, nothing of this test outlives it (stopped by pid)
teardown() {
	local f
	[ -n "${spid:-}" ] && kill -KILL "$spid" 2>/dev/null
	for f in a.pid b.pid c.pid d.pid; do
		[ -s "$f" ] && kill -KILL -- "-$(cat "$f")" 2>/dev/null
	done
	for f in bg.pid esc.pid; do	# single processes (signal-1.5, 1.6)
		[ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	[ -s a.pid ] && kill -KILL "$(cat a.pid)" 2>/dev/null
	return 0
}

# start sluice in the background with the signal's default disposition
# (a non-interactive shell makes background jobs ignore SIGINT)
start_sluice() {
	env --default-signal=INT,TERM,HUP,QUIT sluice run --grace 200ms p.json \
	    > out.txt 2> err.txt 3>&- &
	spid=$!
	# the stages write their pid files (atomically) once they run
	wait_until 10 test -s a.pid -a -s b.pid -a -s c.pid
}

# kill_and_wait SIG STATUS: send SIG to sluice, which must exit STATUS
kill_and_wait() {
	local st=0
	kill "-$1" "$spid"
	wait "$spid" || st=$?
	assert_equal "$st" "$2"
}

group_gone() {
	! ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

assert_all_gone() {
	local f pid
	for f in a.pid b.pid c.pid; do
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then
			echo "stage process $pid ($f) survived"
			return 1
		fi
		# nothing of its process group either (init may still have to
		# reap a zombie that was reparented to it)
		if ! wait_until 5 group_gone "$pid"; then
			echo "process group $pid ($f) survived"
			ps -eo pid,pgid,stat,cmd | awk -v g="$pid" '$2 == g'
			return 1
		fi
	done
	! ps -o pid= --ppid "$spid"
}

@test "signal-1.1: SIGINT stops every stage, exits 130 and records the run as interrupted" {
	signal_pipeline
	start_sluice
	kill_and_wait INT 130
	assert_all_gone
	run -0 jq -r '[.status, .signal, ([.stages[].state] | join(","))] | @tsv' \
	    "$SLUICE_STATE_DIR/history.jsonl"
	assert_output "interrupted	2	failed,failed,failed,failed"
	grep -q '^sluice: sig: interrupted by SIGINT' err.txt
}

@test "signal-1.2: SIGTERM exits 143; a stage that ignores it is killed after the grace period" {
	signal_pipeline
	start_sluice
	kill_and_wait TERM 143
	assert_all_gone
	run -0 jq -r '.stages[] | select(.name == "b") | .proc.signal' \
	    "$SLUICE_STATE_DIR/history.jsonl"
	assert_output 9
}

@test "signal-1.3: SIGHUP is forwarded too (exit 129)" {
	signal_pipeline
	start_sluice
	kill_and_wait HUP 129
	assert_all_gone
}

@test "signal-1.4: an interrupted run still writes its --report" {
	signal_pipeline
	env --default-signal=INT,TERM,HUP sluice run --grace 200ms \
	    --report "$BATS_TEST_TMPDIR/r.json" p.json > out.txt 2> err.txt 3>&- &
	spid=$!
	wait_until 10 test -s a.pid -a -s b.pid -a -s c.pid
	kill_and_wait INT 130
	run -0 jq -r '.status // .run.status' r.json
	assert_output interrupted
}

@test "signal-1.5: what a stage leaves running (holding its stderr, out of its process group) is ended with the run, and named" {
	# bg: a background job keeps the stage's stdout and stderr open;
	# esc: a process that moves to a process group of its own
	cat > p.json <<'JSON'
{ "name": "left", "stages": {
    "bg": { "run": "sleep 300 & echo $! > bg.pid.tmp; mv bg.pid.tmp bg.pid; echo started" },
    "esc": { "run": ["perl", "-e", "if (fork() == 0) { setpgrp(0, 0); open(my $f, '>', 'esc.pid.tmp'); print $f $$; close $f; rename 'esc.pid.tmp', 'esc.pid'; close STDOUT; close STDERR; exec 'sleep', '300' } wait_pid: while (!-s 'esc.pid') { select(undef, undef, undef, 0.01) } print qq(ok\n)"] } } }
JSON
	# bounded: a run that waited for them would take 300 s
	run -0 --separate-stderr timeout 60 sluice run -q --grace 200ms p.json
	assert_output "started
ok"
	grep -qx "sluice: stage 'bg' left processes running; terminating them" <<< "$stderr"
	grep -qx "sluice: a process the run started (pid $(cat esc.pid)) is still running outside the stages' process groups; terminating it" <<< "$stderr"
	wait_until 5 sh -c '! kill -0 "$(cat bg.pid)" 2>/dev/null && ! kill -0 "$(cat esc.pid)" 2>/dev/null'
}

# p.json's stage a leaves a process (pid in a.pid) holding its output:
# SIGTERM to sluice ends the run with 143 and that process too, within
# a bound (the process would otherwise live 300 s)
term_leftover() {
	env --default-signal=INT,TERM,HUP sluice run --grace 200ms p.json \
	    > out.txt 2> err.txt 3>&- &
	spid=$!
	wait_until 10 test -s a.pid
	kill -TERM "$spid"
	wait_until 20 sh -c "! kill -0 $spid 2>/dev/null"
	st=0
	wait "$spid" || st=$?
	assert_equal "$st" 143
	wait_until 5 sh -c '! kill -0 "$(cat a.pid)" 2>/dev/null'
}

@test "signal-1.6: a signal also ends what an ended stage left holding its reader's input" {
	cat > p.json <<'JSON'
{ "name": "held", "stages": {
    "a": { "run": "sleep 300 & echo $! > a.pid.tmp; mv a.pid.tmp a.pid" },
    "b": { "run": ["cat"], "stdin": "a" } } }
JSON
	term_leftover
}

@test "signal-1.7: what a stage's process leaves writing (setsid's child) still writes all its output and stderr" {
	cat > p.json <<'JSON'
{ "name": "setsid", "stages": {
    "a": { "run": ["setsid", "sh", "-c", "for i in 1 2 3; do echo line$i; echo log$i >&2; sleep 0.1; done"] },
    "b": { "run": ["cat"], "stdin": "a" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "line1
line2
line3"
	assert_equal "$(grep -c '^a: log[123]$' <<< "$stderr")" 3
}

@test "signal-1.8: a leftover that ignores SIGTERM, holding an ended stage's output, gets SIGKILL after the grace period" {
	cat > p.json <<'JSON'
{ "name": "stubborn", "stages": {
    "a": { "run": "sh -c 'trap \"\" INT TERM HUP; echo $$ > a.pid.tmp; mv a.pid.tmp a.pid; exec sleep 300' &" },
    "b": { "run": ["cat"], "stdin": "a" },
    "c": { "run": ["cat"], "stdin": "a" } } }
JSON
	term_leftover
}

# pid's process has ended (a zombie not yet reaped by init counts)
proc_gone() {
	! ps -o stat= -p "$1" | grep -qv '^Z'
}

@test "signal-1.9: SIGKILL to sluice still ends its stages' processes (SIGTERM from the kernel)" {
	cat > p.json <<'JSON'
{ "name": "orphans", "jobs": 4, "stages": {
    "a": { "run": "echo $$ > a.pid.tmp; mv a.pid.tmp a.pid; exec sleep 300" },
    "c": { "run": ["sh", "-c", "echo $$ > c.pid.tmp; mv c.pid.tmp c.pid; exec sleep 300"] },
    "d": { "run": "echo $$ > d.pid.tmp; mv d.pid.tmp d.pid; exec cat", "stdin": "c" } } }
JSON
	sluice run p.json > out.txt 2> err.txt 3>&- &
	spid=$!
	wait_until 10 test -s a.pid -a -s c.pid -a -s d.pid
	for f in a.pid c.pid d.pid; do
		if proc_gone "$(cat "$f")"; then
			echo "stage process of $f ended before the test killed sluice"
			return 1
		fi
	done
	kill_and_wait KILL 137
	for f in a.pid c.pid d.pid; do
		wait_until 5 proc_gone "$(cat "$f")"
	done
}

@test "signal-1.10: SIGQUIT is passed on like SIGTERM (exit 131, nothing left)" {
	signal_pipeline
	start_sluice
	kill_and_wait QUIT 131
	assert_all_gone
	grep -q '^sluice: sig: interrupted by SIGQUIT' err.txt
}

@test "signal-1.11: a process a stage left in a session of its own, holding the stage's stdout open, does not keep an interrupted run waiting" {
	cat > p.json <<'JSON'
{ "name": "esc", "stages": {
    "e": { "run": "setsid sleep 300 & echo $! > esc.pid.tmp; mv esc.pid.tmp esc.pid; echo hi" },
    "r1": { "run": ["cat"], "stdin": "e" },
    "r2": { "run": ["cat"], "stdin": "e" } } }
JSON
	for sig in INT TERM; do
		rm -f esc.pid
		env --default-signal=INT,TERM sluice run --grace 200ms p.json \
		    > out.txt 2> err.txt 3>&- &
		spid=$!
		wait_until 10 test -s esc.pid
		kill "-$sig" "$spid"
		# it ends, by the signal, within the grace period and a bit
		wait_until 10 sh -c "! kill -0 $spid 2>/dev/null || grep -q ' Z' /proc/$spid/stat"
		st=0
		wait "$spid" || st=$?
		assert_equal "$st" "$([ "$sig" = INT ] && echo 130 || echo 143)"
		grep -q "is still running outside the stages' process groups; terminating it" err.txt
		wait_until 5 sh -c '! kill -0 "$(cat esc.pid)" 2>/dev/null'
	done
}
