/*
 * cmd_map.c: `sluice __map`, the runner the coordinator puts in place of
 * a "map" stage (one output line per input line).  It reads all input
 * lines, serves each line it has seen before from the cache (key: the
 * stage's own key and the line's digest), shards the lines that missed
 * into chunks run by up to --jobs processes of the stage's command at
 * once, checks that every chunk gave one line per line, stores the new
 * lines, and writes all results in input order.  To the coordinator it
 * is one process: its stdout, stderr, exit status and rusage (which
 * includes its shards) are the stage's.
 */
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "cmd.h"
#include "digest.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

struct line {
	const char	*p;		/* into the input, without '\n' */
	size_t		 n;
	const char	*out;		/* result, without '\n': into the hits
					   or its shard's output */
	size_t		 outn;
	int		 cached;
	struct digest	 key;
};

/* a shard's input: its lines where they are in ours, a run of
 * neighbours one iovec, written with writev(2) as its pipe takes them */
struct shard {
	size_t		 first;		/* index into the missed lines */
	size_t		 n;
	pid_t		 pid;
	int		 in;		/* its stdin, our write end */
	int		 out;		/* its stdout, our read end */
	struct iovec	*iov;
	size_t		 niov, iovi;	/* iovecs, and the next to write */
	struct buf	 outbuf;
	int		 status;
	int		 reaped;
};

static void
line_key(const struct digest *base, const char *p, size_t n,
    struct digest *key)
{
	struct digest_ctx c;

	digest_begin(&c);
	digest_add(&c, base, sizeof(*base));
	digest_add(&c, p, n);
	digest_end(&c, key);
}

static pid_t
spawn_shard(struct shard *s, const char *prog, char **argv, sigset_t *old)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t def;
	int	 in[2], out[2], e;
	pid_t	 pid;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe2");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawnattr_init(&sa);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&sa, old);
	posix_spawnattr_setsigdefault(&sa, &def);
	e = posix_spawn(&pid, prog, &fa, &sa, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(in[0]);
	close(out[1]);
	if (e != 0)
		errc(EX_OSERR, e, "cannot run '%s'", prog);
	s->in = in[1];
	s->out = out[0];
	set_nonblock(s->in, 1);
	set_nonblock(s->out, 1);
	s->pid = pid;
	return pid;
}

/* the shard's lines as iovecs into the input, neighbours merged */
static void
shard_input(struct shard *s, struct line **miss)
{
	static const char nl[] = "\n";
	size_t	 k;

	s->iov = xcalloc(2 * s->n + 1, sizeof(*s->iov));
	for (k = 0; k < s->n; k++) {
		const struct line *l = miss[s->first + k];
		struct iovec *v = s->niov > 0 ? &s->iov[s->niov - 1] : NULL;

		if (l->p[l->n] != '\n') {	/* the last line, unended */
			s->iov[s->niov].iov_base = (void *)(uintptr_t)l->p;
			s->iov[s->niov++].iov_len = l->n;
			s->iov[s->niov].iov_base = (void *)(uintptr_t)nl;
			s->iov[s->niov++].iov_len = 1;
		} else if (v != NULL && (const char *)v->iov_base +
		    v->iov_len == l->p)
			v->iov_len += l->n + 1;
		else {
			s->iov[s->niov].iov_base = (void *)(uintptr_t)l->p;
			s->iov[s->niov++].iov_len = l->n + 1;
		}
	}
}

/* write what the shard's pipe takes: -1 when it is all written (or the
 * shard will take no more), else 0 */
static int
shard_write(struct shard *s)
{
	ssize_t	 n;

	while (s->iovi < s->niov) {
		n = writev(s->in, s->iov + s->iovi, (int)(s->niov - s->iovi <
		    IOV_MAX ? s->niov - s->iovi : IOV_MAX));
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		while (n > 0 && s->iovi < s->niov) {
			struct iovec *v = &s->iov[s->iovi];

			if ((size_t)n < v->iov_len) {
				v->iov_base = (char *)v->iov_base + n;
				v->iov_len -= (size_t)n;
				n = 0;
			} else {
				n -= (ssize_t)v->iov_len;
				s->iovi++;
			}
		}
	}
	return -1;
}

/* split a shard's output into its lines; -1 if the count is wrong */
static int
take_lines(struct shard *s, struct line **miss)
{
	const char *p = s->outbuf.data, *e = p + s->outbuf.len, *nl;
	size_t	 i = 0;

	while (p < e && i < s->n) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		miss[s->first + i]->out = p;
		miss[s->first + i]->outn = (size_t)(nl - p);
		i++;
		p = nl < e ? nl + 1 : e;
	}
	return i == s->n && p == e ? 0 : -1;
}

