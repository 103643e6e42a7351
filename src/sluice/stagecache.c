/*
 * stagecache.c: stage-level caching in `sluice run`, on the store of
 * src/lib/cache.c.  A stage's key is the digest of its resolved argv,
 * its program's content, its declared env, its cwd, the content of its
 * "inputs" files and, per input descriptor, the digests of its
 * producers' outputs (early cutoff: an upstream stage that re-ran and
 * wrote the same bytes keeps the key).  A hit replays the stored stdout
 * through the same fan-out as a live stage; a miss runs the stage,
 * digests its output as it streams, and stores it when the stage
 * succeeds.  Outputs that feed or come from cached stages pass through
 * sluice (no plain pipes), since their bytes must be seen.  What the
 * stage wrote to stderr is stored too, in the category "stderr" under
 * a key derived from the stage's, and a hit replays it, each line
 * tagged "NAME (cached):".
 *
 * A stage with "outputs" writes files, not a stream (no stage reads
 * it): what is stored for its key is a digest of those files as it left
 * them (outputs_stamp), and it hits only while they are still so; then
 * it does not run, and nothing of it is replayed.
 */
#include <sys/stat.h>
#include <sys/mman.h>
#include <dirent.h>
#include <err.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "run.h"
#include "stagecache.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define ERRCAP_MAX	(1 << 20)	/* stderr kept per stage */

static int
strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * The content digest of a program or an input file, kept in
 * DIR/programs (DIR: the cache directory) under what stat(2) says of
 * it: device, inode, size, modification and change times.  Any write to
 * the file changes its change time, which nobody can set, so a line that
 * matches is the digest of the same bytes; a file is read whole only when
 * it changed (a static stage is about 1 MB, a SQLite schema can be tens,
 * and every run computes the keys of all its stages).  The change time
 * has the kernel clock's coarse tick, though: a second write in the tick
 * of the first keeps it.  So a line is added only for a file whose change
 * time is older than the tick current before it was stat'ed (any later
 * write then moves it), and that did not change while it was read; one
 * write(2) with O_APPEND each, so runs at the same time add whole lines;
 * past 64 KiB the file starts again.
 */
#define PROGRAMS	"programs"

static struct buf progmemo;		/* the file, read once */
static int	  progmemo_read;

static void
prog_line(struct buf *b, const struct stat *st, const char *path)
{
	buf_printf(b, "%ju %ju %jd %jd.%09ld %jd.%09ld %s",
	    (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
	    (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
	    st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec,
	    st->st_ctim.tv_nsec, path);
}

static int
settled(const struct stat *st, const struct timespec *tick)
{
	return st->st_ctim.tv_sec < tick->tv_sec ||
	    (st->st_ctim.tv_sec == tick->tv_sec &&
	    st->st_ctim.tv_nsec < tick->tv_nsec);
}

static int
file_digest(const char *dir, const char *path, struct digest *d)
{
	struct timespec	 tick;
	struct stat	 before, after;
	struct buf	 want = { 0 }, line = { 0 };
	char		 hex[DIGEST_HEXLEN], *file;
	const char	*p, *e, *l;
	size_t		 len;
	int		 fd, found = 0;

	if (dir == NULL ||
	    clock_gettime(CLOCK_REALTIME_COARSE, &tick) == -1 ||
	    stat(path, &before) == -1 || !S_ISREG(before.st_mode))
		return digest_file(path, d);
	file = xasprintf("%s/%s", dir, PROGRAMS);
	if (!progmemo_read) {
		progmemo_read = 1;
		if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) !=
		    -1) {
			(void)buf_readfd(&progmemo, fd);
			close(fd);
		}
	}
	/* "<digest> <stat> <path>": the digest is the first 32 bytes */
	prog_line(&want, &before, path);
	p = progmemo.data != NULL ? progmemo.data : "";
	e = p + progmemo.len;
	while (!found && p < e) {
		l = p;
		p = memchr(p, '\n', (size_t)(e - p));
		p = p != NULL ? p + 1 : e;
		len = (size_t)(p - l) - (p[-1] == '\n');
		if (len == DIGEST_HEXLEN + want.len && l[DIGEST_HEXLEN - 1] ==
		    ' ' && memcmp(l + DIGEST_HEXLEN, want.data, want.len) == 0) {
			memcpy(hex, l, DIGEST_HEXLEN - 1);
			hex[DIGEST_HEXLEN - 1] = '\0';
			found = digest_parse(hex, d) == 0;
		}
	}
	if (!found) {
		if (digest_file(path, d) == -1) {
			buf_free(&want);
			free(file);
			return -1;
		}
		if (settled(&before, &tick) && stat(path, &after) == 0 &&
		    same_stat(&before, &after) && (fd = open(file,
		    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600)) != -1) {
			struct stat fs;

			if (fstat(fd, &fs) == 0 && fs.st_size > 65536)
				(void)ftruncate(fd, 0);
			digest_hex(d, hex);
			buf_printf(&line, "%s %s\n", hex, want.data);
			if (write(fd, line.data, line.len) == (ssize_t)line.len)
				buf_add(&progmemo, line.data, line.len);
			close(fd);
		}
	}
	buf_free(&line);
	buf_free(&want);
	free(file);
	return 0;
}

