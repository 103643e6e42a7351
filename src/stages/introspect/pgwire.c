/*
 * pgwire.c: introspect's own client of PostgreSQL's frontend/backend
 * protocol (3.0), for the connections it can make alone: a postgres://
 * URL to a Unix socket or a loopback address, without TLS or GSSAPI
 * encryption, authenticated by trust, a password, MD5 or
 * SCRAM-SHA-256 (pgwire_usable decides, conservatively).  Loading
 * libpq (dlopen) and its twenty libraries is most of introspect's
 * start-up on a live database, and its connections ask more of the
 * client than the server needs: about 4 ms of a 17 ms run.
 *
 * Whenever this client cannot connect (refused, a server that offers
 * TLS, an authentication method it does not speak, a password it was
 * not given, any error from the server), pglive.c connects again with
 * libpq, so what the user sees then is libpq's own behaviour and
 * message.  Only what pglive.c asks of libpq is here, under libpq's
 * names and types (pgwire_api): PGconn and PGresult are this file's
 * own structures, never mixed with libpq's.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <limits.h>
#include <md5.h>
#include <poll.h>
#include <pwd.h>
#include <sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "xalloc.h"
#include "pgwire.h"
#include "banned.h"

#define PROTO_3_0	196608
#define SSL_REQUEST	80877103
#define MSG_MAX		(1U << 30)	/* larger is a broken stream */
#define START_MSG_MAX	65536		/* before ReadyForQuery */
#ifndef SCRAM_ITER_MAX
#define SCRAM_ITER_MAX	100000000	/* the server's count of rounds */
#endif

/* how to connect, from the URL and PG* variables (pgwire_usable) */
static struct {
	char	*host;		/* as PQhost() names it: a socket's directory */
	char	*port;
	char	*db, *user, *password, *app;
	int	 ssl;		/* ask for TLS first (and give up if offered) */
	int	 timeout;	/* connect_timeout, seconds, 0 for none */
	int	 local;		/* a Unix socket */
} cfg;

struct pg_conn {
	int		 fd;
	ConnStatusType	 status;
	int		 idle;		/* ReadyForQuery seen, nothing sent */
	int		 version;	/* as PQserverVersion() */
	struct buf	 in;		/* what was read, from off on unread */
	size_t		 off;
	struct buf	 err;		/* PQerrorMessage() */
	int64_t		 deadline;	/* mono_ns(), 0 for none */
};

struct pg_result {
	ExecStatusType	 status;
	int		 ntuples, nfields;
	struct buf	 data;		/* the values, each NUL-terminated */
	size_t		*cell;		/* row * nfields + field: data offset */
	size_t		 ncell, cellcap;
	char		 sqlstate[6];
};

#define CELL_NULL	SIZE_MAX

/* --- what the URL says ------------------------------------------------ */

/* s[0..n) percent-decoded, NULL if malformed or holding a NUL */
static char *
decode(const char *s, size_t n)
{
	char	*r = xmalloc(n + 1), *w = r, h[3] = { 0 };
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			*w++ = s[i];
			continue;
		}
		if (i + 2 >= n) {
			free(r);
			return NULL;
		}
		h[0] = s[i + 1];
		h[1] = s[i + 2];
		if (strspn(h, "0123456789abcdefABCDEF") != 2 ||
		    (*w = (char)strtol(h, NULL, 16)) == '\0') {
			free(r);
			return NULL;
		}
		w++;
		i += 2;
	}
	*w = '\0';
	return r;
}

/* set *field to s[0..n) decoded (a parameter replaces the URL's) */
static int
set_field(char **field, const char *s, size_t n)
{
	free(*field);
	return (*field = decode(s, n)) == NULL ? -1 : 0;
}

/*
 * Where a parameter this client knows is kept (sslmode and timeout:
 * the caller's), NULL for any other
 */
static char **
param_field(const char *key, char **sslmode, char **timeout)
{
	static const char *const keys[] = { "host", "port", "dbname",
	    "user", "password", "application_name", "sslmode",
	    "connect_timeout" };
	char		**fields[] = { &cfg.host, &cfg.port, &cfg.db, &cfg.user,
	    &cfg.password, &cfg.app, sslmode, timeout };
	size_t		  i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return fields[i];
	return NULL;
}

/* the query string's parameters, those this client knows */
static int
url_params(const char *p, char **sslmode, char **timeout)
{
	const char	*amp, *eq;
	char		*key, **f;
	size_t		 n;
	int		 rc = 0;

	for (; *p != '\0' && rc == 0; p = *amp == '&' ? amp + 1 : amp) {
		amp = p + strcspn(p, "&");
		/* key=value, one '=' (libpq refuses a second) */
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL ||
		    memchr(eq + 1, '=', (size_t)(amp - eq - 1)) != NULL)
			return -1;
		if ((key = decode(p, (size_t)(eq - p))) == NULL)
			return -1;
		n = (size_t)(amp - eq - 1);
		/* one libpq's to handle: not this client's */
		f = param_field(key, sslmode, timeout);
		rc = f != NULL ? set_field(f, eq + 1, n) : -1;
		free(key);
	}
	return rc;
}

