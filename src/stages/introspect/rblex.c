/*
 * rblex.c: the Ruby tokenizer of the schema.rb front-end; see rblex.h.
 * One pass, no backtracking except the look-ahead that finds heredoc
 * bodies (read when their opener is seen, skipped when the line ends).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "introspect.h"
#include "rblex.h"
#include "banned.h"

void
rblex_init(struct rblex *l, struct schema *s, const char *text, size_t len,
    jmp_buf *fail)
{
	memset(l, 0, sizeof(*l));
	l->s = s;
	l->a = &s->a;
	l->p = l->bol = text;
	l->end = text + len;
	l->line = 1;
	l->fail = fail;
}

void
rblex_free(struct rblex *l)
{
	buf_free(&l->tmp);
	buf_free(&l->tmp2);
}

void
rblex_fatal(struct rblex *l, int line, int col, const char *fmt, ...)
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
col(const struct rblex *l, const char *p)
{
	return (int)(p - l->bol) + 1;
}

static int
isident(int c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

static void
newline(struct rblex *l, const char *nl)
{
	l->line++;
	l->bol = nl + 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
put_utf8(struct rblex *l, struct buf *b, unsigned long cp, int line, int c)
{
	char	u[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		rblex_fatal(l, line, c, "invalid Unicode escape: expected a "
		    "code point from 1 to 10FFFF, not a surrogate");
	if (cp < 0x80) {
		buf_addc(b, (int)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 4);
	}
}

/* one backslash escape of a double-quoted string; *pp is after '\' */
static void
escape(struct rblex *l, const char **pp, const char *end, struct buf *b,
    int lines)
{
	const char	*p = *pp, *at = p - 1;
	unsigned long	 cp;
	int		 c, d, i, line = l->line, ac = col(l, at);

	if (p >= end) {
		*pp = p;
		return;
	}
	c = (unsigned char)*p++;
	switch (c) {
	case 'n': buf_addc(b, '\n'); break;
	case 't': buf_addc(b, '\t'); break;
	case 'r': buf_addc(b, '\r'); break;
	case 's': buf_addc(b, ' '); break;
	case 'e': buf_addc(b, 033); break;
	case 'a': buf_addc(b, 007); break;
	case 'b': buf_addc(b, '\b'); break;
	case 'f': buf_addc(b, '\f'); break;
	case 'v': buf_addc(b, '\v'); break;
	case '\n':
		if (lines)
			newline(l, p - 1);
		break;
	case 'x':
		cp = 0;
		for (i = 0; i < 2 && p < end && (d = hexval(*p)) >= 0; i++) {
			cp = cp * 16 + (unsigned long)d;
			p++;
		}
		if (i == 0)
			rblex_fatal(l, line, ac, "invalid hex escape: "
			    "expected a hex digit after '\\x'");
		if (cp == 0)
			rblex_fatal(l, line, ac, "NUL character in string");
		buf_addc(b, (int)cp);
		break;
	case 'u':
		if (p < end && *p == '{') {
			p++;
			for (;;) {
				while (p < end && (*p == ' ' || *p == '\t'))
					p++;
				if (p < end && *p == '}') {
					p++;
					break;
				}
				cp = 0;
				for (i = 0; i < 6 && p < end &&
				    (d = hexval(*p)) >= 0; i++, p++)
					cp = cp * 16 + (unsigned long)d;
				if (i == 0)
					rblex_fatal(l, line, ac, "invalid "
					    "Unicode escape: expected '}'");
				put_utf8(l, b, cp, line, ac);
			}
			break;
		}
		cp = 0;
		for (i = 0; i < 4; i++, p++) {
			if (p >= end || (d = hexval(*p)) < 0)
				rblex_fatal(l, line, ac, "invalid Unicode "
				    "escape: expected 4 hex digits");
			cp = cp * 16 + (unsigned long)d;
		}
		put_utf8(l, b, cp, line, ac);
		break;
	default:
		if (c >= '0' && c <= '7') {
			cp = (unsigned long)(c - '0');
			for (i = 1; i < 3 && p < end && *p >= '0' &&
			    *p <= '7'; i++)
				cp = cp * 8 + (unsigned long)(*p++ - '0');
			if ((cp & 0xff) == 0)
				rblex_fatal(l, line, ac,
				    "NUL character in string");
			buf_addc(b, (int)(cp & 0xff));
		} else
			buf_addc(b, c);
	}
	*pp = p;
}

/*
 * Decode a string body from *pp up to the close character (or to end
 * when close is -1).  Returns 0 when end came first.
 */
