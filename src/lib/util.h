/*
 * util.h: small helpers shared by the coordinator and the stages:
 * clocks, duration and size parsing and printing, nearest-name
 * suggestions, and fd utilities.  No allocation unless noted.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int64_t	 mono_ns(void);			/* CLOCK_MONOTONIC */
int64_t	 real_ns(void);			/* CLOCK_REALTIME */

/* "150ms", "2s", "1.5m", "1h", "7d", "250us": -1 if it does not parse */
int64_t	 parse_duration_ns(const char *);
/* "256M", "1G", "512K", "1024", "2GiB": -1 when it does not parse */
int64_t	 parse_size(const char *);
/* "1.23s", "45ms", "2m03s" */
void	 fmt_duration(int64_t, char *, size_t);
/* "3.1M", "512K", "17B" */
void	 fmt_size(int64_t, char *, size_t);

/*
 * "20261130T221435Z": seconds since the epoch as a UTC date and time,
 * without gmtime(3), which reads the time zone files on first use
 */
void	 fmt_utc_stamp(int64_t, char *, size_t);

/* closest of n candidates within a small edit distance, else NULL */
const char *nearest_name(const char *, const char *const *, size_t);

/* FNV-1a of n bytes */
uint64_t hash_bytes(const void *, size_t);

/*
 * field n (as proc(5) numbers them: 3 is the state) of the text of a
 * /proc/PID/stat, as an unsigned number; -1 if it has no such field or
 * the field is not a number.  The command name (field 2) may hold
 * spaces and parentheses: fields are counted after its last ')'.
 */
int	 proc_stat_field(const char *, int, unsigned long long *);

/* a small file (of /proc) into buf, NUL-terminated: its length, or -1
   when it cannot be read or is empty */
ssize_t	 read_text(const char *, char *, size_t);

int	 set_nonblock(int, int);
int	 write_all(int, const void *, size_t);	/* -1 and errno */
void	 fd_sanitize_std(int);		/* closed 0-2: /dev/null */

/* the length of the UTF-8 sequence at p (its first byte 0x80 or above,
   n bytes there), or 0 when it is not valid UTF-8 (RFC 3629: no
   overlong form, no surrogate, nothing above U+10FFFF) */
size_t	 utf8_len(const char *p, size_t n);

#endif
