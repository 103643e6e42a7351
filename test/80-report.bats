#!/usr/bin/env bats
# sluice report: JSON, Markdown and HTML from run records; goldens from a
# fixed record (test/fixtures/report), bad input, and a real browser:
# headless Chromium screenshots, kept in test/artifacts/.
load helper

FIX="$ROOT/test/fixtures/report"
RUN_ID=20261130T080000Z-4242

# the fixture as a state directory: its history and its run directory
fixture_state() {
	mkdir -p "$SLUICE_STATE_DIR/runs/$RUN_ID"
	cp "$FIX/history.jsonl" "$SLUICE_STATE_DIR/"
	cp "$FIX/run.json" "$SLUICE_STATE_DIR/runs/$RUN_ID/"
}

# the warning for the truncated line in the fixture's history
HIST_WARN='history.jsonl:5:193: unterminated string; line skipped'

chromium_flags() {
	printf '%s\n' --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync \
	    --user-data-dir="$BATS_TEST_TMPDIR/chromium" --hide-scrollbars
}

# shot FILE.html FILE.png HEIGHT [flag...]: a 1280 x HEIGHT screenshot
shot() {
	local html=$1 png=$2 h=$3
	shift 3
	mapfile -t flags < <(chromium_flags)
	timeout 120 chromium "${flags[@]}" --window-size=1280,"$h" "$@" \
	    --screenshot="$png" "file://$html" >/dev/null 2>&1 3>&-
	[ -s "$png" ]
}

# text FILE.html: the text of the page as Chromium sees it, one per line
text() {
	mapfile -t flags < <(chromium_flags)
	timeout 120 chromium "${flags[@]}" --dump-dom "file://$1" \
	    2>/dev/null 3>&- | sed 's/<[^>]*>/\n/g' | sed '/^[[:space:]]*$/d'
}

# check_png FILE.png HEIGHT: the right size, and not a blank page
check_png() {
	local stat
	command -v python3 >/dev/null || {
		[ "$(stat -c %s "$1")" -gt 20000 ]
		return
	}
	stat=$(python3 "$ROOT/test/pngstat.py" "$1")
	echo "pngstat $1: $stat" >&2
	set -- "$1" "$2" $stat
	[ "$3" -eq 1280 ] && [ "$4" -eq "$2" ] || return 1
	# colours and ink: text, bars and tables, not one flat background
	[ "$5" -gt 50 ] && awk -v ink="$6" 'BEGIN { exit !(ink > 0.02) }'
}

keep_artifact() {
	mkdir -p "$ROOT/test/artifacts"
	cp "$1" "$ROOT/test/artifacts/$2"
}

no_external_refs() {
	! grep -Eio 'https?:|src=|@import|url\(|<script|<link|<img|<iframe' "$1"
}

@test "report-1.1: Markdown of a fixed run record (golden), trend from history" {
	fixture_state
	run -0 --separate-stderr sluice report
	assert_equal "$stderr" "sluice: $SLUICE_STATE_DIR/$HIST_WARN"
	echo "$output" | golden report-1.1
}

@test "report-1.2: JSON of a fixed run record (golden), valid for jq" {
	fixture_state
	run -0 --separate-stderr sluice report --format json
	echo "$output" | golden report-1.2
	echo "$output" | jq -e '.report == 1 and (.stages | length) == 11 and
	    .critical_path.source == "computed" and
	    .trend.regressions[0].stage == "render-types"' >/dev/null
}

@test "report-1.3: a run by position, id, record file or run directory" {
	fixture_state
	sluice report --format json 2>/dev/null > last.json
	for sel in 1 "$RUN_ID" "$SLUICE_STATE_DIR/runs/$RUN_ID/run.json" \
	    "$SLUICE_STATE_DIR/runs/$RUN_ID"; do
		run -0 --separate-stderr sluice report --format json "$sel"
		assert_equal "$output" "$(cat last.json)"
	done
	run -0 --separate-stderr sluice report --format json 2
	assert_equal "$(echo "$output" | jq -r .run.id)" 20261129T130000Z-3003
	# -o writes the file, its extension picks the format
	run -0 --separate-stderr sluice report -o out.md
	assert_output ''
	[ "$(head -n 1 out.md)" = "# sluice report: schema-gen" ]
	run -0 --separate-stderr sluice report -o out.json "$RUN_ID"
	jq -e '.report == 1' out.json >/dev/null
}

