/*
 * pipeline.c: read and resolve a pipeline file; see pipeline.h.
 *
 * Loading runs in passes over the JSON document: the top level and each
 * stage are read into "raw" form (strings with their tokens, so later
 * errors still point into the file), the chosen profile is laid over
 * them, -D values over the vars, then ${var} substitution, references,
 * fds, cycles (plan.c) and program lookup.  Any error exits.
 */
#include <sys/stat.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "util.h"
#include "xalloc.h"
#include "pipeline.h"
#include "plan.h"
#include "banned.h"

struct rawstr {
	char		*s;
	int		 tok;
};

struct rawref {				/* a stage name used as a reference */
	char		*name;
	int		 tok;
};

struct rawport {
	int		 fd;
	int		 tok;		/* of the fd's value */
	const char	*field;		/* "stdin" or "fds" */
	struct rawref	*refs;
	size_t		 nrefs;
};

struct rawenv {
	char		*key;
	struct rawstr	 val;
};

struct rawstage {
	int		 keytok;
	int		 has_run;
	int		 runtok;
	int		 shell;
	struct rawstr	*run;
	size_t		 nrun;
	struct rawport	*ports;
	size_t		 nports;
	struct rawref	*after;
	size_t		 nafter;
	struct rawstr	*inputs;
	size_t		 ninputs;
	int		 inputs_set;
	struct rawstr	*outputs;
	size_t		 noutputs;
	struct rawenv	*env;
	size_t		 nenv;
	struct rawstr	 cwd;
};

struct var {
	char		*name;
	char		*value;
};

struct loader {
	struct json	 j;
	struct buf	 text;
	struct pipeline	*p;
	struct rawstage	*raw;
	struct var	*vars;
	size_t		 nvars;
	struct rawenv	*env;		/* pipeline-wide env */
	size_t		 nenv;
	int		*group;		/* link_stages(), kept here so an */
	int		*cycle;		/* error exit leaks nothing */
	char		*scratch;	/* likewise */
	struct rawstr	 sl[3];		/* "slurm": partition, account, */
	struct rawstr	*sl_opts;	/* workdir; sbatch_options */
	size_t		 nsl_opts;
};

static const char *const top_fields[] = {
	"name", "jobs", "vars", "env", "cache_dir", "stages", "alerts",
	"profiles", "cache_size", "cache_categories", "executor", "slurm"
};
static const char *const profile_fields[] = {
	"jobs", "vars", "env", "cache", "cache_dir", "stages", "alerts",
	"cache_size", "cache_categories", "executor", "slurm"
};
static const char *const slurm_fields[] = {
	"partition", "account", "workdir", "sbatch_options"
};
static const char *const executor_names[] = { "local", "slurm" };
static const char *const cat_fields[] = { "ttl", "share" };
static const char *const stage_fields[] = {
	"run", "stdin", "fds", "after", "inputs", "env", "cwd", "cache",
	"map", "batch", "timeout", "memory_limit", "retries", "alerts",
	"outputs"
};
static const char *const metric_names[AM_COUNT] = {
	"wall", "cpu", "max_rss", "error_rate", "cache_hit_rate"
};
static const char *const level_names[AL_COUNT] = { "info", "warn", "crit" };

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

const char *
alert_metric_name(enum alert_metric m)
{
	return metric_names[m];
}

const char *
alert_level_name(enum alert_level l)
{
	return level_names[l];
}

static void
unknown_field(struct loader *L, int k, const char *const *known, size_t n,
    const char *where)
{
	char	*name = json_str(&L->j, k);
	const char *near = nearest_name(name, known, n);

	if (near != NULL)
		json_errx(&L->j, k, "unknown field '%s'%s (did you mean "
		    "'%s'?)", name, where, near);
	json_errx(&L->j, k, "unknown field '%s'%s", name, where);
}

static int
field_index(struct loader *L, int k, const char *const *known, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (json_eq(&L->j, k, known[i]))
			return (int)i;
	return -1;
}

static void
expect(struct loader *L, int t, enum json_type want, const char *field,
    const char *what)
{
	enum json_type have = json_type(&L->j, t);

	if (have == want || (want == JSON_TRUE && have == JSON_FALSE))
		return;
	json_errx(&L->j, t, "'%s' expects %s, found %s", field, what,
	    json_typename(have));
}

static long long
get_int(struct loader *L, int t, const char *field, long long lo,
    long long hi)
{
	long long v;

	if (json_int(&L->j, t, &v) == -1 || v < lo || v > hi) {
		if (json_type(&L->j, t) == JSON_NUMBER)
			json_errx(&L->j, t, "'%s' expects an integer from %lld "
			    "to %lld", field, lo, hi);
		json_errx(&L->j, t, "'%s' expects an integer, found %s", field,
		    json_typename(json_type(&L->j, t)));
	}
	return v;
}

static struct rawstr
get_rawstr(struct loader *L, int t, const char *field)
{
	struct rawstr r;

	expect(L, t, JSON_STRING, field, "a string");
	r.s = json_str(&L->j, t);
	r.tok = t;
	return r;
}

static void
free_rawstrs(struct rawstr *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i].s);
	free(v);
}

