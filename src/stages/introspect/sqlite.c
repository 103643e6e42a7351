/*
 * sqlite.c: the SQLite front-end of introspect.  Exports sqlite_load():
 * read sqlite_schema of a database file (under SQLite's shared lock) or
 * of one read from stdin with sqlfile.c, without libsqlite3 (see
 * open_db for when libsqlite3 reads it instead), then the schema from
 * the CREATE statements it holds.  A table's columns (declared types, NOT
 * NULL, DEFAULT text, primary key) and foreign keys are read from its
 * stored CREATE TABLE text by a small tokenizer, the way SQLite's own
 * parser keeps them, so PRAGMA table_xinfo and foreign_key_list are
 * not needed (a PRAGMA is a statement prepared per table: most of the
 * cost); a text with anything the tokenizer is not sure of (WITHOUT
 * ROWID, STRICT, GENERATED ALWAYS, x'' or expression defaults without
 * parentheses, comments inside a default) is read through the pragmas
 * instead, and so are views.  Indexes likewise come from CREATE INDEX
 * unless automatic or on expressions (index_list, index_xinfo).  The
 * text also gives what pragmas do not tell: AUTOINCREMENT, COLLATE,
 * CHECK, generated column expressions, index WHERE and expressions,
 * foreign key names.  Each table's record is written as soon as it is
 * read (record_emit), and what was allocated for it then goes back
 * (release), so memory holds the statements and one table at a time.
 * Declared types map to Rails types the way Rails'
 * SQLite adapter does, then by SQLite affinity.  Skipped: sqlite_*
 * tables, virtual tables and their shadow tables, views (unless
 * --views).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "introspect.h"
#include "sqlfile.h"
#include "spill.h"
#include "banned.h"

/*
 * libsqlite3 is not linked: it is loaded with dlopen(3) when a SQLite
 * source first needs it (ensure_db), so the stage runs without it
 * (some hundred KiB of memory, and SQLite's parse of every CREATE
 * statement on its first query) for schema.rb, SQL sources and SQLite
 * databases whose statements the text reader is sure of.  The calls
 * below go through this table.
 */
#define LIBSQLITE	"libsqlite3.so.0"

static struct {
	__typeof__(sqlite3_open_v2)	*open_v2;
	__typeof__(sqlite3_close)	*close;
	__typeof__(sqlite3_errmsg)	*errmsg;
	__typeof__(sqlite3_prepare_v2)	*prepare_v2;
	__typeof__(sqlite3_step)	*step;
	__typeof__(sqlite3_finalize)	*finalize;
	__typeof__(sqlite3_column_int)	*column_int;
	__typeof__(sqlite3_column_text)	*column_text;
	__typeof__(sqlite3_deserialize)	*deserialize;
	__typeof__(sqlite3_malloc64)	*malloc64;
	__typeof__(sqlite3_busy_timeout)	*busy_timeout;
} sq;

static const struct {
	const char	*name;
	size_t		 off;
} sqsyms[] = {
	{ "sqlite3_open_v2", offsetof(__typeof__(sq), open_v2) },
	{ "sqlite3_close", offsetof(__typeof__(sq), close) },
	{ "sqlite3_errmsg", offsetof(__typeof__(sq), errmsg) },
	{ "sqlite3_prepare_v2", offsetof(__typeof__(sq), prepare_v2) },
	{ "sqlite3_step", offsetof(__typeof__(sq), step) },
	{ "sqlite3_finalize", offsetof(__typeof__(sq), finalize) },
	{ "sqlite3_column_int", offsetof(__typeof__(sq), column_int) },
	{ "sqlite3_column_text", offsetof(__typeof__(sq), column_text) },
	{ "sqlite3_deserialize", offsetof(__typeof__(sq), deserialize) },
	{ "sqlite3_malloc64", offsetof(__typeof__(sq), malloc64) },
	{ "sqlite3_busy_timeout", offsetof(__typeof__(sq), busy_timeout) },
};

#define sqlite3_open_v2		(*sq.open_v2)
#define sqlite3_close		(*sq.close)
#define sqlite3_errmsg		(*sq.errmsg)
#define sqlite3_prepare_v2	(*sq.prepare_v2)
#define sqlite3_step		(*sq.step)
#define sqlite3_finalize	(*sq.finalize)
#define sqlite3_column_int	(*sq.column_int)
#define sqlite3_column_text	(*sq.column_text)
#define sqlite3_deserialize	(*sq.deserialize)
#define sqlite3_malloc64	(*sq.malloc64)
#define sqlite3_busy_timeout	(*sq.busy_timeout)

static int
load_libsqlite(struct schema *s)
{
	void	*h;
	size_t	 i;

	if (sq.open_v2 != NULL)
		return 0;
	if ((h = dlopen(LIBSQLITE, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return schema_fail(s, 0, 0, "cannot load %s: %s", LIBSQLITE,
		    dlerror());
	for (i = 0; i < sizeof(sqsyms) / sizeof(sqsyms[0]); i++)
		if ((*(void **)((char *)&sq + sqsyms[i].off) =
		    dlsym(h, sqsyms[i].name)) == NULL) {
			memset(&sq, 0, sizeof(sq));
			return schema_fail(s, 0, 0, "%s: no symbol '%s'",
			    LIBSQLITE, sqsyms[i].name);
		}
	return 0;
}

struct sqlctx {
	struct schema	*s;
	sqlite3		*db;		/* opened on first use: ensure_db */
	struct buf	 q;		/* the text of a PRAGMA */
	const char	*path;
	const void	*data;		/* the database read from stdin */
	size_t		 len;
	int		 fd;		/* the file, under a shared lock */
	const char	*live;		/* why SQLite's own locking: open_db */
	int		 wal;		/* in WAL mode */
	unsigned char	 change[4];	/* the file change counter */
	int		 nloaded;	/* tables and views read: load_table */
	/* the file's CREATE statements wait in a spill (the rows keep
	   where), each read into the arena when its table is loaded */
	struct spill	 text;
	const struct sqlrow *rows;
	int		*rowof;		/* a table's row by seq, or -1 */
	int		 nrowof;
};

/* beyond this much, the CREATE statements wait in TMPDIR */
#define TEXT_MEM	(64 * 1024)

/* --- a tokenizer for stored CREATE statements ---------------------- */

enum { Q_END, Q_WORD, Q_QID, Q_STR, Q_NUM, Q_PUNCT };

struct qtok {
	int		 type;
	const char	*s;		/* raw text */
	size_t		 n;
};

static const char *
qnext(const char *p, struct qtok *t)
{
	const char	*q;
	int		 c;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/');
			    p++)
				;
			if (*p != '\0')
				p += 2;
		} else
			break;
	}
	t->s = p;
	c = (unsigned char)*p;
	if (c == '\0') {
		t->type = Q_END;
		t->n = 0;
		return p;
	}
	if (c == '\'' || c == '"' || c == '`' || c == '[') {
		int close = c == '[' ? ']' : c;

		for (q = p + 1; *q != '\0'; q++)
			if (*q == close) {
				if (close != ']' && q[1] == close) {
					q++;
					continue;
				}
				break;
			}
		if (*q != '\0')
			q++;
		t->type = c == '\'' ? Q_STR : Q_QID;
		t->n = (size_t)(q - p);
		return q;
	}
	if (isalpha(c) || c == '_' || c >= 0x80) {
		for (q = p; isalnum((unsigned char)*q) || *q == '_' || *q == '$' ||
		    (unsigned char)*q >= 0x80; q++)
			;
		t->type = Q_WORD;
		t->n = (size_t)(q - p);
		return q;
	}
	if (isdigit(c) || (c == '.' && isdigit((unsigned char)p[1]))) {
		for (q = p; isalnum((unsigned char)*q) || *q == '.' ||
		    ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E'));
		    q++)
			;
		t->type = Q_NUM;
		t->n = (size_t)(q - p);
		return q;
	}
	t->type = Q_PUNCT;
	t->n = 1;
	return p + 1;
}

static inline __attribute__((__always_inline__)) int
qis(const struct qtok *t, const char *w)
{
	/* inlined, strlen of a literal is a constant; a first byte that
	   differs even folded to lower case (for letters, all it does)
	   rules a word out before the call */
	return t->type == Q_WORD && t->n == strlen(w) &&
	    ((unsigned char)t->s[0] | 0x20) == ((unsigned char)w[0] | 0x20) &&
	    strncasecmp(t->s, w, t->n) == 0;
}

static int
qpunct(const struct qtok *t, int c)
{
	return t->type == Q_PUNCT && *t->s == c;
}

