/*
 * main.c: sluice(1): dispatch to a subcommand (cmd_*.c) or, git style,
 * exec a stage libexec/sluice/NAME so `sluice typemap` works in a shell
 * pipeline.  Usage messages live here, one per subcommand, and match the
 * SYNOPSIS of each man page (mk/synopsis.sh checks).
 */
#include <dirent.h>
#include <err.h>
#include <getopt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

struct command {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*synopsis;
	const char	*summary;
};

static const struct command commands[] = {
	{ "run", cmd_run,
	  "sluice run [-knqv] [-D name=value] [-j jobs] [--alert-cmd command]\n"
	  "           [--cache-dir dir] [--executor local | slurm]\n"
	  "           [--fail-on level] [--grace duration] [--history file]\n"
	  "           [--monitor off | basic | full] [--no-cache]\n"
	  "           [--profile name] [--refresh] [--report file]\n"
	  "           [--sample-interval duration] [--slurm-opt option]\n"
	  "           [--state-dir dir] [--trace file] [--workdir dir]\n"
	  "           pipeline",
	  "run a pipeline" },
	{ "check", cmd_check,
	  "sluice check [-D name=value] [--profile name] pipeline",
	  "validate a pipeline, print its dependency groups" },
	{ "graph", cmd_graph,
	  "sluice graph [-D name=value] [--profile name] pipeline",
	  "print the stage graph as Graphviz DOT" },
	{ "report", cmd_report,
	  "sluice report [--format format] [-o file] [--history file]\n"
	  "              [--state-dir dir] [run]",
	  "report on a run in JSON, Markdown or HTML" },
	{ "analyze", cmd_analyze,
	  "sluice analyze [-D name=value] [-j jobs] [--history file]\n"
	  "               [--profile name] pipeline",
	  "workload analysis, predicted times, strategy advice" },
	{ "bench", cmd_bench,
	  "sluice bench [-r runs] [-w warmup] [-D name=value] [-j jobs]\n"
	  "             [-L name values] [--baseline file] [--export-json file]\n"
	  "             [--export-markdown file] [--interleave]\n"
	  "             [--prepare command] [--profiles list]\n"
	  "             [--save-baseline file] [--strategy list]\n"
	  "             [--threshold percent] [--update-baseline]\n"
	  "             [--variant name=options] pipeline ...",
	  "statistical benchmark of pipelines and strategies" },
	{ "cache", cmd_cache,
	  "sluice cache [--cache-dir dir] [--json] stats\n"
	  "sluice cache [--cache-dir dir] clear [category]\n"
	  "sluice cache [--cache-dir dir] gc | verify\n"
	  "sluice cache [--cache-dir dir] preload [-D name=value]\n"
	  "             [--profile name] pipeline",
	  "inspect and manage the cache" },
	{ "history", cmd_history,
	  "sluice history [--json] [-n runs] [--file file] [--pipeline name]\n"
	  "               [--threshold percent]",
	  "past runs and per-stage trends" },
	{ "status", cmd_status,
	  "sluice status [--json] [--watch]",
	  "the running pipelines" },
	{ "top", cmd_top,
	  "sluice top",
	  "a live full-screen view of the running pipelines" },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static const char main_synopsis[] =
    "sluice command [argument ...]\n"
    "sluice stage [argument ...]\n"
    "sluice --version";

static void
print_synopsis(FILE *f, const char *syn)
{
	const char *p = syn, *nl;
	int	 first = 1;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		fprintf(f, "%s%.*s\n", first ? "usage: " : "       ",
		    (int)(nl - p), p);
		first = 0;
		p = *nl != '\0' ? nl + 1 : nl;
	}
}

const char *
cmd_synopsis(const char *name)
{
	size_t	 i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].synopsis;
	return main_synopsis;
}

/* after getopt_long returned '?' or ':' (opterr is 0) */
void
cmd_badopt(const char *name, char **argv, int c)
{
	if (c == ':')
		warnx("%s: option '%s' needs an argument", name,
		    argv[optind - 1]);
	else if (optopt != 0)
		warnx("%s: unknown option '-%c'", name, optopt);
	else
		warnx("%s: unknown option '%s'", name, argv[optind - 1]);
	cmd_usage(name);
}

