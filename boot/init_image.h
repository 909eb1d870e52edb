#pragma once
/*
 * The guest init of `ember exec` (boot/init/init.c, built static as
 * build/ember-init), embedded in Ember's binary at build time.
 */
#include <stddef.h>

/* The init program's bytes (read-only, static storage) and their count in *len. */
const void *init_image(size_t *len);
