#!/usr/bin/env bats
# sluice(1) itself: usage, version, help, git-style stage dispatch.
load helper

@test "usage-1.1: no arguments prints the usage and exits 64" {
	run -64 --separate-stderr sluice
	assert_output ""
	assert_equal "$stderr" "usage: sluice command [argument ...]
       sluice stage [argument ...]
       sluice --version"
}

@test "usage-1.2: --version" {
	run -0 sluice --version
	assert_output --regexp '^sluice [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "usage-1.3: an unknown command suggests the nearest one" {
	run -64 --separate-stderr sluice rnu
	assert_equal "$stderr" "sluice: 'rnu' is not a sluice command or stage (did you mean 'run'?)"
	run -64 --separate-stderr sluice frobnicate
	assert_equal "$stderr" "sluice: 'frobnicate' is not a sluice command or stage; see 'sluice help'"
}

@test "usage-1.4: a bad option to run prints run's usage and exits 64" {
	run -64 --separate-stderr sluice run --no-such-option p.json
	echo "$stderr" | grep -qx "sluice: run: unknown option '--no-such-option'"
	echo "$stderr" | grep -q '^usage: sluice run \[-knqv\]'
	run -64 --separate-stderr sluice run
	echo "$stderr" | grep -q '^usage: sluice run \[-knqv\]'
	run -64 --separate-stderr sluice run -j x p.json
	echo "$stderr" | grep -qx "sluice: -j expects a number of jobs from 0 to 100000, found 'x'"
}

@test "usage-1.5: help lists the commands and the stages" {
	run -0 sluice help
	assert_line "  run      run a pipeline"
	assert_line "  check    validate a pipeline, print its dependency groups"
	assert_line --partial "stages ("
	run -0 sluice help check
	assert_output "usage: sluice check [-D name=value] [--profile name] pipeline
See sluice-check(1)."
}

@test "usage-1.6: sluice NAME runs libexec/sluice/NAME with its arguments" {
	mkdir -p lx
	printf '#!/bin/sh\necho "stage got: $*"\nexit 7\n' > lx/hello
	chmod +x lx/hello
	SLUICE_LIBEXEC=$PWD/lx run -7 sluice hello a 'b c'
	assert_output "stage got: a b c"
}

@test "usage-1.7: stages are found in libexec before PATH in pipelines" {
	mkdir -p lx bin2
	printf '#!/bin/sh\necho from-libexec\n' > lx/tool
	printf '#!/bin/sh\necho from-path\n' > bin2/tool
	chmod +x lx/tool bin2/tool
	cat > p.json <<'JSON'
{ "stages": { "a": { "run": ["tool"] } } }
JSON
	PATH=$PWD/bin2:$PATH SLUICE_LIBEXEC=$PWD/lx run -0 sluice run -q p.json
	assert_output "from-libexec"
	PATH=$PWD/bin2:$PATH SLUICE_LIBEXEC=$PWD/empty run -0 sluice run -q p.json
	assert_output "from-path"
}

@test "usage-1.8: make install puts a working sluice under DESTDIR" {
	# the tree's own flags and PREFIX (LIBEXECDIR is compiled in), so
	# nothing rebuilds under the tests running beside this one
	local before pkg=$BATS_TEST_TMPDIR/pkg/usr/local
	before=$(stat -c %Y.%i "$ROOT/bin/sluice")
	run -0 make -s -C "$ROOT" $SLUICE_TEST_MAKEFLAGS install DESTDIR="$BATS_TEST_TMPDIR/pkg"
	assert_equal "$(stat -c %Y.%i "$ROOT/bin/sluice")" "$before"
	assert_file_executable "$pkg/bin/sluice"
	assert_file_executable "$pkg/libexec/sluice/typemap"
	assert_file_exists "$pkg/share/man/man1/sluice.1"
	assert_file_exists "$pkg/share/sluice/examples/wordfreq/pipeline.json"
	run -0 "$pkg/bin/sluice" run -q "$pkg/share/sluice/examples/wordfreq/pipeline.json"
	assert_line "200 words, 106 distinct"
	run -0 make -s -C "$ROOT" $SLUICE_TEST_MAKEFLAGS uninstall DESTDIR="$BATS_TEST_TMPDIR/pkg"
	assert_file_not_exists "$pkg/bin/sluice"
	assert_equal "$(stat -c %Y.%i "$ROOT/bin/sluice")" "$before"
}

@test "usage-1.9: the default build links every program but introspect statically, and they run" {
	# in a copy of the tree, so the sanitizer build of the tests stays
	local t=$BATS_TEST_TMPDIR/tree
	mkdir -p "$t"
	cp -R "$ROOT/Makefile" "$ROOT/config.mk" "$ROOT/src" "$ROOT/man" "$ROOT/mk" "$t/"
	find "$t/src" \( -name '*.o' -o -name '*.d' -o -name '*.a' \) -delete
	run -0 make -s -C "$t" -j2 all
	run -0 file -b "$t/bin/sluice" "$t/libexec/sluice/render" "$t/libexec/sluice/write"
	[ "$(grep -c 'static-pie linked' <<< "$output")" -eq 3 ]
	run -0 file -b "$t/libexec/sluice/introspect"
	[[ "$output" == *"dynamically linked"* ]]
	# mk/hot.ld: the code a run touches comes first, exit code with it
	local p hot
	for p in bin/sluice libexec/sluice/render libexec/sluice/write; do
		run -0 readelf -S -W "$t/$p"
		hot=$(awk '$2 == ".text.hot" { print $4, $6 }' <<< "$output")
		[ -n "$hot" ]
		[[ "$output" == *" .fini.hot "* ]]
		local lo=$((16#${hot% *})) len=$((16#${hot#* })) f a
		for f in main malloc _start; do
			a=$(nm "$t/$p" | awk -v f="$f" '$3 == f { print $1; exit }')
			[ -n "$a" ] || fail "$p: no $f"
			a=$((16#$a))
			(( a >= lo && a < lo + len )) ||
			    fail "$p: $f is outside .text.hot"
		done
	done
	# the Zero example end to end with them
	run -0 "$t/bin/sluice" run -q --no-cache -D schema="$ROOT/test/data/schemas/chinook.sqlite" \
	    -D out="$BATS_TEST_TMPDIR/out" "$ROOT/examples/zero/pipeline.json"
	[ "$(ls "$BATS_TEST_TMPDIR/out/types" | wc -l)" -eq 11 ]
	grep -q 'createSchema' "$BATS_TEST_TMPDIR/out/generated-schema.ts"
}

@test "usage-1.10: output that cannot be written is an error (74); a directory is not a program" {
	[ -c /dev/full ] || skip "/dev/full is not the full device here"
	for c in graph check; do
		run -74 --separate-stderr sh -c "sluice $c '$ROOT/examples/wordfreq/pipeline.json' > /dev/full"
		assert_equal "$stderr" "sluice: cannot write standard output: No space left on device"
	done
	mkdir adir
	echo '{ "stages": { "a": { "run": ["./adir"] } } }' > p.json
	run -65 --separate-stderr sluice check p.json
	assert_equal "$stderr" "sluice: p.json:1:30: stage 'a': program './adir' not found or not executable"
}
