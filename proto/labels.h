/* labels.h: what identification says about a service, as key → value pairs.
 *
 * Keys are the normalised ones every reader uses (`vendor`, `product`,
 * `device`, `version`, `cpe`, `exposure`, `truncated`) plus the raw Recog
 * fields a rule set (`hw.vendor`, `os.product`, `service.version`, …). A
 * key appears once; the order is the order of first setting, so output is
 * stable. Values are NUL-terminated UTF-8 (or bytes a banner carried: every
 * writer escapes them). Small: a service has a dozen labels at most. */
#ifndef VANTAGE_LABELS_H
#define VANTAGE_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#define VT_LABEL_MAX_KEY   64  /* longer keys are refused */
#define VT_LABEL_MAX_VALUE 512 /* longer values are cut */
#define VT_LABELS_MAX      64  /* more labels are refused */

struct vt_label {
    char *key, *value;
};

struct vt_labels {
    struct vt_label *v;
    size_t n, cap;
};

void vt_labels_init(struct vt_labels *l);
void vt_labels_free(struct vt_labels *l);
/* Empties l, keeping its memory. */
void vt_labels_clear(struct vt_labels *l);
/* Sets key to value (value cut at VT_LABEL_MAX_VALUE bytes). An existing key
 * is replaced only when overwrite is true. Returns 1 set, 0 kept the old
 * value, -1 refused (out of memory, key empty or too long, too many labels). */
int vt_labels_set(struct vt_labels *l, const char *key, const char *value, bool overwrite);
/* The value of key, or NULL. */
const char *vt_labels_get(const struct vt_labels *l, const char *key);

/* Whether a label's key names something unique to one device: an SSH host
 * key (ssh.hostkey), a TLS certificate (tls.cert), a serial number
 * (hw.serial) or a MAC address (host.mac, hw.mac). Such a label is a device
 * identity, unless many addresses show the same value (a shared firmware
 * default: docs/storage.md). */
bool vt_label_is_identity(const char *key);

/* The labels as protobuf messages, borrowing l's strings: lab[i] is filled
 * and ptr[i] points at it, for i < the count returned (at most max). */
struct Vantage__Label;
size_t vt_labels_to_pb(const struct vt_labels *l, struct Vantage__Label *lab,
                       struct Vantage__Label **ptr, size_t max);

#endif
