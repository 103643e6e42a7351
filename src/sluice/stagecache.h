/*
 * stagecache.h: stage-level caching for the engine (stagecache.c) and
 * the keys `sluice run -n` and `sluice cache preload` compute.
 */
#ifndef STAGECACHE_H
#define STAGECACHE_H

#include <stddef.h>

#include "digest.h"
#include "pipeline.h"

struct engine;
struct rstage;
struct run_opts;

int		 stagekey_base(const struct stage *, const char *,
		    struct digest *, char *, size_t);
void		 stagekey_final(const struct digest *, const struct stage *,
		    const struct digest *const *, struct digest *);
const struct digest *outputs_stamp(const struct stage *, struct digest *);
struct cache_hit;
int		 outputs_as_stored(const struct digest *,
		    const struct cache_hit *);
const char	*scache_dir(const struct pipeline *, const struct run_opts *);
void		 scache_init(struct engine *);
void		 scache_close(struct engine *);
int		 scache_try_hit(struct engine *, struct rstage *);
int		 scache_open_unopened(struct engine *, struct rstage *);
void		 scache_started(struct engine *, struct rstage *);
void		 scache_out(struct engine *, struct rstage *, const char *,
		    size_t);
void		 scache_done(struct engine *, struct rstage *);
void		 scache_defer(struct engine *, struct rstage *);
int		 scache_spec_ok(struct engine *, const struct rstage *);
int		 scache_producers_final(struct engine *, const struct rstage *);
int		 scache_resolve(struct engine *, struct rstage *);
void		 scache_spec_drop(struct engine *, struct rstage *);
void		 scache_err(struct engine *, struct rstage *, const char *,
		    size_t);
void		 scache_replay_err(struct engine *, struct rstage *);
void		 scache_store_err(struct engine *, struct rstage *);

#endif
