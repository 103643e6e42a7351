#!/usr/bin/env bats
# Unit test of the planner (src/sluice/plan.c): order, groups, cycles.
load helper

@test "plan-1.1: topological order, dependency groups and cycle paths" {
	[ -x "$ROOT/test/unit/t-plan" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-plan" < "$ROOT/test/unit/t-plan.in"
	diff -u "$ROOT/test/unit/t-plan.out" - <<< "$output"
}
