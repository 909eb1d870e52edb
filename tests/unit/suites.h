#pragma once
/* One Check suite per module under test; tests/unit/main.c runs them all. */
#include <check.h>

Suite *bus_suite(void);
Suite *gm_suite(void);
Suite *bzimage_suite(void);
Suite *linux_suite(void);
Suite *cli_suite(void);
Suite *serial_suite(void);
Suite *pci_suite(void);
Suite *acpi_suite(void);
Suite *cpu_suite(void);
Suite *console_suite(void);
Suite *power_suite(void);
Suite *vq_suite(void);
Suite *blk_suite(void);
Suite *virtio_pci_suite(void);
Suite *msix_suite(void);
Suite *evloop_suite(void);
Suite *net_suite(void);
Suite *seccomp_suite(void);
Suite *trace_suite(void);
Suite *iov_suite(void);
Suite *vconsole_suite(void);
