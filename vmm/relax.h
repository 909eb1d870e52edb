#pragma once
/*
 * relax(): the CPU's hint that this thread spins, waiting (x86's PAUSE,
 * arm64's YIELD), for loops that poll a queue instead of sleeping.
 */
static inline void relax(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#else
	__asm__ volatile("yield" ::: "memory");
#endif
}
