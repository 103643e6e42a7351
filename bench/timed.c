/*
 * timed.c: run one command and print its wall time in seconds, for
 * bench/cache.sh.  Timed from just before fork(2) to its wait4(2): the
 * command's own start, run and exit, and none of the shell that calls
 * this (about 1.3 ms of bash's fork and exec per measurement here,
 * which would be a third of a warm run).
 *   timed OUT ERR command [arg ...]
 * stdout to OUT, stderr to ERR; exits with the command's status (128+N
 * for a signal N) and prints nothing when it fails.
 */
#include <sys/resource.h>
#include <sys/wait.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec	 a, b;
	struct rusage	 ru;
	int		 out, errfd, st;
	pid_t		 pid;

	if (argc < 4)
		errx(64, "usage: timed out err command [arg ...]");
	if ((out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		err(73, "%s", argv[1]);
	if ((errfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		err(73, "%s", argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if ((pid = fork()) == -1)
		err(71, "fork");
	if (pid == 0) {
		dup2(out, 1);
		dup2(errfd, 2);
		close(out);
		close(errfd);
		execvp(argv[3], argv + 3);
		warn("%s", argv[3]);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) == -1)
		err(71, "wait4");
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	if (WEXITSTATUS(st) != 0)
		return WEXITSTATUS(st);
	printf("%.6f\n", (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
