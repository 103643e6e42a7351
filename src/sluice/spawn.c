/*
 * spawn.c: start one stage process.  vfork(2) + execve(2): the cheapest
 * spawn Linux has (glibc's posix_spawn resets all 64 signal dispositions
 * one by one).  Everything is prepared before vfork; the child only
 * makes system calls: its own process group, SIGTERM when sluice dies,
 * SIGPIPE back to default,
 * the signal mask of before sluice blocked signals, its descriptors
 * (sources are first moved above every target number, if one sits on
 * a target), cwd (unless it is the coordinator's), memory limit, exec.
 * A failure reaches the parent through memory a vfork child shares
 * with it, or (fork) on a close-on-exec pipe.
 * Sanitizer builds use fork(2): ASan does not follow a vfork child.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/close_range.h>
#include <sys/wait.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "run.h"
#include "util.h"
#include "xalloc.h"
#include "banned.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SPAWN_FORK	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_FORK	1
#endif
#endif

extern char **environ;
extern sigset_t sluice_oldmask;

struct fdmap {
	int		 target;
	int		 src;
};

/*
 * The environment of a stage: environ without sluice's own per-stage
 * variables (the base, built once and rebuilt only if environ moves),
 * then the stage's env, then SLUICE_STAGE, SLUICE_ATTEMPT and
 * SLUICE_RUN_ID.  The vector points into environ and the stage; only
 * the three SLUICE_ strings are formatted, into one buffer.  Both are
 * reused from stage to stage: a vfork child has exec'd (and a fork
 * child has its own copy) before the next spawn.
 */
static struct {
	char	**environ;	/* what the base was built from */
	char	**base;
	size_t	  nbase;
	char	**vec;
	size_t	  capvec;
	char	 *own;
	size_t	  capown;
} envc;

static int
own_var(const char *s)
{
	return strncmp(s, "SLUICE_STAGE=", 13) == 0 ||
	    strncmp(s, "SLUICE_ATTEMPT=", 15) == 0 ||
	    strncmp(s, "SLUICE_RUN_ID=", 14) == 0 ||
	    strncmp(s, "SLUICE_STDIN_DIGEST_FD=", 23) == 0 ||
	    strncmp(s, "SLUICE_CACHE_KEY=", 17) == 0 ||
	    strncmp(s, "SLUICE_CACHE_CATEGORY=", 22) == 0 ||
	    strncmp(s, "SLUICE_CACHE_REFRESH=", 21) == 0;
}

/* sluice gives a cached stage its cache (cache_for_stage): then the
 * directory is sluice's, not one it inherited */
static int
cache_given(const struct engine *E, const struct rstage *R)
{
	return R->cacheable && E->cache != NULL && E->cache_env != NULL;
}

static void
env_base(void)
{
	size_t	 n = 0, i;

	if (envc.base != NULL && envc.environ == environ)
		return;
	while (environ[n] != NULL)
		n++;
	free(envc.base);
	envc.base = xcalloc(n + 1, sizeof(char *));
	envc.nbase = 0;
	for (i = 0; i < n; i++)
		if (!own_var(environ[i]))
			envc.base[envc.nbase++] = environ[i];
	envc.environ = environ;
}

