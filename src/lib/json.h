/*
 * json.h: a validating JSON reader on top of jsmn, and a JSON writer.
 *
 * json_parse() checks the full grammar first (jsmn alone accepts "[1,]"
 * or "tru"), refuses duplicate keys, then tokenizes with jsmn.  Tokens
 * are read only through the typed getters below, which unescape strings
 * and map byte offsets to line:column for messages.  The text is not
 * copied: it must outlive the struct json.  json_free() frees the tokens.
 *
 * The writer appends to a struct buf and inserts commas itself.
 */
#ifndef JSON_H
#define JSON_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

/* no parent links: nothing reads them, and a token is 16 bytes, not 20
   (a record set kept whole, as render --all keeps it, is mostly tokens) */
#define JSMN_STRICT
#ifndef JSON_IMPL
#define JSMN_HEADER
#endif
#include <jsmn.h>

#include "buf.h"

enum json_type {
	JSON_NONE, JSON_OBJECT, JSON_ARRAY, JSON_STRING, JSON_NUMBER,
	JSON_TRUE, JSON_FALSE, JSON_NULL
};

struct json {
	const char	*name;		/* file name for messages */
	const char	*text;
	size_t		 len;
	int		 line0;		/* line number of text[0] */
	jsmntok_t	*tok;
	int		*next;		/* token after t's subtree */
	int		 ntok;
	int		 cap;
	size_t		 pos_off;	/* json_pos()'s last answer */
	int		 pos_line;
	int		 pos_col;
	char		 err[512];	/* "name:line:col: message" */
};

int		 json_parse(struct json *, const char *, const char *, size_t,
		    int);
void		 json_free(struct json *);
/* drops every object member whose raw key keep() refuses, with its
   value, and frees the room the tokens took; the text stays as it was
   (a value's text still spans what was dropped) */
void		 json_keep(struct json *, int (*)(void *, const char *,
		    size_t), void *);

enum json_type	 json_type(const struct json *, int);
const char	*json_typename(enum json_type);
int		 json_next(const struct json *, int);
/* the same for a key of n bytes, without a backslash */
int		 json_get_n(const struct json *, int, const char *, size_t);
/* ... and with one (the key as JSON text would spell it, unescaped) */
int		 json_get_slash(const struct json *, int, const char *, size_t);
/* inline, so that a literal key's length and escapes are constants */
static inline int
json_get(const struct json *j, int obj, const char *key)
{
	size_t	 n = strlen(key);

	return memchr(key, '\\', n) != NULL ?
	    json_get_slash(j, obj, key, n) : json_get_n(j, obj, key, n);
}
int		 json_eq(const struct json *, int, const char *);
char		*json_str(const struct json *, int);	/* caller frees */
void		 json_str_buf(const struct json *, int, struct buf *);
/*
 * token t, a string, decoded over its own text, which must be writable
 * (a decoded string is never longer); its start and *len.  Anything
 * that reads that token's text afterwards sees the decoded bytes.
 */
const char	*json_str_inplace(struct json *, int, size_t *);
int		 json_int(const struct json *, int, long long *);
int		 json_num(const struct json *, int, double *);
void		 json_pos(const struct json *, int, int *, int *);
void		 json_errx(const struct json *, int, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4), __noreturn__));
int		 json_loc(const struct json *, int, char *, size_t);

/* iterate over an object's members: k is the key token, v its value */
#define JSON_FOREACH_MEMBER(j, obj, k, v)				\
	for ((k) = (obj) + 1, (v) = (k) + 1; (k) < (j)->next[(obj)];	\
	    (k) = (j)->next[(k)], (v) = (k) + 1)
/* iterate over an array's elements */
#define JSON_FOREACH_ELEM(j, arr, e)					\
	for ((e) = (arr) + 1; (e) < (j)->next[(arr)]; (e) = (j)->next[(e)])

struct jw {
	struct buf	*b;
	int		 depth;
	unsigned char	 comma[64];	/* element written at this depth */
};

void	jw_init(struct jw *, struct buf *);
void	jw_obj(struct jw *);
void	jw_obj_end(struct jw *);
void	jw_arr(struct jw *);
void	jw_arr_end(struct jw *);
void	jw_key(struct jw *, const char *);
void	jw_str(struct jw *, const char *);
void	jw_strn(struct jw *, const char *, size_t);
void	jw_int(struct jw *, long long);
void	jw_uint(struct jw *, unsigned long long);
void	jw_double(struct jw *, double);
void	jw_bool(struct jw *, int);
void	jw_null(struct jw *);
void	jw_raw(struct jw *, const char *, size_t);
/* n bytes as a JSON string; a byte that is not part of UTF-8 is written
   as U+FFFD (JSON text is UTF-8) */
void	json_escape(struct buf *, const char *, size_t);
/* the same without the quotes: pieces of one string, one after another
   (each piece whole characters) */
void	json_escape_in(struct buf *, const char *, size_t);

#endif
