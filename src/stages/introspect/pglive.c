/*
 * pglive.c: the live PostgreSQL front-end of introspect.  Exports
 * pglive_load(): connect (pgwire.c or libpq: URL or keyword string, PG*
 * variables honoured), read the whole database in a fixed handful of
 * catalog queries (enum labels, relations, columns, comments,
 * constraints, operator classes, indexes, and the definitions only the
 * server can print: never one query per table), sent as two strings on
 * two connections at once (connect_db), and fill the schema model.  The catalog's text (format_type,
 * pg_get_expr, pg_get_constraintdef, pg_get_indexdef, with an empty
 * search_path, as pg_dump prints it; the plain keys and indexes
 * spelled out here from catalog columns the same way: see q_cons_fast
 * and q_idx_fast) is read by pgsql.c, so a database and its
 * structure.sql give the same records.
 *
 * The connections are made by pgwire.c, introspect's own client of the
 * protocol, where it can make them alone (a URL to this machine, no
 * TLS, ...), else by libpq, which is not linked: it is loaded with
 * dlopen(3) here, only then, so the stage starts without it (libpq
 * costs some milliseconds and megabytes at start-up).  When the
 * built-in client cannot connect, libpq tries again and says why.
 * Messages name the server as postgres://host:port/database, never
 * the user's URL, which may hold a password.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <postgresql/libpq-fe.h>

#include "buf.h"
#include "xalloc.h"
#include "introspect.h"
#include "pgwire.h"
#include "banned.h"

#define LIBPQ	"libpq.so.5"

static struct pqapi pq;

static const struct {
	const char	*name;
	size_t		 off;
} syms[] = {
	{ "PQconnectdbParams", offsetof(__typeof__(pq), connectdbParams) },
	{ "PQstatus", offsetof(__typeof__(pq), status) },
	{ "PQerrorMessage", offsetof(__typeof__(pq), errorMessage) },
	{ "PQconnectionNeedsPassword", offsetof(__typeof__(pq), needsPassword) },
	{ "PQfinish", offsetof(__typeof__(pq), finish) },
	{ "PQhost", offsetof(__typeof__(pq), host) },
	{ "PQport", offsetof(__typeof__(pq), port) },
	{ "PQdb", offsetof(__typeof__(pq), db) },
	{ "PQexecParams", offsetof(__typeof__(pq), execParams) },
	{ "PQresultStatus", offsetof(__typeof__(pq), resultStatus) },
	{ "PQresultErrorField", offsetof(__typeof__(pq), resultErrorField) },
	{ "PQntuples", offsetof(__typeof__(pq), ntuples) },
	{ "PQnfields", offsetof(__typeof__(pq), nfields) },
	{ "PQgetvalue", offsetof(__typeof__(pq), getvalue) },
	{ "PQgetisnull", offsetof(__typeof__(pq), getisnull) },
	{ "PQclear", offsetof(__typeof__(pq), clear) },
	{ "PQserverVersion", offsetof(__typeof__(pq), serverVersion) },
	{ "PQescapeLiteral", offsetof(__typeof__(pq), escapeLiteral) },
	{ "PQfreemem", offsetof(__typeof__(pq), freemem) },
	{ "PQsendQuery", offsetof(__typeof__(pq), sendQuery) },
	{ "PQgetResult", offsetof(__typeof__(pq), getResult) },
};

/* a connection and how many results of what was sent on it are due */
struct pgc {
	PGconn		*c;
	int		 sent;
};

struct live {
	struct schema	*s;
	struct pgc	 main;		/* tables, columns, comments */
	struct pgc	 keys;		/* constraints and indexes, if apart */
	struct pgc	*k;		/* &keys, or &main when not apart */
	struct pgc	*cur;		/* where query() reads */
	PGconn		*conn;		/* main.c */
	const char	*params[2];	/* $1 schemas, $2 views: SQL literals */
	struct rel {
		unsigned long	 oid;
		struct table	*t;
		const char	*qname;	/* quote_ident(schema).quote_ident(name) */
		int		 att0, natt;	/* its columns in atts */
	}		*rels;
	int		 nrels;
	int		*status;
	const char	*q_cons, *q_idx;	/* for this server */
	int		 fast;		/* q_cons_fast, q_idx_fast */
	struct att {			/* columns by number */
		int		 num;
		struct column	*c;
		const char	*qname;	/* quote_ident(name) */
		unsigned long	 type, coll;
		char		 typtype;	/* 'e': an enum */
		char		 typcat;	/* 'A': an array */
	}		*atts;
	int		 natts, attcap;
	struct opc {			/* operator classes */
		unsigned long	 oid, type, method;
		int		 dflt;
		const char	*name;	/* as pg_get_indexdef() names it */
	}		*opc;
	int		 nopc;
	struct buf	 text;		/* a definition being built */
	unsigned long	*conidx;	/* keys' and exclusions' indexes */
	int		 nconidx;
};

static int	end_queries(struct live *);
static int	skip_index(const struct live *, PGresult *, int,
		    int (*)(struct live *, PGresult *, int));

/*
 * Names qualified as pg_dump prints them (an empty search_path, for
 * the session: the definitions asked afterwards need it too), and the
 * relations read: tables (and views with --views), no partitions,
 * found once; their oids are kept in a setting, sluice.rels, for the
 * queries that follow (the same statements, sent at once, cannot pass
 * them otherwise; finding them again in every query costs the server
 * more), local to their transaction (the statements of one string
 * are one).  $1 and $2 are replaced by literals (send_queries).
 */
static const char q_settings[] =
	"SELECT pg_catalog.set_config('search_path', '', false), "
	"pg_catalog.set_config('sluice.rels', (SELECT "
	"COALESCE(pg_catalog.string_agg(c.oid::pg_catalog.text, ','), '') "
	"FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE (c.relkind IN ('r', 'p') OR ($2::bool AND "
	"c.relkind IN ('v', 'm'))) AND NOT c.relispartition "
	"AND n.nspname = ANY ($1::text[])), true)";

#define RELS \
	"WITH r AS (SELECT o AS oid FROM pg_catalog.unnest(" \
	"pg_catalog.string_to_array(pg_catalog.current_setting(" \
	"'sluice.rels'), ',')::pg_catalog.oid[]) o) "

static const char q_enums[] =
	"SELECT n.nspname, t.typname, e.enumlabel "
	"FROM pg_catalog.pg_enum e "
	"JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid "
	"JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
	"WHERE n.nspname = ANY ($1::text[]) "
	"ORDER BY n.nspname, t.typname, "
	"e.enumsortorder";

static const char q_rels[] = RELS
	"SELECT c.oid, n.nspname, c.relname, c.relkind, NULL, "
	"CASE WHEN c.relkind IN ('v', 'm') THEN "
	"pg_catalog.pg_get_viewdef(c.oid) END, "
	"pg_catalog.quote_ident(n.nspname) || '.' || "
	"pg_catalog.quote_ident(c.relname) "
	"FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE c.oid IN (SELECT oid FROM r) "
	"ORDER BY n.nspname, c.relname";

/*
 * The types whose names the client prints as format_type() does
 * (builtin_type): their oids, fixed in every catalog; their arrays
 */
