/*
 * pgsql.c: the PostgreSQL structure.sql (pg_dump) front-end of
 * introspect, and the SQL reader behind the live one (pglive.c).
 * Exports pgsql_load(): parse the text (tokens from sqllex.c) into the
 * schema model, and pgsql_snippet(): read one piece of catalog text
 * (format_type, pg_get_expr, pg_get_constraintdef, pg_get_indexdef
 * output: what pg_dump itself prints) with the same rules, so a file
 * and the database it was loaded into give the same records.
 *
 * Understood: CREATE TABLE (columns, types with modifiers and arrays,
 * DEFAULT, NOT NULL, COLLATE, GENERATED ... STORED, identity, inline
 * constraints, PARTITION BY, UNLOGGED), CREATE TABLE ... PARTITION OF
 * and ALTER TABLE ... ATTACH PARTITION (partitions are not records),
 * ALTER TABLE ... ADD CONSTRAINT, ALTER COLUMN ... SET DEFAULT /
 * ADD GENERATED AS IDENTITY / SET NOT NULL, CREATE [UNIQUE] INDEX,
 * CREATE TYPE ... AS ENUM, COMMENT ON TABLE / COLUMN, CREATE [OR
 * REPLACE] [MATERIALIZED] VIEW (records with --views).  Skipped on
 * purpose, no record: sequences (nextval defaults make serial columns),
 * functions, triggers, extensions, schemas, operators, text search
 * objects, SET, SELECT, INSERT, DROP, GRANT, psql meta-commands, and
 * the other objects pg_dump writes.  Anything else is a warning with
 * the line.  Only broken lexical syntax (unterminated literals or
 * comments) fails the load; a statement that does not parse is a
 * warning and is skipped.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "introspect.h"
#include "sqllex.h"
#include "banned.h"

struct pg {
	struct schema	*s;
	struct sqllex	 l;
	struct arena	 tmp;		/* per statement */
	struct stok	*v;		/* the statement's tokens */
	int		 n, i;		/* count, cursor */
	int		 live;		/* snippets from a database */
	char		 msg[256];	/* why a statement is skipped */
	jmp_buf		 fail;		/* fatal: lexical errors */
	jmp_buf		*skip;		/* this statement or element */
	struct strv	 parts;		/* partitions, by key */
	struct strv	 other;		/* views, foreign tables: not ours */
};

/* --- token helpers -------------------------------------------------- */

static struct stok *
cur(struct pg *p)
{
	return &p->v[p->i];
}

static struct stok *
la(struct pg *p, int k)
{
	return &p->v[p->i + k > p->n ? p->n : p->i + k];
}

static int
is(struct pg *p, const char *kw)
{
	return sqllex_is(cur(p), kw);
}

static int
accept(struct pg *p, const char *kw)
{
	if (!is(p, kw))
		return 0;
	p->i++;
	return 1;
}

static int
accept2(struct pg *p, const char *a, const char *b)
{
	if (!is(p, a) || !sqllex_is(la(p, 1), b))
		return 0;
	p->i += 2;
	return 1;
}

static int
punct(struct pg *p, int c)
{
	return sqllex_punct(cur(p), c);
}

static int
accept_punct(struct pg *p, int c)
{
	if (!punct(p, c))
		return 0;
	p->i++;
	return 1;
}

static int
at_end(struct pg *p)
{
	return p->i >= p->n;
}

static __attribute__((__noreturn__)) void
bad(struct pg *p, const char *what)
{
	char	b[64];

	(void)snprintf(p->msg, sizeof(p->msg), "expected %s, found %s", what,
	    sqllex_tokname(cur(p), b, sizeof(b)));
	longjmp(*p->skip, 1);
}

static void
expect(struct pg *p, const char *kw)
{
	char	what[64];

	if (!accept(p, kw)) {
		(void)snprintf(what, sizeof(what), "'%s'", kw);
		bad(p, what);
	}
}

static void
expect_punct(struct pg *p, int c)
{
	char	what[8];

	if (!accept_punct(p, c)) {
		(void)snprintf(what, sizeof(what), "'%c'", c);
		bad(p, what);
	}
}

static int
line(struct pg *p, const struct stok *t)
{
	return p->live ? 0 : t->line;
}

/* the source text of tokens [a, b), as written */
static char *
srctext(struct pg *p, int a, int b)
{
	if (b <= a)
		return arena_strdup(&p->s->a, "");
	return arena_strndup(&p->s->a, p->v[a].s,
	    (size_t)(p->v[b - 1].s + p->v[b - 1].n - p->v[a].s));
}

/* an identifier, decoded */
static char *
ident(struct pg *p)
{
	struct stok	*t = cur(p);

	if (t->type != S_IDENT && t->type != S_QIDENT)
		bad(p, "a name");
	p->i++;
	return sqllex_text(&p->l, &p->s->a, t);
}

/* [schema.]name: the record key ("name" in public, else "schema.name") */
static char *
qname(struct pg *p, const char **schema, const char **name)
{
	char	*a, *b;

	a = ident(p);
	if (!accept_punct(p, '.')) {
		if (schema != NULL)
			*schema = NULL;
		if (name != NULL)
			*name = a;
		return a;
	}
	b = ident(p);
	while (accept_punct(p, '.'))	/* db.schema.name */
		a = b, b = ident(p);
	if (strcmp(a, "public") == 0) {
		if (schema != NULL)
			*schema = NULL;
		if (name != NULL)
			*name = b;
		return b;
	}
	if (schema != NULL)
		*schema = a;
	if (name != NULL)
		*name = b;
	return arena_printf(&p->s->a, "%s.%s", a, b);
}

/* past a balanced group opening at the cursor; returns its end */
static int
skip_group(struct pg *p)
{
	int	depth = 0;

	do {
		if (at_end(p))
			bad(p, "')'");
		if (punct(p, '(') || punct(p, '['))
			depth++;
		else if (punct(p, ')') || punct(p, ']'))
			depth--;
		p->i++;
	} while (depth > 0);
	return p->i;
}

/* ( name, ... ) */
static void
name_list(struct pg *p, struct strv *sv)
{
	expect_punct(p, '(');
	do
		strv_add(&p->s->a, sv, ident(p));
	while (accept_punct(p, ','));
	expect_punct(p, ')');
}

/* 1 when the statement says IF NOT EXISTS */
static int
if_not_exists(struct pg *p)
{
	if (!accept2(p, "if", "not"))
		return 0;
	expect(p, "exists");
	return 1;
}

/* the statement's remaining tokens describe nothing we keep */
static void
skip_rest(struct pg *p)
{
	p->i = p->n;
}

