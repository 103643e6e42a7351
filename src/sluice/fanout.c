/*
 * fanout.c: moving bytes from a producer's stdout to its consumers'
 * ports (fan-out) and from a port's producers, in order, to the
 * consumer (fan-in, and sluice's stdout in sink order).
 *
 * One slow consumer never stalls the others for long (dgsh's lesson):
 * while every outlet keeps up, bytes go by tee(2)/splice(2) without a
 * copy into user space, and a reader that is briefly behind holds the
 * producer in its own pipe (bounded by the pipe's size); a reader that
 * stops for STALL_NS, or a segment that is not yet its port's turn,
 * gets its own queue (memory, then a spill file).  Plain one-to-one
 * pipes never come here: the producer writes into the consumer's pipe
 * itself.
 * Linux-only calls (tee, splice, FIONREAD) live in this file.
 */
#include <sys/ioctl.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "run.h"
#include "stagecache.h"
#include "util.h"
#include "banned.h"

#define PUMP_MAX	(1 << 20)	/* bytes per call, then poll again */
#define STALL_NS	100000000LL	/* a reader STALL_BYTES behind (run.h)
					   that read in the last 100ms */

static struct rport *
outlet_port(struct engine *E, const struct rstage *P, size_t i,
    struct seg **segp)
{
	const struct outlet *o = &P->outlets[i];
	struct rport *pt;

	if (o->stage == -1)
		pt = &E->out;
	else
		pt = &E->rs[o->stage].ports[o->port];
	*segp = &pt->segs[o->seg];
	return pt;
}

/* sinks write to sluice's stdout: their outlet is E->out, segment k */
static size_t
noutlets(const struct rstage *P)
{
	return P->noutlets;
}

/* can bytes go straight into this outlet's pipe now?  Not if its
 * reader stopped reading with its pipe full: it gets a queue */
static int
outlet_fast(const struct rstage *P, struct rport *pt, const struct seg *sg,
    int64_t now)
{
	if (P->hold || pt->w == -1 || pt->closed || !pt->is_pipe ||
	    &pt->segs[pt->cur] != sg || queue_pending(&sg->q) != 0 ||
	    sg->q.keep)
		return 0;
	if (pt->full && sg->ahead == 0 && now - pt->progress_ns >= STALL_NS) {
		pt->full = 0;
		return 0;
	}
	return 1;
}

/* bytes that reached a consumer's input */
static void
count_in(struct engine *E, struct rport *pt, ssize_t n)
{
	if (n <= 0)
		return;
	if (pt->owner >= 0)
		E->rs[pt->owner].in_bytes += n;
	pt->progress_ns = mono_ns();
}

/*
 * Backpressure, bounded: while a reader that keeps reading is more than
 * STALL_BYTES behind, the producer is not read, so its bytes wait in
 * the pipe instead of being copied to memory and spilled.  A reader
 * that stops reading for STALL_NS no longer holds anyone back: its
 * bytes are queued and spilled, and the others go on (no deadlock).
 * Returns 0, or when to look again (monotonic ns).
 */
int64_t
fanout_stalled(struct engine *E, struct rstage *P, int64_t now)
{
	size_t	 i;
	struct seg *sg;

	for (i = 0; i < noutlets(P); i++) {
		struct rport *pt = outlet_port(E, P, i, &sg);

		/* its pipe was full at a tee: the producer waits for it */
		if (pt->full && pt->w != -1 && !pt->closed &&
		    &pt->segs[pt->cur] == sg &&
		    now - pt->progress_ns < STALL_NS)
			return pt->progress_ns + STALL_NS;
		if (pt->w == -1 || pt->closed || pt->is_stdout ||
		    &pt->segs[pt->cur] != sg || sg->q.keep ||
		    queue_pending(&sg->q) < STALL_BYTES)
			continue;
		if (now - pt->progress_ns < STALL_NS)
			return pt->progress_ns + STALL_NS;
	}
	return 0;
}

static int
outlet_open(const struct rport *pt)
{
	return !pt->closed;
}

void
fanout_port_close(struct engine *E, struct rport *pt)
{
	size_t	 i;

	if (pt->w != -1 && !pt->is_stdout)
		close(pt->w);
	pt->w = -1;
	pt->closed = 1;
	pt->full = 0;
	for (i = 0; i < pt->nseg; i++)
		queue_free(&pt->segs[i].q);
}

