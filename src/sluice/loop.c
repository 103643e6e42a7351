/*
 * loop.c: one event loop supervises a run.  Signals arrive on a
 * signalfd; stage pipes and the signalfd are polled; the poll timeout is
 * the nearest deadline (stage timeouts, SIGKILL after the grace period,
 * the status line).  Stages start as soon as their inputs are available
 * and job slots are free; chains of plain pipes ("gangs") start together.
 * A stage is final (DONE, FAILED, SKIPPED) only when its process is
 * reaped, its pipes are drained and all its producers are final.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <err.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "run.h"
#include "stagecache.h"
#include "taskstats.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

sigset_t sluice_oldmask;
static struct engine *atexit_engine;

static const char *const state_names[] = {
	"waiting", "running", "stopping", "exited", "done", "failed",
	"cached", "skipped"
};

static int
is_final(enum pstate s)
{
	return s == PS_DONE || s == PS_FAILED || s == PS_CACHED ||
	    s == PS_SKIPPED;
}

void
stage_set(struct engine *E, struct rstage *R, enum pstate to)
{
	enum pstate from = R->state;
	int	 ok;

	switch (to) {
	case PS_WAITING:
		ok = from == PS_EXITED;			/* a retry */
		break;
	case PS_RUNNING:
		ok = from == PS_WAITING;
		break;
	case PS_STOPPING:
		ok = from == PS_RUNNING;
		break;
	case PS_EXITED:
		ok = from == PS_RUNNING || from == PS_STOPPING;
		break;
	case PS_DONE:
	case PS_FAILED:
		ok = from == PS_EXITED;
		break;
	case PS_CACHED:		/* or a speculative one that hit */
		ok = from == PS_WAITING || (from == PS_EXITED && R->spec_hit);
		break;
	case PS_SKIPPED:
		ok = from == PS_WAITING;
		break;
	default:
		ok = 0;
	}
	if (!ok)
		errx(EX_SOFTWARE, "stage '%s': bad move from %s to %s",
		    R->st->name, state_names[from], state_names[to]);
	R->state = to;
	if (is_final(to))
		E->nfinished++;
	if (E->live != NULL)
		live_stage(E, R);	/* short stages show up too */
}

/* stderr: raw into the log, shown line by line with the stage's name */
void
status_clear(struct engine *E)
{
	if (E->status_shown) {
		fputs("\r\033[K", stderr);
		E->status_shown = 0;
	}
}

static void
tail_add(struct rstage *R, const char *line, size_t n)
{
	buf_add(&R->tail, line, n);
	buf_addc(&R->tail, '\n');
	if (R->tail.len > 2048) {
		char	*nl = memchr(R->tail.data + R->tail.len - 2048, '\n',
		    2048);
		size_t	 cut = nl != NULL ? (size_t)(nl + 1 - R->tail.data) :
		    R->tail.len - 2048;

		memmove(R->tail.data, R->tail.data + cut, R->tail.len - cut);
		R->tail.len -= cut;
	}
}

static void
show_line(struct engine *E, struct rstage *R, const char *line, size_t n)
{
	/* what a cache hit replays says so */
	const char *tag = R->state == PS_CACHED ? " (cached)" : "";
	size_t	 k = strlen(R->st->name);

	/* a program named like its stage (warnx) is not named twice */
	if (n > k + 2 && memcmp(line, R->st->name, k) == 0 &&
	    line[k] == ':' && line[k + 1] == ' ') {
		line += k + 2;
		n -= k + 2;
	}
	status_clear(E);
	if (E->color)
		fprintf(stderr, "\033[36m%s%s:\033[0m %.*s\n", R->st->name,
		    tag, (int)n, line);
	else
		fprintf(stderr, "%s%s: %.*s\n", R->st->name, tag, (int)n,
		    line);
	tail_add(R, line, n);
}

static void	open_log(struct engine *, struct rstage *);

static void	show_stderr(struct engine *, struct rstage *, const char *,
		    size_t);

void
stage_stderr(struct engine *E, struct rstage *R, const char *p, size_t n)
{
	if (R->cacheable && R->state != PS_CACHED)
		scache_err(E, R, p, n);
	if (R->logfd == -1 && !R->log_tried)
		open_log(E, R);		/* only stages that say something */
	if (R->logfd != -1 && write_all(R->logfd, p, n) == -1) {
		warn("log of stage '%s'", R->st->name);
		close(R->logfd);
		R->logfd = -1;
	}
	/* a speculative stage's words wait for its key: a hit replays
	 * what it said when it ran instead */
	if (R->spec) {
		buf_add(&R->specerr, p, n);
		return;
	}
	show_stderr(E, R, p, n);
}

static void
show_stderr(struct engine *E, struct rstage *R, const char *p, size_t n)
{
	const char *nl;

	while (n > 0) {
		if ((nl = memchr(p, '\n', n)) == NULL) {
			buf_add(&R->errline, p, n);
			if (R->errline.len >= 4096) {
				show_line(E, R, R->errline.data,
				    R->errline.len);
				buf_reset(&R->errline);
			}
			return;
		}
		if (R->errline.len > 0) {
			buf_add(&R->errline, p, (size_t)(nl - p));
			show_line(E, R, R->errline.data, R->errline.len);
			buf_reset(&R->errline);
		} else
			show_line(E, R, p, (size_t)(nl - p));
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
}

static void
read_stderr(struct engine *E, struct rstage *R)
{
	ssize_t	 n;

	for (;;) {
		n = read(R->err_r, E->iobuf, sizeof(E->iobuf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (R->errline.len > 0) {
				show_line(E, R, R->errline.data,
				    R->errline.len);
				buf_reset(&R->errline);
			}
			close(R->err_r);
			R->err_r = -1;
			return;
		}
		stage_stderr(E, R, E->iobuf, (size_t)n);
	}
}

/*
 * A stage's process is gone: all it wrote on stderr is in the pipe,
 * read now.  A descendant that holds the pipe still (a background job,
 * `sleep 60 &`, or what setsid(1) forked) is not waited for: the stage
 * ends with its process (and its stdout), and drain_children ends the
 * descendant after the run.  The pipe stays open and is read while the
 * stage is polled, so such a descendant is never cut off by EPIPE.
 */
static void
stderr_detach(struct engine *E, struct rstage *R)
{
	if (R->err_r != -1)
		read_stderr(E, R);
}

/* the stage's stderr is done with, or, its process gone (stderr_detach),
 * not to be waited for */
static int
err_done(const struct rstage *R)
{
	return R->err_r == -1 || R->reaped;
}

/* dependencies */

/* may cached R start while its producer P runs (scache_spec_ok)?  Not
 * on one that is speculative itself or whose output waits (deferred,
 * held): it must flow */
static int
spec_on(struct engine *E, struct rstage *R, const struct rstage *P)
{
	return (P->state == PS_RUNNING || P->state == PS_EXITED) &&
	    P->hash_out && !P->hold && !P->defer && !P->spec &&
	    scache_spec_ok(E, R);
}

/* every producer a stage reads from has started (or, held, succeeded)
 * and every "after" stage succeeded; -1 when it never can */
static int
stage_ready(struct engine *E, struct rstage *R)
{
	struct stage *st = R->st;
	size_t	 i, k;

	for (i = 0; i < R->nports; i++) {
		if (R->ports[i].direct)
			continue;
		for (k = 0; k < R->ports[i].nseg; k++) {
			struct rstage *P = &E->rs[R->ports[i].segs[k].producer];

			if (P->state == PS_FAILED || P->state == PS_SKIPPED)
				return -1;
			if (P->state == PS_WAITING)
				return 0;
			/* a cached stage needs its producers' digests for its
			 * key; one with outputs does not wait for them: it
			 * runs as they run, and its key is stored after */
			if ((P->hold || R->st->retries > 0 ||
			    (R->cacheable && R->st->noutputs == 0)) &&
			    P->state != PS_DONE && P->state != PS_CACHED &&
			    !spec_on(E, R, P))
				return 0;
		}
	}
	for (i = 0; i < st->nafter; i++) {
		struct rstage *A = &E->rs[st->after[i]];

		if (A->state == PS_FAILED || A->state == PS_SKIPPED)
			return -1;
		if (A->state != PS_DONE && A->state != PS_CACHED)
			return 0;
	}
	return 1;
}

/*
 * The active list: stages with a process or descriptors, so each round
 * of the loop costs O(active), not O(stages) (2,000 stages, 2 slots).
 */
static void
active_add(struct engine *E, struct rstage *R)
{
	if (E->in_active[R->st->idx])
		return;
	E->in_active[R->st->idx] = 1;
	E->active[E->nactive++] = R->st->idx;
}

/* a final stage with nothing left open leaves the list */
static int
active_done(struct engine *E, const struct rstage *R)
{
	size_t	 k;

	/* a detached stderr is read while it lasts (stderr_detach) */
	if (!is_final(R->state) || R->err_r != -1 || R->out_r != -1)
		return 0;
	for (k = 0; k < R->nports; k++)
		if (R->ports[k].w != -1)
			return 0;
	(void)E;
	return 1;
}

static void
active_prune(struct engine *E)
{
	size_t	 i = 0;

	while (i < E->nactive) {
		int	 v = E->active[i];

		if (active_done(E, &E->rs[v])) {
			E->in_active[v] = 0;
			E->active[i] = E->active[--E->nactive];
		} else
			i++;
	}
}

static void
mkpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe2");
}

/* pipes sluice moves bytes through: larger, so tee(2) and splice(2)
 * move more per call (the system's limit may refuse: no matter) */
static void
mkpipe_big(int p[2])
{
	mkpipe(p);
	(void)fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
}

static void
open_log(struct engine *E, struct rstage *R)
{
	char	*path;

	R->logfd = -1;
	R->log_tried = 1;
	if (E->run_dir == NULL)
		return;
	path = xasprintf("%s/%s.log", E->run_dir, R->st->name);
	R->logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644);
	if (R->logfd == -1)
		warn("cannot open '%s'", path);
	else if (R->attempt > 1) {
		char	 hdr[64];
		int	 len = snprintf(hdr, sizeof(hdr),
		    "--- attempt %d ---\n", R->attempt);

		(void)write_all(R->logfd, hdr, (size_t)len);
	}
	free(path);
}

