/*
 * buf.h: growable byte buffers.  A zeroed struct buf is empty and ready.
 * data is always NUL-terminated after any append (not counted in len).
 * The owner calls buf_free; buf_steal hands data over to the caller.
 */
#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_grow(struct buf *, size_t);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	 buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((__format__(__printf__, 2, 0)));
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);
char	*buf_steal(struct buf *);
const char *buf_cstr(struct buf *);
int	 buf_readfd(struct buf *, int);		/* -1 and errno on error */
int	 buf_readfile(struct buf *, const char *);	/* same */
int	 buf_writefd(const struct buf *, int);	/* -1 and errno on error */

/* the appends every writer calls per byte or per field: inline */
static inline void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n || b->data == NULL)
		buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* inline too, so that strlen of a literal is a constant */
static inline void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static inline void
buf_addc(struct buf *b, int c)
{
	if (b->cap - b->len <= 1 || b->data == NULL)
		buf_grow(b, 1);
	b->data[b->len++] = (char)c;
	b->data[b->len] = '\0';
}

#endif
