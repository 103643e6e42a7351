/*
 * inflect.c: a port of ActiveSupport's English inflections
 * (active_support/inflections.rb and inflector/methods.rb).
 *
 * Rules are Ruby regexes applied with sub!: the newest rule first, the
 * first one that matches wins, its leftmost match replaced.  They are
 * run by a small backtracking matcher with Ruby's semantics (ordered
 * alternation, greedy ?, captures of the first successful path), not by
 * POSIX regexec, whose leftmost-longest captures differ and which is
 * an order of magnitude slower here.  Uncountables match as Ruby's
 * /\bword\Z/i.  Exports: see inflect.h.
 */
#include <ctype.h>
#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "xalloc.h"
#include "inflect.h"
#include "banned.h"

#define NCAP	10
#define NGROUP	64
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

enum ntype { N_CHAR, N_CLASS, N_BOL, N_EOL, N_GROUP, N_END, N_MATCH };

struct node {
	enum ntype	 type;
	int		 c;		/* N_CHAR, lower case */
	unsigned char	 set[32];	/* N_CLASS: bitmap, case folded */
	struct node	*next;
	struct node	**alt;		/* N_GROUP: alternatives */
	int		 nalt;
	int		 cap;		/* N_GROUP: capture number or -1 */
	int		 gid;		/* N_GROUP: group number */
	int		 min, max;	/* N_GROUP: repeat (max -1: many) */
	struct node	*group;		/* N_END: its group */
};

struct rule {
	struct node	*re;
	char		*rep;
	int		 bol;		/* matches only at the start */
	int		 filter;	/* first holds every first byte */
	unsigned char	 first[32];	/* bytes a match can start with */
	int		 eol;		/* every match ends at the $ */
	int		 lastany;	/* may end with any byte: lastset
					   rules nothing out */
	unsigned char	 lastset[32];	/* bytes a match can end with */
	int		 maxlen;	/* its longest match, -1: unbounded */
};

struct rules {
	struct rule	*v;		/* oldest first, applied newest first */
	size_t		 n, cap;
};

static struct rules	 plurals, singulars;
static char		**uncountables;
static size_t		 nuncountable;
static int		 loaded;

/* --- compiler -------------------------------------------------------- */

struct rx {
	const char	*p;
	int		 ncap;
	int		 ngroup;
	int		 bad;
};

/* every node ever made, so that a bad pattern's nodes, kept for the
 * life of the process, stay reachable (and no leak checker objects) */
static struct node	**arena;
static size_t		 narena;

static struct node *
node_new(enum ntype t)
{
	struct node	*n = xcalloc(1, sizeof(*n));

	if ((narena & (narena - 1)) == 0)
		arena = xreallocarray(arena, narena ? narena * 2 : 64,
		    sizeof(*arena));
	arena[narena++] = n;
	n->type = t;
	n->cap = -1;
	return n;
}

static struct node	*parse_alt(struct rx *, struct node *);

static struct node *
group_new(struct rx *r)
{
	struct node	*g = node_new(N_GROUP);

	if ((g->gid = r->ngroup++) >= NGROUP) {
		g->gid = 0;
		r->bad = 1;
	}
	return g;
}

static void
set_add(unsigned char *set, int c)
{
	c = tolower((unsigned char)c);
	set[c >> 3] |= (unsigned char)(1 << (c & 7));
}