/* an identifier token, unquoted, straight into the arena */
static char *
qident(struct schema *s, const struct qtok *t)
{
	char		*r;
	size_t		 i, o = 0, n;
	int		 q;

	if (t->type != Q_QID && t->type != Q_STR)
		return arena_strndup(&s->a, t->s, t->n);
	q = t->s[0] == '[' ? ']' : t->s[0];
	n = t->n;
	if (n >= 2 && t->s[n - 1] == q)
		n--;			/* the closing quote */
	r = arena_alloc(&s->a, n);
	for (i = 1; i < n; i++) {
		if (t->s[i] == q && q != ']' && i + 1 < n && t->s[i + 1] == q)
			i++;
		r[o++] = t->s[i];
	}
	r[o] = '\0';
	return r;
}

/* from just after '(' to its ')': the text inside; *pp after ')' */
static char *
qparens(struct schema *s, const char **pp)
{
	struct qtok	 t;
	const char	*p = *pp, *start = p, *last = p;
	int		 depth = 1;

	for (;;) {
		p = qnext(p, &t);
		if (t.type == Q_END)
			break;
		if (qpunct(&t, '('))
			depth++;
		else if (qpunct(&t, ')') && --depth == 0)
			break;
		last = p;
	}
	*pp = p;
	while (isspace((unsigned char)*start))
		start++;
	return arena_strndup(&s->a, start, last > start ?
	    (size_t)(last - start) : 0);
}

/*
 * What the CREATE TABLE text adds to the pragmas.  Also the foreign
 * keys as declared: refs counts REFERENCES clauses (no clause, no need
 * to ask PRAGMA foreign_key_list) and fkname their CONSTRAINT names
 * (NULL if unnamed) in declaration order, at depth 0 only.
 */
struct tinfo {
	int		 refs;
	struct strv	 fkname;
	/*
	 * create: make the columns (table_column_metadata() adds the
	 * declared types and NOT NULL) instead of annotating those of
	 * PRAGMA table_xinfo; then dflt has each column's DEFAULT text
	 * as SQLite keeps it (NULL: none), pk the primary key, and ok
	 * says whether the text was all understood.
	 */
	int		 create, ok, unsure, nfk;
	int		 pk_desc;	/* a column's PRIMARY KEY DESC: no
					   rowid alias (see rowid_alias) */
	struct strv	 dflt, pk, fkcols;
};

/*
 * The DEFAULT of a column as PRAGMA table_xinfo shows it: a single
 * literal or word, a signed number (the sign's blanks kept), or the
 * inside of parentheses without its outer blanks.  NULL if another
 * form (or a comment inside) makes it uncertain.
 */
static const char *
default_text(struct schema *s, const char **pp)
{
	struct qtok	 t, u;
	const char	*p = *pp, *start, *end;

	p = qnext(p, &t);
	start = t.s;
	if (qpunct(&t, '(')) {
		*pp = p;
		(void)qparens(s, pp);
		if ((*pp)[-1] != ')')
			return NULL;
		end = *pp - 1;
		start = p;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
	} else {
		if (qpunct(&t, '-') || qpunct(&t, '+')) {
			p = qnext(p, &t);
			if (t.type != Q_NUM)
				return NULL;
		} else if (t.type == Q_WORD) {
			if (*p == '\'' || *p == '"' || *p == '(' || *p == '.')
				return NULL;	/* x'00', a call */
		} else if (t.type != Q_NUM && t.type != Q_STR &&
		    !(t.type == Q_QID && *t.s == '"'))
			return NULL;
		end = *pp = p;
		(void)qnext(p, &u);
		if (u.type == Q_PUNCT && !qpunct(&u, ',') && !qpunct(&u, ')'))
			return NULL;	/* an operator: an expression */
	}
	for (p = start; p + 1 < end; p++)
		if ((p[0] == '/' && p[1] == '*') || (p[0] == '-' && p[1] == '-'))
			return NULL;
	return arena_strndup(&s->a, start, (size_t)(end - start));
}

/*
 * REFERENCES table [(columns)]: the parent and its columns as PRAGMA
 * foreign_key_list gives them (unquoted, as written); 0 if uncertain.
 */
static int
fk_target(struct schema *s, const char **pp, struct fkey *f)
{
	struct qtok	 t;
	const char	*p = *pp, *q;

	p = qnext(p, &t);
	if (t.type != Q_WORD && t.type != Q_QID && t.type != Q_STR)
		return 0;
	f->to_table = qident(s, &t);
	q = qnext(p, &t);
	if (qpunct(&t, '(')) {
		p = q;
		for (;;) {
			p = qnext(p, &t);
			if (t.type != Q_WORD && t.type != Q_QID &&
			    t.type != Q_STR)
				return 0;
			strv_add(&s->a, &f->to_cols, qident(s, &t));
			p = qnext(p, &t);
			if (qpunct(&t, ')'))
				break;
			if (!qpunct(&t, ','))
				return 0;
		}
		if (f->to_cols.n != f->cols.n)
			return 0;
	}
	*pp = p;
	return 1;
}

/* after ON: DELETE or UPDATE and the action, as fk_action maps it */
static const char *
fk_action_clause(const char *p, struct fkey *f)
{
	struct qtok	 t, u;
	const char	**which, *a;
	const char	*q;

	q = qnext(p, &t);
	if (qis(&t, "DELETE"))
		which = &f->on_delete;
	else if (qis(&t, "UPDATE"))
		which = &f->on_update;
	else
		return p;		/* ON CONFLICT: not ours */
	q = qnext(q, &t);
	if (qis(&t, "SET")) {
		q = qnext(q, &u);
		a = qis(&u, "NULL") ? "nullify" : qis(&u, "DEFAULT") ?
		    "set_default" : NULL;
	} else if (qis(&t, "NO")) {
		q = qnext(q, &u);
		a = NULL;
	} else if (qis(&t, "CASCADE"))
		a = "cascade";
	else if (qis(&t, "RESTRICT"))
		a = "restrict";
	else
		a = NULL;
	*which = a;
	return q;
}

/* a word that starts a column constraint, so ends the type */
static int
cons_word(const struct qtok *t)
{
	static const char *const w[] = {
		"CONSTRAINT", "DEFAULT", "NULL", "NOT", "PRIMARY", "UNIQUE",
		"CHECK", "REFERENCES", "COLLATE", "GENERATED", "AS", NULL
	};
	const char *const *k;

	for (k = w; *k != NULL; k++)
		if (qis(t, *k))
			return 1;
	return 0;
}

/*
 * The declared type after a column name, as SQLite keeps it: the text
 * from its first word to its last, or to the ')' of "(p[,s])", blanks
 * and all; a type that is one quoted token loses its quotes.  NULL if
 * uncertain (other quoting, GENERATED ALWAYS folded into the type).
 */
static const char *
type_text(struct schema *s, const char **pp)
{
	/* what SQLite keeps as a type code, shown in upper case */
	static const char *const std[] = {
		"ANY", "BLOB", "INT", "INTEGER", "REAL", "TEXT", NULL
	};
	const char *const *k;
	struct qtok	 t, first;
	const char	*p = *pp, *q, *start = NULL, *end = NULL;
	int		 n = 0;

	for (;;) {
		q = qnext(p, &t);
		if (!((t.type == Q_WORD && !cons_word(&t)) ||
		    t.type == Q_QID || t.type == Q_STR))
			break;
		if (n++ == 0) {
			first = t;
			start = t.s;
		}
		end = p = q;
	}
	if (n > 0 && qpunct(&t, '(')) {
		(void)qparens(s, &q);
		if (q[-1] != ')')
			return NULL;
		end = p = q;
		n++;
	}
	if (qis(&t, "GENERATED"))
		return NULL;
	*pp = p;
	if (n == 0)
		return "";
	if (*start == '"' || *start == '\'' || *start == '[' ||
	    *start == '`')
		return n == 1 ? qident(s, &first) : NULL;
	/* the first byte, folded, rules most names out (as in qis) */
	for (k = std; *k != NULL; k++)
		if (((unsigned char)*start | 0x20) ==
		    ((unsigned char)**k | 0x20) &&
		    strlen(*k) == (size_t)(end - start) &&
		    strncasecmp(start, *k, (size_t)(end - start)) == 0)
			return *k;
	return arena_strndup(&s->a, start, (size_t)(end - start));
}

/* the columns of a PRIMARY KEY (list), as declared; 0 if uncertain */
static int
pk_list(struct schema *s, struct table *tb, const char **pp,
    struct strv *pk)
{
	struct qtok	 t;
	struct column	*c, *found;
	const char	*p = *pp, *name;

