/*
 * xalloc.h: allocation that never returns NULL.  On failure each
 * function prints "out of memory" and exits with EX_OSERR (71).
 * The caller frees every result with free(3).
 */
#ifndef XALLOC_H
#define XALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));

#endif
