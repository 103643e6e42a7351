/*
 * json.c: validating JSON reader (grammar check + jsmn tokens) and
 * writer; see json.h.  Holds jsmn's code (JSMN_HEADER unset here only).
 */
#define JSON_IMPL
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "json.h"
#include "plain.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define JSON_MAXDEPTH	256

struct vstate {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	const char	*msg;
	size_t		 errpos;
};

static void
offset_pos(const char *text, size_t off, int line0, int *line, int *col)
{
	size_t	 i;
	int	 l = line0, c = 1;

	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80)
			c++;
	}
	*line = l;
	*col = c;
}

static int
vfail(struct vstate *v, size_t pos, const char *msg)
{
	if (v->msg == NULL) {
		v->msg = msg;
		v->errpos = pos;
	}
	return -1;
}

/* the position of the first byte from pos on that is not white space */
static inline size_t
skipws(const char *s, size_t len, size_t pos)
{
	if (pos < len && (unsigned char)s[pos] > ' ')
		return pos;		/* records have no white space */
	while (pos < len && (s[pos] == ' ' || s[pos] == '\t' ||
	    s[pos] == '\n' || s[pos] == '\r'))
		pos++;
	return pos;
}

static void
vskipws(struct vstate *v)
{
	v->pos = skipws(v->s, v->len, v->pos);
}

static int
ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static unsigned
hex4(const char *p)
{
	unsigned v = 0;
	int	 i;

	for (i = 0; i < 4; i++) {
		int c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else
			v |= (unsigned)(c - 'A' + 10);
	}
	return v;
}

/*
 * The length of the \u escape at p (p at the backslash, its 4 digits
 * checked, e the end): 6 when it stands alone, 12 with the low
 * surrogate that follows a high one, 0 for a surrogate that is not half
 * of a pair (not UTF-8)
 */
static inline __attribute__((__always_inline__)) size_t
u_escape(const char *p, const char *e)
{
	unsigned u = hex4(p + 2), lo;

	if (u < 0xd800 || u > 0xdfff)
		return 6;
	if (u > 0xdbff || e - p < 12 || p[6] != '\\' || p[7] != 'u' ||
	    !ishex(p[8]) || !ishex(p[9]) || !ishex(p[10]) || !ishex(p[11]))
		return 0;
	lo = hex4(p + 8);
	return lo >= 0xdc00 && lo <= 0xdfff ? 12 : 0;
}

