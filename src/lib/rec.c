/* rec.c: reading and checking schema records; TypeScript names.  See rec.h. */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "util.h"
#include "xalloc.h"
#include "rec.h"
#include "banned.h"

void
rec_slurp(int fd, struct buf *b)
{
	if (buf_readfd(b, fd) == -1)
		err(EX_IOERR, "read");
	buf_cstr(b);
}

/*
 * The next line of p[off, len) into *line and *n (without \n or \r\n),
 * off and scan (searched up to there) moved past it: 1, or 0 when the
 * line is not complete yet (more must be read, unless at eof: then the
 * rest is the last line, if any; 0 at the very end).
 */
static int
take_line(char *p, size_t len, int eof, size_t *off, size_t *scan,
    const char **line, size_t *n)
{
	char	*nl;

	if (*scan < len && (nl = memchr(p + *scan, '\n', len - *scan)) !=
	    NULL) {
		*line = p + *off;
		*n = (size_t)(nl - *line);
		*off = *scan = (size_t)(nl - p) + 1;
	} else {
		*scan = len;
		if (!eof || *off == len)
			return 0;
		*line = p + *off;		/* no final \n */
		*n = len - *off;
		*off = *scan = len;
	}
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

/* read more at p + *len, room up to cap (a NUL after the bytes) */
static void
read_more(int fd, char *p, size_t *len, size_t cap, int *eof)
{
	ssize_t	 n;

	do
		n = read(fd, p + *len, cap - *len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		err(EX_IOERR, "read");
	if (n == 0)
		*eof = 1;
	*len += (size_t)n;
	p[*len] = '\0';
}

int
rec_next(struct recin *r, const char **line, size_t *len)
{
	struct buf *b;

	if (r->b == NULL)
		r->b = xcalloc(1, sizeof(*r->b));
	b = r->b;
	for (;;) {
		if (take_line(b->data, b->len, r->eof, &r->off, &r->scan, line,
		    len))
			return 1;
		if (r->eof)
			return 0;
		if (r->off > 0) {		/* keep only the partial line */
			memmove(b->data, b->data + r->off, b->len - r->off);
			b->len -= r->off;
			r->scan -= r->off;
			r->off = 0;
		}
		buf_grow(b, REC_CHUNK);
		read_more(r->fd, b->data, &b->len, b->cap - 1, &r->eof);
	}
}

#define KEEP_CHUNK	(1u << 20)

void
rec_keep_done(struct reckeep *r)
{
	size_t	 i;

	for (i = 0; i < r->nfull; i++)
		free(r->full[i]);
	free(r->full);
	free(r->p);
	r->full = NULL;
	r->p = NULL;
	r->nfull = r->cap = r->len = r->off = r->scan = 0;
}

int
rec_keep_next(struct reckeep *r, const char **line, size_t *len)
{
	char	*np;
	size_t	 part, cap;

	for (;;) {
		if (take_line(r->p, r->len, r->eof, &r->off, &r->scan, line,
		    len))
			return 1;
		if (r->eof)
			return 0;
		if (r->len == r->cap) {
			part = r->len - r->off;
			for (cap = KEEP_CHUNK; cap < 2 * part; cap *= 2)
				;
			np = xmalloc(cap + 1);
			if (part > 0)
				memcpy(np, r->p + r->off, part);
			if (r->off == 0)	/* no line of it was given out */
				free(r->p);
			else {
				r->full = xreallocarray(r->full, r->nfull + 1,
				    sizeof(*r->full));
				r->full[r->nfull++] = r->p;
			}
			r->p = np;
			r->cap = cap;
			r->len = r->scan = part;
			r->off = 0;
		}
		read_more(r->fd, r->p, &r->len, r->cap, &r->eof);
	}
}

void
rec_done(struct recin *r)
{
	if (r->b != NULL)
		buf_free(r->b);
	free(r->b);
	r->b = NULL;
}

void
rec_spill(struct buf *b)
{
	if (b->len >= REC_CHUNK) {
		rec_flush(b);
		buf_reset(b);
	}
}

int
rec_line(const char **p, const char *e, const char **line, size_t *len)
{
	const char	*nl;

	if (*p >= e)
		return 0;
	if ((nl = memchr(*p, '\n', (size_t)(e - *p))) == NULL)
		nl = e;
	*line = *p;
	*len = (size_t)(nl - *p);
	if (*len > 0 && (*p)[*len - 1] == '\r')
		(*len)--;
	*p = nl < e ? nl + 1 : e;
	return 1;
}

int
rec_parse(struct json *j, const char *name, const char *line, size_t len,
    int lineno)
{
	long long	 v;
	int		 t, k;

	if (json_parse(j, name, line, len, lineno) == -1)
		errx(EX_DATAERR, "%s", j->err);
	if (json_type(j, 0) != JSON_OBJECT)
		json_errx(j, 0, "expected a record (an object), found %s",
		    json_typename(json_type(j, 0)));
	if ((t = json_get(j, 0, "v")) == -1)
		json_errx(j, 0, "record without a version \"v\"");
	if (json_type(j, t) != JSON_NUMBER)
		json_errx(j, t, "\"v\": expected the number %d, found %s",
		    REC_VERSION, json_typename(json_type(j, t)));
	if (json_int(j, t, &v) == -1 || v != REC_VERSION)
		json_errx(j, t, "unknown record version %.*s: expected %d",
		    j->tok[t].end - j->tok[t].start, j->text + j->tok[t].start,
		    REC_VERSION);
	if ((k = json_get(j, 0, "kind")) == -1)
		json_errx(j, 0, "record without a \"kind\"");
	if (json_type(j, k) != JSON_STRING)
		json_errx(j, k, "\"kind\": expected a string, found %s",
		    json_typename(json_type(j, k)));
	return k;
}

void
rec_flush(const struct buf *b)
{
	if (b->len > 0 && write_all(STDOUT_FILENO, b->data, b->len) == -1)
		err(EX_IOERR, "write");
}

void
ts_quote(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	buf_addc(b, '\'');
	for (; p < e; p++) {
		switch (*p) {
		case '\'': buf_adds(b, "\\'"); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\x%02x", *p);
			/* U+2028 and U+2029 end a line in older engines */
			else if (*p == 0xe2 && e - p >= 3 && p[1] == 0x80 &&
			    (p[2] == 0xa8 || p[2] == 0xa9)) {
				buf_printf(b, "\\u%s", p[2] == 0xa8 ? "2028" :
				    "2029");
				p += 2;
			} else
				buf_addc(b, *p);
		}
	}
	buf_addc(b, '\'');
}

static int
identch(int c, int first)
{
	return isalpha(c) || c == '_' || c == '$' || (!first && isdigit(c));
}

/*
 * __proto__ is a valid identifier that an object literal key cannot be:
 * { __proto__: x } (quoted or not) sets the object's prototype, so the
 * property would be lost.  It is given another name (ts_ident).
 */
int
ts_is_ident(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0' || !identch(*p, 1) || strcmp(s, "__proto__") == 0)
		return 0;
	for (p++; *p != '\0'; p++)
		if (!identch(*p, 0))
			return 0;
	return 1;
}

void
ts_ident(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		 start = b->len;

	if (isdigit(*p))
		buf_addc(b, '_');
	for (; *p != '\0'; p++) {
		if (identch(*p, 0))
			buf_addc(b, *p);
		else if (b->len == start || b->data[b->len - 1] != '_')
			buf_addc(b, '_');
	}
	/* "Order Details " -> "Order_Details", not "Order_Details_" */
	while (b->len > start + 1 && b->data[b->len - 1] == '_' &&
	    !identch((unsigned char)s[strlen(s) - 1], 0))
		b->data[--b->len] = '\0';
	if (b->len == start)
		buf_addc(b, '_');
	buf_cstr(b);
	if (strcmp(b->data + start, "__proto__") == 0) {
		b->len = start;
		buf_adds(b, "proto_");
		buf_cstr(b);
	}
}

void
rec_str_errx(const struct json *j, int obj, const char *key, const char *what)
{
	int	 t = json_get(j, obj, key);

	if (t == -1 || json_type(j, t) == JSON_NULL)
		json_errx(j, obj, "%s without a \"%s\"", what, key);
	json_errx(j, t, "\"%s\": expected a string, found %s", key,
	    json_typename(json_type(j, t)));
}