static int
strv_has(const struct strv *sv, const char *s)
{
	int	i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

/*
 * The end of an expression starting at the cursor: the first ',' or
 * ')' outside brackets, the end of the statement, or (with stop) a
 * keyword that starts the next column constraint.  CASE ... END is a
 * bracket too, so its NOT and NULL stay inside.
 */
static int
expr_end(struct pg *p, int stop)
{
	static const char *const stops[] = {
		"constraint", "check", "unique", "primary", "references",
		"generated", "collate", "deferrable", "initially", NULL
	};
	const char *const *k;
	int		 depth = 0, j = p->i;
	struct stok	*t;

	for (; j < p->n; j++) {
		t = &p->v[j];
		if (sqllex_punct(t, '(') || sqllex_punct(t, '[') ||
		    sqllex_is(t, "case"))
			depth++;
		else if (sqllex_punct(t, ')') || sqllex_punct(t, ']') ||
		    sqllex_is(t, "end")) {
			if (depth == 0)
				break;
			depth--;
		} else if (depth == 0 && sqllex_punct(t, ','))
			break;
		else if (depth == 0 && stop && j > p->i) {
			if (sqllex_is(t, "not") && j + 1 < p->n &&
			    (sqllex_is(&p->v[j + 1], "null") ||
			    sqllex_is(&p->v[j + 1], "deferrable")) &&
			    !sqllex_is(&p->v[j - 1], "is"))
				break;
			if (sqllex_is(t, "null") && !sqllex_is(&p->v[j - 1],
			    "is") && !sqllex_is(&p->v[j - 1], "not"))
				break;
			for (k = stops; *k != NULL; k++)
				if (sqllex_is(t, *k))
					break;
			if (*k != NULL)
				break;
		}
	}
	return j;
}

/* the text inside one pair of parentheses at the cursor */
static char *
paren_text(struct pg *p)
{
	int	a, b;

	if (!punct(p, '('))
		bad(p, "'('");
	a = p->i + 1;
	b = skip_group(p) - 1;
	return srctext(p, a, b);
}

/* "(x)" -> "x" when one pair of parentheses encloses it all */
static const char *
unwrap(const char *s)
{
	size_t	n = strlen(s), i;
	int	depth = 0;
	char	q = 0;

	if (n < 2 || s[0] != '(' || s[n - 1] != ')')
		return s;
	for (i = 0; i < n; i++) {
		if (q != 0) {
			if (s[i] == q)
				q = 0;
			continue;
		}
		if (s[i] == '\'' || s[i] == '"')
			q = s[i];
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0 && i != n - 1)
			return s;
	}
	s++;
	return s;	/* the caller drops the last byte */
}

static const char *
unwrap_dup(struct pg *p, const char *s)
{
	const char	*u = unwrap(s);

	if (u == s)
		return s;
	return arena_strndup(&p->s->a, u, strlen(u) - 1);
}

/* --- values ---------------------------------------------------------- */

static struct val *
newval(struct pg *p, enum val_kind k, const char *s)
{
	struct val	*v;

	v = arena_alloc(&p->s->a, sizeof(*v));
	v->kind = k;
	if (s != NULL) {
		v->s = s;
		v->n = strlen(s);
	}
	return v;
}

/* h[key] = val in a HASH value (created on first use) */
/* key's value in hash *h: a key given twice (a clause written twice) is
 * one key, its last value, so that a record never repeats a key */
static void
hash_set(struct pg *p, struct val **h, const char *key, struct val *val)
{
	struct val	*k, *e;

	if (*h == NULL)
		*h = newval(p, V_HASH, NULL);
	for (e = (*h)->kid; e != NULL && e->next != NULL; e = e->next->next)
		if (e->kind == V_SYM && strcmp(e->s, key) == 0) {
			val->next = e->next->next;
			e->next = val;
			return;
		}
	k = newval(p, V_SYM, key);
	k->next = val;
	if ((*h)->kid == NULL)
		(*h)->kid = k;
	else {
		for (e = (*h)->kid; e->next != NULL; e = e->next)
			;
		e->next = k;
	}
	(*h)->nkid += 2;
}

static void
arr_add(struct val *a, struct val *v)
{
	struct val	*e;

	if (a->kid == NULL)
		a->kid = v;
	else {
		for (e = a->kid; e->next != NULL; e = e->next)
			;
		e->next = v;
	}
	a->nkid++;
}

/* --- types ----------------------------------------------------------- */

struct tmap {
	const char	*sql;		/* canonical SQL name */
	const char	*rails;
	int		 limit;		/* 1: first modifier is the limit */
	int		 prec;		/* 1: precision[, scale] */
	int		 fixed;		/* a fixed limit (smallint: 2) */
};

static const struct tmap tmaps[] = {
	{ "character varying", "string", 1, 0, 0 },
	{ "varchar", "string", 1, 0, 0 },
	{ "character", "string", 1, 0, 0 },
	{ "char", "string", 1, 0, 0 },
	{ "bpchar", "string", 1, 0, 0 },
	{ "national character varying", "string", 1, 0, 0 },
	{ "national character", "string", 1, 0, 0 },
	{ "name", "string", 0, 0, 0 },
	{ "text", "text", 0, 0, 0 },
	{ "integer", "integer", 0, 0, 0 },
	{ "int", "integer", 0, 0, 0 },
	{ "int4", "integer", 0, 0, 0 },
	{ "smallint", "integer", 0, 0, 2 },
	{ "int2", "integer", 0, 0, 2 },
	{ "bigint", "bigint", 0, 0, 0 },
	{ "int8", "bigint", 0, 0, 0 },
	{ "serial", "integer", 0, 0, 0 },
	{ "serial4", "integer", 0, 0, 0 },
	{ "smallserial", "integer", 0, 0, 2 },
	{ "bigserial", "bigint", 0, 0, 0 },
	{ "serial8", "bigint", 0, 0, 0 },
	{ "numeric", "decimal", 0, 1, 0 },
	{ "decimal", "decimal", 0, 1, 0 },
	{ "real", "float", 0, 0, 0 },
	{ "float4", "float", 0, 0, 0 },
	{ "double precision", "float", 0, 0, 0 },
	{ "float8", "float", 0, 0, 0 },
	{ "float", "float", 0, 0, 0 },
	{ "timestamp without time zone", "datetime", 0, 1, 0 },
	{ "timestamp", "datetime", 0, 1, 0 },
	{ "timestamp with time zone", "timestamptz", 0, 1, 0 },
	{ "timestamptz", "timestamptz", 0, 1, 0 },
	{ "time without time zone", "time", 0, 1, 0 },
	{ "time", "time", 0, 1, 0 },
	{ "time with time zone", "time", 0, 1, 0 },
	{ "timetz", "time", 0, 1, 0 },
	{ "date", "date", 0, 0, 0 },
	{ "boolean", "boolean", 0, 0, 0 },
	{ "bool", "boolean", 0, 0, 0 },
	{ "bytea", "binary", 0, 0, 0 },
	{ "bit", "bit", 1, 0, 0 },
	{ "bit varying", "bit_varying", 1, 0, 0 },
	{ "varbit", "bit_varying", 1, 0, 0 },
	{ "interval", "interval", 0, 1, 0 },
	{ NULL, NULL, 0, 0, 0 }
};

/* types that keep their own name as their Rails type */
static const char *const plain_types[] = {
	"json", "jsonb", "uuid", "inet", "cidr", "macaddr", "macaddr8",
	"hstore", "citext", "ltree", "tsvector", "tsquery", "xml", "money",
	"point", "line", "lseg", "box", "path", "polygon", "circle", "oid",
	"int4range", "int8range", "numrange", "tsrange", "tstzrange",
	"daterange", NULL
};

static const char *const numeric_types[] = {
	"integer", "bigint", "decimal", "float", NULL
};

static int
inlist(const char *s, const char *const *l)
{
	for (; *l != NULL; l++)
		if (strcmp(s, *l) == 0)
			return 1;
	return 0;
}

static int64_t
modifier(struct pg *p, int64_t *second)
{
	struct stok	*t;
	int64_t		 a = -1;
	const char	*e;

	*second = -1;
	if (!accept_punct(p, '('))
		return -1;
	t = cur(p);
	if (t->type == S_NUM) {
		a = strtonum(sqllex_text(&p->l, &p->tmp, t), 0, INT32_MAX, &e);
		if (e != NULL)
			a = -1;
		p->i++;
		if (accept_punct(p, ',') && cur(p)->type == S_NUM) {
			*second = strtonum(sqllex_text(&p->l, &p->tmp, cur(p)),
			    -1000, INT32_MAX, &e);
			if (e != NULL)
				*second = -1;
			p->i++;
		}
	}
	/* other modifiers (geometry(Polygon,4326)): kept in sql_type */
	while (!punct(p, ')')) {
		if (at_end(p))
			bad(p, "')'");
		p->i++;
	}
	p->i++;
	return a;
}

