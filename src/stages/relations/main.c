/*
 * main.c: the relations stage: reads every schema record
 * (sluice-records(5)), then adds to each table record its "relations"
 * (belongs_to from foreign keys, or from <name>_id columns by Rails'
 * inflection where there is no key; has_many and has_one inverses;
 * has_many through join tables) and its "polymorphic" pairs.  Names
 * come from the columns alone, so adding a relation never renames
 * another.  Relation fields name Zero's client names (typemap's ts_name
 * when present).  Output waits for all input: a bad record leaves
 * stdout empty.
 */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "inflect.h"
#include "json.h"
#include "rec.h"
#include "xalloc.h"
#include "banned.h"

#define USAGE	"usage: sluice relations [--no-conventions]\n"

struct tcol {
	char		*name;
	char		*ts;
	int		 zero;		/* in the Zero schema */
	int		 unique;	/* alone in a unique index */
};

struct hop {
	char		**src;
	int		  nsrc;
	struct tbl	 *to;
	char		**dst;
	int		  ndst;
};

struct rel {
	char		*name;
	const char	*kind;
	const char	*via;
	int		 many;
	struct tbl	*target;
	struct hop	 hop[2];
	int		 nhop;
};

struct poly {
	char		*name;
	char		*type_col, *id_col;
};

struct tbl {
	char		*name;
	char		*qual;		/* schema.name, or NULL */
	char		*ts;
	struct tcol	*col;
	int		 ncol;
	char		**pk;
	int		 npk;
	struct rel	*rel;
	int		 nrel;
	struct poly	*poly;
	int		 npoly;
	int		 nbelongs;	/* rel[0..nbelongs) are belongs_to */
	struct json	 j;
	const char	*line;
	size_t		 len;
	struct tbl	*hnext;
};

struct line {
	const char	*p;
	size_t		 len;
	struct tbl	*t;		/* or NULL: passed through */
};

#define NBUCKET	4096
static struct tbl	*buckets[NBUCKET];
static int		 conventions = 1;

static void __attribute__((__noreturn__))
usage(int status)
{
	fputs(USAGE, status == 0 ? stdout : stderr);
	exit(status);
}

static unsigned
hash(const char *s)
{
	unsigned	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKET;
}

static struct tbl *
tbl_find(const char *name)
{
	struct tbl	*t;
	const char	*dot = strrchr(name, '.');

	/* hashed by the bare name; "schema.name" compares the qualified */
	for (t = buckets[hash(dot != NULL ? dot + 1 : name)]; t != NULL;
	    t = t->hnext)
		if (strcmp(t->name, name) == 0 || (t->qual != NULL &&
		    strcmp(t->qual, name) == 0))
			return t;
	return NULL;
}

static struct tcol *
col_find(struct tbl *t, const char *name)
{
	int	 i;

	for (i = 0; i < t->ncol; i++)
		if (strcmp(t->col[i].name, name) == 0)
			return &t->col[i];
	return NULL;
}

static char *
str_field(const struct json *j, int obj, const char *key)
{
	int	 t = json_get(j, obj, key);

	if (t == -1 || json_type(j, t) != JSON_STRING)
		return NULL;
	return json_str(j, t);
}

static char *
ident(const char *s)
{
	struct buf	 b = { 0 };

	if (ts_is_ident(s))
		return xstrdup(s);
	ts_ident(&b, s);
	return buf_steal(&b);
}

static char **
str_list(const struct json *j, int arr, int *n)
{
	char	**v = NULL;
	int	  e;

	*n = 0;
	if (json_type(j, arr) != JSON_ARRAY)
		return NULL;
	JSON_FOREACH_ELEM(j, arr, e) {
		if (json_type(j, e) != JSON_STRING)
			json_errx(j, e, "expected a column name");
		v = xreallocarray(v, *n + 1, sizeof(char *));
		v[(*n)++] = json_str(j, e);
	}
	return v;
}

