#include "vmm/console.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/exit.h"
#include "vmm/log.h"

/*
 * The terminal settings to put back if Ember dies on a fatal signal. A
 * signal handler cannot be handed context, so this is the one piece of
 * file-scope mutable state here; it is written before any thread starts.
 */
static struct termios saved_termios;
static int saved_termios_fd = -1;

void console_restore_terminal(void)
{
	if (saved_termios_fd >= 0)
		tcsetattr(saved_termios_fd, TCSANOW, &saved_termios);
}

static void fatal_signal(int sig)
{
	console_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int make_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct termios t;

	if (tcgetattr(fd, &saved_termios) < 0)
		return -errno;
	t = saved_termios;
	cfmakeraw(&t);
	/* Keep output post-processing so Ember's own messages start at column 0. */
	t.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	saved_termios_fd = fd;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	return 0;
}

/* The termination signals the console loop takes through its signalfd. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

int console_hold_signals(void)
{
	sigset_t set;

	stop_signals(&set);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	/* A reader that goes away (ember run ... | head) must not end Ember: its
	 * output is dropped (a write gets EPIPE) and the guest runs on. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int console_open(struct console *c, int in_fd)
{
	sigset_t set;
	int err;

	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->sig_fd = -1;
	err = console_hold_signals();
	if (err)
		return err;
	stop_signals(&set);
	c->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sig_fd < 0)
		return -errno;
	if (in_fd >= 0 && isatty(in_fd)) {
		err = make_raw(in_fd);
		if (err)
			log_warn("cannot switch the terminal to raw mode: %s", strerror(-err));
		else
			c->raw = true;
	}
	return 0;
}

void console_close(struct console *c)
{
	if (c->raw) {
		tcsetattr(c->in_fd, TCSANOW, &saved_termios);
		saved_termios_fd = -1;
		c->raw = false;
	}
	if (c->sig_fd >= 0) {
		close(c->sig_fd);
		c->sig_fd = -1;
	}
}

size_t console_feed(struct console *c, const struct uart *u, const uint8_t *buf, size_t n,
		    bool *quit)
{
	size_t i = 0;

	*quit = false;
	while (i < n) {
		uint8_t b = buf[i];

		if (c->escape) {
			if (b == 'x' || b == 'X') {
				*quit = true;
				return i + 1;
			}
			/* Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A + any other key sends that key. */
			if (!u->ops->rx(u->dev, &b, 1))
				return i;
			c->escape = false;
		} else if (b == CONSOLE_ESCAPE && c->raw) {
			c->escape = true;
		} else if (!u->ops->rx(u->dev, &b, 1)) {
			return i;
		}
		i++;
	}
	return i;
}

/* Read what the FIFO can take now; returns false at end of input. */
static bool pump_input(struct console *c, const struct console_vm *vm, bool *quit)
{
	uint8_t buf[UART_RX_MAX];
	size_t room = vm->uart.ops->rx_space(vm->uart.dev);
	ssize_t n;

	*quit = false;
	if (!room)
		return true;
	if (room > sizeof(buf))
		room = sizeof(buf);
	n = read(c->in_fd, buf, room);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	/* The FIFO had `room` bytes free and only the guest drains it: all bytes fit. */
	console_feed(c, &vm->uart, buf, (size_t)n, quit);
	return true;
}

static int signal_status(struct console *c)
{
	struct signalfd_siginfo si;

	if (read(c->sig_fd, &si, sizeof(si)) != sizeof(si))
		return -1;
	log_info("stopping on signal %u", si.ssi_signo);
	return 128 + (int)si.ssi_signo;
}

/* The loop's own entries, in this order, then the extra source's. */
enum { PFD_STOP, PFD_SIG, PFD_RX_SPACE, PFD_IN, PFD_OUT, PFD_OWN };

int console_loop(struct console *c, const struct console_vm *vm)
{
	bool input = c->in_fd >= 0, quit;
	uint64_t count;

	for (;;) {
		struct pollfd pfd[PFD_OWN + CONSOLE_EXTRA_MAX] = {
			[PFD_STOP] = { .fd = vm->stop_fd, .events = POLLIN },
			[PFD_SIG] = { .fd = c->sig_fd, .events = POLLIN },
			[PFD_RX_SPACE] = { .fd = vm->rx_space_fd, .events = POLLIN },
			/* Read input only while the FIFO has room: back-pressure to the terminal. */
			[PFD_IN] = { .fd = input && vm->uart.ops->rx_space(vm->uart.dev) ? c->in_fd : -1, .events = POLLIN },
			/* Guest output the fd could not take: flush it when it can. */
			[PFD_OUT] = { .fd = vm->uart.ops->tx_pending(vm->uart.dev) ? vm->uart.out_fd : -1, .events = POLLOUT },
		};
		unsigned int extra = vm->extra ? vm->extra->fill(vm->extra->ctx, pfd + PFD_OWN, CONSOLE_EXTRA_MAX) : 0;
		int status;

		if (poll(pfd, PFD_OWN + extra, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll failed: %s", strerror(errno));
			return EXIT_INTERNAL;
		}
		if (pfd[PFD_STOP].revents)
			return *vm->exit_status;
		if (pfd[PFD_SIG].revents && (status = signal_status(c)) >= 0)
			return status;
		if (pfd[PFD_RX_SPACE].revents && read(vm->rx_space_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			log_debug("rx eventfd: %s", strerror(errno));
		if (pfd[PFD_OUT].revents)
			vm->uart.ops->flush(vm->uart.dev); /* or drops it all, when the reader went away */
		if (pfd[PFD_IN].revents & (POLLERR | POLLNVAL))
			input = false;
		else if (pfd[PFD_IN].revents) {
			input = pump_input(c, vm, &quit);
			if (quit) {
				log_info("quit from the console");
				return EXIT_USER_QUIT;
			}
		}
		if (extra)
			vm->extra->ready(vm->extra->ctx, pfd + PFD_OWN, extra);
	}
}
