/*
 * main.c: the introspect stage: a database schema to JSON Lines records
 * (sluice-records(5)), one per table, view or enum type.  Detects the
 * source kind from its content (or --from) and runs the matching
 * front-end over the source.  The SQLite one writes each table's record
 * as soon as it has read it (record_emit), once the whole list of
 * statements has been read, so the next stage starts on them; the
 * others, and any with --strict, only once the whole source is read.
 * A failure after the first record exits non-zero (sluice run holds
 * back the end of its output from the readers).
 * A new front-end is a file that fills a struct schema (introspect.h),
 * a detect rule and a case below.
 *
 * Live PostgreSQL (a postgres:// or postgresql:// URL, a libpq keyword
 * string, or --from postgres) is read by pglive.c, which loads libpq
 * with dlopen(3) only then: every other source runs without libpq's
 * start-up cost and memory (the stage does not link it).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "xalloc.h"
#include "introspect.h"
#include "banned.h"

#define USAGE \
	"usage: sluice introspect [--strict] [--views] " \
	"[--from sqlite | schemarb | sql | postgres]\n" \
	"                         [--schema name[,name ...]] source\n"

static void __attribute__((__noreturn__))
usage(int status)
{
	fputs(USAGE, status == 0 ? stdout : stderr);
	exit(status);
}

/* a SQL script: the first word after blanks and comments */
static int
is_sql(const char *p, const char *e)
{
	static const char *const words[] = {
		"SET ", "CREATE ", "ALTER ", "SELECT ", "COMMENT ", "DROP ",
		"BEGIN", "GRANT ", "REVOKE ", "INSERT ", "\\restrict", NULL
	};
	const char *const *w;

	for (;;) {
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'))
			p++;
		if (e - p >= 2 && p[0] == '-' && p[1] == '-') {
			while (p < e && *p != '\n')
				p++;
		} else if (e - p >= 2 && p[0] == '/' && p[1] == '*') {
			for (p += 2; e - p >= 2 && !(p[0] == '*' && p[1] == '/');
			    p++)
				;
			p += 2;
		} else
			break;
	}
	for (w = words; *w != NULL; w++)
		if ((size_t)(e - p) >= strlen(*w) &&
		    strncasecmp(p, *w, strlen(*w)) == 0)
			return 1;
	return 0;
}

/* a live database rather than a file name */
static int
is_conninfo(const char *s)
{
	struct stat	 st;

	if (strncmp(s, "postgres://", 11) == 0 ||
	    strncmp(s, "postgresql://", 13) == 0)
		return 1;
	return strchr(s, '=') != NULL && stat(s, &st) == -1;
}

/* the kind of a source from its first bytes */
static enum src_kind
detect(const char *p, size_t n)
{
	static const char magic[] = "SQLite format 3";
	const char	*e = p + n, *q;

	if (n >= sizeof(magic) && memcmp(p, magic, sizeof(magic)) == 0)
		return SRC_SQLITE;
	if (memchr(p, '\0', n > 4096 ? 4096 : n) != NULL)
		return SRC_NONE;
	/* schema.rb: the define header, or statements a dump starts with */
	if (memmem(p, n, "ActiveRecord::Schema", 20) != NULL)
		return SRC_SCHEMARB;
	for (q = p; q < e; ) {
		while (q < e && (*q == ' ' || *q == '\t' || *q == '\r' ||
		    *q == '\n'))
			q++;
		if (q < e && *q == '#') {
			while (q < e && *q != '\n')
				q++;
			continue;
		}
		break;
	}
	if ((size_t)(e - q) > 13 && (memcmp(q, "create_table ", 13) == 0 ||
	    memcmp(q, "create_table(", 13) == 0))
		return SRC_SCHEMARB;
	if (memmem(p, n > 4096 ? 4096 : n, "PostgreSQL database dump", 24) !=
	    NULL || is_sql(p, e))
		return SRC_PGSQL;
	return SRC_NONE;
}

/* the records a front-end has not streamed, then what is buffered */
static int
write_records(struct schema *s)
{
	struct table	*t;

	STAILQ_FOREACH(t, &s->recs, link)
		record_emit(s, t);
	if (record_flush(s) == -1) {
		errno = s->out_errno;
		return -1;
	}
	return 0;
}

/* the length of a UTF-8 byte order mark at the start (an editor's,
   which Ruby and psql skip), or 0 */
