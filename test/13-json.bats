#!/usr/bin/env bats
# The JSON reader: its one-pass tokenizer agrees with the validator
# (which words every error) and with jsmn's tokens.
load helper

@test "json-1.1: one pass, the validator and jsmn agree on 20,000 documents and mutations (t-json)" {
	[ -x "$ROOT/test/unit/t-json" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-json" 20000
	assert_output --regexp '^t-json: 20000 generated documents and 20000 mutations \([0-9]+ still valid\): the same verdicts and tokens$'
}

@test "json-1.2: errors keep their line:column and wording through the fast path" {
	printf '{"name": "x",\n  "stages": {"a": {"run": "true",}}}\n' > p.json
	run -65 sluice check p.json
	assert_output "sluice: p.json:2:34: trailing comma before '}'"
	printf '{"name": "x", "name": "y", "stages": {}}\n' > p.json
	run -65 sluice check p.json
	assert_output "sluice: p.json:1:15: duplicate key 'name' (first at 1:2)"
	printf '{"v":1,"kind":"table","name":"t\\u0000"}\n' > r.jsonl
	run -65 sluice relations < r.jsonl
	assert_output "relations: <stdin>:1:32: NUL character (\\u0000) not allowed"
}
