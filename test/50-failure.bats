#!/usr/bin/env bats
# Failing stages: fail-fast, -k, timeout, memory_limit, retries, statuses.
load helper

@test "fail-1.1: fail-fast names the stage, its status and stderr tail, and stops the rest" {
	mkfifo gate
	cat > p.json <<'JSON'
{ "name": "ff", "jobs": 4, "stages": {
    "slow": { "run": "echo $$ > slow.pid; echo up > gate; exec sleep 300" },
    "bad": { "run": "read x < gate; echo first >&2; echo oops >&2; exit 3" },
    "down": { "run": ["cat"], "stdin": "bad" },
    "later": { "run": "touch later-ran", "after": ["bad"] } } }
JSON
	run -1 --separate-stderr sluice run --grace 200ms p.json
	assert_output ""
	echo "$stderr" | grep -qx "sluice: stage 'bad' (pid [0-9]*) exited with status 3"
	echo "$stderr" | grep -qx "  bad: oops"
	echo "$stderr" | grep -qx "\[[0-9]/4\] slow T (cancelled)" ||
	    printf '%s\n' "$stderr" | scrub | grep -qx "\[[0-9]/4\] slow T (cancelled)"
	! kill -0 "$(cat slow.pid)" 2>/dev/null
	assert_file_not_exists later-ran
	run -0 jq -r '[.status, .failed, (.stages[] | .name + "=" + .state)] | join(" ")' \
	    "$SLUICE_STATE_DIR/history.jsonl"
	assert_output "failed 1 slow=failed bad=failed down=failed later=skipped"
}

@test "fail-1.2: -k finishes every branch that does not depend on the failure" {
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "bad": { "run": "exit 4" },
    "down": { "run": ["cat"], "stdin": "bad" },
    "after-bad": { "run": "touch should-not-exist", "after": ["bad"] },
    "other": { "run": ["seq", "3"] },
    "other2": { "run": ["wc", "-l"], "stdin": "other" } } }
JSON
	run -1 --separate-stderr sluice run -k p.json
	assert_output "3"
	assert_file_not_exists should-not-exist
	echo "$stderr" | grep -qx "sluice: stage 'bad' (pid [0-9]*) exited with status 4"
	run -0 jq -r '[.stages[] | .name + "=" + .state] | join(" ")' \
	    "$SLUICE_STATE_DIR/history.jsonl"
	assert_output "bad=failed down=failed after-bad=skipped other=done other2=done"
}

@test "fail-1.3: a timeout terminates the stage and says so" {
	cat > p.json <<'JSON'
{ "stages": { "t": { "run": ["sleep", "300"], "timeout": "100ms" } } }
JSON
	run -1 --separate-stderr sluice run -q p.json
	echo "$stderr" | grep -qx "sluice: stage 't' (pid [0-9]*) timed out after 100ms (timeout)"
}

@test "fail-1.4: a stage that ignores SIGTERM on timeout is killed after --grace" {
	cat > p.json <<'JSON'
{ "stages": { "t": { "run": "trap '' TERM; while :; do sleep 1; done", "timeout": "100ms" } } }
JSON
	run -1 --separate-stderr sluice run -q --grace 100ms --trace t.jsonl p.json
	echo "$stderr" | grep -qx "sluice: stage 't' (pid [0-9]*) timed out after 100ms (timeout)"
	run -0 jq -r '[.signal, .timed_out] | @tsv' t.jsonl
	assert_output "9	true"
}

@test "fail-1.5: memory_limit is enforced and reported as such" {
	cat > p.json <<'JSON'
{ "jobs": 2, "stages": {
    "hog": { "run": ["perl", "-e", "my $x = 'a' x 300000000; print length($x), qq(\n)"], "memory_limit": "64M" },
    "fits": { "run": ["perl", "-e", "my $x = 'a' x 1000000; print length($x), qq(\n)"], "memory_limit": "64M" } } }
JSON
	run -1 --separate-stderr sluice run -q -k p.json
	assert_output "1000000"
	echo "$stderr" | grep -q "^sluice: stage 'hog' (pid [0-9]*) exited with status [0-9]* under memory_limit 64.0M (peak RSS [0-9.]*[KM]): it likely ran out of memory$"
}

