/* labels.c: key → value labels of a service (see labels.h). A flat array:
 * a dozen entries, looked up by a linear scan, is faster and simpler than
 * any map. */
#include "labels.h"

#include "vantage.pb-c.h"

#include <stdlib.h>
#include <string.h>

void vt_labels_init(struct vt_labels *l)
{
    l->v = NULL;
    l->n = l->cap = 0;
}

void vt_labels_clear(struct vt_labels *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].value);
    }
    l->n = 0;
}

void vt_labels_free(struct vt_labels *l)
{
    vt_labels_clear(l);
    free(l->v);
    vt_labels_init(l);
}

static char *dup_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int vt_labels_set(struct vt_labels *l, const char *key, const char *value, bool overwrite)
{
    size_t klen = strnlen(key, VT_LABEL_MAX_KEY + 1);
    if (klen == 0 || klen > VT_LABEL_MAX_KEY)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0) {
            if (!overwrite)
                return 0;
            char *v = dup_cut(value, VT_LABEL_MAX_VALUE);
            if (!v)
                return -1;
            free(l->v[i].value);
            l->v[i].value = v;
            return 1;
        }
    if (l->n == VT_LABELS_MAX)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct vt_label *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *k = dup_cut(key, VT_LABEL_MAX_KEY), *v = dup_cut(value, VT_LABEL_MAX_VALUE);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    l->v[l->n].key = k;
    l->v[l->n].value = v;
    l->n++;
    return 1;
}

const char *vt_labels_get(const struct vt_labels *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return l->v[i].value;
    return NULL;
}

bool vt_label_is_identity(const char *key)
{
    static const char *const keys[] = {"ssh.hostkey", "tls.cert", "hw.serial", "host.mac",
                                       "hw.mac"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(key, keys[i]))
            return true;
    return false;
}

size_t vt_labels_to_pb(const struct vt_labels *l, Vantage__Label *lab, Vantage__Label **ptr,
                       size_t max)
{
    size_t n = 0;
    for (; l && n < l->n && n < max; n++) {
        vantage__label__init(&lab[n]);
        lab[n].key = l->v[n].key;
        lab[n].value = l->v[n].value;
        ptr[n] = &lab[n];
    }
    return n;
}