#define BUILTIN \
	"16, 17, 20, 21, 23, 25, 114, 700, 701, 869, 1042, 1043, 1082, " \
	"1083, 1114, 1184, 1700, 2950, 3802, " \
	"1000, 1001, 1016, 1005, 1007, 1009, 199, 1021, 1022, 1041, 1014, " \
	"1015, 1182, 1183, 1115, 1185, 1231, 2951, 3807"

static const struct builtin {
	unsigned long	 oid, array;
	const char	*name;
	char		 mod;	/* how its typmod is printed */
} builtins[] = {
	{ 16, 1000, "boolean", 0 },
	{ 17, 1001, "bytea", 0 },
	{ 20, 1016, "bigint", 0 },
	{ 21, 1005, "smallint", 0 },
	{ 23, 1007, "integer", 0 },
	{ 25, 1009, "text", 0 },
	{ 114, 199, "json", 0 },
	{ 700, 1021, "real", 0 },
	{ 701, 1022, "double precision", 0 },
	{ 869, 1041, "inet", 0 },
	{ 1042, 1014, "character", 'c' },
	{ 1043, 1015, "character varying", 'v' },
	{ 1082, 1182, "date", 0 },
	{ 1083, 1183, "time", 't' },
	{ 1114, 1115, "timestamp", 't' },
	{ 1184, 1185, "timestamp", 'z' },
	{ 1700, 1231, "numeric", 'n' },
	{ 2950, 2951, "uuid", 0 },
	{ 3802, 3807, "jsonb", 0 },
};

/*
 * A default cannot name a column: it is printed without its table
 * (0), which spares the server opening every table; a generated
 * column's expression needs the table.  Each join costs the planner:
 * the rare collation is a subquery, the comments a query of their own.
 */
static const char q_cols[] = RELS
	"SELECT a.attrelid, a.attname, CASE WHEN a.atttypid NOT IN (" BUILTIN
	") THEN pg_catalog.format_type(a.atttypid, a.atttypmod) END, "
	"a.attnotnull, "
	"pg_catalog.pg_get_expr(d.adbin, CASE WHEN a.attgenerated = '' "
	"THEN 0::pg_catalog.oid ELSE d.adrelid END), a.attidentity, "
	"a.attgenerated, "
	"CASE WHEN a.attcollation <> t.typcollation THEN (SELECT "
	"CASE WHEN cn.nspname IN ('pg_catalog', 'public') THEN co.collname "
	"ELSE cn.nspname || '.' || co.collname END "
	"FROM pg_catalog.pg_collation co "
	"JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
	"WHERE co.oid = a.attcollation) END, "
	"NULL, a.attnum, pg_catalog.quote_ident(a.attname), "
	"a.atttypid, a.attcollation, t.typtype, t.typcategory, a.atttypmod "
	"FROM pg_catalog.pg_attribute a "
	"JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
	"LEFT JOIN pg_catalog.pg_attrdef d "
	"ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
	"WHERE a.attrelid IN (SELECT oid FROM r) AND a.attnum > 0 "
	"AND NOT a.attisdropped "
	"ORDER BY a.attrelid, a.attnum";

/* the comments of the relations (subid 0) and their columns */
static const char q_descr[] = RELS
	"SELECT ds.objoid, ds.objsubid, ds.description "
	"FROM pg_catalog.pg_description ds "
	"WHERE ds.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass "
	"AND ds.objoid IN (SELECT oid FROM r) AND ds.objsubid >= 0";

/* as pg_dump orders them: by kind, then validated first, by name */
static const char q_cons[] = RELS
	"SELECT co.conrelid, co.conname, "
	"pg_catalog.pg_get_constraintdef(co.oid) "
	"FROM pg_catalog.pg_constraint co "
	"WHERE co.conrelid IN (SELECT oid FROM r) "
	"AND co.contype IN ('p', 'u', 'f', 'c', 'x') "
	"ORDER BY co.conrelid, NOT co.convalidated, "
	"co.conname";

/*
 * The text of most constraints and indexes is built here, from their
 * catalog columns, the way pg_get_constraintdef() and
 * pg_get_indexdef() print them (with search_path empty): a primary
 * key, unique or foreign key constraint on columns, a btree, hash or
 * gin index on columns with their collation, without storage options
 * (see IDX_PLAIN and build_index).  Those functions look everything
 * up again for every object, one at a time, and open its table, which
 * costs the server more than all the rest; the server still calls
 * them (the CASE) for other constraints and indexes (CHECK, EXCLUDE,
 * expressions, other access methods, ...), and they are asked
 * afterwards for the few that only the client can tell apart (a
 * default operator class of another type, a collation that is not the
 * column's, a foreign key to a table that was not read).  The %s are
 * conditions on catalog columns of newer servers (choose_queries); a
 * server newer than this code knows gets the plain queries.
 */
static const char q_cons_fast[] = RELS
	"SELECT co.conrelid, co.conname, CASE WHEN NOT ("
	"(co.contype IN ('p', 'u') %s AND "
	"ix.indnatts = pg_catalog.array_length(co.conkey, 1)) OR "
	"(co.contype = 'f' %s)) "
	"THEN pg_catalog.pg_get_constraintdef(co.oid) END, "
	"co.oid, co.contype, co.conkey, co.confrelid, "
	"co.confkey, co.confmatchtype, co.confupdtype, "
	"co.confdeltype, co.condeferrable, co.condeferred, co.convalidated, "
	"co.conindid "
	"FROM pg_catalog.pg_constraint co "
	"LEFT JOIN pg_catalog.pg_index ix ON ix.indexrelid = co.conindid "
	"AND co.contype IN ('p', 'u') "
	"WHERE co.conrelid IN (SELECT oid FROM r) "
	"AND co.contype IN ('p', 'u', 'f', 'c', 'x') "
	"ORDER BY co.conrelid, NOT co.convalidated, "
	"co.conname";

/*
 * The indexes of the relations read, those of keys and exclusion
 * constraints too (load_keys leaves them out: the constraints query
 * has their oids, cheaper than a join).  IDX_PLAIN: an index on
 * columns (of a table, or ON ONLY a partitioned one) whose access
 * method (by oid: btree, hash, gin, fixed in every catalog)
 * build_index knows.  Its WHERE clause, if any, is the catalog's node
 * tree when it is a test for NULL of a column or an AND of such tests
 * (build_pred), the server's text otherwise: a function that opens
 * the table costs the server more than all the rest of the row.
 */
#define IDX_PLAIN \
	"ic.relam IN (403, 405, 2742) AND i.indexprs IS NULL " \
	"AND ic.reloptions IS NULL AND c.relkind IN ('r', 'p') %s"
/*
 * p, a node tree, is only tests for NULL of columns, maybe under an
 * AND: all its braces are theirs (two each) and the AND's (cheaper for
 * the server than a regular expression); % doubled for printf
 */
#define PRED_SIMPLE(p) \
	"(" p " LIKE '{NULLTEST :arg {VAR %%' OR " \
	p " LIKE '{BOOLEXPR :boolop and :args ({NULLTEST :arg {VAR %%') " \
	"AND pg_catalog.length(" p ") - pg_catalog.length(" \
	"pg_catalog.replace(" p ", '{', '')) = (pg_catalog.length(" p ") - " \
	"pg_catalog.length(pg_catalog.replace(" p ", " \
	"'{NULLTEST :arg {VAR ', ''))) / 10 + " \
	"CASE WHEN " p " LIKE '{B%%' THEN 1 ELSE 0 END"

