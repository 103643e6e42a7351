/*
 * sluice-job: run one gang of a pipeline on a cluster node, as the
 * Slurm executor's batch job (sluice-slurm(7)).  Not a stage: its one
 * argument is a job file the coordinator wrote in the shared work
 * directory (NUL-separated fields, see read_job()).  It starts the
 * gang's stages at once, joined by plain pipes, with their inputs read
 * from files and the last one's stdout written to a temporary file that
 * is renamed into place only when every stage succeeded.  Each process
 * is measured as the local coordinator does (/proc/PID/io of the zombie,
 * then wait4's rusage) and the figures go to a JSON result file, also
 * written atomically.  Exit status 0 when all succeeded, else 1.
 * Limits: a gang is a chain (each member reads the previous one's
 * stdout); a stage with retries is alone in its gang.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#define JOB_MAGIC	"sluice-job 1"
#define MAX_FDS		70

struct jport {
	int		 fd;
	char		**files;	/* "-": the previous member's stdout */
	size_t		 nfiles;
};

struct jstage {
	char		*name;
	char		*prog;
	char		*cwd;
	char		**argv;
	char		**env;
	size_t		 nenv;
	int64_t		 memory_limit;
	int64_t		 timeout_ns;
	int		 retries;
	char		*out;		/* "-": pipe to the next member */
	char		*err;
	struct jport	*ports;
	size_t		 nports;
	/* this attempt */
	int		 attempt;
	pid_t		 pid;
	pid_t		 feeder;	/* concatenates several input files */
	int		 reaped;
	int		 status;
	int		 timed_out;
	int64_t		 start, end;	/* realtime ns */
	int64_t		 deadline;	/* monotonic ns, 0: none */
	int64_t		 killtime;
	struct rusage	 ru;
	int64_t		 io[4];		/* rchar, wchar, read, write */
	int		 ok;
};

extern char **environ;

static struct jstage *js;
static size_t	 njs;
static char	*result_path;

/* the job file: NUL-terminated fields */
static char	*jtext;
static size_t	 jlen, jpos;

static const char *
field(void)
{
	const char *s;

	if (jpos >= jlen)
		errx(EX_DATAERR, "job file: truncated");
	s = jtext + jpos;
	jpos += strlen(s) + 1;
	return s;
}

static long long
num(void)
{
	const char *errstr, *s = field();
	long long v = strtonum(s, 0, INT64_MAX, &errstr);

	if (errstr != NULL)
		errx(EX_DATAERR, "job file: number '%s' is %s", s, errstr);
	return v;
}

static void
read_job(const char *path)
{
	struct buf b = { 0 };
	size_t	 i, k, n;

	if (buf_readfile(&b, path) == -1)
		err(EX_NOINPUT, "%s", path);
	buf_addc(&b, '\0');
	jtext = b.data;
	jlen = b.len - 1;
	if (strcmp(field(), JOB_MAGIC) != 0)
		errx(EX_DATAERR, "%s: not a sluice job file", path);
	result_path = xstrdup(field());
	njs = (size_t)num();
	js = xcalloc(njs + 1, sizeof(*js));
	for (i = 0; i < njs; i++) {
		struct jstage *S = &js[i];

		S->name = xstrdup(field());
		S->prog = xstrdup(field());
		S->cwd = xstrdup(field());
		n = (size_t)num();
		S->argv = xcalloc(n + 1, sizeof(char *));
		for (k = 0; k < n; k++)
			S->argv[k] = xstrdup(field());
		S->nenv = (size_t)num();
		S->env = xcalloc(S->nenv + 1, sizeof(char *));
		for (k = 0; k < S->nenv; k++)
			S->env[k] = xstrdup(field());
		S->memory_limit = num();
		S->timeout_ns = num();
		S->retries = (int)num();
		S->out = xstrdup(field());
		S->err = xstrdup(field());
		S->nports = (size_t)num();
		S->ports = xcalloc(S->nports + 1, sizeof(*S->ports));
		for (k = 0; k < S->nports; k++) {
			struct jport *pt = &S->ports[k];
			size_t	 f;

			pt->fd = (int)num();
			pt->nfiles = (size_t)num();
			pt->files = xcalloc(pt->nfiles + 1, sizeof(char *));
			for (f = 0; f < pt->nfiles; f++)
				pt->files[f] = xstrdup(field());
		}
	}
}