/* postgres://[user[:password]@][host][:port][/dbname][?params] */
static int
parse_url(const char *url, char **sslmode, char **timeout)
{
	const char	*p, *at, *end, *colon, *host, *hend;

	if (strncmp(url, "postgres://", 11) == 0)
		p = url + 11;
	else if (strncmp(url, "postgresql://", 13) == 0)
		p = url + 13;
	else
		return -1;	/* a keyword string: libpq's */
	/* as libpq reads it: an @ before the first / ends the user part */
	for (at = p; *at != '\0' && *at != '@' && *at != '/'; at++)
		continue;
	if (*at == '@') {
		/* user[:password]; an empty one is unset, as for libpq */
		colon = memchr(p, ':', (size_t)(at - p));
		end = colon != NULL ? colon : at;
		if (end > p && set_field(&cfg.user, p, (size_t)(end - p)) == -1)
			return -1;
		if (colon != NULL && at > colon + 1 && set_field(&cfg.password,
		    colon + 1, (size_t)(at - colon - 1)) == -1)
			return -1;
		p = at + 1;
	}
	end = p + strcspn(p, "/?");
	if (memchr(p, ',', (size_t)(end - p)) != NULL)
		return -1;	/* several hosts */
	if (*p == '[') {
		if ((hend = memchr(p, ']', (size_t)(end - p))) == NULL ||
		    hend == p + 1)
			return -1;
		host = p + 1;
		colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
		if (colon == NULL && hend + 1 != end)
			return -1;
	} else {
		host = p;
		colon = memchr(p, ':', (size_t)(end - p));
		hend = colon != NULL ? colon : end;
	}
	if (hend > host && set_field(&cfg.host, host,
	    (size_t)(hend - host)) == -1)
		return -1;
	if (colon != NULL && colon + 1 < end && set_field(&cfg.port,
	    colon + 1, (size_t)(end - colon - 1)) == -1)
		return -1;
	p = end;
	if (*p == '/') {
		end = p + 1 + strcspn(p + 1, "?");
		if (end > p + 1 && set_field(&cfg.db, p + 1,
		    (size_t)(end - p - 1)) == -1)
			return -1;
		p = end;
	}
	if (*p == '?')
		return url_params(p + 1, sslmode, timeout);
	return 0;
}

/*
 * The variables libpq reads that this client honours, and those it
 * may ignore (a server's, or read only in cases that fall back to
 * libpq anyway: a password file, a service file); any other PG*
 * variable leaves the connection to libpq
 */
static const char *const env_known[] = {
	"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD",
	"PGAPPNAME", "PGSSLMODE", "PGCONNECT_TIMEOUT",
	"PGDATA", "PGPASSFILE", "PGLOCALEDIR", "PGSYSCONFDIR",
	"PGSERVICEFILE", NULL
};

static int
env_plain(void)
{
	extern char	**environ;
	char		**e;
	const char *const *k;
	size_t		 n;

	for (e = environ; *e != NULL; e++) {
		/* libpq's are PG and a letter (PG_... are not) */
		if (strncmp(*e, "PG", 2) != 0 || (*e)[2] == '_')
			continue;
		n = strcspn(*e, "=");
		for (k = env_known; *k != NULL; k++)
			if (strlen(*k) == n && strncmp(*e, *k, n) == 0)
				break;
		if (*k == NULL)
			return 0;
	}
	return 1;
}

/* *field, if unset, from variable var (unset if empty: libpq's then) */
static int
from_env(char **field, const char *var)
{
	const char	*v;

	if (*field != NULL || (v = getenv(var)) == NULL)
		return 0;
	if (*v == '\0')
		return -1;
	*field = xstrdup(v);
	return 0;
}

/* a Kerberos ticket could be there: libpq would try GSSAPI encryption */
static int
kerberos(void)
{
	char		 p[64];
	struct stat	 st;

	(void)snprintf(p, sizeof(p), "/tmp/krb5cc_%lu",
	    (unsigned long)geteuid());
	return getenv("KRB5CCNAME") != NULL || getenv("KRB5_CONFIG") != NULL ||
	    stat("/etc/krb5.conf", &st) == 0 || stat(p, &st) == 0;
}

/* host is this machine: a loopback address, or localhost */
static int
loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

static void
cfg_free(void)
{
	free(cfg.host);
	free(cfg.port);
	free(cfg.db);
	free(cfg.user);
	free(cfg.password);
	free(cfg.app);
	memset(&cfg, 0, sizeof(cfg));
}