static const char q_idx_fast[] = RELS
	"SELECT i.indrelid, CASE WHEN NOT (" IDX_PLAIN ") "
	"THEN pg_catalog.pg_get_indexdef(i.indexrelid) END, "
	"i.indexrelid, pg_catalog.quote_ident(ic.relname), i.indisunique, "
	"i.indkey, i.indoption, "
	"i.indclass, i.indcollation, "
	"CASE WHEN i.indpred IS NOT NULL AND " IDX_PLAIN " THEN "
	"CASE WHEN " PRED_SIMPLE("i.indpred::pg_catalog.text") " "
	"THEN i.indpred::pg_catalog.text "
	"ELSE pg_catalog.pg_get_expr(i.indpred, i.indrelid) END END, "
	"ic.relam, i.indnkeyatts, ic.relkind "
	"FROM pg_catalog.pg_index i "
	"JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
	"JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
	"WHERE i.indrelid IN (SELECT oid FROM r) "
	"ORDER BY ic.relname";

/*
 * The operator classes: oid, input type, access method, default, name
 * as pg_get_indexdef() prints it (qualified unless in pg_catalog, as
 * with search_path empty)
 */
static const char q_opclass[] =
	"SELECT oc.oid, oc.opcintype, oc.opcmethod, oc.opcdefault, "
	"CASE WHEN n.nspname <> 'pg_catalog' THEN "
	"pg_catalog.quote_ident(n.nspname) || '.' ELSE '' END || "
	"pg_catalog.quote_ident(oc.opcname) "
	"FROM pg_catalog.pg_opclass oc "
	"JOIN pg_catalog.pg_namespace n ON n.oid = oc.opcnamespace";

/* the definitions the client could not build: oid, text */
static const char q_condef[] =
	"SELECT o, pg_catalog.pg_get_constraintdef(o) "
	"FROM unnest($1::pg_catalog.oid[]) o";
static const char q_idxdef[] =
	"SELECT o, pg_catalog.pg_get_indexdef(o) "
	"FROM unnest($1::pg_catalog.oid[]) o";

/* indexes that are not a key's or an exclusion constraint's */
static const char q_idx[] = RELS
	"SELECT i.indrelid, pg_catalog.pg_get_indexdef(i.indexrelid) "
	"FROM pg_catalog.pg_index i "
	"JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
	"WHERE i.indrelid IN (SELECT oid FROM r) "
	"AND i.indexrelid NOT IN (SELECT x.conindid "
	"FROM pg_catalog.pg_constraint x WHERE x.contype IN ('p', 'u', 'x')) "
	"ORDER BY ic.relname";

static int
load_libpq(struct schema *s)
{
	static int	 loaded;
	void		*h;
	size_t		 i;

	if (loaded)
		return 0;
	if ((h = dlopen(LIBPQ, RTLD_LAZY | RTLD_LOCAL)) == NULL)
		return schema_fail(s, 0, 0, "cannot load %s for a live "
		    "database: %s", LIBPQ, dlerror());
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if ((*(void **)((char *)&pq + syms[i].off) =
		    dlsym(h, syms[i].name)) == NULL) {
			memset(&pq, 0, sizeof(pq));
			return schema_fail(s, 0, 0, "%s: no symbol '%s'",
			    LIBPQ, syms[i].name);
		}
	loaded = 1;
	return 0;
}

/* libpq's message on one line, without its trailing newline */
static const char *
one_line(struct schema *s, const char *m)
{
	char	*r, *w;

	r = arena_strdup(&s->a, m != NULL ? m : "");
	for (w = r; *m != '\0'; m++) {
		if (*m == '\n' || *m == '\t' || *m == '\r') {
			if (w > r && w[-1] != ' ')
				*w++ = ' ';
		} else
			*w++ = *m;
	}
	while (w > r && w[-1] == ' ')
		w--;
	*w = '\0';
	return r;
}

/* postgres://host:port/db, from what libpq resolved (no password) */
static void
name_server(struct live *x)
{
	const char	*h = pq.host(x->conn), *p = pq.port(x->conn),
			*d = pq.db(x->conn);

	x->s->file = arena_printf(&x->s->a, "postgres://%s:%s/%s",
	    h != NULL && *h != '\0' ? h : "localhost",
	    p != NULL && *p != '\0' ? p : "5432", d != NULL ? d : "");
}

static const char *const conn_keys[] = {
	"dbname", "fallback_application_name", NULL
};

struct keys_conn {
	pthread_t	 th;
	const char	*vals[3];
	PGconn		*c;
	int		 started;	/* the thread runs */
	int		 tried;		/* and has ended */
};

/* the second connection, made by a thread of its own */
static void *
keys_thread(void *arg)
{
	struct keys_conn *kc = arg;

	kc->c = pq.connectdbParams(conn_keys, kc->vals, 1);
	return NULL;
}

/*
 * The constraints and indexes are read on a second connection, by a
 * second server process, while the first reads the tables and columns:
 * on two cores the server's work takes about half the time.  It is
 * made at the same time as the first, by a thread (libpq is
 * thread-safe, and so each keeps libpq's own handling of
 * connect_timeout and the rest), and used if it succeeds; if not, the
 * same statements go on the first connection after the others.  Each
 * statement has its own snapshot either way, as in one string at READ
 * COMMITTED.
 */
static void	join_keys(struct live *, struct keys_conn *);

static int
connect_db(struct live *x, struct keys_conn *kc, const char *conninfo)
{
	const char	*m;

	kc->vals[0] = conninfo;
	kc->vals[1] = "sluice-introspect";
	kc->vals[2] = NULL;
	kc->c = NULL;
	kc->tried = 0;
	x->k = &x->main;
	/* if it cannot start, one connection */
	kc->started = pthread_create(&kc->th, NULL, keys_thread, kc) == 0;
	x->main.c = x->conn = pq.connectdbParams(conn_keys, kc->vals, 1);
	if (x->conn == NULL) {
		*x->status = EX_OSERR;
		return schema_fail(x->s, 0, 0, "out of memory in libpq");
	}
	if (pq.status(x->conn) != CONNECTION_OK) {
		/* the server let only one in (a connection limit): the
		 * other will do for all */
		join_keys(x, kc);
		if (x->k == &x->keys) {
			pq.finish(x->conn);
			x->main.c = x->conn = x->keys.c;
			x->keys.c = NULL;
			x->k = &x->main;
		} else if (kc->tried && strstr(pq.errorMessage(x->conn),
		    "too many") != NULL) {
			/* both refused at once, each counting the other
			 * (a limit of one): once more, alone */
			pq.finish(x->conn);
			x->main.c = x->conn = pq.connectdbParams(conn_keys,
			    kc->vals, 1);
			if (x->conn == NULL) {
				*x->status = EX_OSERR;
				return schema_fail(x->s, 0, 0,
				    "out of memory in libpq");
			}
		}
	}
	name_server(x);
	if (pq.status(x->conn) == CONNECTION_OK)
		return 0;
	m = one_line(x->s, pq.errorMessage(x->conn));
	*x->status = pq.needsPassword(x->conn) ||
	    strstr(m, "permission denied") != NULL ||
	    strstr(m, "authentication failed") != NULL ? EX_NOPERM :
	    EX_NOINPUT;
	return schema_fail(x->s, 0, 0, "cannot connect: %s", m);
}

