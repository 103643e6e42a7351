/*
 * codegen-pg-floor.c: the floor for bench/codegen-pg.sh: connect with
 * libpq (linked), read every column of every table of the public
 * schema once (name, type, nullability, default) in one catalog query,
 * touch every value, print the count.  No records, no output files:
 * what any PostgreSQL code generator must at least do.
 * Usage: codegen-pg-floor CONNINFO
 */
#include <err.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <postgresql/libpq-fe.h>

int
main(int argc, char *argv[])
{
	PGconn		*c;
	PGresult	*r;
	size_t		 bytes = 0;
	int		 i, j, n;

	if (argc != 2)
		errx(EX_USAGE, "usage: codegen-pg-floor conninfo");
	c = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK)
		errx(EX_NOINPUT, "%s", PQerrorMessage(c));
	r = PQexec(c, "SELECT c.relname, a.attname, "
	    "format_type(a.atttypid, a.atttypmod), a.attnotnull, "
	    "pg_get_expr(d.adbin, d.adrelid) "
	    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
	    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
	    "AND d.adnum = a.attnum "
	    "WHERE c.relnamespace = 'public'::regnamespace "
	    "AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
	    "AND NOT a.attisdropped ORDER BY c.relname, a.attnum");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		errx(EX_UNAVAILABLE, "%s", PQerrorMessage(c));
	n = PQntuples(r);
	for (i = 0; i < n; i++)
		for (j = 0; j < 5; j++)
			bytes += strlen(PQgetvalue(r, i, j));
	printf("%d columns, %zu bytes\n", n, bytes);
	PQclear(r);
	PQfinish(c);
	return 0;
}
