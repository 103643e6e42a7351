/*
 * cmd_report.c: `sluice report`: find a run record (the last run, a
 * position in history, a run id, a run directory or a file), read it
 * into the report model of report.h, compute what the record lacks, read
 * the trend from history.jsonl, and print JSON (written here), Markdown
 * (report_md.c) or HTML (report_html.c).  report_write() is also what
 * `sluice run --report` calls.  Fields the record does not have are left
 * out or computed; fields of the wrong type are errors (exit 65).
 */
#include <sys/stat.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "report.h"
#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

/* a stage regresses when it is this much slower or bigger than usual */
#define REG_RATIO	1.25
#define REG_WALL_US	50000		/* and at least 50 ms slower */
#define REG_RSS_KB	1024		/* or 1 MiB bigger */
#define REG_MIN_RUNS	3		/* earlier runs needed for a median */

struct hline {
	size_t		 off, len;
	int		 lineno;
	int		 ok;
	char		*run, *pipeline, *dir;
};

struct history {
	char		*path;
	struct buf	 text;
	struct hline	*l;
	size_t		 n;
};

/* --- formatting helpers shared by the writers ---------------------- */

void
rep_dur(int64_t us, char *out, size_t sz)
{
	double	 s = (double)us / 1e6;

	if (us < 0)
		snprintf(out, sz, "-");
	else if (us < 1000)
		snprintf(out, sz, "%lldus", (long long)us);
	else if (us < 10000)
		snprintf(out, sz, "%.2fms", (double)us / 1e3);
	else if (us < 100000)
		snprintf(out, sz, "%.1fms", (double)us / 1e3);
	else if (us < 1000000)
		snprintf(out, sz, "%.0fms", (double)us / 1e3);
	else if (s < 10)
		snprintf(out, sz, "%.2fs", s);
	else if (s < 60)
		snprintf(out, sz, "%.1fs", s);
	else if (s < 3600)
		snprintf(out, sz, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else
		snprintf(out, sz, "%dh%02dm", (int)(s / 3600),
		    (int)(s / 60) % 60);
}

void
rep_bytes(int64_t n, char *out, size_t sz)
{
	fmt_size(n, out, sz);
}

void
rep_size_kb(int64_t kb, char *out, size_t sz)
{
	fmt_size(kb * 1024, out, sz);
}

void
rep_pct(double x, char *out, size_t sz)
{
	if (x >= 0.1 || x == 0)
		snprintf(out, sz, "%.0f%%", x * 100);
	else
		snprintf(out, sz, "%.1f%%", x * 100);
}

/* a stage's end as plain text: "0", "3", "signal 9", ", timed out" */
void
rep_exit(const struct rep_stage *S, struct buf *b)
{
	if (S->signal > 0)
		buf_printf(b, "signal %d", S->signal);
	else if (S->exit >= 0)
		buf_printf(b, "%d", S->exit);
	else
		buf_adds(b, "-");
	if (S->timed_out)
		buf_adds(b, ", timed out");
}

void
rep_date(int64_t ms, char *out, size_t sz)
{
	time_t	 t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, sz, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, sz, "-");
}

int
report_format_of(const char *s, enum report_format *f)
{
	if (strcmp(s, "json") == 0)
		*f = RF_JSON;
	else if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
		*f = RF_MD;
	else if (strcmp(s, "html") == 0)
		*f = RF_HTML;
	else
		return -1;
	return 0;
}

/* --- typed getters: absent or null gives the default -------------- */

static int
present(const struct json *j, int obj, const char *key)
{
	int	 t = json_get(j, obj, key);

	return t != -1 && json_type(j, t) != JSON_NULL ? t : -1;
}

static char *
get_str(const struct json *j, int obj, const char *key)
{
	int	 t;

	if ((t = present(j, obj, key)) == -1)
		return NULL;
	if (json_type(j, t) != JSON_STRING)
		json_errx(j, t, "run record: '%s' must be a string, found %s",
		    key, json_typename(json_type(j, t)));
	return json_str(j, t);
}

static int64_t
get_int(const struct json *j, int obj, const char *key, int64_t def)
{
	double	 d;
	int	 t;

	if ((t = present(j, obj, key)) == -1)
		return def;
	if (json_num(j, t, &d) == -1 || fabs(d) > 9e15)
		json_errx(j, t, "run record: '%s' must be a number, found %s",
		    key, json_typename(json_type(j, t)));
	return (int64_t)llround(d);
}

static int
get_bool(const struct json *j, int obj, const char *key)
{
	int	 t;

	if ((t = present(j, obj, key)) == -1)
		return 0;
	if (json_type(j, t) == JSON_TRUE)
		return 1;
	if (json_type(j, t) == JSON_FALSE)
		return 0;
	json_errx(j, t, "run record: '%s' must be true or false, found %s",
	    key, json_typename(json_type(j, t)));
}

static int
get_kind(const struct json *j, int obj, const char *key, enum json_type ty)
{
	int	 t;

	if ((t = present(j, obj, key)) == -1)
		return -1;
	if (json_type(j, t) != ty)
		json_errx(j, t, "run record: '%s' must be an %s, found %s",
		    key, json_typename(ty), json_typename(json_type(j, t)));
	return t;
}

/* --- reading the record -------------------------------------------- */

/* a cache member: a result string, or an object {category, result} */
static void
read_cache(const struct json *j, int t, char **category, char **result)
{
	if (t == -1)
		return;
	if (json_type(j, t) == JSON_STRING) {
		free(*result);
		*result = json_str(j, t);
	} else if (json_type(j, t) == JSON_OBJECT) {
		char	*c = get_str(j, t, "category");
		char	*r = get_str(j, t, "result");

		if (c != NULL) {
			free(*category);
			*category = c;
		}
		if (r != NULL) {
			free(*result);
			*result = r;
		}
	} else
		json_errx(j, t, "run record: 'cache' must be a string or an "
		    "object, found %s", json_typename(json_type(j, t)));
}

static void
read_proc(const struct json *j, int t, struct rep_stage *S,
    struct rep_proc *P, int attempt)
{
	char	*cat = NULL;

