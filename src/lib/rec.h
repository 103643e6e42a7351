/*
 * rec.h: helpers for the stages that read schema records
 * (sluice-records(5)) as JSON Lines: reading all of stdin, splitting
 * lines, checking each record's version and kind, and the TypeScript
 * spelling of names and strings that typemap, relations and render
 * share.  Errors exit with EX_DATAERR (65) and a "name:line:col:"
 * message, before the caller has written anything.
 */
#ifndef REC_H
#define REC_H

#include <stddef.h>

#include "json.h"

#define REC_VERSION	1

struct buf;

/* all of fd into b; exits on a read error */
void	 rec_slurp(int, struct buf *);

/*
 * Reading a stream one line at a time in a buffer that is reused, so a
 * stage that needs one record at a time touches a few pages, not a
 * copy of its whole input.  Zeroed with fd set, it is ready.
 */
struct recin {
	int		 fd;
	struct buf	*b;		/* owned; rec_done frees it */
	size_t		 off;		/* where the next line starts */
	size_t		 scan;		/* searched for \n up to here */
	int		 eof;
};
/* the next line (no \n or \r\n): 1, or 0 at the end; it stays valid
   until the next call; exits 74 on a read error */
int	 rec_next(struct recin *, const char **, size_t *);
void	 rec_done(struct recin *);
/*
 * Reading a stream a line at a time where every line stays where it was
 * read, for a stage that keeps what points into its records while it
 * reads the rest (relations, render --all): chunks that never move, a
 * line cut by a chunk's end going to the next; each chunk's bytes end
 * with a NUL.  Zeroed with fd set, it is ready; the lines live until
 * rec_keep_done.
 */
struct reckeep {
	int		 fd;
	char		*p;		/* the chunk being filled */
	size_t		 cap, len;	/* its size and its bytes */
	size_t		 off;		/* where the next line starts */
	size_t		 scan;		/* searched for a newline up to here */
	int		 eof;
	char		**full;		/* the chunks filled before */
	size_t		 nfull;
};
/* the next line (no \n or \r\n): 1, or 0 at the end; exits 74 on a
   read error */
int	 rec_keep_next(struct reckeep *, const char **, size_t *);
void	 rec_keep_done(struct reckeep *);
/* writes b out and empties it once it holds REC_CHUNK bytes or more */
#define REC_CHUNK	65536
void	 rec_spill(struct buf *);
/* next line of [*p, e): its start and length (no \n); 0 at the end */
int	 rec_line(const char **, const char *, const char **, size_t *);
/* parse one line as a record; exits 65 unless it is an object with a
   known "v" and a string "kind"; returns the kind token */
int	 rec_parse(struct json *, const char *, const char *, size_t, int);
/* exits 65: obj's member key, a string, is missing ("WHAT without a
   "key"") or is not a string ("key": expected a string, found ...) */
void	 rec_str_errx(const struct json *, int, const char *, const char *)
	    __attribute__((__noreturn__));
/* write b to stdout; exits 74 on a write error */
void	 rec_flush(const struct buf *);

/* a TypeScript string literal in single quotes */
void	 ts_quote(struct buf *, const char *, size_t);
/* 1 when s is a valid identifier ([A-Za-z_$][A-Za-z0-9_$]*) and a
   usable object key (not __proto__) */
int	 ts_is_ident(const char *);
/* s made an identifier: runs of other characters become "_";
   __proto__ becomes proto_ */
void	 ts_ident(struct buf *, const char *);

#endif
