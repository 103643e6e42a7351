#!/usr/bin/env bats
# Unit test of src/lib/util.c's run-id clock and /proc reader: the run
# id's UTC stamp against gmtime_r(3) and strftime(3) over 1900-2300,
# and /proc/PID/stat fields after command names with spaces and
# parentheses (test/unit/t-util.c says what each case holds).
load helper

@test "util-1.1: run-id stamps match gmtime; /proc/PID/stat fields are found after the command name" {
	[ -x "$ROOT/test/unit/t-util" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-util"
	# the fixed dates, the sweep and the field cases: over 12,000 checks
	[[ "$output" =~ ^ok\ ([0-9]+)$ ]]
	(( BASH_REMATCH[1] >= 12000 ))
}