@test "report-1.4: an old or minimal record gives a report, missing figures computed" {
	cat > old.json <<'JSON'
{ "v": 1, "run": "r1", "pipeline": "p", "status": "ok", "jobs": 2,
  "stages": [
    { "name": "a", "state": "done", "deps": [],
      "proc": { "start_us": 0, "wall_us": 1000, "user_us": 400,
                "sys_us": 100, "max_rss_kb": 900, "exit": 0 } },
    { "name": "b", "state": "done", "deps": ["a"],
      "proc": { "start_us": 1000, "wall_us": 3000, "user_us": 2500,
                "sys_us": 0, "max_rss_kb": 1200, "exit": 0 } },
    { "name": "c", "state": "skipped" } ] }
JSON
	run -0 --separate-stderr sluice report --format json old.json
	assert_equal "$stderr" ''
	run jq -c '[.totals.wall_us, .totals.cpu_us, .totals.efficiency,
	    .totals.peak_rss_kb, .totals.peak_sum_rss_kb,
	    .critical_path.stages, .critical_path.source,
	    .stages[2].start_us, .trend.runs[0].id]' <<< "$output"
	assert_output '[4000,3000,0.375,1200,null,["a","b"],"computed",null,"r1"]'
	echo '{ "stages": [ { "name": "only" } ] }' > bare.json
	for f in md html json; do
		run -0 --separate-stderr sluice report --format "$f" bare.json
		assert_output --partial only
	done
}

@test "report-2.1: a missing run is a one-line error, exit 66" {
	run -66 --separate-stderr sluice report
	assert_output ''
	assert_equal "$stderr" \
	    "sluice: no run recorded in '$SLUICE_STATE_DIR/history.jsonl'"
	fixture_state
	run -66 --separate-stderr sluice report nosuch
	assert_equal "$stderr" "sluice: $SLUICE_STATE_DIR/$HIST_WARN
sluice: no run 'nosuch' in '$SLUICE_STATE_DIR'"
	run -66 --separate-stderr sluice report 9
	assert_equal "$stderr" "sluice: $SLUICE_STATE_DIR/$HIST_WARN
sluice: no run 9: '$SLUICE_STATE_DIR/history.jsonl' has 6 runs"
	run -66 --separate-stderr sluice report gone/run.json
	assert_equal "$stderr" "sluice: $SLUICE_STATE_DIR/$HIST_WARN
sluice: cannot read run record 'gone/run.json': No such file or directory"
}

@test "report-2.2: a corrupt run record is a one-line error with its place, exit 65" {
	head -c 300 "$FIX/run.json" > cut.json
	run -65 --separate-stderr sluice report cut.json
	assert_output ''
	assert_equal "$stderr" "sluice: cut.json:15:2: unterminated string"
	sed 's/"wall_us": 3930000/"wall_us": "3.9s"/' "$FIX/run.json" > typed.json
	run -65 --separate-stderr sluice report typed.json
	assert_equal "$stderr" \
	    "sluice: typed.json:12:13: run record: 'wall_us' must be a number, found string"
	echo '[1, 2]' > arr.json
	run -65 --separate-stderr sluice report arr.json
	assert_equal "$stderr" \
	    "sluice: arr.json:1:1: not a run record: expected an object, found array"
	echo '{ "run": "x" }' > nostages.json
	run -65 --separate-stderr sluice report nostages.json
	assert_equal "$stderr" \
	    "sluice: nostages.json:1:1: not a run record: no 'stages' array"
	echo '{ "v": 2, "stages": [] }' > v2.json
	run -65 --separate-stderr sluice report v2.json
	assert_equal "$stderr" \
	    "sluice: v2.json:1:8: run record version 2 is newer than this sluice reads (1)"
	echo '{ "stages": [ { "state": "done" } ] }' > noname.json
	run -65 --separate-stderr sluice report noname.json
	assert_equal "$stderr" "sluice: noname.json:1:15: run record: a stage has no 'name'"
	: > empty.json
	run -65 --separate-stderr sluice report empty.json
	assert_equal "$stderr" \
	    "sluice: empty.json:1:1: unexpected end of input, expected a JSON value"
}

@test "report-2.3: usage errors exit 64 with the synopsis" {
	run -64 --separate-stderr sluice report --format pdf
	assert_equal "$stderr" \
	    "sluice: --format expects json, md or html, found 'pdf'"
	run -64 --separate-stderr sluice report a b
	assert_equal "$stderr" "usage: sluice report [--format format] [-o file] [--history file]
                     [--state-dir dir] [run]"
	run -64 --separate-stderr sluice report --bogus
	assert_equal "${stderr%%$'\n'*}" "sluice: report: unknown option '--bogus'"
}

@test "report-3.1: the HTML is well-formed, self-contained and names every stage" {
	fixture_state
	run -0 --separate-stderr sluice report -o r.html
	assert_output ''
	# XML well-formedness: every element closed, every entity known
	run -0 xmllint --noout r.html
	assert_output ''
	# the HTML parser: nothing but HTML5 and SVG tags it does not know
	run -0 bash -c "xmllint --html --noout r.html 2>&1 |
	    grep 'HTML parser error' | grep -v 'Tag [a-z]* invalid' || :"
	assert_output ''
	no_external_refs r.html
	grep -q '<meta charset="utf-8"/>' r.html
	grep -q 'prefers-color-scheme:dark' r.html
	for s in $(jq -r '.stages[].name' "$FIX/run.json"); do
		grep -q ">$s<" r.html
	done
}

