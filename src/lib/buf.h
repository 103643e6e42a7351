/*
 * buf.h: growable byte buffers.  A zeroed struct buf is empty and ready.
 * data is always NUL-terminated after any append (not counted in len).
 * The owner calls buf_free; buf_steal hands data over to the caller.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_grow(struct buf *, size_t);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addc(struct buf *, int);
void	 buf_adds(struct buf *, const char *);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);
char	*buf_steal(struct buf *);
const char *buf_cstr(struct buf *);
int	 buf_readfd(struct buf *, int);		/* -1 and errno on error */
int	 buf_readfile(struct buf *, const char *);	/* same */
int	 buf_writefd(const struct buf *, int);	/* -1 and errno on error */

#endif
