/*
 * main.c: the render stage: applies a template (sluice-template(5),
 * compiled once) to every table record on stdin and writes one file
 * record {"v":1,"kind":"file","path":...,"content":...} per table;
 * records of other kinds pass through, so the output has one line per
 * input line (a map stage).  With --all, the whole stream is one
 * context ("tables", "views", "enums", "records") and one file record
 * is written.  The path is itself a template (--path).  A bad template
 * leaves stdout empty; records are read and written one at a time.
 * With --all, when the templates' sections over the records can all be
 * rendered as the records come (tmpl_stream_new), they are, and each
 * record goes once rendered (the rendered text beyond --buffer-size
 * waits in TMPDIR, spill.h); else every record is kept, parsed as it
 * comes, and the templates applied at the end.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "digest.h"
#include "json.h"
#include "rec.h"
#include "spill.h"
#include "tmpl.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define USAGE \
	"usage: sluice render [--all] [--buffer-size size] [--path template ...]\n" \
	"                     template ...\n"

/* --all: rendered text kept in memory before it spills to TMPDIR */
#define BUFFER_SIZE	(64 * 1024)

static void __attribute__((__noreturn__))
usage(int status)
{
	fputs(USAGE, status == 0 ? stdout : stderr);
	exit(status);
}

/* every template's text, partials and paths too: for the cache's keys */
static struct digest_ctx sources;

static void
source(const char *what, const char *text, size_t len)
{
	uint64_t n = len;

	digest_adds(&sources, what);
	digest_add(&sources, &n, sizeof(n));
	digest_add(&sources, text, len);
}

/* partials are files beside the template that names them */
static int
load(void *arg, const char *from, const char *name, struct buf *b,
    char **path)
{
	char	*d;
	int	 r;

	(void)arg;
	if (name[0] == '/')
		*path = xstrdup(name);
	else {
		d = xstrdup(from);
		*path = xasprintf("%s/%s", dirname(d), name);
		free(d);
	}
	if ((r = buf_readfile(b, *path)) == 0)
		source(*path, b->data != NULL ? b->data : "", b->len);
	return r;
}

static void
file_record(struct buf *o, const char *table, const struct buf *path,
    const struct buf *content)
{
	buf_adds(o, "{\"v\":1,\"kind\":\"file\",\"path\":");
	json_escape(o, path->data ? path->data : "", path->len);
	if (table != NULL) {
		buf_adds(o, ",\"table\":");
		json_escape(o, table, strlen(table));
	}
	buf_adds(o, ",\"content\":");
	json_escape(o, content->data ? content->data : "", content->len);
	buf_adds(o, "}\n");
}

/*
 * With --all every record is kept, and mostly as tokens: only the
 * members whose names the templates look up are kept (the text stays,
 * so a value printed whole is printed as it came).  A small set of
 * those names, open-addressed.
 */
#define NAMES	512
static struct {
	const char	*name[NAMES];
	size_t		 len[NAMES];
	int		 n;
} names;

/* length and ends: enough to tell the few names of a template apart */
static unsigned
name_hash(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	return ((unsigned)n * 131 + (unsigned char)s[0] * 31 +
	    (unsigned char)s[n - 1] * 7 + (unsigned char)s[n / 2]) % NAMES;
}

static void
add_name(void *arg, const char *s)
{
	size_t	 n = strlen(s);
	unsigned h = name_hash(s, n);

	(void)arg;
	for (; names.name[h] != NULL; h = (h + 1) % NAMES)
		if (names.len[h] == n && memcmp(names.name[h], s, n) == 0)
			return;
	if (names.n >= NAMES / 2) {
		names.n = -1;		/* too many to bother: keep all */
		return;
	}
	if (names.n >= 0)
		names.n++;
	names.name[h] = s;
	names.len[h] = n;
}

static int
wanted(void *arg, const char *s, size_t n)
{
	unsigned h;

	(void)arg;
	if (names.n < 0)
		return 1;
	for (h = name_hash(s, n); names.name[h] != NULL; h = (h + 1) % NAMES)
		if (names.len[h] == n && memcmp(names.name[h], s, n) == 0)
			return 1;
	/* an escaped key is kept, to be safe */
	return memchr(s, '\\', n) != NULL;
}

/* a template and the template of its file's path */
struct job {
	struct tmpl	*tp, *pathtp;
	struct tmpl_stream *st;		/* --all: tp as records come */
	struct buf	 src, def;
	const char	*tname;
};

/* a file needs a name: an empty path (a name the record lacks) is the
   record's error (j), or with --all the template's */
