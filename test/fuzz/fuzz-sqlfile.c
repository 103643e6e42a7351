/*
 * fuzz-sqlfile.c: libFuzzer target for introspect's reader of SQLite
 * database files (sqlfile.c): any input, taken as a database image,
 * must give rows or -1 with a reason, never crash, loop or read out of
 * bounds; and the image read from a file (a memfd, through pread)
 * must give the same rows as from memory.  Built by `make fuzz`;
 * replayed without libFuzzer by replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "introspect.h"
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	 a;
	struct sqlfile	 f;
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
			fn = sqlfile_schema(&f, &a, &frows, &fwhy);
			if (fn != n || (n < 0 && strcmp(why, fwhy) != 0))
				abort();
			for (i = 0; i < n; i++)	/* strings that end */
				if (!same(rows[i].type, frows[i].type) ||
				    !same(rows[i].name, frows[i].name) ||
				    !same(rows[i].tbl, frows[i].tbl) ||
				    !same(rows[i].sql, frows[i].sql))
					abort();
			free(frows);
		}
		(void)close(fd);
	}
	free(rows);
	arena_free(&a);
	return 0;
}
