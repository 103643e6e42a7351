/*
 * sqllex.h: a tokenizer for PostgreSQL's SQL as pg_dump writes it:
 * identifiers (folded to lower case when unquoted), quoted identifiers
 * ("" escapes), string literals ('' escapes; E'...' with backslash
 * escapes; B'', X'', N'', U&''), dollar-quoted bodies ($$...$$ and
 * $tag$...$tag$), numbers, positional parameters, operators (:: is
 * one), punctuation, -- and nested block comments, and psql
 * meta-commands (a line starting with a backslash).  Statements are
 * read one at a time, up to a ';' outside any literal.
 *
 * Tokens point into the source text; decoded values are made on
 * request (sqllex_text) in the caller's arena.  Fatal errors
 * (unterminated literal or comment, a NUL byte, a bad escape) longjmp
 * to l->fail after writing s->err; sqllex_free() still frees the token
 * vector afterwards, so a failed load leaks nothing.
 */
#ifndef SQLLEX_H
#define SQLLEX_H

#include <setjmp.h>
#include <stddef.h>

#include "buf.h"

enum stok_type {
	S_EOF, S_IDENT, S_QIDENT, S_STRING, S_NUM, S_PARAM, S_OP, S_PUNCT,
	S_META
};

struct stok {
	enum stok_type	 type;
	const char	*s;		/* raw text in the source */
	size_t		 n;
	int		 line, col;
	int		 esc;		/* S_STRING: E'' (backslash escapes);
					   1 + tag length for dollar quotes */
};

struct sqllex {
	struct schema	*s;
	const char	*p, *end;
	const char	*bol;		/* start of the current line */
	int		 line;
	jmp_buf		*fail;
	struct stok	*v;		/* the current statement */
	int		 n, cap;
	int		 semi;		/* it ended with ';' */
	struct buf	 tmp;		/* sqllex_text's, kept across a
					 * longjmp (freed by sqllex_free) */
};

void	sqllex_init(struct sqllex *, struct schema *, const char *, size_t,
	    jmp_buf *);
void	sqllex_free(struct sqllex *);
/* the next statement into l->v[0..n-1]; 0 at the end of the text */
int	sqllex_stmt(struct sqllex *);
/* the decoded value of an identifier, literal or other token */
char	*sqllex_text(struct sqllex *, struct arena *, const struct stok *);
int	sqllex_is(const struct stok *, const char *);	/* keyword */
int	sqllex_punct(const struct stok *, int);
const char *sqllex_tokname(const struct stok *, char *, size_t);
__attribute__((__noreturn__)) void
	sqllex_fatal(struct sqllex *, int, int, const char *, ...)
	    __attribute__((__format__(__printf__, 4, 5)));

#endif