int
pgwire_usable(const char *conninfo)
{
	struct passwd	*pw;
	char		*sslmode = NULL, *timeout = NULL, *end;
	const char	*p;
	long		 t;
	int		 ok = 0;

	cfg_free();
	if (!env_plain() || parse_url(conninfo, &sslmode, &timeout) == -1 ||
	    from_env(&cfg.host, "PGHOST") == -1 ||
	    from_env(&cfg.port, "PGPORT") == -1 ||
	    from_env(&cfg.user, "PGUSER") == -1 ||
	    from_env(&cfg.db, "PGDATABASE") == -1 ||
	    from_env(&cfg.password, "PGPASSWORD") == -1 ||
	    from_env(&cfg.app, "PGAPPNAME") == -1 ||
	    from_env(&sslmode, "PGSSLMODE") == -1 ||
	    from_env(&timeout, "PGCONNECT_TIMEOUT") == -1)
		goto done;
	if (cfg.host == NULL)
		cfg.host = xstrdup("/var/run/postgresql");
	if (cfg.port == NULL)
		cfg.port = xstrdup("5432");
	if (cfg.user == NULL) {
		if ((pw = getpwuid(geteuid())) == NULL)
			goto done;
		cfg.user = xstrdup(pw->pw_name);
	}
	if (cfg.db == NULL)
		cfg.db = xstrdup(cfg.user);
	/* a port libpq takes as it is; a password SASLprep leaves alone */
	if (strspn(cfg.port, "0123456789") != strlen(cfg.port) ||
	    strlen(cfg.port) > 5 || strtol(cfg.port, NULL, 10) < 1 ||
	    strtol(cfg.port, NULL, 10) > 65535)
		goto done;
	for (p = cfg.password; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			goto done;
	if (timeout != NULL) {
		errno = 0;
		t = strtol(timeout, &end, 10);
		if (errno != 0 || *end != '\0' || end == timeout ||
		    t > INT_MAX)
			goto done;
		cfg.timeout = t <= 0 ? 0 : t < 2 ? 2 : (int)t;
	}
	cfg.local = cfg.host[0] == '/';
	if (cfg.local) {
		if (strlen(cfg.host) + 16 >=
		    sizeof(((struct sockaddr_un *)NULL)->sun_path))
			goto done;
	} else if (!loopback(cfg.host) || kerberos())
		goto done;
	if (sslmode == NULL || strcmp(sslmode, "prefer") == 0)
		cfg.ssl = !cfg.local;
	else if (strcmp(sslmode, "disable") != 0 &&
	    strcmp(sslmode, "allow") != 0)
		goto done;
	ok = 1;
done:
	free(sslmode);
	free(timeout);
	if (!ok)
		cfg_free();
	return ok;
}

/* --- bytes in and out -------------------------------------------------- */

static int
fail(PGconn *c, const char *m)
{
	buf_reset(&c->err);
	buf_adds(&c->err, m);
	buf_addc(&c->err, '\n');
	return -1;
}

/* wait for events on c's socket, up to its deadline */
static int
wait_fd(PGconn *c, short events)
{
	struct pollfd	 p = { c->fd, events, 0 };
	int64_t		 left;
	int		 ms = -1, n;

	for (;;) {
		if (c->deadline != 0) {
			if ((left = c->deadline - mono_ns()) <= 0)
				return fail(c, "timeout expired");
			ms = (int)((left + 999999) / 1000000);
		}
		if ((n = poll(&p, 1, ms)) > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return fail(c, strerror(errno));
	}
}

/*
 * After send(2) or recv(2) gave r: 0 to go on (bytes moved, or it
 * waited for more to be possible), -1 if the connection is gone
 */
static int
moved(PGconn *c, ssize_t r, short events)
{
	if (r > 0)
		return 0;
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return wait_fd(c, events);
	return fail(c, "server closed the connection unexpectedly");
}

static int
put(PGconn *c, const void *p, size_t n)
{
	const char	*b = p;
	ssize_t		 w;

	while (n > 0) {
		w = send(c->fd, b, n, MSG_NOSIGNAL);
		if (moved(c, w, POLLOUT) == -1)
			return -1;
		if (w > 0) {
			b += w;
			n -= (size_t)w;
		}
	}
	return 0;
}

/*
 * At least need unread bytes in c->in.  The buffer grows with what
 * comes, never to the length a message's header claims before its
 * bytes are there.
 */
static int
fill(PGconn *c, size_t need)
{
	ssize_t	r;

	if (c->off > 0 && (c->off == c->in.len || c->off > c->in.cap / 2)) {
		memmove(c->in.data, c->in.data + c->off, c->in.len - c->off);
		c->in.len -= c->off;
		c->off = 0;
	}
	while (c->in.len - c->off < need) {
		if (c->in.cap - c->in.len < 65536)
			buf_grow(&c->in, 65536);
		r = recv(c->fd, c->in.data + c->in.len,
		    c->in.cap - c->in.len - 1, 0);
		if (moved(c, r, POLLIN) == -1)
			return -1;
		if (r > 0)
			c->in.len += (size_t)r;
	}
	return 0;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
add32(struct buf *b, uint32_t v)
{
	unsigned char	p[4] = { v >> 24, v >> 16, v >> 8, v };

	buf_add(b, p, 4);
}

/* the next message: its type, body and body length */
static int
next_msg(PGconn *c, int *type, const unsigned char **body, uint32_t *len)
{
	const unsigned char *p;
	uint32_t	 n;

	if (fill(c, 5) == -1)
		return -1;
	p = (const unsigned char *)c->in.data + c->off;
	n = be32(p + 1);
	if (n < 4 || n > (c->status == CONNECTION_OK ? MSG_MAX :
	    START_MSG_MAX))
		return fail(c, "invalid message length from the server");
	if (fill(c, (size_t)n + 1) == -1)
		return -1;
	p = (const unsigned char *)c->in.data + c->off;
	*type = p[0];
	*body = p + 5;
	*len = n - 4;
	c->off += (size_t)n + 1;
	return 0;
}

/* a message: type, then body b (its length filled in here) */
static int
send_msg(PGconn *c, int type, const struct buf *b)
{
	struct buf	m = { 0 };
	int		rc;

	buf_addc(&m, type);
	add32(&m, (uint32_t)b->len + 4);
	buf_add(&m, b->data != NULL ? b->data : "", b->len);
	rc = put(c, m.data, m.len);
	buf_free(&m);
	return rc;
}

/*
 * An ErrorResponse or NoticeResponse as libpq prints it by default:
 * severity and message, then detail, hint and context lines
 */
static void
format_fields(struct buf *out, const unsigned char *p, uint32_t n,
    char *sqlstate)
{
	static const struct { int code; const char *label; } lines[] = {
		{ 'D', "DETAIL" }, { 'H', "HINT" }, { 'W', "CONTEXT" },
	};
	const char	*f[256] = { 0 };
	const unsigned char *end = p + n, *z;
	size_t		 i;

	/* code, text, NUL: the last field may not be cut short */
	while (end - p > 1 && *p != '\0' &&
	    (z = memchr(p + 1, '\0', (size_t)(end - p - 1))) != NULL) {
		f[*p] = (const char *)p + 1;
		p = z + 1;
	}
	buf_printf(out, "%s:  %s\n", f['S'] != NULL ? f['S'] : "ERROR",
	    f['M'] != NULL ? f['M'] : "");
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (f[lines[i].code] != NULL)
			buf_printf(out, "%s:  %s\n", lines[i].label,
			    f[lines[i].code]);
	if (sqlstate != NULL && f['C'] != NULL)
		(void)snprintf(sqlstate, 6, "%s", f['C']);
}

static void
notice(const unsigned char *p, uint32_t n)
{
	struct buf	m = { 0 };

	format_fields(&m, p, n, NULL);
	(void)fputs(m.data, stderr);
	buf_free(&m);
}

/* --- authentication ---------------------------------------------------- */

static void
hmac256(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[SHA256_DIGEST_LENGTH])
{
	static const uint8_t xpad[2] = { 0x36, 0x5c };	/* inner, outer */
	SHA2_CTX	 ctx;
	uint8_t		 k[SHA256_BLOCK_LENGTH] = { 0 }, pad[SHA256_BLOCK_LENGTH];
	size_t		 i, pass;

	if (klen > sizeof(k)) {
		SHA256Init(&ctx);
		SHA256Update(&ctx, key, klen);
		SHA256Final(k, &ctx);
	} else
		memcpy(k, key, klen);
	/* H(k ^ outer, H(k ^ inner, msg)) */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < sizeof(k); i++)
			pad[i] = k[i] ^ xpad[pass];
		SHA256Init(&ctx);
		SHA256Update(&ctx, pad, sizeof(pad));
		if (pass == 0)
			SHA256Update(&ctx, msg, mlen);
		else
			SHA256Update(&ctx, out, SHA256_DIGEST_LENGTH);
		SHA256Final(out, &ctx);
	}
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
b64_enc(struct buf *b, const uint8_t *p, size_t n)
{
	uint32_t	v;
	size_t		i;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16 |
		    (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		buf_addc(b, b64[v >> 18 & 63]);
		buf_addc(b, b64[v >> 12 & 63]);
		buf_addc(b, i + 1 < n ? b64[v >> 6 & 63] : '=');
		buf_addc(b, i + 2 < n ? b64[v & 63] : '=');
	}
}

/* s[0..n) base64 into out (at most max bytes); its length, -1 if bad */
static long
b64_dec(const char *s, size_t n, uint8_t *out, size_t max)
{
	uint32_t	 v = 0;
	size_t		 i, o = 0;
	int		 bits = 0;
	const char	*q;

	for (i = 0; i < n && s[i] != '='; i++) {
		if ((q = memchr(b64, s[i], 64)) == NULL)
			return -1;
		v = v << 6 | (uint32_t)(q - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o == max)
				return -1;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	return (long)o;
}

/* attribute a ("r=", "s=", ...) of a SCRAM message, up to its comma */
static const char *
scram_attr(const char *m, const char *a, size_t *len)
{
	const char	*p;

	for (p = m; p != NULL; p = (p = strchr(p, ',')) ? p + 1 : NULL)
		if (strncmp(p, a, 2) == 0) {
			*len = strcspn(p + 2, ",");
			return p + 2;
		}
	return NULL;
}

struct scram {
	int		 asked;		/* a password was asked for */
	int		 step;		/* messages sent; 3 once verified */
	struct buf	 first_bare;	/* client-first-message-bare */
	struct buf	 auth;		/* AuthMessage */
	uint8_t		 salted[SHA256_DIGEST_LENGTH];
};

/* SASLInitialResponse: SCRAM-SHA-256, without channel binding */
static int
scram_first(PGconn *c, struct scram *sc)
{
	uint8_t		 nonce[18];
	struct buf	 b = { 0 };
	int		 rc;

	if (getentropy(nonce, sizeof(nonce)) == -1)
		return fail(c, "could not generate a nonce");
	buf_adds(&sc->first_bare, "n=,r=");
	b64_enc(&sc->first_bare, nonce, sizeof(nonce));
	sc->step = 1;
	buf_add(&b, "SCRAM-SHA-256", 14);
	add32(&b, (uint32_t)sc->first_bare.len + 3);
	buf_adds(&b, "n,,");
	buf_add(&b, sc->first_bare.data, sc->first_bare.len);
	rc = send_msg(c, 'p', &b);
	buf_free(&b);
	return rc;
}

/* the server's first message: the proof of the password in answer */
static int
scram_final(PGconn *c, struct scram *sc, const unsigned char *p,
    uint32_t n)
{
	struct buf	 srv = { 0 }, fin = { 0 };
	uint8_t		 salt[128], u[SHA256_DIGEST_LENGTH],
			 ck[SHA256_DIGEST_LENGTH], sk[SHA256_DIGEST_LENGTH],
			 sig[SHA256_DIGEST_LENGTH];
	SHA2_CTX	 ctx;
	const char	*r, *s, *it, *cn;
	size_t		 rl, sl, il, cl, i;
	long		 saltlen, iters, k;
	int		 j, rc = -1;

	buf_add(&srv, p, n);
	r = scram_attr(srv.data, "r=", &rl);
	s = scram_attr(srv.data, "s=", &sl);
	it = scram_attr(srv.data, "i=", &il);
	cn = scram_attr(sc->first_bare.data, "r=", &cl);
	if (r == NULL || s == NULL || it == NULL || rl <= cl ||
	    strncmp(r, cn, cl) != 0 ||
	    (saltlen = b64_dec(s, sl, salt, sizeof(salt) - 4)) <= 0 ||
	    (iters = strtol(it, NULL, 10)) < 1 || iters > SCRAM_ITER_MAX) {
		fail(c, "malformed SCRAM message from the server");
		goto done;
	}
	/* Hi(password, salt, i): PBKDF2 with HMAC-SHA-256, one block */
	salt[saltlen] = 0;
	salt[saltlen + 1] = 0;
	salt[saltlen + 2] = 0;
	salt[saltlen + 3] = 1;
	hmac256(cfg.password, strlen(cfg.password), salt,
	    (size_t)saltlen + 4, u);
	memcpy(sc->salted, u, sizeof(u));
	for (k = 1; k < iters; k++) {
		hmac256(cfg.password, strlen(cfg.password), u, sizeof(u), u);
		for (j = 0; j < SHA256_DIGEST_LENGTH; j++)
			sc->salted[j] ^= u[j];
	}
	buf_adds(&fin, "c=biws,r=");
	buf_add(&fin, r, rl);
	buf_add(&sc->auth, sc->first_bare.data, sc->first_bare.len);
	buf_addc(&sc->auth, ',');
	buf_add(&sc->auth, srv.data, srv.len);
	buf_addc(&sc->auth, ',');
	buf_add(&sc->auth, fin.data, fin.len);
	hmac256(sc->salted, sizeof(sc->salted), "Client Key", 10, ck);
	SHA256Init(&ctx);
	SHA256Update(&ctx, ck, sizeof(ck));
	SHA256Final(sk, &ctx);
	hmac256(sk, sizeof(sk), sc->auth.data, sc->auth.len, sig);
	for (i = 0; i < sizeof(ck); i++)
		ck[i] ^= sig[i];
	buf_adds(&fin, ",p=");
	b64_enc(&fin, ck, sizeof(ck));
	sc->step = 2;
	rc = send_msg(c, 'p', &fin);
done:
	buf_free(&srv);
	buf_free(&fin);
	return rc;
}

/* the server's final message: it knew the password too */
static int
scram_check(PGconn *c, struct scram *sc, const unsigned char *p,
    uint32_t n)
{
	uint8_t		 key[SHA256_DIGEST_LENGTH], want[SHA256_DIGEST_LENGTH],
			 got[SHA256_DIGEST_LENGTH];
	struct buf	 m = { 0 };
	const char	*v;
	size_t		 vl;
	int		 ok;

	buf_add(&m, p, n);
	hmac256(sc->salted, sizeof(sc->salted), "Server Key", 10, key);
	hmac256(key, sizeof(key), sc->auth.data, sc->auth.len, want);
	ok = (v = scram_attr(m.data, "v=", &vl)) != NULL &&
	    b64_dec(v, vl, got, sizeof(got)) == (long)sizeof(got) &&
	    memcmp(got, want, sizeof(got)) == 0;
	buf_free(&m);
	if (!ok)
		return fail(c, "invalid SCRAM server signature");
	sc->step = 3;
	return 0;
}

static void
md5_hex(const void *a, size_t an, const void *b, size_t bn, char out[33])
{
	MD5_CTX		ctx;
	uint8_t		d[16];
	int		i;

	MD5Init(&ctx);
	MD5Update(&ctx, a, an);
	MD5Update(&ctx, b, bn);
	MD5Final(d, &ctx);
	for (i = 0; i < 16; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* answer one authentication request, code with body p; 1 when done */
static int
authenticate(PGconn *c, struct scram *sc, uint32_t code,
    const unsigned char *p, uint32_t n)
{
	struct buf	 b = { 0 };
	char		 h[33], h2[33];
	const unsigned char *m;
	int		 rc;

	/* a SCRAM exchange is finished, the server proven, or none begun */
	if (code == 0)
		return sc->step == 0 || sc->step == 3 ? 1 :
		    fail(c, "SCRAM exchange not completed");
	if ((code == 11 && sc->step != 1) || (code == 12 && sc->step != 2))
		return fail(c, "SCRAM message out of turn");
	if (code == 3 || code == 5 || code == 10) {
		/* once: a server that asks again is not answered forever */
		if (sc->asked++)
			return fail(c, "a password asked for twice");
		if (cfg.password == NULL)
			return fail(c, "a password is needed");
	}
	switch (code) {
	case 3:		/* cleartext */
		buf_add(&b, cfg.password, strlen(cfg.password) + 1);
		break;
	case 5:		/* md5: a salt of 4 bytes */
		if (n < 4)
			return fail(c, "malformed MD5 request");
		md5_hex(cfg.password, strlen(cfg.password), cfg.user,
		    strlen(cfg.user), h);
		md5_hex(h, 32, p, 4, h2);
		buf_adds(&b, "md5");
		buf_add(&b, h2, 33);
		break;
	case 10:	/* SASL: the mechanisms offered */
		for (m = p; m < p + n && *m != '\0';
		    m += strnlen((const char *)m, (size_t)(p + n - m)) + 1)
			if (strncmp((const char *)m, "SCRAM-SHA-256",
			    (size_t)(p + n - m)) == 0)
				return scram_first(c, sc);
		return fail(c, "no SASL mechanism this client speaks");
	case 11:
		return scram_final(c, sc, p, n);
	case 12:
		return scram_check(c, sc, p, n);
	default:
		return fail(c, "an authentication method this client "
		    "does not speak");
	}
	rc = send_msg(c, 'p', &b);
	buf_free(&b);
	return rc;
}

/* --- connecting -------------------------------------------------------- */

/* a connected socket to the server, in c->fd */
static int
open_socket(PGconn *c)
{
	struct addrinfo	 hints = { 0 }, *ai = NULL, *a;
	struct sockaddr_un un = { 0 };
	int		 e = ECONNREFUSED, one = 1;
	socklen_t	 el = sizeof(e);

	if (cfg.local) {
		un.sun_family = AF_UNIX;
		(void)snprintf(un.sun_path, sizeof(un.sun_path),
		    "%s/.s.PGSQL.%s", cfg.host, cfg.port);
		if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			return fail(c, strerror(errno));
		if (connect(c->fd, (struct sockaddr *)&un, sizeof(un)) == 0)
			return 0;
		return fail(c, strerror(errno));
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(cfg.host, cfg.port, &hints, &ai) != 0)
		return fail(c, "could not translate host name");
	for (a = ai; a != NULL; a = a->ai_next) {
		if (c->fd != -1)
			(void)close(c->fd);
		if ((c->fd = socket(a->ai_family, a->ai_socktype |
		    SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol)) == -1)
			continue;
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS)
			continue;
		if (wait_fd(c, POLLOUT) == -1)
			break;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 &&
		    e == 0)
			break;
	}
	freeaddrinfo(ai);
	if (a == NULL)
		return fail(c, strerror(e));
	return c->err.len > 0 ? -1 : 0;
}

/* server_version as PQserverVersion() reads it */
static int
version_of(const char *v)
{
	char	*e;
	long	 major, minor = 0, rev = 0;

	major = strtol(v, &e, 10);
	if (e == v)
		return 0;
	if (*e == '.') {
		minor = strtol(e + 1, &e, 10);
		if (*e == '.')
			rev = strtol(e + 1, &e, 10);
	}
	return (int)(major >= 10 ? major * 10000 + minor :
	    major * 10000 + minor * 100 + rev);
}

/* from the TLS request to ReadyForQuery, on c's connected socket */
static int
handshake(PGconn *c, const char *fallback_app)
{
	struct scram	 sc = { 0, 0, { 0 }, { 0 }, { 0 } };
	struct buf	 b = { 0 };
	const unsigned char *p;
	uint32_t	 n;
	int		 type, rc = -1, done = 0, authed = 0;
	char		 ans;

	if (cfg.ssl) {
		add32(&b, 8);
		add32(&b, SSL_REQUEST);
		if (put(c, b.data, b.len) == -1 || fill(c, 1) == -1)
			goto out;
		ans = c->in.data[c->off++];
		if (ans != 'N') {
			fail(c, "the server offers TLS");
			goto out;
		}
		buf_reset(&b);
	}
	add32(&b, 0);
	add32(&b, PROTO_3_0);
	buf_add(&b, "user", 5);
	buf_add(&b, cfg.user, strlen(cfg.user) + 1);
	buf_add(&b, "database", 9);
	buf_add(&b, cfg.db, strlen(cfg.db) + 1);
	if (cfg.app != NULL || fallback_app != NULL) {
		buf_add(&b, "application_name", 17);
		buf_adds(&b, cfg.app != NULL ? cfg.app : fallback_app);
		buf_addc(&b, '\0');
	}
	buf_addc(&b, '\0');
	b.data[0] = (char)(b.len >> 24);
	b.data[1] = (char)(b.len >> 16);
	b.data[2] = (char)(b.len >> 8);
	b.data[3] = (char)b.len;
	if (put(c, b.data, b.len) == -1)
		goto out;
	while (!done) {
		if (next_msg(c, &type, &p, &n) == -1)
			goto out;
		switch (type) {
		case 'R':
			if (n < 4 || authed)
				goto bad;
			if ((rc = authenticate(c, &sc, be32(p), p + 4,
			    n - 4)) == -1)
				goto out;
			authed = rc == 1;
			rc = -1;
			break;
		case 'S':	/* name, NUL, value, NUL */
			if (!authed)
				goto bad;
			if (n > 15 && p[n - 1] == '\0' &&
			    memcmp(p, "server_version", 15) == 0)
				c->version = version_of((const char *)p + 15);
			break;
		case 'K':
			if (!authed)
				goto bad;
			break;
		case 'N':
			notice(p, n);
			break;
		case 'E':
			buf_reset(&c->err);
			format_fields(&c->err, p, n, NULL);
			goto out;
		case 'Z':	/* as libpq: only once authenticated */
			if (!authed)
				goto bad;
			done = 1;
			break;
		default:
			goto bad;
		}
	}
	rc = 0;
	c->idle = 1;
	c->status = CONNECTION_OK;
	goto out;
bad:
	fail(c, "unexpected message from the server");
out:
	buf_free(&b);
	buf_free(&sc.first_bare);
	buf_free(&sc.auth);
	explicit_bzero(sc.salted, sizeof(sc.salted));
	return rc;
}

static int
start(PGconn *c, const char *fallback_app)
{
	return open_socket(c) == -1 ? -1 : handshake(c, fallback_app);
}

/*
 * keys and values are as pglive.c gives them: the URL (already read
 * by pgwire_usable) and the fallback application name
 */
static PGconn *
w_connectdbParams(const char *const *keys, const char *const *vals,
    int expand)
{
	PGconn	*c = xcalloc(1, sizeof(*c));
	size_t	 i;
	const char *app = NULL;

	c->fd = -1;
	c->status = CONNECTION_BAD;
	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], "fallback_application_name") == 0)
			app = vals[i];
	if (cfg.timeout > 0)
		c->deadline = mono_ns() + (int64_t)cfg.timeout * 1000000000;
	(void)start(c, app);
	c->deadline = 0;
	return c;
}

