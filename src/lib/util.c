/* util.c: clocks, units, suggestions and fd helpers; see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* a non-negative decimal number followed by a unit from the table */
static int64_t
parse_unit(const char *s, const char *const *units, const double *scale,
    int nunits, int unit_required)
{
	char	 num[64];
	const char *end = s;
	double	 v;
	int64_t	 r;
	int	 i, frac = 0;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	/* digits, maybe a fraction: no exponent, hex or sign (strtod
	   would take "1e3s" as 1000 seconds) */
	while (*end >= '0' && *end <= '9')
		end++;
	if (*end == '.') {
		frac = 1;
		if (*++end < '0' || *end > '9')
			return -1;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	if ((size_t)(end - s) >= sizeof(num))
		return -1;
	memcpy(num, s, (size_t)(end - s));
	num[end - s] = '\0';
	errno = 0;
	v = strtod(num, NULL);
	if (errno != 0 || !isfinite(v))
		return -1;
	if (*end == '\0') {
		/* bytes are whole: "1.5" is not 1 */
		if (unit_required || frac)
			return -1;
		return v > 9.2e18 ? -1 : (int64_t)v;
	}
	for (i = 0; i < nunits; i++)
		if (strcmp(end, units[i]) == 0) {
			v *= scale[i];
			if (v > 9.2e18)
				return -1;
			/* llround(v) for v >= 0, without libm */
			r = (int64_t)v;
			r = v - (double)r >= 0.5 ? r + 1 : r;
			/* less than one unit of what is kept: not 0 */
			return r == 0 && v > 0 ? -1 : r;
		}
	return -1;
}

int64_t
parse_duration_ns(const char *s)
{
	static const char *const u[] = { "ns", "us", "ms", "s", "m", "h",
	    "d" };
	static const double sc[] = { 1, 1e3, 1e6, 1e9, 60e9, 3600e9, 86400e9 };

	return parse_unit(s, u, sc, 7, 1);
}

int64_t
parse_size(const char *s)
{
	static const char *const u[] = { "B", "K", "KB", "KiB", "M", "MB",
	    "MiB", "G", "GB", "GiB", "T", "TB", "TiB" };
	static const double sc[] = { 1, 1024.0, 1024.0, 1024.0, 1048576.0,
	    1048576.0, 1048576.0, 1073741824.0, 1073741824.0, 1073741824.0,
	    1099511627776.0, 1099511627776.0, 1099511627776.0 };

	return parse_unit(s, u, sc, 13, 0);
}

void
fmt_duration(int64_t ns, char *out, size_t sz)
{
	double	 s = (double)ns / 1e9;

	if (ns < 0)
		snprintf(out, sz, "-");
	else if (ns < 1000000)
		snprintf(out, sz, "%.0fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(out, sz, "%.0fms", (double)ns / 1e6);
	else if (s < 60)
		snprintf(out, sz, "%.2fs", s);
	else
		snprintf(out, sz, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

void
fmt_size(int64_t n, char *out, size_t sz)
{
	if (n < 1024)
		snprintf(out, sz, "%lldB", (long long)n);
	else if (n < 1048576)
		snprintf(out, sz, "%.1fK", (double)n / 1024);
	else if (n < 1073741824)
		snprintf(out, sz, "%.1fM", (double)n / 1048576);
	else
		snprintf(out, sz, "%.1fG", (double)n / 1073741824);
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, k;
	size_t	 row[64], diag, tmp;

	if (la >= 64 || lb >= 64)
		return SIZE_MAX;
	for (k = 0; k <= lb; k++)
		row[k] = k;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (k = 1; k <= lb; k++) {
			tmp = row[k];
			row[k] = diag + (a[i - 1] != b[k - 1]);
			if (row[k - 1] + 1 < row[k])
				row[k] = row[k - 1] + 1;
			if (tmp + 1 < row[k])
				row[k] = tmp + 1;
			diag = tmp;
		}
	}
	return row[lb];
}

const char *
nearest_name(const char *w, const char *const *cand, size_t n)
{
	size_t	 i, d, best = SIZE_MAX, limit;
	const char *r = NULL;

	limit = strlen(w) / 3 + 1;
	if (limit < 2)
		limit = 2;
	for (i = 0; i < n; i++) {
		d = edit_distance(w, cand[i]);
		if (d < best) {
			best = d;
			r = cand[i];
		}
	}
	return best <= limit ? r : NULL;
}

int
set_nonblock(int fd, int on)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A closed standard descriptor gets /dev/null, so that no file opened
 * later takes its number (a spill file as "stdout").  For a stage
 * (strict) it is opened the other way round: reading a closed stdin and
 * writing a closed stdout fail (EBADF), as they would have, rather than
 * read nothing or lose the output with exit 0.
 */
void
fd_sanitize_std(int strict)
{
	int	 fd, mode;

	for (fd = 0; fd < 3; fd++) {
		if (strict)		/* unusable: stdin only for writing */
			mode = fd == 0 ? O_WRONLY : O_RDONLY;
		else
			mode = fd == 0 ? O_RDONLY : O_WRONLY;
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
		    open("/dev/null", mode) != fd)
			_exit(71);
	}
}

uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *k = p;
	uint64_t	 h = 14695981039346656037ULL;

	while (n-- > 0)
		h = (h ^ *k++) * 1099511628211ULL;
	return h;
}

int
proc_stat_field(const char *text, int n, unsigned long long *v)
{
	const char	*p;
	char		*e;
	int		 f;

	if ((p = strrchr(text, ')')) == NULL || n < 3)
		return -1;
	p++;
	for (f = 2; f < n; f++) {	/* p is before field f + 1 */
		if (*p != ' ')
			return -1;
		p++;
		if (f + 1 == n)
			break;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	if (*p == '-')			/* a negative count: none */
		return -1;
	errno = 0;
	*v = strtoull(p, &e, 10);
	if (e == p || errno != 0 || (*e != ' ' && *e != '\n' && *e != '\0'))
		return -1;
	return 0;
}

void
fmt_utc_stamp(int64_t t, char *buf, size_t sz)
{
	int64_t	 days = t / 86400, secs = t % 86400, era, doe, yoe, doy, mp;
	int64_t	 y, m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* the proleptic Gregorian calendar from day 0 = 1970-01-01, in
	 * 400-year eras that start on March 1st (leap day last) */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	snprintf(buf, sz, "%04lld%02lld%02lldT%02lld%02lld%02lldZ",
	    (long long)y, (long long)m, (long long)d,
	    (long long)(secs / 3600), (long long)(secs / 60 % 60),
	    (long long)(secs % 60));
}

ssize_t
read_text(const char *path, char *buf, size_t size)
{
	ssize_t	 n;
	int	 fd;

	if (size == 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

size_t
utf8_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t	 k, len;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;	/* a continuation byte, or never used */
	if (n < len)
		return 0;
	for (k = 1; k < len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) ||	/* overlong */
	    (p[0] == 0xed && p[1] > 0x9f) ||	/* a surrogate */
	    (p[0] == 0xf0 && p[1] < 0x90) ||	/* overlong */
	    (p[0] == 0xf4 && p[1] > 0x8f))	/* above U+10FFFF */
		return 0;
	return len;
}
