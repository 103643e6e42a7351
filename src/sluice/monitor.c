/*
 * monitor.c: measurements of a run.  Every attempt of every stage gets a
 * struct procrec: rusage from wait4 (which includes the descendants the
 * stage waited for; orphans are reaped by sluice as a subreaper and added
 * to the stage of their process group), /proc/PID/io read while the
 * zombie exists, bytes that passed through sluice, and the peak RSS seen
 * by sampling /proc/PID/stat of running stages (--monitor=full).
 * Evaluates the pipeline's alerts as they happen and at the end, runs
 * --alert-cmd, and writes the --trace file, the run record
 * (STATE/runs/ID/run.json, atomically) and one line per run appended
 * under a lock to the history (STATE/history.jsonl or --history).
 * The state directory is --state-dir, $SLUICE_STATE_DIR,
 * $XDG_STATE_HOME/sluice or ~/.local/state/sluice.  Linux-only: /proc.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
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

/*
 * A process's /proc/PID/io, read from the zombie, is also what wait
 * adds to its parent's own counters (kernel/exit.c: the child's ioac,
 * its reaped descendants' included).  So the stage's figures are the
 * difference of sluice's /proc/self/io around its wait4: two preads of
 * a descriptor kept open, instead of an open of /proc/PID/io per
 * process (its path lookup makes and then drops the PID's dentries).
 * The first pread counts in sluice's own rchar: taken off again.
 * monitor_io_mark() right before wait4, monitor_read_io() right after.
 */
static int	 selfio = -2;		/* -1: no /proc */
static char	 io_mark[512];
static ssize_t	 io_marklen;

void
monitor_io_mark(void)
{
	if (selfio == -2)
		selfio = open("/proc/self/io", O_RDONLY | O_CLOEXEC);
	io_marklen = selfio >= 0 ? pread(selfio, io_mark, sizeof(io_mark) - 1,
	    0) : -1;
	if (io_marklen > 0)
		io_mark[io_marklen] = '\0';
}

void
monitor_read_io(struct rstage *R)
{
	char	 text[512];
	ssize_t	 n;

	R->io_rchar = R->io_wchar = R->io_read = R->io_write = 0;
	if (io_marklen <= 0 ||
	    (n = pread(selfio, text, sizeof(text) - 1, 0)) <= 0)
		return;
	text[n] = '\0';
	R->io_rchar = io_field(text, "rchar: ") - io_field(io_mark, "rchar: ") -
	    io_marklen;
	R->io_wchar = io_field(text, "wchar: ") - io_field(io_mark, "wchar: ");
	R->io_read = io_field(text, "read_bytes: ") -
	    io_field(io_mark, "read_bytes: ");
	R->io_write = io_field(text, "write_bytes: ") -
	    io_field(io_mark, "write_bytes: ");
	io_marklen = 0;
}

