/* plan.c: topological order, dependency groups and cycle paths.  Pure. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "xalloc.h"
#include "banned.h"

enum { WHITE, GREY, BLACK };

/*
 * Iterative depth-first search in declaration order, so the order and a
 * reported cycle are stable for a given file.  The post-order of a DFS
 * over dependencies is a topological order (dependencies first).
 */
int
plan_order(const struct plan_graph *g, int *order, int *group,
    int **cycle, size_t *ncycle)
{
	unsigned char *color;
	int	*stack, *edge, *parent;
	size_t	 n = g->n, nord = 0, root;
	int	 rc = 0;

	color = xcalloc(n + 1, 1);
	stack = xreallocarray(NULL, n + 1, sizeof(int));
	edge = xreallocarray(NULL, n + 1, sizeof(int));
	parent = xreallocarray(NULL, n + 1, sizeof(int));
	*cycle = NULL;
	*ncycle = 0;
	for (root = 0; root < n && rc == 0; root++) {
		size_t	 sp = 0;

		if (color[root] != WHITE)
			continue;
		stack[sp] = (int)root;
		edge[sp] = 0;
		parent[root] = -1;
		color[root] = GREY;
		sp++;
		while (sp > 0) {
			int	 v = stack[sp - 1], w;

			if ((size_t)edge[sp - 1] >= g->ndeps[v]) {
				int	 i, gmax = -1;

				for (i = 0; (size_t)i < g->ndeps[v]; i++)
					if (group[g->deps[v][i]] > gmax)
						gmax = group[g->deps[v][i]];
				group[v] = gmax + 1;
				color[v] = BLACK;
				order[nord++] = v;
				sp--;
				continue;
			}
			w = g->deps[v][edge[sp - 1]++];
			if (color[w] == WHITE) {
				color[w] = GREY;
				parent[w] = v;
				stack[sp] = w;
				edge[sp] = 0;
				sp++;
			} else if (color[w] == GREY) {
				/*
				 * v depends on w, an ancestor on the stack:
				 * w needs c1 needs ... needs v needs w.
				 * Report it in data-flow direction (producer
				 * first): w -> v -> parent(v) -> ... -> w.
				 */
				size_t	 k = 1, len = 1;
				int	 x;

				for (x = v; x != w; x = parent[x])
					len++;
				*cycle = xreallocarray(NULL, len + 1,
				    sizeof(int));
				(*cycle)[0] = w;
				for (x = v; x != w; x = parent[x])
					(*cycle)[k++] = x;
				(*cycle)[len] = w;
				*ncycle = len + 1;
				rc = -1;
				break;
			}
		}
	}
	free(color);
	free(stack);
	free(edge);
	free(parent);
	return rc;
}