static int
vstring(struct vstate *v)
{
	size_t	 start = v->pos, n;
	int	 i;

	v->pos++;		/* opening quote */
	for (;;) {
		unsigned char c;

		if (v->pos >= v->len)
			return vfail(v, start, "unterminated string");
		c = (unsigned char)v->s[v->pos];
		if (c == '"') {
			v->pos++;
			return 0;
		}
		if (c < 0x20)
			return vfail(v, v->pos, c == '\n' ?
			    "unterminated string" :
			    "control character in string");
		if (c >= 0x80) {
			if ((n = utf8_len(v->s + v->pos, v->len -
			    v->pos)) == 0)
				return vfail(v, v->pos, "invalid UTF-8 in "
				    "string");
			v->pos += n;
			continue;
		}
		if (c != '\\') {
			v->pos++;
			continue;
		}
		if (v->pos + 1 >= v->len)
			return vfail(v, start, "unterminated string");
		switch (v->s[v->pos + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			v->pos += 2;
			break;
		case 'u':
			for (i = 0; i < 4; i++)
				if (v->pos + 2 + i >= v->len ||
				    !ishex(v->s[v->pos + 2 + i]))
					return vfail(v, v->pos,
					    "invalid \\u escape");
			if (strncmp(v->s + v->pos + 2, "0000", 4) == 0)
				return vfail(v, v->pos,
				    "NUL character (\\u0000) not allowed");
			if ((n = u_escape(v->s + v->pos, v->s + v->len)) == 0)
				return vfail(v, v->pos, "a \\u escape of a "
				    "surrogate that is not half of a pair: "
				    "not UTF-8");
			v->pos += n;
			break;
		default:
			return vfail(v, v->pos, "invalid escape in string");
		}
	}
}

static int
isdigitc(int c)
{
	return c >= '0' && c <= '9';
}

static int
vnumber(struct vstate *v)
{
	size_t	 start = v->pos;
	const char *s = v->s;

	if (v->pos < v->len && s[v->pos] == '-')
		v->pos++;
	if (v->pos >= v->len || !isdigitc(s[v->pos]))
		return vfail(v, start, "invalid number");
	if (s[v->pos] == '0')
		v->pos++;
	else
		while (v->pos < v->len && isdigitc(s[v->pos]))
			v->pos++;
	if (v->pos < v->len && s[v->pos] == '.') {
		v->pos++;
		if (v->pos >= v->len || !isdigitc(s[v->pos]))
			return vfail(v, start, "invalid number");
		while (v->pos < v->len && isdigitc(s[v->pos]))
			v->pos++;
	}
	if (v->pos < v->len && (s[v->pos] == 'e' || s[v->pos] == 'E')) {
		v->pos++;
		if (v->pos < v->len && (s[v->pos] == '+' || s[v->pos] == '-'))
			v->pos++;
		if (v->pos >= v->len || !isdigitc(s[v->pos]))
			return vfail(v, start, "invalid number");
		while (v->pos < v->len && isdigitc(s[v->pos]))
			v->pos++;
	}
	if (v->pos < v->len && (isalnum((unsigned char)s[v->pos]) ||
	    s[v->pos] == '.' || s[v->pos] == '_'))
		return vfail(v, start, "invalid number");
	return 0;
}

static int
vliteral(struct vstate *v, const char *lit)
{
	size_t	 n = strlen(lit), start = v->pos;

	if (v->len - v->pos < n || memcmp(v->s + v->pos, lit, n) != 0)
		return vfail(v, start, "expected a JSON value");
	v->pos += n;
	if (v->pos < v->len && isalnum((unsigned char)v->s[v->pos]))
		return vfail(v, start, "expected a JSON value");
	return 0;
}

static int	vvalue(struct vstate *, int);

static int
vobject(struct vstate *v, int depth)
{
	v->pos++;
	vskipws(v);
	if (v->pos < v->len && v->s[v->pos] == '}') {
		v->pos++;
		return 0;
	}
	for (;;) {
		vskipws(v);
		if (v->pos >= v->len)
			return vfail(v, v->pos, "unexpected end of input, "
			    "expected '}'");
		if (v->s[v->pos] != '"')
			return vfail(v, v->pos, "expected a string key");
		if (vstring(v) == -1)
			return -1;
		vskipws(v);
		if (v->pos >= v->len || v->s[v->pos] != ':')
			return vfail(v, v->pos, "expected ':' after key");
		v->pos++;
		if (vvalue(v, depth + 1) == -1)
			return -1;
		vskipws(v);
		if (v->pos < v->len && v->s[v->pos] == ',') {
			v->pos++;
			vskipws(v);
			if (v->pos < v->len && v->s[v->pos] == '}')
				return vfail(v, v->pos, "trailing comma "
				    "before '}'");
			continue;
		}
		if (v->pos < v->len && v->s[v->pos] == '}') {
			v->pos++;
			return 0;
		}
		return vfail(v, v->pos, v->pos >= v->len ?
		    "unexpected end of input, expected '}'" :
		    "expected ',' or '}'");
	}
}

static int
varray(struct vstate *v, int depth)
{
	v->pos++;
	vskipws(v);
	if (v->pos < v->len && v->s[v->pos] == ']') {
		v->pos++;
		return 0;
	}
	for (;;) {
		if (vvalue(v, depth + 1) == -1)
			return -1;
		vskipws(v);
		if (v->pos < v->len && v->s[v->pos] == ',') {
			v->pos++;
			vskipws(v);
			if (v->pos < v->len && v->s[v->pos] == ']')
				return vfail(v, v->pos, "trailing comma "
				    "before ']'");
			continue;
		}
		if (v->pos < v->len && v->s[v->pos] == ']') {
			v->pos++;
			return 0;
		}
		return vfail(v, v->pos, v->pos >= v->len ?
		    "unexpected end of input, expected ']'" :
		    "expected ',' or ']'");
	}
}

static int
vvalue(struct vstate *v, int depth)
{
	if (depth > JSON_MAXDEPTH)
		return vfail(v, v->pos, "nested too deeply");
	vskipws(v);
	if (v->pos >= v->len)
		return vfail(v, v->pos, "unexpected end of input, "
		    "expected a JSON value");
	switch (v->s[v->pos]) {
	case '{':
		return vobject(v, depth);
	case '[':
		return varray(v, depth);
	case '"':
		return vstring(v);
	case 't':
		return vliteral(v, "true");
	case 'f':
		return vliteral(v, "false");
	case 'n':
		return vliteral(v, "null");
	default:
		if (v->s[v->pos] == '-' || isdigitc(v->s[v->pos]))
			return vnumber(v);
		return vfail(v, v->pos, "expected a JSON value");
	}
}

static int
fill_next(struct json *j, int t)
{
	int	 i = t + 1, n;

	for (n = 0; n < j->tok[t].size; n++)
		i = fill_next(j, i);
	j->next[t] = i;
	return i;
}

static int
keycmp(const void *a, const void *b, void *arg)
{
	const struct json *j = arg;
	const jsmntok_t *ta = &j->tok[*(const int *)a];
	const jsmntok_t *tb = &j->tok[*(const int *)b];
	int	 la = ta->end - ta->start, lb = tb->end - tb->start, r;

	r = memcmp(j->text + ta->start, j->text + tb->start,
	    (size_t)(la < lb ? la : lb));
	if (r != 0)
		return r;
	if (la != lb)
		return la < lb ? -1 : 1;
	return *(const int *)a < *(const int *)b ? -1 : 1;
}

static int
samekey(const struct json *j, int a, int b)
{
	const jsmntok_t *ta = &j->tok[a], *tb = &j->tok[b];

	return ta->end - ta->start == tb->end - tb->start &&
	    memcmp(j->text + ta->start, j->text + tb->start,
	    (size_t)(ta->end - ta->start)) == 0;
}

/* Returns the second occurrence of the earliest duplicate key, or -1. */
static int
find_dupkey(struct json *j, int obj, int *first)
{
	int	 keys[48], *kv = keys, n = 0, k, v, i, best = -1;

	if (j->tok[obj].size < 2)
		return -1;
	if (j->tok[obj].size > 48)
		kv = xreallocarray(NULL, (size_t)j->tok[obj].size, sizeof(int));
	JSON_FOREACH_MEMBER(j, obj, k, v)
		kv[n++] = k;
	(void)v;
	if (n <= 48) {
		/* a small open-addressed table, keys in order: the first
		 * key found already there is the earliest duplicate */
		int	 slot[128], b;

		memset(slot, -1, sizeof(slot));
		for (b = 0; b < n && best == -1; b++) {
			const jsmntok_t *t = &j->tok[kv[b]];
			const unsigned char *p = (const unsigned char *)j->text +
			    t->start;
			unsigned kn = (unsigned)(t->end - t->start), h = kn;

			if (kn > 0)	/* length and the ends tell most apart */
				h = kn * 61 + p[0] * 7 + p[kn - 1] * 3 +
				    p[kn / 2];
			for (h &= 127; slot[h] != -1; h = (h + 1) & 127)
				if (samekey(j, slot[h], kv[b])) {
					best = kv[b];
					*first = slot[h];
					break;
				}
			slot[h] = kv[b];
		}
	} else {
		qsort_r(kv, (size_t)n, sizeof(int), keycmp, j);
		for (i = 1; i < n; i++)
			if (samekey(j, kv[i - 1], kv[i]) &&
			    (best == -1 || kv[i] < best)) {
				best = kv[i];
				*first = kv[i - 1];
			}
	}
	if (kv != keys)
		free(kv);
	return best;
}

/*
 * The fast path: one pass that checks the grammar exactly as the
 * validator above does and writes jsmn's tokens (type, start, end,
 * size; a key has size 1) and the
 * next[] links as it goes.  It only says yes or no: on no, the
 * validator runs to find the message, so both agree on every error.
 * test/unit/t-json checks the tokens against jsmn_parse and the verdict
 * against the validator on generated and mutated documents.
 */
struct fstate {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	struct json	*j;
	int		 big;	/* an object of more keys than fvalue checks */
};

/*
 * Duplicate keys, found as an object is parsed: its first FKEYS keys,
 * hashed by their first eight bytes and length (the same are compared
 * whole).  A duplicate fails the fast path (the slow one then names
 * it); an object with more keys leaves them all to find_dupkey.
 */
#define FKEYS	16

static inline uint64_t
key_sig(const struct fstate *f, const jsmntok_t *k)
{
	size_t	 n = (size_t)(k->end - k->start);
	uint64_t w = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if ((size_t)k->start + 8 <= f->len) {
		memcpy(&w, f->s + k->start, 8);
		if (n < 8)	/* the key's bytes only ("" has none) */
			w &= n == 0 ? 0 : ~0ULL >> (8 * (8 - n));
	} else
#endif
		memcpy(&w, f->s + k->start, n < 8 ? n : 8);
	return w ^ ((uint64_t)n << 59);
}

static int
dup_among(const struct fstate *f, const int *key, const uint64_t *sig,
    int n)
{
	const jsmntok_t *tok = f->j->tok;
	unsigned char	 slot[2 * FKEYS];	/* key + 1, 0: free */
	unsigned	 h;
	int		 a, b;

	memset(slot, 0, sizeof(slot));
	for (a = 0; a < n; a++) {
		h = (unsigned)((sig[a] * 0x9e3779b97f4a7c15ULL) >> 59);
		for (; slot[h] != 0; h = (h + 1) % (2 * FKEYS)) {
			b = slot[h] - 1;
			if (sig[a] == sig[b] && tok[key[a]].end -
			    tok[key[a]].start == tok[key[b]].end -
			    tok[key[b]].start && memcmp(f->s +
			    tok[key[a]].start, f->s + tok[key[b]].start,
			    (size_t)(tok[key[a]].end - tok[key[a]].start)) == 0)
				return 1;
		}
		slot[h] = (unsigned char)(a + 1);
	}
	return 0;
}

/* a token (its end known, or -1 for a container until it closes);
   next[t] says t + 1 until a container's closing sets it */
static inline __attribute__((__always_inline__)) int
fnewtok(struct fstate *f, jsmntype_t type, size_t start, int end)
{
	struct json *j = f->j;
	int	 t;

	if (j->ntok == j->cap) {
		j->cap = j->cap < 64 ? 64 : j->cap * 2;
		j->tok = xreallocarray(j->tok, (size_t)j->cap,
		    sizeof(jsmntok_t));
		j->next = xreallocarray(j->next, (size_t)j->cap + 1,
		    sizeof(int));
	}
	t = j->ntok++;
	j->tok[t] = (jsmntok_t){ .type = type, .start = (int)start,
	    .end = end, .size = 0 };
	j->next[t] = t + 1;
	return t;
}

static inline __attribute__((__always_inline__)) void
fskipws(struct fstate *f)
{
	f->pos = skipws(f->s, f->len, f->pos);
}

static inline __attribute__((__always_inline__)) int
fstring(struct fstate *f)
{
	const char *s = f->s;
	size_t	 pos = f->pos + 1, len = f->len;
	int	 t;

	for (;;) {
		unsigned char c;

		pos = plain_end(s, pos, len);
		if (pos >= len)
			return -1;
		c = (unsigned char)s[pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c >= 0x80) {
			size_t	 n = utf8_len(s + pos, len - pos);

			if (n == 0)
				return -1;
			pos += n;
			continue;
		}
		/* else a backslash: plain_end stops at nothing else */
		if (pos + 1 >= len)
			return -1;
		switch (s[pos + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			pos += 2;
			break;
		case 'u':
			if (pos + 6 > len || !ishex(s[pos + 2]) ||
			    !ishex(s[pos + 3]) || !ishex(s[pos + 4]) ||
			    !ishex(s[pos + 5]) || memcmp(s + pos + 2, "0000",
			    4) == 0)
				return -1;
			{
				size_t	 n = u_escape(s + pos, s + len);

				if (n == 0)
					return -1;
				pos += n;
			}
			break;
		default:
			return -1;
		}
	}
	t = fnewtok(f, JSMN_STRING, f->pos + 1, (int)pos);
	f->pos = pos + 1;
	return t;
}

/* the end of the number at pos, as vnumber reads it; 0 if none */
static inline __attribute__((__always_inline__)) size_t
fnumber(const char *s, size_t pos, size_t len)
{
	if (pos < len && s[pos] == '-')
		pos++;
	if (pos >= len || !isdigitc(s[pos]))
		return 0;
	if (s[pos] == '0')
		pos++;
	else
		while (pos < len && isdigitc(s[pos]))
			pos++;
	if (pos < len && s[pos] == '.') {
		pos++;
		if (pos >= len || !isdigitc(s[pos]))
			return 0;
		while (pos < len && isdigitc(s[pos]))
			pos++;
	}
	if (pos < len && (s[pos] == 'e' || s[pos] == 'E')) {
		pos++;
		if (pos < len && (s[pos] == '+' || s[pos] == '-'))
			pos++;
		if (pos >= len || !isdigitc(s[pos]))
			return 0;
		while (pos < len && isdigitc(s[pos]))
			pos++;
	}
	if (pos < len && (isalnum((unsigned char)s[pos]) || s[pos] == '.' ||
	    s[pos] == '_'))
		return 0;
	return pos;
}

/* true, false, null or a number, as vliteral and vnumber take them */
static inline __attribute__((__always_inline__)) int
fprimitive(struct fstate *f)
{
	const char *s = f->s;
	size_t	 pos = f->pos, len = f->len, end;

	switch (s[pos]) {
	case 't':
		if (len - pos < 4 || memcmp(s + pos, "true", 4) != 0)
			return -1;
		end = pos + 4;
		break;
	case 'f':
		if (len - pos < 5 || memcmp(s + pos, "false", 5) != 0)
			return -1;
		end = pos + 5;
		break;
	case 'n':
		if (len - pos < 4 || memcmp(s + pos, "null", 4) != 0)
			return -1;
		end = pos + 4;
		break;
	default:
		if ((end = fnumber(s, pos, len)) == 0)
			return -1;
		goto number;
	}
	if (end < len && isalnum((unsigned char)s[end]))
		return -1;
number:
	(void)fnewtok(f, JSMN_PRIMITIVE, pos, (int)end);
	f->pos = end;
	return 0;
}

/* after a member or element: 1 when a comma says more come, 0 at the
 * closing bracket (not consumed), -1 otherwise (a trailing comma too) */
static inline __attribute__((__always_inline__)) int
fsep(struct fstate *f, char close)
{
	const char *s = f->s;
	size_t	 pos = f->pos, len = f->len;

	/* records have no white space: the test is the common path */
	if (pos < len && s[pos] == ',' && pos + 1 < len &&
	    (unsigned char)s[pos + 1] > ' ') {
		f->pos = pos + 1;
		return s[pos + 1] == close ? -1 : 1;
	}
	fskipws(f);
	if (f->pos < f->len && f->s[f->pos] == ',') {
		f->pos++;
		fskipws(f);
		return f->pos < f->len && f->s[f->pos] == close ? -1 : 1;
	}
	return f->pos < f->len && f->s[f->pos] == close ? 0 : -1;
}

/* the token of an object or array opened here; 1 when it is empty */
static inline __attribute__((__always_inline__)) int
fopen_brace(struct fstate *f, jsmntype_t type, char close,
    int *t)
{
	*t = fnewtok(f, type, f->pos, -1);
	f->pos++;
	fskipws(f);
	return f->pos < f->len && f->s[f->pos] == close;
}

/* a container's closing bracket at f->pos */
static inline __attribute__((__always_inline__)) void
fclose_brace(struct fstate *f, int t)
{
	f->pos++;
	f->j->tok[t].end = (int)f->pos;
	f->j->next[t] = f->j->ntok;
}

static int	fobject(struct fstate *, int);
static int	farray(struct fstate *, int);

/*
 * A value at depth (0 for the document; the limit counts scalars too,
 * as vvalue does): scalars here, in the caller's loop, containers by
 * a call, each with a frame of its own size.
 */
static inline __attribute__((__always_inline__)) int
fvalue(struct fstate *f, int depth)
{
	if (depth > JSON_MAXDEPTH)
		return -1;
	fskipws(f);
	if (f->pos >= f->len)
		return -1;
	switch (f->s[f->pos]) {
	case '"':
		return fstring(f) == -1 ? -1 : 0;
	case '{':
		return fobject(f, depth);
	case '[':
		return farray(f, depth);
	default:
		return fprimitive(f);
	}
}

static int
fobject(struct fstate *f, int depth)
{
	struct json *j = f->j;
	int	 t, k, more, nk = 0, key[FKEYS];
	uint64_t sig[FKEYS];

	if (fopen_brace(f, JSMN_OBJECT, '}', &t)) {
		fclose_brace(f, t);
		return 0;
	}
	for (;;) {
		fskipws(f);
		if (f->pos >= f->len || f->s[f->pos] != '"' ||
		    (k = fstring(f)) == -1)
			return -1;
		if (nk < FKEYS) {
			key[nk] = k;
			sig[nk++] = key_sig(f, &j->tok[k]);
		} else
			f->big = 1;
		j->tok[t].size++;
		j->tok[k].size = 1;
		if (f->pos < f->len && f->s[f->pos] == ':')
			f->pos++;	/* the usual case */
		else {
			fskipws(f);
			if (f->pos >= f->len || f->s[f->pos] != ':')
				return -1;
			f->pos++;
		}
		if (fvalue(f, depth + 1) == -1)
			return -1;
		j->next[k] = j->ntok;
		if ((more = fsep(f, '}')) != 1)
			break;
	}
	if (more == -1 || (nk > 1 && dup_among(f, key, sig, nk)))
		return -1;
	fclose_brace(f, t);
	return 0;
}

static int
farray(struct fstate *f, int depth)
{
	struct json *j = f->j;
	int	 t, more;

	if (fopen_brace(f, JSMN_ARRAY, ']', &t)) {
		fclose_brace(f, t);
		return 0;
	}
	for (;;) {
		if (fvalue(f, depth + 1) == -1)
			return -1;
		j->tok[t].size++;
		if ((more = fsep(f, ']')) != 1)
			break;
	}
	if (more == -1)
		return -1;
	fclose_brace(f, t);
	return 0;
}

/* 0 and the tokens of a valid document with no duplicate key, 1 if
 * find_dupkey must still look, -1 otherwise (nothing kept) */
static int
fparse(struct json *j)
{
	struct fstate f = { j->text, j->len, 0, j, 0 };

	if (j->len >= INT_MAX / 2)
		return -1;
	j->cap = (int)(j->len / 8) + 16;
	j->tok = xreallocarray(NULL, (size_t)j->cap, sizeof(jsmntok_t));
	j->next = xreallocarray(NULL, (size_t)j->cap + 1, sizeof(int));
	if (fvalue(&f, 0) == 0) {
		fskipws(&f);
		if (f.pos == f.len)
			return f.big;
	}
	json_free(j);
	return -1;
}

int
json_parse(struct json *j, const char *name, const char *text, size_t len,
    int line0)
{
	struct vstate	 v = { text, len, 0, NULL, 0 };
	jsmn_parser	 p;
	int		 r, t, line, col;

	memset(j, 0, sizeof(*j));
	j->name = name;
	j->text = text;
	j->len = len;
	j->line0 = line0;
	/* an editor's, which "expected a JSON value" would not explain */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		snprintf(j->err, sizeof(j->err), "%s:%d:1: a byte order mark "
		    "(U+FEFF) starts the text: JSON has none; save it without",
		    name, line0 > 0 ? line0 : 1);
		return -1;
	}
	if ((r = fparse(j)) == 0)
		return 0;
	if (r == 1)
		goto dupkeys;
	if (vvalue(&v, 0) == 0) {
		vskipws(&v);
		if (v.pos < len)
			vfail(&v, v.pos, "unexpected text after the JSON value");
	}
	if (v.msg != NULL) {
		offset_pos(text, v.errpos, line0, &line, &col);
		snprintf(j->err, sizeof(j->err), "%s:%d:%d: %s", name, line,
		    col, v.msg);
		return -1;
	}
	j->cap = len / 8 + 16;
	for (;;) {
		j->tok = xreallocarray(j->tok, (size_t)j->cap,
		    sizeof(jsmntok_t));
		jsmn_init(&p);
		r = jsmn_parse(&p, text, len, j->tok, (unsigned)j->cap);
		if (r != JSMN_ERROR_NOMEM)
			break;
		j->cap *= 2;
	}
	if (r < 0) {		/* the validator should have caught it */
		offset_pos(text, p.pos, line0, &line, &col);
		snprintf(j->err, sizeof(j->err), "%s:%d:%d: malformed JSON",
		    name, line, col);
		json_free(j);
		return -1;
	}
	/* here for a duplicate key the fast path found (the validator
	 * does not look), or if the two ever disagree */
	j->ntok = r;
	j->next = xreallocarray(NULL, (size_t)r + 1, sizeof(int));
	fill_next(j, 0);
dupkeys:
	for (t = 0; t < j->ntok; t++) {
		int dup, first = -1;

		if (j->tok[t].type != JSMN_OBJECT)
			continue;
		if ((dup = find_dupkey(j, t, &first)) != -1) {
			int fl, fc;

			json_pos(j, first, &fl, &fc);
			json_pos(j, dup, &line, &col);
			snprintf(j->err, sizeof(j->err),
			    "%s:%d:%d: duplicate key '%.*s' (first at %d:%d)",
			    name, line, col,
			    j->tok[dup].end - j->tok[dup].start,
			    text + j->tok[dup].start, fl, fc);
			json_free(j);
			return -1;
		}
	}
	return 0;
}

/*
 * json_keep: the subtree at old index r copied down to *w (never past r,
 * so copying in place is safe: each token's old fields are read before
 * anything is written at its index).  Returns the old index after it.
 */
static int
keep_copy(struct json *j, int r, int *w,
    int (*keep)(void *, const char *, size_t), void *arg)
{
	jsmntok_t	 t = j->tok[r];
	int		 me = (*w)++, after = j->next[r], k, n = 0;

	j->tok[me] = t;
	if (t.type == JSMN_OBJECT) {
		for (k = r + 1; k < after; ) {
			int	 kafter = j->next[k];

			if (keep(arg, j->text + j->tok[k].start,
			    (size_t)(j->tok[k].end - j->tok[k].start))) {
				int kw = (*w)++;

				j->tok[kw] = j->tok[k];
				(void)keep_copy(j, k + 1, w, keep, arg);
				j->next[kw] = *w;
				n++;
			}
			k = kafter;
		}
		j->tok[me].size = n;
	} else if (t.type == JSMN_ARRAY)
		for (k = r + 1; k < after; )
			k = keep_copy(j, k, w, keep, arg);
	j->next[me] = *w;
	return after;
}

void
json_keep(struct json *j, int (*keep)(void *, const char *, size_t),
    void *arg)
{
	int	 w = 0;

	if (j->ntok == 0)
		return;
	(void)keep_copy(j, 0, &w, keep, arg);
	j->ntok = w;
	j->cap = w;
	j->tok = xreallocarray(j->tok, (size_t)w, sizeof(jsmntok_t));
	j->next = xreallocarray(j->next, (size_t)w + 1, sizeof(int));
}

void
json_free(struct json *j)
{
	free(j->tok);
	free(j->next);
	j->tok = NULL;
	j->next = NULL;
	j->ntok = 0;
}

enum json_type
json_type(const struct json *j, int t)
{
	if (t < 0 || t >= j->ntok)
		return JSON_NONE;
	switch (j->tok[t].type) {
	case JSMN_OBJECT:
		return JSON_OBJECT;
	case JSMN_ARRAY:
		return JSON_ARRAY;
	case JSMN_STRING:
		return JSON_STRING;
	case JSMN_PRIMITIVE:
		switch (j->text[j->tok[t].start]) {
		case 't':
			return JSON_TRUE;
		case 'f':
			return JSON_FALSE;
		case 'n':
			return JSON_NULL;
		default:
			return JSON_NUMBER;
		}
	default:
		return JSON_NONE;
	}
}

const char *
json_typename(enum json_type t)
{
	switch (t) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_NUMBER:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	default:
		return "nothing";
	}
}

