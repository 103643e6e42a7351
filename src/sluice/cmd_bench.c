/*
 * cmd_bench.c: `sluice bench`: run pipelines (or strategies, profiles,
 * parameter values of one pipeline) W times to warm up and N times
 * measured, each run a whole `sluice run` process; wall time from the
 * monotonic clock, CPU from wait4 (the run and all its stages), peak
 * memory and per-stage times from the run's record.  Prints mean and
 * standard deviation, median, range, the 95% confidence interval of the
 * mean, outliers, relative speed with its uncertainty and Welch's test;
 * saves and compares baselines; exports JSON and Markdown.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "stats.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

struct stagetimes {
	char		*name;
	double		*wall;		/* seconds, per measured run */
	size_t		 n;
};

struct variant {
	char		*name;
	const char	*pipeline;
	char		**args;		/* sluice run options */
	size_t		 nargs;
	int		 cold;		/* empty its cache before each run */
	char		*cache_dir;
	double		*wall, *user, *sys, *rss;	/* s, s, s, bytes */
	size_t		 n;
	struct stagetimes *st;
	size_t		 nst;
	struct summary	 s, su, ss, sr;
	double		 param;		/* -L value, NAN if none */
};

struct bench {
	struct variant	*v;
	size_t		 nv;
	char		*tmp;
	char		*exe;
	const char	*prepare;
	long long	 runs;		/* 0: automatic */
	long long	 warmup;
	int		 interleave;
	int		 tty;
	char		**common;	/* -D, -j for every variant */
	size_t		 ncommon;
};

static void
addarg(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 2, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static struct variant *
new_variant(struct bench *B, const char *name, const char *pipeline)
{
	struct variant *v;

	B->v = xreallocarray(B->v, B->nv + 1, sizeof(*B->v));
	v = &B->v[B->nv++];
	memset(v, 0, sizeof(*v));
	v->name = xstrdup(name);
	v->pipeline = pipeline;
	v->param = NAN;
	return v;
}

static void	rm_rf(const char *);

/* a variant's label: the file's name, or its directory's for the
 * conventional dir/pipeline.json */
static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	static char buf[256];
	char	*dot;

	strlcpy(buf, s != NULL ? s + 1 : path, sizeof(buf));
	if ((dot = strrchr(buf, '.')) != NULL && dot != buf)
		*dot = '\0';
	if (strcmp(buf, "pipeline") == 0 && s != NULL && s > path) {
		const char *d = s;

		while (d > path && d[-1] != '/')
			d--;
		snprintf(buf, sizeof(buf), "%.*s", (int)(s - d), d);
	}
	return buf;
}

/* the temporary directory goes on every exit, errors included */
static char *bench_tmp;

static void
remove_tmp(void)
{
	if (bench_tmp != NULL)
		rm_rf(bench_tmp);
	bench_tmp = NULL;
}

