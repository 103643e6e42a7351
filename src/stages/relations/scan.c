/*
 * scan.c: one pass over a record line that checks it is JSON as
 * json_parse() would take it (grammar, escapes, no duplicate key) and
 * picks out the facts relations needs (relations.h), with no tokens.
 * It is stricter than json.c, never looser: on anything it does not
 * handle itself (an error, an escape in a name, a value of an odd
 * type, a number glued to a letter, deep nesting, an object of many
 * keys) it returns -1 and the caller reads the line with json.c,
 * whose answer, message and all, is the one that counts.
 *
 * Duplicate keys: each object's keys are pushed on a stack as a
 * signature (length-prefixed raw bytes); an object whose signature was
 * seen before needs no comparison (typemap's columns all share one).
 * Better still, an object is expected to have the keys the last object
 * at its place had: while each key is the one expected it is compared
 * with it, not scanned, and not pushed; keys that are a prefix of a
 * checked signature are distinct.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plain.h"
#include "util.h"
#include "xalloc.h"
#include "relations.h"
#include "banned.h"

#define MAXDEPTH	64	/* json.c allows 256: deeper goes there */
#define MAXKEYS		64	/* keys compared pairwise on a miss */
#define NSIGNATURE	64	/* signatures remembered, the first ones */
#define MAXSIGLEN	4096	/* longer ones are not */

struct sc {
	const char	*p, *e;
	struct scan	*s;
};

/* checked key signatures; static: they live as long as the process,
 * and are never replaced (an open object may be comparing with one) */
static struct {
	char	*sig;
	size_t	 len;
} sigs[NSIGNATURE];
static int	 nsig;

/* places an object can be at; each expects its last signature */
enum { AT_RECORD, AT_COLUMN, AT_INDEX, AT_FK, AT_OTHER, NAT = AT_OTHER + 8 };
static int	 expect[NAT];		/* a sigs index + 1, or 0 */

struct obj {
	size_t		 mark;		/* the key stack's height at '{' */
	int		 first;
	int		 at;
	const char	*sig, *next, *end;	/* expected keys, or NULL */
};

enum { V_OBJ = 1, V_ARR, V_STR, V_NUM, V_TRUE, V_FALSE, V_NULL };

static int	value(struct sc *, int);

static inline void
skipws(struct sc *c)
{
	if (c->p < c->e && (unsigned char)*c->p > ' ')
		return;
	while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int
ishex(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	    (ch >= 'A' && ch <= 'F');
}

/* at '"': the string's raw bytes; *esc when it holds an escape */
static int
string(struct sc *c, struct span *out, int *esc)
{
	const char	*p = c->p + 1, *e = c->e;
	unsigned char	 ch;

	*esc = 0;
	for (;;) {
		/* sixteen bytes at a time to the first special one */
		p += plain_end(p, 0, (size_t)(e - p));
		if (p >= e)
			return -1;
		ch = (unsigned char)*p;
		if (ch == '"')
			break;
		if (ch < 0x20)
			return -1;
		if (ch >= 0x80) {
			size_t	 n = utf8_len(p, (size_t)(e - p));

			if (n == 0)
				return -1;	/* json.c says where */
			p += n;
			continue;
		}
		if (ch != '\\') {
			p++;
			continue;
		}
		*esc = 1;
		if (e - p < 2)
			return -1;
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			p += 2;
			break;
		case 'u':
			if (e - p < 6 || !ishex(p[2]) || !ishex(p[3]) ||
			    !ishex(p[4]) || !ishex(p[5]) ||
			    memcmp(p + 2, "0000", 4) == 0)
				return -1;
			p += 6;
			break;
		default:
			return -1;
		}
	}
	out->p = c->p + 1;
	out->len = (size_t)(p - out->p);
	c->p = p + 1;
	return 0;
}

/* after a number or a literal: only what may follow a value in json.c
 * (anything else, valid or not, is json.c's to judge) */
static int
delim(const struct sc *c)
{
	return c->p == c->e || *c->p == ',' || *c->p == '}' ||
	    *c->p == ']' || *c->p == ' ' || *c->p == '\t' || *c->p == '\r' ||
	    *c->p == '\n';
}

static int
isdig(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
number(struct sc *c)
{
	const char	*p = c->p, *e = c->e;

	if (p < e && *p == '-')
		p++;
	if (p >= e || !isdig(*p))
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < e && isdig(*p))
			p++;
	if (p < e && *p == '.') {
		if (++p >= e || !isdig(*p))
			return -1;
		while (p < e && isdig(*p))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || !isdig(*p))
			return -1;
		while (p < e && isdig(*p))
			p++;
	}
	c->p = p;
	return delim(c) ? V_NUM : -1;
}