int
json_next(const struct json *j, int t)
{
	return j->next[t];
}

static int
raw_has_escape(const struct json *j, int t)
{
	return memchr(j->text + j->tok[t].start, '\\',
	    (size_t)(j->tok[t].end - j->tok[t].start)) != NULL;
}

/*
 * Is string token t the n bytes s (slash: s holds a backslash)?  An
 * escape makes the text longer than what it stands for, so text of the
 * same length is equal only byte for byte (and only if s has no
 * backslash, which the text would spell as two), shorter text never is,
 * and only longer text with an escape is decoded to compare.
 */
static int
str_is(const struct json *j, int t, const char *s, size_t n, int slash)
{
	struct buf b = { 0 };
	size_t	 raw;
	int	 r;

	if (j->tok[t].type != JSMN_STRING)
		return 0;
	raw = (size_t)(j->tok[t].end - j->tok[t].start);
	if (raw == n)
		return !slash && memcmp(j->text + j->tok[t].start, s, n) == 0;
	/* longer raw text can only match through an escape, which the
	 * first byte shows unless it is the first character itself */
	if (raw < n || (n > 0 && j->text[j->tok[t].start] != '\\' &&
	    j->text[j->tok[t].start] != s[0]) || !raw_has_escape(j, t))
		return 0;
	json_str_buf(j, t, &b);
	r = b.len == n && memcmp(b.data, s, n) == 0;
	buf_free(&b);
	return r;
}

