/*
 * t-cache: the packs of small values in the cache (src/lib/cache.c),
 * through its API, in a fresh directory:
 *   1. gc moves the live values out of a mostly unused pack while the
 *      current pack has no live value: they stay readable;
 *   2. a cache under a small size bound keeps its packs near the bound
 *      however much goes through it;
 *   3. a value damaged in its pack is a miss, never other bytes;
 *   4. cache_get_many: packed values in runs, a blob, a damaged value
 *      and absent keys, each as cache_get_buf would give it, and the
 *      statistics as for one lookup each.
 *   t-cache DIR        prints one line; exit 1 on a failure
 * SLUICE_CACHE_PACK_MAX must not be set (the test sets its own).
 */
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "digest.h"

static struct digest
key(int i)
{
	struct digest d;
	char	 s[32];

	snprintf(s, sizeof(s), "key%d", i);
	digest_buf(s, strlen(s), &d);
	return d;
}

static int
fail(const char *what, struct cache *c)
{
	printf("t-cache: %s (%s)\n", what, c != NULL ? cache_error(c) : "");
	return 1;
}

/* bytes in DIR/packs */
static long long
pack_bytes(const char *dir)
{
	char	 p[8300];
	DIR	*d;
	struct dirent *e;
	struct stat sb;
	long long n = 0;

	snprintf(p, sizeof(p), "%s/packs", dir);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		snprintf(p, sizeof(p), "%s/packs/%s", dir, e->d_name);
		if (e->d_name[0] != '.' && stat(p, &sb) == 0)
			n += sb.st_size;
	}
	closedir(d);
	return n;
}

int
main(int argc, char *argv[])
{
	char	 dir[4200], v[1000];
	struct cache *c;
	struct buf b = { 0 };
	struct digest k;
	uint64_t x, y;
	long long bytes;
	int	 unsafe, cat, i, fd;

	if (argc != 2)
		return fail("usage: t-cache DIR", NULL);
	/* 1: six values of 300 bytes in packs of 1,000: k1 and k2..k3 in
	 * the first, the rest after; all but k1 forgotten, then gc */
	snprintf(dir, sizeof(dir), "%s/one", argv[1]);
	setenv("SLUICE_CACHE_PACK_MAX", "1000", 1);
	c = cache_open(dir, 0, &unsafe);
	if ((cat = cache_category(c, "a", -1, 0)) == -1)
		return fail("no category", c);
	for (i = 1; i <= 6; i++) {
		memset(v, 'a' + i, 300);
		k = key(i);
		if (cache_store_buf(c, cat, &k, v, 300, 0) == -1)
			return fail("store", c);
	}
	for (i = 2; i <= 6; i++) {
		k = key(i);
		cache_forget(c, cat, &k);
	}
	if (cache_gc(c, &x, &y) == -1)
		return fail("gc", c);
	k = key(1);
	if (cache_get_buf(c, cat, &k, &b) != 1 || b.len != 300 ||
	    b.data[0] != 'b')
		return fail("a live value was lost by gc", c);
	if (cache_verify(c, 0, &x, &y) == -1 || x != 1 || y != 0)
		return fail("verify after gc", c);
	cache_close(c);

	/* 2: 20,000 values of 1,000 bytes through a bound of 100,000 */
	snprintf(dir, sizeof(dir), "%s/two", argv[1]);
	unsetenv("SLUICE_CACHE_PACK_MAX");
	c = cache_open(dir, 100000, &unsafe);
	cat = cache_category(c, "a", -1, 0);
	for (i = 0; i < 20000; i++) {
		memset(v, i, sizeof(v));
		k.hi = 1;
		k.lo = (uint64_t)i * 2654435761u;
		if (cache_store_buf(c, cat, &k, v, sizeof(v), 0) == -1)
			return fail("store", c);
	}
	if ((bytes = pack_bytes(dir)) < 0 || bytes > 2 * 100000 + 65536) {
		printf("t-cache: packs hold %lld bytes under a bound of "
		    "100000\n", bytes);
		return 1;
	}
	cache_close(c);

	/* 3: a damaged byte */
	snprintf(dir, sizeof(dir), "%s/three", argv[1]);
	c = cache_open(dir, 0, &unsafe);
	cat = cache_category(c, "a", -1, 0);
	k = key(7);
	if (cache_store_buf(c, cat, &k, "seven", 5, 0) == -1)
		return fail("store", c);
	snprintf(dir, sizeof(dir), "%s/three/packs/1.pack", argv[1]);
	if ((fd = open(dir, O_WRONLY)) == -1 || pwrite(fd, "X", 1, 2) != 1)
		return fail("cannot damage the pack", NULL);
	close(fd);
	if (cache_get_buf(c, cat, &k, &b) != 0)
		return fail("a damaged value was served", c);
	cache_close(c);

	/* 4: 50 packed values, one of them damaged, a 70,000-byte blob
	 * and 10 keys never stored, asked for at once */
	snprintf(dir, sizeof(dir), "%s/four", argv[1]);
	c = cache_open(dir, 0, &unsafe);
	cat = cache_category(c, "a", -1, 0);
	{
		static char big[70000];
		struct digest keys[61];
		struct cache_span span[61];
		struct cache_stats st;
		struct buf vals = { 0 };
		size_t	 n;

		for (i = 0; i < 50; i++) {
			snprintf(v, sizeof(v), "value %d", i);
			keys[i] = key(100 + i);
			if (cache_store_buf(c, cat, &keys[i], v, strlen(v),
			    0) == -1)
				return fail("store", c);
		}
		memset(big, 'B', sizeof(big));
		keys[50] = key(150);
		if (cache_store_buf(c, cat, &keys[50], big, sizeof(big), 0) ==
		    -1)
			return fail("store a blob", c);
		for (i = 51; i < 61; i++)
			keys[i] = key(200 + i);
		/* "value 25" is the 25th, after 0..24: "value N" is 7 bytes
		 * up to 9, 8 after */
		snprintf(dir, sizeof(dir), "%s/four/packs/1.pack", argv[1]);
		if ((fd = open(dir, O_WRONLY)) == -1 ||
		    pwrite(fd, "X", 1, 10 * 7 + 15 * 8 + 1) != 1)
			return fail("cannot damage the pack", NULL);
		close(fd);
		n = cache_get_many(c, cat, keys, 61, &vals, span);
		if (n != 50)
			return fail("cache_get_many: not 50 hits", c);
		for (i = 0; i < 61; i++) {
			snprintf(v, sizeof(v), "value %d", i);
			if (i == 25 || i > 50) {
				if (span[i].off != SIZE_MAX)
					return fail("a damaged or absent value "
					    "was served", c);
			} else if (i == 50) {
				if (span[i].off == SIZE_MAX ||
				    span[i].len != sizeof(big) ||
				    memcmp(vals.data + span[i].off, big,
				    sizeof(big)) != 0)
					return fail("the blob was not served",
					    c);
			} else if (span[i].off == SIZE_MAX ||
			    span[i].len != strlen(v) ||
			    memcmp(vals.data + span[i].off, v, strlen(v)) != 0)
				return fail("a packed value was not served", c);
		}
		if (cache_get_stats(c, &st) == -1 ||
		    st.cat[cat].lookups != 61 || st.cat[cat].hits != 50 ||
		    st.cat[cat].misses != 11)
			return fail("cache_get_many's statistics", c);
		buf_free(&vals);
	}
	cache_close(c);
	buf_free(&b);
	printf("t-cache: gc keeps live values, packs stay within twice the "
	    "bound (%lld bytes), damage is a miss, many at once as one at a "
	    "time\n", bytes);
	return 0;
}