static int
literal(struct sc *c, int type)
{
	static const char *const lit[] = { "true", "false", "null" };
	const char	*l = lit[type - V_TRUE];
	size_t		 n = type == V_FALSE ? 5 : 4;

	/* the first letter matched already */
	if ((size_t)(c->e - c->p) < n || c->p[1] != l[1] || c->p[2] != l[2] ||
	    c->p[3] != l[3] || (n == 5 && c->p[4] != l[4]))
		return -1;
	c->p += n;
	return delim(c) ? type : -1;
}

/* --- duplicate keys ---------------------------------------------------- */

static int
key_push(struct sc *c, const struct span *k)
{
	struct scan	*s = c->s;
	char		*d;
	size_t		 i;

	if (k->len > 0xffff)
		return -1;
	/* room for 8 bytes more: a short key is copied as a word or two */
	if (s->capkeys - s->nkeys < k->len + 2 + 8) {
		s->capkeys = (s->capkeys + k->len + 2 + 8) * 2;
		s->keys = xreallocarray(s->keys, 1, s->capkeys);
	}
	d = s->keys + s->nkeys;
	d[0] = (char)(k->len >> 8);
	d[1] = (char)(k->len & 0xff);
	if (k->len <= 16 && c->e - k->p >= 16) {
		memcpy(d + 2, k->p, 8);
		if (k->len > 8)
			memcpy(d + 10, k->p + 8, 8);
	} else
		for (i = 0; i < k->len; i++)
			d[2 + i] = k->p[i];
	s->nkeys += k->len + 2;
	return 0;
}

/* 0 when the keys pushed since mark are distinct; pops them; *which
 * is their signature's index + 1, or 0 when it is not kept */
static int
keys_check(struct sc *c, size_t mark, int *which)
{
	struct scan	*s = c->s;
	const char	*sig = s->keys + mark, *at[MAXKEYS];
	size_t		 len = s->nkeys - mark, off, kl[MAXKEYS];
	int		 i, a, b, n = 0;

	s->nkeys = mark;
	*which = 0;
	for (i = 0; i < nsig; i++)
		if (sigs[i].len == len && memcmp(sigs[i].sig, sig, len) == 0) {
			*which = i + 1;
			return 0;
		}
	for (off = 0; off < len; n++) {
		if (n == MAXKEYS)
			return -1;
		kl[n] = (size_t)(unsigned char)sig[off] << 8 |
		    (unsigned char)sig[off + 1];
		at[n] = sig + off + 2;
		off += kl[n] + 2;
	}
	for (b = 1; b < n; b++)
		for (a = 0; a < b; a++)
			if (kl[a] == kl[b] && memcmp(at[a], at[b], kl[a]) == 0)
				return -1;
	if (n < 2 || nsig == NSIGNATURE || len > MAXSIGLEN)
		return 0;
	i = nsig++;
	sigs[i].sig = xreallocarray(NULL, 1, len);
	memcpy(sigs[i].sig, sig, len);
	sigs[i].len = len;
	*which = i + 1;
	return 0;
}

