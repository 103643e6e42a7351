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
 *
 * Memory: the input is kept (each record is written again as it came,
 * the new fields spliced in before its closing brace), in memory up to
 * --buffer-size and beyond that in a file (spill.h); of a table only
 * its facts (relations.h) are kept, in an arena, read by scan.c in one
 * pass, or from json.c's tokens for a record scan.c leaves to it.
 * Output goes out in chunks once every record has been read.
 */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <limits.h>
#include <sys/uio.h>

#include "buf.h"
#include "inflect.h"
#include "json.h"
#include "rec.h"
#include "spill.h"
#include "util.h"
#include "xalloc.h"
#include "relations.h"
#include "banned.h"

#define USAGE	\
	"usage: sluice relations [--no-conventions] [--buffer-size size]\n"

/* input kept in memory before it spills to TMPDIR (--buffer-size) */
#define BUFFER_SIZE	(64 * 1024)

/* an arena chunk; output is written once about this much is ready */
#define CHUNK	65536

/* 24 bytes: a 1,000-table schema has some 15,000 of them */
struct tcol {
	const char	*name;
	const char	*ts;
	uint32_t	 len;		/* of name */
	unsigned char	 zero;		/* in the Zero schema */
	unsigned char	 unique;	/* alone in a unique index */
	char		 kind;		/* col_kind: 'n', 's', 'b' or 0 */
};

struct fkey {
	const char	 *to, *tos;	/* or NULL */
	const char	**cols, **ucols;
	int		  ncols, nucols;
	const char	 *cerr, *uerr;	/* a non-string's place */
};

struct hop {
	const char	**src, **dst;
	struct tbl	 *to;
	int		  nsrc, ndst;
};

struct rel {
	char		*name;
	const char	*kind;
	const char	*via;
	struct tbl	*target;
	struct hop	*hop;		/* nhop of them, in the arena */
	int		 nhop;
	int		 many;
};

struct poly {
	const char	*name;
	const char	*type_col, *id_col;
};

struct tbl {
	const char	*name;
	const char	*qual;		/* schema.name, or NULL */
	const char	*ts;
	struct tcol	*col;
	int		 ncol;
	const char	**pk;
	int		 npk;
	struct fkey	*fk;
	int		 nfk;
	struct rel	*rel;
	int		 nrel, caprel;
	struct poly	*poly;
	int		 npoly;
	int		 nbelongs;	/* rel[0..nbelongs) are belongs_to */
	const char	*sing, *plur;	/* of ts, once asked for */
	size_t		 end;		/* offset of the final '}' */
	struct tbl	*hnext;
};

struct line {
	size_t		 off;		/* in the spill */
	size_t		 len;
	struct tbl	*t;		/* or NULL: passed through */
};

/* tables by name: a power of two of buckets, twice the tables */
static struct tbl	**buckets;
static unsigned		  nbucket = 1;
static int		 conventions = 1;

/* static: what lives until the process ends stays reachable */
static char		*chunks;	/* the arena; each links the last */
static char		*arena_p;
static size_t		 arena_left;

static void __attribute__((__noreturn__))
usage(int status)
{
	fputs(USAGE, status == 0 ? stdout : stderr);
	exit(status);
}

/* --- the arena: facts live until the process ends --------------------- */

/* n bytes at a multiple of align (a power of two up to 16) */
static void *
arena_get(size_t n, size_t align)
{
	char	*c;
	void	*r;
	size_t	 pad = (align - ((uintptr_t)arena_p & (align - 1))) &
		    (align - 1);

	if (arena_p == NULL || n + pad > arena_left) {
		size_t	 sz = n + 16 > CHUNK / 4 ? n + 16 : CHUNK;

		c = xmalloc(sz);
		memcpy(c, &chunks, sizeof(chunks));
		chunks = c;
		if (sz != CHUNK)	/* a big one: the chunk is its own */
			return c + 16;
		arena_p = c + 16;
		arena_left = sz - 16;
		pad = 0;
	}
	r = arena_p + pad;
	arena_p += pad + n;
	arena_left -= pad + n;
	return r;
}

