/*
 * main.c: the typemap stage: adds to every column of every table record
 * (sluice-records(5)) its TypeScript type and its @rocicorp/zero column
 * builder, and to every table its TypeScript names, Zero primary key and
 * the columns a create payload leaves out or makes optional.  Fields are
 * spliced into each record's own text, so everything else passes through
 * byte for byte.  Excluded tables are dropped; other kinds pass.
 *
 * The mapping of a column depends only on its type fields, so it is
 * computed once per distinct type and cached; comment @type tags and
 * per-column overrides bypass the cache.  In a pipeline that caches
 * this stage, each table record's result is kept in sluice's cache
 * too (see cached_records): a record that comes again is not parsed.
 */
#include <err.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "digest.h"
#include "json.h"
#include "rec.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define USAGE \
	"usage: sluice typemap [--all-tables] [--exclude glob] " \
	"[--include glob]\n" \
	"       [--override file]\n"

enum zkind { Z_NONE, Z_STRING, Z_NUMBER, Z_BOOLEAN, Z_JSON, Z_ENUM };

static const char *const zbuilder[] = {
	NULL, "string", "number", "boolean", "json", "enumeration"
};

/* the mapping of one column type */
struct map {
	char		*key;		/* cache key */
	char		*ts;		/* TypeScript type, without null */
	char		*zero;		/* builder expression, NULL: left out */
	int		 json;		/* ts uses ReadonlyJSONValue */
	int		 unknown;	/* the type was not recognized */
	struct map	*next;
};

/* a user's mapping from the override file */
struct over {
	char		*key;		/* type name, or table.column */
	char		*ts;		/* NULL: keep the default */
	char		*name;		/* a column's TypeScript name, or NULL */
	int		 zset;		/* zero given */
	enum zkind	 zero;		/* Z_NONE: left out */
	struct over	*next;
};

struct enumtype {
	char		*name;
	struct buf	 values;	/* TS union */
	struct enumtype	*next;
};

static const char *default_excludes[] = {
	"ar_internal_metadata", "schema_migrations", "solid_cache_*",
	"solid_queue_*", "solid_cable_*", "good_job*"
};

static struct map	*cache[1024];
static struct over	*type_over, *col_over, *table_over;

/* the TypeScript names given so far, to refuse two tables one name */
struct seen {
	char		*ts;
	char		*table;
	int		 line;
	struct seen	*next;
};
static struct seen	*seen[1024];

static void	claim_name(const struct json *, const char *, const char *,
		    int);
static struct enumtype	*enums;
static char		**includes, **excludes;
static int		 nincludes, nexcludes, all_tables;
static const char	*inname = "<stdin>";

/* the cache sluice gives this stage (cache_for_stage), and what a
 * record's result needs besides its bytes */
static struct {
	struct cache	*c;
	int		 cat, refresh;
	struct digest	 base;		/* the stage's key without stdin */
	struct digest	 overs;		/* the override files' bytes */
	int		 keep;		/* a record's warnings are kept */
	struct buf	 warns;		/* ... here, one a line */
	struct buf	 claim_ts, claim_table;	/* the name it claimed */
} rc;

static void __attribute__((__noreturn__))
usage(int status)
{
	fputs(USAGE, status == 0 ? stdout : stderr);
	exit(status);
}

/* a length as the 4 bytes before a part of a kept result */
static void
put_u32(struct buf *b, size_t n)
{
	uint32_t v = (uint32_t)n;

	buf_add(b, &v, sizeof(v));
}

/* a record's warning: "<stdin>:LINE: " and the message, which a kept
 * result keeps without the line (the record may come on another),
 * after its length */
static void __attribute__((__format__(__printf__, 2, 3)))
twarn(int lineno, const char *fmt, ...)
{
	struct buf	 m = { 0 };
	va_list		 ap;

	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	warnx("%s:%d: %s", inname, lineno, m.data);
	if (rc.keep) {
		put_u32(&rc.warns, m.len);
		buf_add(&rc.warns, m.data, m.len);
	}
	buf_free(&m);
}

static unsigned
hash(const char *s)
{
	unsigned	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* --- the default mapping ---------------------------------------------- */

struct tdef {
	const char	*name;
	const char	*ts;
	enum zkind	 zero;
};

/* Rails and SQL type names (lower case); Zero's replication decides */
static const struct tdef tdefs[] = {
	{ "string", "string", Z_STRING }, { "text", "string", Z_STRING },
	{ "uuid", "string", Z_STRING },
	{ "char", "string", Z_STRING }, { "character", "string", Z_STRING },
	{ "varchar", "string", Z_STRING }, { "nvarchar", "string", Z_STRING },
	{ "character varying", "string", Z_STRING },
	{ "nchar", "string", Z_STRING }, { "clob", "string", Z_STRING },
	{ "integer", "number", Z_NUMBER }, { "bigint", "number", Z_NUMBER },
	{ "smallint", "number", Z_NUMBER }, { "int", "number", Z_NUMBER },
	{ "tinyint", "number", Z_NUMBER }, { "mediumint", "number", Z_NUMBER },
	{ "serial", "number", Z_NUMBER }, { "bigserial", "number", Z_NUMBER },
	{ "smallserial", "number", Z_NUMBER },
	{ "float", "number", Z_NUMBER }, { "real", "number", Z_NUMBER },
	{ "double", "number", Z_NUMBER },
	{ "double precision", "number", Z_NUMBER },
	{ "decimal", "number", Z_NUMBER }, { "numeric", "number", Z_NUMBER },
	{ "boolean", "boolean", Z_BOOLEAN }, { "bool", "boolean", Z_BOOLEAN },
	{ "date", "number", Z_NUMBER }, { "datetime", "number", Z_NUMBER },
	{ "timestamp", "number", Z_NUMBER },
	{ "timestamptz", "number", Z_NUMBER },
	{ "timestamp with time zone", "number", Z_NUMBER },
	{ "timestamp without time zone", "number", Z_NUMBER },

	{ "json", "ReadonlyJSONValue", Z_JSON },
	{ "jsonb", "ReadonlyJSONValue", Z_JSON },
	/* kept in the interface as text, left out of the Zero schema */
	{ "citext", "string", Z_NONE },
	/* a time of day: the driver gives "12:30:00" */
	{ "time", "string", Z_NONE }, { "timetz", "string", Z_NONE },
	{ "time without time zone", "string", Z_NONE },
	{ "time with time zone", "string", Z_NONE },
	{ "binary", "string", Z_NONE }, { "blob", "string", Z_NONE },
	{ "bytea", "string", Z_NONE }, { "tsvector", "string", Z_NONE },
	{ "tsquery", "string", Z_NONE }, { "inet", "string", Z_NONE },
	{ "cidr", "string", Z_NONE }, { "macaddr", "string", Z_NONE },
	{ "macaddr8", "string", Z_NONE }, { "interval", "string", Z_NONE },
	{ "money", "string", Z_NONE }, { "xml", "string", Z_NONE },
	{ "bit", "string", Z_NONE }, { "varbit", "string", Z_NONE },
	{ "bit varying", "string", Z_NONE }, { "ltree", "string", Z_NONE },
	{ "point", "string", Z_NONE }, { "line", "string", Z_NONE },
	{ "lseg", "string", Z_NONE }, { "box", "string", Z_NONE },
	{ "path", "string", Z_NONE }, { "polygon", "string", Z_NONE },
	{ "circle", "string", Z_NONE }, { "geometry", "string", Z_NONE },
	{ "geography", "string", Z_NONE }, { "st_point", "string", Z_NONE },
	{ "vector", "string", Z_NONE }, { "oid", "string", Z_NONE },
	{ "int4range", "string", Z_NONE }, { "int8range", "string", Z_NONE },
	{ "numrange", "string", Z_NONE }, { "tsrange", "string", Z_NONE },
	{ "tstzrange", "string", Z_NONE }, { "daterange", "string", Z_NONE },
	{ "hstore", "Record<string, string | null>", Z_NONE },
};

static const struct tdef *
tdef_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(tdefs) / sizeof(tdefs[0]); i++)
		if (strcasecmp(tdefs[i].name, name) == 0)
			return &tdefs[i];
	return NULL;
}