static char **
make_env(struct engine *E, struct rstage *R)
{
	struct stage *st = R->st;
	size_t	 n = 0, i, k, need, len;
	int	 w, given;

	env_base();
	given = cache_given(E, R);
	need = envc.nbase + st->nenv + 9;
	if (need > envc.capvec) {
		free(envc.vec);
		envc.vec = xcalloc(need, sizeof(char *));
		envc.capvec = need;
	}
	if (st->nenv == 0 && !given) {
		memcpy(envc.vec, envc.base, envc.nbase * sizeof(char *));
		n = envc.nbase;
	} else
		for (i = 0; i < envc.nbase; i++) {
			const char *v = envc.base[i], *eq = strchr(v, '=');
			size_t	 klen = eq != NULL ? (size_t)(eq - v) :
			    strlen(v);

			if (given && strncmp(v, "SLUICE_CACHE_DIR=", 17) == 0)
				continue;
			for (k = 0; k < st->nenv; k++)
				if (strncmp(st->env[k], v, klen) == 0 &&
				    st->env[k][klen] == '=')
					break;
			if (k == st->nenv)
				envc.vec[n++] = envc.base[i];
		}
	for (k = 0; k < st->nenv; k++)
		if (!own_var(st->env[k]) && (!given ||
		    strncmp(st->env[k], "SLUICE_CACHE_DIR=", 17) != 0))
			envc.vec[n++] = st->env[k];
	if (given)
		envc.vec[n++] = E->cache_env;
	len = strlen(st->name) + strlen(E->run_id) + 64 + DIGEST_HEXLEN + 24 +
	    (given ? strlen(st->cache) + 2 * DIGEST_HEXLEN + 64 : 0);
	if (len > envc.capown) {
		free(envc.own);
		envc.own = xmalloc(len);
		envc.capown = len;
	}
	w = snprintf(envc.own, len, "SLUICE_STAGE=%s%cSLUICE_ATTEMPT=%d%c"
	    "SLUICE_RUN_ID=%s", st->name, '\0', R->attempt, '\0', E->run_id);
	if (w < 0 || (size_t)w >= len)
		errx(EX_SOFTWARE, "stage '%s': environment too long", st->name);
	envc.vec[n++] = envc.own;
	envc.vec[n] = envc.vec[n - 1] + strlen(envc.vec[n - 1]) + 1;
	n++;
	envc.vec[n] = envc.vec[n - 1] + strlen(envc.vec[n - 1]) + 1;
	n++;
	if (R->dig_r != -1) {
		envc.vec[n] = envc.vec[n - 1] + strlen(envc.vec[n - 1]) + 1;
		(void)snprintf(envc.vec[n], len - (size_t)(envc.vec[n] -
		    envc.own), "SLUICE_STDIN_DIGEST_FD=%d", R->dig_fd);
		n++;
	}
	if (given) {
		char	 hex[DIGEST_HEXLEN];

		digest_hex(&R->key_base, hex);
		envc.vec[n] = envc.vec[n - 1] + strlen(envc.vec[n - 1]) + 1;
		(void)snprintf(envc.vec[n], len - (size_t)(envc.vec[n] -
		    envc.own), "SLUICE_CACHE_KEY=%s%cSLUICE_CACHE_CATEGORY=%s",
		    hex, '\0', st->cache);
		n++;
		envc.vec[n] = envc.vec[n - 1] + strlen(envc.vec[n - 1]) + 1;
		n++;
		if (E->o->refresh) {
			envc.vec[n] = envc.vec[n - 1] +
			    strlen(envc.vec[n - 1]) + 1;
			(void)snprintf(envc.vec[n], len - (size_t)(envc.vec[n] -
			    envc.own), "SLUICE_CACHE_REFRESH=1");
			n++;
		}
	}
	envc.vec[n] = NULL;
	return envc.vec;
}

struct spawnargs {
	struct rstage	*R;
	struct fdmap	*map;
	int		 nmap;
	int		 maxfd;		/* the highest source */
	int		 maxtarget;	/* the highest target, at least 2 */
	int		 move;		/* a source or errpipe sits on a target */
	const char	*cwd;		/* NULL: the coordinator's own */
	char		**env;
	int		 errpipe;	/* fork: -1 with vfork */
	pid_t		 parent;	/* sluice */
	volatile int	 result[2];	/* vfork: step and errno */
};

/*
 * In the child: async-signal-safe system calls only, as few as the
 * stage needs (the parent waits in vfork meanwhile).  A failure goes to
 * the parent through memory it shares with a vfork child, or through
 * the close-on-exec pipe errpipe of a fork child.
 */
static void __attribute__((__noreturn__))
child(struct spawnargs *a)
{
	struct fdmap *map = a->map;
	struct stage *st = a->R->st;
	struct rlimit rl;
	int	 i, e[2], step = SPAWN_STEP_FDS, errpipe = a->errpipe;

	setpgid(0, 0);
	/* a sluice that dies without ending the run (SIGKILL, a crash)
	 * takes its stages along: the kernel sends SIGTERM (which survives
	 * exec) when the parent goes; if it is gone already, nobody waits
	 * for this one */
	step = SPAWN_STEP_PDEATH;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		goto fail;
	if (getppid() != a->parent)
		_exit(127);
	step = SPAWN_STEP_FDS;
	signal(SIGPIPE, SIG_DFL);
	if (a->move) {
		/* sources (and the errno pipe, open until exec) first go
		 * above every number in use, so no dup2 clobbers one */
		if (errpipe != -1 && (errpipe = fcntl(errpipe,
		    F_DUPFD_CLOEXEC, a->maxfd + 1)) == -1)
			_exit(127);
		for (i = 0; i < a->nmap; i++) {
			map[i].src = fcntl(map[i].src, F_DUPFD_CLOEXEC,
			    a->maxfd + 1);
			if (map[i].src == -1)
				goto fail;
		}
	}
	for (i = 0; i < a->nmap; i++)
		if (map[i].src != map[i].target) {
			if (dup2(map[i].src, map[i].target) == -1)
				goto fail;
		} else if (fcntl(map[i].src, F_SETFD, 0) == -1)
			goto fail;	/* already in place: keep it */
	/* only the mapped descriptors survive, even inherited ones */
	for (i = 3; i <= a->maxtarget; i++) {
		int	 k, used = 0;

		for (k = 0; k < a->nmap; k++)
			used |= map[k].target == i;
		if (!used)
			close(i);
	}
	if (close_range((unsigned)a->maxtarget + 1, ~0U,
	    CLOSE_RANGE_CLOEXEC) == -1)
		for (i = a->maxtarget + 1; i < 1024; i++)
			if (i != errpipe)
				close(i);
	step = SPAWN_STEP_CWD;
	if (a->cwd != NULL && chdir(a->cwd) == -1)
		goto fail;
	step = SPAWN_STEP_LIMIT;
	if (st->memory_limit > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)st->memory_limit;
		if (setrlimit(RLIMIT_DATA, &rl) == -1)
			goto fail;
	}
	sigprocmask(SIG_SETMASK, &sluice_oldmask, NULL);
	step = SPAWN_STEP_EXEC;
	execve(a->R->exec_prog, a->R->exec_argv, a->env);