/*
 * A column type at the cursor: sql_type as written, the Rails type,
 * limit, precision, scale, array.  An unknown name (an enum, a domain,
 * geometry) is its own type; finish() turns declared enums into enum.
 */
static void
coltype(struct pg *p, struct column *c)
{
	char		 base[128];
	const char	*schema = NULL, *name, *key;
	const struct tmap *m;
	int		 start = p->i;
	int64_t		 a, b;

	key = qname(p, &schema, &name);
	(void)strlcpy(base, name, sizeof(base));
	/* multi-word names: double precision, character varying, ... */
	if (schema == NULL && cur(p)->type == S_IDENT) {
		if (strcmp(base, "double") == 0 && accept(p, "precision"))
			(void)strlcpy(base, "double precision", sizeof(base));
		else if (strcmp(base, "national") == 0 &&
		    (accept(p, "character") || accept(p, "char")))
			(void)strlcpy(base, "national character", sizeof(base));
		if ((strcmp(base, "character") == 0 || strcmp(base, "char") == 0 ||
		    strcmp(base, "bit") == 0 ||
		    strcmp(base, "national character") == 0) &&
		    accept(p, "varying"))
			(void)strlcat(base, " varying", sizeof(base));
	}
	a = modifier(p, &b);
	if (strcmp(base, "timestamp") == 0 || strcmp(base, "time") == 0) {
		if (accept(p, "with")) {
			expect(p, "time");
			expect(p, "zone");
			(void)strlcat(base, " with time zone", sizeof(base));
		} else if (accept(p, "without")) {
			expect(p, "time");
			expect(p, "zone");
		}
	} else if (strcmp(base, "interval") == 0)
		while (accept(p, "year") || accept(p, "month") ||
		    accept(p, "day") || accept(p, "hour") ||
		    accept(p, "minute") || accept(p, "second") ||
		    accept(p, "to"))
			if (punct(p, '('))
				a = modifier(p, &b);
	for (;;) {
		if (accept_punct(p, '[')) {
			c->array = 1;
			if (cur(p)->type == S_NUM)
				p->i++;
			expect_punct(p, ']');
		} else if (accept(p, "array")) {
			c->array = 1;
			if (accept_punct(p, '[')) {
				if (cur(p)->type == S_NUM)
					p->i++;
				expect_punct(p, ']');
			}
		} else
			break;
	}
	c->sql_type = srctext(p, start, p->i);
	for (m = tmaps; m->sql != NULL; m++)
		if (schema == NULL && strcmp(m->sql, base) == 0)
			break;
	if (m->sql != NULL) {
		c->type = m->rails;
		if (m->fixed)
			SETX(p->s, c, limit, m->fixed);
		else if (m->limit)
			SETX(p->s, c, limit, a);
		else if (m->prec) {
			SETX(p->s, c, precision, a);
			SETX(p->s, c, scale,
			    strcmp(m->rails, "decimal") == 0 ? b : -1);
		}
		if (strncmp(base, "serial", 6) == 0 ||
		    strcmp(base, "bigserial") == 0 ||
		    strcmp(base, "smallserial") == 0)
			c->auto_inc = 1;
		return;
	}
	if (schema == NULL && inlist(base, plain_types)) {
		c->type = arena_strdup(&p->s->a, base);
		return;
	}
	/* maybe an enum: resolved once every type is known */
	c->type = name;
	if (key != NULL || c->x != NULL)
		colx(p->s, c)->enum_name = key;
}

/* --- defaults ------------------------------------------------------- */

static int
is_number(const char *s)
{
	const char	*e;

	if (*s == '-' || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s) && !(*s == '.' &&
	    isdigit((unsigned char)s[1])))
		return 0;
	(void)strtod(s, (char **)&e);
	return *e == '\0';
}

/* '{a,"b c",NULL}' as an array of strings or numbers */
static struct val *
array_literal(struct pg *p, const char *s, int numeric)
{
	struct val	*a, *e;
	struct buf	 b = { 0 };
	int		 quoted;

	a = newval(p, V_ARR, NULL);
	if (*s++ != '{')
		return NULL;
	while (*s != '}') {
		buf_reset(&b);
		quoted = 0;
		if (*s == '"') {
			quoted = 1;
			for (s++; *s != '"'; s++) {
				if (*s == '\0')
					goto fail;
				if (*s == '\\' && s[1] != '\0')
					s++;
				buf_addc(&b, *s);
			}
			s++;
		} else
			for (; *s != ',' && *s != '}'; s++) {
				if (*s == '\0' || *s == '{' || *s == '"')
					goto fail;
				buf_addc(&b, *s);
			}
		if (!quoted && b.len == 4 && strcasecmp(b.data, "null") == 0)
			e = newval(p, V_NIL, NULL);
		else if (!quoted && b.len == 0)
			goto fail;
		else if (numeric && is_number(b.data))
			e = newval(p, V_NUM, arena_strndup(&p->s->a,
			    b.data, b.len));
		else
			e = newval(p, V_STR, arena_strndup(&p->s->a,
			    b.data ? b.data : "", b.len));
		arr_add(a, e);
		if (*s == ',')
			s++;
		else if (*s != '}')
			goto fail;
	}
	if (s[1] != '\0')
		goto fail;
	buf_free(&b);
	return a;
fail:
	buf_free(&b);
	return NULL;
}

/* only casts follow: ::type[::type...] */
static int
only_casts(struct pg *p, int j, int end)
{
	struct stok	*t;

	for (; j < end; j++) {
		t = &p->v[j];
		if (t->type == S_IDENT || t->type == S_QIDENT ||
		    t->type == S_NUM || sqllex_punct(t, '.') ||
		    sqllex_punct(t, '[') || sqllex_punct(t, ']') ||
		    sqllex_punct(t, '(') || sqllex_punct(t, ')') ||
		    sqllex_punct(t, ','))
			continue;
		if (t->type == S_OP && t->n == 2 && memcmp(t->s, "::", 2) == 0)
			continue;
		return 0;
	}
	return 1;
}

/*
 * The default of a column from tokens [a, b): a literal (with casts)
 * becomes a JSON value, nextval() an auto-increment column, anything
 * else an expression kept as written.
 */
static void
coldefault(struct pg *p, struct column *c, int a, int b)
{
	struct stok	*t;
	struct val	*v;
	const char	*s;
	int		 neg = 0;

	c->dflt = NULL;
	CLEARX(c, dflt_expr);
	if (a >= b)
		return;
	t = &p->v[a];
	if (t->type == S_OP && t->n == 1 && *t->s == '-' && a + 1 < b &&
	    p->v[a + 1].type == S_NUM) {
		neg = 1;
		t = &p->v[++a];
	}
	if (sqllex_is(t, "null") && only_casts(p, a + 1, b))
		return;
	if ((sqllex_is(t, "true") || sqllex_is(t, "false")) &&
	    only_casts(p, a + 1, b)) {
		c->dflt = newval(p, sqllex_is(t, "true") ? V_TRUE : V_FALSE,
		    NULL);
		return;
	}
	if (t->type == S_NUM && only_casts(p, a + 1, b)) {
		s = sqllex_text(&p->l, &p->s->a, t);
		c->dflt = newval(p, V_NUM, neg ? arena_printf(&p->s->a, "-%s",
		    s) : s);
		return;
	}
	if (t->type == S_STRING && !neg && only_casts(p, a + 1, b)) {
		s = sqllex_text(&p->l, &p->s->a, t);
		if (strcmp(c->type, "boolean") == 0 && !c->array &&
		    (strcmp(s, "t") == 0 || strcmp(s, "true") == 0 ||
		    strcmp(s, "f") == 0 || strcmp(s, "false") == 0)) {
			c->dflt = newval(p, *s == 't' ? V_TRUE : V_FALSE, NULL);
			return;
		}
		if (c->array && (v = array_literal(p, s,
		    inlist(c->type, numeric_types))) != NULL) {
			c->dflt = v;
			return;
		}
		if (!c->array && inlist(c->type, numeric_types) &&
		    is_number(s)) {
			c->dflt = newval(p, V_NUM, *s == '+' ? s + 1 : s);
			return;
		}
		c->dflt = newval(p, V_STR, s);
		return;
	}
	if (sqllex_is(&p->v[a], "nextval") && !neg) {
		c->auto_inc = 1;
		return;
	}
	colx(p->s, c)->dflt_expr = srctext(p, a - neg, b);
}