/* the second connection, if the thread made one */
static void
join_keys(struct live *x, struct keys_conn *kc)
{
	if (!kc->started)
		return;
	(void)pthread_join(kc->th, NULL);
	kc->started = 0;
	kc->tried = 1;
	if (kc->c != NULL && pq.status(kc->c) == CONNECTION_OK) {
		x->keys.c = kc->c;
		x->k = &x->keys;
	} else if (kc->c != NULL)
		pq.finish(kc->c);
	kc->c = NULL;
}

/*
 * The result of the next statement sent by send_queries (in the order
 * of its list), named what in an error.
 */
static PGresult *
query(struct live *x, const char *what)
{
	PGresult	*r = NULL;
	const char	*state;

	if (x->cur->sent > 0) {
		x->cur->sent--;
		r = pq.getResult(x->cur->c);
	}
	if (r != NULL && pq.resultStatus(r) == PGRES_TUPLES_OK)
		return r;
	state = r != NULL ? pq.resultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	*x->status = state != NULL && strcmp(state, "42501") == 0 ?
	    EX_NOPERM : EX_UNAVAILABLE;
	(void)schema_fail(x->s, 0, 0, "reading %s: %s", what,
	    one_line(x->s, pq.errorMessage(x->cur->c)));
	if (r != NULL)
		pq.clear(r);
	return NULL;
}

static const char *
val(struct live *x, PGresult *r, int row, int col)
{
	if (pq.getisnull(r, row, col))
		return NULL;
	return arena_strdup(&x->s->a, pq.getvalue(r, row, col));
}

static int
rel_cmp(const void *a, const void *b)
{
	const struct rel *ra = a, *rb = b;

	return ra->oid < rb->oid ? -1 : ra->oid > rb->oid;
}

static struct rel *
rel_oid(struct live *x, const char *oid)
{
	struct rel	 key;

	key.oid = strtoul(oid, NULL, 10);
	return bsearch(&key, x->rels, (size_t)x->nrels, sizeof(*x->rels),
	    rel_cmp);
}

static struct table *
rel(struct live *x, PGresult *r, int row)
{
	struct rel	*e = rel_oid(x, pq.getvalue(r, row, 0));

	return e != NULL ? e->t : NULL;
}

/* column number num of a relation read, or NULL */
static const struct att *
att_of(const struct live *x, const struct rel *e, long num)
{
	int	i;

	for (i = e->att0; i < e->att0 + e->natt; i++)
		if (x->atts[i].num == num)
			return &x->atts[i];
	return NULL;
}

/* "{1,2}" or "1 2": the numbers of an array's text, at most max */
static int
numbers(const char *s, unsigned long *v, int max)
{
	char	*e;
	int	 n = 0;

	while (*s != '\0') {
		if (*s < '0' || *s > '9') {
			if (*s == '-')
				return -1;
			s++;
			continue;
		}
		if (n == max)
			return -1;
		v[n++] = strtoul(s, &e, 10);
		s = e;
	}
	return n;
}

/* the quoted names of columns nums of e, joined ", "; 0 if unknown */
static int
col_names(struct live *x, const struct rel *e, const char *nums)
{
	unsigned long	 v[64];
	const struct att *a;
	int		 i, n;

	if (e == NULL || (n = numbers(nums, v, 64)) <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		if ((a = att_of(x, e, (long)v[i])) == NULL)
			return 0;
		if (i > 0)
			buf_add(&x->text, ", ", 2);
		buf_adds(&x->text, a->qname);
	}
	return 1;
}

/*
 * A primary key, unique or foreign key constraint of q_cons_fast's
 * row as pg_get_constraintdef() prints it, into x->text: 1, or 0 if
 * it takes the server (a key to a table not read).
 */
static int
build_constraint(struct live *x, PGresult *r, int i)
{
	static const char *const act[][2] = {
		{ "r", "RESTRICT" }, { "c", "CASCADE" }, { "n", "SET NULL" },
		{ "d", "SET DEFAULT" }
	};
	struct rel	*e = rel_oid(x, pq.getvalue(r, i, 0));
	const char	*type = pq.getvalue(r, i, 4), *a;
	size_t		 k;
	int		 c;

	buf_reset(&x->text);
	if (*type == 'p' || *type == 'u') {
		buf_adds(&x->text, *type == 'p' ? "PRIMARY KEY (" : "UNIQUE (");
		if (!col_names(x, e, pq.getvalue(r, i, 5)))
			return 0;
		buf_addc(&x->text, ')');
	} else if (*type == 'f') {
		buf_adds(&x->text, "FOREIGN KEY (");
		if (!col_names(x, e, pq.getvalue(r, i, 5)))
			return 0;
		buf_adds(&x->text, ") REFERENCES ");
		if ((e = rel_oid(x, pq.getvalue(r, i, 6))) == NULL)
			return 0;
		buf_adds(&x->text, e->qname);
		buf_addc(&x->text, '(');
		if (!col_names(x, e, pq.getvalue(r, i, 7)))
			return 0;
		buf_addc(&x->text, ')');
		a = pq.getvalue(r, i, 8);
		buf_adds(&x->text, *a == 'f' ? " MATCH FULL" :
		    *a == 'p' ? " MATCH PARTIAL" : "");
		for (c = 9; c <= 10; c++) {
			a = pq.getvalue(r, i, c);
			for (k = 0; k < sizeof(act) / sizeof(act[0]); k++)
				if (*a == *act[k][0]) {
					buf_adds(&x->text, c == 9 ?
					    " ON UPDATE " : " ON DELETE ");
					buf_adds(&x->text, act[k][1]);
				}
		}
	} else
		return 0;
	if (*pq.getvalue(r, i, 11) == 't')
		buf_adds(&x->text, " DEFERRABLE");
	if (*pq.getvalue(r, i, 12) == 't')
		buf_adds(&x->text, " INITIALLY DEFERRED");
	if (*pq.getvalue(r, i, 13) != 't')
		buf_adds(&x->text, " NOT VALID");
	return 1;
}

/*
 * Operator class cls of an index's column a as pg_get_indexdef()
 * prints it after the column: "" if it is the one the server takes by
 * default for the column, " name" if it cannot be, NULL if unsure.
 * The default: a default class of its method for the column's type,
 * else for the one it is binary-coercible to (varchar: text's, an
 * enum: anyenum's, an array: anyarray's) if its type has none of its
 * own.
 */
static const char *
opclass(const struct live *x, unsigned long cls, const struct att *a)
{
	const struct opc *o = NULL;
	int		 k;

	for (k = 0; k < x->nopc && o == NULL; k++)
		if (x->opc[k].oid == cls)
			o = &x->opc[k];
	if (o == NULL)
		return NULL;
	if (!o->dflt)
		return o->name;
	if (o->type == a->type)
		return "";
	for (k = 0; k < x->nopc; k++)
		if (x->opc[k].dflt && x->opc[k].method == o->method &&
		    x->opc[k].type == a->type)
			return NULL;
	return (a->type == 1043 && o->type == 25) ||
	    (a->typtype == 'e' && o->type == 3500) ||
	    (a->typtype == 'b' && a->typcat == 'A' && o->type == 2277) ?
	    "" : NULL;
}