static void
path_given(const struct job *jb, const struct buf *path, const struct json *j)
{
	if (path->len > 0)
		return;
	if (j != NULL)
		json_errx(j, 0, "the path of the file of '%s' is empty (a "
		    "name --path needs that the record lacks?)", jb->tname);
	errx(EX_DATAERR, "the path of the file of '%s' is empty", jb->tname);
}

/* --all, streamed: a record, with its own copy of the line */
struct held {
	struct json	 j;
	char		*text;
};

/*
 * A piece of a file's content, into its record, out as it fills: in
 * slices, so that the record's buffer stays about REC_CHUNK however
 * large the piece (a section of a 1,000-table schema is a megabyte)
 */
static void
put_content(void *arg, const char *s, size_t n)
{
	size_t	 k;

	for (; n > 0; s += k, n -= k) {
		k = n < REC_CHUNK ? n : REC_CHUNK;
		/* a piece ends between characters, not inside one */
		while (k < n && k > REC_CHUNK - 4 &&
		    ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		json_escape_in(arg, s, k);
		rec_spill(arg);
	}
}

/* frees the records no template still holds; how many are left */
static size_t
release(const struct job *jobs, size_t njobs, struct held **h, size_t n)
{
	size_t	 i, k, w = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < njobs; k++)
			if (tmpl_stream_holds(jobs[k].st, &h[i]->j))
				break;
		if (k < njobs) {
			h[w++] = h[i];
			continue;
		}
		json_free(&h[i]->j);
		free(h[i]->text);
		free(h[i]);
	}
	return w;
}

static void
compile_job(struct job *jb, const char *tname, const char *pathsrc, int all)
{
	char	 errbuf[1024], *tmp;
	const char *base;
	size_t	 len;

	jb->tname = tname;
	if (buf_readfile(&jb->src, tname) == -1)
		err(errno == ENOENT || errno == EACCES || errno == EISDIR ?
		    EX_NOINPUT : EX_IOERR, "%s", tname);
	source("template", jb->src.data ? jb->src.data : "", jb->src.len);
	if ((jb->tp = tmpl_compile(tname, jb->src.data ? jb->src.data : "",
	    jb->src.len, load, NULL, errbuf, sizeof(errbuf))) == NULL)
		errx(EX_DATAERR, "%s", errbuf);
	/* default path: the template's name less .tmpl, per table
	   prefixed with the table's name */
	if (pathsrc == NULL) {
		tmp = xstrdup(tname);
		base = basename(tmp);
		len = strlen(base);
		if (len > 5 && strcmp(base + len - 5, ".tmpl") == 0)
			len -= 5;
		if (!all)
			buf_adds(&jb->def, "{{name}}.");
		buf_add(&jb->def, base, len);
		free(tmp);
		pathsrc = jb->def.data;
	}
	source("path", pathsrc, strlen(pathsrc));
	if ((jb->pathtp = tmpl_compile("--path", pathsrc, strlen(pathsrc), NULL,
	    NULL, errbuf, sizeof(errbuf))) == NULL)
		errx(EX_USAGE, "%s", errbuf);
}

/*
 * --all, streamed, in a pipeline that caches this stage (sluice's key
 * for it without its input, cache_for_stage): each record's pieces of
 * the templates' sections over the records, stored under that key, the
 * templates' texts and the record's bytes.  A record that hits is not
 * even parsed.  One whose pieces depend on its place in the list
 * (@first, @last, @index of the record itself) is rendered one behind,
 * as without the cache, and not stored.
 */
struct piececache {
	struct cache	*c;
	int		 cat, refresh;
	struct digest	 base, srcs;
	struct buf	 v;
};

static void
piece_key(const struct piececache *pc, const char *line, size_t len,
    struct digest *key)
{
	struct digest_ctx c;

	digest_begin(&c);
	digest_adds(&c, "render --all pieces 1");
	digest_add(&c, &pc->base, sizeof(pc->base));
	digest_add(&c, &pc->srcs, sizeof(pc->srcs));
	digest_add(&c, line, len);
	digest_end(&c, key);
}

/* a record's pieces into every template's sections: 0, or -1 when they
 * are not what the templates need (nothing changed then) */
static int
put_pieces(struct job *jobs, size_t njobs, const char *p, size_t len)
{
	size_t	 i, off = 0;
	long	 n;

	for (i = 0; i < njobs; i++) {
		if ((n = tmpl_stream_put(jobs[i].st, p + off, len - off,
		    0)) == -1)
			return -1;
		off += (size_t)n;
	}
	if (off != len)
		return -1;
	for (i = 0, off = 0; i < njobs; i++)
		off += (size_t)tmpl_stream_put(jobs[i].st, p + off, len - off,
		    1);
	return 0;
}

