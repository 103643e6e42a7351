/*
 * t-relscan: the relations stage's one-pass record reader (scan.c)
 * against json.c, on generated schema records and on mutations of
 * them: whenever scan_record() takes a line, json_parse() takes it
 * too, with the same "v" and "kind", and for a table or a view the
 * facts read from json.c's tokens (the stage's own token path) are the
 * same.  A line scan_record() declines goes to json.c in the stage, so
 * there is nothing to compare.  The stage's main.c and scan.c are
 * included, not linked, to reach their static functions.
 *   t-relscan [ROUNDS]   prints one summary line; exit 1 on a mismatch
 */
#define main relations_main
int	relations_main(int, char *[]);
#include "../../src/stages/relations/main.c"
#undef main
#include "../../src/stages/relations/scan.c"

#define RND_SEED	0x2545f4914f6cdd1dULL
#include "rnd.h"

static int	 clean;		/* a record as typemap writes them */

static const char *
pick(const char *const *v, size_t n)
{
	return v[rnd((unsigned)n)];
}
#define PICK(v)	pick((v), sizeof(v) / sizeof((v)[0]))

static void
ws(struct buf *b)
{
	static const char *const sp[] = { "", "", "", "", " ", "\t", "\r",
	    " \n " };

	buf_adds(b, PICK(sp));
}

/* a JSON string: names the records share, some spelled with escapes */
static void
name(struct buf *b)
{
	static const char *const n[] = { "\"id\"", "\"users\"",
	    "\"user_id\"", "\"posts\"", "\"post_id\"", "\"tags\"",
	    "\"taggable_type\"", "\"taggable_id\"", "\"us\\u0065rs\"",
	    "\"a\\\"b\"", "\"\"", "\"Ünïcode\"", "\"x y\"", "\"ArtistId\"",
	    "\"created_at\"", "\"public\"" };

	/* the first eight have no escape */
	buf_adds(b, clean ? n[rnd(8)] : PICK(n));
}

static void	any(struct buf *, int);

/* a value of any type; names and lists of names most of the time */
static void
any(struct buf *b, int depth)
{
	static const char *const prim[] = { "0", "-1.5e3", "true", "false",
	    "null", "12", "\"s\\n\\u00e9\"", "[]", "{}" };
	int	 i, n;

	switch (depth > 3 ? 3 : rnd(6)) {
	case 0:
		buf_addc(b, '[');
		n = (int)rnd(4);
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			ws(b);
			if (rnd(4) == 0)
				any(b, depth + 1);
			else
				name(b);
		}
		buf_addc(b, ']');
		break;
	case 1:
		buf_addc(b, '{');
		n = (int)rnd(4);
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			buf_printf(b, "\"k%d\":", i);
			any(b, depth + 1);
		}
		buf_addc(b, '}');
		break;
	case 2:
		name(b);
		break;
	default:
		buf_adds(b, PICK(prim));
	}
}

/* an object of the given keys (shuffled) and maybe another one */
static void
object(struct buf *b, const char *const *keys, size_t nkeys, int depth,
    void (*val)(struct buf *, const char *, int))
{
	int	 order[16], i, j, t, n = (int)nkeys;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = (int)rnd((unsigned)i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	buf_addc(b, '{');
	ws(b);
	for (i = t = 0; i < n; i++) {
		if (rnd(clean ? 12 : 5) == 0)	/* left out */
			continue;
		if (t++ > 0) {
			buf_addc(b, ',');
			ws(b);
		}
		buf_printf(b, "\"%s\"", keys[order[i]]);
		ws(b);
		buf_addc(b, ':');
		ws(b);
		val(b, keys[order[i]], depth + 1);
		ws(b);
	}
	buf_addc(b, '}');
}

static void
list(struct buf *b, int depth)
{
	int	 i, n = (int)rnd(3);

	if (rnd(clean ? 30 : 8) == 0) {
		any(b, depth);
		return;
	}
	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		if (rnd(clean ? 60 : 12) == 0)
			any(b, depth + 1);
		else
			name(b);
	}
	buf_addc(b, ']');
}

static void
column_val(struct buf *b, const char *key, int depth)
{
	static const char *const zero[] = { "null", "\"string()\"", "1" };

	static const char *const kinds[] = { "\"integer\"", "\"string\"",
	    "\"number\"", "\"boolean\"", "\"uuid\"", "\"str\\u0069ng\"",
	    "\"json\"", "5", "null" };

	if (strcmp(key, "zero") == 0)
		buf_adds(b, PICK(zero));
	else if (strcmp(key, "type") == 0 || strcmp(key, "ts_base") == 0)
		buf_adds(b, PICK(kinds));
	else if (strcmp(key, "name") == 0 || strcmp(key, "ts_name") == 0) {
		if (rnd(clean ? 60 : 10) == 0)
			any(b, depth);
		else
			name(b);
	} else
		any(b, depth);
}

