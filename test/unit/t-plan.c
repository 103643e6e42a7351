/*
 * t-plan.c: unit test of plan.c.  Reads graphs from stdin, one per
 * line: "n: a<-b,c; b<-c" (node a depends on b and c), prints the
 * topological order with each node's group, or the cycle path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "xalloc.h"
#include "banned.h"

static int
node(const char *s)
{
	return s[0] - 'a';
}

int
main(void)
{
	char	 line[1024];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		struct plan_graph g;
		int	 order[26], group[26], *cycle;
		size_t	 ncycle, i;
		char	*p, *rule, *save = NULL, *orig;
		const char *errstr;

		line[strcspn(line, "\n")] = '\0';
		if ((p = strchr(line, ':')) == NULL)
			continue;
		*p++ = '\0';
		orig = xstrdup(p);
		g.n = (size_t)strtonum(line, 1, 26, &errstr);
		if (errstr != NULL)
			return 2;
		g.ndeps = xcalloc(g.n, sizeof(size_t));
		g.deps = xcalloc(g.n, sizeof(int *));
		for (i = 0; i < g.n; i++)
			g.deps[i] = xcalloc(26, sizeof(int));
		for (rule = strtok_r(p, ";", &save); rule != NULL;
		    rule = strtok_r(NULL, ";", &save)) {
			char	*arrow, *d;
			int	 v;

			while (*rule == ' ')
				rule++;
			if ((arrow = strstr(rule, "<-")) == NULL)
				continue;
			v = node(rule);
			for (d = arrow + 2; *d != '\0'; d++)
				if (*d >= 'a' && *d <= 'z')
					g.deps[v][g.ndeps[v]++] = node(d);
		}
		printf("%s:%s =>", line, orig);
		free(orig);
		if (plan_order(&g, order, group, &cycle, &ncycle) == -1) {
			printf(" cycle");
			for (i = 0; i < ncycle; i++)
				printf(" %c", 'a' + cycle[i]);
			free(cycle);
		} else
			for (i = 0; i < g.n; i++)
				printf(" %c/%d", 'a' + order[i],
				    group[order[i]] + 1);
		putchar('\n');
		for (i = 0; i < g.n; i++)
			free(g.deps[i]);
		free(g.deps);
		free(g.ndeps);
	}
	return 0;
}
