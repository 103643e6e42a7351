/*
 * tmpl.c: compiler and renderer of sluice-template(5); see tmpl.h.
 * A template compiles to a tree of nodes (text, variable, section,
 * inverted section, test, partial).  Tags alone on their line (sections,
 * comments, partials) take the line with them, as in Mustache, so
 * templates can be laid out readably.  Partials are compiled once, with
 * a depth limit against recursion.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inflect.h"
#include "json.h"
#include "rec.h"
#include "spill.h"
#include "tmpl.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define MAXDEPTH	16	/* partial nesting */
#define MAXNEST		100	/* section nesting in one template */
#define MAXFRAME	64	/* section nesting while rendering */

enum ntype { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_TEST, N_PARTIAL };

enum filter {
	F_CAMEL, F_PASCAL, F_SNAKE, F_KEBAB, F_SINGULAR, F_PLURAL, F_TS,
	F_UPPER, F_LOWER, F_JSON
};

static const char *const filters[] = {
	"camel", "pascal", "snake", "kebab", "singular", "plural", "ts",
	"upper", "lower", "json"
};

struct node {
	enum ntype	 type;
	char		*text;		/* N_TEXT */
	size_t		 len;
	char		**path;		/* a.b.c split; "." alone: [""] */
	unsigned	*phash;		/* their hashes (struct seen) */
	size_t		*plen;		/* their lengths; (size_t)-1: one
					   with a backslash (json_get) */
	int		 npath;
	enum filter	*filt;
	int		 nfilt;
	struct node	*kids;		/* section body */
	int		 nkids;
	struct tmpl	*partial;	/* one of the top template's parts */
};

struct tmpl {
	char		*name;
	struct node	*nodes;
	int		 nnodes;
	/* the top template's partials, each compiled once, whichever
	   template or partial includes it and however often */
	struct tmpl	**parts;
	int		 nparts;
	unsigned	 walk;		/* see names_of */
	int		 height;	/* partials nested under it, at most */
};

struct parser {
	const char	*name;
	const char	*text, *p, *e;
	tmpl_loader	 load;
	void		*arg;
	char		*err;
	size_t		 errsz;
	int		 depth;
	int		 height;	/* of what it compiles (struct tmpl) */
	int		 nest;		/* sections open */
	int		 failed;
	struct tmpl	*top;		/* owns the partials */
};

static void	free_nodes(struct node *, int);
static void	free_node(struct node *);

