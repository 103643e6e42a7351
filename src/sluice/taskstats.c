/*
 * taskstats.c: the peak resident size of each stage's own program, from
 * the exit records of Linux's task statistics (taskstats(7) of the
 * kernel's Documentation/accounting), where wait4(2) cannot tell it.
 *
 * sluice starts a stage with vfork(2) and execve(2), and Linux carries
 * the peak of the process that called execve (sluice's) into the
 * started program's ru_maxrss: every stage then looks at least as big
 * as sluice.  The exit record the kernel sends to a registered
 * listener holds hiwater_rss, the peak of the exiting process's own
 * address space, measured before it is released.  It is sent before
 * the parent is told of the exit, so it is already queued when reap()
 * sees the zombie.
 *
 * Listening is best effort: the kernel takes listeners only with
 * CAP_NET_ADMIN (root) and from its first user and PID namespaces (not
 * in most containers), may lack the feature, and drops records when
 * the socket's buffer is full (every process that exits on the machine
 * sends one: they are read at each reap and each sample).  Without a
 * record, wait4's figure stands, as before.  Nothing here ever fails a
 * run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>

#include "taskstats.h"
#include "banned.h"

static int	 tsfd = -1;
static pid_t	 self;
static uint16_t	 family;
static uint32_t	 seq;
static char	 cpus[64];	/* "0-N": the CPUs listened to */

struct req {
	struct nlmsghdr	 n;
	struct genlmsghdr g;
	char		 attrs[128];
};

/* one request with one attribute; 0 or -1 */
static int
request(uint16_t type, uint8_t cmd, uint16_t attr, const void *data,
    size_t len)
{
	struct req	 r;
	struct nlattr	*a;
	struct sockaddr_nl sa;

	if (NLA_HDRLEN + len > sizeof(r.attrs))
		return -1;
	memset(&r, 0, sizeof(r));
	r.n.nlmsg_type = type;
	r.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.n.nlmsg_seq = ++seq;
	r.g.cmd = cmd;
	r.g.version = 1;
	a = (struct nlattr *)(void *)r.attrs;
	a->nla_type = attr;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(r.attrs + NLA_HDRLEN, data, len);
	r.n.nlmsg_len = (uint32_t)(NLMSG_LENGTH(GENL_HDRLEN) +
	    NLA_ALIGN(a->nla_len));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	return sendto(tsfd, &r, r.n.nlmsg_len, 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == (ssize_t)r.n.nlmsg_len ? 0 : -1;
}

/* the first attribute of type want in [p, p+len), its payload length */
static const void *
attr(const char *p, size_t len, uint16_t want, size_t *plen)
{
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const void *)p;
		size_t	 al = a->nla_len;

		if (al < NLA_HDRLEN || al > len)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == want) {
			*plen = al - NLA_HDRLEN;
			return p + NLA_HDRLEN;
		}
		if (NLA_ALIGN(al) >= len)
			break;
		p += NLA_ALIGN(al);
		len -= NLA_ALIGN(al);
	}
	return NULL;
}

/*
 * Reads what is queued (waiting up to wait_ms for the first message):
 * exit records go to fn; *acked is set to the error of the ack of
 * request seq (0: done), if one came.  -1 when nothing could be read.
 */
static int
drain(int wait_ms, uint32_t want_seq, int *acked,
    void (*fn)(void *, pid_t, long), void *arg)
{
	union {
		struct nlmsghdr	 n;
		char		 b[16384];
	}		 u;
	ssize_t		 got;

	for (;;) {
		struct nlmsghdr	*n;
		size_t		 left;

		if (wait_ms > 0) {
			struct pollfd pfd = { tsfd, POLLIN, 0 };

			if (poll(&pfd, 1, wait_ms) <= 0)
				return -1;
		}
		got = recv(tsfd, u.b, sizeof(u.b), MSG_DONTWAIT);
		if (got == 0)
			return 0;
		if (got < 0 && errno == ENOBUFS)
			continue;	/* some were lost: read on */
		if (got < 0)
			return errno == EAGAIN ? 0 : -1;
		wait_ms = 0;
		left = (size_t)got;
		for (n = &u.n; NLMSG_OK(n, left); n = NLMSG_NEXT(n, left)) {
			const char	*p = NLMSG_DATA(n);
			size_t		 len = n->nlmsg_len - NLMSG_LENGTH(0);
			const void	*v, *pv, *sv;
			size_t		 vl, pl, sl;
			struct taskstats ts;
			uint32_t	 pid;

			if (n->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = (const void *)p;

				if (len >= sizeof(*e) && acked != NULL &&
				    n->nlmsg_seq == want_seq)
					*acked = e->error;
				continue;
			}
			if (n->nlmsg_type != family || len < GENL_HDRLEN)
				continue;
			p += GENL_HDRLEN;
			len -= GENL_HDRLEN;
			if ((v = attr(p, len, TASKSTATS_TYPE_AGGR_PID,
			    &vl)) == NULL ||
			    (pv = attr(v, vl, TASKSTATS_TYPE_PID, &pl)) ==
			    NULL || pl < sizeof(pid) ||
			    (sv = attr(v, vl, TASKSTATS_TYPE_STATS, &sl)) ==
			    NULL)
				continue;
			memcpy(&pid, pv, sizeof(pid));
			memset(&ts, 0, sizeof(ts));
			memcpy(&ts, sv, sl < sizeof(ts) ? sl : sizeof(ts));
			/* only sluice's children: a process elsewhere may
			 * have had the pid a stage has now */
			if (sl >= offsetof(struct taskstats, hiwater_rss) +
			    sizeof(ts.hiwater_rss) && fn != NULL &&
			    ts.ac_ppid == (uint32_t)self)
				fn(arg, (pid_t)pid, (long)ts.hiwater_rss);
		}
	}
}

