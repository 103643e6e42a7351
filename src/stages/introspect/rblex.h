/*
 * rblex.h: a tokenizer for the subset of Ruby that Rails schema dumps
 * use: comments (# and =begin/=end), strings with escapes ("", '',
 * adjacent literals are the parser's business), heredocs (<<ID, <<-ID,
 * <<~ID, quoted IDs), symbols (:a, :"a b"), labels (a:, "a":), numbers
 * with underscores, constants, identifiers, brackets, ->, =>, ::, and
 * newlines (significant).  Tokens are produced on demand; decoded
 * string values live in the caller's arena.
 *
 * Fatal errors (unterminated string, heredoc or bracket, mismatched
 * bracket, bad escape) longjmp to l->fail after writing s->err; the
 * parser sets that jump buffer; rblex_free() then still frees the
 * scratch buffers, so a failed load leaks nothing.  Bracket nesting is checked here, so
 * the parser can skip an unknown statement without losing track.
 */
#ifndef RBLEX_H
#define RBLEX_H

#include <setjmp.h>

#include "buf.h"

enum tok_type {
	T_EOF, T_NL, T_IDENT, T_CONST, T_LABEL, T_STRING, T_SYMBOL,
	T_INT, T_FLOAT, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_LBRACE,
	T_RBRACE, T_COMMA, T_DOT, T_COLON2, T_ROCKET, T_LAMBDA, T_PIPE,
	T_MINUS, T_SEMI, T_OTHER
};

struct tok {
	enum tok_type	 type;
	const char	*s;		/* value: decoded for STRING, LABEL,
					   SYMBOL; raw text otherwise */
	size_t		 n;
	int		 line, col;
	int		 space;		/* whitespace before it */
	int		 interp;	/* a string with a literal #{ */
};

#define RBLEX_MAXDEPTH	256

struct rblex {
	struct schema	*s;
	struct arena	*a;		/* token strings go here */
	const char	*p, *end;
	const char	*bol;		/* start of the current line */
	int		 line;
	const char	*skip;		/* heredoc bodies end here */
	int		 skiplines;
	int		 depth;		/* open brackets */
	char		 open[RBLEX_MAXDEPTH];
	int		 oline[RBLEX_MAXDEPTH], ocol[RBLEX_MAXDEPTH];
	jmp_buf		*fail;
	struct buf	 tmp, tmp2;	/* scratch; rblex_free releases */
};

void	rblex_init(struct rblex *, struct schema *, const char *, size_t,
	    jmp_buf *);
void	rblex_free(struct rblex *);
void	rblex_next(struct rblex *, struct tok *);
const char *rblex_tokname(const struct tok *, char *, size_t);
__attribute__((__noreturn__)) void
	rblex_fatal(struct rblex *, int, int, const char *, ...)
	    __attribute__((__format__(__printf__, 4, 5)));

#endif
