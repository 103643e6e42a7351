/*
 * spawn.c: start one stage process.  vfork(2) + execve(2): the cheapest
 * spawn Linux has (glibc's posix_spawn resets all 64 signal dispositions
 * one by one).  Everything is prepared before vfork; the child only
 * makes system calls: its own process group, SIGPIPE back to default,
 * the signal mask of before sluice blocked signals, its descriptors
 * (sources are first moved above every target number), cwd, memory
 * limit, exec.  A failed exec sends errno back on a close-on-exec pipe.
 * Sanitizer builds use fork(2): ASan does not follow a vfork child.
 */
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

/* environ with the stage's own variables laid over it */
static char **
make_env(struct engine *E, struct rstage *R)
{
	struct stage *st = R->st;
	size_t	 n = 0, i, k, extra = st->nenv + 4;
	char	**env;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + extra + 1, sizeof(char *));
	n = 0;
	for (i = 0; environ[i] != NULL; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t	 klen = eq != NULL ? (size_t)(eq - environ[i]) :
		    strlen(environ[i]);

		for (k = 0; k < st->nenv; k++)
			if (strncmp(st->env[k], environ[i], klen) == 0 &&
			    st->env[k][klen] == '=')
				break;
		if (k < st->nenv)
			continue;
		if (strncmp(environ[i], "SLUICE_STAGE=", 13) == 0 ||
		    strncmp(environ[i], "SLUICE_ATTEMPT=", 15) == 0 ||
		    strncmp(environ[i], "SLUICE_RUN_ID=", 14) == 0)
			continue;
		env[n++] = xstrdup(environ[i]);
	}
	for (k = 0; k < st->nenv; k++)
		if (strncmp(st->env[k], "SLUICE_STAGE=", 13) != 0 &&
		    strncmp(st->env[k], "SLUICE_ATTEMPT=", 15) != 0 &&
		    strncmp(st->env[k], "SLUICE_RUN_ID=", 14) != 0)
			env[n++] = xstrdup(st->env[k]);
	env[n++] = xasprintf("SLUICE_STAGE=%s", st->name);
	env[n++] = xasprintf("SLUICE_ATTEMPT=%d", R->attempt);
	env[n++] = xasprintf("SLUICE_RUN_ID=%s", E->run_id);
	env[n] = NULL;
	return env;
}

static void
free_env(char **env)
{
	size_t	 i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* in the child: async-signal-safe system calls only.  A failure goes
 * to the parent through memory it shares with a vfork child, or through
 * the close-on-exec pipe errpipe of a fork child */
static void __attribute__((__noreturn__))
child(struct rstage *R, struct fdmap *map, int nmap, int maxfd,
    char **env, int errpipe, volatile int *result)
{
	int	 maxtarget = 2;
	struct stage *st = R->st;
	struct rlimit rl;
	int	 i, e[2], step = SPAWN_STEP_FDS;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	for (i = 0; i < nmap; i++)
		if (map[i].target > maxtarget)
			maxtarget = map[i].target;
	/* the errno pipe must stay open until exec: above every target */
	if (errpipe != -1 &&
	    (errpipe = fcntl(errpipe, F_DUPFD_CLOEXEC, maxfd + 1)) == -1)
		_exit(127);
	for (i = 0; i < nmap; i++) {
		map[i].src = fcntl(map[i].src, F_DUPFD_CLOEXEC, maxfd + 1);
		if (map[i].src == -1)
			goto fail;
	}
	step = SPAWN_STEP_FDS;
	for (i = 0; i < nmap; i++)
		if (dup2(map[i].src, map[i].target) == -1)
			goto fail;
	/* only the mapped descriptors survive, even inherited ones */
	for (i = 3; i <= maxtarget; i++) {
		int	 k, used = 0;

		for (k = 0; k < nmap; k++)
			used |= map[k].target == i;
		if (!used)
			close(i);
	}
	if (close_range((unsigned)maxtarget + 1, ~0U, CLOSE_RANGE_CLOEXEC) ==
	    -1)
		for (i = maxtarget + 1; i < 1024; i++)
			if (i != errpipe)
				close(i);
	step = SPAWN_STEP_CWD;
	if (chdir(st->cwd) == -1)
		goto fail;
	step = SPAWN_STEP_LIMIT;
	if (st->memory_limit > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)st->memory_limit;
		if (setrlimit(RLIMIT_DATA, &rl) == -1)
			goto fail;
	}
	sigprocmask(SIG_SETMASK, &sluice_oldmask, NULL);
	step = SPAWN_STEP_EXEC;
	execve(R->exec_prog, R->exec_argv, env);
fail:
	e[0] = step;
	e[1] = errno;
	if (errpipe != -1)
		(void)!write(errpipe, e, sizeof(e));
	else {
		result[1] = e[1];
		result[0] = e[0];
	}
	_exit(127);
}

struct spawnargs {
	struct rstage	*R;
	struct fdmap	*map;
	int		 nmap;
	int		 maxfd;
	char		**env;
	int		 errpipe;	/* fork: -1 with vfork */
	volatile int	 result[2];	/* vfork: step and errno */
};

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
		child(a->R, a->map, a->nmap, a->maxfd, a->env, a->errpipe,
		    a->result);
	return pid;
}

int
spawn_stage(struct engine *E, struct rstage *R, int *step)
{
	struct spawnargs a;
	struct fdmap map[MAX_STAGE_FD + 3];
	int	 nmap = 0, maxfd = 2, ep[2], e[2] = { 0, 0 };
	size_t	 i;
	ssize_t	 n;
	char	**env;
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
		if (R->ports[i].fd > maxfd)
			maxfd = R->ports[i].fd;
	}
	map[nmap].target = 1;
	map[nmap++].src = R->child_out;
	map[nmap].target = 2;
	map[nmap++].src = R->child_err;
	for (i = 0; i < (size_t)nmap; i++)
		if (map[i].src > maxfd)
			maxfd = map[i].src;
	env = make_env(E, R);
	a.R = R;
	a.map = map;
	a.nmap = nmap;
	a.maxfd = maxfd;
	a.env = env;
	a.result[0] = a.result[1] = 0;
#ifdef SPAWN_FORK
	if (pipe2(ep, O_CLOEXEC) == -1)
		err(EX_OSERR, "pipe2");
	a.errpipe = ep[1];
#else
	a.errpipe = -1;
	(void)ep;
#endif
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
	free_env(env);
	if (n == (ssize_t)sizeof(e)) {
		*step = e[0];
		errno = e[1];
		return -1;	/* the child exits 127; reaped as usual */
	}
#else
	/* vfork returned: the child has exec'd (its pgid set) or failed */
	(void)n;
	(void)e;
	free_env(env);
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
