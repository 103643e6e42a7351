/*
 * run.h: the state of one `sluice run`: every stage's process, pipes,
 * queues and measurements, shared by loop.c (event loop, scheduling,
 * signals), spawn.c (fork/exec), fanout.c (moving bytes between stages),
 * queue.c (byte queues with spill files) and monitor.c (rusage, trace,
 * run record, summary).  engine_run() in loop.c owns and frees it all.
 */
#ifndef RUN_H
#define RUN_H

#include <sys/types.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "digest.h"
#include "pipeline.h"

/* states of a stage; loop.c's stage_set() checks every move */
enum pstate {
	PS_WAITING,	/* not started */
	PS_RUNNING,	/* process alive */
	PS_STOPPING,	/* signalled by us, not yet reaped */
	PS_EXITED,	/* reaped, its pipes not yet drained */
	PS_DONE,	/* succeeded */
	PS_FAILED,	/* failed, cancelled or timed out */
	PS_CACHED,	/* output came from the cache */
	PS_SKIPPED	/* never started: upstream failed or run stopped */
};

/*
 * A reader that keeps reading but is STALL_BYTES behind holds its
 * producer back (fanout_stalled); those behind get copies of at most
 * STALL_BYTES at a time, so a queue that keeps up stays within
 * QUEUE_MEM, in memory; one that stops reading spills beyond it.
 */
#define STALL_BYTES	(256 << 10)
#define QUEUE_MEM	(2 * STALL_BYTES)

/* a byte stream: spill file [0, spill_len) then mem; rd: read cursor */
struct queue {
	struct buf	 mem;
	int		 spill;		/* -1: none yet */
	int64_t		 spill_len;
	int64_t		 rd;
	int		 keep;		/* keep consumed bytes (replay) */
	int64_t		 total;		/* bytes ever appended */
};

/* one attempt of a stage, as measured */
struct procrec {
	int		 attempt;
	pid_t		 pid;
	int64_t		 start_ns;	/* monotonic, from the run's start */
	int64_t		 end_ns;
	int64_t		 real_start_ms;	/* wall clock, ms since the epoch */
	int		 status;	/* wait status */
	int		 timed_out;
	struct rusage	 ru;		/* incl. descendants it waited for */
	int64_t		 io_rchar, io_wchar, io_read, io_write;
	int64_t		 out_bytes;	/* stdout bytes that passed sluice */
	int64_t		 in_bytes;	/* input bytes sluice fed it */
	long		 sampled_rss_kb; /* peak seen by sampling */
	long		 rss_floor_kb;	/* sluice's own peak when it started:
					   Linux counts it in the process's */
	int64_t		 orphan_cpu_us;	/* orphaned descendants reaped */
	const char	*cache;		/* "off", "miss", "hit" */
};

struct alert {
	enum alert_level level;
	enum alert_metric metric;
	int		 stage;		/* -1: the run */
	double		 value;
	double		 threshold;
	int64_t		 at_us;		/* since the run's start */
	char		 message[256];
};

struct seg {				/* one producer's part of a port */
	int		 producer;	/* stage index; -1: none */
	struct queue	 q;
	int		 eof;		/* producer finished writing */
	int		 direct;	/* written by the producer itself */
	int64_t		 ahead;		/* bytes at the front of the
					 * producer's pipe it has by tee */
	int64_t		 roff;		/* read from a file producer up
					 * to here (fanout.c: file_replay) */
};

struct rport {				/* an input descriptor of a stage */
	int		 fd;		/* number in the child */
	int		 w;		/* coordinator's write end, -1 */
	int		 child_r;	/* child's read end until spawned */
	int		 direct;	/* a plain pipe from the producer */
	int		 is_pipe;	/* w is a pipe: tee/splice allowed */
	int		 is_stdout;	/* sluice's own stdout */
	int		 owner;		/* consumer stage, -1: stdout */
	int64_t		 progress_ns;	/* last time its reader took bytes */
	int		 closed;	/* reader went away or all done */
	int		 full;		/* a tee found the pipe full */
	size_t		 nseg;
	size_t		 cur;
	struct seg	*segs;
};

