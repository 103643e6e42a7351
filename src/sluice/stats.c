/*
 * stats.c: sample statistics, Student t quantiles and distribution,
 * Welch's test, ratio uncertainty, outliers.  Pure; see stats.h.
 * The t distribution comes from the regularized incomplete beta
 * function, evaluated with its continued fraction (Lentz's method).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "xalloc.h"
#include "banned.h"

static int
dblcmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
stats_median(const double *v, size_t n)
{
	double	*c, m;

	if (n == 0)
		return 0;
	c = xreallocarray(NULL, n, sizeof(*c));
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), dblcmp);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* continued fraction of the incomplete beta function */
static double
betacf(double a, double b, double x)
{
	const double eps = 1e-15, tiny = 1e-300;
	double	 c = 1, d = 1 - (a + b) * x / (a + 1), h, del, aa;
	int	 m;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (m = 1; m <= 300; m++) {
		int	 m2 = 2 * m;

		aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

/* regularized incomplete beta I_x(a, b) */
static double
ibeta(double a, double b, double x)
{
	double	 bt;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
	    b * log(1 - x));
	if (x < (a + 1) / (a + b + 2))
		return bt * betacf(a, b, x) / a;
	return 1 - bt * betacf(b, a, 1 - x) / b;
}

double
stats_t_cdf(double t, double df)
{
	double	 x = df / (df + t * t), tail = 0.5 * ibeta(df / 2, 0.5, x);

	return t >= 0 ? 1 - tail : tail;
}

/* the t with P(T <= t) = 0.975: bisection on the CDF */
double
stats_t975(double df)
{
	double	 lo = 0, hi = 1000, mid;
	int	 i;

	if (df <= 0)
		return NAN;
	for (i = 0; i < 200; i++) {
		mid = (lo + hi) / 2;
		if (stats_t_cdf(mid, df) < 0.975)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

int
stats_is_outlier(const double *v, size_t n, size_t i)
{
	double	 med, mad, *dev;
	size_t	 k;

	if (n < 3)
		return 0;
	med = stats_median(v, n);
	dev = xreallocarray(NULL, n, sizeof(*dev));
	for (k = 0; k < n; k++)
		dev[k] = fabs(v[k] - med);
	mad = stats_median(dev, n);
	free(dev);
	if (mad == 0) {
		/* more than half the values are equal: scale by the mean
		 * absolute deviation instead (1.2533 = sqrt(pi / 2)) */
		double	 mean_ad = 0;

		for (k = 0; k < n; k++)
			mean_ad += fabs(v[k] - med);
		mean_ad /= (double)n;
		if (mean_ad == 0)
			return 0;
		return fabs((v[i] - med) / (1.253314 * mean_ad)) > 3.5;
	}
	return fabs(0.6745 * (v[i] - med) / mad) > 3.5;
}

void
stats_summary(const double *v, size_t n, struct summary *s)
{
	double	 sum = 0, sq = 0, h;
	size_t	 i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	if (n == 0)
		return;
	s->min = s->max = v[0];
	for (i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] < s->min)
			s->min = v[i];
		if (v[i] > s->max)
			s->max = v[i];
	}
	s->mean = sum / (double)n;
	for (i = 0; i < n; i++)
		sq += (v[i] - s->mean) * (v[i] - s->mean);
	s->sd = n > 1 ? sqrt(sq / (double)(n - 1)) : 0;
	s->median = stats_median(v, n);
	h = n > 1 ? stats_t975((double)(n - 1)) * s->sd / sqrt((double)n) : 0;
	s->ci_lo = s->mean - h;
	s->ci_hi = s->mean + h;
	for (i = 0; i < n; i++)
		s->outliers += (size_t)stats_is_outlier(v, n, i);
}

void
stats_welch(const struct summary *a, const struct summary *b, double *t,
    double *df, double *p)
{
	double	 va, vb, se;

	if (a->n < 2 || b->n < 2) {
		*t = 0;
		*df = 0;
		*p = 1;
		return;
	}
	va = a->sd * a->sd / (double)a->n;
	vb = b->sd * b->sd / (double)b->n;
	se = sqrt(va + vb);
	if (se == 0) {
		*t = a->mean == b->mean ? 0 : INFINITY;
		*df = (double)(a->n + b->n - 2);
		*p = a->mean == b->mean ? 1 : 0;
		return;
	}
	*t = (a->mean - b->mean) / se;
	*df = (va + vb) * (va + vb) / (va * va / (double)(a->n - 1) +
	    vb * vb / (double)(b->n - 1));
	*p = 2 * (1 - stats_t_cdf(fabs(*t), *df));
	if (*p < 0)
		*p = 0;
}

void
stats_ratio(const struct summary *a, const struct summary *b, double *r,
    double *sd)
{
	double	 ra, rb;

	*r = b->mean != 0 ? a->mean / b->mean : 0;
	ra = a->mean != 0 ? a->sd / a->mean : 0;
	rb = b->mean != 0 ? b->sd / b->mean : 0;
	*sd = *r * sqrt(ra * ra + rb * rb);
}

double
stats_loglog_slope(const double *x, const double *y, size_t n)
{
	double	 mx = 0, my = 0, sxy = 0, sxx = 0;
	size_t	 i, m = 0;

	for (i = 0; i < n; i++)
		if (x[i] > 0 && y[i] > 0) {
			mx += log(x[i]);
			my += log(y[i]);
			m++;
		}
	if (m < 2)
		return NAN;
	mx /= (double)m;
	my /= (double)m;
	for (i = 0; i < n; i++)
		if (x[i] > 0 && y[i] > 0) {
			sxy += (log(x[i]) - mx) * (log(y[i]) - my);
			sxx += (log(x[i]) - mx) * (log(x[i]) - mx);
		}
	return sxx > 0 ? sxy / sxx : NAN;
}
