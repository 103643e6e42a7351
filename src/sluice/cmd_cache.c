/*
 * cmd_cache.c: `sluice cache stats|clear|gc|verify|preload`: inspect and
 * manage the shared cache (src/lib/cache.c, sluice-cache(5)).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "cmd.h"
#include "json.h"
#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

static struct cache *
open_or_die(const char *dir)
{
	struct cache *c;
	int	 unsafe;

	c = cache_open(dir, 0, &unsafe);
	if (cache_error(c)[0] != '\0')
		errx(unsafe ? EX_NOPERM : EX_OSERR, "%s", cache_error(c));
	return c;
}

static void
print_stats(const char *dir, const struct cache_stats *s, int json)
{
	uint32_t i;
	char	 a[32], b[32];

	if (json) {
		struct buf out = { 0 };
		struct jw w;

		jw_init(&w, &out);
		jw_obj(&w);
		jw_key(&w, "dir");
		jw_str(&w, dir);
		jw_key(&w, "slots");
		jw_uint(&w, s->capacity);
		jw_key(&w, "entries");
		jw_uint(&w, s->entries);
		jw_key(&w, "bytes");
		jw_uint(&w, s->bytes);
		jw_key(&w, "max_bytes");
		jw_uint(&w, s->max_bytes);
		jw_key(&w, "categories");
		jw_arr(&w);
		for (i = 0; i < s->ncat; i++) {
			const struct cache_catstats *k = &s->cat[i];

			jw_obj(&w);
			jw_key(&w, "name");
			jw_str(&w, k->name);
			jw_key(&w, "entries");
			jw_uint(&w, k->entries);
			jw_key(&w, "bytes");
			jw_uint(&w, k->bytes);
			jw_key(&w, "lookups");
			jw_uint(&w, k->lookups);
			jw_key(&w, "hits");
			jw_uint(&w, k->hits);
			jw_key(&w, "misses");
			jw_uint(&w, k->misses);
			jw_key(&w, "hit_rate");
			jw_double(&w, k->lookups > 0 ? (double)k->hits /
			    (double)k->lookups : 0);
			jw_key(&w, "stores");
			jw_uint(&w, k->stores);
			jw_key(&w, "evictions");
			jw_uint(&w, k->evictions);
			jw_key(&w, "expired");
			jw_uint(&w, k->expired);
			jw_key(&w, "bytes_saved");
			jw_uint(&w, k->bytes_saved);
			jw_key(&w, "time_saved_ms");
			jw_uint(&w, k->time_saved_ns / 1000000);
			jw_key(&w, "ttl_s");
			jw_int(&w, k->ttl_ns / 1000000000);
			jw_key(&w, "share");
			jw_double(&w, k->share / 1000.0);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		buf_addc(&out, '\n');
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		return;
	}
	fmt_size((int64_t)s->bytes, a, sizeof(a));
	fmt_size((int64_t)s->max_bytes, b, sizeof(b));
	printf("cache %s: %llu entries, %s of %s, %llu slots\n", dir,
	    (unsigned long long)s->entries, a, b,
	    (unsigned long long)s->capacity);
	if (s->ncat == 0)
		return;
	printf("%-16s %7s %8s %8s %7s %7s %6s %7s %7s %8s %10s\n", "CATEGORY",
	    "ENTRIES", "BYTES", "LOOKUPS", "HITS", "MISSES", "RATE", "STORES",
	    "EVICTED", "SAVED", "TIME SAVED");
	for (i = 0; i < s->ncat; i++) {
		const struct cache_catstats *k = &s->cat[i];
		char	 by[32], sv[32], ts[32];

		fmt_size((int64_t)k->bytes, by, sizeof(by));
		fmt_size((int64_t)k->bytes_saved, sv, sizeof(sv));
		fmt_duration((int64_t)k->time_saved_ns, ts, sizeof(ts));
		printf("%-16s %7llu %8s %8llu %7llu %7llu %5.0f%% %7llu %7llu "
		    "%8s %10s\n", k->name, (unsigned long long)k->entries, by,
		    (unsigned long long)k->lookups,
		    (unsigned long long)k->hits,
		    (unsigned long long)k->misses,
		    k->lookups > 0 ? 100.0 * (double)k->hits /
		    (double)k->lookups : 0.0, (unsigned long long)k->stores,
		    (unsigned long long)k->evictions, sv, ts);
	}
}

int
cmd_cache(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct cache_stats st;
	struct cache *c;
	const char *dir = NULL, *sub;
	int	 ch, json = 0, rc = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			if (*optarg == '\0')
				errx(EX_USAGE, "--cache-dir: an empty path");
			dir = optarg;
			break;
		case 'J':
			json = 1;
			break;
		case 'U':
			cmd_usage(argv[0]);
		default:
			cmd_badopt(argv[0], argv, ch);
		}
	}
	if (optind >= argc)
		cmd_usage(argv[0]);
	sub = argv[optind++];
	if (strcmp(sub, "preload") == 0)
		return cmd_run_preload(argc - optind + 1, argv + optind - 1,
		    dir);
	if (dir == NULL)
		dir = cache_dir_default();
	if (strcmp(sub, "stats") == 0 && optind == argc) {
		c = open_or_die(dir);
		if (cache_get_stats(c, &st) == -1)
			errx(EX_OSERR, "%s", cache_error(c));
		print_stats(dir, &st, json);
	} else if (strcmp(sub, "clear") == 0 && argc - optind <= 1) {
		c = open_or_die(dir);
		if (cache_clear(c, optind < argc ? argv[optind] : NULL) == -1)
			errx(EX_OSERR, "%s", cache_error(c));
		printf("cleared %s%s%s\n", optind < argc ? "category '" : "",
		    optind < argc ? argv[optind] : "the cache",
		    optind < argc ? "'" : "");
	} else if (strcmp(sub, "gc") == 0 && optind == argc) {
		uint64_t exp, rem;

		c = open_or_die(dir);
		if (cache_gc(c, &exp, &rem) == -1)
			errx(EX_OSERR, "%s", cache_error(c));
		printf("gc: %llu expired, %llu unreferenced files removed\n",
		    (unsigned long long)exp, (unsigned long long)rem);
	} else if (strcmp(sub, "verify") == 0 && optind == argc) {
		uint64_t checked, bad;

		c = open_or_die(dir);
		if (cache_verify(c, 1, &checked, &bad) == -1)
			errx(EX_OSERR, "%s", cache_error(c));
		printf("verify: %llu entries checked, %llu corrupt%s\n",
		    (unsigned long long)checked, (unsigned long long)bad,
		    bad > 0 ? " (removed)" : "");
		rc = bad > 0 ? 1 : 0;
	} else
		cmd_usage(argv[0]);
	cache_close(c);
	return rc;
}
