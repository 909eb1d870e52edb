#pragma once
/* `ember run`: build the VM the configuration describes, run it, tear it down. */
#include "vmm/cli.h"

/* Returns Ember's exit status (see vmm/exit.h). */
int run_vm(const struct cli_config *cfg);
