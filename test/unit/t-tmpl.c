/*
 * t-tmpl.c: unit test of src/lib/tmpl.c.  Usage: t-tmpl TEMPLATE
 * [--all] < JSON: compiles TEMPLATE (partials from its directory),
 * renders it over the JSON value on stdin (--all: over JSON Lines
 * records as a schema) and prints the result, or the compile error
 * and exit 1.
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
	if (argc > 2 && strcmp(argv[2], "--all") == 0) {
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
