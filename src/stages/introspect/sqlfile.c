/*
 * sqlfile.c: the rows of sqlite_schema read from a SQLite database
 * file by following its documented format (sqlite.org/fileformat2),
 * without libsqlite3, which would parse every CREATE statement of the
 * schema before answering the first query.  Exports sqlfile_schema().
 *
 * What is read: the 100-byte header (page size, reserved bytes, text
 * encoding, format numbers, page count), then the table b-tree rooted
 * at page 1, interior (0x05) and leaf (0x0D) pages, cells through the
 * cell pointer array, payloads that spill into overflow page chains
 * (the local part as the format computes it from the usable size),
 * and records (header of serial types, text, NULL and the integer
 * rootpage).  Limits, each giving -1 so that the caller asks
 * libsqlite3 instead: text other than UTF-8, a read version above 2,
 * a text column holding another type, anything out of place.  Every
 * offset is checked against the page's usable size, every page number
 * against the page count, every page is read at most once (a bitmap:
 * a cycle in the tree or an overflow chain is damage), the tree is at
 * most 20 levels deep (SQLite's own limit) and a payload at most
 * 10^9 bytes (SQLITE_MAX_LENGTH's default) and grows only as its
 * pages are read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spill.h"
#include "xalloc.h"
#include "introspect.h"
#include "sqlfile.h"
#include "banned.h"

#define MAXDEPTH	20
#define MAXPAYLOAD	1000000000u
#define PENDING_BYTE	0x40000000u	/* its page is never used */
#define SEENBLK		65536		/* pages per block of the bitmap */

struct rd {
	const struct sqlfile	*f;
	struct arena		*a;
	uint32_t		 psize, usable, npages, lockpage;
	unsigned char		**seen;		/* a bit per page read, in
						   blocks made when used */
	unsigned char		*buf[MAXDEPTH + 1];	/* a page per level */
	unsigned char		*ovfl;		/* an overflow page */
	unsigned char		*pay;		/* a payload that spills */
	size_t			 paycap;
	struct sqlrow		*rows;
	int			 n, cap;
	const char		*why;
};

static int
fail(struct rd *r, const char *why)
{
	if (r->why == NULL)
		r->why = why;
	return -1;
}

