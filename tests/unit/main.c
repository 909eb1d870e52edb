/* The unit test runner: every suite in one SRunner, Check's own summary line. */
#include <stdlib.h>

#include "tests/unit/suites.h"

static Suite *(*const suites[])(void) = {
	bus_suite,  gm_suite,	  bzimage_suite, linux_suite,	   cli_suite,	serial_suite,
	pci_suite,  acpi_suite,	  cpu_suite,	 console_suite,	   power_suite, vq_suite,
	msix_suite, evloop_suite, blk_suite,	 virtio_pci_suite, net_suite,
	seccomp_suite, trace_suite, iov_suite, exec_spec_suite, cpio_suite, modules_suite,
	vhost_user_suite, fs_suite, vconsole_suite, virtiofsd_suite,
	qcow2_suite, qcow2_hostile_suite, qcow2_write_suite, qcow2_create_suite, disk_suite,
	json_suite, api_suite,
};

int main(void)
{
	SRunner *sr = srunner_create(suites[0]());
	int failed;

	for (size_t i = 1; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
