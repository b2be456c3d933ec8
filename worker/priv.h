/* priv.h: giving up privilege once the scan's sockets are open.
 *
 * A scan needs CAP_NET_RAW to open its packet socket and capture handle, and
 * nothing after that. vt_drop_privileges() clears every capability (effective,
 * permitted, inheritable and the bounding set), sets no_new_privs, and when
 * running as root also becomes the unprivileged user nobody, so a flaw in
 * packet or banner parsing cannot be turned into root on a partner's host. */
#ifndef VANTAGE_PRIV_H
#define VANTAGE_PRIV_H

#include <stddef.h>

int vt_drop_privileges(char *err, size_t errlen);

/* For `vantage-worker run`, which opens raw sockets for every lease: keeps
 * CAP_NET_RAW alone (effective and permitted; the bounding set is cleared of
 * the rest), becomes `owner` (a user name; NULL: nobody) when root, and sets
 * no_new_privs. Call before any thread starts: capabilities are per thread.
 * Files the worker writes later (its spool) must be writable by that user. */
int vt_keep_only_net_raw(const char *owner, char *err, size_t errlen);

/* The hint every "operation not permitted" on a raw socket ends with. */
#define VT_NEED_NET_RAW                                                                            \
    "scanning needs CAP_NET_RAW: run as root or grant it once with "                               \
    "'setcap cap_net_raw+ep $(command -v vantage-worker)'"

#endif