/* the part of the key known before the run: -1 and a message if a
 * program or input file cannot be read; dir, when not NULL, is the cache
 * directory, where the digests of programs and input files are kept */
int
stagekey_base(const struct stage *st, const char *dir,
    struct digest *out, char *err, size_t errsz)
{
	struct digest_ctx c;
	struct digest d;
	char	**env, num[32];
	size_t	 i;

	digest_begin(&c);
	digest_adds(&c, "sluice-stage-key-v1");
	snprintf(num, sizeof(num), "%d %zu", st->shell, st->argc);
	digest_adds(&c, num);
	for (i = 0; i < st->argc; i++)
		digest_adds(&c, st->argv[i]);
	if (file_digest(dir, st->prog, &d) == -1) {
		snprintf(err, errsz, "stage '%s': cannot read program '%s': %s",
		    st->name, st->prog, strerror(errno));
		digest_end(&c, &d);
		return -1;
	}
	digest_add(&c, &d, sizeof(d));
	digest_adds(&c, st->cwd);
	env = xcalloc(st->nenv + 1, sizeof(char *));
	memcpy(env, st->env, st->nenv * sizeof(char *));
	qsort(env, st->nenv, sizeof(char *), strpcmp);
	snprintf(num, sizeof(num), "env %zu", st->nenv);
	digest_adds(&c, num);
	for (i = 0; i < st->nenv; i++)
		digest_adds(&c, env[i]);
	free(env);
	snprintf(num, sizeof(num), "inputs %zu", st->ninputs);
	digest_adds(&c, num);
	for (i = 0; i < st->ninputs; i++) {
		digest_adds(&c, st->inputs[i]);
		if (file_digest(dir, st->inputs[i], &d) == -1) {
			snprintf(err, errsz, "stage '%s': cannot read input "
			    "'%s': %s", st->name, st->inputs[i],
			    strerror(errno));
			digest_end(&c, &d);
			return -1;
		}
		digest_add(&c, &d, sizeof(d));
	}
	if (st->noutputs > 0) {		/* keys of other stages unchanged */
		snprintf(num, sizeof(num), "outputs %zu", st->noutputs);
		digest_adds(&c, num);
		for (i = 0; i < st->noutputs; i++)
			digest_adds(&c, st->outputs[i]);
	}
	digest_end(&c, out);
	return 0;
}

/*
 * What lstat(2) says of an entry, for outputs_stamp: a file edited in
 * place changes its change time even when its size and modification
 * time are put back, and one replaced changes its inode.
 */