/*
 * The catalog's node tree of a test for NULL of a column, or an AND of
 * such tests, as pg_get_expr() prints it: "(a IS NULL)", "((a IS NULL)
 * AND (b IS NOT NULL))".  The end of the tree parsed, or NULL.
 */
static const char *
build_nulltest(struct live *x, const struct rel *e, const char *p)
{
	static const char head[] = "{NULLTEST :arg {VAR ";
	const struct att *a;
	const char	*v, *end;
	long		 num;

	if (strncmp(p, head, sizeof(head) - 1) != 0 ||
	    (end = strchr(p, '}')) == NULL ||
	    (v = strstr(p, " :varattno ")) == NULL || v > end ||
	    (num = strtol(v + 11, NULL, 10)) <= 0 ||
	    (v = strstr(p, " :varno ")) == NULL || v > end ||
	    strtol(v + 8, NULL, 10) != 1 ||
	    ((v = strstr(p, " :varlevelsup ")) != NULL && v < end &&
	    strtol(v + 14, NULL, 10) != 0) ||
	    (a = att_of(x, e, num)) == NULL)
		return NULL;
	p = end + 1;
	if (strncmp(p, " :nulltesttype ", 15) != 0 ||
	    (p[15] != '0' && p[15] != '1') ||
	    strncmp(p + 16, " :argisrow false ", 17) != 0 ||
	    (end = strchr(p, '}')) == NULL)
		return NULL;
	buf_addc(&x->text, '(');
	buf_adds(&x->text, a->qname);
	buf_adds(&x->text, p[15] == '0' ? " IS NULL)" : " IS NOT NULL)");
	return end + 1;
}

/* build_nulltest's tree or an AND of them, into x->text: 1, or 0 */
static int
build_pred(struct live *x, const struct rel *e, const char *p)
{
	static const char and[] = "{BOOLEXPR :boolop and :args (";
	int	n;

	if (strncmp(p, and, sizeof(and) - 1) != 0) {
		p = build_nulltest(x, e, p);
		return p != NULL && *p == '\0';
	}
	buf_addc(&x->text, '(');
	p += sizeof(and) - 1;
	for (n = 0; *p == '{'; n++) {
		if (n > 0)
			buf_adds(&x->text, " AND ");
		if ((p = build_nulltest(x, e, p)) == NULL)
			return 0;
		if (*p == ' ')
			p++;
	}
	buf_addc(&x->text, ')');
	return n >= 2 && strncmp(p, ") :location ", 12) == 0;
}

/*
 * An index of q_idx_fast's row on columns (btree, hash or gin, maybe
 * with INCLUDE columns) as pg_get_indexdef() prints it, into x->text:
 * 1, or 0 if a collation is not the column's, an operator class may or
 * may not be its default (opclass), or a WHERE clause is not one
 * build_pred knows.
 */
static int
build_index(struct live *x, PGresult *r, int i)
{
	static const char *const order[] = {
		"", " DESC NULLS LAST", " NULLS FIRST", " DESC"
	};
	unsigned long	 key[32], opt[32], cls[32], coll[32];
	struct rel	*e = rel_oid(x, pq.getvalue(r, i, 0));
	const char	*am, *pred, *cname;
	const struct att *a;
	int		 n, nkey, k, btree;

	switch (strtol(pq.getvalue(r, i, 10), NULL, 10)) {
	case 403:
		am = "btree";
		break;
	case 405:
		am = "hash";
		break;
	case 2742:
		am = "gin";
		break;
	default:
		return 0;
	}
	btree = *am == 'b';
	nkey = (int)strtol(pq.getvalue(r, i, 11), NULL, 10);
	if (e == NULL || e->qname == NULL ||
	    (n = numbers(pq.getvalue(r, i, 5), key, 32)) <= 0 ||
	    nkey <= 0 || nkey > n ||
	    numbers(pq.getvalue(r, i, 6), opt, 32) != nkey ||
	    numbers(pq.getvalue(r, i, 7), cls, 32) != nkey ||
	    numbers(pq.getvalue(r, i, 8), coll, 32) != nkey)
		return 0;
	buf_reset(&x->text);
	buf_adds(&x->text, *pq.getvalue(r, i, 4) == 't' ?
	    "CREATE UNIQUE INDEX " : "CREATE INDEX ");
	buf_adds(&x->text, pq.getvalue(r, i, 3));
	buf_adds(&x->text, *pq.getvalue(r, i, 12) == 'I' ? " ON ONLY " :
	    " ON ");
	buf_adds(&x->text, e->qname);
	buf_adds(&x->text, " USING ");
	buf_adds(&x->text, am);
	buf_adds(&x->text, " (");
	for (k = 0; k < n; k++) {
		if ((a = att_of(x, e, (long)key[k])) == NULL)
			return 0;
		if (k == nkey)
			buf_adds(&x->text, ") INCLUDE (");
		else if (k > 0)
			buf_add(&x->text, ", ", 2);
		buf_adds(&x->text, a->qname);
		if (k >= nkey)
			continue;
		if (coll[k] != a->coll || opt[k] > (btree ? 3 : 0) ||
		    (cname = opclass(x, cls[k], a)) == NULL)
			return 0;
		buf_adds(&x->text, cname);
		buf_adds(&x->text, order[opt[k]]);
	}
	buf_addc(&x->text, ')');
	if (!pq.getisnull(r, i, 9)) {	/* a partial index */
		buf_adds(&x->text, " WHERE ");
		pred = pq.getvalue(r, i, 9);
		if (*pred != '{')
			buf_adds(&x->text, pred);
		else if (!build_pred(x, e, pred))
			return 0;
	}
	return 1;
}

/* "schema.name" unless the schema is public, as structure.sql keys */
static const char *
key(struct live *x, const char *nsp, const char *name, const char **schema)
{
	if (strcmp(nsp, "public") == 0) {
		*schema = NULL;
		return name;
	}
	*schema = nsp;
	return arena_printf(&x->s->a, "%s.%s", nsp, name);
}

static int
load_enums(struct live *x)
{
	PGresult	*r;
	struct table	*e = NULL;
	const char	*nsp, *name, *k, *schema;
	int		 i, n;

	if ((r = query(x, "enum types")) == NULL)
		return -1;
	n = pq.ntuples(r);
	for (i = 0; i < n; i++) {
		nsp = val(x, r, i, 0);
		name = val(x, r, i, 1);
		k = key(x, nsp, name, &schema);
		if (e == NULL || strcmp(e->key, k) != 0) {
			e = schema_add(x->s, REC_ENUM, k, 0);
			e->schema = schema;
			e->name = name;
		}
		strv_add(&x->s->a, &e->values, val(x, r, i, 2));
	}
	pq.clear(r);
	return 0;
}