/* --- constraints ------------------------------------------------------ */

static const char *
fk_action(struct pg *p)
{
	if (accept2(p, "no", "action"))
		return NULL;
	if (accept(p, "cascade"))
		return "cascade";
	if (accept(p, "restrict"))
		return "restrict";
	if (accept2(p, "set", "null")) {
		if (punct(p, '('))
			(void)skip_group(p);
		return "nullify";
	}
	if (accept2(p, "set", "default")) {
		if (punct(p, '('))
			(void)skip_group(p);
		return "set_default";
	}
	bad(p, "a foreign key action");
}

/* REFERENCES table [(cols)] [MATCH ...] [ON ...] [DEFERRABLE ...] */
static void
references(struct pg *p, struct fkey *f)
{
	expect(p, "references");
	(void)qname(p, &f->to_schema, &f->to_table);
	if (punct(p, '('))
		name_list(p, &f->to_cols);
	for (;;) {
		if (accept(p, "match")) {
			if (!accept(p, "full") && !accept(p, "simple") &&
			    !accept(p, "partial"))
				bad(p, "FULL, SIMPLE or PARTIAL");
		} else if (accept2(p, "on", "delete"))
			f->on_delete = fk_action(p);
		else if (accept2(p, "on", "update"))
			f->on_update = fk_action(p);
		else if (accept(p, "deferrable")) {
			if (f->deferrable == NULL)
				f->deferrable = "immediate";
		} else if (accept2(p, "not", "deferrable"))
			f->deferrable = NULL;
		else if (accept2(p, "initially", "deferred"))
			f->deferrable = "deferred";
		else if (accept2(p, "initially", "immediate")) {
			if (f->deferrable != NULL)
				f->deferrable = "immediate";
		} else if (accept2(p, "not", "valid"))
			f->validate = 0;
		else
			break;
	}
	/* no columns: the referenced table's primary key (finish) */
}

/* a foreign key whose columns are not as many as those it names is
 * refused by PostgreSQL (not a key to join on): warned and dropped, 0 */
static int
fk_counts(struct schema *s, struct table *t, struct fkey *f)
{
	if (f->cols.n == f->to_cols.n)
		return 1;
	schema_warn(s, f->line, "table '%s': foreign key '%s': %d column%s "
	    "reference%s %d, skipped", t->name, f->name != NULL ? f->name :
	    "", f->cols.n, f->cols.n == 1 ? "" : "s", f->cols.n == 1 ? "s" :
	    "", f->to_cols.n);
	STAILQ_REMOVE(&t->fks, f, fkey, link);
	return 0;
}

/* the tail after a key: INCLUDE, WITH, USING INDEX TABLESPACE, ... */
static void
key_tail(struct pg *p, struct val **opts)
{
	struct strv	 inc = { 0 };
	struct val	*a;
	int		 i;

	for (;;) {
		if (accept(p, "include")) {
			name_list(p, &inc);
			if (opts == NULL)
				continue;
			a = newval(p, V_ARR, NULL);
			for (i = 0; i < inc.n; i++)
				arr_add(a, newval(p, V_STR, inc.v[i]));
			hash_set(p, opts, "include", a);
		} else if (accept(p, "with")) {
			if (!punct(p, '('))
				bad(p, "'('");
			(void)skip_group(p);
		} else if (accept2(p, "using", "index")) {
			expect(p, "tablespace");
			(void)ident(p);
		} else if (accept(p, "deferrable") ||
		    accept2(p, "not", "deferrable") ||
		    accept2(p, "initially", "deferred") ||
		    accept2(p, "initially", "immediate"))
			;
		else
			break;
	}
}

static void
pk_columns(struct pg *p, struct table *t, const struct strv *cols)
{
	t->pk.n = 0;
	t->pk.v = NULL;
	for (int i = 0; i < cols->n; i++)
		strv_add(&p->s->a, &t->pk, cols->v[i]);
}

/*
 * A table constraint at the cursor (after CONSTRAINT name, if any);
 * col is set for a column constraint, whose columns are implicit.
 */
static void
constraint(struct pg *p, struct table *t, const char *name,
    struct column *col, int ln)
{
	struct strv	 cols = { 0 };
	struct index	*ix;
	struct val	*opts;
	struct fkey	*f;
	struct check	*ck;

	if (accept2(p, "primary", "key")) {
		if (col != NULL)
			strv_add(&p->s->a, &cols, col->name);
		else
			name_list(p, &cols);
		key_tail(p, NULL);
		pk_columns(p, t, &cols);
		if (col != NULL)
			col->notnull = 1;
	} else if (accept(p, "unique")) {
		ix = table_add_index(p->s, t, ln);
		ix->unique = 1;
		if (accept(p, "nulls")) {
			if (accept(p, "not"))
				hash_set(p, &ixx(p->s, ix)->options,
				    "nulls_not_distinct",
				    newval(p, V_TRUE, NULL));
			expect(p, "distinct");
		}
		if (col != NULL)
			strv_add(&p->s->a, &ix->cols, col->name);
		else
			name_list(p, &ix->cols);
		opts = IXX(ix)->options;
		key_tail(p, &opts);
		SETIX(p->s, ix, options, opts);
		ix->name = name != NULL ? name : arena_printf(&p->s->a,
		    "%s_%s_key", t->name, ix->cols.v[0]);
	} else if (accept(p, "check")) {
		ck = table_add_check(p->s, t, ln);
		ck->name = name;
		ck->expr = unwrap_dup(p, paren_text(p));
		ck->column = col != NULL ? col->name : NULL;
		for (;;) {
			if (accept2(p, "no", "inherit"))
				;
			else if (accept2(p, "not", "valid"))
				ck->validate = 0;
			else
				break;
		}
	} else if (accept2(p, "foreign", "key") || (col != NULL &&
	    is(p, "references"))) {
		f = table_add_fkey(p->s, t, ln);
		f->name = name;
		if (col != NULL)
			strv_add(&p->s->a, &f->cols, col->name);
		else
			name_list(p, &f->cols);
		references(p, f);
		if (f->to_cols.n > 0)	/* else once all is read */
			(void)fk_counts(p->s, t, f);
	} else if (accept(p, "exclude")) {
		/* an exclusion constraint: no field in the record */
		while (!at_end(p) && !punct(p, ',') && !punct(p, ')')) {
			if (punct(p, '('))
				(void)skip_group(p);
			else
				p->i++;
		}
	} else if (col == NULL && accept2(p, "not", "null")) {
		/* PostgreSQL 18: CONSTRAINT name NOT NULL column */
		const char *cn = ident(p);

		if ((col = table_column(t, cn)) != NULL)
			col->notnull = 1;
	} else
		bad(p, "PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY or EXCLUDE");
}

/* --- CREATE TABLE ---------------------------------------------------- */

