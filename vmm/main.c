/*
 * ember: a minimal KVM virtual machine monitor.
 *
 * main() only parses the command line and hands over to run_vm()
 * (vmm/run.c), which is where a student should read on: images are
 * checked, the VM is built (vmm/vm.c), the kernel is placed in guest RAM
 * (boot/linux.c) and the vCPUs start (vmm/vcpu.c).
 */
#include <stdio.h>

#include "vmm/cli.h"
#include "vmm/ctl.h"
#include "vmm/exit.h"
#include "vmm/log.h"
#include "vmm/run.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1"
#endif

int main(int argc, char **argv)
{
	struct cli_config cfg;

	if (cli_parse(argc, argv, &cfg))
		return EXIT_USAGE;
	switch (cfg.command) {
	case CLI_HELP:
		cli_usage();
		return 0;
	case CLI_VERSION:
		printf("ember %s\n", EMBER_VERSION);
		return 0;
	case CLI_CTL:
	case CLI_RUN:
	case CLI_EXEC:
		break;
	}
	log_set_level(cfg.verbose >= 2 ? LOG_DEBUG : cfg.verbose ? LOG_INFO : LOG_WARN);
	if (cfg.command == CLI_CTL)
		return ctl_run(&cfg);
	return cfg.command == CLI_EXEC ? run_exec(&cfg) : run_vm(&cfg);
}