/* the family's number, from the generic netlink controller */
static int
find_family(void)
{
	union {
		struct nlmsghdr	 n;
		char		 b[4096];
	}		 u;
	static const char name[] = TASKSTATS_GENL_NAME;
	struct pollfd	 pfd = { -1, POLLIN, 0 };
	ssize_t		 got;

	if (request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME,
	    name, sizeof(name)) == -1)
		return -1;
	pfd.fd = tsfd;
	for (;;) {
		struct nlmsghdr	*n;
		size_t		 left;

		if (poll(&pfd, 1, 200) <= 0 ||
		    (got = recv(tsfd, u.b, sizeof(u.b), 0)) <= 0)
			return -1;
		left = (size_t)got;
		for (n = &u.n; NLMSG_OK(n, left); n = NLMSG_NEXT(n, left)) {
			const char	*p = NLMSG_DATA(n);
			size_t		 len = n->nlmsg_len - NLMSG_LENGTH(0);
			const void	*v;
			size_t		 vl;

			if (n->nlmsg_seq != seq)
				continue;
			if (n->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = (const void *)p;

				if (len < sizeof(*e) || e->error != 0)
					return -1;
				return family != 0 ? 0 : -1;
			}
			if (n->nlmsg_type != GENL_ID_CTRL ||
			    len < GENL_HDRLEN)
				continue;
			v = attr(p + GENL_HDRLEN, len - GENL_HDRLEN,
			    CTRL_ATTR_FAMILY_ID, &vl);
			if (v != NULL && vl >= sizeof(family))
				memcpy(&family, v, sizeof(family));
		}
	}
}

int
taskstats_open(void)
{
	struct sockaddr_nl sa;
	int		 fd, rcv = 4 << 20, acked = 1;
	ssize_t		 n;

	if (tsfd != -1)
		return 0;
	/* the CPUs that can exist: records come from the one a task
	 * exits on */
	if ((fd = open("/sys/devices/system/cpu/possible",
	    O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, cpus, sizeof(cpus) - 1);
	(void)close(fd);
	if (n <= 0)
		return -1;
	cpus[n] = '\0';
	cpus[strcspn(cpus, "\n")] = '\0';
	if ((tsfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_GENERIC)) == -1)
		return -1;
	/* records of exits elsewhere fill it between reads (listening
	 * takes the privilege that may set it beyond rmem_max) */
	if (setsockopt(tsfd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
	    sizeof(rcv)) == -1)
		(void)setsockopt(tsfd, SOL_SOCKET, SO_RCVBUF, &rcv,
		    sizeof(rcv));
	self = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (bind(tsfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    find_family() == -1 ||
	    request(family, TASKSTATS_CMD_GET,
	    TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, cpus, strlen(cpus) + 1) ==
	    -1)
		goto fail;
	while (acked > 0)
		if (drain(200, seq, &acked, NULL, NULL) == -1)
			goto fail;
	if (acked != 0)
		goto fail;
	return 0;
fail:
	(void)close(tsfd);
	tsfd = -1;
	return -1;
}

void
taskstats_read(void (*fn)(void *, pid_t, long), void *arg)
{
	if (tsfd != -1)
		(void)drain(0, 0, NULL, fn, arg);
}

void
taskstats_close(void)
{
	if (tsfd == -1)
		return;
	(void)request(family, TASKSTATS_CMD_GET,
	    TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, cpus, strlen(cpus) + 1);
	(void)close(tsfd);
	tsfd = -1;
}
