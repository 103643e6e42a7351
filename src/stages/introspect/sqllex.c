/*
 * sqllex.c: the SQL tokenizer of the structure.sql front-end; see
 * sqllex.h.  One pass over the text, a statement at a time; no
 * backtracking.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "introspect.h"
#include "sqllex.h"
#include "banned.h"

void
sqllex_init(struct sqllex *l, struct schema *s, const char *text,
    size_t len, jmp_buf *fail)
{
	memset(l, 0, sizeof(*l));
	l->s = s;
	l->p = l->bol = text;
	l->end = text + len;
	l->line = 1;
	l->fail = fail;
}

void
sqllex_free(struct sqllex *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	buf_free(&l->tmp);
}

void
sqllex_fatal(struct sqllex *l, int line, int col, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[300];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)schema_fail(l->s, line, col, "%s", msg);
	longjmp(*l->fail, 1);
}

static int
isident(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static int
isidstart(int c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static int
isopchar(int c)
{
	return c != '\0' && strchr("+-*/<>=~!@#%^&|`?", c) != NULL;
}

/* step over one byte, counting lines; a NUL byte is fatal */
static void
adv(struct sqllex *l)
{
	if (*l->p == '\n') {
		l->line++;
		l->bol = l->p + 1;
	} else if (*l->p == '\0')
		sqllex_fatal(l, l->line, (int)(l->p - l->bol) + 1,
		    "NUL byte in SQL text");
	l->p++;
}

static void
skip_space(struct sqllex *l)
{
	int	depth, line, col;

	while (l->p < l->end) {
		if (isspace((unsigned char)*l->p))
			adv(l);
		else if (l->p + 1 < l->end && l->p[0] == '-' && l->p[1] == '-')
			while (l->p < l->end && *l->p != '\n')
				adv(l);
		else if (l->p + 1 < l->end && l->p[0] == '/' &&
		    l->p[1] == '*') {
			line = l->line;
			col = (int)(l->p - l->bol) + 1;
			adv(l);
			adv(l);
			for (depth = 1; depth > 0; ) {
				if (l->p + 1 >= l->end)
					sqllex_fatal(l, line, col, "unterminated "
					    "comment: expected '*/' before end "
					    "of file");
				if (l->p[0] == '*' && l->p[1] == '/') {
					depth--;
					adv(l);
				} else if (l->p[0] == '/' && l->p[1] == '*') {
					depth++;
					adv(l);
				}
				adv(l);
			}
		} else
			break;
	}
}

/* a quoted literal from l->p (the opening quote) to its closing one */
static void
quoted(struct sqllex *l, int q, int backslash, const char *what)
{
	int	line = l->line, col = (int)(l->p - l->bol) + 1;

	adv(l);
	for (;;) {
		if (l->p >= l->end)
			sqllex_fatal(l, line, col, "unterminated %s: expected "
			    "%s before end of file", what, q == '\'' ? "\"'\"" :
			    "'\"'");
		if (backslash && *l->p == '\\' && l->p + 1 < l->end) {
			adv(l);
			adv(l);
			continue;
		}
		if (*l->p == q) {
			adv(l);
			if (l->p < l->end && *l->p == q) {
				adv(l);
				continue;
			}
			return;
		}
		adv(l);
	}
}

/* $tag$ at l->p?  Returns the length of the opening delimiter, or 0 */
static size_t
dollar_tag(const struct sqllex *l)
{
	const char	*q = l->p + 1;

	if (q < l->end && *q == '$')
		return 2;
	if (q >= l->end || !isidstart((unsigned char)*q))
		return 0;
	while (q < l->end && isident((unsigned char)*q) && *q != '$')
		q++;
	return q < l->end && *q == '$' ? (size_t)(q - l->p) + 1 : 0;
}

static void
dollar_body(struct sqllex *l, size_t tn)
{
	const char	*tag = l->p;
	int		 line = l->line, col = (int)(l->p - l->bol) + 1;
	size_t		 i;

	for (i = 0; i < tn; i++)
		adv(l);
	for (;;) {
		if ((size_t)(l->end - l->p) < tn)
			sqllex_fatal(l, line, col, "unterminated dollar-quoted "
			    "string: expected '%.*s' before end of file",
			    (int)tn, tag);
		if (memcmp(l->p, tag, tn) == 0)
			break;
		adv(l);
	}
	for (i = 0; i < tn; i++)
		adv(l);
}

