#pragma once
/*
 * virtiofsd, the field's standard virtio-fs backend, started and stopped by
 * Ember for `ember exec` (--root, --share). Each shared directory gets its
 * own virtiofsd listening on a unix socket in a private directory; Ember's
 * virtio-fs device then connects to it as a vhost-user frontend.
 *
 * A read-only share is read-only on the host side too: virtiofsd starts in
 * a mount namespace of its own where the directory, and every mount below
 * it, is bound read-only at SOCKET.ro (an empty directory beside the
 * socket) and served from there, so a guest that remounts its root
 * read-write still cannot write the host's files (Debian 12's virtiofsd has
 * no read-only option of its own). virtiofsd dies with Ember (PR_SET_PDEATHSIG),
 * even when Ember is killed.
 */
#include <stdbool.h>
#include <sys/types.h>

struct virtiofsd {
	pid_t pid; /* 0: not running */
	char socket[108];
	char ro_mnt[112]; /* SOCKET.ro, the read-only view's mount point; "" when none */
};

/*
 * Find the virtiofsd program: $EMBER_VIRTIOFSD, /usr/libexec/virtiofsd
 * (the virtiofsd package), /usr/lib/qemu/virtiofsd (Debian 12's
 * qemu-system-common), then PATH. Logs which packages provide it and
 * returns -ENOENT when none is found.
 */
__attribute__((warn_unused_result)) int virtiofsd_find(char *path, size_t size);

/*
 * Start `bin` serving `dir` on the socket `socket` (its directory private
 * to the caller, who removes SOCKET.ro too) and wait until it
 * listens (up to a few seconds). Returns 0 or -errno with the cause logged.
 * `quiet` keeps everything it prints off Ember's stderr.
 */
__attribute__((warn_unused_result)) int virtiofsd_start(struct virtiofsd *d, const char *bin,
							const char *dir, bool readonly,
							const char *socket, bool quiet);

/* Whether it has exited (reaps it if so). */
bool virtiofsd_exited(struct virtiofsd *d);

/*
 * Wait up to `ms` for it to exit (it does once its connection closes) and
 * reap it; true if it has. Sends no signal: if it lingers, Ember's own exit
 * ends it (PR_SET_PDEATHSIG).
 */
bool virtiofsd_wait(struct virtiofsd *d, int ms);

/* Stop it (SIGTERM, then SIGKILL after a short grace) and reap it. Safe if not running. */
void virtiofsd_stop(struct virtiofsd *d);