struct rstage {
	struct stage	*st;
	enum pstate	 state;
	int		 gang;		/* index of the gang's first stage */
	int		 gang_next;	/* next member of the gang, -1 */
	int		 gang_size;	/* members, on the first stage */
	pid_t		 pid;
	int		 attempt;	/* 1-based */
	int64_t		 t_start;	/* monotonic ns */
	int64_t		 t_end;
	int64_t		 r_start;	/* realtime ns */
	int64_t		 deadline;	/* timeout, 0: none */
	int64_t		 killtime;	/* SIGKILL at, 0: none */
	int		 status;	/* wait status */
	int		 reaped;
	struct rusage	 ru;
	int64_t		 io_rchar, io_wchar, io_read, io_write;
	int		 out_r;		/* coordinator's read end, -1 */
	int		 child_out;	/* child's stdout until spawned */
	int		 direct_out;	/* stdout is a direct pipe or fd 1 */
	int		 exited_ok;	/* its process ended well: readers
					   may see the end of its output */
	int		 hold_w;	/* that pipe's write end, kept until the
					   stage exits well: its reader sees no
					   end of input from a failed stage */
	int		 hold;		/* output released only on success */
	int		 err_r;		/* stderr read end, -1 at EOF */
	int		 child_err;
	struct buf	 errline;	/* partial stderr line */
	struct buf	 tail;		/* last lines of stderr */
	int		 logfd;
	int		 log_tried;
	struct rport	*ports;
	size_t		 nports;
	struct outlet	*outlets;	/* the stage's, or one to stdout */
	size_t		 noutlets;
	struct outlet	 sink;		/* storage for the stdout outlet */
	int		 timed_out;
	int		 cancelled;	/* stopped because of another stage */
	int		 sigpipe_ok;
	int		 out_cut;	/* its stdout closed before its end:
					   every reader went away */
	char		*reason;	/* why it failed */
	int		 counted;	/* finished in the [n/N] count */
	struct procrec	*procs;		/* every attempt, in order */
	size_t		 nprocs;
	int64_t		 out_bytes;	/* this attempt's, through sluice */
	int64_t		 in_bytes;
	long		 sampled_rss_kb;
	long		 rss_floor_kb;
	long		 own_rss_kb;	/* its program's own peak, from
					   taskstats.c; -1: not known */
	int64_t		 sampled_cpu_us;
	int64_t		 orphan_cpu_us;
	unsigned char	 fired[AM_COUNT]; /* alert levels fired, bits */
	char		*exec_prog;	/* what is exec'd: the stage's, or */
	char		**exec_argv;	/* sluice __map for a map stage */
	int		 slots;		/* job slots it holds while running */
	/* the cache (stagecache.c) */
	int		 cacheable;
	int		 cat;
	int		 hash_out;	/* digest stdout as it passes */
	int		 out_is_pipe;
	int		 fileplay;	/* out_r, a file, read per outlet at
					   its own offset: 1; through the
					   copy path: -1; 0 undecided (set
					   back whenever out_r changes) */
	int64_t		 fileplay_max;	/* the furthest offset read */
	struct digest_ctx octx;
	struct digest	 out_digest;
	struct digest	 key_base;
	struct digest	 key;
	int		 capture;	/* temp file of a stage to store */
	int64_t		 capture_size;
	int		 digest_known;	/* out_digest is its whole stdout */
	char		 stdin_hex[DIGEST_HEXLEN];	/* its stdin's digest,
					   "" until known (stdin_identity) */
	int		 dig_w;		/* SLUICE_STDIN_DIGEST_FD: where sluice
					   writes that digest once known, or
					   closes it: -1 when done */
	int		 dig_r;		/* the child's end until spawned */
	int		 dig_fd;	/* its number in the child */
	int		 trace_due;	/* its attempt's trace line, once its
					   stdout is read to the end */
	int		 spec;		/* started before its key was known
					   (its producers ran): see spec_ok */
	int		 spec_hit;	/* ... and that key hit: stopped */
	int		 spec_fd;	/* the hit's stored stdout, or -1 */
	int		 spec_seen;	/* ... but a reader may have read some
					   of its output (not deferred, or its
					   capture failed): it cannot hit */
	struct buf	 specerr;	/* its stderr until its key is known */
	int		 defer;		/* every reader waits for it to end:
					   its stdout goes to the capture
					   only, and is read back from there
					   for them once it has succeeded */
	struct buf	 errcap;	/* its stderr, stored beside stdout */
	int64_t		 errcap_lost;	/* bytes past ERRCAP_MAX */
	const char	*cache_res;	/* "off", "miss", "hit", "refresh" */
	int64_t		 cost_saved_ns;
	struct digest	 peek_content;	/* its output if it hits (others_known) */
	int		 ostamp_done;	/* ostamp: its "outputs" as they are */
	struct digest	 ostamp;
	int		 unopened;	/* a hit whose stored stdout no reader
					   needed when it hit: not opened */
	uint32_t	 hit_pack;	/* where it is, to open it after all */
	uint64_t	 hit_off, hit_size;
	int		 pre_fd;	/* its blob, opened and checked while
					   a producer's hit looked ahead */
	struct digest	 pre_content;
};