/* "NVARCHAR(40)" -> "nvarchar", "timestamp(6) with time zone" kept */
static void
base_sqltype(const char *s, char *out, size_t sz)
{
	size_t	 n = 0;

	for (; *s != '\0' && n + 1 < sz; s++) {
		if (*s == '(') {
			while (*s != '\0' && *s != ')')
				s++;
			if (*s == '\0')
				break;
			continue;
		}
		if (*s == '[')
			break;
		out[n++] = *s;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static struct over *
over_find(struct over *o, const char *key)
{
	for (; o != NULL; o = o->next)
		if (strcasecmp(o->key, key) == 0)
			return o;
	return NULL;
}

static const char *
default_ts(enum zkind z)
{
	switch (z) {
	case Z_STRING: return "string";
	case Z_NUMBER: return "number";
	case Z_BOOLEAN: return "boolean";
	case Z_JSON: return "ReadonlyJSONValue";
	default: return NULL;
	}
}

/* the builder for kind z and TS type ts (the element type of arrays) */
static char *
builder(enum zkind z, const char *ts, int array)
{
	const char	*d = default_ts(z);

	if (z == Z_NONE)
		return NULL;
	if (array)		/* ('a' | 'b')[], not 'a' | 'b'[] */
		return xasprintf(strchr(ts, ' ') != NULL ? "json<(%s)[]>()" :
		    "json<%s[]>()", ts);
	if (z == Z_ENUM)
		return xasprintf("enumeration<%s>()", ts);
	if (d != NULL && strcmp(d, ts) == 0)
		return xasprintf("%s()", zbuilder[z]);
	return xasprintf("%s<%s>()", zbuilder[z], ts);
}

/* --- records ---------------------------------------------------------- */

struct col {
	const struct json *j;
	int		 t;		/* the column object */
	const char	*table;
	const char	*name;
	const char	*type;
	const char	*sql_type;
	int		 array;
	int		 null;
	int		 has_default;
	int		 auto_inc;
	int		 generated;
	int		 enum_t;	/* "enum" object or -1 */
	const char	*check_values;	/* TS union from a CHECK IN list */
};

static char *
str_field(const struct json *j, int obj, const char *key)
{
	int	 t = json_get(j, obj, key);

	if (t == -1 || json_type(j, t) != JSON_STRING)
		return NULL;
	return json_str(j, t);
}

static int
bool_field(const struct json *j, int obj, const char *key)
{
	return json_type(j, json_get(j, obj, key)) == JSON_TRUE;
}

static int
present(const struct json *j, int obj, const char *key)
{
	enum json_type	 t = json_type(j, json_get(j, obj, key));

	return t != JSON_NONE && t != JSON_NULL;
}

/* the members of a column a mapping reads, found in one pass (a
 * document has no duplicate keys); -1 for those it does not have */
struct colf {
	int	 name, type, sql_type, array, null, def, def_expr, auto_inc,
		 generated, enum_t, comment;
	int	 added;		/* one of the members typemap adds */
};

static void
col_fields(const struct json *j, int c, struct colf *f)
{
	static const struct {
		const char	*key;
		size_t		 len, off;
	} keys[] = {
		{ "name", 4, offsetof(struct colf, name) },
		{ "type", 4, offsetof(struct colf, type) },
		{ "sql_type", 8, offsetof(struct colf, sql_type) },
		{ "array", 5, offsetof(struct colf, array) },
		{ "null", 4, offsetof(struct colf, null) },
		{ "default", 7, offsetof(struct colf, def) },
		{ "default_expr", 12, offsetof(struct colf, def_expr) },
		{ "auto_increment", 14, offsetof(struct colf, auto_inc) },
		{ "generated", 9, offsetof(struct colf, generated) },
		{ "enum", 4, offsetof(struct colf, enum_t) },
		{ "comment", 7, offsetof(struct colf, comment) },
		{ "ts_name", 7, offsetof(struct colf, added) },
		{ "ts_base", 7, offsetof(struct colf, added) },
		{ "ts_type", 7, offsetof(struct colf, added) },
		{ "zero", 4, offsetof(struct colf, added) },
		{ "create", 6, offsetof(struct colf, added) },
		{ "create_optional", 15, offsetof(struct colf, added) },
	};
	size_t	 i;
	int	 k, v;

	memset(f, -1, sizeof(*f));
	JSON_FOREACH_MEMBER(j, c, k, v) {
		const char *kp = j->text + j->tok[k].start;
		size_t	 kl = (size_t)(j->tok[k].end - j->tok[k].start);
		int	 esc = memchr(kp, '\\', kl) != NULL;

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (esc ? json_eq(j, k, keys[i].key) :
			    keys[i].len == kl && kp[0] == keys[i].key[0] &&
			    memcmp(kp, keys[i].key, kl) == 0) {
				*(int *)(void *)((char *)f + keys[i].off) = v;
				break;
			}
	}
}

/* a string member's value in b, or NULL */
static const char *
tok_buf(const struct json *j, int t, struct buf *b)
{
	if (json_type(j, t) != JSON_STRING)
		return NULL;
	buf_reset(b);
	json_str_buf(j, t, b);
	buf_add(b, "", 0);
	return b->data;
}

static int
tok_present(const struct json *j, int t)
{
	enum json_type	 y = json_type(j, t);

	return y != JSON_NONE && y != JSON_NULL;
}

/* a union of string literals from a JSON array of strings */
static int
union_of(const struct json *j, int arr, struct buf *b)
{
	struct buf	 s = { 0 };
	int		 e, n = 0;

	if (json_type(j, arr) != JSON_ARRAY)
		return 0;
	JSON_FOREACH_ELEM(j, arr, e) {
		if (json_type(j, e) != JSON_STRING)
			continue;
		buf_reset(&s);
		json_str_buf(j, e, &s);
		if (n++ > 0)
			buf_adds(b, " | ");
		ts_quote(b, s.data, s.len);
	}
	buf_free(&s);
	return n;
}

static const char *
enum_lookup(const char *name)
{
	struct enumtype	*e;

	for (e = enums; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e->values.data;
	return NULL;
}

/* "@type {T}" in a comment: T with balanced braces, else NULL */
static char *
comment_type(const char *c)
{
	const char	*p, *q;
	int		 depth;

	if (c == NULL || (p = strstr(c, "@type")) == NULL)
		return NULL;
	for (p += 5; *p == ' ' || *p == '\t'; p++)
		;
	if (*p != '{')
		return NULL;
	for (q = ++p, depth = 1; *q != '\0'; q++) {
		if (*q == '{')
			depth++;
		else if (*q == '}' && --depth == 0)
			break;
	}
	if (*q == '\0')
		return NULL;
	while (p < q && (*p == ' ' || *p == '\t'))
		p++;
	while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	return q > p ? xstrndup(p, (size_t)(q - p)) : NULL;
}

/* map one column (uncached); *warn set for a left-out column */
static struct map *
map_column(const struct col *c, const char *precise, struct over *o)
{
	struct map	*m = xcalloc(1, sizeof(*m));
	const struct tdef *d;
	struct buf	 u = { 0 };
	char		 base[128];
	const char	*ev = NULL;
	enum zkind	 z;
	char		*en;

	if ((d = tdef_find(c->type)) == NULL && c->sql_type != NULL) {
		base_sqltype(c->sql_type, base, sizeof(base));
		d = tdef_find(base);
	}
	/* enums: declared values, an enum record, or a CHECK IN list */
	if (c->enum_t != -1 && json_type(c->j, c->enum_t) == JSON_OBJECT) {
		if (union_of(c->j, json_get(c->j, c->enum_t, "values"), &u) ==
		    0 && (en = str_field(c->j, c->enum_t, "name")) != NULL) {
			if ((ev = enum_lookup(en)) != NULL)
				buf_adds(&u, ev);
			free(en);
		}
	} else if (c->check_values != NULL && d != NULL &&
	    d->zero == Z_STRING)
		buf_adds(&u, c->check_values);
	if (u.len > 0) {
		m->ts = xstrdup(u.data);
		z = Z_ENUM;
	} else if (d != NULL) {
		m->ts = xstrdup(d->ts);
		z = d->zero;
	} else {
		/* an enum type we have no values for, or unknown */
		m->ts = xstrdup("string");
		z = c->enum_t != -1 && json_type(c->j, c->enum_t) ==
		    JSON_OBJECT ? Z_STRING : Z_NONE;
		m->unknown = z == Z_NONE;
	}
	buf_free(&u);
	if (o != NULL) {
		if (o->ts != NULL) {
			free(m->ts);
			m->ts = xstrdup(o->ts);
			if (z == Z_ENUM)
				z = Z_STRING;
		}
		if (o->zset)
			z = o->zero;
		m->unknown = 0;
	}
	if (precise != NULL) {
		free(m->ts);
		m->ts = xstrdup(precise);
		if (z == Z_ENUM)
			z = Z_STRING;
	}
	m->json = strstr(m->ts, "ReadonlyJSONValue") != NULL;
	m->zero = builder(z, m->ts, c->array);
	if (c->array) {
		char	*t = m->ts;

		m->ts = xasprintf(strchr(t, ' ') != NULL ? "(%s)[]" : "%s[]",
		    t);
		free(t);
	}
	return m;
}

static const struct map *
map_cached(const struct col *c)
{
	static struct buf k;	/* used again, unless a new entry keeps it */
	struct map	*m;
	unsigned	 h;

	buf_reset(&k);
	buf_adds(&k, c->type);
	buf_addc(&k, '\x1f');
	if (c->sql_type != NULL)
		buf_adds(&k, c->sql_type);
	buf_add(&k, c->array ? "\x1f" "1" : "\x1f" "0", 2);
	if (c->check_values != NULL) {
		buf_addc(&k, '\x1f');
		buf_adds(&k, c->check_values);
	}
	if (c->enum_t != -1 && json_type(c->j, c->enum_t) == JSON_OBJECT)
		buf_add(&k, c->j->text + c->j->tok[c->enum_t].start,
		    (size_t)(c->j->tok[c->enum_t].end -
		    c->j->tok[c->enum_t].start));
	h = hash(k.data) % (sizeof(cache) / sizeof(cache[0]));
	for (m = cache[h]; m != NULL; m = m->next)
		if (strcmp(m->key, k.data) == 0)
			return m;
	m = map_column(c, NULL, over_find(type_over, c->type) != NULL ?
	    over_find(type_over, c->type) : c->sql_type != NULL ?
	    over_find(type_over, c->sql_type) : NULL);
	m->key = buf_steal(&k);
	m->next = cache[h];
	cache[h] = m;
	return m;
}

/* "rating in ('G','PG')" or "[x] IN ('a', 'b')": column and union */
static int
check_in(const char *e, struct buf *col, struct buf *u)
{
	const char	*p = e, *s;
	int		 n = 0;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '(')
		p++;
	if (*p == '"' || *p == '[' || *p == '`')
		p++;
	for (s = p; *p == '_' || (*p >= 'a' && *p <= 'z') ||
	    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'); p++)
		;
	if (p == s)
		return 0;
	buf_add(col, s, (size_t)(p - s));
	if (*p == '"' || *p == ']' || *p == '`')
		p++;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (strncasecmp(p, "in", 2) != 0)
		return 0;
	for (p += 2; *p == ' ' || *p == '\t' || *p == '\n'; p++)
		;
	if (*p++ != '(')
		return 0;
	for (;;) {
		struct buf	 v = { 0 };

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p != '\'')
			return 0;
		for (p++; *p != '\0'; p++) {
			if (*p == '\'' && p[1] == '\'')
				buf_addc(&v, *p++);
			else if (*p == '\'')
				break;
			else
				buf_addc(&v, *p);
		}
		if (*p++ != '\'') {
			buf_free(&v);
			return 0;
		}
		if (n++ > 0)
			buf_adds(u, " | ");
		ts_quote(u, v.data != NULL ? v.data : "", v.len);
		buf_free(&v);
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != ')')
			return 0;
		p++;
		break;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ')')
		p++;
	return *p == '\0' ? n : 0;
}

static int
excluded(const char *name, const char *qual)
{
	size_t	 i;
	int	 inc = 0;

	for (i = 0; i < (size_t)nincludes; i++)
		if (fnmatch(includes[i], name, 0) == 0 ||
		    (qual != NULL && fnmatch(includes[i], qual, 0) == 0))
			inc = 1;
	if (nincludes > 0 && !inc)
		return 1;
	for (i = 0; i < (size_t)nexcludes; i++)
		if (fnmatch(excludes[i], name, 0) == 0 ||
		    (qual != NULL && fnmatch(excludes[i], qual, 0) == 0))
			return 1;
	if (!all_tables && !inc)
		for (i = 0; i < sizeof(default_excludes) /
		    sizeof(default_excludes[0]); i++)
			if (fnmatch(default_excludes[i], name, 0) == 0)
				return 1;
	return 0;
}

/* a member; none for NULL (sluice-records(5): null is left out).
 * Where its value starts in o: the JSON string, quoted and escaped,
 * runs from there to the end of o */
static size_t
add_str(struct buf *o, const char *key, const char *v)
{
	size_t	 at;

	if (v == NULL)
		return o->len;
	buf_add(o, ",\"", 2);
	buf_adds(o, key);
	buf_add(o, "\":", 2);
	at = o->len;
	json_escape(o, v, strlen(v));
	return at;
}

static int
is_timestamp(const char *n)
{
	return strcmp(n, "created_at") == 0 || strcmp(n, "updated_at") == 0;
}

static int
in_pk(const struct json *j, int pk, const char *name)
{
	int	 e;

	if (json_type(j, pk) != JSON_ARRAY)
		return 0;
	JSON_FOREACH_ELEM(j, pk, e)
		if (json_eq(j, e, name))
			return 1;
	return 0;
}

/*
 * The TypeScript names a table's columns got so far: where each is in
 * the output, quoted and escaped as add_str wrote it, and its column's
 * token.  Emptied for every table; nothing is copied.
 */
struct strset {
	size_t		*off, *len;
	int		*tok;
	unsigned char	*flags;		/* CF_ below */
	size_t		 n, cap;
};
#define CF_ZERO	1			/* in the Zero schema */
#define CF_NULL	2			/* nullable */

/* the entry of the column named col, or -1 */
static long
col_ts(const struct json *j, const struct strset *ss, const char *col)
{
	size_t	 i;

	for (i = 0; i < ss->n; i++)
		if (json_eq(j, json_get(j, ss->tok[i], "name"), col))
			return (long)i;
	return -1;
}

/*
 * Exits 65 when another column of the table has the TypeScript name
 * that o holds from at already ("item name" and item_name are both
 * item_name): the interface and the Zero table would have one property
 * twice.  --override gives one another name.
 */
static void
col_name_once(const struct json *j, int c, const char *table,
    const char *col, const char *ts, const struct buf *o, size_t at,
    struct strset *ss)
{
	static char	*first;		/* reachable at the exit */
	size_t		 len = o->len - at, i;

	for (i = 0; i < ss->n; i++)
		if (ss->len[i] == len &&
		    memcmp(o->data + ss->off[i], o->data + at, len) == 0) {
			first = str_field(j, ss->tok[i], "name");
			json_errx(j, c, "columns '%s' and '%s' of '%s' both "
			    "have the TypeScript name '%s': give one another "
			    "name with --override ({\"columns\": {\"%s.%s\": "
			    "{\"name\": \"...\"}}})", first, col, table, ts,
			    table, col);
		}
	if (ss->n == ss->cap) {
		ss->cap = ss->cap * 2 + 64;
		ss->off = xreallocarray(ss->off, ss->cap, sizeof(*ss->off));
		ss->len = xreallocarray(ss->len, ss->cap, sizeof(*ss->len));
		ss->tok = xreallocarray(ss->tok, ss->cap, sizeof(*ss->tok));
		ss->flags = xreallocarray(ss->flags, ss->cap,
		    sizeof(*ss->flags));
	}
	ss->off[ss->n] = at;
	ss->len[ss->n] = len;
	ss->flags[ss->n] = 0;
	ss->tok[ss->n++] = c;
}

/*
 * The TypeScript names of the columns array arr names, in its order,
 * into pk as JSON strings: their count, or -1 if one is not a column
 * of the table in the Zero schema (or, with notnull, is nullable).
 */
static int
key_cols(const struct json *j, int arr, const struct strset *ss,
    const struct buf *o, struct buf *pk, int notnull)
{
	long	 tn;
	int	 e, n = 0;

	buf_reset(pk);
	if (json_type(j, arr) != JSON_ARRAY)
		return -1;
	JSON_FOREACH_ELEM(j, arr, e) {
		char	*cn;

		if (json_type(j, e) != JSON_STRING)
			return -1;
		cn = json_str(j, e);
		tn = col_ts(j, ss, cn);
		free(cn);
		if (tn == -1 || !(ss->flags[tn] & CF_ZERO) ||
		    (notnull && (ss->flags[tn] & CF_NULL)))
			return -1;
		if (n++ > 0)
			buf_addc(pk, ',');
		buf_add(pk, o->data + ss->off[tn], ss->len[tn]);
	}
	return n;
}

/*
 * The members typemap adds are not there yet (v: the value of one that
 * is, or -1): a record through typemap twice would hold each key twice,
 * which every reader refuses
 */
static void
added_once(const struct json *j, int v, const char *what)
{
	if (v != -1)
		json_errx(j, v - 1, "a %s with \"%.*s\" already: typemap adds "
		    "it (a record goes through typemap once)", what,
		    j->tok[v - 1].end - j->tok[v - 1].start,
		    j->text + j->tok[v - 1].start);
}

static void
table_added_once(const struct json *j)
{
	static const char *const f[] = { "ts_name", "zero_from", "zero_pk",
	    "create_omit", "ts_json" };
	size_t	 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		added_once(j, json_get(j, 0, f[i]), "table");
}

static void
table(const struct json *j, int lineno, int view, struct buf *o)
{
	struct buf	 tsn = { 0 }, omit = { 0 }, pk = { 0 }, tmp = { 0 },
			 checkcol = { 0 }, checku = { 0 }, warn = { 0 };
	/* a column's strings, in buffers used again for the next */
	static struct buf bname, btype, bsql, bcomment;
	char		*name, *schema, *qual = NULL;
	char		**checks_col = NULL, **checks_u = NULL;
	int		 cols, c, e, pkt, idx, nomit = 0, npk = 0, uses_json = 0;
	int		 nchecks = 0, i;
	const struct over *tover;
	static struct strset tsnames;	/* the columns' TypeScript names */
	size_t		 pos = 0, at, start = o->len;

	if ((name = str_field(j, 0, "name")) == NULL)
		rec_str_errx(j, 0, "name", "table record");
	schema = str_field(j, 0, "schema");
	if (schema != NULL)
		qual = xasprintf("%s.%s", schema, name);
	if (excluded(name, qual))
		goto done;
	if (name[0] == '\0') {
		/* Zero replicates from PostgreSQL, which has none */
		twarn(lineno, "a table with an empty name: left out");
		goto done;
	}
	cols = json_get(j, 0, "columns");
	if (json_type(j, cols) != JSON_ARRAY)
		json_errx(j, cols == -1 ? 0 : cols,
		    "\"columns\": expected an array");
	table_added_once(j);
	pkt = json_get(j, 0, "primary_key");

	/* CHECK (col IN ('a', 'b')) constraints give enum values */
	idx = json_get(j, 0, "checks");
	if (json_type(j, idx) == JSON_ARRAY)
		JSON_FOREACH_ELEM(j, idx, e) {
			char	*ex = str_field(j, e, "expr");

			buf_reset(&checkcol);
			buf_reset(&checku);
			if (ex != NULL && check_in(ex, &checkcol, &checku)) {
				checks_col = xreallocarray(checks_col,
				    nchecks + 1, sizeof(char *));
				checks_u = xreallocarray(checks_u,
				    nchecks + 1, sizeof(char *));
				checks_col[nchecks] = xstrdup(checkcol.data);
				checks_u[nchecks++] = xstrdup(checku.data);
			}
			free(ex);
		}

	JSON_FOREACH_ELEM(j, cols, c) {
		struct col	 col;
		struct colf	 f;
		const struct map *m;
		struct map	*own = NULL;
		struct over	*co, *tco;
		char		*precise;
		const char	*comment, *create, *zb;

		if (json_type(j, c) != JSON_OBJECT)
			json_errx(j, c, "column: expected an object");
		memset(&col, 0, sizeof(col));
		col.j = j;
		col.t = c;
		col.table = name;
		col_fields(j, c, &f);
		added_once(j, f.added, "column");
		if ((col.name = tok_buf(j, f.name, &bname)) == NULL)
			rec_str_errx(j, c, "name", "column");
		if ((col.type = tok_buf(j, f.type, &btype)) == NULL) {
			if (f.type != -1 && json_type(j, f.type) != JSON_NULL)
				rec_str_errx(j, c, "type", "column");
			json_errx(j, c, "column '%s' without a \"type\"",
			    col.name);
		}
		col.sql_type = tok_buf(j, f.sql_type, &bsql);
		col.array = json_type(j, f.array) == JSON_TRUE;
		col.null = json_type(j, f.null) == JSON_TRUE;
		col.has_default = tok_present(j, f.def) ||
		    tok_present(j, f.def_expr);
		col.auto_inc = json_type(j, f.auto_inc) == JSON_TRUE;
		col.generated = tok_present(j, f.generated);
		col.enum_t = json_type(j, f.enum_t) == JSON_OBJECT ? f.enum_t :
		    -1;
		for (i = 0; i < nchecks; i++)
			if (strcmp(checks_col[i], col.name) == 0)
				col.check_values = checks_u[i];

		comment = tok_buf(j, f.comment, &bcomment);
		precise = comment_type(comment);
		co = NULL;
		if (col_over != NULL) {
			char	*key = xasprintf("%s.%s", name, col.name);

			co = over_find(col_over, key);
			free(key);
		}
		/* a column override that only renames leaves the type's */
		tco = co != NULL && (co->ts != NULL || co->zset) ? co : NULL;
		if (precise != NULL || tco != NULL) {
			struct over *to = over_find(type_over, col.type);

			if (tco == NULL)
				tco = to;
			own = map_column(&col, precise, tco);
			m = own;
		} else
			m = map_cached(&col);
		zb = m->zero;
		if (m->unknown)
			twarn(lineno, "%s.%s: unknown type '%s': typed as "
			    "string and left out of the Zero schema", name,
			    col.name, col.sql_type != NULL ? col.sql_type :
			    col.type);
		else if (col.name[0] == '\0' && zb != NULL) {
			/* Zero replicates from PostgreSQL, which has none */
			twarn(lineno, "%s: a column with an empty name: left "
			    "out of the Zero schema", name);
			zb = NULL;
		} else if (m->zero == NULL)
			twarn(lineno, "%s.%s: type '%s' is not replicated by "
			    "Zero: left out of the Zero schema", name,
			    col.name, col.sql_type != NULL ? col.sql_type :
			    col.type);
		uses_json |= m->json;

		/* splice the new fields before the column's closing brace */
		buf_add(o, j->text + pos, (size_t)(j->tok[c].end - 1) - pos);
		pos = (size_t)j->tok[c].end - 1;
		buf_reset(&tmp);
		if (co != NULL && co->name != NULL)
			buf_adds(&tmp, co->name);
		else if (ts_is_ident(col.name))
			buf_adds(&tmp, col.name);
		else
			ts_ident(&tmp, col.name);
		at = add_str(o, "ts_name", tmp.data);
		col_name_once(j, c, name, col.name, tmp.data, o, at, &tsnames);
		tsnames.flags[tsnames.n - 1] = (zb != NULL ? CF_ZERO : 0) |
		    (col.null ? CF_NULL : 0);
		add_str(o, "zero_from", strcmp(tmp.data, col.name) == 0 ?
		    NULL : col.name);
		add_str(o, "ts_base", m->ts);
		buf_reset(&warn);
		buf_adds(&warn, m->ts);
		if (col.null)
			buf_adds(&warn, " | null");
		add_str(o, "ts_type", warn.data);
		add_str(o, "zero", zb);
		if (col.auto_inc || col.generated || is_timestamp(col.name) ||
		    (col.has_default && in_pk(j, pkt, col.name)))
			create = "omit";
		else if (col.null || col.has_default)
			create = "optional";
		else
			create = "required";
		add_str(o, "create", create);
		if (strcmp(create, "optional") == 0)
			buf_adds(o, ",\"create_optional\":true");
		if (strcmp(create, "required") != 0) {
			if (nomit++ > 0)
				buf_addc(&omit, ',');
			json_escape(&omit, tmp.data, tmp.len);
		}
		if (own != NULL) {
			free(own->ts);
			free(own->zero);
			free(own);
		}
		free(precise);
	}
	/*
	 * The Zero primary key: the table's own, in its order, when Zero
	 * replicates each of its columns; else the first unique index
	 * (not partial) of such columns that are all NOT NULL, which is
	 * what Zero syncs by.  A table with neither cannot be synced: it
	 * is left out, warned, not given every column as a key (Zero
	 * refuses a client schema that names such a table).
	 */
	npk = key_cols(j, pkt, &tsnames, o, &pk, 0);
	idx = json_get(j, 0, "indexes");
	if (npk <= 0 && json_type(j, idx) == JSON_ARRAY)
		JSON_FOREACH_ELEM(j, idx, e) {
			if (!bool_field(j, e, "unique") ||
			    present(j, e, "where"))
				continue;
			if ((npk = key_cols(j, json_get(j, e, "columns"),
			    &tsnames, o, &pk, 1)) > 0)
				break;
		}
	if (npk <= 0) {
		buf_reset(&pk);
		if (!view) {
			twarn(lineno, "%s: no primary key or unique index of "
			    "NOT NULL columns that Zero replicates: left out "
			    "(Zero cannot sync it)", qual != NULL ? qual :
			    name);
			o->len = start;
			goto done;
		}
	}
	buf_add(o, j->text + pos, (size_t)j->tok[0].end - 1 - pos);
	if ((tover = over_find(table_over, qual != NULL ? qual : name)) !=
	    NULL || (qual != NULL && (tover = over_find(table_over, name)) !=
	    NULL))
		buf_adds(&tsn, tover->ts);
	else if (schema != NULL)
		ts_ident(&tsn, qual);
	else if (ts_is_ident(name))
		buf_adds(&tsn, name);
	else
		ts_ident(&tsn, name);
	claim_name(j, tsn.data, qual != NULL ? qual : name, lineno);
	add_str(o, "ts_name", tsn.data);
	/* Zero needs .from() unless the name is the table's own, in the
	 * default schema */
	add_str(o, "zero_from", qual == NULL && strcmp(tsn.data, name) == 0 ?
	    NULL : qual != NULL ? qual : name);
	buf_printf(o, ",\"zero_pk\":[%s],\"create_omit\":[%s]%s}\n",
	    pk.data != NULL ? pk.data : "", omit.data != NULL ? omit.data : "",
	    uses_json ? ",\"ts_json\":true" : "");
done:
	tsnames.n = 0;
	for (i = 0; i < nchecks; i++) {
		free(checks_col[i]);
		free(checks_u[i]);
	}
	free(checks_col);
	free(checks_u);
	buf_free(&tsn);
	buf_free(&omit);
	buf_free(&pk);
	buf_free(&tmp);
	buf_free(&checkcol);
	buf_free(&checku);
	buf_free(&warn);
	free(name);
	free(schema);
	free(qual);
}

static void
enum_record(const struct json *j)
{
	struct enumtype	*e = xcalloc(1, sizeof(*e));

	if ((e->name = str_field(j, 0, "name")) == NULL) {
		free(e);
		return;
	}
	union_of(j, json_get(j, 0, "values"), &e->values);
	if (e->values.len == 0) {
		free(e->name);
		free(e);
		return;
	}
	e->next = enums;
	enums = e;
}

/* --- the override file ------------------------------------------------ */

/* a TypeScript type from the override file goes into the code as it
   is: something, on one line */
static void
check_ts(const struct json *j, int t, const char *ts)
{
	const char	*p;

	if (ts[strspn(ts, " ")] == '\0')
		json_errx(j, t, "expected a TypeScript type, found an empty "
		    "string");
	for (p = ts; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			json_errx(j, t, "expected a TypeScript type on one "
			    "line, found a control character");
}

/* "tables": { "name" or "schema.name": "TsName" } */
static void
table_names(const struct json *j, int v)
{
	int	 k, t;

	if (json_type(j, v) != JSON_OBJECT)
		json_errx(j, v, "expected an object");
	JSON_FOREACH_MEMBER(j, v, k, t) {
		struct over *o = xcalloc(1, sizeof(*o));

		if (json_type(j, t) != JSON_STRING)
			json_errx(j, t, "expected the table's TypeScript name, "
			    "a string");
		o->key = json_str(j, k);
		o->ts = json_str(j, t);
		if (!ts_is_ident(o->ts))
			json_errx(j, t, "'%s' is not a TypeScript identifier",
			    o->ts);
		o->next = table_over;
		table_over = o;
	}
}

/* the table that has the TypeScript name ts, or NULL */
static struct seen *
name_owner(const char *ts)
{
	struct seen	*n;

	for (n = seen[hash(ts) % (sizeof(seen) / sizeof(seen[0]))];
	    n != NULL; n = n->next)
		if (strcmp(n->ts, ts) == 0)
			return n;
	return NULL;
}

/* exits 65 when another table has the TypeScript name ts already */
static void
claim_name(const struct json *j, const char *ts, const char *table, int line)
{
	struct seen	**sp = &seen[hash(ts) % (sizeof(seen) /
			    sizeof(seen[0]))], *n;

	if ((n = name_owner(ts)) != NULL)
		json_errx(j, 0, "tables '%s' (line %d) and '%s' both "
		    "have the TypeScript name '%s': give one another "
		    "name with --override ({\"tables\": {\"%s\": "
		    "\"...\"}}) or leave it out with --exclude",
		    n->table, n->line, table, ts, table);
	if (rc.keep) {
		buf_reset(&rc.claim_ts);
		buf_adds(&rc.claim_ts, ts);
		buf_reset(&rc.claim_table);
		buf_adds(&rc.claim_table, table);
	}
	n = xcalloc(1, sizeof(*n));
	n->ts = xstrdup(ts);
	n->table = xstrdup(table);
	n->line = line;
	n->next = *sp;
	*sp = n;
}

static void
load_overrides(const char *path)
{
	struct buf	 b = { 0 };
	struct json	 j;
	int		 sect, k, v, t;

	if (buf_readfile(&b, path) == -1)
		err(EX_NOINPUT, "%s", path);
	if (json_parse(&j, path, b.data ? b.data : "", b.len, 1) == -1)
		errx(EX_DATAERR, "%s", j.err);
	if (json_type(&j, 0) != JSON_OBJECT)
		json_errx(&j, 0, "expected an object with \"types\" and "
		    "\"columns\"");
	JSON_FOREACH_MEMBER(&j, 0, sect, v) {
		int	 cols;

		if (json_eq(&j, sect, "types"))
			cols = 0;
		else if (json_eq(&j, sect, "columns"))
			cols = 1;
		else if (json_eq(&j, sect, "tables")) {
			table_names(&j, v);
			continue;
		} else
			json_errx(&j, sect, "unknown section: expected "
			    "\"types\", \"columns\" or \"tables\"");
		if (json_type(&j, v) != JSON_OBJECT)
			json_errx(&j, v, "expected an object");
		JSON_FOREACH_MEMBER(&j, v, k, t) {
			struct over	*o = xcalloc(1, sizeof(*o));
			int		 f, fv;

			o->key = json_str(&j, k);
			if (cols && strchr(o->key, '.') == NULL)
				json_errx(&j, k, "expected \"table.column\"");
			if (json_type(&j, t) == JSON_STRING) {
				o->ts = json_str(&j, t);
				check_ts(&j, t, o->ts);
			} else if (json_type(&j, t) == JSON_OBJECT) {
				JSON_FOREACH_MEMBER(&j, t, f, fv) {
					if (json_eq(&j, f, "ts") &&
					    json_type(&j, fv) == JSON_STRING) {
						o->ts = json_str(&j, fv);
						check_ts(&j, fv, o->ts);
					}
					else if (cols && json_eq(&j, f,
					    "name") && json_type(&j, fv) ==
					    JSON_STRING) {
						o->name = json_str(&j, fv);
						if (!ts_is_ident(o->name))
							json_errx(&j, fv,
							    "'%s' is not a "
							    "TypeScript "
							    "identifier",
							    o->name);
					}
					else if (json_eq(&j, f, "zero")) {
						o->zset = 1;
						if (json_type(&j, fv) ==
						    JSON_NULL ||
						    json_type(&j, fv) ==
						    JSON_FALSE)
							o->zero = Z_NONE;
						else if (json_eq(&j, fv,
						    "string"))
							o->zero = Z_STRING;
						else if (json_eq(&j, fv,
						    "number"))
							o->zero = Z_NUMBER;
						else if (json_eq(&j, fv,
						    "boolean"))
							o->zero = Z_BOOLEAN;
						else if (json_eq(&j, fv,
						    "json"))
							o->zero = Z_JSON;
						else
							json_errx(&j, fv,
							    "\"zero\": expected "
							    "\"string\", "
							    "\"number\", "
							    "\"boolean\", "
							    "\"json\" or null");
					} else
						json_errx(&j, f, "unknown "
						    "field: expected \"ts\", "
						    "\"zero\" or (for a column) "
						    "\"name\"");
				}
			} else
				json_errx(&j, t, "expected a TypeScript type "
				    "or an object with \"ts\" and \"zero\"");
			if (cols) {
				o->next = col_over;
				col_over = o;
			} else {
				o->next = type_over;
				type_over = o;
			}
		}
	}
	json_free(&j);
	/* a kept record's result depends on every override file's bytes */
	{
		struct digest_ctx c;

		digest_begin(&c);
		digest_add(&c, &rc.overs, sizeof(rc.overs));
		digest_add(&c, b.data != NULL ? b.data : "", b.len);
		digest_end(&c, &rc.overs);
	}
	/* the override strings point into their own copies */
	buf_free(&b);
}

/* --- results kept in sluice's cache ------------------------------------ */

#define BATCH	256		/* records looked up (and stored) at once */

/* a line whose kind is known from its first bytes, as introspect writes
 * them ("kind" is one member: a record never repeats one) */
static int
canonical_table(const char *p, size_t n)
{
	static const char *const pre[] = {
		"{\"v\":1,\"kind\":\"table\",", "{\"v\":1,\"kind\":\"view\","
	};
	size_t	 i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (n > strlen(pre[i]) && memcmp(p, pre[i], strlen(pre[i])) == 0)
			return 1;
	return 0;
}

static int
get_part(const char **p, const char *e, const char **s, size_t *n)
{
	uint32_t v;

	if ((size_t)(e - *p) < sizeof(v))
		return -1;
	memcpy(&v, *p, sizeof(v));
	*p += sizeof(v);
	if ((size_t)(e - *p) < v)
		return -1;
	*s = *p;
	*n = v;
	*p += v;
	return 0;
}

/*
 * A kept result (value: the claimed TypeScript name, its table, the
 * warnings, each part after its length, then the output) put to use for
 * the record on line lineno: 1, or 0 when it cannot be (a name another
 * table took since, a malformed value): then the record is done again,
 * to fail as it would.
 */
static int
kept_result(const char *v, size_t n, int lineno, struct buf *o)
{
	const char	*end = v + n, *ts, *tab, *w, *we, *m, *x;
	size_t		 tsn, tabn, wn, mn;
	char		*t1, *t2;

	if (get_part(&v, end, &ts, &tsn) == -1 ||
	    get_part(&v, end, &tab, &tabn) == -1 ||
	    get_part(&v, end, &w, &wn) == -1 ||
	    memchr(ts, '\0', tsn) != NULL || memchr(tab, '\0', tabn) != NULL)
		return 0;
	/* the warnings, each after its length, fill their part exactly */
	for (m = w, we = w + wn; m < we; )
		if (get_part(&m, we, &x, &mn) == -1)
			return 0;
	if (tsn > 0) {
		t1 = xstrndup(ts, tsn);
		if (name_owner(t1) != NULL) {
			free(t1);
			return 0;
		}
		t2 = xstrndup(tab, tabn);
		claim_name(NULL, t1, t2, lineno);
		free(t1);
		free(t2);
	}
	while (w < we && get_part(&w, we, &m, &mn) == 0)
		warnx("%s:%d: %.*s", inname, lineno, (int)mn, m);
	buf_add(o, v, (size_t)(end - v));
	return 1;
}

/* one record as it comes, without the cache */
static void
record(const char *line, size_t len, int lineno, struct buf *o)
{
	struct json	 j;
	int		 k;

	k = rec_parse(&j, inname, line, len, lineno);
	if (json_eq(&j, k, "table") || json_eq(&j, k, "view"))
		table(&j, lineno, json_eq(&j, k, "view"), o);
	else {
		if (json_eq(&j, k, "enum"))
			enum_record(&j);
		buf_add(o, line, len);
		buf_addc(o, '\n');
	}
	json_free(&j);
}

struct kline {
	const char	*p;
	size_t		 n;
	int		 lineno;
	int		 keyed;		/* a table record with a key */
	struct digest	 key;
};

/*
 * In a pipeline that caches this stage (sluice's key for it without its
 * input, cache_for_stage), a table record's result is kept under that
 * key, the override files' bytes, every record before it that is not
 * such a table record (enums, whose types later columns take) and its
 * own bytes: its output line, the TypeScript name it claims and its
 * warnings.  One that hits is not parsed; its warnings are said again
 * with its line now.  Records are looked up and stored BATCH at a time,
 * in order, so output still goes as input comes.
 */
static void
cached_records(struct recin *in, struct buf *out)
{
	struct kline	 kl[BATCH];
	struct digest	 keys[BATCH], skeys[BATCH], chain = { 0, 0 };
	struct cache_span span[BATCH], sspan[BATCH];
	struct buf	 vals = { 0 }, svals = { 0 }, batch = { 0 };
	struct digest_ctx c;
	const char	*line;
	size_t		 len, n, nk, ns, i, k, start, off[BATCH];
	int		 lineno = 0, more = 1, told = 0;

	while (more) {
		/* a batch of lines copied out of the reader's buffer, which
		 * the next line reuses: memory stays a batch's */
		buf_reset(&batch);
		for (n = 0; n < BATCH && (more = rec_next(in, &line, &len));
		    n++) {
			off[n] = batch.len;
			buf_add(&batch, line, len);
			kl[n].n = len;
		}
		for (i = 0; i < n; i++)
			kl[i].p = batch.data + off[i];
		for (i = 0, nk = 0; i < n; i++) {
			line = kl[i].p;
			len = kl[i].n;
			kl[i].lineno = ++lineno;
			kl[i].keyed = len > 0 && canonical_table(line, len);
			if (len == 0)
				continue;
			digest_begin(&c);
			if (kl[i].keyed) {
				digest_adds(&c, "typemap record 1");
				digest_add(&c, &rc.base, sizeof(rc.base));
				digest_add(&c, &rc.overs, sizeof(rc.overs));
				digest_add(&c, &chain, sizeof(chain));
				digest_add(&c, line, len);
				digest_end(&c, &kl[i].key);
				keys[nk++] = kl[i].key;
			} else {	/* later records may depend on it */
				digest_add(&c, &chain, sizeof(chain));
				digest_add(&c, line, len);
				digest_end(&c, &chain);
			}
		}
		buf_reset(&vals);
		if (nk > 0 && !rc.refresh)
			(void)cache_get_many(rc.c, rc.cat, keys, nk, &vals,
			    span);
		else
			for (k = 0; k < nk; k++)
				span[k].off = SIZE_MAX;
		buf_reset(&svals);
		for (i = 0, k = 0, ns = 0; i < n; i++) {
			if (kl[i].n == 0)
				continue;
			if (!kl[i].keyed) {
				record(kl[i].p, kl[i].n, kl[i].lineno, out);
				rec_spill(out);
				continue;
			}
			if (span[k].off != SIZE_MAX && kept_result(vals.data +
			    span[k].off, span[k].len, kl[i].lineno, out)) {
				k++;
				rec_spill(out);
				continue;
			}
			k++;
			rc.keep = 1;
			buf_reset(&rc.warns);
			buf_reset(&rc.claim_ts);
			buf_reset(&rc.claim_table);
			start = out->len;
			record(kl[i].p, kl[i].n, kl[i].lineno, out);
			rc.keep = 0;
			sspan[ns].off = svals.len;
			put_u32(&svals, rc.claim_ts.len);
			buf_add(&svals, rc.claim_ts.data, rc.claim_ts.len);
			put_u32(&svals, rc.claim_table.len);
			buf_add(&svals, rc.claim_table.data, rc.claim_table.len);
			put_u32(&svals, rc.warns.len);
			buf_add(&svals, rc.warns.data, rc.warns.len);
			buf_add(&svals, out->data + start, out->len - start);
			sspan[ns].len = svals.len - sspan[ns].off;
			skeys[ns++] = kl[i].key;
			rec_spill(out);
		}
		if (ns > 0 && cache_store_many(rc.c, rc.cat, skeys, ns, &svals,
		    sspan) == -1 && !told++)
			warnx("%s; records not stored", cache_error(rc.c));
	}
	buf_free(&vals);
	buf_free(&svals);
	buf_free(&batch);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "all-tables", no_argument, NULL, 'a' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "include", required_argument, NULL, 'i' },
		{ "override", required_argument, NULL, 'o' },
		{ "usage", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	struct recin	 in = { STDIN_FILENO, NULL, 0, 0, 0 };
	struct buf	 out = { 0 };
	const char	*line;
	size_t		 len;
	int		 ch, lineno = 0;

	program_invocation_short_name = (char *)"typemap";
	fd_sanitize_std(1);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all_tables = 1;
			break;
		case 'x':
			excludes = xreallocarray(excludes, nexcludes + 1,
			    sizeof(char *));
			excludes[nexcludes++] = optarg;
			break;
		case 'i':
			includes = xreallocarray(includes, nincludes + 1,
			    sizeof(char *));
			includes[nincludes++] = optarg;
			break;
		case 'o':
			load_overrides(optarg);
			break;
		case 'u':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);

	if ((rc.c = cache_for_stage(&rc.cat, &rc.base, &rc.refresh)) != NULL)
		cached_records(&in, &out);
	else
		while (rec_next(&in, &line, &len)) {
			lineno++;
			if (len == 0)
				continue;
			record(line, len, lineno, &out);
			rec_spill(&out);
		}
	rec_flush(&out);
	buf_free(&out);
	rec_done(&in);
	cache_close(rc.c);
	return 0;
}