static int64_t
tv_us(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static int64_t
proc_cpu_us(const struct procrec *pr)
{
	return tv_us(&pr->ru.ru_utime) + tv_us(&pr->ru.ru_stime) +
	    pr->orphan_cpu_us;
}

static const char *
state_name(enum pstate s)
{
	static const char *const n[] = { "waiting", "running", "stopping",
	    "exited", "done", "failed", "cached", "skipped" };

	return n[s];
}

/* the measurements of one attempt as members of the current object */
static void
put_proc(struct jw *w, const struct rstage *R, const struct procrec *pr)
{
	jw_key(w, "stage");
	jw_str(w, R->st->name);
	jw_key(w, "attempt");
	jw_int(w, pr->attempt);
	jw_key(w, "pid");
	jw_int(w, pr->pid);
	jw_key(w, "start_us");
	jw_int(w, pr->start_ns / 1000);
	jw_key(w, "end_us");
	jw_int(w, pr->end_ns / 1000);
	jw_key(w, "start_ms");
	jw_int(w, pr->real_start_ms);
	jw_key(w, "wall_us");
	jw_int(w, (pr->end_ns - pr->start_ns) / 1000);
	jw_key(w, "user_us");
	jw_int(w, tv_us(&pr->ru.ru_utime));
	jw_key(w, "sys_us");
	jw_int(w, tv_us(&pr->ru.ru_stime));
	jw_key(w, "orphan_cpu_us");
	jw_int(w, pr->orphan_cpu_us);
	jw_key(w, "max_rss_kb");
	jw_int(w, pr->ru.ru_maxrss > pr->sampled_rss_kb ? pr->ru.ru_maxrss :
	    pr->sampled_rss_kb);
	jw_key(w, "sampled_rss_kb");
	jw_int(w, pr->sampled_rss_kb);
	jw_key(w, "rss_floor_kb");
	jw_int(w, pr->rss_floor_kb);
	jw_key(w, "minflt");
	jw_int(w, pr->ru.ru_minflt);
	jw_key(w, "majflt");
	jw_int(w, pr->ru.ru_majflt);
	jw_key(w, "inblock");
	jw_int(w, pr->ru.ru_inblock);
	jw_key(w, "oublock");
	jw_int(w, pr->ru.ru_oublock);
	jw_key(w, "nvcsw");
	jw_int(w, pr->ru.ru_nvcsw);
	jw_key(w, "nivcsw");
	jw_int(w, pr->ru.ru_nivcsw);
	jw_key(w, "rchar");
	jw_int(w, pr->io_rchar);
	jw_key(w, "wchar");
	jw_int(w, pr->io_wchar);
	jw_key(w, "read_bytes");
	jw_int(w, pr->io_read);
	jw_key(w, "write_bytes");
	jw_int(w, pr->io_write);
	jw_key(w, "stdin_bytes");
	if (pr->in_bytes >= 0)
		jw_int(w, pr->in_bytes);
	else
		jw_null(w);
	jw_key(w, "stdout_bytes");
	if (pr->out_bytes >= 0)
		jw_int(w, pr->out_bytes);
	else
		jw_null(w);
	jw_key(w, "exit");
	if (WIFEXITED(pr->status))
		jw_int(w, WEXITSTATUS(pr->status));
	else
		jw_null(w);
	jw_key(w, "signal");
	if (WIFSIGNALED(pr->status))
		jw_int(w, WTERMSIG(pr->status));
	else
		jw_null(w);
	jw_key(w, "timed_out");
	jw_bool(w, pr->timed_out);
	jw_key(w, "cache");
	jw_str(w, pr->cache);
}

static void
trace_proc(struct engine *E, struct rstage *R, const struct procrec *pr)
{
	struct buf b = { 0 };
	struct jw w;

	if (E->trace == NULL)
		return;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_key(&w, "run");
	jw_str(&w, E->run_id);
	put_proc(&w, R, pr);
	jw_obj_end(&w);
	buf_addc(&b, '\n');
	if (fwrite(b.data, 1, b.len, E->trace) != b.len ||
	    fflush(E->trace) != 0) {
		/* once: the next line would fail the same way */
		warn("trace file '%s': no more lines written to it",
		    E->o->trace);
		fclose(E->trace);
		E->trace = NULL;
	}
	buf_free(&b);
}

/*
 * The trace line of an attempt is written once its stdout has been read
 * to the end (at its reaping, or later when bytes were left in the
 * pipe), so it counts all the bytes it wrote.
 */
void
monitor_trace(struct engine *E, struct rstage *R)
{
	struct procrec *pr;

	if (!R->trace_due || R->out_r != -1 || R->nprocs == 0)
		return;
	R->trace_due = 0;
	pr = &R->procs[R->nprocs - 1];
	pr->out_bytes = R->direct_out ? -1 : R->out_bytes;
	trace_proc(E, R, pr);
}

/* a stage's process was reaped: keep this attempt's figures */
void
monitor_reaped(struct engine *E, struct rstage *R)
{
	struct procrec *pr;

	R->procs = xreallocarray(R->procs, R->nprocs + 1, sizeof(*R->procs));
	pr = &R->procs[R->nprocs++];
	memset(pr, 0, sizeof(*pr));
	pr->attempt = R->attempt;
	pr->pid = R->pid;
	pr->start_ns = R->t_start - E->t0;
	pr->end_ns = R->t_end - E->t0;
	pr->real_start_ms = R->r_start / 1000000;
	pr->status = R->status;
	pr->timed_out = R->timed_out;
	pr->ru = R->ru;
	pr->io_rchar = R->io_rchar;
	pr->io_wchar = R->io_wchar;
	pr->io_read = R->io_read;
	pr->io_write = R->io_write;
	pr->out_bytes = R->direct_out ? -1 : R->out_bytes;
	pr->in_bytes = R->in_bytes;
	pr->sampled_rss_kb = R->sampled_rss_kb;
	pr->rss_floor_kb = R->rss_floor_kb;
	pr->orphan_cpu_us = R->orphan_cpu_us;
	pr->cache = R->cache_res;
	R->trace_due = 1;
	monitor_trace(E, R);
}

/* a stage served from the cache: an attempt without a process */
void
monitor_cached(struct engine *E, struct rstage *R)
{
	struct procrec *pr;
	int64_t	 now = mono_ns();

	R->t_start = R->t_end = now;
	R->r_start = real_ns();
	R->procs = xreallocarray(R->procs, R->nprocs + 1, sizeof(*R->procs));
	pr = &R->procs[R->nprocs++];
	memset(pr, 0, sizeof(*pr));
	pr->attempt = R->attempt;
	pr->start_ns = pr->end_ns = now - E->t0;
	pr->real_start_ms = R->r_start / 1000000;
	pr->out_bytes = -1;
	pr->in_bytes = -1;
	pr->cache = "hit";
	trace_proc(E, R, pr);
}

/* an orphaned descendant reaped by sluice (a subreaper): its CPU goes to
 * the stage whose process group it was in */
void
monitor_orphan(struct engine *E, pid_t pgid, const struct rusage *ru)
{
	size_t	 i;

	for (i = 0; i < E->n; i++)
		if (E->rs[i].pid == pgid) {
			E->rs[i].orphan_cpu_us += tv_us(&ru->ru_utime) +
			    tv_us(&ru->ru_stime);
			if (E->rs[i].nprocs > 0 && E->rs[i].reaped)
				E->rs[i].procs[E->rs[i].nprocs - 1].
				    orphan_cpu_us = E->rs[i].orphan_cpu_us;
			return;
		}
}

/* /proc/PID/stat: utime, stime (ticks) and rss (pages) */
static int
read_stat(pid_t pid, int64_t *cpu_us, long *rss_kb)
{
	static long tick, page_kb;
	char	 path[64], text[1024];
	unsigned long long ut, st, rss;

	if (tick == 0) {
		tick = sysconf(_SC_CLK_TCK);
		page_kb = sysconf(_SC_PAGESIZE) / 1024;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_text(path, text, sizeof(text)) == -1)
		return -1;
	/* utime, stime, rss (in pages) */
	if (proc_stat_field(text, 14, &ut) == -1 ||
	    proc_stat_field(text, 15, &st) == -1 ||
	    proc_stat_field(text, 24, &rss) == -1)
		return -1;
	*cpu_us = (int64_t)((ut + st) * 1000000ULL / (unsigned long long)tick);
	*rss_kb = (long)rss * page_kb;
	return 0;
}

/*
 * A stage and its descendants, through /proc/PID/task/PID/children:
 * a shell stage's work is in its children, a map stage's in its shards.
 * Bounded depth and breadth, so a fork bomb cannot stall the loop.
 */
static int
read_tree(pid_t pid, int64_t *cpu_us, long *rss_kb, int depth)
{
	char	 path[64], list[4096], *p, *e;
	int64_t	 c;
	long	 r, kid;
	int	 kids = 0;

	if (read_stat(pid, &c, &r) == -1)
		return -1;
	*cpu_us += c;
	*rss_kb += r;
	if (depth >= 8)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if (read_text(path, list, sizeof(list)) == -1)
		return 0;
	for (p = list; *p != '\0' && kids < 64; p = e, kids++) {
		kid = strtol(p, &e, 10);
		if (e == p)
			break;
		(void)read_tree((pid_t)kid, cpu_us, rss_kb, depth + 1);
	}
	return 0;
}

void
monitor_sample(struct engine *E, int64_t now)
{
	size_t	 i;
	long	 sum = 0;

	if (E->o->monitor != MON_FULL || now < E->next_sample)
		return;
	E->next_sample = now + E->o->sample_ns;
	for (i = 0; i < E->nactive; i++) {
		struct rstage *R = &E->rs[E->active[i]];
		int64_t	 cpu = 0;
		long	 rss = 0;

		if ((R->state != PS_RUNNING && R->state != PS_STOPPING) ||
		    R->reaped || read_tree(R->pid, &cpu, &rss, 0) == -1)
			continue;
		R->sampled_cpu_us = cpu;
		if (rss > R->sampled_rss_kb)
			R->sampled_rss_kb = rss;
		sum += rss;
	}
	if (sum > E->peak_sum_rss_kb)
		E->peak_sum_rss_kb = sum;
	if (E->live != NULL)
		live_update(E);
}

/* alerts */

static const char *const level_words[AL_COUNT] = { "info", "warning",
    "critical" };

static void
fmt_metric(enum alert_metric m, double v, char *out, size_t sz)
{
	switch (m) {
	case AM_WALL:
	case AM_CPU:
		fmt_duration((int64_t)v, out, sz);
		break;
	case AM_MAX_RSS:
		fmt_size((int64_t)v, out, sz);
		break;
	default:
		snprintf(out, sz, "%.0f%%", v * 100);
	}
}

/* ns and bytes as integers, rates as fractions */
static void
put_value(struct jw *w, enum alert_metric m, const char *key, double v)
{
	jw_key(w, key);
	if (m == AM_WALL || m == AM_CPU || m == AM_MAX_RSS)
		jw_int(w, (long long)v);
	else
		jw_double(w, v);
}

static void
run_alert_cmd(struct engine *E, const struct buf *json)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t def;
	char	*argv[] = { (char *)"sh", (char *)"-c",
	    (char *)E->o->alert_cmd, NULL };
	int	 p[2];
	pid_t	 pid;
	extern char **environ;
	extern sigset_t sluice_oldmask;

	if (pipe2(p, O_CLOEXEC) == -1) {
		warn("--alert-cmd");
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawnattr_init(&sa);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&sa, 0);
	posix_spawnattr_setsigmask(&sa, &sluice_oldmask);
	posix_spawnattr_setsigdefault(&sa, &def);
	errno = posix_spawn(&pid, "/bin/sh", &fa, &sa, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(p[0]);
	if (errno != 0) {
		warn("cannot run --alert-cmd");
		close(p[1]);
		return;
	}
	/* one alert is far below the pipe's capacity: this never blocks */
	set_nonblock(p[1], 1);
	if (write_all(p[1], json->data, json->len) == -1)
		warnx("--alert-cmd (pid %d) did not take the alert", (int)pid);
	close(p[1]);
	E->acmds = xreallocarray(E->acmds, E->nacmds + 1, sizeof(*E->acmds));
	E->acmds[E->nacmds].pid = pid;
	/* five grace periods (10s by default) to take it */
	E->acmds[E->nacmds].deadline = mono_ns() + 5 * E->o->grace_ns;
	E->nacmds++;
}

static void
fire(struct engine *E, const struct alert_rule *r, int stage, double value)
{
	struct alert *a;
	struct buf b = { 0 };
	struct jw w;
	char	 v[32], t[32], msg[256];
	const char *who = stage == -1 ? "run" : E->rs[stage].st->name;

	E->alerts = xreallocarray(E->alerts, E->nalerts + 1,
	    sizeof(*E->alerts));
	a = &E->alerts[E->nalerts++];
	a->level = r->level;
	a->metric = r->metric;
	a->stage = stage;
	a->value = value;
	a->threshold = r->threshold;
	a->at_us = (mono_ns() - E->t0) / 1000;
	if ((int)r->level > E->worst_alert)
		E->worst_alert = (int)r->level;
	fmt_metric(r->metric, value, v, sizeof(v));
	fmt_metric(r->metric, r->threshold, t, sizeof(t));
	snprintf(msg, sizeof(msg), "%s%s%s: %s %s, %s %s", stage == -1 ? "" :
	    "stage '", who, stage == -1 ? "" : "'", alert_metric_name(r->metric),
	    v, r->metric == AM_CACHE_HIT_RATE ? "floor" : "threshold", t);
	strlcpy(a->message, msg, sizeof(a->message));
	fprintf(stderr, "sluice: %s: %s\n", level_words[r->level], msg);
	if (E->o->alert_cmd == NULL)
		return;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_key(&w, "run");
	jw_str(&w, E->run_id);
	jw_key(&w, "pipeline");
	jw_str(&w, E->p->name);
	jw_key(&w, "level");
	jw_str(&w, alert_level_name(r->level));
	jw_key(&w, "metric");
	jw_str(&w, alert_metric_name(r->metric));
	jw_key(&w, "stage");
	jw_str(&w, stage == -1 ? NULL : who);
	put_value(&w, r->metric, "value", value);
	put_value(&w, r->metric, "threshold", r->threshold);
	jw_key(&w, "unit");
	jw_str(&w, r->metric == AM_WALL || r->metric == AM_CPU ? "ns" :
	    r->metric == AM_MAX_RSS ? "bytes" : "ratio");
	jw_key(&w, "message");
	jw_str(&w, msg);
	jw_obj_end(&w);
	buf_addc(&b, '\n');
	run_alert_cmd(E, &b);
	buf_free(&b);
}

/* the worst level of (stage, metric) whose threshold value passes;
 * fire it unless it, or a worse one, already fired */
static void
evaluate(struct engine *E, int stage, enum alert_metric m, double value)
{
	const struct alert_rule *best = NULL;
	unsigned char *fired;
	size_t	 i;

	for (i = 0; i < E->p->nalerts; i++) {
		const struct alert_rule *r = &E->p->alerts[i];
		int	 hit;

		if (r->stage != stage || r->metric != m)
			continue;
		hit = m == AM_CACHE_HIT_RATE ? value < r->threshold :
		    value > r->threshold;
		if (hit && (best == NULL || r->level > best->level))
			best = r;
	}
	if (best == NULL)
		return;
	fired = stage == -1 ? E->run_fired : E->rs[stage].fired;
	if (fired[m] >> best->level != 0)
		return;
	fired[m] |= (unsigned char)(1u << best->level);
	fire(E, best, stage, value);
}

static int
has_rules(struct engine *E, int stage, enum alert_metric m)
{
	size_t	 i;

	for (i = 0; i < E->p->nalerts; i++)
		if (E->p->alerts[i].stage == stage &&
		    E->p->alerts[i].metric == m)
			return 1;
	return 0;
}

/* wall alerts of running stages and of the run fire as they happen */
int64_t
monitor_next_deadline(struct engine *E)
{
	int64_t	 t = 0, d;
	size_t	 i, k;

#define EARLIER(x)	do { if ((x) > 0 && (t == 0 || (x) < t)) t = (x); } \
	while (0)
	if (E->o->monitor == MON_FULL && E->running > 0)
		EARLIER(E->next_sample);
	for (i = 0; i < E->nacmds; i++)
		EARLIER(E->acmds[i].deadline);
	for (k = 0; k < E->p->nalerts; k++) {
		const struct alert_rule *r = &E->p->alerts[k];

		if (r->metric != AM_WALL)
			continue;
		if (r->stage == -1) {
			EARLIER(E->t0 + (int64_t)r->threshold + 1);
			continue;
		}
		if (E->rs[r->stage].state == PS_RUNNING &&
		    !(E->rs[r->stage].fired[AM_WALL] >> r->level)) {
			d = E->rs[r->stage].t_start + (int64_t)r->threshold + 1;
			EARLIER(d);
		}
	}
#undef EARLIER
	return t;
}

static void
running_walls(struct engine *E, int64_t now)
{
	size_t	 i;

	for (i = 0; i < E->p->nalerts; i++) {
		const struct alert_rule *r = &E->p->alerts[i];
		struct rstage *R;

		if (r->metric != AM_WALL)
			continue;
		if (r->stage == -1) {
			if (now - E->t0 > (int64_t)r->threshold)
				evaluate(E, -1, AM_WALL, (double)(now - E->t0));
			continue;
		}
		R = &E->rs[r->stage];
		if (R->state == PS_RUNNING &&
		    now - R->t_start > (int64_t)r->threshold)
			evaluate(E, r->stage, AM_WALL,
			    (double)(now - R->t_start));
	}
}

static void
stage_figures(const struct rstage *R, int64_t *wall, int64_t *cpu,
    long *rss, int *fails)
{
	size_t	 i;

	*wall = *cpu = 0;
	*rss = 0;
	*fails = 0;
	for (i = 0; i < R->nprocs; i++) {
		const struct procrec *pr = &R->procs[i];

		*wall += pr->end_ns - pr->start_ns;
		*cpu += proc_cpu_us(pr);
		if (pr->ru.ru_maxrss > *rss)
			*rss = pr->ru.ru_maxrss;
		if (pr->sampled_rss_kb > *rss)
			*rss = pr->sampled_rss_kb;
		if (!WIFEXITED(pr->status) || WEXITSTATUS(pr->status) != 0)
			(*fails)++;
	}
}

void
monitor_stage_final(struct engine *E, struct rstage *R)
{
	int64_t	 wall, cpu;
	long	 rss;
	int	 fails, i = R->st->idx;

	if (R->nprocs == 0 || E->p->nalerts == 0)
		return;
	stage_figures(R, &wall, &cpu, &rss, &fails);
	if (has_rules(E, i, AM_WALL))
		evaluate(E, i, AM_WALL, (double)(R->procs[R->nprocs - 1].end_ns -
		    R->procs[R->nprocs - 1].start_ns));
	if (has_rules(E, i, AM_CPU))
		evaluate(E, i, AM_CPU, (double)cpu * 1000);
	if (has_rules(E, i, AM_MAX_RSS))
		evaluate(E, i, AM_MAX_RSS, (double)rss * 1024);
	if (has_rules(E, i, AM_ERROR_RATE))
		evaluate(E, i, AM_ERROR_RATE, (double)fails /
		    (double)R->nprocs);
	if (has_rules(E, i, AM_CACHE_HIT_RATE) && strcmp(
	    R->procs[R->nprocs - 1].cache, "off") != 0)
		evaluate(E, i, AM_CACHE_HIT_RATE, strcmp(
		    R->procs[R->nprocs - 1].cache, "hit") == 0 ? 1 : 0);
}

struct totals {
	int64_t	 wall_ns;
	int64_t	 cpu_us;
	long	 peak_kb;		/* one process */
	long	 peak_sum_kb;		/* concurrent processes */
	int	 attempts;
	int	 failed_attempts;
	int	 lookups;
	int	 hits;
	int	 slowest;
};

static void
totals(struct engine *E, struct totals *T)
{
	size_t	 i;
	int64_t	 worst = -1;

	memset(T, 0, sizeof(*T));
	T->wall_ns = mono_ns() - E->t0;
	T->slowest = -1;
	for (i = 0; i < E->n; i++) {
		struct rstage *R = &E->rs[i];
		int64_t	 wall, cpu;
		long	 rss;
		int	 fails;

		stage_figures(R, &wall, &cpu, &rss, &fails);
		T->cpu_us += cpu;
		if (rss > T->peak_kb)
			T->peak_kb = rss;
		T->attempts += (int)R->nprocs;
		T->failed_attempts += fails;
		if (R->nprocs > 0 && R->procs[R->nprocs - 1].cache != NULL &&
		    strcmp(R->procs[R->nprocs - 1].cache, "off") != 0) {
			T->lookups++;
			T->hits += strcmp(R->procs[R->nprocs - 1].cache,
			    "hit") == 0;
		}
		if (R->nprocs > 0 && wall > worst) {
			worst = wall;
			T->slowest = (int)i;
		}
	}
	T->peak_sum_kb = E->peak_sum_rss_kb > T->peak_kb ? E->peak_sum_rss_kb :
	    T->peak_kb;
}

void
monitor_run_final(struct engine *E)
{
	struct totals T;

	running_walls(E, mono_ns());
	if (E->p->nalerts == 0)
		return;
	totals(E, &T);
	evaluate(E, -1, AM_WALL, (double)T.wall_ns);
	evaluate(E, -1, AM_CPU, (double)T.cpu_us * 1000);
	evaluate(E, -1, AM_MAX_RSS, (double)T.peak_sum_kb * 1024);
	if (T.attempts > 0)
		evaluate(E, -1, AM_ERROR_RATE, (double)T.failed_attempts /
		    T.attempts);
	if (T.lookups > 0)
		evaluate(E, -1, AM_CACHE_HIT_RATE, (double)T.hits / T.lookups);
}

/* an --alert-cmd exited; 1 if pid was one */
int
monitor_alert_reaped(struct engine *E, pid_t pid, int status)
{
	size_t	 i;

	for (i = 0; i < E->nacmds; i++) {
		if (E->acmds[i].pid != pid)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			warnx("--alert-cmd (pid %d) failed: %s %d", (int)pid,
			    WIFEXITED(status) ? "exit status" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) :
			    WTERMSIG(status));
		E->acmds[i] = E->acmds[--E->nacmds];
		return 1;
	}
	return 0;
}

