/*
 * vmmcpu: the CPU time a VMM process spent, all its threads together, in
 * all and up to each line its guest prints.
 *
 *   vmmcpu OUTFILE COMMAND [ARGS...]
 *
 * Runs COMMAND with its stdout through a pipe that this program copies to
 * its own stdout (stdin and stderr are shared), and appends to OUTFILE:
 *  - for each line COMMAND writes that begins with "bench " (the
 *    micro-guests' figure lines), as soon as it arrives:
 *      sample NAME user_us U sys_us S guest_us G
 *    NAME the line's second word; U, S and G the process's user, system
 *    and guest time so far, from /proc/PID/stat (fields 14, 15 and 43: in
 *    clock ticks, 10 ms, turned into microseconds). Guest time is the time
 *    its vCPU threads ran the guest; Linux counts it inside user time. The
 *    CPU a phase of the guest cost the VMM is the difference between the
 *    samples of its line and of the line before;
 *  - once it has exited:
 *      vmmcpu user_us U sys_us S guest_us G wall_us W status X
 *    U and S from wait4()'s rusage (microseconds); G as above, read while
 *    the process is a zombie; W from fork to exit; X its exit status (128 +
 *    the signal for a signal).
 * SIGTERM, SIGINT and SIGHUP are passed on to COMMAND, so that timeout(1)
 * can stop it through this program. Exits with COMMAND's status. Built
 * static, so it runs in the nested test host as is.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

static void pass_on(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* utime, stime and guest_time of process pid in microseconds; -1 if unreadable */
static int proc_times(pid_t pid, double t[3])
{
	char path[64], buf[4096], *p;
	unsigned long long v[3];
	double tick = 1e6 / (double)sysconf(_SC_CLK_TCK);
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return -1;
	p += 2; /* field 3, the state */
	for (int field = 3; p; field++) {
		if (field == 14 && sscanf(p, "%llu %llu", &v[0], &v[1]) != 2)
			return -1;
		if (field == 43) {
			if (sscanf(p, "%llu", &v[2]) != 1)
				return -1;
			for (int i = 0; i < 3; i++)
				t[i] = (double)v[i] * tick;
			return 0;
		}
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return -1;
}

/* Copies the child's output from fd to stdout, sampling at each "bench " line. */
static void copy_out(int fd, FILE *out)
{
	char buf[4096], line[128];
	size_t used = 0;
	int at_start = 1;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
			return;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			double t[3];

			if (c != '\n') {
				if (at_start && used < sizeof(line) - 1)
					line[used++] = c;
				continue;
			}
			line[used] = 0;
			if (at_start && !strncmp(line, "bench ", 6) && proc_times(child, t) == 0) {
				char name[64] = "";

				sscanf(line + 6, "%63s", name);
				fprintf(out, "sample %s user_us %.0f sys_us %.0f guest_us %.0f\n", name, t[0],
					t[1], t[2]);
				fflush(out);
			}
			used = 0;
			at_start = 1;
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct rusage ru;
	int status, code, pfd[2];
	double t0, t1, t[3] = { 0, 0, -1 };
	siginfo_t si;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: vmmcpu OUTFILE COMMAND [ARGS...]\n");
		return 2;
	}
	out = fopen(argv[1], "a");
	if (!out || pipe(pfd) < 0) {
		fprintf(stderr, "vmmcpu: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pass_on;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	t0 = now_us();
	pid = fork();
	if (pid < 0) {
		perror("vmmcpu: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "vmmcpu: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	child = pid;
	close(pfd[1]);
	copy_out(pfd[0], out);
	close(pfd[0]);
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0) {
		if (errno != EINTR) {
			perror("vmmcpu: waitid");
			return 2;
		}
	}
	t1 = now_us();
	proc_times(pid, t);
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("vmmcpu: wait4");
			return 2;
		}
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "vmmcpu user_us %ld sys_us %ld guest_us %.0f wall_us %.0f status %d\n",
		ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
		ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, t[2], t1 - t0, code);
	fclose(out);
	return code;
}