static void *
arena_alloc(size_t n)
{
	return arena_get(n, 8);
}

static const char *
astr(const char *p, size_t len)
{
	char	*s = arena_get(len + 1, 1);	/* strings: unaligned */

	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static const char *
astr_span(const struct span *sp)
{
	return astr(sp->p, sp->len);
}

/* --- tables ------------------------------------------------------------ */

static unsigned
hash(const char *s)
{
	unsigned	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (nbucket - 1);
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
col_findn(struct tbl *t, const char *name, size_t len)
{
	int	 i;

	for (i = 0; i < t->ncol; i++)
		if (t->col[i].len == len &&
		    memcmp(t->col[i].name, name, len) == 0)
			return &t->col[i];
	return NULL;
}

static struct tcol *
col_find(struct tbl *t, const char *name)
{
	return col_findn(t, name, strlen(name));
}

static const char *
ident(const char *s)
{
	struct buf	 b = { 0 };
	const char	*r;

	if (ts_is_ident(s))
		return s;
	ts_ident(&b, s);
	r = astr(b.data, b.len);
	buf_free(&b);
	return r;
}

static const char **
alist(const struct scan *s, int at, int n)
{
	const char	**v = arena_alloc(((size_t)n + 1) * sizeof(char *));
	int		  i;

	for (i = 0; i < n; i++)
		v[i] = astr_span(&s->str[at + i]);
	v[n] = NULL;
	return v;
}

/* a table's facts into the arena */
static int
span_is(const struct span *sp, const char *s)
{
	return sp->p != NULL && sp->len == strlen(s) &&
	    memcmp(sp->p, s, sp->len) == 0;
}

/*
 * What values a column holds, for joining by convention: 'n' numbers,
 * 's' strings, 'b' booleans, 0 not known.  typemap's ts_base says; else
 * the normalized type (sluice-records(5)).
 */
static char
col_kind(const struct scol *sc)
{
	static const char *const num[] = { "integer", "bigint", "smallint",
	    "decimal", "float", "serial", "bigserial", NULL };
	static const char *const str[] = { "string", "text", "uuid",
	    "citext", NULL };
	int	 i;

	if (sc->ts_base.p != NULL)
		return span_is(&sc->ts_base, "number") ? 'n' :
		    span_is(&sc->ts_base, "string") ? 's' :
		    span_is(&sc->ts_base, "boolean") ? 'b' : 0;
	for (i = 0; num[i] != NULL; i++)
		if (span_is(&sc->type, num[i]))
			return 'n';
	for (i = 0; str[i] != NULL; i++)
		if (span_is(&sc->type, str[i]))
			return 's';
	return span_is(&sc->type, "boolean") ? 'b' : 0;
}

static struct tbl *
tbl_make(const struct scan *s)
{
	struct tbl	*t = arena_alloc(sizeof(*t));
	struct tcol	*c;
	int		 i;

	memset(t, 0, sizeof(*t));
	t->name = astr_span(&s->name);
	if (s->schema.p != NULL) {
		char	*q = arena_alloc(s->schema.len + s->name.len + 2);

		memcpy(q, s->schema.p, s->schema.len);
		q[s->schema.len] = '.';
		memcpy(q + s->schema.len + 1, t->name, s->name.len + 1);
		t->qual = q;
	}
	t->ts = s->ts.p != NULL ? astr_span(&s->ts) :
	    ident(t->qual != NULL ? t->qual : t->name);
	t->ncol = s->ncol;
	t->col = arena_alloc((size_t)s->ncol * sizeof(*t->col));
	for (i = 0; i < s->ncol; i++) {
		const struct scol *sc = &s->col[i];

		c = &t->col[i];
		c->name = astr_span(&sc->name);
		c->len = (uint32_t)sc->name.len;
		if (sc->ts.p == NULL)
			c->ts = ident(c->name);
		else if (sc->ts.len == sc->name.len &&
		    memcmp(sc->ts.p, sc->name.p, sc->ts.len) == 0)
			c->ts = c->name;
		else
			c->ts = astr_span(&sc->ts);
		c->zero = sc->zero != 0;
		c->unique = 0;
		c->kind = col_kind(sc);
	}
	t->npk = s->npk;
	t->pk = alist(s, s->pk, s->npk);
	for (i = 0; i < s->nuniq; i++)
		if ((c = col_findn(t, s->uniq[i].p, s->uniq[i].len)) != NULL)
			c->unique = 1;
	if (t->npk == 1 && (c = col_find(t, t->pk[0])) != NULL)
		c->unique = 1;
	t->nfk = s->nfk;
	t->fk = arena_alloc((size_t)s->nfk * sizeof(*t->fk));
	for (i = 0; i < s->nfk; i++) {
		const struct sfk *sf = &s->fk[i];
		struct fkey	 *f = &t->fk[i];

		f->to = sf->to.p != NULL ? astr_span(&sf->to) : NULL;
		f->tos = sf->tos.p != NULL ? astr_span(&sf->tos) : NULL;
		f->cols = alist(s, sf->col, sf->ncol);
		f->ncols = sf->ncol;
		f->ucols = alist(s, sf->ucol, sf->nucol);
		f->nucols = sf->nucol;
		f->cerr = sf->cerr;
		f->uerr = sf->uerr;
	}
	t->end = s->end;
	return t;
}

/* --- the token path: json.c reads what scan.c leaves to it ------------- */

static void
tok_str(struct span *sp, const struct json *j, int t)
{
	struct buf	 b = { 0 };

	sp->p = NULL;
	sp->len = 0;
	if (t == -1 || json_type(j, t) != JSON_STRING)
		return;
	json_str_buf(j, t, &b);
	sp->p = astr(b.data != NULL ? b.data : "", b.len);
	sp->len = b.len;
	buf_free(&b);
}

/* a list of column names into s->str; with err NULL, an element that
 * is not a string is an error now, else *err says where it is */
static void
tok_list(struct scan *s, const struct json *j, int arr, int *at, int *n,
    const char **err)
{
	struct span	 sp;
	char		 loc[1024];
	int		 e;

	*at = s->nstr;
	*n = 0;
	if (json_type(j, arr) != JSON_ARRAY)
		return;
	JSON_FOREACH_ELEM(j, arr, e) {
		if (json_type(j, e) != JSON_STRING) {
			if (err == NULL)
				json_errx(j, e, "expected a column name");
			json_loc(j, e, loc, sizeof(loc));
			*err = astr(loc, strlen(loc));
			*n = 0;
			return;
		}
		tok_str(&sp, j, e);
		scan_str(s, sp.p, sp.len);
		(*n)++;
	}
}

/* the checks and their order are those of the records' first reader */
static void
tok_load(struct scan *s, const struct json *j)
{
	int	 cols, c, idx, e, fks, f, at, n, z;

	scan_reset(s);
	tok_str(&s->name, j, json_get(j, 0, "name"));
	if (s->name.p == NULL)
		rec_str_errx(j, 0, "name", "table record");
	tok_str(&s->schema, j, json_get(j, 0, "schema"));
	tok_str(&s->ts, j, json_get(j, 0, "ts_name"));
	cols = json_get(j, 0, "columns");
	if (json_type(j, cols) != JSON_ARRAY)
		json_errx(j, cols == -1 ? 0 : cols,
		    "\"columns\": expected an array");
	JSON_FOREACH_ELEM(j, cols, c) {
		struct scol	*sc = scan_col(s);

		if (json_type(j, c) != JSON_OBJECT)
			json_errx(j, c, "column: expected an object, found %s",
			    json_typename(json_type(j, c)));
		tok_str(&sc->name, j, json_get(j, c, "name"));
		if (sc->name.p == NULL)
			rec_str_errx(j, c, "name", "column");
		tok_str(&sc->ts, j, json_get(j, c, "ts_name"));
		tok_str(&sc->type, j, json_get(j, c, "type"));
		tok_str(&sc->ts_base, j, json_get(j, c, "ts_base"));
		/* typemap leaves a column out of Zero without a "zero" (or
		 * with null): a "ts_name" says typemap has been */
		z = json_get(j, c, "zero");
		sc->zero = z != -1 ? json_type(j, z) != JSON_NULL :
		    json_get(j, c, "ts_name") == -1;
	}
	tok_list(s, j, json_get(j, 0, "primary_key"), &s->pk, &s->npk, NULL);
	idx = json_get(j, 0, "indexes");
	if (json_type(j, idx) == JSON_ARRAY)
		JSON_FOREACH_ELEM(j, idx, e) {
			if (json_type(j, json_get(j, e, "unique")) != JSON_TRUE)
				continue;
			if (json_type(j, json_get(j, e, "where")) ==
			    JSON_STRING)
				continue;
			tok_list(s, j, json_get(j, e, "columns"), &at, &n,
			    NULL);
			if (n == 1)
				*scan_uniq(s) = s->str[at];
		}
	fks = json_get(j, 0, "foreign_keys");
	if (json_type(j, fks) == JSON_ARRAY)
		JSON_FOREACH_ELEM(j, fks, f) {
			struct sfk	*sf = scan_fk(s);

			tok_str(&sf->to, j, json_get(j, f, "to_table"));
			tok_str(&sf->tos, j, json_get(j, f, "to_schema"));
			tok_list(s, j, json_get(j, f, "columns"), &sf->col,
			    &sf->ncol, &sf->cerr);
			tok_list(s, j, json_get(j, f, "to_columns"), &sf->ucol,
			    &sf->nucol, &sf->uerr);
		}
	s->end = (size_t)j->tok[0].end - 1;
}

/* --- naming ----------------------------------------------------------- */

static char *
plural(const char *w)
{
	struct buf	 b = { 0 };

	inflect_plural(&b, w);
	return buf_steal(&b);
}

/* t's client name inflected by fn, kept in *kept */
static const char *
tinflect(const struct tbl *t, const char **kept,
    void (*fn)(struct buf *, const char *))
{
	struct buf	 b = { 0 };

	if (*kept == NULL) {
		fn(&b, t->ts);
		*kept = astr(b.data, b.len);
		buf_free(&b);
	}
	return *kept;
}

/* in the singular and the plural */
static const char *
tsing(struct tbl *t)
{
	return tinflect(t, &t->sing, inflect_singular);
}

static const char *
tplur(struct tbl *t)
{
	return tinflect(t, &t->plur, inflect_plural);
}

/* a + b + c, allocated */
static char *
concat(const char *a, const char *b, const char *c)
{
	size_t	 la = strlen(a), lb = strlen(b), lc = strlen(c);
	char	*r = xmalloc(la + lb + lc + 1);

	memcpy(r, a, la);
	memcpy(r + la, b, lb);
	memcpy(r + la + lb, c, lc + 1);
	return r;
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

	/* the first byte rules most out without a call */
	for (i = 0; i < t->ncol; i++)
		if (t->col[i].ts[0] == name[0] &&
		    strcmp(t->col[i].ts, name) == 0)
			return 1;
	for (i = 0; i < t->nrel; i++)
		if (t->rel[i].name[0] == name[0] &&
		    strcmp(t->rel[i].name, name) == 0)
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
rel_add(struct tbl *t, int nhop)
{
	struct rel	*r;

	if (t->nrel == t->caprel) {
		t->caprel = t->caprel < 4 ? 4 : t->caprel * 2;
		t->rel = xreallocarray(t->rel, (size_t)t->caprel,
		    sizeof(*t->rel));
	}
	r = &t->rel[t->nrel++];
	memset(r, 0, sizeof(*r));
	r->nhop = nhop;
	r->hop = arena_alloc((size_t)nhop * sizeof(*r->hop));
	memset(r->hop, 0, (size_t)nhop * sizeof(*r->hop));
	return r;
}

/* the client names of t's columns names, or NULL when one is missing or
 * left out of Zero */
static const char **
ts_cols(struct tbl *t, const char *const *names, int n)
{
	const char	**v;
	struct tcol	 *c;
	int		  i;

	for (i = 0; i < n; i++)
		if ((c = col_find(t, names[i])) == NULL || !c->zero)
			return NULL;
	v = arena_alloc(((size_t)n + 1) * sizeof(char *));
	for (i = 0; i < n; i++)
		v[i] = col_find(t, names[i])->ts;
	v[n] = NULL;
	return v;
}

/* belongs_to from t's columns cols (db names) to u's ucols */
static void
belongs_to(struct tbl *t, const char *const *cols, int n, struct tbl *u,
    const char *const *ucols, int nu, const char *via)
{
	struct rel	*r;
	const char	**src, **dst;
	char		 *base, *name;

	if (n == 0 || n != nu)
		return;
	if ((src = ts_cols(t, cols, n)) == NULL ||
	    (dst = ts_cols(u, ucols, nu)) == NULL)
		return;
	if (n == 1 && (base = id_base(src[0])) != NULL)
		name = base;
	else if (n == 1)
		name = concat(src[0], has_upper(src[0]) ? "" : "_", tsing(u));
	else
		name = xstrdup(tsing(u));
	name = fresh(t, name);
	r = rel_add(t, 1);
	r->name = name;
	r->kind = "belongs_to";
	r->via = via;
	r->target = u;
	r->hop[0].src = src;
	r->hop[0].nsrc = n;
	r->hop[0].to = u;
	r->hop[0].dst = dst;
	r->hop[0].ndst = nu;
}

/*
 * A relation of t already joins col: to u among other columns (u not
 * NULL), or to any table alone (NULL): a key of its own covers it.
 */
static int
joins(struct tbl *t, const char *col, const struct tbl *u)
{
	struct tcol	*c = col_find(t, col);
	const char	*ts = c != NULL ? c->ts : col;
	const struct hop *h;
	int		 i, k;

	for (i = 0; i < t->nrel; i++) {
		h = &t->rel[i].hop[0];
		if (u != NULL ? h->to != u : h->nsrc != 1)
			continue;
		for (k = 0; k < h->nsrc; k++)
			if (strcmp(h->src[k], ts) == 0)
				return 1;
	}
	return 0;
}

static void
find_belongs(struct tbl *t)
{
	struct tbl	*u;
	struct fkey	*f;
	char		*q, *base, *pl, *idc;
	const char	**ucols;
	int		  i, k, nu;
	struct buf	  b = { 0 };

	for (k = 0; k < t->nfk; k++) {
		f = &t->fk[k];
		q = f->tos != NULL && f->to != NULL ? concat(f->tos, ".",
		    f->to) : NULL;
		u = q != NULL ? tbl_find(q) : NULL;
		if (u == NULL && f->to != NULL)
			u = tbl_find(f->to);
		free(q);
		if (u == NULL)
			continue;
		if (f->cerr != NULL || f->uerr != NULL)
			errx(EX_DATAERR, "%s: expected a column name",
			    f->cerr != NULL ? f->cerr : f->uerr);
		ucols = f->ucols;
		nu = f->nucols;
		if (nu == 0 && u->npk == f->ncols) {
			ucols = u->pk;
			nu = f->ncols;
		}
		belongs_to(t, f->cols, f->ncols, u, ucols, nu, "foreign_key");
	}
	/* <name>_type + <name>_id: polymorphic, never joined on the id */
	for (i = 0; i < t->ncol; i++) {
		size_t		 len = t->col[i].len, tl;
		struct tcol	*c;

		if (len <= 5 || strcmp(t->col[i].name + len - 5, "_type") != 0)
			continue;
		idc = xasprintf("%.*s_id", (int)(len - 5), t->col[i].name);
		if ((c = col_find(t, idc)) != NULL) {
			struct poly	*p;

			t->poly = xreallocarray(t->poly, t->npoly + 1,
			    sizeof(*t->poly));
			p = &t->poly[t->npoly++];
			tl = strlen(t->col[i].ts);
			/* as strndup(ts, strlen(ts) - 5) did */
			p->name = astr(t->col[i].ts, tl >= 5 ? tl - 5 : tl);
			p->type_col = t->col[i].ts;
			p->id_col = c->ts;
		}
		free(idc);
	}
	if (!conventions)
		return;
	/* <name>_id without a foreign key: the table plural(name) */
	for (i = 0; i < t->ncol; i++) {
		size_t		 len = t->col[i].len;
		struct tcol	*c;
		int		 poly;

		if (len <= 3 || strcmp(t->col[i].name + len - 3, "_id") != 0 ||
		    joins(t, t->col[i].name, NULL))
			continue;
		buf_reset(&b);
		buf_add(&b, t->col[i].name, len - 3);
		buf_adds(&b, "_type");
		poly = col_find(t, b.data) != NULL;
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
		/* not a table's own key to itself (actor.actor_id) */
		if (u == t && strcmp(t->pk[0], t->col[i].name) == 0)
			continue;
		/* nor a string to a number (session_id, a token, to
		 * sessions.id; user_id bigint to a uuid users.id) */
		if ((c = col_find(u, u->pk[0])) != NULL && c->kind != 0 &&
		    t->col[i].kind != 0 && c->kind != t->col[i].kind)
			continue;
		/* nor again to the table a foreign key of it goes to
		 * (with organization_id, to memberships) */
		if (joins(t, t->col[i].name, u))
			continue;
		belongs_to(t, &t->col[i].name, 1, u, u->pk, 1, "convention");
	}
	buf_free(&b);
}

/* has_many / has_one on the target of each belongs_to of t */
static void
add_inverses(struct tbl *t)
{
	struct rel	*b, *r;
	struct tbl	*u;
	char		*name, *base;
	const char	*s;
	size_t		  len;
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
		conventional = b->hop[0].nsrc != 1 ||
		    (u->npk == 1 && strcmp(b->hop[0].src[0], u->pk[0]) == 0);
		if (!conventional) {
			s = tsing(u);
			len = strlen(s);
			conventional = strncmp(b->hop[0].src[0], s, len) == 0 &&
			    strcmp(b->hop[0].src[0] + len, has_upper(s) ?
			    "Id" : "_id") == 0;
		}
		s = one ? tsing(t) : tplur(t);
		if (!conventional && (base = id_base(b->hop[0].src[0])) !=
		    NULL) {
			name = concat(base, has_upper(base) ? "" : "_", s);
			free(base);
		} else if (!conventional)
			name = concat(b->hop[0].src[0],
			    has_upper(b->hop[0].src[0]) ? "" : "_", s);
		else
			name = xstrdup(s);
		name = fresh(u, name);
		r = rel_add(u, 1);
		b = &t->rel[i];		/* rel_add may move t->rel if t == u */
		r->name = name;
		r->kind = one ? "has_one" : "has_many";
		r->via = b->via;
		r->many = !one;
		r->target = t;
		r->hop[0].to = t;
		/* the lists are never changed: shared */
		r->hop[0].src = b->hop[0].dst;
		r->hop[0].nsrc = b->hop[0].ndst;
		r->hop[0].dst = b->hop[0].src;
		r->hop[0].ndst = b->hop[0].nsrc;
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
	char		*name;
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
		if (name_used(ta, tplur(tb)))
			name = concat(jt->ts, "_", tplur(tb));
		else
			name = xstrdup(tplur(tb));
		name = fresh(ta, name);
		r = rel_add(ta, 2);
		a = &jt->rel[side];
		b = &jt->rel[1 - side];
		r->name = name;
		r->kind = "has_many_through";
		r->via = a->via;
		r->many = 1;
		r->target = tb;
		/* ta.pk -> jt.a_id, then jt.b_id -> tb.pk */
		r->hop[0].to = jt;
		r->hop[0].src = a->hop[0].dst;
		r->hop[0].nsrc = a->hop[0].ndst;
		r->hop[0].dst = a->hop[0].src;
		r->hop[0].ndst = a->hop[0].nsrc;
		r->hop[1].to = tb;
		r->hop[1].src = b->hop[0].src;
		r->hop[1].nsrc = b->hop[0].nsrc;
		r->hop[1].dst = b->hop[0].dst;
		r->hop[1].ndst = b->hop[0].ndst;
	}
}

/* --- output ----------------------------------------------------------- */

/*
 * Output is gathered: the records' own bytes stay where they were read
 * and are written from there; only what relations adds is built, in
 * gen.  An iovec names gen by offset until it is written, as gen may
 * move when it grows.
 */
#define NIOV	(IOV_MAX < 1024 ? IOV_MAX : 1024)

static struct iovec	 iov[NIOV];
static int		 iov_gen[NIOV];	/* 1: iov_base is gen's offset */
static int		 niov;
static size_t		 iov_bytes;
static struct buf	 gen;

static void
out_flush(void)
{
	struct iovec	*v = iov;
	ssize_t		 n;
	int		 i, left = niov;

	for (i = 0; i < niov; i++)
		if (iov_gen[i])
			iov[i].iov_base = gen.data + (uintptr_t)iov[i].iov_base;
	while (left > 0) {
		if ((n = writev(STDOUT_FILENO, v, left)) == -1) {
			if (errno == EINTR)
				continue;
			err(EX_IOERR, "write");
		}
		while (left > 0 && (size_t)n >= v->iov_len) {
			n -= (ssize_t)v->iov_len;
			v++;
			left--;
		}
		if (left > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	niov = 0;
	iov_bytes = 0;
	buf_reset(&gen);
}

static void
out_flush_cb(void *arg)
{
	(void)arg;
	out_flush();
}

static void
out_add(const void *p, size_t len, int in_gen)
{
	if (len == 0)
		return;
	if (niov == NIOV)
		out_flush();
	iov[niov].iov_base = (void *)(uintptr_t)p;
	iov[niov].iov_len = len;
	iov_gen[niov++] = in_gen;
	iov_bytes += len;
}

static void
jstr(struct buf *o, const char *s)
{
	json_escape(o, s, strlen(s));
}

static void
jlist(struct buf *o, const char *const *v, int n)
{
	int	 i;

	buf_addc(o, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(o, ',');
		jstr(o, v[i]);
	}
	buf_addc(o, ']');
}

static void
emit(struct buf *o, const struct tbl *t)
{
	const struct rel *r;
	int		  i, h;

	buf_adds(o, ",\"relations\":[");
	for (i = 0; i < t->nrel; i++) {
		r = &t->rel[i];
		if (i > 0)
			buf_addc(o, ',');
		buf_adds(o, "{\"name\":");
		jstr(o, r->name);
		buf_adds(o, ",\"kind\":\"");
		buf_adds(o, r->kind);
		buf_adds(o, r->many ? "\",\"cardinality\":\"many\",\"via\":\"" :
		    "\",\"cardinality\":\"one\",\"via\":\"");
		buf_adds(o, r->via);
		buf_adds(o, "\",\"table\":");
		jstr(o, r->target->name);
		buf_adds(o, ",\"target\":");
		jstr(o, r->target->ts);
		buf_adds(o, ",\"hops\":[");
		for (h = 0; h < r->nhop; h++) {
			if (h > 0)
				buf_addc(o, ',');
			buf_adds(o, "{\"source\":");
			jlist(o, r->hop[h].src, r->hop[h].nsrc);
			buf_adds(o, ",\"table\":");
			jstr(o, r->hop[h].to->ts);
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
		jstr(o, t->poly[i].name);
		buf_adds(o, ",\"type_column\":");
		jstr(o, t->poly[i].type_col);
		buf_adds(o, ",\"id_column\":");
		jstr(o, t->poly[i].id_col);
		buf_addc(o, '}');
	}
	buf_adds(o, "]}\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "buffer-size", required_argument, NULL, 'S' },
		{ "no-conventions", no_argument, NULL, 'n' },
		{ "usage", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	/* static: what lives until the process ends stays reachable */
	static struct recin rd = { .fd = STDIN_FILENO };
	static struct spill sp = { .bound = BUFFER_SIZE,
	    .ahead = 65536, .fd = -1 };
	static struct scan sc;
	static struct line *lines;
	static struct tbl **tables;
	struct tbl	*t;
	struct json	 j;
	const char	*line;
	size_t		 len, nlines = 0, caplines = 0, ntables = 0;
	size_t		 captables = 0, i;
	int		 ch, k, lineno = 0, view;
	unsigned	 h;

	program_invocation_short_name = (char *)"relations";
	fd_sanitize_std(1);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			conventions = 0;
			break;
		case 'S':
			sp.bound = spill_size(optarg);
			break;
		case 'u':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);

	/* scanned as they come, while the stage before still writes */
	while (rec_next(&rd, &line, &len)) {
		lineno++;
		if (len == 0)
			continue;
		if (nlines == caplines) {
			caplines = caplines < 256 ? 256 : caplines * 2;
			lines = xreallocarray(lines, caplines, sizeof(*lines));
		}
		lines[nlines].off = spill_add(&sp, line, len);
		(void)spill_add(&sp, "\n", 1);
		lines[nlines].len = len;
		lines[nlines].t = NULL;
		if (scan_record(&sc, line, len) == 0) {
			view = sc.kind.len == 4 &&
			    memcmp(sc.kind.p, "view", 4) == 0;
			if (!view && (sc.kind.len != 5 ||
			    memcmp(sc.kind.p, "table", 5) != 0)) {
				nlines++;
				continue;
			}
			t = tbl_make(&sc);
		} else {
			k = rec_parse(&j, "<stdin>", line, len, lineno);
			view = json_eq(&j, k, "view");
			if (!json_eq(&j, k, "table") && !view) {
				json_free(&j);
				nlines++;
				continue;
			}
			/* scan_record leaves a record that has them to this
			 * path: a record through relations twice would hold
			 * each key twice, which every reader refuses */
			if (!view && ((k = json_get(&j, 0, "relations")) !=
			    -1 || (k = json_get(&j, 0, "polymorphic")) != -1))
				json_errx(&j, k - 1, "a table record with "
				    "\"%.*s\" already: relations adds it (a "
				    "record goes through relations once)",
				    j.tok[k - 1].end - j.tok[k - 1].start,
				    j.text + j.tok[k - 1].start);
			tok_load(&sc, &j);
			t = tbl_make(&sc);
			json_free(&j);
		}
		lines[nlines++].t = t;
		if (view)
			continue;	/* no relations to or from views */
		if (ntables == captables) {
			captables = captables < 256 ? 256 : captables * 2;
			tables = xreallocarray(tables, captables,
			    sizeof(*tables));
		}
		tables[ntables++] = t;
	}
	/* in input order: of two tables of one name, the last is found */
	while (nbucket < 2 * ntables && nbucket < 1u << 30)
		nbucket *= 2;
	buckets = xcalloc(nbucket, sizeof(*buckets));
	for (i = 0; i < ntables; i++) {
		h = hash(tables[i]->name);
		tables[i]->hnext = buckets[h];
		buckets[h] = tables[i];
	}
	for (i = 0; i < ntables; i++) {
		find_belongs(tables[i]);
		tables[i]->nbelongs = tables[i]->nrel;
	}
	for (i = 0; i < ntables; i++)
		add_inverses(tables[i]);
	for (i = 0; i < ntables; i++)
		add_through(tables[i]);
	rec_done(&rd);
	spill_end(&sp);
	for (i = 0; i < nlines; i++) {
		size_t	 start;
		const char *p;

		/* gen's part goes by offset: a flush here would lose it */
		if (niov > NIOV - 2)
			out_flush();
		p = spill_get(&sp, lines[i].off, lines[i].len, out_flush_cb,
		    NULL);
		start = gen.len;
		if (lines[i].t != NULL) {
			out_add(p, lines[i].t->end, 0);
			emit(&gen, lines[i].t);
		} else {
			out_add(p, lines[i].len, 0);
			buf_addc(&gen, '\n');
		}
		out_add((const void *)(uintptr_t)start, gen.len - start, 1);
		if (iov_bytes >= 4 * CHUNK || gen.len >= CHUNK)
			out_flush();
	}
	out_flush();
	return 0;
}