	for (;;) {
		p = qnext(p, &t);
		if (t.type != Q_WORD && t.type != Q_QID)
			return 0;
		name = qident(s, &t);
		found = NULL;
		STAILQ_FOREACH(c, &tb->cols, link)
			if (strcasecmp(c->name, name) == 0)
				found = c;
		if (found == NULL)
			return 0;
		strv_add(&s->a, pk, found->name);
		p = qnext(p, &t);
		if (qis(&t, "COLLATE")) {
			p = qnext(p, &t);
			p = qnext(p, &t);
		}
		if (qis(&t, "ASC") || qis(&t, "DESC"))
			p = qnext(p, &t);
		if (qpunct(&t, ')'))
			break;
		if (!qpunct(&t, ','))
			return 0;
	}
	*pp = p;
	return 1;
}

static void
parse_create_table(struct schema *s, struct table *tb, const char *sql,
    struct tinfo *ti)
{
	struct qtok	 t;
	struct column	*col;
	struct check	*ck;
	const char	*p = sql, *cname, *named, *fkn = NULL;
	struct fkey	*fk = NULL;
	int		 depth = 0, first, infk = 0;

	ti->ok = 0;
	/* to the '(' that opens the definitions */
	for (;;) {
		p = qnext(p, &t);
		if (t.type == Q_END || qis(&t, "AS"))
			return;
		if (qpunct(&t, '('))
			break;
	}
	for (;;) {		/* one column or constraint per loop */
		col = NULL;
		cname = named = NULL;
		first = 1;
		for (;;) {
			p = qnext(p, &t);
			if (t.type == Q_END)
				return;

			if (t.type == Q_WORD && qis(&t, "REFERENCES")) {
				ti->refs++;
				if (depth == 0) {
					strv_add(&s->a, &ti->fkname,
					    infk ? fkn : named);
					if (ti->create) {
						fk = table_add_fkey(s, tb, 0);
						fk->name = infk ? fkn : named;
						if (infk)
							fk->cols = ti->fkcols;
						else if (col != NULL)
							strv_add(&s->a,
							    &fk->cols,
							    col->name);
						if (fk->cols.n == 0 ||
						    !fk_target(s, &p, fk))
							ti->unsure = 1;
						ti->nfk++;
					}
					infk = 0;
				}
			}
			if (qpunct(&t, ',') && depth == 0)
				break;
			if (qpunct(&t, ')') && depth == 0) {
				/* WITHOUT ROWID (NOT NULL keys), STRICT */
				if (ti->create && qnext(p, &t) != NULL &&
				    t.type != Q_END)
					ti->unsure = 1;
				ti->ok = 1;
				return;
			}
			if (qpunct(&t, '(')) {
				depth++;
				continue;
			}
			if (qpunct(&t, ')')) {
				depth--;
				continue;
			}
			if (depth > 0)
				continue;
			/* the name given just before, for this token only */
			fkn = infk ? fkn : named;
			named = NULL;
			if (ti->create && col != NULL && qis(&t, "DEFAULT")) {
				if ((ti->dflt.v[ti->dflt.n - 1] =
				    default_text(s, &p)) == NULL)
					ti->unsure = 1;
				continue;
			}
			if (ti->create && col != NULL && qis(&t, "NOT")) {
				if (qis((p = qnext(p, &t), &t), "NULL"))
					col->notnull = 1;
				continue;
			}
			if (ti->create && qis(&t, "PRIMARY")) {
				first = 0;
				if (ti->pk.n > 0)
					ti->unsure = 1;
				else if (col != NULL) {
					struct qtok	 k, d;

					strv_add(&s->a, &ti->pk, col->name);
					(void)qnext(qnext(p, &k), &d);
					ti->pk_desc = qis(&k, "KEY") &&
					    qis(&d, "DESC");
				} else {
					p = qnext(p, &t);	/* KEY */
					p = qnext(p, &t);
					if (!qpunct(&t, '(') ||
					    !pk_list(s, tb, &p, &ti->pk))
						ti->unsure = 1;
				}
				continue;
			}
			if (first) {
				first = 0;
				if (qis(&t, "CONSTRAINT") || qis(&t, "PRIMARY") ||
				    qis(&t, "UNIQUE") || qis(&t, "CHECK") ||
				    qis(&t, "FOREIGN"))
					;	/* a table constraint */
				else if (ti->create) {
					col = table_add_column(s, tb,
					    qident(s, &t), 0);
					strv_add(&s->a, &ti->dflt, NULL);
					if ((col->sql_type = type_text(s, &p)) ==
					    NULL) {
						ti->unsure = 1;
						col->sql_type = "";
					}
					continue;
				} else {
					col = table_column(tb, qident(s, &t));
					continue;
				}
			}
			if (qis(&t, "CONSTRAINT")) {
				p = qnext(p, &t);
				named = cname = qident(s, &t);
			} else if (qis(&t, "FOREIGN")) {
				infk = 1;
				if (ti->create) {
					memset(&ti->fkcols, 0,
					    sizeof(ti->fkcols));
					p = qnext(p, &t);	/* KEY */
					p = qnext(p, &t);
					if (!qpunct(&t, '(') ||
					    !pk_list(s, tb, &p, &ti->fkcols))
						ti->unsure = 1;
				}
			} else if (ti->create && fk != NULL && qis(&t, "ON")) {
				p = fk_action_clause(p, fk);
			} else if (qis(&t, "CHECK")) {
				p = qnext(p, &t);
				if (!qpunct(&t, '('))
					continue;
				ck = table_add_check(s, tb, 0);
				ck->name = cname;
				ck->expr = qparens(s, &p);
				ck->column = col != NULL ? col->name : NULL;
				cname = NULL;
			} else if (col != NULL && qis(&t, "COLLATE")) {
				p = qnext(p, &t);
				colx(s, col)->collation = qident(s, &t);
			} else if (col != NULL && qis(&t, "AUTOINCREMENT")) {
				col->auto_inc = 1;
			} else if (col != NULL && qis(&t, "AS")) {
				p = qnext(p, &t);
				if (!qpunct(&t, '('))
					continue;
				colx(s, col)->gen_expr = qparens(s, &p);
				col->x->gen_stored = 0;
			} else if (col != NULL && qis(&t, "STORED")) {
				colx(s, col)->gen_stored = 1;
			}
		}
	}
}

/* CREATE [UNIQUE] INDEX ... ON t (list) [WHERE expr] */
static void
parse_create_index(struct schema *s, const char *sql, char **list,
    char **where, int *unique)
{
	struct qtok	 t;
	const char	*p = sql;
	size_t		 n;

	*list = *where = NULL;
	*unique = 0;
	p = qnext(p, &t);		/* CREATE */
	p = qnext(p, &t);
	*unique = qis(&t, "UNIQUE");
	for (;;) {
		if (t.type == Q_END)
			return;
		if (qpunct(&t, '('))
			break;
		p = qnext(p, &t);
	}
	*list = qparens(s, &p);
	for (;;) {
		p = qnext(p, &t);
		if (t.type == Q_END)
			return;
		if (qis(&t, "WHERE"))
			break;
	}
	while (isspace((unsigned char)*p))
		p++;
	n = strlen(p);
	while (n > 0 && (isspace((unsigned char)p[n - 1]) || p[n - 1] == ';'))
		n--;
	*where = arena_strndup(&s->a, p, n);
}

/* --- types and defaults -------------------------------------------- */

static int
has(const char *lower, const char *w)
{
	return strstr(lower, w) != NULL;
}

/* what rails_type makes of a declared type: the type, and the
 * precision, scale or limit it sets to a and b */
#define RT_PREC		1
#define RT_SCALE	2
#define RT_LIMIT	4
struct rtype {
	const char	*type;
	int		 set;
	long long	 a, b;
};

