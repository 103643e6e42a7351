/*
 * main.c: the write stage: writes the file records on stdin
 * ({"kind":"file","path":...,"content":...}, as render makes them)
 * under DIR.  Every path is checked before anything is written: no
 * absolute path, no "..", no symbolic link on the way, no duplicate.
 * A file whose content is unchanged is not touched (its mtime stays);
 * the others are staged as the records come, each in an unnamed file
 * (O_TMPFILE: see stage), and once all are read and checked linked
 * under their names, or beside and renamed over (fsync'd first with
 * --sync); where that cannot be, the content waits in memory and goes
 * to a named temporary file renamed into place.  A manifest (.sluice-manifest)
 * records what was produced, so --prune removes the files an earlier
 * run produced and this one did not, and nothing else.  Prints how many
 * files were written, unchanged and pruned.  Other kinds are ignored.
 *
 * A stamp (.sluice-stamp) keeps the digest of the input and, per file,
 * what stat(2) said after the run (inode, size, mtime, ctime): the same
 * input again, with every file as it was left, is a run with nothing to
 * do, found without parsing or reading a file.
 */
#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "digest.h"
#include "json.h"
#include "rec.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define USAGE	"usage: sluice write [--prune] [--sync] [--verbose] dir\n"
#define MANIFEST	".sluice-manifest"
#define STAMP		".sluice-stamp"
#define STAMP_HEAD	"sluice-write-stamp 4"

struct file {
	char		*path;		/* first: sorted as strings */
	struct buf	 content;	/* unless staged */
	struct digest	 d;		/* of the content */
	struct digest	 rd;		/* of its record's line */
	int		 line;		/* of its record */
	int		 same;		/* the file holds it already */
	int		 missing;	/* there was no such file */
	int		 fd;		/* staged in an unnamed file, or -1 */
	struct stat	 st;		/* as committed, if have_st */
	int		 have_st;
	int		 fresh;		/* written in the hidden directory */
	const struct stampent *se;	/* the stamp vouched for it as is */
};

static int	 dosync, verbose;

static void __attribute__((__noreturn__))
usage(int status)
{
	fputs(USAGE, status == 0 ? stdout : stderr);
	exit(status);
}