int
json_eq(const struct json *j, int t, const char *s)
{
	size_t	 n = strlen(s);

	return str_is(j, t, s, n, memchr(s, '\\', n) != NULL);
}

static int	get_key(const struct json *, int, const char *, size_t, int);

int
json_get_slash(const struct json *j, int obj, const char *key, size_t n)
{
	return get_key(j, obj, key, n, 1);
}

int
json_get_n(const struct json *j, int obj, const char *key, size_t n)
{
	return get_key(j, obj, key, n, 0);
}

static int
get_key(const struct json *j, int obj, const char *key, size_t n, int slash)
{
	int	 k, v;

	if (json_type(j, obj) != JSON_OBJECT)
		return -1;
	JSON_FOREACH_MEMBER(j, obj, k, v) {
		const jsmntok_t *t = &j->tok[k];
		size_t	 raw = (size_t)(t->end - t->start);

		/* the usual case inline: same length, same bytes */
		if (raw == n) {
			if (!slash && (n == 0 || (j->text[t->start] == key[0] &&
			    memcmp(j->text + t->start, key, n) == 0)))
				return v;
		} else if (raw > n && (n == 0 || j->text[t->start] == '\\' ||
		    j->text[t->start] == key[0]) && str_is(j, k, key, n, slash))
			return v;
	}
	return -1;
}