static size_t
count_lines(const struct buf *b)
{
	size_t	 n = 0, i;

	for (i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n + (b->len > 0 && b->data[b->len - 1] != '\n');
}

int
cmd_map(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "category", required_argument, NULL, 'c' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "key", required_argument, NULL, 'k' },
		{ "prog", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stage", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf in = { 0 }, hits = { 0 };
	struct line *lines = NULL, **miss;
	struct shard *sh;
	struct cache *cache = NULL;
	struct digest base;
	const char *prog = NULL, *cdir = NULL, *cat = NULL, *stage = "map";
	const char *errstr;
	size_t	 nlines = 0, nmiss = 0, i, next = 0, nsh, active = 0, cap = 0;
	long long jobs = 1, batch = 0;
	int	 c, catid = -1, have_key = 0, sfd, failed = 0, quiet = 0;
	sigset_t set, old;
	char	*p, *e;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			batch = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "__map: bad --batch '%s'", optarg);
			break;
		case 'C':
			cdir = optarg;
			break;
		case 'c':
			cat = optarg;
			break;
		case 'j':
			jobs = strtonum(optarg, 1, 100000, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "__map: bad --jobs '%s'", optarg);
			break;
		case 'k':
			if (digest_parse(optarg, &base) == -1)
				errx(EX_USAGE, "__map: bad --key '%s'", optarg);
			have_key = 1;
			break;
		case 'p':
			prog = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			stage = optarg;
			break;
		default:
			errx(EX_USAGE, "__map is for the coordinator only");
		}
	}
	if (optind >= argc || prog == NULL)
		errx(EX_USAGE, "__map: no command");
	argv += optind;
	if (buf_readfd(&in, 0) == -1)
		err(EX_IOERR, "stage '%s': reading its input", stage);
	buf_cstr(&in);
	for (p = in.data; p < in.data + in.len; p = e + 1) {
		if ((e = memchr(p, '\n', in.len - (size_t)(p - in.data))) == NULL)
			e = in.data + in.len;
		if (nlines == cap) {
			cap = cap ? cap * 2 : 256;
			lines = xreallocarray(lines, cap, sizeof(*lines));
		}
		memset(&lines[nlines], 0, sizeof(lines[nlines]));
		lines[nlines].p = p;
		lines[nlines++].n = (size_t)(e - p);
	}
	if (cat != NULL && have_key) {
		int	 unsafe;

		cache = cache_open(cdir, 0, &unsafe);
		if (cache_error(cache)[0] != '\0') {
			warnx("%s; records not cached", cache_error(cache));
			cache_close(cache);
			cache = NULL;
		} else
			catid = cache_category(cache, cat, -1, 0);
	}
	miss = xcalloc(nlines + 1, sizeof(*miss));
	if (cache != NULL) {
		struct digest *keys = xcalloc(nlines + 1, sizeof(*keys));
		struct cache_span *span = xcalloc(nlines + 1, sizeof(*span));

		for (i = 0; i < nlines; i++) {
			line_key(&base, lines[i].p, lines[i].n, &lines[i].key);
			keys[i] = lines[i].key;
		}
		(void)cache_get_many(cache, catid, keys, nlines, &hits, span);
		for (i = 0; i < nlines; i++)
			if (span[i].off != SIZE_MAX) {
				lines[i].out = hits.data + span[i].off;
				lines[i].outn = span[i].len;
				lines[i].cached = 1;
			}
		free(keys);
		free(span);
	}
	for (i = 0; i < nlines; i++)
		if (!lines[i].cached)
			miss[nmiss++] = &lines[i];
	if (batch == 0)
		batch = nmiss == 0 ? 1 : ((long long)nmiss + jobs - 1) / jobs;
	nsh = (nmiss + (size_t)batch - 1) / (size_t)batch;
	sh = xcalloc(nsh + 1, sizeof(*sh));
	for (i = 0; i < nsh; i++) {
		sh[i].first = i * (size_t)batch;
		sh[i].n = nmiss - sh[i].first < (size_t)batch ?
		    nmiss - sh[i].first : (size_t)batch;
		sh[i].in = sh[i].out = -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		err(EX_OSERR, "signalfd");
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		struct pollfd *pfd = xcalloc(2 * nsh + 2, sizeof(*pfd));
		size_t	*who = xcalloc(2 * nsh + 2, sizeof(*who)), np = 0;
		struct signalfd_siginfo si;

		while (!failed && next < nsh && active < (size_t)jobs) {
			struct shard *s = &sh[next++];

			shard_input(s, miss);
			spawn_shard(s, prog, argv, &old);
			active++;
		}
		if (active == 0) {
			free(pfd);
			free(who);
			break;
		}
		pfd[np].fd = sfd;
		pfd[np++].events = POLLIN;
		for (i = 0; i < nsh; i++) {
			if (sh[i].in != -1) {
				pfd[np].fd = sh[i].in;
				pfd[np].events = POLLOUT;
				who[np++] = i;
			}
			if (sh[i].out != -1) {
				pfd[np].fd = sh[i].out;
				pfd[np].events = POLLIN;
				who[np++] = i;
			}
		}
		if (poll(pfd, np, -1) == -1 && errno != EINTR)
			err(EX_OSERR, "poll");
		for (i = 1; i < np; i++) {
			struct shard *s = &sh[who[i]];
			ssize_t	 n;

			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == s->in) {
				if (shard_write(s) == -1) {
					close(s->in);	/* EOF, or EPIPE */
					s->in = -1;
				}
			} else {
				buf_grow(&s->outbuf, 65536);
				n = read(s->out, s->outbuf.data +
				    s->outbuf.len, 65536);
				if (n > 0)
					s->outbuf.len += (size_t)n;
				else if (n == 0 || (errno != EAGAIN &&
				    errno != EINTR)) {
					close(s->out);
					s->out = -1;
				}
			}
		}
		free(pfd);
		free(who);
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		for (i = 0; i < nsh; i++) {
			struct shard *s = &sh[i];
			int	 st;

			if (s->pid <= 0 || s->reaped ||
			    waitpid(s->pid, &st, WNOHANG) != s->pid)
				continue;
			s->reaped = 1;
			s->status = st;
			if (s->in != -1) {
				close(s->in);
				s->in = -1;
			}
			/* drain what it wrote */
			while (s->out != -1) {
				ssize_t	 n;

				buf_grow(&s->outbuf, 65536);
				n = read(s->out, s->outbuf.data +
				    s->outbuf.len, 65536);
				if (n > 0) {
					s->outbuf.len += (size_t)n;
					continue;
				}
				if (n == -1 && errno == EAGAIN)
					break;	/* a child of it still writes */
				close(s->out);
				s->out = -1;
			}
			active--;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				if (WIFSIGNALED(st))
					warnx("stage '%s': the shard of lines "
					    "%zu-%zu was killed by signal %d",
					    stage, s->first + 1,
					    s->first + s->n, WTERMSIG(st));
				else
					warnx("stage '%s': the shard of lines "
					    "%zu-%zu exited with status %d",
					    stage, s->first + 1,
					    s->first + s->n, WEXITSTATUS(st));
				failed = 1;
			}
		}
		if (failed)
			for (i = 0; i < nsh; i++)
				if (sh[i].pid > 0 && !sh[i].reaped)
					kill(sh[i].pid, SIGTERM);
	}
	if (failed)
		goto done;
	for (i = 0; i < nsh; i++) {
		while (sh[i].out != -1) {	/* output after the exit */
			ssize_t	 n;

			set_nonblock(sh[i].out, 0);
			buf_grow(&sh[i].outbuf, 65536);
			n = read(sh[i].out, sh[i].outbuf.data +
			    sh[i].outbuf.len, 65536);
			if (n > 0) {
				sh[i].outbuf.len += (size_t)n;
				continue;
			}
			close(sh[i].out);
			sh[i].out = -1;
		}
		if (take_lines(&sh[i], miss) == -1) {
			warnx("stage '%s' is a map stage but wrote %zu lines "
			    "for %zu input lines (%zu-%zu)", stage,
			    count_lines(&sh[i].outbuf), sh[i].n,
			    sh[i].first + 1, sh[i].first + sh[i].n);
			failed = 1;
			goto done;
		}
	}
	/* each shard's new lines, from its output where they are */
	for (i = 0; cache != NULL && i < nsh; i++) {
		struct digest *keys = xcalloc(sh[i].n + 1, sizeof(*keys));
		struct cache_span *span = xcalloc(sh[i].n + 1, sizeof(*span));
		size_t	 k;
		int	 rc;

		for (k = 0; k < sh[i].n; k++) {
			const struct line *l = miss[sh[i].first + k];

			keys[k] = l->key;
			span[k].off = (size_t)(l->out - sh[i].outbuf.data);
			span[k].len = l->outn;
		}
		rc = cache_store_many(cache, catid, keys, sh[i].n,
		    &sh[i].outbuf, span);
		free(keys);
		free(span);
		if (rc == -1) {
			warnx("stage '%s': records not cached: %s", stage,
			    cache_error(cache));
			break;
		}
	}
	{
		struct buf out = { 0 };

		for (i = 0; i < nlines; i++) {
			buf_add(&out, lines[i].out, lines[i].outn);
			/* a last line without a newline, as the input's is:
			   the output does not hang on -j */
			if (i + 1 < nlines || in.data[in.len - 1] == '\n')
				buf_addc(&out, '\n');
			if (out.len >= 65536 || i + 1 == nlines) {
				if (buf_writefd(&out, 1) == -1)
					err(EX_IOERR, "stage '%s': output",
					    stage);
				buf_reset(&out);
			}
		}
		buf_free(&out);
	}
	if (!quiet)
		fprintf(stderr, "%s: %zu records, %zu from the cache, %zu in "
		    "%zu process%s\n", "map", nlines, nlines - nmiss, nmiss,
		    nsh, nsh == 1 ? "" : "es");
done:
	buf_free(&hits);
	for (i = 0; i < nsh; i++) {
		free(sh[i].iov);
		buf_free(&sh[i].outbuf);
	}
	free(sh);
	free(miss);
	free(lines);
	buf_free(&in);
	cache_close(cache);
	return failed ? 1 : 0;
}
