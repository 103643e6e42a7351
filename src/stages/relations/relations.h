/*
 * relations.h: the relations stage's view of one schema record: the
 * few facts it needs of a table (names, columns, primary key, unique
 * columns, foreign keys), read by scan.c in one pass over the line or,
 * when that pass declines, by main.c from json.c's tokens.  Strings
 * are spans: a pointer and a length, not NUL-terminated; scan.c's
 * point into the line, main.c's into its arena.  struct scan owns its
 * arrays and reuses them from one record to the next.
 */
#ifndef RELATIONS_H
#define RELATIONS_H

#include <stddef.h>

struct span {
	const char	*p;		/* NULL: absent or not a string */
	size_t		 len;
};

struct scol {
	struct span	 name;
	struct span	 ts;		/* ts_name, or p NULL */
	struct span	 type, ts_base;	/* or p NULL */
	int		 zero;		/* in the Zero schema */
};

struct sfk {
	struct span	 to, tos;	/* to_table, to_schema */
	int		 col, ncol;	/* columns: str[col..col+ncol) */
	int		 ucol, nucol;	/* to_columns */
	/* "<stdin>:L:C" of an element that is not a string, or NULL */
	const char	*cerr, *uerr;
};

struct scan {
	struct span	 kind, name, schema, ts;
	size_t		 end;		/* offset of the final '}' */
	struct scol	*col;
	int		 ncol, capcol;
	struct span	*str;		/* the lists' strings */
	int		 nstr, capstr;
	int		 pk, npk;	/* primary_key: str[pk..pk+npk) */
	struct span	*uniq;		/* alone in a unique index */
	int		 nuniq, capuniq;
	struct sfk	*fk;
	int		 nfk, capfk;

	/* scan.c's own: keys of the open objects, checked signatures */
	char		*keys;
	size_t		 nkeys, capkeys;
	int		 hascols;	/* a "columns" member was read */
	int		 bad;		/* one for json.c to read */
};

/* 0 and the facts when line is a valid record whose facts need no
   decoding or message; -1 when json.c must read it (it may be fine) */
int	 scan_record(struct scan *, const char *, size_t);
/* entries appended by the token path */
int	 scan_str(struct scan *, const char *, size_t);
struct scol *scan_col(struct scan *);
struct span *scan_uniq(struct scan *);
struct sfk *scan_fk(struct scan *);
/* empties the facts (keeps the arrays) */
void	 scan_reset(struct scan *);

#endif
