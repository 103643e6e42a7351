#!/usr/bin/env bats
# Unit test of the benchmark statistics (src/sluice/stats.c).  The
# expected values in test/unit/t-stats.out were checked independently:
# means, standard deviations and medians with Python's statistics module;
# t quantiles against printed Student t tables (12.706, 4.303, 2.776,
# 2.262, 2.045, 1.962); Welch's t and degrees of freedom from the
# Welch-Satterthwaite formula computed in Python (t = -2.2255,
# df = 24.52); the p-value lies between the tabled 0.02 and 0.05.
load helper

@test "stats-1.1: summaries, t quantiles, Welch's test, ratios, outliers, growth" {
	[ -x "$ROOT/test/unit/t-stats" ] || skip "unit programs not built (make unit)"
	run -0 "$ROOT/test/unit/t-stats"
	diff -u "$ROOT/test/unit/t-stats.out" - <<< "$output"
}