/* Rails' SQLite adapter type map, then SQLite's affinity rules */
static void
classify(const char *decl, struct rtype *r)
{
	char		 l[128];
	const char	*paren;
	size_t		 i;
	char		*e;

	r->set = 0;
	r->a = r->b = -1;
	for (i = 0; decl[i] != '\0' && i < sizeof(l) - 1; i++)
		l[i] = (char)tolower((unsigned char)decl[i]);
	l[i] = '\0';
	if ((paren = strchr(l, '(')) != NULL) {
		r->a = strtoll(paren + 1, &e, 10);
		if (e == paren + 1)
			r->a = -1;
		else if (*e == ',' || (*e == ' ' && strchr(e, ',') != NULL)) {
			e = strchr(e, ',') + 1;
			r->b = strtoll(e, &e, 10);
		}
	}
	if (has(l, "decimal") || has(l, "numeric") || has(l, "number")) {
		if (!has(l, "number"))
			r->set = RT_PREC | RT_SCALE;
		r->type = "decimal";
	} else if (strncmp(l, "json", 4) == 0)
		r->type = "json";
	else if (has(l, "double"))
		r->type = "float";
	else if (has(l, "timestamp")) {
		r->set = RT_PREC;
		r->type = "datetime";
	} else if (has(l, "clob"))
		r->type = "text";
	else if (has(l, "blob"))
		r->type = "binary";
	else if (has(l, "int"))
		r->type = has(l, "bigint") || has(l, "int8") ? "bigint" :
		    "integer";
	else if (has(l, "float"))
		r->type = "float";
	else if (has(l, "datetime")) {
		r->set = RT_PREC;
		r->type = "datetime";
	} else if (has(l, "time")) {
		r->set = RT_PREC;
		r->type = "time";
	} else if (has(l, "date"))
		r->type = "date";
	else if (has(l, "text"))
		r->type = "text";
	else if (has(l, "binary")) {
		r->set = RT_LIMIT;
		r->type = "binary";
	} else if (has(l, "char")) {
		r->set = RT_LIMIT;
		r->type = "string";
	} else if (has(l, "bool"))
		r->type = "boolean";
	else if (has(l, "uuid"))
		r->type = "uuid";
	/* affinity: REAL, BLOB (no type), else NUMERIC */
	else if (has(l, "real") || has(l, "floa") || has(l, "doub"))
		r->type = "float";
	else if (*l == '\0')
		r->type = "binary";
	else
		r->type = "decimal";
}

/*
 * The Rails type of a declared type, setting the column's precision,
 * scale or limit from it; the few distinct declarations of a schema
 * are classified once each.
 */
static const char *
rails_type(struct schema *s, struct column *c, const char *decl)
{
	static struct {
		char		*decl;
		struct rtype	 r;
	}		 seen[256];
	static int	 nseen;
	const struct rtype *r;
	struct rtype	 one;
	unsigned	 h = 5381, k;
	const char	*p;

	for (p = decl; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	for (k = h % 256; seen[k].decl != NULL && strcmp(seen[k].decl, decl);
	    k = (k + 1) % 256)
		;
	if (seen[k].decl != NULL)
		r = &seen[k].r;
	else {
		classify(decl, &one);
		r = &one;
		if (nseen < 192) {	/* room left to find the rest */
			seen[k].decl = xstrdup(decl);
			seen[k].r = one;
			nseen++;
		}
	}
	if (r->set & RT_PREC)
		SETX(s, c, precision, r->a);
	if (r->set & RT_SCALE)
		SETX(s, c, scale, r->b);
	if (r->set & RT_LIMIT)
		SETX(s, c, limit, r->a);
	return r->type;
}

static int
sql_number(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s) && *s != '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '+' &&
		    *s != '-')
			return 0;
	return 1;
}

static void
sqlite_default(struct schema *s, struct column *c, const char *d)
{
	struct val	*v;
	struct qtok	 t;
	const char	*end;
	int		 isbool = strcmp(c->type, "boolean") == 0;

	if (d == NULL || strcasecmp(d, "NULL") == 0)
		return;
	v = arena_alloc(&s->a, sizeof(*v));
	end = qnext(d, &t);
	if (t.type == Q_STR && *end == '\0') {
		v->kind = V_STR;
		v->s = qident(s, &t);
		v->n = strlen(v->s);
		if (isbool && (strcmp(v->s, "t") == 0 ||
		    strcmp(v->s, "f") == 0))
			v->kind = *v->s == 't' ? V_TRUE : V_FALSE;
	} else if (strcasecmp(d, "TRUE") == 0 || strcasecmp(d, "FALSE") == 0)
		v->kind = tolower((unsigned char)*d) == 't' ? V_TRUE : V_FALSE;
	else if (sql_number(d)) {
		v->kind = V_NUM;
		v->s = arena_strdup(&s->a, *d == '+' ? d + 1 : d);
		v->n = strlen(v->s);
		if (isbool && (strcmp(d, "0") == 0 || strcmp(d, "1") == 0))
			v->kind = *d == '1' ? V_TRUE : V_FALSE;
	} else {
		colx(s, c)->dflt_expr = arena_strdup(&s->a, d);
		return;
	}
	c->dflt = v;
}

static const char *
fk_action(const char *a)
{
	if (a == NULL || strcasecmp(a, "NO ACTION") == 0)
		return NULL;
	if (strcasecmp(a, "CASCADE") == 0)
		return "cascade";
	if (strcasecmp(a, "SET NULL") == 0)
		return "nullify";
	if (strcasecmp(a, "RESTRICT") == 0)
		return "restrict";
	if (strcasecmp(a, "SET DEFAULT") == 0)
		return "set_default";
	return a;
}

/* --- reading the database ------------------------------------------ */

static const char *
col_text(struct schema *s, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t == NULL ? NULL : arena_strdup(&s->a, (const char *)t);
}

static int
dberr(struct sqlctx *x)
{
	if (x->live != NULL)
		return schema_fail(x->s, 0, 0, "cannot read it with %s: %s",
		    x->live, sqlite3_errmsg(x->db));
	return schema_fail(x->s, 0, 0, "not a valid SQLite database: %s",
	    sqlite3_errmsg(x->db));
}

static int	ensure_db(struct sqlctx *);

static int
prepare(struct sqlctx *x, const char *sql, sqlite3_stmt **st)
{
	if (ensure_db(x) == -1)
		return -1;
	if (sqlite3_prepare_v2(x->db, sql, -1, st, NULL) != SQLITE_OK)
		return dberr(x);
	return 0;
}

/*
 * PRAGMA which('name'), prepared per call: cheaper than binding the
 * name to a prepared pragma_which(?) (the table-valued form prepares
 * the same PRAGMA inside on every run, and adds a virtual table).
 */
static int
pragma(struct sqlctx *x, const char *which, const char *name,
    sqlite3_stmt **st)
{
	const char	*p, *q;

	buf_reset(&x->q);
	buf_adds(&x->q, "PRAGMA ");
	buf_adds(&x->q, which);
	buf_add(&x->q, "('", 2);
	for (p = name; (q = strchr(p, '\'')) != NULL; p = q + 1)
		buf_add(&x->q, p, (size_t)(q - p + 1)), buf_addc(&x->q, '\'');
	buf_adds(&x->q, p);
	buf_add(&x->q, "')", 2);
	return prepare(x, x->q.data, st);
}