/* a sequence up to | or ), each atom linked to the next, the last to k */
static struct node *
parse_seq(struct rx *r, struct node *k)
{
	struct node	*head = NULL, **tail = &head, *n, *end;
	int		 neg, i, lo;

	while (*r->p != '\0' && *r->p != '|' && *r->p != ')' && !r->bad) {
		switch (*r->p) {
		case '^':
			n = node_new(N_BOL);
			r->p++;
			break;
		case '$':
			n = node_new(N_EOL);
			r->p++;
			break;
		case '[':
			n = node_new(N_CLASS);
			r->p++;
			if ((neg = *r->p == '^'))
				r->p++;
			for (lo = -1; *r->p != ']'; r->p++) {
				if (*r->p == '\0') {
					r->bad = 1;
					return head;
				}
				if (*r->p == '-' && lo >= 0 && r->p[1] != ']') {
					for (i = lo; i <= (unsigned char)r->p[1];
					    i++)
						set_add(n->set, i);
					r->p++;
					lo = -1;
					continue;
				}
				if (*r->p == '\\' && r->p[1] != '\0')
					r->p++;
				lo = (unsigned char)*r->p;
				set_add(n->set, lo);
			}
			r->p++;
			if (neg)
				for (i = 0; i < 32; i++)
					n->set[i] = (unsigned char)~n->set[i];
			break;
		case '(':
			n = group_new(r);
			r->p++;
			if (r->p[0] == '?' && r->p[1] == ':')
				r->p += 2;
			else if (r->ncap < NCAP - 1)
				n->cap = ++r->ncap;
			else
				r->bad = 1;
			n->min = n->max = 1;
			end = node_new(N_END);
			end->group = n;
			for (;;) {
				n->alt = xreallocarray(n->alt, n->nalt + 1,
				    sizeof(*n->alt));
				n->alt[n->nalt++] = parse_seq(r, end);
				if (*r->p != '|')
					break;
				r->p++;
			}
			if (*r->p != ')')
				r->bad = 1;
			else
				r->p++;
			break;
		case '?': case '*': case '+': case ')': case '{':
			r->bad = 1;
			return head;
		case '\\':
			if (r->p[1] == '\0') {
				r->bad = 1;
				return head;
			}
			r->p++;
			/* FALLTHROUGH */
		default:
			n = node_new(N_CHAR);
			n->c = tolower((unsigned char)*r->p++);
			break;
		}
		if (*r->p == '?' || *r->p == '*' || *r->p == '+') {
			/* wrap a single atom in a group to repeat it */
			if (n->type != N_GROUP) {
				struct node *g = group_new(r);

				end = node_new(N_END);
				end->group = g;
				n->next = end;
				g->alt = xcalloc(1, sizeof(*g->alt));
				g->alt[0] = n;
				g->nalt = 1;
				n = g;
			}
			n->min = *r->p == '+' ? 1 : 0;
			n->max = *r->p == '?' ? 1 : -1;
			r->p++;
		}
		*tail = n;
		tail = &n->next;
	}
	*tail = k;
	return head != NULL ? head : k;
}

static struct node *
parse_alt(struct rx *r, struct node *k)
{
	struct node	*g, *end;

	/* the top level is a group too, so | works there */
	g = group_new(r);
	g->min = g->max = 1;
	end = node_new(N_END);
	end->group = g;
	for (;;) {
		g->alt = xreallocarray(g->alt, g->nalt + 1, sizeof(*g->alt));
		g->alt[g->nalt++] = parse_seq(r, end);
		if (*r->p != '|')
			break;
		r->p++;
	}
	g->next = k;
	if (*r->p != '\0')
		r->bad = 1;
	return g;
}

static struct node *
rx_compile(const char *re)
{
	struct rx	 r = { re, 0, 0, 0 };
	struct node	*n;

	n = parse_alt(&r, node_new(N_MATCH));
	/* nodes are kept for the life of the process, even a bad one's */
	return r.bad ? NULL : n;
}

/* --- matcher --------------------------------------------------------- */

struct m {
	const char	*s;
	size_t		 len;
	int		 so[NCAP], eo[NCAP];
	int		 cnt[NGROUP];	/* iterations of a group so far */
	int		 start[NGROUP];	/* where its current iteration began */
	int		 end;
};

static int	match(struct m *, const struct node *, int);