/* the port's current segment is finished: move on, close at the end */
static void
port_advance(struct engine *E, struct rport *pt)
{
	while (pt->cur < pt->nseg && pt->segs[pt->cur].eof &&
	    queue_pending(&pt->segs[pt->cur].q) == 0)
		pt->cur++;
	if (pt->cur == pt->nseg && pt->w != -1) {
		if (!pt->is_stdout)
			close(pt->w);
		pt->w = -1;
	}
}

int
fanout_port_wants_out(const struct rport *pt)
{
	return pt->w != -1 && !pt->closed && pt->cur < pt->nseg &&
	    (pt->full || queue_pending(&pt->segs[pt->cur].q) > 0);
}

/* write what the current segment has queued; called on POLLOUT */
void
fanout_port_write(struct engine *E, struct rport *pt)
{
	size_t	 moved = 0;

	if (pt->full) {
		pt->full = 0;	/* room again: its producer may go on */
		pt->progress_ns = mono_ns();
	}
	while (fanout_port_wants_out(pt) && moved < PUMP_MAX) {
		struct seg *sg = &pt->segs[pt->cur];
		const char *p;
		size_t	 n;
		ssize_t	 w;

		n = queue_peek(&sg->q, &p, E->iobuf, sizeof(E->iobuf));
		if (pt->is_stdout && pt->is_pipe && n > PIPE_BUF)
			n = PIPE_BUF;	/* blocking fd: one POLLOUT's worth */
		w = write(pt->w, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			if (errno == EPIPE) {
				fanout_port_close(E, pt);
				return;
			}
			err(EX_OSERR, "write to a stage");
		}
		queue_consume(&sg->q, (size_t)w);
		moved += (size_t)w;
		count_in(E, pt, w);
		if (pt->is_stdout && pt->is_pipe)
			break;
		if (queue_pending(&sg->q) == 0 && sg->eof)
			port_advance(E, pt);
	}
	port_advance(E, pt);
}

/* copy n bytes to an outlet: straight into its pipe if its turn, else
 * into its queue */
static void
outlet_put(struct engine *E, struct rstage *P, struct rport *pt,
    struct seg *sg, const char *p, size_t n)
{
	ssize_t	 w = 0;
	size_t	 skip;

	if (!outlet_open(pt))
		return;
	/* the front bytes it already has by tee */
	skip = sg->ahead > 0 && (size_t)sg->ahead < n ? (size_t)sg->ahead :
	    sg->ahead > 0 ? n : 0;
	sg->ahead -= (int64_t)skip;
	p += skip;
	n -= skip;
	if (n == 0)
		return;
	if (!P->hold && pt->w != -1 && &pt->segs[pt->cur] == sg &&
	    queue_pending(&sg->q) == 0 && !(pt->is_stdout && pt->is_pipe)) {
		do
			w = write(pt->w, p, n);
		while (w == -1 && errno == EINTR);
		if (w == -1) {
			if (errno == EPIPE) {
				fanout_port_close(E, pt);
				return;
			}
			if (errno != EAGAIN)
				err(EX_OSERR, "write to a stage");
			w = 0;
		}
		count_in(E, pt, w);
		if (sg->q.keep) {	/* a retried consumer replays it */
			queue_append(&sg->q, p, (size_t)w);
			queue_consume(&sg->q, (size_t)w);
		}
	}
	if ((size_t)w < n)
		queue_append(&sg->q, p + w, n - (size_t)w);
}

/* all outlets closed by their readers: let the producer see EPIPE */
static int
all_closed(struct engine *E, struct rstage *P)
{
	size_t	 i;
	struct seg *sg;

	for (i = 0; i < noutlets(P); i++)
		if (outlet_open(outlet_port(E, P, i, &sg)))
			return 0;
	return 1;
}

/*
 * Zero-copy: tee(2) the front of the producer's pipe into each outlet
 * that keeps up, then drop from it what every one of them has (splice
 * to /dev/null, or read(2) when sluice must see the bytes: a digest or
 * a capture for the cache; a copy in, none out).  An outlet whose pipe
 * took less is "ahead" by what it took: those bytes stay in the
 * producer's pipe until the others have them too (tee always starts at
 * the front), so nothing is copied and the producer waits in its own
 * pipe, bounded by its size.  An outlet whose pipe is full holds the
 * producer (fanout_stalled) until it drains (POLLOUT), or until its
 * reader stops for STALL_NS: then it is served from a queue like the
 * slow ones.  Returns the bytes taken from the producer's pipe
 * (*drained: all it held); 0: take the copy path; -1 at EOF; -2: wait
 * for a reader.
 */
