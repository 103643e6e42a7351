/*
 * cache.h: the shared, content-addressed cache (sluice-cache(5)).
 *
 * A cache directory holds an index file mapped MAP_SHARED by every
 * process that uses the directory, and blobs named by the XXH3-128 digest
 * of their content (blobs/ab/abcdef...).  The index is an open-addressing
 * table of fixed 80-byte entries, each with its own checksum; keys are
 * digests the caller computes.  Mutations and lookups hold an exclusive
 * flock(2) on the index, released by the kernel even when a process is
 * killed, so a crash never leaves a lock behind.  A store writes the blob
 * to a temporary file, renames it into place (a small value of
 * cache_store_buf is appended to a pack file instead), then publishes
 * the entry:
 * a torn entry fails its checksum, a blob whose content does not match
 * its name is refused on read; either is a miss, never wrong output.
 *
 * Every call that can fail returns -1 and leaves a message in
 * cache_error(); the cache is an optimisation, so callers carry on.
 * The caller owns and closes what cache_open() returns.  The library is
 * for one thread of a process at a time (a blob is checked through one
 * static buffer).
 */
#ifndef CACHE_H
#define CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "digest.h"

#define CACHE_MAXCAT	32
#define CACHE_CATLEN	32

struct cache;

struct cache_catstats {
	char		 name[CACHE_CATLEN];
	int64_t		 ttl_ns;	/* 0: no expiry */
	uint32_t	 share;		/* permille of the size bound, 0: any */
	uint64_t	 lookups, hits, misses, stores, evictions, expired;
	uint64_t	 bytes_saved;	/* output bytes served from hits */
	uint64_t	 time_saved_ns;	/* producing cost of the hits */
	uint64_t	 bytes;		/* now stored */
	uint64_t	 entries;
};

struct cache_stats {
	uint64_t	 capacity;	/* table slots */
	uint64_t	 entries;
	uint64_t	 bytes;
	uint64_t	 max_bytes;
	uint32_t	 ncat;
	struct cache_catstats cat[CACHE_MAXCAT];
};

struct cache_span {
	size_t		 off;		/* SIZE_MAX: a miss */
	size_t		 len;
};

struct cache_hit {
	struct digest	 content;	/* of the stored bytes */
	uint64_t	 size;
	int64_t		 cost_ns;	/* what producing them took */
	uint32_t	 pack;		/* 0: a blob file, else its pack */
	uint64_t	 off;		/* where in the pack */
};

/* EX_NOPERM-style refusal of an unsafe directory: cache_open returns
 * NULL with *unsafe set */
struct cache	*cache_open(const char *, uint64_t, int *);
void		 cache_close(struct cache *);
const char	*cache_error(const struct cache *);
const char	*cache_dir_default(void);	/* static storage */

/* the cache sluice gives a cached stage, or NULL: see cache.c */
struct cache	*cache_for_stage(int *, struct digest *, int *);

int	 cache_category(struct cache *, const char *, int64_t, uint32_t);
int	 cache_lookup(struct cache *, int, const struct digest *,
	    struct cache_hit *);			/* 1 hit, 0 miss */
int	 cache_peek(struct cache *, int, const struct digest *,
	    struct cache_hit *);			/* 1 hit, 0 miss */
int	 cache_open_blob(struct cache *, const struct cache_hit *);
int	 cache_get_buf(struct cache *, int, const struct digest *,
	    struct buf *);				/* 1 hit, 0 miss */
size_t	 cache_get_many(struct cache *, int, const struct digest *, size_t,
	    struct buf *, struct cache_span *);		/* the hits */
int	 cache_store_fd(struct cache *, int, const struct digest *, int,
	    uint64_t, const struct digest *, int64_t);
int	 cache_store_buf(struct cache *, int, const struct digest *,
	    const void *, size_t, int64_t);
int	 cache_store_many(struct cache *, int, const struct digest *, size_t,
	    const struct buf *, const struct cache_span *);
int	 cache_tmpfile(struct cache *);
void	 cache_count_miss(struct cache *, int);
void	 cache_invalidate(struct cache *, int, const struct digest *);
void	 cache_forget(struct cache *, int, const struct digest *);

int	 cache_get_stats(struct cache *, struct cache_stats *);
int	 cache_clear(struct cache *, const char *);	/* NULL: all */
int	 cache_gc(struct cache *, uint64_t *, uint64_t *);
int	 cache_verify(struct cache *, int, uint64_t *, uint64_t *);

#endif
