/*
 * cmd_history.c: `sluice history`: the runs recorded in the history file
 * (one JSON run record per line, see monitor.c) and, for one pipeline,
 * each stage's trend over the last runs: median, last, change, and a
 * regression flag when the last run is slower or bigger than the median
 * of the ones before by more than a threshold (and by at least 20ms or
 * 4 MB, below which run-to-run jitter dominates).  A corrupt or truncated
 * line is skipped with a warning naming file:line.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

struct hrun {
	char		*run;
	char		*pipeline;
	char		*status;
	long long	 start_ms, wall_us, cpu_us, peak_kb;
	const char	*line;		/* into the file's text */
	size_t		 len;
	int		 lineno;
};

struct hstage {
	char		*name;
	long long	*wall;		/* per selected run, -1: absent */
	long long	*rss;
};

static long long
num(const struct json *j, int obj, const char *key)
{
	long long v;
	double	 d;
	int	 t = json_get(j, obj, key);

	if (json_int(j, t, &v) == 0)
		return v;
	if (json_num(j, t, &d) == 0)
		return (long long)d;
	return -1;
}

static char *
str(const struct json *j, int obj, const char *key)
{
	int	 t = json_get(j, obj, key);

	return json_type(j, t) == JSON_STRING ? json_str(j, t) : xstrdup("");
}

static int
llcmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* median of the values >= 0 among v[0..n) */
static long long
median(const long long *v, size_t n)
{
	long long *c = xcalloc(n + 1, sizeof(*c)), m;
	size_t	 k = 0, i;

	for (i = 0; i < n; i++)
		if (v[i] >= 0)
			c[k++] = v[i];
	if (k == 0) {
		free(c);
		return -1;
	}
	qsort(c, k, sizeof(*c), llcmp);
	m = k % 2 ? c[k / 2] : (c[k / 2 - 1] + c[k / 2]) / 2;
	free(c);
	return m;
}

static struct hstage *
stage_slot(struct hstage **st, size_t *nst, const char *name, size_t nruns)
{
	size_t	 i;

	for (i = 0; i < *nst; i++)
		if (strcmp((*st)[i].name, name) == 0)
			return &(*st)[i];
	*st = xreallocarray(*st, *nst + 1, sizeof(**st));
	(*st)[*nst].name = xstrdup(name);
	(*st)[*nst].wall = xcalloc(nruns + 1, sizeof(long long));
	(*st)[*nst].rss = xcalloc(nruns + 1, sizeof(long long));
	for (i = 0; i < nruns; i++)
		(*st)[*nst].wall[i] = (*st)[*nst].rss[i] = -1;
	return &(*st)[(*nst)++];
}

static double
change(long long last, long long base)
{
	return base > 0 && last >= 0 ? ((double)last - (double)base) /
	    (double)base : 0;
}

