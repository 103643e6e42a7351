/*
 * schemarb.c: the Rails db/schema.rb front-end of introspect.
 * Exports schemarb_load(): parse the text (tokens from rblex.c) into
 * the schema model.  A recursive-descent parser of calls with
 * arguments, options and do-blocks, then one handler per construct
 * Rails dumps (create_table and its t.<type> columns, indexes, checks,
 * references and timestamps; add_foreign_key, add_index, create_enum,
 * ...).  An unknown statement, option or value is a warning with the
 * line and is skipped; only broken syntax (unterminated strings,
 * brackets, heredocs, blocks) fails the whole load.  Limits: no
 * interpolation, no %w literals, no brace blocks; values nest at most
 * MAXNEST deep.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "introspect.h"
#include "rblex.h"
#include "banned.h"

#define MAXNEST	32

struct parser {
	struct schema	*s;
	struct arena	 tmp;		/* per statement; released after it */
	struct rblex	 l;
	struct tok	 t;		/* current token */
	struct tok	 la;		/* look-ahead */
	int		 hasla;
	int		 nest;
	char		 msg[256];	/* why a statement is skipped */
	jmp_buf		 fail;
};

struct call {
	const char	*recv;		/* "t" in t.string, or NULL */
	const char	*name;
	struct val	*args;		/* positional arguments */
	int		 nargs;
	struct val	*opts;		/* HASH of keyword options, or NULL */
	int		 block;		/* a do-block follows */
	const char	*param;		/* its |param| */
	int		 line, col;
	int		 dline, dcol;	/* where 'do' is */
};

static void	stmt(struct parser *, struct table *, const char *);
static struct val *value(struct parser *);

static void
next(struct parser *p)
{
	if (p->hasla) {
		p->t = p->la;
		p->hasla = 0;
	} else
		rblex_next(&p->l, &p->t);
}

static struct tok *
peek(struct parser *p)
{
	if (!p->hasla) {
		rblex_next(&p->l, &p->la);
		p->hasla = 1;
	}
	return &p->la;
}

static int
is_kw(const struct tok *t, const char *kw)
{
	return t->type == T_IDENT && t->n == strlen(kw) &&
	    memcmp(t->s, kw, t->n) == 0;
}

static void
skip_nl(struct parser *p)
{
	while (p->t.type == T_NL || p->t.type == T_SEMI)
		next(p);
}

static int
bad(struct parser *p, const char *what)
{
	char	b[64];

	(void)snprintf(p->msg, sizeof(p->msg), "expected %s, found %s",
	    what, rblex_tokname(&p->t, b, sizeof(b)));
	return -1;
}

static struct val *
newval(struct parser *p, enum val_kind k)
{
	struct val	*v;

	v = arena_alloc(&p->tmp, sizeof(*v));
	v->kind = k;
	v->line = p->t.line;
	v->col = p->t.col;
	return v;
}

static void
addkid(struct val *parent, struct val **tail, struct val *v)
{
	if (*tail == NULL)
		parent->kid = v;
	else
		(*tail)->next = v;
	*tail = v;
	parent->nkid++;
}

/* number text without underscores, with an optional sign */
static struct val *
number(struct parser *p, int neg)
{
	struct val	*v;
	char		*s;
	size_t		 i, n = 0;

	v = newval(p, V_NUM);
	s = arena_alloc(&p->tmp, p->t.n + 2);
	if (neg)
		s[n++] = '-';
	for (i = 0; i < p->t.n; i++)
		if (p->t.s[i] != '_')
			s[n++] = p->t.s[i];
	v->s = s;
	v->n = n;
	next(p);
	return v;
}

static struct val *
string_val(struct parser *p)
{
	struct val	*v;
	char		*s;

	v = newval(p, V_STR);
	v->s = p->t.s;
	v->n = p->t.n;
	if (p->t.interp)
		schema_warn(p->s, p->t.line, "string interpolation is not "
		    "supported, kept literally");
	next(p);
	/* adjacent literals concatenate: "a" "b" */
	while (p->t.type == T_STRING) {
		s = arena_alloc(&p->tmp, v->n + p->t.n + 1);
		memcpy(s, v->s, v->n);
		memcpy(s + v->n, p->t.s, p->t.n);
		v->s = s;
		v->n += p->t.n;
		next(p);
	}
	return v;
}

static struct val *
array(struct parser *p)
{
	struct val	*v, *e, *tail = NULL;

	v = newval(p, V_ARR);
	next(p);
	for (skip_nl(p); p->t.type != T_RBRACK; skip_nl(p)) {
		if ((e = value(p)) == NULL)
			return NULL;
		addkid(v, &tail, e);
		skip_nl(p);
		if (p->t.type == T_COMMA)
			next(p);
		else if (p->t.type != T_RBRACK)
			return bad(p, "',' or ']'"), NULL;
	}
	next(p);
	return v;
}

/* a hash key: label, or a value followed by => */
static struct val *
hash_key(struct parser *p)
{
	struct val	*k;

	if (p->t.type == T_LABEL) {
		k = newval(p, V_SYM);
		k->s = p->t.s;
		k->n = p->t.n;
		next(p);
		return k;
	}
	if ((k = value(p)) == NULL)
		return NULL;
	skip_nl(p);
	if (p->t.type != T_ROCKET)
		return bad(p, "'=>'"), NULL;
	next(p);
	return k;
}

static struct val *
hash(struct parser *p)
{
	struct val	*v, *k, *e, *tail = NULL;

	v = newval(p, V_HASH);
	next(p);
	for (skip_nl(p); p->t.type != T_RBRACE; skip_nl(p)) {
		if ((k = hash_key(p)) == NULL)
			return NULL;
		skip_nl(p);
		if ((e = value(p)) == NULL)
			return NULL;
		addkid(v, &tail, k);
		addkid(v, &tail, e);
		skip_nl(p);
		if (p->t.type == T_COMMA)
			next(p);
		else if (p->t.type != T_RBRACE)
			return bad(p, "',' or '}'"), NULL;
	}
	next(p);
	return v;
}

/* -> { "expr" }, ->() { }, -> do "expr" end, lambda { } */
static struct val *
lambda(struct parser *p)
{
	struct val	*v;
	int		 brace;

	v = newval(p, V_LAMBDA);
	next(p);
	if (p->t.type == T_LPAREN) {
		while (p->t.type != T_RPAREN && p->t.type != T_EOF)
			next(p);
		next(p);
	}
	if (p->t.type == T_LBRACE)
		brace = 1;
	else if (is_kw(&p->t, "do"))
		brace = 0;
	else
		return bad(p, "'{' after '->'"), NULL;
	next(p);
	skip_nl(p);
	if ((v->kid = value(p)) == NULL)
		return NULL;
	v->nkid = 1;
	skip_nl(p);
	if (brace ? p->t.type != T_RBRACE : !is_kw(&p->t, "end"))
		return bad(p, brace ? "'}'" : "'end'"), NULL;
	next(p);
	return v;
}

