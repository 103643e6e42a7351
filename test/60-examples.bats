#!/usr/bin/env bats
# The runnable examples produce what they promise.
load helper

@test "examples-1.1: wordfreq merges three files and reports top words and totals" {
	run -0 --separate-stderr sluice run -q "$ROOT/examples/wordfreq/pipeline.json"
	assert_output "33 the
10 and
6 at
6 river
5 it
4 gate
4 in
4 mill
200 words, 106 distinct"
}

@test "examples-1.2: wordfreq's quick profile and -D" {
	run -0 --separate-stderr sluice run -q --profile quick "$ROOT/examples/wordfreq/pipeline.json"
	assert_output "33 the
10 and
6 at
200 words, 106 distinct"
	run -0 --separate-stderr sluice run -q -D top=1 "$ROOT/examples/wordfreq/pipeline.json"
	assert_line --index 0 "33 the"
}

@test "examples-1.3: the log summary uses fan-out, extra fds and after" {
	run -0 --separate-stderr sluice run -q "$ROOT/examples/logs/pipeline.json"
	assert_line --index 0 "== requests by status"
	assert_line "    184 200"
	assert_line "== server errors by path"
	assert_line "10 500 /static/app.css"
	assert_line "400 requests, 992524 bytes"
	echo "$stderr" | grep -q "^done: report complete at "
}

@test "examples-1.4: compose.sh runs sluice inside a shell pipeline" {
	run -0 sh "$ROOT/examples/compose.sh"
	assert_line --index 0 "the and at river it gate in mill"
}
