/*
 * cmd_graph.c: `sluice graph` prints the stage DAG as Graphviz DOT.
 * stdin edges are solid (numbered when a stdin concatenates several
 * stages), extra descriptors dashed and labelled "fd N", "after" edges
 * dotted.  Programs are not looked up, so a graph can be drawn anywhere.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "xalloc.h"
#include "banned.h"

static void
dot_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar(*s);
	}
	putchar('"');
}

int
cmd_graph(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'P' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct load_opts lo = { 0 };
	struct pipeline *p;
	int	 c;
	size_t	 i, k, s;

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
	lo.no_resolve = 1;
	p = pipeline_load(argv[optind], &lo);
	fputs("digraph ", stdout);
	dot_str(p->name);
	fputs(" {\n\trankdir=LR;\n\tnode [shape=box, fontname=\"monospace\", "
	    "fontsize=10];\n\tedge [fontname=\"monospace\", fontsize=9];\n",
	    stdout);
	for (i = 0; i < p->nstages; i++) {
		const struct stage *st = &p->stages[i];
		char	*label;
		struct buf b = { 0 };

		for (k = st->shell ? 2 : 0; k < st->argc; k++)
			buf_printf(&b, "%s%s", k > (st->shell ? 2u : 0u) ? " " :
			    "", st->argv[k]);
		if (b.len > 40) {
			b.len = 37;
			buf_adds(&b, "...");
		}
		label = xasprintf("%s\n%s", st->name, buf_cstr(&b));
		putchar('\t');
		dot_str(st->name);
		fputs(" [label=", stdout);
		dot_str(label);
		if (st->map)
			fputs(", peripheries=2", stdout);
		fputs("];\n", stdout);
		free(label);
		buf_free(&b);
	}
	for (i = 0; i < p->nstages; i++) {
		const struct stage *st = &p->stages[i];

		for (k = 0; k < st->nports; k++)
			for (s = 0; s < st->ports[k].nsrc; s++) {
				putchar('\t');
				dot_str(p->stages[st->ports[k].src[s]].name);
				fputs(" -> ", stdout);
				dot_str(st->name);
				if (st->ports[k].fd != 0)
					printf(" [style=dashed, label=\"fd %d"
					    "%s\"]", st->ports[k].fd, "");
				else if (st->ports[k].nsrc > 1)
					printf(" [label=\"%zu\"]", s + 1);
				fputs(";\n", stdout);
			}
		for (k = 0; k < st->nafter; k++) {
			putchar('\t');
			dot_str(p->stages[st->after[k]].name);
			fputs(" -> ", stdout);
			dot_str(st->name);
			fputs(" [style=dotted, arrowhead=empty, "
			    "label=\"after\"];\n", stdout);
		}
	}
	fputs("}\n", stdout);
	pipeline_free(p);
	free(lo.defines);
	return 0;
}