/* environ with the stage's variables (incl. SLUICE_*) laid over it */
static char **
stage_env(struct jstage *S)
{
	size_t	 n = 0, i, k;
	char	**env;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + S->nenv + 2, sizeof(char *));
	n = 0;
	for (i = 0; environ[i] != NULL; i++) {
		size_t	 klen = strcspn(environ[i], "=");

		for (k = 0; k < S->nenv; k++)
			if (strncmp(S->env[k], environ[i], klen) == 0 &&
			    S->env[k][klen] == '=')
				break;
		if (k == S->nenv && strncmp(environ[i], "SLUICE_ATTEMPT=",
		    15) != 0)
			env[n++] = environ[i];
	}
	for (k = 0; k < S->nenv; k++)
		env[n++] = S->env[k];
	env[n++] = xasprintf("SLUICE_ATTEMPT=%d", S->attempt);
	env[n] = NULL;
	return env;
}

static char *
tmp_of(const char *path)
{
	return xasprintf("%s.%d.tmp", path, (int)getpid());
}

/* a child that writes several files one after another into a pipe */
static pid_t
feed(struct jport *pt, int w, sigset_t *old)
{
	pid_t	 pid;
	size_t	 i;

	if ((pid = fork()) == -1)
		err(EX_OSERR, "fork");
	if (pid != 0)
		return pid;
	sigprocmask(SIG_SETMASK, old, NULL);
	for (i = 0; i < pt->nfiles; i++) {
		char	 b[65536];
		ssize_t	 n;
		int	 fd = open(pt->files[i], O_RDONLY | O_CLOEXEC);

		if (fd == -1)
			_exit(66);
		while ((n = read(fd, b, sizeof(b))) > 0)
			if (write_all(w, b, (size_t)n) == -1)
				_exit(errno == EPIPE ? 0 : 74);
		close(fd);
	}
	_exit(0);
}