static void
tbl_load(struct tbl *t)
{
	const struct json *j = &t->j;
	char		*schema, **ic;
	int		 cols, c, idx, e, n, i;

	if ((t->name = str_field(j, 0, "name")) == NULL)
		json_errx(j, 0, "table record without a \"name\"");
	if ((schema = str_field(j, 0, "schema")) != NULL)
		t->qual = xasprintf("%s.%s", schema, t->name);
	free(schema);
	if ((t->ts = str_field(j, 0, "ts_name")) == NULL)
		t->ts = ident(t->qual != NULL ? t->qual : t->name);
	cols = json_get(j, 0, "columns");
	if (json_type(j, cols) != JSON_ARRAY)
		json_errx(j, cols == -1 ? 0 : cols,
		    "\"columns\": expected an array");
	JSON_FOREACH_ELEM(j, cols, c) {
		struct tcol	*tc;
		int		 z;

		t->col = xreallocarray(t->col, t->ncol + 1, sizeof(*t->col));
		tc = &t->col[t->ncol++];
		memset(tc, 0, sizeof(*tc));
		if ((tc->name = str_field(j, c, "name")) == NULL)
			json_errx(j, c, "column without a \"name\"");
		if ((tc->ts = str_field(j, c, "ts_name")) == NULL)
			tc->ts = ident(tc->name);
		/* typemap leaves a column out of Zero with "zero": null */
		z = json_get(j, c, "zero");
		tc->zero = z == -1 || json_type(j, z) != JSON_NULL;
	}
	t->pk = str_list(j, json_get(j, 0, "primary_key"), &t->npk);
	idx = json_get(j, 0, "indexes");
	if (json_type(j, idx) == JSON_ARRAY)
		JSON_FOREACH_ELEM(j, idx, e) {
			if (json_type(j, json_get(j, e, "unique")) != JSON_TRUE)
				continue;
			if (json_type(j, json_get(j, e, "where")) ==
			    JSON_STRING)
				continue;
			ic = str_list(j, json_get(j, e, "columns"), &n);
			if (n == 1 && col_find(t, ic[0]) != NULL)
				col_find(t, ic[0])->unique = 1;
			for (i = 0; i < n; i++)
				free(ic[i]);
			free(ic);
		}
	if (t->npk == 1 && col_find(t, t->pk[0]) != NULL)
		col_find(t, t->pk[0])->unique = 1;
}

/* --- naming ----------------------------------------------------------- */

static char *
singular(const char *w)
{
	struct buf	 b = { 0 };

	inflect_singular(&b, w);
	return buf_steal(&b);
}

static char *
plural(const char *w)
{
	struct buf	 b = { 0 };

	inflect_plural(&b, w);
	return buf_steal(&b);
}

static int
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (isupper((unsigned char)*s))
			return 1;
	return 0;
}

/* "author_id" -> "author", "ArtistId" -> "Artist"; NULL without one */
static char *
id_base(const char *c)
{
	size_t	 n = strlen(c);

	if (n > 3 && strcmp(c + n - 3, "_id") == 0)
		return xstrndup(c, n - 3);
	if (n > 2 && (strcmp(c + n - 2, "Id") == 0 ||
	    strcmp(c + n - 2, "ID") == 0) && c[n - 3] != '_')
		return xstrndup(c, n - 2);
	return NULL;
}

static int
name_used(const struct tbl *t, const char *name)
{
	int	 i;

	for (i = 0; i < t->ncol; i++)
		if (strcmp(t->col[i].ts, name) == 0)
			return 1;
	for (i = 0; i < t->nrel; i++)
		if (strcmp(t->rel[i].name, name) == 0)
			return 1;
	return 0;
}

/* a name not yet used in t: name, else name2, name3, ... */
static char *
fresh(const struct tbl *t, char *name)
{
	char	*n;
	int	 i;

	if (!name_used(t, name))
		return name;
	for (i = 2; ; i++) {
		n = xasprintf("%s%d", name, i);
		if (!name_used(t, n)) {
			free(name);
			return n;
		}
		free(n);
	}
}

static struct rel *
rel_add(struct tbl *t)
{
	struct rel	*r;

	t->rel = xreallocarray(t->rel, t->nrel + 1, sizeof(*t->rel));
	r = &t->rel[t->nrel++];
	memset(r, 0, sizeof(*r));
	return r;
}

