/*
 * pglive.c: the live PostgreSQL front-end of introspect.  Exports
 * pglive_load(): connect with libpq (URL or keyword string, PG*
 * variables honoured), read the whole database in five catalog queries
 * (enum labels, relations, columns, constraints, indexes: never one
 * query per table), and fill the schema model.  The catalog's own text
 * (format_type, pg_get_expr, pg_get_constraintdef, pg_get_indexdef,
 * with an empty search_path, as pg_dump prints it) is read by pgsql.c,
 * so a database and its structure.sql give the same records.
 *
 * libpq is not linked: it is loaded with dlopen(3) here, on the first
 * live source, so the stage starts without it (libpq costs some
 * milliseconds and megabytes at start-up) for every other source.
 * Messages name the server as postgres://host:port/database, never
 * the user's URL, which may hold a password.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <postgresql/libpq-fe.h>

#include "buf.h"
#include "xalloc.h"
#include "introspect.h"
#include "banned.h"

#define LIBPQ	"libpq.so.5"

static struct {
	__typeof__(PQconnectdbParams)	*connectdbParams;
	__typeof__(PQstatus)		*status;
	__typeof__(PQerrorMessage)	*errorMessage;
	__typeof__(PQconnectionNeedsPassword) *needsPassword;
	__typeof__(PQfinish)		*finish;
	__typeof__(PQhost)		*host;
	__typeof__(PQport)		*port;
	__typeof__(PQdb)		*db;
	__typeof__(PQexec)		*exec;
	__typeof__(PQexecParams)	*execParams;
	__typeof__(PQresultStatus)	*resultStatus;
	__typeof__(PQresultErrorField)	*resultErrorField;
	__typeof__(PQntuples)		*ntuples;
	__typeof__(PQnfields)		*nfields;
	__typeof__(PQgetvalue)		*getvalue;
	__typeof__(PQgetisnull)		*getisnull;
	__typeof__(PQclear)		*clear;
} pq;

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
	{ "PQexec", offsetof(__typeof__(pq), exec) },
	{ "PQexecParams", offsetof(__typeof__(pq), execParams) },
	{ "PQresultStatus", offsetof(__typeof__(pq), resultStatus) },
	{ "PQresultErrorField", offsetof(__typeof__(pq), resultErrorField) },
	{ "PQntuples", offsetof(__typeof__(pq), ntuples) },
	{ "PQnfields", offsetof(__typeof__(pq), nfields) },
	{ "PQgetvalue", offsetof(__typeof__(pq), getvalue) },
	{ "PQgetisnull", offsetof(__typeof__(pq), getisnull) },
	{ "PQclear", offsetof(__typeof__(pq), clear) },
};

struct live {
	struct schema	*s;
	PGconn		*conn;
	const char	*params[2];	/* $1 schemas, $2 views */
	struct rel {
		unsigned long	 oid;
		struct table	*t;
	}		*rels;
	int		 nrels;
	int		*status;
};

/* the relations read: tables (and views with --views), no partitions */
#define RELS \
	"WITH r AS (SELECT c.oid FROM pg_catalog.pg_class c " \
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " \
	"WHERE (c.relkind IN ('r', 'p') OR ($2::bool AND " \
	"c.relkind IN ('v', 'm'))) AND NOT c.relispartition " \
	"AND n.nspname = ANY ($1::text[])) "

static const char q_enums[] =
	"SELECT n.nspname, t.typname, e.enumlabel "
	"FROM pg_catalog.pg_enum e "
	"JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid "
	"JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
	"WHERE n.nspname = ANY ($1::text[]) AND $2::bool IS NOT NULL "
	"ORDER BY n.nspname COLLATE \"C\", t.typname COLLATE \"C\", "
	"e.enumsortorder";

static const char q_rels[] = RELS
	"SELECT c.oid, n.nspname, c.relname, c.relkind, "
	"pg_catalog.obj_description(c.oid, 'pg_class'), "
	"CASE WHEN c.relkind IN ('v', 'm') THEN "
	"pg_catalog.pg_get_viewdef(c.oid) END "
	"FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE c.oid IN (SELECT oid FROM r) "
	"ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