static void
number(struct sqllex *l)
{
	while (l->p < l->end && (isdigit((unsigned char)*l->p) ||
	    *l->p == '_'))
		adv(l);
	if (l->p < l->end && *l->p == '.' && !(l->p + 1 < l->end &&
	    l->p[1] == '.'))
		for (adv(l); l->p < l->end && (isdigit((unsigned char)*l->p) ||
		    *l->p == '_'); )
			adv(l);
	if (l->p < l->end && (*l->p == 'e' || *l->p == 'E') &&
	    l->p + 1 < l->end && (isdigit((unsigned char)l->p[1]) ||
	    ((l->p[1] == '+' || l->p[1] == '-') && l->p + 2 < l->end &&
	    isdigit((unsigned char)l->p[2])))) {
		adv(l);
		adv(l);
		while (l->p < l->end && isdigit((unsigned char)*l->p))
			adv(l);
	}
}

/* one token into t; 0 at the end of the text */
static int
token(struct sqllex *l, struct stok *t, int first)
{
	const char	*p;
	size_t		 tn;
	int		 c;

	skip_space(l);
	memset(t, 0, sizeof(*t));
	t->s = p = l->p;
	t->line = l->line;
	t->col = (int)(p - l->bol) + 1;
	if (p >= l->end) {
		t->type = S_EOF;
		return 0;
	}
	c = (unsigned char)*p;
	if (c == '\\' && first) {
		t->type = S_META;
		while (l->p < l->end && *l->p != '\n')
			adv(l);
	} else if ((c == 'e' || c == 'E') && p + 1 < l->end && p[1] == '\'') {
		adv(l);
		t->type = S_STRING;
		t->esc = 1;
		quoted(l, '\'', 1, "string");
	} else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' ||
	    c == 'n' || c == 'N') && p + 1 < l->end && p[1] == '\'') {
		adv(l);
		t->type = S_STRING;
		quoted(l, '\'', 0, "string");
	} else if ((c == 'u' || c == 'U') && p + 2 < l->end && p[1] == '&' &&
	    (p[2] == '\'' || p[2] == '"')) {
		adv(l);
		adv(l);
		t->type = p[2] == '"' ? S_QIDENT : S_STRING;
		quoted(l, p[2], 0, p[2] == '"' ? "quoted identifier" :
		    "string");
	} else if (isidstart(c)) {
		t->type = S_IDENT;
		while (l->p < l->end && isident((unsigned char)*l->p))
			adv(l);
	} else if (c == '"') {
		t->type = S_QIDENT;
		quoted(l, '"', 0, "quoted identifier");
	} else if (c == '\'') {
		t->type = S_STRING;
		quoted(l, '\'', 0, "string");
	} else if (c == '$' && p + 1 < l->end &&
	    isdigit((unsigned char)p[1])) {
		t->type = S_PARAM;
		adv(l);
		while (l->p < l->end && isdigit((unsigned char)*l->p))
			adv(l);
	} else if (c == '$' && (tn = dollar_tag(l)) > 0) {
		t->type = S_STRING;
		t->esc = (int)tn + 1;
		dollar_body(l, tn);
	} else if (isdigit(c) || (c == '.' && p + 1 < l->end &&
	    isdigit((unsigned char)p[1]))) {
		t->type = S_NUM;
		number(l);
	} else if (c == ':' && p + 1 < l->end && p[1] == ':') {
		t->type = S_OP;
		adv(l);
		adv(l);
	} else if (isopchar(c)) {
		t->type = S_OP;
		/* an operator ends where a comment starts */
		do
			adv(l);
		while (l->p < l->end && isopchar((unsigned char)*l->p) &&
		    !(l->p + 1 < l->end && ((l->p[0] == '-' &&
		    l->p[1] == '-') || (l->p[0] == '/' && l->p[1] == '*'))));
	} else {
		t->type = S_PUNCT;
		adv(l);
	}
	t->n = (size_t)(l->p - p);
	return 1;
}

int
sqllex_stmt(struct sqllex *l)
{
	struct stok	t;

	l->n = 0;
	l->semi = 0;
	while (token(l, &t, l->n == 0)) {
		if (t.type == S_PUNCT && *t.s == ';') {
			l->semi = 1;
			if (l->n == 0)
				continue;	/* an empty statement */
			break;
		}
		if (l->n + 1 >= l->cap) {
			l->cap = l->cap ? l->cap * 2 : 256;
			l->v = xreallocarray(l->v, (size_t)l->cap, sizeof(*l->v));
		}
		l->v[l->n++] = t;
		if (t.type == S_META)
			break;
	}
	if (l->n == 0)
		return 0;
	/* a terminator token, so look-ahead never runs off the end */
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].type = S_EOF;
	l->v[l->n].s = l->p;
	l->v[l->n].line = l->line;
	l->v[l->n].col = (int)(l->p - l->bol) + 1;
	return 1;
}

int
sqllex_is(const struct stok *t, const char *kw)
{
	return t->type == S_IDENT && t->n == strlen(kw) &&
	    strncasecmp(t->s, kw, t->n) == 0;
}

int
sqllex_punct(const struct stok *t, int c)
{
	return t->type == S_PUNCT && *t->s == c;
}

