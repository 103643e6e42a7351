/*
 * stats.h: the statistics of `sluice bench` and `sluice analyze`.
 * Pure functions on arrays of doubles; no I/O, no allocation beyond
 * scratch copies freed before returning.
 */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>

struct summary {
	size_t		 n;
	double		 mean;
	double		 sd;		/* sample standard deviation */
	double		 median;
	double		 min;
	double		 max;
	double		 ci_lo;		/* 95% CI of the mean (Student t) */
	double		 ci_hi;
	size_t		 outliers;	/* modified z-score above 3.5 */
};

void	 stats_summary(const double *, size_t, struct summary *);
double	 stats_median(const double *, size_t);
double	 stats_t975(double);		/* two-sided 95% t quantile, df */
double	 stats_t_cdf(double, double);	/* P(T <= t), df */
/* Welch's t-test: t, df and the two-sided p-value */
void	 stats_welch(const struct summary *, const struct summary *,
	    double *, double *, double *);
/* ratio a/b of two means and its standard deviation */
void	 stats_ratio(const struct summary *, const struct summary *,
	    double *, double *);
int	 stats_is_outlier(const double *, size_t, size_t);
/* least-squares slope of log(y) over log(x): 1 means linear growth */
double	 stats_loglog_slope(const double *, const double *, size_t);

#endif