static ConnStatusType
w_status(const PGconn *c)
{
	return c != NULL ? c->status : CONNECTION_BAD;
}

static char *
w_errorMessage(const PGconn *c)
{
	return c != NULL && c->err.data != NULL ? c->err.data : (char *)"";
}

static int
w_needsPassword(const PGconn *c)
{
	return 0;
}

static void
w_finish(PGconn *c)
{
	static const char term[] = { 'X', 0, 0, 0, 4 };

	if (c == NULL)
		return;
	if (c->fd != -1) {
		if (c->status == CONNECTION_OK)
			(void)send(c->fd, term, sizeof(term),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)close(c->fd);
	}
	buf_free(&c->in);
	buf_free(&c->err);
	free(c);
}

static char *
w_host(const PGconn *c)
{
	return cfg.host;
}

static char *
w_port(const PGconn *c)
{
	return cfg.port;
}

static char *
w_db(const PGconn *c)
{
	return cfg.db;
}

static int
w_serverVersion(const PGconn *c)
{
	return c != NULL && c->status == CONNECTION_OK ? c->version : 0;
}

/* --- queries ----------------------------------------------------------- */

static int
w_sendQuery(PGconn *c, const char *q)
{
	struct buf	b = { 0 };
	int		rc;

	if (c->status != CONNECTION_OK || !c->idle) {
		fail(c, "another command is already in progress");
		return 0;
	}
	buf_add(&b, q, strlen(q) + 1);
	rc = send_msg(c, 'Q', &b);
	buf_free(&b);
	if (rc == -1)
		return 0;
	c->idle = 0;
	buf_reset(&c->err);
	return 1;
}

