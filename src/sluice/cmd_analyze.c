/*
 * cmd_analyze.c: `sluice analyze`: the shape of a pipeline (stages,
 * dependency groups and their widths), its critical path and the share
 * of the work on it, caching potential, and the wall time predicted for
 * -j1 .. -jN by simulating the scheduler with each stage's duration
 * from the history (or from one measuring run when there is none);
 * then a recommended job count and strategy, with the reasoning.
 */
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

struct hist {
	double		*dur;		/* seconds per stage, NAN: unknown */
	int		*hits;
	int		*lookups;
	char		*run;
	int		 runs;
};

/* durations of the newest successful run of this pipeline; cache hit
 * counts over all of its runs */
static int
from_history(const char *path, const struct pipeline *p, struct hist *h)
{
	struct buf text = { 0 };
	const char *l, *e;
	int	 found = 0, lineno = 0;

	if (buf_readfile(&text, path) == -1)
		return 0;
	for (l = text.data; l < text.data + text.len; l = e + 1) {
		struct json j;
		int	 stages, s;

		lineno++;
		if ((e = memchr(l, '\n', (size_t)(text.data + text.len - l))) ==
		    NULL)
			e = text.data + text.len;
		if (e == l || json_parse(&j, path, l, (size_t)(e - l),
		    lineno) == -1)
			continue;
		if (!json_eq(&j, json_get(&j, 0, "pipeline"), p->name) ||
		    json_type(&j, (stages = json_get(&j, 0, "stages"))) !=
		    JSON_ARRAY) {
			json_free(&j);
			continue;
		}
		h->runs++;
		JSON_FOREACH_ELEM(&j, stages, s) {
			char	*name = json_str(&j, json_get(&j, s, "name"));
			int	 si = pipeline_stage(p, name), pr;

			free(name);
			if (si == -1)
				continue;
			pr = json_get(&j, s, "proc");
			if (pr != -1 && json_type(&j, json_get(&j, pr,
			    "cache")) == JSON_STRING &&
			    !json_eq(&j, json_get(&j, pr, "cache"), "off")) {
				h->lookups[si]++;
				h->hits[si] += json_eq(&j, json_get(&j, pr,
				    "cache"), "hit");
			}
		}
		/* durations: the newest run in which each stage really ran
		 * (not a cache hit, not a preload that skipped stages) */
		if (json_eq(&j, json_get(&j, 0, "status"), "ok") &&
		    json_type(&j, json_get(&j, json_get(&j, 0, "options"),
		    "preload")) != JSON_TRUE) {
			JSON_FOREACH_ELEM(&j, stages, s) {
				char	*name = json_str(&j,
				    json_get(&j, s, "name"));
				int	 si = pipeline_stage(p, name), pr;
				long long us;

				free(name);
				pr = json_get(&j, s, "proc");
				if (si == -1 || !json_eq(&j, json_get(&j, s,
				    "state"), "done") || (pr != -1 &&
				    json_eq(&j, json_get(&j, pr, "cache"),
				    "hit")))
					continue;
				if (json_int(&j, json_get(&j, s, "wall_us"),
				    &us) == 0)
					h->dur[si] = (double)us / 1e6;
			}
			free(h->run);
			h->run = json_str(&j, json_get(&j, 0, "run"));
			found = 1;
		}
		json_free(&j);
	}
	buf_free(&text);
	return found;
}

/* one quiet run recorded into path */
static void
measure_once(const char *pipeline, const char *hist, char **defines,
    size_t ndef, const char *profile)
{
	char	 exe[4096], **argv;
	size_t	 n = 0, i;
	ssize_t	 len;
	pid_t	 pid;
	int	 st;
	posix_spawn_file_actions_t fa;

	if ((len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		err(EX_OSERR, "/proc/self/exe");
	exe[len] = '\0';
	argv = xcalloc(ndef * 2 + 12, sizeof(char *));
	argv[n++] = (char *)"sluice";
	argv[n++] = (char *)"run";
	argv[n++] = (char *)"-q";
	argv[n++] = (char *)"--history";
	argv[n++] = (char *)hist;
	for (i = 0; i < ndef; i++) {
		argv[n++] = (char *)"-D";
		argv[n++] = defines[i];
	}
	if (profile != NULL) {
		argv[n++] = (char *)"--profile";
		argv[n++] = (char *)profile;
	}
	argv[n++] = (char *)pipeline;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, exe, &fa, NULL, argv, environ) != 0 ||
	    waitpid(pid, &st, 0) == -1)
		err(EX_OSERR, "cannot run the pipeline to measure it");
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		errx(1, "the measuring run of '%s' failed", pipeline);
}

/*
 * The scheduler in miniature: stages in declaration order take one of
 * `jobs` slots when ready.  A data consumer is ready once its producers
 * started (streaming) and cannot end before they end; an "after" stage
 * waits for the end.
 */
