/*
 * slurm.c: the Slurm executor (sluice-slurm(7)), run by engine_run() in
 * place of the local event loop.  Each gang (a chain of stages joined by
 * plain pipes) becomes one batch job running libexec's sluice-job on one
 * node; the other edges go through files in a shared work directory and
 * become --dependency=afterok with --kill-on-invalid-dep=yes.  One squeue
 * call per poll covers every job.  The cache is consulted before a
 * stage is submitted and filled from its output file; the wrapper's
 * wait4 figures become the same procrecs the local executor records,
 * and sacct's (one call at the end) go beside them in E->acct.  Each
 * stage's stderr file is read from where it was left on every poll, so
 * it shows while the job runs.  Exports slurm_loop().  Limits: a map
 * stage's shards run inside its one job; stdout of the run is written
 * once each sink is final, in order.
 */
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "json.h"
#include "run.h"
#include "stagecache.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define POLL_FAST_NS	100000000LL	/* squeue while jobs change */

extern char **environ;
extern sigset_t sluice_oldmask;

struct sjob {
	long		 id;		/* Slurm job id, 0: not submitted */
	int		 done;		/* final state seen */
	int		 seen;		/* listed by squeue at least once */
	int		 cancelled;	/* sluice scancelled it */
	int64_t		 submitted;	/* monotonic ns */
};

struct slurm {
	struct engine	*E;
	char		*work;		/* this run's work directory */
	char		*job_prog;	/* libexec's sluice-job */
	struct sjob	*jobs;		/* by gang head */
	int		*errfd;		/* by stage: its stderr file, -1 */
	size_t		 next_sink;
	int		 nsubmitted;
	int64_t		 last_change;
};

/* run a Slurm client command, its stdout and stderr into *out */
static int
client(char *const *argv, struct buf *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none;
	int	 p[2], status;
	pid_t	 pid;

	buf_reset(out);
	if (pipe2(p, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe2");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	posix_spawnattr_init(&sa);
	/* its own group: ^C reaches sluice, which scancels */
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&sa, 0);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&sa, &none);
	errno = posix_spawnp(&pid, argv[0], &fa, &sa, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(p[1]);
	if (errno != 0) {
		buf_printf(out, "cannot run '%s': %s", argv[0],
		    strerror(errno));
		close(p[0]);
		return -1;
	}
	(void)buf_readfd(out, p[0]);
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			err(EX_OSERR, "waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static const char *
first_line(struct buf *b)
{
	const char *s = buf_cstr(b);

	b->data[strcspn(b->data, "\n")] = '\0';
	return s;
}

static char *
path_of(struct slurm *S, const char *kind, int idx)
{
	return xasprintf("%s/%s%d%s", S->work, kind[0] == 'g' ? "g" : "s",
	    idx, kind + 1);
}

/* write buffer to path through a temporary name */
static void
write_atomic(const char *path, const struct buf *b)
{
	char	*tmp = xasprintf("%s.tmp", path);
	int	 fd;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || buf_writefd(b, fd) == -1 || close(fd) == -1)
		err(EX_CANTCREAT, "%s", tmp);
	if (rename(tmp, path) == -1)
		err(EX_CANTCREAT, "%s", path);
	free(tmp);
}

static int
copy_fd(int from, int to)
{
	char	 b[65536];
	ssize_t	 n;

	while ((n = read(from, b, sizeof(b))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (write_all(to, b, (size_t)n) == -1)
			return -1;
	}
	return 0;
}

static void
field(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s) + 1);
}

static void
fieldn(struct buf *b, long long v)
{
	char	 num[32];

	snprintf(num, sizeof(num), "%lld", v);
	field(b, num);
}

/* the job file sluice-job reads: see read_job() there */
static void
write_job(struct slurm *S, int head, const char *path)
{
	struct engine *E = S->E;
	struct buf b = { 0 };
	char	*p;
	size_t	 n = 0, i, k, s;

	for (i = (size_t)head; i != (size_t)-1; i = (size_t)E->rs[i].gang_next)
		n++;
	field(&b, "sluice-job 1");
	p = path_of(S, "g.json", head);
	field(&b, p);
	free(p);
	fieldn(&b, (long long)n);
	for (i = (size_t)head; i != (size_t)-1;
	    i = (size_t)E->rs[i].gang_next) {
		struct rstage *R = &E->rs[i];
		struct stage *st = R->st;

		field(&b, st->name);
		field(&b, R->exec_prog);
		field(&b, st->cwd);
		for (k = 0; R->exec_argv[k] != NULL; k++)
			;
		fieldn(&b, (long long)k);
		for (k = 0; R->exec_argv[k] != NULL; k++)
			field(&b, R->exec_argv[k]);
		fieldn(&b, (long long)st->nenv + 2);
		for (k = 0; k < st->nenv; k++)
			field(&b, st->env[k]);
		p = xasprintf("SLUICE_STAGE=%s", st->name);
		field(&b, p);
		free(p);
		p = xasprintf("SLUICE_RUN_ID=%s", E->run_id);
		field(&b, p);
		free(p);
		fieldn(&b, st->memory_limit);
		fieldn(&b, st->timeout_ns);
		fieldn(&b, st->retries);
		if (R->gang_next != -1)
			field(&b, "-");
		else {
			p = path_of(S, "s.out", (int)i);
			field(&b, p);
			free(p);
		}
		p = path_of(S, "s.err", (int)i);
		field(&b, p);
		free(p);
		fieldn(&b, (long long)R->nports);
		for (k = 0; k < R->nports; k++) {
			struct rport *pt = &R->ports[k];

			fieldn(&b, pt->fd);
			if (pt->direct) {
				fieldn(&b, 1);
				field(&b, "-");
				continue;
			}
			fieldn(&b, (long long)pt->nseg);
			for (s = 0; s < pt->nseg; s++) {
				p = path_of(S, "s.out", pt->segs[s].producer);
				field(&b, p);
				free(p);
			}
		}
	}
	write_atomic(path, &b);
	buf_free(&b);
}

static void
shell_quote(struct buf *b, const char *s)
{
	buf_addc(b, '\'');
	for (; *s != '\0'; s++)
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *s);
	buf_addc(b, '\'');
}