static void
index_val(struct buf *b, const char *key, int depth)
{
	static const char *const uniq[] = { "true", "false", "null" };
	static const char *const where[] = { "null", "\"x > 0\"", "1" };

	if (strcmp(key, "unique") == 0)
		buf_adds(b, PICK(uniq));
	else if (strcmp(key, "where") == 0)
		buf_adds(b, PICK(where));
	else if (strcmp(key, "columns") == 0)
		list(b, depth);
	else
		any(b, depth);
}

static void
fk_val(struct buf *b, const char *key, int depth)
{
	if (strcmp(key, "columns") == 0 || strcmp(key, "to_columns") == 0)
		list(b, depth);
	else if (rnd(6) == 0)
		any(b, depth);
	else
		name(b);
}

static void
array_of(struct buf *b, int depth, const char *const *keys, size_t nkeys,
    void (*val)(struct buf *, const char *, int))
{
	int	 i, n = (int)rnd(4);

	if (rnd(clean ? 40 : 10) == 0) {
		any(b, depth);
		return;
	}
	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0) {
			buf_addc(b, ',');
			ws(b);
		}
		if (rnd(clean ? 40 : 15) == 0)
			any(b, depth + 1);
		else
			object(b, keys, nkeys, depth + 1, val);
	}
	buf_addc(b, ']');
}

static void
record_val(struct buf *b, const char *key, int depth)
{
	static const char *const colk[] = { "name", "ts_name", "zero",
	    "type", "ts_base", "null", "default" };
	static const char *const idxk[] = { "name", "unique", "where",
	    "columns" };
	static const char *const fkk[] = { "to_table", "to_schema",
	    "columns", "to_columns", "name" };
	static const char *const kind[] = { "\"table\"", "\"table\"",
	    "\"view\"", "\"enum\"", "\"t\\u0061ble\"", "\"tables\"", "1" };
	static const char *const v[] = { "1", "1", "1", "2", "1.0", "\"1\"" };

	if (strcmp(key, "v") == 0)
		buf_adds(b, clean ? "1" : PICK(v));
	else if (strcmp(key, "kind") == 0)
		buf_adds(b, clean ? kind[rnd(4)] : PICK(kind));
	else if (strcmp(key, "columns") == 0)
		array_of(b, depth, colk, sizeof(colk) / sizeof(colk[0]),
		    column_val);
	else if (strcmp(key, "indexes") == 0)
		array_of(b, depth, idxk, sizeof(idxk) / sizeof(idxk[0]),
		    index_val);
	else if (strcmp(key, "foreign_keys") == 0)
		array_of(b, depth, fkk, sizeof(fkk) / sizeof(fkk[0]), fk_val);
	else if (strcmp(key, "primary_key") == 0)
		list(b, depth);
	else if (strcmp(key, "comment") == 0)
		any(b, depth);
	else if (rnd(8) == 0)
		any(b, depth);
	else
		name(b);
}

static void
record(struct buf *b)
{
	static const char *const keys[] = { "v", "kind", "v", "kind",
	    "name", "schema", "ts_name", "columns", "primary_key", "indexes",
	    "foreign_keys", "comment" };
	const char *const *k = keys + 2;

	/* v and kind are left out less often than the rest; twice, they
	 * are duplicate keys */
	clean = rnd(2);
	if (!clean && rnd(4) == 0)
		k = keys;
	object(b, k, sizeof(keys) / sizeof(keys[0]) - (size_t)(k - keys), 0,
	    record_val);
}