/* another iteration of a group if it may repeat (greedy), else leave */
static int
enter(struct m *m, const struct node *g, int i)
{
	int	 k, old_so = -1, old_start;

	if (g->max == -1 || m->cnt[g->gid] < g->max) {
		old_start = m->start[g->gid];
		if (g->cap >= 0)
			old_so = m->so[g->cap];
		for (k = 0; k < g->nalt; k++) {
			m->start[g->gid] = i;
			if (g->cap >= 0)
				m->so[g->cap] = i;
			if (match(m, g->alt[k], i))
				return 1;
		}
		m->start[g->gid] = old_start;
		if (g->cap >= 0)
			m->so[g->cap] = old_so;
	}
	if (m->cnt[g->gid] >= g->min)
		return match(m, g->next, i);
	return 0;
}

static int
match(struct m *m, const struct node *n, int i)
{
	const struct node *g;
	int		 c, old_cnt, old_eo = -1;

	for (;;) {
		switch (n->type) {
		case N_CHAR:
			if ((size_t)i >= m->len || tolower((unsigned char)
			    m->s[i]) != n->c)
				return 0;
			i++;
			n = n->next;
			continue;
		case N_CLASS:
			if ((size_t)i >= m->len)
				return 0;
			c = tolower((unsigned char)m->s[i]);
			if (!(n->set[c >> 3] & (1 << (c & 7))))
				return 0;
			i++;
			n = n->next;
			continue;
		case N_BOL:
			if (i != 0 && m->s[i - 1] != '\n')
				return 0;
			n = n->next;
			continue;
		case N_EOL:
			if ((size_t)i != m->len && m->s[i] != '\n')
				return 0;
			n = n->next;
			continue;
		case N_MATCH:
			m->end = i;
			return 1;
		case N_GROUP:
			old_cnt = m->cnt[n->gid];
			m->cnt[n->gid] = 0;
			if (enter(m, n, i))
				return 1;
			m->cnt[n->gid] = old_cnt;
			return 0;
		case N_END:
			g = n->group;
			if (g->cap >= 0) {
				old_eo = m->eo[g->cap];
				m->eo[g->cap] = i;
			}
			m->cnt[g->gid]++;
			/* an empty iteration ends the repetition */
			if (i == m->start[g->gid] ? m->cnt[g->gid] >= g->min &&
			    match(m, g->next, i) : enter(m, g, i))
				return 1;
			m->cnt[g->gid]--;
			if (g->cap >= 0)
				m->eo[g->cap] = old_eo;
			return 0;
		}
	}
}

/* Ruby's sub!: replace the leftmost match; 1 when it matched */
static int
rx_sub(const struct rule *r, const char *w, size_t len, struct buf *out)
{
	struct m	 m;
	const char	*q;
	size_t		 start;
	int		 g;

	memset(&m, 0, sizeof(m));
	m.s = w;
	m.len = len;
	start = 0;
	/* a match that ends at the end (no newline in w: apply) starts
	 * no sooner than its longest length from there */
	if (r->eol && r->maxlen >= 0 && len > (size_t)r->maxlen &&
	    memchr(w, '\n', len) == NULL)
		start = len - (size_t)r->maxlen;
	for (; start <= len; start++) {
		if (r->bol && start > 0 && w[start - 1] != '\n')
			continue;
		if (r->filter) {
			int c;

			if (start == len)
				break;
			c = tolower((unsigned char)w[start]);
			if (!(r->first[c >> 3] & (1 << (c & 7))))
				continue;
		}
		for (g = 0; g < NCAP; g++)
			m.so[g] = m.eo[g] = -1;
		if (!match(&m, r->re, (int)start))
			continue;
		buf_add(out, w, start);
		for (q = r->rep; *q != '\0'; q++) {
			if (q[0] == '\\' && q[1] >= '0' && q[1] <= '9') {
				g = *++q - '0';
				if (g == 0)
					buf_add(out, w + start,
					    (size_t)m.end - start);
				else if (m.so[g] >= 0 && m.eo[g] >= m.so[g])
					buf_add(out, w + m.so[g],
					    (size_t)(m.eo[g] - m.so[g]));
			} else
				buf_addc(out, *q);
		}
		buf_add(out, w + m.end, len - (size_t)m.end);
		return 1;
	}
	return 0;
}