static void
print_cmd(struct engine *E, struct rstage *R)
{
	size_t	 i;

	status_clear(E);
	fprintf(stderr, "+ %s:", R->st->name);
	for (i = R->st->shell ? 2 : 0; i < R->st->argc; i++)
		fprintf(stderr, " %s", R->st->argv[i]);
	fputc('\n', stderr);
}

/* how many readers of P but R are in state st */
static int
other_readers(struct engine *E, const struct rstage *P,
    const struct rstage *R, enum pstate st)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < P->noutlets; i++) {
		int c = P->outlets[i].stage;

		if (c >= 0 && &E->rs[c] != R && E->rs[c].state == st)
			n++;
	}
	return n;
}

/*
 * sluice's own peak resident size (VmHWM of /proc/self/status, read at
 * most every 5 ms): exec(2) in a vfork(2) child starts the program's
 * peak at it, so a stage's wait4 figure is never much below.  Not
 * getrusage(): that counts the peak of whatever started sluice too.
 */
long
sluice_hwm_kb(int fresh)
{
	static int	 fd = -2;
	static long	 kb;
	static int64_t	 at;
	char		 b[4096], *p;
	ssize_t		 n;
	int64_t		 now = mono_ns();

	if (fd == -2)
		fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (!fresh && at != 0 && now - at < 5000000))
		return kb;
	at = now;
	if ((n = pread(fd, b, sizeof(b) - 1, 0)) <= 0)
		return kb;
	b[n] = '\0';
	if ((p = strstr(b, "\nVmHWM:")) != NULL)
		kb = strtol(p + 7, NULL, 10);
	return kb;
}

static long
self_hwm_kb(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	return 0;	/* spawn.c forks there: the copy is what counts */
#else
	return sluice_hwm_kb(0);
#endif
}

/* the job slots a map stage takes when it starts: at least one */
static int
map_slots(struct engine *E, const struct rstage *R)
{
	int	 free_ = E->jobs - E->running, g;
	size_t	 k, s;

	for (k = 0; k < R->nports; k++)
		for (s = 0; s < R->ports[k].nseg; s++) {
			int p = R->ports[k].segs[s].producer;

			if (p >= 0 && E->rs[p].state == PS_RUNNING)
				free_ += E->rs[p].slots;
			/* the others about to start need a slot each, and
			 * until they do sluice queues their input */
			if (p >= 0)
				free_ -= other_readers(E, &E->rs[p], R,
				    PS_WAITING);
		}
	for (g = R->gang_next; g != -1; g = E->rs[g].gang_next)
		if (E->rs[g].state == PS_WAITING)
			free_--;
	if (free_ > E->jobs)
		free_ = E->jobs;
	return free_ > 1 ? free_ : 1;
}

/*
 * What a stage reads on stdin, for the stage (SLUICE_STDIN_DIGEST_FD):
 * a digest of its producers' output digests, in order, which are the
 * same whenever those bytes are.  A pipe is passed to it when every
 * producer's digest is or will be known (hits, stages whose bytes pass
 * sluice's digest); sluice writes the digest into it, with a newline,
 * as soon as every one of them has ended (before the stage starts, if
 * they had), or closes it empty when one failed.  So a stage may know
 * that its input is what it was the last time: write's stamp.
 * 1 when the digest is known now (stdin_hex).
 */
static int
stdin_known(struct engine *E, struct rstage *R)
{
	struct digest_ctx c;
	struct digest	 d;
	const struct rport *pt = &R->ports[0];
	size_t		 k;

	for (k = 0; k < pt->nseg; k++) {
		const struct rstage *P = &E->rs[pt->segs[k].producer];

		if ((P->state != PS_DONE && P->state != PS_CACHED) ||
		    !P->digest_known)
			return 0;
	}
	digest_begin(&c);
	digest_adds(&c, "sluice-stdin 1");
	for (k = 0; k < pt->nseg; k++)
		digest_add(&c, &E->rs[pt->segs[k].producer].out_digest,
		    sizeof(struct digest));
	digest_end(&c, &d);
	digest_hex(&d, R->stdin_hex);
	return 1;
}

/* the stage's digest pipe: the digest written, or nothing; closed */
static void
stdin_tell(struct rstage *R, int known)
{
	if (R->dig_w == -1)
		return;
	if (known) {
		char	 line[DIGEST_HEXLEN + 1];

		memcpy(line, R->stdin_hex, DIGEST_HEXLEN - 1);
		line[DIGEST_HEXLEN - 1] = '\n';
		/* 33 bytes into an empty pipe: all or nothing */
		(void)write(R->dig_w, line, DIGEST_HEXLEN);
	}
	close(R->dig_w);
	R->dig_w = -1;
}

static void
stdin_identity(struct engine *E, struct rstage *R)
{
	const struct rport *pt = R->nports > 0 ? &R->ports[0] : NULL;
	size_t		 k;
	int		 p[2];

	R->stdin_hex[0] = '\0';
	R->dig_w = R->dig_r = -1;
	if (pt == NULL || pt->fd != 0 || pt->direct || pt->nseg == 0)
		return;
	for (k = 0; k < pt->nseg; k++) {
		const struct rstage *P = &E->rs[pt->segs[k].producer];

		if (!P->digest_known && !P->hash_out)
			return;		/* its digest will not be known */
		if (P->state == PS_FAILED || P->state == PS_SKIPPED)
			return;
	}
	if (pipe2(p, O_CLOEXEC) == -1)
		return;
	R->dig_r = p[0];
	R->dig_w = p[1];
	R->dig_fd = 3;
	for (k = 0; k < R->nports; k++)
		if (R->ports[k].fd >= R->dig_fd)
			R->dig_fd = R->ports[k].fd + 1;
	if (stdin_known(E, R))
		stdin_tell(R, 1);
}

/* a producer of R ended: R's digest pipe learns what it can */
static void
stdin_settle(struct engine *E, struct rstage *R)
{
	size_t	 k;

	if (R->dig_w == -1)
		return;
	for (k = 0; k < R->ports[0].nseg; k++) {
		const struct rstage *P = &E->rs[R->ports[0].segs[k].producer];

		if (P->state == PS_FAILED || P->state == PS_SKIPPED) {
			stdin_tell(R, 0);
			return;
		}
	}
	if (stdin_known(E, R))
		stdin_tell(R, 1);
}

