/*
 * t-cache: the packs of small values in the cache (src/lib/cache.c),
 * through its API, in a fresh directory:
 *   1. gc moves the live values out of a mostly unused pack while the
 *      current pack has no live value: they stay readable;
 *   2. a cache under a small size bound keeps its packs near the bound
 *      however much goes through it;
 *   3. a value damaged in its pack is a miss, never other bytes.
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
	buf_free(&b);
	printf("t-cache: gc keeps live values, packs stay within twice the "
	    "bound (%lld bytes), damage is a miss\n", bytes);
	return 0;
}
