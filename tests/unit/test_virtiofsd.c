/*
 * vmm/virtiofsd: finding, starting and stopping the real virtiofsd. The
 * start and read-only cases need root and Debian's virtiofsd; they pass
 * without checking anything where either is missing (and say so).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "vmm/virtiofsd.h"

static bool can_start(char *bin, size_t size)
{
	if (geteuid() != 0 || virtiofsd_find(bin, size)) {
		fprintf(stderr, "virtiofsd tests: not root or no virtiofsd here; not run\n");
		return false;
	}
	return true;
}

START_TEST(test_find_honours_env_and_refuses_junk)
{
	char bin[4096];

	setenv("EMBER_VIRTIOFSD", "/nonexistent/virtiofsd", 1);
	ck_assert_int_eq(virtiofsd_find(bin, sizeof(bin)), -ENOENT);
	setenv("EMBER_VIRTIOFSD", "/bin/sh", 1);
	ck_assert_int_eq(virtiofsd_find(bin, sizeof(bin)), 0);
	ck_assert_str_eq(bin, "/bin/sh");
	setenv("EMBER_VIRTIOFSD", "/etc", 1); /* a directory is not a program */
	ck_assert_int_eq(virtiofsd_find(bin, sizeof(bin)), -ENOENT);
	unsetenv("EMBER_VIRTIOFSD");
}
END_TEST

/* Start one on a fresh directory; *d running, its socket at sock. */
static bool start(struct virtiofsd *d, char *dir, char *sock, bool ro)
{
	char bin[4096];

	if (!can_start(bin, sizeof(bin)))
		return false;
	strcpy(dir, "/tmp/ember-fsd-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, 200, "%s.sock", dir);
	ck_assert_int_eq(virtiofsd_start(d, bin, dir, ro, sock, true), 0);
	return true;
}

START_TEST(test_start_listens_and_stop_reaps)
{
	struct virtiofsd d;
	char dir[64], sock[200];
	struct stat st;
	pid_t pid;

	if (!start(&d, dir, sock, false))
		return;
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert(!virtiofsd_exited(&d));
	pid = d.pid;
	virtiofsd_stop(&d);
	ck_assert_int_eq(d.pid, 0);
	ck_assert_int_eq(kill(pid, 0), -1); /* reaped: no such process */
	virtiofsd_stop(&d);		    /* twice is harmless */
	unlink(sock);
	rmdir(dir);
}
END_TEST

/* A read-only share: virtiofsd serves a read-only bind of it (SOCKET.ro) in a namespace of its own.
 */
START_TEST(test_readonly_is_a_readonly_mount_in_its_namespace)
{
	struct virtiofsd d;
	char dir[64], sock[200], path[128], line[8192];
	int fd;
	bool found = false;
	FILE *f;

	if (!start(&d, dir, sock, true))
		return;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)d.pid);
	/* The child binds the view before it runs virtiofsd: wait for the bind. */
	for (int tries = 0; tries < 500 && !found; tries++) {
		f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f))
			found |= strstr(line, d.ro_mnt) != NULL;
		fclose(f);
		if (!found)
			usleep(10000);
	}
	found = false;
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char mnt[4096], opts[256];

		if (sscanf(line, "%*s %*s %*s %*s %4095s %255s", mnt, opts) == 2 &&
		    !strcmp(mnt, d.ro_mnt)) {
			found = true;
			ck_assert_msg(!strncmp(opts, "ro", 2) && (opts[2] == ',' || !opts[2]),
				      "%s mounted %s", mnt, opts);
		}
	}
	fclose(f);
	ck_assert_msg(found, "%s is no mount in virtiofsd's namespace", d.ro_mnt);
	/* The host's own view is unchanged. */
	snprintf(path, sizeof(path), "%s/w", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	virtiofsd_stop(&d);
	unlink(path);
	unlink(sock);
	rmdir(d.ro_mnt);
	rmdir(dir);
}
END_TEST

START_TEST(test_exits_early_reaped)
{
	struct virtiofsd d;
	char sock[] = "/tmp/ember-fsd-none.sock";

	/* /bin/false exits at once: it is reaped, without a signal. */
	unlink(sock);
	ck_assert_int_eq(virtiofsd_start(&d, "/bin/false", "/", false, sock, true), 0);
	ck_assert(virtiofsd_wait(&d, 5000));
	ck_assert_int_eq(d.pid, 0);
	unlink(sock);
}
END_TEST

Suite *virtiofsd_suite(void)
{
	Suite *s = suite_create("virtiofsd");
	TCase *tc = tcase_create("virtiofsd");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_find_honours_env_and_refuses_junk);
	tcase_add_test(tc, test_start_listens_and_stop_reaps);
	tcase_add_test(tc, test_readonly_is_a_readonly_mount_in_its_namespace);
	tcase_add_test(tc, test_exits_early_reaped);
	suite_add_tcase(s, tc);
	return s;
}
