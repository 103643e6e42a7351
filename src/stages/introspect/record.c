/*
 * record.c: the JSON Lines writer of introspect: one line per table,
 * view or enum, in the format of sluice-records(5).  A member whose value
 * is null or false is left out (jq reads null for it); arrays are always
 * there, so jq paths never fail.  Strings
 * that are not valid UTF-8 are repaired with U+FFFD so the output is
 * always valid JSON text.  Exports record_write.
 */
#include <err.h>
#include <errno.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "util.h"
#include "introspect.h"
#include "banned.h"

/*
 * The writer: the comma logic of jw (json.h) over a struct buf, with
 * keys written as literals and strings escaped in one pass straight
 * into the buffer (space reserved once per string).
 */
struct jw {
	struct buf	*b;
	int		 depth;
	unsigned char	 comma[64];	/* element written at this depth */
};

static void
jw_init(struct jw *w, struct buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

/* room for n more bytes and the NUL; the write position */
static inline char *
room(struct jw *w, size_t n)
{
	if (w->b->cap - w->b->len <= n || w->b->data == NULL)
		buf_grow(w->b, n);
	return w->b->data + w->b->len;
}

static inline void
put(struct jw *w, const char *s, size_t n)
{
	memcpy(room(w, n), s, n);
	w->b->len += n;
	w->b->data[w->b->len] = '\0';
}

static inline void
putc1(struct jw *w, int c)
{
	*room(w, 1) = (char)c;
	w->b->data[++w->b->len] = '\0';
}

static inline void
sep(struct jw *w)
{
	if (w->comma[w->depth])
		putc1(w, ',');
	w->comma[w->depth] = 1;
}

static void
jw_open(struct jw *w, int c)
{
	sep(w);
	putc1(w, c);
	if (w->depth + 1 >= (int)sizeof(w->comma))
		errx(EX_SOFTWARE, "JSON writer nested too deeply");
	w->comma[++w->depth] = 0;
}

#define jw_obj(w)	jw_open((w), '{')
#define jw_arr(w)	jw_open((w), '[')

static void
jw_close(struct jw *w, int c)
{
	w->depth--;
	putc1(w, c);
}

#define jw_obj_end(w)	jw_close((w), '}')
#define jw_arr_end(w)	jw_close((w), ']')

/* a key given as a literal: "key": */
#define jw_key(w, k)	key_lit((w), "\"" k "\":", sizeof(k) + 2)

static inline void
key_lit(struct jw *w, const char *k, size_t n)
{
	sep(w);
	put(w, k, n);
	w->comma[w->depth] = 0;		/* the value follows without comma */
}

static void
jw_raw(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put(w, s, n);
}

static void
jw_null(struct jw *w)
{
	jw_raw(w, "null", 4);
}

static void
jw_bool(struct jw *w, int v)
{
	if (v)
		jw_raw(w, "true", 4);
	else
		jw_raw(w, "false", 5);
}

static void
jw_int(struct jw *w, long long v)
{
	char			 d[24], *p = d + sizeof(d);
	unsigned long long	 u = v < 0 ? 0 - (unsigned long long)v :
				    (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jw_raw(w, p, (size_t)(d + sizeof(d) - p));
}

/*
 * A JSON string: '"', '\\' and control bytes escaped as json_escape
 * does, bytes that are not valid UTF-8 replaced by U+FFFD; runs of
 * plain ASCII are copied as they are.
 */
static void
str(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	char		*o, *o0;
	size_t		 k;
	unsigned char	 c;

	sep(w);
	o = o0 = room(w, n * 6 + 2);	/* \u00XX is the longest: 6 */
	*o++ = '"';
	while (p < e) {
		c = *p;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			p++;
			continue;
		}
		if (c >= 0x80) {
			if ((k = utf8_len((const char *)p, (size_t)(e - p))) == 0) {
				memcpy(o, "\xef\xbf\xbd", 3);
				o += 3;
				p++;
			} else {
				memcpy(o, p, k);
				o += k;
				p += k;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		default:
			memcpy(o, "u00", 3);
			o += 3;
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
		p++;
	}
	*o++ = '"';
	w->b->len += (size_t)(o - o0);
	w->b->data[w->b->len] = '\0';
}

static void
cstr(struct jw *w, const char *s)
{
	if (s == NULL)
		jw_null(w);
	else
		str(w, s, strlen(s));
}

#define kstr(w, k, s)	do { jw_key(w, k); cstr(w, s); } while (0)

static void
kint_(struct jw *w, int64_t v)
{
	if (v < 0)
		jw_null(w);
	else
		jw_int(w, (long long)v);
}

#define kint(w, k, v)	do { jw_key(w, k); kint_(w, v); } while (0)
#define kbool(w, k, v)	do { jw_key(w, k); jw_bool(w, v); } while (0)

static void
strv_(struct jw *w, const struct strv *sv)
{
	int	i;

	jw_arr(w);
	for (i = 0; i < sv->n; i++)
		cstr(w, sv->v[i]);
	jw_arr_end(w);
}

#define strv(w, k, sv)	do { jw_key(w, k); strv_(w, sv); } while (0)

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
json_number(const char *s, size_t n)
{
	size_t	i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else {
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

static void	val(struct jw *, const struct val *);

/* a hash key: the text of a string or symbol, else its JSON text */
static void
key(struct jw *w, const struct val *k)
{
	struct buf	 kb = { 0 };
	struct jw	 kw;

	if (k->kind == V_STR || k->kind == V_SYM || k->kind == V_NUM ||
	    k->kind == V_CONST)
		str(w, k->s, k->n);
	else {
		jw_init(&kw, &kb);
		val(&kw, k);
		str(w, kb.data ? kb.data : "", kb.len);
		buf_free(&kb);
	}
	/* what jw_key does after the key: no comma before the value */
	putc1(w, ':');
	w->comma[w->depth] = 0;
}

static void
val(struct jw *w, const struct val *v)
{
	const struct val *k;

	if (v == NULL) {
		jw_null(w);
		return;
	}
	switch (v->kind) {
	case V_NIL: jw_null(w); break;
	case V_TRUE: jw_bool(w, 1); break;
	case V_FALSE: jw_bool(w, 0); break;
	case V_NUM:
		if (json_number(v->s, v->n))
			jw_raw(w, v->s, v->n);
		else
			str(w, v->s, v->n);
		break;
	case V_STR:
	case V_SYM:
	case V_CONST:
		str(w, v->s, v->n);
		break;
	case V_ARR:
		jw_arr(w);
		for (k = v->kid; k != NULL; k = k->next)
			val(w, k);
		jw_arr_end(w);
		break;
	case V_HASH:
		jw_obj(w);
		for (k = v->kid; k != NULL && k->next != NULL;
		    k = k->next->next) {
			key(w, k);
			val(w, k->next);
		}
		jw_obj_end(w);
		break;
	case V_LAMBDA:
		jw_obj(w);
		jw_key(w, "expr");
		val(w, v->kid);
		jw_obj_end(w);
		break;
	}
}

#define kval(w, k, v)	do { jw_key(w, k); val(w, v); } while (0)

/*
 * Optional members: left out when null or false (a reader, jq too, sees
 * null for a member that is not there); arrays are always written, so
 * .columns[] and the like never fail.
 */
#define ostr(w, k, s)	do { if ((s) != NULL) kstr(w, k, s); } while (0)
#define oint(w, k, v)	do { if ((v) >= 0) kint(w, k, v); } while (0)
#define obool(w, k, v)	do { if (v) kbool(w, k, 1); } while (0)
#define oval(w, k, v)	do { if ((v) != NULL && (v)->kind != V_NIL) \
			    kval(w, k, v); } while (0)

static void
source(struct jw *w, const struct schema *s, int line)
{
	jw_key(w, "source");
	jw_obj(w);
	kstr(w, "kind", s->kind == SRC_SQLITE ? "sqlite" :
	    s->kind == SRC_PGSQL ? "structure_sql" :
	    s->kind == SRC_PGLIVE ? "postgres" : "schemarb");
	ostr(w, "file", s->file);
	oint(w, "line", line > 0 ? line : -1);
	jw_obj_end(w);
}

static void
enum_ref(struct jw *w, const struct schema *s, const struct column *c)
{
	const struct table *e;
	const char	*en = CX(c)->enum_name;

	if (en == NULL)
		return;
	jw_key(w, "enum");
	e = schema_find_enum(s, en);
	if (e == NULL && strncmp(en, "public.", 7) == 0)
		e = schema_find_enum(s, en + 7);
	jw_obj(w);
	kstr(w, "name", en);
	if (e != NULL) {
		jw_key(w, "values");
		jw_arr(w);
		for (int i = 0; i < e->values.n; i++)
			cstr(w, e->values.v[i]);
		jw_arr_end(w);
	}
	jw_obj_end(w);
}

static void
column(struct jw *w, const struct schema *s, const struct column *c)
{
	const struct colx *x = CX(c);

	jw_obj(w);
	kstr(w, "name", c->name);
	kstr(w, "type", c->type);
	ostr(w, "sql_type", c->sql_type);
	kbool(w, "null", !c->notnull);
	oval(w, "default", c->dflt);
	ostr(w, "default_expr", x->dflt_expr);
	oint(w, "limit", x->limit);
	oint(w, "precision", x->precision);
	oint(w, "scale", x->scale);
	obool(w, "array", c->array);
	obool(w, "auto_increment", c->auto_inc);
	enum_ref(w, s, c);
	ostr(w, "collation", x->collation);
	ostr(w, "comment", x->comment);
	if (x->gen_expr != NULL) {
		jw_key(w, "generated");
		jw_obj(w);
		kstr(w, "expr", x->gen_expr);
		kbool(w, "stored", x->gen_stored);
		jw_obj_end(w);
	}
	oval(w, "options", x->options);
	oint(w, "line", c->line > 0 ? c->line : -1);
	jw_obj_end(w);
}

/* Rails' default name of an index, spelled out */
static void
default_name(struct jw *w, const struct table *t, const struct index *i)
{
	static struct buf nb;		/* reused */
	int		  k;

	buf_reset(&nb);
	buf_adds(&nb, "index_");
	buf_adds(&nb, t->name);
	buf_adds(&nb, "_on_");
	for (k = 0; k < i->cols.n; k++) {
		if (k > 0)
			buf_adds(&nb, "_and_");
		buf_adds(&nb, i->cols.v[k]);
	}
	str(w, nb.data, nb.len);
}

static void
write_index(struct jw *w, const struct table *t, const struct index *i)
{
	const struct ixx *x = IXX(i);

	jw_obj(w);
	if (i->name == index_default_name) {
		jw_key(w, "name");
		default_name(w, t, i);
	} else
		kstr(w, "name", i->name);
	if (x->expr == NULL) {
		jw_key(w, "columns");
		jw_arr(w);
		for (int k = 0; k < i->cols.n; k++)
			cstr(w, i->cols.v[k]);
		jw_arr_end(w);
	}
	ostr(w, "expr", x->expr);
	kbool(w, "unique", i->unique);
	ostr(w, "where", x->where);
	ostr(w, "using", x->using);
	oval(w, "order", x->order);
	oval(w, "options", x->options);
	jw_obj_end(w);
}

static void
fkey(struct jw *w, const struct fkey *f)
{
	jw_obj(w);
	ostr(w, "name", f->name);
	strv(w, "columns", &f->cols);
	ostr(w, "to_schema", f->to_schema);
	kstr(w, "to_table", f->to_table);
	strv(w, "to_columns", &f->to_cols);
	ostr(w, "on_delete", f->on_delete);
	ostr(w, "on_update", f->on_update);
	kbool(w, "validate", f->validate);
	ostr(w, "deferrable", f->deferrable);
	jw_obj_end(w);
}

static void
check(struct jw *w, const struct check *c)
{
	jw_obj(w);
	ostr(w, "name", c->name);
	kstr(w, "expr", c->expr);
	ostr(w, "column", c->column);
	kbool(w, "validate", c->validate);
	jw_obj_end(w);
}

void
record_write(struct buf *b, const struct schema *s, const struct table *t)
{
	struct jw		 w;
	const struct column	*c;
	const struct index	*i;
	const struct fkey	*f;
	const struct check	*k;

	jw_init(&w, b);
	jw_obj(&w);
	jw_key(&w, "v");
	jw_int(&w, RECORD_VERSION);
	kstr(&w, "kind", t->kind == REC_ENUM ? "enum" :
	    t->kind == REC_VIEW ? "view" : "table");
	ostr(&w, "schema", t->schema);
	kstr(&w, "name", t->name);
	if (t->kind == REC_ENUM) {
		strv(&w, "values", &t->values);
		source(&w, s, t->line);
		jw_obj_end(&w);
		buf_addc(b, '\n');
		return;
	}
	ostr(&w, "comment", t->comment);
	strv(&w, "primary_key", &t->pk);
	jw_key(&w, "columns");
	jw_arr(&w);
	STAILQ_FOREACH(c, &t->cols, link)
		column(&w, s, c);
	jw_arr_end(&w);
	jw_key(&w, "indexes");
	jw_arr(&w);
	STAILQ_FOREACH(i, &t->idx, link)
		write_index(&w, t, i);
	jw_arr_end(&w);
	jw_key(&w, "foreign_keys");
	jw_arr(&w);
	STAILQ_FOREACH(f, &t->fks, link)
		fkey(&w, f);
	jw_arr_end(&w);
	jw_key(&w, "checks");
	jw_arr(&w);
	STAILQ_FOREACH(k, &t->checks, link)
		check(&w, k);
	jw_arr_end(&w);
	if (t->kind == REC_VIEW)
		ostr(&w, "sql", t->sql);
	source(&w, s, t->line);
	jw_obj_end(&w);
	buf_addc(b, '\n');
}

int
record_flush(struct schema *s)
{
	if (s->out == NULL || s->out_errno != 0)
		return s->out_errno != 0 ? -1 : 0;
	if (s->out->len > 0 &&
	    write_all(s->out_fd, s->out->data, s->out->len) == -1)
		s->out_errno = errno;
	buf_reset(s->out);
	return s->out_errno != 0 ? -1 : 0;
}

void
record_emit(struct schema *s, struct table *t)
{
	if (s->out == NULL || t->emitted)
		return;
	record_write(s->out, s, t);
	t->emitted = 1;
	if (s->out->len >= 16 * 1024)
		(void)record_flush(s);
}