/* create the pipes of one stage (its direct consumer's too) and start it */
static void
start_one(struct engine *E, struct rstage *R)
{
	int	 p[2], step = 0, r;
	size_t	 i;
	char	*prog = NULL, **argv = NULL;

	mkpipe(p);
	if (R->err_r != -1) {	/* a retry: the last attempt's, after what
				 * its leftovers said so far */
		read_stderr(E, R);
		if (R->errline.len > 0)
			show_line(E, R, R->errline.data, R->errline.len);
		if (R->err_r != -1)
			close(R->err_r);
	}
	R->err_r = p[0];
	R->child_err = p[1];
	(void)fcntl(R->err_r, F_SETFL, O_NONBLOCK);	/* a fresh pipe */
	buf_reset(&R->errline);
	buf_reset(&R->tail);
	if (R->direct_out) {
		/* the child's stdout was set up by the gang (pipe or fd 1) */
	} else {
		mkpipe_big(p);
		R->out_r = p[0];
		R->fileplay = 0;
		R->child_out = p[1];
		(void)fcntl(R->out_r, F_SETFL, O_NONBLOCK);
	}
	for (i = 0; i < R->nports; i++) {
		struct rport *pt = &R->ports[i];
		size_t	 k;

		if (pt->direct)
			continue;
		mkpipe_big(p);
		pt->child_r = p[0];
		pt->w = p[1];
		pt->is_pipe = 1;
		pt->closed = 0;
		pt->cur = 0;
		pt->progress_ns = mono_ns();
		(void)fcntl(pt->w, F_SETFL, O_NONBLOCK);
		for (k = 0; k < pt->nseg; k++)
			queue_rewind(&pt->segs[k].q);
	}
	R->hold = R->st->retries > 0;
	R->exited_ok = 0;
	R->out_bytes = 0;
	R->out_cut = 0;
	R->in_bytes = R->nports > 0 && !R->ports[0].direct ? 0 : -1;
	R->sampled_rss_kb = 0;
	R->rss_floor_kb = self_hwm_kb();
	R->own_rss_kb = -1;
	R->orphan_cpu_us = 0;
	R->timed_out = 0;
	R->reaped = 0;
	R->status = 0;
	memset(&R->ru, 0, sizeof(R->ru));
	if (R->logfd != -1)
		close(R->logfd);
	R->logfd = -1;
	R->log_tried = 0;
	if (E->o->verbose)
		print_cmd(E, R);
	scache_started(E, R);
	scache_defer(E, R);
	stdin_identity(E, R);
	active_add(E, R);
	R->t_start = mono_ns();
	R->r_start = real_ns();
	R->deadline = R->st->timeout_ns > 0 ? R->t_start + R->st->timeout_ns :
	    0;
	R->killtime = 0;
	R->slots = 1;
	if (R->st->map && R->exec_argv != NULL &&
	    strncmp(R->exec_argv[2], "--jobs=", 7) == 0) {
		/* a map stage's shards take the slots that are free now,
		 * and it holds them until it ends; those of its producers
		 * count as free (they end before it can), those of the rest
		 * of its gang, about to start, do not */
		R->slots = map_slots(E, R);
		free(R->exec_argv[2]);
		R->exec_argv[2] = xasprintf("--jobs=%d", R->slots);
		/* one slot, no cache and no batch size asked for: nothing
		 * to shard or look up, so the command itself reads the
		 * stream as it comes */
		if (R->slots == 1 && !R->cacheable && R->st->batch == 0) {
			prog = R->exec_prog;
			argv = R->exec_argv;
			R->exec_prog = R->st->prog;
			R->exec_argv = R->st->argv;
		}
	}
	r = spawn_stage(E, R, &step);
	if (prog != NULL) {
		R->exec_prog = prog;
		R->exec_argv = argv;
	}
	if (r == -1) {
		free(R->reason);
		if (step == SPAWN_STEP_CWD)
			R->reason = xasprintf("cannot change to directory '%s': "
			    "%s", R->st->cwd, strerror(errno));
		else if (step == SPAWN_STEP_LIMIT)
			R->reason = xasprintf("cannot set its memory_limit: %s",
			    strerror(errno));
		else if (step == SPAWN_STEP_FDS)
			R->reason = xasprintf("cannot set up its descriptors: "
			    "%s", strerror(errno));
		else if (step == SPAWN_STEP_PDEATH)
			R->reason = xasprintf("cannot ask for SIGTERM when "
			    "sluice dies: %s", strerror(errno));
		else
			R->reason = xasprintf("cannot run '%s': %s",
			    R->st->prog, strerror(errno));
	}
	stage_set(E, R, PS_RUNNING);
	E->running += R->slots;
	close(R->child_err);
	R->child_err = -1;
	if (R->direct_out && R->outlets[0].stage != -1)
		R->hold_w = R->child_out;
	else if (R->child_out != 1 && R->child_out != -1)
		close(R->child_out);
	R->child_out = -1;
	for (i = 0; i < R->nports; i++)
		if (R->ports[i].child_r != -1) {
			close(R->ports[i].child_r);
			R->ports[i].child_r = -1;
		}
	if (R->dig_r != -1) {
		close(R->dig_r);
		R->dig_r = -1;
	}
	if (r == -1)
		stdin_tell(R, 0);
	/* queued input (fan-in, replays) can flow now */
	for (i = 0; i < R->nports; i++)
		fanout_port_write(E, &R->ports[i]);
}

static void
start_gang(struct engine *E, int head)
{
	size_t	 i;
	int	 p[2];

	/* wire the plain pipes inside the gang first */
	for (i = (size_t)head; i != (size_t)-1; i = (size_t)E->rs[i].gang_next) {
		struct rstage *R = &E->rs[i];

		if (!R->direct_out)
			continue;
		if (R->outlets[0].stage == -1) {
			R->child_out = 1;
			continue;
		}
		mkpipe(p);
		R->child_out = p[1];
		E->rs[R->outlets[0].stage].ports[0].child_r = p[0];
	}
	for (i = (size_t)head; i != (size_t)-1; i = (size_t)E->rs[i].gang_next)
		start_one(E, &E->rs[i]);
}

static void skip_stage(struct engine *, struct rstage *, const char *);
static void close_ports(struct engine *, struct rstage *);

/*
 * A reader of a producer that runs starts with it, slot or not, as a
 * gang of plain pipes does: its input flows now; held back, it would
 * be copied into sluice's memory and spill files only to be read out
 * again later, and the reader's work would all come after the
 * producer's instead of beside it.
 */
/*
 * A gang about to start reads a cached producer that no reader was
 * expected to need (they were to hit, and one did not after all): its
 * stored stdout is opened now.  When that fails the gang cannot get its
 * input and is skipped, and the run fails.
 */
static int
open_unopened(struct engine *E, int head)
{
	size_t	 i, k, s;

	for (i = (size_t)head; i != (size_t)-1; i = (size_t)E->rs[i].gang_next) {
		struct rstage *R = &E->rs[i];

		for (k = 0; k < R->nports; k++)
			for (s = 0; s < R->ports[k].nseg; s++) {
				int	 p = R->ports[k].segs[s].producer;
				struct rstage *P;

				if (p < 0 || !E->rs[p].unopened)
					continue;
				P = &E->rs[p];
				if (scache_open_unopened(E, P) == -1) {
					char	*why = xasprintf("the cached "
					    "output of '%s' could not be read",
					    P->st->name);

					E->nfailed++;
					if (E->first_failed == -1)
						E->first_failed = R->st->idx;
					skip_stage(E, &E->rs[head], why);
					free(why);
					return -1;
				}
				active_add(E, P);
			}
	}
	return 0;
}

static int
rides_along(struct engine *E, const struct rstage *R)
{
	size_t	 i, k;

	for (i = 0; i < R->nports; i++)
		for (k = 0; k < R->ports[i].nseg; k++) {
			int	 p = R->ports[i].segs[k].producer;

			if (p >= 0 && E->rs[p].state == PS_RUNNING)
				return 1;
		}
	return 0;
}

static void
schedule(struct engine *E)
{
	size_t	 i;

	if (E->stopping)
		return;
	while (E->first_waiting < E->n &&
	    E->rs[E->first_waiting].state != PS_WAITING)
		E->first_waiting++;
	for (i = E->first_waiting; i < E->n; i++) {
		struct rstage *R = &E->rs[i];
		int	 r, g;

		if (R->state != PS_WAITING || R->gang != (int)i)
			continue;
		if (E->running >= E->jobs && !R->cacheable &&
		    !rides_along(E, R)) {
			if (!E->any_cacheable && !E->any_rider)
				break;	/* only cache hits need no slot */
			continue;
		}
		if ((r = stage_ready(E, R)) == -1) {
			skip_stage(E, R, "upstream failed");
			continue;
		}
		if (r == 0)
			continue;
		if (scache_try_hit(E, R)) {
			/* no process: its stored stdout is replayed, and what
			 * its producers queued for it is not needed; a cached
			 * producer whose readers all hit is never read */
			active_add(E, R);
			stage_set(E, R, PS_CACHED);
			close_ports(E, R);
			monitor_cached(E, R);
			scache_replay_err(E, R);
			count_finished(E, R);
			continue;
		}
		g = R->gang_size;
		if (E->running > 0 && E->running + g > E->jobs &&
		    !rides_along(E, R))
			continue;	/* a smaller one may fit */
		if (open_unopened(E, (int)i) == -1)
			continue;
		start_gang(E, (int)i);
	}
}