	if (json_type(j, t) != JSON_OBJECT)
		json_errx(j, t, "run record: a process must be an object, "
		    "found %s", json_typename(json_type(j, t)));
	P->attempt = (int)get_int(j, t, "attempt", attempt);
	P->pid = get_int(j, t, "pid", 0);
	P->start_us = get_int(j, t, "start_us", 0);
	P->wall_us = get_int(j, t, "wall_us", 0);
	P->user_us = get_int(j, t, "user_us", 0);
	P->sys_us = get_int(j, t, "sys_us", 0);
	P->max_rss_kb = get_int(j, t, "max_rss_kb", 0);
	P->rchar = get_int(j, t, "rchar", 0);
	P->wchar = get_int(j, t, "wchar", 0);
	P->read_bytes = get_int(j, t, "read_bytes", 0);
	P->write_bytes = get_int(j, t, "write_bytes", 0);
	P->exit = (int)get_int(j, t, "exit", -1);
	P->signal = (int)get_int(j, t, "signal", 0);
	P->timed_out = get_bool(j, t, "timed_out");
	read_cache(j, present(j, t, "cache"), &cat, &P->cache);
	if (cat != NULL && S->category == NULL)
		S->category = cat;
	else
		free(cat);
	if (P->start_us < 0)
		P->start_us = 0;
	if (P->wall_us < 0)
		P->wall_us = 0;
}

static char **
read_names(const struct json *j, int arr, size_t *n)
{
	char	**v;
	int	 e;

	*n = 0;
	if (arr == -1)
		return NULL;
	v = xcalloc((size_t)j->tok[arr].size + 1, sizeof(*v));
	JSON_FOREACH_ELEM(j, arr, e) {
		if (json_type(j, e) != JSON_STRING)
			json_errx(j, e, "run record: expected a stage name, "
			    "found %s", json_typename(json_type(j, e)));
		v[(*n)++] = json_str(j, e);
	}
	return v;
}

/* the unit of an alert's value when the record does not say */
static const char *
alert_unit(const char *metric)
{
	if (metric == NULL)
		return "";
	if (strcmp(metric, "wall") == 0 || strcmp(metric, "cpu") == 0)
		return "ns";
	if (strcmp(metric, "max_rss") == 0)
		return "bytes";
	if (strcmp(metric, "error_rate") == 0 ||
	    strcmp(metric, "cache_hit_rate") == 0)
		return "ratio";
	return "";
}

static void
alert_value(const struct rep_alert *A, double v, char *out, size_t sz)
{
	if (strcmp(A->unit, "ns") == 0)
		rep_dur((int64_t)llround(v / 1000), out, sz);
	else if (strcmp(A->unit, "us") == 0)
		rep_dur((int64_t)llround(v), out, sz);
	else if (strcmp(A->unit, "bytes") == 0)
		rep_bytes((int64_t)llround(v), out, sz);
	else if (strcmp(A->unit, "ratio") == 0)
		rep_pct(v, out, sz);
	else
		snprintf(out, sz, "%g", v);
}

/* "wall 2.31s, threshold 2.00s, at 2.00s" */
static char *
alert_message(const struct rep_alert *A)
{
	struct buf b = { 0 };
	char	 v[32];

	buf_adds(&b, A->metric != NULL ? A->metric : "alert");
	if (A->has_value) {
		alert_value(A, A->value, v, sizeof(v));
		buf_printf(&b, " %s", v);
	}
	if (A->has_threshold) {
		alert_value(A, A->threshold, v, sizeof(v));
		buf_printf(&b, ", threshold %s", v);
	}
	if (A->at_us >= 0) {
		rep_dur(A->at_us, v, sizeof(v));
		buf_printf(&b, ", at %s", v);
	}
	return buf_steal(&b);
}

static void
read_alert(const struct json *j, int t, const char *stage,
    struct report *r)
{
	struct rep_alert *A;
	double	 d;
	int	 v;

	if (json_type(j, t) != JSON_OBJECT)
		json_errx(j, t, "run record: an alert must be an object, "
		    "found %s", json_typename(json_type(j, t)));
	r->alerts = xreallocarray(r->alerts, r->nalerts + 1,
	    sizeof(*r->alerts));
	A = &r->alerts[r->nalerts++];
	memset(A, 0, sizeof(*A));
	if ((A->level = get_str(j, t, "level")) == NULL)
		A->level = xstrdup("warn");
	A->metric = get_str(j, t, "metric");
	if ((A->stage = get_str(j, t, "stage")) == NULL && stage != NULL)
		A->stage = xstrdup(stage);
	if ((A->message = get_str(j, t, "message")) == NULL)
		A->message = get_str(j, t, "text");
	if ((v = present(j, t, "value")) != -1 && json_num(j, v, &d) == 0) {
		A->value = d;
		A->has_value = 1;
	}
	if ((v = present(j, t, "threshold")) != -1 &&
	    json_num(j, v, &d) == 0) {
		A->threshold = d;
		A->has_threshold = 1;
	}
	if ((A->unit = get_str(j, t, "unit")) == NULL)
		A->unit = xstrdup(alert_unit(A->metric));
	A->at_us = get_int(j, t, "at_us", -1);
	if (A->message == NULL)
		A->message = alert_message(A);
}

static void
read_alerts(const struct json *j, int arr, const char *stage,
    struct report *r)
{
	int	 e;

	if (arr == -1)
		return;
	JSON_FOREACH_ELEM(j, arr, e)
		read_alert(j, e, stage, r);
}

static void
read_stage(const struct json *j, int t, struct rep_stage *S,
    struct report *r)
{
	int	 v, e;
	size_t	 k = 0;

	if (json_type(j, t) != JSON_OBJECT)
		json_errx(j, t, "run record: a stage must be an object, "
		    "found %s", json_typename(json_type(j, t)));
	if ((S->name = get_str(j, t, "name")) == NULL)
		json_errx(j, t, "run record: a stage has no 'name'");
	if ((S->state = get_str(j, t, "state")) == NULL)
		S->state = xstrdup("unknown");
	S->reason = get_str(j, t, "reason");
	S->group = (int)get_int(j, t, "group", 0);
	S->attempts = (int)get_int(j, t, "attempts", 0);
	S->deps = read_names(j, get_kind(j, t, "deps", JSON_ARRAY), &S->ndeps);
	if ((v = present(j, t, "cache")) != -1 &&
	    json_type(j, v) == JSON_STRING)
		S->category = json_str(j, v);	/* the pipeline's field */
	else
		read_cache(j, v, &S->category, &S->cache);
	if (S->category == NULL)
		S->category = get_str(j, t, "cache_category");
	if ((v = get_kind(j, t, "procs", JSON_ARRAY)) != -1) {
		S->procs = xcalloc((size_t)j->tok[v].size + 1,
		    sizeof(*S->procs));
		JSON_FOREACH_ELEM(j, v, e) {
			read_proc(j, e, S, &S->procs[k], (int)k + 1);
			k++;
		}
		S->nprocs = k;
	} else if ((v = get_kind(j, t, "proc", JSON_OBJECT)) != -1) {
		S->procs = xcalloc(1, sizeof(*S->procs));
		read_proc(j, v, S, &S->procs[0], S->attempts > 0 ?
		    S->attempts : 1);
		S->nprocs = 1;
	}
	read_alerts(j, get_kind(j, t, "alerts", JSON_ARRAY), S->name, r);
}