static size_t
bom(const char *t, size_t n)
{
	return n >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "schema", required_argument, NULL, 'S' },
		{ "strict", no_argument, NULL, 's' },
		{ "usage", no_argument, NULL, 'u' },
		{ "views", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct schema	 s;
	struct strv	 schemas = { 0 };
	struct buf	 in = { 0 }, out = { 0 };
	struct stat	 st;
	void		*map = NULL;
	char		*list = NULL, *sp, *tok;
	enum src_kind	 kind = SRC_NONE;
	const char	*path, *name;
	ssize_t		 n;
	int		 ch, fd, strict = 0, views = 0, rc, status = EX_DATAERR;
	int		 inmem = 0;	/* a SQLite file read into in */

	program_invocation_short_name = (char *)"introspect";
	fd_sanitize_std(1);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "sqlite") == 0)
				kind = SRC_SQLITE;
			else if (strcmp(optarg, "schemarb") == 0)
				kind = SRC_SCHEMARB;
			else if (strcmp(optarg, "sql") == 0)
				kind = SRC_PGSQL;
			else if (strcmp(optarg, "postgres") == 0)
				kind = SRC_PGLIVE;
			else {
				warnx("--from: unknown kind '%s': expected "
				    "'sqlite', 'schemarb', 'sql' or 'postgres'",
				    optarg);
				usage(EX_USAGE);
			}
			break;
		case 'S':
			free(list);
			list = xstrdup(optarg);
			break;
		case 's':
			strict = 1;
			break;
		case 'u':
			usage(0);
		case 'v':
			views = 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage(EX_USAGE);
	path = argv[0];
	name = strcmp(path, "-") == 0 ? "stdin" : path;
	if (kind == SRC_NONE && is_conninfo(path))
		kind = SRC_PGLIVE;
	schema_init(&s, name);
	s.views = views;
	/*
	 * Records go out as the front-end finishes them (the SQLite one
	 * does), so the next stage starts on them; with --strict, only
	 * once the whole source is read without a warning
	 */
	s.out_fd = STDOUT_FILENO;
	if (!strict)
		s.out = &out;
	if (kind == SRC_PGLIVE) {
		if (list == NULL)
			list = xstrdup("public");
		for (sp = list; (tok = strsep(&sp, ",")) != NULL; )
			if (*tok != '\0')
				strv_add(&s.a, &schemas, tok);
		if (schemas.n == 0) {
			warnx("--schema: expected a schema name");
			usage(EX_USAGE);
		}
		if (pglive_load(&s, path, &schemas, &status) == -1)
			errx(status, "%s", s.err);
		goto loaded;
	}
	if (list != NULL) {
		warnx("--schema: only for a live PostgreSQL database");
		usage(EX_USAGE);
	}

	/*
	 * schema.rb is parsed in memory; a SQLite file is opened by name
	 * (only stdin is deserialized from memory), so only its first
	 * block is read to detect it.
	 */
	if (strcmp(path, "-") == 0) {
		if (buf_readfd(&in, STDIN_FILENO) == -1)
			err(EX_IOERR, "%s", name);
		inmem = 1;
	} else {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			err(errno == ENOENT || errno == EACCES ||
			    errno == ENOTDIR || errno == ELOOP ?
			    EX_NOINPUT : EX_IOERR, "%s", name);
		buf_grow(&in, 4096);
		if ((n = read(fd, in.data, 4096)) == -1)
			err(errno == EISDIR ? EX_NOINPUT : EX_IOERR, "%s",
			    name);
		in.len = (size_t)n;
		if (kind == SRC_NONE)
			kind = detect(in.data + bom(in.data, in.len),
			    in.len - bom(in.data, in.len));
		/*
		 * A schema.rb file is mapped, not read: the parser lets
		 * go of the pages it has read (schema_source_done).
		 */
		if (kind == SRC_SCHEMARB && fstat(fd, &st) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size > 0 &&
		    (uintmax_t)st.st_size < SIZE_MAX &&
		    (map = mmap(NULL, (size_t)st.st_size, PROT_READ,
		    MAP_PRIVATE, fd, 0)) != MAP_FAILED) {
			s.map = map;
			s.maplen = (size_t)st.st_size;
		} else
			map = NULL;
		/* a pipe (/dev/stdin, <(...)) cannot be opened again by
		 * name: all of it in memory, as stdin (not a device such
		 * as /dev/zero, which would never end) */
		if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) ||
		    S_ISSOCK(st.st_mode)))
			inmem = 1;
		if (map == NULL && (inmem || kind == SRC_SCHEMARB ||
		    kind == SRC_PGSQL || (kind == SRC_NONE &&
		    memchr(in.data, '\0', in.len) == NULL)) &&
		    buf_readfd(&in, fd) == -1)
			err(EX_IOERR, "%s", name);
		(void)close(fd);
	}
	if (kind == SRC_NONE)
		kind = in.data == NULL ? detect("", 0) : detect(in.data +
		    bom(in.data, in.len), in.len - bom(in.data, in.len));

	switch (kind) {
	case SRC_SQLITE:
		rc = sqlite_load(&s, path, inmem ? in.data : NULL, in.len);
		break;
	case SRC_SCHEMARB: {
		const char *t = map != NULL ? map : in.data ? in.data : "";
		size_t	 tn = map != NULL ? s.maplen : in.len;

		rc = schemarb_load(&s, t + bom(t, tn), tn - bom(t, tn));
		break;
	}
	case SRC_PGSQL: {
		const char *t = in.data ? in.data : "";

		rc = pgsql_load(&s, t + bom(t, in.len), in.len - bom(t, in.len));
		break;
	}
	default:
		rc = schema_fail(&s, 1, 1, "expected a SQLite database, a "
		    "Rails schema.rb or a PostgreSQL structure.sql");
		break;
	}
	if (rc == -1)
		errx(EX_DATAERR, "%s", s.err);
loaded:
	schema_print_warnings(&s);
	if (strict && s.nwarn > 0)
		errx(EX_DATAERR, "%s: %d warning%s with --strict", name,
		    s.nwarn, s.nwarn == 1 ? "" : "s");
	s.out = &out;
	if (write_records(&s) == -1)
		err(EX_IOERR, "write");
#if !defined(__SANITIZE_ADDRESS__)
	/*
	 * Everything is written (records with write(2), warnings on
	 * stderr): libpq's libraries (OpenSSL, Kerberos, LDAP) would
	 * spend about half a millisecond tearing themselves down.  A
	 * sanitizer build exits the usual way, for its leak check.
	 */
	if (kind == SRC_PGLIVE && fflush(stdout) == 0)
		_exit(0);
#endif
	if (map != NULL)
		(void)munmap(map, s.maplen);
	schema_free(&s);
	buf_free(&in);
	buf_free(&out);
	free(list);
	return 0;
}
