/* The unit test runner: the suites in one SRunner, Check's own summary line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/suites.h"

static Suite *(*const suites[])(void) = {
	bus_suite,  gm_suite,	  bzimage_suite, linux_suite,	   cli_suite,	serial_suite,
	pci_suite,  acpi_suite,	  cpu_suite,	 console_suite,	   power_suite, vq_suite,
	msix_suite, evloop_suite, blk_suite,	 virtio_pci_suite, net_suite,
	seccomp_suite, trace_suite, iov_suite, exec_spec_suite, cpio_suite, modules_suite,
	vhost_user_suite, fs_suite, vconsole_suite, virtiofsd_suite,
	qcow2_suite, qcow2_hostile_suite, qcow2_write_suite, qcow2_create_suite, disk_suite,
	json_suite, api_suite, snapfile_suite, snapstate_suite, fdt_suite, snapshot_suite, snapcli_suite,
	pl011_suite, image_suite, pci_ecam_suite,
};

/*
 * `unit` runs every suite; `unit K/N` only the suites whose place in the
 * list is K modulo N, so that N processes can share the suites; `unit
 * --count` prints how many suites there are, so that `unit K/COUNT` runs
 * suite K alone. The sanitized tier runs each suite in a process of its own
 * (tests/unit/split.sh): under AddressSanitizer the runner's quarantine of
 * freed memory grows with every test it forks, and so does the cost of the
 * next fork.
 */
int main(int argc, char **argv)
{
	size_t n = sizeof(suites) / sizeof(suites[0]);
	unsigned int k = 0, of = 1;
	SRunner *sr = NULL;
	int failed;
	char end;

	if (argc > 1 && !strcmp(argv[1], "--count")) {
		printf("%zu\n", n);
		return EXIT_SUCCESS;
	}
	if (argc > 1 && (sscanf(argv[1], "%u/%u%c", &k, &of, &end) != 2 || !of || k >= of)) {
		fprintf(stderr, "usage: %s [K/N | --count]\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		if (i % of != k)
			continue;
		if (!sr)
			sr = srunner_create(suites[i]());
		else
			srunner_add_suite(sr, suites[i]());
	}
	if (!sr)
		return EXIT_SUCCESS;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