static void
read_record(struct report *r, const struct json *j)
{
	int	 v, e;
	size_t	 i = 0;

	if (json_type(j, 0) != JSON_OBJECT)
		json_errx(j, 0, "not a run record: expected an object, found %s",
		    json_typename(json_type(j, 0)));
	if (get_int(j, 0, "v", 1) > 1)
		json_errx(j, json_get(j, 0, "v"), "run record version %lld is "
		    "newer than this sluice reads (1)",
		    (long long)get_int(j, 0, "v", 1));
	if ((v = json_get(j, 0, "stages")) == -1 ||
	    json_type(j, v) != JSON_ARRAY)
		json_errx(j, v == -1 ? 0 : v, "not a run record: no 'stages' "
		    "array");
	r->run = get_str(j, 0, "run");
	r->pipeline = get_str(j, 0, "pipeline");
	r->file = get_str(j, 0, "file");
	r->dir = get_str(j, 0, "dir");
	r->profile = get_str(j, 0, "profile");
	r->host = get_str(j, 0, "host");
	if ((r->status = get_str(j, 0, "status")) == NULL)
		r->status = xstrdup("unknown");
	r->signal = (int)get_int(j, 0, "signal", 0);
	r->start_ms = get_int(j, 0, "start_ms", 0);
	r->wall_us = get_int(j, 0, "wall_us", -1);
	r->cpu_us = get_int(j, 0, "cpu_us", -1);
	r->peak_rss_kb = get_int(j, 0, "peak_rss_kb", -1);
	r->peak_sum_rss_kb = get_int(j, 0, "peak_sum_rss_kb", -1);
	r->jobs = (int)get_int(j, 0, "jobs", 0);
	r->keep_going = get_bool(j, 0, "keep_going");
	r->failed = (int)get_int(j, 0, "failed", -1);
	r->nst = (size_t)j->tok[v].size;
	r->st = xcalloc(r->nst + 1, sizeof(*r->st));
	JSON_FOREACH_ELEM(j, v, e)
		read_stage(j, e, &r->st[i++], r);
	read_alerts(j, get_kind(j, 0, "alerts", JSON_ARRAY), NULL, r);
	if ((e = get_kind(j, 0, "critical_path", JSON_ARRAY)) != -1) {
		char	**names;
		size_t	 n, k, s;

		names = read_names(j, e, &n);
		r->crit = xcalloc(n + 1, sizeof(int));
		for (k = 0; k < n; k++) {
			for (s = 0; s < r->nst; s++)
				if (strcmp(r->st[s].name, names[k]) == 0)
					break;
			if (s < r->nst)
				r->crit[r->ncrit++] = (int)s;
			free(names[k]);
		}
		free(names);
		r->crit_given = 1;
	}
	if ((e = present(j, 0, "efficiency")) != -1 &&
	    json_num(j, e, &r->efficiency) == 0)
		r->eff_given = 1;
}

/* --- derived figures ------------------------------------------------ */

static const struct report *sort_r;

static int
by_name(const void *a, const void *b)
{
	return strcmp(sort_r->st[*(const size_t *)a].name,
	    sort_r->st[*(const size_t *)b].name);
}

