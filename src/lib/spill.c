/*
 * spill.c: bytes a stage must keep until its input ends, in memory up
 * to a bound, beyond it in an unlinked file in TMPDIR, as sort(1) does;
 * see spill.h.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "util.h"
#include "xalloc.h"
#include "spill.h"
#include "banned.h"

/* written to the file in pieces of this much; read back at least this
   much at a time unless told otherwise */
#define SPILL_PIECE	65536

int
spill_tmpfile(const char **where)
{
	const char *dir = getenv("TMPDIR");
	char	*path;
	int	 fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (where != NULL)
		*where = dir;
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
	/* a file system without O_TMPFILE: a named file, unlinked */
	path = xasprintf("%s/sluice-spill.XXXXXX", dir);
	/* one that cannot be unlinked at once is not filled: it stays */
	if ((fd = mkostemp(path, O_CLOEXEC)) != -1 && unlink(path) == -1) {
		(void)close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

/* n bytes at off of the file into p; exits on an error, as the stage
   cannot go on without what it kept */
static void
read_at(int fd, char *p, size_t n, off_t off)
{
	ssize_t	 r;

	while (n > 0) {
		if ((r = pread(fd, p, n, off)) == -1) {
			if (errno == EINTR)
				continue;
			err(EX_IOERR, "reading back the spill file in TMPDIR");
		}
		if (r == 0)
			errx(EX_IOERR, "reading back the spill file in TMPDIR: "
			    "it is shorter than what was written to it");
		p += r;
		n -= (size_t)r;
		off += r;
	}
}

/* the file failed: all of it back into memory, which holds on */
static void
to_memory(struct spill *s)
{
	size_t	 n = (size_t)s->flushed;
	char	*p = xmalloc(n + s->len + 1);

	read_at(s->fd, p, n, 0);
	memcpy(p + n, s->mem, s->len);
	free(s->mem);
	s->mem = p;
	s->cap = n + s->len + 1;
	s->len += n;
	s->flushed = 0;
	(void)close(s->fd);
	s->fd = -1;
	s->failed = 1;
}

static void
flush(struct spill *s)
{
	if (s->len == 0)
		return;
	if (write_all(s->fd, s->mem, s->len) == -1) {
		to_memory(s);
		return;
	}
	s->flushed += (off_t)s->len;
	s->len = 0;
}

size_t
spill_add(struct spill *s, const void *p, size_t n)
{
	size_t	 off = (size_t)s->flushed + s->len;

	if (s->fd == -1 && !s->failed && s->len + n > s->bound) {
		if ((s->fd = spill_tmpfile(NULL)) == -1)
			s->failed = 1;	/* memory it is */
		else
			flush(s);
	}
	if (s->fd != -1 && s->len + n > SPILL_PIECE)
		flush(s);
	if (s->len + n > s->cap) {
		size_t	 cap = s->cap < 4096 ? 4096 : s->cap;

		while (cap < s->len + n)
			cap *= 2;
		if (s->fd != -1 && cap > SPILL_PIECE && n <= SPILL_PIECE)
			cap = SPILL_PIECE;
		s->mem = xreallocarray(s->mem, cap, 1);
		s->cap = cap;
	}
	if (n > 0)
		memcpy(s->mem + s->len, p, n);
	s->len += n;
	return off;
}

void
spill_end(struct spill *s)
{
	if (s->fd != -1)
		flush(s);
	if (s->fd != -1) {	/* the buffer becomes the reading window */
		s->len = 0;
		s->win = 0;
	}
}

const char *
spill_get(struct spill *s, size_t off, size_t n, void (*before)(void *),
    void *arg)
{
	size_t	 want, have, ahead = s->ahead > 0 ? s->ahead : SPILL_PIECE;

	if (n == 0)		/* there may be no buffer at all */
		return "";
	if (s->fd == -1)
		return s->mem + off;
	if (off >= s->win && off + n <= s->win + s->len)
		return s->mem + (off - s->win);
	/* what still points into the window goes first */
	if (before != NULL)
		before(arg);
	want = n > ahead ? n : ahead;
	have = (size_t)s->flushed - off;
	if (want > have)
		want = have;
	if (want > s->cap) {
		free(s->mem);
		s->mem = xmalloc(want);
		s->cap = want;
	}
	read_at(s->fd, s->mem, want, (off_t)off);
	s->win = off;
	s->len = want;
	return s->mem;
}

size_t
spill_size(const char *arg)
{
	int64_t	 n;

	if ((n = parse_size(arg)) < 0)
		errx(EX_USAGE, "--buffer-size: '%s': expected a size (256K, "
		    "4M, 1G)", arg);
	return (size_t)n;
}

void
spill_free(struct spill *s)
{
	if (s->fd != -1)
		(void)close(s->fd);
	free(s->mem);
	s->fd = -1;
	s->mem = NULL;
	s->len = s->cap = 0;
	s->flushed = 0;
	s->win = 0;
}