/* --- rule tables ----------------------------------------------------- */

static void	forget(void);

static void
uncountable_del(const char *w)
{
	size_t	 i;

	forget();
	for (i = 0; i < nuncountable; i++)
		if (strcasecmp(uncountables[i], w) == 0) {
			free(uncountables[i]);
			memmove(&uncountables[i], &uncountables[i + 1],
			    (nuncountable - i - 1) * sizeof(*uncountables));
			nuncountable--;
			return;
		}
}

/*
 * The bytes (lower case) a match from n can begin with, added to set;
 * 1 when a match may be empty there, so that any position can start
 * one.  Zero-width anchors look through to what follows them.
 */
static int
first_bytes(const struct node *n, unsigned char *set)
{
	int	 i, empty = 0;

	switch (n->type) {
	case N_CHAR:
		set_add(set, n->c);
		return 0;
	case N_CLASS:
		for (i = 0; i < 32; i++)
			set[i] |= n->set[i];
		return 0;
	case N_BOL:
		return first_bytes(n->next, set);
	case N_END:
		return first_bytes(n->group->next, set);
	case N_GROUP:
		for (i = 0; i < n->nalt; i++)
			empty |= first_bytes(n->alt[i], set);
		if (n->min == 0 || empty)
			empty = first_bytes(n->next, set);
		return empty;
	default:		/* N_EOL, N_MATCH */
		return 1;
	}
}

/*
 * The bytes (lower case) a match of the sequence from n can end with,
 * added to set; 1 when it may consume nothing (then the byte before it
 * ends the match).  For a rule that ends with $, a word's last byte
 * then rules most rules out at once.
 */
static int
last_bytes(const struct node *n, unsigned char *set)
{
	unsigned char	 g[32], r[32];
	int		 i, k, gempty, rempty;

	switch (n->type) {
	case N_CHAR:
	case N_CLASS:
		memset(r, 0, sizeof(r));
		if (last_bytes(n->next, r)) {
			if (n->type == N_CHAR)
				set_add(set, n->c);
			else
				for (i = 0; i < 32; i++)
					set[i] |= n->set[i];
		}
		for (i = 0; i < 32; i++)
			set[i] |= r[i];
		return 0;
	case N_BOL:
	case N_EOL:
		return last_bytes(n->next, set);
	case N_GROUP:
		memset(g, 0, sizeof(g));
		gempty = n->min == 0;
		for (k = 0; k < n->nalt; k++)
			gempty |= last_bytes(n->alt[k], g);
		memset(r, 0, sizeof(r));
		rempty = last_bytes(n->next, r);
		for (i = 0; i < 32; i++)
			set[i] |= r[i] | (rempty ? g[i] : 0);
		return rempty && gempty;
	default:		/* N_MATCH, N_END */
		return 1;
	}
}

/*
 * The longest match of the sequence from n to its end (the N_MATCH, or
 * the N_END of the group it is an alternative of); -1 when unbounded.
 */
static int
max_len(const struct node *n)
{
	int	 total = 0, best, m, k;

	for (;;)
		switch (n->type) {
		case N_CHAR:
		case N_CLASS:
			total++;
			n = n->next;
			break;
		case N_BOL:
		case N_EOL:
			n = n->next;
			break;
		case N_GROUP:
			if (n->max == -1)
				return -1;
			for (k = 0, best = 0; k < n->nalt; k++) {
				if ((m = max_len(n->alt[k])) == -1)
					return -1;
				if (m > best)
					best = m;
			}
			total += best * n->max;
			n = n->next;
			break;
		default:	/* N_MATCH, N_END */
			return total;
		}
}