/* the strategies of one pipeline, as sluice run options */
static void
add_strategy(struct bench *B, const char *pipeline, const char *strat,
    const char *label)
{
	struct variant *v;
	char	 name[512];

	snprintf(name, sizeof(name), "%s (%s)", label, strat);
	if (strcmp(strat, "auto") == 0) {
		static const char *const all[] = { "sequential", "parallel",
		    "minimal", "cold", "warm", "balanced" };
		size_t	 i;

		for (i = 0; i < 6; i++)
			add_strategy(B, pipeline, all[i], label);
		return;
	}
	v = new_variant(B, name, pipeline);
	if (strcmp(strat, "sequential") == 0) {
		addarg(&v->args, &v->nargs, "-j1");
	} else if (strcmp(strat, "parallel") == 0) {
		addarg(&v->args, &v->nargs, "-j0");
	} else if (strcmp(strat, "minimal") == 0) {
		addarg(&v->args, &v->nargs, "--no-cache");
		addarg(&v->args, &v->nargs, "--monitor=off");
	} else if (strcmp(strat, "cold") == 0 || strcmp(strat, "warm") == 0 ||
	    strcmp(strat, "cache-heavy") == 0 ||
	    strcmp(strat, "balanced") == 0) {
		v->cache_dir = xasprintf("%s/cache-%zu", B->tmp, B->nv);
		v->cold = strcmp(strat, "cold") == 0;
		addarg(&v->args, &v->nargs, "--cache-dir");
		addarg(&v->args, &v->nargs, v->cache_dir);
		if (strcmp(strat, "balanced") == 0)
			addarg(&v->args, &v->nargs, "--monitor=basic");
	} else
		errx(EX_USAGE, "bench: unknown strategy '%s' (sequential, "
		    "parallel, minimal, cold, warm, cache-heavy, balanced, "
		    "auto)", strat);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
rm_rf(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
run_shell(const char *cmd)
{
	char	*argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	pid_t	 pid;
	int	 st;

	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
stage_time(struct variant *v, const char *name, double wall, size_t run)
{
	size_t	 i;

	for (i = 0; i < v->nst; i++)
		if (strcmp(v->st[i].name, name) == 0)
			break;
	if (i == v->nst) {
		v->st = xreallocarray(v->st, v->nst + 1, sizeof(*v->st));
		v->st[i].name = xstrdup(name);
		v->st[i].wall = NULL;
		v->st[i].n = 0;
		v->nst++;
	}
	v->st[i].wall = xreallocarray(v->st[i].wall, run + 1,
	    sizeof(double));
	while (v->st[i].n < run)
		v->st[i].wall[v->st[i].n++] = NAN;
	v->st[i].wall[v->st[i].n++] = wall;
}

/* the last line of the history file: peak memory and stage times */
static void
read_record(const char *hist, struct variant *v, size_t run, double *rss)
{
	struct buf b = { 0 };
	struct json j;
	const char *line;
	int	 stages, s;
	long long val;

	*rss = NAN;
	if (buf_readfile(&b, hist) == -1 || b.len == 0) {
		buf_free(&b);
		return;
	}
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.len--;
	line = memrchr(b.data, '\n', b.len);
	line = line != NULL ? line + 1 : b.data;
	if (json_parse(&j, hist, line, (size_t)(b.data + b.len - line), 1) ==
	    0) {
		if (json_int(&j, json_get(&j, 0, "peak_sum_rss_kb"), &val) == 0)
			*rss = (double)val * 1024;
		stages = json_get(&j, 0, "stages");
		if (json_type(&j, stages) == JSON_ARRAY)
			JSON_FOREACH_ELEM(&j, stages, s) {
				char	*name;

				if (json_int(&j, json_get(&j, s, "wall_us"),
				    &val) == -1)
					continue;
				name = json_str(&j, json_get(&j, s, "name"));
				stage_time(v, name, (double)val / 1e6, run);
				free(name);
			}
		json_free(&j);
	}
	buf_free(&b);
}

/* one whole `sluice run`; measured unless warm-up */
static void
run_once(struct bench *B, struct variant *v, int measured)
{
	posix_spawn_file_actions_t fa;
	char	**argv = NULL, *hist, *state, *errf;
	size_t	 n = 0, i;
	struct rusage ru;
	int64_t	 t0, t1;
	pid_t	 pid;
	int	 st, e;
	double	 rss;

	if (v->cold && v->cache_dir != NULL)
		rm_rf(v->cache_dir);
	if (B->prepare != NULL && run_shell(B->prepare) != 0)
		errx(1, "bench: --prepare '%s' failed", B->prepare);
	state = xasprintf("%s/state", B->tmp);
	hist = xasprintf("%s/history-%p.jsonl", B->tmp, (void *)v);
	errf = xasprintf("%s/stderr", B->tmp);
	addarg(&argv, &n, "sluice");
	addarg(&argv, &n, "run");
	addarg(&argv, &n, "-q");
	addarg(&argv, &n, "--state-dir");
	addarg(&argv, &n, state);
	addarg(&argv, &n, "--history");
	addarg(&argv, &n, hist);
	for (i = 0; i < B->ncommon; i++)
		addarg(&argv, &n, B->common[i]);
	for (i = 0; i < v->nargs; i++)
		addarg(&argv, &n, v->args[i]);
	addarg(&argv, &n, v->pipeline);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600);
	t0 = mono_ns();
	e = posix_spawn(&pid, B->exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0)
		errc(EX_OSERR, e, "bench: cannot run '%s'", B->exe);
	if (wait4(pid, &st, 0, &ru) == -1)
		err(EX_OSERR, "wait4");
	t1 = mono_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		struct buf b = { 0 };

		(void)buf_readfile(&b, errf);
		errx(1, "bench: '%s' failed (%s %d); its stderr:\n%s", v->name,
		    WIFEXITED(st) ? "exit status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
		    b.len > 0 ? buf_cstr(&b) : "(empty)");
	}
	if (measured) {
		size_t	 k = v->n;

		v->wall = xreallocarray(v->wall, k + 1, sizeof(double));
		v->user = xreallocarray(v->user, k + 1, sizeof(double));
		v->sys = xreallocarray(v->sys, k + 1, sizeof(double));
		v->rss = xreallocarray(v->rss, k + 1, sizeof(double));
		v->wall[k] = (double)(t1 - t0) / 1e9;
		v->user[k] = (double)ru.ru_utime.tv_sec +
		    (double)ru.ru_utime.tv_usec / 1e6;
		v->sys[k] = (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6;
		read_record(hist, v, k, &rss);
		v->rss[k] = isnan(rss) ? (double)ru.ru_maxrss * 1024 : rss;
		v->n++;
	}
	for (i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	free(hist);
	free(state);
	free(errf);
}

static int
enough(const struct bench *B, const struct variant *v, int64_t spent)
{
	struct summary s;

	if (B->runs > 0)
		return (long long)v->n >= B->runs;
	if (v->n < 5)
		return 0;
	if (v->n >= 50 || spent > 10000000000LL)
		return 1;
	stats_summary(v->wall, v->n, &s);
	return s.mean > 0 && (s.ci_hi - s.mean) / s.mean < 0.02;
}

static void
fmt_s(double s, char *out, size_t sz)
{
	if (s < 1e-3)
		snprintf(out, sz, "%.1f µs", s * 1e6);
	else if (s < 1)
		snprintf(out, sz, "%.1f ms", s * 1e3);
	else
		snprintf(out, sz, "%.3f s", s);
}

static void
progress(struct bench *B, const struct variant *v, int64_t t0, size_t done,
    size_t total)
{
	double	 el = (double)(mono_ns() - t0) / 1e9;

	if (!B->tty)
		return;
	fprintf(stderr, "\r\033[K%s: run %zu/%zu, ETA %.1fs", v->name, done,
	    total, done > 0 ? el / (double)done * (double)(total - done) : 0);
	fflush(stderr);
}

static void
measure(struct bench *B)
{
	size_t	 i, w;
	int64_t	*t0 = xcalloc(B->nv + 1, sizeof(int64_t));
	int	 more = 1;

	for (i = 0; i < B->nv; i++)
		for (w = 0; w < (size_t)B->warmup; w++)
			run_once(B, &B->v[i], 0);
	if (B->interleave) {
		for (i = 0; i < B->nv; i++)
			t0[i] = mono_ns();
		while (more) {
			more = 0;
			for (i = 0; i < B->nv; i++)
				if (!enough(B, &B->v[i], mono_ns() - t0[i])) {
					run_once(B, &B->v[i], 1);
					progress(B, &B->v[i], t0[i], B->v[i].n,
					    B->runs > 0 ? (size_t)B->runs : 50);
					more = 1;
				}
		}
	} else
		for (i = 0; i < B->nv; i++) {
			t0[i] = mono_ns();
			while (!enough(B, &B->v[i], mono_ns() - t0[i])) {
				run_once(B, &B->v[i], 1);
				progress(B, &B->v[i], t0[i], B->v[i].n,
				    B->runs > 0 ? (size_t)B->runs : 50);
			}
		}
	if (B->tty)
		fputs("\r\033[K", stderr);
	for (i = 0; i < B->nv; i++) {
		struct variant *v = &B->v[i];

		stats_summary(v->wall, v->n, &v->s);
		stats_summary(v->user, v->n, &v->su);
		stats_summary(v->sys, v->n, &v->ss);
		stats_summary(v->rss, v->n, &v->sr);
	}
	free(t0);
}

static double
stage_median(const struct stagetimes *t)
{
	double	*c = xcalloc(t->n + 1, sizeof(double)), m;
	size_t	 i, k = 0;

	for (i = 0; i < t->n; i++)
		if (!isnan(t->wall[i]))
			c[k++] = t->wall[i];
	m = k > 0 ? stats_median(c, k) : NAN;
	free(c);
	return m;
}

static void
report(struct bench *B)
{
	size_t	 i, k, best = 0, nsig = 0;
	char	 a[32], b[32], c[32], d[32], m[32];

	for (i = 0; i < B->nv; i++) {
		struct variant *v = &B->v[i];

		printf("Benchmark %zu: %s\n", i + 1, v->name);
		fmt_s(v->s.mean, a, sizeof(a));
		fmt_s(v->s.sd, b, sizeof(b));
		fmt_s(v->su.mean, c, sizeof(c));
		fmt_s(v->ss.mean, d, sizeof(d));
		printf("  Time (mean ± σ):   %10s ± %9s    [User: %s, System: "
		    "%s]\n", a, b, c, d);
		fmt_s(v->s.min, a, sizeof(a));
		fmt_s(v->s.max, b, sizeof(b));
		fmt_s(v->s.median, c, sizeof(c));
		printf("  Range (min … max): %10s … %9s    %zu runs, median %s\n",
		    a, b, v->n, c);
		fmt_s(v->s.ci_lo, a, sizeof(a));
		fmt_s(v->s.ci_hi, b, sizeof(b));
		fmt_size((int64_t)v->sr.max, m, sizeof(m));
		printf("  95%% CI of the mean: %s … %s; peak memory %s\n", a, b,
		    m);
		if (v->s.outliers > 0)
			printf("  Warning: %zu statistical outlier%s (modified "
			    "z-score above 3.5): other programs or caches may "
			    "have disturbed the runs\n", v->s.outliers,
			    v->s.outliers == 1 ? "" : "s");
		for (k = 0; k < v->nst; k++) {
			fmt_s(stage_median(&v->st[k]), a, sizeof(a));
			printf("    stage %-20s median %s\n", v->st[k].name, a);
		}
		putchar('\n');
		if (v->s.mean < B->v[best].s.mean)
			best = i;
	}
	if (B->nv < 2)
		return;
	printf("Summary\n  %s ran\n", B->v[best].name);
	for (i = 0; i < B->nv; i++) {
		double	 r, sd, t, df, p;

		if (i == best)
			continue;
		stats_ratio(&B->v[i].s, &B->v[best].s, &r, &sd);
		stats_welch(&B->v[i].s, &B->v[best].s, &t, &df, &p);
		printf("    %.2f ± %.2f times faster than %s (%s, p = %.3g)\n",
		    r, sd, B->v[i].name, p < 0.05 ? "significant" :
		    "not significant", p);
		if (p < 0.05)
			nsig++;
	}
	printf("Recommendation: %s%s\n", B->v[best].name, nsig == B->nv - 1 ?
	    "" : " (not significantly faster than every other variant)");
}

static void
growth(struct bench *B)
{
	double	*x, *y, *r;
	size_t	 i, n = 0;
	double	 st, sr;

	x = xcalloc(B->nv + 1, sizeof(double));
	y = xcalloc(B->nv + 1, sizeof(double));
	r = xcalloc(B->nv + 1, sizeof(double));
	for (i = 0; i < B->nv; i++)
		if (!isnan(B->v[i].param) && B->v[i].param > 0) {
			x[n] = B->v[i].param;
			y[n] = B->v[i].s.mean;
			r[n++] = B->v[i].sr.max;
		}
	if (n >= 2) {
		st = stats_loglog_slope(x, y, n);
		sr = stats_loglog_slope(x, r, n);
		printf("\nGrowth\n");
		for (i = 0; i < n; i++) {
			char	 a[32];

			fmt_s(y[i] / x[i], a, sizeof(a));
			printf("  %g: %s per unit\n", x[i], a);
		}
		printf("  time grows as n^%.2f (%s), peak memory as n^%.2f\n",
		    st, st < 1.15 ? "linear or better" : st < 1.6 ?
		    "worse than linear" : "quadratic or worse", sr);
	}
	free(x);
	free(y);
	free(r);
}

/* kept: variants of an old baseline this run did not measure, as raw
 * JSON objects, so --update-baseline loses none of them */
static void
export_json_keep(struct bench *B, const char *path, char **kept,
    size_t nkept);

static void
export_json(struct bench *B, const char *path)
{
	export_json_keep(B, path, NULL, 0);
}

static void
export_json_keep(struct bench *B, const char *path, char **kept,
    size_t nkept)
{
	struct buf b = { 0 };
	struct jw w;
	size_t	 i, k;
	FILE	*f;

	jw_init(&w, &b);
	jw_obj(&w);
	jw_key(&w, "v");
	jw_int(&w, 1);
	jw_key(&w, "variants");
	jw_arr(&w);
	for (i = 0; i < B->nv; i++) {
		struct variant *v = &B->v[i];

		jw_obj(&w);
		jw_key(&w, "name");
		jw_str(&w, v->name);
		jw_key(&w, "pipeline");
		jw_str(&w, v->pipeline);
		jw_key(&w, "runs");
		jw_int(&w, (long long)v->n);
		jw_key(&w, "mean_s");
		jw_double(&w, v->s.mean);
		jw_key(&w, "sd_s");
		jw_double(&w, v->s.sd);
		jw_key(&w, "median_s");
		jw_double(&w, v->s.median);
		jw_key(&w, "min_s");
		jw_double(&w, v->s.min);
		jw_key(&w, "max_s");
		jw_double(&w, v->s.max);
		jw_key(&w, "ci95_s");
		jw_arr(&w);
		jw_double(&w, v->s.ci_lo);
		jw_double(&w, v->s.ci_hi);
		jw_arr_end(&w);
		jw_key(&w, "user_s");
		jw_double(&w, v->su.mean);
		jw_key(&w, "system_s");
		jw_double(&w, v->ss.mean);
		jw_key(&w, "peak_rss_bytes");
		jw_double(&w, v->sr.max);
		jw_key(&w, "outliers");
		jw_int(&w, (long long)v->s.outliers);
		jw_key(&w, "times_s");
		jw_arr(&w);
		for (k = 0; k < v->n; k++)
			jw_double(&w, v->wall[k]);
		jw_arr_end(&w);
		jw_key(&w, "stages");
		jw_obj(&w);
		for (k = 0; k < v->nst; k++) {
			jw_key(&w, v->st[k].name);
			jw_double(&w, stage_median(&v->st[k]));
		}
		jw_obj_end(&w);
		jw_obj_end(&w);
	}
	for (i = 0; i < nkept; i++)
		jw_raw(&w, kept[i], strlen(kept[i]));
	jw_arr_end(&w);
	jw_obj_end(&w);
	buf_addc(&b, '\n');
	if ((f = fopen(path, "we")) == NULL || fwrite(b.data, 1, b.len, f) !=
	    b.len || fclose(f) != 0)
		err(EX_CANTCREAT, "cannot write '%s'", path);
	buf_free(&b);
}

static void
export_md(struct bench *B, const char *path)
{
	FILE	*f;
	size_t	 i;

	if ((f = fopen(path, "we")) == NULL)
		err(EX_CANTCREAT, "cannot write '%s'", path);
	fprintf(f, "| Variant | Mean [ms] | Min [ms] | Max [ms] | Median [ms] | "
	    "95%% CI [ms] | Peak memory [MB] |\n|:---|---:|---:|---:|---:|"
	    "---:|---:|\n");
	for (i = 0; i < B->nv; i++) {
		struct variant *v = &B->v[i];

		fprintf(f, "| `%s` | %.1f ± %.1f | %.1f | %.1f | %.1f | "
		    "%.1f … %.1f | %.1f |\n", v->name, v->s.mean * 1e3,
		    v->s.sd * 1e3, v->s.min * 1e3, v->s.max * 1e3,
		    v->s.median * 1e3, v->s.ci_lo * 1e3, v->s.ci_hi * 1e3,
		    v->sr.max / 1048576);
	}
	if (fclose(f) != 0)
		err(EX_CANTCREAT, "cannot write '%s'", path);
}

/* a baseline is an export; compare by variant name */
static int
compare_baseline(struct bench *B, const char *path, double threshold,
    int update, double improvement)
{
	struct buf b = { 0 };
	struct json j;
	int	 vs, e, rc = 0, improved = 0, missing = 0;
	size_t	 i;

	if (buf_readfile(&b, path) == -1) {
		if (update && errno == ENOENT) {
			export_json(B, path);
			printf("\nBaseline %s created\n", path);
			return 0;
		}
		err(EX_NOINPUT, "cannot read baseline '%s'", path);
	}
	if (json_parse(&j, path, b.data, b.len, 1) == -1)
		errx(EX_DATAERR, "%s", j.err);
	vs = json_get(&j, 0, "variants");
	if (json_type(&j, vs) != JSON_ARRAY)
		json_errx(&j, 0, "not a sluice bench baseline: no 'variants'");
	printf("\nBaseline %s (threshold %.0f%%)\n", path, threshold * 100);
	for (i = 0; i < B->nv; i++) {
		struct variant *v = &B->v[i];
		struct summary base;
		double	*times = NULL, t, df, p, change;
		size_t	 n = 0;
		int	 found = 0, tt, x;

		JSON_FOREACH_ELEM(&j, vs, e) {
			if (!json_eq(&j, json_get(&j, e, "name"), v->name))
				continue;
			found = 1;
			tt = json_get(&j, e, "times_s");
			if (json_type(&j, tt) == JSON_ARRAY)
				JSON_FOREACH_ELEM(&j, tt, x) {
					times = xreallocarray(times, n + 1,
					    sizeof(double));
					if (json_num(&j, x, &times[n]) == 0)
						n++;
				}
		}
		if (!found || n == 0) {
			printf("  %s: not in the baseline\n", v->name);
			missing = 1;
			free(times);
			continue;
		}
		stats_summary(times, n, &base);
		stats_welch(&v->s, &base, &t, &df, &p);
		change = base.mean > 0 ? v->s.mean / base.mean - 1 : 0;
		if (change > threshold && p < 0.05) {
			printf("  %s: REGRESSION %+.1f%% (p = %.3g)\n", v->name,
			    change * 100, p);
			warnx("bench: '%s' regressed by %.1f%% against %s",
			    v->name, change * 100, path);
			rc = 2;
		} else if (change < -improvement && p < 0.05) {
			printf("  %s: improved %+.1f%% (p = %.3g)\n", v->name,
			    change * 100, p);
			improved = 1;
		} else
			printf("  %s: %+.1f%% (p = %.3g), within the "
			    "threshold\n", v->name, change * 100, p);
		free(times);
	}
	if (update && (improved || missing) && rc == 0) {
		char	**kept = NULL;
		size_t	 nkept = 0;

		JSON_FOREACH_ELEM(&j, vs, e) {
			int	 mine = 0;

			for (i = 0; i < B->nv; i++)
				mine |= json_eq(&j, json_get(&j, e, "name"),
				    B->v[i].name);
			if (mine)
				continue;
			kept = xreallocarray(kept, nkept + 1, sizeof(char *));
			kept[nkept++] = xstrndup(j.text + j.tok[e].start,
			    (size_t)(j.tok[e].end - j.tok[e].start));
		}
		export_json_keep(B, path, kept, nkept);
		printf("  baseline updated\n");
		for (i = 0; i < nkept; i++)
			free(kept[i]);
		free(kept);
	}
	json_free(&j);
	buf_free(&b);
	return rc;
}

static void
free_words(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
bench_free(struct bench *B)
{
	size_t	 i, k;

	for (i = 0; i < B->nv; i++) {
		struct variant *v = &B->v[i];

		free(v->name);
		free_words(v->args, v->nargs);
		free(v->cache_dir);
		free(v->wall);
		free(v->user);
		free(v->sys);
		free(v->rss);
		for (k = 0; k < v->nst; k++) {
			free(v->st[k].name);
			free(v->st[k].wall);
		}
		free(v->st);
	}
	free(B->v);
	free_words(B->common, B->ncommon);
}

static char **
split_words(const char *s, size_t *n)
{
	char	**v = NULL, *copy = xstrdup(s), *w, *save = NULL;

	*n = 0;
	for (w = strtok_r(copy, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save))
		addarg(&v, n, w);
	free(copy);
	return v;
}

int
cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "baseline", required_argument, NULL, 'B' },
		{ "export-json", required_argument, NULL, 'J' },
		{ "export-markdown", required_argument, NULL, 'M' },
		{ "interleave", no_argument, NULL, 'I' },
		{ "parameter-list", required_argument, NULL, 'L' },
		{ "prepare", required_argument, NULL, 'p' },
		{ "profiles", required_argument, NULL, 'P' },
		{ "runs", required_argument, NULL, 'r' },
		{ "save-baseline", required_argument, NULL, 'S' },
		{ "strategy", required_argument, NULL, 's' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "update-baseline", no_argument, NULL, 'u' },
		{ "variant", required_argument, NULL, 'V' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct bench B;
	const char *baseline = NULL, *save = NULL, *ejson = NULL, *emd = NULL;
	const char *strategies = NULL, *profiles = NULL, *errstr;
	const char *lname[8], *lvalues[8];
	size_t	 nlists = 0, l;
	char	**customs = NULL, tmpl[4096], exe[4096], *end;
	size_t	 ncustoms = 0, i, k, nbase;
	double	 threshold = 0.10, improvement = 0.20;
	int	 c, update = 0, rc = 0;
	ssize_t	 len;

	memset(&B, 0, sizeof(B));
	B.warmup = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:D:j:L:r:w:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'B':
			baseline = optarg;
			break;
		case 'D':
			addarg(&B.common, &B.ncommon, "-D");
			addarg(&B.common, &B.ncommon, optarg);
			break;
		case 'I':
			B.interleave = 1;
			break;
		case 'J':
			ejson = optarg;
			break;
		case 'j':
			addarg(&B.common, &B.ncommon, "-j");
			addarg(&B.common, &B.ncommon, optarg);
			break;
		case 'L':
			if ((end = strchr(optarg, ' ')) == NULL &&
			    optind < argc && argv[optind][0] != '-') {
				for (l = 0; l < nlists; l++)
					if (strcmp(lname[l], optarg) == 0)
						errx(EX_USAGE, "bench: -L %s is given "
						    "twice", optarg);
				if (nlists == sizeof(lname) / sizeof(lname[0]))
					errx(EX_USAGE, "bench: -L: at most %zu "
					    "parameters", nlists);
				lname[nlists] = optarg;
				lvalues[nlists++] = argv[optind++];
			} else
				errx(EX_USAGE, "-L expects a name and a list "
				    "of values: -L tables 10,50,200");
			break;
		case 'M':
			emd = optarg;
			break;
		case 'p':
			B.prepare = optarg;
			break;
		case 'P':
			profiles = optarg;
			break;
		case 'r':
			B.runs = strtonum(optarg, 2, 100000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--runs expects a number from 2, "
				    "found '%s'", optarg);
			break;
		case 'S':
			save = optarg;
			break;
		case 's':
			strategies = optarg;
			break;
		case 'T':
			threshold = strtod(optarg, &end) / 100;
			if (end == optarg || (*end != '\0' &&
			    strcmp(end, "%") != 0) || threshold <= 0)
				errx(EX_USAGE, "--threshold expects a percentage "
				    "such as 10%%, found '%s'", optarg);
			break;
		case 'u':
			update = 1;
			break;
		case 'V':
			customs = xreallocarray(customs, ncustoms + 1,
			    sizeof(char *));
			customs[ncustoms++] = optarg;
			break;
		case 'w':
			B.warmup = strtonum(optarg, 0, 100000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "--warmup expects a number, found "
				    "'%s'", optarg);
			break;
		case 'U':
			cmd_usage(argv[0]);
		default:
			cmd_badopt(argv[0], argv, c);
		}
	}
	if (optind >= argc)
		cmd_usage(argv[0]);
	if ((len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		err(EX_OSERR, "/proc/self/exe");
	exe[len] = '\0';
	B.exe = exe;
	snprintf(tmpl, sizeof(tmpl), "%s/sluice-bench.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if ((B.tmp = mkdtemp(tmpl)) == NULL)
		err(EX_CANTCREAT, "mkdtemp");
	bench_tmp = B.tmp;
	atexit(remove_tmp);
	B.tty = isatty(2);
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		const char *label = base_name(argv[i]);
		char	*list, *w, *sv = NULL;

		if (access(argv[i], R_OK) == -1)
			err(EX_NOINPUT, "cannot read '%s'", argv[i]);
		if (strategies == NULL && profiles == NULL && ncustoms == 0) {
			new_variant(&B, label, argv[i]);
			continue;
		}
		if (strategies != NULL) {
			list = xstrdup(strategies);
			for (w = strtok_r(list, ",", &sv); w != NULL;
			    w = strtok_r(NULL, ",", &sv))
				add_strategy(&B, argv[i], w, label);
			free(list);
		}
		if (profiles != NULL) {
			list = xstrdup(profiles);
			for (w = strtok_r(list, ",", &sv); w != NULL;
			    w = strtok_r(NULL, ",", &sv)) {
				char	*name = xasprintf("%s (profile %s)",
				    label, w);
				struct variant *v = new_variant(&B, name,
				    argv[i]);

				addarg(&v->args, &v->nargs, "--profile");
				addarg(&v->args, &v->nargs, w);
				free(name);
			}
			free(list);
		}
		for (k = 0; k < ncustoms; k++) {
			const char *eq = strchr(customs[k], '=');
			char	*name;
			struct variant *v;

			if (eq == NULL)
				errx(EX_USAGE, "--variant expects "
				    "name=options, found '%s'", customs[k]);
			name = xasprintf("%s (%.*s)", label,
			    (int)(eq - customs[k]), customs[k]);
			v = new_variant(&B, name, argv[i]);
			free(v->args);
			v->args = split_words(eq + 1, &v->nargs);
			free(name);
		}
	}
	/* every variant x every value of each list, in the order given;
	 * growth is for one list only */
	for (l = 0; l < nlists; l++) {
		char	*list = xstrdup(lvalues[l]), *w, *sv = NULL;
		struct variant *old = B.v;

		nbase = B.nv;
		B.v = NULL;
		B.nv = 0;
		for (w = strtok_r(list, ",", &sv); w != NULL;
		    w = strtok_r(NULL, ",", &sv))
			for (i = 0; i < nbase; i++) {
				char	*name = xasprintf("%s %s=%s",
				    old[i].name, lname[l], w);
				char	*def = xasprintf("%s=%s", lname[l], w);
				struct variant *v = new_variant(&B, name,
				    old[i].pipeline);

				for (k = 0; k < old[i].nargs; k++)
					addarg(&v->args, &v->nargs,
					    old[i].args[k]);
				addarg(&v->args, &v->nargs, "-D");
				addarg(&v->args, &v->nargs, def);
				v->cold = old[i].cold;
				if (old[i].cache_dir != NULL)
					v->cache_dir = xstrdup(
					    old[i].cache_dir);
				v->param = strtod(w, &end);
				if (*end != '\0' || nlists > 1)
					v->param = NAN;
				free(name);
				free(def);
			}
		free(list);
		{
			struct bench O = { 0 };

			O.v = old;
			O.nv = nbase;
			bench_free(&O);
		}
	}
	measure(&B);
	report(&B);
	growth(&B);
	if (ejson != NULL)
		export_json(&B, ejson);
	if (emd != NULL)
		export_md(&B, emd);
	if (save != NULL)
		export_json(&B, save);
	if (baseline != NULL)
		rc = compare_baseline(&B, baseline, threshold, update,
		    improvement);
	remove_tmp();
	bench_free(&B);
	free(customs);
	return rc;
}
