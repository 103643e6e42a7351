/*
 * spill.h: bytes a stage must keep until its input ends (relations'
 * input, render --all's pieces, introspect's SQL text), in memory up
 * to a bound, beyond it in an unlinked file in TMPDIR (O_TMPFILE, else
 * a named file unlinked at once), as sort(1) does: a schema of any size
 * costs a bounded amount of memory.  A file that cannot be made or
 * written (TMPDIR missing, full) brings what it holds back into
 * memory, and the stage goes on, unbounded.
 */
#ifndef SPILL_H
#define SPILL_H

#include <stddef.h>
#include <sys/types.h>

/* zeroed with fd -1 and bound set (ahead too, or 64K), it is ready */
struct spill {
	size_t		 bound;		/* bytes kept in memory at most */
	size_t		 ahead;		/* read back at once, at least */
	int		 fd;		/* the file, or -1: all in mem */
	int		 failed;	/* no file: memory from now on */
	char		*mem;		/* bytes not in the file yet; after
					   spill_end, the reading window */
	size_t		 len, cap;
	off_t		 flushed;	/* bytes in the file */
	size_t		 win;		/* offset of the window's first byte */
};
/* n bytes appended; returns their offset */
size_t	 spill_add(struct spill *, const void *, size_t);
/* no more bytes: ready to be read back */
void	 spill_end(struct spill *);
/* n bytes at off, after spill_end, valid until the next call; when the
   window must move, before(arg) is called first (for what still
   points into it); exits 74 when the file cannot be read back */
const char *spill_get(struct spill *, size_t, size_t, void (*)(void *),
	    void *);
void	 spill_free(struct spill *);
/* a --buffer-size argument ("64K", "4M", "1G"); exits 64 saying what
   was expected when it does not parse */
size_t	 spill_size(const char *);
/* an unlinked file in TMPDIR (or /tmp, the directory in *dir): its
   descriptor, or -1 and errno */
int	 spill_tmpfile(const char **dir);

#endif
