/*
 * sqlfile.h: read the sqlite_schema table straight from a SQLite
 * database file (sqlfile.c), without libsqlite3.
 */
#ifndef SQLFILE_H
#define SQLFILE_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct spill;

/* one row of sqlite_schema; NULL for an SQL NULL.  With a spill for
   the text (sqlfile.text), sql is NULL and the text is there: sqllen
   bytes at sqloff (spilled 1) */
struct sqlrow {
	const char	*type, *name, *tbl, *sql;
	size_t		 sqloff, sqllen;
	int		 spilled;
	int		 virt;		/* spilled: what sqlfile.virt said */
};

/*
 * The database: an image in memory (mem, len), or else the file open
 * on fd with size len.  npages and the rest are filled by
 * sqlfile_schema from the header.
 */
struct sqlfile {
	const unsigned char	*mem;
	int			 fd;
	uint64_t		 len;
	struct spill		*text;	/* for the sql column, or NULL */
	/* with text: asked of each statement as it is read (len bytes,
	   not NUL-terminated) */
	int			(*virt)(const char *, size_t);
};

/*
 * The rows of sqlite_schema in rowid order into *rows (malloc'd, the
 * caller frees it; the strings are in the arena): their count, or -1
 * if the file is damaged or uses what this reader does not handle
 * (UTF-16, a newer format), with *why saying what (a static string).
 * Never crashes or loops on a damaged file: -1 instead.
 */
int	sqlfile_schema(const struct sqlfile *, struct arena *,
	    struct sqlrow **rows, const char **why);

#endif
