/*
 * fuzz-sqlfile.c: libFuzzer target for introspect's reader of SQLite
 * database files (sqlfile.c): any input, taken as a database image,
 * must give rows or -1 with a reason, never crash, loop or read out of
 * bounds; and the image read from a file (a memfd, through pread)
 * must give the same rows as from memory, with the statements' text
 * put in a spill (beyond 512 bytes in a file, as introspect does
 * beyond its bound) and read back the same.  Built by `make fuzz`;
 * replayed without libFuzzer by replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "introspect.h"
#include "spill.h"
#include "sqlfile.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* what sqlfile is to ask of each statement it spills */
static int
starts_c(const char *sql, size_t n)
{
	return n > 0 && sql[0] == 'C';
}

/* row r's text as the spill gives it back, ended as the arena's are */
static const char *
spilled(struct spill *sp, const struct sqlrow *r, struct buf *b)
{
	if (!r->spilled)
		return r->sql;
	buf_reset(b);
	buf_add(b, spill_get(sp, r->sqloff, r->sqllen, NULL, NULL),
	    r->sqllen);
	return buf_cstr(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	 a;
	struct sqlfile	 f;
	struct spill	 sp = { .bound = 512, .fd = -1 };
	struct buf	 b = { 0 };
	struct sqlrow	*rows, *frows;
	const char	*why, *fwhy;
	int		 n, fn, i, fd;

	memset(&a, 0, sizeof(a));
	memset(&f, 0, sizeof(f));
	f.mem = data;
	f.fd = -1;
	f.len = size;
	n = sqlfile_schema(&f, &a, &rows, &why);
	if (n < 0 && why == NULL)
		abort();		/* a failure must say why */
	if ((fd = memfd_create("fuzz-sqlfile", MFD_CLOEXEC)) != -1) {
		if (write(fd, data, size) == (ssize_t)size) {
			f.mem = NULL;
			f.fd = fd;
			f.text = &sp;
			f.virt = starts_c;
			fn = sqlfile_schema(&f, &a, &frows, &fwhy);
			spill_end(&sp);
			if (fn != n || (n < 0 && strcmp(why, fwhy) != 0))
				abort();
			for (i = 0; i < n; i++) {	/* strings that end */
				if (!same(rows[i].type, frows[i].type) ||
				    !same(rows[i].name, frows[i].name) ||
				    !same(rows[i].tbl, frows[i].tbl) ||
				    frows[i].sql != NULL ||
				    !same(rows[i].sql, spilled(&sp, &frows[i],
				    &b)))
					abort();
				if (frows[i].spilled && frows[i].virt !=
				    starts_c(rows[i].sql, strlen(rows[i].sql)))
					abort();
			}
			free(frows);
		}
		(void)close(fd);
	}
	free(rows);
	spill_free(&sp);
	buf_free(&b);
	arena_free(&a);
	return 0;
}