/* the end of a pragma's rows: 0, or -1 if it ended in an error */
static int
pragma_done(struct sqlctx *x, sqlite3_stmt *st, int rc)
{
	if (rc != SQLITE_DONE) {
		rc = dberr(x);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return 0;
}

/*
 * Whether a table's single INTEGER PRIMARY KEY column is its rowid (so
 * assigned on insert, never NULL), as SQLite decides: not in a WITHOUT
 * ROWID table, nor when declared "INTEGER PRIMARY KEY DESC" in the
 * column (a quirk SQLite keeps; PRIMARY KEY (x DESC) is an alias).
 * sql is the CREATE TABLE text, if known.
 */
static int
rowid_alias(const char *sql)
{
	struct qtok	 t, a, b;
	const char	*p = sql;
	int		 depth = 0, closed = 0;

	if (sql == NULL)
		return 1;
	for (p = qnext(p, &t); t.type != Q_END; p = qnext(p, &t)) {
		if (qpunct(&t, '('))
			depth++;
		else if (qpunct(&t, ')') && --depth == 0)
			closed = 1;
		else if (depth == 1 && qis(&t, "PRIMARY")) {
			(void)qnext(qnext(p, &a), &b);
			if (qis(&a, "KEY") && qis(&b, "DESC"))
				return 0;
		} else if (closed && depth == 0 && qis(&t, "WITHOUT")) {
			(void)qnext(p, &a);
			if (qis(&a, "ROWID"))
				return 0;
		}
	}
	return 1;
}

static int
load_columns(struct sqlctx *x, struct table *t)
{
	struct schema	*s = x->s;
	sqlite3_stmt	*st;
	struct column	*c;
	const char	*decl;
	int		 rc, pkn = 0, pkpos[1024], i, j, hidden;
	const char	*pkcol[1024];

	/* cid, name, type, notnull, dflt_value, pk, hidden */
	if (pragma(x, "table_xinfo", t->name, &st) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hidden = sqlite3_column_int(st, 6);
		if (hidden == 1)	/* hidden columns of virtual tables */
			continue;
		c = table_add_column(s, t, col_text(s, st, 1), 0);
		decl = col_text(s, st, 2);
		c->sql_type = decl != NULL ? decl : "";
		c->type = rails_type(s, c, c->sql_type);
		c->notnull = sqlite3_column_int(st, 3);
		if (hidden == 2 || hidden == 3) {
			colx(s, c)->gen_expr = "";	/* from the SQL */
			c->x->gen_stored = hidden == 3;
		}
		sqlite_default(s, c, (const char *)sqlite3_column_text(st, 4));
		if ((i = sqlite3_column_int(st, 5)) > 0 && pkn < 1024) {
			pkpos[pkn] = i;
			pkcol[pkn++] = c->name;
		}
	}
	if (pragma_done(x, st, rc) == -1)
		return -1;
	for (i = 1; i <= pkn; i++)	/* in key order */
		for (j = 0; j < pkn; j++)
			if (pkpos[j] == i)
				strv_add(&s->a, &t->pk, pkcol[j]);
	/* INTEGER PRIMARY KEY is the rowid: assigned on insert, never
	 * NULL, whatever the pragma says of a column without NOT NULL */
	if (pkn == 1 && t->kind == REC_TABLE &&
	    (c = table_column(t, t->pk.v[0])) != NULL &&
	    strcasecmp(c->sql_type, "INTEGER") == 0 && rowid_alias(t->sql))
		c->auto_inc = c->notnull = 1;
	return 0;
}

/*
 * The columns parse_create_table made from the text, as PRAGMA
 * table_xinfo would give them, without a statement per table.
 */
static void
text_columns(struct schema *s, struct table *t, const struct tinfo *ti)
{
	struct column	*c;
	int		 i = 0;

	STAILQ_FOREACH(c, &t->cols, link) {
		c->type = rails_type(s, c, c->sql_type);
		sqlite_default(s, c, ti->dflt.v[i++]);
	}
	t->pk = ti->pk;
	/* INTEGER PRIMARY KEY is the rowid: assigned on insert, never
	 * NULL (the text was understood: not WITHOUT ROWID, which is
	 * unsure, so only the column's DESC is left of rowid_alias) */
	if (t->pk.n == 1 && (c = table_column(t, t->pk.v[0])) != NULL &&
	    strcasecmp(c->sql_type, "INTEGER") == 0 && !ti->pk_desc)
		c->auto_inc = c->notnull = 1;
}

struct ilist {
	const char	*name;
	int		 unique;
	char		 origin;
};

/* one DESC key column into the index's order hash */
static void
add_desc(struct schema *s, struct val **order, struct val **tail,
    const char *name)
{
	struct val	*k, *v;

	if (*order == NULL) {
		*order = arena_alloc(&s->a, sizeof(**order));
		(*order)->kind = V_HASH;
	}
	k = arena_alloc(&s->a, sizeof(*k));
	k->kind = V_STR;
	k->s = name;
	k->n = strlen(name);
	v = arena_alloc(&s->a, sizeof(*v));
	v->kind = V_STR;
	v->s = "desc";
	v->n = 4;
	k->next = v;
	if (*tail == NULL)
		(*order)->kid = k;
	else
		(*tail)->next = k;
	*tail = v;
	(*order)->nkid += 2;
}

/*
 * The key columns of a CREATE INDEX list that names only columns of
 * the table (each perhaps with COLLATE and ASC or DESC), as PRAGMA
 * index_xinfo would report them (the table's spelling of the name):
 * 1, or 0 for anything else (expressions, rowid, unknown names),
 * which the pragma answers.
 */
static int
simple_index(struct schema *s, const struct table *t, struct index *ix,
    const char *list)
{
	struct qtok	 tk;
	struct strv	 cols = { 0 };
	struct val	*order = NULL, *tail = NULL;
	struct column	*c;
	const char	*p = list, *name;
	char		 nb[256];
	size_t		 i, o;
	int		 q;

	for (;;) {
		p = qnext(p, &tk);
		if (tk.type == Q_WORD && tk.n < sizeof(nb)) {
			memcpy(nb, tk.s, tk.n);
			nb[tk.n] = '\0';
		} else if (tk.type == Q_QID && tk.n >= 2 && tk.n < sizeof(nb)) {
			q = tk.s[0] == '[' ? ']' : tk.s[0];
			if (tk.s[tk.n - 1] != q)
				return 0;
			for (i = 1, o = 0; i + 1 < tk.n; i++) {
				if (tk.s[i] == q && q != ']')
					i++;
				nb[o++] = tk.s[i];
			}
			nb[o] = '\0';
		} else
			return 0;
		name = NULL;
		STAILQ_FOREACH(c, &t->cols, link)
			if (strcasecmp(c->name, nb) == 0) {
				name = c->name;
				break;
			}
		if (name == NULL)
			return 0;
		strv_add(&s->a, &cols, name);
		p = qnext(p, &tk);
		if (qis(&tk, "COLLATE")) {
			p = qnext(p, &tk);
			if (tk.type != Q_WORD && tk.type != Q_QID)
				return 0;
			p = qnext(p, &tk);
		}
		if (qis(&tk, "DESC")) {
			add_desc(s, &order, &tail, name);
			p = qnext(p, &tk);
		} else if (qis(&tk, "ASC"))
			p = qnext(p, &tk);
		if (tk.type == Q_END)
			break;
		if (!qpunct(&tk, ','))
			return 0;
	}
	ix->cols = cols;
	SETIX(s, ix, order, order);
	return 1;
}

static int
load_index(struct sqlctx *x, struct table *t, struct index *ix,
    const char *sql)
{
	struct schema	*s = x->s;
	sqlite3_stmt	*st;
	struct val	*order = NULL, *tail = NULL;
	char		*list = NULL, *where;
	int		 rc, isexpr = 0;

	if (sql != NULL) {
		parse_create_index(s, sql, &list, &where, &ix->unique);
		SETIX(s, ix, where, where);
		if (list != NULL && simple_index(s, t, ix, list))
			return 0;
	}
	/* seqno, cid, name, desc, coll, key */
	if (pragma(x, "index_xinfo", ix->name, &st) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int(st, 5) == 0)	/* not a key column */
			continue;
		if (sqlite3_column_int(st, 1) == -2) {
			isexpr = 1;
			continue;
		}
		strv_add(&s->a, &ix->cols, sqlite3_column_int(st, 1) == -1 ?
		    "rowid" : col_text(s, st, 2));
		if (sqlite3_column_int(st, 3))
			add_desc(s, &order, &tail, ix->cols.v[ix->cols.n - 1]);
	}
	if (pragma_done(x, st, rc) == -1)
		return -1;
	SETIX(s, ix, order, order);
	if (sql != NULL && isexpr) {
		SETIX(s, ix, expr, list);
		ix->cols.n = 0;
		SETIX(s, ix, order, NULL);
	}
	return 0;
}

/* the word w (not in a string, quoted name or comment) in sql */
static int
has_word(const char *sql, const char *w)
{
	struct qtok	 t;
	const char	*p = sql;

	for (;;) {
		p = qnext(p, &t);
		if (t.type == Q_END)
			return 0;
		if (qis(&t, w))
			return 1;
	}
}

/*
 * A table's indexes, in schema order.  Those with a CREATE INDEX text
 * are what it says (origin 'c'); PRAGMA index_list is asked only when
 * there are automatic indexes (UNIQUE, PRIMARY KEY: no text), for
 * their uniqueness and to skip the primary key's own.  Only PRIMARY
 * KEY and UNIQUE constraints make automatic indexes: with no UNIQUE in
 * the table's text, the one there is is the primary key's own, and
 * nothing needs asking.
 */
static int
load_indexes(struct sqlctx *x, struct table *t, struct index **ixs,
    const char **sqls, int n)
{
	struct schema	*s = x->s;
	sqlite3_stmt	*st;
	struct ilist	*il = NULL;
	int		 rc, nil = 0, cap = 0, i, j, auto_ix = 0, pk_only = 0;
	const char	*name;

	for (i = 0; i < n; i++)
		if (sqls[i] == NULL)
			auto_ix = 1;
	if (auto_ix && t->sql != NULL && !has_word(t->sql, "UNIQUE"))
		auto_ix = pk_only = 1;
	/* seq, name, unique, origin, partial */
	if (auto_ix && !pk_only) {
		if (pragma(x, "index_list", t->name, &st) == -1)
			return -1;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (nil == cap) {
				cap = cap ? cap * 2 : 8;
				il = xreallocarray(il, (size_t)cap,
				    sizeof(*il));
			}
			il[nil].name = col_text(s, st, 1);
			il[nil].unique = sqlite3_column_int(st, 2);
			name = (const char *)sqlite3_column_text(st, 3);
			il[nil].origin = name != NULL ? name[0] : 'c';
			nil++;
		}
		if (pragma_done(x, st, rc) == -1) {
			free(il);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		if (sqls[i] == NULL) {	/* load_index: the text's */
			if (pk_only)
				continue;	/* the primary key's own */
			for (j = 0; j < nil; j++)
				if (strcmp(il[j].name, ixs[i]->name) == 0)
					break;
			if (j == nil || il[j].origin == 'p')
				continue;	/* the primary key's own */
			ixs[i]->unique = il[j].unique;
		}
		STAILQ_INSERT_TAIL(&t->idx, ixs[i], link);
		if (load_index(x, t, ixs[i], sqls[i]) == -1) {
			free(il);
			return -1;
		}
	}
	free(il);
	return 0;
}

