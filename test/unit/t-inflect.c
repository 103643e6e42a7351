/*
 * t-inflect.c: unit test of src/lib/inflect.c.  Reads lines "OP WORD"
 * (OP: singular, plural, camelize, lcamelize, underscore, dasherize,
 * classify; "rule-plural RE REP" and the like add rules) and prints
 * "OP WORD -> RESULT" for bats to diff.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "inflect.h"
#include "banned.h"

int
main(void)
{
	char		 line[1024], *op, *w, *rep;
	struct buf	 b = { 0 };

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		op = line;
		if ((w = strchr(line, ' ')) == NULL)
			w = line + strlen(line);
		else
			*w++ = '\0';
		buf_reset(&b);
		if (strcmp(op, "singular") == 0)
			inflect_singular(&b, w);
		else if (strcmp(op, "plural") == 0)
			inflect_plural(&b, w);
		else if (strcmp(op, "camelize") == 0)
			inflect_camelize(&b, w, 0);
		else if (strcmp(op, "lcamelize") == 0)
			inflect_camelize(&b, w, 1);
		else if (strcmp(op, "underscore") == 0)
			inflect_underscore(&b, w);
		else if (strcmp(op, "dasherize") == 0)
			inflect_dasherize(&b, w);
		else if (strcmp(op, "classify") == 0)
			inflect_classify(&b, w);
		else if (strncmp(op, "rule-", 5) == 0 || strcmp(op,
		    "irregular") == 0) {
			if ((rep = strchr(w, ' ')) == NULL)
				rep = w + strlen(w);
			else
				*rep++ = '\0';
			if (strcmp(op, "rule-plural") == 0)
				buf_adds(&b, inflect_add_plural(w, rep) == 0 ?
				    "ok" : "bad rule");
			else if (strcmp(op, "rule-singular") == 0)
				buf_adds(&b, inflect_add_singular(w, rep) ==
				    0 ? "ok" : "bad rule");
			else if (strcmp(op, "rule-uncountable") == 0) {
				inflect_add_uncountable(w);
				buf_adds(&b, "ok");
			} else {
				inflect_add_irregular(w, rep);
				buf_adds(&b, "ok");
			}
			printf("%s %s %s -> %s\n", op, w, rep, b.data);
			continue;
		} else {
			printf("unknown op '%s'\n", op);
			return 2;
		}
		printf("%s %s -> %s\n", op, w, b.data != NULL ? b.data : "");
	}
	buf_free(&b);
	return 0;
}
