/* count.c: the control request "count" (docs/control.md): how many devices
 * the records selected by the filters (select.c; open records only) stand
 * for, as `vantage query --count devices` prints it.
 *
 * A count reads every selected record, so it pages like a query, but its
 * state is an aggregate, kept here between requests: the first request opens
 * a reader on one consistent view of the store and answers with a cursor;
 * each following request with that cursor does one budget of work; the last
 * answers with the result. At most VT_COUNT_CURSORS run at once and one left
 * idle for VT_COUNT_IDLE_MS is dropped.
 *
 * What the scan gathers, in key order (window, ip, port): a host is one
 * (window, ip) with a selected open record; per window the number of hosts;
 * every address (for the naive distinct count); and, for hosts whose banners
 * carry a device identity (vt_label_is_identity), which identities they
 * showed. Then each identity is classified: one seen on VT_SHARED_MIN or
 * more addresses in one window (in this scan, or in the `device` family,
 * which holds every address it was seen on whatever the filters) is a shared
 * default and never an identity. Each host keeps its first remaining
 * identity (in text order, so the same device is named the same way in
 * every window), which links its windows into one device's history. The
 * estimator (devices.c) turns hosts per window and those histories into the
 * estimate and its interval. */
#define _GNU_SOURCE /* qsort_r */
#include "coord.h"

#include "array.h"
#include "cli.h"
#include "devices.h"
#include "labels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HOST_IDENTS_MAX 8 /* identities kept per host (more are ignored) */
#define COUNT_OOM                                                                                  \
    "count: out of memory (narrow the selection: a shorter period, a prefix or a port)"

struct ident {
    char *text; /* "key=value" */
    uint8_t id[VT_DEVICE_ID_LEN];
    uint32_t max_per_window; /* addresses in one window, the most */
    bool shared;
};

struct host_ident {
    uint32_t window, ip, idx;
};

/* A banner's identities, read once per count: a run of indices in bidx. */
struct banner_idents {
    uint8_t id[VT_BANNER_ID_LEN];
    uint32_t first, n;
    bool used;
};

struct window_hosts {
    uint32_t window;
    uint64_t hosts, identified;
};

enum phase { SCAN, CLASSIFY, DONE };

struct vt_count {
    uint64_t id;
    int64_t used_ms; /* monotonic */
    json_t *req;     /* the first request: the selection borrows its strings */
    struct vt_select_cursor cur;
    enum phase phase;
    uint64_t examined;

    /* the host being read: one (window, ip) */
    bool in_host;
    uint32_t hw, hip;
    uint32_t hidents[HOST_IDENTS_MAX];
    size_t nhidents;

    struct window_hosts *win;
    size_t nwin, capwin;
    uint32_t *ips; /* every host's address; sorted and made unique now and then */
    size_t nips, capips, ips_sorted;
    struct vt_dev_sighting *hostv; /* every host (window, ip), in key order */
    size_t nhostv, caphostv;
    uint64_t filled; /* host-windows given to a device whose identifier was not read */

    struct ident *idents; /* identities, in the order first seen */
    size_t nidents, capidents;
    uint32_t *slots; /* open addressing over idents: index + 1, 0 empty */
    size_t nslots;
    struct host_ident *hi;
    size_t nhi, caphi;
    size_t classify_next;

    struct banner_idents *bmap; /* open addressing by banner id */
    size_t nbmap, capbmap;
    uint32_t *bidx; /* the identities of the banners in bmap, runs of them */
    size_t nbidx, capbidx;

    /* what "services": the services of the same records (services.c), paged
     * out after the count; result: the count's, kept until the last page */
    struct vt_services *svc;
    json_t *result;
    bool oom; /* the count failed for want of memory, not of the store */

    /* classify: the identities in device id order, read through one reader */
    uint32_t *by_id;
    struct vt_device_reader *dev;
};

