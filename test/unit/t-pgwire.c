/*
 * t-pgwire: introspect's reader of postgres:// URLs (pgwire.c's
 * parse_url) against libpq's own (PQconninfoParse), on a list of URLs
 * and on random ones made of the characters URLs trip on: whenever
 * parse_url takes a URL, libpq takes it too and reads the same host,
 * port, database, user, password, application name, sslmode and
 * connect_timeout, and no other setting.  A URL parse_url declines
 * goes to libpq, so there is nothing to compare.  pgwire.c is
 * included, not linked, to reach its static functions.
 *   t-pgwire [ROUNDS]   prints one summary line; exit 1 on a mismatch
 */
#include "../../src/stages/introspect/pgwire.c"

static const char *const urls[] = {
	"postgres://postgres@127.0.0.1:5432/lago",
	"postgresql://u:p@localhost/db",
	"postgres://u:p%40ss%3Aw%2Frd@127.0.0.1:1/d%20b",
	"postgres://[::1]:5433/db",
	"postgres://[::1]/db",
	"postgres:///db?host=/tmp/sock&port=7",
	"postgres://%2Ftmp%2Fsock/db",
	"postgres://h:2/x?port=1",
	"postgres://127.0.0.1?user=a@b",
	"postgres://u@127.0.0.1/db?sslmode=disable&connect_timeout=3",
	"postgres://u@127.0.0.1/db?application_name=x%26y",
	"postgres://127.0.0.1:/",
	"postgres://:1/x",
	"postgres://@h/",
	"postgres://u:@h/d",
	"postgres://u:p?ss@127.0.0.1/d",
	"postgres://h/db?options=-cgeqo%3Doff",
	"postgres://a,b/db",
	"postgres://h/db?sslmode",
	"postgres://h/db?=x",
	"postgres://h/%zz",
	"postgres://h/%00",
	"postgres://h/db?",
	"postgres://h/db?&",
	"postgres://[::1/db",
	"postgres://[::1]x/db",
	"postgres://h/db/more",
	"postgres://",
	"postgresql:///",
};

/* ours against libpq's for one URL: 1 taken, 0 declined, -1 differ */
static int
compare(const char *url)
{
	PQconninfoOption *o, *k;
	const char	*mine;
	char		*sslmode = NULL, *timeout = NULL, *e = NULL, **f;
	int		 rc = 1;

	cfg_free();
	if (parse_url(url, &sslmode, &timeout) == -1) {
		rc = 0;
		goto done;
	}
	if ((o = PQconninfoParse(url, &e)) == NULL) {
		printf("t-pgwire: %s: taken, but libpq says: %s", url,
		    e != NULL ? e : "out of memory\n");
		PQfreemem(e);
		rc = -1;
		goto done;
	}
	for (k = o; k->keyword != NULL; k++) {
		f = param_field(k->keyword, &sslmode, &timeout);
		mine = f != NULL ? *f : NULL;
		if ((mine == NULL) != (k->val == NULL) ||
		    (mine != NULL && strcmp(mine, k->val) != 0)) {
			printf("t-pgwire: %s: %s is [%s], libpq reads [%s]\n",
			    url, k->keyword, mine != NULL ? mine : "(unset)",
			    k->val != NULL ? k->val : "(unset)");
			rc = -1;
		}
	}
	PQconninfoFree(o);
done:
	free(sslmode);
	free(timeout);
	return rc;
}

#define RND_SEED	0x9e3779b97f4a7c15ULL
#include "rnd.h"

/* a random URL: a scheme, then pieces that URLs trip on */
static void
random_url(struct buf *b)
{
	static const char *const piece[] = {
		"u", "p", "127.0.0.1", "localhost", "h", "db", ":", "@", "/",
		"?", "&", "=", "[", "]", "::1", ",", "%", "%2F", "%40", "%3A",
		"%zz", "%0", "5432", "host=", "port=", "user=", "dbname=",
		"password=", "sslmode=", "application_name=",
		"connect_timeout=", "options=", "disable", "/tmp", " ", "x",
	};
	int	i, n = 1 + (int)rnd(12);

	buf_reset(b);
	buf_adds(b, rnd(2) ? "postgres://" : "postgresql://");
	for (i = 0; i < n; i++)
		buf_adds(b, piece[rnd(sizeof(piece) / sizeof(piece[0]))]);
}

int
main(int argc, char *argv[])
{
	struct buf	 b = { 0 };
	size_t		 i;
	long		 rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	long		 r, taken = 0, declined = 0;
	int		 bad = 0, c;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if ((c = compare(urls[i])) == -1)
			bad = 1;
	/* the list's own: those libpq reads and these take */
	if (compare("postgres://u:p%40ss%3Aw%2Frd@127.0.0.1:1/d%20b") != 1 ||
	    compare("postgres:///db?host=/tmp/sock&port=7") != 1 ||
	    compare("postgres://[::1]:5433/db") != 1) {
		printf("t-pgwire: a plain URL declined\n");
		bad = 1;
	}
	for (r = 0; r < rounds; r++) {
		random_url(&b);
		if ((c = compare(b.data)) == -1)
			bad = 1;
		else if (c == 1)
			taken++;
		else
			declined++;
	}
	printf("t-pgwire: %zu listed and %ld random URLs: %ld taken, "
	    "%ld declined, %s\n", sizeof(urls) / sizeof(urls[0]), rounds,
	    taken, declined, bad ? "MISMATCH" : "all as libpq reads them");
	cfg_free();
	buf_free(&b);
	return bad;
}