enum monitor_level { MON_OFF, MON_BASIC, MON_FULL };
enum executor { EXEC_LOCAL, EXEC_SLURM };

struct run_opts {
	int		 jobs;		/* -1: from the pipeline */
	int		 keep_going;
	int		 dry_run;
	int		 quiet;
	int		 verbose;
	int64_t		 grace_ns;
	const char	*trace;		/* --trace FILE */
	const char	*state_dir;
	int		 no_cache;
	char		*record;	/* out: the run record, caller frees */
	enum monitor_level monitor;
	int64_t		 sample_ns;	/* /proc sampling interval */
	const char	*alert_cmd;	/* --alert-cmd */
	int		 fail_on;	/* alert level, -1: never */
	const char	*history;	/* --history FILE */
	const char	*cache_dir;	/* --cache-dir */
	int		 refresh;	/* --refresh: ignore hits, store */
	int		 preload;	/* only what cached stages need */
	int		 executor;	/* EXEC_LOCAL, EXEC_SLURM; -1: the
					 * pipeline's */
	const char	*workdir;	/* --workdir, NULL: beside the file */
	char		**slurm_opts;	/* --slurm-opt, for sbatch */
	size_t		 nslurm_opts;
	/* called with the run recorded, also before dying by a signal */
	void		(*at_end)(struct run_opts *);
};

struct alertcmd {			/* a running --alert-cmd */
	pid_t		 pid;
	int64_t		 deadline;
};

/* slurm.c: Slurm's accounting of one job, for the run record */
struct jobacct {
	long		 job;		/* Slurm job id, 0: none */
	char		*state;		/* NULL: no accounting */
	char		*exit_code;	/* "status:signal" */
	char		*node;
	int64_t		 wait_s;	/* Start - Submit, -1: unknown */
	int64_t		 elapsed_s;	/* -1: unknown */
	int64_t		 cpu_us;	/* TotalCPU, -1: not recorded */
	long		 rss_kb;	/* MaxRSS, -1: not recorded */
	const char	*source;	/* "sacct", "jobcomp", NULL */
};

struct engine {
	struct pipeline	*p;
	struct run_opts	*o;
	struct rstage	*rs;
	size_t		 n;
	int		 jobs;
	int		 running;	/* processes alive */
	int		 sigfd;
	int		 devnull;
	struct rport	 out;		/* sluice's stdout, in sink order */
	int		 stopping;	/* no new stages */
	int		 signo;		/* received INT/TERM/HUP */
	int		 nfailed;
	int		 first_failed;	/* stage index, -1 */
	size_t		 nfinished;
	size_t		 first_waiting;	/* no WAITING stage before it */
	int		 any_cacheable;
	int		 any_rider;	/* a reader outside its producer's
					   gang (rides_along) */
	int		*active;	/* stages with a process or fds */
	size_t		 nactive;
	unsigned char	*in_active;
	int		 tty;		/* stderr is a terminal */
	int		 color;
	int		 status_shown;
	int64_t		 t0;		/* monotonic start */
	int64_t		 r0;		/* realtime start */
	long		 self_rss_kb;	/* sluice's own peak, at the end */
	int		 rss_own;	/* stages' own peaks from taskstats.c */
	char		*run_id;
	char		*run_dir;	/* logs and run record */
	FILE		*trace;
	struct alert	*alerts;
	size_t		 nalerts;
	int		 worst_alert;	/* level, -1: none */
	unsigned char	 run_fired[AM_COUNT];
	struct alertcmd	*acmds;
	size_t		 nacmds;
	long		 peak_sum_rss_kb; /* of concurrent stages, sampled */
	int64_t		 expected_ns;	/* for the ETA, 0: unknown */
	int64_t		 next_sample;
	struct live	*live;
	struct cache	*cache;
	char		*cache_env;	/* SLUICE_CACHE_DIR=, absolute, for
					   cached stages (cache_for_stage) */
	int		 errcat;	/* the "stderr" category, -1 */
	struct jobacct	*acct;		/* by gang head; NULL: local */
	char		 iobuf[65536];
};

