#pragma once
/*
 * Ember's exit statuses, and the hook through which a device asks the VM to
 * stop (power off, reset, test exit port).
 */

enum exit_status {
	EXIT_GUEST_OFF = 0,	 /* guest powered off or rebooted */
	EXIT_SETUP = 1,		 /* Ember could not set the VM up */
	EXIT_USAGE = 2,		 /* bad command line */
	EXIT_TRIPLE_FAULT = 3,	 /* guest shut down by a triple fault */
	EXIT_INTERNAL = 4,	 /* KVM internal error or emulation failure */
	EXIT_FAIL_ENTRY = 5,	 /* hardware refused to enter the guest */
	EXIT_SECCOMP = 6,	 /* a thread made a system call its seccomp filter forbids */
	EXIT_GUEST_PANIC = 7,	 /* the guest kernel panicked and said so (pvpanic) */
	EXIT_BACKEND_LOST = 8,	 /* a vhost-user backend (virtiofsd) went away */
	EXIT_PORT_BASE = 64,	 /* 64 + (N mod 64): guest wrote N != 0 to the exit port */
	EXIT_USER_QUIT = 130,	 /* Ctrl-A x on the console */
	EXIT_POWEROFF = 143,	 /* poweroff on the API socket: as SIGTERM (128 + 15) */
	/* ember exec: the command's status (0-255) except for these. */
	EXIT_TIMEOUT = 124,	 /* --timeout ran out (as timeout(1)) */
	EXIT_EXEC_PANIC = 125,	 /* the guest kernel panicked (pvpanic) */
	EXIT_EXEC_SIGPIPE = 141, /* Ember's stdout went away: what the command would get (128 + SIGPIPE) */
	EXIT_EXEC_NO_STATUS = 255, /* the guest ended without the command's status */
};

struct exit_hook {
	/* Ask the VM to stop with `status`; the first request wins. Thread-safe. */
	void (*request)(void *ctx, int status, const char *reason);
	void *ctx;
};

static inline void exit_request(const struct exit_hook *h, int status, const char *reason)
{
	if (h->request)
		h->request(h->ctx, status, reason);
}