/* failures */

static const char *
signame(int sig)
{
	static char buf[32];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev == NULL) {
		snprintf(buf, sizeof(buf), "signal %d", sig);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	return buf;
}

static int	group_alive(pid_t);

/*
 * sig to what a stage whose process is gone left in its group, if any
 * is left (group_alive: only then is the id still the group's): 1 when
 * sent.  killpg_stage signals a group whose leader is not reaped yet.
 */
static int
killpg_left(const struct rstage *R, int sig)
{
	return R->pid > 0 && group_alive(R->pid) && kill(-R->pid, sig) == 0;
}

static void	signal_escaped(struct engine *, int, int);

static void
stop_all(struct engine *E, int sig)
{
	size_t	 i;
	int64_t	 now = mono_ns();

	E->stopping = 1;
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];

		if (R->state == PS_RUNNING) {
			killpg_stage(R, sig);
			R->cancelled = 1;
			R->killtime = now + E->o->grace_ns;
			stage_set(E, R, PS_STOPPING);
		} else if (R->state == PS_EXITED) {
			/* its process is gone, what it started may hold
			 * its stdout open, in its group or out of it (below):
			 * SIGKILL after the grace period (deadlines) */
			(void)killpg_left(R, sig);
			R->killtime = now + E->o->grace_ns;
		} else if (R->state == PS_WAITING)
			skip_stage(E, R, "run stopped");
	}
	/* what left its stage's group (setsid) would keep a pipe open,
	   and the run waiting for its end, for ever */
	signal_escaped(E, sig, 1);
}

void
print_failure(struct engine *E, struct rstage *R)
{
	const char *p, *e;
	int	 lines = 0;

	status_clear(E);
	fprintf(stderr, "sluice: stage '%s' (pid %d) %s\n", R->st->name,
	    (int)R->pid, R->reason);
	/* the last lines of its stderr, which may have scrolled away */
	if (R->tail.len == 0)
		return;
	for (p = R->tail.data + R->tail.len - 1; p > R->tail.data; p--)
		if (*p == '\n' && ++lines > 5) {
			p++;
			break;
		}
	fprintf(stderr, "sluice: last lines of its stderr:\n");
	while (p < R->tail.data + R->tail.len) {
		e = memchr(p, '\n', (size_t)(R->tail.data + R->tail.len - p));
		if (e == NULL)
			e = R->tail.data + R->tail.len;
		fprintf(stderr, "  %s: %.*s\n", R->st->name, (int)(e - p), p);
		p = e + 1;
	}
}

/* does stage d read, directly or through others, from stage s? */
static int
depends_on(struct engine *E, int d, int s, unsigned char *seen)
{
	struct stage *st = E->rs[d].st;
	size_t	 i, k;

	if (d == s)
		return 1;
	if (seen[d])
		return 0;
	seen[d] = 1;
	for (i = 0; i < st->nports; i++)
		for (k = 0; k < st->ports[i].nsrc; k++)
			if (depends_on(E, st->ports[i].src[k], s, seen))
				return 1;
	for (i = 0; i < st->nafter; i++)
		if (depends_on(E, st->after[i], s, seen))
			return 1;
	return 0;
}

/* -k: stop whatever runs downstream of a failed stage */
static void
cancel_downstream(struct engine *E, struct rstage *F)
{
	unsigned char *seen = xcalloc(E->n + 1, 1);
	size_t	 i;

	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];

		if (R == F || R->state != PS_RUNNING)
			continue;
		memset(seen, 0, E->n);
		if (depends_on(E, (int)i, F->st->idx, seen)) {
			killpg_stage(R, SIGTERM);
			R->cancelled = 1;
			R->killtime = mono_ns() + E->o->grace_ns;
			stage_set(E, R, PS_STOPPING);
		}
	}
	free(seen);
}

static void finish_outlets(struct engine *, struct rstage *);

static void
skip_stage(struct engine *E, struct rstage *R, const char *why)
{
	size_t	 i;

	free(R->reason);
	R->reason = xstrdup(why);
	stage_set(E, R, PS_SKIPPED);
	finish_outlets(E, R);
	count_finished(E, R);
	/* the rest of its gang can never start without it */
	for (i = (size_t)R->gang_next; i != (size_t)-1;
	    i = (size_t)E->rs[i].gang_next)
		if (E->rs[i].state == PS_WAITING)
			skip_stage(E, &E->rs[i], why);
}

/* the reader of a direct pipe sees its end */
static void
release_hold(struct rstage *R)
{
	if (R->hold_w != -1)
		close(R->hold_w);
	R->hold_w = -1;
}

/* a final stage produces nothing more: its segments end (those of a
 * deferred one that succeeded once its capture is read: scache_done) */
static void
finish_outlets(struct engine *E, struct rstage *R)
{
	release_hold(R);
	if (R->state == PS_DONE && R->out_r != -1 && !R->out_is_pipe)
		return;
	if (R->out_r != -1) {
		close(R->out_r);
		R->out_r = -1;
	}
	/* what a failed or cancelled stage left queued is not output */
	if (R->state != PS_DONE) {
		R->defer = 0;
		fanout_discard(E, R);
	}
	fanout_producer_eof(E, R);
	fanout_release(E, R);
}

static void
close_ports(struct engine *E, struct rstage *R)
{
	size_t	 i, k;

	for (i = 0; i < R->nports; i++) {
		struct rport *pt = &R->ports[i];

		if (pt->w != -1)
			close(pt->w);
		pt->w = -1;
		pt->closed = 1;
		if (R->st->retries == 0 || is_final(R->state))
			for (k = 0; k < pt->nseg; k++)
				queue_free(&pt->segs[k].q);
	}
}

static void
describe_exit(struct engine *E, struct rstage *R)
{
	char	 d[32], m[32];

	free(R->reason);
	if (R->timed_out) {
		fmt_duration(R->st->timeout_ns, d, sizeof(d));
		R->reason = xasprintf("timed out after %s (timeout)", d);
	} else if (WIFSIGNALED(R->status))
		R->reason = xasprintf("killed by %s",
		    signame(WTERMSIG(R->status)));
	else
		R->reason = xasprintf("exited with status %d",
		    WEXITSTATUS(R->status));
	if (R->st->memory_limit > 0 && !R->timed_out) {
		char	*r = R->reason;
		int	 oom = (WIFSIGNALED(R->status) &&
		    (WTERMSIG(R->status) == SIGKILL ||
		    WTERMSIG(R->status) == SIGSEGV ||
		    WTERMSIG(R->status) == SIGABRT)) ||
		    (R->tail.len > 0 && (strcasestr(buf_cstr(&R->tail),
		    "memory") != NULL || strcasestr(buf_cstr(&R->tail),
		    "alloc") != NULL));

		fmt_size(R->st->memory_limit, m, sizeof(m));
		fmt_size((int64_t)R->ru.ru_maxrss * 1024, d, sizeof(d));
		R->reason = xasprintf("%s under memory_limit %s (peak RSS "
		    "%s)%s", r, m, d, oom ? ": it likely ran out of memory" :
		    "");
		free(r);
	}
	(void)E;
}

static int
exit_ok(struct engine *E, struct rstage *R)
{
	if (R->timed_out || R->reason != NULL)
		return 0;
	if (WIFEXITED(R->status) && WEXITSTATUS(R->status) == 0)
		return 1;
	/* a producer killed by SIGPIPE after its readers went away */
	if (WIFSIGNALED(R->status) && WTERMSIG(R->status) == SIGPIPE &&
	    !R->cancelled) {
		size_t	 i;

		for (i = 0; i < R->noutlets; i++) {
			const struct outlet *o = &R->outlets[i];
			struct rport *pt = o->stage == -1 ? &E->out :
			    &E->rs[o->stage].ports[o->port];

			if (!pt->closed && !pt->direct && !pt->is_stdout)
				return 0;
		}
		R->sigpipe_ok = 1;
		return 1;
	}
	return 0;
}

void
count_finished(struct engine *E, struct rstage *R)
{
	char	 d[32];

	if (R->counted)
		return;
	R->counted = 1;
	if (E->o->quiet || E->tty)
		return;
	if (R->state == PS_SKIPPED) {
		fprintf(stderr, "[%zu/%zu] %s (skipped: %s)\n", E->nfinished,
		    E->n, R->st->name, R->reason);
		return;
	}
	fmt_duration(R->state == PS_CACHED ? 0 : R->t_end - R->t_start, d,
	    sizeof(d));
	fprintf(stderr, "[%zu/%zu] %s %s%s\n", E->nfinished, E->n,
	    R->st->name, d, R->state == PS_DONE ? "" : R->state == PS_CACHED ?
	    " (cached)" : R->cancelled ? " (cancelled)" : " FAILED");
}

