/* Print the TSC rate in Hz, measured against CLOCK_MONOTONIC_RAW over 200 ms. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	struct timespec nap = { 0, 200 * 1000 * 1000 };
	double t0 = now(), t1;
	uint64_t c0 = __rdtsc(), c1;

	nanosleep(&nap, NULL);
	c1 = __rdtsc();
	t1 = now();
	printf("%.0f\n", (double)(c1 - c0) / (t1 - t0));
	return 0;
}
