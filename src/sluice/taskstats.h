/*
 * taskstats.h: the peak resident size of a stage's own program, from
 * Linux's task statistics (taskstats.c)
 */
#ifndef TASKSTATS_H
#define TASKSTATS_H

#include <sys/types.h>

/* listens for exit records: 0, or -1 where the kernel does not let us */
int	 taskstats_open(void);
/* the records queued: fn(arg, pid, peak resident KiB) for each */
void	 taskstats_read(void (*)(void *, pid_t, long), void *);
void	 taskstats_close(void);

#endif
