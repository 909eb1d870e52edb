#pragma once
/*
 * `ember ctl PATH CMD`: a thin client of a running Ember's API socket
 * (docs/api.md). It connects, sends one request with id 1 and prints the
 * reply line; `events` prints what Ember sends until it closes the socket.
 */
#include "vmm/cli.h"

/* Returns the process status: 0 the reply says ok (or events ended), 1 otherwise. */
int ctl_run(const struct cli_config *cfg);
