/* priv.h: who the worker runs as, and giving up privilege.
 *
 * Started as root, every process of `vantage-worker run` becomes one
 * unprivileged user (--user; default the packaged system user vantage-worker
 * if it exists, else nobody) before it touches the network. Only the scan
 * helper keeps a capability, CAP_NET_RAW, because each lease's scan process
 * must open raw sockets; that process drops it too once they are open. The
 * main process, which parses what the coordinator sends, keeps nothing. A
 * start as an unprivileged user with CAP_NET_RAW granted on the binary
 * (setcap cap_net_raw+ep) or by systemd (AmbientCapabilities) works the same,
 * without the change of user. In every case the bounding set is cleared where
 * the process may (started as root), ambient capabilities are cleared,
 * no_new_privs is set, and the result is read back from the kernel: a drop
 * that did not take is an error, never a warning.
 *
 * Capabilities are per thread: call these before any thread starts. */
#ifndef VANTAGE_PRIV_H
#define VANTAGE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The user every process of the worker ends as. */
struct vt_run_as {
    bool change;   /* started as root: become uid:gid (else stay who we are) */
    uid_t uid;     /* never 0 when change is set */
    gid_t gid;     /* the user's primary group; supplementary groups are dropped */
    char name[64]; /* for messages */
    bool net_raw;  /* CAP_NET_RAW was permitted at start: scans can open their sockets */
};

/* The packaged system user, preferred over nobody when it exists. */
#define VT_RUN_AS_PACKAGED "vantage-worker"

/* Decides whom to run as. user: --user (NULL: the default above). Refuses a
 * user that is root (uid or gid 0), a user that does not exist, and, when not
 * started as root, a --user other than the current one (there is no changing
 * to it). 0, or -1 with a one-line reason. */
int vt_run_as_resolve(struct vt_run_as *ra, const char *user, char *err, size_t errlen);

/* Makes directory dir (the spool) usable by ra's user before the change of
 * user: creates it (mode 0700) if absent, and when starting as root hands it
 * and its spool files to the user. Refuses a symbolic link, a directory that
 * holds anything but spool files (so that --spool / cannot give / away), and
 * files with several links. Nothing to do when not changing user. 0, or -1
 * with a reason. */
int vt_run_as_own_dir(const struct vt_run_as *ra, const char *dir, char *err, size_t errlen);

/* Becomes ra's user (when ra->change) keeping exactly CAP_NET_RAW, permitted
 * and effective, if keep_net_raw and ra->net_raw, else no capability at all;
 * sets no_new_privs; and checks that the kernel agrees (uids, gids and
 * capabilities read back). 0, or -1 with a reason. */
int vt_run_as_enter(const struct vt_run_as *ra, bool keep_net_raw, char *err, size_t errlen);

/* For a scan whose sockets are open (worker/scan.c): drops every
 * capability, sets no_new_privs, and when running as root also becomes the
 * default user above, so a flaw in packet or banner parsing cannot be turned
 * into root on a partner's host. 0, or -1 with a reason. */
int vt_drop_privileges(char *err, size_t errlen);

/* True if this process may raise CAP_NET_RAW (it is permitted). */
bool vt_have_net_raw(void);

/* The hint every "operation not permitted" on a raw socket ends with. */
#define VT_NEED_NET_RAW                                                                            \
    "scanning needs CAP_NET_RAW: run as root or grant it once with "                               \
    "'setcap cap_net_raw+ep $(command -v vantage-worker)'"

#endif
