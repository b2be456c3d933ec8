/* priv.c: who the worker runs as, and giving up privilege. See priv.h.
 *
 * libcap-ng does the work: capng_change_id() keeps the capabilities we ask
 * for across the change of user (it sets PR_SET_KEEPCAPS around setresuid and
 * raises them again after), drops supplementary groups and, while it still
 * holds CAP_SETPCAP, clears the bounding set and the ambient set. What the
 * kernel then holds is read back and compared with what was asked. */
#define _GNU_SOURCE /* getresuid, getresgid */
#include "priv.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static bool started_as_root(void)
{
    uid_t r, e, s;
    return getresuid(&r, &e, &s) != 0 || r == 0 || e == 0 || s == 0;
}

bool vt_have_net_raw(void)
{
    return capng_get_caps_process() == 0 &&
           capng_have_capability(CAPNG_PERMITTED, CAP_NET_RAW) == 1;
}

int vt_run_as_resolve(struct vt_run_as *ra, const char *user, char *err, size_t errlen)
{
    memset(ra, 0, sizeof *ra);
    ra->net_raw = vt_have_net_raw();
    bool root = started_as_root();
    if (user && (!user[0] || strlen(user) >= sizeof ra->name)) {
        snprintf(err, errlen, "bad --user '%s': give the name of an unprivileged user", user);
        return -1;
    }
    const struct passwd *pw = NULL;
    if (user) {
        pw = getpwnam(user);
        if (!pw) {
            snprintf(err, errlen,
                     "no user '%s' on this host: create it (useradd --system --shell "
                     "/usr/sbin/nologin %s) or give --user with another unprivileged user",
                     user, user);
            return -1;
        }
    } else if (root) {
        pw = getpwnam(VT_RUN_AS_PACKAGED);
        if (!pw)
            pw = getpwnam("nobody");
        if (!pw) {
            snprintf(err, errlen,
                     "neither user " VT_RUN_AS_PACKAGED " nor nobody exists: give --user NAME, "
                     "an unprivileged user to run as");
            return -1;
        }
    }
    if (pw && (pw->pw_uid == 0 || pw->pw_gid == 0)) {
        snprintf(err, errlen,
                 "--user %s has uid %u and gid %u: the worker never runs as root or group root; "
                 "give an unprivileged user",
                 pw->pw_name, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
        return -1;
    }
    if (root) {
        ra->change = true;
        ra->uid = pw->pw_uid;
        ra->gid = pw->pw_gid;
        snprintf(ra->name, sizeof ra->name, "%s", pw->pw_name);
        return 0;
    }
    ra->uid = geteuid();
    ra->gid = getegid();
    if (pw && pw->pw_uid != ra->uid) {
        snprintf(err, errlen,
                 "--user %s: this process runs as uid %u, not root, so it cannot change user; "
                 "start it as root, or as %s, or drop --user",
                 pw->pw_name, (unsigned)ra->uid, pw->pw_name);
        return -1;
    }
    if (!pw)
        pw = getpwuid(ra->uid);
    if (pw)
        snprintf(ra->name, sizeof ra->name, "%s", pw->pw_name);
    else
        snprintf(ra->name, sizeof ra->name, "uid %u", (unsigned)ra->uid);
    return 0;
}

/* What vt_spool_open leaves in its directory: `seq`, `<n>.batch`, and
 * `*.tmp` from a write a crash tore. */
static bool spool_file_name(const char *name)
{
    size_t len = strlen(name);
    return strcmp(name, "seq") == 0 || (len > 6 && strcmp(name + len - 6, ".batch") == 0) ||
           (len > 4 && strcmp(name + len - 4, ".tmp") == 0);
}

/* Hands the files of the spool open as dfd to ra's user. */
static int own_entries(const struct vt_run_as *ra, int dfd, const char *dir, char *err,
                       size_t errlen)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        snprintf(err, errlen, "cannot list spool directory %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    const struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        const char *name = de->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        if (!spool_file_name(name)) {
            snprintf(err, errlen,
                     "spool directory %s holds '%s', which is no spool file: give --spool an "
                     "empty directory or the worker's own spool (it is handed to user %s)",
                     dir, name, ra->name);
            rc = -1;
            break;
        }
        /* Opened without following links; a file with a second link could be
         * someone else's file linked in, so it is refused rather than given away. */
        int f = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;
        if (f < 0 || fstat(f, &st) != 0) {
            snprintf(err, errlen, "cannot open %s/%s: %s (remove it if it is not a spool file)",
                     dir, name, strerror(errno));
            rc = -1;
        } else if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
            snprintf(err, errlen,
                     "%s/%s is not a plain file with one link: remove it, it is no spool file", dir,
                     name);
            rc = -1;
        } else if ((st.st_uid != ra->uid || st.st_gid != ra->gid) &&
                   fchown(f, ra->uid, ra->gid) != 0) {
            snprintf(err, errlen, "cannot give %s/%s to user %s: %s", dir, name, ra->name,
                     strerror(errno));
            rc = -1;
        }
        if (f >= 0)
            close(f);
    }
    closedir(d);
    return rc;
}