static void
pos_of(const struct parser *ps, const char *at, int *line, int *col)
{
	const char	*q;

	*line = 1;
	*col = 1;
	for (q = ps->text; q < at; q++) {
		if (*q == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

/* a message is one line: a name quoted in it may hold a line break */
static void
oneline(char *m)
{
	for (; *m != '\0'; m++)
		if ((unsigned char)*m < ' ')
			*m = ' ';
}

static void __attribute__((__format__(__printf__, 3, 4)))
fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	char	 msg[512];
	int	 line, col;
	va_list	 ap;

	if (ps->failed)
		return;
	ps->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pos_of(ps, at, &line, &col);
	snprintf(ps->err, ps->errsz, "%s:%d:%d: %s", ps->name, line, col,
	    msg);
	oneline(ps->err);
}

static struct node *
add_node(struct node **v, int *n, enum ntype t)
{
	struct node	*nd;

	*v = xreallocarray(*v, (size_t)*n + 1, sizeof(**v));
	nd = &(*v)[(*n)++];
	memset(nd, 0, sizeof(*nd));
	nd->type = t;
	return nd;
}

static void
add_text(struct node **v, int *n, const char *s, size_t len)
{
	struct node	*nd;

	if (len == 0)
		return;
	nd = add_node(v, n, N_TEXT);
	nd->text = xstrndup(s, len);
	nd->len = len;
}

/* one more segment of nd's name: len bytes at a ("" for the current
 * value) */
static void
add_seg(struct node *nd, const char *a, size_t len)
{
	nd->path = xreallocarray(nd->path, (size_t)nd->npath + 1,
	    sizeof(char *));
	nd->plen = xreallocarray(nd->plen, (size_t)nd->npath + 1,
	    sizeof(size_t));
	nd->phash = xreallocarray(nd->phash, (size_t)nd->npath + 1,
	    sizeof(unsigned));
	nd->phash[nd->npath] = (unsigned)hash_bytes(a, len);
	nd->plen[nd->npath] = memchr(a, '\\', len) != NULL ? (size_t)-1 : len;
	nd->path[nd->npath++] = xstrndup(a, len);
}

/* "a.b|camel|ts" into the node; 0, or -1 after fail() */
static int
parse_ref(struct parser *ps, const char *at, const char *s, size_t len,
    struct node *nd)
{
	const char	*e = s + len, *q, *seg;
	size_t		 i;

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if ((q = memchr(s, '|', (size_t)(e - s))) == NULL)
		q = e;
	seg = s;
	while (seg < q && isspace((unsigned char)q[-1]))
		q--;
	if (seg == q) {
		fail(ps, at, "empty tag: expected a name");
		return -1;
	}
	if (q - seg == 1 && *seg == '.') {
		nd->path = xcalloc(1, sizeof(char *));
		nd->path[0] = xstrdup("");
		nd->plen = xcalloc(1, sizeof(size_t));
		nd->phash = xcalloc(1, sizeof(unsigned));
		nd->npath = 1;
	} else {
		const char	*a = seg, *b;

		/* ".name": the current value's, never an enclosing one's */
		if (*a == '.') {
			add_seg(nd, a, 0);
			a++;
		}
		for (;;) {
			if ((b = memchr(a, '.', (size_t)(q - a))) == NULL)
				b = q;
			if (b == a) {
				fail(ps, at, "bad name '%.*s'", (int)(q - seg),
				    seg);
				return -1;
			}
			add_seg(nd, a, (size_t)(b - a));
			if (b == q)
				break;
			a = b + 1;
		}
	}
	/* filters */
	if ((q = memchr(s, '|', (size_t)(e - s))) == NULL)
		return 0;
	while (q < e) {
		const char	*f = q + 1, *fe;

		if ((fe = memchr(f, '|', (size_t)(e - f))) == NULL)
			fe = e;
		while (f < fe && isspace((unsigned char)*f))
			f++;
		q = fe;
		while (fe > f && isspace((unsigned char)fe[-1]))
			fe--;
		for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
			if (strlen(filters[i]) == (size_t)(fe - f) &&
			    memcmp(filters[i], f, (size_t)(fe - f)) == 0)
				break;
		if (i == sizeof(filters) / sizeof(filters[0])) {
			fail(ps, at, "unknown filter '%.*s': expected camel, "
			    "pascal, snake, kebab, singular, plural, ts, "
			    "upper, lower or json", (int)(fe - f), f);
			return -1;
		}
		nd->filt = xreallocarray(nd->filt, (size_t)nd->nfilt + 1,
		    sizeof(*nd->filt));
		nd->filt[nd->nfilt++] = (enum filter)i;
	}
	return 0;
}

static char *
join_path(const struct node *nd)
{
	struct buf	 b = { 0 };
	int		 i;

	for (i = 0; i < nd->npath; i++) {
		if (i > 1 || (i == 1 && nd->path[0][0] != '\0'))
			buf_addc(&b, '.');
		buf_adds(&b, nd->path[i][0] == '\0' ? "." : nd->path[i]);
	}
	return buf_steal(&b);
}

static struct tmpl *compile(struct tmpl *, const char *, const char *,
    size_t, tmpl_loader,
		    void *, char *, size_t, int);

/*
 * Parse nodes until {{/name}} (close != NULL) or the end.  openat is
 * where the section opened, for messages.
 */
static int
parse(struct parser *ps, struct node **v, int *n, const struct node *sect,
    const char *openat)
{
	const char	*t, *te, *body, *ls, *after;
	struct node	*nd;
	char		 sigil;
	int		 standalone, i;

	while (ps->p < ps->e && !ps->failed) {
		if ((t = memmem(ps->p, (size_t)(ps->e - ps->p), "{{", 2)) ==
		    NULL) {
			add_text(v, n, ps->p, (size_t)(ps->e - ps->p));
			ps->p = ps->e;
			break;
		}
		body = t + 2;
		if (body < ps->e && *body == '{') {
			/* {{{x}}}: the same as {{x}} here */
			body++;
			if ((te = memmem(body, (size_t)(ps->e - body), "}}}",
			    3)) == NULL) {
				fail(ps, t, "unterminated tag: expected '}}}'");
				return -1;
			}
			after = te + 3;
		} else {
			if ((te = memmem(body, (size_t)(ps->e - body), "}}",
			    2)) == NULL) {
				fail(ps, t, "unterminated tag: expected '}}'");
				return -1;
			}
			after = te + 2;
		}
		sigil = *body;
		if (body[-1] == '{' && body - 1 != t + 1)
			sigil = 0;
		if (strchr("#^/!>", sigil) == NULL || sigil == '\0')
			sigil = 0;

		/* a section, comment or partial tag alone on its line */
		standalone = 0;
		if (sigil != 0) {
			const char	*q;

			for (ls = t; ls > ps->text && (ls[-1] == ' ' ||
			    ls[-1] == '\t'); ls--)
				;
			q = after;
			while (q < ps->e && (*q == ' ' || *q == '\t'))
				q++;
			if ((ls == ps->text || ls[-1] == '\n') &&
			    (q == ps->e || *q == '\n' || (*q == '\r' &&
			    q + 1 < ps->e && q[1] == '\n'))) {
				standalone = 1;
				if (q < ps->e && *q == '\r')
					q++;
				if (q < ps->e)
					q++;
				after = q;
			}
		}
		add_text(v, n, ps->p, (size_t)((standalone ? ls : t) - ps->p));
		ps->p = after;
		switch (sigil) {
		case '!':
			break;
		case '/': {
			struct node	 tmp;
			char		*a, *b;
			int		 same;

			memset(&tmp, 0, sizeof(tmp));
			if (parse_ref(ps, t, body + 1, (size_t)(te - body - 1),
			    &tmp) == -1)
				return -1;
			if (sect == NULL) {
				a = join_path(&tmp);
				fail(ps, t, "'{{/%s}}' closes no section", a);
				free(a);
				free_node(&tmp);
				return -1;
			}
			a = join_path(&tmp);
			b = join_path(sect);
			same = strcmp(a, b) == 0 && (tmp.nfilt == 0);
			if (same && sect->type == N_TEST)
				same = 0;
			free_node(&tmp);
			if (!same && !(sect->type == N_TEST &&
			    strlen(a) == strlen(b) + 1 && a[strlen(a) - 1] ==
			    '?' && strncmp(a, b, strlen(b)) == 0)) {
				int	 l, c;

				pos_of(ps, openat, &l, &c);
				fail(ps, t, "'{{/%s}}' closes '%s' opened at "
				    "%d:%d", a, b, l, c);
				free(a);
				free(b);
				return -1;
			}
			free(a);
			free(b);
			return 0;
		}
		case '#':
		case '^': {
			const char	*s = body + 1, *se = te;

			while (se > s && isspace((unsigned char)se[-1]))
				se--;
			nd = add_node(v, n, sigil == '^' ? N_INVERTED :
			    N_SECTION);
			if (se > s && se[-1] == '?' && sigil == '#') {
				nd->type = N_TEST;
				se--;
			}
			if (parse_ref(ps, t, s, (size_t)(se - s), nd) == -1)
				return -1;
			if (ps->nest >= MAXNEST) {
				fail(ps, t, "sections nested more than %d deep",
				    MAXNEST);
				return -1;
			}
			{
				struct node	*kids = NULL, copy;
				int		 nk = 0, idx = *n - 1, r;

				copy = *nd;
				ps->nest++;
				r = parse(ps, &kids, &nk, &copy, t);
				ps->nest--;
				if (r == -1) {
					free_nodes(kids, nk);
					return -1;
				}
				(*v)[idx].kids = kids;
				(*v)[idx].nkids = nk;
			}
			break;
		}
		case '>': {
			struct buf	 pb = { 0 };
			char		*pname, *ppath = NULL;
			const char	*s = body + 1, *se = te;

			while (s < se && isspace((unsigned char)*s))
				s++;
			while (se > s && isspace((unsigned char)se[-1]))
				se--;
			pname = xstrndup(s, (size_t)(se - s));
			if (ps->depth >= MAXDEPTH) {
				fail(ps, t, "partial '%s': nested more than %d "
				    "deep", pname, MAXDEPTH);
				free(pname);
				return -1;
			}
			if (ps->load == NULL || ps->load(ps->arg, ps->name,
			    pname, &pb, &ppath) == -1) {
				fail(ps, t, "partial '%s' not found", pname);
				free(pname);
				free(ppath);
				buf_free(&pb);
				return -1;
			}
			nd = add_node(v, n, N_PARTIAL);
			for (i = 0; i < ps->top->nparts &&
			    nd->partial == NULL; i++)
				if (strcmp(ps->top->parts[i]->name, ppath) == 0)
					nd->partial = ps->top->parts[i];
			/* compiled once, but as deep as it is included */
			if (nd->partial != NULL && ps->depth + 1 +
			    nd->partial->height > MAXDEPTH) {
				fail(ps, t, "partial '%s': nested more than %d "
				    "deep", pname, MAXDEPTH);
				nd->partial = NULL;
				free(pname);
				free(ppath);
				buf_free(&pb);
				return -1;
			}
			if (nd->partial == NULL)
				nd->partial = compile(ps->top, ppath, pb.data ?
				    pb.data : "", pb.len, ps->load, ps->arg,
				    ps->err, ps->errsz, ps->depth + 1);
			free(pname);
			free(ppath);
			buf_free(&pb);
			if (nd->partial == NULL) {
				ps->failed = 1;
				return -1;
			}
			if (nd->partial->height + 1 > ps->height)
				ps->height = nd->partial->height + 1;
			break;
		}
		default:
			nd = add_node(v, n, N_VAR);
			if (parse_ref(ps, t, body, (size_t)(te - body), nd) ==
			    -1)
				return -1;
		}
	}
	if (sect != NULL && !ps->failed) {
		char	*a = join_path(sect);

		fail(ps, openat, "unclosed section '%s%s': expected "
		    "'{{/%s%s}}' before the end", a, sect->type == N_TEST ?
		    "?" : "", a, sect->type == N_TEST ? "?" : "");
		free(a);
		return -1;
	}
	return ps->failed ? -1 : 0;
}

/* a template; a partial when top (which then owns it) is not NULL */
static struct tmpl *
compile(struct tmpl *top, const char *name, const char *text, size_t len,
    tmpl_loader load, void *arg, char *err, size_t errsz, int depth)
{
	struct parser	 ps;
	struct tmpl	*t = xcalloc(1, sizeof(*t));
	const char	*at;

	memset(&ps, 0, sizeof(ps));
	ps.top = top != NULL ? top : t;
	ps.name = name;
	ps.text = ps.p = text;
	ps.e = text + len;
	ps.load = load;
	ps.arg = arg;
	ps.err = err;
	ps.errsz = errsz;
	ps.depth = depth;
	t->name = xstrdup(name);
	/* text: a NUL would cut a piece short of its length */
	if ((at = memchr(text, '\0', len)) != NULL) {
		fail(&ps, at, "a NUL byte: a template is text");
		tmpl_free(t);
		return NULL;
	}
	if (parse(&ps, &t->nodes, &t->nnodes, NULL, NULL) == -1) {
		tmpl_free(t);
		return NULL;
	}
	t->height = ps.height;
	if (top != NULL) {
		top->parts = xreallocarray(top->parts, (size_t)top->nparts + 1,
		    sizeof(*top->parts));
		top->parts[top->nparts++] = t;
	}
	return t;
}

struct tmpl *
tmpl_compile(const char *name, const char *text, size_t len,
    tmpl_loader load, void *arg, char *err, size_t errsz)
{
	return compile(NULL, name, text, len, load, arg, err, errsz, 0);
}

static void
free_node(struct node *nd)
{
	int	 k;

	free(nd->text);
	for (k = 0; k < nd->npath; k++)
		free(nd->path[k]);
	free(nd->path);
	free(nd->plen);
	free(nd->phash);
	free(nd->filt);
	free_nodes(nd->kids, nd->nkids);
}

static void
free_nodes(struct node *v, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		free_node(&v[i]);
	free(v);
}

void
tmpl_free(struct tmpl *t)
{
	int	 i;

	if (t == NULL)
		return;
	free_nodes(t->nodes, t->nnodes);
	for (i = 0; i < t->nparts; i++)
		tmpl_free(t->parts[i]);
	free(t->parts);
	free(t->name);
	free(t);
}

static unsigned	names_walk;	/* the walk of names_of under way */

static void
names_of(const struct node *v, int n, void (*fn)(void *, const char *),
    void *arg)
{
	int	 i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < v[i].npath; k++)
			if (v[i].path[k][0] != '\0' && v[i].path[k][0] != '@')
				fn(arg, v[i].path[k]);
		names_of(v[i].kids, v[i].nkids, fn, arg);
		/* a partial once a walk (names_walk): one included
		   ten times by ten others is looked at once, not 100 */
		if (v[i].partial != NULL && v[i].partial->walk != names_walk) {
			v[i].partial->walk = names_walk;
			names_of(v[i].partial->nodes, v[i].partial->nnodes, fn,
			    arg);
		}
	}
}

