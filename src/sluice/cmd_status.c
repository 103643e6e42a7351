/*
 * cmd_status.c: `sluice status` and `sluice top`: read the live state
 * files of running coordinators (live.h) with the seqlock protocol,
 * drop stale ones (their coordinator is gone), and print them: once, as
 * JSON, every second (--watch), or full-screen like top(1).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "json.h"
#include "live.h"
#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

struct snap {
	struct live_hdr	 hdr;
	struct live_stage *st;
};

static const char *const state_names[] = { "waiting", "running",
    "stopping", "exited", "done", "failed", "cached", "skipped" };

static const char *
sname(int32_t s)
{
	return s >= 0 && s < 8 ? state_names[s] : "?";
}

/* a consistent copy of one live file; -1 if stale, unreadable or torn */
static int
read_live(const char *path, struct snap *out)
{
	struct stat sb;
	void	*map;
	const struct live_hdr *h;
	uint64_t s1, s2;
	size_t	 n;
	int	 fd, tries, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || (size_t)sb.st_size < sizeof(*h) ||
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd,
	    0)) == MAP_FAILED) {
		close(fd);
		return -1;
	}
	close(fd);
	h = map;
	for (tries = 0; tries < 1000; tries++) {
		s1 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1) {	/* mid-update: let the writer finish it */
			sched_yield();
			continue;
		}
		memcpy(&out->hdr, h, sizeof(*h));
		if (memcmp(out->hdr.magic, LIVE_MAGIC, 8) != 0 ||
		    out->hdr.version != LIVE_VERSION)
			break;
		n = out->hdr.nstages;
		if (sizeof(*h) + n * sizeof(struct live_stage) >
		    (size_t)sb.st_size)
			break;
		out->st = xreallocarray(out->st, n + 1, sizeof(*out->st));
		memcpy(out->st, (const char *)map + sizeof(*h),
		    n * sizeof(*out->st));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
		if (s1 == s2) {
			rc = 0;
			break;
		}
	}
	munmap(map, (size_t)sb.st_size);
	if (rc == 0 && (kill((pid_t)out->hdr.pid, 0) == -1 && errno == ESRCH))
		rc = -2;
	if (rc == 0 && live_proc_start(out->hdr.pid) != out->hdr.proc_start)
		rc = -2;		/* the pid now belongs to another process */
	if (rc == -2)
		(void)unlink(path);	/* a ghost: its coordinator is gone */
	return rc == 0 ? 0 : -1;
}

static size_t
read_all(struct snap **out)
{
	char	*dir = live_dir(), *path;
	DIR	*d;
	struct dirent *e;
	size_t	 n = 0;

	*out = NULL;
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		size_t	 len = strlen(e->d_name);
		struct snap s = { .st = NULL };

		if (len < 6 || strcmp(e->d_name + len - 5, ".live") != 0)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (read_live(path, &s) == 0) {
			*out = xreallocarray(*out, n + 1, sizeof(**out));
			(*out)[n++] = s;
		} else
			free(s.st);
		free(path);
	}
	closedir(d);
	free(dir);
	return n;
}

static void
free_snaps(struct snap *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(s[i].st);
	free(s);
}