static struct val *
value(struct parser *p)
{
	struct val	*v = NULL;
	struct tok	*la;

	if (++p->nest > MAXNEST) {
		(void)snprintf(p->msg, sizeof(p->msg), "values nested too "
		    "deeply (more than %d levels)", MAXNEST);
		p->nest--;
		return NULL;
	}
	switch (p->t.type) {
	case T_STRING:
		v = string_val(p);
		break;
	case T_SYMBOL:
		v = newval(p, V_SYM);
		v->s = p->t.s;
		v->n = p->t.n;
		next(p);
		break;
	case T_INT:
	case T_FLOAT:
		v = number(p, 0);
		break;
	case T_MINUS:
		la = peek(p);
		if ((la->type == T_INT || la->type == T_FLOAT) && !la->space) {
			next(p);
			v = number(p, 1);
		} else
			(void)bad(p, "a value");
		break;
	case T_LBRACK:
		v = array(p);
		break;
	case T_LBRACE:
		v = hash(p);
		break;
	case T_LAMBDA:
		v = lambda(p);
		break;
	case T_IDENT:
		if (is_kw(&p->t, "true") || is_kw(&p->t, "false") ||
		    is_kw(&p->t, "nil")) {
			v = newval(p, p->t.s[0] == 't' ? V_TRUE :
			    p->t.s[0] == 'f' ? V_FALSE : V_NIL);
			next(p);
		} else if ((is_kw(&p->t, "lambda") || is_kw(&p->t, "proc")) &&
		    peek(p)->type == T_LBRACE)
			v = lambda(p);
		else
			(void)bad(p, "a value");
		break;
	default:
		(void)bad(p, "a value");
		break;
	}
	p->nest--;
	return v;
}

static int
can_start_arg(const struct tok *t)
{
	switch (t->type) {
	case T_STRING: case T_SYMBOL: case T_LABEL: case T_INT:
	case T_FLOAT: case T_MINUS: case T_LBRACK: case T_LAMBDA:
		return 1;
	case T_IDENT:
		return !is_kw(t, "do") && !is_kw(t, "end");
	default:
		return 0;
	}
}

static int
args(struct parser *p, struct call *c, int paren)
{
	struct val	*v, *k, *atail = NULL, *otail = NULL, dummy;

	memset(&dummy, 0, sizeof(dummy));
	if (paren) {
		next(p);
		skip_nl(p);
		if (p->t.type == T_RPAREN) {
			next(p);
			return 0;
		}
	}
	for (;;) {
		if (p->t.type == T_LABEL) {
			k = newval(p, V_SYM);
			k->s = p->t.s;
			k->n = p->t.n;
			next(p);
			skip_nl(p);
			if ((v = value(p)) == NULL)
				return -1;
		} else {
			if ((v = value(p)) == NULL)
				return -1;
			if (p->t.type == T_ROCKET) {
				k = v;
				next(p);
				skip_nl(p);
				if ((v = value(p)) == NULL)
					return -1;
			} else
				k = NULL;
		}
		if (k != NULL) {
			if (c->opts == NULL) {
				c->opts = newval(p, V_HASH);
				c->opts->line = k->line;
			}
			addkid(c->opts, &otail, k);
			addkid(c->opts, &otail, v);
		} else {
			if (c->opts != NULL) {
				(void)snprintf(p->msg, sizeof(p->msg),
				    "positional argument after options");
				return -1;
			}
			addkid(&dummy, &atail, v);
		}
		if (paren)
			skip_nl(p);
		if (p->t.type != T_COMMA)
			break;
		next(p);
		skip_nl(p);
		if (paren && p->t.type == T_RPAREN)
			break;
	}
	c->args = dummy.kid;
	c->nargs = dummy.nkid;
	if (paren) {
		if (p->t.type != T_RPAREN)
			return bad(p, "',' or ')'");
		next(p);
	}
	return 0;
}

static int
at_stmt_end(const struct parser *p)
{
	return p->t.type == T_NL || p->t.type == T_SEMI ||
	    p->t.type == T_EOF || is_kw(&p->t, "end");
}

/* name [args] [do |param|]; the block body is left to the caller */
static int
call(struct parser *p, struct call *c)
{
	const char	*first;
	size_t		 n;

	memset(c, 0, sizeof(*c));
	c->line = p->t.line;
	c->col = p->t.col;
	first = arena_strndup(&p->tmp, p->t.s, p->t.n);
	next(p);
	if (p->t.type == T_DOT) {
		next(p);
		if (p->t.type != T_IDENT && p->t.type != T_CONST &&
		    p->t.type != T_LABEL)
			return bad(p, "a method name after '.'");
		c->recv = first;
		c->name = arena_strndup(&p->tmp, p->t.s, p->t.n);
		if (p->t.type == T_LABEL) {
			/* t.string key: 1 is not Ruby; be explicit */
			return bad(p, "a method name after '.'");
		}
		next(p);
	} else
		c->name = first;
	if (p->t.type == T_LPAREN && !p->t.space) {
		if (args(p, c, 1) == -1)
			return -1;
	} else if (p->t.space && can_start_arg(&p->t)) {
		if (args(p, c, 0) == -1)
			return -1;
	}
	if (is_kw(&p->t, "do")) {
		c->block = 1;
		c->dline = p->t.line;
		c->dcol = p->t.col;
		next(p);
		if (p->t.type == T_PIPE) {
			next(p);
			if (p->t.type == T_IDENT) {
				n = p->t.n;
				c->param = arena_strndup(&p->tmp, p->t.s, n);
				next(p);
			}
			while (p->t.type == T_COMMA || p->t.type == T_IDENT)
				next(p);
			if (p->t.type != T_PIPE)
				return bad(p, "'|'");
			next(p);
		}
	}
	if (!at_stmt_end(p))
		return bad(p, "end of line");
	return 0;
}

/*
 * Skip the rest of a statement (and the blocks it opens): up to a
 * newline at the bracket depth where it started with no block open.
 * An 'end' with no block open belongs to the caller and stays.
 */