static int
by_start(const void *a, const void *b)
{
	const struct rep_stage *x = &sort_r->st[*(const size_t *)a];
	const struct rep_stage *y = &sort_r->st[*(const size_t *)b];
	int64_t	 sx = x->start_us < 0 ? INT64_MAX : x->start_us;
	int64_t	 sy = y->start_us < 0 ? INT64_MAX : y->start_us;

	if (sx != sy)
		return sx < sy ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* stage index by name through a sorted index, -1 when unknown */
static int
find_stage(const struct report *r, const size_t *byname, const char *name)
{
	size_t	 lo = 0, hi = r->nst;

	while (lo < hi) {
		size_t	 mid = (lo + hi) / 2;
		int	 c = strcmp(r->st[byname[mid]].name, name);

		if (c == 0)
			return (int)byname[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void
stage_figures(struct rep_stage *S)
{
	size_t	 i;

	S->start_us = S->end_us = -1;
	S->exit = -1;
	for (i = 0; i < S->nprocs; i++) {
		struct rep_proc *P = &S->procs[i];

		if (S->start_us == -1 || P->start_us < S->start_us)
			S->start_us = P->start_us;
		if (P->start_us + P->wall_us > S->end_us)
			S->end_us = P->start_us + P->wall_us;
		S->cpu_us += P->user_us + P->sys_us;
		if (P->max_rss_kb > S->max_rss_kb)
			S->max_rss_kb = P->max_rss_kb;
		S->read_bytes += P->read_bytes;
		S->write_bytes += P->write_bytes;
		S->rchar += P->rchar;
		S->wchar += P->wchar;
		S->wall_us = P->wall_us;
		S->exit = P->exit;
		S->signal = P->signal;
		S->timed_out = P->timed_out;
	}
	if (S->cache == NULL && S->nprocs > 0 &&
	    S->procs[S->nprocs - 1].cache != NULL)
		S->cache = xstrdup(S->procs[S->nprocs - 1].cache);
	if (S->cache == NULL && strcmp(S->state, "cached") == 0)
		S->cache = xstrdup("hit");
	if (S->attempts < (int)S->nprocs)
		S->attempts = (int)S->nprocs;
}

struct ev {
	int64_t		 t;
	int		 d;
};

static int
by_time(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d;		/* an end before a start */
}

static void
concurrency(struct report *r)
{
	struct ev *ev;
	size_t	 n = 0, i, k;
	int	 cur = 0;

	for (i = 0; i < r->nst; i++)
		n += r->st[i].nprocs;
	r->nproc = (int)n;
	ev = xcalloc(2 * n + 1, sizeof(*ev));
	n = 0;
	for (i = 0; i < r->nst; i++)
		for (k = 0; k < r->st[i].nprocs; k++) {
			struct rep_proc *P = &r->st[i].procs[k];

			ev[n].t = P->start_us;
			ev[n++].d = 1;
			ev[n].t = P->start_us + P->wall_us;
			ev[n++].d = -1;
		}
	qsort(ev, n, sizeof(*ev), by_time);
	for (i = 0; i < n; i++) {
		cur += ev[i].d;
		if (cur > r->max_conc)
			r->max_conc = cur;
	}
	free(ev);
}

/*
 * The critical path: from the stage that finished last, step back to
 * the dependency that finished last, until a stage without one.  Each
 * stage's share is the time from its predecessor's end to its own, so
 * the shares add up to the end of the run.
 */
static void
critical_path(struct report *r)
{
	int	 cur = -1, *rev;
	size_t	 i, k, n = 0;

	if (!r->crit_given) {
		for (i = 0; i < r->nst; i++)
			if (r->st[i].end_us >= 0 && (cur == -1 ||
			    r->st[i].end_us > r->st[cur].end_us))
				cur = (int)i;
		rev = xcalloc(r->nst + 1, sizeof(int));
		while (cur != -1 && n < r->nst) {
			struct rep_stage *S = &r->st[cur];
			int	 best = -1;

			rev[n++] = cur;
			S->critical = 1;
			for (k = 0; k < S->ndeps; k++) {
				int	 d = S->dep[k];

				if (d != -1 && r->st[d].end_us >= 0 &&
				    !r->st[d].critical && (best == -1 ||
				    r->st[d].end_us > r->st[best].end_us))
					best = d;
			}
			cur = best;
		}
		r->crit = xcalloc(n + 1, sizeof(int));
		for (i = 0; i < n; i++)
			r->crit[i] = rev[n - 1 - i];
		r->ncrit = n;
		free(rev);
	}
	for (i = 0; i < r->ncrit; i++) {
		struct rep_stage *S = &r->st[r->crit[i]];
		int64_t	 from = i == 0 ? 0 : r->st[r->crit[i - 1]].end_us;

		S->critical = 1;
		S->crit_us = S->end_us > from ? S->end_us - from : 0;
		r->crit_us += S->crit_us;
	}
}

static int
by_cat(const void *a, const void *b)
{
	return strcmp(((const struct rep_cat *)a)->name,
	    ((const struct rep_cat *)b)->name);
}

static void
cache_rates(struct report *r)
{
	size_t	 i, k;

	for (i = 0; i < r->nst; i++) {
		struct rep_stage *S = &r->st[i];
		const char *cat = S->category != NULL ? S->category : "default";
		int	 hit;

		if (S->cache == NULL)
			continue;
		if (strcmp(S->cache, "hit") == 0)
			hit = 1;
		else if (strcmp(S->cache, "miss") == 0)
			hit = 0;
		else
			continue;
		for (k = 0; k < r->ncats; k++)
			if (strcmp(r->cats[k].name, cat) == 0)
				break;
		if (k == r->ncats) {
			r->cats = xreallocarray(r->cats, r->ncats + 1,
			    sizeof(*r->cats));
			r->cats[k].name = xstrdup(cat);
			r->cats[k].hits = r->cats[k].misses = 0;
			r->ncats++;
		}
		if (hit)
			r->cats[k].hits++;
		else
			r->cats[k].misses++;
		r->hits += hit;
		r->lookups++;
	}
	if (r->ncats > 1)
		qsort(r->cats, r->ncats, sizeof(*r->cats), by_cat);
}

static void
derive(struct report *r)
{
	size_t	*byname, i, k;
	int64_t	 end = 0, cpu = 0, peak = 0;

	for (i = 0; i < r->nst; i++) {
		stage_figures(&r->st[i]);
		if (r->st[i].end_us > end)
			end = r->st[i].end_us;
		cpu += r->st[i].cpu_us;
		if (r->st[i].max_rss_kb > peak)
			peak = r->st[i].max_rss_kb;
	}
	if (r->wall_us < 0)
		r->wall_us = end;
	if (r->cpu_us < 0)
		r->cpu_us = cpu;
	if (r->peak_rss_kb < 0)
		r->peak_rss_kb = peak;
	byname = xcalloc(r->nst + 1, sizeof(size_t));
	r->order = xcalloc(r->nst + 1, sizeof(size_t));
	for (i = 0; i < r->nst; i++)
		byname[i] = r->order[i] = i;
	sort_r = r;
	qsort(byname, r->nst, sizeof(size_t), by_name);
	qsort(r->order, r->nst, sizeof(size_t), by_start);
	for (i = 0; i < r->nst; i++) {
		struct rep_stage *S = &r->st[i];

		S->dep = xcalloc(S->ndeps + 1, sizeof(int));
		for (k = 0; k < S->ndeps; k++)
			S->dep[k] = find_stage(r, byname, S->deps[k]);
	}
	free(byname);
	concurrency(r);
	critical_path(r);
	cache_rates(r);
	if (r->failed < 0) {
		r->failed = 0;
		for (i = 0; i < r->nst; i++)
			r->failed += strcmp(r->st[i].state, "failed") == 0;
	}
	r->utilisation = r->wall_us > 0 ? (double)r->cpu_us /
	    (double)r->wall_us : 0;
	if (!r->eff_given) {
		int	 slots = r->jobs > 0 ? r->jobs : r->max_conc;

		r->efficiency = slots > 0 ? r->utilisation / slots : 0;
	}
}

/* --- history and trend ---------------------------------------------- */

static void
hist_read(struct history *h, const char *state, const char *path)
{
	size_t	 off = 0;
	int	 lineno = 0;

	memset(h, 0, sizeof(*h));
	h->path = path != NULL ? xstrdup(path) :
	    xasprintf("%s/history.jsonl", state);
	if (buf_readfile(&h->text, h->path) == -1) {
		if (errno != ENOENT)
			warn("cannot read history '%s'", h->path);
		buf_reset(&h->text);
		return;
	}
	while (off < h->text.len) {
		char	*nl = memchr(h->text.data + off, '\n',
		    h->text.len - off);
		size_t	 len = nl != NULL ? (size_t)(nl - h->text.data) - off :
		    h->text.len - off;
		struct hline *L;
		struct json j;

		lineno++;
		if (strspn(h->text.data + off, " \t\r") >= len) {
			off += len + 1;
			continue;
		}
		h->l = xreallocarray(h->l, h->n + 1, sizeof(*h->l));
		L = &h->l[h->n++];
		memset(L, 0, sizeof(*L));
		L->off = off;
		L->len = len;
		L->lineno = lineno;
		if (json_parse(&j, h->path, h->text.data + off, len,
		    lineno) == -1)
			warnx("%s; line skipped", j.err);
		else if (json_type(&j, 0) != JSON_OBJECT ||
		    json_type(&j, json_get(&j, 0, "run")) != JSON_STRING)
			warnx("%s:%d: not a run record; line skipped",
			    h->path, lineno);
		else {
			int	 t;

			L->ok = 1;
			L->run = json_str(&j, json_get(&j, 0, "run"));
			if ((t = json_get(&j, 0, "pipeline")) != -1 &&
			    json_type(&j, t) == JSON_STRING)
				L->pipeline = json_str(&j, t);
			if ((t = json_get(&j, 0, "dir")) != -1 &&
			    json_type(&j, t) == JSON_STRING)
				L->dir = json_str(&j, t);
		}
		json_free(&j);
		off += len + 1;
	}
}

static void
hist_free(struct history *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++) {
		free(h->l[i].run);
		free(h->l[i].pipeline);
		free(h->l[i].dir);
	}
	free(h->l);
	free(h->path);
	buf_free(&h->text);
}

static int
same_pipeline(const struct report *r, const struct hline *L)
{
	if (!L->ok || r->pipeline == NULL || L->pipeline == NULL ||
	    strcmp(r->pipeline, L->pipeline) != 0)
		return 0;
	return r->dir == NULL || L->dir == NULL || strcmp(r->dir, L->dir) == 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t
median(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
add_regress(struct report *r, const struct rep_stage *S, const char *metric,
    int64_t *v, size_t n, int64_t last, int64_t floor)
{
	struct rep_regress *G;
	int64_t	 med;

	if (n < REG_MIN_RUNS)
		return;
	med = median(v, n);
	if (med <= 0 || (double)last <= (double)med * REG_RATIO ||
	    last - med < floor)
		return;
	r->regs = xreallocarray(r->regs, r->nregs + 1, sizeof(*r->regs));
	G = &r->regs[r->nregs++];
	G->stage = xstrdup(S->name);
	G->metric = metric;
	G->median = med;
	G->last = last;
	G->change = (double)last / (double)med - 1;
	G->runs = (int)n;
}

/* in history, a field of the wrong type is only missing */
static int64_t
loose_int(const struct json *j, int obj, const char *key)
{
	double	 d;

	if (json_num(j, json_get(j, obj, key), &d) == -1 || fabs(d) > 9e15)
		return 0;
	return (int64_t)llround(d);
}

/* one earlier run: its totals, and each known stage's wall and RSS */
static void
trend_run(struct report *r, struct history *h, const struct hline *L,
    const size_t *byname, int64_t *wall, int64_t *rss, size_t *nv)
{
	struct rep_run *R = &r->runs[r->nruns++];
	struct json j;
	int	 st, e;

	memset(R, 0, sizeof(*R));
	if (json_parse(&j, h->path, h->text.data + L->off, L->len,
	    L->lineno) == -1)
		return;			/* already warned about */
	R->run = xstrdup(L->run);
	R->status = json_type(&j, json_get(&j, 0, "status")) == JSON_STRING ?
	    json_str(&j, json_get(&j, 0, "status")) : xstrdup("unknown");
	R->start_ms = loose_int(&j, 0, "start_ms");
	R->wall_us = loose_int(&j, 0, "wall_us");
	R->cpu_us = loose_int(&j, 0, "cpu_us");
	R->peak_rss_kb = loose_int(&j, 0, "peak_rss_kb");
	st = json_get(&j, 0, "stages");
	if (json_type(&j, st) == JSON_ARRAY)
		JSON_FOREACH_ELEM(&j, st, e) {
			char	*name;
			int	 s, p;
			long long w, m;

			if (json_type(&j, json_get(&j, e, "name")) !=
			    JSON_STRING)
				continue;
			name = json_str(&j, json_get(&j, e, "name"));
			s = find_stage(r, byname, name);
			free(name);
			if ((p = json_get(&j, e, "proc")) == -1 &&
			    (p = json_get(&j, e, "procs")) != -1 &&
			    json_type(&j, p) == JSON_ARRAY &&
			    j.tok[p].size > 0) {
				int	 q, last = -1;

				JSON_FOREACH_ELEM(&j, p, q)
					last = q;
				p = last;
			}
			if (s == -1 || json_type(&j, p) != JSON_OBJECT ||
			    json_int(&j, json_get(&j, p, "wall_us"), &w) ||
			    json_int(&j, json_get(&j, p, "max_rss_kb"), &m))
				continue;
			wall[(size_t)s * REPORT_TREND + nv[s]] = w;
			rss[(size_t)s * REPORT_TREND + nv[s]] = m;
			nv[s]++;
		}
	json_free(&j);
}

static void
trend(struct report *r, struct history *h)
{
	size_t	*sel, nsel = 0, i, first, *byname, *nv;
	int64_t	*wall, *rss;
	struct rep_run *R;

	sel = xcalloc(h->n + 1, sizeof(size_t));
	for (i = 0; i < h->n; i++) {
		if (!same_pipeline(r, &h->l[i]))
			continue;
		sel[nsel++] = i;
		if (r->run != NULL && strcmp(h->l[i].run, r->run) == 0) {
			nsel--;		/* the current run comes last */
			break;
		}
	}
	first = nsel > REPORT_TREND - 1 ? nsel - (REPORT_TREND - 1) : 0;
	r->runs = xcalloc(REPORT_TREND, sizeof(*r->runs));
	byname = xcalloc(r->nst + 1, sizeof(size_t));
	for (i = 0; i < r->nst; i++)
		byname[i] = i;
	sort_r = r;
	qsort(byname, r->nst, sizeof(size_t), by_name);
	nv = xcalloc(r->nst + 1, sizeof(size_t));
	wall = xcalloc(r->nst * REPORT_TREND + 1, sizeof(int64_t));
	rss = xcalloc(r->nst * REPORT_TREND + 1, sizeof(int64_t));
	for (i = first; i < nsel; i++)
		trend_run(r, h, &h->l[sel[i]], byname, wall, rss, nv);
	R = &r->runs[r->nruns++];
	R->run = xstrdup(r->run != NULL ? r->run : "-");
	R->status = xstrdup(r->status);
	R->start_ms = r->start_ms;
	R->wall_us = r->wall_us;
	R->cpu_us = r->cpu_us;
	R->peak_rss_kb = r->peak_rss_kb;
	R->current = 1;
	for (i = 0; i < r->nst; i++) {
		struct rep_stage *S = &r->st[i];

		if (S->nprocs == 0 || strcmp(S->state, "done") != 0)
			continue;
		add_regress(r, S, "wall", wall + i * REPORT_TREND, nv[i],
		    S->wall_us, REG_WALL_US);
		add_regress(r, S, "max_rss", rss + i * REPORT_TREND, nv[i],
		    S->max_rss_kb, REG_RSS_KB);
	}
	free(wall);
	free(rss);
	free(nv);
	free(byname);
	free(sel);
}

/* --- recommendations ------------------------------------------------ */

static void
note(struct report *r, const char *kind, const char *stage, char *text)
{
	struct rep_note *N;

	r->notes = xreallocarray(r->notes, r->nnotes + 1, sizeof(*r->notes));
	N = &r->notes[r->nnotes++];
	N->kind = kind;
	N->stage = stage != NULL ? xstrdup(stage) : NULL;
	N->text = text;
}

static void
recommend(struct report *r)
{
	char	 a[32], b[32];
	size_t	 i;

	for (i = 0; i < r->ncrit; i++) {
		const struct rep_stage *S = &r->st[r->crit[i]];

		if (r->wall_us < 100000 || S->crit_us * 2 < r->wall_us)
			continue;
		rep_pct((double)S->crit_us / (double)r->wall_us, a, sizeof(a));
		note(r, "critical_path", S->name, xasprintf("stage '%s' "
		    "accounts for %s of the wall time on the critical path: "
		    "making it faster, or splitting it into shards, shortens "
		    "the run", S->name, a));
	}
	for (i = 0; i < r->ncats; i++) {
		const struct rep_cat *C = &r->cats[i];
		int	 n = C->hits + C->misses;

		if (n < 4 || C->hits * 2 >= n)
			continue;
		rep_pct((double)C->hits / n, a, sizeof(a));
		note(r, "cache_hit_rate", NULL, xasprintf("cache category "
		    "'%s' hit only %s (%d of %d): check what changes the "
		    "inputs, commands or environment of its stages",
		    C->name, a, C->hits, n));
	}
	if (r->jobs > 1 && r->max_conc > 0 && r->max_conc < r->jobs)
		note(r, "jobs", NULL, xasprintf("at most %d processes ran at "
		    "once: jobs %d is more than this pipeline's useful width, "
		    "-j %d gives the same schedule", r->max_conc, r->jobs,
		    r->max_conc));
	for (i = 0; i < r->nst; i++) {
		const struct rep_stage *S = &r->st[i];

		if (S->attempts > 1 && strcmp(S->state, "done") == 0) {
			snprintf(b, sizeof(b), "%d", S->attempts);
			note(r, "retries", S->name, xasprintf("stage '%s' "
			    "succeeded only on attempt %s: it may be flaky",
			    S->name, b));
		}
	}
}

/* --- finding the record --------------------------------------------- */

static int
is_number(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* the record text into b, its name for messages into *name, line0 */
static int
locate(const char *arg, const char *state, struct history *h,
    struct buf *b, char **name)
{
	struct stat sb;
	const char *errstr;
	size_t	 i, want, seen = 0;
	char	*path;
	int	 found;

	if (arg == NULL || is_number(arg)) {
		want = 1;
		if (arg != NULL) {
			want = (size_t)strtonum(arg, 1, 1000000000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "report: run position '%s' is "
				    "%s", arg, errstr);
		}
		for (i = h->n; i-- > 0; )
			if (h->l[i].ok && ++seen == want) {
				buf_add(b, h->text.data + h->l[i].off,
				    h->l[i].len);
				*name = xstrdup(h->path);
				return h->l[i].lineno;
			}
		if (seen == 0)
			errx(EX_NOINPUT, "no run recorded in '%s'", h->path);
		errx(EX_NOINPUT, "no run %s: '%s' has %zu run%s", arg,
		    h->path, seen, seen == 1 ? "" : "s");
	}
	if ((found = stat(arg, &sb) == 0) || strchr(arg, '/') != NULL ||
	    strstr(arg, ".json") != NULL) {
		path = found && S_ISDIR(sb.st_mode) ?
		    xasprintf("%s/run.json", arg) : xstrdup(arg);
		if (buf_readfile(b, path) == -1)
			err(errno == ENOENT ? EX_NOINPUT : EX_IOERR,
			    "cannot read run record '%s'", path);
		*name = path;
		return 1;
	}
	path = xasprintf("%s/runs/%s/run.json", state, arg);
	if (buf_readfile(b, path) == 0) {
		*name = path;
		return 1;
	}
	if (errno != ENOENT)
		err(EX_IOERR, "cannot read run record '%s'", path);
	free(path);
	for (i = h->n; i-- > 0; )
		if (h->l[i].ok && strcmp(h->l[i].run, arg) == 0) {
			buf_add(b, h->text.data + h->l[i].off, h->l[i].len);
			*name = xstrdup(h->path);
			return h->l[i].lineno;
		}
	errx(EX_NOINPUT, "no run '%s' in '%s'", arg, state);
}

struct report *
report_load(const char *arg, const char *state_opt, const char *history)
{
	struct report *r = xcalloc(1, sizeof(*r));
	struct history h;
	struct buf b = { 0 };
	struct json j;
	char	*state = monitor_state_dir(state_opt), *name = NULL;
	int	 line0;

	hist_read(&h, state, history);
	line0 = locate(arg, state, &h, &b, &name);
	if (json_parse(&j, name, b.data != NULL ? b.data : "", b.len,
	    line0) == -1)
		errx(EX_DATAERR, "%s", j.err);
	r->source = name;
	read_record(r, &j);
	json_free(&j);
	buf_free(&b);
	derive(r);
	trend(r, &h);
	recommend(r);
	hist_free(&h);
	free(state);
	return r;
}

void
report_free(struct report *r)
{
	size_t	 i, k;

	if (r == NULL)
		return;
	for (i = 0; i < r->nst; i++) {
		struct rep_stage *S = &r->st[i];

		free(S->name);
		free(S->state);
		free(S->reason);
		free(S->category);
		free(S->cache);
		for (k = 0; k < S->ndeps; k++)
			free(S->deps[k]);
		free(S->deps);
		free(S->dep);
		for (k = 0; k < S->nprocs; k++)
			free(S->procs[k].cache);
		free(S->procs);
	}
	for (i = 0; i < r->ncats; i++)
		free(r->cats[i].name);
	for (i = 0; i < r->nalerts; i++) {
		free(r->alerts[i].level);
		free(r->alerts[i].metric);
		free(r->alerts[i].stage);
		free(r->alerts[i].message);
		free(r->alerts[i].unit);
	}
	for (i = 0; i < r->nruns; i++) {
		free(r->runs[i].run);
		free(r->runs[i].status);
	}
	for (i = 0; i < r->nregs; i++)
		free(r->regs[i].stage);
	for (i = 0; i < r->nnotes; i++) {
		free(r->notes[i].stage);
		free(r->notes[i].text);
	}
	free(r->st);
	free(r->order);
	free(r->crit);
	free(r->cats);
	free(r->alerts);
	free(r->runs);
	free(r->regs);
	free(r->notes);
	free(r->source);
	free(r->run);
	free(r->pipeline);
	free(r->file);
	free(r->dir);
	free(r->profile);
	free(r->host);
	free(r->status);
	free(r);
}

/* --- JSON ------------------------------------------------------------ */

static void
jw_kstr(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	if (v != NULL)
		jw_str(w, v);
	else
		jw_null(w);
}

static void
jw_kint(struct jw *w, const char *k, long long v)
{
	jw_key(w, k);
	jw_int(w, v);
}

/* an integer, or null when it is not known */
static void
jw_kopt(struct jw *w, const char *k, long long v, int ok)
{
	jw_key(w, k);
	if (ok)
		jw_int(w, v);
	else
		jw_null(w);
}

/* a ratio rounded to 4 places, so the output does not depend on noise */
static void
jw_kratio(struct jw *w, const char *k, double v, int ok)
{
	jw_key(w, k);
	if (ok)
		jw_double(w, round(v * 10000) / 10000);
	else
		jw_null(w);
}

/* a measurement as given: integral values stay exact */
static void
jw_knum(struct jw *w, const char *k, double v, int ok)
{
	if (ok && v == floor(v) && fabs(v) < 9e15)
		jw_kint(w, k, (long long)v);
	else
		jw_kratio(w, k, v, ok);
}

static void
json_stage(struct jw *w, const struct report *r, const struct rep_stage *S)
{
	size_t	 k;

	jw_obj(w);
	jw_kstr(w, "name", S->name);
	jw_kstr(w, "state", S->state);
	jw_kint(w, "group", S->group);
	jw_key(w, "deps");
	jw_arr(w);
	for (k = 0; k < S->ndeps; k++)
		jw_str(w, S->deps[k]);
	jw_arr_end(w);
	jw_kint(w, "attempts", S->attempts);
	jw_key(w, "critical");
	jw_bool(w, S->critical);
	jw_kint(w, "critical_us", S->crit_us);
	jw_kopt(w, "start_us", S->start_us, S->start_us >= 0);
	jw_kopt(w, "end_us", S->end_us, S->end_us >= 0);
	jw_kint(w, "wall_us", S->wall_us);
	jw_kint(w, "cpu_us", S->cpu_us);
	jw_kint(w, "max_rss_kb", S->max_rss_kb);
	jw_kint(w, "read_bytes", S->read_bytes);
	jw_kint(w, "write_bytes", S->write_bytes);
	jw_kint(w, "rchar", S->rchar);
	jw_kint(w, "wchar", S->wchar);
	jw_kopt(w, "exit", S->exit, S->exit >= 0);
	jw_kopt(w, "signal", S->signal, S->signal > 0);
	jw_key(w, "timed_out");
	jw_bool(w, S->timed_out);
	jw_kstr(w, "reason", S->reason);
	jw_key(w, "cache");
	jw_obj(w);
	jw_kstr(w, "category", S->category);
	jw_kstr(w, "result", S->cache);
	jw_obj_end(w);
	jw_key(w, "procs");
	jw_arr(w);
	for (k = 0; k < S->nprocs; k++) {
		const struct rep_proc *P = &S->procs[k];

		jw_obj(w);
		jw_kint(w, "attempt", P->attempt);
		jw_kint(w, "pid", P->pid);
		jw_kint(w, "start_us", P->start_us);
		jw_kint(w, "wall_us", P->wall_us);
		jw_kint(w, "user_us", P->user_us);
		jw_kint(w, "sys_us", P->sys_us);
		jw_kint(w, "max_rss_kb", P->max_rss_kb);
		jw_kint(w, "read_bytes", P->read_bytes);
		jw_kint(w, "write_bytes", P->write_bytes);
		jw_kint(w, "rchar", P->rchar);
		jw_kint(w, "wchar", P->wchar);
		jw_kopt(w, "exit", P->exit, P->exit >= 0);
		jw_kopt(w, "signal", P->signal, P->signal > 0);
		jw_key(w, "timed_out");
		jw_bool(w, P->timed_out);
		jw_kstr(w, "cache", P->cache);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	(void)r;
	jw_obj_end(w);
}

void
report_json(const struct report *r, struct buf *b)
{
	struct jw w;
	size_t	 i;

	jw_init(&w, b);
	jw_obj(&w);
	jw_kint(&w, "report", REPORT_VERSION);
	jw_key(&w, "run");
	jw_obj(&w);
	jw_kstr(&w, "id", r->run);
	jw_kstr(&w, "pipeline", r->pipeline);
	jw_kstr(&w, "file", r->file);
	jw_kstr(&w, "dir", r->dir);
	jw_kstr(&w, "profile", r->profile);
	jw_kstr(&w, "host", r->host);
	jw_kstr(&w, "status", r->status);
	jw_kopt(&w, "signal", r->signal, r->signal > 0);
	jw_kint(&w, "start_ms", r->start_ms);
	jw_kint(&w, "jobs", r->jobs);
	jw_key(&w, "keep_going");
	jw_bool(&w, r->keep_going);
	jw_obj_end(&w);

	jw_key(&w, "totals");
	jw_obj(&w);
	jw_kint(&w, "wall_us", r->wall_us);
	jw_kint(&w, "cpu_us", r->cpu_us);
	jw_kratio(&w, "utilisation", r->utilisation, 1);
	jw_kratio(&w, "efficiency", r->efficiency, 1);
	jw_kint(&w, "peak_rss_kb", r->peak_rss_kb);
	jw_kopt(&w, "peak_sum_rss_kb", r->peak_sum_rss_kb,
	    r->peak_sum_rss_kb >= 0);
	jw_kint(&w, "stages", (long long)r->nst);
	jw_kint(&w, "processes", r->nproc);
	jw_kint(&w, "max_concurrent", r->max_conc);
	jw_kint(&w, "failed", r->failed);
	jw_kint(&w, "cache_hits", r->hits);
	jw_kint(&w, "cache_lookups", r->lookups);
	jw_kratio(&w, "cache_hit_rate", r->lookups > 0 ? (double)r->hits /
	    r->lookups : 0, r->lookups > 0);
	jw_obj_end(&w);

	jw_key(&w, "critical_path");
	jw_obj(&w);
	jw_key(&w, "stages");
	jw_arr(&w);
	for (i = 0; i < r->ncrit; i++)
		jw_str(&w, r->st[r->crit[i]].name);
	jw_arr_end(&w);
	jw_kint(&w, "wall_us", r->crit_us);
	jw_kstr(&w, "source", r->crit_given ? "record" : "computed");
	jw_obj_end(&w);

	jw_key(&w, "stages");
	jw_arr(&w);
	for (i = 0; i < r->nst; i++)
		json_stage(&w, r, &r->st[i]);
	jw_arr_end(&w);

	jw_key(&w, "cache");
	jw_arr(&w);
	for (i = 0; i < r->ncats; i++) {
		const struct rep_cat *C = &r->cats[i];

		jw_obj(&w);
		jw_kstr(&w, "category", C->name);
		jw_kint(&w, "hits", C->hits);
		jw_kint(&w, "misses", C->misses);
		jw_kratio(&w, "hit_rate", (double)C->hits /
		    (C->hits + C->misses), 1);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);

	jw_key(&w, "alerts");
	jw_arr(&w);
	for (i = 0; i < r->nalerts; i++) {
		const struct rep_alert *A = &r->alerts[i];

		jw_obj(&w);
		jw_kstr(&w, "level", A->level);
		jw_kstr(&w, "metric", A->metric);
		jw_kstr(&w, "stage", A->stage);
		jw_knum(&w, "value", A->value, A->has_value);
		jw_knum(&w, "threshold", A->threshold, A->has_threshold);
		jw_kstr(&w, "unit", A->unit);
		jw_kopt(&w, "at_us", A->at_us, A->at_us >= 0);
		jw_kstr(&w, "message", A->message);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);

	jw_key(&w, "trend");
	jw_obj(&w);
	jw_key(&w, "runs");
	jw_arr(&w);
	for (i = 0; i < r->nruns; i++) {
		const struct rep_run *R = &r->runs[i];

		if (R->run == NULL)
			continue;
		jw_obj(&w);
		jw_kstr(&w, "id", R->run);
		jw_kstr(&w, "status", R->status);
		jw_kint(&w, "start_ms", R->start_ms);
		jw_kint(&w, "wall_us", R->wall_us);
		jw_kint(&w, "cpu_us", R->cpu_us);
		jw_kint(&w, "peak_rss_kb", R->peak_rss_kb);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "regressions");
	jw_arr(&w);
	for (i = 0; i < r->nregs; i++) {
		const struct rep_regress *G = &r->regs[i];

		jw_obj(&w);
		jw_kstr(&w, "stage", G->stage);
		jw_kstr(&w, "metric", G->metric);
		jw_kint(&w, "median", G->median);
		jw_kint(&w, "last", G->last);
		jw_kratio(&w, "change", G->change, 1);
		jw_kint(&w, "runs", G->runs);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);

	jw_key(&w, "recommendations");
	jw_arr(&w);
	for (i = 0; i < r->nnotes; i++) {
		jw_obj(&w);
		jw_kstr(&w, "kind", r->notes[i].kind);
		jw_kstr(&w, "stage", r->notes[i].stage);
		jw_kstr(&w, "text", r->notes[i].text);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	buf_addc(b, '\n');
}

/* --- output ----------------------------------------------------------- */

static void
write_out(const struct buf *b, const char *out)
{
	char	*tmp;
	int	 fd;

	if (out == NULL || strcmp(out, "-") == 0) {
		if (fwrite(b->data, 1, b->len, stdout) != b->len ||
		    fflush(stdout) != 0)
			err(EX_IOERR, "standard output");
		return;
	}
	tmp = xasprintf("%s.tmp%d", out, (int)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		err(EX_CANTCREAT, "cannot write report '%s'", out);
	if (buf_writefd(b, fd) == -1 || close(fd) == -1 ||
	    rename(tmp, out) == -1) {
		unlink(tmp);
		err(EX_CANTCREAT, "cannot write report '%s'", out);
	}
	free(tmp);
}

void
report_write(const char *arg, const char *state, const char *history,
    enum report_format f, const char *out)
{
	struct report *r = report_load(arg, state, history);
	struct buf b = { 0 };

	switch (f) {
	case RF_JSON:
		report_json(r, &b);
		break;
	case RF_MD:
		report_md(r, &b);
		break;
	case RF_HTML:
		report_html(r, &b);
		break;
	}
	write_out(&b, out);
	buf_free(&b);
	report_free(r);
}

int
cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "history", required_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	enum report_format f = RF_MD;
	const char *out = NULL, *state = NULL, *history = NULL, *ext;
	int	 c, fset = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (report_format_of(optarg, &f) == -1)
				errx(EX_USAGE, "--format expects json, md or "
				    "html, found '%s'", optarg);
			fset = 1;
			break;
		case 'H':
			history = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'S':
			state = optarg;
			break;
		case 'U':
			cmd_usage(argv[0]);
		default:
			cmd_badopt(argv[0], argv, c);
		}
	}
	if (argc - optind > 1)
		cmd_usage(argv[0]);
	if (!fset && out != NULL && (ext = strrchr(out, '.')) != NULL &&
	    report_format_of(ext + 1, &f) == -1 && strcmp(ext, ".htm") == 0)
		f = RF_HTML;
	report_write(argc > optind ? argv[optind] : NULL, state, history, f,
	    out);
	return 0;
}
