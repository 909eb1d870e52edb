/* vmm/iov: copies to and from iovec lists, and slices of them. */
#include <string.h>

#include "tests/unit/suites.h"
#include "vmm/iov.h"

/* Three segments of 3, 0 and 5 bytes over "abcdefgh". */
struct ifx {
	char mem[8];
	struct iovec iov[3];
};

static void ifx_init(struct ifx *f)
{
	memcpy(f->mem, "abcdefgh", 8);
	f->iov[0] = (struct iovec){ f->mem, 3 };
	f->iov[1] = (struct iovec){ f->mem + 3, 0 };
	f->iov[2] = (struct iovec){ f->mem + 3, 5 };
}

START_TEST(test_copy_out_across_segments)
{
	struct ifx f;
	char buf[16] = { 0 };

	ifx_init(&f);
	ck_assert_uint_eq(iov_copy(f.iov, 3, 2, buf, 4, false), 4);
	ck_assert_str_eq(buf, "cdef");
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(iov_copy(f.iov, 3, 5, buf, 10, false), 3); /* stops at the end */
	ck_assert_str_eq(buf, "fgh");
	ck_assert_uint_eq(iov_copy(f.iov, 3, 8, buf, 1, false), 0);
	ck_assert_uint_eq(iov_copy(f.iov, 3, 0, buf, 0, false), 0);
	ck_assert_uint_eq(iov_copy(f.iov, 0, 0, buf, 4, false), 0);
}
END_TEST

START_TEST(test_copy_in_across_segments)
{
	struct ifx f;

	ifx_init(&f);
	ck_assert_uint_eq(iov_copy(f.iov, 3, 1, "XYZW", 4, true), 4);
	ck_assert_int_eq(memcmp(f.mem, "aXYZWfgh", 8), 0);
	ck_assert_uint_eq(iov_copy(f.iov, 3, 6, "123", 3, true), 2);
	ck_assert_int_eq(memcmp(f.mem, "aXYZWf12", 8), 0);
}
END_TEST

START_TEST(test_slice)
{
	struct iovec out[4];
	unsigned int n;
	struct ifx f;

	ifx_init(&f);
	ck_assert_uint_eq(iov_slice(f.iov, 3, 2, 4, out, 4, &n), 4);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_eq(out[0].iov_base, f.mem + 2);
	ck_assert_uint_eq(out[0].iov_len, 1);
	ck_assert_ptr_eq(out[1].iov_base, f.mem + 3);
	ck_assert_uint_eq(out[1].iov_len, 3);
	ck_assert_uint_eq(iov_slice(f.iov, 3, 0, 100, out, 4, &n), 8); /* to the end */
	ck_assert_uint_eq(n, 2); /* the empty segment is skipped */
	ck_assert_uint_eq(iov_slice(f.iov, 3, 0, 8, out, 1, &n), 3); /* at most `max` entries */
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(iov_slice(f.iov, 3, 9, 1, out, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

Suite *iov_suite(void)
{
	Suite *s = suite_create("iov");
	TCase *tc = tcase_create("iov");

	tcase_add_test(tc, test_copy_out_across_segments);
	tcase_add_test(tc, test_copy_in_across_segments);
	tcase_add_test(tc, test_slice);
	suite_add_tcase(s, tc);
	return s;
}
