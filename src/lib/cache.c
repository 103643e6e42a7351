/*
 * cache.c: the shared content-addressed cache; see cache.h and
 * sluice-cache(5).  Pure file and memory work: no process management.
 *
 * Layout of DIR/index (little-endian, fixed widths, no pointers):
 *   [0, 8192)      struct idx_hdr: magic, version, capacity, totals, the
 *                  logical LRU clock and CACHE_MAXCAT category records
 *   [8192, ...)    capacity x struct idx_ent (80 bytes), open addressing
 *                  by the key digest with linear probing; the file is
 *                  sparse, so unused slots cost no disk.
 * Blobs: DIR/blobs/XY/<32 hex digits of the content digest>.
 * Small values (cache_store_buf, up to PACK_SMALL bytes): appended to
 * DIR/packs/<n>.pack under the lock; the entry says which pack and
 * where.  Packs are only appended to, or removed whole by gc once their
 * live entries moved on.
 * Temporary files: DIR/tmp/, renamed into blobs/ when complete.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define IDX_MAGIC	"SLUICECX"
#define IDX_VERSION	2		/* 1: 64-byte entries, no packs */
#define IDX_HDRSIZE	8192
#define IDX_CAPACITY	(1u << 18)	/* slots (16 MB); SLUICE_CACHE_SLOTS */
#define MAX_LOAD_NUM	3		/* entries <= 3/4 of the slots */
#define MAX_LOAD_DEN	4
#define PACK_SMALL	65536		/* larger values get a blob file */
#define PACK_MAX	(64u << 20)	/* a pack this big takes no more */
#define LRU_GRAIN	60		/* seconds between moves of an entry */

enum { ENT_EMPTY, ENT_VALID, ENT_DEAD };

struct idx_cat {			/* 128 bytes */
	char		 name[CACHE_CATLEN];
	int64_t		 ttl_ns;
	uint32_t	 share;
	uint32_t	 pad;
	uint64_t	 lookups, hits, misses, stores, evictions, expired;
	uint64_t	 bytes_saved, time_saved_ns, bytes, entries;
};

struct idx_hdr {
	char		 magic[8];
	uint32_t	 version;
	uint32_t	 hdrsize;
	uint64_t	 capacity;
	uint64_t	 entries;
	uint64_t	 dead;
	uint64_t	 bytes;
	uint64_t	 max_bytes;
	uint64_t	 clock;
	uint32_t	 ncat;
	uint32_t	 pack_cur;	/* the pack appended to, from 1 */
	struct idx_cat	 cat[CACHE_MAXCAT];
};

struct idx_ent {			/* 80 bytes */
	uint64_t	 key_hi, key_lo;
	uint64_t	 val_hi, val_lo;
	uint64_t	 size;
	uint64_t	 atime;		/* the logical clock at the last use */
	uint64_t	 off;		/* in its pack */
	uint32_t	 pack;		/* 0: a blob file */
	uint32_t	 ctime;		/* seconds since the epoch */
	uint32_t	 cost_ms;
	uint8_t		 state;
	uint8_t		 cat;
	uint16_t	 pad;
	uint32_t	 mtime;		/* when atime last moved, seconds */
	uint32_t	 sum;		/* XXH32 of the 76 bytes before it */
};

_Static_assert(sizeof(struct idx_ent) == 80, "index entries are 80 bytes");
_Static_assert(sizeof(struct idx_hdr) <= IDX_HDRSIZE, "header fits");

#define NPACKFD	4

struct cache {
	char		*dir;
	int		 fd;
	int		 packfd[NPACKFD];	/* read descriptors of packs */
	uint32_t	 packno[NPACKFD];
	unsigned	 packnext;
	uint64_t	 pack_max;	/* PACK_MAX; SLUICE_CACHE_PACK_MAX */
	int		 wfd;		/* open on pack wpack to append */
	uint32_t	 wpack;
	size_t		 maplen;
	struct idx_hdr	*hdr;
	struct idx_ent	*ent;
	uint64_t	 cap;
	uint64_t	 nread;		/* lookups that read their slots */
	char		 err[512];
};

