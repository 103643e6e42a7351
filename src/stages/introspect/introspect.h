/*
 * introspect.h: the schema model of the introspect stage, shared by its
 * front-ends (sqlite.c, schemarb.c, pgsql.c for structure.sql and
 * pglive.c for live PostgreSQL: each fills a struct schema and returns
 * 0, or -1 with s->err set) and by the record writer (record.c).
 *
 * Everything hanging off a struct schema lives in its arena and dies
 * with schema_free(); nothing in the model is freed one by one.  Lists
 * keep declaration order (STAILQ, appended at the tail), so the output
 * follows the source.  Limits: names are C strings (a NUL inside a
 * quoted name is refused by the front-ends).
 */
#ifndef INTROSPECT_H
#define INTROSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#define RECORD_VERSION	1

struct buf;

/* bump allocator: chunks freed together by arena_free */
struct arena {
	char		*cur;
	char		*end;
	void		*chunks;	/* singly linked through word 0 */
	size_t		 total;
};

void	*arena_alloc(struct arena *, size_t);	/* zeroed */
char	*arena_strndup(struct arena *, const char *, size_t);
char	*arena_strdup(struct arena *, const char *);
char	*arena_printf(struct arena *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	 arena_free(struct arena *);

/* stack discipline: release frees all allocated since the mark */
struct arena_mark {
	void		*chunks;
	char		*cur, *end;
};
void	 arena_mark(const struct arena *, struct arena_mark *);
void	 arena_release(struct arena *, const struct arena_mark *);

/*
 * A literal value (schema.rb Ruby values, SQL literals): kept as
 * written so the writer can print it as JSON.  Numbers keep their text.
 */
enum val_kind {
	V_NIL, V_TRUE, V_FALSE, V_NUM, V_STR, V_SYM, V_ARR, V_HASH,
	V_LAMBDA, V_CONST
};

struct val {
	enum val_kind	 kind;
	int		 nkid;
	int		 line, col;
	const char	*s;		/* NUM, STR, SYM, CONST: text */
	size_t		 n;
	struct val	*kid;		/* ARR items; HASH key, value, ...;
					   LAMBDA body */
	struct val	*next;		/* sibling */
};

/* a list of names, e.g. index or key columns */
struct val	*val_copy(struct arena *, const struct val *);
struct schema;
/* a copy for the model: scalars shared with equal ones, see model.c */
struct val	*val_share(struct schema *, const struct val *);

struct strv {
	const char	**v;
	int		  n;
};

/*
 * What few columns have, kept apart so that a column is small (a
 * schema has many): read it with CX(c), which gives colx_none (every
 * field none) for a column without; write it through colx(s, c),
 * which makes it on first use.  Set a field only to a value.
 */
struct colx {
	int64_t		 limit, precision, scale;	/* -1: none */
	const char	*dflt_expr;	/* expression default or NULL */
	const char	*enum_name;
	const char	*collation;
	const char	*comment;
	const char	*gen_expr;	/* generated column, or NULL */
	struct val	*options;	/* HASH of other known options */
	int		 gen_stored;
};

struct column {
	STAILQ_ENTRY(column) link;
	const char	*name;
	const char	*type;		/* normalized Rails type */
	const char	*sql_type;	/* as declared */
	struct val	*dflt;		/* literal default or NULL */
	struct colx	*x;		/* NULL: none of those */
	int		 line;
	unsigned char	 notnull;
	unsigned char	 array;
	unsigned char	 auto_inc;
};

extern const struct colx colx_none;
#define CX(c)	((c)->x != NULL ? (const struct colx *)(c)->x : &colx_none)
struct schema;
struct colx	*colx(struct schema *, struct column *);
/* a number field of the colx, made only for a value other than -1 */
#define SETX(s, c, f, v)	do {					\
	int64_t v_ = (v);						\
	if (v_ != -1 || (c)->x != NULL)					\
		colx((s), (c))->f = v_;					\
} while (0)
/* a pointer field of the colx back to none */
#define CLEARX(c, f)	do {						\
	if ((c)->x != NULL)						\
		(c)->x->f = NULL;					\
} while (0)

