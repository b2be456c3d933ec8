/* services.c: the open services of a selection, consolidated in the daemon
 * for `vantage report` (the `count` request with what "services",
 * docs/control.md).
 *
 * A service is one (ip, port) over the whole period: the first first_seen,
 * the last last_seen, the union of the vantages, the banner of the latest
 * window that had one, and the windows it was open in (the first service of
 * each address carries the union of its services' windows, the address's
 * host-windows, which is what a report counts). The count's scan
 * hands every selected open record here in key order (window, ip, port);
 * at the end the services are sorted by (ip, port) and paged out as rows.
 *
 * Memory is a compact record per service (no JSON until a page is made):
 * vantage sets and banner ids are interned (one firmware's banner is shared
 * by thousands of devices; a handful of vantages make a handful of sets),
 * and a service's windows are runs of consecutive windows in one pool. */
#include "coord.h"

#include "array.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define NONE        UINT32_MAX
#define SHOWN_CACHE 8192 /* banners as shown, by banner index: a direct-mapped cache */

struct svc {
    uint64_t first_ms, last_ms;
    uint32_t ip;
    uint32_t vset;                /* index in sets */
    uint32_t banner;              /* index in banners, or NONE */
    uint32_t banner_window;       /* the window of that banner */
    uint32_t run_first, run_last; /* the service's runs of windows in runs */
    uint16_t port;
};

struct run {
    uint32_t lo, hi, next; /* windows lo..hi; the next run, or NONE */
};

struct shown {
    uint32_t banner;
    bool read;    /* banner's record was read (json NULL: absent or bad) */
    size_t bytes; /* its proto and labels as JSON, about */
    json_t *json; /* proto and labels */
};

struct vt_services {
    struct svc *svc;
    size_t nsvc, capsvc;
    uint64_t *keys; /* open addressing: ip << 16 | port; vals index + 1 (0 empty) */
    uint32_t *vals;
    size_t nslots;
    struct run *runs;
    size_t nruns, capruns;

    char **sites; /* vantage names, by id */
    size_t nsites, capsites;
    uint32_t *setpool; /* sets: ascending site ids; set i at setpool[setat[i]], setlen[i] */
    size_t npool, cappool;
    uint32_t *setat, *setlen;
    size_t nsets, capsets, caplen;

    uint8_t (*banners)[VT_BANNER_ID_LEN];
    size_t nbanners, capbanners;
    uint32_t *bslots; /* open addressing over banners: index + 1 */
    size_t nbslots;

    struct shown *shown; /* banners as pages show them, kept from page to page */
    bool sorted;         /* by (ip, port), by vt_services_finish: no more adds */
    size_t next;         /* the next to page out */
};

struct vt_services *vt_services_new(void)
{
    struct vt_services *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    /* Set 0 is the empty set. */
    if (vt_grow((void **)&s->setat, &s->capsets, 1, sizeof *s->setat) != 0 ||
        vt_grow((void **)&s->setlen, &s->caplen, 1, sizeof *s->setlen) != 0) {
        vt_services_free(s);
        return NULL;
    }
    s->setlen[0] = 0;
    s->setat[0] = 0;
    s->nsets = 1;
    return s;
}

void vt_services_free(struct vt_services *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nsites; i++)
        free(s->sites[i]);
    free(s->sites);
    free(s->svc);
    free(s->keys);
    free(s->vals);
    free(s->runs);
    free(s->setpool);
    free(s->setat);
    free(s->setlen);
    free(s->banners);
    free(s->bslots);
    for (size_t i = 0; s->shown && i < SHOWN_CACHE; i++)
        json_decref(s->shown[i].json);
    free(s->shown);
    free(s);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* The service of (ip, port), added if new; NULL on ENOMEM. */
