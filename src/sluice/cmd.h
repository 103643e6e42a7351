/*
 * cmd.h: the subcommands of sluice(1), one file each (cmd_*.c), and the
 * helpers they share.  Each cmd_NAME(argc, argv) gets argv[0] == "NAME"
 * and returns the exit status.
 */
#ifndef CMD_H
#define CMD_H

#include <stdio.h>

#include "pipeline.h"

int	 cmd_run(int, char **);
int	 cmd_check(int, char **);
int	 cmd_graph(int, char **);
int	 cmd_report(int, char **);
int	 cmd_status(int, char **);
int	 cmd_top(int, char **);
int	 cmd_history(int, char **);
int	 cmd_cache(int, char **);
int	 cmd_map(int, char **);
int	 cmd_bench(int, char **);
int	 cmd_analyze(int, char **);

int	 cmd_run_preload(int, char **, const char *);

void	 describe_stage(FILE *, const struct pipeline *, const struct stage *);
void	 print_quoted(FILE *, const char *);
void	 cmd_usage(const char *) __attribute__((__noreturn__));
void	 cmd_badopt(const char *, char **, int)
	    __attribute__((__noreturn__));
const char *cmd_synopsis(const char *);

#endif
