/*
 * cmd_check.c: `sluice check` validates a pipeline without running it
 * and prints its dependency groups with each resolved command;
 * describe_stage() is also used by `sluice run -n`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cmd.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

/* an argument as a shell would need it, quoted only when it must be */
void
print_quoted(FILE *f, const char *s)
{
	const char *p;

	if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
	    "OPQRSTUVWXYZ0123456789_-+./:,=%@") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

void
describe_stage(FILE *f, const struct pipeline *p, const struct stage *st)
{
	size_t	 i, k;

	fprintf(f, "  %s:", st->name);
	for (i = 0; i < st->argc; i++) {
		fputc(' ', f);
		print_quoted(f, st->argv[i]);
	}
	for (i = 0; i < st->nports; i++) {
		if (st->ports[i].fd == 0)
			fputs(" < ", f);
		else
			fprintf(f, " %d< ", st->ports[i].fd);
		for (k = 0; k < st->ports[i].nsrc; k++)
			fprintf(f, "%s%s", k ? " + " : "",
			    p->stages[st->ports[i].src[k]].name);
	}
	if (st->nafter > 0) {
		fputs(" (after", f);
		for (i = 0; i < st->nafter; i++)
			fprintf(f, " %s", p->stages[st->after[i]].name);
		fputc(')', f);
	}
	fputc('\n', f);
}

int
cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'P' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct load_opts lo = { 0 };
	struct pipeline *p;
	int	 c, g;
	size_t	 i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:D:", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			load_define(&lo, optarg);
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
	/* every profile must be valid, not only the chosen one */
	for (i = 0; i < p->nprofiles; i++) {
		struct load_opts po = lo;
		struct pipeline *q;

		po.profile = p->profiles[i];
		q = pipeline_load(argv[optind], &po);
		pipeline_free(q);
	}
	printf("%s: %zu stage%s in %d dependency group%s, jobs %d",
	    p->name, p->nstages, p->nstages == 1 ? "" : "s", p->ngroups,
	    p->ngroups == 1 ? "" : "s", p->jobs);
	if (p->jobs == 0)
		printf(" (one per CPU)");
	if (p->profile != NULL)
		printf(", profile %s", p->profile);
	putchar('\n');
	for (g = 0; g < p->ngroups; g++) {
		printf("group %d:", g + 1);
		for (i = 0; i < p->nstages; i++)
			if (p->stages[i].group == g)
				printf(" %s", p->stages[i].name);
		putchar('\n');
		for (i = 0; i < p->nstages; i++)
			if (p->stages[i].group == g)
				describe_stage(stdout, p, &p->stages[i]);
	}
	pipeline_free(p);
	free(lo.defines);
	return 0;
}