static PGresult *
new_result(ExecStatusType status, int nfields)
{
	PGresult	*r = xcalloc(1, sizeof(*r));

	r->status = status;
	r->nfields = nfields;
	return r;
}

/* a DataRow into r */
static int
add_row(PGresult *r, const unsigned char *p, uint32_t n)
{
	const unsigned char *end = p + n;
	uint32_t	 len;
	int		 i;

	if (n < 2 || ((int)p[0] << 8 | p[1]) != r->nfields)
		return -1;
	p += 2;
	if (r->cellcap - r->ncell < (size_t)r->nfields) {
		r->cellcap = r->cellcap ? r->cellcap * 2 : 256;
		if (r->cellcap < r->ncell + (size_t)r->nfields)
			r->cellcap = r->ncell + (size_t)r->nfields;
		r->cell = xreallocarray(r->cell, r->cellcap,
		    sizeof(*r->cell));
	}
	for (i = 0; i < r->nfields; i++) {
		if (end - p < 4)
			return -1;
		len = be32(p);
		p += 4;
		if (len == UINT32_MAX) {
			r->cell[r->ncell++] = CELL_NULL;
			continue;
		}
		if ((size_t)(end - p) < len)
			return -1;
		r->cell[r->ncell++] = r->data.len;
		buf_add(&r->data, p, len);
		buf_addc(&r->data, '\0');
		p += len;
	}
	r->ntuples++;
	return 0;
}