static ssize_t
pump_zero_copy(struct engine *E, struct rstage *P, int *drained)
{
	struct rport *fast[64], *slow[64];
	struct seg *fastseg[64], *slowseg[64];
	ssize_t	 m, n, most = -1, done;
	struct seg *sg;
	size_t	 i, k, nfast = 0, nslow = 0, nout = noutlets(P);
	int	 avail = 0, behind = 0, seen;
	int64_t	 now = mono_ns();

	*drained = 0;
	if (P->hold || P->defer)
		return 0;	/* its bytes wait: the copy path */
	seen = P->hash_out || P->capture != -1;
	for (i = 0; i < nout; i++) {
		struct rport *pt = outlet_port(E, P, i, &sg);

		if (!outlet_open(pt))
			continue;
		if (nfast == 64 || nslow == 64)
			return 0;
		if (outlet_fast(P, pt, sg, now)) {
			fastseg[nfast] = sg;
			fast[nfast++] = pt;
		} else {
			slowseg[nslow] = sg;
			slow[nslow++] = pt;
		}
	}
	if (nfast == 0)
		return 0;
	if (nfast == 1 && nslow == 0 && fastseg[0]->ahead == 0 && !seen) {
		n = splice(P->out_r, NULL, fast[0]->w, NULL, PUMP_MAX,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == 0)
			return -1;
		if (n > 0) {
			count_in(E, fast[0], n);
			return n;
		}
		if (errno == EPIPE)
			fanout_port_close(E, fast[0]);
		return 0;	/* full, or no data: take the copy path */
	}
	if (!P->out_is_pipe || ioctl(P->out_r, FIONREAD, &avail) == -1 ||
	    avail <= 0)
		return 0;	/* EOF or unknown: the copy path tells */
	if (avail > PUMP_MAX)
		avail = PUMP_MAX;
	/* a copy for those behind at most STALL_BYTES at a time: with the
	 * STALL_BYTES a queue may hold before the producer waits, it stays
	 * within QUEUE_MEM, in memory */
	if (nslow > 0 && avail > STALL_BYTES)
		avail = STALL_BYTES;
	/* the outlets at the front take what they can */
	for (i = 0; i < nfast; i++) {
		if (fastseg[i]->ahead == 0) {
			m = tee(P->out_r, fast[i]->w, (size_t)avail,
			    SPLICE_F_NONBLOCK);
			if (m == -1 && errno == EPIPE) {
				fanout_port_close(E, fast[i]);
				continue;
			}
			if (m == -1 && errno != EAGAIN)
				err(EX_OSERR, "tee");
			if (m <= 0) {
				fast[i]->full = 1;
				behind = 1;
				m = 0;
			}
			count_in(E, fast[i], m);
			fastseg[i]->ahead = m;
		}
		if (most == -1 || fastseg[i]->ahead < most)
			most = fastseg[i]->ahead;
	}
	if (most <= 0)
		/* nobody open is left at the front, or one is full */
		return most == -1 ? 0 : behind ? -2 : 0;
	/* every fast outlet has the first `most' bytes: the slow ones get
	 * a copy, and the digest and capture see them (one copy into
	 * sluice, none out to the fast ones), then they leave the
	 * producer's pipe */
	if (nslow == 0 && !seen) {
		n = splice(P->out_r, NULL, E->devnull, NULL, (size_t)most,
		    SPLICE_F_MOVE);
		if (n != most)
			err(EX_OSERR, "splice to /dev/null");
	} else
		for (done = 0; done < most; done += n) {
			n = read(P->out_r, E->iobuf, (size_t)(most - done) >
			    sizeof(E->iobuf) ? sizeof(E->iobuf) :
			    (size_t)(most - done));
			if (n <= 0)
				err(EX_OSERR, "read from a stage");
			if (seen)
				scache_out(E, P, E->iobuf, (size_t)n);
			for (k = 0; k < nslow; k++)
				outlet_put(E, P, slow[k], slowseg[k], E->iobuf,
				    (size_t)n);
		}
	for (i = 0; i < nfast; i++)
		fastseg[i]->ahead -= most;
	*drained = most == avail;
	return most;
}