static uint64_t text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The index of identity "key=value", added if new; -1 out of memory. */
static int64_t ident_index(struct vt_count *k, const char *key, const char *value)
{
    /* Looked up in a buffer on the stack: most rows name an identity seen
     * before, and only a new one is copied. */
    char text[VT_LABEL_MAX_KEY + VT_LABEL_MAX_VALUE * 4 + 2];
    int len = snprintf(text, sizeof text, "%s=%s", key, value);
    if (len < 0 || (size_t)len >= sizeof text)
        return -1;
    if (k->nidents * 2 >= k->nslots) { /* rehash at half full */
        size_t n = k->nslots ? k->nslots * 2 : 1024;
        uint32_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < k->nidents; i++) {
            size_t j = text_hash(k->idents[i].text) & (n - 1);
            while (slots[j])
                j = (j + 1) & (n - 1);
            slots[j] = (uint32_t)i + 1;
        }
        free(k->slots);
        k->slots = slots;
        k->nslots = n;
    }
    size_t j = text_hash(text) & (k->nslots - 1);
    for (; k->slots[j]; j = (j + 1) & (k->nslots - 1))
        if (!strcmp(k->idents[k->slots[j] - 1].text, text))
            return k->slots[j] - 1;
    if (vt_grow((void **)&k->idents, &k->capidents, k->nidents + 1, sizeof *k->idents) != 0)
        return -1;
    struct ident *id = &k->idents[k->nidents];
    memset(id, 0, sizeof *id);
    if (!(id->text = strdup(text)))
        return -1;
    vt_device_id(key, value, id->id);
    k->slots[j] = (uint32_t)k->nidents + 1;
    return (int64_t)k->nidents++;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static size_t unique_u32(uint32_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || v[m - 1] != v[i])
            v[m++] = v[i];
    return m;
}

/* The host read so far is complete: count it. */
static int host_end(struct vt_count *k)
{
    if (!k->in_host)
        return 0;
    k->in_host = false;
    if (!k->nwin || k->win[k->nwin - 1].window != k->hw) {
        if (vt_grow((void **)&k->win, &k->capwin, k->nwin + 1, sizeof *k->win) != 0)
            return -1;
        k->win[k->nwin++] = (struct window_hosts){.window = k->hw};
    }
    k->win[k->nwin - 1].hosts++;
    if (vt_grow((void **)&k->ips, &k->capips, k->nips + 1, sizeof *k->ips) != 0)
        return -1;
    k->ips[k->nips++] = k->hip;
    if (vt_grow((void **)&k->hostv, &k->caphostv, k->nhostv + 1, sizeof *k->hostv) != 0)
        return -1;
    k->hostv[k->nhostv++] = (struct vt_dev_sighting){k->hw, k->hip};
    if (k->nips > 2 * k->ips_sorted + (1u << 20)) { /* keep memory to the distinct count */
        k->nips = unique_u32(k->ips, k->nips);
        k->ips_sorted = k->nips;
    }
    for (size_t i = 0; i < k->nhidents; i++) {
        if (vt_grow((void **)&k->hi, &k->caphi, k->nhi + 1, sizeof *k->hi) != 0)
            return -1;
        k->hi[k->nhi++] = (struct host_ident){k->hw, k->hip, k->hidents[i]};
    }
    k->nhidents = 0;
    return 0;
}

static uint32_t banner_hash(const uint8_t *id)
{
    uint32_t h; /* the id is a BLAKE2b hash: its first bytes are spread well */
    memcpy(&h, id, sizeof h);
    return h;
}

/* The identities of banner id as a run of k->bidx (*first, *n), read from
 * the store the first time the count meets the banner: many records share
 * one banner, and a banner with a serial number is met once per window.
 * A banner that is absent or does not decode has none (the latter counted).
 * 0, or -1 on a read error or ENOMEM. */