static void
w_clear(PGresult *r)
{
	if (r == NULL)
		return;
	free(r->cell);
	buf_free(&r->data);
	free(r);
}

/*
 * The next statement's result, NULL once the server is ready for the
 * next query; an error is a result too (PGRES_FATAL_ERROR), and its
 * message c's
 */
static PGresult *
w_getResult(PGconn *c)
{
	PGresult	*r = NULL;
	const unsigned char *p;
	uint32_t	 n;
	int		 type;

	if (c == NULL || c->status != CONNECTION_OK || c->idle)
		return NULL;
	for (;;) {
		if (next_msg(c, &type, &p, &n) == -1)
			goto broken;
		switch (type) {
		case 'T':
			if (r != NULL || n < 2)
				goto bad;
			r = new_result(PGRES_TUPLES_OK, (int)p[0] << 8 | p[1]);
			break;
		case 'D':
			if (r == NULL || add_row(r, p, n) == -1)
				goto bad;
			break;
		case 'C':
			return r != NULL ? r : new_result(PGRES_COMMAND_OK, 0);
		case 'I':
			if (r != NULL)
				goto bad;
			return new_result(PGRES_EMPTY_QUERY, 0);
		case 'E':
			w_clear(r);
			r = new_result(PGRES_FATAL_ERROR, 0);
			buf_reset(&c->err);
			format_fields(&c->err, p, n, r->sqlstate);
			return r;
		case 'N':
			notice(p, n);
			break;
		case 'Z':
			if (r != NULL)
				goto bad;
			c->idle = 1;
			return NULL;
		case 'S':
		case 'A':
			break;
		default:
			goto bad;
		}
	}
bad:
	fail(c, "unexpected message from the server");
broken:
	/* the stream cannot be followed further: the connection ends */
	c->status = CONNECTION_BAD;
	w_clear(r);
	return new_result(PGRES_FATAL_ERROR, 0);
}