static double
simulate(const struct pipeline *p, const double *dur, int jobs)
{
	size_t	 n = p->nstages, done = 0, i, k, s;
	double	*start = xcalloc(n, sizeof(double)), *end;
	unsigned char *started = xcalloc(n, 1), *ended;
	double	 now = 0, wall = 0;
	int	 running = 0;

	end = xcalloc(n, sizeof(double));
	ended = xcalloc(n, 1);
	while (done < n) {
		double	 next = INFINITY;

		for (i = 0; i < n && running < jobs; i++) {
			const struct stage *st = &p->stages[i];
			double	 fin;
			int	 ok = !started[i];

			for (k = 0; ok && k < st->nports; k++)
				for (s = 0; ok && s < st->ports[k].nsrc; s++)
					ok = started[st->ports[k].src[s]];
			for (k = 0; ok && k < st->nafter; k++)
				ok = ended[st->after[k]];
			if (!ok)
				continue;
			started[i] = 1;
			start[i] = now;
			fin = now + dur[i];
			/* it reads until its producers are done */
			for (k = 0; k < st->nports; k++)
				for (s = 0; s < st->ports[k].nsrc; s++) {
					int	 pr = st->ports[k].src[s];

					if (ended[pr] && end[pr] > fin)
						fin = end[pr];
					else if (!ended[pr] && start[pr] +
					    dur[pr] > fin)
						fin = start[pr] + dur[pr];
				}
			end[i] = fin;
			running++;
		}
		for (i = 0; i < n; i++)
			if (started[i] && !ended[i] && end[i] < next)
				next = end[i];
		if (isinf(next))
			break;			/* cannot happen: a DAG */
		now = next;
		for (i = 0; i < n; i++)
			if (started[i] && !ended[i] && end[i] <= now) {
				ended[i] = 1;
				running--;
				done++;
				if (end[i] > wall)
					wall = end[i];
			}
	}
	free(start);
	free(end);
	free(started);
	free(ended);
	return wall;
}