void
tmpl_names(const struct tmpl *t, void (*fn)(void *, const char *), void *arg)
{
	names_walk++;
	names_of(t->nodes, t->nnodes, fn, arg);
}

/* the lists of records a schema root has (member() of V_SCHEMA) */
static const char *const lists[] = { "tables", "views", "enums", "records" };

static int
is_list(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strcmp(name, lists[i]) == 0)
			return 1;
	return 0;
}

static void
note_list(void *arg, const char *name)
{
	if (is_list(name))
		*(int *)arg = 1;
}

/* whether nodes may look up a list of the records (any part of any
   name: a record's own member of that name would do, but may be
   missing) */
static int
names_lists(const struct node *v, int n)
{
	int	 yes = 0;

	names_walk++;
	names_of(v, n, note_list, &yes);
	return yes;
}

/* --- rendering -------------------------------------------------------- */

enum vkind { V_NONE, V_JSON, V_SCHEMA, V_RECS, V_INT, V_BOOL };

/* 16 bytes, so that it is passed and returned in two registers (a
   larger one went through the stack, and its copies stalled lookup) */
struct val {
	union {
		const struct json *j;	/* V_JSON */
		const char	*which;	/* V_RECS: kind filter, NULL: all */
		long		 n;	/* V_INT, V_BOOL */
	};
	int		 t;		/* V_JSON: the token */
	enum vkind	 kind;
};