static int
decode(struct rblex *l, const char **pp, const char *end, int close,
    int raw, struct buf *b, int *interp, int lines)
{
	const char	*p = *pp, *run;

	for (run = p; p < end; ) {
		if ((unsigned char)*p == close) {
			buf_add(b, run, (size_t)(p - run));
			*pp = p + 1;
			return 1;
		}
		if (*p == '\\') {
			buf_add(b, run, (size_t)(p - run));
			p++;
			if (raw) {
				if (p < end && (*p == '\\' ||
				    (unsigned char)*p == close))
					buf_addc(b, *p++);
				else
					buf_addc(b, '\\');
			} else
				escape(l, &p, end, b, lines);
			run = p;
			continue;
		}
		if (*p == '\0')
			rblex_fatal(l, l->line, col(l, p),
			    "NUL character in string");
		if (*p == '#' && !raw && p + 1 < end &&
		    (p[1] == '{' || p[1] == '@' || p[1] == '$'))
			*interp = 1;
		if (*p == '\n' && lines)
			newline(l, p);
		p++;
	}
	buf_add(b, run, (size_t)(p - run));
	*pp = p;
	return 0;
}

static void
string(struct rblex *l, struct tok *t, int q, const char *start)
{
	struct buf	*b = &l->tmp;
	const char	*p = start + 1;

	buf_reset(b);
	if (!decode(l, &p, l->end, q, q == '\'', b, &t->interp, 1)) {
		rblex_fatal(l, t->line, t->col, "unterminated string: "
		    "expected '%c' before end of file", q);
	}
	t->s = arena_strndup(l->a, b->data ? b->data : "", b->len);
	t->n = b->len;
	l->p = p;
}

/* does the line [ls, le) close a heredoc called id? */
static int
heredoc_end(const char *ls, const char *le, const char *id, size_t idn,
    int indent)
{
	if (indent)
		while (ls < le && (*ls == ' ' || *ls == '\t'))
			ls++;
	if (le > ls && le[-1] == '\r')
		le--;
	return (size_t)(le - ls) == idn && memcmp(ls, id, idn) == 0;
}

/* <<~ strips the smallest indentation of the non-blank lines */
static void
dedent(struct buf *out, const char *s, const char *e)
{
	const char	*ls, *q;
	size_t		 min = (size_t)-1, n;

	for (ls = s; ls < e; ls = q + 1) {
		for (q = ls; q < e && (*q == ' ' || *q == '\t'); q++)
			;
		n = (size_t)(q - ls);
		while (q < e && *q != '\n')
			q++;
		if (q > ls + n && n < min)
			min = n;
	}
	if (min == (size_t)-1)
		min = 0;
	for (ls = s; ls < e; ls = q + 1) {
		for (q = ls; q < e && *q != '\n'; q++)
			;
		n = (size_t)(q - ls);
		if (n > min)
			buf_add(out, ls + min, n - min);
		if (q < e)
			buf_addc(out, '\n');
	}
}

/* l->p is at "<<"; 0 if this is not a heredoc opener */
static int
heredoc(struct rblex *l, struct tok *t)
{
	const char	*p = l->p + 2, *id, *body, *ls, *le, *q;
	struct buf	*raw = &l->tmp2, *b = &l->tmp;
	size_t		 idn;
	int		 indent = 0, squiggly = 0, quote = 0, nl = 0;

	if (p < l->end && (*p == '~' || *p == '-')) {
		squiggly = *p == '~';
		indent = 1;
		p++;
	}
	if (p < l->end && (*p == '\'' || *p == '"' || *p == '`'))
		quote = *p++;
	id = p;
	while (p < l->end && isident((unsigned char)*p))
		p++;
	idn = (size_t)(p - id);
	if (idn == 0 || isdigit((unsigned char)*id))
		return 0;
	if (quote) {
		if (p >= l->end || *p != quote)
			return 0;
		p++;
	}
	/* the body starts on the line after this one (or after the
	   body of an earlier heredoc on this line) */
	if ((body = l->skip) == NULL) {
		q = memchr(p, '\n', (size_t)(l->end - p));
		if (q == NULL)
			rblex_fatal(l, t->line, t->col, "unterminated heredoc: "
			    "expected '%.*s' before end of file", (int)idn, id);
		body = q + 1;
	}
	for (ls = body; ; ls = le + 1) {
		if (ls >= l->end)
			rblex_fatal(l, t->line, t->col, "unterminated heredoc: "
			    "expected '%.*s' before end of file", (int)idn, id);
		le = memchr(ls, '\n', (size_t)(l->end - ls));
		if (le == NULL)
			le = l->end;
		nl++;
		if (heredoc_end(ls, le, id, idn, indent))
			break;
	}
	buf_reset(raw);
	buf_reset(b);
	if (squiggly) {
		dedent(raw, body, ls);
		q = raw->data ? raw->data : "";
		(void)decode(l, &q, q + raw->len, -1, quote == '\'', b,
		    &t->interp, 0);
	} else {
		q = body;
		(void)decode(l, &q, ls, -1, quote == '\'', b, &t->interp, 0);
	}
	t->type = T_STRING;
	t->s = arena_strndup(l->a, b->data ? b->data : "", b->len);
	t->n = b->len;
	l->skip = le < l->end ? le + 1 : l->end;
	l->skiplines += nl;
	l->p = p;
	return 1;
}