static void
stamp_stat(struct digest_ctx *c, const char *name, const struct stat *sb)
{
	uint64_t v[8];

	v[0] = (uint64_t)sb->st_mode;
	v[1] = (uint64_t)sb->st_dev;
	v[2] = (uint64_t)sb->st_ino;
	v[3] = (uint64_t)sb->st_size;
	v[4] = (uint64_t)sb->st_mtim.tv_sec;
	v[5] = (uint64_t)sb->st_mtim.tv_nsec;
	v[6] = (uint64_t)sb->st_ctim.tv_sec;
	v[7] = (uint64_t)sb->st_ctim.tv_nsec;
	digest_adds(c, name);
	digest_add(c, v, sizeof(v));
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* every entry under the directory open at dfd (closed), by name */
static void
stamp_dir(struct digest_ctx *c, int dfd, int depth)
{
	struct dirent *de;
	struct stat sb;
	DIR	*d;
	char	**names = NULL;
	size_t	 n = 0, cap = 0, i;
	int	 sub;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		digest_adds(c, "unreadable");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), namecmp);
	digest_adds(c, "{");
	for (i = 0; i < n; i++) {
		if (fstatat(dirfd(d), names[i], &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1) {
			digest_adds(c, names[i]);
			digest_adds(c, "gone");
			continue;
		}
		stamp_stat(c, names[i], &sb);
		if (!S_ISDIR(sb.st_mode))
			continue;
		if (depth >= 64 || (sub = openat(dirfd(d), names[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			digest_adds(c, "unreadable");
		else
			stamp_dir(c, sub, depth + 1);
	}
	digest_adds(c, "}");
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * The files and directories a stage names in "outputs", as they are:
 * each path and everything under it, by name, with its type, inode,
 * size and modification and change times, in one digest.  A symbolic
 * link is itself, not followed; a missing path is said so.  Into out,
 * which it returns.
 */
const struct digest *
outputs_stamp(const struct stage *st, struct digest *out)
{
	struct digest_ctx c;
	struct stat sb;
	size_t	 i;
	int	 fd;

	digest_begin(&c);
	digest_adds(&c, "sluice-outputs-v1");
	for (i = 0; i < st->noutputs; i++) {
		if (lstat(st->outputs[i], &sb) == -1) {
			digest_adds(&c, st->outputs[i]);
			digest_adds(&c, errno == ENOENT ? "missing" :
			    "unreadable");
			continue;
		}
		stamp_stat(&c, st->outputs[i], &sb);
		if (!S_ISDIR(sb.st_mode))
			continue;
		if ((fd = open(st->outputs[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			digest_adds(&c, "unreadable");
		else
			stamp_dir(&c, fd, 0);
	}
	digest_end(&c, out);
	return out;
}

/* R's outputs as they are now, looked at once a run */
static const struct digest *
ostamp(struct rstage *R)
{
	if (!R->ostamp_done) {
		outputs_stamp(R->st, &R->ostamp);
		R->ostamp_done = 1;
	}
	return &R->ostamp;
}

/* the stamp of a stage's outputs is what hit stores (its bytes are the
 * stamp: their digest, the entry's, is compared) */
int
outputs_as_stored(const struct digest *stamp, const struct cache_hit *hit)
{
	struct digest d;

	digest_buf(stamp, sizeof(*stamp), &d);
	return d.hi == hit->content.hi && d.lo == hit->content.lo;
}

/* key is stored for a stage with outputs, which are still as they were
 * when it was stored */
static int
outputs_current(struct engine *E, struct rstage *R, const struct digest *key,
    struct cache_hit *hit)
{
	return cache_peek(E->cache, R->cat, key, hit) == 1 &&
	    outputs_as_stored(ostamp(R), hit);
}

/* the whole key, once every producer's output digest is known */
void
stagekey_final(const struct digest *base, const struct stage *st,
    const struct digest *const *outd, struct digest *key)
{
	struct digest_ctx c;
	char	 num[32];
	size_t	 i, k;

	digest_begin(&c);
	digest_add(&c, base, sizeof(*base));
	for (i = 0; i < st->nports; i++) {
		snprintf(num, sizeof(num), "fd %d %zu", st->ports[i].fd,
		    st->ports[i].nsrc);
		digest_adds(&c, num);
		for (k = 0; k < st->ports[i].nsrc; k++)
			digest_add(&c, outd[st->ports[i].src[k]],
			    sizeof(struct digest));
	}
	digest_end(&c, key);
}

static const struct cache_cat *
pipeline_cat(const struct pipeline *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->ncats; i++)
		if (strcmp(p->cats[i].name, name) == 0)
			return &p->cats[i];
	return NULL;
}

const char *
scache_dir(const struct pipeline *p, const struct run_opts *o)
{
	if (o->cache_dir != NULL)
		return o->cache_dir;
	if (getenv("SLUICE_CACHE_DIR") != NULL &&
	    *getenv("SLUICE_CACHE_DIR") != '\0')
		return getenv("SLUICE_CACHE_DIR");
	if (p->cache_dir != NULL)
		return p->cache_dir;
	return cache_dir_default();
}

/* open the cache if any stage uses it; mark what must be seen by sluice */
void
scache_init(struct engine *E)
{
	struct pipeline *p = E->p;
	char	 msg[1024], *dir;
	size_t	 i, k, s;
	int	 any = 0, unsafe;

	E->errcat = -1;
	if (E->o->no_cache || p->cache_off)
		return;
	for (i = 0; i < E->n; i++)
		any |= p->stages[i].cache != NULL;
	if (!any)
		return;
	E->cache = cache_open(scache_dir(p, E->o), (uint64_t)p->cache_size,
	    &unsafe);
	if (cache_error(E->cache)[0] != '\0') {
		if (unsafe)
			errx(EX_NOPERM, "%s", cache_error(E->cache));
		warnx("%s; running without the cache", cache_error(E->cache));
		cache_close(E->cache);
		E->cache = NULL;
		return;
	}
	if ((E->errcat = cache_category(E->cache, "stderr", -1, 0)) == -1)
		warnx("%s; stderr of cached stages not kept",
		    cache_error(E->cache));
	/* for the stages themselves (cache_for_stage), whatever their
	 * directory: opened, so it exists */
	if ((dir = realpath(scache_dir(p, E->o), NULL)) != NULL) {
		E->cache_env = xasprintf("SLUICE_CACHE_DIR=%s", dir);
		free(dir);
	}
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];
		const struct cache_cat *cc;

		if (R->st->cache == NULL)
			continue;
		cc = pipeline_cat(p, R->st->cache);
		R->cat = cache_category(E->cache, R->st->cache,
		    cc != NULL ? cc->ttl_ns : -1, cc != NULL ? cc->share : 0);
		if (R->cat == -1) {
			warnx("%s", cache_error(E->cache));
			continue;
		}
		if (stagekey_base(R->st, scache_dir(p, E->o), &R->key_base,
		    msg, sizeof(msg)) == -1)
			errx(EX_NOINPUT, "%s", msg);
		R->cacheable = 1;
		E->any_cacheable = 1;
		/* what a stage with outputs writes on stdout is shown, not
		   stored: no stage reads it */
		R->hash_out = R->st->noutputs == 0;
		/* its producers' bytes make its key */
		for (k = 0; k < R->st->nports; k++)
			for (s = 0; s < R->st->ports[k].nsrc; s++)
				E->rs[R->st->ports[k].src[s]].hash_out = 1;
	}
}

void
scache_close(struct engine *E)
{
	size_t	 i;

	for (i = 0; i < E->n; i++) {
		buf_free(&E->rs[i].errcap);
		if (E->rs[i].capture != -1)
			close(E->rs[i].capture);
		if (E->rs[i].octx.state != NULL) {
			struct digest d;

			digest_end(&E->rs[i].octx, &d);
		}
	}
	cache_close(E->cache);
	E->cache = NULL;
	free(E->cache_env);
	E->cache_env = NULL;
}

/* P's output digest is known: it ended, or a look ahead put it in outd */
static int
known(const struct rstage *P, const struct digest **outd)
{
	return P->state == PS_CACHED || P->state == PS_DONE ||
	    outd[P->st->idx] != &P->out_digest;
}

/*
 * Q's output digest, known or, if Q has not started and would hit (its
 * producers' digests known or found so in turn, its key stored), found
 * now: 1 and outd holds it.  So of two stored stages read by one whose
 * key is stored too, neither need be opened.  outd is the caller's to
 * put back.
 */
static int
lookahead(struct engine *E, struct rstage *Q, const struct digest **outd,
    int depth)
{
	struct cache_hit hit;
	struct digest	 key;
	size_t		 k, s;

	if (known(Q, outd))
		return 1;
	if (depth > 32 || Q->state != PS_WAITING || !Q->cacheable ||
	    Q->st->noutputs > 0 || E->o->refresh)
		return 0;
	for (k = 0; k < Q->st->nports; k++)
		for (s = 0; s < Q->st->ports[k].nsrc; s++)
			if (!lookahead(E, &E->rs[Q->st->ports[k].src[s]], outd,
			    depth + 1))
				return 0;
	stagekey_final(&Q->key_base, Q->st, outd, &key);
	if (cache_peek(E->cache, Q->cat, &key, &hit) != 1)
		return 0;
	Q->peek_content = hit.content;
	outd[Q->st->idx] = &Q->peek_content;
	return 1;
}

/* C's key, when every digest it needs is known or found: 1 */
static int
key_ahead(struct engine *E, struct rstage *C, const struct digest **outd,
    int depth, struct digest *key)
{
	const struct digest **saved;
	size_t	 k, s;
	int	 ok = 1;

	saved = xcalloc(E->n + 1, sizeof(*saved));
	memcpy(saved, outd, E->n * sizeof(*outd));
	for (k = 0; ok && k < C->st->nports; k++)
		for (s = 0; ok && s < C->st->ports[k].nsrc; s++)
			ok = lookahead(E, &E->rs[C->st->ports[k].src[s]], outd,
			    depth);
	if (ok)
		stagekey_final(&C->key_base, C->st, outd, key);
	memcpy(outd, saved, E->n * sizeof(*outd));
	free(saved);
	return ok;
}

/*
 * Will a reader of R need the stored bytes of R's hit?  Not when every
 * reader is a cached stage whose key, known now (outd holds R's content
 * digest), is stored, and whose own stored bytes are either not needed
 * either or intact: then R's blob is neither read nor checked, and a run
 * whose stages all hit reads only what it prints or what a stage that
 * runs reads.  A reader's blob checked here is kept open for its hit.
 */
static int
needed(struct engine *E, const struct rstage *R, const struct digest **outd,
    int depth)
{
	struct cache_hit hit;
	struct digest	 key;
	size_t		 i;
	int		 fd, need;

	if (R->noutlets == 0 || depth > 32)
		return 1;
	for (i = 0; i < R->noutlets; i++) {
		struct rstage *C;

		if (R->outlets[i].stage < 0)		/* sluice's stdout */
			return 1;
		C = &E->rs[R->outlets[i].stage];
		if (!C->cacheable || C->state != PS_WAITING)
			return 1;
		if (!key_ahead(E, C, outd, depth, &key))
			return 1;
		if (C->st->noutputs > 0) {
			/* it hits, and needs no bytes, or runs */
			if (!outputs_current(E, C, &key, &hit))
				return 1;
			continue;
		}
		if (cache_peek(E->cache, C->cat, &key, &hit) != 1 ||
		    hit.pack != 0)
			return 1;
		if (C->pre_fd != -1)
			continue;		/* looked at already */
		outd[C->st->idx] = &hit.content;
		need = needed(E, C, outd, depth + 1);
		outd[C->st->idx] = &C->out_digest;
		if (need) {
			/* C's bytes will be read: if damaged, C runs
			 * and reads ours */
			if ((fd = cache_open_blob(E->cache, &hit)) == -1)
				return 1;
			C->pre_fd = fd;
			C->pre_content = hit.content;
		}
	}
	return 0;
}

/* the output digest of every stage, by index, for stagekey_final */
static const struct digest **
out_digests(const struct engine *E)
{
	const struct digest **outd;
	size_t	 i;

	outd = xcalloc(E->n + 1, sizeof(*outd));
	for (i = 0; i < E->n; i++)
		outd[i] = &E->rs[i].out_digest;
	return outd;
}

/*
 * R's hit, its blob opened and checked; if that fails, a warning (what
 * failed, then what follows), R's entry dropped, and -1
 */
static int
open_hit(struct engine *E, const struct rstage *R,
    const struct cache_hit *hit, const char *then)
{
	int	 fd;

	if ((fd = cache_open_blob(E->cache, hit)) == -1) {
		warnx("stage '%s': %s%s", R->st->name, cache_error(E->cache),
		    then);
		cache_invalidate(E->cache, R->cat, &R->key);
	}
	return fd;
}

/* a hit left unopened: open (and check) its blob now that a reader that
 * did not hit needs it after all; -1 when it is gone or damaged */
int
scache_open_unopened(struct engine *E, struct rstage *R)
{
	struct cache_hit hit;
	int	 fd;

	if (!R->unopened)
		return 0;
	R->unopened = 0;
	memset(&hit, 0, sizeof(hit));
	hit.content = R->out_digest;
	hit.pack = R->hit_pack;
	hit.off = R->hit_off;
	hit.size = R->hit_size;
	if ((fd = open_hit(E, R, &hit, "")) == -1)
		return -1;
	R->out_r = fd;
	R->fileplay = 0;
	return 0;
}

/* every producer of R has ended, its output's digest known */
int
scache_producers_final(struct engine *E, const struct rstage *R)
{
	size_t	 k, s;

	for (k = 0; k < R->st->nports; k++)
		for (s = 0; s < R->st->ports[k].nsrc; s++) {
			const struct rstage *P = &E->rs[R->st->ports[k].src[s]];

			if ((P->state != PS_DONE && P->state != PS_CACHED) ||
			    !P->digest_known)
				return 0;
		}
	return 1;
}

/*
 * May R start while the stages it reads run, before its key is known
 * (speculatively)?  Only a cached stage without retries whose output
 * goes to other stages through sluice, under the local executor.  Its
 * readers see none of its output until its key is known (scache_defer;
 * cached readers do not even start): if the key then hits, it is
 * stopped and its output is the stored one; if not, it had a head
 * start, and what it wrote so far goes to its readers, then the rest
 * as it comes (spec_settle).  So no stage of a chain of cached stages
 * whose first one re-runs waits for the one before it to end, and
 * early cutoff still holds.
 */
int
scache_spec_ok(struct engine *E, const struct rstage *R)
{
	size_t	 i;

	if (!R->cacheable || R->st->retries > 0 || R->noutlets == 0 ||
	    R->direct_out || E->o->executor == EXEC_SLURM)
		return 0;
	for (i = 0; i < R->noutlets; i++)
		if (R->outlets[i].stage < 0)
			return 0;
	return 1;
}

/*
 * A speculative stage's producers have all ended: its key.  1 when it
 * hits (spec_fd: the stored stdout, opened and checked), else 0, and it
 * goes on as a miss.
 */
int
scache_resolve(struct engine *E, struct rstage *R)
{
	const struct digest **outd;
	struct cache_hit hit;
	int	 fd;

	R->spec = 0;
	outd = out_digests(E);
	stagekey_final(&R->key_base, R->st, outd, &R->key);
	free(outd);
	if (R->spec_seen) {	/* a reader has some of its bytes */
		cache_count_miss(E->cache, R->cat);
		return 0;
	}
	if (E->o->refresh) {
		cache_count_miss(E->cache, R->cat);
		R->cache_res = "refresh";
		return 0;
	}
	if (cache_lookup(E->cache, R->cat, &R->key, &hit) != 1)
		return 0;
	if ((fd = open_hit(E, R, &hit, "; running it")) == -1)
		return 0;
	R->spec_fd = fd;
	R->cache_res = "hit";
	R->out_digest = hit.content;
	R->cost_saved_ns = hit.cost_ns;
	return 1;
}

/* a speculative stage that hit: what it wrote is not kept */
void
scache_spec_drop(struct engine *E, struct rstage *R)
{
	struct digest d;

	if (R->octx.state != NULL)
		digest_end(&R->octx, &d);
	if (R->capture != -1)
		close(R->capture);
	R->capture = -1;
	R->defer = 0;
	R->hash_out = 0;
	R->digest_known = 1;
	buf_free(&R->errcap);
	(void)E;
}

/*
 * A stage with outputs hits while they are as the run that stored its
 * key left them: it does not run, and what it would have written on
 * stdout reads empty.
 */
static int
outputs_hit(struct engine *E, struct rstage *R)
{
	struct cache_hit hit;
	int	 fd;

	R->cache_res = "miss";
	if (E->o->refresh) {
		cache_count_miss(E->cache, R->cat);
		R->cache_res = "refresh";
		return 0;
	}
	if (!outputs_current(E, R, &R->key, &hit) ||
	    (fd = memfd_create("sluice-outputs", MFD_CLOEXEC)) == -1) {
		cache_count_miss(E->cache, R->cat);
		return 0;
	}
	(void)cache_lookup(E->cache, R->cat, &R->key, &hit);	/* its use */
	R->cache_res = "hit";
	digest_buf("", 0, &R->out_digest);
	R->digest_known = 1;
	R->out_r = fd;
	R->out_is_pipe = 0;
	R->fileplay = 0;
	R->hash_out = 0;
	R->cost_saved_ns = hit.cost_ns;
	return 1;
}

/* compute the key; 1 and the stage is CACHED with its blob as stdout */
int
scache_try_hit(struct engine *E, struct rstage *R)
{
	const struct digest **outd;
	struct cache_hit hit;
	int	 fd, hit_fd, unopened = 0;

	if (!R->cacheable)
		return 0;
	R->spec = 0;
	if (scache_spec_ok(E, R) && !scache_producers_final(E, R)) {
		/* it starts before its producers end: see scache_resolve */
		R->spec = 1;
		R->cache_res = "miss";
		return 0;
	}
	if (R->st->noutputs > 0 && !scache_producers_final(E, R)) {
		/* it starts with them: a miss, its key known at the end */
		cache_count_miss(E->cache, R->cat);
		R->cache_res = "miss";
		return 0;
	}
	outd = out_digests(E);
	stagekey_final(&R->key_base, R->st, outd, &R->key);
	if (R->st->noutputs > 0) {
		free(outd);
		return outputs_hit(E, R);
	}
	fd = R->pre_fd;
	R->pre_fd = -1;
	R->cache_res = "miss";
	if (E->o->refresh) {
		cache_count_miss(E->cache, R->cat);
		R->cache_res = "refresh";
		hit_fd = -1;
	} else if (cache_lookup(E->cache, R->cat, &R->key, &hit) != 1)
		hit_fd = -1;
	else if (fd != -1 && hit.content.hi == R->pre_content.hi &&
	    hit.content.lo == R->pre_content.lo) {
		hit_fd = fd;		/* checked by a producer's look ahead */
		fd = -1;
	} else {
		/* the Slurm executor copies every hit to a file */
		outd[R->st->idx] = &hit.content;
		unopened = hit.pack == 0 && E->o->executor != EXEC_SLURM &&
		    !needed(E, R, outd, 0);
		hit_fd = -2;
	}
	free(outd);
	if (fd != -1)
		close(fd);
	if (hit_fd == -1 && !unopened)
		return 0;
	if (unopened) {			/* no reader needs the bytes */
		R->unopened = 1;
		R->hit_pack = hit.pack;
		R->hit_off = hit.off;
		R->hit_size = hit.size;
		hit_fd = -1;
	} else if (hit_fd == -2 &&
	    (hit_fd = open_hit(E, R, &hit, "; running it")) == -1)
		return 0;
	R->cache_res = "hit";
	R->out_digest = hit.content;
	R->digest_known = 1;
	R->out_r = hit_fd;
	R->out_is_pipe = 0;
	R->fileplay = 0;
	R->hash_out = 0;		/* the digest is known */
	R->cost_saved_ns = hit.cost_ns;
	return 1;
}

/* a stage that missed starts: capture what it writes */
void
scache_started(struct engine *E, struct rstage *R)
{
	R->digest_known = 0;
	if (R->octx.state != NULL) {
		struct digest d;

		digest_end(&R->octx, &d);
	}
	if (R->hash_out)
		digest_begin(&R->octx);
	R->capture_size = 0;
	buf_reset(&R->errcap);
	R->errcap_lost = 0;
	if (R->capture != -1) {
		close(R->capture);
		R->capture = -1;
	}
	if (R->cacheable && R->st->noutputs == 0 &&
	    (R->capture = cache_tmpfile(E->cache)) == -1)
		warnx("stage '%s': %s", R->st->name, cache_error(E->cache));
}

/* bytes of a stage's stdout, as they pass */
void
scache_out(struct engine *E, struct rstage *R, const char *p, size_t n)
{
	if (R->octx.state != NULL)
		digest_add(&R->octx, p, n);
	if (R->capture != -1) {
		if (write_all(R->capture, p, n) == -1) {
			warnx("stage '%s': cannot write to the cache (%s); not "
			    "storing its output", R->st->name, strerror(errno));
			if (R->defer) {	/* its readers need those bytes */
				fanout_undefer(E, R, R->capture,
				    R->capture_size);
				R->spec_seen = R->spec;
			}
			close(R->capture);
			R->capture = -1;
		} else
			R->capture_size += (int64_t)n;
	}
}

static void
err_key(const struct rstage *R, struct digest *k)
{
	struct digest_ctx c;

	digest_begin(&c);
	digest_add(&c, &R->key, sizeof(R->key));
	digest_adds(&c, "stderr");
	digest_end(&c, k);
}

/* stderr of a stage that may be stored, as it passes */
void
scache_err(struct engine *E, struct rstage *R, const char *p, size_t n)
{
	size_t	 room = ERRCAP_MAX - R->errcap.len;

	/* a map stage's lines are its shards' and its own summary of
	 * what came from the cache: not worth replaying */
	if (E->cache == NULL || E->errcat == -1 || R->st->map ||
	    R->st->noutputs > 0)
		return;
	buf_add(&R->errcap, p, n < room ? n : room);
	if (n > room)
		R->errcap_lost += (int64_t)(n - room);
}

/* the stage's output was stored: its stderr goes beside it */
void
scache_store_err(struct engine *E, struct rstage *R)
{
	struct digest k;

	if (E->errcat == -1)
		return;
	err_key(R, &k);
	if (R->errcap.len == 0) {	/* a stale one must not come back */
		cache_forget(E->cache, E->errcat, &k);
		return;
	}
	if (R->errcap_lost > 0) {
		if (R->errcap.data[R->errcap.len - 1] != '\n')
			buf_addc(&R->errcap, '\n');
		buf_printf(&R->errcap, "[%lld more bytes of stderr were not "
		    "kept in the cache]\n", (long long)R->errcap_lost);
	}
	if (cache_store_buf(E->cache, E->errcat, &k, R->errcap.data,
	    R->errcap.len, 0) == -1)
		warnx("stage '%s': stderr not cached: %s", R->st->name,
		    cache_error(E->cache));
	buf_free(&R->errcap);
}

/* a hit: what the stage said when it ran, tagged as replayed */
void
scache_replay_err(struct engine *E, struct rstage *R)
{
	struct buf b = { 0 };
	struct digest k;

	if (E->errcat == -1)
		return;
	err_key(R, &k);
	if (cache_get_buf(E->cache, E->errcat, &k, &b) == 1 && b.len > 0) {
		stage_stderr(E, R, b.data, b.len);
		if (R->errline.len > 0) {	/* no newline at the end */
			stage_stderr(E, R, "\n", 1);
		}
	}
	buf_free(&b);
}

/* R's output was cut short, or that of a stage it read */
static int
cut_short(const struct engine *E, const struct rstage *R)
{
	size_t	 k, s;

	if (R->out_cut)
		return 1;
	for (k = 0; k < R->st->nports; k++)
		for (s = 0; s < R->st->ports[k].nsrc; s++)
			if (E->rs[R->st->ports[k].src[s]].out_cut)
				return 1;
	return 0;
}

/*
 * The stage succeeded: its digest is final; store a cacheable output.
 * A deferred one's readers read it from its capture now, stored or not
 * (finish_outlets leaves it be), as they would a hit.
 */
void
scache_done(struct engine *E, struct rstage *R)
{
	if (R->octx.state != NULL) {
		digest_end(&R->octx, &R->out_digest);
		R->digest_known = 1;
	}
	if (R->cacheable && cut_short(E, R)) {
		/* its output, or the input its key stands for, was cut
		   short when its readers went away: nothing to store */
		R->digest_known = 0;
		if (R->capture != -1) {
			if (R->defer)
				fanout_undefer(E, R, R->capture,
				    R->capture_size);
			close(R->capture);
			R->capture = -1;
		}
		return;
	}
	if (R->cacheable && R->st->noutputs > 0) {
		const struct digest **outd = out_digests(E);

		/* its producers have ended: its key; and its files as it
		 * left them are what that key stands for */
		stagekey_final(&R->key_base, R->st, outd, &R->key);
		free(outd);
		R->ostamp_done = 0;
		if (cache_store_buf(E->cache, R->cat, &R->key, ostamp(R),
		    sizeof(R->ostamp), R->t_end - R->t_start) == -1)
			warnx("stage '%s': its outputs not recorded in the "
			    "cache: %s", R->st->name, cache_error(E->cache));
		return;
	}
	if (R->capture == -1)
		return;
	if (!R->sigpipe_ok && cache_store_fd(E->cache, R->cat, &R->key,
	    R->capture, (uint64_t)R->capture_size, &R->out_digest,
	    R->t_end - R->t_start) == -1)
		warnx("stage '%s': output not cached: %s", R->st->name,
		    cache_error(E->cache));
	else if (!R->sigpipe_ok)
		scache_store_err(E, R);
	if (R->defer && R->out_r == -1 &&
	    lseek(R->capture, 0, SEEK_SET) == 0) {
		R->defer = 0;
		R->out_r = R->capture;
		R->out_is_pipe = 0;
		R->fileplay = 0;	/* a file now: see file_replay */
		R->hash_out = 0;
		R->capture = -1;
		return;
	}
	if (R->defer)	/* not readable from the start: queued instead */
		fanout_undefer(E, R, R->capture, R->capture_size);
	close(R->capture);
	R->capture = -1;
}

/*
 * Defer a stage that starts with a capture when every reader waits for
 * it to succeed (cached ones, retried ones: see stage_ready), and a
 * speculative one whatever its readers: its output is not copied into
 * their queues (memory, then spill files) while it runs, only into the
 * capture, which they read afterwards (or once its key missed:
 * spec_settle).  Not with the Slurm executor, which passes outputs in
 * files of its own, nor for a stage held for its own retries.
 */
void
scache_defer(struct engine *E, struct rstage *R)
{
	size_t	 i;

	R->defer = 0;
	R->spec_seen = 0;
	if (R->capture == -1 || R->hold || R->direct_out ||
	    R->noutlets == 0 || E->o->executor == EXEC_SLURM)
		goto out;
	for (i = 0; i < R->noutlets; i++) {
		const struct rstage *C;

		if (R->outlets[i].stage < 0)
			goto out;
		C = &E->rs[R->outlets[i].stage];
		if (C->state != PS_WAITING)
			goto out;
		if (R->spec)	/* none may see it before its key */
			continue;
		/* one with outputs reads as it comes, as an uncached one */
		if ((!C->cacheable || C->st->noutputs > 0) &&
		    C->st->retries == 0)
			goto out;
		/* a reader that may start before it ends reads it as it
		 * comes */
		if (scache_spec_ok(E, C))
			goto out;
	}
	R->defer = 1;
out:
	/* a speculative one that cannot be deferred runs as a miss */
	R->spec_seen = R->spec && !R->defer;
}
