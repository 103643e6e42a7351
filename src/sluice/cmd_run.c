/*
 * cmd_run.c: `sluice run`: options, pipeline loading, dry run; the run
 * itself is engine_run() in loop.c.
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sysexits.h>

#include "cache.h"
#include "cmd.h"
#include "report.h"
#include "run.h"
#include "stagecache.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

static int
parse_level(const char *s)
{
	int	 l;

	for (l = 0; l < AL_COUNT; l++)
		if (strcmp(s, alert_level_name((enum alert_level)l)) == 0)
			return l;
	if (strcmp(s, "warning") == 0)
		return AL_WARN;
	if (strcmp(s, "critical") == 0)
		return AL_CRIT;
	return -1;
}

/* what would run, and which cached stages would come from the cache:
 * a stage's key is known when each of its producers would hit too */
static void
dry_run(struct pipeline *p, const struct run_opts *o, int jobs)
{
	struct cache *c = NULL;
	struct digest *outd, base, key, stamp;
	const struct digest **outp;
	unsigned char *known;
	char	 msg[1024], *line;
	size_t	 i, k, s, len;
	int	 unsafe, any = 0;

	for (i = 0; i < p->nstages; i++)
		any |= p->stages[i].cache != NULL;
	if (any && !o->no_cache && !p->cache_off) {
		c = cache_open(scache_dir(p, o), 0, &unsafe);
		if (cache_error(c)[0] != '\0') {
			warnx("%s", cache_error(c));
			cache_close(c);
			c = NULL;
		}
	}
	outd = xcalloc(p->nstages + 1, sizeof(*outd));
	outp = xcalloc(p->nstages + 1, sizeof(*outp));
	known = xcalloc(p->nstages + 1, 1);
	for (i = 0; i < p->nstages; i++)
		outp[i] = &outd[i];
	printf("%s: dry run, jobs %d%s; would run:\n", p->name, jobs,
	    jobs == 0 ? " (one per CPU)" : "");
	for (i = 0; i < p->nstages; i++) {
		const struct stage *st = &p->stages[p->order[i]];
		const char *note = "";
		FILE	*m = open_memstream(&line, &len);

		if (m == NULL)
			err(EX_OSERR, "open_memstream");
		describe_stage(m, p, st);
		fclose(m);
		if (c != NULL && st->cache != NULL) {
			int	 ready = 1, cat;
			struct cache_hit hit;

			for (k = 0; k < st->nports; k++)
				for (s = 0; s < st->ports[k].nsrc; s++)
					ready &= known[st->ports[k].src[s]];
			cat = cache_category(c, st->cache, -1, 0);
			if (!ready)
				note = " (cache: depends on stages that run)";
			else if (stagekey_base(st, scache_dir(p, o), &base, msg,
			    sizeof(msg)) == -1)
				note = " (cache: an input cannot be read)";
			else {
				stagekey_final(&base, st, outp, &key);
				if (cache_peek(c, cat, &key, &hit) != 1)
					note = " (cache: miss)";
				else if (st->noutputs > 0 && !outputs_as_stored(
				    outputs_stamp(st, &stamp), &hit))
					note = " (cache: its outputs changed)";
				else {
					outd[st->idx] = hit.content;
					known[st->idx] = 1;
					note = " (from the cache)";
				}
			}
		}
		line[strcspn(line, "\n")] = '\0';
		printf("%s%s\n", line, note);
		free(line);
	}
	free(outd);
	free(outp);
	free(known);
	cache_close(c);
}

/* --report FILE: its format from its name, HTML unless .json or .md */
static void
run_report(struct run_opts *o, const char *path)
{
	enum report_format f = RF_HTML;
	const char *ext = strrchr(path, '.');

	if (o->record == NULL) {
		warnx("no run record was written: no report '%s'", path);
		return;
	}
	if (ext == NULL || report_format_of(ext + 1, &f) == -1)
		f = RF_HTML;
	report_write(o->record, o->state_dir, o->history, f, path);
	free(o->record);
	o->record = NULL;
}

/*
 * `sluice cache preload`: run only the cached stages and what they
 * need, output discarded, so a later run finds them in the cache.
 */
int
cmd_run_preload(int argc, char **argv, const char *cache_dir)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct load_opts lo = { 0 };
	struct run_opts o = { 0 };
	struct pipeline *p;
	int	 c, rc, null;

	o.jobs = -1;
	o.grace_ns = 2000000000LL;
	o.monitor = MON_BASIC;
	o.fail_on = -1;
	o.quiet = 1;
	o.preload = 1;
	o.cache_dir = cache_dir;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:D:", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			load_define(&lo, optarg);
			break;
		case 'P':
			lo.profile = optarg;
			break;
		default:
			cmd_badopt("cache", argv, c);
		}
	}
	if (argc - optind != 1)
		cmd_usage("cache");
	p = pipeline_load(argv[optind], &lo);
	free(lo.defines);
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1 ||
	    dup2(null, 1) == -1)
		err(EX_OSERR, "/dev/null");
	close(null);
	rc = engine_run(p, &o);
	pipeline_free(p);
	free(o.record);
	return rc;
}