static char **
ts_cols(struct tbl *t, char **names, int n, int *ok)
{
	char		**v = xcalloc((size_t)n + 1, sizeof(char *));
	struct tcol	*c;
	int		  i;

	*ok = 1;
	for (i = 0; i < n; i++) {
		if ((c = col_find(t, names[i])) == NULL || !c->zero) {
			*ok = 0;
			v[i] = xstrdup(names[i]);
		} else
			v[i] = xstrdup(c->ts);
	}
	return v;
}

static void
free_list(char **v, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* belongs_to from t's columns cols (db names) to u's ucols */
static void
belongs_to(struct tbl *t, char **cols, int n, struct tbl *u, char **ucols,
    int nu, const char *via)
{
	struct rel	*r;
	char		**src, **dst, *base, *name;
	int		  ok1, ok2;

	if (n == 0 || n != nu)
		return;
	src = ts_cols(t, cols, n, &ok1);
	dst = ts_cols(u, ucols, nu, &ok2);
	if (!ok1 || !ok2) {
		free_list(src, n);
		free_list(dst, nu);
		return;
	}
	if (n == 1 && (base = id_base(src[0])) != NULL)
		name = base;
	else if (n == 1) {
		char	*s = singular(u->ts);

		name = xasprintf(has_upper(src[0]) ? "%s%s" : "%s_%s", src[0],
		    s);
		free(s);
	} else
		name = singular(u->ts);
	name = fresh(t, name);
	r = rel_add(t);
	r->name = name;
	r->kind = "belongs_to";
	r->via = via;
	r->target = u;
	r->nhop = 1;
	r->hop[0].src = src;
	r->hop[0].nsrc = n;
	r->hop[0].to = u;
	r->hop[0].dst = dst;
	r->hop[0].ndst = nu;
}

static int
is_covered(struct tbl *t, const char *col)
{
	int	 i;

	for (i = 0; i < t->nrel; i++)
		if (t->rel[i].hop[0].nsrc == 1 &&
		    strcmp(t->rel[i].hop[0].src[0], col_find(t, col) ?
		    col_find(t, col)->ts : col) == 0)
			return 1;
	return 0;
}

static void
find_belongs(struct tbl *t)
{
	const struct json *j = &t->j;
	struct tbl	*u;
	char		**cols, **ucols, *to, *tos, *q, *base, *pl;
	int		  fks, f, n, nu, i;
	struct buf	  b = { 0 };

	fks = json_get(j, 0, "foreign_keys");
	if (json_type(j, fks) == JSON_ARRAY)
		JSON_FOREACH_ELEM(j, fks, f) {
			to = str_field(j, f, "to_table");
			tos = str_field(j, f, "to_schema");
			q = tos != NULL && to != NULL ? xasprintf("%s.%s",
			    tos, to) : NULL;
			u = q != NULL ? tbl_find(q) : NULL;
			if (u == NULL && to != NULL)
				u = tbl_find(to);
			free(to);
			free(tos);
			free(q);
			if (u == NULL)
				continue;
			cols = str_list(j, json_get(j, f, "columns"), &n);
			ucols = str_list(j, json_get(j, f, "to_columns"), &nu);
			if (nu == 0 && u->npk == n) {
				free(ucols);
				ucols = xcalloc((size_t)n + 1, sizeof(char *));
				for (i = 0; i < n; i++)
					ucols[i] = xstrdup(u->pk[i]);
				nu = n;
			}
			belongs_to(t, cols, n, u, ucols, nu, "foreign_key");
			free_list(cols, n);
			free_list(ucols, nu);
		}
	/* <name>_type + <name>_id: polymorphic, never joined on the id */
	for (i = 0; i < t->ncol; i++) {
		size_t	 len = strlen(t->col[i].name);
		char	*idc;

		if (len <= 5 || strcmp(t->col[i].name + len - 5, "_type") != 0)
			continue;
		idc = xasprintf("%.*s_id", (int)(len - 5), t->col[i].name);
		if (col_find(t, idc) != NULL) {
			struct poly	*p;

			t->poly = xreallocarray(t->poly, t->npoly + 1,
			    sizeof(*t->poly));
			p = &t->poly[t->npoly++];
			p->name = xstrndup(t->col[i].ts, strlen(t->col[i].ts) -
			    5);
			p->type_col = xstrdup(t->col[i].ts);
			p->id_col = xstrdup(col_find(t, idc)->ts);
		}
		free(idc);
	}
	if (!conventions)
		return;
	/* <name>_id without a foreign key: the table plural(name) */
	for (i = 0; i < t->ncol; i++) {
		size_t	 len = strlen(t->col[i].name);
		char	*typec;
		int	 poly;

		if (len <= 3 || strcmp(t->col[i].name + len - 3, "_id") != 0 ||
		    is_covered(t, t->col[i].name))
			continue;
		typec = xasprintf("%.*s_type", (int)(len - 3), t->col[i].name);
		poly = col_find(t, typec) != NULL;
		free(typec);
		if (poly)
			continue;
		base = xstrndup(t->col[i].name, len - 3);
		pl = plural(base);
		if ((u = tbl_find(pl)) == NULL)
			u = tbl_find(base);
		if (u == NULL && t->qual != NULL) {
			/* the same schema first */
			buf_reset(&b);
			buf_printf(&b, "%.*s.%s", (int)(strlen(t->qual) -
			    strlen(t->name) - 1), t->qual, pl);
			u = tbl_find(b.data);
		}
		free(base);
		free(pl);
		if (u == NULL || u->npk != 1)
			continue;
		cols = &t->col[i].name;
		belongs_to(t, cols, 1, u, u->pk, 1, "convention");
	}
	buf_free(&b);
}

/* has_many / has_one on the target of each belongs_to of t */
static void
add_inverses(struct tbl *t)
{
	struct rel	*b, *r;
	struct tbl	*u;
	char		*name, *base, *conv, *s;
	int		  i, k, one, conventional;

	for (i = 0; i < t->nbelongs; i++) {
		b = &t->rel[i];
		u = b->target;
		/* unique when the key columns are t's primary key or alone
		   in a unique index */
		one = 0;
		if (b->hop[0].nsrc == 1) {
			for (k = 0; k < t->ncol; k++)
				if (strcmp(t->col[k].ts, b->hop[0].src[0]) ==
				    0 && t->col[k].unique)
					one = 1;
		}
		/* user_id for users, ArtistId for Artist: the plain name */
		s = singular(u->ts);
		conv = xasprintf(has_upper(s) ? "%sId" : "%s_id", s);
		conventional = b->hop[0].nsrc != 1 ||
		    strcmp(b->hop[0].src[0], conv) == 0 ||
		    (u->npk == 1 && strcmp(b->hop[0].src[0], u->pk[0]) == 0);
		free(conv);
		free(s);
		name = one ? singular(t->ts) : plural(t->ts);
		if (!conventional && (base = id_base(b->hop[0].src[0])) !=
		    NULL) {
			s = name;
			name = xasprintf(has_upper(base) ? "%s%s" : "%s_%s",
			    base, s);
			free(s);
			free(base);
		} else if (!conventional) {
			s = name;
			name = xasprintf(has_upper(b->hop[0].src[0]) ? "%s%s" :
			    "%s_%s", b->hop[0].src[0], s);
			free(s);
		}
		name = fresh(u, name);
		r = rel_add(u);
		b = &t->rel[i];		/* rel_add may move t->rel if t == u */
		r->name = name;
		r->kind = one ? "has_one" : "has_many";
		r->via = b->via;
		r->many = !one;
		r->target = t;
		r->nhop = 1;
		r->hop[0].to = t;
		r->hop[0].nsrc = b->hop[0].ndst;
		r->hop[0].src = xcalloc((size_t)r->hop[0].nsrc + 1,
		    sizeof(char *));
		for (k = 0; k < r->hop[0].nsrc; k++)
			r->hop[0].src[k] = xstrdup(b->hop[0].dst[k]);
		r->hop[0].ndst = b->hop[0].nsrc;
		r->hop[0].dst = xcalloc((size_t)r->hop[0].ndst + 1,
		    sizeof(char *));
		for (k = 0; k < r->hop[0].ndst; k++)
			r->hop[0].dst[k] = xstrdup(b->hop[0].src[k]);
	}
}

static int
is_plain(const char *c)
{
	return strcmp(c, "id") == 0 || strcmp(c, "created_at") == 0 ||
	    strcmp(c, "updated_at") == 0;
}

/* a join table: two belongs_to, nothing else but id and timestamps */
static void
add_through(struct tbl *jt)
{
	struct rel	*a, *b, *r;
	struct tbl	*ta, *tb;
	char		*name, *s;
	int		  i, k, side;

	if (jt->nbelongs != 2)
		return;
	for (i = 0; i < jt->ncol; i++) {
		int	 used = 0;

		for (k = 0; k < 2; k++)
			if (jt->rel[k].hop[0].nsrc == 1 &&
			    strcmp(jt->rel[k].hop[0].src[0], jt->col[i].ts) ==
			    0)
				used = 1;
		if (!used && !is_plain(jt->col[i].name))
			return;
	}
	for (side = 0; side < 2; side++) {
		a = &jt->rel[side];
		b = &jt->rel[1 - side];
		ta = a->target;
		tb = b->target;
		if (ta == jt || tb == jt || ta == tb)
			return;
		name = plural(tb->ts);
		if (name_used(ta, name)) {
			s = name;
			name = xasprintf("%s_%s", jt->ts, s);
			free(s);
		}
		name = fresh(ta, name);
		r = rel_add(ta);
		a = &jt->rel[side];
		b = &jt->rel[1 - side];
		r->name = name;
		r->kind = "has_many_through";
		r->via = a->via;
		r->many = 1;
		r->target = tb;
		r->nhop = 2;
		/* ta.pk -> jt.a_id, then jt.b_id -> tb.pk */
		r->hop[0].to = jt;
		r->hop[0].nsrc = a->hop[0].ndst;
		r->hop[0].src = xcalloc((size_t)a->hop[0].ndst + 1,
		    sizeof(char *));
		for (k = 0; k < a->hop[0].ndst; k++)
			r->hop[0].src[k] = xstrdup(a->hop[0].dst[k]);
		r->hop[0].ndst = a->hop[0].nsrc;
		r->hop[0].dst = xcalloc((size_t)a->hop[0].nsrc + 1,
		    sizeof(char *));
		for (k = 0; k < a->hop[0].nsrc; k++)
			r->hop[0].dst[k] = xstrdup(a->hop[0].src[k]);
		r->hop[1].to = tb;
		r->hop[1].nsrc = b->hop[0].nsrc;
		r->hop[1].src = xcalloc((size_t)b->hop[0].nsrc + 1,
		    sizeof(char *));
		for (k = 0; k < b->hop[0].nsrc; k++)
			r->hop[1].src[k] = xstrdup(b->hop[0].src[k]);
		r->hop[1].ndst = b->hop[0].ndst;
		r->hop[1].dst = xcalloc((size_t)b->hop[0].ndst + 1,
		    sizeof(char *));
		for (k = 0; k < b->hop[0].ndst; k++)
			r->hop[1].dst[k] = xstrdup(b->hop[0].dst[k]);
	}
}

/* --- output ----------------------------------------------------------- */

static void
jlist(struct buf *o, char **v, int n)
{
	int	 i;

	buf_addc(o, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(o, ',');
		json_escape(o, v[i], strlen(v[i]));
	}
	buf_addc(o, ']');
}

static void
emit(struct buf *o, const struct tbl *t)
{
	const struct rel *r;
	int		  i, h;

	buf_add(o, t->line, (size_t)t->j.tok[0].end - 1);
	buf_adds(o, ",\"relations\":[");
	for (i = 0; i < t->nrel; i++) {
		r = &t->rel[i];
		if (i > 0)
			buf_addc(o, ',');
		buf_adds(o, "{\"name\":");
		json_escape(o, r->name, strlen(r->name));
		buf_printf(o, ",\"kind\":\"%s\",\"cardinality\":\"%s\","
		    "\"via\":\"%s\",\"table\":", r->kind, r->many ? "many" :
		    "one", r->via);
		json_escape(o, r->target->name, strlen(r->target->name));
		buf_adds(o, ",\"target\":");
		json_escape(o, r->target->ts, strlen(r->target->ts));
		buf_adds(o, ",\"hops\":[");
		for (h = 0; h < r->nhop; h++) {
			if (h > 0)
				buf_addc(o, ',');
			buf_adds(o, "{\"source\":");
			jlist(o, r->hop[h].src, r->hop[h].nsrc);
			buf_adds(o, ",\"table\":");
			json_escape(o, r->hop[h].to->ts,
			    strlen(r->hop[h].to->ts));
			buf_adds(o, ",\"dest\":");
			jlist(o, r->hop[h].dst, r->hop[h].ndst);
			buf_addc(o, '}');
		}
		buf_adds(o, "]}");
	}
	buf_adds(o, "],\"polymorphic\":[");
	for (i = 0; i < t->npoly; i++) {
		if (i > 0)
			buf_addc(o, ',');
		buf_adds(o, "{\"name\":");
		json_escape(o, t->poly[i].name, strlen(t->poly[i].name));
		buf_adds(o, ",\"type_column\":");
		json_escape(o, t->poly[i].type_col,
		    strlen(t->poly[i].type_col));
		buf_adds(o, ",\"id_column\":");
		json_escape(o, t->poly[i].id_col, strlen(t->poly[i].id_col));
		buf_addc(o, '}');
	}
	buf_adds(o, "]}\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "no-conventions", no_argument, NULL, 'n' },
		{ "usage", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf	 in = { 0 }, out = { 0 };
	/* static: what lives until the process ends stays reachable */
	static struct line *lines;
	static struct tbl **tables;
	struct tbl	*t;
	struct json	 j;
	const char	*p, *e, *line;
	size_t		 len, nlines = 0, ntables = 0, i;
	int		 ch, k, lineno = 0, view;
	unsigned	 h;

	program_invocation_short_name = (char *)"relations";
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			conventions = 0;
			break;
		case 'u':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);

	rec_slurp(STDIN_FILENO, &in);
	p = in.data != NULL ? in.data : "";
	e = p + in.len;
	while (rec_line(&p, e, &line, &len)) {
		lineno++;
		if (len == 0)
			continue;
		lines = xreallocarray(lines, nlines + 1, sizeof(*lines));
		lines[nlines].p = line;
		lines[nlines].len = len;
		lines[nlines].t = NULL;
		k = rec_parse(&j, "<stdin>", line, len, lineno);
		view = json_eq(&j, k, "view");
		if (!json_eq(&j, k, "table") && !view) {
			json_free(&j);
			nlines++;
			continue;
		}
		t = xcalloc(1, sizeof(*t));
		t->j = j;
		t->line = line;
		t->len = len;
		tbl_load(t);
		lines[nlines++].t = t;
		if (view)
			continue;	/* no relations to or from views */
		h = hash(t->name);
		t->hnext = buckets[h];
		buckets[h] = t;
		tables = xreallocarray(tables, ntables + 1, sizeof(*tables));
		tables[ntables++] = t;
	}
	for (i = 0; i < ntables; i++) {
		find_belongs(tables[i]);
		tables[i]->nbelongs = tables[i]->nrel;
	}
	for (i = 0; i < ntables; i++)
		add_inverses(tables[i]);
	for (i = 0; i < ntables; i++)
		add_through(tables[i]);
	for (i = 0; i < nlines; i++) {
		if (lines[i].t != NULL)
			emit(&out, lines[i].t);
		else {
			buf_add(&out, lines[i].p, lines[i].len);
			buf_addc(&out, '\n');
		}
	}
	rec_flush(&out);
	/* the process ends here: the tables go with it */
	buf_free(&out);
	buf_free(&in);
	return 0;
}