static char *
w_escapeLiteral(PGconn *c, const char *s, size_t len)
{
	struct buf	 b = { 0 };
	size_t		 i;

	len = strnlen(s, len);
	if (memchr(s, '\\', len) != NULL)
		buf_adds(&b, " E");
	buf_addc(&b, '\'');
	for (i = 0; i < len; i++) {
		if (s[i] == '\'' || s[i] == '\\')
			buf_addc(&b, s[i]);
		buf_addc(&b, s[i]);
	}
	buf_addc(&b, '\'');
	return buf_steal(&b);
}

static void
w_freemem(void *p)
{
	free(p);
}

/*
 * PQexecParams for what pglive.c asks: text parameters $1 to $n, sent
 * as literals in a simple query (the statement holds no other "$");
 * any results still due are read and dropped first, as libpq does
 */
static PGresult *
w_execParams(PGconn *c, const char *q, int n, const Oid *types,
    const char *const *vals, const int *lens, const int *fmts, int rfmt)
{
	PGresult	*r, *last = NULL;
	struct buf	 b = { 0 };
	const char	*p;
	char		*lit;
	long		 k;

	while ((r = w_getResult(c)) != NULL)
		w_clear(r);
	for (p = q; *p != '\0'; p++) {
		if (*p != '$' || p[1] < '1' || p[1] > '9') {
			buf_addc(&b, *p);
			continue;
		}
		k = strtol(p + 1, (char **)&p, 10);
		p--;
		if (k > n || vals[k - 1] == NULL)
			buf_adds(&b, "NULL");
		else {
			lit = w_escapeLiteral(c, vals[k - 1], SIZE_MAX);
			buf_adds(&b, lit);
			free(lit);
		}
	}
	if (w_sendQuery(c, b.data) == 1)
		while ((r = w_getResult(c)) != NULL) {
			w_clear(last);
			last = r;
		}
	buf_free(&b);
	return last;
}