/*
 * The pragma lists the last declared key first; fkname (from the
 * CREATE TABLE text) has the CONSTRAINT names in declaration order,
 * matched by position only if it counts as many keys as the pragma.
 */
static int
load_fkeys(struct sqlctx *x, struct table *t, const struct tinfo *ti)
{
	struct schema	*s = x->s;
	sqlite3_stmt	*st;
	struct fkey	**fks = NULL, *f;
	int		 rc, n = 0, cap = 0, id, last = -1, i;
	const char	*to;

	if (t->sql != NULL && ti->refs == 0)
		return 0;		/* no REFERENCES: no foreign key */
	/* id, seq, table, from, to, on_update, on_delete, match */
	if (pragma(x, "foreign_key_list", t->name, &st) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int(st, 0);
		if (id != last || n == 0) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				fks = xreallocarray(fks, (size_t)cap,
				    sizeof(*fks));
			}
			f = fks[n++] = arena_alloc(&s->a, sizeof(*f));
			f->validate = 1;
			f->to_table = col_text(s, st, 2);
			f->on_update = fk_action((const char *)
			    sqlite3_column_text(st, 5));
			f->on_delete = fk_action((const char *)
			    sqlite3_column_text(st, 6));
			last = id;
		}
		f = fks[n - 1];
		strv_add(&s->a, &f->cols, col_text(s, st, 3));
		if ((to = col_text(s, st, 4)) != NULL)
			strv_add(&s->a, &f->to_cols, to);
	}
	if (pragma_done(x, st, rc) == -1) {
		free(fks);
		return -1;
	}
	for (i = n - 1; i >= 0; i--) {
		if (ti->fkname.n == n)
			fks[i]->name = ti->fkname.v[n - 1 - i];
		STAILQ_INSERT_TAIL(&t->fks, fks[i], link);
	}
	free(fks);
	return 0;
}

/*
 * A table's or view's columns and foreign keys, once: from its CREATE
 * text when the tokenizer is sure of it, else the pragmas, annotated
 * from the text
 */
static int	load_table_text(struct sqlctx *, struct table *);

/* row r's text: as read, or from the spill into the arena */
static const char *
row_sql(struct sqlctx *x, const struct sqlrow *r)
{
	if (!r->spilled)
		return r->sql;
	return arena_strndup(&x->s->a, spill_get(&x->text, r->sqloff,
	    r->sqllen, NULL, NULL), r->sqllen);
}

static int
load_table(struct sqlctx *x, struct table *t)
{
	struct strv	 pk = { 0 };
	int		 i, rc;

	if (t->loaded)
		return 0;
	t->loaded = 1;
	x->nloaded++;
	if (t->seq < x->nrowof && x->rowof[t->seq] != -1)
		t->sql = row_sql(x, &x->rows[x->rowof[t->seq]]);
	if ((rc = load_table_text(x, t)) != 0)
		return rc;
	/* kept apart: a later table's key may need it (resolve_fkeys) */
	for (i = 0; i < t->pk.n; i++)
		strv_add(&x->s->keep, &pk, schema_intern(x->s, t->pk.v[i],
		    strlen(t->pk.v[i])));
	t->pk = pk;
	return 0;
}

static int
load_table_text(struct sqlctx *x, struct table *t)
{
	struct schema	*s = x->s;
	struct tinfo	 ti;
	int		 rc;

	memset(&ti, 0, sizeof(ti));
	if (t->kind == REC_TABLE && t->sql != NULL) {
		ti.create = 1;
		parse_create_table(s, t, t->sql, &ti);
		if (ti.ok && !ti.unsure && t->ncols > 0 &&
		    ti.nfk == ti.refs) {
			text_columns(s, t, &ti);
			return 0;
		}
		/* not sure of the text: the pragmas, annotated */
		STAILQ_INIT(&t->cols);
		STAILQ_INIT(&t->checks);
		STAILQ_INIT(&t->fks);
		t->ncols = 0;
		t->pk.n = 0;
		memset(&ti, 0, sizeof(ti));
	}
	if ((rc = load_columns(x, t)) != 0 || t->kind == REC_VIEW)
		return rc;
	if (t->sql != NULL)
		parse_create_table(s, t, t->sql, &ti);
	return load_fkeys(x, t, &ti);
}

/* REFERENCES parent with no columns: the parent's primary key */
static int
resolve_fkeys(struct sqlctx *x, struct table *t)
{
	struct table	*to;
	struct fkey	*f;
	int		 rc;

	STAILQ_FOREACH(f, &t->fks, link)
		if (f->to_cols.n == 0 &&
		    (to = schema_find(x->s, f->to_table)) != NULL) {
			if ((rc = load_table(x, to)) != 0)
				return rc;
			f->to_cols = to->pk;
		}
	return 0;
}

static int
is_virtual(const char *sql)
{
	struct qtok	 t;
	const char	*p = sql;

	if (sql == NULL)
		return 0;
	p = qnext(p, &t);
	if (!qis(&t, "CREATE"))
		return 0;
	p = qnext(p, &t);
	return qis(&t, "VIRTUAL");
}

/* is_virtual of n bytes of text, for sqlfile as it reads them */
static int
text_virtual(const char *sql, size_t n)
{
	static struct buf b;

	buf_reset(&b);
	buf_add(&b, sql, n);
	return is_virtual(buf_cstr(&b));
}

static int
row_virtual(const struct sqlrow *r)
{
	return r->spilled ? r->virt : is_virtual(r->sql);
}

/* shadow tables: from PRAGMA table_list, and by the fts/rtree names */
static int
is_shadow(const char *name, char **virt, int nvirt, char **shadow,
    int nshadow)
{
	static const char *const suffix[] = {
		"_data", "_idx", "_content", "_docsize", "_config",
		"_segments", "_segdir", "_stat", "_node", "_rowid", "_parent",
		NULL
	};
	const char *const *sx;
	size_t		 n;
	int		 i;

	for (i = 0; i < nshadow; i++)
		if (strcmp(name, shadow[i]) == 0)
			return 1;
	for (i = 0; i < nvirt; i++) {
		n = strlen(virt[i]);
		if (strncmp(name, virt[i], n) != 0)
			continue;
		for (sx = suffix; *sx != NULL; sx++)
			if (strcmp(name + n, *sx) == 0)
				return 1;
	}
	return 0;
}