int
cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "history", required_argument, NULL, 'H' },
		{ "profile", required_argument, NULL, 'P' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct load_opts lo = { 0 };
	struct pipeline *p;
	struct hist h;
	const char *histf = NULL;
	char	*state = NULL, *tmphist = NULL, a[32], b[32];
	double	*dur, total = 0, *cp, best = INFINITY, *pred;
	int	*prev, c, g, maxw = 0, jmax = 0, j, rec = 1, last;
	const char *errstr;
	size_t	 i, k, s, nparts = 0;
	int	*path;
	long	 ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:D:j:", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'j':
			jmax = (int)strtonum(optarg, 1, 10000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-j expects a number of jobs from "
				    "1 to 10000, found '%s'", optarg);
			break;
		case 'D':
			load_define(&lo, optarg);
			break;
		case 'H':
			histf = optarg;
			break;
		case 'P':
			lo.profile = optarg;
			break;
		case 'U':
			cmd_usage(argv[0]);
		default:
			cmd_badopt(argv[0], argv, c);
		}
	}
	if (argc - optind != 1)
		cmd_usage(argv[0]);
	p = pipeline_load(argv[optind], &lo);
	memset(&h, 0, sizeof(h));
	h.dur = xcalloc(p->nstages + 1, sizeof(double));
	h.hits = xcalloc(p->nstages + 1, sizeof(int));
	h.lookups = xcalloc(p->nstages + 1, sizeof(int));
	if (histf == NULL) {
		state = monitor_state_dir(NULL);
		tmphist = xasprintf("%s/history.jsonl", state);
		histf = tmphist;
	}
	printf("%s: %zu stage%s in %d dependency group%s\n", p->name,
	    p->nstages, p->nstages == 1 ? "" : "s", p->ngroups,
	    p->ngroups == 1 ? "" : "s");
	for (g = 0; g < p->ngroups; g++) {
		int	 w = 0;

		for (i = 0; i < p->nstages; i++)
			w += p->stages[i].group == g;
		if (w > maxw)
			maxw = w;
		printf("  group %d: width %d:", g + 1, w);
		for (i = 0; i < p->nstages; i++)
			if (p->stages[i].group == g)
				printf(" %s", p->stages[i].name);
		putchar('\n');
	}
	if (!from_history(histf, p, &h)) {
		const char *td = getenv("TMPDIR");
		char	*mh = xasprintf("%s/sluice-analyze.XXXXXX",
		    td != NULL && *td != '\0' ? td : "/tmp");
		int	 fd = mkstemp(mh);

		if (fd == -1)
			err(EX_CANTCREAT, "mkstemp");
		close(fd);
		printf("durations: no successful run in %s; measuring one\n",
		    histf);
		measure_once(argv[optind], mh, lo.defines, lo.ndefines,
		    lo.profile);
		if (!from_history(mh, p, &h))
			errx(1, "the measuring run left no record");
		unlink(mh);
		free(mh);
	} else
		printf("durations: run %s from %s (%d run%s of this "
		    "pipeline)\n", h.run, histf, h.runs, h.runs == 1 ? "" :
		    "s");
	dur = h.dur;
	for (i = 0; i < p->nstages; i++) {
		if (isnan(dur[i]))
			dur[i] = 0;
		total += dur[i];
	}
	/* critical path: longest chain of durations through the DAG */
	cp = xcalloc(p->nstages + 1, sizeof(double));
	prev = xcalloc(p->nstages + 1, sizeof(int));
	for (i = 0; i < p->nstages; i++) {
		int	 v = p->order[i];
		const struct stage *st = &p->stages[v];

		prev[v] = -1;
		cp[v] = 0;
		for (k = 0; k < st->nports; k++)
			for (s = 0; s < st->ports[k].nsrc; s++)
				if (cp[st->ports[k].src[s]] > cp[v] ||
				    prev[v] == -1) {
					cp[v] = cp[st->ports[k].src[s]];
					prev[v] = st->ports[k].src[s];
				}
		for (k = 0; k < st->nafter; k++)
			if (cp[st->after[k]] > cp[v] || prev[v] == -1) {
				cp[v] = cp[st->after[k]];
				prev[v] = st->after[k];
			}
		cp[v] += dur[v];
	}
	last = 0;
	for (i = 0; i < p->nstages; i++)
		if (cp[i] > cp[last])
			last = (int)i;
	path = xcalloc(p->nstages + 1, sizeof(int));
	for (j = last; j != -1 && nparts < p->nstages; j = prev[j])
		path[nparts++] = j;
	fmt_duration((int64_t)(cp[last] * 1e9), a, sizeof(a));
	fmt_duration((int64_t)(total * 1e9), b, sizeof(b));
	printf("critical path: ");
	for (i = nparts; i > 0; i--)
		printf("%s%s", p->stages[path[i - 1]].name, i > 1 ? " -> " : "");
	printf(": %s, %.0f%% of %s total work\n", a, total > 0 ?
	    100 * cp[last] / total : 0, b);
	for (i = 0; i < nparts; i++)
		if (total > 0 && dur[path[i]] / cp[last] > 0.5 && nparts > 1)
			printf("  stage '%s' is %.0f%% of the critical path\n",
			    p->stages[path[i]].name,
			    100 * dur[path[i]] / cp[last]);
	printf("caching:\n");
	for (i = 0; i < p->nstages; i++) {
		const struct stage *st = &p->stages[i];

		if (st->cache != NULL && h.lookups[i] > 0)
			printf("  %s (cache '%s'): hit in %d of %d runs\n",
			    st->name, st->cache, h.hits[i], h.lookups[i]);
		else if (st->cache != NULL)
			printf("  %s (cache '%s'): no lookups recorded yet\n",
			    st->name, st->cache);
		else if (total > 0 && dur[i] / total > 0.2)
			printf("  %s: %.0f%% of the work and not cached; a "
			    "\"cache\" category would let unchanged runs skip "
			    "it\n", st->name, 100 * dur[i] / total);
	}
	if (jmax == 0) {	/* the widest group, or the CPUs */
		jmax = maxw > (int)ncpu ? maxw : (int)ncpu;
		if (jmax > (int)p->nstages)
			jmax = (int)p->nstages;
	}
	pred = xcalloc((size_t)jmax + 1, sizeof(double));
	printf("predicted wall time:\n");
	for (j = 1; j <= jmax; j++) {
		pred[j] = simulate(p, dur, j);
		fmt_duration((int64_t)(pred[j] * 1e9), a, sizeof(a));
		printf("  -j%-3d %s\n", j, a);
		if (pred[j] < best)
			best = pred[j];
	}
	for (j = 1; j <= jmax; j++)
		if (pred[j] <= best * 1.05) {
			rec = j;
			break;
		}
	fmt_duration((int64_t)(pred[rec] * 1e9), a, sizeof(a));
	printf("recommendation: -j%d (%s; more slots gain less than 5%%)",
	    rec, a);
	{
		int	 hits = 0;

		for (i = 0; i < p->nstages; i++)
			hits += h.hits[i];
		printf(", %s\n", hits > 0 ? "cache-heavy: repeat runs reuse "
		    "cached stages" : "balanced: no stage was served from the "
		    "cache yet");
	}
	free(pred);
	free(path);
	free(cp);
	free(prev);
	free(h.dur);
	free(h.hits);
	free(h.lookups);
	free(h.run);
	free(tmphist);
	free(state);
	free(lo.defines);
	pipeline_free(p);
	return 0;
}