static uint32_t
be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* n bytes at off, all of them: 0, or -1 */
static int
readall(int fd, unsigned char *b, size_t n, uint64_t off)
{
	ssize_t	 k;

	while (n > 0) {
		k = pread(fd, b, n, (off_t)off);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/*
 * Page pgno, in memory or read into *slot: NULL (damage) if out of
 * range, the lock-byte page, or already read once.
 */
static const unsigned char *
page(struct rd *r, uint32_t pgno, unsigned char **slot)
{
	uint64_t	 off;
	uint32_t	 blk, bit;

	if (pgno < 1 || pgno > r->npages || pgno == r->lockpage) {
		(void)fail(r, "a page number beyond the file");
		return NULL;
	}
	blk = (pgno - 1) / SEENBLK;
	bit = (pgno - 1) % SEENBLK;
	if (r->seen[blk] == NULL)
		r->seen[blk] = xcalloc(SEENBLK / 8, 1);
	if (r->seen[blk][bit / 8] & (1u << (bit % 8))) {
		(void)fail(r, "a page reached twice (a cycle)");
		return NULL;
	}
	r->seen[blk][bit / 8] |= (unsigned char)(1u << (bit % 8));
	off = (uint64_t)(pgno - 1) * r->psize;
	if (r->f->mem != NULL)
		return r->f->mem + off;
	if (*slot == NULL)
		*slot = xmalloc(r->psize);
	if (readall(r->f->fd, *slot, r->psize, off) == -1) {
		(void)fail(r, "a page that cannot be read");
		return NULL;
	}
	return *slot;
}

/* a varint at p, before end: its length (1-9), or 0 if cut short */
static size_t
varint(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
	uint64_t	 x = 0;
	size_t		 i;

	for (i = 0; i < 8; i++) {
		if (p + i >= end)
			return 0;
		x = x << 7 | (p[i] & 0x7f);
		if ((p[i] & 0x80) == 0) {
			*v = x;
			return i + 1;
		}
	}
	if (p + 8 >= end)
		return 0;
	*v = x << 8 | p[8];
	return 9;
}

/* the length of a value of serial type t; -1 for the reserved 10, 11 */
static int64_t
serial_len(uint64_t t)
{
	static const int8_t	 len[12] = { 0, 1, 2, 3, 4, 6, 8, 8, 0, 0,
	    -1, -1 };

	if (t < 12)
		return len[t];
	return (int64_t)((t - 12) / 2);
}

/* a record of sqlite_schema: type, name, tbl_name, rootpage, sql */
static int
record(struct rd *r, const unsigned char *p, size_t n)
{
	const unsigned char	*end = p + n, *h, *hend, *body;
	const char		*v[5] = { NULL, NULL, NULL, NULL, NULL };
	size_t			 sqloff = 0, sqllen = 0;
	int			 spilled = 0, virt = 0;
	uint64_t		 hs, t;
	int64_t			 len;
	size_t			 k;
	int			 i;

	if ((k = varint(p, end, &hs)) == 0 || hs < k || hs > n)
		return fail(r, "a record header beyond its payload");
	h = p + k;
	hend = body = p + hs;
	for (i = 0; h < hend && i < 5; i++) {
		if ((k = varint(h, hend, &t)) == 0)
			return fail(r, "a record header cut short");
		h += k;
		if ((len = serial_len(t)) < 0 || len > end - body)
			return fail(r, "a record value beyond its payload");
		if (i != 3 && t != 0) {
			if (t < 13 || t % 2 == 0)
				return fail(r, "a schema value that is not text");
			if (i == 4 && r->f->text != NULL) {
				sqloff = spill_add(r->f->text, body,
				    (size_t)len);
				sqllen = (size_t)len;
				spilled = 1;
				virt = r->f->virt((const char *)body,
				    (size_t)len);
			} else
				v[i] = arena_strndup(r->a, (const char *)body,
				    (size_t)len);
		}
		body += len;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->rows = xreallocarray(r->rows, (size_t)r->cap,
		    sizeof(*r->rows));
	}
	r->rows[r->n].type = v[0];
	r->rows[r->n].name = v[1];
	r->rows[r->n].tbl = v[2];
	r->rows[r->n].sql = v[4];
	r->rows[r->n].sqloff = sqloff;
	r->rows[r->n].sqllen = sqllen;
	r->rows[r->n].spilled = spilled;
	r->rows[r->n].virt = virt;
	r->n++;
	return 0;
}

/*
 * A leaf cell: payload length, rowid, the local part of the payload,
 * then the first overflow page if it spills.  The local part is as
 * the format says for table leaves: all of it up to X = U - 35; else
 * K = M + (P - M) % (U - 4) if that is at most X, else M, where
 * M = (U - 12) * 32 / 255 - 23.
 */
static int
leaf_cell(struct rd *r, const unsigned char *pg, uint32_t off)
{
	const unsigned char	*p = pg + off, *end = pg + r->usable, *ov;
	uint64_t		 plen, rowid, x, m, local, got, k;
	uint32_t		 next;
	size_t			 len;

	if ((len = varint(p, end, &plen)) == 0)
		return fail(r, "a cell beyond its page");
	p += len;
	if ((len = varint(p, end, &rowid)) == 0)
		return fail(r, "a cell beyond its page");
	p += len;
	if (plen > MAXPAYLOAD)
		return fail(r, "a payload longer than 10^9 bytes");
	x = r->usable - 35;
	m = (r->usable - 12) * 32 / 255 - 23;
	if (plen <= x)
		local = plen;
	else {
		k = m + (plen - m) % (r->usable - 4);
		local = k <= x ? k : m;
	}
	if (local > (uint64_t)(end - p) ||
	    (plen > local && (uint64_t)(end - p) - local < 4))
		return fail(r, "a cell beyond its page");
	if (plen == local)
		return record(r, p, (size_t)plen);
	if (r->paycap < local) {
		r->paycap = (size_t)local;
		r->pay = xreallocarray(r->pay, r->paycap, 1);
	}
	memcpy(r->pay, p, (size_t)local);
	next = be32(p + local);
	for (got = local; got < plen; got += k) {
		if ((ov = page(r, next, &r->ovfl)) == NULL)
			return -1;
		k = plen - got < r->usable - 4 ? plen - got : r->usable - 4;
		if (r->paycap < got + k) {
			r->paycap = r->paycap * 2 > got + k ?
			    r->paycap * 2 : (size_t)(got + k);
			if (r->paycap > plen)
				r->paycap = (size_t)plen;
			r->pay = xreallocarray(r->pay, r->paycap, 1);
		}
		memcpy(r->pay + got, ov + 4, (size_t)k);
		next = be32(ov);
	}
	return record(r, r->pay, (size_t)plen);
}

/* the table b-tree at pgno, its cells in key (rowid) order */
static int
walk(struct rd *r, uint32_t pgno, int depth)
{
	const unsigned char	*pg, *h;
	uint32_t		 hoff = pgno == 1 ? 100 : 0, hsz, ncell, i;
	uint32_t		 first, off;

	if (depth > MAXDEPTH)
		return fail(r, "a b-tree deeper than 20 levels");
	if ((pg = page(r, pgno, &r->buf[depth])) == NULL)
		return -1;
	h = pg + hoff;
	if (h[0] == 0x0D)
		hsz = 8;
	else if (h[0] == 0x05)
		hsz = 12;
	else
		return fail(r, "not a table b-tree page");
	ncell = be16(h + 3);
	first = hoff + hsz + 2 * ncell;
	if (first > r->usable)
		return fail(r, "cell pointers beyond their page");
	for (i = 0; i < ncell; i++) {
		off = be16(h + hsz + 2 * i);
		if (off < first || off >= r->usable)
			return fail(r, "a cell offset beyond its page");
		if (h[0] == 0x0D) {
			if (leaf_cell(r, pg, off) == -1)
				return -1;
			continue;
		}
		if (off + 4 > r->usable)
			return fail(r, "a cell beyond its page");
		if (walk(r, be32(pg + off), depth + 1) == -1)
			return -1;
	}
	if (h[0] == 0x05 && walk(r, be32(h + 8), depth + 1) == -1)
		return -1;
	return 0;
}

/* the header: 0 if this reader can read the file, else -1 */
static int
header(struct rd *r, const unsigned char *h, uint64_t len)
{
	uint32_t	 psize, pages, filepages;

	if (memcmp(h, "SQLite format 3", 16) != 0)
		return fail(r, "no SQLite header");
	psize = be16(h + 16);
	if (psize == 1)
		psize = 65536;
	if (psize < 512 || (psize & (psize - 1)) != 0)
		return fail(r, "a page size that is not a power of two "
		    "from 512 to 65536");
	if (h[18] < 1 || h[19] < 1 || h[19] > 2)
		return fail(r, "a file format version other than 1 or 2");
	if (psize - h[20] < 480)
		return fail(r, "a usable page size under 480 bytes");
	if (memcmp(h + 21, "\100\040\040", 3) != 0)
		return fail(r, "payload fractions other than 64, 32, 32");
	if (be32(h + 44) > 4)
		return fail(r, "a schema format above 4");
	/* as SQLite reads it: the low 2 bits, 0 (not set yet) is UTF-8 */
	if ((be32(h + 56) & 3) > 1)
		return fail(r, "a text encoding other than UTF-8");
	r->psize = psize;
	r->usable = psize - h[20];
	/* the page count in the header if valid (SQLite's rule) */
	filepages = len / psize > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(len / psize);
	pages = be32(h + 28);
	if (pages == 0 || be32(h + 24) != be32(h + 92) || pages > filepages)
		pages = filepages;
	if (pages == 0)
		return fail(r, "no page");
	r->npages = pages;
	r->lockpage = PENDING_BYTE / psize + 1;
	return 0;
}

int
sqlfile_schema(const struct sqlfile *f, struct arena *a,
    struct sqlrow **rows, const char **why)
{
	struct rd		 r;
	unsigned char		 hb[100];
	const unsigned char	*h = f->mem;
	int			 i, rc;

	memset(&r, 0, sizeof(r));
	r.f = f;
	r.a = a;
	*rows = NULL;
	if (f->len < 100)
		rc = fail(&r, "no 100-byte header");
	else if (h == NULL && readall(f->fd, hb, sizeof(hb), 0) == -1)
		rc = fail(&r, "a header that cannot be read");
	else
		rc = header(&r, h != NULL ? h : hb, f->len);
	if (rc == 0) {
		r.seen = xcalloc((size_t)r.npages / SEENBLK + 1,
		    sizeof(*r.seen));
		rc = walk(&r, 1, 0);
	}
	for (i = 0; i <= MAXDEPTH; i++)
		free(r.buf[i]);
	free(r.ovfl);
	free(r.pay);
	for (i = 0; r.seen != NULL && i <= (int)(r.npages / SEENBLK); i++)
		free(r.seen[i]);
	free(r.seen);
	*why = r.why;
	if (rc == -1) {
		free(r.rows);
		return -1;
	}
	*rows = r.rows;
	return r.n;
}