static ExecStatusType
w_resultStatus(const PGresult *r)
{
	return r != NULL ? r->status : PGRES_FATAL_ERROR;
}

static char *
w_resultErrorField(const PGresult *r, int code)
{
	return r != NULL && code == PG_DIAG_SQLSTATE &&
	    r->sqlstate[0] != '\0' ? (char *)r->sqlstate : NULL;
}

static int
w_ntuples(const PGresult *r)
{
	return r != NULL ? r->ntuples : 0;
}

static int
w_nfields(const PGresult *r)
{
	return r != NULL ? r->nfields : 0;
}

static size_t
cell(const PGresult *r, int row, int field)
{
	if (r == NULL || row < 0 || row >= r->ntuples || field < 0 ||
	    field >= r->nfields)
		return CELL_NULL;
	return r->cell[(size_t)row * (size_t)r->nfields + (size_t)field];
}

static char *
w_getvalue(const PGresult *r, int row, int field)
{
	size_t	o = cell(r, row, field);

	return o == CELL_NULL ? (char *)"" : r->data.data + o;
}

static int
w_getisnull(const PGresult *r, int row, int field)
{
	return cell(r, row, field) == CELL_NULL;
}

void
pgwire_api(struct pqapi *api)
{
	api->connectdbParams = w_connectdbParams;
	api->status = w_status;
	api->errorMessage = w_errorMessage;
	api->needsPassword = w_needsPassword;
	api->finish = w_finish;
	api->host = w_host;
	api->port = w_port;
	api->db = w_db;
	api->execParams = w_execParams;
	api->resultStatus = w_resultStatus;
	api->resultErrorField = w_resultErrorField;
	api->ntuples = w_ntuples;
	api->nfields = w_nfields;
	api->getvalue = w_getvalue;
	api->getisnull = w_getisnull;
	api->clear = w_clear;
	api->serverVersion = w_serverVersion;
	api->escapeLiteral = w_escapeLiteral;
	api->freemem = w_freemem;
	api->sendQuery = w_sendQuery;
	api->getResult = w_getResult;
}
