/*
 * firstout: time from exec to the first byte a VMM's guest writes to its
 * serial port (read from the VMM's stdout), and the VMM's peak RSS.
 *
 *   firstout RUNS COMMAND [ARGS...]
 *
 * Prints one line per run ("run N: first byte after X us, maxrss Y KiB")
 * and a summary with min/median/max. The clock starts just before the
 * fork, so fork+exec cost is included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One run: returns 0 and fills the figures, or -1. */
static int one_run(char **argv, double *first_us, long *maxrss_kb)
{
	int pfd[2], status;
	struct rusage ru;
	double t0;
	pid_t pid;
	char c;

	if (pipe(pfd) < 0)
		return -1;
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		fprintf(stderr, "firstout: %s wrote nothing\n", argv[0]);
		*first_us = -1;
	} else {
		*first_us = now_us() - t0;
	}
	while (read(pfd[0], &c, 1) > 0) /* drain until the VMM exits */
		;
	close(pfd[0]);
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	*maxrss_kb = ru.ru_maxrss;
	return *first_us < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[1]) : 0;
	double *t, rss_med;
	long *rss;

	if (runs < 1) {
		fprintf(stderr, "usage: firstout RUNS COMMAND [ARGS...]\n");
		return 2;
	}
	t = calloc((size_t)runs, sizeof(*t));
	rss = calloc((size_t)runs, sizeof(*rss));
	double *rssd = calloc((size_t)runs, sizeof(*rssd));
	if (!t || !rss || !rssd)
		return 1;
	for (int i = 0; i < runs; i++) {
		if (one_run(argv + 2, &t[i], &rss[i]))
			return 1;
		rssd[i] = (double)rss[i];
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	qsort(rssd, (size_t)runs, sizeof(*rssd), cmp_double);
	rss_med = rssd[runs / 2];
	printf("first-output-us min %.0f median %.0f max %.0f  maxrss-kib median %.0f  (%d runs)\n",
	       t[0], t[runs / 2], t[runs - 1], rss_med, runs);
	free(t);
	free(rss);
	free(rssd);
	return 0;
}