static void
column_def(struct pg *p, struct table *t)
{
	struct column	*c;
	struct stok	*nt = cur(p);
	const char	*name, *cname = NULL;
	int		 a;

	name = ident(p);
	if (table_column(t, name) != NULL)
		schema_warn(p->s, line(p, nt), "table '%s': duplicate column "
		    "'%s'", t->key, name);
	c = table_add_column(p->s, t, name, line(p, nt));
	coltype(p, c);
	while (!at_end(p) && !punct(p, ',') && !punct(p, ')')) {
		if (accept(p, "collate")) {
			colx(p->s, c)->collation = qname(p, NULL, NULL);
			if (strncmp(c->x->collation, "pg_catalog.", 11) == 0)
				c->x->collation += 11;
		} else if (accept(p, "constraint"))
			cname = ident(p);
		else if (accept2(p, "not", "null"))
			c->notnull = 1;
		else if (accept(p, "null"))
			c->notnull = 0;
		else if (accept(p, "default")) {
			a = p->i;
			p->i = expr_end(p, 1);
			coldefault(p, c, a, p->i);
		} else if (accept(p, "generated")) {
			if (accept(p, "always")) {
				expect(p, "as");
				if (accept(p, "identity"))
					c->auto_inc = 1;
				else {
					colx(p->s, c)->gen_expr =
					    paren_text(p);
					c->x->gen_stored = accept(p, "stored");
					continue;
				}
			} else {
				expect(p, "by");
				expect(p, "default");
				expect(p, "as");
				expect(p, "identity");
				c->auto_inc = 1;
			}
			if (punct(p, '('))
				(void)skip_group(p);
		} else if (accept(p, "compression") || accept(p, "storage"))
			(void)ident(p);
		else if (is(p, "primary") || is(p, "unique") ||
		    is(p, "check") || is(p, "references")) {
			constraint(p, t, cname, c, line(p, nt));
			cname = NULL;
		} else if (accept(p, "deferrable") ||
		    accept2(p, "not", "deferrable") ||
		    accept2(p, "initially", "deferred") ||
		    accept2(p, "initially", "immediate"))
			;
		else
			bad(p, "a column constraint");
	}
}

/* one element of CREATE TABLE ( ... ): a column or a constraint */
static void
table_element(struct pg *p, struct table *t)
{
	struct stok	*st = cur(p);
	const char	*name;

	if (accept(p, "constraint")) {
		name = ident(p);
		constraint(p, t, name, NULL, line(p, st));
	} else if (is(p, "primary") || is(p, "unique") || is(p, "check") ||
	    is(p, "foreign") || is(p, "exclude"))
		constraint(p, t, NULL, NULL, line(p, st));
	else if (is(p, "like")) {
		(void)snprintf(p->msg, sizeof(p->msg), "LIKE is not "
		    "supported");
		longjmp(*p->skip, 1);
	} else
		column_def(p, t);
}

/* past the rest of an element after an error in it */
static void
skip_element(struct pg *p)
{
	int	depth = 0;

	for (; !at_end(p); p->i++) {
		if (punct(p, '(') || punct(p, '['))
			depth++;
		else if (punct(p, ')') || punct(p, ']')) {
			if (depth-- == 0)
				return;
		} else if (depth == 0 && punct(p, ','))
			return;
	}
}

static void
table_elements(struct pg *p, struct table *t)
{
	jmp_buf		 eskip, *saved = p->skip;
	struct stok	*volatile st;

	expect_punct(p, '(');
	if (accept_punct(p, ')'))
		return;
	for (;;) {
		st = cur(p);
		p->skip = &eskip;
		if (setjmp(eskip) != 0) {
			schema_warn(p->s, line(p, st), "table '%s': %s, rest "
			    "of the element skipped", t->key, p->msg);
			skip_element(p);
		} else
			table_element(p, t);
		p->skip = saved;
		if (accept_punct(p, ')'))
			break;
		expect_punct(p, ',');
	}
}

static void
create_table(struct pg *p)
{
	struct table	*t;
	struct stok	*nt;
	const char	*key, *schema, *name;

	if_not_exists(p);
	nt = cur(p);
	key = qname(p, &schema, &name);
	if (accept2(p, "partition", "of")) {
		strv_add(&p->s->a, &p->parts, key);
		skip_rest(p);
		return;
	}
	if (accept(p, "of") || is(p, "as")) {
		(void)snprintf(p->msg, sizeof(p->msg), "table '%s': typed "
		    "tables and CREATE TABLE AS are not supported", key);
		longjmp(*p->skip, 1);
	}
	if (schema_find(p->s, key) != NULL) {
		schema_warn(p->s, line(p, nt), "table '%s' is created twice, "
		    "second definition skipped", key);
		skip_rest(p);
		return;
	}
	t = schema_add(p->s, REC_TABLE, key, line(p, nt));
	t->schema = schema;
	t->name = name;
	table_elements(p, t);
	/* INHERITS, PARTITION BY, USING, WITH, TABLESPACE: storage */
	skip_rest(p);
}

/* --- CREATE INDEX ---------------------------------------------------- */

/* one index element [a, b): a plain column with decorations, or not */
static int
index_column(struct pg *p, int a, int b, const char **col,
    const char **order, const char **opclass)
{
	struct stok	*t = &p->v[a];
	struct buf	 o = { 0 };
	int		 save = p->i;

	*order = *opclass = NULL;
	if (t->type != S_IDENT && t->type != S_QIDENT)
		return 0;
	if (a + 1 < b && (sqllex_punct(&p->v[a + 1], '(') ||
	    sqllex_punct(&p->v[a + 1], '.') || p->v[a + 1].type == S_OP))
		return 0;
	p->i = a;
	*col = ident(p);
	if (accept(p, "collate"))
		(void)qname(p, NULL, NULL);
	if (p->i < b && (cur(p)->type == S_IDENT ||
	    cur(p)->type == S_QIDENT) && !is(p, "asc") && !is(p, "desc") &&
	    !is(p, "nulls")) {
		*opclass = qname(p, NULL, NULL);
		if (punct(p, '('))
			(void)skip_group(p);
	}
	if (accept(p, "desc"))
		buf_adds(&o, "desc");
	else
		(void)accept(p, "asc");
	if (accept(p, "nulls")) {
		buf_adds(&o, o.len ? " nulls " : "nulls ");
		if (accept(p, "first"))
			buf_adds(&o, "first");
		else if (accept(p, "last"))
			buf_adds(&o, "last");
	}
	if (o.len > 0)
		*order = arena_strndup(&p->s->a, o.data, o.len);
	buf_free(&o);
	if (p->i != b) {
		p->i = save;
		return 0;
	}
	p->i = save;
	return 1;
}

static void
index_elements(struct pg *p, struct index *ix)
{
	const char	*col, *order, *opclass;
	struct val	*orders = NULL, *opcl = NULL;
	int		 a, b, start, end, plain = 1;

	if (!punct(p, '('))
		bad(p, "'('");
	start = p->i + 1;
	end = skip_group(p) - 1;
	for (a = start; a < end; a = b + 1) {
		p->i = a;
		b = expr_end(p, 0);
		if (b == a)
			bad(p, "an index column");
		if (!index_column(p, a, b, &col, &order, &opclass)) {
			plain = 0;
			break;
		}
		strv_add(&p->s->a, &ix->cols, col);
		if (order != NULL)
			hash_set(p, &orders, col, newval(p, V_STR, order));
		if (opclass != NULL)
			hash_set(p, &opcl, col, newval(p, V_STR, opclass));
	}
	p->i = end + 1;
	if (!plain) {
		ix->cols.n = 0;
		SETIX(p->s, ix, expr, srctext(p, start, end));
		return;
	}
	SETIX(p->s, ix, order, orders);
	if (opcl != NULL)
		hash_set(p, &ixx(p->s, ix)->options, "opclass", opcl);
}

