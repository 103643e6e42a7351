/*
 * live.h: the wire format of the live state file a running coordinator
 * publishes (live.c) and `sluice status` / `sluice top` read
 * (cmd_status.c).  One file per coordinator, DIR/PID.live, mapped
 * MAP_SHARED.  Fixed-width little-endian fields, no pointers.
 *
 * Consistency: a sequence counter (seqlock).  The writer makes seq odd,
 * writes, makes it even again; a reader copies the file between two
 * reads of an even, unchanged seq, and retries otherwise.
 */
#ifndef LIVE_H
#define LIVE_H

#include <stdint.h>

#define LIVE_MAGIC	"SLUICELV"
#define LIVE_VERSION	1

struct live_hdr {			/* 512 bytes */
	char		 magic[8];
	uint32_t	 version;
	uint32_t	 nstages;
	uint64_t	 seq;
	int64_t		 pid;
	uint64_t	 proc_start;	/* starttime in /proc/PID/stat */
	int64_t		 start_ms;	/* wall clock */
	int64_t		 updated_ms;
	int32_t		 jobs;
	int32_t		 running;
	int32_t		 finished;
	int32_t		 failed;
	int64_t		 peak_sum_rss_kb;
	char		 name[64];
	char		 file[256];
	char		 run_id[64];
	char		 pad[48];
};

struct live_stage {			/* 128 bytes */
	char		 name[64];
	int32_t		 state;		/* enum pstate */
	int32_t		 pid;
	int32_t		 attempt;
	int32_t		 pad;
	int64_t		 start_ms;	/* wall clock, 0: not started */
	int64_t		 elapsed_ms;
	int64_t		 cpu_us;
	int64_t		 rss_kb;
	int64_t		 out_bytes;
	int64_t		 in_bytes;
};

_Static_assert(sizeof(struct live_hdr) == 512, "live_hdr is 512 bytes");
_Static_assert(sizeof(struct live_stage) == 128, "live_stage is 128 bytes");

uint64_t	 live_proc_start(int64_t);	/* 0 if gone */

#endif