static void
push(struct rblex *l, struct tok *t, int c)
{
	if (l->depth == RBLEX_MAXDEPTH)
		rblex_fatal(l, t->line, t->col, "brackets nested too deeply: "
		    "expected at most %d levels", RBLEX_MAXDEPTH);
	l->open[l->depth] = (char)c;
	l->oline[l->depth] = t->line;
	l->ocol[l->depth] = t->col;
	l->depth++;
}

static void
pop(struct rblex *l, struct tok *t, int c)
{
	int	want;

	if (l->depth == 0)
		rblex_fatal(l, t->line, t->col, "unmatched '%c'", c);
	l->depth--;
	want = l->open[l->depth] == '(' ? ')' :
	    l->open[l->depth] == '[' ? ']' : '}';
	if (c != want)
		rblex_fatal(l, t->line, t->col, "expected '%c' to close '%c' "
		    "at %d:%d, found '%c'", want, l->open[l->depth],
		    l->oline[l->depth], l->ocol[l->depth], c);
}

/* =begin ... =end at the start of a line */
static void
block_comment(struct rblex *l)
{
	const char	*p = l->p, *q;
	int		 line = l->line;

	for (;;) {
		q = memchr(p, '\n', (size_t)(l->end - p));
		if (q == NULL)
			rblex_fatal(l, line, 1, "unterminated =begin comment: "
			    "expected '=end' before end of file");
		newline(l, q);
		p = q + 1;
		if ((size_t)(l->end - p) >= 4 && memcmp(p, "=end", 4) == 0 &&
		    (p + 4 == l->end || isspace((unsigned char)p[4]))) {
			q = memchr(p, '\n', (size_t)(l->end - p));
			l->p = q != NULL ? q : l->end;
			return;
		}
	}
}