/*
 * A producer whose output is a file (a cache hit, a deferred stage's
 * capture read back) needs no queue: each outlet reads the file at its
 * own offset, with splice(2) into its pipe, when it is its turn and
 * its pipe has room (and its reader has started); meanwhile the file
 * waits.  (Through the copy path, what did not fit went into queues in
 * memory: a warm run of the example read both blobs for write, 2.4 MB,
 * into queues, and write, its stamp holding, read none of it.)  Not for
 * an outlet to sluice's stdout, one kept for a retried reader, nor a
 * producer whose bytes sluice must see: decided before the first byte
 * of each out_r moves (a deferred stage's pipe is not replayed, the
 * capture that takes its place once it ends is: each change of out_r
 * sets fileplay back to 0).
 */
static int
file_replay(struct engine *E, struct rstage *P)
{
	struct seg *sg;
	off_t	 at;
	size_t	 i;

	if (P->fileplay != 0)
		return P->fileplay == 1;
	P->fileplay = -1;
	if (P->out_is_pipe || P->hold || P->hash_out || P->defer ||
	    P->capture != -1 || (at = lseek(P->out_r, 0, SEEK_CUR)) == -1)
		return 0;
	for (i = 0; i < noutlets(P); i++) {
		struct rport *pt = outlet_port(E, P, i, &sg);

		/* a reader not started yet has no pipe: it waits too */
		if (outlet_open(pt) && (pt->is_stdout ||
		    (pt->w != -1 && !pt->is_pipe) || sg->q.keep ||
		    queue_pending(&sg->q) != 0 || sg->ahead != 0))
			return 0;
	}
	for (i = 0; i < noutlets(P); i++) {
		outlet_port(E, P, i, &sg);
		sg->roff = at;
	}
	P->fileplay_max = at;
	P->fileplay = 1;
	return 1;
}

/* a file producer has an outlet to serve now (or none left to serve:
 * then its end is to be seen); 0 while it waits for them */
int
fanout_file_waits(struct engine *E, struct rstage *P)
{
	struct seg *sg;
	size_t	 i, live = 0;

	if (P->fileplay != 1)
		return 0;
	for (i = 0; i < noutlets(P); i++) {
		struct rport *pt = outlet_port(E, P, i, &sg);

		if (!outlet_open(pt) || sg->eof)
			continue;
		live++;
		if (pt->w != -1 && &pt->segs[pt->cur] == sg && !pt->full)
			return 0;
	}
	return live > 0;
}

