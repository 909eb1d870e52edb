#include "vmm/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"

#define VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1: what VERSION_1 devices use */

int tap_open(const char *name, int *out)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = VNET_HDR_LEN, fd, err;

	if (!*name || strlen(name) >= IFNAMSIZ) {
		log_err("tap name '%s' must have 1 to %d characters", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT || err == -ENODEV)
			log_err("no /dev/net/tun: load the tun module (modprobe tun)");
		else
			log_err("cannot open /dev/net/tun: %s", strerror(-err));
		return err;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		if (err == -EBUSY)
			log_err("tap '%s' is in use by another process", name);
		else if (err == -EPERM || err == -EACCES)
			log_err("no permission to use tap '%s': run as root or create it for your user "
				"(ip tuntap add %s mode tap user $USER vnet_hdr)", name, name);
		else if (err == -EINVAL)
			log_err("'%s' exists but is not a tap device with virtio-net headers", name);
		else
			log_err("cannot attach tap '%s': %s", name, strerror(-err));
		close(fd);
		return err;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		err = -errno;
		log_err("tap '%s' refuses %d-byte virtio-net headers: %s", name, hdr, strerror(-err));
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

int tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, tun_flags) < 0 ? -errno : 0;
}