static void try_finish(struct engine *, struct rstage *);

static void	spec_settle(struct engine *, struct rstage *);
static void	spec_finish(struct engine *, struct rstage *);

static void
producers_changed(struct engine *E, struct rstage *P)
{
	size_t	 i;

	for (i = 0; i < P->noutlets; i++)
		if (P->outlets[i].stage != -1) {
			struct rstage *R = &E->rs[P->outlets[i].stage];

			if (R->spec && scache_producers_final(E, R))
				spec_settle(E, R);
			stdin_settle(E, R);
			try_finish(E, R);
		}
}

/*
 * A speculative stage whose process is gone and whose key hit becomes
 * the hit: what it wrote (its capture) and said is dropped, its stored
 * stdout replayed to its readers, which had waited for it.
 */
static void
spec_finish(struct engine *E, struct rstage *R)
{
	if (R->out_r != -1)
		close(R->out_r);
	if (R->err_r != -1)
		close(R->err_r);
	R->err_r = -1;
	buf_reset(&R->errline);
	scache_spec_drop(E, R);
	close_ports(E, R);
	stdin_tell(R, 0);
	R->out_r = R->spec_fd;
	R->spec_fd = -1;
	R->out_is_pipe = 0;
	R->fileplay = 0;	/* a file now: see file_replay */
	stage_set(E, R, PS_CACHED);
	R->spec_hit = 0;
	monitor_cached(E, R);
	scache_replay_err(E, R);
	count_finished(E, R);
	producers_changed(E, R);
}

/*
 * All that a speculative stage reads has been written: its key.  A hit
 * stops it (spec_finish once it is gone); a miss shows what it said so
 * far and lets it go on.
 */
static void
spec_settle(struct engine *E, struct rstage *R)
{
	if (!E->stopping && (R->state == PS_RUNNING || R->state == PS_EXITED) &&
	    scache_resolve(E, R)) {
		buf_free(&R->specerr);
		R->spec_hit = 1;
		if (R->state == PS_RUNNING)
			killpg_stage(R, SIGKILL);
		else
			spec_finish(E, R);
		return;
	}
	R->spec = 0;
	/* a miss: what it wrote so far goes to its readers, and the rest
	 * as it comes, so that they need not wait for it to end (those
	 * that are cached start speculatively in turn) */
	if (R->defer && R->capture != -1 && R->state == PS_RUNNING)
		fanout_undefer(E, R, R->capture, R->capture_size);
	if (R->specerr.len > 0)
		show_stderr(E, R, R->specerr.data, R->specerr.len);
	buf_free(&R->specerr);
}

/* EXITED -> DONE, FAILED or a retry, once pipes and producers allow */
static void
try_finish(struct engine *E, struct rstage *R)
{
	size_t	 i, k;
	struct rstage *bad = NULL;

	if (R->state != PS_EXITED || R->out_r != -1 || !err_done(R))
		return;
	for (i = 0; i < R->nports; i++)
		for (k = 0; k < R->ports[i].nseg; k++) {
			struct rstage *P = &E->rs[R->ports[i].segs[k].producer];

			if (!is_final(P->state))
				return;
			if (P->state == PS_FAILED || P->state == PS_SKIPPED)
				bad = P;
		}
	if (exit_ok(E, R) && bad == NULL && !R->cancelled) {
		stage_set(E, R, PS_DONE);
		scache_done(E, R);
		close_ports(E, R);
		finish_outlets(E, R);
		count_finished(E, R);
		monitor_stage_final(E, R);
		producers_changed(E, R);
		return;
	}
	if (R->reason == NULL)
		describe_exit(E, R);
	if (bad != NULL) {
		free(R->reason);
		R->reason = xasprintf("cancelled: upstream stage '%s' failed",
		    bad->st->name);
		R->cancelled = 1;
	}
	if (!R->cancelled && !E->stopping && R->attempt <= R->st->retries) {
		status_clear(E);
		fprintf(stderr, "sluice: stage '%s' %s (attempt %d of %d), "
		    "retrying\n", R->st->name, R->reason, R->attempt,
		    R->st->retries + 1);
		free(R->reason);
		R->reason = NULL;
		fanout_discard(E, R);
		R->attempt++;
		R->pid = 0;
		stage_set(E, R, PS_WAITING);
		if ((size_t)R->st->idx < E->first_waiting)
			E->first_waiting = (size_t)R->st->idx;
		close_ports(E, R);
		return;
	}
	stage_set(E, R, PS_FAILED);
	close_ports(E, R);
	count_finished(E, R);
	monitor_stage_final(E, R);
	if (!R->cancelled) {
		E->nfailed++;
		if (E->first_failed == -1)
			E->first_failed = R->st->idx;
		print_failure(E, R);
		if (E->o->keep_going)
			cancel_downstream(E, R);
		else
			stop_all(E, SIGTERM);
	}
	/* only now its readers see the end of what it wrote: those still
	 * running were signalled first, so none takes a failed stage's
	 * partial output for all of it */
	finish_outlets(E, R);
	producers_changed(E, R);
}

/* reaping */

static struct rstage *
stage_by_pid(struct engine *E, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < E->nactive; i++) {
		struct rstage *R = &E->rs[E->active[i]];

		if (R->pid == pid && !R->reaped && (R->state == PS_RUNNING ||
		    R->state == PS_STOPPING))
			return R;
	}
	return NULL;
}

/* an exit record of taskstats.c: the program's own peak */
static void
own_peak(void *arg, pid_t pid, long kb)
{
	struct rstage	*R = stage_by_pid(arg, pid);

	if (R != NULL)
		R->own_rss_kb = kb;
}

/*
 * The peak of the stage's program rather than the one wait4 says,
 * which is at least sluice's own when the stage started (see
 * self_hwm_kb): unless it is clearly above that, when it was the
 * stage's or one of its descendants'.  A descendant smaller than
 * sluice is not seen then.
 */
static void
own_rss(struct rstage *R)
{
	long	 floor = R->rss_floor_kb;

	if (floor < R->own_rss_kb)
		floor = R->own_rss_kb;
	if (R->own_rss_kb > 0 && R->ru.ru_maxrss <= floor + 256)
		R->ru.ru_maxrss = R->own_rss_kb;
}

static void
reap(struct engine *E)
{
	for (;;) {
		siginfo_t si;
		struct rusage ru;
		struct rstage *R;
		int	 status;
		pid_t	 pgid = -1;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0)
			break;
		R = stage_by_pid(E, si.si_pid);
		if (R != NULL)	/* queued before the zombie was */
			taskstats_read(own_peak, E);
		if (R != NULL && E->o->monitor == MON_FULL)
			monitor_io_mark();	/* basic: wait4 only */
		if (R == NULL)
			pgid = getpgid(si.si_pid);	/* of the zombie */
		if (wait4(si.si_pid, &status, 0, &ru) == -1)
			err(EX_OSERR, "wait4");
		if (R == NULL) {
			if (!monitor_alert_reaped(E, si.si_pid, status) &&
			    pgid > 0)
				monitor_orphan(E, pgid, &ru);
			continue;
		}
		if (E->o->monitor == MON_FULL)
			monitor_read_io(R);	/* what wait4 added to ours */
		R->reaped = 1;
		R->status = status;
		R->ru = ru;
		own_rss(R);
		R->t_end = mono_ns();
		E->running -= R->slots;
		stage_set(E, R, PS_EXITED);
		if (R->spec_hit) {	/* stopped: its key hit */
			spec_finish(E, R);
			continue;
		}
		stderr_detach(E, R);
		if (exit_ok(E, R)) {
			release_hold(R);	/* its readers may end now */
			fanout_exited_ok(E, R);
		}
		/* nobody reads the ports of a process that is gone */
		close_ports(E, R);
		stdin_tell(R, 0);
		monitor_reaped(E, R);
		try_finish(E, R);
	}
}

/* signals */

static void
setup_signals(struct engine *E)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTSTP);
	sigaddset(&set, SIGCONT);
	if (sigprocmask(SIG_BLOCK, &set, &sluice_oldmask) == -1)
		err(EX_OSERR, "sigprocmask");
	if ((E->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		err(EX_OSERR, "signalfd");
	signal(SIGPIPE, SIG_IGN);
}

/* ^Z stops the stages' groups, then sluice; fg continues them all */
static void
job_control(struct engine *E, int sig)
{
	size_t	 i;

	status_clear(E);
	/* running stages, and what ended ones left running */
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];
		int	 s = sig == SIGTSTP ? SIGSTOP : SIGCONT;

		if (!R->reaped)
			killpg_stage(R, s);
		else if (R->state == PS_EXITED)
			(void)killpg_left(R, s);
	}
	if (sig == SIGTSTP)
		raise(SIGSTOP);
}

