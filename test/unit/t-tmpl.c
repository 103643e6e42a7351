/*
 * t-tmpl.c: unit test of src/lib/tmpl.c.  Usage: t-tmpl TEMPLATE
 * [--all] < JSON: compiles TEMPLATE (partials from its directory),
 * renders it over the JSON value on stdin (--all: over JSON Lines
 * records as a schema) and prints the result, or the compile error
 * and exit 1.  --pieces: as --all, but as render --all does with its
 * cache: each record's pieces made at once (tmpl_stream_pieces) and put
 * in (tmpl_stream_put, which must refuse every cut of them), or, when
 * they depend on the record's place, streamed one behind; says on
 * stderr how many records were made into pieces.
 */
#include <err.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "tmpl.h"
#include "xalloc.h"
#include "banned.h"

static int
load(void *arg, const char *from, const char *name, struct buf *b,
    char **path)
{
	char	*d = xstrdup(from);

	*path = xasprintf("%s/%s", dirname(d), name);
	free(d);
	return buf_readfile(b, *path);
}

static void
put(void *arg, const char *p, size_t n)
{
	buf_add(arg, p, n);
}

static void
pieces(const struct tmpl *tp, const struct tmpl_root *all,
    struct buf *out)
{
	struct tmpl_stream *st = tmpl_stream_new(tp);
	struct tmpl_root none = { 0 };
	struct buf	 b = { 0 };
	size_t		 i, k, made = 0;

	for (i = 0; i < all->n; i++) {
		buf_reset(&b);
		if (tmpl_stream_pieces(st, all->recs[i], &b) == -1) {
			if (b.len != 0)
				errx(2, "record %zu: pieces refused, but "
				    "%zu bytes left", i + 1, b.len);
			tmpl_stream_rec(st, all->recs[i]);
			continue;
		}
		for (k = 0; k < b.len; k++)
			if (tmpl_stream_put(st, b.data, k, 0) != -1)
				errx(2, "record %zu: %zu of %zu bytes taken",
				    i + 1, k, b.len);
		if (tmpl_stream_put(st, b.data, b.len, 0) != (long)b.len ||
		    tmpl_stream_put(st, b.data, b.len, 1) != (long)b.len)
			errx(2, "record %zu: its pieces refused", i + 1);
		made++;
	}
	tmpl_stream_write(st, tmpl_stream_whole(st) ? &none : all, put, out);
	fprintf(stderr, "pieces: %zu of %zu records\n", made, all->n);
	tmpl_stream_free(st);
	buf_free(&b);
}

int
main(int argc, char *argv[])
{
	struct buf	 t = { 0 }, in = { 0 }, out = { 0 };
	struct tmpl	*tp;
	struct tmpl_root root = { 0 };
	struct json	 j, *js = NULL;
	const struct json **recs = NULL;
	char		 e[512];
	size_t		 n = 0;
	char		*p, *nl;

	if (argc < 2 || buf_readfile(&t, argv[1]) == -1)
		errx(2, "usage: t-tmpl template [--all] < json");
	if ((tp = tmpl_compile(argv[1], t.data ? t.data : "", t.len, load,
	    NULL, e, sizeof(e))) == NULL) {
		printf("%s\n", e);
		buf_free(&t);
		return 1;
	}
	if (buf_readfd(&in, STDIN_FILENO) == -1)
		err(2, "stdin");
	buf_cstr(&in);
	if (argc > 2 && (strcmp(argv[2], "--all") == 0 ||
	    strcmp(argv[2], "--pieces") == 0)) {
		for (p = in.data; p != NULL && *p != '\0'; p = nl + 1) {
			if ((nl = strchr(p, '\n')) == NULL)
				nl = p + strlen(p);
			js = xreallocarray(js, n + 1, sizeof(*js));
			if (json_parse(&js[n], "stdin", p, (size_t)(nl - p),
			    1) == -1)
				errx(2, "%s", js[n].err);
			n++;
			if (*nl == '\0')
				break;
		}
		recs = xcalloc(n + 1, sizeof(*recs));
		for (size_t i = 0; i < n; i++)
			recs[i] = &js[i];
		root.recs = recs;
		root.n = n;
	} else {
		if (json_parse(&j, "stdin", in.data, in.len, 1) == -1)
			errx(2, "%s", j.err);
		root.j = &j;
		root.t = 0;
	}
	if (argc > 2 && strcmp(argv[2], "--pieces") == 0)
		pieces(tp, &root, &out);
	else
		tmpl_render(tp, &root, &out);
	fwrite(out.data, 1, out.len, stdout);
	tmpl_free(tp);
	if (root.j != NULL)
		json_free(&j);
	for (size_t i = 0; i < n; i++)
		json_free(&js[i]);
	free(js);
	free(recs);
	buf_free(&t);
	buf_free(&in);
	buf_free(&out);
	return 0;
}