static void
skip_stmt(struct parser *p, int depth, int blocks)
{
	for (;;) {
		if (p->t.type == T_EOF)
			return;
		if ((p->t.type == T_NL || p->t.type == T_SEMI) &&
		    p->l.depth <= depth && blocks == 0)
			return;
		if (p->t.type == T_IDENT && p->l.depth <= depth) {
			if (is_kw(&p->t, "do") || is_kw(&p->t, "begin") ||
			    is_kw(&p->t, "def") || is_kw(&p->t, "case"))
				blocks++;
			else if (is_kw(&p->t, "end")) {
				if (blocks == 0)
					return;
				blocks--;
			}
		}
		next(p);
	}
}

/* the statements of a do-block, up to its 'end' */
static void
body(struct parser *p, struct table *t, const char *param, int line,
    int col)
{
	for (;;) {
		skip_nl(p);
		if (p->t.type == T_EOF)
			rblex_fatal(&p->l, line, col, "unclosed 'do': "
			    "expected 'end' before end of file");
		if (is_kw(&p->t, "end")) {
			next(p);
			return;
		}
		stmt(p, t, param);
		if (t == NULL)		/* a whole top-level statement read */
			schema_source_done(p->s, p->l.bol);
	}
}

/* skip the body of a block we do not interpret */
static void
skip_body(struct parser *p, int line, int col)
{
	int	depth = p->l.depth;

	for (;;) {
		skip_nl(p);
		if (p->t.type == T_EOF)
			rblex_fatal(&p->l, line, col, "unclosed 'do': "
			    "expected 'end' before end of file");
		if (is_kw(&p->t, "end")) {
			next(p);
			return;
		}
		skip_stmt(p, depth, 0);
	}
}

/* --- values to model ------------------------------------------------ */

static const char *
vstr(struct parser *p, const struct val *v)
{
	if (v == NULL || (v->kind != V_STR && v->kind != V_SYM))
		return NULL;
	if (memchr(v->s, '\0', v->n) != NULL)
		return NULL;
	/* names recur: one copy; longer ones (index names) rarely do */
	if (v->n <= 20)
		return schema_intern(p->s, v->s, v->n);
	return arena_strndup(&p->s->a, v->s, v->n);
}

/* the text of a string or symbol without a NUL, not copied, or NULL */
static const char *
vstr_peek(const struct val *v)
{
	if (v == NULL || (v->kind != V_STR && v->kind != V_SYM) ||
	    memchr(v->s, '\0', v->n) != NULL)
		return NULL;
	return v->s;
}

static int
vint(const struct val *v, int64_t *out)
{
	char		 b[32];
	const char	*e;
	int64_t		 n;

	if (v == NULL || v->kind != V_NUM || v->n == 0 || v->n >= sizeof(b))
		return -1;
	memcpy(b, v->s, v->n);
	b[v->n] = '\0';
	n = strtonum(b, 0, INT64_MAX, &e);
	if (e != NULL)
		return -1;	/* *out as it was: strtonum gives 0 */
	*out = n;
	return 0;
}

static int
vbool(const struct val *v)
{
	return v != NULL && v->kind == V_TRUE;
}

/* names from a string, symbol or array of them */
static int
vnames(struct parser *p, const struct val *v, struct strv *sv)
{
	const struct val *e;
	const char	*s;

	if ((s = vstr(p, v)) != NULL) {
		strv_add(&p->s->a, sv, s);
		return 0;
	}
	if (v == NULL || v->kind != V_ARR)
		return -1;
	for (e = v->kid; e != NULL; e = e->next) {
		if ((s = vstr(p, e)) == NULL)
			return -1;
		strv_add(&p->s->a, sv, s);
	}
	return 0;
}

static int
keyis(const struct val *k, const char *name)
{
	return (k->kind == V_SYM || k->kind == V_STR) &&
	    k->n == strlen(name) && memcmp(k->s, name, k->n) == 0;
}

static const char *
keyname(struct parser *p, const struct val *k)
{
	const char *s = vstr(p, k);

	return s != NULL ? s : "?";
}

/* look an option up in a call's options */
static struct val *
opt(const struct call *c, const char *name)
{
	struct val	*k;

	if (c->opts == NULL)
		return NULL;
	for (k = c->opts->kid; k != NULL; k = k->next->next)
		if (keyis(k, name))
			return k->next;
	return NULL;
}

/* copy option k => v into a HASH kept in the model */
static void
keep_opt(struct parser *p, struct val **h, struct val *k, struct val *v)
{
	struct val	*nk, *nv, *tail;

	if (*h == NULL) {
		*h = arena_alloc(&p->s->a, sizeof(**h));
		(*h)->kind = V_HASH;
	}
	nk = val_copy(&p->s->a, k);
	nv = val_copy(&p->s->a, v);
	for (tail = (*h)->kid; tail != NULL && tail->next != NULL;
	    tail = tail->next)
		;
	if (tail == NULL)
		(*h)->kid = nk;
	else
		tail->next = nk;
	nk->next = nv;
	(*h)->nkid += 2;
}

static int
inlist(const struct val *k, const char *const *list)
{
	for (; *list != NULL; list++)
		if (keyis(k, *list))
			return 1;
	return 0;
}

/*
 * Check every option of c against known (handled by the caller) and
 * kept (copied to *extra); warn about the rest.
 */
static void
check_opts(struct parser *p, const struct call *c, const char *what,
    const char *name, const char *const *known, const char *const *kept,
    struct val **extra)
{
	struct val	*k;

	if (c->opts == NULL)
		return;
	for (k = c->opts->kid; k != NULL; k = k->next->next) {
		if (inlist(k, known))
			continue;
		if (kept != NULL && inlist(k, kept)) {
			keep_opt(p, extra, k, k->next);
			continue;
		}
		/* "column 'x'": named only here, not for every column */
		if (name != NULL)
			schema_warn(p->s, k->line, "%s '%s': unknown option "
			    "'%s', skipped", what, name, keyname(p, k));
		else
			schema_warn(p->s, k->line, "%s: unknown option '%s', "
			    "skipped", what, keyname(p, k));
	}
}

/* --- columns -------------------------------------------------------- */

static const char *const types[] = {
	"string", "text", "integer", "bigint", "float", "decimal",
	"numeric", "datetime", "timestamp", "timestamptz", "time", "date",
	"binary", "blob", "boolean", "json", "jsonb", "uuid", "interval",
	"inet", "cidr", "macaddr", "macaddr8", "hstore", "citext", "ltree",
	"tsvector", "point", "line", "lseg", "box", "path", "polygon",
	"circle", "bit", "bit_varying", "money", "xml", "oid", "int4range",
	"int8range", "numrange", "tsrange", "tstzrange", "daterange",
	"enum", "serial", "bigserial", "primary_key", "virtual",
	"smallint", "tinytext", "mediumtext", "longtext", "tinyblob",
	"mediumblob", "longblob", "unsigned_integer", "unsigned_bigint",
	NULL
};

