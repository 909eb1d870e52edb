/*
 * Link check of the arm64 sysroot (tests/arm64/sysroot.sh): one call into
 * each library Ember links statically. Run on arm64 (the test host), it also
 * shows that io_uring works there; it prints one line per library and exits
 * 0 when every call succeeded.
 */
#include <libfdt.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

int main(void)
{
	struct io_uring ring;
	char fdt[256];
	int failed = 0;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	printf("liburing: io_uring_queue_init %s\n", ret ? strerror(-ret) : "ok");
	if (ret)
		failed = 1;
	else
		io_uring_queue_exit(&ring);

	ret = fdt_create(fdt, sizeof(fdt));
	printf("libfdt: fdt_create %s\n", ret ? fdt_strerror(ret) : "ok");
	failed |= ret != 0;

	printf("zlib: %s\n", zlibVersion());
	printf("zstd: %u\n", ZSTD_versionNumber());
	return failed;
}