struct frame {
	struct val	 v;
	int		 loop;		/* inside a list iteration */
	long		 idx, count;
};

struct rstate {
	const struct tmpl_root *root;
	struct frame	 f[MAXFRAME];
	int		 nf;
	const char	**kind;		/* of each record: "table", ..., or
					   NULL, looked up once */
	long		 count[4];	/* records of each kind, and all */
	int		 posframe;	/* a frame whose place in its list is
					   watched (tmpl_stream_pieces), or 0 */
	int		 posused;	/* ... and an @ name looked at it */
	/* members looked up already: a name is looked up in the same
	 * object again and again (each column twice, the table's name in
	 * every line that prints it), and a miss climbs every frame */
	struct seen {
		const struct json *j;
		const char	*key;
		unsigned	 hash;
		int		 obj, t;
	}		 seen[64];
};

static const char *const kinds[] = { "table", "view", "enum" };

/* see tmpl_stream_new */
struct tmpl_stream {
	const struct tmpl *t;
	struct sstream {
		int		 node;	/* of t->nodes */
		const char	*which;	/* kinds[], NULL: every record */
		long		 idx;	/* records rendered */
		const struct json *held; /* the last: is it the list's? */
		struct buf	 out;
		/* what went to the spill before out, in order */
		struct piece {
			size_t	 off, len;
		}		*sp;
		size_t		 nsp;
	}		*s;
	int		 n;
	int		 whole;	/* nothing else needs the records */
	struct spill	*spill;	/* or NULL: all in out */
};