static int banner_idents(struct vt_count *k, const uint8_t *id, uint32_t *first, uint32_t *n)
{
    if (k->nbmap * 2 >= k->capbmap) { /* rehash at half full */
        size_t cap = k->capbmap ? k->capbmap * 2 : 4096;
        struct banner_idents *m = calloc(cap, sizeof *m);
        if (!m) {
            k->oom = true;
            return -1;
        }
        for (size_t i = 0; i < k->capbmap; i++) {
            if (!k->bmap[i].used)
                continue;
            size_t j = banner_hash(k->bmap[i].id) & (cap - 1);
            while (m[j].used)
                j = (j + 1) & (cap - 1);
            m[j] = k->bmap[i];
        }
        free(k->bmap);
        k->bmap = m;
        k->capbmap = cap;
    }
    size_t j = banner_hash(id) & (k->capbmap - 1);
    for (; k->bmap[j].used; j = (j + 1) & (k->capbmap - 1))
        if (!memcmp(k->bmap[j].id, id, VT_BANNER_ID_LEN)) {
            *first = k->bmap[j].first;
            *n = k->bmap[j].n;
            return 0;
        }
    Vantage__BannerRecord *rec = NULL;
    int rc = vt_banner_get(k->cur.c->store, id, VT_BANNER_ID_LEN, &rec);
    if (rc == -1)
        return -1;
    k->cur.corrupt_banners += rc == -2;
    struct banner_idents e = {.first = (uint32_t)k->nbidx, .used = true};
    memcpy(e.id, id, VT_BANNER_ID_LEN);
    for (size_t i = 0; rc == 1 && i < rec->n_labels; i++) {
        const char *key = rec->labels[i]->key, *value = rec->labels[i]->value;
        if (!value || !*value || !vt_label_is_identity(key))
            continue;
        int64_t idx = ident_index(k, key, value);
        if (idx < 0 ||
            vt_grow((void **)&k->bidx, &k->capbidx, k->nbidx + 1, sizeof *k->bidx) != 0) {
            vantage__banner_record__free_unpacked(rec, NULL);
            k->oom = true;
            return -1;
        }
        k->bidx[k->nbidx++] = (uint32_t)idx;
        e.n++;
    }
    if (rc == 1)
        vantage__banner_record__free_unpacked(rec, NULL);
    k->bmap[j] = e;
    k->nbmap++;
    *first = e.first;
    *n = e.n;
    return 0;
}

static int host_row(struct vt_count *k, const struct vt_obs_row *row)
{
    if (k->in_host && (row->window != k->hw || row->ip != k->hip) && host_end(k) != 0) {
        k->oom = true;
        return -1;
    }
    if (!k->in_host) {
        k->in_host = true;
        k->hw = row->window;
        k->hip = row->ip;
    }
    if (k->svc && vt_services_add(k->svc, row) != 0) {
        k->oom = true;
        return -1;
    }
    const Vantage__Observation *o = row->obs;
    uint32_t first = 0, n = 0;
    if (!o->has_banner_id || o->banner_id.len != VT_BANNER_ID_LEN)
        return 0;
    if (banner_idents(k, o->banner_id.data, &first, &n) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = k->bidx[first + i];
        bool have = false;
        for (size_t h = 0; h < k->nhidents; h++)
            have |= k->hidents[h] == idx;
        if (!have && k->nhidents < HOST_IDENTS_MAX)
            k->hidents[k->nhidents++] = idx;
    }
    return 0;
}

/* Addresses per window of one identity in the device family. */
struct per_window {
    uint32_t window, last_ip, n, max;
};

static int device_cb(void *arg, uint32_t window, uint32_t ip)
{
    struct per_window *p = arg;
    if (window != p->window || p->n == 0) {
        p->window = window;
        p->n = 0;
    } else if (ip == p->last_ip) {
        return 0;
    }
    p->n++;
    p->last_ip = ip;
    if (p->n > p->max)
        p->max = p->n;
    return 0;
}