int
cmd_history(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'J' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "threshold", required_argument, NULL, 't' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf text = { 0 }, out = { 0 };
	struct hrun *runs = NULL;
	struct hstage *st = NULL;
	size_t	 nruns = 0, nst = 0, i, k, first;
	const char *file = NULL, *want = NULL, *errstr, *p, *e;
	char	*path, *state;
	int	 c, json = 0, lineno = 0, regressions = 0;
	long long limit = 10;
	double	 threshold = 0.20;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'J':
			json = 1;
			break;
		case 'n':
			limit = strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-n expects a number of runs from "
				    "1 to 100000, found '%s'", optarg);
			break;
		case 'p':
			want = optarg;
			break;
		case 't': {
			char	*end;

			threshold = strtod(optarg, &end) / 100;
			if (end == optarg || (*end != '\0' &&
			    strcmp(end, "%") != 0) || threshold < 0)
				errx(EX_USAGE, "--threshold expects a percentage "
				    "such as 20%%, found '%s'", optarg);
			break;
		}
		case 'U':
			cmd_usage(argv[0]);
		default:
			cmd_badopt(argv[0], argv, c);
		}
	}
	if (argc != optind)
		cmd_usage(argv[0]);
	state = monitor_state_dir(NULL);
	path = file != NULL ? xstrdup(file) :
	    xasprintf("%s/history.jsonl", state);
	free(state);
	if (buf_readfile(&text, path) == -1)
		err(EX_NOINPUT, "cannot read history '%s'", path);
	buf_cstr(&text);
	for (p = text.data; p < text.data + text.len; p = e + 1) {
		struct json j;
		struct hrun r;

		lineno++;
		if ((e = memchr(p, '\n', text.len - (size_t)(p - text.data))) ==
		    NULL)
			e = text.data + text.len;
		if (e == p)
			continue;
		if (json_parse(&j, path, p, (size_t)(e - p), lineno) == -1 ||
		    json_type(&j, 0) != JSON_OBJECT ||
		    json_type(&j, json_get(&j, 0, "stages")) != JSON_ARRAY) {
			warnx("%s:%d: skipped a corrupt history record", path,
			    lineno);
			json_free(&j);
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.run = str(&j, 0, "run");
		r.pipeline = str(&j, 0, "pipeline");
		r.status = str(&j, 0, "status");
		r.start_ms = num(&j, 0, "start_ms");
		r.wall_us = num(&j, 0, "wall_us");
		r.cpu_us = num(&j, 0, "cpu_us");
		r.peak_kb = num(&j, 0, "peak_rss_kb");
		r.line = p;
		r.len = (size_t)(e - p);
		r.lineno = lineno;
		json_free(&j);
		runs = xreallocarray(runs, nruns + 1, sizeof(*runs));
		runs[nruns++] = r;
	}
	if (want == NULL && nruns > 0)
		want = runs[nruns - 1].pipeline;
	if (want == NULL)
		want = "";
	/* the last `limit` runs of the chosen pipeline, oldest first */
	{
		size_t	 keep = 0;

		for (i = nruns; i > 0; i--)
			if (strcmp(runs[i - 1].pipeline, want) == 0 &&
			    (long long)keep < limit)
				keep++;
		first = nruns;
		for (i = nruns, k = 0; i > 0 && k < keep; i--)
			if (strcmp(runs[i - 1].pipeline, want) == 0) {
				first = i - 1;
				k++;
			}
		k = 0;
		for (i = first; i < nruns; i++) {
			struct json j;
			int	 s, t;

			if (strcmp(runs[i].pipeline, want) != 0)
				continue;
			if (json_parse(&j, path, runs[i].line, runs[i].len,
			    runs[i].lineno) == 0) {
				s = json_get(&j, 0, "stages");
				JSON_FOREACH_ELEM(&j, s, t) {
					char	*name = str(&j, t, "name");
					struct hstage *h = stage_slot(&st, &nst,
					    name, (size_t)limit);

					if (num(&j, t, "attempts") > 0 ||
					    json_get(&j, t, "proc") != -1) {
						h->wall[k] = num(&j, t,
						    "wall_us");
						h->rss[k] = num(&j, t,
						    "max_rss_kb");
						if (h->wall[k] < 0)
							h->wall[k] = num(&j,
							    json_get(&j, t,
							    "proc"), "wall_us");
					}
					free(name);
				}
				json_free(&j);
			}
			k++;
		}
		limit = (long long)k;
	}
	{
		struct jw w;

		jw_init(&w, &out);
		if (json) {
			jw_obj(&w);
			jw_key(&w, "pipeline");
			jw_str(&w, want);
			jw_key(&w, "runs");
			jw_arr(&w);
		} else
			buf_printf(&out, "%-26s %-16s %-11s %9s %9s %9s\n",
			    "RUN", "PIPELINE", "STATUS", "WALL", "CPU",
			    "PEAK RSS");
		for (i = first; i < nruns; i++) {
			struct hrun *r = &runs[i];
			char	 w1[32], c1[32], m1[32];

			if (strcmp(r->pipeline, want) != 0)
				continue;
			if (json) {
				jw_obj(&w);
				jw_key(&w, "run");
				jw_str(&w, r->run);
				jw_key(&w, "status");
				jw_str(&w, r->status);
				jw_key(&w, "start_ms");
				jw_int(&w, r->start_ms);
				jw_key(&w, "wall_us");
				jw_int(&w, r->wall_us);
				jw_key(&w, "cpu_us");
				jw_int(&w, r->cpu_us);
				jw_key(&w, "peak_rss_kb");
				jw_int(&w, r->peak_kb);
				jw_obj_end(&w);
				continue;
			}
			fmt_duration(r->wall_us * 1000, w1, sizeof(w1));
			fmt_duration(r->cpu_us * 1000, c1, sizeof(c1));
			fmt_size(r->peak_kb * 1024, m1, sizeof(m1));
			buf_printf(&out, "%-26s %-16.16s %-11s %9s %9s %9s\n",
			    r->run, r->pipeline, r->status, w1, c1, m1);
		}
		if (json) {
			jw_arr_end(&w);
			jw_key(&w, "stages");
			jw_arr(&w);
		} else if (nst > 0)
			buf_printf(&out, "\n%-20s %4s %9s %9s %8s %9s %9s %8s\n",
			    "STAGE", "RUNS", "MEDIAN", "LAST", "CHANGE",
			    "MED RSS", "LAST RSS", "CHANGE");
		for (i = 0; i < nst; i++) {
			struct hstage *h = &st[i];
			size_t	 n = (size_t)limit, cnt = 0;
			long long lw = n > 0 ? h->wall[n - 1] : -1;
			long long lr = n > 0 ? h->rss[n - 1] : -1;
			long long mw = median(h->wall, n > 0 ? n - 1 : 0);
			long long mr = median(h->rss, n > 0 ? n - 1 : 0);
			double	 cw = change(lw, mw), cr = change(lr, mr);
			/* a noise floor: tiny stages jitter by large ratios */
			int	 reg = (mw > 0 && cw > threshold &&
			    lw - mw >= 20000) ||
			    (mr > 0 && cr > threshold && lr - mr >= 4096);
			char	 a[32], b[32], d[32], f[32];

			for (k = 0; k < n; k++)
				cnt += h->wall[k] >= 0;
			regressions += reg;
			if (json) {
				jw_obj(&w);
				jw_key(&w, "name");
				jw_str(&w, h->name);
				jw_key(&w, "runs");
				jw_int(&w, (long long)cnt);
				jw_key(&w, "median_wall_us");
				jw_int(&w, median(h->wall, n));
				jw_key(&w, "last_wall_us");
				jw_int(&w, lw);
				jw_key(&w, "wall_change");
				jw_double(&w, cw);
				jw_key(&w, "median_rss_kb");
				jw_int(&w, median(h->rss, n));
				jw_key(&w, "last_rss_kb");
				jw_int(&w, lr);
				jw_key(&w, "rss_change");
				jw_double(&w, cr);
				jw_key(&w, "regressed");
				jw_bool(&w, reg);
				jw_obj_end(&w);
				continue;
			}
			/* the medians the change is measured against: the
			 * runs before the last */
			fmt_duration(mw * 1000, a, sizeof(a));
			fmt_duration(lw * 1000, b, sizeof(b));
			fmt_size(mr * 1024, d, sizeof(d));
			fmt_size(lr * 1024, f, sizeof(f));
			buf_printf(&out, "%-20.20s %4zu %9s %9s %+7.0f%% %9s %9s "
			    "%+7.0f%%%s\n", h->name, cnt, a, b, cw * 100, d, f,
			    cr * 100, reg ? "  REGRESSED" : "");
		}
		if (json) {
			jw_arr_end(&w);
			jw_key(&w, "regressions");
			jw_int(&w, regressions);
			jw_obj_end(&w);
			buf_addc(&out, '\n');
		}
	}
	fwrite(out.data, 1, out.len, stdout);
	for (i = 0; i < nst; i++) {
		free(st[i].name);
		free(st[i].wall);
		free(st[i].rss);
	}
	free(st);
	for (i = 0; i < (size_t)(runs != NULL ? nruns : 0); i++) {
		free(runs[i].run);
		free(runs[i].pipeline);
		free(runs[i].status);
	}
	free(runs);
	buf_free(&out);
	buf_free(&text);
	free(path);
	return 0;
}
