/*
 * Fuzz target: the command line of `ember` (vmm/cli.c).
 *
 * The input is split at NUL bytes into words, each copied into its own heap
 * buffer (so a read past a word's end is reported), and parsed as
 * `ember WORD...` with cli_parse(). Each word is also given to
 * cli_parse_size(), which must agree with a reference parser, and to
 * cli_parse_disk() (with a path buffer of exactly the size it is told) and
 * cli_parse_nic(). A parse that succeeds must leave a configuration `ember
 * run` can trust: one of --kernel and --firmware, memory and vCPUs in range,
 * at most 8 disks and 4 NICs with terminated names of legal lengths, an
 * --api path that fits a socket address (with --restore: no option that
 * says how the VM is made); and for `ember ctl` a socket path that fits, a
 * command it knows and, for snapshot, a directory.
 *
 * Input: words separated by NUL bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "vmm/cli.h"

#define MAX_WORDS  64
#define SMALL_PATH 16

/*
 * The size syntax of cli.h, written out again: digits, then optionally K, M,
 * G or T in either case followed by nothing, "iB" or "B". -EINVAL for
 * anything else, -ERANGE for a size that does not fit in 64 bits.
 */
static int ref_parse_size(const char *s, uint64_t *bytes)
{
	unsigned __int128 v = 0;
	unsigned int shift = 20; /* a plain number is MiB */
	bool big = false;
	size_t i = 0;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		big |= v > UINT64_MAX;
		v = big ? 0 : v;
	}
	if (s[i]) {
		switch (s[i]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		case 'T': case 't': shift = 40; break;
		default: return -EINVAL;
		}
		i++;
		if (strcmp(s + i, "") && strcmp(s + i, "iB") && strcmp(s + i, "B"))
			return -EINVAL;
	}
	if (big || (v << shift) > UINT64_MAX)
		return -ERANGE;
	*bytes = (uint64_t)(v << shift);
	return 0;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static void check_config(const struct cli_config *c)
{
	if (c->command == CLI_CTL) {
		expect(c->ctl_path && c->ctl_path[0] && strlen(c->ctl_path) <= CLI_SOCKET_PATH_MAX);
		expect(c->ctl_cmd && cli_ctl_cmd_ok(c->ctl_cmd));
		expect(strcmp(c->ctl_cmd, "snapshot") || (c->ctl_dir && c->ctl_dir[0]));
		return;
	}
	if (c->command != CLI_RUN)
		return;
	expect(!c->api_path || (c->api_path[0] && strlen(c->api_path) <= CLI_SOCKET_PATH_MAX));
	if (c->restore) { /* the machine comes from the snapshot: none of it on the command line */
		expect(c->restore[0] && !c->kernel && !c->firmware && !c->initrd && !c->cmdline);
		expect(!c->nr_disks && !c->nr_nics && !c->nr_fs);
		return;
	}
	expect(!c->kernel != !c->firmware);
	expect(!c->firmware || (!c->initrd && !c->cmdline));
	expect(c->memory > 0 && c->cpus >= 1 && c->cpus <= CLI_MAX_CPUS);
	expect(c->serial != CLI_SERIAL_FILE || (c->serial_path && c->serial_path[0]));
	expect(c->nr_disks <= CLI_MAX_DISKS && c->nr_nics <= CLI_MAX_NICS);
	for (unsigned int i = 0; i < c->nr_disks; i++) {
		expect(c->disk[i].path && c->disk[i].path[0]);
		expect(terminated(c->disk_paths[i], sizeof(c->disk_paths[i])));
		expect(terminated(c->disk[i].id, sizeof(c->disk[i].id)));
	}
	for (unsigned int i = 0; i < c->nr_nics; i++) {
		expect(c->nic[i].tap[0] && terminated(c->nic[i].tap, sizeof(c->nic[i].tap)));
		expect(!c->nic[i].mac_set || !(c->nic[i].mac[0] & 1));
	}
}

static void parse_word(const char *w)
{
	uint64_t got = 0, want = 0;
	int r = cli_parse_size(w, &got), ref = ref_parse_size(w, &want);
	struct cli_disk d;
	struct cli_nic n;
	char *path = malloc(SMALL_PATH);

	expect(r == ref && (r || got == want));
	if (!path)
		abort();
	if (cli_parse_disk(w, &d, path, SMALL_PATH) == 0)
		expect(d.path == path && path[0] && strlen(path) < SMALL_PATH &&
		       strlen(d.id) <= 20);
	free(path);
	if (cli_parse_nic(w, &n) == 0)
		expect(n.tap[0] && strlen(n.tap) < sizeof(n.tap));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = input_init(data, size);
	char *argv[MAX_WORDS + 2] = { "ember" };
	int argc = 1;
	struct cli_config *cfg = malloc(sizeof(*cfg));

	if (!cfg)
		abort();
	while (!input_empty(&in) && argc <= MAX_WORDS) {
		const uint8_t *end = memchr(in.p, 0, in.left);
		size_t len = end ? (size_t)(end - in.p) : in.left;

		argv[argc] = malloc(len + 1);
		if (!argv[argc])
			abort();
		input_bytes(&in, argv[argc], len);
		argv[argc][len] = 0;
		in.p += end ? 1 : 0;
		in.left -= end ? 1 : 0;
		parse_word(argv[argc++]);
	}
	argv[argc] = NULL;
	if (cli_parse(argc, argv, cfg) == 0)
		check_config(cfg);
	for (int i = 1; i < argc; i++)
		free(argv[i]);
	free(cfg);
	return 0;
}