int vt_run_as_own_dir(const struct vt_run_as *ra, const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen,
                 "cannot create spool directory %s: %s (create its parent, or give --spool DIR)",
                 dir, strerror(errno));
        return -1;
    }
    if (!ra->change)
        return 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open spool directory %s: %s%s", dir, strerror(errno),
                 errno == ELOOP || errno == ENOTDIR ? " (give --spool a directory, not a link)"
                                                    : "");
        return -1;
    }
    struct stat st;
    int rc = fstat(dfd, &st) == 0 ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "cannot stat spool directory %s: %s", dir, strerror(errno));
    if (rc == 0)
        rc = own_entries(ra, dfd, dir, err, errlen);
    if (rc == 0 && (st.st_uid != ra->uid || st.st_gid != ra->gid) &&
        fchown(dfd, ra->uid, ra->gid) != 0) {
        snprintf(err, errlen,
                 "cannot give spool directory %s to user %s: %s (chown it to %s yourself, or "
                 "give --spool a directory on a local file system)",
                 dir, ra->name, strerror(errno), ra->name);
        rc = -1;
    }
    if (rc == 0 && (st.st_mode & 0700) != 0700 && fchmod(dfd, (st.st_mode & 07777) | 0700) != 0) {
        snprintf(err, errlen, "cannot make spool directory %s writable for its owner: %s", dir,
                 strerror(errno));
        rc = -1;
    }
    close(dfd);
    return rc;
}

/* The kernel's view matches what was asked: the user, no supplementary
 * group, exactly CAP_NET_RAW (raw) or nothing in every set (the bounding set
 * too, when it could be cleared), no_new_privs. */
static int verify(const struct vt_run_as *ra, bool raw, char *err, size_t errlen)
{
    uid_t r = (uid_t)-1, e = (uid_t)-1, s = (uid_t)-1;
    gid_t gr = (gid_t)-1, ge = (gid_t)-1, gs = (gid_t)-1;
    if (getresuid(&r, &e, &s) != 0 || getresgid(&gr, &ge, &gs) != 0 || r == 0 || e == 0 || s == 0 ||
        (ra->change && (r != ra->uid || e != ra->uid || s != ra->uid || gr != ra->gid ||
                        ge != ra->gid || gs != ra->gid || getgroups(0, NULL) != 0))) {
        snprintf(err, errlen, "the change to user %s did not take (uid %u/%u/%u, gid %u/%u/%u)",
                 ra->name, (unsigned)r, (unsigned)e, (unsigned)s, (unsigned)gr, (unsigned)ge,
                 (unsigned)gs);
        return -1;
    }
    if (capng_get_caps_process() != 0) {
        snprintf(err, errlen, "cannot read this process's capabilities: %s", strerror(errno));
        return -1;
    }
    for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++) {
        int want = raw && cap == CAP_NET_RAW;
        if (capng_have_capability(CAPNG_EFFECTIVE, cap) != want ||
            capng_have_capability(CAPNG_PERMITTED, cap) != want ||
            capng_have_capability(CAPNG_INHERITABLE, cap) != 0 ||
            capng_have_capability(CAPNG_AMBIENT, cap) != 0 ||
            (ra->change && capng_have_capability(CAPNG_BOUNDING_SET, cap) != 0)) {
            const char *name = capng_capability_to_name(cap);
            snprintf(err, errlen, "capability %s is %s after dropping privileges",
                     name ? name : "?", want ? "missing" : "still held");
            return -1;
        }
    }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        snprintf(err, errlen, "no_new_privs did not take");
        return -1;
    }
    return 0;
}

int vt_run_as_enter(const struct vt_run_as *ra, bool keep_net_raw, char *err, size_t errlen)
{
    bool raw = keep_net_raw && ra->net_raw;
    capng_clear(CAPNG_SELECT_ALL);
    if (raw && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_RAW) != 0) {
        snprintf(err, errlen, "cannot keep CAP_NET_RAW: libcap-ng refused");
        return -1;
    }
    if (ra->change) {
        int rc = capng_change_id((int)ra->uid, (int)ra->gid,
                                 CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
        if (rc != 0) {
            snprintf(err, errlen, "cannot become user %s%s: libcap-ng error %d (%s)", ra->name,
                     raw ? " keeping CAP_NET_RAW" : "", rc, strerror(errno));
            return -1;
        }
    } else if (capng_apply(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT) != 0) {
        /* Not root: the bounding set stays (clearing it needs CAP_SETPCAP);
         * no_new_privs makes it moot, since nothing is exec'ed. */
        snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    return verify(ra, raw, err, errlen);
}

int vt_drop_privileges(char *err, size_t errlen)
{
    struct vt_run_as ra;
    if (vt_run_as_resolve(&ra, NULL, err, errlen) != 0)
        return -1;
    return vt_run_as_enter(&ra, false, err, errlen);
}