/* what few indexes have: as struct colx, read IXX(i), write ixx(s, i) */
struct ixx {
	const char	*expr;		/* instead of columns */
	const char	*where;
	const char	*using;
	struct val	*order;		/* HASH, STR/SYM, or NULL */
	struct val	*options;	/* HASH of other known options */
};

struct index {
	STAILQ_ENTRY(index) link;
	const char	*name;
	struct strv	 cols;		/* or expr */
	struct ixx	*x;		/* NULL: none of those */
	int		 unique;
	int		 line;
};

/*
 * An index name that is Rails' default for its table and columns,
 * "index_<table>_on_<col>[_and_<col>...]" (most are): not stored,
 * the writer spells it out.
 */
extern const char index_default_name[];

extern const struct ixx ixx_none;
#define IXX(i)	((i)->x != NULL ? (const struct ixx *)(i)->x : &ixx_none)
struct ixx	*ixx(struct schema *, struct index *);
/* a field of the ixx, made only for a value other than NULL */
#define SETIX(s, i, f, v)	do {					\
	__typeof__((i)->x->f) v_ = (v);					\
	if (v_ != NULL || (i)->x != NULL)				\
		ixx((s), (i))->f = v_;					\
} while (0)

struct fkey {
	STAILQ_ENTRY(fkey) link;
	const char	*name;
	struct strv	 cols;
	const char	*to_schema;
	const char	*to_table;
	struct strv	 to_cols;
	const char	*on_delete;
	const char	*on_update;
	const char	*deferrable;
	int		 validate;
	int		 line;
};

struct check {
	STAILQ_ENTRY(check) link;
	const char	*name;
	const char	*expr;
	const char	*column;	/* column constraint, or NULL */
	int		 validate;
	int		 line;
};

enum rec_kind { REC_TABLE, REC_VIEW, REC_ENUM };

/* one output record: a table, a view or an enum type */
struct table {
	STAILQ_ENTRY(table) link;
	struct table	*hnext;		/* hash chain */
	const char	*key;		/* "schema.name" or "name" */
	const char	*schema;	/* NULL: the default namespace */
	const char	*name;
	const char	*comment;
	struct strv	 pk;
	struct strv	 values;	/* REC_ENUM */
	const char	*sql;		/* CREATE statement, if known */
	int		 seq;		/* position in schema->recs */
	int		 ncols;
	STAILQ_HEAD(, column) cols;
	STAILQ_HEAD(, index) idx;
	STAILQ_HEAD(, fkey) fks;
	STAILQ_HEAD(, check) checks;
	enum rec_kind	 kind;
	int		 line;
	int		 loaded;	/* a front-end's: read in full */
	int		 emitted;	/* written by record_emit */
};

enum src_kind { SRC_NONE, SRC_SQLITE, SRC_SCHEMARB, SRC_PGSQL, SRC_PGLIVE };

struct schema {
	struct arena	 a;
	/*
	 * What outlives a front-end's work on one table: interned strings,
	 * shared values, the primary keys the SQLite front-end keeps (the
	 * part of a that is a table's alone may be given back once its
	 * record is written)
	 */
	struct arena	 keep;
	const char	*file;		/* name for messages and records */
	enum src_kind	 kind;
	int		 views;		/* --views */
	int		 quiet;		/* do not keep warnings */
	int		 nwarn;
	char		*warn;		/* warning lines, printed on success */
	size_t		 warnlen, warncap;
	STAILQ_HEAD(, table) recs;
	struct table	**hash;		/* tables and views by key */
	size_t		 hcap, hlen;
	struct table	**ehash;	/* enums by key */
	size_t		 ecap, elen;
	int		 nrecs;
	/*
	 * A source mapped from its file: the front-end calls
	 * schema_source_done() with how far it has read, and the pages
	 * before that leave memory (they are read again from the file
	 * if ever touched: only memory, never the result, depends on
	 * it).  map is NULL for a source read into memory.
	 */
	const char	*map;
	size_t		 maplen, mapdone;
	/* schema_intern's set of strings, and val_share's of values */
	const char	**istr;
	size_t		 icap, ilen;
	struct val	**ival;
	size_t		 vcap, vlen;
	char		 err[512];	/* "file:line:col: message" */
	/*
	 * Records written as the front-end finishes them (record_emit),
	 * when the caller sets out: a front-end that can stream them
	 * calls it; the caller writes the rest at the end
	 */
	struct buf	*out;
	int		 out_fd, out_errno;
};

