/*
 * fuzz-schemarb.c: libFuzzer target for introspect's schema.rb
 * tokenizer and parser (rblex.c, schemarb.c) and its record writer:
 * any input must load or fail with a message, never crash, and every
 * record written must be valid JSON (checked with json_parse).
 * Built by `make fuzz`; replayed without libFuzzer by replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "introspect.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schema		 s;
	struct buf		 b = { 0 };
	struct json		 j;
	const struct table	*t;

	schema_init(&s, "fuzz.rb");
	s.quiet = 1;
	s.views = 1;
	if (schemarb_load(&s, (const char *)data, size) == 0) {
		STAILQ_FOREACH(t, &s.recs, link) {
			buf_reset(&b);
			record_write(&b, &s, t);
			memset(&j, 0, sizeof(j));
			if (json_parse(&j, "record", b.data, b.len, 1) != 0)
				abort();
			json_free(&j);
		}
	} else if (s.err[0] == '\0')
		abort();		/* a failure must say why */
	buf_free(&b);
	schema_free(&s);
	return 0;
}
