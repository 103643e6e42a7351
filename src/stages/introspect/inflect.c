/*
 * inflect.c: Rails' default English inflections (ActiveSupport
 * inflections.rb), needed where schema.rb leaves names implicit:
 * add_foreign_key "bans", "users" means column "user_id", and
 * t.references "user" means a key to "users".  Rules are POSIX
 * extended regexes tried latest first, like ActiveSupport; irregulars
 * and uncountables follow it too (so "human" becomes "humen", as in
 * Rails).  Exports inflect_singular and inflect_plural.
 */
#include <ctype.h>
#include <err.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "xalloc.h"
#include "introspect.h"
#include "banned.h"

struct rule {
	const char	*re;
	const char	*rep;
};

/* in definition order; applied from the last to the first */
static struct rule plurals[] = {
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
	{ "(([^f])fe|([lr])f)$", "\\2\\3ves" },
	{ "(hive)$", "\\1s" },
	{ "([^aeiouy]|qu)y$", "\\1ies" },
	{ "(x|ch|ss|sh)$", "\\1es" },
	{ "(matr|vert|ind)(ix|ex)$", "\\1ices" },
	{ "^(m|l)ouse$", "\\1ice" },
	{ "^(m|l)ice$", "\\1ice" },
	{ "^(ox)$", "\\1en" },
	{ "^(oxen)$", "\\1" },
	{ "(quiz)$", "\\1zes" },
	/* irregulars: person/people, man/men, child/children, sex/sexes,
	   move/moves, zombie/zombies */
	{ "(p)erson$", "\\1eople" }, { "(p)eople$", "\\1eople" },
	{ "(m)an$", "\\1en" }, { "(m)en$", "\\1en" },
	{ "(c)hild$", "\\1hildren" }, { "(c)hildren$", "\\1hildren" },
	{ "(s)ex$", "\\1exes" }, { "(s)exes$", "\\1exes" },
	{ "(m)ove$", "\\1oves" }, { "(m)oves$", "\\1oves" },
	{ "(z)ombie$", "\\1ombies" }, { "(z)ombies$", "\\1ombies" },
};

static struct rule singulars[] = {
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
	{ "(p)erson$", "\\1erson" }, { "(p)eople$", "\\1erson" },
	{ "(m)an$", "\\1an" }, { "(m)en$", "\\1an" },
	{ "(c)hild$", "\\1hild" }, { "(c)hildren$", "\\1hild" },
	{ "(s)ex$", "\\1ex" }, { "(s)exes$", "\\1ex" },
	{ "(m)ove$", "\\1ove" }, { "(m)oves$", "\\1ove" },
	{ "(z)ombie$", "\\1ombie" }, { "(z)ombies$", "\\1ombie" },
};

static const char *uncountables[] = {
	"equipment", "information", "rice", "money", "species", "series",
	"fish", "sheep", "jeans", "police",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static regex_t	prx[NELEM(plurals)], srx[NELEM(singulars)];

static void
compile(const struct rule *r, regex_t *rx, size_t n)
{
	size_t	i;
	int	e;

	for (i = 0; i < n; i++)
		if ((e = regcomp(&rx[i], r[i].re,
		    REG_EXTENDED | REG_ICASE)) != 0)
			errx(EX_SOFTWARE, "inflection rule '%s': error %d",
			    r[i].re, e);
}

/* Ruby's /\bword\Z/i: the word ends the string at a word boundary */
static int
uncountable(const char *w)
{
	size_t	 i, n, len = strlen(w);
	const char *p;

	for (i = 0; i < NELEM(uncountables); i++) {
		n = strlen(uncountables[i]);
		if (n > len)
			continue;
		p = w + len - n;
		if (strcasecmp(p, uncountables[i]) != 0)
			continue;
		if (p == w || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			return 1;
	}
	return 0;
}

static const char *
apply(struct arena *a, const struct rule *r, regex_t *rx, size_t n,
    const char *w)
{
	regmatch_t	 m[10];
	char		*out;
	const char	*q;
	size_t		 i, len, k, g;

	if (*w == '\0' || uncountable(w))
		return w;
	for (i = n; i-- > 0; ) {
		if (regexec(&rx[i], w, NELEM(m), m, 0) != 0)
			continue;
		/* worst case: every char of rep is a group of the word */
		len = strlen(w) * (strlen(r[i].rep) + 1) + 1;
		out = arena_alloc(a, len);
		memcpy(out, w, (size_t)m[0].rm_so);
		k = (size_t)m[0].rm_so;
		for (q = r[i].rep; *q != '\0'; q++) {
			if (q[0] == '\\' && isdigit((unsigned char)q[1])) {
				g = (size_t)(*++q - '0');
				if (m[g].rm_so >= 0) {
					memcpy(out + k, w + m[g].rm_so,
					    (size_t)(m[g].rm_eo - m[g].rm_so));
					k += (size_t)(m[g].rm_eo - m[g].rm_so);
				}
			} else
				out[k++] = *q;
		}
		len = strlen(w + m[0].rm_eo);
		memcpy(out + k, w + m[0].rm_eo, len + 1);
		return out;
	}
	return w;
}

static void
init(void)
{
	static int	done;

	if (done)
		return;
	compile(plurals, prx, NELEM(plurals));
	compile(singulars, srx, NELEM(singulars));
	done = 1;
}

const char *
inflect_singular(struct arena *a, const char *w)
{
	init();
	return apply(a, singulars, srx, NELEM(singulars), w);
}

const char *
inflect_plural(struct arena *a, const char *w)
{
	init();
	return apply(a, plurals, prx, NELEM(plurals), w);
}