/* the index of t in types[], or -1: open addressing over a hash of
 * the names, built at the first call (every column asks, three times) */
static int
type_index(const char *t)
{
	static short	 slot[256];	/* index + 1, 0: empty */
	static int	 built;
	const unsigned char *c;
	unsigned	 h;
	size_t		 i;

	if (!built) {
		for (i = 0; types[i] != NULL; i++) {
			for (h = 2166136261u, c = (const unsigned char *)
			    types[i]; *c != '\0'; c++)
				h = (h ^ *c) * 16777619u;
			for (h &= 255; slot[h] != 0; h = (h + 1) & 255)
				;
			slot[h] = (short)(i + 1);
		}
		built = 1;
	}
	for (h = 2166136261u, c = (const unsigned char *)t; *c != '\0'; c++)
		h = (h ^ *c) * 16777619u;
	for (h &= 255; slot[h] != 0; h = (h + 1) & 255)
		if (strcmp(types[slot[h] - 1], t) == 0)
			return slot[h] - 1;
	return -1;
}

static const char *
norm_type(const char *t, int *auto_inc)
{
	static const char *const map[][2] = {
		{ "timestamp", "datetime" }, { "numeric", "decimal" },
		{ "blob", "binary" }, { "serial", "integer" },
		{ "bigserial", "bigint" }, { "primary_key", "bigint" },
		{ "smallint", "integer" }, { "tinytext", "text" },
		{ "mediumtext", "text" }, { "longtext", "text" },
		{ "tinyblob", "binary" }, { "mediumblob", "binary" },
		{ "longblob", "binary" }, { "unsigned_integer", "integer" },
		{ "unsigned_bigint", "bigint" },
	};
	static const char *to[sizeof(types) / sizeof(types[0])];
	static int	 built;
	size_t	i;
	int	k;

	if (!built) {
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			to[type_index(map[i][0])] = map[i][1];
		built = 1;
	}
	if ((k = type_index(t)) == -1)
		return t;
	if (strcmp(t, "serial") == 0 || strcmp(t, "bigserial") == 0 ||
	    strcmp(t, "primary_key") == 0)
		*auto_inc = 1;
	return to[k] != NULL ? to[k] : t;
}

static int
known_type(const char *t)
{
	return type_index(t) != -1;
}

static const char *const col_known[] = {
	"null", "default", "limit", "precision", "scale", "array",
	"comment", "collation", "enum_type", "as", "stored", "type",
	"primary_key", NULL
};
static const char *const col_kept[] = {
	"size", "unsigned", "charset", "srid", "geographic", "has_z",
	"has_m", "auto_increment", "if_not_exists", "first", "after",
	"index", "foreign_key", "polymorphic", NULL
};

/* an integer option into *out (-1 if absent) */
static void
int_opt(struct parser *p, const struct call *c, const char *name,
    int64_t *out, const char *col)
{
	*out = -1;
	struct val	*v;

	if ((v = opt(c, name)) == NULL || v->kind == V_NIL)
		return;
	if (vint(v, out) == -1)
		schema_warn(p->s, v->line, "column '%s': %s: expected an "
		    "integer, skipped", col, name);
}

static void
default_opt(struct parser *p, struct column *col, struct val *v)
{
	if (v == NULL || v->kind == V_NIL)
		return;
	if (v->kind == V_LAMBDA) {
		if (v->kid == NULL || v->kid->kind != V_STR ||
		    memchr(v->kid->s, '\0', v->kid->n) != NULL) {
			schema_warn(p->s, v->line, "column '%s': default: "
			    "expected a string in the lambda, skipped",
			    col->name);
			return;
		}
		colx(p->s, col)->dflt_expr = vstr(p, v->kid);
		return;
	}
	if (v->kind == V_CONST) {
		schema_warn(p->s, v->line, "column '%s': default: expected "
		    "a literal, skipped", col->name);
		return;
	}
	col->dflt = val_share(p->s, v);
}

static void
column_opts(struct parser *p, struct table *t, struct column *col,
    const struct call *c)
{
	struct val	*v, *kept = NULL;
	const char	*str;
	int64_t		 n;
	int		 ai = 0;

	check_opts(p, c, "column", col->name, col_known, col_kept, &kept);
	if (kept != NULL)
		colx(p->s, col)->options = kept;
	if ((v = opt(c, "null")) != NULL)
		col->notnull = v->kind == V_FALSE;
	default_opt(p, col, opt(c, "default"));
	int_opt(p, c, "limit", &n, col->name);
	SETX(p->s, col, limit, n);
	int_opt(p, c, "precision", &n, col->name);
	SETX(p->s, col, precision, n);
	int_opt(p, c, "scale", &n, col->name);
	SETX(p->s, col, scale, n);
	col->array = vbool(opt(c, "array"));
	if ((str = vstr(p, opt(c, "comment"))) != NULL)
		colx(p->s, col)->comment = str;
	if ((str = vstr(p, opt(c, "collation"))) != NULL)
		colx(p->s, col)->collation = str;
	if ((v = opt(c, "enum_type")) != NULL &&
	    (str = vstr(p, v)) != NULL)
		colx(p->s, col)->enum_name = str;
	if ((v = opt(c, "as")) != NULL) {
		if ((str = vstr(p, v)) == NULL)
			schema_warn(p->s, v->line, "column '%s': as: expected "
			    "a string, skipped", col->name);
		else {
			colx(p->s, col)->gen_expr = str;
			col->x->gen_stored = vbool(opt(c, "stored"));
		}
	}
	if ((v = opt(c, "type")) != NULL) {
		if (vstr(p, v) == NULL)
			schema_warn(p->s, v->line, "column '%s': type: "
			    "expected a symbol, skipped", col->name);
		else {
			col->sql_type = vstr(p, v);
			col->type = norm_type(col->sql_type, &ai);
		}
	}
	if (vbool(opt(c, "primary_key")))
		strv_add(&p->s->a, &t->pk, col->name);
}

/* column types outlive the statement: the static name if known */
static const char *
intern_type(struct parser *p, const char *t)
{
	int	 k = type_index(t);

	return k != -1 ? types[k] : arena_strdup(&p->s->a, t);
}

static struct column *
add_column(struct parser *p, struct table *t, const char *name,
    const char *type, int line)
{
	struct column	*col;
	int		 ai = 0;

	if (table_column(t, name) != NULL)
		schema_warn(p->s, line, "table '%s': duplicate column '%s'",
		    t->key, name);
	col = table_add_column(p->s, t, name, line);
	col->sql_type = intern_type(p, type);
	col->type = norm_type(col->sql_type, &ai);
	col->auto_inc = ai;
	return col;
}

