#!/usr/bin/env bats
# The monitor: per-process figures, aggregates, alerts, history, live
# status and top.  Ranges, never exact times.
load helper

teardown() {
	[ -n "${bg:-}" ] && kill -KILL "$bg" 2>/dev/null
	[ -n "${tmuxsock:-}" ] && tmux -S "$tmuxsock" kill-server 2>/dev/null
	return 0
}

record() {
	jq -r "$1" "$SLUICE_STATE_DIR"/runs/*/run.json
}

@test "monitor-1.1: a stage that touches 200 MB shows max RSS of at least 200 MB" {
	cat > p.json <<'JSON'
{ "stages": { "big": { "run": ["perl", "-e", "my $x = 'a' x (200 * 1024 * 1024); print length($x), qq(\n)"] } } }
JSON
	run -0 --separate-stderr sluice run -q p.json
	assert_output 209715200
	run -0 record '.stages[0].max_rss_kb >= 204800'
	assert_output true
}

@test "monitor-1.2: a stage that burns CPU shows the CPU time it used" {
	cat > p.json <<'JSON'
{ "stages": { "burn": { "run": ["perl", "-e", "my $i = 0; $i++ while $i < 5000000"] } } }
JSON
	run -0 sluice run -q p.json
	# the same loop measured by time(1): CPU time does not depend on load
	/usr/bin/time -f %U -o ref.txt perl -e 'my $i = 0; $i++ while $i < 5000000'
	ref=$(awk '{ printf "%d", $1 * 1000000 }' ref.txt)
	run -0 record ".stages[0].proc | .user_us / $ref | . > 0.6 and . < 1.6"
	assert_output true
}

@test "monitor-1.3: bytes written by a stage are counted" {
	cat > p.json <<'JSON'
{ "stages": { "dd": { "run": ["dd", "if=/dev/zero", "of=out.bin", "bs=1000", "count=1000", "status=none"] } } }
JSON
	run -0 sluice run -q p.json
	run -0 record '.stages[0].proc.wchar'
	[ "$output" -ge 1000000 ] && [ "$output" -lt 1010000 ]
}

@test "monitor-1.4: a shell stage's children are accounted to it, orphans too" {
	cat > p.json <<'JSON'
{ "stages": {
    "child": { "run": "perl -e '$i = 0; $i++ while $i < 10000000'; true" },
    "orphan": { "run": "(perl -e '$i = 0; $i++ while $i < 10000000' &); exit 0" } } }
JSON
	run -0 sluice run -q p.json
	run -0 record '.stages[0].proc | .user_us > 50000'
	assert_output true
	run -0 record '.stages[1].proc | .orphan_cpu_us > 50000'
	assert_output true
}

@test "monitor-1.5: stdin and stdout bytes through sluice, aggregates and critical path" {
	cat > p.json <<'JSON'
{ "name": "agg", "jobs": 2, "stages": {
    "gen": { "run": ["seq", "1", "1000"] },
    "a": { "run": ["wc", "-l"], "stdin": "gen" },
    "b": { "run": "sleep 0.2; cat", "stdin": "gen" },
    "side": { "run": ["true"] } } }
JSON
	run -0 sluice run -q p.json
	run -0 record '.stages[0].proc.stdout_bytes, .stages[1].proc.stdin_bytes, (.critical_path | join(" ")), (.groups | length), (.efficiency > 0), .attempts'
	assert_output "3893
3893
gen b
2
true
4"
}

@test "monitor-1.6: alerts fire at the right level, reach --alert-cmd, and --fail-on sets the exit status" {
	cat > p.json <<'JSON'
{ "name": "al",
  "alerts": { "max_rss": { "info": "1K", "crit": "100G" } },
  "stages": {
    "slow": { "run": "sleep 0.3", "alerts": { "wall": { "info": "1ms", "warn": "100ms", "crit": "100s" } } },
    "ok": { "run": ["true"], "alerts": { "cpu": { "warn": "100s" } } } } }
JSON
	run -0 --separate-stderr sluice run -q --alert-cmd 'cat >> alerts.jsonl' p.json
	echo "$stderr" | grep -qx "sluice: info: stage 'slow': wall [0-9.]*m\?s, threshold 1ms"
	echo "$stderr" | grep -qx "sluice: warning: stage 'slow': wall [0-9.]*m\?s, threshold 100ms"
	echo "$stderr" | grep -q "^sluice: info: run: max_rss [0-9.]*[KMG], threshold 1.0K$"
	run -0 jq -r '[.level, .metric, (.stage // "run")] | join(" ")' alerts.jsonl
	assert_output "info wall slow
warn wall slow
info max_rss run"
	run -0 record '[.alerts[] | .level] | join(",")'
	assert_output "info,warn,info"
	run -2 --separate-stderr sluice run -q --fail-on warn p.json
	echo "$stderr" | grep -qx "sluice: an alert at level 'warn' or worse fired (--fail-on)"
	run -0 --separate-stderr sluice run -q --fail-on crit p.json
}

@test "monitor-1.7: a failing or hanging alert command is reported and does not hang the run" {
	cat > p.json <<'JSON'
{ "alerts": { "wall": { "info": "1ns" } }, "stages": { "a": { "run": ["true"] } } }
JSON
	run -0 --separate-stderr sluice run -q --alert-cmd 'exit 3' p.json
	echo "$stderr" | grep -qx "sluice: --alert-cmd (pid [0-9]*) failed: exit status 3"
	run -0 --separate-stderr sluice run -q --grace 100ms --alert-cmd 'exec sleep 300' p.json
	echo "$stderr" | grep -qx "sluice: --alert-cmd (pid [0-9]*) did not finish in time; killed"
}

@test "monitor-1.8: history survives a truncated line and concurrent appends" {
	cat > p.json <<'JSON'
{ "name": "hist", "stages": { "a": { "run": ["true"] } } }
JSON
	sluice run -q p.json
	printf '{"v":1,"run":"broken' >> "$SLUICE_STATE_DIR/history.jsonl"
	printf '\n' >> "$SLUICE_STATE_DIR/history.jsonl"
	local pids=() i
	for i in 1 2 3 4; do
		sluice run -q p.json 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	run -0 --separate-stderr sluice history --json
	echo "$stderr" | grep -qx "sluice: .*history.jsonl:2: skipped a corrupt history record"
	run -0 jq -r '.runs | length' <<< "$output"
	assert_output 5
	run -0 sh -c "grep -c '^{\"v\":1,\"run\":\"[0-9TZ-]*\",' '$SLUICE_STATE_DIR/history.jsonl'"
	assert_output 5
}

@test "monitor-1.9: history flags a stage that regressed" {
	cat > p.json <<'JSON'
{ "name": "trend", "vars": { "d": "0" }, "stages": { "s": { "run": "sleep ${d}" }, "t": { "run": ["true"] } } }
JSON
	sluice run -q p.json
	sluice run -q p.json
	sluice run -q -D d=0.3 p.json
	run -0 sluice history -n 3
	assert_line --index 0 --regexp '^RUN +PIPELINE +STATUS +WALL +CPU +PEAK RSS$'
	assert_line --regexp '^s +3 .* REGRESSED$'
	run -0 sluice history --json
	run -0 jq -r '.stages[] | "\(.name) \(.runs) \(.regressed)"' <<< "$output"
	assert_output "s 3 true
t 3 false"
}

@test "monitor-1.10: sluice status shows a running pipeline and forgets it when it ends" {
	mkfifo gate
	cat > p.json <<'JSON'
{ "name": "live", "stages": { "wait": { "run": "read x < gate" }, "after": { "run": ["true"], "after": ["wait"] } } }
JSON
	sluice run -q --sample-interval 10ms p.json 3>&- &
	bg=$!
	wait_until 30 sh -c 'sluice status --json | jq -e ".[0].stages[0].state == \"running\"" >/dev/null'
	run -0 sluice status --json
	run -0 jq -r '.[0] | [.pipeline, .pid, (.stages | map(.name + "=" + .state) | join(","))] | join(" ")' <<< "$output"
	assert_output "live $bg wait=running,after=waiting"
	run -0 sluice status
	assert_line --index 0 --regexp "^live \(pid $bg, run [0-9TZ-]+\): 0/2 done, 1 running, 0 failed, "
	assert_line --regexp '^  wait +running +[0-9]+ +1 '
	echo go > gate
	wait "$bg"
	run -0 sluice status
	assert_output "no running pipelines"
}

@test "monitor-1.11: a dead coordinator leaves no ghost in sluice status" {
	mkfifo gate
	cat > p.json <<'JSON'
{ "name": "ghost", "stages": { "wait": { "run": "read x < gate" } } }
JSON
	sluice run -q p.json 3>&- &
	bg=$!
	wait_until 30 sh -c 'sluice status | grep -q "^ghost "'
	kill -KILL "$bg"
	wait "$bg" || true
	# the kernel ends the stage with sluice (SIGTERM): the gate has no
	# reader left, so it is opened read-write, which never blocks
	exec 4<> gate
	echo go >&4
	exec 4>&-
	run -0 sluice status
	assert_output "no running pipelines"
	run -0 sh -c 'ls "$SLUICE_STATE_DIR/live" | wc -l'
	assert_output 0
}

@test "monitor-1.12: sluice top shows the stages of a running pipeline and quits on q" {
	mkfifo gate
	cat > p.json <<'JSON'
{ "name": "topped", "stages": { "blocked": { "run": "read x < gate" } } }
JSON
	sluice run -q p.json 3>&- &
	bg=$!
	wait_until 30 sh -c 'sluice status | grep -q "^topped "'
	tmuxsock=$BATS_TEST_TMPDIR/tmux.sock
	tmux -S "$tmuxsock" new-session -d -x 120 -y 30 \
	    "SLUICE_STATE_DIR='$SLUICE_STATE_DIR' '$ROOT/bin/sluice' top"
	wait_until 10 sh -c "tmux -S '$tmuxsock' capture-pane -p | grep -q '^  blocked  *running'"
	run -0 tmux -S "$tmuxsock" capture-pane -p
	assert_line --index 0 --partial "sluice top: q quit"
	assert_line --regexp '^topped \(pid [0-9]+, run '
	tmux -S "$tmuxsock" send-keys q
	wait_until 10 sh -c "! tmux -S '$tmuxsock' has-session 2>/dev/null"
	echo go > gate
	wait "$bg"
}

@test "monitor-1.13: --monitor=off still records wait4 figures; bad values are refused" {
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": ["seq", "3"] } } }
JSON
	run -0 --separate-stderr sluice run -q --monitor off p.json
	assert_output "1
2
3"
	run -0 record '.options.monitor, .stages[0].proc.rchar, (.stages[0].proc.max_rss_kb > 0)'
	assert_output "off
0
true"
	run -64 --separate-stderr sluice run --monitor loud p.json
	echo "$stderr" | grep -qx "sluice: --monitor expects off, basic or full, found 'loud'"
	run -64 --separate-stderr sluice run --fail-on severe p.json
	echo "$stderr" | grep -qx "sluice: --fail-on expects info, warn or crit, found 'severe'"
}

@test "monitor-1.14: sampling sees the children of a shell stage" {
	cat > p.json <<'JSON'
{ "stages": { "sh": { "run": "perl -e '$x = \"a\" x (100 * 1024 * 1024); sleep 1'; true" } } }
JSON
	run -0 sluice run -q --sample-interval 10ms p.json
	run -0 record '.stages[0].proc.sampled_rss_kb >= 100000, .peak_sum_rss_kb >= 100000'
	assert_output "true
true"
}

@test "monitor-1.15: a stage smaller than sluice shows its own peak; a shell stage, its bigger child's" {
	cat > p.json <<'JSON'
{ "stages": {
    "small": { "run": ["typemap"] },
    "sh": { "run": "perl -e '$x = \"a\" x (50 * 1024 * 1024)'; true", "after": ["small"] } } }
JSON
	run -0 --separate-stderr sluice run -q --trace t.jsonl p.json
	run -0 record .rss_from
	[ "$output" = taskstats ] ||
	    skip "the kernel keeps its task statistics from us (CAP_NET_ADMIN, a container)"
	# the same program alone, under time(1), which forks (Linux then
	# counts only the program's own peak); started by sluice's vfork
	# child, wait4 would say sluice's own (about 1.3 MB, twice as much),
	# the kernel's exit record says the program's
	/usr/bin/time -f %M -o alone.txt "$ROOT/libexec/sluice/typemap" \
	    < /dev/null
	alone=$(tail -n 1 alone.txt)
	got=$(jq 'select(.stage == "small") | .max_rss_kb' t.jsonl)
	echo "alone $alone KiB, in sluice $got KiB, sluice $(record .sluice_rss_kb) KiB"
	[ "$got" -ge "$((alone - 256))" ] && [ "$got" -le "$((alone + 256))" ]
	run -0 jq 'select(.stage == "sh") | .max_rss_kb >= 51200' t.jsonl
	assert_output true
	run -0 record '.stages[0].proc.max_rss_kb == '"$got"', .sluice_rss_kb > 0'
	assert_output $'true\ntrue'
}

@test "monitor-1.16: a trace file that fills up is warned about once, and the run goes on" {
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": ["echo", "one"] },
              "b": { "run": ["tr", "a-z", "A-Z"], "stdin": "a" },
              "c": { "run": ["cat"], "stdin": "b" } } }
JSON
	run -0 --separate-stderr sluice run -q --trace /dev/full p.json
	assert_output ONE
	assert_equal "$stderr" "sluice: trace file '/dev/full': no more lines written to it: No space left on device"
}
