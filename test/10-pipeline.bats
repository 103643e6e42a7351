#!/usr/bin/env bats
# The pipeline file: validation, vars, profiles, check and graph.
load helper

@test "check-1.1: every bad pipeline in test/bad is refused with its one-line error" {
	cd "$ROOT/test"
	local f base want args failed=0
	for f in bad/*.json; do
		base=${f%.json}
		want=$(cat "$base.err")
		args=
		case $base in *profile-unknown-stage) args="--profile dev" ;; esac
		run -65 --separate-stderr sluice check $args "$f"
		if [ "$output" != "" ] || [ "$stderr" != "$want" ]; then
			echo "$f: got status $status, stderr: $stderr"
			echo "$f: want: $want"
			failed=1
		fi
	done
	[ "$failed" -eq 0 ]
}

@test "check-1.2: the corpus covers the required refusals" {
	cd "$ROOT/test/bad"
	grep -q "unknown field 'stdn' in stage 'types' (did you mean 'stdin'?)" unknown-stage-field.err
	grep -q "duplicate key 'a'" duplicate-stage.err
	grep -q "cycle: a -> b -> c -> a" cycle.err
	grep -q "unknown stage 'typs'" unknown-stdin-stage.err
	grep -q "undefined variable" undefined-var.err
	grep -q "not found in libexec/sluice or PATH" missing-program.err
	grep -q "fed by both" two-producers-fd0.err
	grep -q "expects a duration" bad-duration.err
	grep -q "expects a size" bad-size.err
}

@test "check-1.3: a missing pipeline file exits 66" {
	run -66 --separate-stderr sluice check nope.json
	assert_equal "$stderr" "sluice: cannot read 'nope.json': No such file or directory"
}

@test "check-1.4: check prints dependency groups and resolved commands" {
	cat > p.json <<'JSON'
{
  "name": "demo",
  "jobs": 3,
  "vars": { "n": "3", "word": "hello world" },
  "stages": {
    "gen":   { "run": ["seq", "1", "${n}"] },
    "greet": { "run": ["echo", "${word}"] },
    "both":  { "run": ["cat"], "stdin": ["gen", "greet"] },
    "side":  { "run": "cat /dev/fd/3", "fds": { "3": "gen" } },
    "last":  { "run": ["true"], "after": ["both", "side"] }
  }
}
JSON
	run -0 sluice check p.json
	assert_output "demo: 5 stages in 3 dependency groups, jobs 3
group 1: gen greet
  gen: seq 1 3
  greet: echo 'hello world'
group 2: both side
  both: cat < gen + greet
  side: sh -c 'cat /dev/fd/3' 3< gen
group 3: last
  last: true (after both side)"
}

@test "check-1.5: -D overrides a var and an undefined -D target is still checked" {
	cat > p.json <<'JSON'
{ "vars": { "n": "3" }, "stages": { "gen": { "run": ["seq", "${n}"] } } }
JSON
	run -0 sluice check -D n=7 p.json
	assert_line "  gen: seq 7"
	run -64 --separate-stderr sluice check -D novalue p.json
	assert_equal "$stderr" "sluice: -D expects name=value, found 'novalue'"
	# a name no ${...} could refer to
	run -64 --separate-stderr sluice check -D '1a=v' p.json
	assert_equal "$stderr" "sluice: -D '1a': a variable name is letters, digits and _, not starting with a digit"
	echo '{ "vars": { "a b": "x" }, "stages": { "s": { "run": "echo" } } }' > v.json
	run -65 --separate-stderr sluice check v.json
	assert_equal "$stderr" 'sluice: v.json:1:13: '"'"'vars'"'"': a variable name is letters, digits and _, not starting with a digit (${name} could never name it)'

}

@test "check-1.6: a profile overlays jobs and stage settings; SLUICE_PROFILE picks it" {
	cat > p.json <<'JSON'
{
  "jobs": 4,
  "vars": { "mode": "fast" },
  "stages": { "a": { "run": ["echo", "${mode}"] } },
  "profiles": {
    "development": { "jobs": 1, "vars": { "mode": "debug" } },
    "production": { "jobs": 0 }
  }
}
JSON
	run -0 sluice check --profile development p.json
	assert_line --index 0 "p: 1 stage in 1 dependency group, jobs 1, profile development"
	assert_line "  a: echo debug"
	SLUICE_PROFILE=production run -0 sluice check p.json
	assert_line --index 0 "p: 1 stage in 1 dependency group, jobs 0 (one per CPU), profile production"
	run -64 --separate-stderr sluice check --profile staging p.json
	assert_equal "$stderr" "sluice: unknown profile 'staging' in p.json (known: development, production)"
}

@test "check-1.7: relative paths resolve against the pipeline's directory" {
	mkdir -p sub/bin
	printf '#!/bin/sh\necho local-tool\n' > sub/bin/tool
	chmod +x sub/bin/tool
	cat > sub/p.json <<'JSON'
{ "stages": { "a": { "run": ["./bin/tool"], "inputs": ["data.txt"] },
              "b": { "run": ["pwd"] } } }
JSON
	run -0 --separate-stderr sluice run -q sub/p.json
	assert_output "local-tool
$BATS_TEST_TMPDIR/sub"
}

@test "graph-1.1: graph prints DOT that dot renders, with styled edges" {
	cat > p.json <<'JSON'
{ "name": "g", "stages": {
    "a": { "run": ["seq", "3"] },
    "b": { "run": ["cat"], "stdin": ["a"] },
    "c": { "run": "cat /dev/fd/3", "fds": { "3": "a" } },
    "d": { "run": ["true"], "after": ["b"] } } }
JSON
	run -0 sluice graph p.json
	assert_line --index 0 'digraph "g" {'
	assert_line '	"a" -> "b";'
	assert_line '	"a" -> "c" [style=dashed, label="fd 3"];'
	assert_line '	"b" -> "d" [style=dotted, arrowhead=empty, label="after"];'
	sluice graph p.json | dot -Tsvg > g.svg
	grep -q '<svg' g.svg
	grep -q '>fd 3<' g.svg
}

@test "graph-1.2: graph does not need the programs to exist" {
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": ["not-installed-here"] } } }
JSON
	run -0 sluice graph p.json
	assert_line '	"a" [label="a\nnot-installed-here"];'
	run -65 sluice check p.json
}

@test "check-1.8: \$\${ escapes a literal \${ and shell strings keep \$x" {
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": "x=1; echo $x $${HOME}" } } }
JSON
	run -0 sluice check p.json
	assert_line "  a: sh -c 'x=1; echo \$x \${HOME}'"
}

@test "check-1.9: a var that is not a string, number or boolean names its place (and nothing leaks on the way out)" {
	echo '{ "vars": { "a": null }, "stages": { "s": { "run": "echo" } } }' > p.json
	run -65 --separate-stderr sluice check p.json
	assert_equal "$stderr" "sluice: p.json:1:18: 'vars' expects string, number or boolean values, found null"
}

@test "check-1.10: a pipeline file that starts with a byte order mark says so" {
	printf '\357\273\277{ "stages": { "a": { "run": "echo" } } }' > p.json
	run -65 --separate-stderr sluice check p.json
	assert_equal "$stderr" "sluice: p.json:1:1: a byte order mark (U+FEFF) starts the text: JSON has none; save it without"
}

@test "check-1.11: cache_hit_rate is an alert of the run, refused in a stage's alerts" {
	echo '{ "stages": { "s": { "run": "echo", "alerts": { "cache_hit_rate": { "warn": 0.5 } } } } }' > p.json
	run -65 --separate-stderr sluice check p.json
	assert_equal "$stderr" "sluice: p.json:1:49: 'cache_hit_rate' is an alert of the run: put it in the pipeline's 'alerts'"
	echo '{ "alerts": { "cache_hit_rate": { "warn": 0.5 } }, "stages": { "s": { "run": "echo" } } }' > q.json
	run -0 sluice check q.json
}
