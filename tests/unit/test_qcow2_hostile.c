/* vmm/qcow2: hostile images, patched from valid ones. */
#include "tests/unit/qcow2_fixture.h"
#include "tests/unit/suites.h"

Suite *qcow2_hostile_suite(void)
{
	return suite_create("qcow2_hostile");
}