static void
create_index(struct pg *p, int unique)
{
	struct index	 tmp, *ix;
	struct table	*t;
	struct val	*opts;
	struct stok	*st = &p->v[0], *tt;
	const char	*name = NULL, *key, *m;
	int		 a;

	(void)accept(p, "concurrently");
	if_not_exists(p);
	if (!is(p, "on"))
		name = ident(p);
	expect(p, "on");
	(void)accept(p, "only");
	tt = cur(p);
	key = qname(p, NULL, NULL);
	memset(&tmp, 0, sizeof(tmp));
	tmp.unique = unique;
	tmp.name = name;
	if (accept(p, "using")) {
		m = ident(p);
		if (strcmp(m, "btree") != 0)
			SETIX(p->s, &tmp, using, m);
	}
	index_elements(p, &tmp);
	for (;;) {
		if (is(p, "include")) {
			opts = IXX(&tmp)->options;
			key_tail(p, &opts);
			SETIX(p->s, &tmp, options, opts);
		} else if (accept(p, "nulls")) {
			if (accept(p, "not"))
				hash_set(p, &ixx(p->s, &tmp)->options,
				    "nulls_not_distinct",
				    newval(p, V_TRUE, NULL));
			expect(p, "distinct");
		} else if (accept(p, "with")) {
			if (!punct(p, '('))
				bad(p, "'('");
			(void)skip_group(p);
		} else if (accept(p, "tablespace"))
			(void)ident(p);
		else if (accept(p, "where")) {
			a = p->i;
			p->i = p->n;
			SETIX(p->s, &tmp, where,
			    unwrap_dup(p, srctext(p, a, p->n)));
		} else
			break;
	}
	if (!at_end(p))
		bad(p, "end of CREATE INDEX");
	if ((t = schema_find(p->s, key)) == NULL) {
		if (!strv_has(&p->parts, key) && !strv_has(&p->other, key))
			schema_warn(p->s, line(p, tt), "index '%s': unknown "
			    "table '%s', skipped", name ? name : "", key);
		return;
	}
	ix = table_add_index(p->s, t, line(p, st));
	tmp.link = ix->link;
	*ix = tmp;
}

/* --- other statements -------------------------------------------------- */

/* the index of label v among the first n of enum e, or -1 */
static int
enum_index(const struct table *e, const char *v, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (strcmp(e->values.v[i], v) == 0)
			return i;
	return -1;
}

static void
create_type(struct pg *p)
{
	struct table	*e;
	struct stok	*nt = cur(p);
	const char	*key, *schema, *name;

	key = qname(p, &schema, &name);
	if (!accept2(p, "as", "enum")) {
		skip_rest(p);	/* composite, range, base */
		return;
	}
	if (schema_find_enum(p->s, key) != NULL) {
		schema_warn(p->s, line(p, nt), "enum '%s' is created twice, "
		    "second definition skipped", key);
		skip_rest(p);
		return;
	}
	e = schema_add(p->s, REC_ENUM, key, line(p, nt));
	e->schema = schema;
	e->name = name;
	expect_punct(p, '(');
	if (accept_punct(p, ')'))
		return;
	do {
		const char *v;

		if (cur(p)->type != S_STRING)
			bad(p, "a string");
		v = sqllex_text(&p->l, &p->s->a, cur(p));
		/* PostgreSQL refuses the statement */
		if (enum_index(e, v, e->values.n) != -1)
			schema_warn(p->s, line(p, cur(p)), "enum '%s': label "
			    "'%s' is given twice, the second skipped", key, v);
		else
			strv_add(&p->s->a, &e->values, v);
		p->i++;
	} while (accept_punct(p, ','));
	expect_punct(p, ')');
}

/* ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'v' [BEFORE | AFTER 'w'] */
static void
alter_type(struct pg *p)
{
	struct table	*e;
	struct stok	*st = cur(p), *wt;
	const char	*key, *v, *w;
	int		 i, k, after, ine;

	key = qname(p, NULL, NULL);
	if (!accept2(p, "add", "value")) {
		skip_rest(p);
		return;
	}
	ine = if_not_exists(p);
	if (cur(p)->type != S_STRING)
		bad(p, "a string");
	v = sqllex_text(&p->l, &p->s->a, cur(p));
	p->i++;
	/* what PostgreSQL refuses is warned and skipped */
	if ((e = schema_find_enum(p->s, key)) == NULL) {
		schema_warn(p->s, line(p, st), "ALTER TYPE: no enum '%s' is "
		    "created before: value '%s' skipped", key, v);
		skip_rest(p);
		return;
	}
	if (enum_index(e, v, e->values.n) != -1) {
		if (!ine)
			schema_warn(p->s, line(p, st), "enum '%s' has the "
			    "label '%s' already: skipped", key, v);
		skip_rest(p);
		return;
	}
	if (!is(p, "before") && !is(p, "after")) {
		strv_add(&p->s->a, &e->values, v);
		return;
	}
	after = accept(p, "after");
	(void)accept(p, "before");
	if ((wt = cur(p))->type != S_STRING)
		bad(p, "a string");
	w = sqllex_text(&p->l, &p->tmp, cur(p));
	p->i++;
	if ((i = enum_index(e, w, e->values.n)) == -1) {
		schema_warn(p->s, line(p, wt), "enum '%s' has no label '%s' "
		    "to put '%s' %s: skipped", key, w, v, after ? "after" :
		    "before");
		return;
	}
	strv_add(&p->s->a, &e->values, v);
	i += after;
	for (k = e->values.n - 1; k > i; k--)
		e->values.v[k] = e->values.v[k - 1];
	e->values.v[i] = v;
}

static void
create_view(struct pg *p)
{
	struct table	*t;
	struct stok	*nt;
	const char	*key, *schema, *name;

	if_not_exists(p);
	nt = cur(p);
	key = qname(p, &schema, &name);
	strv_add(&p->s->a, &p->other, key);
	if (!p->s->views) {
		skip_rest(p);
		return;
	}
	/*
	 * pg_dump writes a placeholder for a view in a dependency loop,
	 * then CREATE OR REPLACE VIEW: the last definition wins.
	 */
	if ((t = schema_find(p->s, key)) == NULL) {
		t = schema_add(p->s, REC_VIEW, key, line(p, nt));
		t->schema = schema;
		t->name = name;
	} else if (t->kind != REC_VIEW) {
		schema_warn(p->s, line(p, nt), "view '%s': a table has that "
		    "name, skipped", key);
		skip_rest(p);
		return;
	}
	t->line = line(p, nt);
	t->sql = srctext(p, 0, p->n);
	skip_rest(p);
}

/* COMMENT ON TABLE t IS '...' / COLUMN t.c IS '...' */
static void
comment_on(struct pg *p)
{
	struct strv	 parts = { 0 };
	struct table	*t;
	struct column	*c;
	struct stok	*nt;
	const char	*text_ = NULL, *key;
	int		 column;

	if (!(column = accept(p, "column")) && !accept(p, "table")) {
		skip_rest(p);	/* other objects */
		return;
	}
	nt = cur(p);
	do
		strv_add(&p->tmp, &parts, ident(p));
	while (accept_punct(p, '.'));
	expect(p, "is");
	if (cur(p)->type == S_STRING)
		text_ = sqllex_text(&p->l, &p->s->a, cur(p));
	else if (!is(p, "null"))
		bad(p, "a string or NULL");
	p->i++;
	if (parts.n < 1 + column)
		bad(p, "a qualified column name");
	parts.n -= column;
	key = parts.n >= 2 && strcmp(parts.v[parts.n - 2], "public") != 0 ?
	    arena_printf(&p->tmp, "%s.%s", parts.v[parts.n - 2],
	    parts.v[parts.n - 1]) : parts.v[parts.n - 1];
	if ((t = schema_find(p->s, key)) == NULL) {
		if (!strv_has(&p->parts, key) && !strv_has(&p->other, key))
			schema_warn(p->s, line(p, nt), "comment: unknown table "
			    "'%s', skipped", key);
		return;
	}
	if (!column) {
		t->comment = text_;
		return;
	}
	if ((c = table_column(t, parts.v[parts.n])) == NULL) {
		schema_warn(p->s, line(p, nt), "comment: table '%s' has no "
		    "column '%s', skipped", key, parts.v[parts.n]);
		return;
	}
	if (text_ != NULL || c->x != NULL)
		colx(p->s, c)->comment = text_;
}