static void
read_signals(struct engine *E)
{
	struct signalfd_siginfo si;

	while (read(E->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;	/* reap() runs every round */
		if (si.ssi_signo == SIGTSTP || si.ssi_signo == SIGCONT) {
			job_control(E, (int)si.ssi_signo);
			continue;
		}
		if (E->signo == 0) {
			E->signo = (int)si.ssi_signo;
			status_clear(E);
			stop_all(E, E->signo);
		}
	}
}

/* leftovers if we exit through err(): no process outlives sluice */
static void
kill_leftovers(void)
{
	struct engine *E = atexit_engine;
	size_t	 i;

	if (E == NULL)
		return;
	for (i = 0; i < E->n; i++)
		if (E->rs[i].pid > 0 && !E->rs[i].reaped)
			kill(-E->rs[i].pid, SIGKILL);
}

static void
deadlines(struct engine *E, int64_t now)
{
	size_t	 i;

	for (i = 0; i < E->nactive; i++) {
		struct rstage *R = &E->rs[E->active[i]];

		if (R->reaped && R->state == PS_EXITED && R->killtime != 0 &&
		    now >= R->killtime) {
			/* stop_all: what it left ignored the signal */
			(void)killpg_left(R, SIGKILL);
			signal_escaped(E, SIGKILL, 0);
			R->killtime = 0;
			continue;
		}
		if (R->reaped || R->pid <= 0)
			continue;
		if (R->state == PS_RUNNING && R->deadline != 0 &&
		    now >= R->deadline) {
			R->timed_out = 1;
			killpg_stage(R, SIGTERM);
			R->killtime = now + E->o->grace_ns;
			stage_set(E, R, PS_STOPPING);
		} else if (R->killtime != 0 && now >= R->killtime) {
			killpg_stage(R, SIGKILL);
			R->killtime = 0;
		}
	}
}

static int64_t
next_deadline(struct engine *E)
{
	int64_t	 t = 0, d;
	size_t	 i;

	for (i = 0; i < E->nactive; i++) {
		struct rstage *R = &E->rs[E->active[i]];

		d = R->state == PS_RUNNING ? R->deadline : R->killtime;

		if ((R->reaped && R->state != PS_EXITED) || d == 0)
			continue;
		if (t == 0 || d < t)
			t = d;
	}
	d = monitor_next_deadline(E);
	if (d != 0 && (t == 0 || d < t))
		t = d;
	return t;
}

void
show_status(struct engine *E)
{
	struct rstage *last = NULL;
	size_t	 i;
	char	 d[32];

	if (!E->tty || E->o->quiet)
		return;
	for (i = 0; i < E->nactive; i++) {
		struct rstage *R = &E->rs[E->active[i]];

		if (R->state == PS_RUNNING && (last == NULL ||
		    R->t_start >= last->t_start))
			last = R;
	}
	if (last == NULL)
		return;
	fmt_duration(mono_ns() - last->t_start, d, sizeof(d));
	fprintf(stderr, "\r\033[K[%zu/%zu] %s %s", E->nfinished, E->n,
	    last->st->name, d);
	if (E->expected_ns > 0) {	/* the last good run's wall time */
		int64_t	 left = E->expected_ns - (mono_ns() - E->t0);

		fmt_duration(left > 0 ? left : 0, d, sizeof(d));
		fprintf(stderr, ", ETA %s", d);
	}
	fflush(stderr);
	E->status_shown = 1;
}

/* set-up: ports, segments, gangs and sinks */

static int
direct_edge(struct engine *E, struct stage *P)
{
	struct stage *C;

	if (P->noutlets != 1 || P->retries > 0 || E->rs[P->idx].hash_out)
		return 0;
	C = &E->p->stages[P->outlets[0].stage];
	return C->nports == 1 && C->ports[0].nsrc == 1 && C->nafter == 0 &&
	    C->retries == 0 && !E->rs[C->idx].cacheable;
}

/*
 * A map stage runs under `sluice __map` (cmd_map.c), which shards its
 * input lines over processes of the stage's command and caches each
 * line's result under the stage's key without its input.
 */
static void
map_argv(struct engine *E, struct rstage *R)
{
	char	 exe[4096], hex[DIGEST_HEXLEN];
	char	**v;
	size_t	 n = 0, i;
	ssize_t	 len;

	if ((len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		err(EX_OSERR, "/proc/self/exe");
	exe[len] = '\0';
	v = xcalloc(R->st->argc + 20, sizeof(char *));
	v[n++] = xstrdup("sluice");
	v[n++] = xstrdup("__map");
	v[n++] = xasprintf("--jobs=%d", E->jobs);
	if (R->st->batch > 0)
		v[n++] = xasprintf("--batch=%lld", R->st->batch);
	v[n++] = xasprintf("--stage=%s", R->st->name);
	if (E->o->quiet)
		v[n++] = xstrdup("--quiet");
	if (R->cacheable) {
		digest_hex(&R->key_base, hex);
		v[n++] = xasprintf("--cache-dir=%s", scache_dir(E->p, E->o));
		v[n++] = xasprintf("--category=%s", R->st->cache);
		v[n++] = xasprintf("--key=%s", hex);
	}
	v[n++] = xasprintf("--prog=%s", R->st->prog);
	v[n++] = xstrdup("--");
	for (i = 0; i < R->st->argc; i++)
		v[n++] = xstrdup(R->st->argv[i]);
	R->exec_prog = xstrdup(exe);
	R->exec_argv = v;
}

/* preloading: stages that no cached stage needs are not run */
static void
preload_skip(struct engine *E)
{
	unsigned char *need = xcalloc(E->n + 1, 1);
	size_t	 i, k, s;

	/* from the last stage back: a needed stage needs its producers
	 * and its "after" stages */
	for (i = E->n; i > 0; i--) {
		int	 v = E->p->order[i - 1];
		struct stage *st = E->rs[v].st;

		need[v] |= E->rs[v].cacheable;
		if (!need[v])
			continue;
		for (k = 0; k < st->nports; k++)
			for (s = 0; s < st->ports[k].nsrc; s++)
				need[st->ports[k].src[s]] = 1;
		for (k = 0; k < st->nafter; k++)
			need[st->after[k]] = 1;
	}
	for (i = 0; i < E->n; i++)
		if (!need[i] && E->rs[i].state == PS_WAITING)
			skip_stage(E, &E->rs[i], "not needed to preload the "
			    "cache");
	free(need);
}

static void
engine_init(struct engine *E, struct pipeline *p, struct run_opts *o)
{
	struct stat sb;
	size_t	 i, k, nsinks = 0;

	memset(E, 0, sizeof(*E));
	E->p = p;
	E->o = o;
	E->n = p->nstages;
	E->first_failed = -1;
	E->worst_alert = -1;
	E->rs = xcalloc(E->n + 1, sizeof(*E->rs));
	E->active = xcalloc(E->n + 1, sizeof(int));
	E->in_active = xcalloc(E->n + 1, 1);
	if ((E->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		err(EX_OSERR, "/dev/null");
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];
		struct stage *st = &p->stages[i];

		R->st = st;
		R->exec_prog = st->prog;
		R->exec_argv = st->argv;
		R->outlets = st->outlets;
		R->noutlets = st->noutlets;
		R->gang = (int)i;
		R->gang_next = -1;
		R->gang_size = 1;
		R->attempt = 1;
		R->out_r = R->child_out = R->err_r = R->child_err = -1;
		R->dig_w = R->dig_r = -1;
		R->spec_fd = -1;
		R->hold_w = -1;
		R->pre_fd = -1;
		R->capture = -1;
		R->cat = -1;
		R->out_is_pipe = 1;
		R->cache_res = "off";
		R->logfd = -1;
		R->nports = st->nports;
		R->ports = xcalloc(st->nports + 1, sizeof(*R->ports));
		for (k = 0; k < st->nports; k++) {
			struct rport *pt = &R->ports[k];
			size_t	 s;

			pt->fd = st->ports[k].fd;
			pt->owner = (int)i;
			pt->w = pt->child_r = -1;
			pt->nseg = st->ports[k].nsrc;
			pt->segs = xcalloc(pt->nseg, sizeof(*pt->segs));
			for (s = 0; s < pt->nseg; s++) {
				pt->segs[s].producer = st->ports[k].src[s];
				queue_init(&pt->segs[s].q, st->retries > 0);
			}
		}
		if (st->noutlets == 0)
			nsinks++;
	}
	E->jobs = o->jobs >= 0 ? o->jobs : p->jobs;
	if (E->jobs == 0) {
		long	 c = sysconf(_SC_NPROCESSORS_ONLN);

		E->jobs = c > 0 ? (int)c : 1;
	}
	scache_init(E);
	for (i = 0; i < E->n; i++) {
		if (E->rs[i].st->map)
			map_argv(E, &E->rs[i]);
	}
	/* plain pipes: gangs follow the topological order */
	for (i = 0; i < E->n; i++) {
		struct stage *st = &p->stages[p->order[i]];
		struct rstage *P = &E->rs[p->order[i]];

		if (st->noutlets > 0 && direct_edge(E, st)) {
			struct rstage *C = &E->rs[st->outlets[0].stage];

			P->direct_out = 1;
			C->ports[0].direct = 1;
			C->ports[0].segs[0].direct = 1;
			C->gang = P->gang;
			C->gang_next = P->gang_next;	/* after P in the gang */
			P->gang_next = C->st->idx;
			E->rs[P->gang].gang_size++;
		}
	}
	/* a reader of a producer outside its gang can start with it,
	 * slot or not (rides_along) */
	for (i = 0; i < E->n; i++)
		for (k = 0; k < E->rs[i].nports; k++) {
			const struct rport *pt = &E->rs[i].ports[k];
			size_t	 g;

			for (g = 0; g < pt->nseg; g++)
				if (pt->segs[g].producer >= 0 &&
				    E->rs[pt->segs[g].producer].gang !=
				    E->rs[i].gang)
					E->any_rider = 1;
		}
	/* sinks: sluice's stdout in declaration order; the first writes
	 * to it directly */
	E->out.fd = 1;
	E->out.owner = -1;
	E->out.w = 1;
	E->out.is_stdout = 1;
	E->out.is_pipe = fstat(1, &sb) == 0 && S_ISFIFO(sb.st_mode);
	E->out.nseg = nsinks;
	E->out.segs = xcalloc(nsinks + 1, sizeof(*E->out.segs));
	for (i = 0, k = 0; i < E->n; i++) {
		struct stage *st = &p->stages[i];

		if (st->noutlets > 0)
			continue;
		E->out.segs[k].producer = (int)i;
		queue_init(&E->out.segs[k].q, 0);
		if (k == 0 && st->retries == 0 && !E->rs[i].hash_out) {
			E->rs[i].direct_out = 1;
			E->out.segs[k].direct = 1;
		}
		E->rs[i].sink.stage = -1;
		E->rs[i].sink.port = 0;
		E->rs[i].sink.seg = (int)k;
		E->rs[i].outlets = &E->rs[i].sink;
		E->rs[i].noutlets = 1;
		k++;
	}
	E->tty = isatty(2);
	E->color = E->tty && (getenv("NO_COLOR") == NULL ||
	    *getenv("NO_COLOR") == '\0');
	if (o->preload)
		preload_skip(E);
}

static void
engine_free(struct engine *E)
{
	size_t	 i, k;

	for (i = 0; E->acct != NULL && i < E->n; i++) {
		free(E->acct[i].state);
		free(E->acct[i].exit_code);
		free(E->acct[i].node);
	}
	free(E->acct);
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];

		for (k = 0; k < R->nports; k++) {
			size_t	 s;

			for (s = 0; s < R->ports[k].nseg; s++)
				queue_free(&R->ports[k].segs[s].q);
			free(R->ports[k].segs);
		}
		free(R->ports);
		if (R->exec_argv != R->st->argv) {
			for (k = 0; R->exec_argv[k] != NULL; k++)
				free(R->exec_argv[k]);
			free(R->exec_argv);
			free(R->exec_prog);
		}
		buf_free(&R->errline);
		buf_free(&R->tail);
		free(R->reason);
		if (R->logfd != -1)
			close(R->logfd);
		if (R->err_r != -1)
			close(R->err_r);
		if (R->out_r != -1)
			close(R->out_r);
	}
	for (i = 0; i < E->out.nseg; i++)
		queue_free(&E->out.segs[i].q);
	free(E->out.segs);
	free(E->active);
	free(E->in_active);
	for (i = 0; i < E->n; i++) {	/* a stdout never read to its end */
		E->rs[i].out_r = -1;
		monitor_trace(E, &E->rs[i]);
		stdin_tell(&E->rs[i], 0);
		if (E->rs[i].spec_fd != -1)
			close(E->rs[i].spec_fd);
		buf_free(&E->rs[i].specerr);
	}
	scache_close(E);
	monitor_free(E);
	free(E->rs);
	close(E->devnull);
	close(E->sigfd);
	if (E->trace != NULL)
		fclose(E->trace);
	free(E->run_id);
	free(E->run_dir);
}

static int
all_final(struct engine *E)
{
	size_t	 i;

	if (E->nfinished < E->n)
		return 0;
	for (i = 0; i < E->n; i++)
		if (!err_done(&E->rs[i]) || E->rs[i].out_r != -1)
			return 0;
	return !fanout_port_wants_out(&E->out);
}

/* nothing runs, nothing to read or write, no deadline: a bug */
static void __attribute__((__noreturn__))
stalled(struct engine *E)
{
	size_t	 i;

	for (i = 0; i < E->n; i++)
		if (!is_final(E->rs[i].state))
			errx(EX_SOFTWARE, "internal error: stalled; stage '%s' "
			    "is %s", E->rs[i].st->name,
			    state_names[E->rs[i].state]);
	errx(EX_SOFTWARE, "internal error: stalled");
}

static void
loop(struct engine *E)
{
	struct pollfd *pfd;
	struct rstage **who;
	int	*kind;
	size_t	 cap = 2 * E->n + E->n + 8;
	int64_t	 next_sample = E->next_sample;

	pfd = xcalloc(cap, sizeof(*pfd));
	who = xcalloc(cap, sizeof(*who));
	kind = xcalloc(cap, sizeof(int));
	schedule(E);
	while (!all_final(E)) {
		size_t	 np = 0, i, k;
		int64_t	 now, dl, stall_until = 0;
		int	 timeout = -1, r;

		pfd[np].fd = E->sigfd;
		pfd[np].events = POLLIN;
		kind[np++] = 0;
		active_prune(E);
		for (k = 0; k < E->nactive; k++) {
			struct rstage *R = &E->rs[E->active[k]];
			size_t	 k2;

			if (R->err_r != -1) {
				pfd[np].fd = R->err_r;
				pfd[np].events = POLLIN;
				who[np] = R;
				kind[np++] = 1;
			}
			if (R->out_r != -1 && R->fileplay == 1) {
				/* a file: readable whenever a reader is */
				if (!fanout_file_waits(E, R)) {
					pfd[np].fd = R->out_r;
					pfd[np].events = POLLIN;
					who[np] = R;
					kind[np++] = 2;
				}
			} else if (R->out_r != -1) {
				int64_t	 again = fanout_stalled(E, R,
				    mono_ns());

				if (again != 0) {
					/* a reader catches up: wait for it */
					if (stall_until == 0 ||
					    again < stall_until)
						stall_until = again;
				} else {
					pfd[np].fd = R->out_r;
					pfd[np].events = POLLIN;
					who[np] = R;
					kind[np++] = 2;
				}
			}
			for (k2 = 0; k2 < R->nports; k2++)
				if (fanout_port_wants_out(&R->ports[k2])) {
					if (np + 2 >= cap)
						break;
					pfd[np].fd = R->ports[k2].w;
					pfd[np].events = POLLOUT;
					who[np] = R;
					kind[np++] = 3 + (int)k2;
				}
		}
		if (fanout_port_wants_out(&E->out)) {
			pfd[np].fd = E->out.w;
			pfd[np].events = POLLOUT;
			who[np] = NULL;
			kind[np++] = -1;
		}
		now = mono_ns();
		if ((dl = next_deadline(E)) != 0)
			timeout = dl <= now ? 0 : (int)((dl - now) / 1000000 + 1);
		if (stall_until != 0) {
			int	 t = stall_until <= now ? 0 :
			    (int)((stall_until - now) / 1000000 + 1);

			if (timeout == -1 || t < timeout)
				timeout = t;
		}
		if (E->tty && !E->o->quiet && (timeout == -1 || timeout > 100))
			timeout = 100;
		show_status(E);
		if (np == 1 && timeout == -1 && E->running == 0)
			stalled(E);
		r = poll(pfd, np, timeout);
		if (r == -1 && errno != EINTR)
			err(EX_OSERR, "poll");
		for (i = 0; r > 0 && i < np; i++) {
			if (pfd[i].revents == 0)
				continue;
			switch (kind[i]) {
			case 0:
				read_signals(E);
				break;
			case 1:
				if (who[i]->err_r != -1)
					read_stderr(E, who[i]);
				break;
			case 2:
				if (who[i]->out_r != -1)
					fanout_pump(E, who[i]);
				break;
			case -1:
				fanout_port_write(E, &E->out);
				break;
			default:
				fanout_port_write(E, &who[i]->ports[kind[i] - 3]);
			}
			if (kind[i] >= 1 && kind[i] <= 2 && err_done(who[i]) &&
			    who[i]->out_r == -1)
				try_finish(E, who[i]);
		}
		reap(E);
		now = mono_ns();
		deadlines(E, now);
		monitor_alert_deadlines(E, now);
		schedule(E);
		monitor_sample(E, mono_ns());
		/* exit records queue from the whole machine: read them
		 * before they fill the socket */
		if (E->next_sample != next_sample) {
			next_sample = E->next_sample;
			taskstats_read(own_peak, E);
		}
		if (E->running == 0 && !all_final(E)) {
			/* nothing runs: whatever waits can never start */
			for (i = 0; i < E->n; i++)
				if (E->rs[i].state == PS_EXITED)
					try_finish(E, &E->rs[i]);
			if (E->running == 0 && E->stopping)
				for (i = 0; i < E->n; i++)
					if (E->rs[i].state == PS_WAITING)
						skip_stage(E, &E->rs[i],
						    "run stopped");
		}
	}
	status_clear(E);
	free(pfd);
	free(who);
	free(kind);
}

/* after the run: wait for --alert-cmd children, bounded by their deadline */
static void
drain_alert_cmds(struct engine *E)
{
	struct pollfd pfd;

	while (E->nacmds > 0) {
		int64_t	 now = mono_ns(), dl = monitor_next_deadline(E);
		int	 timeout = dl == 0 ? 1000 : dl <= now ? 0 :
		    (int)((dl - now) / 1000000 + 1);

		pfd.fd = E->sigfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR)
			err(EX_OSERR, "poll");
		read_signals(E);
		reap(E);
		monitor_alert_deadlines(E, mono_ns());
	}
}

