/*
 * monitor.c: measurements of a run.  /proc/PID/io is read while the
 * zombie exists (reap() in loop.c), rusage comes from wait4.  Writes the
 * --trace file (one JSON line per process), the run record
 * (STATE/runs/ID/run.json, atomically) and one line per run appended to
 * STATE/history.jsonl; prints the end-of-run summary.  The state
 * directory is --state-dir, $SLUICE_STATE_DIR, $XDG_STATE_HOME/sluice or
 * ~/.local/state/sluice.  Linux-only: /proc.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

static int64_t
io_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p != NULL ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* no stdio: one open, one read, one close per process */
void
monitor_read_io(struct rstage *R)
{
	char	 path[64], text[512];
	ssize_t	 n;
	int	 fd;

	R->io_rchar = R->io_wchar = R->io_read = R->io_write = 0;
	snprintf(path, sizeof(path), "/proc/%d/io", (int)R->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	R->io_rchar = io_field(text, "rchar: ");
	R->io_wchar = io_field(text, "wchar: ");
	R->io_read = io_field(text, "read_bytes: ");
	R->io_write = io_field(text, "write_bytes: ");
}

static int64_t
tv_us(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static const char *
state_name(enum pstate s)
{
	static const char *const n[] = { "waiting", "running", "stopping",
	    "exited", "done", "failed", "cached", "skipped" };

	return n[s];
}

/* the measurements of one process as members of the current object */
static void
put_proc(struct jw *w, struct engine *E, struct rstage *R)
{
	jw_key(w, "stage");
	jw_str(w, R->st->name);
	jw_key(w, "attempt");
	jw_int(w, R->attempt);
	jw_key(w, "pid");
	jw_int(w, R->pid);
	jw_key(w, "start_us");
	jw_int(w, (R->t_start - E->t0) / 1000);
	jw_key(w, "wall_us");
	jw_int(w, (R->t_end - R->t_start) / 1000);
	jw_key(w, "user_us");
	jw_int(w, tv_us(&R->ru.ru_utime));
	jw_key(w, "sys_us");
	jw_int(w, tv_us(&R->ru.ru_stime));
	jw_key(w, "max_rss_kb");
	jw_int(w, R->ru.ru_maxrss);
	jw_key(w, "minflt");
	jw_int(w, R->ru.ru_minflt);
	jw_key(w, "majflt");
	jw_int(w, R->ru.ru_majflt);
	jw_key(w, "inblock");
	jw_int(w, R->ru.ru_inblock);
	jw_key(w, "oublock");
	jw_int(w, R->ru.ru_oublock);
	jw_key(w, "nvcsw");
	jw_int(w, R->ru.ru_nvcsw);
	jw_key(w, "nivcsw");
	jw_int(w, R->ru.ru_nivcsw);
	jw_key(w, "rchar");
	jw_int(w, R->io_rchar);
	jw_key(w, "wchar");
	jw_int(w, R->io_wchar);
	jw_key(w, "read_bytes");
	jw_int(w, R->io_read);
	jw_key(w, "write_bytes");
	jw_int(w, R->io_write);
	jw_key(w, "exit");
	if (WIFEXITED(R->status))
		jw_int(w, WEXITSTATUS(R->status));
	else
		jw_null(w);
	jw_key(w, "signal");
	if (WIFSIGNALED(R->status))
		jw_int(w, WTERMSIG(R->status));
	else
		jw_null(w);
	jw_key(w, "timed_out");
	jw_bool(w, R->timed_out);
	jw_key(w, "cache");
	jw_str(w, R->st->cache == NULL || E->o->no_cache ? "off" : "miss");
}

void
monitor_trace(struct engine *E, struct rstage *R)
{
	struct buf b = { 0 };
	struct jw w;

	if (E->trace == NULL)
		return;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_key(&w, "run");
	jw_str(&w, E->run_id);
	put_proc(&w, E, R);
	jw_obj_end(&w);
	buf_addc(&b, '\n');
	if (fwrite(b.data, 1, b.len, E->trace) != b.len ||
	    fflush(E->trace) != 0)
		warn("trace file");
	buf_free(&b);
}

char *
monitor_state_dir(const char *opt)
{
	const char *e;

	if (opt != NULL)
		return xstrdup(opt);
	if ((e = getenv("SLUICE_STATE_DIR")) != NULL && *e != '\0')
		return xstrdup(e);
	if ((e = getenv("XDG_STATE_HOME")) != NULL && *e == '/')
		return xasprintf("%s/sluice", e);
	if ((e = getenv("HOME")) != NULL && *e == '/')
		return xasprintf("%s/.local/state/sluice", e);
	return xstrdup("/tmp/sluice-state");
}

static int
mkdirs(const char *path, mode_t mode)
{
	char	*p = xstrdup(path), *s;
	int	 rc = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char	 c = *s;

			*s = '\0';
			if (mkdir(p, mode) == -1 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

int
monitor_run_dir(struct engine *E)
{
	char	 stamp[32];
	char	*state;
	time_t	 t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	E->run_id = xasprintf("%s-%d", stamp, (int)getpid());
	if (E->o->trace != NULL &&
	    (E->trace = fopen(E->o->trace, "we")) == NULL)
		err(EX_CANTCREAT, "cannot write trace file '%s'", E->o->trace);
	if (E->o->dry_run)
		return 0;
	state = monitor_state_dir(E->o->state_dir);
	E->run_dir = xasprintf("%s/runs/%s", state, E->run_id);
	if (mkdirs(E->run_dir, 0700) == -1) {
		warn("cannot create run directory '%s'; no logs kept",
		    E->run_dir);
		free(E->run_dir);
		E->run_dir = NULL;
	}
	free(state);
	return 0;
}

static void
totals(struct engine *E, int64_t *cpu_us, long *peak_kb, int *slowest)
{
	size_t	 i;
	int64_t	 worst = -1;

	*cpu_us = 0;
	*peak_kb = 0;
	*slowest = -1;
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];

		if (!R->reaped)
			continue;
		*cpu_us += tv_us(&R->ru.ru_utime) + tv_us(&R->ru.ru_stime);
		if (R->ru.ru_maxrss > *peak_kb)
			*peak_kb = R->ru.ru_maxrss;
		if (R->t_end - R->t_start > worst) {
			worst = R->t_end - R->t_start;
			*slowest = (int)i;
		}
	}
}

/* the stages this one waits for: data producers, then "after" */
static void
put_deps(struct jw *w, struct engine *E, const struct stage *st)
{
	size_t	 i, k;

	jw_arr(w);
	for (i = 0; i < st->nports; i++)
		for (k = 0; k < st->ports[i].nsrc; k++)
			jw_str(w, E->p->stages[st->ports[i].src[k]].name);
	for (i = 0; i < st->nafter; i++)
		jw_str(w, E->p->stages[st->after[i]].name);
	jw_arr_end(w);
}

static void
write_record(struct engine *E, struct buf *b, const char *status)
{
	struct jw w;
	int64_t	 cpu, wall = mono_ns() - E->t0;
	long	 peak;
	int	 slow;
	size_t	 i, k;
	char	 host[256];

	totals(E, &cpu, &peak, &slow);
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	jw_init(&w, b);
	jw_obj(&w);
	jw_key(&w, "v");
	jw_int(&w, 1);
	jw_key(&w, "run");
	jw_str(&w, E->run_id);
	jw_key(&w, "pipeline");
	jw_str(&w, E->p->name);
	jw_key(&w, "file");
	jw_str(&w, E->p->path);
	jw_key(&w, "dir");
	jw_str(&w, E->p->dir);
	jw_key(&w, "profile");
	jw_str(&w, E->p->profile);
	jw_key(&w, "status");
	jw_str(&w, status);
	jw_key(&w, "signal");
	if (E->signo != 0)
		jw_int(&w, E->signo);
	else
		jw_null(&w);
	jw_key(&w, "start_ms");
	jw_int(&w, E->r0 / 1000000);
	jw_key(&w, "wall_us");
	jw_int(&w, wall / 1000);
	jw_key(&w, "cpu_us");
	jw_int(&w, cpu);
	jw_key(&w, "peak_rss_kb");
	jw_int(&w, peak);
	jw_key(&w, "host");
	jw_str(&w, host);
	jw_key(&w, "jobs");
	jw_int(&w, E->jobs);
	jw_key(&w, "keep_going");
	jw_bool(&w, E->o->keep_going);
	jw_key(&w, "failed");
	jw_int(&w, E->nfailed);
	jw_key(&w, "stages");
	jw_arr(&w);
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];

		jw_obj(&w);
		jw_key(&w, "name");
		jw_str(&w, R->st->name);
		jw_key(&w, "state");
		jw_str(&w, state_name(R->state));
		jw_key(&w, "group");
		jw_int(&w, R->st->group + 1);
		jw_key(&w, "deps");
		put_deps(&w, E, R->st);
		jw_key(&w, "argv");
		jw_arr(&w);
		for (k = 0; k < R->st->argc; k++)
			jw_str(&w, R->st->argv[k]);
		jw_arr_end(&w);
		jw_key(&w, "attempts");
		jw_int(&w, R->attempt);
		jw_key(&w, "reason");
		jw_str(&w, R->reason);
		if (R->reaped) {
			jw_key(&w, "proc");
			jw_obj(&w);
			put_proc(&w, E, R);
			jw_obj_end(&w);
		}
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	buf_addc(b, '\n');
}

void
monitor_record(struct engine *E, const char *status)
{
	struct buf b = { 0 };
	char	*path, *tmp, *state, *hist;
	int	 fd;

	if (E->run_dir == NULL)
		return;
	write_record(E, &b, status);
	path = xasprintf("%s/run.json", E->run_dir);
	tmp = xasprintf("%s/.run.json.tmp", E->run_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || buf_writefd(&b, fd) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1)
		warn("cannot write run record '%s'", path);
	state = monitor_state_dir(E->o->state_dir);
	hist = xasprintf("%s/history.jsonl", state);
	fd = open(hist, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1 || buf_writefd(&b, fd) == -1)
		warn("cannot append to history '%s'", hist);
	if (fd != -1)
		close(fd);
	free(state);
	free(hist);
	free(path);
	free(tmp);
	buf_free(&b);
}

void
monitor_summary(struct engine *E)
{
	char	 wall[32], cpu[32], rss[32], slow[32];
	int64_t	 cpu_us;
	long	 peak;
	int	 s;
	size_t	 i, ok = 0, skipped = 0;

	totals(E, &cpu_us, &peak, &s);
	for (i = 0; i < E->n; i++) {
		if (E->rs[i].state == PS_DONE || E->rs[i].state == PS_CACHED)
			ok++;
		else if (E->rs[i].state == PS_SKIPPED)
			skipped++;
	}
	fmt_duration(mono_ns() - E->t0, wall, sizeof(wall));
	fmt_duration(cpu_us * 1000, cpu, sizeof(cpu));
	fmt_size((int64_t)peak * 1024, rss, sizeof(rss));
	fprintf(stderr, "sluice: %s: ", E->p->name);
	if (E->signo != 0)
		fprintf(stderr, "interrupted by SIG%s, ", sigabbrev_np(E->signo));
	fprintf(stderr, "%zu/%zu stages ok", ok, E->n);
	if (E->nfailed > 0)
		fprintf(stderr, ", %d failed", E->nfailed);
	if (skipped > 0)
		fprintf(stderr, ", %zu skipped", skipped);
	fprintf(stderr, " in %s (cpu %s, peak rss %s", wall, cpu, rss);
	if (s != -1) {
		fmt_duration(E->rs[s].t_end - E->rs[s].t_start, slow,
		    sizeof(slow));
		fprintf(stderr, ", slowest '%s' %s", E->rs[s].st->name, slow);
	}
	fprintf(stderr, ")\n");
}