/*
 * One action of ALTER TABLE; t is NULL for a table we do not know,
 * which is a warning unless IF EXISTS says it may be missing.
 */
static void
alter_action(struct pg *p, struct table *t, const char *key, int ln,
    int ifexists)
{
	struct column	*c;
	struct stok	*ct;
	const char	*name;
	int		 a;

	if (accept(p, "add")) {
		if (accept(p, "constraint")) {
			name = ident(p);
			if (t != NULL)
				constraint(p, t, name, NULL, ln);
		} else if (is(p, "primary") || is(p, "unique") ||
		    is(p, "check") || is(p, "foreign") || is(p, "exclude")) {
			if (t != NULL)
				constraint(p, t, NULL, NULL, ln);
		} else {
			(void)accept(p, "column");
			if_not_exists(p);
			if (t != NULL)
				column_def(p, t);
		}
		if (t == NULL)
			goto unknown;
		return;
	}
	if (accept(p, "alter")) {
		(void)accept(p, "column");
		ct = cur(p);
		name = ident(p);
		c = t != NULL ? table_column(t, name) : NULL;
		if (t != NULL && c == NULL) {
			schema_warn(p->s, line(p, ct), "table '%s' has no column "
			    "'%s', skipped", key, name);
			p->i = p->n;
			return;
		}
		if (accept2(p, "set", "default")) {
			a = p->i;
			p->i = expr_end(p, 0);
			if (c != NULL)
				coldefault(p, c, a, p->i);
		} else if (accept2(p, "drop", "default")) {
			if (c != NULL) {
				c->dflt = NULL;
				CLEARX(c, dflt_expr);
			}
		} else if (accept2(p, "set", "not")) {
			expect(p, "null");
			if (c != NULL)
				c->notnull = 1;
		} else if (accept2(p, "drop", "not")) {
			expect(p, "null");
			if (c != NULL)
				c->notnull = 0;
		} else if (accept2(p, "add", "generated")) {
			if (!accept(p, "always")) {
				expect(p, "by");
				expect(p, "default");
			}
			expect(p, "as");
			expect(p, "identity");
			if (punct(p, '('))
				(void)skip_group(p);
			if (c != NULL)
				c->auto_inc = 1;
		} else if (accept(p, "set") || accept(p, "reset")) {
			/* STATISTICS, STORAGE, COMPRESSION, (options) */
			p->i = expr_end(p, 0);
		} else
			bad(p, "SET DEFAULT, SET NOT NULL, ADD GENERATED or "
			    "SET");
		if (t == NULL)
			goto unknown;
		return;
	}
	if (accept2(p, "attach", "partition")) {
		strv_add(&p->s->a, &p->parts, qname(p, NULL, NULL));
		p->i = expr_end(p, 0);
		return;
	}
	/* understood; nothing for the records */
	if (is(p, "owner") || is(p, "drop") || is(p, "cluster") ||
	    is(p, "replica") || is(p, "enable") || is(p, "disable") ||
	    is(p, "force") || is(p, "no") || is(p, "set") || is(p, "reset") ||
	    is(p, "inherit") || is(p, "of") || is(p, "not") ||
	    is(p, "detach") || is(p, "validate")) {
		p->i = expr_end(p, 0);
		return;
	}
	bad(p, "an ALTER TABLE action");
unknown:
	if (!ifexists && !strv_has(&p->parts, key) &&
	    !strv_has(&p->other, key))
		schema_warn(p->s, ln, "alter table: unknown table '%s', "
		    "skipped", key);
	skip_rest(p);
}

static void
alter_table(struct pg *p)
{
	struct table	*t;
	struct stok	*nt;
	const char	*key;
	int		 ifexists;

	ifexists = accept2(p, "if", "exists");
	(void)accept(p, "only");
	nt = cur(p);
	key = qname(p, NULL, NULL);
	if (cur(p)->type == S_OP && cur(p)->n == 1 && *cur(p)->s == '*')
		p->i++;
	t = schema_find(p->s, key);
	do
		alter_action(p, t, key, line(p, nt), ifexists);
	while (accept_punct(p, ','));
}

/* COPY ... FROM stdin: the data lines up to "\." are not SQL */
static void
skip_copy_data(struct pg *p)
{
	struct sqllex	*l = &p->l;

	while (l->p < l->end) {
		if (l->end - l->p >= 2 && l->p[0] == '\\' && l->p[1] == '.' &&
		    (l->p + 2 == l->end || l->p[2] == '\n' ||
		    l->p[2] == '\r')) {
			l->p += 2;
			return;
		}
		while (l->p < l->end && *l->p != '\n')
			l->p++;
		if (l->p < l->end) {
			l->p++;
			l->line++;
			l->bol = l->p;
		}
	}
}

/* statements pg_dump writes that describe nothing in the records */
static const char *const skipped_top[] = {
	"set", "reset", "select", "insert", "update", "delete", "grant",
	"revoke", "begin", "commit", "end", "start", "rollback", "drop",
	"analyze", "vacuum", "lock", "security", "refresh", "reindex",
	"cluster", "savepoint", "release", "do", "notify", "truncate",
	"checkpoint", "discard", "import", "values", "with", "call", NULL
};
static const char *const skipped_create[] = {
	"sequence", "extension", "schema", "function", "procedure",
	"aggregate", "operator", "trigger", "constraint", "event", "text",
	"collation", "cast", "conversion", "domain", "rule", "policy",
	"publication", "subscription", "statistics", "language", "trusted",
	"procedural", "foreign", "server", "user", "access", "transform",
	"default", "tablespace", "role", "group", "database", NULL
};
static const char *const skipped_alter[] = {
	"sequence", "index", "function", "procedure", "schema",
	"extension", "view", "materialized", "default", "operator",
	"aggregate", "domain", "text", "collation", "role", "user",
	"group", "database", "publication", "subscription", "policy",
	"trigger", "event", "statistics", "large", "foreign", "server",
	"language", "procedural", "conversion", "routine", "rule",
	"tablespace", "system", NULL
};

static int
kw_in(const struct stok *t, const char *const *l)
{
	for (; *l != NULL; l++)
		if (sqllex_is(t, *l))
			return 1;
	return 0;
}

