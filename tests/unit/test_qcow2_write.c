/* vmm/qcow2: writes. */
#include "tests/unit/qcow2_fixture.h"
#include "tests/unit/suites.h"

Suite *qcow2_write_suite(void)
{
	return suite_create("qcow2_write");
}