static int
load_rels(struct live *x)
{
	PGresult	*r;
	struct table	*t;
	const char	*nsp, *name, *k, *schema, *kind;
	int		 i, n;

	if ((r = query(x, "tables")) == NULL)
		return -1;
	n = pq.ntuples(r);
	x->rels = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*x->rels));
	for (i = 0; i < n; i++) {
		nsp = val(x, r, i, 1);
		name = val(x, r, i, 2);
		kind = pq.getvalue(r, i, 3);
		k = key(x, nsp, name, &schema);
		t = schema_add(x->s, *kind == 'v' || *kind == 'm' ? REC_VIEW :
		    REC_TABLE, k, 0);
		t->schema = schema;
		t->name = name;
		if (t->kind == REC_VIEW)
			t->sql = val(x, r, i, 5);
		x->rels[x->nrels].oid = strtoul(pq.getvalue(r, i, 0), NULL, 10);
		x->rels[x->nrels].qname = x->fast ? val(x, r, i, 6) : NULL;
		x->rels[x->nrels++].t = t;
	}
	qsort(x->rels, (size_t)x->nrels, sizeof(*x->rels), rel_cmp);
	pq.clear(r);
	return 0;
}

/*
 * The name of type oid (one of builtins, or its array) with modifier
 * typmod, as format_type() prints it, into x->text; NULL if not one.
 */
static const char *
builtin_type(struct live *x, unsigned long oid, long typmod)
{
	const struct builtin *b;
	size_t		 i;
	int		 array = 0;
	long		 m = typmod - 4;	/* less VARHDRSZ */

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (builtins[i].oid == oid || builtins[i].array == oid)
			break;
	if (i == sizeof(builtins) / sizeof(builtins[0]))
		return NULL;
	b = &builtins[i];
	array = b->array == oid;
	buf_reset(&x->text);
	if (b->mod == 'c' && typmod < 0)
		buf_adds(&x->text, "bpchar");	/* not character(1) */
	else
		buf_adds(&x->text, b->name);
	if (typmod >= 0)
		switch (b->mod) {
		case 'c':
		case 'v':
			buf_printf(&x->text, "(%ld)", m);
			break;
		case 'n':
			buf_printf(&x->text, "(%ld,%ld)", (m >> 16) & 0xffff,
			    ((m & 0x7ff) ^ 1024) - 1024);
			break;
		case 't':
		case 'z':
			buf_printf(&x->text, "(%ld)", typmod);
			break;
		default:
			return NULL;
		}
	if (b->mod == 't' || b->mod == 'z')
		buf_adds(&x->text, b->mod == 'z' ? " with time zone" :
		    " without time zone");
	if (array)
		buf_adds(&x->text, "[]");
	return x->text.data;
}

static int
load_columns(struct live *x)
{
	PGresult	*r;
	struct rel	*e;
	struct table	*t;
	struct column	*c;
	const char	*def, *ident, *gen, *v, *type;
	int		 i, n, rc = 0;

	if ((r = query(x, "columns")) == NULL)
		return -1;
	n = pq.ntuples(r);
	for (i = 0; i < n && rc == 0; i++) {
		if ((e = rel_oid(x, pq.getvalue(r, i, 0))) == NULL)
			continue;
		t = e->t;
		c = table_add_column(x->s, t, val(x, r, i, 1), 0);
		if (x->natts == x->attcap) {
			x->attcap = x->attcap ? x->attcap * 2 : 1024;
			x->atts = xreallocarray(x->atts, (size_t)x->attcap,
			    sizeof(*x->atts));
		}
		if (e->natt++ == 0)
			e->att0 = x->natts;
		x->atts[x->natts].c = c;
		x->atts[x->natts].num = (int)strtol(pq.getvalue(r, i, 9),
		    NULL, 10);
		if (x->fast) {
			x->atts[x->natts].qname = val(x, r, i, 10);
			x->atts[x->natts].type = strtoul(pq.getvalue(r, i, 11),
			    NULL, 10);
			x->atts[x->natts].typtype = *pq.getvalue(r, i, 13);
			x->atts[x->natts].typcat = *pq.getvalue(r, i, 14);
			x->atts[x->natts].coll = strtoul(pq.getvalue(r, i, 12),
			    NULL, 10);
		}
		x->natts++;
		type = pq.getvalue(r, i, 2);
		if (pq.getisnull(r, i, 2) && (type = builtin_type(x,
		    strtoul(pq.getvalue(r, i, 11), NULL, 10),
		    strtol(pq.getvalue(r, i, 15), NULL, 10))) == NULL) {
			*x->status = EX_SOFTWARE;
			pq.clear(r);
			return schema_fail(x->s, 0, 0, "reading columns: "
			    "no name for type %s", pq.getvalue(r, i, 11));
		}
		rc |= pgsql_snippet(x->s, SNIP_TYPE, t, c, NULL, type);
		c->notnull = *pq.getvalue(r, i, 3) == 't';
		def = val(x, r, i, 4);
		ident = pq.getvalue(r, i, 5);
		gen = pq.getvalue(r, i, 6);
		if (def != NULL && *gen == 's') {
			rc |= pgsql_snippet(x->s, SNIP_GENERATED, t, c, NULL,
			    def);
			colx(x->s, c)->gen_stored = 1;
		} else if (def != NULL)
			rc |= pgsql_snippet(x->s, SNIP_DEFAULT, t, c, NULL,
			    def);
		if (*ident == 'a' || *ident == 'd')
			c->auto_inc = 1;
		if ((v = val(x, r, i, 7)) != NULL)
			colx(x->s, c)->collation = v;
	}
	pq.clear(r);
	return rc;
}

/* the comments of the relations read and of their columns */
static int
load_comments(struct live *x)
{
	PGresult	*r;
	struct rel	*e;
	const struct att *a;
	long		 sub;
	int		 i, n;

	if ((r = query(x, "comments")) == NULL)
		return -1;
	n = pq.ntuples(r);
	for (i = 0; i < n; i++) {
		if ((e = rel_oid(x, pq.getvalue(r, i, 0))) == NULL)
			continue;
		sub = strtol(pq.getvalue(r, i, 1), NULL, 10);
		if (sub == 0)
			e->t->comment = val(x, r, i, 2);
		else if ((a = att_of(x, e, sub)) != NULL)
			colx(x->s, a->c)->comment = val(x, r, i, 2);
	}
	pq.clear(r);
	return 0;
}

/* a definition the client cannot build (in built[]) */
static const char	unbuilt[] = "";

/*
 * Row i's definition as build() spells it, kept in built[i] (an arena
 * copy, or unbuilt): NULL if it cannot.
 */
static const char *
built_def(struct live *x, PGresult *r, int i,
    int (*build)(struct live *, PGresult *, int), const char **built)
{
	if (built[i] == NULL)
		built[i] = build(x, r, i) ? arena_strndup(&x->s->a,
		    x->text.data, x->text.len) : unbuilt;
	return built[i] != unbuilt ? built[i] : NULL;
}

/*
 * The definitions of q_cons_fast's or q_idx_fast's rows from row i on
 * that the server did not give (NULL in column col) and the client
 * cannot build (built_def), asked in one more query (q_def, by the oid
 * in column col + 1): *defs, the result, or NULL if none.
 */