void
cmd_usage(const char *name)
{
	print_synopsis(stderr, cmd_synopsis(name));
	exit(EX_USAGE);
}

static int
is_usage_flag(int argc, char **argv)
{
	return argc == 2 && (strcmp(argv[1], "--usage") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
}

static void
list_stages(void)
{
	DIR	*d;
	struct dirent *e;

	if ((d = opendir(libexec_dir())) == NULL)
		return;
	printf("\nstages (%s):\n", libexec_dir());
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			printf("  %s\n", e->d_name);
	closedir(d);
}

static int
help(int argc, char **argv)
{
	size_t	 i;

	if (argc > 1) {
		for (i = 0; i < NCOMMANDS; i++)
			if (strcmp(commands[i].name, argv[1]) == 0) {
				print_synopsis(stdout, commands[i].synopsis);
				printf("See sluice-%s(1).\n", argv[1]);
				return 0;
			}
		errx(EX_USAGE, "no help for '%s': not a sluice command",
		    argv[1]);
	}
	print_synopsis(stdout, main_synopsis);
	printf("\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].summary);
	printf("  %-8s %s\n", "help", "this list, or a command's synopsis");
	list_stages();
	printf("\nSee sluice(1) and the tutorial sluice(7).\n");
	return 0;
}

static void
exec_stage(int argc, char **argv)
{
	const char *names[NCOMMANDS + 1], *near;
	char	*path;
	size_t	 i;

	(void)argc;
	if (strchr(argv[0], '/') == NULL && argv[0][0] != '.' &&
	    argv[0][0] != '\0') {
		path = xasprintf("%s/%s", libexec_dir(), argv[0]);
		execv(path, argv);
		if (errno != ENOENT)
			err(EX_OSERR, "cannot run stage '%s'", path);
		free(path);
	}
	for (i = 0; i < NCOMMANDS; i++)
		names[i] = commands[i].name;
	names[i] = "help";
	near = nearest_name(argv[0], names, NCOMMANDS + 1);
	if (near != NULL)
		errx(EX_USAGE, "'%s' is not a sluice command or stage (did you "
		    "mean '%s'?)", argv[0], near);
	errx(EX_USAGE, "'%s' is not a sluice command or stage; see 'sluice "
	    "help'", argv[0]);
}

/*
 * What a command printed and could not write (a full disk) is an error,
 * not a quiet success; a reader gone away (EPIPE, with SIGPIPE ignored
 * by run) ends it quietly, as SIGPIPE would.
 */
static void
check_stdout(void)
{
	int	 e;

	errno = 0;
	if (fflush(stdout) == EOF) {
		if ((e = errno) == EPIPE)
			_exit(EX_IOERR);
		errno = e;
		warn("cannot write standard output");
		_exit(EX_IOERR);
	}
	if (ferror(stdout)) {	/* an earlier write; its errno is gone */
		warnx("cannot write standard output");
		_exit(EX_IOERR);
	}
}

/* `sluice NAME` that runs a stage program, not one of the commands */
static int
runs_stage(int argc, char *argv[])
{
	size_t	 i;

	if (argc < 2 || argv[1][0] == '-' || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "__map") == 0)
		return 0;
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return 0;
	return 1;
}

int
main(int argc, char *argv[])
{
	size_t	 i;

	/* a stage gets what a stage started alone would: see util.c */
	fd_sanitize_std(runs_stage(argc, argv));
	(void)atexit(check_stdout);
	if (argc < 2) {
		print_synopsis(stderr, main_synopsis);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("sluice %s\n", VERSION);
		return 0;
	}
	if (is_usage_flag(argc, argv) && strcmp(argv[1], "--usage") == 0) {
		print_synopsis(stdout, main_synopsis);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return help(argc - 1, argv + 1);
	if (argv[1][0] == '-') {
		warnx("unknown option '%s'", argv[1]);
		print_synopsis(stderr, main_synopsis);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "__map") == 0)	/* the coordinator's */
		return cmd_map(argc - 1, argv + 1);
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			if (is_usage_flag(argc - 1, argv + 1)) {
				print_synopsis(stdout, commands[i].synopsis);
				return 0;
			}
			return commands[i].fn(argc - 1, argv + 1);
		}
	exec_stage(argc - 1, argv + 1);
	return EX_USAGE;
}