static struct svc *service_of(struct vt_services *s, uint32_t ip, uint16_t port)
{
    uint64_t key = (uint64_t)ip << 16 | port;
    if ((s->nsvc + 1) * 2 > s->nslots) {
        size_t n = s->nslots ? s->nslots * 2 : 4096;
        uint64_t *keys = malloc(n * sizeof *keys);
        uint32_t *vals = calloc(n, sizeof *vals);
        if (!keys || !vals) {
            free(keys), free(vals);
            return NULL;
        }
        for (size_t i = 0; i < s->nslots; i++) {
            if (!s->vals[i])
                continue;
            size_t j = mix(s->keys[i]) & (n - 1);
            while (vals[j])
                j = (j + 1) & (n - 1);
            keys[j] = s->keys[i];
            vals[j] = s->vals[i];
        }
        free(s->keys), free(s->vals);
        s->keys = keys;
        s->vals = vals;
        s->nslots = n;
    }
    size_t j = mix(key) & (s->nslots - 1);
    for (; s->vals[j]; j = (j + 1) & (s->nslots - 1))
        if (s->keys[j] == key)
            return &s->svc[s->vals[j] - 1];
    if (s->nsvc >= UINT32_MAX - 1 ||
        vt_grow((void **)&s->svc, &s->capsvc, s->nsvc + 1, sizeof *s->svc) != 0)
        return NULL;
    s->keys[j] = key;
    s->vals[j] = (uint32_t)++s->nsvc;
    struct svc *v = &s->svc[s->nsvc - 1];
    *v = (struct svc){.ip = ip, .port = port, .banner = NONE, .run_first = NONE, .run_last = NONE};
    return v;
}

/* The id of vantage name; -1 on ENOMEM. There are few: a linear search. */
static int64_t site_id(struct vt_services *s, const char *name)
{
    for (size_t i = 0; i < s->nsites; i++)
        if (!strcmp(s->sites[i], name))
            return (int64_t)i;
    if (vt_grow((void **)&s->sites, &s->capsites, s->nsites + 1, sizeof *s->sites) != 0 ||
        !(s->sites[s->nsites] = strdup(name)))
        return -1;
    return (int64_t)s->nsites++;
}

/* A new set of the m ascending ids; its index, or -1 on ENOMEM. */
static int64_t set_add(struct vt_services *s, const uint32_t *ids, uint32_t m)
{
    if (vt_grow((void **)&s->setpool, &s->cappool, s->npool + m, sizeof *s->setpool) != 0 ||
        vt_grow((void **)&s->setat, &s->capsets, s->nsets + 1, sizeof *s->setat) != 0 ||
        vt_grow((void **)&s->setlen, &s->caplen, s->nsets + 1, sizeof *s->setlen) != 0)
        return -1;
    memcpy(s->setpool + s->npool, ids, m * sizeof *ids);
    s->setat[s->nsets] = (uint32_t)s->npool;
    s->setlen[s->nsets] = m;
    s->npool += m;
    return (int64_t)s->nsets++;
}

/* The set holding set `of` and id: an existing one (a linear search: sets
 * are few) or a new one; -1 on ENOMEM. */
static int64_t set_with(struct vt_services *s, uint32_t of, uint32_t id)
{
    uint32_t n = s->setlen[of];
    const uint32_t *a = n ? s->setpool + s->setat[of] : NULL;
    for (uint32_t i = 0; i < n; i++)
        if (a[i] == id)
            return of;
    uint32_t stack[64], *want = n < 64 ? stack : malloc((n + 1) * sizeof *want), m = 0;
    if (!want)
        return -1;
    int64_t found = -1;
    for (uint32_t i = 0; i < n && a[i] < id; i++)
        want[m++] = a[i];
    want[m++] = id;
    for (uint32_t i = m - 1; i < n; i++)
        want[m++] = a[i];
    for (size_t k = 0; k < s->nsets && found < 0; k++)
        if (s->setlen[k] == m && !memcmp(s->setpool + s->setat[k], want, m * sizeof *want))
            found = (int64_t)k;
    if (found < 0)
        found = set_add(s, want, m);
    if (want != stack)
        free(want);
    return found;
}