@test "report-3.2: text from the record is escaped in HTML and Markdown" {
	cat > evil.json <<'JSON'
{ "pipeline": "<script>alert(1)</script>",
  "stages": [ { "name": "a|b<i>", "state": "failed",
                "reason": "exit 1 & \"quoted\" `code` *bold*",
                "proc": { "start_us": 0, "wall_us": 10, "exit": 1 } } ] }
JSON
	run -0 --separate-stderr sluice report --format html evil.json
	refute_output --partial '<script'
	refute_output --partial '<i>'
	assert_output --partial '&lt;script&gt;alert(1)&lt;/script&gt;'
	assert_output --partial 'a|b&lt;i&gt;'
	assert_output --partial 'exit 1 &amp; &quot;quoted&quot;'
	run -0 --separate-stderr sluice report --format md evil.json
	assert_line '# sluice report: \<script\>alert(1)\</script\>'
	assert_output --partial '| **a\|b\<i\>** | failed: exit 1 \& "quoted" \`code\` \*bold\* |'
}

@test "report-3.3: run --report writes the report of that run, exit status kept" {
	cat > p.json <<'JSON'
{ "name": "two", "stages": {
    "gen": { "run": ["seq", "3"] },
    "bad": { "run": "cat > /dev/null; exit 3", "stdin": "gen" } } }
JSON
	run -1 --separate-stderr sluice run -q --report out.html p.json
	no_external_refs out.html
	grep -q '<span class="st failed">failed</span>' out.html
	grep -q '>bad<' out.html
	run -1 --separate-stderr sluice run -q --report out.json p.json
	run jq -r '[.run.pipeline, .run.status, .stages[1].exit,
	    (.trend.runs | length)] | @tsv' out.json
	assert_output "two	failed	3	2"
}

@test "report-4.1: Chromium renders the report of a small real run" {
	command -v chromium >/dev/null || skip "chromium is not installed (make deps)"
	cat > p.json <<'JSON'
{ "name": "small", "jobs": 3, "stages": {
    "fetch": { "run": "sleep 0.2; seq 1 20000" },
    "parse": { "run": ["awk", "{ print $1 * 2 }"], "stdin": "fetch" },
    "count": { "run": "wc -l; sleep 0.1", "stdin": "parse" },
    "sum": { "run": ["awk", "{ s += $1 } END { print s }"], "stdin": "parse" },
    "index": { "run": "sleep 0.3", "after": ["fetch"] },
    "flaky": { "run": "test -e once || { touch once; exit 1; }; sleep 0.1",
               "retries": 1 },
    "report": { "run": "cat; cat <&3", "stdin": "count",
                "fds": { "3": "sum" }, "after": ["index", "flaky"] } } }
JSON
	run -0 --separate-stderr sluice run -q --report small.html p.json
	no_external_refs small.html
	shot "$PWD/small.html" small.png 1400
	check_png small.png 1400
	keep_artifact small.png report-small.png
	text "$PWD/small.html" > text.txt
	for s in fetch parse count sum index flaky report; do
		grep -qx "$s" text.txt
	done
	grep -q 'attempt 2' text.txt
}

@test "report-4.2: 500 stages: under 1 MB, every name on the page, a legible screenshot" {
	command -v chromium >/dev/null || skip "chromium is not installed (make deps)"
	{
		printf '{ "name": "wide", "jobs": 4, "stages": {\n'
		for i in $(seq 0 499); do
			[ "$i" -gt 0 ] && printf ',\n'
			printf '"stage-%03d": { "run": ["true"]' "$i"
			[ "$i" -ge 8 ] && printf ', "after": ["stage-%03d"]' $((i - 8))
			printf ' }'
		done
		printf '\n} }\n'
	} > wide.json
	run -0 --separate-stderr sluice run -q wide.json
	run -0 --separate-stderr sluice report -o wide.html
	size=$(stat -c %s wide.html)
	echo "wide.html: $size bytes" >&2
	[ "$size" -lt 1048576 ]
	run -0 xmllint --noout wide.html
	no_external_refs wide.html
	shot "$PWD/wide.html" wide.png 1600
	check_png wide.png 1600
	keep_artifact wide.png report-500.png
	text "$PWD/wide.html" | sort -u > text.txt
	jq -r '.stages | keys[]' wide.json | sort > names.txt
	run comm -23 names.txt text.txt
	assert_output ''
}

@test "report-4.3: the fixture's report in light and dark colour schemes" {
	command -v chromium >/dev/null || skip "chromium is not installed (make deps)"
	fixture_state
	sluice report -o r.html 2>/dev/null
	shot "$PWD/r.html" light.png 1900
	shot "$PWD/r.html" dark.png 1900 --force-dark-mode
	check_png light.png 1900
	check_png dark.png 1900
	keep_artifact light.png report-fixture-light.png
	keep_artifact dark.png report-fixture-dark.png
	command -v python3 >/dev/null || return 0
	light=$(python3 "$ROOT/test/pngstat.py" light.png 40 | cut -d' ' -f5)
	dark=$(python3 "$ROOT/test/pngstat.py" dark.png 40 | cut -d' ' -f5)
	[ "$light" -gt 200 ] && [ "$dark" -lt 60 ]
}
