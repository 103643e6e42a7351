/*
 * t-util.c: unit test of util.c's fmt_utc_stamp (against gmtime_r and
 * strftime, over fixed dates and a sweep of 400 years in steps that
 * hit every day of the year and time of day) and proc_stat_field (on
 * made-up /proc/PID/stat lines whose command names hold spaces and
 * parentheses, and on this process's own against sscanf), and
 * parse_duration_ns and parse_size on their grammar.  Prints
 * "ok N" and exits 0, or names the first mismatch and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "banned.h"

static int	checked;

static int
stamp_ok(int64_t t)
{
	char	 want[64], got[96];
	time_t	 tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return 1;		/* out of struct tm's range */
	strftime(want, sizeof(want), "%Y%m%dT%H%M%SZ", &tm);
	fmt_utc_stamp(t, got, sizeof(got));
	checked++;
	if (strcmp(want, got) != 0) {
		printf("fmt_utc_stamp(%lld): %s, expected %s\n", (long long)t,
		    got, want);
		return 0;
	}
	return 1;
}

static int
field_is(const char *text, int n, int ok, unsigned long long want)
{
	unsigned long long v = 0;
	int	 r = proc_stat_field(text, n, &v);

	checked++;
	if ((r == 0) != ok || (ok && v != want)) {
		printf("proc_stat_field(\"%s\", %d): %d, %llu; expected %d, "
		    "%llu\n", text, n, r, v, ok ? 0 : -1, want);
		return 0;
	}
	return 1;
}

int
main(void)
{
	static const int64_t fixed[] = {
		0, 1, 59, 86399, 86400, -1, -86400, -86401,
		951782400,		/* 2000-02-29 */
		951868800,		/* 2000-03-01 */
		4107542400LL,		/* 2100-03-01: not a leap year */
		1796076875LL,		/* 2026-11-30T22:14:35Z */
		253402300799LL,		/* 9999-12-31T23:59:59Z */
		-2208988800LL,		/* 1900-01-01 */
	};
	const char *line =
	    "4242 (a) (b c) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
	    "17 5 0 0 20 0 1 0 123456 1000000 321 18446744073709551615\n";
	char	 self[1024];
	unsigned long long ut, st;
	FILE	*f;
	size_t	 i, n;
	int64_t	 t;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!stamp_ok(fixed[i]))
			return 1;
	/* 1900 to 2300, every 1,000,003 seconds: each day and hour */
	for (t = -2208988800LL; t < 10413792000LL; t += 1000003)
		if (!stamp_ok(t))
			return 1;

	if (!field_is(line, 14, 1, 17) || !field_is(line, 15, 1, 5) ||
	    !field_is(line, 22, 1, 123456) || !field_is(line, 24, 1, 321) ||
	    !field_is(line, 4, 1, 1) ||
	    !field_is(line, 3, 0, 0) ||		/* "S": not a number */
	    !field_is(line, 7, 1, 0) || !field_is(line, 8, 0, 0) || /* -1 */
	    !field_is(line, 26, 0, 0) ||	/* past the last field */
	    !field_is(line, 2, 0, 0) ||		/* the name: not a field */
	    !field_is("no parenthesis 1 2 3", 3, 0, 0) ||
	    !field_is("1 (x)", 3, 0, 0) ||
	    !field_is("1 (x) S 12x 3", 4, 0, 0))
		return 1;

	/* durations and sizes: the documented grammar, nothing else */
	{
		static const struct { const char *s; int64_t ns; } dur[] = {
			{ "150ms", 150000000 }, { "2s", 2000000000 },
			{ "1.5m", 90000000000LL }, { "250us", 250000 },
			{ "0s", 0 }, { "7d", 604800000000000LL },
			{ "1e3s", -1 }, { "0x10s", -1 }, { "1.s", -1 },
			{ ".5s", -1 }, { "-1s", -1 }, { "5", -1 },
			{ "0.0000001ns", -1 }, { "1 s", -1 }, { "", -1 },
		};
		static const struct { const char *s; int64_t n; } sz[] = {
			{ "1024", 1024 }, { "512K", 524288 },
			{ "2GiB", 2147483648LL }, { "1.5M", 1572864 },
			{ "0", 0 }, { "1.5", -1 }, { "1e3", -1 },
			{ "0.1B", -1 }, { "1MB ", -1 },
		};

		for (i = 0; i < sizeof(dur) / sizeof(dur[0]); i++, checked++)
			if (parse_duration_ns(dur[i].s) != dur[i].ns) {
				printf("parse_duration_ns(\"%s\"): %lld, "
				    "expected %lld\n", dur[i].s, (long long)
				    parse_duration_ns(dur[i].s),
				    (long long)dur[i].ns);
				return 1;
			}
		for (i = 0; i < sizeof(sz) / sizeof(sz[0]); i++, checked++)
			if (parse_size(sz[i].s) != sz[i].n) {
				printf("parse_size(\"%s\"): %lld, expected "
				    "%lld\n", sz[i].s, (long long)
				    parse_size(sz[i].s), (long long)sz[i].n);
				return 1;
			}
	}

	/* this process: the same utime and stime as sscanf reads */
	if ((f = fopen("/proc/self/stat", "r")) != NULL) {
		n = fread(self, 1, sizeof(self) - 1, f);
		fclose(f);
		self[n] = '\0';
		if (sscanf(strrchr(self, ')') + 2, "%*c %*d %*d %*d %*d %*d "
		    "%*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2 ||
		    !field_is(self, 14, 1, ut) || !field_is(self, 15, 1, st))
			return 1;
	}
	printf("ok %d\n", checked);
	return 0;
}
