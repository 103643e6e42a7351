/*
 * report.h: `sluice report`: a run record (sluice-report(5) lists what
 * is read) and the history of the same pipeline turned into a report
 * model, then printed as JSON, Markdown or self-contained HTML.
 *
 * report_load() reads and checks the record and exits with a one-line
 * message on bad input (66 missing, 65 corrupt); it computes what the
 * record lacks (critical path, efficiency, cache rates per category,
 * maximum concurrency), reads the trend from history.jsonl (a bad line
 * is skipped with a warning) and adds recommendations.  The model owns
 * all its strings; report_free() frees it.  The writers only append to
 * a struct buf, so they do no I/O.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>

#include "buf.h"

#define REPORT_VERSION	1	/* of the JSON report, sluice-report(5) */
#define REPORT_TREND	20	/* runs in the trend, the current one last */

enum report_format { RF_JSON, RF_MD, RF_HTML };

struct rep_proc {			/* one process: one attempt */
	int		 attempt;
	long long	 pid;
	int64_t		 start_us;	/* from the run's start */
	int64_t		 wall_us;
	int64_t		 user_us, sys_us;
	int64_t		 max_rss_kb;
	int64_t		 rchar, wchar, read_bytes, write_bytes;
	int		 exit;		/* -1: none */
	int		 signal;	/* 0: none */
	int		 timed_out;
	char		*cache;		/* result, NULL: not given */
};

struct rep_stage {
	char		*name;
	char		*state;
	char		*reason;	/* NULL: none */
	char		*category;	/* cache category, NULL: none */
	char		*cache;		/* hit, miss, off...; NULL: unknown */
	int		 group;
	int		 attempts;
	char		**deps;
	size_t		 ndeps;
	int		*dep;		/* indexes of deps, -1: unknown */
	struct rep_proc	*procs;		/* by attempt */
	size_t		 nprocs;
	/* derived */
	int64_t		 start_us;	/* -1: never ran */
	int64_t		 end_us;
	int64_t		 wall_us;	/* the last attempt's */
	int64_t		 cpu_us;	/* every attempt's */
	int64_t		 max_rss_kb;
	int64_t		 read_bytes, write_bytes, rchar, wchar;
	int		 exit, signal, timed_out;	/* last attempt */
	int		 critical;	/* on the critical path */
	int64_t		 crit_us;	/* its share of the critical path */
};

struct rep_cat {
	char		*name;
	int		 hits, misses;
};

struct rep_alert {
	char		*level;		/* info, warn, crit */
	char		*metric;	/* NULL: not given */
	char		*stage;		/* NULL: the whole run */
	char		*message;
	char		*unit;		/* of value: ns, us, bytes, ratio */
	int64_t		 at_us;		/* from the run's start, -1 */
	double		 value, threshold;
	int		 has_value, has_threshold;
};

struct rep_run {			/* one run of the trend */
	char		*run;
	char		*status;
	int64_t		 start_ms;
	int64_t		 wall_us, cpu_us, peak_rss_kb;
	int		 current;
};

struct rep_regress {
	char		*stage;
	const char	*metric;	/* "wall" or "max_rss" */
	int64_t		 median, last;	/* us or KiB */
	double		 change;	/* last / median - 1 */
	int		 runs;		/* earlier runs in the median */
};

struct rep_note {
	const char	*kind;
	char		*stage;		/* NULL: none */
	char		*text;
};

struct report {
	char		*source;	/* the record's path */
	char		*run, *pipeline, *file, *dir, *profile, *host, *status;
	int		 signal;
	int64_t		 start_ms, wall_us, cpu_us, peak_rss_kb;
	int64_t		 peak_sum_rss_kb;	/* -1: not in the record */
	int		 jobs, keep_going, failed;
	struct rep_stage *st;
	size_t		 nst;
	size_t		*order;		/* stages by start time */
	int		*crit;		/* critical path, first to last */
	size_t		 ncrit;
	int64_t		 crit_us;
	int		 crit_given;	/* taken from the record */
	int		 eff_given;
	double		 utilisation;	/* cpu / wall, in CPUs */
	double		 efficiency;	/* cpu / (wall x jobs) */
	int		 max_conc;	/* most processes at once */
	int		 nproc;		/* processes in the run */
	int		 hits, lookups;
	struct rep_cat	*cats;
	size_t		 ncats;
	struct rep_alert *alerts;
	size_t		 nalerts;
	struct rep_run	*runs;		/* oldest first, the current one last */
	size_t		 nruns;
	struct rep_regress *regs;
	size_t		 nregs;
	struct rep_note	*notes;
	size_t		 nnotes;
};

/* cmd_report.c */
struct report	*report_load(const char *, const char *, const char *);
void		 report_free(struct report *);
void		 report_json(const struct report *, struct buf *);
void		 report_write(const char *, const char *, const char *,
		    enum report_format, const char *);
int		 report_format_of(const char *, enum report_format *);
void		 rep_dur(int64_t, char *, size_t);
void		 rep_size_kb(int64_t, char *, size_t);
void		 rep_bytes(int64_t, char *, size_t);
void		 rep_pct(double, char *, size_t);
void		 rep_date(int64_t, char *, size_t);
void		 rep_exit(const struct rep_stage *, struct buf *);

/* report_md.c */
void		 report_md(const struct report *, struct buf *);

/* report_html.c */
void		 report_html(const struct report *, struct buf *);

#endif