/* a section's text goes to the spill in pieces of about this much */
#define SPILL_AT	65536

/* while records come: what a section has rendered, to the spill once
   there is enough of it */
static void
spill_out(struct tmpl_stream *st, struct sstream *s)
{
	if (st->spill == NULL || s->out.len < SPILL_AT)
		return;
	s->sp = xreallocarray(s->sp, s->nsp + 1, sizeof(*s->sp));
	s->sp[s->nsp].off = spill_add(st->spill, s->out.data, s->out.len);
	s->sp[s->nsp++].len = s->out.len;
	buf_reset(&s->out);
}

/* record i is of kind which (NULL: any) */
static int
rec_is(const struct rstate *rs, size_t i, const char *which)
{
	return which == NULL || rs->kind[i] == which;
}

/* the kinds of the records, for the sections over them */
static void
rec_kinds(struct rstate *rs)
{
	const struct tmpl_root *root = rs->root;
	size_t	 i, k;
	int	 t;

	rs->kind = xcalloc(root->n + 1, sizeof(*rs->kind));
	rs->count[3] = (long)root->n;
	for (i = 0; i < root->n; i++) {
		t = json_get_n(root->recs[i], 0, "kind", 4);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (json_eq(root->recs[i], t, kinds[k])) {
				rs->kind[i] = kinds[k];
				rs->count[k]++;
				break;
			}
	}
}

static struct val
member(struct rstate *rs, struct val v, const char *key, size_t n,
    unsigned h)
{
	struct val	 r = { .t = -1, .kind = V_NONE };
	struct seen	*sn;
	int		 t;

	if (v.kind == V_JSON) {
		sn = rs == NULL ? NULL : &rs->seen[(h ^ (unsigned)v.t *
		    0x9e3779b1u) >> 26];
		if (sn != NULL && sn->j == v.j && sn->obj == v.t &&
		    sn->hash == h && (sn->key == key ||
		    strcmp(sn->key, key) == 0))
			t = sn->t;
		else {
			t = n == (size_t)-1 ? json_get(v.j, v.t, key) :
			    json_get_n(v.j, v.t, key, n);
			if (sn != NULL) {
				sn->j = v.j;
				sn->key = key;
				sn->hash = h;
				sn->obj = v.t;
				sn->t = t;
			}
		}
		if (t != -1) {
			r.kind = V_JSON;
			r.j = v.j;
			r.t = t;
		}
	} else if (v.kind == V_SCHEMA) {
		r.kind = V_RECS;
		if (strcmp(key, "tables") == 0)
			r.which = kinds[0];
		else if (strcmp(key, "views") == 0)
			r.which = kinds[1];
		else if (strcmp(key, "enums") == 0)
			r.which = kinds[2];
		else if (strcmp(key, "records") != 0)
			r.kind = V_NONE;
	}
	return r;
}

static struct val
lookup(struct rstate *rs, const struct node *nd)
{
	struct val	 v = { .t = -1, .kind = V_NONE };
	const char	*k = nd->path[0];
	int		 i, p;

	if (k[0] == '\0')		/* ".", or ".a": the current value's */
		v = rs->f[rs->nf - 1].v;
	else if (k[0] == '@') {
		for (i = rs->nf - 1; i >= 0; i--) {
			if (!rs->f[i].loop)
				continue;
			if (i == rs->posframe && rs->posframe > 0)
				rs->posused = 1;
			if (strcmp(k, "@index") == 0) {
				v.kind = V_INT;
				v.n = rs->f[i].idx;
			} else if (strcmp(k, "@first") == 0) {
				v.kind = V_BOOL;
				v.n = rs->f[i].idx == 0;
			} else if (strcmp(k, "@last") == 0) {
				v.kind = V_BOOL;
				v.n = rs->f[i].idx == rs->f[i].count - 1;
			}
			return v;
		}
		return v;
	} else
		for (i = rs->nf - 1; i >= 0; i--) {
			v = member(rs, rs->f[i].v, k, nd->plen[0],
			    nd->phash[0]);
			if (v.kind != V_NONE)
				break;
		}
	for (p = 1; p < nd->npath && v.kind != V_NONE; p++)
		v = member(rs, v, nd->path[p], nd->plen[p], nd->phash[p]);
	return v;
}

