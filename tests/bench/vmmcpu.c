/*
 * vmmcpu: the CPU time a VMM process spent, all its threads together.
 *
 *   vmmcpu OUTFILE COMMAND [ARGS...]
 *
 * Runs COMMAND (its stdin, stdout and stderr are this program's), waits
 * for it and appends one line to OUTFILE:
 *   vmmcpu user_us U sys_us S guest_us G wall_us W status X
 * U and S from wait4()'s rusage (microseconds); G the time its vCPU threads
 * ran the guest (/proc/PID/stat fields 43 and 44, guest_time and
 * cguest_time, read while the process is a zombie, in clock ticks turned
 * into microseconds; Linux counts it inside U); W from fork to exit; X
 * the exit status (128 + the signal for a signal). Exits with COMMAND's
 * status. Built static, so it runs in the nested test host as is.
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

/* guest_time + cguest_time (its reaped children's) of process pid in microseconds, or -1 */
static double guest_us(pid_t pid)
{
	char path[64], buf[4096], *p;
	unsigned long long v = 0, c = 0;
	FILE *f;
	size_t n;
	int field;

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
	/* field 3 (state) follows ") "; guest_time is field 43, cguest_time 44 */
	p += 2;
	for (field = 3; field < 43 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu %llu", &v, &c) != 2)
		return -1;
	return (double)(v + c) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

int main(int argc, char **argv)
{
	struct rusage ru;
	siginfo_t si;
	double t0, t1, g;
	int status, code;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: vmmcpu OUTFILE COMMAND [ARGS...]\n");
		return 2;
	}
	t0 = now_us();
	pid = fork();
	if (pid < 0) {
		perror("vmmcpu: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "vmmcpu: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0) {
		if (errno != EINTR) {
			perror("vmmcpu: waitid");
			return 2;
		}
	}
	t1 = now_us();
	g = guest_us(pid);
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("vmmcpu: wait4");
			return 2;
		}
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(argv[1], "a");
	if (!out) {
		fprintf(stderr, "vmmcpu: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	fprintf(out, "vmmcpu user_us %ld sys_us %ld guest_us %.0f wall_us %.0f status %d\n",
		ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
		ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, g, t1 - t0, code);
	fclose(out);
	return code;
}