/*
 * After the run: descendants of stages that outlived them (orphans, now
 * ours as subreaper, or background jobs still in a stage's process
 * group) are measured when they end, and nothing is left running: their
 * groups get SIGTERM, then SIGKILL after the grace period.
 */
/* whether process group g is a stage's or a running alert command's */
static int
group_of(const struct engine *E, pid_t g)
{
	size_t	 i;

	for (i = 0; i < E->n; i++)
		if (E->rs[i].pid > 0 && E->rs[i].pid == g)
			return 1;
	for (i = 0; i < E->nacmds; i++)
		if (E->acmds[i].pid == g)
			return 1;
	return 0;
}

/*
 * Calls fn for each child of ours (orphans of stages are ours, as
 * subreaper), from /proc/self/task/TID/children, read whole: a list cut
 * short would end in part of a pid.
 */
static void
each_child(void (*fn)(pid_t, void *), void *arg)
{
	char	 path[300], *e;
	const char *p;
	struct buf list = { 0 };
	DIR	*d;
	struct dirent *de;
	long	 pid;

	if ((d = opendir("/proc/self/task")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children",
		    de->d_name);
		buf_reset(&list);
		if (buf_readfile(&list, path) == 0)
			for (p = buf_cstr(&list);
			    (pid = strtol(p, &e, 10)) > 0; p = e)
				fn((pid_t)pid, arg);
	}
	closedir(d);
	buf_free(&list);
}