static void
free_refs(struct rawref *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* a stage name or a list of them */
static void
get_refs(struct loader *L, int t, const char *field, struct rawref **out,
    size_t *nout)
{
	int	 e;
	size_t	 n = 0;

	*out = NULL;
	if (json_type(&L->j, t) == JSON_STRING) {
		*out = xmalloc(sizeof(**out));
		(*out)[0].name = json_str(&L->j, t);
		(*out)[0].tok = t;
		*nout = 1;
		return;
	}
	expect(L, t, JSON_ARRAY, field, "a stage name or a list of them");
	*out = xreallocarray(NULL, (size_t)L->j.tok[t].size + 1,
	    sizeof(**out));
	JSON_FOREACH_ELEM(&L->j, t, e) {
		expect(L, e, JSON_STRING, field, "stage names (strings)");
		(*out)[n].name = json_str(&L->j, e);
		(*out)[n].tok = e;
		n++;
	}
	*nout = n;
}

static void
set_env(struct loader *L, int t, struct rawenv **envp, size_t *nenvp)
{
	int	 k, v;
	size_t	 i;

	expect(L, t, JSON_OBJECT, "env", "an object of strings");
	JSON_FOREACH_MEMBER(&L->j, t, k, v) {
		char	*key = json_str(&L->j, k);
		struct rawstr val;

		if (*key == '\0' || strchr(key, '=') != NULL)
			json_errx(&L->j, k, "'env' expects variable names "
			    "without '=', found '%s'", key);
		if (json_type(&L->j, v) == JSON_NUMBER) {
			val.s = json_str(&L->j, v);
			val.tok = v;
		} else
			val = get_rawstr(L, v, "env");
		for (i = 0; i < *nenvp; i++)
			if (strcmp((*envp)[i].key, key) == 0)
				break;
		if (i == *nenvp) {
			*envp = xreallocarray(*envp, *nenvp + 1,
			    sizeof(**envp));
			(*nenvp)++;
			(*envp)[i].key = key;
		} else {
			free(key);
			free((*envp)[i].val.s);
		}
		(*envp)[i].val = val;
	}
}

static int	var_name_ok(const char *, size_t);

static void
set_vars(struct loader *L, int t)
{
	int	 k, v;
	size_t	 i;

	expect(L, t, JSON_OBJECT, "vars", "an object");
	JSON_FOREACH_MEMBER(&L->j, t, k, v) {
		enum json_type ty = json_type(&L->j, v);
		char	*name;

		if (ty != JSON_STRING && ty != JSON_NUMBER && ty != JSON_TRUE &&
		    ty != JSON_FALSE)
			json_errx(&L->j, v, "'vars' expects string, number or "
			    "boolean values, found %s", json_typename(ty));
		name = json_str(&L->j, k);
		if (!var_name_ok(name, strlen(name))) {
			free(name);
			json_errx(&L->j, k, "'vars': a variable name is "
			    "letters, digits and _, not starting with a digit "
			    "(${name} could never name it)");
		}
		for (i = 0; i < L->nvars; i++)
			if (strcmp(L->vars[i].name, name) == 0)
				break;
		if (i == L->nvars) {
			L->vars = xreallocarray(L->vars, L->nvars + 1,
			    sizeof(*L->vars));
			L->nvars++;
			L->vars[i].name = name;
		} else {
			free(name);
			free(L->vars[i].value);
		}
		L->vars[i].value = json_str(&L->j, v);
	}
}

static int64_t
get_duration(struct loader *L, int t, const char *field)
{
	char	*s;
	int64_t	 v;

	expect(L, t, JSON_STRING, field, "a duration such as \"2s\" or "
	    "\"150ms\"");
	s = json_str(&L->j, t);
	if ((v = parse_duration_ns(s)) <= 0)
		json_errx(&L->j, t, "'%s' expects a duration such as \"2s\" "
		    "or \"150ms\", found \"%s\"", field, s);
	free(s);
	return v;
}

static int64_t
get_size(struct loader *L, int t, const char *field)
{
	char	*s;
	int64_t	 v;

	expect(L, t, JSON_STRING, field, "a size such as \"256M\" or \"1G\"");
	s = json_str(&L->j, t);
	if ((v = parse_size(s)) <= 0)
		json_errx(&L->j, t, "'%s' expects a size such as \"256M\" or "
		    "\"1G\", found \"%s\"", field, s);
	free(s);
	return v;
}

static double
get_rate(struct loader *L, int t, const char *field)
{
	double	 v;
	char	*s, *end;

	if (json_type(&L->j, t) == JSON_NUMBER) {
		if (json_num(&L->j, t, &v) == 0 && v >= 0 && v <= 1)
			return v;
	} else if (json_type(&L->j, t) == JSON_STRING) {
		s = json_str(&L->j, t);
		v = strtod(s, &end);
		if (end != s && strcmp(end, "%") == 0 && v >= 0 && v <= 100) {
			free(s);
			return v / 100;
		}
		free(s);
	}
	json_errx(&L->j, t, "'%s' expects a rate such as \"90%%\" or 0.9",
	    field);
}

/* cache_categories: { name: { "ttl": "7d", "share": "30%" }, ... } */
static void
set_cache_categories(struct loader *L, int t)
{
	struct pipeline *p = L->p;
	int	 k, v, fk, fv;
	size_t	 i;

	expect(L, t, JSON_OBJECT, "cache_categories", "an object of "
	    "categories");
	JSON_FOREACH_MEMBER(&L->j, t, k, v) {
		char	*name = json_str(&L->j, k);

		if (name[0] == '\0' || strlen(name) > 31 || strspn(name,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_-.") != strlen(name))
			json_errx(&L->j, k, "'cache_categories' names are 1 to "
			    "31 letters, digits, '_', '-' or '.'");
		for (i = 0; i < p->ncats; i++)
			if (strcmp(p->cats[i].name, name) == 0)
				break;
		if (i == p->ncats) {
			p->cats = xreallocarray(p->cats, p->ncats + 1,
			    sizeof(*p->cats));
			memset(&p->cats[i], 0, sizeof(p->cats[i]));
			p->cats[i].name = name;
			p->ncats++;
		} else
			free(name);
		expect(L, v, JSON_OBJECT, "cache_categories",
		    "objects with 'ttl' and 'share'");
		JSON_FOREACH_MEMBER(&L->j, v, fk, fv) {
			switch (field_index(L, fk, cat_fields, 2)) {
			case 0:
				p->cats[i].ttl_ns = get_duration(L, fv, "ttl");
				break;
			case 1:
				p->cats[i].share = (uint32_t)(get_rate(L, fv,
				    "share") * 1000);
				break;
			default:
				unknown_field(L, fk, cat_fields, 2,
				    " in 'cache_categories'");
			}
		}
	}
}

/* alerts: { metric: { level: threshold, ... }, ... } */
static void
set_alerts(struct loader *L, int t, int stage)
{
	struct pipeline *p = L->p;
	int	 k, v, lk, lv;
	size_t	 i;

	expect(L, t, JSON_OBJECT, "alerts", "an object of metrics");
	JSON_FOREACH_MEMBER(&L->j, t, k, v) {
		int	 m = field_index(L, k, metric_names, AM_COUNT);

		if (m == -1)
			unknown_field(L, k, metric_names, AM_COUNT,
			    " in 'alerts'");
		/* the run's hit rate: a stage has none of its own */
		if (m == AM_CACHE_HIT_RATE && stage != -1)
			json_errx(&L->j, k, "'cache_hit_rate' is an alert of "
			    "the run: put it in the pipeline's 'alerts'");
		expect(L, v, JSON_OBJECT, metric_names[m],
		    "an object of levels (info, warn, crit)");
		JSON_FOREACH_MEMBER(&L->j, v, lk, lv) {
			int	 l = field_index(L, lk, level_names, AL_COUNT);
			double	 th;

			if (l == -1)
				unknown_field(L, lk, level_names, AL_COUNT,
				    " in 'alerts'");
			switch (m) {
			case AM_WALL:
			case AM_CPU:
				th = (double)get_duration(L, lv,
				    metric_names[m]);
				break;
			case AM_MAX_RSS:
				th = (double)get_size(L, lv, metric_names[m]);
				break;
			default:
				th = get_rate(L, lv, metric_names[m]);
			}
			for (i = 0; i < p->nalerts; i++)
				if (p->alerts[i].stage == stage &&
				    (int)p->alerts[i].metric == m &&
				    (int)p->alerts[i].level == l)
					break;
			if (i == p->nalerts) {
				p->alerts = xreallocarray(p->alerts,
				    p->nalerts + 1, sizeof(*p->alerts));
				p->nalerts++;
			}
			p->alerts[i].stage = stage;
			p->alerts[i].metric = (enum alert_metric)m;
			p->alerts[i].level = (enum alert_level)l;
			p->alerts[i].threshold = th;
		}
	}
}

static void
set_port(struct rawstage *r, int fd, int tok, const char *field,
    struct rawref *refs, size_t nrefs, struct loader *L)
{
	size_t	 i;

	for (i = 0; i < r->nports; i++)
		if (r->ports[i].fd == fd)
			break;
	if (i < r->nports) {
		if (strcmp(r->ports[i].field, field) != 0)
			json_errx(&L->j, tok, "fd %d is fed by both 'stdin' "
			    "and 'fds'", fd);
		free_refs(r->ports[i].refs, r->ports[i].nrefs);
	} else {
		r->ports = xreallocarray(r->ports, r->nports + 1,
		    sizeof(*r->ports));
		r->nports++;
	}
	r->ports[i].fd = fd;
	r->ports[i].tok = tok;
	r->ports[i].field = field;
	r->ports[i].refs = refs;
	r->ports[i].nrefs = nrefs;
}

static void
set_fds(struct loader *L, struct rawstage *r, int t)
{
	int	 k, v;

	expect(L, t, JSON_OBJECT, "fds", "an object such as "
	    "{\"3\": \"stage\"}");
	JSON_FOREACH_MEMBER(&L->j, t, k, v) {
		char	*s = json_str(&L->j, k);
		const char *errstr;
		long long fd;
		struct rawref *refs;
		size_t	 nrefs;

		fd = strtonum(s, 0, MAX_STAGE_FD - 1, &errstr);
		if (errstr != NULL || (fd > 0 && fd < 3))
			json_errx(&L->j, k, "'fds' keys are descriptor numbers "
			    "0 or 3 to %d, found \"%s\"", MAX_STAGE_FD - 1, s);
		free(s);
		get_refs(L, v, "fds", &refs, &nrefs);
		set_port(r, (int)fd, k, "fds", refs, nrefs, L);
	}
}

static void
set_run(struct loader *L, struct rawstage *r, int t)
{
	int	 e;

	free_rawstrs(r->run, r->nrun);
	r->run = NULL;
	r->nrun = 0;
	r->runtok = t;
	r->has_run = 1;
	if (json_type(&L->j, t) == JSON_STRING) {
		r->shell = 1;
		r->run = xmalloc(sizeof(*r->run));
		r->run[0] = get_rawstr(L, t, "run");
		r->nrun = 1;
		if (r->run[0].s[0] == '\0')
			json_errx(&L->j, t, "'run' expects a non-empty command");
		return;
	}
	r->shell = 0;
	if (json_type(&L->j, t) != JSON_ARRAY || L->j.tok[t].size == 0)
		json_errx(&L->j, t, "'run' expects a non-empty array of "
		    "strings or a shell command string, found %s",
		    json_type(&L->j, t) == JSON_ARRAY ? "an empty array" :
		    json_typename(json_type(&L->j, t)));
	r->run = xreallocarray(NULL, (size_t)L->j.tok[t].size,
	    sizeof(*r->run));
	JSON_FOREACH_ELEM(&L->j, t, e) {
		if (json_type(&L->j, e) == JSON_NUMBER) {
			r->run[r->nrun].s = json_str(&L->j, e);
			r->run[r->nrun++].tok = e;
			continue;
		}
		r->run[r->nrun++] = get_rawstr(L, e, "run");
	}
	if (r->run[0].s[0] == '\0')
		json_errx(&L->j, r->run[0].tok, "'run' expects a program name, "
		    "found an empty string");
}

/* "inputs", "outputs": a file, or a list of them; replaces any before */
static void
get_paths(struct loader *L, int v, const char *field, struct rawstr **out,
    size_t *n)
{
	int	 e;

	free_rawstrs(*out, *n);
	*out = NULL;
	*n = 0;
	if (json_type(&L->j, v) == JSON_STRING) {
		*out = xmalloc(sizeof(**out));
		(*out)[(*n)++] = get_rawstr(L, v, field);
		return;
	}
	expect(L, v, JSON_ARRAY, field, "a list of files");
	*out = xreallocarray(NULL, (size_t)L->j.tok[v].size + 1, sizeof(**out));
	JSON_FOREACH_ELEM(&L->j, v, e)
		(*out)[(*n)++] = get_rawstr(L, e, field);
}

/* fields of one stage object; used for the stage and profile overlays */
static void
parse_stage(struct loader *L, int si, int obj)
{
	struct stage *st = &L->p->stages[si];
	struct rawstage *r = &L->raw[si];
	char	 where[256];
	int	 k, v;

	snprintf(where, sizeof(where), " in stage '%s'", st->name);
	if (json_type(&L->j, obj) != JSON_OBJECT)
		json_errx(&L->j, obj, "stage '%s' expects an object, found %s",
		    st->name, json_typename(json_type(&L->j, obj)));
	JSON_FOREACH_MEMBER(&L->j, obj, k, v) {
		switch (field_index(L, k, stage_fields, NELEM(stage_fields))) {
		case 0:		/* run */
			set_run(L, r, v);
			break;
		case 1: {	/* stdin */
			struct rawref *refs;
			size_t	 nrefs;

			get_refs(L, v, "stdin", &refs, &nrefs);
			set_port(r, 0, v, "stdin", refs, nrefs, L);
			break;
		}
		case 2:
			set_fds(L, r, v);
			break;
		case 3:
			free_refs(r->after, r->nafter);
			get_refs(L, v, "after", &r->after, &r->nafter);
			break;
		case 4:
			get_paths(L, v, "inputs", &r->inputs, &r->ninputs);
			break;
		case 5:
			set_env(L, v, &r->env, &r->nenv);
			break;
		case 6:
			free(r->cwd.s);
			r->cwd = get_rawstr(L, v, "cwd");
			break;
		case 7:		/* cache: category, true or false */
			free(st->cache);
			st->cache = NULL;
			if (json_type(&L->j, v) == JSON_TRUE)
				st->cache = xstrdup("default");
			else if (json_type(&L->j, v) != JSON_FALSE) {
				expect(L, v, JSON_STRING, "cache",
				    "a category name, true or false");
				st->cache = json_str(&L->j, v);
				if (st->cache[0] == '\0' ||
				    strspn(st->cache, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
				    strlen(st->cache) || strlen(st->cache) > 31)
					json_errx(&L->j, v, "'cache' expects a "
					    "category name of letters, digits, "
					    "'_', '-' or '.' (at most 31)");
			}
			break;
		case 8:
			expect(L, v, JSON_TRUE, "map", "true or false");
			st->map = json_type(&L->j, v) == JSON_TRUE;
			break;
		case 9:
			st->batch = get_int(L, v, "batch", 1, 100000000);
			break;
		case 10:
			st->timeout_ns = get_duration(L, v, "timeout");
			break;
		case 11:
			st->memory_limit = get_size(L, v, "memory_limit");
			break;
		case 12:
			st->retries = (int)get_int(L, v, "retries", 0, 100);
			break;
		case 13:
			set_alerts(L, v, si);
			break;
		case 14:
			get_paths(L, v, "outputs", &r->outputs, &r->noutputs);
			break;
		default:
			unknown_field(L, k, stage_fields, NELEM(stage_fields),
			    where);
		}
	}
}

static int
valid_stage_name(const char *s)
{
	return *s != '\0' && *s != '.' && strlen(s) <= 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-.") == strlen(s);
}

static void
parse_stages(struct loader *L, int t)
{
	struct pipeline *p = L->p;
	int	 k, v;
	size_t	 n = 0;

	expect(L, t, JSON_OBJECT, "stages", "an object of stages");
	if (L->j.tok[t].size == 0)
		json_errx(&L->j, t, "'stages' is empty: a pipeline needs at "
		    "least one stage");
	p->nstages = (size_t)L->j.tok[t].size;
	p->stages = xcalloc(p->nstages, sizeof(*p->stages));
	L->raw = xcalloc(p->nstages, sizeof(*L->raw));
	JSON_FOREACH_MEMBER(&L->j, t, k, v) {
		struct stage *st = &p->stages[n];

		st->name = json_str(&L->j, k);
		st->idx = (int)n;
		json_pos(&L->j, k, &st->pos.line, &st->pos.col);
		if (!valid_stage_name(st->name))
			json_errx(&L->j, k, "stage name '%s' must be 1 to 64 "
			    "letters, digits, '_', '-' or '.', not starting "
			    "with '.'", st->name);
		L->raw[n].keytok = k;
		L->raw[n].cwd.tok = -1;
		n++;
	}
	n = 0;
	JSON_FOREACH_MEMBER(&L->j, t, k, v)
		parse_stage(L, (int)n++, v);
}

/* "executor": "local" or "slurm" (sluice-slurm(7)) */
static void
set_executor(struct loader *L, int t)
{
	char	*s;
	size_t	 i;

	expect(L, t, JSON_STRING, "executor", "\"local\" or \"slurm\"");
	s = json_str(&L->j, t);
	for (i = 0; i < NELEM(executor_names); i++)
		if (strcmp(s, executor_names[i]) == 0)
			break;
	if (i == NELEM(executor_names)) {
		L->scratch = s;
		json_errx(&L->j, t, "'executor' expects \"local\" or "
		    "\"slurm\", found \"%s\"", s);
	}
	free(s);
	L->p->executor = i == 0 ? PEXEC_LOCAL : PEXEC_SLURM;
}

/* "slurm": the Slurm executor's settings; a profile's replace the
 * file's one by one */
static void
set_slurm(struct loader *L, int t, const char *where)
{
	int	 k, v, e;
	size_t	 f;

	expect(L, t, JSON_OBJECT, "slurm", "an object");
	JSON_FOREACH_MEMBER(&L->j, t, k, v) {
		f = (size_t)field_index(L, k, slurm_fields,
		    NELEM(slurm_fields));
		switch (f) {
		case 0:
		case 1:
		case 2:
			free(L->sl[f].s);
			L->sl[f].s = NULL;
			L->sl[f] = get_rawstr(L, v, slurm_fields[f]);
			break;
		case 3:
			expect(L, v, JSON_ARRAY, "sbatch_options",
			    "a list of sbatch options such as \"--qos=low\"");
			free_rawstrs(L->sl_opts, L->nsl_opts);
			L->sl_opts = NULL;
			L->nsl_opts = 0;
			L->sl_opts = xreallocarray(NULL,
			    (size_t)L->j.tok[v].size + 1, sizeof(*L->sl_opts));
			JSON_FOREACH_ELEM(&L->j, v, e) {
				char	*o;

				expect(L, e, JSON_STRING, "sbatch_options",
				    "strings");
				o = json_str(&L->j, e);
				if (o[0] != '-') {
					L->scratch = o;
					json_errx(&L->j, e, "'sbatch_options' "
					    "expects options starting with "
					    "'-', found \"%s\"", o);
				}
				L->sl_opts[L->nsl_opts].s = o;
				L->sl_opts[L->nsl_opts++].tok = e;
			}
			break;
		default: {
			char	 w[300];

			snprintf(w, sizeof(w), " in 'slurm'%s", where);
			unknown_field(L, k, slurm_fields, NELEM(slurm_fields),
			    w);
		}
		}
	}
}

static int
find_profile(struct loader *L, int profiles, const char *name)
{
	int	 k, v;
	struct buf known = { 0 };

	if (profiles != -1) {
		JSON_FOREACH_MEMBER(&L->j, profiles, k, v) {
			char	*s = json_str(&L->j, k);

			if (strcmp(s, name) == 0) {
				free(s);
				buf_free(&known);
				return v;
			}
			buf_printf(&known, "%s%s", known.len ? ", " : "", s);
			free(s);
		}
	}
	if (known.len == 0)
		errx(EX_USAGE, "unknown profile '%s': %s defines no profiles",
		    name, L->p->path);
	errx(EX_USAGE, "unknown profile '%s' in %s (known: %s)", name,
	    L->p->path, known.data);
}

static void
apply_profile(struct loader *L, int prof)
{
	struct pipeline *p = L->p;
	char	 where[256];
	int	 k, v, sk, sv;

	snprintf(where, sizeof(where), " in profile '%s'", p->profile);
	expect(L, prof, JSON_OBJECT, "profiles", "objects");
	JSON_FOREACH_MEMBER(&L->j, prof, k, v) {
		switch (field_index(L, k, profile_fields,
		    NELEM(profile_fields))) {
		case 0:
			p->jobs = (int)get_int(L, v, "jobs", 0, 100000);
			p->jobs_set = 1;
			break;
		case 1:
			set_vars(L, v);
			break;
		case 2:
			set_env(L, v, &L->env, &L->nenv);
			break;
		case 3:
			expect(L, v, JSON_TRUE, "cache", "true or false");
			p->cache_off = json_type(&L->j, v) == JSON_FALSE;
			break;
		case 4:
			free(p->cache_dir);
			p->cache_dir = get_rawstr(L, v, "cache_dir").s;
			break;
		case 5:
			expect(L, v, JSON_OBJECT, "stages", "an object of "
			    "stage settings");
			JSON_FOREACH_MEMBER(&L->j, v, sk, sv) {
				char	*name = json_str(&L->j, sk);
				int	 si = pipeline_stage(p, name);

				if (si == -1) {
					const char **names;
					const char *near;
					size_t	 i;

					names = xreallocarray(NULL, p->nstages,
					    sizeof(*names));
					for (i = 0; i < p->nstages; i++)
						names[i] = p->stages[i].name;
					near = nearest_name(name, names,
					    p->nstages);
					if (near != NULL)
						json_errx(&L->j, sk, "unknown "
						    "stage '%s'%s (did you mean "
						    "'%s'?)", name, where,
						    near);
					json_errx(&L->j, sk, "unknown stage "
					    "'%s'%s", name, where);
				}
				free(name);
				parse_stage(L, si, sv);
			}
			break;
		case 6:
			set_alerts(L, v, -1);
			break;
		case 7:
			p->cache_size = get_size(L, v, "cache_size");
			break;
		case 8:
			set_cache_categories(L, v);
			break;
		case 9:
			set_executor(L, v);
			break;
		case 10:
			set_slurm(L, v, where);
			break;
		default:
			unknown_field(L, k, profile_fields,
			    NELEM(profile_fields), where);
		}
	}
}

static const char *
var_value(struct loader *L, const char *name, size_t n)
{
	size_t	 i;

	for (i = 0; i < L->nvars; i++)
		if (strlen(L->vars[i].name) == n &&
		    strncmp(L->vars[i].name, name, n) == 0)
			return L->vars[i].value;
	return NULL;
}

static int
isident(int c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && c >= '0' && c <= '9');
}

/* a name ${name} can refer to */
static int
var_name_ok(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!isident((unsigned char)s[i], i == 0))
			return 0;
	return n > 0;
}

/* ${name} -> value, $${ -> ${; errors point at the string (tok) */
static char *
subst(struct loader *L, const struct rawstr *r)
{
	struct buf b = { 0 };
	const char *s = r->s;

	while (*s != '\0') {
		const char *q, *val;
		size_t	 n;

		if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
			buf_add(&b, "${", 2);
			s += 3;
			continue;
		}
		if (s[0] != '$' || s[1] != '{' || !isident(s[2], 1)) {
			buf_addc(&b, *s++);
			continue;
		}
		for (q = s + 2; isident(*q, 0); q++)
			;
		if (*q != '}') {
			buf_addc(&b, *s++);
			continue;
		}
		n = (size_t)(q - (s + 2));
		if ((val = var_value(L, s + 2, n)) == NULL) {
			if (r->tok == -1)
				errx(EX_DATAERR, "undefined variable "
				    "'${%.*s}'", (int)n, s + 2);
			json_errx(&L->j, r->tok, "undefined variable '${%.*s}'",
			    (int)n, s + 2);
		}
		buf_adds(&b, val);
		s = q + 1;
	}
	buf_cstr(&b);
	return buf_steal(&b);
}

static char *
abspath(const char *dir, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	if (strcmp(path, ".") == 0)
		return xstrdup(dir);
	return xasprintf("%s/%s", dir, path);
}

const char *
libexec_dir(void)
{
	static char dir[PATH_MAX];
	char	 exe[PATH_MAX], *slash;
	const char *env;
	ssize_t	 n;

	if (dir[0] != '\0')
		return dir;
	if ((env = getenv("SLUICE_LIBEXEC")) != NULL && *env != '\0') {
		strlcpy(dir, env, sizeof(dir));
		return dir;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(dir, sizeof(dir),
			    "%s/../libexec/sluice", exe) < sizeof(dir) &&
			    access(dir, X_OK) == 0) {
				char	 real[PATH_MAX];

				if (realpath(dir, real) != NULL)
					strlcpy(dir, real, sizeof(dir));
				return dir;
			}
		}
	}
	strlcpy(dir, LIBEXECDIR "/sluice", sizeof(dir));
	return dir;
}

