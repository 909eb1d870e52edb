/*
 * threadcost: what a VMM's first thread costs on this host, the way Ember
 * starts a vCPU thread: pthread_create() (the time the creator spends in it),
 * the time until the new thread first runs, and, once it sleeps on a
 * condition variable, the time from the creator's signal until it runs
 * again (Ember's vCPU gate). Each round is a fresh process, as each VMM
 * start is (a process's first thread costs more than later ones).
 *
 *   threadcost ROUNDS
 *
 * Prints "threadcost-us create M first-run M wake M (N rounds)": medians
 * in microseconds.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 1000

struct shared {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int go;
	long long first_run, woke;
};

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *sleeper(void *arg)
{
	struct shared *s = arg;

	s->first_run = now_ns();
	pthread_mutex_lock(&s->lock);
	while (!s->go)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	s->woke = now_ns();
	return NULL;
}

/* One round in this (fresh) process: the three figures in ns into out[]. */
static int one_round(long long out[3])
{
	struct shared s = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	long long t0, t1, sig;
	pthread_t t;

	t0 = now_ns();
	if (pthread_create(&t, NULL, sleeper, &s))
		return -1;
	t1 = now_ns();
	usleep(20000); /* long enough for the thread to be asleep at the condition */
	pthread_mutex_lock(&s.lock);
	s.go = 1;
	sig = now_ns();
	pthread_cond_signal(&s.cond);
	pthread_mutex_unlock(&s.lock);
	pthread_join(t, NULL);
	out[0] = t1 - t0;
	out[1] = s.first_run - t0;
	out[2] = s.woke - sig;
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static long long median_us(long long *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000;
}

int main(int argc, char **argv)
{
	static long long fig[3][MAX_ROUNDS];
	int rounds = argc == 2 ? atoi(argv[1]) : 0, n = 0;

	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: threadcost ROUNDS (1-%d)\n", MAX_ROUNDS);
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		long long got[3];
		int p[2], st;
		pid_t pid;

		if (pipe(p) < 0)
			return 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(p[0]);
			if (one_round(got) || write(p[1], got, sizeof(got)) != (ssize_t)sizeof(got))
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		if (read(p[0], got, sizeof(got)) == (ssize_t)sizeof(got)) {
			for (int i = 0; i < 3; i++)
				fig[i][n] = got[i];
			n++;
		}
		close(p[0]);
		waitpid(pid, &st, 0);
	}
	if (!n) {
		fprintf(stderr, "threadcost: no round completed\n");
		return 1;
	}
	printf("threadcost-us create %lld first-run %lld wake %lld (%d rounds)\n",
	       median_us(fig[0], n), median_us(fig[1], n), median_us(fig[2], n), n);
	return 0;
}