/* a producer's job ids for --dependency; -1: it can never run */
static int
add_dep(struct slurm *S, int prod, struct buf *dep, int need_final)
{
	struct engine *E = S->E;
	struct rstage *P = &E->rs[prod];
	struct sjob *J = &S->jobs[P->gang];

	if (P->state == PS_FAILED || P->state == PS_SKIPPED)
		return -1;
	if (P->state == PS_DONE || P->state == PS_CACHED)
		return 1;
	if (J->id == 0 || need_final)
		return 0;
	buf_printf(dep, "%s%ld", dep->len == 0 ? "" : ":", J->id);
	return 1;
}

/* 1 when a gang can be submitted, dep filled; 0: not yet; -1: never */
static int
gang_deps(struct slurm *S, int head, struct buf *dep)
{
	struct engine *E = S->E;
	size_t	 i, k, s;
	int	 r;

	buf_reset(dep);
	for (i = (size_t)head; i != (size_t)-1;
	    i = (size_t)E->rs[i].gang_next) {
		struct rstage *R = &E->rs[i];

		for (k = 0; k < R->nports; k++) {
			if (R->ports[k].direct)
				continue;
			for (s = 0; s < R->ports[k].nseg; s++)
				if ((r = add_dep(S, R->ports[k].segs[s].producer,
				    dep, R->cacheable)) != 1)
					return r;
		}
		for (k = 0; k < R->st->nafter; k++)
			if ((r = add_dep(S, R->st->after[k], dep,
			    R->cacheable)) != 1)
				return r;
	}
	return 1;
}

static void
gang_skip(struct slurm *S, int head, const char *why)
{
	struct engine *E = S->E;
	size_t	 i;

	for (i = (size_t)head; i != (size_t)-1; i = (size_t)E->rs[i].gang_next)
		if (E->rs[i].state == PS_WAITING) {
			free(E->rs[i].reason);
			E->rs[i].reason = xstrdup(why);
			stage_set(E, &E->rs[i], PS_SKIPPED);
			count_finished(E, &E->rs[i]);
		}
	S->jobs[head].done = 1;
}

static int	sinks_flush(struct slurm *);