/* loop.c */
int	 engine_run(struct pipeline *, struct run_opts *);
/* sluice's own peak resident size (VmHWM), read again at most every
   5 ms unless fresh */
long	 sluice_hwm_kb(int);
void	 stage_set(struct engine *, struct rstage *, enum pstate);
void	 stage_stderr(struct engine *, struct rstage *, const char *, size_t);
void	 status_clear(struct engine *);
void	 show_status(struct engine *);
void	 count_finished(struct engine *, struct rstage *);
void	 print_failure(struct engine *, struct rstage *);

/* slurm.c: the Slurm executor, in place of the local loop */
void	 slurm_loop(struct engine *);

/* spawn.c: which step of starting a stage failed */
enum { SPAWN_STEP_FDS = 1, SPAWN_STEP_CWD, SPAWN_STEP_LIMIT, SPAWN_STEP_EXEC,
    SPAWN_STEP_PDEATH };
int	 spawn_stage(struct engine *, struct rstage *, int *);
void	 killpg_stage(struct rstage *, int);

/* fanout.c */
void	 fanout_pump(struct engine *, struct rstage *);
int64_t	 fanout_stalled(struct engine *, struct rstage *, int64_t);
int	 fanout_file_waits(struct engine *, struct rstage *);
void	 fanout_port_write(struct engine *, struct rport *);
int	 fanout_port_wants_out(const struct rport *);
void	 fanout_producer_eof(struct engine *, struct rstage *);
void	 fanout_port_close(struct engine *, struct rport *);
void	 fanout_release(struct engine *, struct rstage *);
void	 fanout_exited_ok(struct engine *, struct rstage *);
void	 fanout_discard(struct engine *, struct rstage *);
void	 fanout_undefer(struct engine *, struct rstage *, int, int64_t);

/* queue.c */
void	 queue_init(struct queue *, int);
void	 queue_free(struct queue *);
int64_t	 queue_pending(const struct queue *);
void	 queue_append(struct queue *, const void *, size_t);
size_t	 queue_peek(struct queue *, const char **, char *, size_t);
void	 queue_consume(struct queue *, size_t);
void	 queue_rewind(struct queue *);
void	 queue_clear(struct queue *);

/* monitor.c */
void	 monitor_io_mark(void);
void	 monitor_read_io(struct rstage *);
void	 monitor_reaped(struct engine *, struct rstage *);
void	 monitor_cached(struct engine *, struct rstage *);
void	 monitor_orphan(struct engine *, pid_t, const struct rusage *);
void	 monitor_sample(struct engine *, int64_t);
int64_t	 monitor_next_deadline(struct engine *);
void	 monitor_stage_final(struct engine *, struct rstage *);
void	 monitor_run_final(struct engine *);
int	 monitor_alert_reaped(struct engine *, pid_t, int);
void	 monitor_alert_deadlines(struct engine *, int64_t);
void	 monitor_trace(struct engine *, struct rstage *);
void	 monitor_summary(struct engine *);
void	 monitor_record(struct engine *, const char *);
char	*monitor_state_dir(const char *);
int	 monitor_run_dir(struct engine *);
void	 monitor_free(struct engine *);
int64_t	 monitor_expected_wall(struct engine *);

/* live.c: the running coordinator's state, mmap'd for sluice status */
struct live	*live_open(struct engine *);
void		 live_update(struct engine *);
void		 live_stage(struct engine *, struct rstage *);
void		 live_close(struct live *);
char		*live_dir(void);

#endif