/* an input descriptor: one file opened, several fed through a pipe */
static int
open_port(struct jstage *S, struct jport *pt, sigset_t *old)
{
	int	 p[2];

	if (pt->nfiles == 1)
		return open(pt->files[0], O_RDONLY | O_CLOEXEC);
	if (pipe2(p, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe2");
	S->feeder = feed(pt, p[1], old);
	close(p[1]);
	return p[0];
}

/*
 * Start every stage of the gang from the first attempt of `from` on:
 * stdout of each but the last into a pipe to the next one's stdin.
 */
static void
start(size_t from, sigset_t *old)
{
	int	 prev = -1, p[2];
	size_t	 i, k;

	for (i = from; i < njs; i++) {
		struct jstage *S = &js[i];
		int	 map[MAX_FDS][2], nmap = 0, out, errfd, fd;
		char	**env, *tmp;
		pid_t	 pid;

		if (strcmp(S->out, "-") == 0) {
			if (pipe2(p, O_CLOEXEC) == -1)
				err(EX_OSERR, "pipe2");
			out = p[1];
		} else {
			tmp = tmp_of(S->out);
			out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC |
			    O_CLOEXEC, 0644);
			if (out == -1)
				err(EX_CANTCREAT, "%s", tmp);
			free(tmp);
			p[0] = -1;
		}
		errfd = open(S->err, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0644);
		if (errfd == -1)
			err(EX_CANTCREAT, "%s", S->err);
		map[nmap][0] = 0;
		map[nmap++][1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		for (k = 0; k < S->nports; k++) {
			struct jport *pt = &S->ports[k];

			if (pt->nfiles == 1 && strcmp(pt->files[0], "-") == 0)
				fd = prev;
			else if ((fd = open_port(S, pt, old)) == -1)
				err(EX_NOINPUT, "stage '%s': %s", S->name,
				    pt->files[0]);
			if (pt->fd == 0)
				map[0][1] = fd;
			else if (nmap < MAX_FDS - 2) {
				map[nmap][0] = pt->fd;
				map[nmap++][1] = fd;
			}
		}
		map[nmap][0] = 1;
		map[nmap++][1] = out;
		map[nmap][0] = 2;
		map[nmap++][1] = errfd;
		env = stage_env(S);
		S->start = real_ns();
		S->deadline = S->timeout_ns > 0 ? mono_ns() + S->timeout_ns : 0;
		S->killtime = 0;
		S->reaped = S->timed_out = S->status = 0;
		if ((pid = fork()) == -1)
			err(EX_OSERR, "fork");
		if (pid == 0) {
			int	 j, hi = 3;

			setpgid(0, 0);
			signal(SIGPIPE, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			sigprocmask(SIG_SETMASK, old, NULL);
			/* sources above every target first */
			for (j = 0; j < nmap; j++)
				if (map[j][0] >= hi)
					hi = map[j][0] + 1;
			for (j = 0; j < nmap; j++)
				if ((map[j][1] = fcntl(map[j][1],
				    F_DUPFD_CLOEXEC, hi + 64)) == -1)
					_exit(126);
			for (j = 0; j < nmap; j++)
				if (dup2(map[j][1], map[j][0]) == -1)
					_exit(126);
			if (chdir(S->cwd) == -1) {
				dprintf(2, "sluice-job: cannot change to "
				    "directory '%s': %s\n", S->cwd,
				    strerror(errno));
				_exit(126);
			}
			if (S->memory_limit > 0) {
				struct rlimit rl;

				rl.rlim_cur = rl.rlim_max =
				    (rlim_t)S->memory_limit;
				(void)setrlimit(RLIMIT_DATA, &rl);
			}
			execve(S->prog, S->argv, env);
			dprintf(2, "sluice-job: cannot run '%s': %s\n",
			    S->prog, strerror(errno));
			_exit(127);
		}
		setpgid(pid, pid);
		S->pid = pid;
		for (k = 0; env[k] != NULL; k++)
			if (env[k + 1] == NULL)
				free(env[k]);	/* SLUICE_ATTEMPT */
		free(env);
		for (k = 0; k < (size_t)nmap; k++)
			if (map[k][0] != 0 || map[k][1] != prev)
				close(map[k][1]);
		if (prev != -1)
			close(prev);
		prev = p[0];
	}
}

static struct jstage *
by_pid(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < njs; i++)
		if (js[i].pid == pid && !js[i].reaped)
			return &js[i];
	return NULL;
}

static void
read_io(struct jstage *S)
{
	static const char *const keys[4] = { "rchar: ", "wchar: ",
	    "read_bytes: ", "write_bytes: " };
	char	 path[64], text[512];
	int	 i;

	memset(S->io, 0, sizeof(S->io));
	snprintf(path, sizeof(path), "/proc/%d/io", (int)S->pid);
	if (read_text(path, text, sizeof(text)) == -1)
		return;
	for (i = 0; i < 4; i++) {
		const char *p = strstr(text, keys[i]);

		if (p != NULL)
			S->io[i] = strtoll(p + strlen(keys[i]), NULL, 10);
	}
}

static volatile sig_atomic_t got_sig;

static void
on_signal(int sig)
{
	got_sig = sig;
}

/* wait for every process of the gang, enforcing timeouts */
static void
wait_all(size_t from, sigset_t *old)
{
	size_t	 live = njs - from, i;
	int	 sent = 0;

	while (live > 0) {
		siginfo_t si;
		struct rusage ru;
		struct jstage *S;
		struct timespec ts = { 0, 20000000 };
		int64_t	 now;
		int	 status;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
			break;
		if (si.si_pid != 0) {
			S = by_pid(si.si_pid);
			if (S != NULL)
				read_io(S);
			if (wait4(si.si_pid, &status, 0, &ru) == -1)
				err(EX_OSERR, "wait4");
			if (S == NULL)
				continue;	/* a feeder */
			S->reaped = 1;
			S->status = status;
			S->ru = ru;
			S->end = real_ns();
			live--;
			continue;
		}
		if (got_sig != 0 && !sent) {
			/* scancel: pass it on to every stage's group */
			for (i = from; i < njs; i++)
				if (!js[i].reaped)
					kill(-js[i].pid, SIGTERM);
			sent = 1;
		}
		now = mono_ns();
		for (i = from; i < njs; i++) {
			S = &js[i];
			if (S->reaped)
				continue;
			if (S->deadline != 0 && now >= S->deadline &&
			    !S->timed_out) {
				S->timed_out = 1;
				kill(-S->pid, SIGTERM);
				S->killtime = now + 2000000000LL;
			} else if (S->killtime != 0 && now >= S->killtime) {
				kill(-S->pid, SIGKILL);
				S->killtime = 0;
			}
		}
		sigtimedwait(old, NULL, &ts);	/* a pause; SIGCHLD ends it */
	}
}

static int
succeeded(size_t i)
{
	struct jstage *S = &js[i];

	if (S->timed_out)
		return 0;
	if (WIFEXITED(S->status) && WEXITSTATUS(S->status) == 0)
		return 1;
	/* killed by SIGPIPE after its reader exited 0 */
	return WIFSIGNALED(S->status) && WTERMSIG(S->status) == SIGPIPE &&
	    i + 1 < njs && js[i + 1].ok;
}

static int64_t
tv_us(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void
write_result(void)
{
	struct buf b = { 0 };
	struct jw w;
	char	 host[256], *tmp;
	size_t	 i;
	int	 fd;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	jw_init(&w, &b);
	jw_obj(&w);
	jw_key(&w, "host");
	jw_str(&w, host);
	jw_key(&w, "stages");
	jw_arr(&w);
	for (i = 0; i < njs; i++) {
		struct jstage *S = &js[i];

		jw_obj(&w);
		jw_key(&w, "name");
		jw_str(&w, S->name);
		jw_key(&w, "attempt");
		jw_int(&w, S->attempt);
		jw_key(&w, "pid");
		jw_int(&w, S->pid);
		jw_key(&w, "status");
		jw_int(&w, S->status);
		jw_key(&w, "timed_out");
		jw_int(&w, S->timed_out);
		jw_key(&w, "ok");
		jw_int(&w, S->ok);
		jw_key(&w, "start_ns");
		jw_int(&w, S->start);
		jw_key(&w, "end_ns");
		jw_int(&w, S->end);
		jw_key(&w, "utime_us");
		jw_int(&w, tv_us(&S->ru.ru_utime));
		jw_key(&w, "stime_us");
		jw_int(&w, tv_us(&S->ru.ru_stime));
		jw_key(&w, "maxrss_kb");
		jw_int(&w, S->ru.ru_maxrss);
		jw_key(&w, "minflt");
		jw_int(&w, S->ru.ru_minflt);
		jw_key(&w, "majflt");
		jw_int(&w, S->ru.ru_majflt);
		jw_key(&w, "nvcsw");
		jw_int(&w, S->ru.ru_nvcsw);
		jw_key(&w, "nivcsw");
		jw_int(&w, S->ru.ru_nivcsw);
		jw_key(&w, "rchar");
		jw_int(&w, S->io[0]);
		jw_key(&w, "wchar");
		jw_int(&w, S->io[1]);
		jw_key(&w, "read_bytes");
		jw_int(&w, S->io[2]);
		jw_key(&w, "write_bytes");
		jw_int(&w, S->io[3]);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	buf_addc(&b, '\n');
	tmp = tmp_of(result_path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || buf_writefd(&b, fd) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1)
		err(EX_CANTCREAT, "%s", tmp);
	if (rename(tmp, result_path) == -1)
		err(EX_CANTCREAT, "%s", result_path);
	free(tmp);
	buf_free(&b);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t set, old;
	size_t	 i;
	int	 all_ok;

	fd_sanitize_std(0);
	if (argc == 2 && (strcmp(argv[1], "--usage") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		printf("usage: sluice-job jobfile\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: sluice-job jobfile\n");
		return EX_USAGE;
	}
	read_job(argv[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < njs; i++)
		js[i].attempt = 1;
	for (;;) {
		start(0, &old);
		wait_all(0, &old);
		all_ok = 1;
		for (i = njs; i > 0; i--) {
			js[i - 1].ok = succeeded(i - 1);
			all_ok &= js[i - 1].ok;
		}
		/* only a gang of one retries (sluice keeps retried
		 * stages out of gangs) */
		if (all_ok || njs != 1 || js[0].attempt > js[0].retries ||
		    got_sig != 0)
			break;
		js[0].attempt++;
	}
	if (all_ok)
		for (i = 0; i < njs; i++) {
			char	*tmp;

			if (strcmp(js[i].out, "-") == 0)
				continue;
			tmp = tmp_of(js[i].out);
			if (rename(tmp, js[i].out) == -1)
				err(EX_CANTCREAT, "%s", js[i].out);
			free(tmp);
		}
	else
		for (i = 0; i < njs; i++)
			if (strcmp(js[i].out, "-") != 0) {
				char	*tmp = tmp_of(js[i].out);

				(void)unlink(tmp);
				free(tmp);
			}
	write_result();
	return all_ok ? 0 : 1;
}
