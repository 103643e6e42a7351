/* digest.c: XXH3-128 content digests; see digest.h. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <xxhash.h>

#include "digest.h"
#include "banned.h"

void
digest_buf(const void *p, size_t n, struct digest *d)
{
	XXH128_hash_t h = XXH3_128bits(p, n);

	d->hi = h.high64;
	d->lo = h.low64;
}

void
digest_begin(struct digest_ctx *c)
{
	if ((c->state = XXH3_createState()) == NULL)
		errx(EX_OSERR, "out of memory");
	XXH3_128bits_reset(c->state);
}

void
digest_add(struct digest_ctx *c, const void *p, size_t n)
{
	XXH3_128bits_update(c->state, p, n);
}

void
digest_adds(struct digest_ctx *c, const char *s)
{
	digest_add(c, s, strlen(s) + 1);
}

void
digest_end(struct digest_ctx *c, struct digest *d)
{
	XXH128_hash_t h = XXH3_128bits_digest(c->state);

	d->hi = h.high64;
	d->lo = h.low64;
	XXH3_freeState(c->state);
	c->state = NULL;
}

int
digest_file(const char *path, struct digest *d)
{
	struct digest_ctx c;
	char	 b[65536];
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	digest_begin(&c);
	while ((n = read(fd, b, sizeof(b))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			digest_end(&c, d);
			close(fd);
			errno = saved;
			return -1;
		}
		digest_add(&c, b, (size_t)n);
	}
	close(fd);
	digest_end(&c, d);
	return 0;
}

void
digest_hex(const struct digest *d, char out[DIGEST_HEXLEN])
{
	snprintf(out, DIGEST_HEXLEN, "%016llx%016llx",
	    (unsigned long long)d->hi, (unsigned long long)d->lo);
}

int
digest_parse(const char *s, struct digest *d)
{
	uint64_t v[2] = { 0, 0 };
	int	 i;

	if (strlen(s) != 32)
		return -1;
	for (i = 0; i < 32; i++) {
		int c = s[i], x;

		if (c >= '0' && c <= '9')
			x = c - '0';
		else if (c >= 'a' && c <= 'f')
			x = c - 'a' + 10;
		else
			return -1;
		v[i / 16] = v[i / 16] << 4 | (uint64_t)x;
	}
	d->hi = v[0];
	d->lo = v[1];
	return 0;
}