static int
fail(struct cache *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

const char *
cache_error(const struct cache *c)
{
	return c->err;
}

const char *
cache_dir_default(void)
{
	static char dir[4096];
	const char *e;

	if ((e = getenv("SLUICE_CACHE_DIR")) != NULL && *e != '\0')
		snprintf(dir, sizeof(dir), "%s", e);
	else if ((e = getenv("XDG_CACHE_HOME")) != NULL && *e == '/')
		snprintf(dir, sizeof(dir), "%s/sluice", e);
	else if ((e = getenv("HOME")) != NULL && *e == '/')
		snprintf(dir, sizeof(dir), "%s/.cache/sluice", e);
	else
		snprintf(dir, sizeof(dir), "/tmp/sluice-cache-%d",
		    (int)geteuid());
	return dir;
}

static uint32_t
ent_sum(const struct idx_ent *e)
{
	return XXH32(e, offsetof(struct idx_ent, sum), 0x51u);
}

static void
ent_seal(struct idx_ent *e)
{
	e->sum = ent_sum(e);
}

static int
ent_ok(const struct idx_ent *e)
{
	return e->state == ENT_VALID && e->sum == ent_sum(e) &&
	    e->cat < CACHE_MAXCAT;
}

/* a directory we may trust: ours, a real directory, not writable by
 * group or others */
static int
safe_dir(struct cache *c, const char *path, int *unsafe)
{
	struct stat sb;

	if (lstat(path, &sb) == -1)
		return fail(c, "cache directory '%s': %s", path,
		    strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		*unsafe = 1;
		return fail(c, "cache directory '%s' is not a directory%s",
		    path, S_ISLNK(sb.st_mode) ? " (a symbolic link)" : "");
	}
	if (sb.st_uid != geteuid()) {
		*unsafe = 1;
		return fail(c, "cache directory '%s' is owned by uid %d, not "
		    "by you (uid %d): refusing", path, (int)sb.st_uid,
		    (int)geteuid());
	}
	if (sb.st_mode & 022) {
		*unsafe = 1;
		return fail(c, "cache directory '%s' is writable by group or "
		    "others (mode %04o): refusing; chmod go-w it", path,
		    (unsigned)(sb.st_mode & 07777));
	}
	return 0;
}

static int
mkdir_p(const char *path)
{
	char	*p, *s;
	int	 rc = 0;

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	p = xstrdup(path);
	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char	 ch = *s;

			*s = '\0';
			if (mkdir(p, 0700) == -1 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = ch;
			if (ch == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

/* --- packs ---------------------------------------------------------- */

static void
pack_path(const struct cache *c, uint32_t n, char *out, size_t sz)
{
	snprintf(out, sz, "%s/packs/%u.pack", c->dir, n);
}

static void
pack_forget(struct cache *c)
{
	int	 i;

	for (i = 0; i < NPACKFD; i++) {
		if (c->packfd[i] != -1)
			close(c->packfd[i]);
		c->packfd[i] = -1;
	}
	if (c->wfd != -1)
		close(c->wfd);
	c->wfd = -1;
}

/* a descriptor to read pack n, kept open for the next read */
static int
pack_rfd(struct cache *c, uint32_t n)
{
	char	 path[4200];
	int	 i, fd;

	for (i = 0; i < NPACKFD; i++)
		if (c->packfd[i] != -1 && c->packno[i] == n)
			return c->packfd[i];
	pack_path(c, n, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	i = (int)(c->packnext++ % NPACKFD);
	if (c->packfd[i] != -1)
		close(c->packfd[i]);
	c->packfd[i] = fd;
	c->packno[i] = n;
	return fd;
}

/* the header's totals counted again from the slots (under the lock) */
static void
recount(struct cache *c)
{
	uint64_t i;

	c->hdr->entries = c->hdr->bytes = 0;
	for (i = 0; i < CACHE_MAXCAT; i++)
		c->hdr->cat[i].entries = c->hdr->cat[i].bytes = 0;
	for (i = 0; i < c->cap; i++)
		if (ent_ok(&c->ent[i])) {
			c->hdr->entries++;
			c->hdr->bytes += c->ent[i].size;
			c->hdr->cat[c->ent[i].cat].entries++;
			c->hdr->cat[c->ent[i].cat].bytes += c->ent[i].size;
		}
}

/*
 * The header's count of entries, as a bound for arrays of them: never
 * more than the slots, whatever a corrupted header says (its totals
 * are counted again by cache_verify).
 */
static uint64_t
nlive(const struct cache *c)
{
	return c->hdr->entries < c->cap ? c->hdr->entries : c->cap;
}

/* the value at (pack, off, size) into out, checked against content */
static int
pack_read(struct cache *c, uint32_t pack, uint64_t off, uint64_t size,
    const struct digest *content, struct buf *out)
{
	struct digest d;
	ssize_t	 n;
	int	 fd;

	if (size > PACK_SMALL)		/* no packed value is larger */
		return fail(c, "cache pack %u: the value at %llu is corrupt",
		    pack, (unsigned long long)off);
	if ((fd = pack_rfd(c, pack)) == -1)
		return fail(c, "cache pack %u: %s", pack, strerror(errno));
	buf_reset(out);
	buf_grow(out, (size_t)size);
	n = pread(fd, out->data, (size_t)size, (off_t)off);
	if (n != (ssize_t)size)
		return fail(c, "cache pack %u: %s", pack, n == -1 ?
		    strerror(errno) : "shorter than its entries");
	out->len = (size_t)size;
	out->data[out->len] = '\0';
	digest_buf(out->data, out->len, &d);
	if (d.hi != content->hi || d.lo != content->lo)
		return fail(c, "cache pack %u: the value at %llu is corrupt",
		    pack, (unsigned long long)off);
	return 0;
}

/* append under the lock; where it went in *pack and *off */
static int
pack_append(struct cache *c, const void *p, size_t n, uint32_t *pack,
    uint64_t *off)
{
	char	 path[4200];
	off_t	 end;
	int	 fd, e;

	if (c->hdr->pack_cur == 0)
		c->hdr->pack_cur = 1;
	pack_path(c, c->hdr->pack_cur, path, sizeof(path));
	/* the descriptor of the last append serves while the current pack
	 * is the same one (gc removes the current pack only when it moves
	 * on to the next number) */
	if (c->wfd != -1 && c->wpack != c->hdr->pack_cur) {
		close(c->wfd);
		c->wfd = -1;
	}
	if (c->wfd == -1) {
		if ((c->wfd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) == -1)
			return fail(c, "cannot open cache pack '%s': %s", path,
			    strerror(errno));
		c->wpack = c->hdr->pack_cur;
	}
	fd = c->wfd;
	if ((end = lseek(fd, 0, SEEK_END)) == -1 ||
	    write_all(fd, p, n) == -1) {
		e = errno;
		/* what a failed write left at the end is not anybody's */
		if (end != -1)
			(void)ftruncate(fd, end);
		return fail(c, "cannot write to cache pack '%s': %s", path,
		    strerror(e));
	}
	*pack = c->hdr->pack_cur;
	*off = (uint64_t)end;
	if ((uint64_t)end + n >= c->pack_max)
		c->hdr->pack_cur++;
	return 0;
}

static void
lock(struct cache *c)
{
	while (flock(c->fd, LOCK_EX) == -1 && errno == EINTR)
		;
}

static void
unlock(struct cache *c)
{
	flock(c->fd, LOCK_UN);
}

struct cache *
cache_open(const char *dir, uint64_t max_bytes, int *unsafe)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	struct stat sb;
	char	*sub, *idx;
	int	 i, rc;

	*unsafe = 0;
	c->fd = -1;
	for (i = 0; i < NPACKFD; i++)
		c->packfd[i] = -1;
	c->wfd = -1;
	c->dir = xstrdup(dir != NULL ? dir : cache_dir_default());
	if (mkdir_p(c->dir) == -1) {
		fail(c, "cannot create cache directory '%s': %s", c->dir,
		    strerror(errno));
		return c;
	}
	if (safe_dir(c, c->dir, unsafe) == -1)
		return c;
	for (i = 0; i < 3; i++) {
		sub = xasprintf("%s/%s", c->dir, i == 0 ? "blobs" : i == 1 ?
		    "tmp" : "packs");
		if (mkdir(sub, 0700) == -1 && errno != EEXIST) {
			fail(c, "cannot create '%s': %s", sub, strerror(errno));
			free(sub);
			return c;
		}
		if (safe_dir(c, sub, unsafe) == -1) {
			free(sub);
			return c;
		}
		free(sub);
	}
	idx = xasprintf("%s/index", c->dir);
	c->fd = open(idx, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (c->fd == -1) {
		if (errno == ELOOP)
			*unsafe = 1;
		fail(c, "cannot open cache index '%s': %s", idx,
		    strerror(errno));
		free(idx);
		return c;
	}
	free(idx);
	lock(c);
	if (fstat(c->fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid()) {
		unlock(c);
		*unsafe = !S_ISREG(sb.st_mode) || sb.st_uid != geteuid();
		fail(c, "cache index in '%s' is not a regular file of yours",
		    c->dir);
		close(c->fd);
		c->fd = -1;
		return c;
	}
	c->pack_max = PACK_MAX;
	if (getenv("SLUICE_CACHE_PACK_MAX") != NULL) {
		const char *errstr;
		long long v = strtonum(getenv("SLUICE_CACHE_PACK_MAX"), 1,
		    PACK_MAX, &errstr);

		if (errstr == NULL)
			c->pack_max = (uint64_t)v;
	}
	c->cap = IDX_CAPACITY;
	if (getenv("SLUICE_CACHE_SLOTS") != NULL) {
		const char *errstr;
		long long v = strtonum(getenv("SLUICE_CACHE_SLOTS"), 1024,
		    1LL << 30, &errstr);

		if (errstr == NULL && (v & (v - 1)) == 0)
			c->cap = (uint64_t)v;
	}
	/* an index whose magic is not written was never initialised (a
	 * crash while creating it): start it again, under the lock */
	if (sb.st_size != 0) {
		struct idx_hdr h;

		if (pread(c->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			memset(&h, 0, sizeof(h));
		if (memcmp(h.magic, "\0\0\0\0\0\0\0\0", 8) == 0)
			sb.st_size = 0;
		else if (memcmp(h.magic, IDX_MAGIC, 8) == 0 &&
		    h.version < IDX_VERSION)
			sb.st_size = 0;	/* an older layout: start again */
		else if (memcmp(h.magic, IDX_MAGIC, 8) != 0 ||
		    h.version != IDX_VERSION || h.capacity == 0 ||
		    (h.capacity & (h.capacity - 1)) != 0 ||
		    (uint64_t)sb.st_size != IDX_HDRSIZE + h.capacity *
		    sizeof(struct idx_ent)) {
			unlock(c);
			fail(c, "cache index in '%s' is not a sluice index "
			    "of version %u (its header or size is wrong); "
			    "remove '%s/index' to start an empty cache",
			    c->dir, IDX_VERSION, c->dir);
			close(c->fd);
			c->fd = -1;
			return c;
		} else
			c->cap = h.capacity;
	}
	/* allocate every block now: a mapped page that cannot get a block
	 * later (a full disk) would be SIGBUS, not an error */
	if (sb.st_size == 0 && ((rc = ftruncate(c->fd, 0) == -1 ? errno : 0) !=
	    0 || (rc = posix_fallocate(c->fd, 0, (off_t)(IDX_HDRSIZE +
	    c->cap * sizeof(struct idx_ent)))) != 0)) {
		unlock(c);
		idx = xasprintf("%s/index", c->dir);
		(void)unlink(idx);
		free(idx);
		fail(c, "cannot allocate the cache index in '%s': %s", c->dir,
		    strerror(rc));
		close(c->fd);
		c->fd = -1;
		return c;
	}
	c->maplen = IDX_HDRSIZE + c->cap * sizeof(struct idx_ent);
	c->hdr = mmap(NULL, c->maplen, PROT_READ | PROT_WRITE, MAP_SHARED,
	    c->fd, 0);
	if (c->hdr == MAP_FAILED) {
		unlock(c);
		c->hdr = NULL;
		fail(c, "cannot map cache index: %s", strerror(errno));
		close(c->fd);
		c->fd = -1;
		return c;
	}
	c->ent = (struct idx_ent *)((char *)c->hdr + IDX_HDRSIZE);
	/* a count no index can hold: flipped bits; counted again */
	if (sb.st_size != 0 && c->hdr->entries > c->cap)
		recount(c);
	if (sb.st_size == 0) {
		c->hdr->version = IDX_VERSION;
		c->hdr->hdrsize = IDX_HDRSIZE;
		c->hdr->capacity = c->cap;
		c->hdr->max_bytes = 2ULL << 30;
		c->hdr->pack_cur = 1;
		/* the magic last: until it is there, the index is new */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memcpy(c->hdr->magic, IDX_MAGIC, 8);
	}
	if (max_bytes > 0)
		c->hdr->max_bytes = max_bytes;
	unlock(c);
	return c;
}

static int
usable(struct cache *c)
{
	if (c == NULL || c->hdr == NULL)
		return 0;
	return 1;
}

/*
 * For a stage that caches work of its own (per record, per type): the
 * cache sluice ran it with, if it is a cached stage of a pipeline.
 * sluice says so in its environment: SLUICE_CACHE_KEY (the stage's key
 * without its input: program, arguments, env, inputs files), and
 * SLUICE_CACHE_DIR and SLUICE_CACHE_CATEGORY; SLUICE_CACHE_REFRESH=1
 * for --refresh (*refresh: store, never hit).  The stage's own keys
 * must start from *base, so that whatever sluice's key covers changes
 * them too.  NULL, with nothing said, when there is none (run by hand,
 * not cached, --no-cache); NULL with a warning when it cannot be
 * opened: the stage works without it.
 */
struct cache *
cache_for_stage(int *cat, struct digest *base, int *refresh)
{
	const char	*k = getenv("SLUICE_CACHE_KEY");
	const char	*dir = getenv("SLUICE_CACHE_DIR");
	const char	*name = getenv("SLUICE_CACHE_CATEGORY");
	const char	*r = getenv("SLUICE_CACHE_REFRESH");
	struct cache	*c;
	int		 unsafe;

	if (k == NULL || dir == NULL || *dir != '/' || name == NULL ||
	    *name == '\0' || digest_parse(k, base) == -1)
		return NULL;
	*refresh = r != NULL && strcmp(r, "1") == 0;
	c = cache_open(dir, 0, &unsafe);
	if (c->err[0] == '\0' && (*cat = cache_category(c, name, -1, 0)) != -1)
		return c;
	warnx("%s; not cached", c->err);
	cache_close(c);
	return NULL;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	if (c->hdr != NULL)
		munmap(c->hdr, c->maplen);
	if (c->fd != -1)
		close(c->fd);
	pack_forget(c);
	free(c->dir);
	free(c);
}

int
cache_category(struct cache *c, const char *name, int64_t ttl_ns,
    uint32_t share)
{
	uint32_t i;
	int	 id = -1;

	if (!usable(c))
		return -1;
	lock(c);
	for (i = 0; i < c->hdr->ncat && i < CACHE_MAXCAT; i++)
		if (strncmp(c->hdr->cat[i].name, name, CACHE_CATLEN) == 0) {
			id = (int)i;
			break;
		}
	if (id == -1 && c->hdr->ncat < CACHE_MAXCAT) {
		id = (int)c->hdr->ncat;
		memset(&c->hdr->cat[id], 0, sizeof(c->hdr->cat[id]));
		strlcpy(c->hdr->cat[id].name, name, CACHE_CATLEN);
		c->hdr->ncat++;
	}
	if (id != -1 && ttl_ns >= 0)
		c->hdr->cat[id].ttl_ns = ttl_ns;
	if (id != -1 && share > 0)
		c->hdr->cat[id].share = share;
	unlock(c);
	if (id == -1)
		return fail(c, "too many cache categories (at most %d)",
		    CACHE_MAXCAT);
	return id;
}

static void
blob_path(const struct cache *c, const struct digest *d, char *out,
    size_t sz)
{
	char	 hex[DIGEST_HEXLEN];

	digest_hex(d, hex);
	snprintf(out, sz, "%s/blobs/%.2s/%s", c->dir, hex, hex);
}

/* slot of key, or -1; under the lock */
static int64_t
find(struct cache *c, const struct digest *key)
{
	uint64_t i, n;

	for (i = key->lo & (c->cap - 1), n = 0; n < c->cap;
	    i = (i + 1) & (c->cap - 1), n++) {
		struct idx_ent *e = &c->ent[i];

		if (e->state == ENT_EMPTY)
			return -1;
		if (e->key_hi == key->hi && e->key_lo == key->lo && ent_ok(e))
			return (int64_t)i;
	}
	return -1;
}

/*
 * find() through pread(2), the entry copied into *copy: a lookup reads
 * a few slots, where a first touch of the mapping brings in a 64 KiB
 * window of it (the kernel's fault-around), so that a process looking
 * up a thousand keys once each (a map stage) had most of the 20 MB of a
 * default index in its resident memory.  Under the lock, the file's
 * pages are the mapping's.  A process past FIND_READ_MAX lookups has
 * paid more in system calls than mapping the index costs once: it
 * reads through the mapping from then on.
 */
#define SLOTS_READ	8
#define FIND_READ_MAX	4096

/* slots i... into w, up to SLOTS_READ and not past the last: how many
 * (at least one: the mapping's, should the read fail) */
static uint64_t
slots_read(struct cache *c, uint64_t i, struct idx_ent *w)
{
	uint64_t m = c->cap - i < SLOTS_READ ? c->cap - i : SLOTS_READ;

	if (pread(c->fd, w, (size_t)m * sizeof(*w), (off_t)(IDX_HDRSIZE +
	    i * sizeof(*w))) == (ssize_t)(m * sizeof(*w)))
		return m;
	w[0] = c->ent[i];
	return 1;
}

/* slot i becomes e, written with pwrite(2) for the same reason */
static void
slot_write(struct cache *c, uint64_t i, const struct idx_ent *e)
{
	if (pwrite(c->fd, e, sizeof(*e), (off_t)(IDX_HDRSIZE +
	    i * sizeof(*e))) != (ssize_t)sizeof(*e))
		c->ent[i] = *e;
}

static int64_t
find_read(struct cache *c, const struct digest *key, struct idx_ent *copy)
{
	struct idx_ent w[SLOTS_READ];
	uint64_t i = key->lo & (c->cap - 1), n = 0, m, k;
	int64_t	 r;

	if (++c->nread > FIND_READ_MAX) {
		if ((r = find(c, key)) != -1)
			*copy = c->ent[r];
		return r;
	}
	while (n < c->cap) {
		m = slots_read(c, i, w);
		for (k = 0; k < m && n < c->cap; k++, n++) {
			if (w[k].state == ENT_EMPTY)
				return -1;
			if (w[k].key_hi == key->hi && w[k].key_lo == key->lo &&
			    ent_ok(&w[k])) {
				*copy = w[k];
				return (int64_t)(i + k);
			}
		}
		i = (i + m) & (c->cap - 1);
	}
	return -1;
}

static int
expired(struct cache *c, const struct idx_ent *e)
{
	int64_t	 ttl = c->hdr->cat[e->cat].ttl_ns;

	return ttl > 0 && (int64_t)time(NULL) - (int64_t)e->ctime >
	    ttl / 1000000000;
}

static void
drop(struct cache *c, struct idx_ent *e)
{
	struct idx_cat *k = &c->hdr->cat[e->cat < CACHE_MAXCAT ? e->cat : 0];

	if (ent_ok(e)) {
		c->hdr->entries--;
		c->hdr->bytes -= e->size;
		k->entries--;
		k->bytes -= e->size;
	}
	e->state = ENT_DEAD;
	ent_seal(e);
	c->hdr->dead++;
}

static void
unlink_blob(struct cache *c, uint64_t hi, uint64_t lo)
{
	struct digest d = { hi, lo };
	char	 path[4096];

	blob_path(c, &d, path, sizeof(path));
	/* an empty directory planted at its name goes too */
	if (unlink(path) == -1 && errno == EISDIR)
		(void)rmdir(path);
}

/*
 * A hit moves its entry to the front of the LRU order at most once a
 * minute (LRU_GRAIN), as memcached does: the order is kept to the
 * minute, and a warm run reads the index without writing to its pages
 * (on a file system, the first write to a shared page costs a fault
 * and later the page's writeback: a write per hit cost a map stage of
 * 1,000 hits about 0.8 ms).
 */
static void
touch(struct cache *c, struct idx_ent *e, int64_t now,
    const struct idx_ent *seen)
{
	/* judged by the copy a lookup read: the mapping's page is written
	 * only when the entry moves */
	if (now >= (int64_t)seen->mtime &&
	    now - (int64_t)seen->mtime < LRU_GRAIN)
		return;
	e->atime = ++c->hdr->clock;
	e->mtime = (uint32_t)now;
	ent_seal(e);
}

/* cache_lookup under the lock */
static int
lookup_locked(struct cache *c, int cat, const struct digest *key,
    struct cache_hit *hit)
{
	int64_t	 i;
	struct idx_ent e;

	c->hdr->cat[cat].lookups++;
	i = find_read(c, key, &e);
	if (i == -1) {
		c->hdr->cat[cat].misses++;
		return 0;
	}
	if (expired(c, &e)) {
		/* its blob goes at the next gc, which sweeps */
		c->hdr->cat[e.cat].expired++;
		c->hdr->cat[cat].misses++;
		drop(c, &c->ent[i]);
		return 0;
	}
	hit->content.hi = e.val_hi;
	hit->content.lo = e.val_lo;
	hit->size = e.size;
	hit->cost_ns = (int64_t)e.cost_ms * 1000000;
	hit->pack = e.pack;
	hit->off = e.off;
	touch(c, &c->ent[i], (int64_t)time(NULL), &e);
	c->hdr->cat[cat].hits++;
	c->hdr->cat[cat].bytes_saved += e.size;
	c->hdr->cat[cat].time_saved_ns += (uint64_t)e.cost_ms * 1000000;
	return 1;
}

int
cache_lookup(struct cache *c, int cat, const struct digest *key,
    struct cache_hit *hit)
{
	int	 rc;

	if (!usable(c) || cat < 0)
		return 0;
	lock(c);
	rc = lookup_locked(c, cat, key, hit);
	unlock(c);
	return rc;
}

/* would key hit?  no statistics, no LRU update (dry runs) */
int
cache_peek(struct cache *c, int cat, const struct digest *key,
    struct cache_hit *hit)
{
	int64_t	 i;
	int	 rc = 0;

	if (!usable(c) || cat < 0)
		return 0;
	lock(c);
	if ((i = find(c, key)) != -1 && !expired(c, &c->ent[i])) {
		hit->content.hi = c->ent[i].val_hi;
		hit->content.lo = c->ent[i].val_lo;
		hit->size = c->ent[i].size;
		hit->cost_ns = (int64_t)c->ent[i].cost_ms * 1000000;
		hit->pack = c->ent[i].pack;
		hit->off = c->ent[i].off;
		rc = 1;
	}
	unlock(c);
	return rc;
}

/*
 * Drop key's entry; bad: a hit turned out unusable (its file gone or
 * wrong), so it counts as a miss and a bad blob file goes too; at: only
 * if the entry still says what that hit said (another process may have
 * stored or moved it since).
 */
static void
drop_key(struct cache *c, int cat, const struct digest *key, int bad,
    const struct cache_hit *at)
{
	struct idx_ent *e;
	int64_t	 i;

	if (!usable(c) || cat < 0)
		return;
	lock(c);
	i = find(c, key);
	if (bad) {
		/* the hit saved nothing after all */
		struct idx_cat *k = &c->hdr->cat[cat];
		uint64_t size = at != NULL ? at->size : i != -1 ?
		    c->ent[i].size : 0;
		uint64_t cost = at != NULL ? (uint64_t)at->cost_ns : i != -1 ?
		    (uint64_t)c->ent[i].cost_ms * 1000000 : 0;

		k->hits--;
		k->misses++;
		k->bytes_saved -= size < k->bytes_saved ? size : k->bytes_saved;
		k->time_saved_ns -= cost < k->time_saved_ns ? cost :
		    k->time_saved_ns;
	}
	if (i != -1) {
		e = &c->ent[i];
		if (at == NULL || (e->pack == at->pack && e->off == at->off &&
		    e->val_hi == at->content.hi &&
		    e->val_lo == at->content.lo)) {
			if (bad && e->pack == 0)
				unlink_blob(c, e->val_hi, e->val_lo);
			drop(c, e);
		}
	}
	unlock(c);
}

void
cache_invalidate(struct cache *c, int cat, const struct digest *key)
{
	drop_key(c, cat, key, 1, NULL);
}

/* drop key's entry, if any, without counting anything (a value that
 * must not be served again) */
void
cache_forget(struct cache *c, int cat, const struct digest *key)
{
	drop_key(c, cat, key, 0, NULL);
}

void
cache_count_miss(struct cache *c, int cat)
{
	if (!usable(c) || cat < 0)
		return;
	lock(c);
	c->hdr->cat[cat].lookups++;
	c->hdr->cat[cat].misses++;
	unlock(c);
}

/* 1 when the file of fd holds exactly the bytes of that digest.  Read
 * with pread, not mapped: a file truncated under a mapping would be a
 * SIGBUS, not a miss.  The buffer is static and small: it stays in the
 * processor's cache, and a run that checks several blobs touches its
 * pages once (a new 256 KiB one each time cost more than the hash) */
static int
blob_intact(int fd, uint64_t size, const struct digest *content)
{
	static char	 b[64 * 1024];
	struct digest_ctx ctx;
	struct digest d;
	ssize_t	 n = 0;
	off_t	 off = 0;

	digest_begin(&ctx);
	while ((n = pread(fd, b, sizeof(b), off)) > 0) {
		digest_add(&ctx, b, (size_t)n);
		off += n;
	}
	digest_end(&ctx, &d);
	return n != -1 && (uint64_t)off == size && d.hi == content->hi &&
	    d.lo == content->lo;
}

/* the blob of a hit, checked against its digest; fd at offset 0 */
int
cache_open_blob(struct cache *c, const struct cache_hit *hit)
{
	char	 path[4096];
	struct stat sb;
	int	 fd;

	if (hit->pack != 0)
		return fail(c, "cache value in pack %u is not a blob file",
		    hit->pack);
	blob_path(c, &hit->content, path, sizeof(path));
	/* O_NONBLOCK: a FIFO planted there is not waited on */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return fail(c, "cache blob '%s': %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(c, "cache blob '%s' is not a regular file", path);
	}
	if ((uint64_t)sb.st_size != hit->size) {
		close(fd);
		return fail(c, "cache blob '%s' has the wrong size", path);
	}
	if (!blob_intact(fd, hit->size, &hit->content)) {
		close(fd);
		return fail(c, "cache blob '%s' is corrupt", path);
	}
	return fd;
}

/* 1 and the new place in *hit when key's packed value is elsewhere now */
static int
moved(struct cache *c, const struct digest *key, struct cache_hit *hit)
{
	int64_t	 i;
	int	 rc = 0;

	lock(c);
	if ((i = find(c, key)) != -1 && c->ent[i].pack != 0 &&
	    (c->ent[i].pack != hit->pack || c->ent[i].off != hit->off)) {
		hit->pack = c->ent[i].pack;
		hit->off = c->ent[i].off;
		hit->size = c->ent[i].size;
		hit->content.hi = c->ent[i].val_hi;
		hit->content.lo = c->ent[i].val_lo;
		rc = 1;
	}
	unlock(c);
	return rc;
}

/* the value of a hit into out; a value that cannot be read or fails its
 * digest is dropped and counted a miss (0) */
static int
read_hit(struct cache *c, int cat, const struct digest *key,
    struct cache_hit *hit, struct buf *out)
{
	int	 fd;

	if (hit->pack != 0) {
		if (pack_read(c, hit->pack, hit->off, hit->size, &hit->content,
		    out) == 0)
			return 1;
		/* another process's gc may have moved it since the lookup:
		 * read it where it is now; drop the entry only if it still
		 * says what failed */
		if (moved(c, key, hit) && pack_read(c, hit->pack, hit->off,
		    hit->size, &hit->content, out) == 0)
			return 1;
		drop_key(c, cat, key, 1, hit);
		return 0;
	}
	if ((fd = cache_open_blob(c, hit)) == -1) {
		cache_invalidate(c, cat, key);
		return 0;
	}
	buf_reset(out);
	if (buf_readfd(out, fd) == -1) {
		close(fd);
		cache_invalidate(c, cat, key);
		return 0;
	}
	close(fd);
	return 1;
}

int
cache_get_buf(struct cache *c, int cat, const struct digest *key,
    struct buf *out)
{
	struct cache_hit hit;

	if (cache_lookup(c, cat, key, &hit) != 1)
		return 0;
	return read_hit(c, cat, key, &hit, out);
}

struct many {
	size_t		 i;		/* index into the caller's keys */
	uint64_t	 at;		/* slot, then offset in its pack */
	uint32_t	 pack;
};

static int
many_cmp(const void *a, const void *b)
{
	const struct many *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return (x->at > y->at) - (x->at < y->at);
}

#define RUN_GAP		4096		/* bytes read across between values */
#define RUN_MAX		(8u << 20)	/* bytes read at once */

/*
 * cache_get_buf for n keys of one category, for a caller with many
 * (a map stage's lines): the lookups in slot order under one lock, then
 * the packed values read in runs of neighbours, one pread(2) a run.
 * Values go one after the other into vals: key i's is at span[i].off,
 * span[i].len bytes, or span[i].off is SIZE_MAX for a miss.  A value
 * that fails its check is a miss, as for cache_get_buf.  Returns the
 * number of hits.
 */
size_t
cache_get_many(struct cache *c, int cat, const struct digest *keys,
    size_t n, struct buf *vals, struct cache_span *span)
{
	struct cache_hit *hit;
	struct many *m;
	struct buf one = { 0 };
	struct digest d;
	size_t	 i, k, r, nm = 0, nhit = 0;
	ssize_t	 got;
	int	 fd;

	for (i = 0; i < n; i++)
		span[i].off = SIZE_MAX;
	if (!usable(c) || cat < 0 || n == 0)
		return 0;
	hit = xcalloc(n, sizeof(*hit));
	m = xcalloc(n, sizeof(*m));
	for (i = 0; i < n; i++) {
		m[i].i = i;
		m[i].at = keys[i].lo & (c->cap - 1);
	}
	/* in slot order, the index's pages are touched once each, in turn */
	qsort(m, n, sizeof(*m), many_cmp);
	lock(c);
	for (k = 0; k < n; k++)
		if (lookup_locked(c, cat, &keys[m[k].i], &hit[m[k].i])) {
			m[nm].i = m[k].i;
			m[nm].pack = hit[m[k].i].pack;
			m[nm++].at = hit[m[k].i].off;
		}
	unlock(c);
	qsort(m, nm, sizeof(*m), many_cmp);
	for (k = 0; k < nm; k = r) {
		struct cache_hit *h = &hit[m[k].i];
		uint64_t first = h->off, end = h->off + h->size;
		size_t	 base = vals->len;

		/* a run: packed neighbours in one pack */
		for (r = k + 1; h->pack != 0 && r < nm; r++) {
			const struct cache_hit *x = &hit[m[r].i];

			if (x->pack != h->pack || x->off < end ||
			    x->off - end > RUN_GAP ||
			    x->off + x->size - first > RUN_MAX)
				break;
			end = x->off + x->size;
		}
		got = -1;
		if (h->pack != 0 && (fd = pack_rfd(c, h->pack)) != -1) {
			buf_grow(vals, (size_t)(end - first));
			got = pread(fd, vals->data + base,
			    (size_t)(end - first), (off_t)first);
		}
		for (i = k; i < r; i++) {
			size_t	 ki = m[i].i;
			const struct cache_hit *x = &hit[ki];

			if (got >= 0 && x->off + x->size - first <=
			    (uint64_t)got) {
				digest_buf(vals->data + base + (x->off - first),
				    (size_t)x->size, &d);
				if (d.hi == x->content.hi &&
				    d.lo == x->content.lo) {
					span[ki].off = base +
					    (size_t)(x->off - first);
					span[ki].len = (size_t)x->size;
					continue;
				}
			}
			span[ki].off = SIZE_MAX;	/* one at a time, below */
		}
		if (got > 0) {
			vals->len = base + (size_t)got;
			vals->data[vals->len] = '\0';
		}
		for (i = k; i < r; i++) {
			size_t	 ki = m[i].i;

			if (span[ki].off != SIZE_MAX)
				continue;
			if (!read_hit(c, cat, &keys[ki], &hit[ki], &one))
				continue;
			span[ki].off = vals->len;
			span[ki].len = one.len;
			buf_add(vals, one.data, one.len);
		}
	}
	for (i = 0; i < n; i++)
		nhit += span[i].off != SIZE_MAX;
	buf_free(&one);
	free(hit);
	free(m);
	return nhit;
}

/* evict least recently used entries until the bounds hold; under the
 * lock.  cat: the category that grows (its share is checked too) */
struct lru {
	uint64_t	 atime;
	uint64_t	 slot;
};

static int
lrucmp(const void *a, const void *b)
{
	const struct lru *x = a, *y = b;

	return (x->atime > y->atime) - (x->atime < y->atime);
}

static int
digcmp(const void *a, const void *b)
{
	const struct digest *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

/* unlink the blobs of dropped entries that nothing else references:
 * one scan of the table for the whole batch */
static void
unlink_unreferenced(struct cache *c, struct digest *gone, size_t n)
{
	unsigned char *used;
	uint64_t i;
	size_t	 k;

	if (n == 0)
		return;
	qsort(gone, n, sizeof(*gone), digcmp);
	used = xcalloc(n, 1);
	for (i = 0; i < c->cap; i++) {
		struct digest d = { c->ent[i].val_hi, c->ent[i].val_lo };
		struct digest *f;

		if (!ent_ok(&c->ent[i]) || c->ent[i].pack != 0)
			continue;
		f = bsearch(&d, gone, n, sizeof(*gone), digcmp);
		if (f != NULL)
			used[f - gone] = 1;
	}
	for (k = 0; k < n; k++)
		if (!used[k])
			unlink_blob(c, gone[k].hi, gone[k].lo);
	free(used);
}

static uint64_t
evict(struct cache *c, int cat, uint64_t incoming)
{
	uint64_t max = c->hdr->max_bytes, catmax = 0, i, n = 0;
	uint64_t maxent = c->cap / MAX_LOAD_DEN * MAX_LOAD_NUM;
	struct lru *v;
	struct digest *gone;
	size_t	 ngone = 0;
	struct idx_cat *k = &c->hdr->cat[cat];
	uint64_t packed = 0;		/* bytes of packed values dropped */

	if (k->share > 0)
		catmax = max / 1000 * k->share;
	if (c->hdr->bytes + incoming <= max && c->hdr->entries < maxent &&
	    (catmax == 0 || k->bytes + incoming <= catmax))
		return 0;
	v = xreallocarray(NULL, nlive(c) + 1, sizeof(*v));
	for (i = 0; i < c->cap && n <= nlive(c); i++)
		if (ent_ok(&c->ent[i])) {
			v[n].atime = c->ent[i].atime;
			v[n++].slot = i;
		}
	qsort(v, n, sizeof(*v), lrucmp);
	gone = xreallocarray(NULL, n + 1, sizeof(*gone));
	for (i = 0; i < n; i++) {
		struct idx_ent *e = &c->ent[v[i].slot];
		int	 over_total = c->hdr->bytes + incoming > max / 10 * 9 ||
		    c->hdr->entries >= maxent / 10 * 9;
		int	 over_cat = catmax > 0 && k->bytes + incoming > catmax;
		uint64_t hi = e->val_hi, lo = e->val_lo;
		int	 file = e->pack == 0;

		if (!over_total && !over_cat)
			break;
		if (!over_total && e->cat != cat)
			continue;	/* only the category over its share */
		c->hdr->cat[e->cat].evictions++;
		drop(c, e);
		if (file) {
			gone[ngone].hi = hi;
			gone[ngone++].lo = lo;
		} else
			packed += e->size;
	}
	unlink_unreferenced(c, gone, ngone);
	free(gone);
	free(v);
	return packed;
}

/* too many dead slots make probes long: rebuild the table in place */
static void
compact(struct cache *c)
{
	struct idx_ent *keep;
	uint64_t i, n = 0;

	if (c->hdr->dead < c->cap / 4)
		return;
	keep = xreallocarray(NULL, nlive(c) + 1, sizeof(*keep));
	for (i = 0; i < c->cap; i++)
		if (ent_ok(&c->ent[i]) && n <= nlive(c))
			keep[n++] = c->ent[i];
	memset(c->ent, 0, c->cap * sizeof(*c->ent));
	for (i = 0; i < n; i++) {
		uint64_t s = keep[i].key_lo & (c->cap - 1);

		while (c->ent[s].state != ENT_EMPTY)
			s = (s + 1) & (c->cap - 1);
		c->ent[s] = keep[i];
	}
	c->hdr->dead = 0;
	free(keep);
}

static uint64_t	pack_gc(struct cache *);

/* pack: 0 for a blob file; a packed value must already be in place,
 * and no pack gc runs before its entry is (it is nobody's yet) */
static int
insert(struct cache *c, int cat, const struct digest *key,
    const struct digest *content, uint64_t size, int64_t cost_ns,
    uint32_t pack, uint64_t off)
{
	struct idx_ent w[SLOTS_READ], ne, *e = &ne;
	uint64_t i, n, m = 0, k = 0, slot = UINT64_MAX;
	int	 slot_dead = 0;

	/* packs whose values were evicted are given back at once */
	if (evict(c, cat, size) > 0 && pack == 0)
		pack_gc(c);
	compact(c);
	/* the slots are read and the entry written with pread/pwrite: a
	 * store touches no page of the mapping (see find_read) */
	for (i = key->lo & (c->cap - 1), n = 0; n < c->cap;
	    i = (i + 1) & (c->cap - 1), n++, k++) {
		if (k == m) {
			m = slots_read(c, i, w);
			k = 0;
		}
		if (w[k].state == ENT_EMPTY) {
			if (slot == UINT64_MAX)
				slot = i;
			break;
		}
		if (!ent_ok(&w[k])) {
			if (slot == UINT64_MAX) {
				slot = i;
				slot_dead = w[k].state == ENT_DEAD;
			}
			continue;
		}
		if (w[k].key_hi == key->hi && w[k].key_lo == key->lo) {
			drop(c, &c->ent[i]);	/* replaced */
			if (slot == UINT64_MAX) {
				slot = i;
				slot_dead = 1;
			}
			break;
		}
	}
	if (slot == UINT64_MAX)
		return fail(c, "cache index is full");
	if (slot_dead && c->hdr->dead > 0)
		c->hdr->dead--;
	memset(e, 0, sizeof(*e));
	e->key_hi = key->hi;
	e->key_lo = key->lo;
	e->val_hi = content->hi;
	e->val_lo = content->lo;
	e->size = size;
	e->pack = pack;
	e->off = off;
	e->atime = ++c->hdr->clock;
	e->ctime = e->mtime = (uint32_t)time(NULL);
	e->cost_ms = cost_ns / 1000000 > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(cost_ns / 1000000);
	e->cat = (uint8_t)cat;
	e->state = ENT_VALID;
	ent_seal(e);
	slot_write(c, slot, e);
	c->hdr->entries++;
	c->hdr->bytes += size;
	c->hdr->cat[cat].entries++;
	c->hdr->cat[cat].bytes += size;
	c->hdr->cat[cat].stores++;
	return 0;
}

int
cache_tmpfile(struct cache *c)
{
	char	*path;
	int	 fd;

	if (!usable(c))
		return -1;
	path = xasprintf("%s/tmp", c->dir);
	fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	free(path);
	if (fd == -1)
		return fail(c, "cannot create a temporary file in the cache: "
		    "%s", strerror(errno));
	return fd;
}

static int
intact_at(const char *path, uint64_t size, const struct digest *content)
{
	int	 fd, ok;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return 0;
	ok = blob_intact(fd, size, content);
	close(fd);
	return ok;
}

/*
 * Publish the bytes of fd (a cache_tmpfile) under key: link the file
 * into blobs/ by its content digest (unless an intact blob of that name
 * is there), then the entry.  fd stays the caller's.
 */
int
cache_store_fd(struct cache *c, int cat, const struct digest *key, int fd,
    uint64_t size, const struct digest *content, int64_t cost_ns)
{
	char	 path[4096], dir[4096], src[64];
	struct stat sb;
	int	 rc, there;

	if (!usable(c) || cat < 0)
		return -1;
	blob_path(c, content, path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return fail(c, "cannot create '%s': %s", dir, strerror(errno));
	/* the same content may be there already; a damaged copy of it is
	 * replaced, never trusted for its name */
	if ((there = lstat(path, &sb) == 0) == 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size != size || !intact_at(path, size, content)) {
		char	 tmp[4200];

		/* a directory there is not ours: an empty one is removed,
		 * another one named (rename cannot replace it) */
		if (there && S_ISDIR(sb.st_mode) && rmdir(path) == -1 &&
		    errno != ENOENT)
			return fail(c, "cannot store a cache blob: '%s' is a "
			    "directory (%s); remove it", path,
			    strerror(errno));

		/* link the anonymous file under a temporary name, then
		 * rename: a complete blob or none */
		snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
		snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
		(void)unlink(tmp);
		if (linkat(AT_FDCWD, src, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) ==
		    -1)
			return fail(c, "cannot store a cache blob: %s",
			    strerror(errno));
		if (rename(tmp, path) == -1) {
			rc = errno;
			(void)unlink(tmp);
			return fail(c, "cannot store a cache blob: %s",
			    strerror(rc));
		}
	}
	lock(c);
	rc = insert(c, cat, key, content, size, cost_ns, 0, 0);
	unlock(c);
	return rc;
}

int
cache_store_buf(struct cache *c, int cat, const struct digest *key,
    const void *p, size_t n, int64_t cost_ns)
{
	struct digest content;
	uint32_t pack;
	uint64_t off;
	int	 fd, rc;

	if (!usable(c) || cat < 0)
		return -1;
	if (n <= PACK_SMALL) {	/* appended to a pack, no file of its own */
		digest_buf(p, n, &content);
		lock(c);
		if (evict(c, cat, n) > 0)
			pack_gc(c);
		if ((rc = pack_append(c, p, n, &pack, &off)) == 0)
			rc = insert(c, cat, key, &content, n, cost_ns, pack,
			    off);
		unlock(c);
		return rc;
	}
	if ((fd = cache_tmpfile(c)) == -1)
		return -1;
	if (write_all(fd, p, n) == -1) {
		close(fd);
		return fail(c, "cannot write to the cache: %s",
		    strerror(errno));
	}
	digest_buf(p, n, &content);
	rc = cache_store_fd(c, cat, key, fd, n, &content, cost_ns);
	close(fd);
	return rc;
}

/*
 * cache_store_buf for n values at once (a stage's records): the small
 * ones appended to the packs in runs, one write(2) a run, all under one
 * lock; a large one as cache_store_buf stores it.  Key i's value is
 * vals->data + span[i].off, span[i].len bytes.  0, or -1 when one
 * failed (cache_error says why; the others may be stored).
 */
int
cache_store_many(struct cache *c, int cat, const struct digest *keys,
    size_t n, const struct buf *vals, const struct cache_span *span)
{
	struct digest *content;
	struct buf run = { 0 };
	uint64_t cap, off;
	uint32_t pack;
	size_t	 i, k, r;
	int	 rc = 0, large = 0;

	if (!usable(c) || cat < 0)
		return -1;
	content = xcalloc(n + 1, sizeof(*content));
	for (i = 0; i < n; i++) {
		if (span[i].len > PACK_SMALL)
			large |= cache_store_buf(c, cat, &keys[i],
			    vals->data + span[i].off, span[i].len, 0);
		else
			digest_buf(vals->data + span[i].off, span[i].len,
			    &content[i]);
	}
	cap = c->pack_max < (1u << 20) ? c->pack_max : (1u << 20);
	lock(c);
	for (i = 0; i < n && rc == 0; i = r) {
		buf_reset(&run);
		for (r = i; r < n; r++) {
			if (span[r].len > PACK_SMALL)
				continue;
			if (run.len > 0 && run.len + span[r].len > cap)
				break;
			buf_add(&run, vals->data + span[r].off, span[r].len);
		}
		if (run.len == 0)
			continue;
		if (evict(c, cat, run.len) > 0)
			pack_gc(c);
		if (pack_append(c, run.data, run.len, &pack, &off) == -1) {
			rc = -1;
			break;
		}
		for (k = i; k < r; k++) {
			if (span[k].len > PACK_SMALL)
				continue;
			if (insert(c, cat, &keys[k], &content[k], span[k].len,
			    0, pack, off) == -1) {
				rc = -1;
				break;
			}
			off += span[k].len;
		}
	}
	unlock(c);
	buf_free(&run);
	free(content);
	return rc == -1 || large == -1 ? -1 : 0;
}

int
cache_get_stats(struct cache *c, struct cache_stats *s)
{
	uint32_t i;

	if (!usable(c))
		return -1;
	memset(s, 0, sizeof(*s));
	lock(c);
	s->capacity = c->cap;
	s->entries = c->hdr->entries;
	s->bytes = c->hdr->bytes;
	s->max_bytes = c->hdr->max_bytes;
	s->ncat = c->hdr->ncat > CACHE_MAXCAT ? CACHE_MAXCAT : c->hdr->ncat;
	for (i = 0; i < s->ncat; i++) {
		struct idx_cat *k = &c->hdr->cat[i];
		struct cache_catstats *o = &s->cat[i];

		memcpy(o->name, k->name, CACHE_CATLEN);
		o->name[CACHE_CATLEN - 1] = '\0';
		o->ttl_ns = k->ttl_ns;
		o->share = k->share;
		o->lookups = k->lookups;
		o->hits = k->hits;
		o->misses = k->misses;
		o->stores = k->stores;
		o->evictions = k->evictions;
		o->expired = k->expired;
		o->bytes_saved = k->bytes_saved;
		o->time_saved_ns = k->time_saved_ns;
		o->bytes = k->bytes;
		o->entries = k->entries;
	}
	unlock(c);
	return 0;
}

/* remove blobs no entry references and stale temporary files */
static uint64_t
sweep(struct cache *c)
{
	char	 path[4200];
	DIR	*d, *sd;
	struct dirent *e, *f;
	uint64_t removed = 0, i, n = 0;
	struct digest dg, *live;

	/* the content digests still in use, sorted for bsearch */
	live = xreallocarray(NULL, nlive(c) + 1, sizeof(*live));
	for (i = 0; i < c->cap && n <= nlive(c); i++)
		if (ent_ok(&c->ent[i]) && c->ent[i].pack == 0) {
			live[n].hi = c->ent[i].val_hi;
			live[n++].lo = c->ent[i].val_lo;
		}
	qsort(live, n, sizeof(*live), digcmp);
	snprintf(path, sizeof(path), "%s/blobs", c->dir);
	if ((d = opendir(path)) == NULL) {
		free(live);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/blobs/%s", c->dir, e->d_name);
		if ((sd = opendir(path)) == NULL)
			continue;
		while ((f = readdir(sd)) != NULL) {
			char	 file[4800];

			if (f->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", path, f->d_name);
			if (digest_parse(f->d_name, &dg) == -1 ||
			    bsearch(&dg, live, n, sizeof(*live), digcmp) ==
			    NULL) {
				(void)unlink(file);
				removed++;
			}
		}
		closedir(sd);
	}
	closedir(d);
	free(live);
	return removed;
}

/*
 * Packs: one with no live entry goes; one less than half live has its
 * live values appended to the current pack, its entries pointed there,
 * and goes.  The current pack too: its values move to a new current
 * one, so that a cache under a small bound does not grow one pack to
 * PACK_MAX (packs hold at most about twice the live bytes).  A value
 * that cannot be read goes; one that cannot be moved (a full disk)
 * keeps its pack.  Entries of a pack that is missing go.  Readers that
 * looked an entry up before keep reading a removed file through their
 * open descriptor, or look the entry up again (cache_get_buf).  Under
 * the lock; returns the files removed.
 */
static uint64_t
pack_gc(struct cache *c)
{
	char	 path[4200];
	uint64_t *live, *count, i, removed = 0;
	uint32_t n, np = c->hdr->pack_cur + 1;
	struct stat sb;
	struct buf b = { 0 };
	int	 stuck;

	/* bytes and entries per pack (a value may be empty) */
	live = xcalloc(np + 1, sizeof(*live));
	count = xcalloc(np + 1, sizeof(*count));
	for (i = 0; i < c->cap; i++)
		if (ent_ok(&c->ent[i]) && c->ent[i].pack != 0 &&
		    c->ent[i].pack < np) {
			live[c->ent[i].pack] += c->ent[i].size;
			count[c->ent[i].pack]++;
		}
	for (n = 1; n < np; n++) {
		pack_path(c, n, path, sizeof(path));
		if (lstat(path, &sb) == -1) {
			for (i = 0; count[n] > 0 && errno == ENOENT &&
			    i < c->cap; i++)
				if (ent_ok(&c->ent[i]) && c->ent[i].pack == n)
					drop(c, &c->ent[i]);
			continue;
		}
		if (live[n] > 0 && live[n] >= (uint64_t)sb.st_size / 2)
			continue;
		if (n == c->hdr->pack_cur && sb.st_size == 0)
			continue;
		if (n == c->hdr->pack_cur)
			c->hdr->pack_cur++;	/* its values go to the next */
		/* every entry of the pack is moved, dropped or stuck */
		stuck = 0;
		for (i = 0; count[n] > 0 && i < c->cap; i++) {
			struct idx_ent *e = &c->ent[i];
			struct digest d = { e->val_hi, e->val_lo };
			uint32_t to;
			uint64_t off;

			if (!ent_ok(e) || e->pack != n)
				continue;
			count[n]--;
			if (pack_read(c, n, e->off, e->size, &d, &b) == -1) {
				drop(c, e);
				continue;
			}
			if (pack_append(c, b.data, b.len, &to, &off) == -1) {
				stuck = 1;
				break;
			}
			if (to < np) {
				live[to] += e->size;
				count[to]++;
			}
			e->pack = to;
			e->off = off;
			ent_seal(e);
		}
		if (!stuck && unlink(path) == 0)
			removed++;
	}
	pack_forget(c);
	buf_free(&b);
	free(live);
	free(count);
	return removed;
}

int
cache_clear(struct cache *c, const char *cat)
{
	uint64_t i;

	if (!usable(c))
		return -1;
	lock(c);
	for (i = 0; i < c->cap; i++) {
		struct idx_ent *e = &c->ent[i];

		if (e->state == ENT_EMPTY)
			continue;
		if (cat != NULL && (!ent_ok(e) || strncmp(
		    c->hdr->cat[e->cat].name, cat, CACHE_CATLEN) != 0))
			continue;
		drop(c, e);
	}
	if (cat == NULL) {
		memset(c->ent, 0, c->cap * sizeof(*c->ent));
		c->hdr->entries = c->hdr->bytes = c->hdr->dead = 0;
		for (i = 0; i < CACHE_MAXCAT; i++)
			c->hdr->cat[i].entries = c->hdr->cat[i].bytes = 0;
	}
	compact(c);
	sweep(c);
	pack_gc(c);
	unlock(c);
	return 0;
}

int
cache_gc(struct cache *c, uint64_t *expired_n, uint64_t *removed)
{
	uint64_t i;

	if (!usable(c))
		return -1;
	*expired_n = 0;
	lock(c);
	for (i = 0; i < c->cap; i++) {
		struct idx_ent *e = &c->ent[i];

		if (e->state == ENT_VALID && !ent_ok(e))
			drop(c, e);
		else if (ent_ok(e) && expired(c, e)) {
			c->hdr->cat[e->cat].expired++;
			drop(c, e);
			(*expired_n)++;
		}
	}
	(void)evict(c, 0, 0);
	compact(c);
	*removed = sweep(c);
	*removed += pack_gc(c);
	unlock(c);
	return 0;
}

/* check every entry and its blob; repair: drop what is wrong */
int
cache_verify(struct cache *c, int repair, uint64_t *checked,
    uint64_t *bad)
{
	uint64_t i;
	struct buf b = { 0 };

	if (!usable(c))
		return -1;
	*checked = *bad = 0;
	lock(c);
	for (i = 0; i < c->cap; i++) {
		struct idx_ent *e = &c->ent[i];
		struct cache_hit h;
		int	 fd;

		if (e->state == ENT_EMPTY)
			continue;
		if (e->state == ENT_DEAD && e->sum == ent_sum(e))
			continue;
		(*checked)++;
		if (!ent_ok(e)) {
			(*bad)++;
			if (repair) {
				e->state = ENT_DEAD;
				ent_seal(e);
				c->hdr->dead++;
			}
			continue;
		}
		h.content.hi = e->val_hi;
		h.content.lo = e->val_lo;
		h.size = e->size;
		h.pack = e->pack;
		h.off = e->off;
		if (h.pack != 0) {
			if (pack_read(c, h.pack, h.off, h.size, &h.content,
			    &b) == -1) {
				(*bad)++;
				if (repair)
					drop(c, e);
			}
			continue;
		}
		if ((fd = cache_open_blob(c, &h)) == -1) {
			(*bad)++;
			if (repair) {
				drop(c, e);
				unlink_blob(c, h.content.hi, h.content.lo);
			}
			continue;
		}
		close(fd);
	}
	if (repair) {
		recount(c);		/* totals from what is left */
		compact(c);
	}
	unlock(c);
	buf_free(&b);
	return 0;
}