/* t.<type> "a"[, "b"...], options */
static void
t_column(struct parser *p, struct table *t, const struct call *c,
    const char *type, const struct val *names)
{
	const struct val *v;
	struct column	*col;
	const char	*name;

	if (names == NULL) {
		schema_warn(p->s, c->line, "t.%s: expected a column name, "
		    "skipped", c->name);
		return;
	}
	if (!known_type(type))
		schema_warn(p->s, c->line, "unknown column type '%s', kept "
		    "as declared", type);
	for (v = names; v != NULL; v = v->next) {
		if ((name = vstr(p, v)) == NULL) {
			schema_warn(p->s, c->line, "t.%s: expected a column "
			    "name, skipped", c->name);
			continue;
		}
		col = add_column(p, t, name, type, c->line);
		column_opts(p, t, col, c);
		if (strcmp(type, "virtual") == 0 && opt(c, "type") == NULL)
			schema_warn(p->s, c->line, "column '%s': virtual "
			    "column without type:", name);
		if (strcmp(type, "primary_key") == 0)
			strv_add(&p->s->a, &t->pk, name);
	}
}

/* t.column "name", :type, options */
static void
t_column_generic(struct parser *p, struct table *t, const struct call *c)
{
	const char	*type;

	if (c->nargs != 2 || (type = vstr(p, c->args->next)) == NULL) {
		schema_warn(p->s, c->line, "t.column: expected a name and a "
		    "type, skipped");
		return;
	}
	c->args->next = NULL;
	t_column(p, t, c, type, c->args);
}

static void
t_timestamps(struct parser *p, struct table *t, const struct call *c)
{
	static const char *const known[] = {
		"null", "precision", "default", NULL
	};
	static const char *const names[] = { "created_at", "updated_at" };
	struct column	*col;
	struct val	*v;
	int64_t		 n;
	int		 i;

	check_opts(p, c, "t.timestamps", NULL, known, NULL, NULL);
	for (i = 0; i < 2; i++) {
		col = add_column(p, t, names[i], "datetime", c->line);
		col->notnull = (v = opt(c, "null")) == NULL ||
		    v->kind == V_FALSE;
		int_opt(p, c, "precision", &n, names[i]);
		SETX(p->s, col, precision, n);
		default_opt(p, col, opt(c, "default"));
	}
}

/* the start of s (n bytes left) is w: the length of w, or 0 */
static size_t
starts(const char *s, size_t n, const char *w)
{
	size_t	l = strlen(w);

	return l <= n && memcmp(s, w, l) == 0 ? l : 0;
}

/*
 * The name of an index from the name: option v (or none): Rails'
 * default name is not kept (index_default_name; the writer spells it
 * out), any other is.
 */
static const char *
index_name(struct parser *p, const struct table *t, const struct strv *cols,
    const struct val *v)
{
	const char	*s;
	size_t		 n, k;
	int		 i;

	/* no name, or none that is a string: the default */
	if (v == NULL || (s = vstr_peek(v)) == NULL)
		return index_default_name;
	if (cols->n == 0)
		return vstr(p, v);
	s = v->s;
	n = v->n;
	if ((k = starts(s, n, "index_")) == 0)
		return vstr(p, v);
	s += k, n -= k;
	if ((k = starts(s, n, t->name)) == 0)
		return vstr(p, v);
	s += k, n -= k;
	if ((k = starts(s, n, "_on_")) == 0)
		return vstr(p, v);
	s += k, n -= k;
	for (i = 0; i < cols->n; i++) {
		if (i > 0) {
			if ((k = starts(s, n, "_and_")) == 0)
				return vstr(p, v);
			s += k, n -= k;
		}
		if ((k = starts(s, n, cols->v[i])) == 0 && *cols->v[i] != '\0')
			return vstr(p, v);
		s += k, n -= k;
	}
	return n == 0 ? index_default_name : vstr(p, v);
}

static int
plain_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* t.index / add_index: columns (array or name) or an expression */
static void
index_def(struct parser *p, struct table *t, const struct call *c,
    const struct val *what)
{
	static const char *const known[] = {
		"name", "unique", "where", "using", "order", NULL
	};
	static const char *const kept[] = {
		"opclass", "length", "type", "include", "nulls_not_distinct",
		"comment", "algorithm", "if_not_exists", "valid", NULL
	};
	struct index	*ix;
	const char	*s;
	struct val	*v, *kept_v = NULL;

	ix = table_add_index(p->s, t, c->line);
	if (what != NULL && what->kind == V_STR &&
	    (s = vstr(p, what)) != NULL && !plain_name(s))
		SETIX(p->s, ix, expr, s);
	else if (vnames(p, what, &ix->cols) == -1) {
		schema_warn(p->s, c->line, "index: expected columns or an "
		    "expression, skipped");
		STAILQ_REMOVE(&t->idx, ix, index, link);
		return;
	}
	check_opts(p, c, "index", NULL, known, kept, &kept_v);
	SETIX(p->s, ix, options, kept_v);
	if (IXX(ix)->expr == NULL)
		ix->name = index_name(p, t, &ix->cols, opt(c, "name"));
	else
		ix->name = vstr(p, opt(c, "name"));
	ix->unique = vbool(opt(c, "unique"));
	SETIX(p->s, ix, where, vstr(p, opt(c, "where")));
	SETIX(p->s, ix, using, vstr(p, opt(c, "using")));
	if ((v = opt(c, "order")) != NULL)
		SETIX(p->s, ix, order, val_copy(&p->s->a, v));
}

static void
check_def(struct parser *p, struct table *t, const struct call *c,
    const struct val *expr)
{
	static const char *const known[] = {
		"name", "validate", "if_not_exists", NULL
	};
	struct check	*ck;
	struct val	*v;

	if (vstr(p, expr) == NULL) {
		schema_warn(p->s, c->line, "check_constraint: expected an "
		    "expression string, skipped");
		return;
	}
	check_opts(p, c, "check_constraint", NULL, known, NULL, NULL);
	ck = table_add_check(p->s, t, c->line);
	ck->expr = vstr(p, expr);
	ck->name = vstr(p, opt(c, "name"));
	if ((v = opt(c, "validate")) != NULL)
		ck->validate = v->kind != V_FALSE;
}

/* qualified "schema.table" to its parts */
static void
split_name(struct parser *p, const char *key, const char **schema,
    const char **name)
{
	const char	*dot = strchr(key, '.');

	if (dot != NULL && dot != key && dot[1] != '\0') {
		*schema = arena_strndup(&p->s->a, key, (size_t)(dot - key));
		*name = dot + 1;
	} else {
		*schema = NULL;
		*name = key;
	}
}

