/* priv.c: drop every privilege once sockets are open. See priv.h. */
#include "priv.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int vt_drop_privileges(char *err, size_t errlen)
{
    if (getuid() == 0 || geteuid() == 0) {
        struct passwd *pw = getpwnam("nobody");
        uid_t uid = pw ? pw->pw_uid : 65534;
        gid_t gid = pw ? pw->pw_gid : 65534;
        capng_clear(CAPNG_SELECT_BOTH);
        if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
            snprintf(err, errlen, "cannot drop privileges to user nobody");
            return -1;
        }
    } else {
        capng_clear(CAPNG_SELECT_ALL);
        if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
            snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
            return -1;
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int vt_keep_only_net_raw(const char *owner, char *err, size_t errlen)
{
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_RAW) != 0) {
        snprintf(err, errlen, "cannot keep CAP_NET_RAW");
        return -1;
    }
    if (getuid() == 0 || geteuid() == 0) {
        struct passwd *pw = getpwnam(owner ? owner : "nobody");
        if (!pw) {
            snprintf(err, errlen, "no user %s to run as", owner ? owner : "nobody");
            return -1;
        }
        if (capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
                            CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0) {
            snprintf(err, errlen, "cannot become user %s keeping CAP_NET_RAW", pw->pw_name);
            return -1;
        }
    } else if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
        snprintf(err, errlen,
                 "cannot drop capabilities other than CAP_NET_RAW: %s (grant it with "
                 "setcap cap_net_raw+ep)",
                 strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    return 0;
}