/* an executable file: a directory has its x bit too, but no exec */
static int
is_exec(const char *path)
{
	struct stat st;

	return access(path, X_OK) == 0 && stat(path, &st) == 0 &&
	    !S_ISDIR(st.st_mode);
}

char *
find_program(const char *name, const char *cwd)
{
	const char *path, *p, *e;
	char	*cand;

	if (strchr(name, '/') != NULL) {
		cand = cwd != NULL ? abspath(cwd, name) : xstrdup(name);
		if (is_exec(cand))
			return cand;
		free(cand);
		return NULL;
	}
	cand = xasprintf("%s/%s", libexec_dir(), name);
	if (is_exec(cand))
		return cand;
	free(cand);
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		if (e > p) {
			cand = xasprintf("%.*s/%s", (int)(e - p), p, name);
			if (is_exec(cand))
				return cand;
			free(cand);
		}
		if (*e == '\0')
			break;
	}
	return NULL;
}

/* -D name=value, collected for pipeline_load */
void
load_define(struct load_opts *lo, char *def)
{
	lo->defines = xreallocarray(lo->defines, lo->ndefines + 1,
	    sizeof(char *));
	lo->defines[lo->ndefines++] = def;
}

int
pipeline_stage(const struct pipeline *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nstages; i++)
		if (strcmp(p->stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
resolve_ref(struct loader *L, const struct rawref *ref)
{
	struct pipeline *p = L->p;
	const char **names, *near;
	int	 si;
	size_t	 i;

	if ((si = pipeline_stage(p, ref->name)) != -1)
		return si;
	names = xreallocarray(NULL, p->nstages, sizeof(*names));
	for (i = 0; i < p->nstages; i++)
		names[i] = p->stages[i].name;
	near = nearest_name(ref->name, names, p->nstages);
	if (near != NULL)
		json_errx(&L->j, ref->tok, "unknown stage '%s' (did you mean "
		    "'%s'?)", ref->name, near);
	json_errx(&L->j, ref->tok, "unknown stage '%s'", ref->name);
}

static int
portcmp(const void *a, const void *b)
{
	const struct port *pa = a, *pb = b;

	return pa->fd - pb->fd;
}

static void
resolve_stage(struct loader *L, int si, const struct load_opts *o)
{
	struct pipeline *p = L->p;
	struct stage *st = &p->stages[si];
	struct rawstage *r = &L->raw[si];
	size_t	 i, k, e;

	if (!r->has_run)
		json_errx(&L->j, r->keytok, "stage '%s' has no 'run'",
		    st->name);
	for (i = 0; st->map && i < r->nports; i++)
		if (r->ports[i].fd != 0)
			json_errx(&L->j, r->ports[i].tok, "stage '%s' is a map "
			    "stage: it reads its records on stdin only, not "
			    "on fd %d", st->name, r->ports[i].fd);
	if (st->map && r->noutputs > 0)
		json_errx(&L->j, r->outputs[0].tok, "stage '%s' is a map "
		    "stage: its work is its output lines, not files "
		    "(\"outputs\")", st->name);
	json_pos(&L->j, r->runtok, &st->runpos.line, &st->runpos.col);
	st->cwd = r->cwd.s != NULL ? subst(L, &r->cwd) : NULL;
	if (st->cwd != NULL) {
		struct stat sb;

		/* both strings stay reachable if the error exits */
		L->scratch = st->cwd;
		st->cwd = abspath(p->dir, L->scratch);
		if (!o->no_resolve && (stat(st->cwd, &sb) == -1 ||
		    !S_ISDIR(sb.st_mode)))
			json_errx(&L->j, r->cwd.tok, "stage '%s': cwd '%s' is "
			    "not a directory", st->name, L->scratch);
		free(L->scratch);
		L->scratch = NULL;
	} else
		st->cwd = xstrdup(p->dir);
	st->shell = r->shell;
	if (r->shell) {
		st->argc = 3;
		st->argv = xcalloc(4, sizeof(char *));
		st->argv[0] = xstrdup("sh");
		st->argv[1] = xstrdup("-c");
		st->argv[2] = subst(L, &r->run[0]);
		st->prog = xstrdup("/bin/sh");
	} else {
		st->argc = r->nrun;
		st->argv = xcalloc(r->nrun + 1, sizeof(char *));
		for (i = 0; i < r->nrun; i++)
			st->argv[i] = subst(L, &r->run[i]);
		if (!o->no_resolve &&
		    (st->prog = find_program(st->argv[0], st->cwd)) == NULL) {
			if (strchr(st->argv[0], '/') != NULL)
				json_errx(&L->j, r->run[0].tok, "stage '%s': "
				    "program '%s' not found or not executable",
				    st->name, st->argv[0]);
			json_errx(&L->j, r->run[0].tok, "stage '%s': program "
			    "'%s' not found in libexec/sluice or PATH",
			    st->name, st->argv[0]);
		}
		if (st->prog == NULL)
			st->prog = xstrdup(st->argv[0]);
	}
	st->ninputs = r->ninputs;
	st->inputs = xcalloc(r->ninputs + 1, sizeof(char *));
	for (i = 0; i < r->ninputs; i++) {
		char	*s = subst(L, &r->inputs[i]);

		st->inputs[i] = abspath(p->dir, s);
		free(s);
	}
	st->noutputs = r->noutputs;
	st->outputs = xcalloc(r->noutputs + 1, sizeof(char *));
	for (i = 0; i < r->noutputs; i++) {
		char	*s = subst(L, &r->outputs[i]);

		if (*s == '\0')
			json_errx(&L->j, r->outputs[i].tok, "'outputs' expects "
			    "a file or directory, found an empty string");
		st->outputs[i] = abspath(p->dir, s);
		free(s);
	}
	/* pipeline-wide env first, the stage's own after it (it wins) */
	st->env = xcalloc(L->nenv + r->nenv + 1, sizeof(char *));
	for (i = 0; i < L->nenv; i++) {
		for (k = 0; k < r->nenv; k++)
			if (strcmp(r->env[k].key, L->env[i].key) == 0)
				break;
		if (k < r->nenv)
			continue;
		char	*v = subst(L, &L->env[i].val);

		st->env[st->nenv++] = xasprintf("%s=%s", L->env[i].key, v);
		free(v);
	}
	for (i = 0; i < r->nenv; i++) {
		char	*v = subst(L, &r->env[i].val);

		st->env[st->nenv++] = xasprintf("%s=%s", r->env[i].key, v);
		free(v);
	}
	st->nports = r->nports;
	st->ports = xcalloc(r->nports + 1, sizeof(*st->ports));
	for (i = 0; i < r->nports; i++) {
		struct port *pt = &st->ports[i];

		pt->fd = r->ports[i].fd;
		pt->nsrc = r->ports[i].nrefs;
		pt->src = xcalloc(pt->nsrc + 1, sizeof(int));
		pt->srcpos = xcalloc(pt->nsrc + 1, sizeof(*pt->srcpos));
		for (k = 0; k < pt->nsrc; k++) {
			pt->src[k] = resolve_ref(L, &r->ports[i].refs[k]);
			json_pos(&L->j, r->ports[i].refs[k].tok,
			    &pt->srcpos[k].line, &pt->srcpos[k].col);
			if (L->raw[pt->src[k]].noutputs > 0)
				json_errx(&L->j, r->ports[i].refs[k].tok,
				    "stage '%s' reads '%s', which has "
				    "\"outputs\": a stage that writes files "
				    "is read by no stage", st->name,
				    r->ports[i].refs[k].name);
			for (e = 0; e < k; e++)
				if (pt->src[e] == pt->src[k])
					json_errx(&L->j,
					    r->ports[i].refs[k].tok, "stage "
					    "'%s' is listed twice for fd %d",
					    r->ports[i].refs[k].name, pt->fd);
		}
		if (pt->nsrc == 0)
			json_errx(&L->j, r->ports[i].tok, "'%s' expects at "
			    "least one stage", r->ports[i].field);
	}
	qsort(st->ports, st->nports, sizeof(*st->ports), portcmp);
	st->nafter = r->nafter;
	st->after = xcalloc(r->nafter + 1, sizeof(int));
	st->afterpos = xcalloc(r->nafter + 1, sizeof(*st->afterpos));
	for (i = 0; i < r->nafter; i++) {
		st->after[i] = resolve_ref(L, &r->after[i]);
		json_pos(&L->j, r->after[i].tok, &st->afterpos[i].line,
		    &st->afterpos[i].col);
	}
}

/* producers' outlets (in consumer declaration order) and the DAG order */
static void
link_stages(struct loader *L)
{
	struct pipeline *p = L->p;
	struct plan_graph g;
	size_t	 i, k, s, ncycle;

	for (i = 0; i < p->nstages; i++) {
		struct stage *c = &p->stages[i];

		for (k = 0; k < c->nports; k++)
			for (s = 0; s < c->ports[k].nsrc; s++) {
				struct stage *pr =
				    &p->stages[c->ports[k].src[s]];

				pr->outlets = xreallocarray(pr->outlets,
				    pr->noutlets + 1, sizeof(*pr->outlets));
				pr->outlets[pr->noutlets].stage = (int)i;
				pr->outlets[pr->noutlets].port = (int)k;
				pr->outlets[pr->noutlets].seg = (int)s;
				pr->noutlets++;
			}
	}
	g.n = p->nstages;
	g.ndeps = xcalloc(g.n + 1, sizeof(size_t));
	g.deps = xcalloc(g.n + 1, sizeof(int *));
	for (i = 0; i < p->nstages; i++) {
		struct stage *c = &p->stages[i];
		size_t	 n = c->nafter;

		for (k = 0; k < c->nports; k++)
			n += c->ports[k].nsrc;
		g.deps[i] = xcalloc(n + 1, sizeof(int));
		for (k = 0; k < c->nports; k++)
			for (s = 0; s < c->ports[k].nsrc; s++)
				g.deps[i][g.ndeps[i]++] = c->ports[k].src[s];
		for (k = 0; k < c->nafter; k++)
			g.deps[i][g.ndeps[i]++] = c->after[k];
	}
	p->order = xcalloc(p->nstages + 1, sizeof(int));
	L->group = xcalloc(p->nstages + 1, sizeof(int));
	if (plan_order(&g, p->order, L->group, &L->cycle, &ncycle) == -1) {
		struct buf b = { 0 };

		for (i = 0; i < ncycle; i++)
			buf_printf(&b, "%s%s", i ? " -> " : "",
			    p->stages[L->cycle[i]].name);
		json_errx(&L->j, L->raw[L->cycle[0]].keytok, "cycle: %s",
		    b.data);
	}
	p->ngroups = 0;
	for (i = 0; i < p->nstages; i++) {
		p->stages[i].group = L->group[i];
		if (L->group[i] + 1 > p->ngroups)
			p->ngroups = L->group[i] + 1;
	}
	for (i = 0; i < g.n; i++)
		free(g.deps[i]);
	free(g.deps);
	free(g.ndeps);
	free(L->group);
	L->group = NULL;
}

static void
add_var(struct loader *L, const char *name, const char *value)
{
	size_t	 i;

	for (i = 0; i < L->nvars; i++)
		if (strcmp(L->vars[i].name, name) == 0)
			break;
	if (i == L->nvars) {
		L->vars = xreallocarray(L->vars, L->nvars + 1,
		    sizeof(*L->vars));
		L->nvars++;
		L->vars[i].name = xstrdup(name);
	} else
		free(L->vars[i].value);
	L->vars[i].value = xstrdup(value);
}

static void
loader_free(struct loader *L)
{
	size_t	 i, k;

	for (i = 0; L->raw != NULL && i < L->p->nstages; i++) {
		struct rawstage *r = &L->raw[i];

		free_rawstrs(r->run, r->nrun);
		for (k = 0; k < r->nports; k++)
			free_refs(r->ports[k].refs, r->ports[k].nrefs);
		free(r->ports);
		free_refs(r->after, r->nafter);
		free_rawstrs(r->inputs, r->ninputs);
		free_rawstrs(r->outputs, r->noutputs);
		for (k = 0; k < r->nenv; k++) {
			free(r->env[k].key);
			free(r->env[k].val.s);
		}
		free(r->env);
		free(r->cwd.s);
	}
	free(L->raw);
	for (i = 0; i < NELEM(L->sl); i++)
		free(L->sl[i].s);
	free_rawstrs(L->sl_opts, L->nsl_opts);
	for (i = 0; i < L->nenv; i++) {
		free(L->env[i].key);
		free(L->env[i].val.s);
	}
	free(L->env);
	for (i = 0; i < L->nvars; i++) {
		free(L->vars[i].name);
		free(L->vars[i].value);
	}
	free(L->vars);
	json_free(&L->j);
	buf_free(&L->text);
}

/* the "slurm" settings with ${var} substituted; workdir made absolute */
static void
resolve_slurm(struct loader *L)
{
	struct pipeline *p = L->p;
	char	*s;
	size_t	 i;

	if (L->sl[0].s != NULL)
		p->slurm_partition = subst(L, &L->sl[0]);
	if (L->sl[1].s != NULL)
		p->slurm_account = subst(L, &L->sl[1]);
	if (L->sl[2].s != NULL) {
		s = subst(L, &L->sl[2]);
		p->slurm_workdir = abspath(p->dir, s);
		free(s);
	}
	if (L->nsl_opts > 0) {
		p->slurm_opts = xcalloc(L->nsl_opts + 1, sizeof(char *));
		for (i = 0; i < L->nsl_opts; i++)
			p->slurm_opts[p->nslurm_opts++] = subst(L,
			    &L->sl_opts[i]);
	}
}

struct pipeline *
pipeline_load(const char *path, const struct load_opts *o)
{
	struct loader	 L;
	struct pipeline	*p;
	char		 real[PATH_MAX], *slash, cwd[PATH_MAX];
	const char	*prof;
	int		 k, v, stages = -1, profiles = -1, f;
	size_t		 i;

	memset(&L, 0, sizeof(L));
	if (buf_readfile(&L.text, path) == -1)
		err(EX_NOINPUT, "cannot read '%s'", path);
	if (realpath(path, real) == NULL)
		err(EX_NOINPUT, "%s", path);
	p = L.p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(path);
	if ((slash = strrchr(real, '/')) != NULL)
		*slash = '\0';
	p->dir = xstrdup(real[0] != '\0' ? real : "/");
	if (json_parse(&L.j, p->path, L.text.data, L.text.len, 1) == -1)
		errx(EX_DATAERR, "%s", L.j.err);
	if (json_type(&L.j, 0) != JSON_OBJECT)
		json_errx(&L.j, 0, "expected an object for the pipeline, "
		    "found %s", json_typename(json_type(&L.j, 0)));
	add_var(&L, "pipeline_dir", p->dir);
	if (getcwd(cwd, sizeof(cwd)) != NULL)
		add_var(&L, "cwd", cwd);
	JSON_FOREACH_MEMBER(&L.j, 0, k, v) {
		switch ((f = field_index(&L, k, top_fields,
		    NELEM(top_fields)))) {
		case 0:
			p->name = get_rawstr(&L, v, "name").s;
			break;
		case 1:
			p->jobs = (int)get_int(&L, v, "jobs", 0, 100000);
			p->jobs_set = 1;
			break;
		case 2:
			set_vars(&L, v);
			break;
		case 3:
			set_env(&L, v, &L.env, &L.nenv);
			break;
		case 4:
			p->cache_dir = get_rawstr(&L, v, "cache_dir").s;
			break;
		case 5:
			stages = v;
			break;
		case 6:
			break;		/* after the stages exist */
		case 7:
			expect(&L, v, JSON_OBJECT, "profiles",
			    "an object of profiles");
			profiles = v;
			break;
		case 8:
			p->cache_size = get_size(&L, v, "cache_size");
			break;
		case 9:
			set_cache_categories(&L, v);
			break;
		case 10:
			set_executor(&L, v);
			break;
		case 11:
			set_slurm(&L, v, "");
			break;
		default:
			unknown_field(&L, k, top_fields, NELEM(top_fields), "");
		}
	}
	if (stages == -1)
		json_errx(&L.j, 0, "the pipeline has no 'stages'");
	parse_stages(&L, stages);
	if ((v = json_get(&L.j, 0, "alerts")) != -1)
		set_alerts(&L, v, -1);
	if (p->name == NULL) {
		char	*base = strrchr(p->path, '/');

		p->name = xstrdup(base != NULL ? base + 1 : p->path);
		if ((slash = strrchr(p->name, '.')) != NULL &&
		    slash != p->name)
			*slash = '\0';
	}
	if (profiles != -1) {
		int	 pk, pv;

		p->profiles = xcalloc((size_t)L.j.tok[profiles].size + 1,
		    sizeof(char *));
		JSON_FOREACH_MEMBER(&L.j, profiles, pk, pv)
			p->profiles[p->nprofiles++] = json_str(&L.j, pk);
		(void)pv;
	}
	prof = o->profile;
	if (prof == NULL && (prof = getenv("SLUICE_PROFILE")) != NULL &&
	    *prof == '\0')
		prof = NULL;
	if (prof != NULL) {
		p->profile = xstrdup(prof);
		apply_profile(&L, find_profile(&L, profiles, prof));
	}
	for (i = 0; i < o->ndefines; i++) {
		char	*eq = strchr(o->defines[i], '=');
		char	*name;

		if (eq == NULL || eq == o->defines[i])
			errx(EX_USAGE, "-D expects name=value, found '%s'",
			    o->defines[i]);
		if (!var_name_ok(o->defines[i], (size_t)(eq - o->defines[i])))
			errx(EX_USAGE, "-D '%.*s': a variable name is letters, "
			    "digits and _, not starting with a digit",
			    (int)(eq - o->defines[i]), o->defines[i]);
		name = xstrndup(o->defines[i], (size_t)(eq - o->defines[i]));
		add_var(&L, name, eq + 1);
		free(name);
	}
	if (p->cache_dir != NULL) {
		struct rawstr r = { p->cache_dir, -1 };
		char	*s = subst(&L, &r);

		free(p->cache_dir);
		/* "" (a var given empty): no directory, not the file's */
		p->cache_dir = *s != '\0' ? abspath(p->dir, s) : NULL;
		if (p->cache_dir == NULL)
			warnx("%s: cache_dir is empty: the default cache "
			    "directory is used", p->path);
		free(s);
	}
	resolve_slurm(&L);
	for (i = 0; i < p->nstages; i++)
		resolve_stage(&L, (int)i, o);
	link_stages(&L);
	p->vars = xcalloc(L.nvars + 1, sizeof(char *));
	for (i = 0; i < L.nvars; i++)
		p->vars[p->nvars++] = xasprintf("%s=%s", L.vars[i].name,
		    L.vars[i].value);
	loader_free(&L);
	return p;
}

static void
free_strv(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pipeline_free(struct pipeline *p)
{
	size_t	 i, k;

	if (p == NULL)
		return;
	for (i = 0; i < p->nstages; i++) {
		struct stage *st = &p->stages[i];

		free(st->name);
		free_strv(st->argv, st->argc);
		free(st->prog);
		for (k = 0; k < st->nports; k++) {
			free(st->ports[k].src);
			free(st->ports[k].srcpos);
		}
		free(st->ports);
		free(st->after);
		free(st->afterpos);
		free_strv(st->inputs, st->ninputs);
		free_strv(st->outputs, st->noutputs);
		free_strv(st->env, st->nenv);
		free(st->cwd);
		free(st->cache);
		free(st->outlets);
	}
	free(p->stages);
	free_strv(p->vars, p->nvars);
	free(p->order);
	free(p->alerts);
	free(p->path);
	free(p->dir);
	free(p->name);
	free(p->cache_dir);
	free(p->profile);
	for (i = 0; i < p->ncats; i++)
		free(p->cats[i].name);
	free(p->cats);
	free_strv(p->profiles, p->nprofiles);
	free(p->slurm_partition);
	free(p->slurm_account);
	free(p->slurm_workdir);
	free_strv(p->slurm_opts, p->nslurm_opts);
	free(p);
}