/* cp as UTF-8 at w; returns the end */
static char *
put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80)
		*w++ = (char)cp;
	else if (cp < 0x800) {
		*w++ = (char)(0xc0 | (cp >> 6));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | (cp >> 12));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | (cp >> 18));
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/*
 * The escaped string text [p, e) decoded to w; returns the end.  The
 * result is never longer than the text (every escape is longer than
 * what it stands for: six bytes for at most three, twelve for four),
 * so w may be p itself.
 */
static char *
unescape(const char *p, const char *e, char *w)
{
	while (p < e) {
		const char *q = memchr(p, '\\', (size_t)(e - p));

		if (q == NULL)
			q = e;
		if (w != p)
			memmove(w, p, (size_t)(q - p));
		w += q - p;
		if (q >= e)
			break;
		p = q + 2;
		switch (q[1]) {
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp = hex4(q + 2);

			p = q + 6;
			if (cp >= 0xd800 && cp < 0xdc00 && e - p >= 6 &&
			    p[0] == '\\' && p[1] == 'u') {
				unsigned lo = hex4(p + 2);

				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			w = put_utf8(w, cp);
			break;
		}
		default:
			*w++ = q[1];
		}
	}
	return w;
}

void
json_str_buf(const struct json *j, int t, struct buf *b)
{
	const char *p = j->text + j->tok[t].start;
	const char *e = j->text + j->tok[t].end;

	if (j->tok[t].type != JSMN_STRING) {
		buf_add(b, p, (size_t)(e - p));
		return;
	}
	buf_grow(b, (size_t)(e - p));
	b->len = (size_t)(unescape(p, e, b->data + b->len) - b->data);
	buf_cstr(b);
}