/* an interrupted run still gets its --report before sluice dies */
static const char *report_path;

static void
report_at_end(struct run_opts *o)
{
	run_report(o, report_path);
}

int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "alert-cmd", required_argument, NULL, 'A' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "executor", required_argument, NULL, 'E' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "grace", required_argument, NULL, 'G' },
		{ "history", required_argument, NULL, 'H' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "monitor", required_argument, NULL, 'M' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "profile", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "refresh", no_argument, NULL, 'X' },
		{ "report", required_argument, NULL, 'R' },
		{ "sample-interval", required_argument, NULL, 'I' },
		{ "slurm-opt", required_argument, NULL, 'O' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "trace", required_argument, NULL, 'T' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "workdir", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	struct load_opts lo = { 0 };
	struct run_opts o = { 0 };
	struct pipeline *p;
	const char *errstr, *report = NULL;
	int	 c, rc;

	o.jobs = -1;
	o.grace_ns = 2000000000LL;
	o.monitor = MON_FULL;
	o.sample_ns = 100000000LL;
	o.fail_on = -1;
	o.executor = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:D:j:knqv", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'D':
			load_define(&lo, optarg);
			break;
		case 'A':
			o.alert_cmd = optarg;
			break;
		case 'C':
			if (*optarg == '\0')
				errx(EX_USAGE, "--cache-dir: an empty path");
			o.cache_dir = optarg;
			break;
		case 'E':	/* sluice-slurm(7) */
			if (strcmp(optarg, "local") == 0)
				o.executor = EXEC_LOCAL;
			else if (strcmp(optarg, "slurm") == 0)
				o.executor = EXEC_SLURM;
			else
				errx(EX_USAGE, "--executor expects local or "
				    "slurm, found '%s'", optarg);
			break;
		case 'O':
			o.slurm_opts = xreallocarray(o.slurm_opts,
			    o.nslurm_opts + 1, sizeof(char *));
			o.slurm_opts[o.nslurm_opts++] = optarg;
			break;
		case 'W':
			o.workdir = optarg;
			break;
		case 'N':
			o.no_cache = 1;
			break;
		case 'X':
			o.refresh = 1;
			break;
		case 'F':
			if ((o.fail_on = parse_level(optarg)) == -1)
				errx(EX_USAGE, "--fail-on expects info, warn or "
				    "crit, found '%s'", optarg);
			break;
		case 'H':
			o.history = optarg;
			break;
		case 'I':
			if ((o.sample_ns = parse_duration_ns(optarg)) <
			    1000000)
				errx(EX_USAGE, "--sample-interval expects a "
				    "duration of at least 1ms, found '%s'",
				    optarg);
			break;
		case 'M':
			if (strcmp(optarg, "off") == 0)
				o.monitor = MON_OFF;
			else if (strcmp(optarg, "basic") == 0)
				o.monitor = MON_BASIC;
			else if (strcmp(optarg, "full") == 0)
				o.monitor = MON_FULL;
			else
				errx(EX_USAGE, "--monitor expects off, basic or "
				    "full, found '%s'", optarg);
			break;
		case 'G':
			if ((o.grace_ns = parse_duration_ns(optarg)) < 0)
				errx(EX_USAGE, "--grace expects a duration such "
				    "as \"2s\" or \"500ms\", found '%s'", optarg);
			break;
		case 'j':
			o.jobs = (int)strtonum(optarg, 0, 100000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-j expects a number of jobs "
				    "from 0 to 100000, found '%s'", optarg);
			break;
		case 'k':
			o.keep_going = 1;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'P':
			lo.profile = optarg;
			break;
		case 'q':
			o.quiet = 1;
			o.verbose = 0;
			break;
		case 'R':
			report = optarg;
			break;
		case 'S':
			if (*optarg == '\0')
				errx(EX_USAGE, "--state-dir: an empty path");
			o.state_dir = optarg;
			break;
		case 'T':
			o.trace = optarg;
			break;
		case 'v':
			o.verbose = 1;
			o.quiet = 0;
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
	free(lo.defines);
	/* --executor, else the file's (or its profile's), else local */
	if (o.executor == -1)
		o.executor = p->executor == PEXEC_SLURM ? EXEC_SLURM :
		    EXEC_LOCAL;
	if (o.dry_run) {
		dry_run(p, &o, o.jobs >= 0 ? o.jobs : p->jobs);
		pipeline_free(p);
		return 0;
	}
	if (report != NULL) {
		report_path = report;
		o.at_end = report_at_end;
	}
	rc = engine_run(p, &o);
	pipeline_free(p);
	if (report != NULL)
		run_report(&o, report);
	free(o.record);
	free(o.slurm_opts);
	return rc;
}
