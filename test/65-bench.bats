#!/usr/bin/env bats
# sluice bench and sluice analyze.  Timing-dependent figures are checked
# for structure and ranges only; the analysis of a fixed history is exact.
load helper

sleeper() {
	cat > p.json <<'JSON'
{ "vars": { "d": "0.02" }, "stages": { "nap": { "run": ["sleep", "${d}"] }, "t": { "run": ["true"], "after": ["nap"] } } }
JSON
}

@test "bench-1.1: variants are measured, summarised and compared; JSON and Markdown exports" {
	sleeper
	run -0 sluice bench -r 3 -w 1 --variant 'slow=-D d=0.2' --variant 'fast=-D d=0.01' \
	    --export-json b.json --export-markdown b.md p.json
	assert_line "Benchmark 1: p (slow)"
	assert_line "Benchmark 2: p (fast)"
	assert_line --regexp '^  Time \(mean ± σ\): +[0-9.]+ (µs|ms|s) ± +[0-9.]+ (µs|ms|s) +\[User: .*, System: .*\]$'
	assert_line --regexp '^  Range \(min … max\): .* 3 runs, median '
	assert_line --regexp '^  95% CI of the mean: '
	assert_line --regexp '^    stage nap +median '
	assert_line "Summary"
	assert_line "  p (fast) ran"
	assert_line --regexp '^    [0-9.]+ ± [0-9.]+ times faster than p \(slow\) \(significant, p = '
	assert_line "Recommendation: p (fast)"
	run -0 jq -r '.variants[] | [.name, .runs, (.times_s | length), (.mean_s > 0), (.ci95_s | length), (.stages | has("nap"))] | @tsv' b.json
	assert_output "p (slow)	3	3	true	2	true
p (fast)	3	3	true	2	true"
	run -0 jq -r '.variants[0].mean_s > .variants[1].mean_s' b.json
	assert_output true
	run -0 head -n 2 b.md
	assert_line --index 0 "| Variant | Mean [ms] | Min [ms] | Max [ms] | Median [ms] | 95% CI [ms] | Peak memory [MB] |"
}

@test "bench-1.2: a significant regression against a baseline exits 2 and names the variant" {
	sleeper
	run -0 sluice bench -r 4 -w 0 --save-baseline base.json p.json
	# the same pipeline again: within a threshold wide enough for the
	# load of the tests running beside this one
	run -0 sluice bench -r 4 -w 0 --baseline base.json --threshold 300% p.json
	assert_line --regexp '^  p: [-+][0-9.]+% \(p = .*\), within the threshold$'
	run -2 --separate-stderr sluice bench -r 4 -w 0 -D d=0.3 --baseline base.json --threshold 10% p.json
	assert_line --regexp '^  p: REGRESSION \+[0-9.]+% \(p = '
	echo "$stderr" | grep -q "^sluice: bench: 'p' regressed by [0-9.]*% against base.json$"
}

@test "bench-1.3: --update-baseline replaces it only on a significant improvement" {
	sleeper
	run -0 sluice bench -r 4 -w 0 -D d=0.3 --save-baseline base.json p.json
	cp base.json before.json
	run -0 sluice bench -r 4 -w 0 -D d=0.28 --baseline base.json --update-baseline p.json
	cmp -s base.json before.json
	run -0 sluice bench -r 4 -w 0 -D d=0.01 --baseline base.json --update-baseline p.json
	assert_line "  baseline updated"
	! cmp -s base.json before.json
}

@test "bench-1.4: strategies and a parameter list with growth" {
	cat > p.json <<'JSON'
{ "vars": { "n": "10" }, "stages": { "gen": { "run": ["seq", "${n}"] }, "count": { "run": ["wc", "-l"], "stdin": "gen" } } }
JSON
	run -0 sluice bench -r 2 -w 0 --strategy sequential,minimal -L n 1000,100000 p.json
	assert_line "Benchmark 1: p (sequential) n=1000"
	assert_line "Benchmark 4: p (minimal) n=100000"
	assert_line "Growth"
	assert_line --regexp '^  time grows as n\^-?[0-9.]+ \(.*\), peak memory as n\^'
	# two lists: every combination, and no growth (it needs one)
	run -0 sluice bench -r 2 -w 0 -L n 10,20 -L j 1,2 p.json
	assert_line "Benchmark 1: p n=10 j=1"
	assert_line "Benchmark 2: p n=20 j=1"
	assert_line "Benchmark 3: p n=10 j=2"
	assert_line "Benchmark 4: p n=20 j=2"
	refute_line "Benchmark 5: p n=20 j=2"
	refute_line "Growth"
	run -64 --separate-stderr sluice bench -L n 1,2 -L n 3 p.json
	assert_equal "$stderr" "sluice: bench: -L n is given twice"
	run -64 --separate-stderr sluice bench --strategy fastest p.json
	assert_equal "$stderr" "sluice: bench: unknown strategy 'fastest' (sequential, parallel, minimal, cold, warm, cache-heavy, balanced, auto)"
}

@test "bench-1.5: a failing pipeline stops the benchmark with its stderr" {
	cat > p.json <<'JSON'
{ "stages": { "bad": { "run": "echo broken >&2; exit 3" } } }
JSON
	run -1 --separate-stderr sluice bench -r 2 p.json
	echo "$stderr" | grep -q "^sluice: bench: 'p' failed (exit status 1); its stderr:$"
	echo "$stderr" | grep -q "^bad: broken$"
}

@test "analyze-1.1: groups, critical path, caching and predicted times from history" {
	run -0 sluice analyze -j 4 --history "$ROOT/test/fixtures/analyze-history.jsonl" "$ROOT/test/fixtures/analyze.json"
	assert_output "shape: 5 stages in 3 dependency groups
  group 1: width 1: a
  group 2: width 3: b c d
  group 3: width 1: e
durations: run R1 from $ROOT/test/fixtures/analyze-history.jsonl (2 runs of this pipeline)
critical path: a -> b -> e: 500ms, 62% of 800ms total work
  stage 'b' is 60% of the critical path
caching:
  b: 38% of the work and not cached; a \"cache\" category would let unchanged runs skip it
  c: 25% of the work and not cached; a \"cache\" category would let unchanged runs skip it
  d (cache 'x'): hit in 1 of 2 runs
predicted wall time:
  -j1   800ms
  -j2   500ms
  -j3   500ms
  -j4   500ms
recommendation: -j2 (500ms; more slots gain less than 5%), cache-heavy: repeat runs reuse cached stages"
}

@test "analyze-1.2: without history one measuring run supplies the durations" {
	sleeper
	run -0 sluice analyze p.json
	assert_line "durations: no successful run in $SLUICE_STATE_DIR/history.jsonl; measuring one"
	assert_line --regexp '^critical path: nap -> t: '
	assert_line --regexp '^  -j1 '
}

@test "bench-1.6: --update-baseline keeps the variants this run did not measure" {
	sleeper
	run -0 sluice bench -r 3 -w 0 --variant 'a=-D d=0.01' --variant 'b=-D d=0.2' --save-baseline base.json p.json
	run -0 sluice bench -r 3 -w 0 --variant 'b=-D d=0.01' --baseline base.json --update-baseline p.json
	assert_line "  baseline updated"
	run -0 jq -r '[.variants[].name] | sort | join(",")' base.json
	assert_output "p (a),p (b)"
}
