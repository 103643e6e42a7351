/*
 * fuzz-pgwire.c: libFuzzer target for introspect's client of
 * PostgreSQL's protocol (pgwire.c), which reads what a server sends:
 * the input is every byte a server sends after the connection is made.
 * The client, given a user and a password so that every authentication
 * is answered, must connect or fail with a message, then send a query
 * and read results until the server has none, touching every value;
 * never crash, leak or read outside what it received.  The first byte
 * picks TCP (the TLS request first) or a Unix socket.  The client's
 * nonce is all zeros here, so that an input can carry a whole SCRAM
 * exchange, and a count of SCRAM rounds over 4096 is refused (as a
 * real one over SCRAM_ITER_MAX).  pgwire.c is included, not linked, to
 * reach its static functions.  Built by `make fuzz-pgwire`; replayed
 * without libFuzzer by replay.c.  With FUZZ_PGWIRE_SAY set, it prints
 * for each input "connected", or the first line of why not.
 */
#define getentropy	fuzz_entropy
#define SCRAM_ITER_MAX	4096
#include "pgwire.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
fuzz_entropy(void *p, size_t n)
{
	memset(p, 0, n);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	PGconn		*c;
	PGresult	*r;
	const char	*v[1] = { "{1,2}" };
	size_t		 bytes = 0;
	int		 sv[2], i, j, ok;

	if (n < 1 || n > 65536 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return 0;
	/* the server's bytes, then the end of what it sends */
	if (write(sv[1], d + 1, n - 1) != (ssize_t)(n - 1)) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return 0;
	}
	(void)shutdown(sv[1], SHUT_WR);
	cfg_free();
	cfg.host = xstrdup("/fuzz");
	cfg.port = xstrdup("5432");
	cfg.user = xstrdup("u");
	cfg.db = xstrdup("d");
	cfg.password = xstrdup("pencil");
	cfg.ssl = d[0] & 1;
	c = xcalloc(1, sizeof(*c));
	c->fd = sv[0];
	c->status = CONNECTION_BAD;
	/* no one reads what the client sends: should that fill the
	 * socket, the client gives up instead of waiting for ever */
	c->deadline = mono_ns() + 2000000000;
	ok = handshake(c, "fuzz") == 0;
	if (getenv("FUZZ_PGWIRE_SAY") != NULL)
		printf("%.*s\n", ok ? 9 : (int)strcspn(w_errorMessage(c), "\n"),
		    ok ? "connected" : w_errorMessage(c));
	if (ok && w_sendQuery(c, "SELECT 1") == 1) {
		while ((r = w_getResult(c)) != NULL) {
			for (i = 0; i < w_ntuples(r); i++)
				for (j = 0; j < w_nfields(r); j++)
					bytes += strlen(w_getvalue(r, i, j)) +
					    (size_t)w_getisnull(r, i, j);
			(void)w_resultErrorField(r, PG_DIAG_SQLSTATE);
			w_clear(r);
		}
		w_clear(w_execParams(c, "SELECT $1::oid[]", 1, NULL, v, NULL,
		    NULL, 0));
	}
	(void)w_errorMessage(c);
	w_finish(c);
	(void)close(sv[1]);
	cfg_free();
	return bytes == SIZE_MAX;
}
