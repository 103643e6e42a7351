/*
 * pipeline.h: the stage DAG read from a pipeline file (sluice-pipeline(5)).
 *
 * pipeline_load() reads, validates and resolves a pipeline: profile
 * overlay, -D vars, ${var} substitution, stage references, fds, cycles,
 * programs.  Every error exits with EX_DATAERR (65) or EX_NOINPUT (66)
 * and one line naming file:line:column.  pipeline_free() frees it all.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#define MAX_STAGE_FD	64

struct srcpos {
	int		 line;
	int		 col;
};

/* one input descriptor of a stage: fd 0 (stdin) or 3.. (fds) */
struct port {
	int		 fd;
	size_t		 nsrc;
	int		*src;		/* producer stage indices, in order */
	struct srcpos	*srcpos;
};

/* where a producer's stdout goes: consumer stage, port, segment */
struct outlet {
	int		 stage;
	int		 port;
	int		 seg;
};

enum alert_metric {
	AM_WALL, AM_CPU, AM_MAX_RSS, AM_ERROR_RATE, AM_CACHE_HIT_RATE,
	AM_COUNT
};
enum alert_level { AL_INFO, AL_WARN, AL_CRIT, AL_COUNT };

struct alert_rule {
	int		 stage;		/* -1: the whole run */
	enum alert_metric metric;
	enum alert_level level;
	double		 threshold;	/* ns, bytes or a fraction 0..1 */
};

struct cache_cat {			/* "cache_categories" */
	char		*name;
	int64_t		 ttl_ns;	/* 0: none */
	uint32_t	 share;		/* permille, 0: none */
};

struct stage {
	char		*name;
	int		 idx;
	struct srcpos	 pos;		/* of the stage's key */
	struct srcpos	 runpos;
	int		 shell;		/* run is a /bin/sh -c string */
	char		**argv;		/* NULL-terminated */
	size_t		 argc;
	char		*prog;		/* resolved absolute path */
	struct port	*ports;		/* sorted by fd */
	size_t		 nports;
	int		*after;
	struct srcpos	*afterpos;
	size_t		 nafter;
	char		**inputs;	/* absolute paths */
	size_t		 ninputs;
	char		**outputs;	/* files it writes: absolute paths */
	size_t		 noutputs;
	char		**env;		/* "KEY=VALUE" */
	size_t		 nenv;
	char		*cwd;		/* absolute */
	char		*cache;		/* category; NULL: not cached */
	int		 map;
	long long	 batch;		/* records per shard, 0: auto */
	int64_t		 timeout_ns;	/* 0: none */
	int64_t		 memory_limit;	/* bytes, 0: none */
	int		 retries;

	/* derived */
	struct outlet	*outlets;
	size_t		 noutlets;
	int		 group;		/* dependency group, 0-based */
};

enum pipe_executor { PEXEC_UNSET, PEXEC_LOCAL, PEXEC_SLURM };

struct pipeline {
	char		*path;		/* as given */
	char		*dir;		/* absolute directory of the file */
	char		*name;
	int		 jobs;		/* 0: number of CPUs */
	int		 jobs_set;
	char		*cache_dir;	/* NULL: default */
	int		 cache_off;	/* a profile said "cache": false */
	int64_t		 cache_size;	/* bytes, 0: the cache's own */
	struct cache_cat *cats;
	size_t		 ncats;
	char		*profile;	/* NULL: none */
	struct stage	*stages;
	size_t		 nstages;
	int		*order;		/* a topological order */
	int		 ngroups;
	struct alert_rule *alerts;
	size_t		 nalerts;
	char		**vars;		/* "name=value", resolved */
	size_t		 nvars;
	char		**profiles;	/* names of all profiles in the file */
	size_t		 nprofiles;
	enum pipe_executor executor;	/* "executor", sluice-slurm(7) */
	char		*slurm_partition;	/* "slurm" settings, NULL: */
	char		*slurm_account;		/* none */
	char		*slurm_workdir;		/* absolute */
	char		**slurm_opts;		/* "sbatch_options" */
	size_t		 nslurm_opts;
};

struct load_opts {
	const char	*profile;	/* NULL: $SLUICE_PROFILE or none */
	char		**defines;	/* -D name=value */
	size_t		 ndefines;
	int		 no_resolve;	/* skip program lookup (graph) */
};

struct pipeline	*pipeline_load(const char *, const struct load_opts *);
void		 load_define(struct load_opts *, char *);
void		 pipeline_free(struct pipeline *);
int		 pipeline_stage(const struct pipeline *, const char *);
const char	*libexec_dir(void);
char		*find_program(const char *, const char *);	/* caller frees */
const char	*alert_metric_name(enum alert_metric);
const char	*alert_level_name(enum alert_level);

#endif