static void
statement(struct pg *p)
{
	struct stok	*t = cur(p);
	int		 j;

	if (t->type == S_META) {
		skip_rest(p);
		return;
	}
	if (sqllex_is(t, "copy")) {
		for (j = 1; j < p->n; j++)
			if (sqllex_is(&p->v[j], "stdin"))
				skip_copy_data(p);
		skip_rest(p);
		return;
	}
	if (kw_in(t, skipped_top)) {
		skip_rest(p);
		return;
	}
	if (accept(p, "create")) {
		(void)accept2(p, "or", "replace");
		(void)(accept(p, "global") || accept(p, "local"));
		(void)(accept(p, "temp") || accept(p, "temporary") ||
		    accept(p, "unlogged"));
		if (accept(p, "table")) {
			create_table(p);
			return;
		}
		if (accept(p, "unique")) {
			expect(p, "index");
			create_index(p, 1);
			return;
		}
		if (accept(p, "index")) {
			create_index(p, 0);
			return;
		}
		if (accept(p, "type")) {
			create_type(p);
			return;
		}
		(void)accept(p, "recursive");
		if (accept(p, "view") || accept2(p, "materialized", "view")) {
			create_view(p);
			return;
		}
		if (accept2(p, "foreign", "table")) {
			if_not_exists(p);
			strv_add(&p->s->a, &p->other, qname(p, NULL, NULL));
			skip_rest(p);
			return;
		}
		if (kw_in(cur(p), skipped_create)) {
			skip_rest(p);
			return;
		}
		goto unknown;
	}
	if (accept(p, "alter")) {
		if (accept(p, "table")) {
			alter_table(p);
			return;
		}
		if (accept(p, "type")) {
			alter_type(p);
			return;
		}
		if (kw_in(cur(p), skipped_alter)) {
			skip_rest(p);
			return;
		}
		goto unknown;
	}
	if (accept2(p, "comment", "on")) {
		comment_on(p);
		return;
	}
unknown:
	schema_warn(p->s, line(p, t), "unknown statement '%.*s%s%.*s', "
	    "skipped", (int)t->n, t->s, p->n > 1 && p->v[1].type == S_IDENT ?
	    " " : "", p->n > 1 && p->v[1].type == S_IDENT ? (int)p->v[1].n : 0,
	    p->v[1].s);
	skip_rest(p);
}

static void
one_statement(struct pg *p)
{
	jmp_buf		 sskip;
	struct arena_mark m;

	p->v = p->l.v;
	p->n = p->l.n;
	p->i = 0;
	arena_mark(&p->tmp, &m);
	p->skip = &sskip;
	if (setjmp(sskip) != 0)
		schema_warn(p->s, line(p, &p->v[0]), "%s, statement skipped",
		    p->msg);
	else {
		statement(p);
		if (!at_end(p) && p->v[0].type != S_META) {
			char b[64];

			schema_warn(p->s, line(p, cur(p)), "unexpected %s, rest "
			    "of the statement skipped",
			    sqllex_tokname(cur(p), b, sizeof(b)));
		}
	}
	arena_release(&p->tmp, &m);
}

/* --- after the whole source ------------------------------------------ */

/*
 * REFERENCES parent with no columns names parent's primary key, which
 * may be declared after the key (ALTER TABLE ... ADD PRIMARY KEY, at
 * the end of a pg_dump): resolved once everything is read.  A key to
 * a parent the source does not define, or to one without a primary
 * key, is warned and dropped.
 */
static void
resolve_fkeys(struct schema *s, struct table *t)
{
	struct table	*to;
	struct fkey	*f, *next;
	const char	*key;

	STAILQ_FOREACH_SAFE(f, &t->fks, link, next) {
		if (f->to_cols.n > 0)
			continue;
		key = f->to_schema == NULL ? f->to_table :
		    arena_printf(&s->a, "%s.%s", f->to_schema, f->to_table);
		if ((to = schema_find(s, key)) != NULL &&
		    to->kind == REC_TABLE && to->pk.n > 0) {
			f->to_cols = to->pk;
			(void)fk_counts(s, t, f);
			continue;
		}
		/* PostgreSQL refuses it; nothing to join on */
		schema_warn(s, f->line, "table '%s': foreign key '%s' to '%s' "
		    "names no columns and '%s' %s, skipped", t->key,
		    f->name != NULL ? f->name : "", key, key, to == NULL ||
		    to->kind != REC_TABLE ? "is not a table of the source" :
		    "has no primary key");
		STAILQ_REMOVE(&t->fks, f, fkey, link);
	}
}

static void
finish(struct pg *p)
{
	struct schema	*s = p->s;
	struct table	*t, *next;
	struct column	*c;
	const char	*k;
	int		 i;

	for (i = 0; i < p->parts.n; i++)
		if ((t = schema_find(s, p->parts.v[i])) != NULL &&
		    t->kind == REC_TABLE && t->seq >= 0) {
			STAILQ_REMOVE(&s->recs, t, table, link);
			t->seq = -1;
		}
	STAILQ_FOREACH_SAFE(t, &s->recs, link, next) {
		if (t->kind != REC_TABLE)
			continue;
		resolve_fkeys(s, t);
		for (i = 0; i < t->pk.n; i++)
			if ((c = table_column(t, t->pk.v[i])) == NULL)
				schema_warn(s, t->line, "table '%s': primary "
				    "key column '%s' is not defined", t->key,
				    t->pk.v[i]);
		STAILQ_FOREACH(c, &t->cols, link) {
			if (CX(c)->enum_name == NULL ||
			    strcmp(c->type, "enum") == 0)
				continue;
			k = c->x->enum_name;
			if (schema_find_enum(s, k) != NULL)
				c->type = "enum";
			else
				c->x->enum_name = NULL;
		}
	}
}

static void
pg_init(struct pg *p, struct schema *s, const char *src, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->s = s;
	sqllex_init(&p->l, s, src, len, &p->fail);
}

int
pgsql_load(struct schema *s, const char *src, size_t len)
{
	struct pg	*p;

	s->kind = SRC_PGSQL;
	p = arena_alloc(&s->a, sizeof(*p));
	pg_init(p, s, src, len);
	if (setjmp(p->fail) != 0) {
		sqllex_free(&p->l);
		arena_free(&p->tmp);
		return -1;
	}
	while (sqllex_stmt(&p->l))
		one_statement(p);
	finish(p);
	sqllex_free(&p->l);
	arena_free(&p->tmp);
	return 0;
}

/*
 * One piece of catalog text from a live database, read with the rules
 * above.  Errors are warnings naming the table; only a lexical error
 * returns -1 (s->err set).
 */
int
pgsql_snippet(struct schema *s, enum snippet kind, struct table *t,
    struct column *c, const char *name, const char *src)
{
	struct pg	 p;
	jmp_buf		 sskip;
	int		 a;

	pg_init(&p, s, src, strlen(src));
	p.live = 1;
	if (setjmp(p.fail) != 0) {
		sqllex_free(&p.l);
		arena_free(&p.tmp);
		return -1;
	}
	if (kind == SNIP_FINISH) {
		finish(&p);
		goto done;
	}
	if (!sqllex_stmt(&p.l)) {
		if (kind == SNIP_TYPE)
			c->type = c->sql_type = "";
		goto done;
	}
	p.v = p.l.v;
	p.n = p.l.n;
	p.skip = &sskip;
	if (setjmp(sskip) != 0) {
		schema_warn(s, 0, "table '%s': cannot read '%s': %s",
		    t != NULL ? t->key : "", src, p.msg);
		goto done;
	}
	switch (kind) {
	case SNIP_TYPE:
		coltype(&p, c);
		break;
	case SNIP_DEFAULT:
		a = p.i;
		p.i = p.n;
		coldefault(&p, c, a, p.n);
		break;
	case SNIP_GENERATED:
		colx(s, c)->gen_expr = srctext(&p, 0, p.n);
		p.i = p.n;
		break;
	case SNIP_CONSTRAINT:
		constraint(&p, t, name, NULL, 0);
		break;
	case SNIP_INDEX:
		if (!accept(&p, "create"))
			bad(&p, "CREATE");
		if (accept(&p, "unique")) {
			expect(&p, "index");
			create_index(&p, 1);
		} else {
			expect(&p, "index");
			create_index(&p, 0);
		}
		break;
	default:
		break;
	}
	if (!at_end(&p))
		bad(&p, "the end");
done:
	sqllex_free(&p.l);
	arena_free(&p.tmp);
	return 0;
}