static long
list_count(const struct rstate *rs, struct val v)
{
	size_t	 i;
	long	 n = 0;
	int	 e;

	if (v.kind == V_RECS) {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (v.which == kinds[i])
				return rs->count[i];
		return rs->count[3];
	}
	if (v.kind == V_JSON && json_type(v.j, v.t) == JSON_ARRAY)
		JSON_FOREACH_ELEM(v.j, v.t, e)
			n++;
	return n;
}

static int
truthy(const struct rstate *rs, struct val v)
{
	switch (v.kind) {
	case V_NONE:
		return 0;
	case V_BOOL:
		return v.n != 0;
	case V_INT:
	case V_SCHEMA:
		return 1;
	case V_RECS:
		return list_count(rs, v) > 0;
	case V_JSON:
		switch (json_type(v.j, v.t)) {
		case JSON_NULL:
		case JSON_FALSE:
		case JSON_NONE:
			return 0;
		case JSON_STRING:
			return v.j->tok[v.t].end > v.j->tok[v.t].start;
		case JSON_ARRAY:
			return v.j->tok[v.t].size > 0;
		default:
			return 1;
		}
	}
	return 0;
}

static void
to_text(struct val v, struct buf *b)
{
	switch (v.kind) {
	case V_JSON:
		switch (json_type(v.j, v.t)) {
		case JSON_NULL:
			break;
		case JSON_STRING:
			json_str_buf(v.j, v.t, b);
			break;
		default:
			buf_add(b, v.j->text + v.j->tok[v.t].start,
			    (size_t)(v.j->tok[v.t].end - v.j->tok[v.t].start));
		}
		break;
	case V_INT:
		buf_printf(b, "%ld", v.n);
		break;
	case V_BOOL:
		buf_adds(b, v.n ? "true" : "false");
		break;
	default:
		break;
	}
	buf_add(b, "", 0);
}

static void
apply_filter(enum filter f, struct buf *in, struct buf *out)
{
	size_t	 i;

	buf_reset(out);
	switch (f) {
	case F_CAMEL:
		inflect_camelize(out, in->data, 1);
		break;
	case F_PASCAL:
		inflect_camelize(out, in->data, 0);
		break;
	case F_SNAKE:
		inflect_underscore(out, in->data);
		break;
	case F_KEBAB:
		inflect_dasherize(out, in->data);
		break;
	case F_SINGULAR:
		inflect_singular(out, in->data);
		break;
	case F_PLURAL:
		inflect_plural(out, in->data);
		break;
	case F_TS:
		ts_quote(out, in->data, in->len);
		break;
	case F_JSON:
		json_escape(out, in->data, in->len);
		break;
	case F_UPPER:
	case F_LOWER:
		buf_add(out, in->data, in->len);
		for (i = 0; i < out->len; i++)
			out->data[i] = (char)(f == F_UPPER ?
			    toupper((unsigned char)out->data[i]) :
			    tolower((unsigned char)out->data[i]));
		break;
	}
	buf_add(out, "", 0);
}

static void	render_nodes(struct rstate *, const struct node *, int,
		    struct buf *);

static void
push(struct rstate *rs, struct val v, int loop, long idx, long count)
{
	if (rs->nf >= MAXFRAME)
		return;		/* deeper sections see the outer frame */
	rs->f[rs->nf].v = v;
	rs->f[rs->nf].loop = loop;
	rs->f[rs->nf].idx = idx;
	rs->f[rs->nf].count = count;
	rs->nf++;
}