/* a cache hit: the stored output becomes the stage's output file */
static int
cached(struct slurm *S, struct rstage *R)
{
	struct engine *E = S->E;
	char	*path, *tmp;
	int	 fd;

	if (!scache_try_hit(E, R))
		return 0;
	path = path_of(S, "s.out", R->st->idx);
	tmp = xasprintf("%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || copy_fd(R->out_r, fd) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1)
		err(EX_CANTCREAT, "%s", tmp);
	free(tmp);
	free(path);
	close(R->out_r);
	R->out_r = -1;
	stage_set(E, R, PS_CACHED);
	monitor_cached(E, R);
	scache_replay_err(E, R);
	count_finished(E, R);
	S->jobs[R->st->idx].done = 1;
	return 1;
}

static void
submit(struct slurm *S, int head, const struct buf *dep)
{
	struct engine *E = S->E;
	struct buf b = { 0 }, out = { 0 };
	char	*job, *script, *log, **argv;
	size_t	 n = 0, i, gsize = 0;
	int64_t	 mem = 0, tmo = 0;
	int	 mem_all = 1, tmo_all = 1, cpus;
	long	 id;

	job = path_of(S, "g.job", head);
	script = path_of(S, "g.sh", head);
	log = path_of(S, "g.log", head);
	write_job(S, head, job);
	buf_adds(&b, "#!/bin/sh\nexec ");
	shell_quote(&b, S->job_prog);
	buf_addc(&b, ' ');
	shell_quote(&b, job);
	buf_addc(&b, '\n');
	write_atomic(script, &b);
	for (i = (size_t)head; i != (size_t)-1;
	    i = (size_t)E->rs[i].gang_next) {
		struct stage *st = E->rs[i].st;

		gsize++;
		mem += st->memory_limit;
		mem_all &= st->memory_limit > 0;
		if (st->timeout_ns > tmo)
			tmo = st->timeout_ns;
		tmo_all &= st->timeout_ns > 0;
	}
	cpus = (int)gsize < E->jobs ? (int)gsize : E->jobs;
	argv = xcalloc(18 + E->p->nslurm_opts + E->o->nslurm_opts,
	    sizeof(char *));
	argv[n++] = xstrdup("sbatch");
	argv[n++] = xstrdup("--parsable");
	argv[n++] = xasprintf("--job-name=sluice:%s", E->rs[head].st->name);
	argv[n++] = xasprintf("--output=%s", log);
	argv[n++] = xasprintf("--chdir=%s", S->work);
	argv[n++] = xstrdup("--nodes=1");
	argv[n++] = xstrdup("--ntasks=1");
	argv[n++] = xasprintf("--cpus-per-task=%d", cpus);
	if (mem_all)		/* megabytes, rounded up */
		argv[n++] = xasprintf("--mem=%lldM",
		    (long long)((mem + 1048575) / 1048576));
	if (tmo_all)		/* minutes, with one to spare for start-up */
		argv[n++] = xasprintf("--time=%lld",
		    (long long)(tmo / 60000000000LL + 2));
	if (dep->len > 0) {
		argv[n++] = xasprintf("--dependency=afterok:%s", dep->data);
		argv[n++] = xstrdup("--kill-on-invalid-dep=yes");
	}
	/* the file's settings, then --slurm-opt: sbatch lets the last
	 * of an option win */
	if (E->p->slurm_partition != NULL)
		argv[n++] = xasprintf("--partition=%s",
		    E->p->slurm_partition);
	if (E->p->slurm_account != NULL)
		argv[n++] = xasprintf("--account=%s", E->p->slurm_account);
	for (i = 0; i < E->p->nslurm_opts; i++)
		argv[n++] = xstrdup(E->p->slurm_opts[i]);
	for (i = 0; i < E->o->nslurm_opts; i++)
		argv[n++] = xstrdup(E->o->slurm_opts[i]);
	argv[n++] = xstrdup(script);
	argv[n] = NULL;
	if (E->o->verbose) {
		status_clear(E);
		fprintf(stderr, "+ sbatch:");
		for (i = 1; i < n; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}
	if (client(argv, &out) == -1 ||
	    (id = strtol(buf_cstr(&out), NULL, 10)) <= 0) {
		struct rstage *R = &E->rs[head];

		for (i = (size_t)head; i != (size_t)-1;
		    i = (size_t)E->rs[i].gang_next) {
			stage_set(E, &E->rs[i], PS_RUNNING);
			stage_set(E, &E->rs[i], PS_EXITED);
		}
		free(R->reason);
		R->reason = xasprintf("cannot be submitted: sbatch: %s",
		    first_line(&out));
		id = -1;
	} else
		for (i = (size_t)head; i != (size_t)-1;
		    i = (size_t)E->rs[i].gang_next) {
			struct rstage *R = &E->rs[i];

			stage_set(E, R, PS_RUNNING);
			R->t_start = mono_ns();
			R->r_start = real_ns();
			R->pid = 0;
		}
	S->jobs[head].id = id;
	S->jobs[head].submitted = mono_ns();
	S->nsubmitted++;
	S->last_change = mono_ns();
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
	buf_free(&b);
	buf_free(&out);
	free(job);
	free(script);
	free(log);
}

static void	gang_finished(struct slurm *, int, const char *);

static void
schedule_jobs(struct slurm *S)
{
	struct engine *E = S->E;
	struct buf dep = { 0 };
	size_t	 i;

	if (E->stopping)
		return;
	for (i = 0; i < E->n; i++) {
		int	 head = E->p->order[i], r;
		struct rstage *R = &E->rs[head];

		if (R->gang != head || R->state != PS_WAITING)
			continue;
		if ((r = gang_deps(S, head, &dep)) == -1)
			gang_skip(S, head, "upstream failed");
		else if (r == 1 && !cached(S, R)) {
			submit(S, head, &dep);
			if (S->jobs[head].id == -1)
				gang_finished(S, head, NULL);
		}
	}
	buf_free(&dep);
	sinks_flush(S);
}

/* the wrapper's figures for one stage, as if reaped here */
static void
take_figures(struct slurm *S, struct rstage *R, const struct json *j,
    int t)
{
	struct engine *E = S->E;
	static const char *const keys[] = { "pid", "status", "timed_out",
	    "start_ns", "end_ns", "utime_us", "stime_us", "maxrss_kb",
	    "minflt", "majflt", "nvcsw", "nivcsw", "rchar", "wchar",
	    "read_bytes", "write_bytes", "attempt" };
	long long v[sizeof(keys) / sizeof(keys[0])];
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_int(j, json_get(j, t, keys[i]), &v[i]) == -1)
			v[i] = 0;
	R->pid = (pid_t)v[0];
	R->status = (int)v[1];
	R->timed_out = (int)v[2];
	/* the node's clock against ours: only durations are kept exact */
	R->r_start = v[3];
	R->t_start = E->t0 + (v[3] - E->r0);
	R->t_end = R->t_start + (v[4] - v[3]);
	memset(&R->ru, 0, sizeof(R->ru));
	R->ru.ru_utime.tv_sec = v[5] / 1000000;
	R->ru.ru_utime.tv_usec = v[5] % 1000000;
	R->ru.ru_stime.tv_sec = v[6] / 1000000;
	R->ru.ru_stime.tv_usec = v[6] % 1000000;
	R->ru.ru_maxrss = (long)v[7];
	R->ru.ru_minflt = (long)v[8];
	R->ru.ru_majflt = (long)v[9];
	R->ru.ru_nvcsw = (long)v[10];
	R->ru.ru_nivcsw = (long)v[11];
	R->io_rchar = v[12];
	R->io_wchar = v[13];
	R->io_read = v[14];
	R->io_write = v[15];
	if (v[16] > 0)
		R->attempt = (int)v[16];
}

/*
 * What a stage wrote to stderr since the last look: the wrapper
 * appends it to the stage's file in the work directory, read here on
 * every poll from where the last read ended, so lines show (prefixed
 * as the local executor does) while the job runs.
 */
static void
tail_stderr(struct slurm *S, struct rstage *R)
{
	struct engine *E = S->E;
	int	*fd = &S->errfd[R->st->idx];
	ssize_t	 n;

	if (*fd == -1) {
		char	*path = path_of(S, "s.err", R->st->idx);

		*fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (*fd == -1)
			return;		/* not started yet */
	}
	while ((n = read(*fd, E->iobuf, sizeof(E->iobuf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		stage_stderr(E, R, E->iobuf, (size_t)n);
	}
}

/* every running job's stages: their new stderr */
static void
tail_all(struct slurm *S)
{
	struct engine *E = S->E;
	size_t	 i;

	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];

		if (R->state == PS_RUNNING && S->jobs[R->gang].id > 0)
			tail_stderr(S, R);
	}
}

/* the rest of a stage's stderr once its job ended; a last line
 * without a newline shows too */
static void
take_stderr(struct slurm *S, struct rstage *R)
{
	int	*fd = &S->errfd[R->st->idx];

	tail_stderr(S, R);
	if (R->errline.len > 0)
		stage_stderr(S->E, R, "\n", 1);
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static const char *
sig_name(int sig)
{
	static char buf[32];
	const char *a = sigabbrev_np(sig);

	if (a == NULL)
		snprintf(buf, sizeof(buf), "signal %d", sig);
	else
		snprintf(buf, sizeof(buf), "SIG%s", a);
	return buf;
}

/* store a cacheable stage's output file; its digest for consumers */
static void
take_output(struct slurm *S, struct rstage *R)
{
	struct engine *E = S->E;
	struct stat sb;
	char	*path;
	int	 fd, tmp;

	if (!R->hash_out && !R->cacheable)
		return;
	path = path_of(S, "s.out", R->st->idx);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		warn("stage '%s': %s", R->st->name, path);
		if (fd != -1)
			close(fd);
		free(path);
		return;
	}
	R->out_bytes = sb.st_size;
	if (digest_file(path, &R->out_digest) == -1)
		warn("%s", path);
	if (R->cacheable && E->cache != NULL && R->st->noutputs > 0)
		scache_done(E, R);	/* its files, not its stdout */
	else if (R->cacheable && E->cache != NULL) {
		if ((tmp = cache_tmpfile(E->cache)) == -1 ||
		    copy_fd(fd, tmp) == -1 ||
		    cache_store_fd(E->cache, R->cat, &R->key, tmp,
		    (uint64_t)sb.st_size, &R->out_digest,
		    R->t_end - R->t_start) == -1)
			warnx("stage '%s': output not cached: %s", R->st->name,
			    cache_error(E->cache));
		else
			scache_store_err(E, R);
		if (tmp != -1)
			close(tmp);
	}
	close(fd);
	free(path);
}

static void
fail_fast(struct slurm *S);

/*
 * A gang's job ended: state is Slurm's word for it (NULL: never
 * submitted).  Its stages become DONE or FAILED from the result file.
 */
static void
gang_finished(struct slurm *S, int head, const char *state)
{
	struct engine *E = S->E;
	struct buf b = { 0 };
	struct json j;
	char	*path = path_of(S, "g.json", head);
	size_t	 i;
	int	 have = 0, t, failed = 0;
	struct rstage *bad = NULL;	/* a failed member upstream */

	S->jobs[head].done = 1;
	S->last_change = mono_ns();
	if (state != NULL && buf_readfile(&b, path) == 0 &&
	    json_parse(&j, path, b.data, b.len, 1) == 0)
		have = 1;
	t = have ? json_get(&j, 0, "stages") : -1;
	if (t != -1)
		t++;			/* the first element */
	for (i = (size_t)head; i != (size_t)-1;
	    i = (size_t)E->rs[i].gang_next) {
		struct rstage *R = &E->rs[i];
		long long ok = 0;

		if (R->state == PS_RUNNING)
			stage_set(E, R, PS_STOPPING);
		if (have && t != -1 && t < j.ntok) {
			take_figures(S, R, &j, t);
			(void)json_int(&j, json_get(&j, t, "ok"), &ok);
			t = json_next(&j, t);
		} else {
			R->t_end = mono_ns();
			R->status = 0;
		}
		R->reaped = 1;
		stage_set(E, R, PS_EXITED);
		if (state != NULL)
			take_stderr(S, R);
		monitor_reaped(E, R);
		if (ok && bad != NULL) {
			ok = 0;
			R->cancelled = 1;
			free(R->reason);
			R->reason = xasprintf("cancelled: upstream stage '%s' "
			    "failed", bad->st->name);
		}
		if (ok) {
			stage_set(E, R, PS_DONE);
			take_output(S, R);
			count_finished(E, R);
			monitor_stage_final(E, R);
			continue;
		}
		if (R->reason != NULL)
			;
		else if (!have && state != NULL &&
		    strcmp(state, "CANCELLED") == 0) {
			R->cancelled = 1;
			R->reason = xstrdup(E->stopping ? "cancelled" :
			    "cancelled: an upstream stage failed");
		} else if (!have)
			R->reason = xasprintf("job %ld ended %s without a "
			    "result (see %s/g%d.log)", S->jobs[head].id,
			    state != NULL ? state : "unsubmitted", S->work,
			    head);
		else if (R->timed_out) {
			char	 d[32];

			fmt_duration(R->st->timeout_ns, d, sizeof(d));
			R->reason = xasprintf("timed out after %s (timeout)",
			    d);
		} else if (WIFSIGNALED(R->status)) {
			R->reason = xasprintf("killed by %s",
			    sig_name(WTERMSIG(R->status)));
			R->cancelled = E->stopping;
		} else
			R->reason = xasprintf("exited with status %d",
			    WEXITSTATUS(R->status));
		/* a stage of a job sluice cancelled ends as it may (a shell
		 * can turn SIGTERM into status 143): it was cancelled, as
		 * the local executor says of what it stops */
		if (S->jobs[head].cancelled)
			R->cancelled = 1;
		stage_set(E, R, PS_FAILED);
		if (bad == NULL)
			bad = R;
		count_finished(E, R);
		monitor_stage_final(E, R);
		if (!R->cancelled && !E->stopping) {
			E->nfailed++;
			if (E->first_failed == -1)
				E->first_failed = R->st->idx;
			print_failure(E, R);
			failed = 1;
		}
	}
	if (have)
		json_free(&j);
	buf_free(&b);
	free(path);
	if (failed && !E->o->keep_going)
		fail_fast(S);
	sinks_flush(S);
}

/* one squeue call for every job still out; -1 when squeue fails */
static int
poll_jobs(struct slurm *S)
{
	struct engine *E = S->E;
	struct buf ids = { 0 }, out = { 0 };
	char	*argv[8];
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < E->n; i++)
		if (S->jobs[i].id > 0 && !S->jobs[i].done) {
			buf_printf(&ids, "%s%ld", n == 0 ? "" : ",",
			    S->jobs[i].id);
			n++;
		}
	if (n == 0) {
		buf_free(&ids);
		return 0;
	}
	argv[0] = xstrdup("squeue");
	argv[1] = xstrdup("--noheader");
	argv[2] = xstrdup("--states=all");
	argv[3] = xasprintf("--jobs=%s", ids.data);
	argv[4] = xstrdup("--format=%i %T");
	argv[5] = NULL;
	if (client(argv, &out) == -1) {
		/* a job long gone makes squeue fail: ask for each alone
		 * next time is not needed; the result files tell */
		warnx("squeue: %s", first_line(&out));
		for (i = 0; argv[i] != NULL; i++)
			free(argv[i]);
		buf_free(&ids);
		buf_free(&out);
		return -1;
	}
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	for (i = 0; i < E->n; i++) {
		struct sjob *J = &S->jobs[i];
		char	 key[32];
		const char *st = NULL, *line;
		size_t	 kl;

		if (J->id <= 0 || J->done)
			continue;
		kl = (size_t)snprintf(key, sizeof(key), "%ld ", J->id);
		for (line = buf_cstr(&out); *line != '\0';
		    line += strcspn(line, "\n") + (line[strcspn(line, "\n")] !=
		    '\0'))
			if (strncmp(line, key, kl) == 0) {
				st = line + kl;
				break;
			}
		if (st == NULL) {
			/* purged from the controller: the result decides */
			if (J->seen || mono_ns() - J->submitted >
			    30000000000LL) {
				char	*r = path_of(S, "g.json", (int)i);

				gang_finished(S, (int)i, access(r, F_OK) == 0 ?
				    "COMPLETED" : "VANISHED");
				free(r);
			}
			continue;
		}
		J->seen = 1;
		if (strncmp(st, "PENDING", 7) == 0 ||
		    strncmp(st, "RUNNING", 7) == 0 ||
		    strncmp(st, "CONFIGURING", 11) == 0 ||
		    strncmp(st, "COMPLETING", 10) == 0 ||
		    strncmp(st, "REQUEUED", 8) == 0 ||
		    strncmp(st, "RESIZING", 8) == 0 ||
		    strncmp(st, "SUSPENDED", 9) == 0 ||
		    strncmp(st, "STAGE_OUT", 9) == 0 ||
		    strncmp(st, "SIGNALING", 9) == 0)
			continue;
		{
			char	*word = xstrdup(st);

			word[strcspn(word, " \n")] = '\0';
			gang_finished(S, (int)i, word);
			free(word);
		}
	}
	buf_free(&ids);
	buf_free(&out);
	return 0;
}

/* scancel every job still out; wait until none runs, bounded */
static void
cancel_all(struct slurm *S)
{
	struct engine *E = S->E;
	struct buf out = { 0 };
	char	**argv;
	size_t	 i, n = 0;
	int64_t	 until;

	argv = xcalloc(E->n + 3, sizeof(char *));
	argv[n++] = xstrdup("scancel");
	for (i = 0; i < E->n; i++)
		if (S->jobs[i].id > 0 && !S->jobs[i].done) {
			argv[n++] = xasprintf("%ld", S->jobs[i].id);
			S->jobs[i].cancelled = 1;
		}
	if (n > 1 && client(argv, &out) == -1)
		warnx("scancel: %s", first_line(&out));
	for (i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	buf_free(&out);
	if (n == 1)
		return;
	until = mono_ns() + E->o->grace_ns + 10000000000LL;
	for (;;) {
		int	 left = 0;

		if (poll_jobs(S) == -1)
			break;
		for (i = 0; i < E->n; i++)
			left += S->jobs[i].id > 0 && !S->jobs[i].done;
		if (left == 0 || mono_ns() > until)
			break;
		(void)poll(NULL, 0, 100);
	}
}

static void
skip_waiting(struct slurm *S, const char *why)
{
	struct engine *E = S->E;
	size_t	 i;

	for (i = 0; i < E->n; i++)
		if (E->rs[i].gang == (int)i && E->rs[i].state == PS_WAITING)
			gang_skip(S, (int)i, why);
}

static void
fail_fast(struct slurm *S)
{
	S->E->stopping = 1;
	skip_waiting(S, "run stopped");
	cancel_all(S);
}

/* sluice's stdout: each sink's output file once it and those before
 * it are final, in declaration order */
static int
sinks_flush(struct slurm *S)
{
	struct engine *E = S->E;

	while (S->next_sink < E->out.nseg) {
		struct rstage *R = &E->rs[E->out.segs[S->next_sink].producer];
		char	*path;
		int	 fd;

		if (R->state != PS_DONE && R->state != PS_CACHED &&
		    R->state != PS_FAILED && R->state != PS_SKIPPED)
			return 0;
		if (R->state == PS_DONE || R->state == PS_CACHED) {
			path = path_of(S, "s.out", R->st->idx);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
			    copy_fd(fd, 1) == -1)
				warn("stage '%s': %s", R->st->name, path);
			if (fd != -1)
				close(fd);
			free(path);
		}
		S->next_sink++;
	}
	return 1;
}

/* sacct's [D-][HH:]MM:SS[.mmm] in microseconds, -1: empty or bad */
static int64_t
acct_duration(const char *s)
{
	int64_t	 days = 0, v = 0, f[3] = { 0, 0, 0 }, us = 0;
	const char *dash = strchr(s, '-');
	char	*end;
	int	 n = 0, k;

	if (*s == '\0' || strncmp(s, "INVALID", 7) == 0)
		return -1;
	if (dash != NULL) {
		days = strtoll(s, &end, 10);
		if (end != dash)
			return -1;
		s = dash + 1;
	}
	for (;;) {
		v = strtoll(s, &end, 10);
		if (end == s || n == 3)
			return -1;
		f[n++] = v;
		if (*end != ':')
			break;
		s = end + 1;
	}
	if (*end == '.') {
		s = end + 1;
		for (k = 0; k < 6; k++)
			us = us * 10 + (isdigit((unsigned char)*s) ?
			    *s++ - '0' : 0);
	} else if (*end != '\0')
		return -1;
	/* one field: seconds; two: MM:SS; three: HH:MM:SS */
	v = n == 1 ? f[0] : n == 2 ? f[0] * 60 + f[1] :
	    f[0] * 3600 + f[1] * 60 + f[2];
	return (days * 86400 + v) * 1000000 + us;
}

/* sacct's 1234K, 12.5M, 0 in kilobytes, -1: empty */
static long
acct_kb(const char *s)
{
	char	*end;
	double	 v;

	if (*s == '\0')
		return -1;
	v = strtod(s, &end);
	switch (*end) {
	case 'M':
		v *= 1024;
		break;
	case 'G':
		v *= 1024 * 1024;
		break;
	case 'T':
		v *= 1024.0 * 1024 * 1024;
		break;
	case 'K':
	case '\0':
		break;
	default:
		v /= 1024;	/* bytes */
	}
	return (long)(v + 0.5);
}

/* sacct's 2026-11-30T10:16:00, seconds (an arbitrary zone), -1 */
static int64_t
acct_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

enum { AF_ID, AF_STATE, AF_EXIT, AF_ELAPSED, AF_CPU, AF_RSS, AF_NODE,
	AF_SUBMIT, AF_START, AF_END, AF_COUNT };

/* one line of sacct -P: the job's own, or one of its steps' */
static void
acct_line(struct slurm *S, char *line)
{
	struct engine *E = S->E;
	struct jobacct *a = NULL;
	char	*f[AF_COUNT], *end;
	size_t	 i;
	long	 id;
	int	 n = 0;
	int64_t	 t0, t1;

	for (f[n++] = line; n < AF_COUNT; f[n++] = end + 1)
		if ((end = strchr(f[n - 1], '|')) == NULL)
			return;
		else
			*end = '\0';
	f[AF_END][strcspn(f[AF_END], "|")] = '\0';
	id = strtol(f[AF_ID], &end, 10);
	for (i = 0; i < E->n; i++)
		if (S->jobs[i].id == id && id > 0)
			a = &E->acct[i];
	if (a == NULL)
		return;
	if (acct_kb(f[AF_RSS]) > a->rss_kb)
		a->rss_kb = acct_kb(f[AF_RSS]);
	if (*end != '\0')
		return;			/* a step: only its MaxRSS */
	free(a->state);
	a->state = xstrndup(f[AF_STATE], strcspn(f[AF_STATE], " "));
	free(a->exit_code);
	a->exit_code = xstrdup(f[AF_EXIT]);
	free(a->node);
	a->node = xstrdup(f[AF_NODE]);
	if ((t0 = acct_duration(f[AF_ELAPSED])) >= 0)
		a->elapsed_s = t0 / 1000000;
	a->cpu_us = acct_duration(f[AF_CPU]);
	t0 = acct_time(f[AF_SUBMIT]);
	t1 = acct_time(f[AF_START]);
	a->wait_s = t0 >= 0 && t1 >= t0 ? t1 - t0 : -1;
}

/*
 * Slurm's accounting of every job submitted, one sacct call for all:
 * from the accounting database where there is one, else (-c) from the
 * job completion log, which has no TotalCPU or MaxRSS.  The wrapper's
 * wait4 figures stay the stages' own; these go beside them.
 */
static void
acct_fetch(struct slurm *S)
{
	struct engine *E = S->E;
	struct buf ids = { 0 }, out = { 0 };
	char	*argv[10], *line, *nl;
	size_t	 i, n;
	int	 pass, rc;

	E->acct = xcalloc(E->n + 1, sizeof(*E->acct));
	for (i = 0; i < E->n; i++) {
		struct jobacct *a = &E->acct[i];

		a->job = S->jobs[i].id > 0 ? S->jobs[i].id : 0;
		a->wait_s = a->elapsed_s = a->cpu_us = -1;
		a->rss_kb = -1;
		if (a->job > 0)
			buf_printf(&ids, "%s%ld", ids.len == 0 ? "" : ",",
			    a->job);
	}
	if (ids.len == 0) {
		buf_free(&ids);
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		n = 0;
		argv[n++] = xstrdup("sacct");
		argv[n++] = xstrdup("--noheader");
		argv[n++] = xstrdup("--parsable2");
		if (pass == 1)
			argv[n++] = xstrdup("--completion");
		argv[n++] = xasprintf("--jobs=%s", ids.data);
		argv[n++] = xstrdup("--format=JobIDRaw,State,ExitCode,"
		    "Elapsed,TotalCPU,MaxRSS,NodeList,Submit,Start,End");
		argv[n] = NULL;
		rc = client(argv, &out);
		for (n = 0; argv[n] != NULL; n++)
			free(argv[n]);
		if (rc == 0 && out.len > 0)
			break;
	}
	if (pass < 2) {
		for (line = (char *)buf_cstr(&out); *line != '\0'; line = nl) {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl++ = '\0';
			else
				nl = line + strlen(line);
			acct_line(S, line);
		}
		for (i = 0; i < E->n; i++)
			if (E->acct[i].state != NULL)
				E->acct[i].source = pass == 0 ? "sacct" :
				    "jobcomp";
	}
	buf_free(&ids);
	buf_free(&out);
}

static int
rm_one(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	return remove(path);
}

static int
all_done(struct slurm *S)
{
	struct engine *E = S->E;
	size_t	 i;

	for (i = 0; i < E->n; i++)
		if (E->rs[i].state != PS_DONE && E->rs[i].state != PS_CACHED &&
		    E->rs[i].state != PS_FAILED && E->rs[i].state != PS_SKIPPED)
			return 0;
	return 1;
}

static void
signals(struct slurm *S)
{
	struct engine *E = S->E;
	struct signalfd_siginfo si;

	while (read(E->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGTSTP ||
		    si.ssi_signo == SIGCONT)
			continue;
		if (E->signo == 0) {
			E->signo = (int)si.ssi_signo;
			status_clear(E);
			E->stopping = 1;
			skip_waiting(S, "run stopped");
			cancel_all(S);
		}
	}
}

/* where the jobs' files go: --workdir, the file's "workdir", else
 * beside the pipeline */
static char *
work_dir(struct engine *E)
{
	const char *base = E->o->workdir != NULL ? E->o->workdir :
	    E->p->slurm_workdir;
	char	*dflt = NULL, *run;

	if (base == NULL)
		base = dflt = xasprintf("%s/.sluice-work", E->p->dir);
	if (mkdir(base, 0755) == -1 && errno != EEXIST)
		err(EX_CANTCREAT, "cannot create work directory '%s'", base);
	run = xasprintf("%s/%s", base, E->run_id != NULL ? E->run_id :
	    "run");
	if (mkdir(run, 0755) == -1 && errno != EEXIST)
		err(EX_CANTCREAT, "cannot create work directory '%s'", run);
	free(dflt);
	if (run[0] != '/') {
		char	*cwd = getcwd(NULL, 0), *abs;

		if (cwd == NULL)
			err(EX_OSERR, "getcwd");
		abs = xasprintf("%s/%s", cwd, run);
		free(cwd);
		free(run);
		run = abs;
	}
	return run;
}

void
slurm_loop(struct engine *E)
{
	struct slurm S;
	struct stat sb;
	size_t	 i;
	int64_t	 next;

	memset(&S, 0, sizeof(S));
	S.E = E;
	S.jobs = xcalloc(E->n + 1, sizeof(*S.jobs));
	S.errfd = xcalloc(E->n + 1, sizeof(*S.errfd));
	for (i = 0; i < E->n; i++)
		S.errfd[i] = -1;
	S.job_prog = xasprintf("%s/sluice-job", libexec_dir());
	if (stat(S.job_prog, &sb) == -1)
		err(EX_SOFTWARE, "cannot find the job wrapper '%s'",
		    S.job_prog);
	S.work = work_dir(E);
	S.last_change = mono_ns();
	/* preload skipped some already; their gangs are settled */
	for (i = 0; i < E->n; i++)
		if (E->rs[i].gang == (int)i && E->rs[i].state == PS_SKIPPED)
			S.jobs[i].done = 1;
	schedule_jobs(&S);
	/*
	 * One squeue per poll, on a clock of its own: every 100 ms while
	 * things change, slower when they do not.  The signalfd wakes the
	 * wait early for INT/TERM, and for the SIGCHLD of each client
	 * command, which must not bring the next poll forward.
	 */
	next = mono_ns() + POLL_FAST_NS;
	while (!all_done(&S)) {
		struct pollfd pfd;
		int64_t	 now = mono_ns(), quiet;

		if (now >= next) {
			tail_all(&S);
			(void)poll_jobs(&S);
			schedule_jobs(&S);
			if (E->stopping)
				skip_waiting(&S, "run stopped");
			now = mono_ns();
			quiet = now - S.last_change;
			next = now + (quiet < 2000000000LL ? POLL_FAST_NS :
			    quiet < 10000000000LL ? 250000000LL : 1000000000LL);
			continue;
		}
		show_status(E);
		pfd.fd = E->sigfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)((next - now) / 1000000 + 1)) == -1 &&
		    errno != EINTR)
			err(EX_OSERR, "poll");
		signals(&S);
	}
	sinks_flush(&S);
	acct_fetch(&S);
	status_clear(E);
	if (!E->o->quiet)
		fprintf(stderr, "sluice: %d job%s submitted to Slurm\n",
		    S.nsubmitted, S.nsubmitted == 1 ? "" : "s");
	/* node pids mean nothing here: never signal them */
	for (i = 0; i < E->n; i++)
		E->rs[i].pid = 0;
	/* closed before the files go: NFS keeps an open file's name */
	for (i = 0; i < E->n; i++)
		if (S.errfd[i] != -1)
			close(S.errfd[i]);
	/* a clean run leaves nothing behind; a failed one its files */
	if (E->nfailed == 0 && E->signo == 0) {
		(void)nftw(S.work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		*strrchr(S.work, '/') = '\0';
		(void)rmdir(S.work);	/* the default one, once empty */
	}
	free(S.errfd);
	free(S.work);
	free(S.job_prog);
	free(S.jobs);
}
