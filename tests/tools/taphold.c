/*
 * taphold NAME: attach to tap NAME (creating it) and keep it attached until
 * a signal ends the process, so that a test can check how Ember meets a tap that another
 * process holds. Prints "held" once attached. Needs no /dev/kvm.
 */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd;

	if (argc != 2 || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: taphold NAME (at most %d characters)\n", IFNAMSIZ - 1);
		return 2;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("taphold: /dev/net/tun");
		return 1;
	}
	memcpy(ifr.ifr_name, argv[1], strlen(argv[1]));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("taphold: TUNSETIFF");
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}
