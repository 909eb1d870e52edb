/* devices/power and devices/i8042: guest requests to stop, seen through a fake exit hook. */
#include "boot/acpi.h"
#include "vmm/layout.h"
#include "devices/i8042.h"
#include "devices/power.h"
#include "devices/pvpanic.h"
#include "tests/unit/suites.h"

#define SLP_EN 0x20
#define SLP_TYP(n) ((n) << 2)

/* Records what the devices asked for. */
struct exit_log {
	int calls;
	int status;
	const char *reason;
};

static void record(void *ctx, int status, const char *reason)
{
	struct exit_log *log = ctx;

	log->calls++;
	log->status = status;
	log->reason = reason;
}

static struct exit_hook hook_for(struct exit_log *log)
{
	*log = (struct exit_log){ .status = -1 };
	return (struct exit_hook){ .request = record, .ctx = log };
}

static void put(const struct bus_ops *ops, struct exit_hook *h, uint64_t off, uint8_t v)
{
	ops->write(h, off, &v, 1);
}

static void assert_stopped(const struct exit_log *log, int status)
{
	ck_assert_int_eq(log->calls, 1);
	ck_assert_int_eq(log->status, status);
	ck_assert_ptr_nonnull(log->reason);
	ck_assert_str_ne(log->reason, "");
}

START_TEST(test_slp_en_with_s5_powers_off)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	put(&power_acpi_ops, &h, 0, SLP_EN | SLP_TYP(ACPI_S5_SLP_TYP));
	assert_stopped(&log, EXIT_GUEST_OFF);
}
END_TEST

START_TEST(test_other_sleep_types_ignored)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	for (uint8_t typ = 0; typ < 8; typ++)
		if (typ != ACPI_S5_SLP_TYP)
			put(&power_acpi_ops, &h, 0, (uint8_t)(SLP_EN | SLP_TYP(typ)));
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

START_TEST(test_s5_without_slp_en_ignored)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	put(&power_acpi_ops, &h, 0, SLP_TYP(ACPI_S5_SLP_TYP));
	put(&power_acpi_ops, &h, 1, SLP_EN | SLP_TYP(ACPI_S5_SLP_TYP)); /* status register */
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

START_TEST(test_reset_register_reboots)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	put(&power_acpi_ops, &h, 2, ACPI_RESET_VALUE);
	assert_stopped(&log, EXIT_GUEST_OFF);
}
END_TEST

START_TEST(test_reset_register_other_values_ignored)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	put(&power_acpi_ops, &h, 2, 0);
	put(&power_acpi_ops, &h, 2, 2);
	put(&power_acpi_ops, &h, 2, 0xff);
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

START_TEST(test_acpi_registers_read_zero)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	for (uint64_t off = 0; off < POWER_ACPI_LEN; off++) {
		uint32_t v = 0xffffffff;

		power_acpi_ops.read(&h, off, &v, 1);
		ck_assert_uint_eq(v, 0xffffff00);
	}
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

static const struct {
	uint8_t value;
	int status;
} exit_codes[] = {
	{ 0, EXIT_GUEST_OFF }, { 1, 65 }, { 3, 67 }, { 63, 127 }, { 0x7f, 64 + 63 }, { 0xc1, 65 },
};

START_TEST(test_exit_port_status)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	put(&power_exit_port_ops, &h, 0, exit_codes[_i].value);
	assert_stopped(&log, exit_codes[_i].status);
}
END_TEST

START_TEST(test_hook_without_request_is_harmless)
{
	struct exit_hook h = { 0 };

	put(&power_exit_port_ops, &h, 0, 3);
	put(&power_acpi_ops, &h, 0, SLP_EN | SLP_TYP(ACPI_S5_SLP_TYP));
	put(&i8042_cmd_ops, &h, 0, 0xfe);
}
END_TEST

START_TEST(test_i8042_pulse_reset_stops)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	put(&i8042_cmd_ops, &h, 0, 0xfe);
	assert_stopped(&log, EXIT_GUEST_OFF);
}
END_TEST