/* names PRAGMA table_list calls shadow (SQLite 3.37 and later) */
static int
shadow_tables(struct sqlctx *x, char ***out)
{
	sqlite3_stmt	*st;
	char		**v = NULL;
	int		 n = 0;

	*out = NULL;
	if (ensure_db(x) == -1)
		return -1;
	if (sqlite3_prepare_v2(x->db, "SELECT name FROM pragma_table_list "
	    "WHERE schema = 'main' AND type = 'shadow'", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		v = xreallocarray(v, (size_t)n + 1, sizeof(*v));
		v[n++] = (char *)col_text(x->s, st, 0);
	}
	sqlite3_finalize(st);
	*out = v;
	return n;
}

/*
 * What a shared URI needs escaped in a file name; immutable: SQLite
 * neither locks nor looks for a journal or WAL (the file is under our
 * own shared lock, see open_db), else it reads as any reader does.
 */
static char *
uri(const char *path, int immutable)
{
	struct buf	 b = { 0 };
	const char	*p;

	buf_adds(&b, "file:");
	for (p = path; *p != '\0'; p++) {
		if (*p == '%' || *p == '?' || *p == '#' ||
		    (unsigned char)*p < 0x20)
			buf_printf(&b, "%%%02X", (unsigned char)*p);
		else
			buf_addc(&b, *p);
	}
	buf_adds(&b, immutable ? "?immutable=1&mode=ro" : "?mode=ro");
	return buf_steal(&b);
}

/* the 100-byte header: page size and count against the file size */
static int
check_header(struct schema *s, const unsigned char *h, size_t hlen,
    uint64_t size)
{
	uint32_t	 psize, pages, change, valid;

	if (hlen < 100 || size < 100)
		return schema_fail(s, 0, 0, "truncated SQLite database: "
		    "expected a 100-byte header, found %llu bytes",
		    (unsigned long long)size);
	if (memcmp(h, "SQLite format 3", 16) != 0)
		return schema_fail(s, 0, 0, "not a SQLite database: expected "
		    "the header 'SQLite format 3'");
	psize = (uint32_t)h[16] << 8 | h[17];
	if (psize == 1)
		psize = 65536;
	if (psize < 512 || (psize & (psize - 1)) != 0)
		return schema_fail(s, 0, 0, "corrupt SQLite database: "
		    "expected a page size that is a power of two, found %u",
		    psize);
	pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 |
	    (uint32_t)h[30] << 8 | h[31];
	change = (uint32_t)h[24] << 24 | (uint32_t)h[25] << 16 |
	    (uint32_t)h[26] << 8 | h[27];
	valid = (uint32_t)h[92] << 24 | (uint32_t)h[93] << 16 |
	    (uint32_t)h[94] << 8 | h[95];
	if (size % psize != 0 ||
	    (pages != 0 && change == valid && size < (uint64_t)pages * psize))
		return schema_fail(s, 0, 0, "truncated SQLite database: "
		    "expected %llu bytes (%u pages of %u), found %llu",
		    (unsigned long long)pages * psize, pages, psize,
		    (unsigned long long)size);
	return 0;
}

/*
 * SQLite's POSIX locks (its os_unix.c, and "File Locking And
 * Concurrency In SQLite Version 3"): the pending byte at 0x40000000,
 * then the reserved byte, then a 510-byte shared range.  A reader
 * takes a shared lock as SQLite's own readers do: a read lock on the
 * pending byte (refused while a writer waits for readers to go), a
 * read lock on the shared range, then the pending byte released.
 * While it is held a writer cannot take its exclusive lock, so no
 * transaction is committed into the file under us.  0 when held, 1
 * if a writer kept it for a second, -1 if the file system has no
 * locks (then only the change counter, read again after, tells).
 */
#define PENDING_BYTE	0x40000000
#define SHARED_FIRST	(PENDING_BYTE + 2)
#define SHARED_SIZE	510

static int
lock_range(int fd, short type, off_t start, off_t len)
{
	struct flock	 fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fcntl(fd, F_SETLK, &fl);
}

static int
shared_lock(int fd)
{
	const struct timespec	 ms = { 0, 1000000 };
	int			 i, rc, e;

	for (i = 0; i < 1000; i++) {
		if (lock_range(fd, F_RDLCK, PENDING_BYTE, 1) == 0) {
			rc = lock_range(fd, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
			e = errno;
			(void)lock_range(fd, F_UNLCK, PENDING_BYTE, 1);
			if (rc == 0)
				return 0;
		} else
			e = errno;
		if (e != EAGAIN && e != EACCES)
			return -1;
		(void)nanosleep(&ms, NULL);
	}
	return 1;
}

/*
 * path-suffix exists; hot: and may be a hot journal (SQLite's test
 * without its check of the reserved lock: not empty, first byte not 0)
 */
static int
beside(const char *path, const char *suffix, int hot)
{
	struct buf	 b = { 0 };
	struct stat	 sb;
	unsigned char	 c = 0;
	int		 fd, r;

	buf_adds(&b, path);
	buf_adds(&b, suffix);
	r = stat(b.data, &sb) == 0;
	/* a journal is hot only if not empty, its first byte not 0 */
	if (r && hot) {
		r = 0;
		if (sb.st_size > 0 &&
		    (fd = open(b.data, O_RDONLY | O_CLOEXEC)) != -1) {
			r = pread(fd, &c, 1, 0) != 1 || c != 0;
			(void)close(fd);
		}
	}
	buf_free(&b);
	return r;
}

/*
 * Open the file and check its header.  The schema is then read from
 * the file itself (sqlfile.c) under a shared lock held to the end
 * (libsqlite3, if it is needed, opens the file immutable: it neither
 * locks nor looks for a journal, our lock covers it), unless the file
 * alone is not the database: in WAL mode (header bytes 18 and 19 are
 * 2) with a -wal file beside it, whose commits may not be in the file
 * yet and whose checkpoints write the file under readers' locks; or
 * with a -journal that may be hot (not empty, first byte not zero),
 * to be rolled back first; or if a writer kept the lock for a second.
 * Then (live) the lock is dropped and libsqlite3 reads everything, as
 * any SQLite reader, and says what it thinks of it.
 */
static int
open_db(struct sqlctx *x)
{
	struct schema	*s = x->s;
	unsigned char	 h[100];
	struct stat	 sb;
	ssize_t		 n;
	int		 lk;

	x->fd = -1;
	if (x->data != NULL)
		return check_header(s, x->data, x->len, x->len);
	if ((x->fd = open(x->path, O_RDONLY | O_CLOEXEC)) == -1)
		return schema_fail(s, 0, 0, "%s", strerror(errno));
	lk = shared_lock(x->fd);
	if (fstat(x->fd, &sb) == -1)
		return schema_fail(s, 0, 0, "%s", strerror(errno));
	n = pread(x->fd, h, sizeof(h), 0);
	if (check_header(s, h, n < 0 ? 0 : (size_t)n,
	    (uint64_t)sb.st_size) == -1)
		return -1;
	x->len = (size_t)sb.st_size;
	memcpy(x->change, h + 24, sizeof(x->change));
	x->wal = h[18] == 2 || h[19] == 2;
	if (lk == 1)
		x->live = "a writer holding its lock";
	else if (x->wal && beside(x->path, "-wal", 0))
		x->live = "a -wal file beside it";
	else if (beside(x->path, "-journal", 1))
		x->live = "a hot -journal beside it";
	if (x->live != NULL) {
		(void)close(x->fd);
		x->fd = -1;
	}
	return 0;
}

/* libsqlite3 and a connection to the database, on first use */
static int
ensure_db(struct sqlctx *x)
{
	struct schema	*s = x->s;
	unsigned char	*copy;
	char		*u;
	int		 rc;

	if (x->db != NULL)
		return 0;
	if (load_libsqlite(s) == -1)
		return -1;
	if (x->data != NULL) {
		if (sqlite3_open_v2(":memory:", &x->db, SQLITE_OPEN_READWRITE,
		    NULL) != SQLITE_OK)
			return dberr(x);
		copy = sqlite3_malloc64(x->len);
		if (copy == NULL)
			return schema_fail(s, 0, 0, "out of memory");
		memcpy(copy, x->data, x->len);
		/* no WAL on stdin: an image in WAL mode read as rollback */
		if (copy[18] == 2 && copy[19] == 2)
			copy[18] = copy[19] = 1;
		if (sqlite3_deserialize(x->db, "main", copy,
		    (sqlite3_int64)x->len, (sqlite3_int64)x->len,
		    SQLITE_DESERIALIZE_FREEONCLOSE |
		    SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
			return dberr(x);
		return 0;
	}
	u = uri(x->path, x->live == NULL);
	rc = sqlite3_open_v2(u, &x->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_URI, NULL);
	free(u);
	if (rc != SQLITE_OK)
		return dberr(x);
	if (x->live != NULL)
		(void)sqlite3_busy_timeout(x->db, 1000);
	return 0;
}

enum reader { READ_AUTO, READ_FILE, READ_LIB };

/* sqlite_schema through libsqlite3 */
static int
lib_rows(struct sqlctx *x, struct sqlrow **out)
{
	struct schema	*s = x->s;
	sqlite3_stmt	*st;
	struct sqlrow	*o = NULL;
	int		 n = 0, cap = 0, rc;

	*out = NULL;
	if (prepare(x, "SELECT type, name, tbl_name, sql FROM sqlite_schema "
	    "ORDER BY rowid", &st) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			o = xreallocarray(o, (size_t)cap, sizeof(*o));
		}
		o[n].type = col_text(s, st, 0);
		o[n].name = col_text(s, st, 1);
		o[n].tbl = col_text(s, st, 2);
		o[n].sql = col_text(s, st, 3);
		o[n].spilled = 0;
		n++;
	}
	sqlite3_finalize(st);
	*out = o;
	return rc == SQLITE_DONE ? n : dberr(x);
}

/*
 * sqlite_schema from the file (sqlfile.c), else (live, damage,
 * something it does not read) through libsqlite3; READ_FILE makes
 * the file's reader the only one, READ_LIB skips it.  The change
 * counter read again after tells whether the file changed meanwhile
 * (it cannot under the lock, but a file system may lack locks).  In
 * WAL mode a writer that started meanwhile may have checkpointed into
 * the file under our lock, but its -wal file is still there (only a
 * connection with an exclusive lock removes it): then live after all.
 */
static int
schema_rows(struct sqlctx *x, enum reader how, struct sqlrow **out)
{
	struct sqlfile	 f;
	unsigned char	 h[28];
	const char	*why = NULL;
	int		 n = -1;

	*out = NULL;
	if (how != READ_LIB && x->live == NULL) {
		f.mem = x->data;
		f.fd = x->fd;
		f.len = x->len;
		f.text = &x->text;
		f.virt = text_virtual;
		n = sqlfile_schema(&f, &x->s->a, out, &why);
		spill_end(&x->text);
		if (n >= 0 && x->data == NULL &&
		    (pread(x->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		    memcmp(h + 24, x->change, sizeof(x->change)) != 0)) {
			why = "the file changed while read";
			n = -1;
		} else if (n >= 0 && x->wal && beside(x->path, "-wal", 0)) {
			why = x->live = "a -wal file beside it";
			(void)close(x->fd);
			x->fd = -1;
			n = -1;
		}
		if (n == -1) {
			free(*out);
			*out = NULL;
		}
	} else if (x->live != NULL)
		why = x->live;
	if (n >= 0)
		return n;
	if (how == READ_FILE)
		return schema_fail(x->s, 0, 0, "cannot read the schema from "
		    "the file: %s", why);
	return lib_rows(x, out);
}

/*
 * A table's record is written: what was allocated for it since m goes
 * back, unless that includes other tables, read early (a key without
 * columns to a table further on), or the record is kept for the end
 * (--strict).  Its name, text and primary key stay (they were
 * allocated before m, or are kept apart).
 */
static void
release(struct schema *s, struct table *t, const struct arena_mark *m,
    int others)
{
	if (!t->emitted || others > 0)
		return;
	arena_release(&s->a, m);
	STAILQ_INIT(&t->cols);
	STAILQ_INIT(&t->idx);
	STAILQ_INIT(&t->fks);
	STAILQ_INIT(&t->checks);
}

static int
load(struct sqlctx *x, enum reader how)
{
	struct schema	*s = x->s;
	struct sqlrow	*o = NULL;
	struct table	*t;
	struct index	**ixs = NULL;
	const char	**sqls = NULL;
	char		**virt = NULL, **shadow = NULL;
	int		 n, nrow, nvirt = 0, nshadow = 0, i, j, nix, rc = 0;
	int		*first = NULL, *link = NULL, ixcap = 0, ntab = 0;

	if ((nrow = schema_rows(x, how, &o)) == -1) {
		free(o);
		return -1;
	}
	x->rows = o;
	for (i = n = 0; i < nrow; i++) {
		if (o[i].type == NULL || o[i].name == NULL || o[i].tbl == NULL)
			continue;
		o[n] = o[i];
		if (strcmp(o[n].type, "table") == 0 && row_virtual(&o[n])) {
			virt = xreallocarray(virt, (size_t)nvirt + 1,
			    sizeof(*virt));
			virt[nvirt++] = (char *)o[n].name;
		}
		n++;
	}
	/* shadow tables belong to virtual tables: none, nothing to ask */
	if (nvirt > 0 && (nshadow = shadow_tables(x, &shadow)) == -1) {
		nshadow = 0;
		rc = -1;
	}
	/* tables and views first, so indexes find them */
	for (i = 0; rc == 0 && i < n; i++) {
		if (strncmp(o[i].name, "sqlite_", 7) == 0 ||
		    schema_find(s, o[i].name) != NULL)
			continue;
		if (strcmp(o[i].type, "view") == 0 && s->views)
			t = schema_add(s, REC_VIEW, o[i].name, 0);
		else if (strcmp(o[i].type, "table") == 0 &&
		    !row_virtual(&o[i]) &&
		    !is_shadow(o[i].name, virt, nvirt, shadow, nshadow))
			t = schema_add(s, REC_TABLE, o[i].name, 0);
		else
			continue;
		/* the text when it is loaded (load_table) */
		t->sql = o[i].sql;
		while (t->seq >= x->nrowof) {
			x->rowof = xreallocarray(x->rowof,
			    (size_t)x->nrowof + 128, sizeof(*x->rowof));
			for (j = 0; j < 128; j++)
				x->rowof[x->nrowof++] = -1;
		}
		x->rowof[t->seq] = o[i].spilled ? i : -1;
	}
	/* indexes in schema order, grouped by table: linked by position */
	ntab = s->nrecs;
	first = xcalloc((size_t)ntab + 1, sizeof(*first));
	link = xcalloc((size_t)n + 1, sizeof(*link));
	for (i = n - 1; rc == 0 && i >= 0; i--) {
		if (strcmp(o[i].type, "index") != 0 ||
		    (t = schema_find(s, o[i].tbl)) == NULL ||
		    t->kind != REC_TABLE)
			continue;
		link[i] = first[t->seq];
		first[t->seq] = i + 1;
	}
	/*
	 * A table at a time, in schema order, written as soon as it is
	 * complete (record_emit) so that the next stage starts on it: its
	 * columns and foreign keys, its indexes, and the primary key of
	 * a table a foreign key names without columns, read then if it
	 * comes later
	 */
	STAILQ_FOREACH(t, &s->recs, link) {
		struct arena_mark	 m;
		/* the count of tables read once t is: more are others */
		int			 base = x->nloaded + !t->loaded;

		if (rc != 0)
			break;
		arena_mark(&s->a, &m);
		if ((rc = load_table(x, t)) != 0)
			break;
		if (t->kind != REC_TABLE) {
			record_emit(s, t);
			release(s, t, &m, x->nloaded - base);
			continue;
		}
		nix = 0;
		for (j = first[t->seq]; j != 0; j = link[j - 1]) {
			if (nix == ixcap) {
				ixcap = ixcap ? ixcap * 2 : 16;
				ixs = xreallocarray(ixs, (size_t)ixcap,
				    sizeof(*ixs));
				sqls = xreallocarray(sqls, (size_t)ixcap,
				    sizeof(*sqls));
			}
			ixs[nix] = arena_alloc(&s->a, sizeof(**ixs));
			ixs[nix]->name = o[j - 1].name;
			sqls[nix++] = row_sql(x, &o[j - 1]);
		}
		if ((rc = load_indexes(x, t, ixs, sqls, nix)) == 0 &&
		    (rc = resolve_fkeys(x, t)) == 0) {
			record_emit(s, t);
			release(s, t, &m, x->nloaded - base);
		}
	}
	free(first);
	free(link);
	free(ixs);
	free(sqls);
	free(virt);
	free(shadow);
	free(o);
	x->rows = NULL;
	return rc;
}

/*
 * SLUICE_SQLITE_READER: who reads sqlite_schema.  Unset or "auto":
 * the file's reader, libsqlite3 when it cannot; "file": the file's
 * reader or an error saying why not; "libsqlite3": libsqlite3 only.
 */
int
sqlite_load(struct schema *s, const char *path, const void *data,
    size_t len)
{
	struct sqlctx	 x;
	enum reader	 how = READ_AUTO;
	const char	*e = getenv("SLUICE_SQLITE_READER");
	int		 rc;

	memset(&x, 0, sizeof(x));
	x.text.fd = -1;
	x.text.bound = TEXT_MEM;
	x.text.ahead = 4096;
	x.s = s;
	x.path = path;
	x.data = data;
	x.len = len;
	x.fd = -1;
	s->kind = SRC_SQLITE;
	if (e == NULL || *e == '\0' || strcmp(e, "auto") == 0)
		how = READ_AUTO;
	else if (strcmp(e, "file") == 0)
		how = READ_FILE;
	else if (strcmp(e, "libsqlite3") == 0)
		how = READ_LIB;
	else
		return schema_fail(s, 0, 0, "SLUICE_SQLITE_READER: unknown "
		    "reader '%s': expected 'auto', 'file' or 'libsqlite3'", e);
	rc = open_db(&x);
	if (rc == 0)
		rc = load(&x, how);
	buf_free(&x.q);
	spill_free(&x.text);
	free(x.rowof);
	if (x.db != NULL)
		sqlite3_close(x.db);
	if (x.fd != -1)
		(void)close(x.fd);
	return rc;
}