/* n bytes alike */
static int
same(const char *a, const char *b, size_t n)
{
	uint64_t	 x, y;

	for (; n >= 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
	}
	for (; n > 0; n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

/*
 * Objects and arrays.  obj_next() and arr_next() step to the next
 * member or element: 1 with a key (objects) when there is one, 0 at
 * the closing bracket (consumed), -1 on anything else.
 */
static void
obj_open(struct sc *c, struct obj *o, int at)
{
	int	 i = expect[at];

	c->p++;
	o->mark = c->s->nkeys;
	o->first = 1;
	o->at = at;
	o->sig = o->next = o->end = NULL;
	if (i > 0) {
		o->sig = o->next = sigs[i - 1].sig;
		o->end = o->sig + sigs[i - 1].len;
	}
}

/* the expected key at '"': 1 when it is there, and read */
static int
expected(struct sc *c, struct obj *o, struct span *key)
{
	size_t	 n;

	if (o->next == NULL || o->next == o->end)
		return 0;
	n = (size_t)(unsigned char)o->next[0] << 8 |
	    (unsigned char)o->next[1];
	/* the signature's keys hold no quote, backslash or control
	 * character: the same bytes then a quote are that string */
	if ((size_t)(c->e - c->p) < n + 2 || c->p[n + 1] != '"' ||
	    !same(c->p + 1, o->next + 2, n))
		return 0;
	key->p = c->p + 1;
	key->len = n;
	c->p += n + 2;
	o->next += n + 2;
	return 1;
}

/* before a member or element: the comma unless it is the first */
static int
comma(struct sc *c, int *first)
{
	if (!*first) {
		if (*c->p != ',')
			return -1;
		c->p++;
		skipws(c);
		if (c->p >= c->e)
			return -1;
	}
	*first = 0;
	return 0;
}

static int
obj_next(struct sc *c, struct obj *o, struct span *key)
{
	struct scan	*s = c->s;
	size_t		 n;
	int		 esc, which;

	skipws(c);
	if (c->p >= c->e)
		return -1;
	if (*c->p == '}') {
		c->p++;
		if (o->next != NULL)	/* a prefix of a checked signature */
			return 0;
		if (keys_check(c, o->mark, &which) == -1)
			return -1;
		if (which > 0)
			expect[o->at] = which;
		return 0;
	}
	if (comma(c, &o->first) == -1 || *c->p != '"')
		return -1;
	if (!expected(c, o, key)) {
		if (o->next != NULL) {
			/* not as expected: the keys so far on the stack */
			n = (size_t)(o->next - o->sig);
			if (s->capkeys - s->nkeys < n + 2 + 8) {
				s->capkeys = (s->capkeys + n + 2 + 8) * 2;
				s->keys = xreallocarray(s->keys, 1,
				    s->capkeys);
			}
			memcpy(s->keys + s->nkeys, o->sig, n);
			s->nkeys += n;
			o->sig = o->next = o->end = NULL;
		}
		if (string(c, key, &esc) == -1 || esc ||
		    key_push(c, key) == -1)
			return -1;
	}
	skipws(c);
	if (c->p >= c->e || *c->p != ':')
		return -1;
	c->p++;
	skipws(c);
	return c->p < c->e ? 1 : -1;
}

static int
arr_next(struct sc *c, int *first)
{
	skipws(c);
	if (c->p >= c->e)
		return -1;
	if (*c->p == ']') {
		c->p++;
		return 0;
	}
	return comma(c, first) == -1 ? -1 : 1;
}

static int
keyis(const struct span *k, const char *s, size_t n)
{
	return k->len == n && memcmp(k->p, s, n) == 0;
}
#define KEYIS(k, lit)	keyis((k), (lit), sizeof(lit) - 1)

/* any value, checked; its type */
static int
value(struct sc *c, int depth)
{
	struct span	 k, str;
	struct obj	 o;
	int		 first, r, esc;

	if (depth > MAXDEPTH || c->p >= c->e)
		return -1;
	switch (*c->p) {
	case '{':
		obj_open(c, &o, AT_OTHER + (depth < NAT - AT_OTHER ? depth :
		    NAT - AT_OTHER - 1));
		while ((r = obj_next(c, &o, &k)) == 1)
			if (value(c, depth + 1) == -1)
				return -1;
		return r == 0 ? V_OBJ : -1;
	case '[':
		c->p++;
		first = 1;
		while ((r = arr_next(c, &first)) == 1)
			if (value(c, depth + 1) == -1)
				return -1;
		return r == 0 ? V_ARR : -1;
	case '"':
		return string(c, &str, &esc) == -1 ? -1 : V_STR;
	case 't':
		return literal(c, V_TRUE);
	case 'f':
		return literal(c, V_FALSE);
	case 'n':
		return literal(c, V_NULL);
	default:
		return number(c);
	}
}

/* a string value without escapes into *out, or out->p NULL for
 * another type; *esc when it is a string with an escape */
static int
str_value(struct sc *c, int depth, struct span *out, int *esc)
{
	*esc = 0;
	out->p = NULL;
	out->len = 0;
	if (*c->p != '"')
		return value(c, depth) == -1 ? -1 : 0;
	if (string(c, out, esc) == -1)
		return -1;
	if (*esc)
		out->p = NULL;
	return 0;
}

/* a list of column names: str[*first..*first+*n), *bad unless all are
 * strings without escapes; *n 0 when it is not an array */
static int
str_list(struct sc *c, int depth, int *at, int *n, int *bad)
{
	struct scan	*s = c->s;
	struct span	 str;
	int		 first = 1, r, esc;

	*at = s->nstr;
	*n = 0;
	*bad = 0;
	if (*c->p != '[')
		return value(c, depth) == -1 ? -1 : 0;
	c->p++;
	while ((r = arr_next(c, &first)) == 1) {
		if (str_value(c, depth + 1, &str, &esc) == -1)
			return -1;
		if (str.p == NULL)
			*bad = 1;
		else
			scan_str(c->s, str.p, str.len);
		(*n)++;
	}
	return r;
}

static int
column(struct sc *c, int depth)
{
	struct scol	*col = scan_col(c->s);
	struct span	 k;
	struct obj	 o;
	int		 r, esc, t, tsname = 0, zero = -1;

	obj_open(c, &o, AT_COLUMN);
	while ((r = obj_next(c, &o, &k)) == 1) {
		if (KEYIS(&k, "name") || KEYIS(&k, "ts_name")) {
			struct span *v = k.len == 4 ? &col->name : &col->ts;

			if (str_value(c, depth + 1, v, &esc) == -1)
				return -1;
			if (esc)
				c->s->bad = 1;
			tsname |= k.len != 4;
		} else if (KEYIS(&k, "type") || KEYIS(&k, "ts_base")) {
			if (str_value(c, depth + 1, k.len == 4 ? &col->type :
			    &col->ts_base, &esc) == -1)
				return -1;
			if (esc)
				c->s->bad = 1;	/* json.c decodes it */
		} else if (KEYIS(&k, "zero")) {
			if ((t = value(c, depth + 1)) == -1)
				return -1;
			zero = t != V_NULL;
		} else if (value(c, depth + 1) == -1)
			return -1;
	}
	col->zero = zero != -1 ? zero : !tsname;
	if (col->name.p == NULL)
		c->s->bad = 1;		/* json.c says "column without" */
	return r;
}

/* what obj_array does with an element that is not an object, besides
 * skipping it */
enum other { OTHER_SKIP, OTHER_BAD, OTHER_FK };

/*
 * An array of objects, each read by each(); an element that is not an
 * object is skipped (OTHER_BAD: and the record goes to json.c; OTHER_FK:
 * it still counts as a foreign key), and so is anything but an array.
 */
static int
obj_array(struct sc *c, int depth, int (*each)(struct sc *, int),
    enum other other)
{
	int	 first = 1, r;

	if (*c->p != '[')
		return value(c, depth) == -1 ? -1 : 0;
	c->p++;
	while ((r = arr_next(c, &first)) == 1) {
		if (*c->p == '{') {
			if (each(c, depth + 1) == -1)
				return -1;
			continue;
		}
		if (other == OTHER_BAD)
			c->s->bad = 1;
		else if (other == OTHER_FK)
			(void)scan_fk(c->s);
		if (value(c, depth + 1) == -1)
			return -1;
	}
	return r;
}

static int
columns(struct sc *c, int depth)
{
	if (*c->p != '[')
		c->s->bad = 1;
	return obj_array(c, depth, column, OTHER_BAD);
}

static int
index_obj(struct sc *c, int depth)
{
	struct scan	*s = c->s;
	struct span	 k;
	struct obj	 o;
	int		 r, t, unique = 0, where = 0, at = 0, n = 0;
	int		 bad = 0;

	obj_open(c, &o, AT_INDEX);
	while ((r = obj_next(c, &o, &k)) == 1) {
		if (KEYIS(&k, "unique")) {
			if ((t = value(c, depth + 1)) == -1)
				return -1;
			unique = t == V_TRUE;
		} else if (KEYIS(&k, "where")) {
			if ((t = value(c, depth + 1)) == -1)
				return -1;
			where = t == V_STR;
		} else if (KEYIS(&k, "columns")) {
			if (str_list(c, depth + 1, &at, &n, &bad) == -1)
				return -1;
		} else if (value(c, depth + 1) == -1)
			return -1;
	}
	if (r == 0 && unique && !where) {
		if (bad)
			s->bad = 1;	/* json.c: "expected a column name" */
		else if (n == 1)
			*scan_uniq(s) = s->str[at];
	}
	return r;
}

static int
indexes(struct sc *c, int depth)
{
	return obj_array(c, depth, index_obj, OTHER_SKIP);
}

static int
fk_obj(struct sc *c, int depth)
{
	struct sfk	*f = scan_fk(c->s);
	struct span	 k;
	struct obj	 o;
	int		 r, esc, bad;

	obj_open(c, &o, AT_FK);
	while ((r = obj_next(c, &o, &k)) == 1) {
		if (KEYIS(&k, "to_table") || KEYIS(&k, "to_schema")) {
			if (str_value(c, depth + 1, KEYIS(&k, "to_table") ?
			    &f->to : &f->tos, &esc) == -1)
				return -1;
			if (esc)
				c->s->bad = 1;
		} else if (KEYIS(&k, "columns") || KEYIS(&k, "to_columns")) {
			int	 cols = KEYIS(&k, "columns");

			if (str_list(c, depth + 1, cols ? &f->col : &f->ucol,
			    cols ? &f->ncol : &f->nucol, &bad) == -1)
				return -1;
			if (bad)
				c->s->bad = 1;
		} else if (value(c, depth + 1) == -1)
			return -1;
	}
	return r;
}

static int
foreign_keys(struct sc *c, int depth)
{
	/* an element that is no object has no to_table: never a relation */
	return obj_array(c, depth, fk_obj, OTHER_FK);
}

int
scan_record(struct scan *s, const char *line, size_t len)
{
	struct sc	 c = { line, line + len, s };
	struct span	 k;
	struct obj	 o;
	int		 r, esc, bad, v = 0, t;
	const char	*vp;

	scan_reset(s);
	skipws(&c);
	if (c.p >= c.e || *c.p != '{')
		return -1;
	obj_open(&c, &o, AT_RECORD);
	while ((r = obj_next(&c, &o, &k)) == 1) {
		if (KEYIS(&k, "v")) {
			vp = c.p;
			if ((t = value(&c, 1)) == -1)
				return -1;
			v = t == V_NUM && c.p - vp == 1 && *vp == '1';
		} else if (KEYIS(&k, "kind") || KEYIS(&k, "name") ||
		    KEYIS(&k, "schema") || KEYIS(&k, "ts_name")) {
			struct span *to = KEYIS(&k, "kind") ? &s->kind :
			    KEYIS(&k, "name") ? &s->name :
			    KEYIS(&k, "schema") ? &s->schema : &s->ts;

			if (str_value(&c, 1, to, &esc) == -1)
				return -1;
			if (esc)
				s->bad = 1;
		} else if (KEYIS(&k, "columns")) {
			if (columns(&c, 1) == -1)
				return -1;
			s->hascols = 1;
		} else if (KEYIS(&k, "primary_key")) {
			if (str_list(&c, 1, &s->pk, &s->npk, &bad) == -1)
				return -1;
			if (bad)
				s->bad = 1;
		} else if (KEYIS(&k, "indexes")) {
			if (indexes(&c, 1) == -1)
				return -1;
		} else if (KEYIS(&k, "foreign_keys")) {
			if (foreign_keys(&c, 1) == -1)
				return -1;
		} else if (KEYIS(&k, "relations") ||
		    KEYIS(&k, "polymorphic")) {
			s->bad = 1;	/* main's slow path says why */
			if (value(&c, 1) == -1)
				return -1;
		} else if (value(&c, 1) == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	s->end = (size_t)(c.p - 1 - line);
	skipws(&c);
	if (c.p != c.e || !v || s->kind.p == NULL)
		return -1;
	if (KEYIS(&s->kind, "table") || KEYIS(&s->kind, "view")) {
		if (s->bad || !s->hascols || s->name.p == NULL)
			return -1;
	}
	return 0;
}

/* --- the facts' arrays ------------------------------------------------- */

void
scan_reset(struct scan *s)
{
	memset(&s->kind, 0, sizeof(s->kind));
	s->name = s->schema = s->ts = s->kind;
	s->end = 0;
	s->ncol = s->nstr = s->npk = s->pk = s->nuniq = s->nfk = 0;
	s->hascols = s->bad = 0;
	s->nkeys = 0;
}

/* v with room for element n: its capacity doubled, from min */
static void *
grow(void *v, int n, int *cap, int min, size_t size)
{
	if (n == *cap) {
		*cap = *cap < min ? min : *cap * 2;
		v = xreallocarray(v, (size_t)*cap, size);
	}
	return v;
}

int
scan_str(struct scan *s, const char *p, size_t len)
{
	s->str = grow(s->str, s->nstr, &s->capstr, 64, sizeof(*s->str));
	s->str[s->nstr].p = p;
	s->str[s->nstr].len = len;
	return s->nstr++;
}

struct scol *
scan_col(struct scan *s)
{
	s->col = grow(s->col, s->ncol, &s->capcol, 64, sizeof(*s->col));
	memset(&s->col[s->ncol], 0, sizeof(*s->col));
	return &s->col[s->ncol++];
}

struct span *
scan_uniq(struct scan *s)
{
	s->uniq = grow(s->uniq, s->nuniq, &s->capuniq, 16, sizeof(*s->uniq));
	return &s->uniq[s->nuniq++];
}

struct sfk *
scan_fk(struct scan *s)
{
	s->fk = grow(s->fk, s->nfk, &s->capfk, 16, sizeof(*s->fk));
	memset(&s->fk[s->nfk], 0, sizeof(*s->fk));
	return &s->fk[s->nfk++];
}