static void
render_nodes(struct rstate *rs, const struct node *v, int n, struct buf *out)
{
	/* a variable's text and its filters' results: used up before any
	   nested call, so one pair serves every depth (static: what lives
	   until the process ends stays reachable) */
	static struct buf a, b;
	struct buf	 tmp;
	struct val	 val, e = { .t = -1, .kind = V_NONE };
	long		 count, idx;
	size_t		 i;
	int		 k, f, el, nf0;

	for (k = 0; k < n; k++) {
		const struct node *nd = &v[k];

		switch (nd->type) {
		case N_TEXT:
			buf_add(out, nd->text, nd->len);
			break;
		case N_VAR:
			val = lookup(rs, nd);
			if (nd->nfilt == 0) {
				to_text(val, out);
				break;
			}
			buf_reset(&a);
			to_text(val, &a);
			for (f = 0; f < nd->nfilt; f++) {
				apply_filter(nd->filt[f], &a, &b);
				tmp = a;
				a = b;
				b = tmp;
			}
			buf_add(out, a.data, a.len);
			break;
		case N_INVERTED:
			if (!truthy(rs, lookup(rs, nd)))
				render_nodes(rs, nd->kids, nd->nkids, out);
			break;
		case N_TEST:
			if (truthy(rs, lookup(rs, nd)))
				render_nodes(rs, nd->kids, nd->nkids, out);
			break;
		case N_PARTIAL:
			render_nodes(rs, nd->partial->nodes,
			    nd->partial->nnodes, out);
			break;
		case N_SECTION:
			val = lookup(rs, nd);
			if (!truthy(rs, val))
				break;
			nf0 = rs->nf;
			if (val.kind == V_RECS) {
				count = list_count(rs, val);
				idx = 0;
				for (i = 0; i < rs->root->n; i++) {
					if (!rec_is(rs, i, val.which))
						continue;
					e.kind = V_JSON;
					e.j = rs->root->recs[i];
					e.t = 0;
					push(rs, e, 1, idx++, count);
					render_nodes(rs, nd->kids, nd->nkids,
					    out);
					rs->nf = nf0;
				}
			} else if (val.kind == V_JSON &&
			    json_type(val.j, val.t) == JSON_ARRAY) {
				count = list_count(rs, val);
				idx = 0;
				JSON_FOREACH_ELEM(val.j, val.t, el) {
					e.kind = V_JSON;
					e.j = val.j;
					e.t = el;
					push(rs, e, 1, idx++, count);
					render_nodes(rs, nd->kids, nd->nkids,
					    out);
					rs->nf = nf0;
				}
			} else {
				push(rs, val, 0, 0, 0);
				render_nodes(rs, nd->kids, nd->nkids, out);
				rs->nf = nf0;
			}
			break;
		}
	}
}

void
tmpl_render(const struct tmpl *t, const struct tmpl_root *root,
    struct buf *out)
{
	struct rstate	 rs;
	struct val	 v = { .t = -1, .kind = V_NONE };

	memset(&rs, 0, sizeof(rs));
	rs.root = root;
	if (root->j == NULL)
		rec_kinds(&rs);
	if (root->j != NULL) {
		v.kind = V_JSON;
		v.j = root->j;
		v.t = root->t;
	} else
		v.kind = V_SCHEMA;
	push(&rs, v, 0, 0, 0);
	render_nodes(&rs, t->nodes, t->nnodes, out);
	buf_add(out, "", 0);
	free(rs.kind);
}

/*
 * Streaming: a section over a list of the records at the top of a
 * template ({{#tables}} and the like) is rendered a record at a time,
 * as they come, one behind (the last of the list is known only when
 * the next comes, or at the end: @last), unless it names a list of the
 * records itself.  When nothing else does, no record need be kept.
 */
struct tmpl_stream *
tmpl_stream_new(const struct tmpl *t)
{
	struct tmpl_stream *st = xcalloc(1, sizeof(*st));
	struct val	 root = { .t = -1, .kind = V_SCHEMA }, v;
	int		 k;

	st->t = t;
	st->whole = 1;
	for (k = 0; k < t->nnodes; k++) {
		const struct node *nd = &t->nodes[k];

		if (nd->type != N_SECTION || nd->npath != 1 ||
		    !is_list(nd->path[0]) || names_lists(nd->kids, nd->nkids)) {
			if (names_lists(nd, 1))
				st->whole = 0;
			continue;
		}
		v = member(NULL, root, nd->path[0], (size_t)-1, 0);
		st->s = xreallocarray(st->s, (size_t)st->n + 1,
		    sizeof(*st->s));
		memset(&st->s[st->n], 0, sizeof(st->s[st->n]));
		st->s[st->n].node = k;
		st->s[st->n].which = v.which;
		st->n++;
	}
	return st;
}

int
tmpl_stream_whole(const struct tmpl_stream *st)
{
	return st->whole;
}

int
tmpl_uses_records(const struct tmpl *t)
{
	return names_lists(t->nodes, t->nnodes);
}

/* the frames of a record in a section over a list, at idx of count:
 * the root (no records: see tmpl_stream_new), then the record (1) */
static void
stream_frames(struct rstate *rs, const struct json *j, long idx, long count)
{
	static const struct tmpl_root none;
	struct val	 root = { .t = -1, .kind = V_SCHEMA };
	struct val	 rec = { .t = 0, .kind = V_JSON };

	memset(rs, 0, sizeof(*rs));
	rs->root = &none;
	rec.j = j;
	push(rs, root, 0, 0, 0);
	push(rs, rec, 1, idx, count);
}

/* the record a section holds, the last of its list or not */
static void
stream_one(struct tmpl_stream *st, struct sstream *s, int last)
{
	struct rstate	 rs;
	const struct node *nd = &st->t->nodes[s->node];

	/* only @last looks at the count */
	stream_frames(&rs, s->held, s->idx, s->idx + (last ? 1 : 2));
	render_nodes(&rs, nd->kids, nd->nkids, &s->out);
	s->idx++;
	s->held = NULL;
}

/* the kind of a record, as kinds[] has it, or NULL */
static const char *
rec_kind(const struct json *j)
{
	size_t	 k;
	int	 t = json_get_n(j, 0, "kind", 4);

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (json_eq(j, t, kinds[k]))
			return kinds[k];
	return NULL;
}