START_TEST(test_i8042_other_commands_and_data_ignored)
{
	static const uint8_t cmds[] = { 0x00, 0x20, 0x60, 0xa7, 0xad, 0xd1, 0xf0, 0xff };
	struct exit_log log;
	struct exit_hook h = hook_for(&log);

	for (size_t i = 0; i < sizeof(cmds); i++)
		put(&i8042_cmd_ops, &h, 0, cmds[i]);
	put(&i8042_data_ops, &h, 0, 0xfe);
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

START_TEST(test_i8042_status_and_data_read_zero)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);
	uint8_t status = 0xff, data = 0xff;

	i8042_cmd_ops.read(&h, 0, &status, 1);
	i8042_data_ops.read(&h, 0, &data, 1);
	ck_assert_uint_eq(status, 0);
	ck_assert_uint_eq(data, 0);
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

/* pvpanic: reached through its PCI function's BAR 0, as the PCI module dispatches. */
static void pvpanic_put(struct pvpanic *p, uint64_t off, uint8_t v)
{
	p->pci.bar[0].ops->write(p->pci.bar[0].ctx, off, &v, 1);
}

START_TEST(test_pvpanic_identity_and_bar)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);
	struct pvpanic p;
	uint8_t v = 0xee;

	ck_assert_int_eq(pvpanic_init(&p, &h), 0);
	ck_assert_uint_eq(p.pci.cfg[0] | p.pci.cfg[1] << 8, PVPANIC_VENDOR);
	ck_assert_uint_eq(p.pci.cfg[2] | p.pci.cfg[3] << 8, PVPANIC_DEVICE);
	ck_assert_uint_eq(p.pci.bar[0].size, PVPANIC_BAR_SIZE);
	ck_assert(!p.pci.bar[0].io);
	p.pci.bar[0].ops->read(p.pci.bar[0].ctx, 0, &v, 1);
	ck_assert_uint_eq(v, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	p.pci.bar[0].ops->read(p.pci.bar[0].ctx, 1, &v, 1);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

START_TEST(test_pvpanic_panicked_stops)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);
	struct pvpanic p;

	ck_assert_int_eq(pvpanic_init(&p, &h), 0);
	pvpanic_put(&p, 0, PVPANIC_PANICKED);
	assert_stopped(&log, EXIT_GUEST_PANIC);
}
END_TEST

START_TEST(test_pvpanic_crash_loaded_and_other_writes_ignored)
{
	struct exit_log log;
	struct exit_hook h = hook_for(&log);
	struct pvpanic p;

	ck_assert_int_eq(pvpanic_init(&p, &h), 0);
	pvpanic_put(&p, 0, PVPANIC_CRASH_LOADED);
	pvpanic_put(&p, 0, 0);
	pvpanic_put(&p, 0, 0xfc);
	pvpanic_put(&p, 1, PVPANIC_PANICKED); /* only the first byte is the register */
	pvpanic_put(&p, PVPANIC_BAR_SIZE - 1, 0xff);
	ck_assert_int_eq(log.calls, 0);
}
END_TEST

Suite *power_suite(void)
{
	Suite *s = suite_create("power");
	TCase *acpi_tc = tcase_create("acpi");
	TCase *exit_tc = tcase_create("exit_port");
	TCase *kbd_tc = tcase_create("i8042");
	TCase *panic_tc = tcase_create("pvpanic");

	tcase_add_test(acpi_tc, test_slp_en_with_s5_powers_off);
	tcase_add_test(acpi_tc, test_other_sleep_types_ignored);
	tcase_add_test(acpi_tc, test_s5_without_slp_en_ignored);
	tcase_add_test(acpi_tc, test_reset_register_reboots);
	tcase_add_test(acpi_tc, test_reset_register_other_values_ignored);
	tcase_add_test(acpi_tc, test_acpi_registers_read_zero);
	suite_add_tcase(s, acpi_tc);

	tcase_add_loop_test(exit_tc, test_exit_port_status, 0,
			    sizeof(exit_codes) / sizeof(exit_codes[0]));
	tcase_add_test(exit_tc, test_hook_without_request_is_harmless);
	suite_add_tcase(s, exit_tc);

	tcase_add_test(kbd_tc, test_i8042_pulse_reset_stops);
	tcase_add_test(kbd_tc, test_i8042_other_commands_and_data_ignored);
	tcase_add_test(kbd_tc, test_i8042_status_and_data_read_zero);
	suite_add_tcase(s, kbd_tc);

	tcase_add_test(panic_tc, test_pvpanic_identity_and_bar);
	tcase_add_test(panic_tc, test_pvpanic_panicked_stops);
	tcase_add_test(panic_tc, test_pvpanic_crash_loaded_and_other_writes_ignored);
	suite_add_tcase(s, panic_tc);
	return s;
}
