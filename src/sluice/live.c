/*
 * live.c: publish a running coordinator's state for `sluice status` and
 * `sluice top`: DIR/PID.live (live.h), where DIR is
 * $XDG_RUNTIME_DIR/sluice or STATE/live.  Updated at each sampling tick;
 * removed at the end of the run.  A coordinator killed with SIGKILL
 * leaves its file behind: readers see that PID no longer runs (or runs
 * something started at another time) and remove it.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live.h"
#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

struct live {
	int		 primed;	/* every slot written once */
	char		*path;
	size_t		 size;
	struct live_hdr	*hdr;
	struct live_stage *st;
};

char *
live_dir(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	const char *sd = getenv("SLUICE_STATE_DIR");
	char	*state, *dir;

	if ((sd == NULL || *sd == '\0') && rt != NULL && *rt == '/')
		return xasprintf("%s/sluice", rt);
	state = monitor_state_dir(NULL);
	dir = xasprintf("%s/live", state);
	free(state);
	return dir;
}

uint64_t
live_proc_start(int64_t pid)
{
	char	 path[64], text[1024];
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	if (read_text(path, text, sizeof(text)) == -1)
		return 0;
	if (proc_stat_field(text, 22, &start) == -1)	/* starttime */
		return 0;
	return start;
}

struct live *
live_open(struct engine *E)
{
	struct live *L;
	char	*dir;
	int	 fd;
	size_t	 i;

	dir = live_dir();
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		char	*parent = xstrdup(dir), *slash = strrchr(parent, '/');

		if (slash != NULL) {
			*slash = '\0';
			(void)mkdir(parent, 0700);
		}
		free(parent);
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			free(dir);
			return NULL;	/* no live view; the run goes on */
		}
	}
	L = xcalloc(1, sizeof(*L));
	L->path = xasprintf("%s/%d.live", dir, (int)getpid());
	free(dir);
	L->size = sizeof(struct live_hdr) + E->n * sizeof(struct live_stage);
	fd = open(L->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || ftruncate(fd, (off_t)L->size) == -1 ||
	    (L->hdr = mmap(NULL, L->size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0)) == MAP_FAILED) {
		if (fd != -1) {
			close(fd);
			unlink(L->path);
		}
		free(L->path);
		free(L);
		return NULL;
	}
	close(fd);
	L->st = (struct live_stage *)(L->hdr + 1);
	/* odd while the header is filled in: a reader that saw the pid
	 * without its start time would take the file for a ghost's and
	 * remove it */
	__atomic_store_n(&L->hdr->seq, 1, __ATOMIC_RELEASE);
	memcpy(L->hdr->magic, LIVE_MAGIC, 8);
	L->hdr->version = LIVE_VERSION;
	L->hdr->nstages = (uint32_t)E->n;
	L->hdr->pid = getpid();
	L->hdr->proc_start = live_proc_start(getpid());
	L->hdr->start_ms = E->r0 / 1000000;
	L->hdr->jobs = E->jobs;
	strlcpy(L->hdr->name, E->p->name, sizeof(L->hdr->name));
	strlcpy(L->hdr->file, E->p->path, sizeof(L->hdr->file));
	strlcpy(L->hdr->run_id, E->run_id, sizeof(L->hdr->run_id));
	for (i = 0; i < E->n; i++)
		strlcpy(L->st[i].name, E->rs[i].st->name,
		    sizeof(L->st[i].name));
	__atomic_store_n(&L->hdr->seq, 2, __ATOMIC_RELEASE);
	E->live = L;
	live_update(E);
	return L;
}

void
live_update(struct engine *E)
{
	struct live *L = E->live;
	int64_t	 now = real_ns() / 1000000, mnow = mono_ns();
	size_t	 k;

	if (L == NULL)
		return;
	__atomic_add_fetch(&L->hdr->seq, 1, __ATOMIC_ACQ_REL);	/* odd */
	/* states change through live_stage(); here the figures of what
	 * runs (all stages once, at the start) */
	for (k = 0; k < (L->primed ? E->nactive : E->n); k++) {
		size_t	 i = L->primed ? (size_t)E->active[k] : k;
		struct rstage *R = &E->rs[i];
		struct live_stage *s = &L->st[i];

		s->state = (int32_t)R->state;
		s->pid = R->pid;
		s->attempt = R->attempt;
		s->start_ms = R->r_start / 1000000;
		if (R->state == PS_RUNNING || R->state == PS_STOPPING) {
			s->elapsed_ms = (mnow - R->t_start) / 1000000;
			s->cpu_us = R->sampled_cpu_us;
			s->rss_kb = R->sampled_rss_kb;
		} else if (R->reaped) {
			s->elapsed_ms = (R->t_end - R->t_start) / 1000000;
			s->cpu_us = (int64_t)R->ru.ru_utime.tv_sec * 1000000 +
			    R->ru.ru_utime.tv_usec +
			    (int64_t)R->ru.ru_stime.tv_sec * 1000000 +
			    R->ru.ru_stime.tv_usec;
			s->rss_kb = R->ru.ru_maxrss;
		}
		s->out_bytes = R->out_bytes;
		s->in_bytes = R->in_bytes;
	}
	L->primed = 1;
	L->hdr->running = E->running;
	L->hdr->finished = (int32_t)E->nfinished;
	L->hdr->failed = E->nfailed;
	L->hdr->peak_sum_rss_kb = E->peak_sum_rss_kb;
	L->hdr->updated_ms = now;
	__atomic_add_fetch(&L->hdr->seq, 1, __ATOMIC_ACQ_REL);	/* even */
}

/* one stage changed state: its slot and the counters, O(1) */
void
live_stage(struct engine *E, struct rstage *R)
{
	struct live *L = E->live;
	struct live_stage *s = &L->st[R->st->idx];

	__atomic_add_fetch(&L->hdr->seq, 1, __ATOMIC_ACQ_REL);	/* odd */
	s->state = (int32_t)R->state;
	s->pid = R->pid;
	s->attempt = R->attempt;
	s->start_ms = R->r_start / 1000000;
	if (R->reaped)
		s->elapsed_ms = (R->t_end - R->t_start) / 1000000;
	L->hdr->running = E->running;
	L->hdr->finished = (int32_t)E->nfinished;
	L->hdr->failed = E->nfailed;
	L->hdr->updated_ms = real_ns() / 1000000;
	__atomic_add_fetch(&L->hdr->seq, 1, __ATOMIC_ACQ_REL);	/* even */
}

void
live_close(struct live *L)
{
	munmap(L->hdr, L->size);
	unlink(L->path);
	free(L->path);
	free(L);
}