/* The index of banner id, added if new; -1 on ENOMEM. */
static int64_t banner_index(struct vt_services *s, const uint8_t *id)
{
    if ((s->nbanners + 1) * 2 > s->nbslots) {
        size_t n = s->nbslots ? s->nbslots * 2 : 4096;
        uint32_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < s->nbanners; i++) {
            uint32_t h;
            memcpy(&h, s->banners[i], sizeof h);
            size_t j = h & (n - 1);
            while (slots[j])
                j = (j + 1) & (n - 1);
            slots[j] = (uint32_t)i + 1;
        }
        free(s->bslots);
        s->bslots = slots;
        s->nbslots = n;
    }
    uint32_t h; /* a BLAKE2b hash: its first bytes are spread well */
    memcpy(&h, id, sizeof h);
    size_t j = h & (s->nbslots - 1);
    for (; s->bslots[j]; j = (j + 1) & (s->nbslots - 1))
        if (!memcmp(s->banners[s->bslots[j] - 1], id, VT_BANNER_ID_LEN))
            return s->bslots[j] - 1;
    if (s->nbanners >= NONE - 1 ||
        vt_grow((void **)&s->banners, &s->capbanners, s->nbanners + 1, sizeof *s->banners) != 0)
        return -1;
    memcpy(s->banners[s->nbanners], id, VT_BANNER_ID_LEN);
    s->bslots[j] = (uint32_t)s->nbanners + 1;
    return (int64_t)s->nbanners++;
}

int vt_services_add(struct vt_services *s, const struct vt_obs_row *row)
{
    if (s->sorted)
        return -1; /* the index is gone */
    const Vantage__Observation *o = row->obs;
    struct svc *v = service_of(s, row->ip, row->port);
    if (!v)
        return -1;
    if (o->first_seen_ms && (!v->first_ms || o->first_seen_ms < v->first_ms))
        v->first_ms = o->first_seen_ms;
    if (o->last_seen_ms > v->last_ms)
        v->last_ms = o->last_seen_ms;
    for (size_t i = 0; i < o->n_sites; i++) {
        if (!o->sites[i] || !*o->sites[i])
            continue;
        int64_t id = site_id(s, o->sites[i]);
        int64_t set = id < 0 ? -1 : set_with(s, v->vset, (uint32_t)id);
        if (set < 0)
            return -1;
        v->vset = (uint32_t)set;
    }
    if (o->has_banner_id && o->banner_id.len == VT_BANNER_ID_LEN &&
        (v->banner == NONE || row->window >= v->banner_window)) {
        int64_t b = banner_index(s, o->banner_id.data);
        if (b < 0)
            return -1;
        v->banner = (uint32_t)b;
        v->banner_window = row->window;
    }
    /* Windows come in ascending order: extend the last run or start one. */
    if (v->run_last != NONE) {
        struct run *last = &s->runs[v->run_last];
        if (row->window <= last->hi)
            return 0; /* recorded already (or out of order: not from the scan) */
        if (row->window == last->hi + 1) {
            last->hi = row->window;
            return 0;
        }
    }
    if (s->nruns >= NONE - 1 ||
        vt_grow((void **)&s->runs, &s->capruns, s->nruns + 1, sizeof *s->runs) != 0)
        return -1;
    s->runs[s->nruns] = (struct run){row->window, row->window, NONE};
    if (v->run_last == NONE)
        v->run_first = (uint32_t)s->nruns;
    else
        s->runs[v->run_last].next = (uint32_t)s->nruns;
    v->run_last = (uint32_t)s->nruns++;
    return 0;
}

size_t vt_services_count(const struct vt_services *s)
{
    return s->nsvc;
}

static int cmp_svc(const void *a, const void *b)
{
    const struct svc *x = a, *y = b;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return (x->port > y->port) - (x->port < y->port);
}

int vt_services_finish(struct vt_services *s)
{
    if (s->sorted)
        return 0;
    /* The index is not needed any more (its positions change now): give
     * its memory back. */
    free(s->keys), free(s->vals), free(s->bslots);
    s->keys = NULL, s->vals = NULL, s->bslots = NULL;
    s->nslots = s->nbslots = 0;
    if (s->nsvc > 1)
        qsort(s->svc, s->nsvc, sizeof *s->svc, cmp_svc);
    s->sorted = true;
    return 0;
}

/* The windows the address of service i had any of its services open in
 * (services i.. of the same ip), as "FIRST:RUNS" with the runs' windows
 * offsets from FIRST: "498720:0-5,9" is 498720-498725 and 498729. Offsets
 * keep the text short (a week of hourly windows: three digits a number). */