static const char q_cols[] = RELS
	"SELECT a.attrelid, a.attname, "
	"pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
	"pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, "
	"a.attgenerated, "
	"CASE WHEN a.attcollation <> t.typcollation THEN "
	"CASE WHEN cn.nspname IN ('pg_catalog', 'public') THEN co.collname "
	"ELSE cn.nspname || '.' || co.collname END END, "
	"ds.description "
	"FROM pg_catalog.pg_attribute a "
	"JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
	"LEFT JOIN pg_catalog.pg_attrdef d "
	"ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
	"LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
	"LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
	"LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = a.attrelid "
	"AND ds.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass "
	"AND ds.objsubid = a.attnum "
	"WHERE a.attrelid IN (SELECT oid FROM r) AND a.attnum > 0 "
	"AND NOT a.attisdropped "
	"ORDER BY a.attrelid, a.attnum";

/* as pg_dump orders them: by kind, then validated first, by name */
static const char q_cons[] = RELS
	"SELECT co.conrelid, co.conname, "
	"pg_catalog.pg_get_constraintdef(co.oid) "
	"FROM pg_catalog.pg_constraint co "
	"WHERE co.conrelid IN (SELECT oid FROM r) "
	"AND co.contype IN ('p', 'u', 'f', 'c', 'x') "
	"ORDER BY co.conrelid, NOT co.convalidated, "
	"co.conname COLLATE \"C\"";

/* indexes that are not a key's or an exclusion constraint's */
static const char q_idx[] = RELS
	"SELECT i.indrelid, pg_catalog.pg_get_indexdef(i.indexrelid) "
	"FROM pg_catalog.pg_index i "
	"JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
	"WHERE i.indrelid IN (SELECT oid FROM r) "
	"AND i.indexrelid NOT IN (SELECT x.conindid "
	"FROM pg_catalog.pg_constraint x WHERE x.contype IN ('p', 'u', 'x')) "
	"ORDER BY ic.relname COLLATE \"C\"";

