/*
 * boottime: one timed run of a VMM, from launch to its exit, for
 * tests/arm64/bench.sh in the arm64 test host (whose busybox has no
 * clock finer than /proc/uptime's 10 ms).
 *
 *   boottime [-t SECS] [-m MARKER] LOG COMMAND [ARGS...]
 *
 * Runs COMMAND with stdin from /dev/null and stdout and stderr into a pipe,
 * copies all it writes to LOG, and prints one line:
 *   boottime first_ms=F marker_ms=M exit_ms=E status=S
 * F: the first byte it wrote; M: the first time MARKER (default
 * EMBER-GUEST-INIT-STARTED, the first line the guest kit's /init prints)
 * appeared in its output, - if never; E: its exit (wait4 returned); S: its
 * exit status, 128+N for a signal N, 124 when SECS (default 300) ran out
 * and it was killed. All from just before the fork (CLOCK_MONOTONIC), so
 * fork and exec are counted, as tests/bench/firstout.c counts them.
 * Exit status: 0 when the figures were taken, 1 when not (bad LOG, no fork).
 */
#define _GNU_SOURCE /* pipe2, memmem */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void fig(char *out, size_t n, double ms)
{
	if (ms < 0)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.1f", ms);
}

int main(int argc, char **argv)
{
	const char *marker = "EMBER-GUEST-INIT-STARTED";
	double limit_s = 300, t0, first = -1, seen = -1, end;
	char tail[256 + 4096], f1[32], f2[32], f3[32];
	size_t mlen, have = 0;
	int opt, pfd[2], logfd, status, rc, timed_out = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+t:m:")) != -1) {
		if (opt == 't')
			limit_s = atof(optarg);
		else if (opt == 'm')
			marker = optarg;
		else
			goto usage;
	}
	if (argc - optind < 2 || limit_s <= 0 || (mlen = strlen(marker)) == 0 || mlen > 256)
		goto usage;
	logfd = open(argv[optind], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		perror("boottime");
		return 1;
	}
	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		perror("boottime: fork");
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		execvp(argv[optind + 1], argv + optind + 1);
		perror("boottime: exec");
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		double left = limit_s * 1e3 - (now_ms() - t0);
		ssize_t n;
		int r = left > 0 ? poll(&p, 1, (int)left + 1) : 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			if (now_ms() - t0 < limit_s * 1e3)
				continue;
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		n = read(pfd[0], tail + have, sizeof(tail) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (first < 0)
			first = now_ms() - t0;
		if (write(logfd, tail + have, (size_t)n) < 0)
			perror("boottime: log");
		have += (size_t)n;
		if (seen < 0 && memmem(tail, have, marker, mlen))
			seen = now_ms() - t0;
		/* Keep the last mlen - 1 bytes: a marker may straddle two reads. */
		if (have >= mlen) {
			memmove(tail, tail + have - (mlen - 1), mlen - 1);
			have = mlen - 1;
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("boottime: waitpid");
			return 1;
		}
	end = now_ms() - t0;
	close(pfd[0]);
	close(logfd);
	rc = timed_out ? 124 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fig(f1, sizeof(f1), first);
	fig(f2, sizeof(f2), seen);
	fig(f3, sizeof(f3), end);
	printf("boottime first_ms=%s marker_ms=%s exit_ms=%s status=%d\n", f1, f2, f3, rc);
	return 0;
usage:
	fprintf(stderr, "usage: boottime [-t SECS] [-m MARKER] LOG COMMAND [ARGS...]\n");
	return 2;
}