/* a record that hit (its key in *key): its pieces put in, 1 */
static int
piece_hit(struct piececache *pc, struct job *jobs, size_t njobs,
    const char *line, size_t len, struct digest *key)
{
	piece_key(pc, line, len, key);
	buf_reset(&pc->v);
	return !pc->refresh && cache_get_buf(pc->c, pc->cat, key, &pc->v) ==
	    1 && put_pieces(jobs, njobs, pc->v.data, pc->v.len) == 0;
}

/* one that missed: 1 when its pieces were made, put in and stored, 0
 * when they depend on its place (it is streamed instead) */
static int
piece_store(struct piececache *pc, struct job *jobs, size_t njobs,
    const struct json *j, const struct digest *key, int lineno)
{
	struct timespec	 t0, t1;
	size_t		 i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	buf_reset(&pc->v);
	for (i = 0; i < njobs; i++)
		if (tmpl_stream_pieces(jobs[i].st, j, &pc->v) == -1)
			return 0;
	if (put_pieces(jobs, njobs, pc->v.data, pc->v.len) == -1)
		errx(EX_SOFTWARE, "<stdin>:%d: pieces that do not fit",
		    lineno);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (cache_store_buf(pc->c, pc->cat, key, pc->v.data, pc->v.len,
	    (t1.tv_sec - t0.tv_sec) * 1000000000LL + t1.tv_nsec -
	    t0.tv_nsec) == -1) {
		warnx("%s; records no longer cached", cache_error(pc->c));
		cache_close(pc->c);
		pc->c = NULL;
	}
	return 1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "buffer-size", required_argument, NULL, 'S' },
		{ "path", required_argument, NULL, 'p' },
		{ "usage", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf	 out = { 0 }, path = { 0 }, content = { 0 };
	struct piececache pc = { 0 };
	struct spill	 sp = { .bound = BUFFER_SIZE, .fd = -1 };
	struct job	*jobs;
	struct tmpl_root root;
	struct recin	 rin = { STDIN_FILENO, NULL, 0, 0, 0 };
	static struct reckeep keep = { .fd = STDIN_FILENO };
	struct json	*recs = NULL;
	struct held	**held = NULL;
	const struct json **rp = NULL;
	const char	*line, **paths = NULL;
	char		*table;
	size_t		 len, nrec = 0, i, njobs, npaths = 0, nheld = 0;
	int		 ch, k, lineno = 0, all = 0, stream = 1;

	program_invocation_short_name = (char *)"render";
	fd_sanitize_std(1);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'p':
			paths = xreallocarray(paths, npaths + 1,
			    sizeof(*paths));
			paths[npaths++] = optarg;
			break;
		case 'S':
			sp.bound = spill_size(optarg);
			break;
		case 'u':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(EX_USAGE);
	njobs = (size_t)argc;
	/* several templates: one pass over the stream for them all, each
	   with its --path in order; per table, one line per line */
	if (njobs > 1 && !all)
		errx(EX_USAGE, "%zu templates: several need --all (a table "
		    "gives one file record)", njobs);
	if (npaths > njobs || (npaths > 0 && npaths < njobs))
		errx(EX_USAGE, "%zu --path for %zu templates: give one for "
		    "each, in the same order, or none", npaths, njobs);
	jobs = xcalloc(njobs, sizeof(*jobs));
	digest_begin(&sources);
	for (i = 0; i < njobs; i++)
		compile_job(&jobs[i], argv[i], npaths > 0 ? paths[i] : NULL,
		    all);
	digest_end(&sources, &pc.srcs);

	memset(&root, 0, sizeof(root));
	for (i = 0; all && i < njobs; i++) {
		jobs[i].st = tmpl_stream_new(jobs[i].tp);
		if (!tmpl_stream_whole(jobs[i].st) ||
		    tmpl_uses_records(jobs[i].pathtp))
			stream = 0;
	}
	if (all && stream) {
		/* the templates' sections over the records rendered as the
		   records come, which go once rendered: a few at a time */
		pc.c = cache_for_stage(&pc.cat, &pc.base, &pc.refresh);
		for (i = 0; i < njobs; i++)
			tmpl_stream_spill(jobs[i].st, &sp);
		while (rec_next(&rin, &line, &len)) {
			struct held	*h;
			struct digest	 key;

			lineno++;
			if (len == 0)
				continue;
			if (pc.c != NULL && piece_hit(&pc, jobs, njobs, line,
			    len, &key)) {
				nheld = release(jobs, njobs, held, nheld);
				continue;
			}
			h = xmalloc(sizeof(*h));
			h->text = xmalloc(len);
			memcpy(h->text, line, len);
			(void)rec_parse(&h->j, "<stdin>", h->text, len, lineno);
			/* made into pieces, no template holds it: released */
			if (pc.c == NULL || !piece_store(&pc, jobs, njobs,
			    &h->j, &key, lineno))
				for (i = 0; i < njobs; i++)
					tmpl_stream_rec(jobs[i].st, &h->j);
			held = xreallocarray(held, nheld + 1, sizeof(*held));
			held[nheld++] = h;
			nheld = release(jobs, njobs, held, nheld);
		}
		/* each file record written as its content comes */
		spill_end(&sp);
		for (i = 0; i < njobs; i++) {
			buf_reset(&path);
			tmpl_render(jobs[i].pathtp, &root, &path);
			path_given(&jobs[i], &path, NULL);
			buf_adds(&out, "{\"v\":1,\"kind\":\"file\",\"path\":");
			json_escape(&out, path.data, path.len);
			buf_adds(&out, ",\"content\":\"");
			tmpl_stream_write(jobs[i].st, &root, put_content, &out);
			buf_adds(&out, "\"}\n");
		}
		for (i = 0; i < njobs; i++)	/* none holds a record now */
			tmpl_stream_free(jobs[i].st);
		spill_free(&sp);
		nheld = release(jobs, 0, held, nheld);
		cache_close(pc.c);
		buf_free(&pc.v);
	} else if (all) {
		/* one context of every record: all of them are kept, with
		   the members the templates name (and "kind") */
		add_name(NULL, "kind");
		for (i = 0; i < njobs; i++) {
			tmpl_names(jobs[i].tp, add_name, NULL);
			tmpl_names(jobs[i].pathtp, add_name, NULL);
		}
		/* parsed as they come, while the stage before still writes */
		while (rec_keep_next(&keep, &line, &len)) {
			lineno++;
			if (len == 0)
				continue;
			recs = xreallocarray(recs, nrec + 1, sizeof(*recs));
			(void)rec_parse(&recs[nrec], "<stdin>", line, len,
			    lineno);
			json_keep(&recs[nrec], wanted, NULL);
			nrec++;
		}
		rp = xcalloc(nrec + 1, sizeof(*rp));
		for (i = 0; i < nrec; i++)
			rp[i] = &recs[i];
		root.recs = rp;
		root.n = nrec;
		for (i = 0; i < njobs; i++) {
			buf_reset(&path);
			buf_reset(&content);
			tmpl_render(jobs[i].pathtp, &root, &path);
			path_given(&jobs[i], &path, NULL);
			tmpl_render(jobs[i].tp, &root, &content);
			file_record(&out, NULL, &path, &content);
		}
	} else
		/* a record at a time, in a buffer that is reused */
		while (rec_next(&rin, &line, &len)) {
			struct json	 j;

			lineno++;
			if (len == 0)
				continue;
			(void)rec_parse(&j, "<stdin>", line, len, lineno);
			if (!json_eq(&j, json_get(&j, 0, "kind"), "table")) {
				buf_add(&out, line, len);
				buf_addc(&out, '\n');
			} else {
				root.j = &j;
				root.t = 0;
				buf_reset(&path);
				buf_reset(&content);
				tmpl_render(jobs[0].pathtp, &root, &path);
				path_given(&jobs[0], &path, &j);
				tmpl_render(jobs[0].tp, &root, &content);
				k = json_get(&j, 0, "name");
				if (json_type(&j, k) != JSON_STRING)
					json_errx(&j, 0, "table record without "
					    "a \"name\"");
				table = json_str(&j, k);
				file_record(&out, table, &path, &content);
				free(table);
			}
			json_free(&j);
			rec_spill(&out);
		}
	rec_flush(&out);
	for (i = 0; i < nrec; i++)
		json_free(&recs[i]);
	free(recs);
	free(rp);
	free(held);
	for (i = 0; i < njobs; i++) {
		if (!stream)
			tmpl_stream_free(jobs[i].st);
		tmpl_free(jobs[i].tp);
		tmpl_free(jobs[i].pathtp);
		buf_free(&jobs[i].src);
		buf_free(&jobs[i].def);
	}
	free(jobs);
	free(paths);
	rec_done(&rin);
	rec_keep_done(&keep);
	buf_free(&out);
	buf_free(&path);
	buf_free(&content);
	return 0;
}