/* whether every match of the compiled rule g (its top group) ends at
 * a $: one alternative, whose last atom is the $ */
static int
ends_at_eol(const struct node *g)
{
	const struct node *n, *last = NULL;

	if (g->type != N_GROUP || g->nalt != 1)
		return 0;
	for (n = g->alt[0]; n->type != N_END; n = n->next)
		last = n;
	return last != NULL && last->type == N_EOL;
}

static int
rule_add(struct rules *rs, const char *re, const char *rep)
{
	struct node	*n;

	forget();
	if ((n = rx_compile(re)) == NULL)
		return -1;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = xreallocarray(rs->v, rs->cap, sizeof(*rs->v));
	}
	memset(&rs->v[rs->n], 0, sizeof(rs->v[rs->n]));
	rs->v[rs->n].re = n;
	rs->v[rs->n].rep = xstrdup(rep);
	rs->v[rs->n].bol = n->type == N_BOL;
	rs->v[rs->n].filter = first_bytes(n, rs->v[rs->n].first) == 0;
	rs->v[rs->n].eol = ends_at_eol(n);
	rs->v[rs->n].lastany = !rs->v[rs->n].eol ||
	    last_bytes(n, rs->v[rs->n].lastset);
	rs->v[rs->n].maxlen = max_len(n);
	rs->n++;
	return 0;
}

static void	load(void);

int
inflect_add_plural(const char *re, const char *rep)
{
	load();
	uncountable_del(rep);
	return rule_add(&plurals, re, rep);
}

int
inflect_add_singular(const char *re, const char *rep)
{
	load();
	uncountable_del(rep);
	return rule_add(&singulars, re, rep);
}

void
inflect_add_uncountable(const char *w)
{
	load();
	forget();
	uncountables = xreallocarray(uncountables, nuncountable + 1,
	    sizeof(*uncountables));
	uncountables[nuncountable++] = xstrdup(w);
}

/* ActiveSupport's irregular() for words whose first letters agree in
   case; else the first letters are given in both cases */
static void
irregular(const char *s, const char *p)
{
	struct buf	 re = { 0 }, rep = { 0 };

	uncountable_del(s);
	uncountable_del(p);
	if (toupper((unsigned char)s[0]) == toupper((unsigned char)p[0])) {
		buf_printf(&re, "(%c)%s$", s[0], s + 1);
		buf_printf(&rep, "\\1%s", p + 1);
		(void)rule_add(&plurals, re.data, rep.data);
		buf_reset(&re);
		buf_printf(&re, "(%c)%s$", p[0], p + 1);
		(void)rule_add(&plurals, re.data, rep.data);
		buf_reset(&re);
		buf_reset(&rep);
		buf_printf(&re, "(%c)%s$", s[0], s + 1);
		buf_printf(&rep, "\\1%s", s + 1);
		(void)rule_add(&singulars, re.data, rep.data);
		buf_reset(&re);
		buf_printf(&re, "(%c)%s$", p[0], p + 1);
		(void)rule_add(&singulars, re.data, rep.data);
	} else {
		/* Ruby: /#{s0.upcase}(?i)#{srest}$/ etc.; our rules are
		   case-insensitive throughout, so the case is given here */
		buf_printf(&re, "%c%s$", s[0], s + 1);
		buf_printf(&rep, "%c%s", p[0], p + 1);
		(void)rule_add(&plurals, re.data, rep.data);
		buf_reset(&re);
		buf_printf(&re, "%c%s$", p[0], p + 1);
		(void)rule_add(&plurals, re.data, rep.data);
		buf_reset(&re);
		buf_reset(&rep);
		buf_printf(&re, "%c%s$", s[0], s + 1);
		buf_printf(&rep, "%c%s", s[0], s + 1);
		(void)rule_add(&singulars, re.data, rep.data);
		buf_reset(&re);
		buf_printf(&re, "%c%s$", p[0], p + 1);
		(void)rule_add(&singulars, re.data, rep.data);
	}
	buf_free(&re);
	buf_free(&rep);
}