/*
 * A record's pieces, rendered now rather than one behind, for a cache
 * (render --all): for each of st's sections, a 4-byte length (in the
 * machine's order) and the piece, or PIECE_NONE if the record is not of
 * that section's list.  Only a piece that does not depend on where the
 * record is in its list can be made before the next record comes, or
 * kept for another run: if one looks at @index, @first or @last of the
 * record's own frame (nested lists' are the record's own business), or
 * one is 4 GiB or more, b is left as it was and -1 returned.
 */
#define PIECE_NONE	UINT32_MAX

int
tmpl_stream_pieces(const struct tmpl_stream *st, const struct json *j,
    struct buf *b)
{
	struct rstate	 rs;
	const char	*kind = rec_kind(j);
	size_t		 len0 = b->len, at;
	uint32_t	 n;
	int		 i;

	for (i = 0; i < st->n; i++) {
		const struct sstream *s = &st->s[i];
		const struct node *nd = &st->t->nodes[s->node];

		at = b->len;
		n = PIECE_NONE;
		buf_add(b, &n, sizeof(n));
		if (s->which != NULL && s->which != kind)
			continue;
		stream_frames(&rs, j, s->idx, s->idx + 2);
		rs.posframe = 1;
		render_nodes(&rs, nd->kids, nd->nkids, b);
		if (rs.posused || b->len - at - sizeof(n) >= PIECE_NONE) {
			b->len = len0;
			return -1;
		}
		n = (uint32_t)(b->len - at - sizeof(n));
		memcpy(b->data + at, &n, sizeof(n));
	}
	return 0;
}

/*
 * Pieces that tmpl_stream_pieces made go in, each after what its
 * section has so far (a record held there is rendered first): the
 * bytes of p they took, or -1 when p does not hold st's pieces (then
 * nothing changed).  With apply 0, only that check.
 */
long
tmpl_stream_put(struct tmpl_stream *st, const char *p, size_t len,
    int apply)
{
	size_t	 off = 0;
	uint32_t n;
	int	 i;

	for (i = 0; i < st->n; i++) {
		if (len - off < sizeof(n))
			return -1;
		memcpy(&n, p + off, sizeof(n));
		off += sizeof(n);
		if (n == PIECE_NONE)
			continue;
		if (n > len - off)
			return -1;
		if (apply) {
			struct sstream *s = &st->s[i];

			if (s->held != NULL)
				stream_one(st, s, 0);
			buf_add(&s->out, p + off, n);
			s->idx++;
			spill_out(st, s);
		}
		off += n;
	}
	return (long)off;
}

void
tmpl_stream_rec(struct tmpl_stream *st, const struct json *j)
{
	const char	*kind = rec_kind(j);
	int		 i;

	for (i = 0; i < st->n; i++) {
		struct sstream *s = &st->s[i];

		if (s->which != NULL && s->which != kind)
			continue;
		if (s->held != NULL) {
			stream_one(st, s, 0);
			spill_out(st, s);
		}
		s->held = j;
	}
}

void
tmpl_stream_spill(struct tmpl_stream *st, struct spill *sp)
{
	st->spill = sp;
}

int
tmpl_stream_holds(const struct tmpl_stream *st, const struct json *j)
{
	int	 i;

	for (i = 0; i < st->n; i++)
		if (st->s[i].held == j)
			return 1;
	return 0;
}

void
tmpl_stream_write(struct tmpl_stream *st, const struct tmpl_root *root,
    void (*put)(void *, const char *, size_t), void *arg)
{
	struct rstate	 rs;
	struct val	 v = { .t = -1, .kind = V_SCHEMA };
	struct buf	 b = { 0 };
	int		 i, k;

	for (i = 0; i < st->n; i++)
		if (st->s[i].held != NULL)
			stream_one(st, &st->s[i], 1);
	memset(&rs, 0, sizeof(rs));
	rs.root = root;
	rec_kinds(&rs);
	push(&rs, v, 0, 0, 0);
	for (k = 0, i = 0; k < st->t->nnodes; k++)
		if (i < st->n && st->s[i].node == k) {
			struct sstream *s = &st->s[i++];
			size_t	 c;

			for (c = 0; c < s->nsp; c++)
				put(arg, spill_get(st->spill, s->sp[c].off,
				    s->sp[c].len, NULL, NULL), s->sp[c].len);
			put(arg, s->out.data, s->out.len);
			buf_free(&s->out);
		} else {
			buf_reset(&b);
			render_nodes(&rs, &st->t->nodes[k], 1, &b);
			put(arg, b.data, b.len);
		}
	buf_free(&b);
	free(rs.kind);
}

void
tmpl_stream_free(struct tmpl_stream *st)
{
	int	 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->n; i++) {
		buf_free(&st->s[i].out);
		free(st->s[i].sp);
	}
	free(st->s);
	free(st);
}