static const char *
action(struct parser *p, struct val *v)
{
	const char	*s;

	if (v == NULL || v->kind == V_NIL)
		return NULL;
	if ((s = vstr(p, v)) == NULL) {
		schema_warn(p->s, v->line, "foreign key action: expected a "
		    "symbol, skipped");
		return NULL;
	}
	return s;
}

/* the options of add_foreign_key and of foreign_key: { ... } */
static void
fkey_opts(struct parser *p, struct fkey *f, const struct call *c)
{
	struct val	*v;

	f->name = vstr(p, opt(c, "name"));
	f->on_delete = action(p, opt(c, "on_delete"));
	f->on_update = action(p, opt(c, "on_update"));
	if ((v = opt(c, "validate")) != NULL)
		f->validate = v->kind != V_FALSE;
	if ((v = opt(c, "deferrable")) != NULL && v->kind != V_FALSE &&
	    v->kind != V_NIL)
		f->deferrable = v->kind == V_TRUE ? "immediate" : vstr(p, v);
}

/* Rails: "#{to_table.singularize}_#{pk}" */
static void
fkey_default_cols(struct parser *p, struct fkey *f)
{
	const char	*sing;
	int		 i;

	if (f->to_cols.n == 0)
		strv_add(&p->s->a, &f->to_cols, "id");
	if (f->cols.n > 0)
		return;		/* the inflector only when needed */
	sing = arena_singular(&p->s->a, f->to_table);
	for (i = 0; i < f->to_cols.n; i++)
		strv_add(&p->s->a, &f->cols, arena_printf(&p->s->a, "%s_%s",
		    sing, f->to_cols.v[i]));
}

static void
fkey_check_cols(struct parser *p, const struct table *t,
    const struct fkey *f)
{
	int	i;

	for (i = 0; i < f->cols.n; i++)
		if (table_column(t, f->cols.v[i]) == NULL)
			schema_warn(p->s, f->line, "foreign key of '%s': no "
			    "column '%s'", t->key, f->cols.v[i]);
}

/* t.references / t.belongs_to "name", polymorphic:, foreign_key:, ... */
static void
t_references(struct parser *p, struct table *t, const struct call *c)
{
	static const char *const known[] = {
		"polymorphic", "foreign_key", "index", "type", "null",
		"default", "comment", "limit", "precision", "scale", "array",
		NULL
	};
	struct call	 cc;
	struct column	*id, *ty = NULL;
	struct index	*ix;
	struct fkey	*f;
	struct val	*v, *fk;
	const char	*name, *type;
	int		 poly;

	if (c->nargs != 1 || (name = vstr(p, c->args)) == NULL) {
		schema_warn(p->s, c->line, "t.%s: expected one name, skipped",
		    c->name);
		return;
	}
	check_opts(p, c, c->name, NULL, known, NULL, NULL);
	type = (v = opt(c, "type")) != NULL && vstr(p, v) != NULL ?
	    vstr(p, v) : "bigint";
	poly = vbool(opt(c, "polymorphic"));
	id = add_column(p, t, arena_printf(&p->s->a, "%s_id", name), type,
	    c->line);
	/* column options, without those that are the reference's */
	cc = *c;
	cc.opts = NULL;
	if (c->opts != NULL)
		for (v = c->opts->kid; v != NULL; v = v->next->next)
			if (!keyis(v, "polymorphic") && !keyis(v, "foreign_key") &&
			    !keyis(v, "index") && !keyis(v, "type"))
				keep_opt(p, &cc.opts, v, v->next);
	column_opts(p, t, id, &cc);
	if (poly) {
		ty = add_column(p, t, arena_printf(&p->s->a, "%s_type", name),
		    "string", c->line);
		ty->notnull = id->notnull;
	}
	if ((v = opt(c, "index")) == NULL || v->kind != V_FALSE) {
		ix = table_add_index(p->s, t, c->line);
		if (poly)
			strv_add(&p->s->a, &ix->cols, ty->name);
		strv_add(&p->s->a, &ix->cols, id->name);
		ix->name = index_default_name;
		if (v != NULL && v->kind == V_HASH) {
			memset(&cc, 0, sizeof(cc));
			cc.opts = v;
			if (vstr(p, opt(&cc, "name")) != NULL)
				ix->name = index_name(p, t, &ix->cols,
				    opt(&cc, "name"));
			ix->unique = vbool(opt(&cc, "unique"));
			SETIX(p->s, ix, where, vstr(p, opt(&cc, "where")));
			SETIX(p->s, ix, using, vstr(p, opt(&cc, "using")));
		}
	}
	if ((fk = opt(c, "foreign_key")) == NULL || fk->kind == V_FALSE ||
	    fk->kind == V_NIL)
		return;
	if (poly) {
		schema_warn(p->s, c->line, "t.%s '%s': a polymorphic "
		    "reference cannot have a foreign key, skipped", c->name,
		    name);
		return;
	}
	f = table_add_fkey(p->s, t, c->line);
	strv_add(&p->s->a, &f->cols, id->name);
	f->to_table = arena_plural(&p->s->a, name);
	if (fk->kind == V_HASH) {
		memset(&cc, 0, sizeof(cc));
		cc.opts = fk;
		if (vstr(p, opt(&cc, "to_table")) != NULL)
			split_name(p, vstr(p, opt(&cc, "to_table")),
			    &f->to_schema, &f->to_table);
		if (vnames(p, opt(&cc, "primary_key"), &f->to_cols) == -1)
			f->to_cols.n = 0;
		fkey_opts(p, f, &cc);
	}
	if (f->to_cols.n == 0)
		strv_add(&p->s->a, &f->to_cols, "id");
}

static void
t_unique_constraint(struct parser *p, struct table *t, const struct call *c)
{
	struct index	*ix;
	struct val	*v;

	ix = table_add_index(p->s, t, c->line);
	if (vnames(p, c->args, &ix->cols) == -1) {
		schema_warn(p->s, c->line, "unique_constraint: expected "
		    "columns, skipped");
		STAILQ_REMOVE(&t->idx, ix, index, link);
		return;
	}
	ix->unique = 1;
	ix->name = vstr(p, opt(c, "name"));
	SETIX(p->s, ix, using, vstr(p, opt(c, "using_index")));
	if ((v = opt(c, "deferrable")) != NULL) {
		struct val k = { .kind = V_SYM, .s = "deferrable", .n = 10 };

		keep_opt(p, &ixx(p->s, ix)->options, &k, v);
	}
}