static int
missing_defs(struct live *x, PGresult *r, int i, int col, const char *what,
    int (*build)(struct live *, PGresult *, int), const char **built,
    const char *q_def, PGresult **defs)
{
	struct buf	 oids = { 0 };
	const char	*param;
	int		 n = pq.ntuples(r), rc = 0;

	*defs = NULL;
	buf_addc(&oids, '{');
	for (; i < n; i++)
		if (pq.getisnull(r, i, col) && rel(x, r, i) != NULL &&
		    !skip_index(x, r, i, build) &&
		    built_def(x, r, i, build, built) == NULL) {
			if (oids.len > 1)
				buf_addc(&oids, ',');
			buf_adds(&oids, pq.getvalue(r, i, col + 1));
		}
	buf_addc(&oids, '}');
	if (oids.len > 2) {
		param = oids.data;
		*defs = pq.execParams(x->cur->c, q_def, 1, NULL, &param,
		    NULL, NULL, 0);
		if (*defs == NULL ||
		    pq.resultStatus(*defs) != PGRES_TUPLES_OK) {
			*x->status = EX_UNAVAILABLE;
			rc = schema_fail(x->s, 0, 0, "reading %s: %s", what,
			    one_line(x->s, pq.errorMessage(x->cur->c)));
			if (*defs != NULL)
				pq.clear(*defs);
			*defs = NULL;
		}
	}
	buf_free(&oids);
	return rc;
}

/*
 * The definition of row i, in column col: the server's, else the
 * client's or the one missing_defs asked for.
 */
static const char *
definition(struct live *x, PGresult *r, int i, int col,
    int (*build)(struct live *, PGresult *, int), const char **built,
    PGresult *defs)
{
	const char	*oid, *d;
	int		 j, n;

	if (!x->fast || !pq.getisnull(r, i, col))
		return pq.getvalue(r, i, col);
	if ((d = built_def(x, r, i, build, built)) != NULL)
		return d;
	oid = pq.getvalue(r, i, col + 1);
	n = defs != NULL ? pq.ntuples(defs) : 0;
	for (j = 0; j < n; j++)
		if (strcmp(pq.getvalue(defs, j, 0), oid) == 0)
			return pq.getvalue(defs, j, 1);
	return "";
}

/* the operator classes, for build_index */
static int
load_opclasses(struct live *x)
{
	PGresult	*r;
	int		 i, n;

	if ((r = query(x, "operator classes")) == NULL)
		return -1;
	n = pq.ntuples(r);
	x->opc = xreallocarray(NULL, n > 0 ? (size_t)n : 1, sizeof(*x->opc));
	for (i = 0; i < n; i++) {
		x->opc[i].oid = strtoul(pq.getvalue(r, i, 0), NULL, 10);
		x->opc[i].type = strtoul(pq.getvalue(r, i, 1), NULL, 10);
		x->opc[i].method = strtoul(pq.getvalue(r, i, 2), NULL, 10);
		x->opc[i].dflt = *pq.getvalue(r, i, 3) == 't';
		x->opc[i].name = arena_printf(&x->s->a, " %s",
		    pq.getvalue(r, i, 4));
	}
	x->nopc = n;
	pq.clear(r);
	return 0;
}

static int
ulong_cmp(const void *a, const void *b)
{
	const unsigned long *ua = a, *ub = b;

	return *ua < *ub ? -1 : *ua > *ub;
}

/*
 * The indexes of keys and exclusion constraints, left out of the
 * indexes: their oids, from the constraints (q_cons_fast)
 */
static void
constraint_indexes(struct live *x, PGresult *cons)
{
	int	i, n = pq.ntuples(cons);

	x->conidx = xreallocarray(NULL, n > 0 ? (size_t)n : 1,
	    sizeof(*x->conidx));
	for (i = 0; i < n; i++)
		if (strchr("pux", *pq.getvalue(cons, i, 4)) != NULL)
			x->conidx[x->nconidx++] = strtoul(pq.getvalue(cons, i,
			    14), NULL, 10);
	qsort(x->conidx, (size_t)x->nconidx, sizeof(*x->conidx), ulong_cmp);
}

/* whether row i of q_idx_fast (build: build_index) is a constraint's */
static int
skip_index(const struct live *x, PGresult *r, int i,
    int (*build)(struct live *, PGresult *, int))
{
	unsigned long	 oid;

	if (build != build_index || !x->fast)
		return 0;
	oid = strtoul(pq.getvalue(r, i, 2), NULL, 10);
	return bsearch(&oid, x->conidx, (size_t)x->nconidx,
	    sizeof(*x->conidx), ulong_cmp) != NULL;
}

/*
 * The constraints of rows *i.. of cons, in order, until one whose
 * definition neither the server gave nor the client can build (cdefs
 * NULL: not asked yet): *i is left there.
 */
static int
constraints(struct live *x, PGresult *cons, int *i, const char **built,
    PGresult *cdefs, int asked)
{
	struct table	*t;
	int		 n = pq.ntuples(cons), rc = 0;

	for (; *i < n && rc == 0; ++*i) {
		if ((t = rel(x, cons, *i)) == NULL)
			continue;
		if (!asked && x->fast && pq.getisnull(cons, *i, 2) &&
		    built_def(x, cons, *i, build_constraint, built) == NULL)
			break;
		rc = pgsql_snippet(x->s, SNIP_CONSTRAINT, t, NULL,
		    val(x, cons, *i, 1), definition(x, cons, *i, 2,
		    build_constraint, built, cdefs));
	}
	return rc;
}

/*
 * Constraints, then indexes (a UNIQUE constraint's index comes
 * before the table's other indexes, as in structure.sql).  The
 * constraints are read while the server finds the indexes, up to the
 * first whose definition must be asked; the rest once the queries
 * sent at once have ended, with the definitions asked afterwards.
 */
static int
load_keys(struct live *x)
{
	PGresult	*r, *cons, *idx = NULL, *cdefs = NULL, *idefs = NULL;
	struct table	*t;
	const char	**cbuilt, **ibuilt = NULL;
	int		 i, n, c = 0, rc = -1;

	x->cur = x->k;
	if ((r = query(x, "settings")) == NULL)
		return -1;
	pq.clear(r);
	if ((cons = query(x, "constraints")) == NULL)
		return -1;
	n = pq.ntuples(cons);
	cbuilt = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*cbuilt));
	if (x->fast)
		constraint_indexes(x, cons);
	if (constraints(x, cons, &c, cbuilt, NULL, 0) == -1 ||
	    (x->fast && load_opclasses(x) == -1) ||
	    (idx = query(x, "indexes")) == NULL ||
	    end_queries(x) == -1)
		goto done;
	n = pq.ntuples(idx);
	ibuilt = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*ibuilt));
	if (x->fast && (missing_defs(x, cons, c, 2, "constraints",
	    build_constraint, cbuilt, q_condef, &cdefs) == -1 ||
	    missing_defs(x, idx, 0, 1, "indexes", build_index, ibuilt,
	    q_idxdef, &idefs) == -1))
		goto done;
	if ((rc = constraints(x, cons, &c, cbuilt, cdefs, 1)) == -1)
		goto done;
	for (i = 0; i < n && rc == 0; i++)
		if ((t = rel(x, idx, i)) != NULL &&
		    !skip_index(x, idx, i, build_index))
			rc = pgsql_snippet(x->s, SNIP_INDEX, t, NULL, NULL,
			    definition(x, idx, i, 1, build_index, ibuilt,
			    idefs));