static int
load_libpq(struct schema *s)
{
	void	*h;
	size_t	 i;

	if (pq.connectdbParams != NULL)
		return 0;
	if ((h = dlopen(LIBPQ, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return schema_fail(s, 0, 0, "cannot load %s for a live "
		    "database: %s", LIBPQ, dlerror());
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if ((*(void **)((char *)&pq + syms[i].off) =
		    dlsym(h, syms[i].name)) == NULL) {
			memset(&pq, 0, sizeof(pq));
			return schema_fail(s, 0, 0, "%s: no symbol '%s'",
			    LIBPQ, syms[i].name);
		}
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

static int
connect_db(struct live *x, const char *conninfo)
{
	static const char *const keys[] = {
		"dbname", "fallback_application_name", NULL
	};
	const char	*vals[] = { conninfo, "sluice-introspect", NULL };
	const char	*m;

	x->conn = pq.connectdbParams(keys, vals, 1);
	if (x->conn == NULL) {
		*x->status = EX_OSERR;
		return schema_fail(x->s, 0, 0, "out of memory in libpq");
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

static PGresult *
query(struct live *x, const char *what, const char *sql, int nparams)
{
	PGresult	*r;
	const char	*state;

	if (nparams == 0)
		r = pq.exec(x->conn, sql);
	else
		r = pq.execParams(x->conn, sql, nparams, NULL, x->params,
		    NULL, NULL, 0);
	if (r != NULL && pq.resultStatus(r) == PGRES_TUPLES_OK)
		return r;
	state = r != NULL ? pq.resultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	*x->status = state != NULL && strcmp(state, "42501") == 0 ?
	    EX_NOPERM : EX_UNAVAILABLE;
	(void)schema_fail(x->s, 0, 0, "reading %s: %s", what,
	    one_line(x->s, pq.errorMessage(x->conn)));
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

static struct table *
rel(struct live *x, PGresult *r, int row)
{
	struct rel	 key, *e;

	key.oid = strtoul(pq.getvalue(r, row, 0), NULL, 10);
	e = bsearch(&key, x->rels, (size_t)x->nrels, sizeof(*x->rels),
	    rel_cmp);
	return e != NULL ? e->t : NULL;
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

	if ((r = query(x, "enum types", q_enums, 2)) == NULL)
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

	if ((r = query(x, "tables", q_rels, 2)) == NULL)
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
		t->comment = val(x, r, i, 4);
		if (t->kind == REC_VIEW)
			t->sql = val(x, r, i, 5);
		x->rels[x->nrels].oid = strtoul(pq.getvalue(r, i, 0), NULL, 10);
		x->rels[x->nrels++].t = t;
	}
	qsort(x->rels, (size_t)x->nrels, sizeof(*x->rels), rel_cmp);
	pq.clear(r);
	return 0;
}

static int
load_columns(struct live *x)
{
	PGresult	*r;
	struct table	*t;
	struct column	*c;
	const char	*def, *ident, *gen, *v;
	int		 i, n, rc = 0;

	if ((r = query(x, "columns", q_cols, 2)) == NULL)
		return -1;
	n = pq.ntuples(r);
	for (i = 0; i < n && rc == 0; i++) {
		if ((t = rel(x, r, i)) == NULL)
			continue;
		c = table_add_column(x->s, t, val(x, r, i, 1), 0);
		rc |= pgsql_snippet(x->s, SNIP_TYPE, t, c, NULL,
		    pq.getvalue(r, i, 2));
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
		if ((v = val(x, r, i, 8)) != NULL)
			colx(x->s, c)->comment = v;
	}
	pq.clear(r);
	return rc;
}

static int
load_constraints(struct live *x)
{
	PGresult	*r;
	struct table	*t;
	int		 i, n, rc = 0;

	if ((r = query(x, "constraints", q_cons, 2)) == NULL)
		return -1;
	n = pq.ntuples(r);
	for (i = 0; i < n && rc == 0; i++)
		if ((t = rel(x, r, i)) != NULL)
			rc = pgsql_snippet(x->s, SNIP_CONSTRAINT, t, NULL,
			    val(x, r, i, 1), pq.getvalue(r, i, 2));
	pq.clear(r);
	return rc;
}

static int
load_indexes(struct live *x)
{
	PGresult	*r;
	struct table	*t;
	int		 i, n, rc = 0;

	if ((r = query(x, "indexes", q_idx, 2)) == NULL)
		return -1;
	n = pq.ntuples(r);
	for (i = 0; i < n && rc == 0; i++)
		if ((t = rel(x, r, i)) != NULL)
			rc = pgsql_snippet(x->s, SNIP_INDEX, t, NULL, NULL,
			    pq.getvalue(r, i, 1));
	pq.clear(r);
	return rc;
}

/* {"a","b"}: a text[] literal of the schema names */
static const char *
schema_array(struct live *x, const struct strv *schemas)
{
	struct buf	 b = { 0 };
	const char	*p, *r;
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
	buf_addc(&b, '}');
	r = arena_strndup(&x->s->a, b.data, b.len);
	buf_free(&b);
	return r;
}

int
pglive_load(struct schema *s, const char *conninfo,
    const struct strv *schemas, int *status)
{
	struct live	 x;
	PGresult	*r;
	int		 rc = -1;

	s->kind = SRC_PGLIVE;
	s->file = "postgres";
	*status = EX_UNAVAILABLE;
	if (load_libpq(s) == -1)
		return -1;
	memset(&x, 0, sizeof(x));
	x.s = s;
	x.status = status;
	if (connect_db(&x, conninfo) == -1)
		goto done;
	x.params[0] = schema_array(&x, schemas);
	x.params[1] = s->views ? "true" : "false";
	/* names qualified as pg_dump prints them */
	if ((r = query(&x, "settings", "SELECT pg_catalog.set_config("
	    "'search_path', '', false)", 0)) == NULL)
		goto done;
	pq.clear(r);
	*status = EX_DATAERR;
	if (load_enums(&x) == -1 || load_rels(&x) == -1 ||
	    load_columns(&x) == -1 || load_constraints(&x) == -1 ||
	    load_indexes(&x) == -1 ||
	    pgsql_snippet(s, SNIP_FINISH, NULL, NULL, NULL, "") == -1)
		goto done;
	rc = 0;
done:
	if (x.conn != NULL)
		pq.finish(x.conn);
	free(x.rels);
	return rc;
}