/* a statement inside create_table's block */
static void
table_stmt(struct parser *p, struct table *t, const char *param,
    struct call *c)
{
	if (c->recv == NULL || param == NULL || strcmp(c->recv, param) != 0) {
		schema_warn(p->s, c->line, "unknown statement '%s%s%s' in "
		    "create_table, skipped", c->recv ? c->recv : "",
		    c->recv ? "." : "", c->name);
		return;
	}
	if (strcmp(c->name, "index") == 0)
		index_def(p, t, c, c->args);
	else if (strcmp(c->name, "check_constraint") == 0)
		check_def(p, t, c, c->args);
	else if (strcmp(c->name, "timestamps") == 0)
		t_timestamps(p, t, c);
	else if (strcmp(c->name, "references") == 0 ||
	    strcmp(c->name, "belongs_to") == 0)
		t_references(p, t, c);
	else if (strcmp(c->name, "column") == 0)
		t_column_generic(p, t, c);
	else if (strcmp(c->name, "unique_constraint") == 0)
		t_unique_constraint(p, t, c);
	else if (strcmp(c->name, "exclusion_constraint") == 0)
		schema_warn(p->s, c->line, "t.exclusion_constraint is not "
		    "supported, skipped");
	else
		t_column(p, t, c, c->name, c->args);
}

/* --- top-level statements ------------------------------------------ */

static struct table *
table_arg(struct parser *p, const struct call *c)
{
	const char	*name;
	struct table	*t;

	if ((name = vstr(p, c->args)) == NULL) {
		schema_warn(p->s, c->line, "%s: expected a table name, "
		    "skipped", c->name);
		return NULL;
	}
	if ((t = schema_find(p->s, name)) == NULL)
		schema_warn(p->s, c->line, "%s: unknown table '%s', skipped",
		    c->name, name);
	return t;
}

static void
create_table(struct parser *p, struct call *c)
{
	static const char *const known[] = {
		"id", "primary_key", "force", "charset", "collation",
		"comment", "options", "default", "limit", "if_not_exists",
		"temporary", "precision", "null", "unlogged", NULL
	};
	struct table	*t;
	struct column	*col;
	struct val	*id, *pk;
	const char	*name, *type = "bigint", *pkname = "id";
	int64_t		 n;
	int		 ai = 1;

	if ((name = vstr(p, c->args)) == NULL || c->nargs != 1) {
		schema_warn(p->s, c->line, "create_table: expected a table "
		    "name, skipped");
		goto skip;
	}
	if (schema_find(p->s, name) != NULL) {
		schema_warn(p->s, c->line, "table '%s' is created twice, "
		    "second definition skipped", name);
		goto skip;
	}
	t = schema_add(p->s, REC_TABLE, name, c->line);
	check_opts(p, c, "create_table", NULL, known, NULL, NULL);
	t->comment = vstr(p, opt(c, "comment"));
	id = opt(c, "id");
	pk = opt(c, "primary_key");
	if (pk != NULL && pk->kind == V_ARR) {
		if (vnames(p, pk, &t->pk) == -1)
			schema_warn(p->s, c->line, "primary_key: expected "
			    "column names, skipped");
	} else if (id == NULL || id->kind != V_FALSE) {
		if (pk != NULL && (pkname = vstr(p, pk)) == NULL) {
			schema_warn(p->s, c->line, "primary_key: expected a "
			    "name, 'id' used");
			pkname = "id";
		}
		if (id != NULL && id->kind != V_TRUE) {
			if ((type = vstr(p, id)) == NULL) {
				schema_warn(p->s, c->line, "id: expected a "
				    "type, 'bigint' used");
				type = "bigint";
			}
			ai = strcmp(type, "serial") == 0 ||
			    strcmp(type, "bigserial") == 0 ||
			    strcmp(type, "primary_key") == 0;
		}
		col = add_column(p, t, pkname, type, c->line);
		col->notnull = 1;
		col->auto_inc = ai;
		default_opt(p, col, opt(c, "default"));
		int_opt(p, c, "limit", &n, pkname);
		SETX(p->s, col, limit, n);
		int_opt(p, c, "precision", &n, pkname);
		SETX(p->s, col, precision, n);
		strv_add(&p->s->a, &t->pk, pkname);
	}
	if (c->block)
		body(p, t, c->param, c->dline, c->dcol);
	return;
skip:
	if (c->block)
		skip_body(p, c->dline, c->dcol);
}

static void
add_foreign_key(struct parser *p, const struct call *c)
{
	static const char *const known[] = {
		"column", "primary_key", "on_delete", "on_update", "validate",
		"name", "deferrable", "if_not_exists", NULL
	};
	struct table	*t;
	struct fkey	*f;
	const char	*to;

	if (c->nargs != 2 || (to = vstr(p, c->args->next)) == NULL) {
		schema_warn(p->s, c->line, "add_foreign_key: expected two "
		    "table names, skipped");
		return;
	}
	if ((t = table_arg(p, c)) == NULL)
		return;
	check_opts(p, c, "add_foreign_key", NULL, known, NULL, NULL);
	f = table_add_fkey(p->s, t, c->line);
	split_name(p, to, &f->to_schema, &f->to_table);
	if (opt(c, "column") != NULL &&
	    vnames(p, opt(c, "column"), &f->cols) == -1)
		schema_warn(p->s, c->line, "add_foreign_key: column: "
		    "expected names, default used");
	if (opt(c, "primary_key") != NULL &&
	    vnames(p, opt(c, "primary_key"), &f->to_cols) == -1)
		schema_warn(p->s, c->line, "add_foreign_key: primary_key: "
		    "expected names, 'id' used");
	fkey_opts(p, f, c);
	fkey_default_cols(p, f);
	fkey_check_cols(p, t, f);
}

static void
create_enum(struct parser *p, const struct call *c)
{
	struct table	*e;
	const char	*name;

	if (c->nargs != 2 || (name = vstr(p, c->args)) == NULL ||
	    c->args->next->kind != V_ARR) {
		schema_warn(p->s, c->line, "create_enum: expected a name and "
		    "an array of values, skipped");
		return;
	}
	if (schema_find_enum(p->s, name) != NULL) {
		schema_warn(p->s, c->line, "enum '%s' is created twice, "
		    "second definition skipped", name);
		return;
	}
	e = schema_add(p->s, REC_ENUM, name, c->line);
	if (vnames(p, c->args->next, &e->values) == -1)
		schema_warn(p->s, c->line, "create_enum '%s': expected string "
		    "values", name);
}

