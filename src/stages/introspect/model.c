/*
 * model.c: the schema model of introspect: arena allocation, records
 * in declaration order, name lookup (hash tables, so foreign keys and
 * indexes declared far from their table attach in O(1)), warnings and
 * errors.  See introspect.h.
 */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "inflect.h"
#include "util.h"
#include "xalloc.h"
#include "introspect.h"
#include "banned.h"

#define CHUNK	(64 * 1024)

void *
arena_alloc(struct arena *a, size_t n)
{
	char	*c;
	size_t	 sz;

	n = (n + 7) & ~(size_t)7;	/* pointers and int64_t: 8 */
	if (n > (size_t)(a->end - a->cur) || a->cur == NULL) {
		sz = n + 16 > CHUNK / 4 ? n + 16 : CHUNK;
		c = xmalloc(sz);
		*(void **)c = a->chunks;
		a->chunks = c;
		a->total += sz;
		if (sz != CHUNK) {	/* a big one: keep the current chunk */
			memset(c + 16, 0, n);
			return c + 16;
		}
		a->cur = c + 16;
		a->end = c + sz;
	}
	c = a->cur;
	a->cur += n;
	memset(c, 0, n);
	return c;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*p;

	p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	(void)vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_free(struct arena *a)
{
	void	*c, *next;

	for (c = a->chunks; c != NULL; c = next) {
		next = *(void **)c;
		free(c);
	}
	memset(a, 0, sizeof(*a));
}

void
arena_mark(const struct arena *a, struct arena_mark *m)
{
	m->chunks = a->chunks;
	m->cur = a->cur;
	m->end = a->end;
}

void
arena_release(struct arena *a, const struct arena_mark *m)
{
	void	*next;

	while (a->chunks != m->chunks && a->chunks != NULL) {
		next = *(void **)a->chunks;
		free(a->chunks);
		a->chunks = next;
	}
	a->cur = m->cur;
	a->end = m->end;
}

/* Rails' singular and plural forms of a name, kept in the arena */
const char *
arena_singular(struct arena *a, const char *w)
{
	struct buf	 b = { 0 };
	const char	*r;

	inflect_singular(&b, w);
	r = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return r;
}

const char *
arena_plural(struct arena *a, const char *w)
{
	struct buf	 b = { 0 };
	const char	*r;

	inflect_plural(&b, w);
	r = arena_strndup(a, b.data, b.len);
	buf_free(&b);
	return r;
}

/* a deep copy of a value (strings too) into another arena */
struct val *
val_copy(struct arena *a, const struct val *v)
{
	struct val	*c, *k, *tail = NULL;
	const struct val *e;

	if (v == NULL)
		return NULL;
	c = arena_alloc(a, sizeof(*c));
	*c = *v;
	c->next = c->kid = NULL;
	if (v->s != NULL)
		c->s = arena_strndup(a, v->s, v->n);
	for (e = v->kid; e != NULL; e = e->next) {
		k = val_copy(a, e);
		if (tail == NULL)
			c->kid = k;
		else
			tail->next = k;
		tail = k;
	}
	return c;
}


/*
 * The model's one copy of a string: names recur (every table has its
 * "id", "created_at", ...), so each is kept once.  Open addressing;
 * the strings live in the arena.
 */
const char *
schema_intern(struct schema *s, const char *p, size_t n)
{
	const char	**nt, *e;
	size_t		  i, j, ncap;

	if (s->ilen * 2 >= s->icap) {
		ncap = s->icap ? s->icap * 2 : 1024;
		nt = xcalloc(ncap, sizeof(*nt));
		for (i = 0; i < s->icap; i++) {
			if ((e = s->istr[i]) == NULL)
				continue;
			for (j = (size_t)hash_bytes(e, strlen(e)) & (ncap - 1);
			    nt[j] != NULL; j = (j + 1) & (ncap - 1))
				;
			nt[j] = e;
		}
		free(s->istr);
		s->istr = nt;
		s->icap = ncap;
	}
	for (i = (size_t)hash_bytes(p, n) & (s->icap - 1);
	    (e = s->istr[i]) != NULL; i = (i + 1) & (s->icap - 1))
		if (strncmp(e, p, n) == 0 && e[n] == '\0')
			return e;
	s->ilen++;
	return s->istr[i] = arena_strndup(&s->keep, p, n);
}

static size_t
val_hash(const struct val *v)
{
	return (size_t)hash_bytes(v->s != NULL ? v->s : "", v->n) * 31 +
	    (size_t)v->kind;
}

/*
 * A value for the model (a default, an option): a scalar (nil, true,
 * false, a number, string or symbol) is shared with every equal one,
 * so a thousand `default: 0` cost one; the writer never tells copies
 * apart (their line and column are not written).  Others are copied.
 */
struct val *
val_share(struct schema *s, const struct val *v)
{
	struct val	**nt, *e;
	size_t		  i, j, ncap;

	if (v == NULL)
		return NULL;
	if (v->kid != NULL || v->kind == V_ARR || v->kind == V_HASH ||
	    v->kind == V_LAMBDA ||
	    (v->s != NULL && memchr(v->s, '\0', v->n) != NULL))
		return val_copy(&s->a, v);
	if (s->vlen * 2 >= s->vcap) {
		ncap = s->vcap ? s->vcap * 2 : 256;
		nt = xcalloc(ncap, sizeof(*nt));
		for (i = 0; i < s->vcap; i++) {
			if ((e = s->ival[i]) == NULL)
				continue;
			for (j = val_hash(e) & (ncap - 1); nt[j] != NULL;
			    j = (j + 1) & (ncap - 1))
				;
			nt[j] = e;
		}
		free(s->ival);
		s->ival = nt;
		s->vcap = ncap;
	}
	for (i = val_hash(v) & (s->vcap - 1); (e = s->ival[i]) != NULL;
	    i = (i + 1) & (s->vcap - 1))
		if (e->kind == v->kind && e->n == v->n &&
		    (v->n == 0 || memcmp(e->s, v->s, v->n) == 0))
			return e;
	e = arena_alloc(&s->keep, sizeof(*e));
	e->kind = v->kind;
	e->n = v->n;
	e->line = v->line;
	e->col = v->col;
	if (v->s != NULL)
		e->s = schema_intern(s, v->s, v->n);
	s->vlen++;
	return s->ival[i] = e;
}

void
schema_init(struct schema *s, const char *file)
{
	memset(s, 0, sizeof(*s));
	s->file = file;
	STAILQ_INIT(&s->recs);
}

void
schema_free(struct schema *s)
{
	free(s->hash);
	free(s->ehash);
	free(s->istr);
	free(s->ival);
	free(s->warn);
	arena_free(&s->a);
	arena_free(&s->keep);
}

static size_t
hash_str(const char *k)
{
	size_t	h = 14695981039346656037ULL;

	while (*k != '\0')
		h = (h ^ (unsigned char)*k++) * 1099511628211ULL;
	return h;
}

static void
hash_put(struct table ***hp, size_t *capp, size_t *lenp, struct table *t)
{
	struct table	**h = *hp, **nh, *e, *next;
	size_t		  i, ncap;

	if (*lenp * 2 >= *capp) {
		ncap = *capp ? *capp * 2 : 64;
		nh = xcalloc(ncap, sizeof(*nh));
		for (i = 0; i < *capp; i++)
			for (e = h[i]; e != NULL; e = next) {
				next = e->hnext;
				e->hnext = nh[hash_str(e->key) & (ncap - 1)];
				nh[hash_str(e->key) & (ncap - 1)] = e;
			}
		free(h);
		*hp = h = nh;
		*capp = ncap;
	}
	i = hash_str(t->key) & (*capp - 1);
	t->hnext = h[i];
	h[i] = t;
	(*lenp)++;
}

static struct table *
hash_get(struct table **h, size_t cap, const char *key)
{
	struct table	*e;

	if (cap == 0)
		return NULL;
	for (e = h[hash_str(key) & (cap - 1)]; e != NULL; e = e->hnext)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/*
 * Add a record named key ("name" or "schema.name"); the first dot
 * splits the namespace off, as schema.rb writes it.
 */
struct table *
schema_add(struct schema *s, enum rec_kind kind, const char *key, int line)
{
	struct table	*t;
	const char	*dot;

	t = arena_alloc(&s->a, sizeof(*t));
	t->kind = kind;
	t->key = schema_intern(s, key, strlen(key));
	if (s->kind == SRC_SCHEMARB && (dot = strchr(key, '.')) != NULL &&
	    dot != key && dot[1] != '\0') {
		t->schema = arena_strndup(&s->a, key, (size_t)(dot - key));
		t->name = t->key + (dot - key) + 1;
	} else
		t->name = t->key;
	t->line = line;
	t->seq = s->nrecs++;
	STAILQ_INIT(&t->cols);
	STAILQ_INIT(&t->idx);
	STAILQ_INIT(&t->fks);
	STAILQ_INIT(&t->checks);
	STAILQ_INSERT_TAIL(&s->recs, t, link);
	if (kind == REC_ENUM)
		hash_put(&s->ehash, &s->ecap, &s->elen, t);
	else
		hash_put(&s->hash, &s->hcap, &s->hlen, t);
	return t;
}

struct table *
schema_find(const struct schema *s, const char *key)
{
	return hash_get(s->hash, s->hcap, key);
}

struct table *
schema_find_enum(const struct schema *s, const char *key)
{
	return hash_get(s->ehash, s->ecap, key);
}

/*
 * Warnings are kept until the source is loaded: printed if it loads,
 * dropped if a fatal error makes the error line the only message.
 */
void
schema_warn(struct schema *s, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512], full[1024];
	size_t	 n;

	s->nwarn++;
	if (s->quiet)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		(void)snprintf(full, sizeof(full), "%s:%d: %s\n", s->file, line,
		    msg);
	else
		(void)snprintf(full, sizeof(full), "%s: %s\n", s->file, msg);
	n = strlen(full);
	if (s->warnlen + n + 1 > s->warncap) {
		s->warncap = (s->warnlen + n + 1) * 2;
		s->warn = xreallocarray(s->warn, s->warncap, 1);
	}
	memcpy(s->warn + s->warnlen, full, n + 1);
	s->warnlen += n;
}

void
schema_print_warnings(const struct schema *s)
{
	const char	*p, *nl;

	for (p = s->warn; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		warnx("%.*s", (int)(nl - p), p);
	}
}

/*
 * The mapped source before upto is read: its whole pages leave this
 * process's memory, 32 KiB at a time, so the peak memory of a large
 * source does not include all of its text.
 */
void
schema_source_done(struct schema *s, const char *upto)
{
	static size_t	 pg;
	size_t		 off;

	if (s->map == NULL || upto < s->map || upto > s->map + s->maplen)
		return;
	if (pg == 0)
		pg = (size_t)sysconf(_SC_PAGESIZE);
	off = (size_t)(upto - s->map) / pg * pg;
	if (off < s->mapdone + 32 * 1024)
		return;
	(void)madvise((char *)s->map + s->mapdone, off - s->mapdone,
	    MADV_DONTNEED);
	s->mapdone = off;
}

/* set s->err to "file[:line[:col]]: message"; returns -1 */
int
schema_fail(struct schema *s, int line, int col, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[400], *p;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one line, whatever it quotes (libsqlite3 quotes the statement) */
	for (p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if (line > 0 && col > 0)
		(void)snprintf(s->err, sizeof(s->err), "%s:%d:%d: %s",
		    s->file, line, col, msg);
	else if (line > 0)
		(void)snprintf(s->err, sizeof(s->err), "%s:%d: %s",
		    s->file, line, msg);
	else
		(void)snprintf(s->err, sizeof(s->err), "%s: %s", s->file,
		    msg);
	return -1;
}

struct column *
table_add_column(struct schema *s, struct table *t, const char *name,
    int line)
{
	struct column	*c;

	c = arena_alloc(&s->a, sizeof(*c));
	c->name = name;
	c->line = line;
	STAILQ_INSERT_TAIL(&t->cols, c, link);
	t->ncols++;
	return c;
}

const struct colx colx_none = { -1, -1, -1, NULL, NULL, NULL, NULL, NULL,
    NULL, 0 };

struct colx *
colx(struct schema *s, struct column *c)
{
	if (c->x == NULL) {
		c->x = arena_alloc(&s->a, sizeof(*c->x));
		c->x->limit = c->x->precision = c->x->scale = -1;
	}
	return c->x;
}

const struct ixx ixx_none;
const char index_default_name[] = "index_<table>_on_<columns>";

struct ixx *
ixx(struct schema *s, struct index *i)
{
	if (i->x == NULL)
		i->x = arena_alloc(&s->a, sizeof(*i->x));
	return i->x;
}

struct column *
table_column(const struct table *t, const char *name)
{
	struct column	*c;

	STAILQ_FOREACH(c, &t->cols, link)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct index *
table_add_index(struct schema *s, struct table *t, int line)
{
	struct index	*i;

	i = arena_alloc(&s->a, sizeof(*i));
	i->line = line;
	STAILQ_INSERT_TAIL(&t->idx, i, link);
	return i;
}

struct fkey *
table_add_fkey(struct schema *s, struct table *t, int line)
{
	struct fkey	*f;

	f = arena_alloc(&s->a, sizeof(*f));
	f->validate = 1;
	f->line = line;
	STAILQ_INSERT_TAIL(&t->fks, f, link);
	return f;
}

struct check *
table_add_check(struct schema *s, struct table *t, int line)
{
	struct check	*c;

	c = arena_alloc(&s->a, sizeof(*c));
	c->validate = 1;
	c->line = line;
	STAILQ_INSERT_TAIL(&t->checks, c, link);
	return c;
}

/* append; the vector grows in the arena by doubling (small lists) */
void
strv_add(struct arena *a, struct strv *sv, const char *s)
{
	const char	**nv;
	int		  cap;

	for (cap = 2; cap < sv->n; cap *= 2)
		;
	if (sv->n == 0 || sv->n == cap) {
		nv = arena_alloc(a, sizeof(*nv) * (size_t)(sv->n ? cap * 2 : 2));
		if (sv->n > 0)
			memcpy(nv, sv->v, sizeof(*nv) * (size_t)sv->n);
		sv->v = nv;
	}
	sv->v[sv->n++] = s;
}

int
strv_eq(const struct strv *a, const struct strv *b)
{
	int	i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}
