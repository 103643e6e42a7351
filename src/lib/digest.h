/*
 * digest.h: 128-bit content digests (XXH3-128 from libxxhash), as used
 * by cache keys.  A struct digest_ctx is owned by the caller and must be
 * released with digest_end() (which also yields the result).
 */
#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>
#include <stdint.h>

struct digest {
	uint64_t	 hi;
	uint64_t	 lo;
};

struct digest_ctx {
	void		*state;		/* XXH3_state_t */
};

#define DIGEST_HEXLEN	33		/* 32 hex digits and NUL */

void	digest_buf(const void *, size_t, struct digest *);
int	digest_file(const char *, struct digest *);	/* -1 and errno */
void	digest_begin(struct digest_ctx *);
void	digest_add(struct digest_ctx *, const void *, size_t);
void	digest_adds(struct digest_ctx *, const char *);	/* with its NUL */
void	digest_end(struct digest_ctx *, struct digest *);
void	digest_hex(const struct digest *, char [DIGEST_HEXLEN]);
int	digest_parse(const char *, struct digest *);

#endif