static int cmp_hi_host(const void *a, const void *b)
{
    const struct host_ident *x = a, *y = b;
    if (x->window != y->window)
        return x->window < y->window ? -1 : 1;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_hi_ident(const void *a, const void *b)
{
    const struct host_ident *x = a, *y = b;
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    if (x->window != y->window)
        return x->window < y->window ? -1 : 1;
    return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* From the scan's own sightings: the most addresses of each identity in one
 * window (the device family may know more: classify adds it). */
static void scan_spread(struct vt_count *k)
{
    if (k->nhi > 1)
        qsort(k->hi, k->nhi, sizeof *k->hi, cmp_hi_ident);
    for (size_t i = 0; i < k->nhi;) {
        size_t j = i;
        uint32_t n = 0;
        while (j < k->nhi && k->hi[j].idx == k->hi[i].idx && k->hi[j].window == k->hi[i].window) {
            n += j == i || k->hi[j].ip != k->hi[j - 1].ip;
            j++;
        }
        struct ident *id = &k->idents[k->hi[i].idx];
        if (n > id->max_per_window)
            id->max_per_window = n;
        i = j;
    }
}

static size_t window_index(const struct vt_count *k, uint32_t window)
{
    size_t lo = 0, hi = k->nwin;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k->win[mid].window < window)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The index of host (window, ip) in hostv, or -1. */
static int64_t host_index(const struct vt_count *k, uint32_t window, uint32_t ip)
{
    size_t lo = 0, hi = k->nhostv;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct vt_dev_sighting *h = &k->hostv[mid];
        if (h->window < window || (h->window == window && h->ip < ip))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k->nhostv && k->hostv[lo].window == window && k->hostv[lo].ip == ip ? (int64_t)lo
                                                                                    : -1;
}

/* A banner is not read in every window (a grab lost to packet loss or a
 * timeout): the device is then an anonymous host there, which would make it
 * look offline and the estimate too high. A device seen at one address only,
 * in two windows or more, keeps that address (it is static, or its lease
 * is long): in the windows where it was not identified, an anonymous host
 * (claimed by no device) at that address is taken to be it. A device seen at
 * several addresses is left as it is: its old address may be another
 * device's now. One device's history h (sorted by window) becomes out
 * (sorted), which has room for h.n + nwin sightings; first is scratch of
 * nwin. Returns the sightings written. */
static size_t fill_unread(struct vt_count *k, const struct vt_dev_history *h, uint8_t *claimed,
                          size_t *first, struct vt_dev_sighting *out)
{
    bool one_address = true;
    size_t windows = 0;
    for (size_t i = 0; i < h->n; i++) {
        one_address &= h->s[i].ip == h->s[0].ip;
        windows += i == 0 || h->s[i].window != h->s[i - 1].window;
    }
    if (!one_address || windows < 2) {
        memcpy(out, h->s, h->n * sizeof *out);
        return h->n;
    }
    for (size_t w = 0; w < k->nwin; w++)
        first[w] = SIZE_MAX;
    for (size_t i = 0; i < h->n; i++)
        first[window_index(k, h->s[i].window)] = i; /* one sighting per window: one address */
    size_t m = 0;
    for (size_t w = 0; w < k->nwin; w++) {
        if (first[w] != SIZE_MAX) {
            out[m++] = h->s[first[w]];
            continue;
        }
        int64_t x = host_index(k, k->win[w].window, h->s[0].ip);
        if (x < 0 || claimed[x])
            continue;
        claimed[x] = 1;
        out[m++] = (struct vt_dev_sighting){k->win[w].window, h->s[0].ip};
        k->filled++;
    }
    return m;
}

/* The result: hosts per window, the identified devices' histories, the
 * estimate. */
static json_t *count_result(struct vt_count *k)
{
    uint64_t shared_hosts = 0, nshared = 0;
    for (size_t i = 0; i < k->nidents; i++)
        nshared += k->idents[i].shared;
    /* Each host keeps its first identity that is not shared (text order). */
    if (k->nhi > 1)
        qsort(k->hi, k->nhi, sizeof *k->hi, cmp_hi_host);
    size_t nchosen = 0;
    for (size_t i = 0; i < k->nhi;) {
        size_t j = i;
        int64_t pick = -1;
        for (; j < k->nhi && k->hi[j].window == k->hi[i].window && k->hi[j].ip == k->hi[i].ip; j++)
            if (!k->idents[k->hi[j].idx].shared &&
                (pick < 0 ||
                 strcmp(k->idents[k->hi[j].idx].text, k->idents[k->hi[pick].idx].text) < 0))
                pick = (int64_t)j;
        if (pick >= 0)
            k->hi[nchosen++] = k->hi[pick];
        else
            shared_hosts++;
        i = j;
    }
    if (nchosen > 1)
        qsort(k->hi, nchosen, sizeof *k->hi, cmp_hi_ident);
    struct vt_dev_sighting *s = malloc((nchosen ? nchosen : 1) * sizeof *s);
    struct vt_dev_history *dev = malloc((nchosen ? nchosen : 1) * sizeof *dev);
    uint32_t *wins = malloc((k->nwin ? k->nwin : 1) * sizeof *wins);
    uint64_t *hosts = malloc((k->nwin ? k->nwin : 1) * sizeof *hosts);
    if (!s || !dev || !wins || !hosts) {
        free(s), free(dev), free(wins), free(hosts);
        return NULL;
    }
    size_t ndev = 0;
    for (size_t i = 0; i < nchosen;) {
        size_t j = i;
        for (; j < nchosen && k->hi[j].idx == k->hi[i].idx; j++)
            s[j] = (struct vt_dev_sighting){k->hi[j].window, k->hi[j].ip};
        dev[ndev++] = (struct vt_dev_history){s + i, j - i};
        i = j;
    }
    /* Windows where an identified device's banner was not read. */
    uint8_t *claimed = calloc(k->nhostv ? k->nhostv : 1, 1);
    size_t *first = malloc((k->nwin ? k->nwin : 1) * sizeof *first);
    size_t cap2 = nchosen + k->nwin + 1;
    struct vt_dev_sighting *s2 = malloc(cap2 * sizeof *s2);
    if (!claimed || !first || !s2) {
        free(claimed), free(first), free(s2), free(s), free(dev), free(wins), free(hosts);
        return NULL;
    }
    for (size_t i = 0; i < nchosen; i++) {
        int64_t x = host_index(k, s[i].window, s[i].ip);
        if (x >= 0)
            claimed[x] = 1;
    }
    size_t n2 = 0, *from = malloc((ndev ? ndev : 1) * sizeof *from);
    bool failed = !from;
    for (size_t d = 0; !failed && d < ndev; d++) {
        if (vt_grow((void **)&s2, &cap2, n2 + dev[d].n + k->nwin, sizeof *s2) != 0) {
            failed = true;
            break;
        }
        from[d] = n2;
        size_t m = fill_unread(k, &dev[d], claimed, first, s2 + n2);
        for (size_t i = 0; i < m; i++)
            if (i == 0 || s2[n2 + i].window != s2[n2 + i - 1].window)
                k->win[window_index(k, s2[n2 + i].window)].identified++;
        dev[d].n = m;
        n2 += m;
    }
    for (size_t d = 0; !failed && d < ndev; d++) /* s2 may have moved */
        dev[d].s = s2 + from[d];
    free(from);
    if (failed) {
        free(claimed), free(first), free(s2), free(s), free(dev), free(wins), free(hosts);
        return NULL;
    }
    free(claimed);
    free(first);
    k->nips = unique_u32(k->ips, k->nips);
    for (size_t i = 0; i < k->nwin; i++) {
        wins[i] = k->win[i].window;
        hosts[i] = k->win[i].hosts;
    }
    struct vt_dev_input in = {.windows = wins,
                              .hosts = hosts,
                              .nwindows = k->nwin,
                              .devices = dev,
                              .ndevices = ndev,
                              .distinct_ips = k->nips,
                              .prefix_len = 24,
                              .bootstrap = 1000,
                              .seed = 1};
    struct vt_dev_estimate e;
    memset(&e, 0, sizeof e);
    int rc = k->nwin ? vt_dev_estimate(&in, &e) : 0;
    free(s), free(s2), free(dev), free(wins), free(hosts);
    if (rc != 0)
        return NULL;

    json_t *windows = json_array();
    for (size_t i = 0; i < k->nwin; i++) {
        char start[32];
        vt_rfc3339_ms((uint64_t)k->win[i].window * k->cur.c->window_s * 1000, start, sizeof start);
        json_array_append_new(windows, json_pack("{s:I, s:s, s:I, s:I}", "window",
                                                 (json_int_t)k->win[i].window, "start", start,
                                                 "hosts", (json_int_t)k->win[i].hosts, "identified",
                                                 (json_int_t)k->win[i].identified));
    }
    bool est = k->nwin && e.estimated;
    uint64_t maxw = 0;
    for (size_t i = 0; i < k->nwin; i++)
        if (k->win[i].hosts > maxw)
            maxw = k->win[i].hosts;
    json_t *r = json_pack(
        "{s:I, s:o, s:I, s:I, s:I, s:o, s:I, s:I, s:s}", "distinct_ips", (json_int_t)k->nips,
        "windows", windows, "identified_devices", (json_int_t)ndev, "shared_defaults",
        (json_int_t)nshared, "shared_default_hosts", (json_int_t)shared_hosts, "devices_estimate",
        est ? json_integer((json_int_t)llround(e.estimate)) : json_null(), "devices_low",
        (json_int_t)(est ? llround(floor(e.low)) : (long long)maxw), "devices_high",
        (json_int_t)(est ? llround(ceil(e.high)) : (long long)k->nips), "method",
        est       ? "ratio estimator over identified devices, 95% bootstrap interval"
        : k->nwin ? "no device identified: bounds only (the most hosts in one window, the "
                    "distinct addresses)"
                  : "nothing selected");
    if (!r)
        return NULL;
    json_object_set_new(r, "identified_unread", json_integer((json_int_t)k->filled));
    if (est && e.unrepresentative)
        json_object_set_new(r, "warning",
                            json_string("the identified devices do not look like the others (one "
                                        "window shows more hosts than the estimate allows): the "
                                        "estimate is a floor, the interval reaches the distinct "
                                        "addresses"));
    if (est) {
        json_object_set_new(r, "addresses_per_window", json_real(e.addresses_per_window));
        json_object_set_new(r, "windows_per_device", json_real(e.windows_per_device));
        json_object_set_new(r, "host_windows_per_device", json_real(e.host_windows_per_device));
    }
    json_object_set_new(
        r, "churn",
        json_pack("{s:I, s:o, s:o, s:i}", "devices", (json_int_t)e.churn_base, "changed_address",
                  e.churn_base ? json_real(e.churn_changed) : json_null(), "crossed_prefix",
                  e.churn_base ? json_real(e.churn_crossed) : json_null(), "prefix_len", 24));
    return r;
}

static void count_free(struct vt_count *k)
{
    if (!k)
        return;
    vt_select_close(&k->cur);
    json_decref(k->req);
    free(k->win);
    free(k->ips);
    free(k->hostv);
    for (size_t i = 0; i < k->nidents; i++)
        free(k->idents[i].text);
    free(k->idents);
    free(k->slots);
    free(k->hi);
    free(k->bmap);
    free(k->bidx);
    free(k->by_id);
    vt_device_reader_free(k->dev);
    vt_services_free(k->svc);
    json_decref(k->result);
    free(k);
}

void vt_counts_free(struct vt_coord *c)
{
    for (size_t i = 0; i < VT_COUNT_CURSORS; i++) {
        count_free(c->counts[i]);
        c->counts[i] = NULL;
    }
}

static int cmp_ident_id(const void *a, const void *b, void *arg)
{
    const struct ident *idents = arg;
    return memcmp(idents[*(const uint32_t *)a].id, idents[*(const uint32_t *)b].id,
                  VT_DEVICE_ID_LEN);
}

/* One budget of work: 0 more to do, 1 done, -1 error. */
static int count_step(struct vt_count *k)
{
    size_t budget = VT_QUERY_EXAMINE;
    struct vt_obs_row row;
    while (k->phase == SCAN) {
        size_t before = budget;
        int rc = vt_select_next(&k->cur, &budget, &row);
        k->examined += before - budget;
        if (rc == 2)
            return 0;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            if (host_end(k) != 0) {
                k->oom = true;
                return -1;
            }
            scan_spread(k);
            k->phase = CLASSIFY;
            break;
        }
        if (host_row(k, &row) != 0)
            return -1;
    }
    if (k->phase == CLASSIFY && !k->dev) {
        /* One reader for every identity, which are read in id order: each
         * seek lands after the last. */
        k->by_id = malloc((k->nidents ? k->nidents : 1) * sizeof *k->by_id);
        k->dev = k->by_id ? vt_device_reader_new(k->cur.c->store) : NULL;
        if (!k->dev) {
            k->oom = true;
            return -1;
        }
        for (size_t i = 0; i < k->nidents; i++)
            k->by_id[i] = (uint32_t)i;
        if (k->nidents > 1)
            qsort_r(k->by_id, k->nidents, sizeof *k->by_id, cmp_ident_id, k->idents);
    }
    while (k->phase == CLASSIFY) {
        if (k->classify_next == k->nidents) {
            for (size_t i = 0; i < k->nidents; i++)
                k->idents[i].shared = k->idents[i].max_per_window >= VT_SHARED_MIN;
            k->phase = DONE;
            break;
        }
        if (budget < 1000)
            return 0;
        budget -= 1000; /* a seek and a short read, roughly */
        struct ident *id = &k->idents[k->by_id[k->classify_next++]];
        struct per_window p = {0};
        if (vt_device_read(k->dev, id->id, k->cur.sel.w_lo, k->cur.sel.w_hi, device_cb, &p) != 0)
            return -1;
        if (p.max > id->max_per_window)
            id->max_per_window = p.max;
    }
    return 1;
}

/* The count is done: the next page of services, and with the last the
 * count's result (and the cursor is gone). */
static json_t *services_page(struct vt_coord *c, size_t slot)
{
    struct vt_count *k = c->counts[slot];
    if (!k->result) {
        k->result = count_result(k);
        if (!k->result || vt_services_finish(k->svc) != 0) {
            count_free(k);
            c->counts[slot] = NULL;
            return vt_reply_fail(COUNT_OOM);
        }
    }
    bool more = false;
    size_t again = 0; /* banners that do not decode: the scan counted them once */
    json_t *rows = vt_services_page(k->svc, c->store, VT_SERVICES_PAGE, &again, &more);
    if (!rows) {
        count_free(k);
        c->counts[slot] = NULL;
        return vt_reply_fail(COUNT_OOM);
    }
    if (more)
        return json_pack("{s:b, s:b, s:I, s:I, s:o}", "ok", 1, "done", 0, "cursor",
                         (json_int_t)k->id, "examined", (json_int_t)k->examined, "services", rows);
    json_t *result = json_incref(k->result);
    json_object_set_new(result, "corrupt", json_integer((json_int_t)vt_select_corrupt(&k->cur)));
    json_object_set_new(result, "services", json_integer((json_int_t)vt_services_count(k->svc)));
    count_free(k);
    c->counts[slot] = NULL;
    return json_pack("{s:b, s:b, s:o, s:o}", "ok", 1, "done", 1, "services", rows, "result",
                     result);
}

json_t *vt_count_run(struct vt_coord *c, json_t *req)
{
    int64_t now = vt_mono_ms();
    for (size_t i = 0; i < VT_COUNT_CURSORS; i++)
        if (c->counts[i] && now - c->counts[i]->used_ms > VT_COUNT_IDLE_MS) {
            count_free(c->counts[i]);
            c->counts[i] = NULL;
        }
    json_int_t id = vt_req_num(req, "cursor", 0);
    struct vt_count *k = NULL;
    size_t slot = 0;
    if (id) {
        for (slot = 0; slot < VT_COUNT_CURSORS; slot++)
            if (c->counts[slot] && c->counts[slot]->id == (uint64_t)id)
                break;
        if (slot == VT_COUNT_CURSORS)
            return vt_reply_fail("count: no cursor %lld (a count not continued within %d s is "
                                 "dropped): start it again",
                                 (long long)id, VT_COUNT_IDLE_MS / 1000);
        k = c->counts[slot];
    } else {
        const char *what = vt_req_str(req, "what");
        bool services = what && !strcmp(what, "services");
        if (!what || (strcmp(what, "devices") && !services))
            return vt_reply_fail("count: what is \"devices\" or \"services\"");
        if (json_object_get(req, "state"))
            return vt_reply_fail("count: counts open records only; give no state");
        for (slot = 0; slot < VT_COUNT_CURSORS && c->counts[slot]; slot++)
            ;
        if (slot == VT_COUNT_CURSORS)
            return vt_reply_fail("count: %d counts are running already; wait for one to end",
                                 VT_COUNT_CURSORS);
        k = calloc(1, sizeof *k);
        if (!k)
            return vt_reply_fail("out of memory");
        k->req = json_deep_copy(req);
        if (services && !(k->svc = vt_services_new())) {
            count_free(k);
            return vt_reply_fail("out of memory");
        }
        json_object_set_new(k->req, "state", json_string("open"));
        struct vt_select sel;
        char err[256];
        if (!k->req || vt_select_parse(c, k->req, &sel, err, sizeof err) != 0) {
            if (!k->req)
                snprintf(err, sizeof err, "out of memory");
            count_free(k);
            return vt_reply_fail("count: %s", err);
        }
        if (vt_select_open(c, &sel, NULL, &k->cur) != 0) {
            count_free(k);
            return vt_reply_fail("out of memory");
        }
        k->cur.no_banners = true; /* host_row reads each banner once (banner_idents) */
        k->id = ++c->count_next_id;
        c->counts[slot] = k;
    }
    k->used_ms = now;
    int rc = k->result ? 1 : count_step(k);
    if (rc == 0)
        return json_pack("{s:b, s:b, s:I, s:I}", "ok", 1, "done", 0, "cursor", (json_int_t)k->id,
                         "examined", (json_int_t)k->examined);
    if (rc == 1 && k->svc)
        return services_page(c, slot);
    json_t *result = rc == 1 ? count_result(k) : NULL;
    size_t corrupt = vt_select_corrupt(&k->cur);
    bool oom = k->oom;
    count_free(k);
    c->counts[slot] = NULL;
    if (!result)
        return rc < 0 && !oom
                   ? vt_reply_fail("cannot read the store: %s", vt_store_errmsg(c->store))
                   : vt_reply_fail(COUNT_OOM);
    json_object_set_new(result, "corrupt", json_integer((json_int_t)corrupt));
    return json_pack("{s:b, s:b, s:o}", "ok", 1, "done", 1, "result", result);
}
