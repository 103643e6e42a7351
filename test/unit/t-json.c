/*
 * t-json: the JSON reader's one-pass tokenizer against its two
 * references, on generated documents and on mutations of them:
 *  - its verdict (valid or not) equals the validator's, which is what
 *    reports errors;
 *  - on a valid document its tokens (type, start, end, size, parent)
 *    equal those of jsmn_parse, and its next[] links equal the ones
 *    computed from the tokens afterwards.
 * json.c is included, not linked, to reach its static functions.
 *   t-json [ROUNDS]     prints one summary line; exit 1 on a mismatch
 */
#include "../../src/lib/json.c"

#define RND_SEED	0x9e3779b97f4a7c15ULL
#include "rnd.h"

static void
ws(struct buf *b)
{
	static const char *const sp[] = { "", "", "", " ", "\n", "\t ", "\r\n" };

	buf_adds(b, sp[rnd(7)]);
}

static void
gen_string(struct buf *b, int key, int idx)
{
	static const char *const parts[] = {
		"a", "name", "Zz_9", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9",
		"\\uD83D\\uDE00", "\xc3\xa9", "\xe2\x80\xa8", " ", "x y",
		"\\t", "\\b\\f\\r", "0123456789abcdefghij", "\\u0041"
	};
	int	 i, n = (int)rnd(5);

	buf_addc(b, '"');
	for (i = 0; i < n; i++)
		buf_adds(b, parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
	if (key)		/* keys of one object differ */
		buf_printf(b, "k%d", idx);
	buf_addc(b, '"');
}

static void
gen_value(struct buf *b, int depth)
{
	static const char *const prims[] = {
		"0", "-0", "1", "-12", "3.25", "-0.5e+10", "1E-3", "12345678901",
		"true", "false", "null", "2e8", "0.0"
	};
	unsigned kind;
	int	 i, n;

	switch (kind = depth > 6 ? rnd(2) + 2 : rnd(4)) {
	case 0:			/* an object */
	case 1:			/* an array */
		buf_addc(b, kind == 0 ? '{' : '[');
		ws(b);
		n = (int)rnd(6);
		for (i = 0; i < n; i++) {
			if (i > 0) {
				buf_addc(b, ',');
				ws(b);
			}
			if (kind == 0) {
				gen_string(b, 1, i);
				ws(b);
				buf_addc(b, ':');
				ws(b);
			}
			gen_value(b, depth + 1);
			ws(b);
		}
		buf_addc(b, kind == 0 ? '}' : ']');
		break;
	case 2:
		gen_string(b, 0, 0);
		break;
	default:
		buf_adds(b, prims[rnd(sizeof(prims) / sizeof(prims[0]))]);
	}
}

/* the validator's verdict, as json_parse reports errors */
static int
slow_ok(const char *s, size_t n)
{
	struct vstate v = { s, n, 0, NULL, 0 };

	if (vvalue(&v, 0) == 0) {
		vskipws(&v);
		if (v.pos < n)
			vfail(&v, v.pos, "trailing");
	}
	return v.msg == NULL;
}

static int
same_as_jsmn(struct json *j, const char *s, size_t n)
{
	jsmn_parser p;
	jsmntok_t *t;
	int	 cap = (int)n + 16, r, i, ok = 1, *next;

	t = xreallocarray(NULL, (size_t)cap, sizeof(*t));
	jsmn_init(&p);
	r = jsmn_parse(&p, s, n, t, (unsigned)cap);
	/* strict jsmn wants a delimiter after a primitive, also at the
	 * end of the text: a lone number is "partial" to it */
	if (r == JSMN_ERROR_PART && j->ntok == 1 &&
	    j->tok[0].type == JSMN_PRIMITIVE) {
		free(t);
		return 1;
	}
	if (r != j->ntok)
		ok = 0;
	for (i = 0; ok && i < r; i++)
		ok = t[i].type == j->tok[i].type &&
		    t[i].start == j->tok[i].start &&
		    t[i].end == j->tok[i].end &&
		    t[i].size == j->tok[i].size;
	if (ok) {		/* next[] as fill_next computes it */
		next = j->next;
		j->next = xreallocarray(NULL, (size_t)r + 1, sizeof(int));
		fill_next(j, 0);
		ok = memcmp(next, j->next, (size_t)r * sizeof(int)) == 0;
		free(j->next);
		j->next = next;
	}
	free(t);
	return ok;
}

static void
mutate(struct buf *b)
{
	/* UTF-8 lead and continuation bytes too */
	static const char set[] = "{}[],:\"\\ \n0-.eEtfnu1a\x01"
	    "\xc3\x80\xed\xf4\xa0";
	size_t	 at;
	char	 c = set[rnd(sizeof(set) - 1)];

	if (b->len == 0) {
		buf_addc(b, c);
		return;
	}
	at = rnd((unsigned)b->len);
	switch (rnd(3)) {
	case 0:			/* delete */
		memmove(b->data + at, b->data + at + 1, b->len - at);
		b->len--;
		break;
	case 1:			/* insert */
		buf_addc(b, 0);
		memmove(b->data + at + 1, b->data + at, b->len - at - 1);
		b->data[at] = c;
		break;
	default:		/* replace */
		b->data[at] = c;
	}
}

static int
check(const char *what, struct buf *b, int *accepted)
{
	struct json j;
	int	 fast, slow;

	memset(&j, 0, sizeof(j));
	j.text = b->data;
	j.len = b->len;
	fast = fparse(&j) == 0;
	slow = slow_ok(b->data, b->len);
	if (fast != slow) {
		printf("t-json: %s: one pass says %s, the validator %s: %s\n",
		    what, fast ? "valid" : "invalid", slow ? "valid" :
		    "invalid", b->data);
		return -1;
	}
	if (fast && !same_as_jsmn(&j, b->data, b->len)) {
		printf("t-json: %s: tokens differ from jsmn's: %s\n", what,
		    b->data);
		return -1;
	}
	*accepted += fast;
	json_free(&j);
	return 0;
}

static int
keep_abce(void *arg, const char *s, size_t n)
{
	(void)arg;
	return n == 1 && strchr("abce", s[0]) != NULL;
}

int
main(int argc, char *argv[])
{
	static const char *const fixed[] = {
		"[1,]", "{\"a\":1,}", "tru", "01", "1.", "-", "+1", ".5",
		"\"\\u0000\"", "\"\\u00G0\"", "\"\\x\"", "{\"a\" 1}", "[1 2]",
		"\"a\x01\"", "", " ", "{}", "[]", "\"\"", "0", "-0.5e+10",
		"{\"a\":}", "[,1]", "{,}", "nul", "null1", "1x", "[1]]",
		"{\"a\":1}}", "\"abc", "\"abcdefghijklmnopqrstuvwxyz\\",
		"{\"\\\"\":[true,false,null]}", "[[[[[]]]]]", "{1:2}",
		"\"\xe2\x80\xa8 é\"", "[\"a\" , \"b\"\n]", "\"\\uD83D\"", "\"\\uD83D\\uDE00\"",
	};
	struct buf b = { 0 };
	long	 rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, r;
	int	 accepted = 0, maccepted = 0, i;
	size_t	 k;

	for (k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++) {
		buf_reset(&b);
		buf_adds(&b, fixed[k]);
		if (check("fixed", &b, &accepted) == -1)
			return 1;
	}
	/* UTF-8 at each boundary of RFC 3629's table: length, or 0 */
	{
		static const struct { const char *s; size_t len; } u[] = {
			{ "\xc1\xbf", 0 }, { "\xc2\x80", 2 }, { "\xdf\xbf", 2 },
			{ "\xe0\x9f\xbf", 0 }, { "\xe0\xa0\x80", 3 },
			{ "\xed\x9f\xbf", 3 }, { "\xed\xa0\x80", 0 },
			{ "\xee\x80\x80", 3 }, { "\xef\xbf\xbf", 3 },
			{ "\xf0\x8f\xbf\xbf", 0 }, { "\xf0\x90\x80\x80", 4 },
			{ "\xf4\x8f\xbf\xbf", 4 }, { "\xf4\x90\x80\x80", 0 },
			{ "\xf5\x80\x80\x80", 0 }, { "\x80", 0 }, { "\xff", 0 },
			{ "\xc3", 0 }, { "\xe6\x97", 0 }, { "\xc3\xc3", 0 },
			{ "\xe6\x97\x41", 0 },
		};

		for (k = 0; k < sizeof(u) / sizeof(u[0]); k++)
			if (utf8_len(u[k].s, strlen(u[k].s)) != u[k].len) {
				printf("t-json: UTF-8 case %zu: length %zu, "
				    "not %zu\n", k, utf8_len(u[k].s,
				    strlen(u[k].s)), u[k].len);
				return 1;
			}
	}
	/* a key's escapes: "a\\b" in the text is the three bytes a\b */
	{
		static const char doc[] = "{\"a\\\\b\":1,\"c\":2}";
		struct json j;

		if (json_parse(&j, "t", doc, sizeof(doc) - 1, 1) == -1 ||
		    json_get(&j, 0, "a\\b") != 2 ||
		    json_get(&j, 0, "a\\\\b") != -1 ||
		    json_eq(&j, 1, "a\\\\b") || !json_eq(&j, 1, "a\\b")) {
			printf("t-json: escaped keys compare wrongly: %s\n", doc);
			return 1;
		}
		json_free(&j);
	}
	/* duplicate keys, in objects of 2 to 40 keys (those the fast
	 * path checks itself and those it leaves to find_dupkey), alike
	 * in length and first bytes: refused exactly when there is one */
	{
		char	 names[40][24];
		int	 n, d, q, x, y, dup, bad = 0;

		for (n = 2; n <= 40; n++)
			for (d = 0; d < 40; d++) {
				struct json j;
				int	 l, c;

				for (q = 0; q < n; q++) {
					l = 1 + (int)rnd(10);
					for (c = 0; c < l; c++)
						names[q][c] = "ab\\"[rnd(2)];
					snprintf(names[q] + l, 8, "%d", q);
				}
				x = (int)rnd((unsigned)n);
				y = (int)rnd((unsigned)n);
				if ((dup = (d & 1) && x != y))
					memcpy(names[y], names[x], sizeof(names[y]));
				buf_reset(&b);
				buf_adds(&b, "[{\"o\":{");
				for (q = 0; q < n; q++)
					buf_printf(&b, "%s\"%s\":%d", q ? "," : "",
					    names[q], q);
				buf_adds(&b, "}}]");
				if ((json_parse(&j, "t", b.data, b.len, 1) == -1) !=
				    dup) {
					printf("t-json: duplicate key %s: %s\n",
					    dup ? "missed" : "seen", b.data);
					bad = 1;
				} else if (!dup)
					json_free(&j);
			}
		if (bad)
			return 1;
	}
	/* json_str_inplace decodes a string over its own text to what
	 * json_str_buf gives, and leaves the text after it alone */
	{
		static const char *const lone[] = {
			"\"\\uD83D\\uDE00\"", "\"x\\uD83D\\uDE00y\"",
			"\"\\u00e9\\n\"", "\"\"", "\"plain\"",
		};
		/* a surrogate that is not half of a pair is not UTF-8 */
		static const char *const unpaired[] = {
			"\"\\uD83D\"", "\"\\uDE00x\"", "\"\\uD83D\\u0041\"",
			"\"\\uD83D\\uDE00\\uD83D\"", "\"\\uDE00\\uD83D\"",
		};
		struct buf want = { 0 }, doc = { 0 };
		int	 bad = 0;

		for (k = 0; k < sizeof(unpaired) / sizeof(unpaired[0]); k++) {
			struct json j;

			if (json_parse(&j, "t", unpaired[k], strlen(unpaired[k]),
			    1) == 0 || slow_ok(unpaired[k], strlen(unpaired[k]))) {
				printf("t-json: accepted %s\n", unpaired[k]);
				return 1;
			}
		}

		for (i = 0; i < 3000 && !bad; i++) {
			struct json j;
			const char *p;
			size_t	 n, tail;

			buf_reset(&doc);
			buf_addc(&doc, '[');
			if (i < (int)(sizeof(lone) / sizeof(lone[0])))
				buf_adds(&doc, lone[i]);
			else
				gen_string(&doc, 0, 0);
			tail = doc.len;
			buf_adds(&doc, ",\"\\n after\"]");
			if (json_parse(&j, "t", doc.data, doc.len, 1) == -1) {
				printf("t-json: in place: refused %s\n", doc.data);
				return 1;
			}
			buf_reset(&want);
			json_str_buf(&j, 1, &want);
			p = json_str_inplace(&j, 1, &n);
			if (n != want.len || memcmp(p, want.data, n) != 0 ||
			    strcmp(doc.data + tail, ",\"\\n after\"]") != 0) {
				printf("t-json: in place differs: %s\n", doc.data);
				bad = 1;
			}
			json_free(&j);
		}
		buf_free(&want);
		buf_free(&doc);
		if (bad)
			return 1;
	}
	/* json_keep: the members named are kept at every depth, with
	 * their values whole; the others go, and iteration still works */
	{
		static const char doc[] = "{\"a\":1,\"b\":{\"c\":[1,{\"d\":2,"
		    "\"e\":[3,{\"g\":0}]}],\"f\":4},\"g\":5,\"e\":{\"x\":6}}";
		struct json j;
		int	 t, c, e, n = 0, m;

		if (json_parse(&j, "t", doc, sizeof(doc) - 1, 1) == -1) {
			printf("t-json: json_keep document refused\n");
			return 1;
		}
		json_keep(&j, keep_abce, NULL);
		t = json_get(&j, 0, "b");
		c = json_get(&j, t, "c");
		JSON_FOREACH_ELEM(&j, c, e)
			n++;
		e = json_get(&j, 0, "e");
		JSON_FOREACH_MEMBER(&j, e, m, t)
			n += 10;
		t = json_get(&j, json_get(&j, 0, "b"), "c");
		if (json_get(&j, 0, "g") != -1 || json_get(&j, 0, "a") != 2 ||
		    json_get(&j, json_get(&j, 0, "b"), "f") != -1 ||
		    n != 2 || j.tok[0].size != 3 || j.ntok != 15 ||
		    json_get(&j, t + 2, "d") != -1 ||
		    json_type(&j, json_get(&j, t + 2, "e")) != JSON_ARRAY ||
		    j.tok[json_get(&j, t + 2, "e")].size != 2) {
			printf("t-json: json_keep kept the wrong tokens (%d, %d)\n",
			    n, j.ntok);
			return 1;
		}
		json_free(&j);
	}
	/* nesting at the limit and one past it */
	for (k = 256; k <= 258; k++) {
		buf_reset(&b);
		for (i = 0; i < (int)k; i++)
			buf_addc(&b, '[');
		for (i = 0; i < (int)k; i++)
			buf_addc(&b, ']');
		if (check("deep", &b, &accepted) == -1)
			return 1;
	}
	accepted = 0;
	for (r = 0; r < rounds; r++) {
		buf_reset(&b);
		ws(&b);
		gen_value(&b, 0);
		ws(&b);
		if (check("generated", &b, &accepted) == -1)
			return 1;
		for (i = (int)rnd(3); i >= 0; i--)
			mutate(&b);
		if (check("mutated", &b, &maccepted) == -1)
			return 1;
	}
	if (accepted != rounds) {
		printf("t-json: %d of %ld generated documents accepted\n",
		    accepted, rounds);
		return 1;
	}
	printf("t-json: %ld generated documents and %ld mutations "
	    "(%d still valid): the same verdicts and tokens\n", rounds,
	    rounds, maccepted);
	buf_free(&b);
	return 0;
}
