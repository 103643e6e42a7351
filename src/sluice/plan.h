/*
 * plan.h: ordering of a stage DAG.  Pure: no I/O, no exit.
 *
 * The graph is given as adjacency: deps[i] lists the stages i depends on
 * (data producers and "after").  plan_order() returns a topological order
 * and each node's dependency group (its depth: 0 for nodes without
 * dependencies), or, for a cycle, the cycle as a path of nodes whose last
 * element repeats the first.  The caller owns every array it passes and
 * frees the cycle path with free(3).
 */
#ifndef PLAN_H
#define PLAN_H

#include <stddef.h>

struct plan_graph {
	size_t		 n;
	size_t		*ndeps;
	int		**deps;
};

/* 0 on success (order, group filled); -1 for a cycle (*cycle, *ncycle) */
int	plan_order(const struct plan_graph *, int *order, int *group,
	    int **cycle, size_t *ncycle);

#endif