static void
pump_file(struct engine *E, struct rstage *P)
{
	struct seg *sg;
	size_t	 i, live = 0, moved = 0;
	loff_t	 off;
	ssize_t	 n;

	for (i = 0; i < noutlets(P); i++) {
		struct rport *pt = outlet_port(E, P, i, &sg);

		if (!outlet_open(pt) || sg->eof)
			continue;
		live++;
		while (pt->w != -1 && &pt->segs[pt->cur] == sg && !pt->full &&
		    moved < PUMP_MAX) {
			off = sg->roff;
			n = splice(P->out_r, &off, pt->w, NULL,
			    PUMP_MAX - moved, SPLICE_F_NONBLOCK);
			if (n > 0) {
				sg->roff = off;
				moved += (size_t)n;
				count_in(E, pt, n);
				if (off > P->fileplay_max) {
					if (P->state != PS_DONE)
						P->out_bytes += off -
						    P->fileplay_max;
					P->fileplay_max = off;
				}
				continue;
			}
			if (n == 0) {		/* it has the whole file */
				sg->eof = 1;
				port_advance(E, pt);
				live--;
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {	/* POLLOUT says when */
				pt->full = 1;
				break;
			}
			if (errno == EPIPE) {
				fanout_port_close(E, pt);
				live--;
				break;
			}
			err(EX_OSERR, "stage '%s': splice to a reader",
			    P->st->name);
		}
	}
	if (live == 0) {
		close(P->out_r);
		P->out_r = -1;
		fanout_producer_eof(E, P);
	}
}

/* the producer's stdout is readable */
void
fanout_pump(struct engine *E, struct rstage *P)
{
	size_t	 moved = 0, i;
	ssize_t	 n;
	struct seg *sg;
	int	 drained;

	if (file_replay(E, P)) {
		pump_file(E, P);
		return;
	}
	while (P->out_r != -1 && moved < PUMP_MAX) {
		if (fanout_stalled(E, P, mono_ns()) != 0)
			return;		/* the pipe holds the bytes for now */
		if (all_closed(E, P)) {
			/* what is left unread is not seen: a digest or a
			   capture of it would stand for less than it wrote */
			if (P->state != PS_DONE && P->state != PS_CACHED)
				P->out_cut = 1;
			close(P->out_r);
			P->out_r = -1;
			fanout_producer_eof(E, P);
			return;
		}
		n = pump_zero_copy(E, P, &drained);
		if (n == -1) {
			close(P->out_r);
			P->out_r = -1;
			fanout_producer_eof(E, P);
			return;
		}
		if (n == -2)
			return;		/* a reader's pipe is full */
		if (n > 0) {
			moved += (size_t)n;
			if (P->state != PS_DONE)	/* not a read back */
				P->out_bytes += n;
			if (drained)
				return;	/* poll says when there is more */
			continue;
		}
		n = read(P->out_r, E->iobuf, sizeof(E->iobuf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			err(EX_OSERR, "read from stage '%s'", P->st->name);
		}
		if (n == 0) {
			close(P->out_r);
			P->out_r = -1;
			fanout_producer_eof(E, P);
			return;
		}
		if (P->hash_out || P->capture != -1)
			scache_out(E, P, E->iobuf, (size_t)n);
		for (i = 0; i < noutlets(P) && !P->defer; i++) {
			struct rport *pt = outlet_port(E, P, i, &sg);

			outlet_put(E, P, pt, sg, E->iobuf, (size_t)n);
		}
		moved += (size_t)n;
		if (P->state != PS_DONE)
			P->out_bytes += n;
	}
}

/*
 * A reader sees the end of a producer's segment only once the producer
 * is known to have ended well (or is final: a failed one's readers were
 * stopped first), never at the mere end of its stdout: a stage that
 * fails after writing must not pass its partial output for all of it.
 */
static int
settled(const struct rstage *P)
{
	return P->exited_ok || P->state == PS_DONE || P->state == PS_CACHED;
}

/* the producer's stdout reached EOF: its segments are complete */
void
fanout_producer_eof(struct engine *E, struct rstage *P)
{
	size_t	 i;
	struct seg *sg;

	monitor_trace(E, P);	/* its bytes are all counted */
	if (P->defer)		/* nothing went out yet: see scache_done */
		return;
	for (i = 0; i < noutlets(P); i++) {
		struct rport *pt = outlet_port(E, P, i, &sg);

		sg->eof = 1;
		sg->ahead = 0;
		if (&pt->segs[pt->cur] == sg)
			pt->full = 0;
		if (!P->hold && settled(P))
			port_advance(E, pt);
	}
}

/* the producer's process ended well: what reached EOF may end */
void
fanout_exited_ok(struct engine *E, struct rstage *P)
{
	size_t	 i;
	struct seg *sg;

	P->exited_ok = 1;
	if (P->hold)
		return;
	for (i = 0; i < noutlets(P); i++)
		port_advance(E, outlet_port(E, P, i, &sg));
}

/* a held producer succeeded: its queued output may now flow */
void
fanout_release(struct engine *E, struct rstage *P)
{
	size_t	 i;
	struct seg *sg;

	P->hold = 0;
	for (i = 0; i < noutlets(P); i++) {
		struct rport *pt = outlet_port(E, P, i, &sg);

		port_advance(E, pt);
	}
}

/*
 * A deferred producer's capture failed (a full disk): its readers get
 * what the capture holds so far in their queues, and the rest as it
 * comes, as if it had never been deferred.
 */
void
fanout_undefer(struct engine *E, struct rstage *P, int fd, int64_t size)
{
	char	 buf[65536];
	ssize_t	 n;
	int64_t	 off;
	size_t	 i;
	struct seg *sg;

	P->defer = 0;
	for (off = 0; off < size; off += n) {
		n = pread(fd, buf, (size_t)(size - off) < sizeof(buf) ?
		    (size_t)(size - off) : sizeof(buf), off);
		if (n <= 0)
			err(EX_IOERR, "stage '%s': reading back its output",
			    P->st->name);
		for (i = 0; i < noutlets(P); i++) {
			struct rport *pt = outlet_port(E, P, i, &sg);

			outlet_put(E, P, pt, sg, buf, (size_t)n);
		}
	}
}

/* a held producer failed an attempt: forget what it wrote */
void
fanout_discard(struct engine *E, struct rstage *P)
{
	size_t	 i;
	struct seg *sg;

	for (i = 0; i < noutlets(P); i++) {
		outlet_port(E, P, i, &sg);
		queue_clear(&sg->q);
		sg->eof = 0;
		sg->ahead = 0;
	}
}