struct grp {
	pid_t	 g;
	int	 found;
};

static void
in_group(pid_t pid, void *arg)
{
	struct grp *gr = arg;

	if (getpgid(pid) == gr->g)
		gr->found = 1;
}

/*
 * Whether a stage's process group, its leader reaped, still has a
 * member: one of our children (what the stage left is ours).  Only then
 * may it be signalled: an empty group's id may be any new process's.
 */
static int
group_alive(pid_t g)
{
	struct grp gr = { g, 0 };

	each_child(in_group, &gr);
	return gr.found;
}

struct esc {
	struct engine	*E;
	int		 sig, warn;
};

static void
escaped_one(pid_t pid, void *arg)
{
	struct esc *x = arg;
	pid_t	 g = getpgid(pid);

	if (g == -1 || group_of(x->E, g))
		return;		/* gone, or signalled by its group */
	if (x->warn)
		warnx("a process the run started (pid %ld) is still running "
		    "outside the stages' process groups; terminating it",
		    (long)pid);
	if (g == pid)
		(void)kill(-g, x->sig);
	(void)kill(pid, x->sig);
}

/*
 * What stages left outside their process groups (setsid, a retried
 * attempt's, an ended alert command's background job): sent sig by
 * pid, its group too when it leads one.  Alert commands still running
 * are not touched.
 */
static void
signal_escaped(struct engine *E, int sig, int warn)
{
	struct esc x = { E, sig, warn };

	each_child(escaped_one, &x);
}

/* what stages' leftovers said and nobody has read yet */
static void
read_leftovers(struct engine *E)
{
	size_t	 k;

	for (k = 0; k < E->n; k++)
		if (E->rs[k].err_r != -1)
			read_stderr(E, &E->rs[k]);
}

static void
drain_children(struct engine *E)
{
	struct pollfd pfd;
	int64_t	 deadline = 0;
	int	 sent = 0;
	size_t	 i;

	read_leftovers(E);
	for (;;) {
		siginfo_t si;
		int64_t	 now;

		reap(E);
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
			break;			/* ECHILD: none left */
		if (si.si_pid != 0)
			continue;
		now = mono_ns();
		if (sent == 0) {
			for (i = 0; i < E->n; i++)
				if (killpg_left(&E->rs[i], SIGTERM))
					warnx("stage '%s' left processes "
					    "running; terminating them",
					    E->rs[i].st->name);
			signal_escaped(E, SIGTERM, 1);
			deadline = now + E->o->grace_ns;
			sent = 1;
		} else if (now >= deadline) {
			if (sent == 2)
				break;		/* unkillable: give up */
			for (i = 0; i < E->n; i++)
				(void)killpg_left(&E->rs[i], SIGKILL);
			signal_escaped(E, SIGKILL, 0);
			deadline = now + E->o->grace_ns;
			sent = 2;
		}
		pfd.fd = E->sigfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1)) == -1 &&
		    errno != EINTR)
			err(EX_OSERR, "poll");
		read_signals(E);
	}
	read_leftovers(E);	/* and what they said as they ended */
}

int
engine_run(struct pipeline *p, struct run_opts *o)
{
	struct engine E;
	int	 rc, sig;

	engine_init(&E, p, o);
	monitor_run_dir(&E);
	setup_signals(&E);
	/* orphaned descendants of stages are reaped (and measured) here */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	atexit_engine = &E;
	atexit(kill_leftovers);
	E.t0 = mono_ns();
	E.r0 = real_ns();
	E.next_sample = E.t0 + o->sample_ns;
	if (o->monitor == MON_FULL)
		E.live = live_open(&E);
	if (o->monitor != MON_OFF && o->executor != EXEC_SLURM)
		E.rss_own = taskstats_open() == 0;
	if (E.tty && !o->quiet)
		E.expected_ns = monitor_expected_wall(&E);
	if (o->executor == EXEC_SLURM)
		slurm_loop(&E);		/* slurm.c: jobs instead of processes */
	else
		loop(&E);
	drain_children(&E);
	taskstats_close();
	E.self_rss_kb = sluice_hwm_kb(1);
	monitor_run_final(&E);
	drain_alert_cmds(&E);
	sig = E.signo;
	monitor_record(&E, sig != 0 ? "interrupted" :
	    E.nfailed > 0 ? "failed" : "ok");
	if (!o->quiet)
		monitor_summary(&E);
	rc = E.nfailed > 0 ? 1 : 0;
	if (rc == 0 && o->fail_on >= 0 && E.worst_alert >= o->fail_on) {
		warnx("an alert at level '%s' or worse fired (--fail-on)",
		    alert_level_name((enum alert_level)o->fail_on));
		rc = 2;
	}
	if (E.live != NULL)
		live_close(E.live);
	atexit_engine = NULL;
	if (E.run_dir != NULL)
		o->record = xasprintf("%s/run.json", E.run_dir);
	engine_free(&E);
	if (sig != 0 && o->at_end != NULL)
		o->at_end(o);		/* a --report of the interrupted run */
	if (sig != 0) {
		sigset_t one;

		fflush(stdout);
		fflush(stderr);
		signal(sig, SIG_DFL);
		sigprocmask(SIG_SETMASK, &sluice_oldmask, NULL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		return 128 + sig;
	}
	return rc;
}