@test "fail-1.6: retries re-run a failed stage; consumers see only the good attempt" {
	cat > p.json <<'JSON'
{ "stages": {
    "flaky": { "run": "if [ -e tried ]; then echo good; else touch tried; echo partial; exit 1; fi", "retries": 2 },
    "cat": { "run": ["cat"], "stdin": "flaky" } } }
JSON
	run -0 --separate-stderr sluice run -q --trace t.jsonl p.json
	assert_output "good"
	assert_equal "$stderr" "sluice: stage 'flaky' exited with status 1 (attempt 1 of 3), retrying"
	run -0 jq -r '[.stage, .attempt, .exit] | @tsv' t.jsonl
	assert_output "flaky	1	1
flaky	2	0
cat	1	0"
}

@test "fail-1.7: a retried stage is fed its input again" {
	cat > p.json <<'JSON'
{ "stages": {
    "src": { "run": ["seq", "3"] },
    "flaky": { "run": "if [ -e tried ]; then wc -l; else touch tried; head -n 1 >/dev/null; exit 1; fi", "stdin": "src", "retries": 1 } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "3"
}

@test "fail-1.8: when retries run out the last failure is reported" {
	cat > p.json <<'JSON'
{ "stages": { "never": { "run": "echo nope >&2; exit 2", "retries": 1 } } }
JSON
	run -1 --separate-stderr sluice run -q p.json
	echo "$stderr" | grep -qx "sluice: stage 'never' exited with status 2 (attempt 1 of 2), retrying"
	echo "$stderr" | grep -qx "sluice: stage 'never' (pid [0-9]*) exited with status 2"
}

@test "fail-1.9: a stage killed by a signal is named with the signal" {
	cat > p.json <<'JSON'
{ "stages": { "crash": { "run": "kill -SEGV $$" } } }
JSON
	run -1 --separate-stderr sluice run -q p.json
	echo "$stderr" | grep -qx "sluice: stage 'crash' (pid [0-9]*) killed by SIGSEGV"
}

@test "fail-1.10: a missing program is refused before anything starts" {
	cat > p.json <<'JSON'
{ "stages": { "first": { "run": "touch started" }, "b": { "run": ["no-such-tool-xyz"] } } }
JSON
	run -65 --separate-stderr sluice run p.json
	assert_equal "$stderr" "sluice: p.json:1:67: stage 'b': program 'no-such-tool-xyz' not found in libexec/sluice or PATH"
	assert_file_not_exists started
}

@test "fail-1.11: a producer killed by SIGPIPE after its reader exited succeeded" {
	cat > p.json <<'JSON'
{ "stages": { "yes": { "run": ["yes"] }, "one": { "run": ["head", "-n", "1"], "stdin": "yes" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "y"
}

@test "fail-1.12: a program that cannot be executed is named with the reason" {
	# executable, but its interpreter is missing: only exec can tell
	# (a directory is refused before the run: usage-1.10)
	printf '#!/nonexistent/interpreter\n' > bad
	chmod +x bad
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": ["./bad"] }, "b": { "run": "echo fine" } } }
JSON
	run -1 --separate-stderr sluice run -q -k p.json
	assert_output "fine"
	echo "$stderr" | grep -qx "sluice: stage 'a' (pid [0-9]*) cannot run '.*/bad': No such file or directory"
}

@test "fail-1.13: readers of a failed stage are stopped before they see the end of its output" {
	# each reader would write its file only at the end of its input:
	# a failed stage's partial output must never pass for all of it,
	# through a direct pipe (bad -> direct) or a fan-out (src2)
	cat > p.json <<'JSON'
{ "jobs": 5, "stages": {
    "bad": { "run": "seq 2000; exit 3" },
    "direct": { "run": "d=$(cat); echo \"$d\" > direct.txt", "stdin": "bad" },
    "src2": { "run": "seq 2000; exit 5" },
    "fan1": { "run": "d=$(cat); echo \"$d\" > fan1.txt", "stdin": "src2" },
    "fan2": { "run": "d=$(cat); echo \"$d\" > fan2.txt", "stdin": "src2" } } }
JSON
	for i in 1 2 3 4 5 6 7 8; do
		run -1 --separate-stderr sluice run -k --no-cache p.json
		echo "$stderr" | grep -qx "sluice: stage 'bad' (pid [0-9]*) exited with status 3"
		echo "$stderr" | grep -qx "sluice: stage 'src2' (pid [0-9]*) exited with status 5"
		assert_file_not_exists direct.txt
		assert_file_not_exists fan1.txt
		assert_file_not_exists fan2.txt
	done
	run -0 jq -r '[.stages[] | .name + "=" + .state] | join(" ")' \
	    "$SLUICE_STATE_DIR/history.jsonl"
	[ "$(sort -u <<<"$output")" = "bad=failed direct=failed src2=failed fan1=failed fan2=failed" ]
	[ "${#lines[@]}" -eq 8 ]
}