/* scenic's create_view "name", sql_definition: <<-SQL */
static void
create_view(struct parser *p, const struct call *c)
{
	struct table	*t;
	const char	*name;

	if (!p->s->views)
		return;
	if ((name = vstr(p, c->args)) == NULL || schema_find(p->s, name)) {
		schema_warn(p->s, c->line, "create_view: expected a new view "
		    "name, skipped");
		return;
	}
	t = schema_add(p->s, REC_VIEW, name, c->line);
	t->sql = vstr(p, opt(c, "sql_definition"));
}

/* understood, but they describe no table: nothing to record */
static const char *const ignored[] = {
	"enable_extension", "create_schema", "create_virtual_table",
	"create_function", "create_trigger", NULL
};

static void
top_stmt(struct parser *p, struct call *c)
{
	const char *const *ig;
	struct table	*t;

	if (c->recv != NULL)
		goto unknown;
	if (strcmp(c->name, "create_table") == 0) {
		create_table(p, c);
		return;
	}
	if (strcmp(c->name, "add_foreign_key") == 0)
		add_foreign_key(p, c);
	else if (strcmp(c->name, "add_index") == 0) {
		if ((t = table_arg(p, c)) != NULL)
			index_def(p, t, c, c->nargs > 1 ? c->args->next :
			    NULL);
	} else if (strcmp(c->name, "add_check_constraint") == 0) {
		if ((t = table_arg(p, c)) != NULL)
			check_def(p, t, c, c->nargs > 1 ? c->args->next :
			    NULL);
	} else if (strcmp(c->name, "create_enum") == 0)
		create_enum(p, c);
	else if (strcmp(c->name, "create_view") == 0)
		create_view(p, c);
	else {
		for (ig = ignored; *ig != NULL; ig++)
			if (strcmp(c->name, *ig) == 0)
				break;
		if (*ig == NULL)
			goto unknown;
	}
	if (c->block)
		skip_body(p, c->dline, c->dcol);
	return;
unknown:
	schema_warn(p->s, c->line, "unknown statement '%s%s%s', skipped",
	    c->recv ? c->recv : "", c->recv ? "." : "", c->name);
	if (c->block)
		skip_body(p, c->dline, c->dcol);
}

/* one statement; t is the table whose block we are in, or NULL */
static void
stmt_body(struct parser *p, struct table *t, const char *param)
{
	struct call	 c;
	int		 depth = p->l.depth, line = p->t.line;
	char		 b[64];

	if (p->t.type != T_IDENT && p->t.type != T_CONST) {
		schema_warn(p->s, line, "expected a statement, found %s, "
		    "skipped", rblex_tokname(&p->t, b, sizeof(b)));
		next(p);
		skip_stmt(p, depth, 0);
		return;
	}
	if (call(p, &c) == -1) {
		schema_warn(p->s, line, "%s, statement skipped", p->msg);
		skip_stmt(p, depth, c.block);
		return;
	}
	if (t != NULL) {
		table_stmt(p, t, param, &c);
		if (c.block)
			skip_body(p, c.dline, c.dcol);
	} else
		top_stmt(p, &c);
}

/* the values of a statement live until its end (and its block's) */
static void
stmt(struct parser *p, struct table *t, const char *param)
{
	struct arena_mark m;

	arena_mark(&p->tmp, &m);
	stmt_body(p, t, param);
	arena_release(&p->tmp, &m);
}

/*
 * ActiveRecord::Schema[8.2].define(version: ...) do ... end, or the old
 * ActiveRecord::Schema.define(:version => ...) do ... end.  Without
 * that header the statements are read to the end of the file.
 */
static void
program(struct parser *p)
{
	int	line, col;

	next(p);
	skip_nl(p);
	if (p->t.type == T_CONST && p->t.n == 12 &&
	    memcmp(p->t.s, "ActiveRecord", 12) == 0) {
		line = p->t.line;
		col = p->t.col;
		while (p->t.type == T_CONST || p->t.type == T_COLON2)
			next(p);
		if (p->t.type == T_LBRACK) {
			while (p->t.type != T_RBRACK && p->t.type != T_EOF)
				next(p);
			next(p);
		}
		if (p->t.type != T_DOT || (next(p), !is_kw(&p->t, "define")))
			rblex_fatal(&p->l, p->t.line, p->t.col, "expected "
			    "'.define' after 'ActiveRecord::Schema'");
		next(p);
		if (p->t.type == T_LPAREN) {
			struct call c;

			memset(&c, 0, sizeof(c));
			if (args(p, &c, 1) == -1)
				rblex_fatal(&p->l, p->t.line, p->t.col, "%s",
				    p->msg);
		}
		if (!is_kw(&p->t, "do"))
			rblex_fatal(&p->l, p->t.line, p->t.col, "expected "
			    "'do' after 'ActiveRecord::Schema.define'");
		line = p->t.line;
		col = p->t.col;
		next(p);
		body(p, NULL, NULL, line, col);
		for (skip_nl(p); p->t.type != T_EOF; skip_nl(p))
			stmt(p, NULL, NULL);
		return;
	}
	for (skip_nl(p); p->t.type != T_EOF; skip_nl(p)) {
		if (is_kw(&p->t, "end")) {
			schema_warn(p->s, p->t.line, "unmatched 'end', "
			    "skipped");
			next(p);
			continue;
		}
		stmt(p, NULL, NULL);
		schema_source_done(p->s, p->l.bol);
	}
}

/* after the whole file: checks that need every table */
static void
finish(struct schema *s)
{
	struct table	*t;
	struct column	*c;
	int		 i;

	STAILQ_FOREACH(t, &s->recs, link) {
		if (t->kind != REC_TABLE)
			continue;
		for (i = 0; i < t->pk.n; i++)
			if (table_column(t, t->pk.v[i]) == NULL)
				schema_warn(s, t->line, "table '%s': primary "
				    "key column '%s' is not defined", t->key,
				    t->pk.v[i]);
		STAILQ_FOREACH(c, &t->cols, link)
			if (CX(c)->enum_name != NULL &&
			    schema_find_enum(s, CX(c)->enum_name) == NULL)
				schema_warn(s, c->line, "column '%s': unknown "
				    "enum type '%s'", c->name, CX(c)->enum_name);
	}
}

int
schemarb_load(struct schema *s, const char *text, size_t len)
{
	struct parser	*p;

	s->kind = SRC_SCHEMARB;
	p = arena_alloc(&s->a, sizeof(*p));
	p->s = s;
	rblex_init(&p->l, s, text, len, &p->fail);
	p->l.a = &p->tmp;
	if (setjmp(p->fail) != 0) {
		rblex_free(&p->l);
		arena_free(&p->tmp);
		return -1;
	}
	program(p);
	finish(s);
	rblex_free(&p->l);
	arena_free(&p->tmp);
	return 0;
}