static void
print_json(FILE *f, struct snap *s, size_t n)
{
	struct buf b = { 0 };
	struct jw w;
	size_t	 i, k;

	jw_init(&w, &b);
	jw_arr(&w);
	for (i = 0; i < n; i++) {
		jw_obj(&w);
		jw_key(&w, "pid");
		jw_int(&w, s[i].hdr.pid);
		jw_key(&w, "run");
		jw_str(&w, s[i].hdr.run_id);
		jw_key(&w, "pipeline");
		jw_str(&w, s[i].hdr.name);
		jw_key(&w, "file");
		jw_str(&w, s[i].hdr.file);
		jw_key(&w, "start_ms");
		jw_int(&w, s[i].hdr.start_ms);
		jw_key(&w, "updated_ms");
		jw_int(&w, s[i].hdr.updated_ms);
		jw_key(&w, "jobs");
		jw_int(&w, s[i].hdr.jobs);
		jw_key(&w, "running");
		jw_int(&w, s[i].hdr.running);
		jw_key(&w, "finished");
		jw_int(&w, s[i].hdr.finished);
		jw_key(&w, "failed");
		jw_int(&w, s[i].hdr.failed);
		jw_key(&w, "stages");
		jw_arr(&w);
		for (k = 0; k < s[i].hdr.nstages; k++) {
			const struct live_stage *t = &s[i].st[k];

			jw_obj(&w);
			jw_key(&w, "name");
			jw_str(&w, t->name);
			jw_key(&w, "state");
			jw_str(&w, sname(t->state));
			jw_key(&w, "pid");
			jw_int(&w, t->pid);
			jw_key(&w, "attempt");
			jw_int(&w, t->attempt);
			jw_key(&w, "elapsed_ms");
			jw_int(&w, t->elapsed_ms);
			jw_key(&w, "cpu_us");
			jw_int(&w, t->cpu_us);
			jw_key(&w, "rss_kb");
			jw_int(&w, t->rss_kb);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	buf_addc(&b, '\n');
	fwrite(b.data, 1, b.len, f);
	buf_free(&b);
}

enum sortkey { SORT_ORDER, SORT_CPU, SORT_MEM, SORT_TIME, SORT_NAME };
static enum sortkey sortkey;

static int
stagecmp(const void *a, const void *b)
{
	const struct live_stage *x = a, *y = b;

	switch (sortkey) {
	case SORT_CPU:
		return (y->cpu_us > x->cpu_us) - (y->cpu_us < x->cpu_us);
	case SORT_MEM:
		return (y->rss_kb > x->rss_kb) - (y->rss_kb < x->rss_kb);
	case SORT_TIME:
		return (y->elapsed_ms > x->elapsed_ms) -
		    (y->elapsed_ms < x->elapsed_ms);
	case SORT_NAME:
		return strcmp(x->name, y->name);
	default:
		return 0;
	}
}

/* all: every stage (top), else only those running or failed (status) */
static void
print_text(FILE *f, struct snap *s, size_t n, int all)
{
	size_t	 i, k;
	int64_t	 now = real_ns() / 1000000;

	if (n == 0) {
		fprintf(f, "no running pipelines\n");
		return;
	}
	for (i = 0; i < n; i++) {
		const struct live_hdr *h = &s[i].hdr;
		char	 el[32], rss[32];
		struct live_stage *v = xcalloc(h->nstages + 1, sizeof(*v));

		fmt_duration((now - h->start_ms) * 1000000, el, sizeof(el));
		fmt_size(h->peak_sum_rss_kb * 1024, rss, sizeof(rss));
		fprintf(f, "%s (pid %lld, run %s): %d/%u done, %d running, "
		    "%d failed, %s, peak rss %s\n", h->name, (long long)h->pid,
		    h->run_id, h->finished, h->nstages, h->running, h->failed,
		    el, rss);
		memcpy(v, s[i].st, h->nstages * sizeof(*v));
		qsort(v, h->nstages, sizeof(*v), stagecmp);
		fprintf(f, "  %-20s %-8s %7s %3s %9s %9s %9s\n", "STAGE",
		    "STATE", "PID", "TRY", "ELAPSED", "CPU", "RSS");
		for (k = 0; k < h->nstages; k++) {
			const struct live_stage *t = &v[k];
			char	 e[32], c[32], r[32];

			if (!all && t->state != 1 && t->state != 2 &&
			    t->state != 5)
				continue;
			if (t->start_ms == 0) {
				fprintf(f, "  %-20.20s %-8s\n", t->name,
				    sname(t->state));
				continue;
			}
			fmt_duration(t->elapsed_ms * 1000000, e, sizeof(e));
			fmt_duration(t->cpu_us * 1000, c, sizeof(c));
			fmt_size(t->rss_kb * 1024, r, sizeof(r));
			fprintf(f, "  %-20.20s %-8s %7d %3d %9s %9s %9s\n",
			    t->name, sname(t->state), t->pid, t->attempt, e, c,
			    r);
		}
		free(v);
	}
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "watch", no_argument, NULL, 'W' },
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct snap *s;
	size_t	 n;
	int	 c, json = 0, watch = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = 1;
			break;
		case 'W':
			watch = 1;
			break;
		case 'U':
			cmd_usage(argv[0]);
		default:
			cmd_badopt(argv[0], argv, c);
		}
	}
	if (argc != optind)
		cmd_usage(argv[0]);
	for (;;) {
		n = read_all(&s);
		if (watch && isatty(1))
			fputs("\033[H\033[2J", stdout);
		if (json)
			print_json(stdout, s, n);
		else
			print_text(stdout, s, n, 0);
		free_snaps(s, n);
		fflush(stdout);
		if (!watch)
			return 0;
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
}

static volatile sig_atomic_t top_stop;

static void
top_sig(int sig)
{
	(void)sig;
	top_stop = 1;
}

int
cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "usage", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 }
	};
	struct termios old, raw;
	struct sigaction sa;
	struct snap *s;
	size_t	 n;
	int	 c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		if (c == 'U')
			cmd_usage(argv[0]);
		cmd_badopt(argv[0], argv, c);
	}
	if (argc != optind)
		cmd_usage(argv[0]);
	if (!isatty(0) || !isatty(1) || tcgetattr(0, &old) == -1) {
		/* not a terminal: one plain snapshot */
		n = read_all(&s);
		print_text(stdout, s, n, 1);
		free_snaps(s, n);
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	raw = old;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(0, TCSANOW, &raw);
	fputs("\033[?25l", stdout);
	while (!top_stop) {
		struct pollfd pfd = { 0, POLLIN, 0 };
		char	 key;

		n = read_all(&s);
		fputs("\033[H\033[2J", stdout);
		printf("sluice top: q quit, c cpu, m memory, t time, n name, "
		    "o order\n\n");
		print_text(stdout, s, n, 1);
		free_snaps(s, n);
		fflush(stdout);
		if (poll(&pfd, 1, 1000) > 0 && read(0, &key, 1) == 1) {
			switch (key) {
			case 'q':
				top_stop = 1;
				break;
			case 'c':
				sortkey = SORT_CPU;
				break;
			case 'm':
				sortkey = SORT_MEM;
				break;
			case 't':
				sortkey = SORT_TIME;
				break;
			case 'n':
				sortkey = SORT_NAME;
				break;
			case 'o':
				sortkey = SORT_ORDER;
				break;
			}
		}
	}
	fputs("\033[?25h\n", stdout);
	fflush(stdout);
	tcsetattr(0, TCSANOW, &old);
	return 0;
}
