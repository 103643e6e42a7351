/*
 * tmpl.h: the logic-less template language of sluice-template(5):
 * {{name}} and {{a.b|filter|filter}} variables, {{#list}} sections,
 * {{^x}} inverted sections, {{#x?}} tests, {{>partial}} and
 * {{! comments }}, over JSON values (the records of a JSON Lines
 * stream).  Compiling reads partials through a caller's loader and is
 * otherwise pure; rendering only appends to a struct buf.
 *
 * The caller owns the struct tmpl (tmpl_free) and the JSON values,
 * which must outlive each tmpl_render call.
 */
#ifndef TMPL_H
#define TMPL_H

#include <stddef.h>

struct buf;
struct json;
struct tmpl;

/* loads partial NAME for template FROM: its text into b and its name
   for messages (caller frees) into *path; -1 when there is none */
typedef int	(*tmpl_loader)(void *, const char *from, const char *name,
		    struct buf *b, char **path);

/* NULL and a "name:line:col: message" in err on a bad template */
struct tmpl	*tmpl_compile(const char *name, const char *text, size_t len,
		    tmpl_loader, void *, char *err, size_t errsz);
void		 tmpl_free(struct tmpl *);
/* every name the template looks up (each part of a.b.c, partials'
   too), to fn, maybe more than once; "." and @first and the like not */
void		 tmpl_names(const struct tmpl *, void (*)(void *, const char *),
		    void *);

/*
 * The root of a render: one JSON value (token t of j), or, when j is
 * NULL, a schema of n records whose lists "tables", "views", "enums"
 * and "records" sections iterate over.
 */
struct tmpl_root {
	const struct json	*j;
	int			 t;
	const struct json *const *recs;
	size_t			 n;
};

void		 tmpl_render(const struct tmpl *, const struct tmpl_root *,
		    struct buf *);
/* whether it looks up a list of the records of a schema root */
int		 tmpl_uses_records(const struct tmpl *);

/*
 * The same for a schema root, with the sections over its records at
 * the top rendered as the records come: tmpl_stream_rec for each, in
 * the root's order, then tmpl_stream_write gives put, in pieces, what
 * tmpl_render would write (without its '\0').  A record must live
 * while tmpl_stream_holds it (until the next of its kind comes, or the
 * end); when tmpl_stream_whole, the root need have no record at the
 * end, else it must have them all.
 */
struct tmpl_stream;
struct spill;
struct tmpl_stream *tmpl_stream_new(const struct tmpl *);
/* the sections' text beyond a piece goes to sp as records come; the
   caller ends it (spill_end) before tmpl_stream_write reads it back */
void		 tmpl_stream_spill(struct tmpl_stream *, struct spill *);
void		 tmpl_stream_rec(struct tmpl_stream *, const struct json *);
int		 tmpl_stream_holds(const struct tmpl_stream *,
		    const struct json *);
int		 tmpl_stream_whole(const struct tmpl_stream *);
void		 tmpl_stream_write(struct tmpl_stream *,
		    const struct tmpl_root *,
		    void (*)(void *, const char *, size_t), void *);
void		 tmpl_stream_free(struct tmpl_stream *);
/* a record's pieces now, for a cache; put them in later, in order */
int		 tmpl_stream_pieces(const struct tmpl_stream *,
		    const struct json *, struct buf *);
long		 tmpl_stream_put(struct tmpl_stream *, const char *, size_t,
		    int);

#endif