static void
put_utf8(struct sqllex *l, struct buf *b, unsigned long cp,
    const struct stok *t)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		sqllex_fatal(l, t->line, t->col, "invalid escape in string: "
		    "code point %lx", cp);
	if (cp < 0x80)
		buf_addc(b, (int)cp);
	else if (cp < 0x800) {
		buf_addc(b, (int)(0xc0 | (cp >> 6)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (int)(0xe0 | (cp >> 12)));
		buf_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (int)(0xf0 | (cp >> 18)));
		buf_addc(b, (int)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(b, (int)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (int)(0x80 | (cp & 0x3f)));
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* backslash escapes of an E'' string body */
static void
unescape(struct sqllex *l, struct buf *b, const char *s, size_t n,
    const struct stok *t)
{
	unsigned long	cp;
	size_t		i, k, max;
	int		h;

	for (i = 0; i < n; i++) {
		if (s[i] == '\'' && i + 1 < n && s[i + 1] == '\'') {
			buf_addc(b, '\'');
			i++;
			continue;
		}
		if (s[i] != '\\' || i + 1 >= n) {
			buf_addc(b, s[i]);
			continue;
		}
		switch (s[++i]) {
		case 'b': buf_addc(b, '\b'); break;
		case 'f': buf_addc(b, '\f'); break;
		case 'n': buf_addc(b, '\n'); break;
		case 'r': buf_addc(b, '\r'); break;
		case 't': buf_addc(b, '\t'); break;
		case 'x':
			for (cp = 0, k = 0; k < 2 && i + 1 < n &&
			    (h = hexval((unsigned char)s[i + 1])) >= 0; k++, i++)
				cp = cp * 16 + (unsigned long)h;
			if (k == 0 || cp == 0)
				sqllex_fatal(l, t->line, t->col, "invalid "
				    "escape in string: '\\x'");
			buf_addc(b, (int)cp);
			break;
		case 'u':
		case 'U':
			max = s[i] == 'u' ? 4 : 8;
			for (cp = 0, k = 0; k < max && i + 1 < n &&
			    (h = hexval((unsigned char)s[i + 1])) >= 0; k++, i++)
				cp = cp * 16 + (unsigned long)h;
			if (k != max)
				sqllex_fatal(l, t->line, t->col, "invalid "
				    "escape in string: expected %zu hex digits",
				    max);
			put_utf8(l, b, cp, t);
			break;
		default:
			if (s[i] >= '0' && s[i] <= '7') {
				cp = (unsigned long)(s[i] - '0');
				for (k = 1; k < 3 && i + 1 < n && s[i + 1] >= '0' &&
				    s[i + 1] <= '7'; k++)
					cp = cp * 8 + (unsigned long)(s[++i] - '0');
				if ((cp & 0xff) == 0)
					sqllex_fatal(l, t->line, t->col, "invalid "
					    "escape in string: NUL");
				buf_addc(b, (int)(cp & 0xff));
			} else
				buf_addc(b, s[i]);
		}
	}
}

/* the body between quotes q, with doubled quotes made single */
static void
undouble(struct buf *b, const char *s, size_t n, int q)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		buf_addc(b, s[i]);
		if (s[i] == q && i + 1 < n && s[i + 1] == q)
			i++;
	}
}

char *
sqllex_text(struct sqllex *l, struct arena *a, const struct stok *t)
{
	struct buf	*b = &l->tmp;
	const char	*s = t->s;
	size_t		 n = t->n, i;
	char		*r;

	buf_reset(b);
	switch (t->type) {
	case S_IDENT:
		r = arena_strndup(a, s, n);
		for (i = 0; i < n; i++)
			if (r[i] >= 'A' && r[i] <= 'Z')
				r[i] = (char)(r[i] - 'A' + 'a');
		return r;
	case S_QIDENT:
		if (*s != '"')		/* U&"..." */
			s += 2, n -= 2;
		undouble(b, s + 1, n - 2, '"');
		break;
	case S_STRING:
		if (t->esc > 1) {	/* $tag$body$tag$ */
			r = arena_strndup(a, s + t->esc - 1, n -
			    2 * (size_t)(t->esc - 1));
			return r;
		}
		while (*s != '\'')	/* E, B, X, N, U& prefixes */
			s++, n--;
		if (t->esc)
			unescape(l, b, s + 1, n - 2, t);
		else
			undouble(b, s + 1, n - 2, '\'');
		break;
	default:
		return arena_strndup(a, s, n);
	}
	r = arena_strndup(a, b->data ? b->data : "", b->len);
	return r;
}

const char *
sqllex_tokname(const struct stok *t, char *buf, size_t size)
{
	if (t->type == S_EOF)
		return "end of statement";
	(void)snprintf(buf, size, "'%.*s'", t->n > 32 ? 32 : (int)t->n, t->s);
	return buf;
}