const char *
json_str_inplace(struct json *j, int t, size_t *len)
{
	char	*p = (char *)(uintptr_t)(j->text + j->tok[t].start);
	const char *e = j->text + j->tok[t].end;

	*len = j->tok[t].type != JSMN_STRING ? (size_t)(e - p) :
	    (size_t)(unescape(p, e, p) - p);
	return p;
}

char *
json_str(const struct json *j, int t)
{
	struct buf b = { 0 };

	json_str_buf(j, t, &b);
	return buf_steal(&b);
}

int
json_int(const struct json *j, int t, long long *out)
{
	char	 tmp[32], *end;
	int	 n;
	long long v;

	if (json_type(j, t) != JSON_NUMBER)
		return -1;
	n = j->tok[t].end - j->tok[t].start;
	if (n <= 0 || n >= (int)sizeof(tmp))
		return -1;
	memcpy(tmp, j->text + j->tok[t].start, (size_t)n);
	tmp[n] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
json_num(const struct json *j, int t, double *out)
{
	char	 tmp[64], *end;
	int	 n;

	if (json_type(j, t) != JSON_NUMBER)
		return -1;
	n = j->tok[t].end - j->tok[t].start;
	if (n <= 0 || n >= (int)sizeof(tmp))
		return -1;
	memcpy(tmp, j->text + j->tok[t].start, (size_t)n);
	tmp[n] = '\0';
	*out = strtod(tmp, &end);
	return *end == '\0' && isfinite(*out) ? 0 : -1;
}

void
json_pos(const struct json *j, int t, int *line, int *col)
{
	size_t	 off = 0;

	if (t >= 0 && t < j->ntok) {
		off = (size_t)j->tok[t].start;
		if (j->tok[t].type == JSMN_STRING && off > 0)
			off--;		/* point at the opening quote */
	}
	/* positions are asked for in file order: go on from the last one
	 * instead of from the start (loading 2,000 stages stays linear) */
	if (j->pos_line > 0 && off >= j->pos_off) {
		int	 l, c;

		offset_pos(j->text + j->pos_off, off - j->pos_off, 0, &l, &c);
		*line = j->pos_line + l;
		*col = l == 0 ? j->pos_col + c - 1 : c;
	} else
		offset_pos(j->text, off, j->line0, line, col);
	((struct json *)j)->pos_off = off;
	((struct json *)j)->pos_line = *line;
	((struct json *)j)->pos_col = *col;
}

int
json_loc(const struct json *j, int t, char *out, size_t sz)
{
	int	 line, col;

	json_pos(j, t, &line, &col);
	return snprintf(out, sz, "%s:%d:%d", j->name, line, col);
}

void
json_errx(const struct json *j, int t, const char *fmt, ...)
{
	char	 loc[1024], msg[1024];
	va_list	 ap;

	json_loc(j, t, loc, sizeof(loc));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errx(EX_DATAERR, "%s: %s", loc, msg);
}

/* writer */

void
jw_init(struct jw *w, struct buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

static void
jw_sep(struct jw *w)
{
	if (w->comma[w->depth])
		buf_addc(w->b, ',');
	w->comma[w->depth] = 1;
}

static void
jw_open(struct jw *w, int c)
{
	jw_sep(w);
	buf_addc(w->b, c);
	if (w->depth + 1 >= (int)sizeof(w->comma))
		errx(EX_SOFTWARE, "JSON writer nested too deeply");
	w->comma[++w->depth] = 0;
}

void
jw_obj(struct jw *w)
{
	jw_open(w, '{');
}

void
jw_arr(struct jw *w)
{
	jw_open(w, '[');
}

void
jw_obj_end(struct jw *w)
{
	w->depth--;
	buf_addc(w->b, '}');
}

void
jw_arr_end(struct jw *w)
{
	w->depth--;
	buf_addc(w->b, ']');
}

void
json_escape(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n + 2);
	buf_addc(b, '"');
	json_escape_in(b, s, n);
	buf_addc(b, '"');
}

void
json_escape_in(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, run = 0;

	if (n == 0)		/* s may be NULL (an empty buffer) */
		return;
	for (i = 0; (i = plain_end(s, i, n)) < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t	 u;

		if (c >= 0x80) {
			if ((u = utf8_len(s + i, n - i)) > 0) {
				i += u - 1;	/* UTF-8 goes as it is */
				continue;
			}
			/* not UTF-8, which JSON text must be: U+FFFD */
			buf_add(b, s + run, i - run);
			buf_add(b, "\xef\xbf\xbd", 3);
			run = i + 1;
			continue;
		}
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		default:
			buf_add(b, "\\u00", 4);
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
	buf_add(b, s + run, n - run);
}

void
jw_key(struct jw *w, const char *k)
{
	jw_sep(w);
	json_escape(w->b, k, strlen(k));
	buf_addc(w->b, ':');
	w->comma[w->depth] = 0;		/* the value follows without comma */
}

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	json_escape(w->b, s, n);
}

void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void
jw_int(struct jw *w, long long v)
{
	jw_sep(w);
	buf_printf(w->b, "%lld", v);
}

void
jw_uint(struct jw *w, unsigned long long v)
{
	jw_sep(w);
	buf_printf(w->b, "%llu", v);
}

void
jw_double(struct jw *w, double v)
{
	jw_sep(w);
	if (!isfinite(v))
		buf_adds(w->b, "null");
	else
		buf_printf(w->b, "%.6g", v);
}

void
jw_bool(struct jw *w, int v)
{
	jw_sep(w);
	buf_adds(w->b, v ? "true" : "false");
}

void
jw_null(struct jw *w)
{
	jw_sep(w);
	buf_adds(w->b, "null");
}

void
jw_raw(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	buf_add(w->b, s, n);
}
