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

@test "json-1.3: text that is not UTF-8 is refused where it is, in every stage; UTF-8 of 2 to 4 bytes passes" {
	# é, 日, 😀 pass through every reader unchanged
	printf '{"v":1,"kind":"table","name":"caf\xc3\xa9_\xe6\x97\xa5_\xf0\x9f\x98\x80","columns":[{"name":"id","type":"integer","null":false}],"primary_key":["id"]}\n' > ok.jsonl
	run -0 sh -c 'sluice typemap < ok.jsonl | sluice relations | jq -r .name'
	assert_output "$(printf 'caf\xc3\xa9_\xe6\x97\xa5_\xf0\x9f\x98\x80')"
	echo '{{#tables}}{{name}}{{/tables}}' > t.tmpl
	# a lone continuation byte, an overlong '/', a surrogate, above
	# U+10FFFF, a sequence cut short by the quote
	for bad in '\x80' '\xc0\xaf' '\xed\xa0\x80' '\xf4\x90\x80\x80' '\xe6\x97'; do
		printf '{"v":1,"kind":"table","name":"ab%b","columns":[]}\n' "$bad" > bad.jsonl
		for stage in typemap relations; do
			run -65 --separate-stderr sluice "$stage" < bad.jsonl
			assert_equal "$stderr" "$stage: <stdin>:1:33: invalid UTF-8 in string"
			assert_output ''
		done
		run -65 --separate-stderr sluice render --all t.tmpl < bad.jsonl
		assert_equal "$stderr" "render: <stdin>:1:33: invalid UTF-8 in string"
	done
	printf '{"name": "x\xff", "stages": {}}\n' > p.json
	run -65 sluice check p.json
	assert_output "sluice: p.json:1:12: invalid UTF-8 in string"
	# the same as \u escapes: a surrogate that is not half of a pair
	# (alone, high then no low, low first); a pair passes
	for bad in '\ud800' '\ud83dx' '\udc00\ud83d' '\ud83d\ud83d'; do
		printf '{"v":1,"kind":"table","name":"ab%s","columns":[]}\n' "$bad" > bad.jsonl
		for stage in typemap relations; do
			run -65 --separate-stderr sluice "$stage" < bad.jsonl
			assert_equal "$stderr" "$stage: <stdin>:1:33: a \\u escape of a surrogate that is not half of a pair: not UTF-8"
		done
	done
	echo '{"v":1,"kind":"table","name":"ab\ud83d\ude00","columns":[]}' > pair.jsonl
	run -0 sh -c 'sluice relations < pair.jsonl | jq -r .name'
	assert_output "$(printf 'ab\xf0\x9f\x98\x80')"
}

@test "json-1.4: writers keep UTF-8 whole, across render's 64 KiB pieces too, and write bytes that are not UTF-8 as U+FFFD" {
	# 3-byte characters from an odd offset: every piece boundary would
	# fall inside one
	{ printf 'x'; for i in $(seq 50000); do printf '\xe6\x97\xa5'; done; echo; } > big.tmpl
	echo '{"v":1,"kind":"table","name":"t","columns":[]}' > t.jsonl
	run -0 sh -c 'sluice render --all --path big.txt big.tmpl < t.jsonl | sluice write out'
	cmp big.tmpl out/big.txt
	printf 'caf\xe9 {{name}}\n' > latin1.tmpl
	run -0 sh -c 'sluice render --all --path l.txt latin1.tmpl < t.jsonl | jq -r .content'
	assert_output "$(printf 'caf\xef\xbf\xbd ')"
}
