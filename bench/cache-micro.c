/*
 * bench/cache-micro.c: the cost of one operation of the sluice cache
 * (src/lib/cache.h), used by bench/cache.sh, which compiles it against
 * src/lib/libsluice.a into bench/out/.
 *
 *   cache-micro DIR SIZE...
 *
 * DIR must not exist or be an empty cache directory; the index capacity
 * comes from SLUICE_CACHE_SLOTS (set by the caller, large enough for the
 * largest SIZE at the 3/4 load bound).  Measures, timing every call on
 * its own with CLOCK_MONOTONIC:
 *
 *   store   cache_store_buf of a new 256-byte result: digest, append to
 *           the current pack, index entry (NSTORE times)
 *   fill    cache_store_fd of entries that share one blob: the index
 *           work of a store alone, used to grow the index to each SIZE
 *   hit     cache_lookup of a random stored key (index only)
 *   miss    cache_lookup of a random absent key
 *   get     cache_get_buf of a random key with its own value: lookup,
 *           read from its pack and verify the value's digest
 *
 * Output, one line per figure, for the script to parse:
 *   NAME ENTRIES N MEDIAN_US P90_US P99_US MEAN_US
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "digest.h"

#define NSTORE	2000		/* entries with a blob of their own */
#define NPROBE	20000		/* timed lookups per size and kind */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* key number i; absent keys use another prefix */
static void
key(uint64_t i, int absent, struct digest *d)
{
	char	 b[16];

	memcpy(b, absent ? "absentk" : "presentk", 8);
	memcpy(b + 8, &i, 8);
	digest_buf(b, sizeof(b), d);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
report(const char *name, uint64_t entries, int64_t *t, size_t n)
{
	double	 sum = 0;
	size_t	 i;

	qsort(t, n, sizeof(*t), cmp64);
	for (i = 0; i < n; i++)
		sum += (double)t[i];
	printf("%s %llu %zu %.3f %.3f %.3f %.3f\n", name,
	    (unsigned long long)entries, n, t[n / 2] / 1e3,
	    t[n * 9 / 10] / 1e3, t[n * 99 / 100] / 1e3, sum / n / 1e3);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct cache *c;
	struct cache_hit hit;
	struct digest d, blob;
	struct buf out = { 0 };
	char	 rec[256];
	int64_t	*t, t0;
	uint64_t have = 0, want, i;
	int	 unsafe, cat, fd, a;

	if (argc < 3)
		errx(64, "usage: cache-micro dir size...");
	c = cache_open(argv[1], 0, &unsafe);
	if (cache_error(c)[0] != '\0')
		errx(1, "%s", cache_error(c));
	if ((cat = cache_category(c, "micro", 0, 0)) == -1)
		errx(1, "%s", cache_error(c));
	t = calloc(NPROBE > NSTORE ? NPROBE : NSTORE, sizeof(*t));
	if (t == NULL)
		err(1, "calloc");

	/* stores of new results, each with its own blob */
	for (i = 0; i < NSTORE; i++) {
		memset(rec, 'a' + (int)(i % 26), sizeof(rec));
		snprintf(rec, sizeof(rec), "{\"record\":%llu,\"ts\":\"",
		    (unsigned long long)i);
		rec[strlen(rec)] = 'x';
		key(i, 0, &d);
		t0 = now_ns();
		if (cache_store_buf(c, cat, &d, rec, sizeof(rec), 1000) == -1)
			errx(1, "store: %s", cache_error(c));
		t[i] = now_ns() - t0;
	}
	have = NSTORE;
	report("store", have, t, NSTORE);

	/* one shared blob for the entries that only fill the index */
	if ((fd = cache_tmpfile(c)) == -1)
		errx(1, "%s", cache_error(c));
	memset(rec, 'f', sizeof(rec));
	if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		err(1, "write");
	digest_buf(rec, sizeof(rec), &blob);

	for (a = 2; a < argc; a++) {
		want = strtoull(argv[a], NULL, 10);
		if (want > have) {
			uint64_t n0 = have;

			t0 = now_ns();
			for (; have < want; have++) {
				key(have, 0, &d);
				if (cache_store_fd(c, cat, &d, fd, sizeof(rec),
				    &blob, 1000) == -1)
					errx(1, "fill at %llu: %s",
					    (unsigned long long)have,
					    cache_error(c));
			}
			printf("fill %llu %llu %.3f %.3f %.3f %.3f\n",
			    (unsigned long long)have,
			    (unsigned long long)(have - n0),
			    (now_ns() - t0) / 1e3 / (double)(have - n0),
			    0.0, 0.0,
			    (now_ns() - t0) / 1e3 / (double)(have - n0));
			fflush(stdout);
		}
		for (i = 0; i < NPROBE; i++) {
			key(rnd() % have, 0, &d);
			t0 = now_ns();
			if (cache_lookup(c, cat, &d, &hit) != 1)
				errx(1, "lookup: a stored key missed");
			t[i] = now_ns() - t0;
		}
		report("hit", have, t, NPROBE);
		for (i = 0; i < NPROBE; i++) {
			key(rnd(), 1, &d);
			t0 = now_ns();
			if (cache_lookup(c, cat, &d, &hit) != 0)
				errx(1, "lookup: an absent key hit");
			t[i] = now_ns() - t0;
		}
		report("miss", have, t, NPROBE);
		for (i = 0; i < NPROBE; i++) {
			key(rnd() % NSTORE, 0, &d);
			t0 = now_ns();
			if (cache_get_buf(c, cat, &d, &out) != 1)
				errx(1, "get: a stored key missed: %s",
				    cache_error(c));
			t[i] = now_ns() - t0;
		}
		report("get", have, t, NPROBE);
	}
	close(fd);
	buf_free(&out);
	free(t);
	cache_close(c);
	return 0;
}