void
inflect_add_irregular(const char *s, const char *p)
{
	load();
	irregular(s, p);
}

/* active_support/inflections.rb, in its order */
static const char *const plural_rules[][2] = {
	{ "$", "s" },
	{ "s$", "s" },
	{ "^(ax|test)is$", "\\1es" },
	{ "(octop|vir)us$", "\\1i" },
	{ "(octop|vir)i$", "\\1i" },
	{ "(alias|status)$", "\\1es" },
	{ "(bu)s$", "\\1ses" },
	{ "(buffal|tomat)o$", "\\1oes" },
	{ "([ti])um$", "\\1a" },
	{ "([ti])a$", "\\1a" },
	{ "sis$", "ses" },
	{ "(?:([^f])fe|([lr])f)$", "\\1\\2ves" },
	{ "(hive)$", "\\1s" },
	{ "([^aeiouy]|qu)y$", "\\1ies" },
	{ "(x|ch|ss|sh)$", "\\1es" },
	{ "(matr|vert|ind)(?:ix|ex)$", "\\1ices" },
	{ "^(m|l)ouse$", "\\1ice" },
	{ "^(m|l)ice$", "\\1ice" },
	{ "^(ox)$", "\\1en" },
	{ "^(oxen)$", "\\1" },
	{ "(quiz)$", "\\1zes" },
};

static const char *const singular_rules[][2] = {
	{ "s$", "" },
	{ "(ss)$", "\\1" },
	{ "(n)ews$", "\\1ews" },
	{ "([ti])a$", "\\1um" },
	{ "((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)"
	    "(sis|ses)$", "\\1sis" },
	{ "(^analy)(sis|ses)$", "\\1sis" },
	{ "([^f])ves$", "\\1fe" },
	{ "(hive)s$", "\\1" },
	{ "(tive)s$", "\\1" },
	{ "([lr])ves$", "\\1f" },
	{ "([^aeiouy]|qu)ies$", "\\1y" },
	{ "(s)eries$", "\\1eries" },
	{ "(m)ovies$", "\\1ovie" },
	{ "(x|ch|ss|sh)es$", "\\1" },
	{ "^(m|l)ice$", "\\1ouse" },
	{ "(bus)(es)?$", "\\1" },
	{ "(o)es$", "\\1" },
	{ "(shoe)s$", "\\1" },
	{ "(cris|test)(is|es)$", "\\1is" },
	{ "^(a)x[ie]s$", "\\1xis" },
	{ "(octop|vir)(us|i)$", "\\1us" },
	{ "(alias|status)(es)?$", "\\1" },
	{ "^(ox)en", "\\1" },
	{ "(vert|ind)ices$", "\\1ex" },
	{ "(matr)ices$", "\\1ix" },
	{ "(quiz)zes$", "\\1" },
	{ "(database)s$", "\\1" },
};

static const char *const irregulars[][2] = {
	{ "person", "people" },
	{ "man", "men" },
	{ "child", "children" },
	{ "sex", "sexes" },
	{ "move", "moves" },
	{ "zombie", "zombies" },
};

static const char *const uncountable_words[] = {
	"equipment", "information", "rice", "money", "species", "series",
	"fish", "sheep", "jeans", "police",
};

static void
load(void)
{
	size_t	 i;

	if (loaded)
		return;
	loaded = 1;
	for (i = 0; i < NELEM(plural_rules); i++)
		if (rule_add(&plurals, plural_rules[i][0],
		    plural_rules[i][1]) == -1)
			errx(EX_SOFTWARE, "inflection rule '%s' does not "
			    "compile", plural_rules[i][0]);
	for (i = 0; i < NELEM(singular_rules); i++)
		if (rule_add(&singulars, singular_rules[i][0],
		    singular_rules[i][1]) == -1)
			errx(EX_SOFTWARE, "inflection rule '%s' does not "
			    "compile", singular_rules[i][0]);
	for (i = 0; i < NELEM(irregulars); i++)
		irregular(irregulars[i][0], irregulars[i][1]);
	for (i = 0; i < NELEM(uncountable_words); i++) {
		uncountables = xreallocarray(uncountables, nuncountable + 1,
		    sizeof(*uncountables));
		uncountables[nuncountable++] = xstrdup(uncountable_words[i]);
	}
}