fail:
	e[0] = step;
	e[1] = errno;
	if (errpipe != -1)
		(void)!write(errpipe, e, sizeof(e));
	else {
		a->result[1] = e[1];
		a->result[0] = e[0];
	}
	_exit(127);
}

/* kept apart so no local of the caller lives across vfork */
static pid_t __attribute__((__noinline__))
fork_exec(struct spawnargs *a)
{
	pid_t	 pid;

#ifdef SPAWN_FORK
	pid = fork();
#else
	pid = vfork();
#endif
	if (pid == 0)
		child(a);
	return pid;
}

/* the coordinator's working directory: a stage whose cwd is the same
 * needs no chdir (sluice itself never changes directory) */
static const char *
own_cwd(void)
{
	static char *cwd;
	static int tried;

	if (!tried) {
		tried = 1;
		cwd = getcwd(NULL, 0);	/* NULL: every stage changes dir */
	}
	return cwd;
}

int
spawn_stage(struct engine *E, struct rstage *R, int *step)
{
	struct spawnargs a;
	struct fdmap map[MAX_STAGE_FD + 4];
	int	 nmap = 0, maxfd = 2, ep[2], e[2] = { 0, 0 }, j, k;
	size_t	 i;
	ssize_t	 n;
	const char *cwd;
	pid_t	 pid;

	map[nmap].target = 0;
	map[nmap++].src = E->devnull;
	for (i = 0; i < R->nports; i++) {
		if (R->ports[i].fd == 0) {
			map[0].src = R->ports[i].child_r;
			continue;
		}
		map[nmap].target = R->ports[i].fd;
		map[nmap++].src = R->ports[i].child_r;
	}
	if (R->dig_r != -1) {
		map[nmap].target = R->dig_fd;
		map[nmap++].src = R->dig_r;
	}
	map[nmap].target = 1;
	map[nmap++].src = R->child_out;
	map[nmap].target = 2;
	map[nmap++].src = R->child_err;
	a.maxtarget = 2;
	a.move = 0;
	for (k = 0; k < nmap; k++) {
		if (map[k].target > a.maxtarget)
			a.maxtarget = map[k].target;
		if (map[k].src > maxfd)
			maxfd = map[k].src;
		/* a source that is another mapping's target: clobbered */
		for (j = 0; j < nmap; j++)
			if (j != k && map[j].src == map[k].target)
				a.move = 1;
	}
	if (a.maxtarget > maxfd)
		maxfd = a.maxtarget;
#ifdef SPAWN_FORK
	if (pipe2(ep, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe2");
	a.errpipe = ep[1];
	/* the unmapped numbers up to maxtarget are closed: not this one */
	if (a.errpipe <= a.maxtarget)
		a.move = 1;
#else
	a.errpipe = -1;
	(void)ep;
#endif
	cwd = own_cwd();
	a.cwd = cwd != NULL && strcmp(cwd, R->st->cwd) == 0 ? NULL :
	    R->st->cwd;
	a.env = make_env(E, R);
	a.R = R;
	a.map = map;
	a.nmap = nmap;
	a.maxfd = maxfd;
	a.result[0] = a.result[1] = 0;
	a.parent = getpid();
	if ((pid = fork_exec(&a)) == -1)
		err(EX_OSERR, "cannot start stage '%s'", R->st->name);
	R->pid = pid;
#ifdef SPAWN_FORK
	close(ep[1]);
	setpgid(pid, pid);	/* also here: no race with killpg */
	do
		n = read(ep[0], e, sizeof(e));
	while (n == -1 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		*step = e[0];
		errno = e[1];
		return -1;	/* the child exits 127; reaped as usual */
	}
#else
	/* vfork returned: the child has exec'd (its pgid set) or failed */
	(void)n;
	(void)e;
	if (a.result[0] != 0) {
		*step = a.result[0];
		errno = a.result[1];
		return -1;
	}
#endif
	return 0;
}

void
killpg_stage(struct rstage *R, int sig)
{
	if (R->pid > 0 && !R->reaped)
		kill(-R->pid, sig);
}