/* "" for a good relative path, else why it is refused */
static const char *
bad_path(const char *p)
{
	const char	*c, *e;

	if (*p == '\0')
		return "empty path";
	if (*p == '/')
		return "absolute path";
	if (strlen(p) >= PATH_MAX)
		return "longer than PATH_MAX";
	/* the manifest and the stamp hold a path a line */
	for (c = p; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "a control character in the path";
	for (c = p; *c != '\0'; c = *e != '\0' ? e + 1 : e) {
		if ((e = strchr(c, '/')) == NULL)
			e = c + strlen(c);
		if (e == c)
			return "empty path component";
		if (e - c > NAME_MAX)
			return "a part of the path longer than NAME_MAX (255 "
			    "bytes)";
		if ((e - c == 1 && c[0] == '.') || (e - c == 2 &&
		    c[0] == '.' && c[1] == '.'))
			return "'.' or '..' in the path";
		if (e - c == (int)strlen(MANIFEST) && memcmp(c, MANIFEST,
		    (size_t)(e - c)) == 0)
			return "the manifest's name";
		if (e - c == (int)strlen(STAMP) && memcmp(c, STAMP,
		    (size_t)(e - c)) == 0)
			return "the stamp's name";
	}
	if (p[strlen(p) - 1] == '/')
		return "path names a directory";
	return "";
}

/*
 * Check that no existing component of path under dirfd is a symbolic
 * link (or a non-directory where a directory is needed).  The
 * directory last found safe is not looked at again for the next file
 * in it, nor is a last component the caller knows to be a regular file
 * (file_ok: stat(2) without following links said so this run).
 */
static const char *
bad_links(int dirfd, const char *path, int file_ok)
{
	static char	*okdir;		/* the directory last found safe */
	static int	 okfd = -1;
	struct stat	 st;
	const char	*last = strrchr(path, '/');
	size_t		 n = last != NULL ? (size_t)(last - path) : 0, skip = 0;
	char		*p, *s;
	const char	*why = "";
	int		 dirs_ok = 0;	/* every directory on the way is */

	if (last == NULL || (okdir != NULL && okfd == dirfd &&
	    strlen(okdir) == n && strncmp(okdir, path, n) == 0)) {
		if (file_ok)
			return "";
		skip = last != NULL ? n + 1 : 0;
	}
	p = xstrdup(path);
	for (s = p + skip; ; ) {
		char	*slash = strchr(s, '/');

		if (slash != NULL)
			*slash = '\0';
		else
			dirs_ok = 1;
		if (fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				why = strerror(errno);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			why = slash == NULL ? "a symbolic link there" :
			    "a symbolic link on the way";
			break;
		}
		if (slash == NULL) {
			if (!S_ISREG(st.st_mode))
				why = "not a regular file";
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			why = "not a directory on the way";
			break;
		}
		*slash = '/';
		s = slash + 1;
	}
	if (dirs_ok && last != NULL && skip == 0) {
		free(okdir);
		okdir = xstrndup(path, n);
		okfd = dirfd;
	}
	free(p);
	return why;
}

/*
 * The directory of path under dirfd, its last component in *name:
 * opened a component at a time without following a symbolic link, and
 * made where missing when create is set (else -1 when there is none;
 * create 2: -1 also when one cannot be made, errno saying why).
 * A path without a directory is dirfd itself.  The last one opened each
 * way is kept, for the files of one directory (types/...) in a row: not
 * to be closed.
 */
static int
dir_of(int dirfd, const char *path, const char **name, int create)
{
	static struct {
		char	*dir;
		int	 fd, base;
	} last[2] = { { NULL, -1, -1 }, { NULL, -1, -1 } };
	const char	*slash = strrchr(path, '/');
	size_t		 n = slash != NULL ? (size_t)(slash - path) : 0;
	char		*p, *s, *e;
	int		 fd, nfd, soft = create == 2;

	*name = slash != NULL ? slash + 1 : path;
	if (dirfd == -1)
		return -1;
	if (slash == NULL)
		return dirfd;
	create = create != 0;
	if (last[create].dir != NULL && last[create].base == dirfd &&
	    strlen(last[create].dir) == n &&
	    strncmp(last[create].dir, path, n) == 0)
		return last[create].fd;
	if (last[create].fd != -1)
		close(last[create].fd);
	free(last[create].dir);
	last[create].dir = xstrndup(path, n);
	last[create].base = dirfd;
	p = xstrndup(path, n);
	for (s = p, fd = dirfd; fd != -1; s = e + 1) {
		if ((e = strchr(s, '/')) != NULL)
			*e = '\0';
		if (create && mkdirat(fd, s, 0777) == -1 && errno != EEXIST)
			nfd = -1;
		else
			nfd = openat(fd, s, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		if (nfd == -1 && create && !soft)
			err(EX_CANTCREAT, "%s", path);
		if (fd != dirfd)
			close(fd);
		fd = nfd;
		if (e == NULL)
			break;
	}
	free(p);
	return last[create].fd = fd;
}

/* 1 when the file holds c; *missing says when there is no such file */
static int
same_content(int pfd, const char *name, const char *c, size_t clen,
    int *missing)
{
	struct stat	 st;
	struct buf	 old = { 0 };
	int		 fd, same;

	*missing = 0;
	/* O_NONBLOCK: a FIFO there must not block (bad_links refuses it) */
	if ((fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		*missing = errno == ENOENT;
		return 0;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size != clen) {
		close(fd);
		return 0;
	}
	same = buf_readfd(&old, fd) == 0 && old.len == clen &&
	    (clen == 0 || memcmp(old.data, c, clen) == 0);
	close(fd);
	buf_free(&old);
	return same;
}

/*
 * A directory that is not there yet is built beside it under a hidden
 * name, .NAME.sluice-new.PID, each file written there as its record
 * comes, and renamed into place once every record is read and checked:
 * one rename instead of a link per file, and nobody sees it half made.
 * A failure, or SIGINT, SIGTERM or SIGHUP, removes it; one a killed run
 * left is removed by the next run that builds the same directory.
 */
static struct {
	int		 pfd;		/* the directory it is made in */
	int		 fd;		/* the hidden one, or -1 */
	volatile sig_atomic_t live;	/* made, not yet renamed */
	char		 name[NAME_MAX + 1];	/* its name in pfd */
	char		*base;		/* DIR's name in pfd */
} fresh = { -1, -1, 0, "", NULL };

#define FRESH_TAG	".sluice-new."

/*
 * name under pfd, and all below it, removed with the calls a signal
 * handler may make (no malloc, no stdio); 0 when it is gone.
 */
static int
rm_tree(int pfd, const char *name, int depth)
{
	char		 b[2048] __attribute__((__aligned__(8)));
	struct dirent64	*d;
	ssize_t		 n, off;
	int		 fd, gone;

	if (unlinkat(pfd, name, 0) == 0)
		return 0;
	if (errno != EISDIR || depth > 64 || (fd = openat(pfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	do {		/* again from the start while a pass removes some */
		gone = 0;
		if (lseek(fd, 0, SEEK_SET) == -1)
			break;
		while ((n = getdents64(fd, b, sizeof(b))) > 0)
			for (off = 0; off < n; off += d->d_reclen) {
				d = (struct dirent64 *)(void *)(b + off);
				if (strcmp(d->d_name, ".") != 0 &&
				    strcmp(d->d_name, "..") != 0 &&
				    rm_tree(fd, d->d_name, depth + 1) == 0)
					gone = 1;
			}
	} while (gone);
	close(fd);
	return unlinkat(pfd, name, AT_REMOVEDIR);
}

static void
fresh_abandon(void)
{
	if (fresh.live)
		(void)rm_tree(fresh.pfd, fresh.name, 0);
	fresh.live = 0;
}

static void
fresh_signal(int sig)
{
	fresh_abandon();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* hidden directories a killed run left for DIR (their process is gone) */
static void
fresh_sweep(size_t taglen)
{
	DIR		*dp;
	struct dirent	*d;
	char		*end;
	long		 pid;
	int		 fd;

	if ((fd = openat(fresh.pfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, fresh.name, taglen) != 0 ||
		    !isdigit((unsigned char)d->d_name[taglen]))
			continue;
		errno = 0;
		pid = strtol(d->d_name + taglen, &end, 10);
		if (*end == '\0' && errno == 0 && pid > 0 &&
		    pid != (long)getpid() && pid <= INT_MAX &&
		    kill((pid_t)pid, 0) == -1 && errno == ESRCH)
			(void)rm_tree(fresh.pfd, d->d_name, 0);
	}
	closedir(dp);
}

/* dir is not there: build it hidden in pfd, if it can be */
static void
fresh_begin(int pfd, const char *dir)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGTERM };
	struct sigaction sa, old;
	struct stat	 st;
	char		*copy = xstrdup(dir), *b = basename(copy);
	size_t		 i, taglen;
	int		 n;

	n = snprintf(fresh.name, sizeof(fresh.name), "." "%s" FRESH_TAG,
	    b);
	taglen = (size_t)n;
	if (strcmp(b, "/") == 0 || strcmp(b, ".") == 0 ||
	    strcmp(b, "..") == 0 || n < 0 || snprintf(fresh.name,
	    sizeof(fresh.name), "." "%s" FRESH_TAG "%ld", b,
	    (long)getpid()) >= (int)sizeof(fresh.name) ||
	    fstatat(pfd, b, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT) {
		free(copy);
		return;
	}
	fresh.pfd = pfd;
	fresh.base = xstrdup(b);
	free(copy);
	fresh_sweep(taglen);
	if (mkdirat(pfd, fresh.name, 0777) == -1)
		return;
	/* ignored signals stay ignored, as nohup(1) leaves them */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fresh_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			(void)sigaction(sigs[i], &sa, NULL);
	fresh.live = 1;
	atexit(fresh_abandon);
	if ((fresh.fd = openat(pfd, fresh.name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		fresh_abandon();
}

/*
 * A record's file written in the hidden directory.  Where it cannot be
 * (a path given twice, a file where a directory is needed), its content
 * waits in memory: the checks after the records say what is wrong, or
 * it is written the usual way.
 */
static void
fresh_put(struct file *f, const char *c, size_t clen)
{
	const char	*name;
	int		 pfd, fd;

	f->missing = 1;
	if ((pfd = dir_of(fresh.fd, f->path, &name, 2)) == -1 ||
	    (fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0666)) == -1) {
		buf_add(&f->content, c, clen);
		return;
	}
	if (write_all(fd, c, clen) == -1 || (dosync && fsync(fd) == -1))
		err(EX_IOERR, "%s", f->path);
	f->have_st = fstat(fd, &f->st) == 0;
	if (close(fd) == -1)
		err(EX_IOERR, "%s", f->path);
	f->fresh = 1;
}

/* the hidden directory, complete, renamed to dir */
static void
fresh_commit(const struct file *files, size_t n, const char *dir)
{
	const char	*name;
	size_t		 i;
	int		 pfd, last = -1;

	if (dosync) {
		for (i = 0; i < n; i++)
			if ((pfd = dir_of(fresh.fd, files[i].path, &name,
			    0)) != last && (last = pfd) != -1 &&
			    pfd != fresh.fd && fsync(pfd) == -1)
				err(EX_IOERR, "%s", files[i].path);
		if (fsync(fresh.fd) == -1)
			err(EX_IOERR, "%s", dir);
	}
	if (renameat2(fresh.pfd, fresh.name, fresh.pfd, fresh.base,
	    RENAME_NOREPLACE) == -1 && (errno != EINVAL ||
	    renameat(fresh.pfd, fresh.name, fresh.pfd, fresh.base) == -1)) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			errx(EX_CANTCREAT, "%s: made by another while this run "
			    "wrote its files: nothing written; run again",
			    dir);
		err(EX_CANTCREAT, "%s", dir);
	}
	fresh.live = 0;
	if (dosync && fsync(fresh.pfd) == -1)
		err(EX_IOERR, "%s", dir);
}

/*
 * A new file: written to an unnamed file (O_TMPFILE) that is then linked
 * under its name, complete, in one directory operation.  0, or -1 when
 * the file system cannot, or the name appeared meanwhile: the caller
 * goes the usual way.
 */
static int
write_new(int pfd, const char *name, const char *path, const struct buf *c)
{
	char	 proc[64];
	int	 fd;

	if ((fd = openat(pfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666)) ==
	    -1)
		return -1;
	if (write_all(fd, c->data ? c->data : "", c->len) == -1 ||
	    (dosync && fsync(fd) == -1))
		err(EX_IOERR, "%s", path);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, pfd, name, AT_SYMLINK_FOLLOW) == -1) {
		close(fd);
		return -1;
	}
	if (close(fd) == -1)
		err(EX_IOERR, "%s", path);
	if (dosync && fsync(pfd) == -1)
		err(EX_IOERR, "%s", path);
	return 0;
}

/*
 * c in place of name under pfd, through a temporary file renamed over
 * it: 0, or the exit status of the step that failed (errno says why;
 * nothing is left behind).
 */
static int
replace_file(int pfd, const char *name, const struct buf *c)
{
	char	 tmp[64];
	int	 fd, i, e, bad;

	for (i = 0; ; i++) {
		snprintf(tmp, sizeof(tmp), ".sluice-tmp.%ld.%d",
		    (long)getpid(), i);
		if ((fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0666)) != -1)
			break;
		if (errno != EEXIST || i > 100)
			return EX_CANTCREAT;
	}
	bad = write_all(fd, c->data ? c->data : "", c->len) == -1 ||
	    (dosync && fsync(fd) == -1);
	e = errno;
	if (close(fd) == -1 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad || renameat(pfd, tmp, pfd, name) == -1) {
		if (!bad)
			e = errno;
		(void)unlinkat(pfd, tmp, 0);
		errno = e;
		return bad ? EX_IOERR : EX_CANTCREAT;
	}
	if (dosync && fsync(pfd) == -1)
		return EX_IOERR;
	return 0;
}

/* an existing file is replaced by a temporary one renamed over it */
static void
write_atomic(int pfd, const char *name, const char *path,
    const struct buf *c, int missing)
{
	int	 st;

	if (missing && write_new(pfd, name, path, c) == 0)
		return;
	if ((st = replace_file(pfd, name, c)) != 0)
		err(st, "%s", path);
}

/* two records name one path: say which, by their lines */
static void __attribute__((__noreturn__))
twice(const struct file *files, size_t n, const char *path)
{
	size_t	 i;
	int	 first = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(files[i].path, path) != 0)
			continue;
		if (first == 0)
			first = files[i].line;
		else
			errx(EX_DATAERR, "<stdin>:%d: '%s' is written twice "
			    "(first by the record of line %d): two tables "
			    "whose names give the same path?", files[i].line,
			    path, first);
	}
	errx(EX_DATAERR, "'%s': written twice", path);
}

/* whether the first len bytes of p are one of the n sorted paths */
static int
in_sorted(char *const *sorted, size_t n, const char *p, size_t len)
{
	size_t	 lo = 0, hi = n, m;
	int	 c;

	while (lo < hi) {
		m = lo + (hi - lo) / 2;
		if ((c = strncmp(sorted[m], p, len)) == 0)
			c = sorted[m][len] != '\0';	/* longer: after */
		if (c == 0)
			return 1;
		if (c < 0)
			lo = m + 1;
		else
			hi = m;
	}
	return 0;
}

/* a record whose path needs another's file as a directory: a and a/b */
static void
file_as_dir(const struct file *files, size_t n, char **sorted, size_t i)
{
	const char *path = files[i].path, *slash;
	size_t	 k, len;

	for (slash = strchr(path, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		len = (size_t)(slash - path);
		if (!in_sorted(sorted, n, path, len))
			continue;
		for (k = 0; k < n; k++)
			if (strncmp(files[k].path, path, len) == 0 &&
			    files[k].path[len] == '\0')
				errx(EX_DATAERR, "<stdin>:%d: '%s' needs "
				    "'%.*s' to be a directory, but the record "
				    "of line %d writes a file there",
				    files[i].line, path, (int)len, path,
				    files[k].line);
	}
}

/* "ino size mtime ctime ": what stat(2) says of a file the last run
 * left, in b (room for STATPART bytes); its length */
#define STATPART	128

static char *
put_num(char *p, unsigned long long v, int width)
{
	char	 t[24];
	int	 n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n < width)
		t[n++] = '0';
	while (n > 0)
		*p++ = t[--n];
	return p;
}

static char *
put_snum(char *p, long long v)
{
	if (v < 0) {
		*p++ = '-';
		return put_num(p, -(unsigned long long)v, 0);
	}
	return put_num(p, (unsigned long long)v, 0);
}

static size_t
stat_part(char *b, const struct stat *st)
{
	char	*p = b;

	p = put_num(p, (unsigned long long)st->st_ino, 0);
	*p++ = ' ';
	p = put_snum(p, (long long)st->st_size);
	*p++ = ' ';
	p = put_snum(p, (long long)st->st_mtim.tv_sec);
	*p++ = '.';
	p = put_num(p, (unsigned long long)st->st_mtim.tv_nsec, 9);
	*p++ = ' ';
	p = put_snum(p, (long long)st->st_ctim.tv_sec);
	*p++ = '.';
	p = put_num(p, (unsigned long long)st->st_ctim.tv_nsec, 9);
	*p++ = ' ';
	return (size_t)(p - b);
}

/*
 * The stamp of the last run: its input's digest, then a line per file,
 * "ino size mtime ctime digest record path", each as the run left it:
 * the digests of the content and of the line of its record.  The
 * lines stay in the file's buffer; a digest is read when a record is
 * looked up or a file's content compared (stamp_same), not when the
 * stamp holds.  A record whose line is the same as last time, for a
 * file as that run left it, is taken without being parsed (rec_same).
 */
struct stampent {
	const char	*line;		/* the stat part ends at dig */
	size_t		 statlen;
	const char	*dig;		/* hex, DIGEST_HEXLEN - 1 digits */
	const char	*rdig;		/* the same, of the record */
	const char	*path;		/* in line, NUL-terminated */
	int		 held;		/* stat(2) said the same this run */
};

static struct {
	char		 hex[DIGEST_HEXLEN];	/* the input's */
	struct buf	 b;		/* the file */
	struct stampent	*ent;		/* open-addressed by path */
	struct stampent	**byrec;	/* the same, by record digest */
	size_t		 cap, n;
} stamp;

static unsigned long
path_hash(const char *p)
{
	unsigned long h = 5381;

	while (*p != '\0')
		h = h * 33 + (unsigned char)*p++;
	return h;
}

static unsigned long
hex_hash(const char *hex)
{
	unsigned long h = 0;
	int	 i;

	for (i = 0; i < 16; i++)
		h = h * 16 + (unsigned long)(isdigit((unsigned char)hex[i]) ?
		    hex[i] - '0' : hex[i] - 'a' + 10);
	return h;
}

/* the entry of the file a record of that line made last time */
static const struct stampent *
rec_same(const struct digest *rd)
{
	char	 hex[DIGEST_HEXLEN];
	size_t	 i;

	if (stamp.cap == 0)
		return NULL;
	digest_hex(rd, hex);
	for (i = hex_hash(hex) % stamp.cap; stamp.byrec[i] != NULL;
	    i = (i + 1) % stamp.cap)
		if (memcmp(stamp.byrec[i]->rdig, hex, DIGEST_HEXLEN - 1) == 0)
			return stamp.byrec[i];
	return NULL;
}

static const struct stampent *
stamp_find(const char *path)
{
	size_t	 i;

	if (stamp.cap == 0)
		return NULL;
	for (i = path_hash(path) % stamp.cap; stamp.ent[i].line != NULL;
	    i = (i + 1) % stamp.cap)
		if (strcmp(stamp.ent[i].path, path) == 0)
			return &stamp.ent[i];
	return NULL;
}

/* the last run's stamp, if it is one this version wrote */
static void
stamp_load(int dfd)
{
	struct buf	*b = &stamp.b;
	char		*p, *e, *nl, *sp, *line;
	size_t		 nlines = 0, i, r;
	int		 fd, k;

	if ((fd = openat(dfd, STAMP, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return;
	if (buf_readfd(b, fd) == -1 || b->len == 0)
		goto out;
	for (p = b->data, e = p + b->len; (p = memchr(p, '\n',
	    (size_t)(e - p))) != NULL; p++)
		nlines++;
	p = b->data;
	if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL ||
	    (size_t)(nl - p) != strlen(STAMP_HEAD) + 1 + DIGEST_HEXLEN - 1 ||
	    memcmp(p, STAMP_HEAD " ", strlen(STAMP_HEAD) + 1) != 0)
		goto out;
	memcpy(stamp.hex, p + strlen(STAMP_HEAD) + 1, DIGEST_HEXLEN - 1);
	stamp.cap = nlines * 2 + 1;
	stamp.ent = xcalloc(stamp.cap, sizeof(*stamp.ent));
	stamp.byrec = xcalloc(stamp.cap, sizeof(*stamp.byrec));
	for (p = nl + 1; p < e && (nl = memchr(p, '\n', (size_t)(e - p))) !=
	    NULL; p = nl + 1) {
		*nl = '\0';
		line = p;
		/* the digests follow the fourth space, the path the sixth */
		for (sp = line, k = 0; k < 4 && sp != NULL; k++)
			if ((sp = strchr(sp, ' ')) != NULL)
				sp++;
		if (sp == NULL || (size_t)(nl - sp) < 2 * DIGEST_HEXLEN ||
		    sp[DIGEST_HEXLEN - 1] != ' ' ||
		    sp[2 * DIGEST_HEXLEN - 1] != ' ' ||
		    sp[2 * DIGEST_HEXLEN] == '\0' ||
		    *bad_path(sp + 2 * DIGEST_HEXLEN) != '\0' ||
		    stamp_find(sp + 2 * DIGEST_HEXLEN) != NULL)
			continue;	/* not a line this program wrote */
		for (i = path_hash(sp + 2 * DIGEST_HEXLEN) % stamp.cap;
		    stamp.ent[i].line != NULL; i = (i + 1) % stamp.cap)
			;
		stamp.ent[i].line = line;
		stamp.ent[i].statlen = (size_t)(sp - line);
		stamp.ent[i].dig = sp;
		stamp.ent[i].rdig = sp + DIGEST_HEXLEN;
		stamp.ent[i].path = sp + 2 * DIGEST_HEXLEN;
		stamp.n++;
		for (r = hex_hash(sp + DIGEST_HEXLEN) % stamp.cap;
		    stamp.byrec[r] != NULL; r = (r + 1) % stamp.cap)
			;
		stamp.byrec[r] = &stamp.ent[i];
	}
out:
	close(fd);
}

/*
 * The file is as the last run left it: same stat(2) figures, and what
 * it wrote there has digest d.  The stamp entry that says so, or NULL.
 * A file stamp_files_hold found as it was is not looked at again.
 */
static const struct stampent *
stamp_same(int pfd, const char *name, const char *path,
    const struct digest *d, int *missing)
{
	const struct stampent *se = stamp_find(path);
	char		 hex[DIGEST_HEXLEN], want[STATPART];
	struct stat	 st;

	*missing = 0;
	if (se == NULL)
		return NULL;
	digest_hex(d, hex);
	if (memcmp(hex, se->dig, DIGEST_HEXLEN - 1) != 0)
		return NULL;
	if (se->held)
		return se;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		*missing = errno == ENOENT;
		return NULL;
	}
	return S_ISREG(st.st_mode) && stat_part(want, &st) == se->statlen &&
	    memcmp(want, se->line, se->statlen) == 0 ? se : NULL;
}

/*
 * Every file the stamp lists is as that run left it: -1 if not so,
 * else the number of files; each that is, is marked held.  Looked at
 * before the input is read, while the writer fills the pipe; the
 * input's digest is compared after.
 */
static int
stamp_files_hold(int dfd)
{
	char		 want[STATPART];
	struct stat	 st;
	const char	*name;
	size_t		 i;
	int		 n = 0, fd;

	for (i = 0; i < stamp.cap; i++) {
		struct stampent *se = &stamp.ent[i];

		if (se->line == NULL)
			continue;
		if ((fd = dir_of(dfd, se->path, &name, 0)) == -1 ||
		    fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || stat_part(want, &st) !=
		    se->statlen || memcmp(want, se->line, se->statlen) != 0)
			continue;
		se->held = 1;
		n++;
	}
	return (size_t)n == stamp.n ? n : -1;
}

/*
 * Where new content waits, in an unnamed file (O_TMPFILE), until every
 * record has been read and checked: the file's own directory if it is
 * there, else DIR, else the directory DIR is to be made in (one file
 * system: the file is linked under its name later, or, where that
 * fails, written the usual way).
 */
static int	 stagefd = -1;
static long	 maxfd = 256;		/* staged up to this descriptor */

static void
stage(struct file *f, int pfd, const char *c, size_t clen)
{
	int	 fd;

	f->fd = -1;
	fd = maxfd < 0 ? -1 : openat(pfd != -1 ? pfd : stagefd, ".",
	    O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
	if (fd > maxfd) {		/* descriptors left for the rest */
		close(fd);
		maxfd = -1;
		fd = -1;
	}
	if (fd == -1) {
		buf_add(&f->content, c, clen);	/* it waits in memory */
		return;
	}
	if (write_all(fd, c, clen) == -1)
		err(EX_IOERR, "%s", f->path);
	f->fd = fd;
}

/*
 * A record read: its file is either as the record says already (the
 * stamp vouches for it, or its bytes are the same) or staged.
 */
static void
take(struct file *f, int dirfd, const char *c, size_t clen)
{
	const char	*name;
	int		 pfd, missing = 1;

	f->fd = -1;
	if (fresh.fd != -1) {
		fresh_put(f, c, clen);
		return;
	}
	pfd = dir_of(dirfd, f->path, &name, 0);
	if (pfd != -1 && ((f->se = stamp_same(pfd, name, f->path, &f->d,
	    &missing)) != NULL ||
	    (!missing && same_content(pfd, name, c, clen, &missing)))) {
		f->same = 1;
		return;
	}
	f->missing = pfd == -1 || missing;
	stage(f, pfd, c, clen);
}

/*
 * A staged file under its name: linked where it was missing, else
 * linked beside it and renamed over it.  0, or -1 when the file system
 * will not link it (then its content is back in memory).
 */
static int
commit_staged(struct file *f, int pfd, const char *name)
{
	char	 proc[64], tmp[64];
	int	 i;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	if (dosync && fsync(f->fd) == -1)
		err(EX_IOERR, "%s", f->path);
	if (f->missing && (linkat(f->fd, "", pfd, name, AT_EMPTY_PATH) == 0 ||
	    linkat(AT_FDCWD, proc, pfd, name, AT_SYMLINK_FOLLOW) == 0))
		goto done;
	for (i = 0; ; i++) {
		snprintf(tmp, sizeof(tmp), ".sluice-tmp.%ld.%d",
		    (long)getpid(), i);
		if (linkat(AT_FDCWD, proc, pfd, tmp, AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST || i > 100) {
			/* not linkable here: back into memory */
			if (lseek(f->fd, 0, SEEK_SET) == -1 ||
			    buf_readfd(&f->content, f->fd) == -1)
				err(EX_IOERR, "%s", f->path);
			close(f->fd);
			f->fd = -1;
			return -1;
		}
	}
	if (renameat(pfd, tmp, pfd, name) == -1) {
		(void)unlinkat(pfd, tmp, 0);
		err(EX_CANTCREAT, "%s", f->path);
	}
done:
	/* for the stamp: the link counted, nothing changes it after */
	f->have_st = fstat(f->fd, &f->st) == 0;
	if (close(f->fd) == -1)
		err(EX_IOERR, "%s", f->path);
	f->fd = -1;
	if (dosync && fsync(pfd) == -1)
		err(EX_IOERR, "%s", f->path);
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * sluice's digest of what this run reads on stdin: from the descriptor
 * SLUICE_STDIN_DIGEST_FD names, where sluice writes it (32 hex digits
 * and a newline) once every stage this one reads from has ended, or
 * closes it empty.  With wait 0, only if it is there already (those
 * stages had ended when this one started): then the input need not even
 * be read.  Into hex: 1, or 0 when there is none.
 */
static int	 digfd = -2;		/* -2: not looked for yet */

static int
stdin_told(char *hex, int wait)
{
	char		 b[DIGEST_HEXLEN + 1];
	const char	*v;
	struct pollfd	 p;
	ssize_t		 n;
	size_t		 i;

	if (digfd == -2) {
		char	*end;
		long	 fd;

		digfd = -1;
		if ((v = getenv("SLUICE_STDIN_DIGEST_FD")) != NULL &&
		    *v != '\0' && (fd = strtol(v, &end, 10)) >= 3 &&
		    fd < 65536 && *end == '\0')
			digfd = (int)fd;
	}
	if (digfd == -1)
		return 0;
	p.fd = digfd;
	p.events = POLLIN;
	if (!wait && poll(&p, 1, 0) != 1)
		return 0;
	do
		n = read(digfd, b, sizeof(b));
	while (n == -1 && errno == EINTR);
	close(digfd);
	digfd = -1;
	if (n != DIGEST_HEXLEN || b[DIGEST_HEXLEN - 1] != '\n')
		return 0;
	for (i = 0; i < DIGEST_HEXLEN - 1; i++)
		if (!isxdigit((unsigned char)b[i]))
			return 0;
	memcpy(hex, b, DIGEST_HEXLEN - 1);
	hex[DIGEST_HEXLEN - 1] = '\0';
	return 1;
}

/* the input's digest, line by line (each with a \n), as read */
static void
digest_line(struct digest_ctx *c, const char *line, size_t len)
{
	digest_add(c, line, len);
	digest_add(c, "\n", 1);
}

/*
 * One staged file per record: room for as many descriptors as allowed,
 * less some for the directories and files opened afterwards (the
 * records past that stay in memory)
 */
static void
more_files(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	maxfd = rl.rlim_cur == RLIM_INFINITY ? 65536 - 64 :
	    (long)rl.rlim_cur - 64;
}

/*
 * Files committed before a failure (a full disk, a directory that
 * cannot be made) stay, each whole.  So that --prune still knows them,
 * the exit that follows writes a manifest of the last one's paths and
 * the ones committed so far, as the normal end would have (a failure
 * to write it is warned about and changes nothing more).
 */
static struct {
	int		 dirfd;		/* -1: not committing */
	const struct buf *old;
	const struct file *files;
	size_t		 n;
	size_t		 done;		/* files[0..done) are in place */
} rescue = { -1, NULL, NULL, 0, 0 };

/* the rescue's list: p as a string of its own, or nothing (at exit:
   no err(3) for a failed malloc) */
static void
rescue_add(char ***v, size_t *n, const char *p, size_t len)
{
	char	**nv, *c;

	if ((c = strndup(p, len)) == NULL)
		return;
	if ((nv = reallocarray(*v, *n + 1, sizeof(**v))) == NULL) {
		free(c);
		return;
	}
	*v = nv;
	(*v)[(*n)++] = c;
}

static void
rescue_manifest(void)
{
	struct buf	 b = { 0 };
	const char	*p, *e, *line;
	const struct file *f;
	struct stat	 st;
	char		**v = NULL;
	size_t		 n = 0, i, len;

	if (rescue.dirfd == -1)
		return;
	/* the last stamp would vouch for the files as the last run left
	 * them, and the next run would not look at the manifest */
	(void)unlinkat(rescue.dirfd, STAMP, 0);
	for (i = 0; i < rescue.done; i++)
		rescue_add(&v, &n, rescue.files[i].path,
		    strlen(rescue.files[i].path));
	/* the file being committed, if it is there now and was not
	 * before (one there before may be someone else's) */
	f = rescue.done < rescue.n ? &rescue.files[rescue.done] : NULL;
	if (f != NULL && f->missing && fstatat(rescue.dirfd, f->path, &st,
	    AT_SYMLINK_NOFOLLOW) == 0)
		rescue_add(&v, &n, f->path, strlen(f->path));
	p = rescue.old->data;
	e = p + rescue.old->len;
	while (p != NULL && rec_line(&p, e, &line, &len))
		if (len > 0)
			rescue_add(&v, &n, line, len);
	if (n == 0) {
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), cmpstr);
	/* sized at once: buf_add would call err(3) if memory ran out,
	 * and an exit handler must not exit */
	for (i = 0, len = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	if ((b.data = malloc(len)) != NULL) {
		b.cap = len;
		for (i = 0; i < n; i++)
			if (i == 0 || strcmp(v[i - 1], v[i]) != 0) {
				memcpy(b.data + b.len, v[i], strlen(v[i]));
				b.len += strlen(v[i]);
				b.data[b.len++] = '\n';
			}
	}
	if (b.data == NULL || replace_file(rescue.dirfd, MANIFEST, &b) != 0)
		warn("%s: cannot list the files written before the error",
		    MANIFEST);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	buf_free(&b);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "prune", no_argument, NULL, 'p' },
		{ "sync", no_argument, NULL, 's' },
		{ "usage", no_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf	 in = { 0 }, man = { 0 }, oldman = { 0 }, out = { 0 };
	struct recin	 rin = { STDIN_FILENO, NULL, 0, 0, 0 };
	struct digest_ctx dc;
	struct digest	 din, rd;
	const struct stampent *se;
	char		 hex[DIGEST_HEXLEN];
	/* static: still reachable when an error exits (LeakSanitizer) */
	static struct file *files;
	static char	**sorted;
	struct json	 j;
	const char	*p, *e, *line, *dir, *why, *name, *content;
	char		*parent;
	size_t		 len, nfiles = 0, cap = 0, i, clen;
	int		 ch, k, lineno = 0, prune = 0, dirfd, pfd, t, held, given;
	int		 made, mfd;
	int		 nwritten = 0, nsame = 0, npruned = 0;

	program_invocation_short_name = (char *)"write";
	fd_sanitize_std(1);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			prune = 1;
			break;
		case 's':
			dosync = 1;
			break;
		case 'u':
			usage(0);
		case 'v':
			verbose = 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage(EX_USAGE);
	dir = argv[0];

	/*
	 * The files the last run left are looked at first, while the input
	 * comes.  If the stamp holds, the input is read whole and, the same
	 * as that run's, nothing is to be done; when sluice gives the
	 * input's digest, it is not even read.  Otherwise each record, as
	 * it comes, is checked and its file found unchanged or staged; once
	 * all are read and checked, the staged ones are put in place.
	 */
	held = -1;
	given = stdin_told(hex, 0);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		stamp_load(dirfd);
		held = stamp_files_hold(dirfd);
		stagefd = dirfd;
	} else {
		int	 why_not = errno;

		parent = xstrdup(dir);
		stagefd = open(dirname(parent), O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		free(parent);
		if (why_not == ENOENT && stagefd != -1)
			fresh_begin(stagefd, dir);
	}
	digest_begin(&dc);
	p = e = "";
	if (held != -1 && given && strcmp(stamp.hex, hex) == 0)
		;	/* the same input, as sluice says: not even read */
	else if (held != -1) {
		rec_slurp(STDIN_FILENO, &in);
		p = in.data != NULL ? in.data : "";
		e = p + in.len;
		if (!given) {
			while (rec_line(&p, e, &line, &len))
				digest_line(&dc, line, len);
			digest_end(&dc, &din);
			digest_begin(&dc);
			digest_hex(&din, hex);
		}
		p = in.data != NULL ? in.data : "";
	}
	if (held != -1) {
		if (strcmp(stamp.hex, hex) == 0) {
			if (verbose)
				for (i = 0; i < stamp.cap; i++)
					if (stamp.ent[i].line != NULL)
						printf("unchanged %s\n",
						    stamp.ent[i].path);
			printf("%s: 0 written, %d unchanged, 0 pruned\n", dir,
			    held);
			if (fflush(stdout) == EOF)
				err(EX_IOERR, "write");
			buf_free(&in);
			buf_free(&stamp.b);
			free(stamp.ent);
			free(stamp.byrec);
			digest_end(&dc, &din);
			return 0;
		}
	}
	more_files();
	for (;;) {
		if (held != -1 ? !rec_line(&p, e, &line, &len) :
		    !rec_next(&rin, &line, &len))
			break;
		if (held == -1 && !given)
			digest_line(&dc, line, len);
		lineno++;
		if (len == 0)
			continue;
		digest_buf(line, len, &rd);
		if ((se = rec_same(&rd)) != NULL && se->held) {
			/* last time's record for a file as it was left */
			if (nfiles == cap) {
				cap = cap * 2 + 64;
				files = xreallocarray(files, cap,
				    sizeof(*files));
			}
			memset(&files[nfiles], 0, sizeof(files[nfiles]));
			files[nfiles].path = xstrdup(se->path);
			files[nfiles].line = lineno;
			files[nfiles].rd = rd;
			files[nfiles].se = se;
			files[nfiles].same = 1;
			files[nfiles++].fd = -1;
			continue;
		}
		k = rec_parse(&j, "<stdin>", line, len, lineno);
		if (!json_eq(&j, k, "file")) {
			json_free(&j);
			continue;
		}
		if (nfiles == cap) {
			cap = cap * 2 + 64;
			files = xreallocarray(files, cap, sizeof(*files));
		}
		memset(&files[nfiles], 0, sizeof(files[nfiles]));
		t = json_get(&j, 0, "path");
		if (json_type(&j, t) != JSON_STRING)
			json_errx(&j, t == -1 ? 0 : t, "file record without a "
			    "string \"path\"");
		files[nfiles].path = json_str(&j, t);
		files[nfiles].line = lineno;
		files[nfiles].rd = rd;
		if (*(why = bad_path(files[nfiles].path)) != '\0') {
			struct buf	 q = { 0 };

			/* a line of its own, whatever the path holds */
			json_escape_in(&q, files[nfiles].path,
			    strlen(files[nfiles].path));
			json_errx(&j, t, "'%s' is outside '%s': %s",
			    q.data != NULL ? q.data : "", dir, why);
		}
		t = json_get(&j, 0, "content");
		if (json_type(&j, t) != JSON_STRING)
			json_errx(&j, t == -1 ? 0 : t, "file record without a "
			    "string \"content\"");
		/* decoded where it was read: no copy of a large file */
		content = json_str_inplace(&j, t, &clen);
		digest_buf(content, clen, &files[nfiles].d);
		json_free(&j);
		take(&files[nfiles], dirfd, content, clen);
		nfiles++;
	}
	digest_end(&dc, &din);
	/* sluice's digest, now that the input has ended, else this one's */
	if (!given && !stdin_told(hex, 1) && held == -1)
		digest_hex(&din, hex);
	rec_done(&rin);
	buf_free(&in);
	sorted = xcalloc(nfiles + 1, sizeof(char *));
	for (i = 0; i < nfiles; i++)
		sorted[i] = files[i].path;
	qsort(sorted, nfiles, sizeof(char *), cmpstr);
	for (i = 1; i < nfiles; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			twice(files, nfiles, sorted[i]);
	for (i = 0; i < nfiles; i++)
		file_as_dir(files, nfiles, sorted, i);

	made = 0;
	if (fresh.fd != -1) {
		dirfd = fresh.fd;
		made = 1;
	} else if (dirfd == -1) {
		if (mkdir(dir, 0777) == 0)
			made = 1;
		else if (errno != EEXIST)
			err(EX_CANTCREAT, "%s", dir);
		if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		    -1)
			err(EX_CANTCREAT, "%s", dir);
	}
	/* a directory made just now holds nothing to be wary of */
	for (i = 0; !made && i < nfiles; i++)
		if (*(why = bad_links(dirfd, files[i].path,
		    files[i].se != NULL && files[i].se->held)) != '\0')
			errx(EX_DATAERR, "<stdin>:%d: '%s' is outside '%s' or "
			    "unsafe: %s", files[i].line, files[i].path, dir,
			    why);

	/* the last manifest, known before anything is committed */
	if ((mfd = openat(dirfd, MANIFEST, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		(void)buf_readfd(&oldman, mfd);
		close(mfd);
	}
	/* a failure in the hidden directory leaves nothing */
	rescue.dirfd = fresh.fd != -1 ? -1 : dirfd;
	rescue.old = &oldman;
	rescue.files = files;
	rescue.n = nfiles;
	atexit(rescue_manifest);
	for (i = 0; i < nfiles; i++) {
		rescue.done = i;
		if (files[i].same) {
			nsame++;
			if (verbose)
				printf("unchanged %s\n", files[i].path);
			continue;
		}
		if (files[i].fresh) {
			nwritten++;
			if (verbose)
				printf("written %s\n", files[i].path);
			continue;
		}
		pfd = dir_of(dirfd, files[i].path, &name, 1);
		if (files[i].fd == -1 ||
		    commit_staged(&files[i], pfd, name) == -1)
			write_atomic(pfd, name, files[i].path,
			    &files[i].content, files[i].missing);
		nwritten++;
		if (verbose)
			printf("written %s\n", files[i].path);
	}

	rescue.dirfd = -1;	/* all in place: the usual manifest */

	/* the manifest: what this run produced, sorted */
	for (i = 0; i < nfiles; i++) {
		buf_adds(&man, sorted[i]);
		buf_addc(&man, '\n');
	}
	if (prune && oldman.len > 0) {
		const char	*op = oldman.data, *oe = op + oldman.len;
		char		*old;

		while (rec_line(&op, oe, &line, &len)) {
			if (len == 0)
				continue;
			old = xstrndup(line, len);
			if (*bad_path(old) == '\0' && bsearch(&old, sorted,
			    nfiles, sizeof(char *), cmpstr) == NULL &&
			    *bad_links(dirfd, old, 0) == '\0' &&
			    unlinkat(dirfd, old, 0) == 0) {
				npruned++;
				if (verbose)
					printf("pruned %s\n", old);
			}
			free(old);
		}
	}
	if (oldman.len != man.len || (man.len > 0 && memcmp(oldman.data,
	    man.data, man.len) != 0)) {
		struct buf	 mc = man;

		write_atomic(dirfd, MANIFEST, MANIFEST, &mc, 0);
	}
	/* the stamp last: each file as this run leaves it */
	buf_printf(&out, "%s %s\n", STAMP_HEAD, hex);
	for (i = 0; i < nfiles; i++) {
		struct stat st;
		char	 dh[DIGEST_HEXLEN], sp[STATPART];

		if (files[i].se != NULL && files[i].se->held) {
			/* as stat(2) said this run: its line holds */
			buf_add(&out, files[i].se->line, files[i].se->statlen);
			buf_add(&out, files[i].se->dig, DIGEST_HEXLEN - 1);
		} else {
			if (files[i].have_st)
				st = files[i].st;
			else if (fstatat(dirfd, files[i].path, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				err(EX_IOERR, "%s", files[i].path);
			buf_add(&out, sp, stat_part(sp, &st));
			digest_hex(&files[i].d, dh);
			buf_adds(&out, dh);
		}
		buf_addc(&out, ' ');
		digest_hex(&files[i].rd, dh);
		buf_adds(&out, dh);
		buf_addc(&out, ' ');
		buf_adds(&out, files[i].path);
		buf_addc(&out, '\n');
	}
	write_atomic(dirfd, STAMP, STAMP, &out, 0);
	if (fresh.fd != -1)
		fresh_commit(files, nfiles, dir);
	printf("%s: %d written, %d unchanged, %d pruned\n", dir, nwritten,
	    nsame, npruned);
	if (fflush(stdout) == EOF)
		err(EX_IOERR, "write");
	if (stagefd != -1 && stagefd != dirfd)
		close(stagefd);
	close(dirfd);
	free(fresh.base);
	for (i = 0; i < nfiles; i++) {
		free(files[i].path);
		buf_free(&files[i].content);
	}
	free(files);
	free(sorted);
	buf_free(&in);
	buf_free(&man);
	buf_free(&oldman);
	buf_free(&out);
	buf_free(&stamp.b);
	free(stamp.ent);
	free(stamp.byrec);
	return 0;
}
