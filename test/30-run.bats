#!/usr/bin/env bats
# sluice run: wiring, streaming, fan-out, fan-in, output order, logs.
load helper

teardown() {
	[ -n "${sock:-}" ] && tmux -S "$sock" kill-server 2>/dev/null
	return 0
}

# lsfd: the descriptors a stage's shell has, but ls's own directory
make_lsfd() {
	cat > lsfd <<'SH'
#!/bin/sh
ls -l /proc/self/fd | awk 'NR > 1 && $NF !~ /^\/proc\// { printf "%s ", $9 }'
SH
	chmod +x lsfd
}

@test "run-1.1: a chain streams through plain pipes and prints the sink's output" {
	cat > p.json <<'JSON'
{ "stages": {
    "gen": { "run": ["seq", "1", "5"] },
    "double": { "run": ["awk", "{print $1 * 2}"], "stdin": "gen" },
    "sum": { "run": ["awk", "{s += $1} END {print \"sum\", s}"], "stdin": "double" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "sum 30"
	assert_equal "$stderr" ""
}

@test "run-1.2: a stage sees exactly fds 0, 1, 2 and its declared fds" {
	make_lsfd
	cat > p.json <<'JSON'
{ "stages": {
    "a": { "run": ["echo", "x"] },
    "with3": { "run": ["./lsfd"], "fds": { "3": "a" } },
    "plain": { "run": ["./lsfd"] } } }
JSON
	# an inherited descriptor must not reach the stages either
	run -0 --separate-stderr sluice run -q p.json 7>/dev/null
	assert_output "0 1 2 3 0 1 2 "
}

@test "run-1.3: fan-out feeds every consumer, an early exit (head) stops nobody" {
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "src": { "run": ["seq", "1", "200000"] },
    "count": { "run": ["wc", "-l"], "stdin": "src" },
    "first": { "run": ["head", "-n", "1"], "stdin": "src" },
    "last": { "run": ["tail", "-n", "1"], "stdin": "src" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "200000
1
200000"
}

@test "run-1.4: fan-in concatenates in listed order while a slow first producer runs" {
	mkfifo gate
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "slow": { "run": "read x < gate; echo slow-1; echo slow-2" },
    "fast": { "run": "seq 1 3; echo go > gate" },
    "cat": { "run": ["cat"], "stdin": ["slow", "fast"] } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "slow-1
slow-2
1
2
3"
}

@test "run-1.5: extra fds and after edges" {
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "names": { "run": "printf 'a\\nb\\n'" },
    "nums": { "run": "printf '1\\n2\\n'" },
    "paste": { "run": "paste -d= - /dev/fd/3", "stdin": "names", "fds": { "3": "nums" } },
    "mark": { "run": "echo written > marker" },
    "check": { "run": "cat marker", "after": ["mark"] } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "a=1
b=2
written"
}

@test "run-1.6: sinks print in declaration order, never interleaved" {
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "one": { "run": "for i in 1 2 3; do echo one-$i; done" },
    "two": { "run": "for i in 1 2 3; do echo two-$i; done" },
    "three": { "run": ["seq", "3"] } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "one-1
one-2
one-3
two-1
two-2
two-3
1
2
3"
}

@test "run-1.7: stderr is prefixed with the stage name and kept in the run's log" {
	cat > p.json <<'JSON'
{ "stages": { "talk": { "run": "echo to-out; echo line-1 >&2; printf 'no newline' >&2" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "to-out"
	assert_equal "$stderr" "talk: line-1
talk: no newline"
	log=$(echo "$SLUICE_STATE_DIR"/runs/*/talk.log)
	assert_file_exists "$log"
	assert_equal "$(cat "$log")" "line-1
no newline"
}

@test "run-1.8: plain progress lines and a summary when stderr is not a terminal" {
	cat > p.json <<'JSON'
{ "name": "prog", "stages": { "a": { "run": ["true"] }, "b": { "run": ["true"], "after": ["a"] } } }
JSON
	run -0 --separate-stderr sluice run p.json
	output=$(printf '%s\n' "$stderr" | scrub)
	mapfile -t lines <<< "$output"
	assert_line --index 0 "[1/2] a T"
	assert_line --index 1 "[2/2] b T"
	assert_line --index 2 --regexp "^sluice: prog: 2/2 stages ok in T \(cpu T, peak rss SIZE, slowest '[ab]' T\)$"
}

@test "run-1.9: --trace writes one JSON line per process with rusage and io" {
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": ["seq", "1000"] }, "b": { "run": ["wc", "-l"], "stdin": "a" } } }
JSON
	run -0 --separate-stderr sluice run -q --trace t.jsonl p.json
	assert_output "1000"
	run -0 jq -r '[.stage, .exit, (.wall_us >= 0), (.max_rss_kb > 0), (.rchar >= 0), .attempt] | @tsv' t.jsonl
	assert_line "a	0	true	true	true	1"
	assert_line "b	0	true	true	true	1"
	[ "$(wc -l < t.jsonl)" -eq 2 ]
	# sluice's own peak when it started a stage, which Linux counts in
	# the stage's wait4 figure (0 in a sanitizer build, which forks);
	# max_rss_kb is the program's own (monitor-1.15)
	run -0 jq -r '.rss_floor_kb >= 0' t.jsonl
	assert_output $'true\ntrue'
	if ! ldd "$ROOT/bin/sluice" 2>/dev/null | grep -q libasan; then
		run -0 jq -r '.rss_floor_kb > 0' t.jsonl
		assert_output $'true\ntrue'
	fi
}

@test "run-1.10: every run appends to history and leaves a run record" {
	cat > p.json <<'JSON'
{ "name": "hist", "stages": { "a": { "run": ["true"] } } }
JSON
	sluice run -q p.json
	sluice run -q p.json
	run -0 jq -r '[.pipeline, .status, .stages[0].name, .stages[0].state] | @tsv' "$SLUICE_STATE_DIR/history.jsonl"
	assert_output "hist	ok	a	done
hist	ok	a	done"
	run -0 sh -c 'ls "$SLUICE_STATE_DIR"/runs/*/run.json | wc -l'
	assert_output 2
}

@test "run-1.11: env and cwd per stage; SLUICE_STAGE is set" {
	mkdir -p work
	cat > p.json <<'JSON'
{ "env": { "GREETING": "hi" }, "stages": {
    "a": { "run": "echo $GREETING $WHO $SLUICE_STAGE $(basename $PWD)", "env": { "WHO": "there" }, "cwd": "work" } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output "hi there a work"
}

@test "run-1.12: -n prints what would run and starts nothing" {
	cat > p.json <<'JSON'
{ "name": "dry", "stages": { "a": { "run": "touch ran" }, "b": { "run": ["cat"], "stdin": "a" } } }
JSON
	run -0 sluice run -n -j 3 p.json
	assert_output "dry: dry run, jobs 3; would run:
  a: sh -c 'touch ran'
  b: cat < a"
	assert_file_not_exists ran
}

@test "run-1.13: -v prints each command as it starts" {
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": ["echo", "hello world"] } } }
JSON
	run -0 --separate-stderr sluice run -v p.json
	assert_output "hello world"
	assert_equal "$(printf '%s\n' "$stderr" | head -n 1)" "+ a: echo hello world"
}

@test "run-1.14: -j limits how many stages run at once" {
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "a": { "run": "echo a >> log" },
    "b": { "run": "echo b >> log" },
    "c": { "run": "echo c >> log" } } }
JSON
	run -0 --separate-stderr sluice run -q -j 1 --trace t.jsonl p.json
	# with one slot no two processes overlap in time
	run -0 jq -s -r 'sort_by(.start_us) | [range(1; length) as $i | (.[$i].start_us >= .[$i-1].start_us + .[$i-1].wall_us)] | all' t.jsonl
	assert_output "true"
}

@test "run-1.14b: with every slot taken, a reader of a running producer still starts with it" {
	# p holds the only slot until r has started; x, declared before r,
	# waits for a slot and must not keep r from being looked at
	cat > p.json <<'JSON'
{ "stages": {
    "y": { "run": ["true"] },
    "p": { "run": "echo hi; timeout 10 sh -c 'until [ -e started ]; do sleep 0.01; done'" },
    "x": { "run": ["true"], "after": ["p"] },
    "r": { "run": "touch started; cat", "stdin": "p", "after": ["y"] } } }
JSON
	run -0 --separate-stderr sluice run -q -j 1 --trace t.jsonl p.json
	assert_output "hi"
	# r started while p ran
	run -0 jq -s -r '(map(select(.stage == "r"))[0].start_us) < (map(select(.stage == "p"))[0].end_us)' t.jsonl
	assert_output true
}

@test "run-1.15: a large fan-out to a slow consumer spills and completes" {
	cat > p.json <<'JSON'
{ "jobs": 4, "stages": {
    "src": { "run": "head -c 20000000 /dev/zero" },
    "fast": { "run": ["wc", "-c"], "stdin": "src" },
    "slow": { "run": "read -r x < gate; wc -c", "stdin": "src" },
    "open": { "run": "echo go > gate", "after": ["fast"] } } }
JSON
	mkfifo gate
	run -0 --separate-stderr sluice run -q p.json
	assert_output "20000000
20000000"
}

@test "run-1.16: on a terminal one status line shows progress like ninja" {
	mkfifo gate
	cat > p.json <<'JSON'
{ "stages": { "first": { "run": ["true"] }, "waiting": { "run": "read x < gate", "after": ["first"] } } }
JSON
	sock=$BATS_TEST_TMPDIR/tmux.sock
	tmux -S "$sock" new-session -d -x 100 -y 10 \
	    "cd '$BATS_TEST_TMPDIR' && SLUICE_STATE_DIR='$SLUICE_STATE_DIR' '$ROOT/bin/sluice' run p.json; echo exit=\$?; read x"
	wait_until 20 sh -c "tmux -S '$sock' capture-pane -p | grep -q '^\[1/2\] waiting [0-9.]*m\?s'"
	echo go > gate
	wait_until 20 sh -c "tmux -S '$sock' capture-pane -p | grep -q '^exit=0'"
	run -0 tmux -S "$sock" capture-pane -p
	# the status line was replaced, not scrolled: no [n/N] line is left
	refute_line --regexp '^\[[0-9]/2\]'
	assert_line --regexp "^sluice: p: 2/2 stages ok in "
}

@test "run-1.17: the status line shows an ETA from the last successful run" {
	mkfifo gate
	cat > p.json <<'JSON'
{ "stages": { "first": { "run": ["true"] }, "waiting": { "run": "read x < gate", "after": ["first"] } } }
JSON
	( echo go > gate ) 3>&- &
	sluice run -q p.json
	sock=$BATS_TEST_TMPDIR/tmux.sock
	tmux -S "$sock" new-session -d -x 100 -y 10 \
	    "cd '$BATS_TEST_TMPDIR' && SLUICE_STATE_DIR='$SLUICE_STATE_DIR' '$ROOT/bin/sluice' run p.json; echo exit=\$?; read x"
	wait_until 20 sh -c "tmux -S '$sock' capture-pane -p | grep -q '^\[1/2\] waiting [0-9.]*m\?s, ETA '"
	echo go > gate
	wait_until 20 sh -c "tmux -S '$sock' capture-pane -p | grep -q '^exit=0'"
}

@test "run-1.18: fan-out to readers of different speeds, one stopped for a while, gives each every byte in order" {
	speeds_pipeline "seq 1 3000000" "" ""
	want=$(seq 1 3000000 | cksum)
	run -0 --separate-stderr sluice run -q p.json
	assert_output "$want
$want
$want"
}

@test "run-1.19: extra fds whose numbers the coordinator's own pipes have, and a high one, each get their producer" {
	make_lsfd
	cat > p.json <<'JSON'
{ "jobs": 8, "stages": {
    "p3": { "run": ["echo", "three"] },
    "p4": { "run": ["echo", "four"] },
    "p5": { "run": ["echo", "five"] },
    "p6": { "run": ["echo", "six"] },
    "p7": { "run": ["echo", "seven"] },
    "many": { "run": "cat /dev/fd/3 /dev/fd/4 /dev/fd/5 /dev/fd/6 /dev/fd/7; ./lsfd",
              "fds": { "3": "p3", "4": "p4", "5": "p5", "6": "p6", "7": "p7" } },
    "p20": { "run": ["echo", "twenty"] },
    "high": { "run": "cat /dev/fd/20; ./lsfd", "fds": { "20": "p20" } } } }
JSON
	run -0 --separate-stderr sluice run -q p.json 9>/dev/null
	assert_output "three
four
five
six
seven
0 1 2 3 4 5 6 7 twenty
0 1 2 20 "
}

@test "run-1.20: a stage's stderr line that starts with its name is not prefixed twice" {
	cat > p.json <<'JSON'
{ "stages": { "count": { "run": "echo 'count: 5 rows' >&2; echo 'five' >&2; echo 'counter: x' >&2", "cache": false } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_equal "$stderr" "count: 5 rows
count: five
count: counter: x"
	# the log keeps what the stage wrote
	log=$(ls "$SLUICE_STATE_DIR"/runs/*/count.log)
	assert_equal "$(head -n 1 "$log")" 'count: 5 rows'
}
