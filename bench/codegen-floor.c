/*
 * codegen-floor.c: the floor of bench/codegen.sh: open a SQLite
 * database and read every column of every table once through
 * libsqlite3 (sqlite_schema, then PRAGMA table_info), printing
 * nothing.  Whatever a code generator does, it does at least this.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char *argv[])
{
	sqlite3		*db;
	sqlite3_stmt	*t, *c;
	unsigned long	 n = 0;
	char		*q;

	if (argc != 2) {
		fprintf(stderr, "usage: codegen-floor db.sqlite\n");
		return 64;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "codegen-floor: %s: %s\n", argv[1],
		    sqlite3_errmsg(db));
		return 66;
	}
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE "
	    "type = 'table' AND name NOT LIKE 'sqlite_%'", -1, &t, NULL) !=
	    SQLITE_OK)
		return 65;
	while (sqlite3_step(t) == SQLITE_ROW) {
		q = sqlite3_mprintf("PRAGMA table_info(%Q)",
		    (const char *)sqlite3_column_text(t, 0));
		if (sqlite3_prepare_v2(db, q, -1, &c, NULL) != SQLITE_OK)
			return 65;
		while (sqlite3_step(c) == SQLITE_ROW)
			n += sqlite3_column_bytes(c, 1) +
			    sqlite3_column_bytes(c, 2);
		sqlite3_finalize(c);
		sqlite3_free(q);
	}
	sqlite3_finalize(t);
	sqlite3_close(db);
	return n == 0;
}