done:
	free(cbuilt);
	free(ibuilt);
	if (cdefs != NULL)
		pq.clear(cdefs);
	if (idefs != NULL)
		pq.clear(idefs);
	if (idx != NULL)
		pq.clear(idx);
	pq.clear(cons);
	return rc;
}

/*
 * The constraint and index queries for the server's version: the ones
 * that build most of the text themselves for PostgreSQL 11 to 17
 * (the catalog columns of 15 and 17 in their conditions), the plain
 * ones otherwise.
 */
static void
choose_queries(struct live *x)
{
	int	v = pq.serverVersion(x->conn);

	x->q_cons = q_cons;
	x->q_idx = q_idx;
	if (v < 110000 || v >= 180000)
		return;
	x->fast = 1;
	x->q_cons = arena_printf(&x->s->a, q_cons_fast,
	    v >= 170000 ? "AND NOT ix.indnullsnotdistinct AND NOT co.conperiod" :
	    v >= 150000 ? "AND NOT ix.indnullsnotdistinct" : "",
	    v >= 170000 ? "AND co.confdelsetcols IS NULL AND NOT co.conperiod" :
	    v >= 150000 ? "AND co.confdelsetcols IS NULL" : "");
	x->q_idx = arena_printf(&x->s->a, q_idx_fast,
	    v >= 150000 ? "AND NOT i.indnullsnotdistinct" : "",
	    v >= 150000 ? "AND NOT i.indnullsnotdistinct" : "");
}

/*
 * The queries, in the order they are read (query() takes the next
 * result), sent on c at once as one string: the tables and columns, or
 * (keys) the constraints and indexes, each after the settings.  One
 * round trip, and the server runs the next ones while this process
 * reads the first.  The simple
 * query protocol spares each statement the extended protocol's parse,
 * bind and describe messages; its parameters are literals.
 */
static int
send_queries(struct live *x, struct pgc *c, int keys)
{
	const char	*qs[] = { q_settings, q_enums, q_rels, q_cols, q_descr,
	    q_settings, x->q_cons, q_opclass, x->q_idx };
	struct buf	 b = { 0 };
	const char	*p;
	size_t		 i;
	int		 ok;

	/* the tables and columns (0 to 4), or the keys (5 to 8) */
	for (i = keys ? 5 : 0; i < (keys ? 9 : 5); i++) {
		if (qs[i] == q_opclass && !x->fast)
			continue;
		for (p = qs[i]; *p != '\0'; p++)
			if (*p == '$' && (p[1] == '1' || p[1] == '2'))
				buf_adds(&b, x->params[*++p - '1']);
			else
				buf_addc(&b, *p);
		buf_add(&b, ";\n", 2);
		c->sent++;
	}
	buf_addc(&b, '\0');
	ok = pq.sendQuery(c->c, b.data);
	buf_free(&b);
	if (ok)
		return 0;
	c->sent = 0;
	*x->status = EX_UNAVAILABLE;
	return schema_fail(x->s, 0, 0, "sending the queries: %s",
	    one_line(x->s, pq.errorMessage(c->c)));
}

/* after the last result: the end of the queries */
static int
end_queries(struct live *x)
{
	PGresult	*r;
	int		 ok = 1;

	while ((r = pq.getResult(x->cur->c)) != NULL) {
		ok = 0;
		pq.clear(r);
	}
	if (ok && x->cur->sent == 0)
		return 0;
	*x->status = EX_UNAVAILABLE;
	return schema_fail(x->s, 0, 0, "ending the queries: %s",
	    one_line(x->s, pq.errorMessage(x->cur->c)));
}

/* '{"a","b"}': a string literal of a text[] of the schema names */
static const char *
schema_array(struct live *x, const struct strv *schemas)
{
	struct buf	 b = { 0 };
	const char	*p;
	char		*r;
	int		 i;

	buf_addc(&b, '{');
	for (i = 0; i < schemas->n; i++) {
		if (i > 0)
			buf_addc(&b, ',');
		buf_addc(&b, '"');
		for (p = schemas->v[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(&b, '\\');
			buf_addc(&b, *p);
		}
		buf_addc(&b, '"');
	}
	buf_add(&b, "}", 2);
	r = pq.escapeLiteral(x->conn, b.data, b.len - 1);
	buf_free(&b);
	if (r == NULL) {
		(void)schema_fail(x->s, 0, 0, "--schema: %s",
		    one_line(x->s, pq.errorMessage(x->conn)));
		return NULL;
	}
	p = arena_strdup(&x->s->a, r);
	pq.freemem(r);
	return p;
}

int
pglive_load(struct schema *s, const char *conninfo,
    const struct strv *schemas, int *status)
{
	struct live	 x;
	struct keys_conn kc;
	PGresult	*r;
	int		 native, rc = -1;

	s->kind = SRC_PGLIVE;
	s->file = "postgres";
	*status = EX_UNAVAILABLE;
	/* the built-in client where it can (pgwire.c), libpq otherwise */
	native = getenv("SLUICE_LIBPQ") == NULL && pgwire_usable(conninfo);
	if (native)
		pgwire_api(&pq);
	else if (load_libpq(s) == -1)
		return -1;
	memset(&x, 0, sizeof(x));
	x.s = s;
	x.status = status;
	if (connect_db(&x, &kc, conninfo) == -1) {
		if (!native)
			goto done;
		/*
		 * libpq tries again, from the start: it may know a way in
		 * (TLS, a password file, ...), and if not, its message is
		 * the one to give
		 */
		pq.finish(x.conn);
		x.conn = x.main.c = NULL;
		*status = EX_UNAVAILABLE;
		if (load_libpq(s) == -1 || connect_db(&x, &kc, conninfo) == -1)
			goto done;
	}
	if ((x.params[0] = schema_array(&x, schemas)) == NULL)
		goto done;
	choose_queries(&x);
	x.params[1] = s->views ? "true" : "false";
	x.cur = &x.main;
	if (send_queries(&x, &x.main, 0) == -1)
		goto done;
	join_keys(&x, &kc);
	if (x.k == &x.keys && send_queries(&x, &x.keys, 1) == -1)
		goto done;
	/* names qualified as pg_dump prints them */
	if ((r = query(&x, "settings")) == NULL)
		goto done;
	pq.clear(r);
	*status = EX_DATAERR;
	if (load_enums(&x) == -1 || load_rels(&x) == -1 ||
	    load_columns(&x) == -1 || load_comments(&x) == -1 ||
	    end_queries(&x) == -1 ||
	    (x.k == &x.main && send_queries(&x, &x.main, 1) == -1) ||
	    load_keys(&x) == -1 ||
	    pgsql_snippet(s, SNIP_FINISH, NULL, NULL, NULL, "") == -1)
		goto done;
	rc = 0;
done:
	join_keys(&x, &kc);
	if (x.conn != NULL)
		pq.finish(x.conn);
	if (x.keys.c != NULL)
		pq.finish(x.keys.c);
	free(x.rels);
	free(x.atts);
	free(x.opc);
	free(x.conidx);
	buf_free(&x.text);
	return rc;
}
