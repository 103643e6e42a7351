/*
 * t-stats.c: unit test of stats.c.  Prints figures for fixed samples;
 * test/unit/t-stats.out holds the values computed independently (see
 * the comments there), compared by test/12-stats.bats.
 */
#include <stdio.h>

#include "stats.h"
#include "banned.h"

static void
show(const char *name, const double *v, size_t n)
{
	struct summary s;

	stats_summary(v, n, &s);
	printf("%s: n=%zu mean=%.4f sd=%.4f median=%.4f min=%.4f max=%.4f "
	    "ci=[%.4f, %.4f] outliers=%zu\n", name, s.n, s.mean, s.sd,
	    s.median, s.min, s.max, s.ci_lo, s.ci_hi, s.outliers);
}

int
main(void)
{
	static const double two[] = { 10, 12 };
	static const double three[] = { 1, 2, 4 };
	static const double equal[] = { 5, 5, 5, 5 };
	static const double outl[] = { 10, 10.2, 9.9, 10.1, 10, 25 };
	static const double same4[] = { 1, 1, 1, 1, 5 };
	static const double a[] = { 19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3,
	    18.9, 19.5, 22.0 };
	static const double b[] = { 28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7,
	    27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9, 21.6, 24.3, 20.4,
	    23.9, 13.3 };
	static const double x[] = { 10, 100, 1000 };
	static const double ylin[] = { 2, 20, 200 };
	static const double ysq[] = { 1, 100, 10000 };
	struct summary sa, sb;
	double	 t, df, p, r, sd;
	static const double dfs[] = { 1, 2, 4, 9, 29, 1000 };
	size_t	 i;

	show("two", two, 2);
	show("three", three, 3);
	show("equal", equal, 4);
	show("outlier", outl, 6);
	show("mostly-equal", same4, 5);
	for (i = 0; i < sizeof(dfs) / sizeof(dfs[0]); i++)
		printf("t975(%g)=%.4f\n", dfs[i], stats_t975(dfs[i]));
	printf("t_cdf(2.262, 9)=%.4f\n", stats_t_cdf(2.262, 9));
	stats_summary(a, 10, &sa);
	stats_summary(b, 20, &sb);
	stats_welch(&sa, &sb, &t, &df, &p);
	printf("welch: t=%.3f df=%.2f p=%.4f\n", t, df, p);
	stats_welch(&sa, &sa, &t, &df, &p);
	printf("welch same: t=%.3f p=%.4f\n", t, p);
	stats_ratio(&sb, &sa, &r, &sd);
	printf("ratio b/a=%.4f sd=%.4f\n", r, sd);
	printf("slope linear=%.3f square=%.3f\n", stats_loglog_slope(x, ylin,
	    3), stats_loglog_slope(x, ysq, 3));
	return 0;
}