void
rblex_next(struct rblex *l, struct tok *t)
{
	const char	*p;
	int		 c;

	memset(t, 0, sizeof(*t));
again:
	p = l->p;
	while (p < l->end && (*p == ' ' || *p == '\t' || *p == '\r' ||
	    *p == '\f' || *p == '\v' ||
	    (*p == '\\' && p + 1 < l->end && p[1] == '\n'))) {
		if (*p == '\\') {
			newline(l, ++p);
		}
		p++;
		t->space = 1;
	}
	l->p = p;
	t->line = l->line;
	t->col = col(l, p);
	t->s = p;
	t->n = 1;
	if (p >= l->end) {
		if (l->depth > 0)
			rblex_fatal(l, l->oline[l->depth - 1],
			    l->ocol[l->depth - 1], "unclosed '%c': expected "
			    "'%c' before end of file", l->open[l->depth - 1],
			    l->open[l->depth - 1] == '(' ? ')' :
			    l->open[l->depth - 1] == '[' ? ']' : '}');
		t->type = T_EOF;
		t->n = 0;
		return;
	}
	c = (unsigned char)*p;
	switch (c) {
	case '#':
		while (p < l->end && *p != '\n')
			p++;
		l->p = p;
		goto again;
	case '\n':
		t->type = T_NL;
		if (l->skip != NULL && l->skip > p) {
			l->p = l->skip;
			l->line += l->skiplines + 1;
			l->bol = l->p;
		} else {
			l->p = p + 1;
			newline(l, p);
		}
		l->skip = NULL;
		l->skiplines = 0;
		if ((size_t)(l->end - l->p) >= 6 &&
		    memcmp(l->p, "=begin", 6) == 0 && (l->p + 6 == l->end ||
		    isspace((unsigned char)l->p[6])))
			block_comment(l);
		return;
	case '"':
	case '\'':
		t->type = T_STRING;
		string(l, t, c, p);
		if (l->p < l->end && *l->p == ':' &&
		    (l->p + 1 >= l->end || l->p[1] != ':')) {
			t->type = T_LABEL;
			l->p++;
		}
		return;
	case ':':
		if (p + 1 < l->end && p[1] == ':') {
			t->type = T_COLON2;
			t->n = 2;
			l->p = p + 2;
			return;
		}
		if (p + 1 < l->end && (p[1] == '"' || p[1] == '\'')) {
			t->type = T_SYMBOL;
			string(l, t, p[1], p + 1);
			return;
		}
		if (p + 1 < l->end && (isalpha((unsigned char)p[1]) ||
		    p[1] == '_' || (unsigned char)p[1] >= 0x80)) {
			for (p++; p < l->end && isident((unsigned char)*p); p++)
				;
			if (p < l->end && (*p == '?' || *p == '!' ||
			    *p == '='))
				p++;
			t->type = T_SYMBOL;
			t->s = l->p + 1;
			t->n = (size_t)(p - t->s);
			l->p = p;
			return;
		}
		break;
	case '(': case '[': case '{':
		push(l, t, c);
		t->type = c == '(' ? T_LPAREN : c == '[' ? T_LBRACK : T_LBRACE;
		l->p = p + 1;
		return;
	case ')': case ']': case '}':
		pop(l, t, c);
		t->type = c == ')' ? T_RPAREN : c == ']' ? T_RBRACK : T_RBRACE;
		l->p = p + 1;
		return;
	case ',': t->type = T_COMMA; l->p = p + 1; return;
	case '.': t->type = T_DOT; l->p = p + 1; return;
	case '|': t->type = T_PIPE; l->p = p + 1; return;
	case ';': t->type = T_SEMI; l->p = p + 1; return;
	case '=':
		if (p + 1 < l->end && p[1] == '>') {
			t->type = T_ROCKET;
			t->n = 2;
			l->p = p + 2;
			return;
		}
		break;
	case '-':
		if (p + 1 < l->end && p[1] == '>') {
			t->type = T_LAMBDA;
			t->n = 2;
			l->p = p + 2;
			return;
		}
		t->type = T_MINUS;
		l->p = p + 1;
		return;
	case '<':
		if (p + 1 < l->end && p[1] == '<' && heredoc(l, t))
			return;
		break;
	default:
		break;
	}
	if (isdigit(c)) {
		t->type = T_INT;
		if (c == '0' && p + 1 < l->end && strchr("xXbBoO", p[1]) &&
		    p[1] != '\0') {
			for (p += 2; p < l->end && (isxdigit((unsigned char)*p) ||
			    *p == '_'); p++)
				;
		} else {
			while (p < l->end && (isdigit((unsigned char)*p) ||
			    *p == '_'))
				p++;
			if (p + 1 < l->end && *p == '.' &&
			    isdigit((unsigned char)p[1])) {
				t->type = T_FLOAT;
				for (p++; p < l->end &&
				    (isdigit((unsigned char)*p) || *p == '_');
				    p++)
					;
			}
			if (p < l->end && (*p == 'e' || *p == 'E') &&
			    ((p + 1 < l->end && isdigit((unsigned char)p[1])) ||
			    (p + 2 < l->end && (p[1] == '-' || p[1] == '+') &&
			    isdigit((unsigned char)p[2])))) {
				t->type = T_FLOAT;
				for (p += 2; p < l->end &&
				    isdigit((unsigned char)*p); p++)
					;
			}
		}
		t->n = (size_t)(p - t->s);
		l->p = p;
		return;
	}
	if (isalpha(c) || c == '_' || c >= 0x80) {
		while (p < l->end && isident((unsigned char)*p))
			p++;
		if (p < l->end && (*p == '?' || *p == '!') &&
		    (p + 1 >= l->end || p[1] != '='))
			p++;
		t->type = isupper(c) ? T_CONST : T_IDENT;
		t->n = (size_t)(p - t->s);
		l->p = p;
		if (p < l->end && *p == ':' && (p + 1 >= l->end ||
		    p[1] != ':')) {
			t->type = T_LABEL;
			l->p = p + 1;
		}
		return;
	}
	t->type = T_OTHER;
	l->p = p + 1;
}

const char *
rblex_tokname(const struct tok *t, char *b, size_t sz)
{
	switch (t->type) {
	case T_EOF: return "end of file";
	case T_NL: return "end of line";
	case T_STRING: return "a string";
	case T_SYMBOL: return "a symbol";
	case T_INT:
	case T_FLOAT: return "a number";
	case T_LABEL:
		(void)snprintf(b, sz, "label '%.*s:'", (int)(t->n > 40 ? 40 :
		    t->n), t->s);
		return b;
	default:
		break;
	}
	(void)snprintf(b, sz, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
	return b;
}