static int
wordch(int c)
{
	return isalnum((unsigned char)c) || c == '_' || (c & 0x80);
}

/* Ruby's /\bword\Z/i */
static int
uncountable(const char *w, size_t len)
{
	const char	*p;
	size_t		 i, n;

	for (i = 0; i < nuncountable; i++) {
		n = strlen(uncountables[i]);
		if (n > len)
			continue;
		p = w + len - n;
		if (strncasecmp(p, uncountables[i], n) != 0)
			continue;
		if (n == 0 || p == w || !wordch(p[-1]) || !wordch(p[0]))
			return 1;
	}
	return 0;
}

static void
apply(struct buf *out, const struct rules *rs, const char *w)
{
	size_t	 i, len = strlen(w);
	int	 last;

	if (len == 0 || uncountable(w, len)) {
		buf_add(out, w, len);
		return;
	}
	last = tolower((unsigned char)w[len - 1]);
	/* $ also matches before a newline: then no rule is ruled out */
	if (memchr(w, '\n', len) != NULL)
		last = -1;
	for (i = rs->n; i-- > 0; )
		if ((last == -1 || rs->v[i].lastany ||
		    (rs->v[i].lastset[last >> 3] & (1 << (last & 7)))) &&
		    rx_sub(&rs->v[i], w, len, out))
			return;
	buf_add(out, w, len);
}

/*
 * Results are remembered: stages ask for the same few hundred words
 * thousands of times, and the rules are tried newest first.  A change
 * of the rules forgets everything.
 */
struct memo {
	char		**key;
	char		**val;
	size_t		 cap;		/* a power of two, or 0 */
	size_t		 n;
};

static struct memo	 memo_singular, memo_plural;

/* the low bits index the table: mixed, since words that differ only in
   their last characters (table_1, table_2, ...) cluster otherwise, and
   a lookup went through fifteen slots on 1,000 such names */
static size_t
memo_hash(const char *w)
{
	uint64_t h = 5381;

	while (*w != '\0')
		h = h * 33 + (unsigned char)*w++;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h;
}

