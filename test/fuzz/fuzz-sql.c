/*
 * fuzz-sql.c: libFuzzer target for introspect's SQL tokenizer and
 * structure.sql parser (sqllex.c, pgsql.c) and its record writer: any
 * input must load or fail with a message, never crash, and every
 * record written must be valid JSON (checked with json_parse).  The
 * first byte also picks a catalog snippet kind, so the entry points
 * the live front-end uses (pgsql_snippet) are fuzzed too.  Built by
 * `make fuzz`; replayed without libFuzzer by replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "introspect.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_records(const struct schema *s)
{
	struct buf		 b = { 0 };
	struct json		 j;
	const struct table	*t;

	STAILQ_FOREACH(t, &s->recs, link) {
		buf_reset(&b);
		record_write(&b, s, t);
		memset(&j, 0, sizeof(j));
		if (json_parse(&j, "record", b.data, b.len, 1) != 0)
			abort();
		json_free(&j);
	}
	buf_free(&b);
}

/* a snippet as the live front-end passes it: one NUL-free string */
static void
snippet(const uint8_t *data, size_t size)
{
	struct schema	 s;
	struct table	*t;
	struct column	*c;
	char		*text;

	if (memchr(data, '\0', size) != NULL)
		return;
	text = malloc(size + 1);
	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	schema_init(&s, "fuzz");
	s.quiet = 1;
	s.kind = SRC_PGLIVE;
	t = schema_add(&s, REC_TABLE, "users", 0);
	c = table_add_column(&s, t, "id", 0);
	c->type = c->sql_type = "integer";
	(void)table_add_column(&s, t, "name", 0);
	if (pgsql_snippet(&s, (enum snippet)(size % 5), t, c, "k", text) ==
	    -1 && s.err[0] == '\0')
		abort();
	(void)pgsql_snippet(&s, SNIP_FINISH, NULL, NULL, NULL, "");
	check_records(&s);
	schema_free(&s);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schema	 s;

	schema_init(&s, "fuzz.sql");
	s.quiet = 1;
	s.views = size > 0 && (data[0] & 1);
	if (pgsql_load(&s, (const char *)data, size) == 0)
		check_records(&s);
	else if (s.err[0] == '\0')
		abort();		/* a failure must say why */
	schema_free(&s);
	if (size > 0 && data[0] == '@')
		snippet(data + 1, size - 1);
	return 0;
}
