#pragma once
/*
 * The host side of the guest console: puts the terminal in raw mode while
 * the guest owns it, feeds standard input to the serial port with
 * back-pressure, handles the Ctrl-A escape, and runs the main thread's wait
 * loop until the VM stops.
 */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <termios.h>

#include "devices/uart.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

struct console {
	int in_fd;	/* -1: the guest gets no input */
	bool raw;	/* terminal switched to raw mode (restore on exit) */
	bool escape;	/* Ctrl-A seen, waiting for the command key */
	int sig_fd;	/* signalfd for SIGINT/SIGTERM/SIGHUP */
};

/*
 * Block the termination signals (SIGINT, SIGTERM, SIGHUP) in the calling
 * thread and ignore SIGPIPE (a reader of the guest's output that goes away
 * must not end Ember). Call before any thread starts: threads inherit the
 * mask, so the signals reach no thread but the console loop's signalfd
 * (one that does not block them would die of them, taking Ember with it).
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int console_hold_signals(void);

/*
 * console_hold_signals(), then the signalfd that the loop receives those
 * signals through and, if `in_fd` is a terminal, raw mode. Returns 0 or
 * -errno.
 */
__attribute__((warn_unused_result)) int console_open(struct console *c, int in_fd);

/* Restore the terminal and signal mask. Idempotent. */
void console_close(struct console *c);

/*
 * Put the terminal settings saved by console_open() back, if it changed
 * them and console_close() has not run yet. Async-signal-safe: for handlers
 * of fatal signals.
 */
void console_restore_terminal(void);

#define CONSOLE_EXTRA_MAX 16 /* poll entries a struct console_source may add */

/*
 * More descriptors for the main loop (the API socket, vmm/api.c): before
 * each poll() fill() adds up to `max` entries; ready() gets them back with
 * their revents. Both run on the main thread.
 */
struct console_source {
	unsigned int (*fill)(void *ctx, struct pollfd *pfd, unsigned int max);
	void (*ready)(void *ctx, const struct pollfd *pfd, unsigned int n);
	void *ctx;
};

/* What the main thread's loop serves of the VM: no more than this. */
struct console_vm {
	int stop_fd;		/* eventfd: a stop was requested */
	const int *exit_status; /* the VM's status, written before stop_fd is signalled */
	struct uart uart;	/* the guest's UART: input goes in, stalled output is flushed */
	int rx_space_fd;	/* eventfd: the UART's receive FIFO drained */
	const struct console_source *extra; /* or NULL */
};

/*
 * Serve input, flush guest output a stalled fd could not take, and wait
 * until the VM asks to stop, the user quits, or a signal arrives. Nothing
 * here blocks on the output. Returns Ember's exit status.
 */
int console_loop(struct console *c, const struct console_vm *vm);

/*
 * Feed `n` bytes of user input through the escape handling into the UART `u`.
 * Returns the number of bytes consumed (it stops early when the FIFO is
 * full) and sets *quit when Ctrl-A x was typed. Pure apart from the UART.
 */
size_t console_feed(struct console *c, const struct uart *u, const uint8_t *buf, size_t n,
		    bool *quit);