static void
memo_clear(struct memo *m)
{
	size_t	 i;

	for (i = 0; i < m->cap; i++) {
		free(m->key[i]);
		free(m->val[i]);
	}
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

static const char *
memo_get(const struct memo *m, const char *w)
{
	size_t	 i;

	if (m->cap == 0)
		return NULL;
	for (i = memo_hash(w) & (m->cap - 1); m->key[i] != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (strcmp(m->key[i], w) == 0)
			return m->val[i];
	return NULL;
}

static void
memo_put(struct memo *m, const char *w, const char *v, size_t vlen)
{
	size_t	 i;

	if (m->n * 2 >= m->cap) {
		struct memo old = *m;

		m->cap = old.cap ? old.cap * 2 : 256;
		m->key = xcalloc(m->cap, sizeof(char *));
		m->val = xcalloc(m->cap, sizeof(char *));
		m->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.key[i] != NULL) {
				size_t	 k = memo_hash(old.key[i]) &
				    (m->cap - 1);

				while (m->key[k] != NULL)
					k = (k + 1) & (m->cap - 1);
				m->key[k] = old.key[i];
				m->val[k] = old.val[i];
				m->n++;
			}
		free(old.key);
		free(old.val);
	}
	for (i = memo_hash(w) & (m->cap - 1); m->key[i] != NULL;
	    i = (i + 1) & (m->cap - 1))
		;
	m->key[i] = xstrdup(w);
	m->val[i] = xstrndup(v, vlen);
	m->n++;
}

static void
remembered(struct buf *out, struct memo *m, const struct rules *rs,
    const char *w)
{
	const char *v;
	size_t	 start = out->len;

	load();
	if ((v = memo_get(m, w)) != NULL) {
		buf_adds(out, v);
		return;
	}
	apply(out, rs, w);
	memo_put(m, w, out->data + start, out->len - start);
}

void
inflect_singular(struct buf *out, const char *w)
{
	remembered(out, &memo_singular, &singulars, w);
}

void
inflect_plural(struct buf *out, const char *w)
{
	remembered(out, &memo_plural, &plurals, w);
}

static void
forget(void)
{
	memo_clear(&memo_singular);
	memo_clear(&memo_plural);
}

/* --- names ----------------------------------------------------------- */

static int
sepch(int c)
{
	return !(isalnum((unsigned char)c) || (c & 0x80));
}

/*
 * Rails' camelize: the leading [a-z\d] run capitalized (or, for
 * lower, the first character lowered), then each word after a "_" or
 * "/" capitalized with the rest of its letters and digits lowered.
 * Here any run of characters other than letters and digits separates
 * words (Rails keeps spaces), and separators are dropped.
 */
void
inflect_camelize(struct buf *out, const char *w, int lower)
{
	const unsigned char *p = (const unsigned char *)w;

	buf_add(out, "", 0);
	if (*p != '\0' && !sepch(*p)) {
		if (lower)
			buf_addc(out, tolower(*p));
		else
			buf_addc(out, islower(*p) ? toupper(*p) : *p);
		for (p++; *p != '\0' && !sepch(*p); p++)
			buf_addc(out, *p);
	}
	while (*p != '\0') {
		while (*p != '\0' && sepch(*p))
			p++;
		if (*p == '\0')
			break;
		buf_addc(out, out->len == 0 && lower ? tolower(*p) :
		    toupper(*p));
		for (p++; *p != '\0' && !sepch(*p); p++)
			buf_addc(out, tolower(*p));
	}
}

/*
 * Rails: gsub(/(?<=[A-Z])(?=[A-Z][a-z])|(?<=[a-z\d])(?=[A-Z])/, "_"),
 * tr("-", "_"), downcase; runs of other characters become one _.
 */
void
inflect_underscore(struct buf *out, const char *w)
{
	const unsigned char *p = (const unsigned char *)w;
	size_t		 start = out->len;
	int		 prev = 0;	/* previous character kept */

	for (; *p != '\0'; p++) {
		if (isupper(*p)) {
			if ((prev && (islower(prev) || isdigit(prev))) ||
			    (prev && isupper(prev) && islower(p[1])))
				buf_addc(out, '_');
			buf_addc(out, tolower(*p));
			prev = *p;
		} else if (isalnum(*p) || (*p & 0x80)) {
			buf_addc(out, *p);
			prev = *p;
		} else {
			if (out->len > start && out->data[out->len - 1] != '_')
				buf_addc(out, '_');
			prev = 0;
		}
	}
	if (out->data == NULL)
		buf_add(out, "", 0);
}

void
inflect_dasherize(struct buf *out, const char *w)
{
	size_t	 i, start = out->len;

	inflect_underscore(out, w);
	for (i = start; i < out->len; i++)
		if (out->data[i] == '_')
			out->data[i] = '-';
}

void
inflect_classify(struct buf *out, const char *w)
{
	struct buf	 s = { 0 };
	const char	*dot;

	/* Rails: table_name.to_s.sub(/.*\./, "") */
	if ((dot = strrchr(w, '.')) != NULL)
		w = dot + 1;
	inflect_singular(&s, w);
	inflect_camelize(out, s.data, 0);
	buf_free(&s);
}