void		 schema_init(struct schema *, const char *);
void		 schema_free(struct schema *);
struct table	*schema_add(struct schema *, enum rec_kind, const char *,
		    int);
struct table	*schema_find(const struct schema *, const char *);
struct table	*schema_find_enum(const struct schema *, const char *);
void		 schema_warn(struct schema *, int, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));
void		 schema_print_warnings(const struct schema *);
void		 schema_source_done(struct schema *, const char *);
const char	*schema_intern(struct schema *, const char *, size_t);
int		 schema_fail(struct schema *, int, int, const char *, ...)
		    __attribute__((__format__(__printf__, 4, 5)));
struct column	*table_add_column(struct schema *, struct table *,
		    const char *, int);
struct column	*table_column(const struct table *, const char *);
struct index	*table_add_index(struct schema *, struct table *, int);
struct fkey	*table_add_fkey(struct schema *, struct table *, int);
struct check	*table_add_check(struct schema *, struct table *, int);
void		 strv_add(struct arena *, struct strv *, const char *);
int		 strv_eq(const struct strv *, const struct strv *);

/* front-ends: 0, or -1 with s->err set; never exit */
int		 sqlite_load(struct schema *, const char *, const void *,
		    size_t);
int		 schemarb_load(struct schema *, const char *, size_t);
int		 pgsql_load(struct schema *, const char *, size_t);

/*
 * Catalog text of a live database read with structure.sql's rules:
 * SNIP_TYPE format_type() into c, SNIP_DEFAULT and SNIP_GENERATED
 * pg_get_expr() into c, SNIP_CONSTRAINT pg_get_constraintdef() of the
 * constraint name into t, SNIP_INDEX pg_get_indexdef() into its table;
 * SNIP_FINISH once at the end (enum columns).  A piece that does not
 * parse is a warning; -1 (s->err set) only for broken lexical syntax.
 */
enum snippet {
	SNIP_TYPE, SNIP_DEFAULT, SNIP_GENERATED, SNIP_CONSTRAINT, SNIP_INDEX,
	SNIP_FINISH
};
int		 pgsql_snippet(struct schema *, enum snippet, struct table *,
		    struct column *, const char *, const char *);

/*
 * Live PostgreSQL (pglive.c): conninfo is a URL or keyword string;
 * schemas the namespaces to read.  libpq is loaded with dlopen(3) on
 * first use.  On failure: -1, s->err set, *status a sysexits(3) code.
 */
int		 pglive_load(struct schema *, const char *, const struct strv *,
		    int *);

/* Rails' inflections (src/lib/inflect.h), the result in the arena */
const char	*arena_singular(struct arena *, const char *);
const char	*arena_plural(struct arena *, const char *);

/*
 * record.c: one JSON line per record, appended to the buffer;
 * record_emit appends it to s->out (if set), writes that to s->out_fd
 * once it holds 16 KiB (an error in s->out_errno) and marks the
 * record emitted; record_flush writes what s->out holds
 */
void		 record_write(struct buf *, const struct schema *,
		    const struct table *);
void		 record_emit(struct schema *, struct table *);
int		 record_flush(struct schema *);

#endif