static char *host_windows_text(const struct vt_services *s, size_t i)
{
    size_t n = 0, cap = 0;
    struct vt_run *u = NULL;
    bool oom = false;
    for (size_t j = i; !oom && j < s->nsvc && s->svc[j].ip == s->svc[i].ip; j++)
        for (uint32_t r = s->svc[j].run_first; !oom && r != NONE; r = s->runs[r].next) {
            oom = vt_grow((void **)&u, &cap, n + 1, sizeof *u) != 0;
            if (!oom)
                u[n++] = (struct vt_run){s->runs[r].lo, s->runs[r].hi};
        }
    if (oom) {
        free(u);
        return NULL;
    }
    size_t m = vt_runs_union(u, n);
    size_t tcap = 24 + m * 24, len = 0;
    char *t = malloc(tcap);
    if (t) {
        uint32_t base = m ? u[0].lo : 0;
        len = (size_t)snprintf(t, tcap, "%u:", base);
        for (size_t k = 0; k < m; k++)
            len +=
                (size_t)(u[k].lo == u[k].hi
                             ? snprintf(t + len, tcap - len, "%s%u", k ? "," : "", u[k].lo - base)
                             : snprintf(t + len, tcap - len, "%s%u-%u", k ? "," : "",
                                        u[k].lo - base, u[k].hi - base));
    }
    free(u);
    return t;
}

/* A page's JSON, about: well under the 4 MiB a CLI takes in one reply, however
 * long the addresses' windows are. */
#define PAGE_BYTES (1u << 20)

json_t *vt_services_page(struct vt_services *s, struct vt_store *store, size_t limit,
                         size_t *corrupt_banners, bool *more)
{
    json_t *rows = json_array();
    if (!s->shown)
        s->shown = calloc(SHOWN_CACHE, sizeof *s->shown);
    struct shown *cache = s->shown;
    if (!rows || !cache) {
        json_decref(rows);
        return NULL;
    }
    bool failed = false;
    size_t start = s->next, bytes = 0;
    for (; !failed && s->next < s->nsvc && json_array_size(rows) < limit && bytes < PAGE_BYTES;
         s->next++) {
        const struct svc *v = &s->svc[s->next];
        char ip[16], fs[32], ls[32];
        json_t *vantages = json_array();
        for (uint32_t i = 0; vantages && i < s->setlen[v->vset]; i++)
            json_array_append_new(vantages,
                                  json_string(s->sites[s->setpool[s->setat[v->vset] + i]]));
        /* The address's windows go with its first service only. */
        bool first = s->next == 0 || s->svc[s->next - 1].ip != v->ip;
        char *windows = first ? host_windows_text(s, s->next) : NULL;
        json_t *r = vantages && (windows || !first)
                        ? json_pack("{s:s, s:i, s:s, s:s, s:O}", "ip", vt_ip_str(v->ip, ip), "port",
                                    (int)v->port, "first_seen",
                                    vt_rfc3339_ms(v->first_ms, fs, sizeof fs), "last_seen",
                                    vt_rfc3339_ms(v->last_ms, ls, sizeof ls), "vantages", vantages)
                        : NULL;
        bytes += 160 + (windows ? strlen(windows) : 0);
        if (r && windows && json_object_set_new(r, "host_windows", json_string(windows)) != 0) {
            json_decref(r);
            r = NULL;
        }
        json_decref(vantages);
        free(windows);
        if (r && v->banner != NONE) {
            size_t c = v->banner % SHOWN_CACHE;
            if (!cache[c].read || cache[c].banner != v->banner) {
                json_decref(cache[c].json);
                cache[c].banner = v->banner;
                cache[c].read = true;
                cache[c].json = vt_banner_shown(store, s->banners[v->banner], VT_BANNER_ID_LEN,
                                                corrupt_banners);
                json_object_del(cache[c].json, "banner"); /* a report shows no banner text */
                cache[c].bytes = cache[c].json ? json_dumpb(cache[c].json, NULL, 0, 0) : 0;
            }
            bytes += cache[c].bytes;
            if (cache[c].json) {
                json_t *proto = json_object_get(cache[c].json, "proto");
                if (proto)
                    json_object_set(r, "proto", proto);
                json_object_set(r, "labels", json_object_get(cache[c].json, "labels"));
            }
        }
        failed = !r || json_array_append_new(rows, r) != 0;
    }
    if (failed) {
        s->next = start; /* the page can be asked for again */
        json_decref(rows);
        return NULL;
    }
    *more = s->next < s->nsvc;
    return rows;
}