static void
mutate(struct buf *b)
{
	/* UTF-8 lead and continuation bytes too */
	static const char set[] = "{}[],:\"\\ \n0-.eEtfnu1a\x01"
	    "\xc3\x80\xed\xf4\xa0";
	size_t	 at = rnd((unsigned)b->len);
	char	 c = set[rnd(sizeof(set) - 1)];
	const char *p;

	switch (rnd(4)) {
	case 0:			/* delete */
		memmove(b->data + at, b->data + at + 1, b->len - at);
		b->len--;
		break;
	case 1:			/* insert */
		buf_addc(b, 0);
		memmove(b->data + at + 1, b->data + at, b->len - at - 1);
		b->data[at] = c;
		break;
	case 2:			/* "name" again, after the first brace */
		if ((p = memchr(b->data, '{', b->len)) != NULL) {
			at = (size_t)(p - b->data) + 1;
			buf_grow(b, 9);
			memmove(b->data + at + 9, b->data + at, b->len - at);
			memcpy(b->data + at, "\"name\":1,", 9);
			b->len += 9;
		}
		break;
	default:		/* replace */
		b->data[at] = c;
	}
	b->data[b->len] = '\0';
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_list(const char **a, int na, const char **b, int nb)
{
	int	 i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* what differs between the two readings, or NULL */
static const char *
differ(const struct tbl *a, const struct tbl *b)
{
	int	 i;

	if (!same_str(a->name, b->name) || !same_str(a->qual, b->qual) ||
	    !same_str(a->ts, b->ts))
		return "the table's names";
	if (a->ncol != b->ncol)
		return "the number of columns";
	for (i = 0; i < a->ncol; i++)
		if (!same_str(a->col[i].name, b->col[i].name) ||
		    !same_str(a->col[i].ts, b->col[i].ts) ||
		    a->col[i].len != b->col[i].len ||
		    a->col[i].zero != b->col[i].zero ||
		    a->col[i].kind != b->col[i].kind ||
		    a->col[i].unique != b->col[i].unique)
			return "a column";
	if (!same_list(a->pk, a->npk, b->pk, b->npk))
		return "the primary key";
	if (a->nfk != b->nfk)
		return "the number of foreign keys";
	for (i = 0; i < a->nfk; i++) {
		const struct fkey *f = &a->fk[i], *g = &b->fk[i];

		if (!same_str(f->to, g->to) || !same_str(f->tos, g->tos) ||
		    !same_str(f->cerr, g->cerr) || !same_str(f->uerr, g->uerr))
			return "a foreign key's table";
		if (f->cerr == NULL && (!same_list(f->cols, f->ncols, g->cols,
		    g->ncols) || !same_list(f->ucols, f->nucols, g->ucols,
		    g->nucols)))
			return "a foreign key's columns";
	}
	if (a->end != b->end)
		return "where the record ends";
	return NULL;
}

static void
arena_drop(void)
{
	char	*c, *next;

	for (c = chunks; c != NULL; c = next) {
		memcpy(&next, c, sizeof(next));
		free(c);
	}
	chunks = arena_p = NULL;
	arena_left = 0;
}

/* -1 when scan.c took a line json.c reads otherwise */
static int
check(const char *what, const struct buf *b, int *taken, int *tables)
{
	static struct scan s1, s2;
	struct json	 j;
	const char	*d;
	long long	 v;
	int		 k, view;

	if (scan_record(&s1, b->data, b->len) == -1)
		return 0;
	++*taken;
	if (json_parse(&j, "<stdin>", b->data, b->len, 1) == -1) {
		printf("t-relscan: %s: scan.c takes what json.c refuses "
		    "(%s): %s\n", what, j.err, b->data);
		return -1;
	}
	k = json_get(&j, 0, "kind");
	if (json_type(&j, 0) != JSON_OBJECT || json_get(&j, 0, "v") == -1 ||
	    json_int(&j, json_get(&j, 0, "v"), &v) == -1 || v != 1 ||
	    json_type(&j, k) != JSON_STRING) {
		printf("t-relscan: %s: scan.c takes a record rec_parse "
		    "refuses: %s\n", what, b->data);
		json_free(&j);
		return -1;
	}
	view = json_eq(&j, k, "view");
	if (view != KEYIS(&s1.kind, "view") ||
	    json_eq(&j, k, "table") != KEYIS(&s1.kind, "table")) {
		printf("t-relscan: %s: another kind: %s\n", what, b->data);
		json_free(&j);
		return -1;
	}
	if (view || json_eq(&j, k, "table")) {
		++*tables;
		tok_load(&s2, &j);
		if ((d = differ(tbl_make(&s1), tbl_make(&s2))) != NULL) {
			printf("t-relscan: %s: %s differs: %s\n", what, d,
			    b->data);
			json_free(&j);
			return -1;
		}
	}
	json_free(&j);
	arena_drop();
	return 0;
}

int
main(int argc, char *argv[])
{
	struct buf	 b = { 0 }, m = { 0 };
	long		 rounds = argc > 1 ? strtol(argv[1], NULL, 10) :
		    20000;
	long		 i;
	int		 k, taken = 0, tables = 0, mtaken = 0, mtables = 0;
	int		 rc = 0;

	for (i = 0; i < rounds && rc == 0; i++) {
		buf_reset(&b);
		record(&b);
		if (check("generated", &b, &taken, &tables) == -1)
			rc = 1;
		buf_reset(&m);
		buf_add(&m, b.data, b.len);
		for (k = (int)rnd(3); k >= 0 && m.len > 0; k--)
			mutate(&m);
		if (rc == 0 && check("mutated", &m, &mtaken, &mtables) == -1)
			rc = 1;
	}
	if (rc == 0)
		printf("t-relscan: %ld generated records (%d read in one pass, "
		    "%d tables) and %ld mutations (%d read, %d tables): the "
		    "same as json.c\n", rounds, taken, tables, rounds, mtaken,
		    mtables);
	arena_drop();
	buf_free(&b);
	buf_free(&m);
	return rc;
}
