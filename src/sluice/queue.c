/*
 * queue.c: byte queues between a producer and a consumer that cannot
 * take the bytes now.  Up to QUEUE_MEM bytes (run.h) stay in memory;
 * beyond that the queue spills to an unlinked temporary file, so a slow
 * consumer costs disk, never a deadlock.  In keep mode nothing is discarded, so
 * a retried consumer can be fed the same bytes again (queue_rewind).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "run.h"
#include "spill.h"
#include "banned.h"


void
queue_init(struct queue *q, int keep)
{
	memset(q, 0, sizeof(*q));
	q->spill = -1;
	q->keep = keep;
}

void
queue_free(struct queue *q)
{
	buf_free(&q->mem);
	if (q->spill != -1)
		close(q->spill);
	q->spill = -1;
	q->spill_len = q->rd = 0;
}

void
queue_clear(struct queue *q)
{
	int	 keep = q->keep;

	queue_free(q);
	queue_init(q, keep);
}

int64_t
queue_pending(const struct queue *q)
{
	return q->spill_len + (int64_t)q->mem.len - q->rd;
}

static int
spill_open(void)
{
	const char *dir;
	int	 fd;

	if ((fd = spill_tmpfile(&dir)) == -1)
		err(EX_OSERR, "cannot create a spill file in '%s'", dir);
	return fd;
}

static void
spill_write(struct queue *q, const void *p, size_t n)
{
	const char *c = p;
	ssize_t	 w;

	if (q->spill == -1)
		q->spill = spill_open();
	while (n > 0) {
		w = pwrite(q->spill, c, n, q->spill_len);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			err(EX_OSERR, "spill file");
		}
		c += w;
		n -= (size_t)w;
		q->spill_len += w;
	}
}

void
queue_append(struct queue *q, const void *p, size_t n)
{
	q->total += (int64_t)n;
	if (q->mem.len + n <= QUEUE_MEM) {
		buf_add(&q->mem, p, n);
		return;
	}
	/* memory is full: everything in memory and the new bytes go to the
	 * end of the spill file, keeping the order */
	if (q->rd > q->spill_len) {
		/* part of mem was read: drop it first (not in keep mode) */
		size_t	 used = (size_t)(q->rd - q->spill_len);

		if (!q->keep) {
			memmove(q->mem.data, q->mem.data + used,
			    q->mem.len - used);
			q->mem.len -= used;
			q->rd = q->spill_len;
		}
	}
	spill_write(q, q->mem.data, q->mem.len);
	q->mem.len = 0;
	spill_write(q, p, n);
}

/* contiguous bytes at the read cursor: in mem, or read from the spill */
size_t
queue_peek(struct queue *q, const char **out, char *tmp, size_t tmpsz)
{
	ssize_t	 n;

	if (q->rd < q->spill_len) {
		size_t	 want = (size_t)(q->spill_len - q->rd);

		if (want > tmpsz)
			want = tmpsz;
		do
			n = pread(q->spill, tmp, want, q->rd);
		while (n == -1 && errno == EINTR);
		if (n <= 0)
			err(EX_OSERR, "spill file");
		*out = tmp;
		return (size_t)n;
	}
	*out = q->mem.data + (q->rd - q->spill_len);
	return (size_t)(q->spill_len + (int64_t)q->mem.len - q->rd);
}

void
queue_consume(struct queue *q, size_t n)
{
	size_t	 used;

	q->rd += (int64_t)n;
	if (q->keep)
		return;
	if (q->spill_len > 0 && q->rd >= q->spill_len) {
		/* the spill file is consumed: renumber onto mem */
		q->rd -= q->spill_len;
		q->spill_len = 0;
		if (ftruncate(q->spill, 0) == -1)
			err(EX_OSERR, "spill file");
	}
	if (q->spill_len == 0) {
		used = (size_t)q->rd;
		if (used == q->mem.len) {
			q->mem.len = 0;
			q->rd = 0;
		} else if (used > 65536 && used > q->mem.len / 2) {
			memmove(q->mem.data, q->mem.data + used,
			    q->mem.len - used);
			q->mem.len -= used;
			q->rd = 0;
		}
	}
}

void
queue_rewind(struct queue *q)
{
	q->rd = 0;
}
