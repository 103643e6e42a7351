/*
 * spawn-floor.c: the floor for bench/overhead.sh.  Starts the same
 * command N times, at most P at a time, and waits for every child:
 * nothing else (no pipes, no logs, no bookkeeping), so its time is what
 * process creation alone costs on this machine.
 *
 *   spawn-floor [-m vfork|spawn] [-n N] [-j P] command [arg ...]
 *
 * -m vfork   vfork(2) + execve(2) + waitpid(2) (default)
 * -m spawn   glibc posix_spawn(3) + waitpid(2)
 * -n N       number of runs (default 2000)
 * -j P       how many run at the same time (default 2); -j1 is a chain:
 *            each run starts after the previous one exited
 *
 * The command is exec'd directly (no shell, no PATH search): give an
 * absolute path.  Exits 1 if a run fails, 2 on a usage error.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int	 use_spawn;

static void
usage(void)
{
	fprintf(stderr, "usage: spawn-floor [-m vfork|spawn] [-n N] [-j P] "
	    "command [arg ...]\n");
	exit(2);
}

static long
number(const char *s, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 1 || v > 10000000) {
		fprintf(stderr, "spawn-floor: %s expects a positive number, "
		    "found '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static pid_t
start(char **argv)
{
	pid_t	 pid;
	int	 e;

	if (use_spawn) {
		e = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
		if (e != 0) {
			fprintf(stderr, "spawn-floor: posix_spawn %s: %s\n",
			    argv[0], strerror(e));
			exit(1);
		}
		return pid;
	}
	pid = vfork();
	if (pid == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (pid == -1) {
		perror("spawn-floor: vfork");
		exit(1);
	}
	return pid;
}

int
main(int argc, char **argv)
{
	long	 n = 2000, jobs = 2, started = 0, running = 0, failed = 0;
	int	 c, status;

	while ((c = getopt(argc, argv, "+m:n:j:")) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "spawn") == 0)
				use_spawn = 1;
			else if (strcmp(optarg, "vfork") == 0)
				use_spawn = 0;
			else
				usage();
			break;
		case 'n':
			n = number(optarg, "-n");
			break;
		case 'j':
			jobs = number(optarg, "-j");
			break;
		default:
			usage();
		}
	}
	argv += optind;
	if (argv[0] == NULL || argv[0][0] != '/')
		usage();
	while (started < n || running > 0) {
		while (started < n && running < jobs) {
			start(argv);
			started++;
			running++;
		}
		if (waitpid(-1, &status, 0) == -1) {
			if (errno == EINTR)
				continue;
			perror("spawn-floor: waitpid");
			return 1;
		}
		running--;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed > 0) {
		fprintf(stderr, "spawn-floor: %ld of %ld runs of %s failed\n",
		    failed, n, argv[0]);
		return 1;
	}
	return 0;
}