void
monitor_alert_deadlines(struct engine *E, int64_t now)
{
	size_t	 i;

	running_walls(E, now);
	for (i = 0; i < E->nacmds; i++)
		if (E->acmds[i].deadline != 0 && now >= E->acmds[i].deadline) {
			warnx("--alert-cmd (pid %d) did not finish in time; "
			    "killed", (int)E->acmds[i].pid);
			kill(-E->acmds[i].pid, SIGKILL);
			E->acmds[i].deadline = 0;
		}
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
	char	 stamp[96];	/* room for any year */
	char	*state;

	fmt_utc_stamp((int64_t)time(NULL), stamp, sizeof(stamp));
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

static int64_t
stage_end(const struct rstage *R)
{
	return R->nprocs > 0 ? R->procs[R->nprocs - 1].end_ns : -1;
}

/*
 * The critical path: from the stage that ended last, walk back through
 * the dependency that ended last, the one that held it up.  Written in
 * run order.
 */
static void
put_critical_path(struct jw *w, struct engine *E)
{
	int	*path = xcalloc(E->n + 1, sizeof(int));
	size_t	 n = 0, i, k, s;
	int	 cur = -1;
	int64_t	 best = -1;

	for (i = 0; i < E->n; i++)
		if (stage_end(&E->rs[i]) > best) {
			best = stage_end(&E->rs[i]);
			cur = (int)i;
		}
	while (cur != -1 && n < E->n) {
		const struct stage *st = E->rs[cur].st;
		int	 next = -1;

		path[n++] = cur;
		best = -1;
		for (k = 0; k < st->nports; k++)
			for (s = 0; s < st->ports[k].nsrc; s++)
				if (stage_end(&E->rs[st->ports[k].src[s]]) >
				    best) {
					best = stage_end(
					    &E->rs[st->ports[k].src[s]]);
					next = st->ports[k].src[s];
				}
		for (k = 0; k < st->nafter; k++)
			if (stage_end(&E->rs[st->after[k]]) > best) {
				best = stage_end(&E->rs[st->after[k]]);
				next = st->after[k];
			}
		cur = next;
	}
	jw_arr(w);
	while (n > 0)
		jw_str(w, E->rs[path[--n]].st->name);
	jw_arr_end(w);
	free(path);
}

static void
put_alerts(struct jw *w, struct engine *E)
{
	size_t	 i;

	jw_arr(w);
	for (i = 0; i < E->nalerts; i++) {
		const struct alert *a = &E->alerts[i];

		jw_obj(w);
		jw_key(w, "level");
		jw_str(w, alert_level_name(a->level));
		jw_key(w, "metric");
		jw_str(w, alert_metric_name(a->metric));
		jw_key(w, "stage");
		jw_str(w, a->stage == -1 ? NULL : E->rs[a->stage].st->name);
		put_value(w, a->metric, "value", a->value);
		put_value(w, a->metric, "threshold", a->threshold);
		jw_key(w, "unit");
		jw_str(w, a->metric == AM_WALL || a->metric == AM_CPU ? "ns" :
		    a->metric == AM_MAX_RSS ? "bytes" : "ratio");
		jw_key(w, "message");
		jw_str(w, a->message);
		jw_key(w, "at_us");
		jw_int(w, a->at_us);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void
put_groups(struct jw *w, struct engine *E)
{
	int	 g;
	size_t	 i;

	jw_arr(w);
	for (g = 0; g < E->p->ngroups; g++) {
		int64_t	 start = -1, end = -1, cpu = 0;
		int	 n = 0;

		for (i = 0; i < E->n; i++) {
			struct rstage *R = &E->rs[i];
			size_t	 k;

			if (R->st->group != g)
				continue;
			n++;
			for (k = 0; k < R->nprocs; k++) {
				if (start == -1 || R->procs[k].start_ns < start)
					start = R->procs[k].start_ns;
				if (R->procs[k].end_ns > end)
					end = R->procs[k].end_ns;
				cpu += proc_cpu_us(&R->procs[k]);
			}
		}
		jw_obj(w);
		jw_key(w, "group");
		jw_int(w, g + 1);
		jw_key(w, "stages");
		jw_int(w, n);
		jw_key(w, "wall_us");
		jw_int(w, start == -1 ? 0 : (end - start) / 1000);
		jw_key(w, "cpu_us");
		jw_int(w, cpu);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void
int_or_null(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	if (v < 0)
		jw_null(w);
	else
		jw_int(w, v);
}

/* the Slurm executor's job of a stage, with sacct's figures */
static void
put_slurm(struct jw *w, const struct jobacct *a)
{
	jw_key(w, "slurm");
	if (a->job <= 0) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	jw_key(w, "job");
	jw_int(w, a->job);
	jw_key(w, "source");
	jw_str(w, a->source);
	jw_key(w, "state");
	jw_str(w, a->state);
	jw_key(w, "exit_code");
	jw_str(w, a->exit_code);
	jw_key(w, "node");
	jw_str(w, a->node);
	int_or_null(w, "wait_s", a->wait_s);
	int_or_null(w, "elapsed_s", a->elapsed_s);
	int_or_null(w, "total_cpu_us", a->cpu_us);
	int_or_null(w, "max_rss_kb", a->rss_kb);
	jw_obj_end(w);
}

static void
put_stage(struct jw *w, struct engine *E, struct rstage *R)
{
	int64_t	 wall, cpu;
	long	 rss;
	int	 fails;
	size_t	 k;

	stage_figures(R, &wall, &cpu, &rss, &fails);
	jw_obj(w);
	jw_key(w, "name");
	jw_str(w, R->st->name);
	jw_key(w, "state");
	jw_str(w, state_name(R->state));
	jw_key(w, "group");
	jw_int(w, R->st->group + 1);
	jw_key(w, "deps");
	put_deps(w, E, R->st);
	jw_key(w, "argv");
	jw_arr(w);
	for (k = 0; k < R->st->argc; k++)
		jw_str(w, R->st->argv[k]);
	jw_arr_end(w);
	jw_key(w, "cache_category");
	jw_str(w, R->st->cache);
	jw_key(w, "cache");
	jw_obj(w);
	jw_key(w, "category");
	jw_str(w, R->st->cache);
	jw_key(w, "result");
	jw_str(w, R->nprocs > 0 ? R->procs[R->nprocs - 1].cache : "off");
	jw_key(w, "time_saved_us");
	jw_int(w, R->state == PS_CACHED ? R->cost_saved_ns / 1000 : 0);
	jw_obj_end(w);
	jw_key(w, "attempts");
	jw_int(w, (int)R->nprocs);
	jw_key(w, "reason");
	jw_str(w, R->reason);
	jw_key(w, "wall_us");
	jw_int(w, wall / 1000);
	jw_key(w, "cpu_us");
	jw_int(w, cpu);
	jw_key(w, "max_rss_kb");
	jw_int(w, rss);
	if (R->nprocs > 0) {
		jw_key(w, "proc");
		jw_obj(w);
		put_proc(w, R, &R->procs[R->nprocs - 1]);
		jw_obj_end(w);
	}
	jw_key(w, "procs");
	jw_arr(w);
	for (k = 0; k < R->nprocs; k++) {
		jw_obj(w);
		put_proc(w, R, &R->procs[k]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (E->acct != NULL)
		put_slurm(w, &E->acct[R->gang]);
	jw_obj_end(w);
}

static void
put_digest_of_file(struct jw *w, const char *path)
{
	struct digest d;
	char	 hex[DIGEST_HEXLEN];

	if (digest_file(path, &d) == -1) {
		jw_null(w);
		return;
	}
	digest_hex(&d, hex);
	jw_str(w, hex);
}

/* what write_record has built so far goes to fd (-1: keep it) */
static int
flush_to(struct buf *b, int fd)
{
	if (fd == -1 || b->len < 65536)
		return 0;
	if (buf_writefd(b, fd) == -1)
		return -1;
	buf_reset(b);
	return 0;
}

static int
write_record(struct engine *E, struct buf *b, const char *status, int fd)
{
	int	 rc = 0;

	struct totals T;
	struct jw w;
	size_t	 i;
	char	 host[256];

	totals(E, &T);
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
	jw_key(&w, "pipeline_digest");
	put_digest_of_file(&w, E->p->path);
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
	jw_int(&w, T.wall_ns / 1000);
	jw_key(&w, "cpu_us");
	jw_int(&w, T.cpu_us);
	jw_key(&w, "peak_rss_kb");
	jw_int(&w, T.peak_kb);
	jw_key(&w, "peak_sum_rss_kb");
	jw_int(&w, T.peak_sum_kb);
	jw_key(&w, "sluice_rss_kb");
	jw_int(&w, E->self_rss_kb);
	jw_key(&w, "rss_from");
	jw_str(&w, E->rss_own ? "taskstats" : "wait4");
	jw_key(&w, "utilisation");
	jw_double(&w, T.wall_ns > 0 ? (double)T.cpu_us * 1000 / T.wall_ns : 0);
	jw_key(&w, "efficiency");
	jw_double(&w, T.wall_ns > 0 ? (double)T.cpu_us * 1000 /
	    ((double)T.wall_ns * E->jobs) : 0);
	jw_key(&w, "attempts");
	jw_int(&w, T.attempts);
	jw_key(&w, "error_rate");
	jw_double(&w, T.attempts > 0 ? (double)T.failed_attempts / T.attempts :
	    0);
	jw_key(&w, "cache_lookups");
	jw_int(&w, T.lookups);
	jw_key(&w, "cache_hits");
	jw_int(&w, T.hits);
	jw_key(&w, "host");
	jw_str(&w, host);
	jw_key(&w, "jobs");
	jw_int(&w, E->jobs);
	jw_key(&w, "keep_going");
	jw_bool(&w, E->o->keep_going);
	jw_key(&w, "options");
	jw_obj(&w);
	jw_key(&w, "jobs");
	jw_int(&w, E->jobs);
	jw_key(&w, "keep_going");
	jw_bool(&w, E->o->keep_going);
	jw_key(&w, "monitor");
	jw_str(&w, E->o->monitor == MON_OFF ? "off" : E->o->monitor ==
	    MON_BASIC ? "basic" : "full");
	jw_key(&w, "fail_on");
	jw_str(&w, E->o->fail_on >= 0 ? alert_level_name(
	    (enum alert_level)E->o->fail_on) : NULL);
	jw_key(&w, "no_cache");
	jw_bool(&w, E->o->no_cache);
	jw_key(&w, "preload");
	jw_bool(&w, E->o->preload);
	jw_key(&w, "executor");
	jw_str(&w, E->o->executor == EXEC_SLURM ? "slurm" : "local");
	jw_obj_end(&w);
	jw_key(&w, "failed");
	jw_int(&w, E->nfailed);
	jw_key(&w, "critical_path");
	put_critical_path(&w, E);
	jw_key(&w, "groups");
	put_groups(&w, E);
	jw_key(&w, "alerts");
	put_alerts(&w, E);
	jw_key(&w, "stages");
	jw_arr(&w);
	for (i = 0; i < E->n; i++) {
		put_stage(&w, E, &E->rs[i]);
		if (flush_to(b, fd) == -1)
			rc = -1;
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	buf_addc(b, '\n');
	if (fd != -1 && buf_writefd(b, fd) == -1)
		rc = -1;
	return rc;
}

/* the record, one line, appended under an exclusive lock: copied
 * from the run record file in chunks, so memory stays small */
static void
append_history(struct engine *E, int from)
{
	char	*state = NULL, *hist, chunk[65536];
	ssize_t	 n;
	int	 fd, bad = 0;

	if (E->o->history != NULL)
		hist = xstrdup(E->o->history);
	else {
		state = monitor_state_dir(E->o->state_dir);
		hist = xasprintf("%s/history.jsonl", state);
	}
	fd = open(hist, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1 || flock(fd, LOCK_EX) == -1 || lseek(from, 0,
	    SEEK_SET) == -1)
		bad = 1;
	while (!bad && (n = read(from, chunk, sizeof(chunk))) != 0)
		if (n == -1 || write_all(fd, chunk, (size_t)n) == -1)
			bad = 1;
	if (bad)
		warn("cannot append to history '%s'", hist);
	if (fd != -1)
		close(fd);
	free(state);
	free(hist);
}

void
monitor_record(struct engine *E, const char *status)
{
	struct buf b = { 0 };
	char	*path, *tmp;
	int	 fd;

	if (E->run_dir == NULL)
		return;
	path = xasprintf("%s/run.json", E->run_dir);
	tmp = xasprintf("%s/.run.json.tmp", E->run_dir);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write_record(E, &b, status, fd) == -1 ||
	    rename(tmp, path) == -1)
		warn("cannot write run record '%s'", path);
	else
		append_history(E, fd);
	if (fd != -1)
		close(fd);
	free(path);
	free(tmp);
	buf_free(&b);
}

void
monitor_summary(struct engine *E)
{
	char	 wall[32], cpu[32], rss[32], slow[32];
	struct totals T;
	size_t	 i, ok = 0, skipped = 0, cancelled = 0;
	int	 s;

	totals(E, &T);
	s = T.slowest;
	for (i = 0; i < E->n; i++) {
		if (E->rs[i].state == PS_DONE || E->rs[i].state == PS_CACHED)
			ok++;
		else if (E->rs[i].state == PS_SKIPPED)
			skipped++;
		else if (E->rs[i].state == PS_FAILED && E->rs[i].cancelled)
			cancelled++;
	}
	fmt_duration(T.wall_ns, wall, sizeof(wall));
	fmt_duration(T.cpu_us * 1000, cpu, sizeof(cpu));
	fmt_size((int64_t)T.peak_kb * 1024, rss, sizeof(rss));
	fprintf(stderr, "sluice: %s: ", E->p->name);
	if (E->signo != 0)
		fprintf(stderr, "interrupted by SIG%s, ", sigabbrev_np(E->signo));
	fprintf(stderr, "%zu/%zu stages ok", ok, E->n);
	if (E->nfailed > 0)
		fprintf(stderr, ", %d failed", E->nfailed);
	if (cancelled > 0)
		fprintf(stderr, ", %zu cancelled", cancelled);
	if (skipped > 0)
		fprintf(stderr, ", %zu skipped", skipped);
	fprintf(stderr, " in %s (cpu %s, peak rss %s", wall, cpu, rss);
	if (s != -1) {
		int64_t	 w, c;
		long	 r;
		int	 f;

		stage_figures(&E->rs[s], &w, &c, &r, &f);
		fmt_duration(w, slow, sizeof(slow));
		fprintf(stderr, ", slowest '%s' %s", E->rs[s].st->name, slow);
	}
	fprintf(stderr, ")\n");
}

/*
 * The wall time of this pipeline's newest successful run, for the ETA
 * of the status line: read from the end of the history, at most the
 * last 256 KiB, newest line first.
 */
int64_t
monitor_expected_wall(struct engine *E)
{
	char	*state = NULL, *hist, *text, *e, *l;
	int64_t	 found = 0;
	off_t	 size, from;
	ssize_t	 n;
	int	 fd;

	if (E->o->history != NULL)
		hist = xstrdup(E->o->history);
	else {
		state = monitor_state_dir(E->o->state_dir);
		hist = xasprintf("%s/history.jsonl", state);
	}
	fd = open(hist, O_RDONLY | O_CLOEXEC);
	free(hist);
	free(state);
	if (fd == -1)
		return 0;
	size = lseek(fd, 0, SEEK_END);
	from = size > 262144 ? size - 262144 : 0;
	text = xmalloc((size_t)(size - from) + 1);
	n = pread(fd, text, (size_t)(size - from), from);
	close(fd);
	if (n <= 0) {
		free(text);
		return 0;
	}
	text[n] = '\0';
	for (e = text + n; e > text && found == 0; e = l) {
		struct json j;
		long long us;

		l = e - 1;
		while (l > text && l[-1] != '\n')
			l--;
		if (l == text && from > 0)
			break;			/* a partial line */
		if (e - l > 1 && json_parse(&j, "history", l,
		    (size_t)(e - l), 1) == 0) {
			if (json_eq(&j, json_get(&j, 0, "pipeline"),
			    E->p->name) && json_eq(&j, json_get(&j, 0,
			    "status"), "ok") && json_int(&j, json_get(&j, 0,
			    "wall_us"), &us) == 0)
				found = us * 1000;
			json_free(&j);
		}
		if (l == text)
			break;
		l--;			/* before its newline */
	}
	free(text);
	return found;
}

void
monitor_free(struct engine *E)
{
	size_t	 i;

	for (i = 0; i < E->n; i++)
		free(E->rs[i].procs);
	free(E->alerts);
	free(E->acmds);
}
