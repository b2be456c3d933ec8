/* report.c: the consolidation of report.h: services in, services per group
 * out.
 *
 * Hash maps of 64-bit keys carry the state: services by (ip, port), groups
 * by ASN (UNROUTED for addresses no prefix holds) or by /N network, and
 * hosts per (group, window). Services come sorted by (ip, port), so one
 * address's services are together: when the address changes, the union of
 * its services' windows is its host-windows, and each of its groups counts
 * them, window by window. At the end each service is placed in its groups
 * (one per origin AS of a multi-origin or AS-set prefix), the placements
 * are sorted by (group, ip, port), and each group's run of them is printed
 * and summarized. */
#define _GNU_SOURCE /* qsort_r */
#include "report.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "cli.h"
#include "control_client.h"
#include "targets.h"

#define UNROUTED (UINT64_C(1) << 32) /* the group of addresses no prefix holds */
/* Windows one address may name: a year of 30 s windows. A reply naming more
 * is malformed (counted in bad_windows), not a reason to loop for hours. */
#define ADDRESS_WINDOWS_MAX (UINT64_C(1) << 20)
#define TOP_SHOWN           3 /* device kinds named in the table */
#define NOT_IDENTIFIED      "(not identified)"

/* ---- a map of 64-bit keys to 32-bit values ---- */

struct map {
    uint64_t *keys;
    uint32_t *vals; /* value + 1; 0: the slot is empty */
    size_t cap, n;
};

static size_t map_slot(const struct map *m, uint64_t key)
{
    /* Every bit of the key moves the slot: a key of group << 32 | window
     * under a plain multiply would put one window of all groups together. */
    uint64_t h = key;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    size_t i = (size_t)h & (m->cap - 1);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* The value of key, or -1. */
static int64_t map_get(const struct map *m, uint64_t key)
{
    if (!m->cap)
        return -1;
    size_t i = map_slot(m, key);
    return m->vals[i] ? (int64_t)m->vals[i] - 1 : -1;
}

static int map_put(struct map *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct map g = {.cap = m->cap ? m->cap * 2 : 1024};
        g.keys = malloc(g.cap * sizeof *g.keys);
        g.vals = calloc(g.cap, sizeof *g.vals);
        if (!g.keys || !g.vals) {
            free(g.keys);
            free(g.vals);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->vals[i]) {
                size_t j = map_slot(&g, m->keys[i]);
                g.keys[j] = m->keys[i];
                g.vals[j] = m->vals[i];
            }
        g.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t i = map_slot(m, key);
    m->n += !m->vals[i];
    m->keys[i] = key;
    m->vals[i] = val + 1;
    return 0;
}

static void map_free(struct map *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- texts kept once, by number ---- */

struct intern {
    json_t *ids;  /* object: text → id */
    json_t *vals; /* array: id → the value it stands for */
};

/* The id of key, added with val (stolen) if new; -1 on ENOMEM. */
static int64_t intern(struct intern *in, const char *key, json_t *val)
{
    json_t *id = json_object_get(in->ids, key);
    if (id) {
        json_decref(val);
        return json_integer_value(id);
    }
    json_int_t n = (json_int_t)json_array_size(in->vals);
    if (!val || n >= UINT32_MAX || json_array_append_new(in->vals, val) != 0 ||
        json_object_set_new(in->ids, key, json_integer(n)) != 0)
        return -1;
    return n;
}

/* ---- the report ---- */

struct service {
    int64_t first_ms, last_ms; /* 0: not known */
    uint32_t ip;
    uint32_t vset;  /* the union of vantages: an id in r->vsets */
    uint32_t ident; /* {proto, labels}: an id in r->idents (0: none) */
    uint16_t port;
};

struct group {
    uint64_t key;
    uint64_t host_windows;
    uint64_t max_hosts; /* the most hosts in one window */
};

struct vt_report {
    enum vt_report_by by;
    const struct vt_pfx2as *table;
    unsigned prefix_len;
    struct service *svc;
    size_t nsvc, svc_cap;
    struct map svc_map; /* ip << 16 | port → index in svc */
    struct group *grp;
    size_t ngrp, grp_cap;
    struct map grp_map;   /* group key → index in grp */
    struct intern sites;  /* site name → id; vals: the names */
    struct intern vsets;  /* "3,7" → id; vals: arrays of site ids, ascending */
    struct intern idents; /* dumped {proto, labels} → id; vals: the objects (id 0: none) */
    json_t *count;        /* the count request's result, or NULL */
    struct map hosts;     /* group index << 32 | window → hosts */
    uint32_t ip;          /* the address whose services are being read */
    bool any_service;
    struct vt_run *runs; /* the windows of ip's services so far */
    size_t nruns, runs_cap;
    uint64_t addr_windows; /* how many they name (bounded: ADDRESS_WINDOWS_MAX) */
    struct vt_report_stats stats;
};

struct vt_report *vt_report_new(enum vt_report_by by, const struct vt_pfx2as *table,
                                unsigned prefix_len)
{
    assert(by == VT_REPORT_BY_ASN ? table != NULL : prefix_len >= 8 && prefix_len <= 32);
    struct vt_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->by = by;
    r->table = table;
    r->prefix_len = prefix_len;
    r->sites = (struct intern){json_object(), json_array()};
    r->vsets = (struct intern){json_object(), json_array()};
    r->idents = (struct intern){json_object(), json_array()};
    if (!r->sites.ids || !r->sites.vals || !r->vsets.ids || !r->vsets.vals || !r->idents.ids ||
        !r->idents.vals || intern(&r->vsets, "", json_array()) != 0 ||
        intern(&r->idents, "", json_null()) != 0) {
        vt_report_free(r);
        return NULL;
    }
    return r;
}

void vt_report_free(struct vt_report *r)
{
    if (!r)
        return;
    free(r->svc);
    free(r->grp);
    map_free(&r->svc_map);
    map_free(&r->grp_map);
    map_free(&r->hosts);
    free(r->runs);
    struct intern *all[] = {&r->sites, &r->vsets, &r->idents};
    for (size_t i = 0; i < 3; i++) {
        json_decref(all[i]->ids);
        json_decref(all[i]->vals);
    }
    json_decref(r->count);
    free(r);
}

void vt_report_set_count(struct vt_report *r, json_t *count_result)
{
    json_decref(r->count);
    r->count = json_incref(count_result);
}

struct vt_report_stats vt_report_stats(const struct vt_report *r)
{
    struct vt_report_stats s = r->stats;
    s.services = r->nsvc;
    return s;
}

static uint32_t prefix_mask(unsigned len)
{
    return len ? UINT32_MAX << (32 - len) : 0;
}

/* The groups of ip: its origin ASes (or UNROUTED), or its /N. Fills m with
 * the match (m->norigins 0 when unrouted) and returns how many keys. */
static size_t groups_of(const struct vt_report *r, uint32_t ip,
                        uint64_t keys[VT_PFX2AS_MAX_ORIGINS], struct vt_pfx2as_match *m)
{
    if (r->by == VT_REPORT_BY_PREFIX) {
        m->prefix = ip & prefix_mask(r->prefix_len);
        m->len = (uint8_t)r->prefix_len;
        m->norigins = 0;
        keys[0] = m->prefix;
        return 1;
    }
    if (!vt_pfx2as_lookup(r->table, ip, m)) {
        m->norigins = 0;
        keys[0] = UNROUTED;
        return 1;
    }
    for (size_t i = 0; i < m->norigins; i++)
        keys[i] = m->origins[i];
    return m->norigins;
}

static struct group *group_get(struct vt_report *r, uint64_t key)
{
    int64_t at = map_get(&r->grp_map, key);
    if (at >= 0)
        return &r->grp[at];
    if (r->ngrp == r->grp_cap) {
        size_t cap = r->grp_cap ? r->grp_cap * 2 : 64;
        struct group *g = realloc(r->grp, cap * sizeof *g);
        if (!g)
            return NULL;
        r->grp = g;
        r->grp_cap = cap;
    }
    if (map_put(&r->grp_map, key, (uint32_t)r->ngrp) != 0)
        return NULL;
    r->grp[r->ngrp] = (struct group){.key = key};
    return &r->grp[r->ngrp++];
}

/* The services of r->ip are all read: the union of their windows is its
 * host-windows, which each of its groups counts, window by window. */
static int address_end(struct vt_report *r)
{
    if (!r->any_service)
        return 0;
    size_t m = vt_runs_union(r->runs, r->nruns);
    r->nruns = 0;
    r->addr_windows = 0;
    uint64_t keys[VT_PFX2AS_MAX_ORIGINS];
    struct vt_pfx2as_match pm;
    size_t n = groups_of(r, r->ip, keys, &pm);
    for (size_t g = 0; g < n; g++) {
        struct group *grp = group_get(r, keys[g]);
        if (!grp)
            return -1;
        uint64_t gi = (uint64_t)(grp - r->grp);
        for (size_t i = 0; i < m; i++)
            for (uint64_t w = r->runs[i].lo; w <= r->runs[i].hi; w++) {
                uint64_t key = gi << 32 | w;
                int64_t before = map_get(&r->hosts, key); /* -1: none yet */
                uint64_t hosts = before < 0 ? 1 : (uint64_t)before + 1;
                if (hosts >= UINT32_MAX - 1 || map_put(&r->hosts, key, (uint32_t)hosts) != 0)
                    return -1;
                grp->host_windows++;
                if (hosts > grp->max_hosts)
                    grp->max_hosts = hosts;
            }
    }
    return 0;
}

/* "498720:0-5,9" (an address's windows: FIRST, then runs of offsets from
 * it) appended to r->runs; a malformed text adds what it could read and is
 * counted. 0, or -1 on ENOMEM. */
static int add_windows(struct vt_report *r, const char *text)
{
    char *end;
    if (!text)
        return 0;
    unsigned long long base = strtoull(text, &end, 10);
    if (end == text || *end != ':' || base > UINT32_MAX) {
        r->stats.bad_windows++;
        return 0;
    }
    text = end + 1;
    while (*text) {
        unsigned long long lo = strtoull(text, &end, 10), hi = lo;
        bool ok = end != text && lo <= UINT32_MAX - base;
        if (ok && *end == '-') {
            const char *h = end + 1;
            hi = strtoull(h, &end, 10);
            ok = end != h && hi <= UINT32_MAX - base && hi >= lo;
        }
        ok = ok && hi - lo + 1 <= ADDRESS_WINDOWS_MAX - r->addr_windows;
        if (!ok) {
            r->stats.bad_windows++;
            return 0;
        }
        if (vt_grow((void **)&r->runs, &r->runs_cap, r->nruns + 1, sizeof *r->runs) != 0)
            return -1;
        r->runs[r->nruns++] = (struct vt_run){(uint32_t)(base + lo), (uint32_t)(base + hi)};
        r->addr_windows += hi - lo + 1;
        if (*end != ',') {
            r->stats.bad_windows += *end != '\0';
            return 0;
        }
        text = end + 1;
    }
    return 0;
}

/* A time of a row: RFC 3339 text (as rows have them) or Unix ms; 0 if neither. */
static int64_t row_time(json_t *row, const char *name)
{
    json_t *v = json_object_get(row, name);
    int64_t ms = 0;
    if (json_is_integer(v) && json_integer_value(v) > 0)
        return json_integer_value(v);
    const char *s = json_string_value(v);
    if (s && strlen(s) >= 10 && s[4] == '-' && vt_time_parse(s, 0, &ms) == 0 && ms > 0)
        return ms;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The id of a set of site ids (sorted, unique, n of them). */
static int64_t vset_of(struct vt_report *r, const uint32_t *ids, size_t n)
{
    char *key = malloc(n * 11 + 1); /* "3,7,12": at most 10 digits and a comma each */
    json_t *set = json_array();
    int64_t id = -1;
    if (key && set) {
        size_t k = 0;
        key[0] = '\0';
        for (size_t i = 0; i < n; i++)
            k += (size_t)snprintf(key + k, n * 11 + 1 - k, "%s%" PRIu32, i ? "," : "", ids[i]);
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++)
            ok = json_array_append_new(set, json_integer(ids[i])) == 0;
        if (ok) {
            id = intern(&r->vsets, key, set);
            set = NULL; /* intern took it */
        }
    }
    json_decref(set);
    free(key);
    return id;
}

/* The row's vantages as a set id; merged with the service's (old) set. */
static int64_t vset_union(struct vt_report *r, json_t *vantages, uint32_t old)
{
    json_t *prev = json_array_get(r->vsets.vals, old);
    size_t nrow = json_array_size(vantages), nprev = json_array_size(prev);
    uint32_t stack[64], *ids = nrow + nprev <= 64 ? stack : malloc((nrow + nprev) * sizeof *ids);
    if (!ids)
        return -1;
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(prev, i, v) ids[n++] = (uint32_t)json_integer_value(v);
    bool grew = false;
    json_array_foreach(vantages, i, v)
    {
        const char *name = json_string_value(v);
        if (!name || !*name)
            continue;
        int64_t id = intern(&r->sites, name, json_string(name));
        if (id < 0) {
            if (ids != stack)
                free(ids);
            return -1;
        }
        bool have = false;
        for (size_t j = 0; j < n && !have; j++)
            have = ids[j] == (uint32_t)id;
        if (!have) {
            ids[n++] = (uint32_t)id;
            grew = true;
        }
    }
    int64_t id = old;
    if (grew) {
        qsort(ids, n, sizeof *ids, cmp_u32);
        id = vset_of(r, ids, n);
    }
    if (ids != stack)
        free(ids);
    return id;
}

/* A growing text. */
struct text {
    char *s;
    size_t len, cap;
};

/* Appends t and the separator sep: false on ENOMEM. */
static bool text_add(struct text *x, const char *t, char sep)
{
    size_t n = strlen(t);
    if (x->len + n + 2 > x->cap) {
        size_t cap = (x->len + n + 2) * 2;
        char *g = realloc(x->s, cap);
        if (!g)
            return false;
        x->s = g;
        x->cap = cap;
    }
    memcpy(x->s + x->len, t, n);
    x->len += n;
    x->s[x->len++] = sep;
    x->s[x->len] = '\0';
    return true;
}

/* The row's {proto, labels} as an ident id (0: it has neither). The key is
 * the texts joined (no JSON is made for it): a firmware's labels come in the
 * same order every time, and the same labels in another order are only a
 * second id for the same output. */
static int64_t ident_of(struct vt_report *r, json_t *row)
{
    json_t *proto = json_object_get(row, "proto"), *labels = json_object_get(row, "labels");
    if (!json_is_string(proto))
        proto = NULL;
    if (!json_is_object(labels) || !json_object_size(labels))
        labels = NULL;
    if (!proto && !labels)
        return 0;
    struct text key = {0};
    bool ok = text_add(&key, proto ? json_string_value(proto) : "", '\x1e');
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        if (json_is_string(v)) /* labels are texts: anything else is left out */
            ok = ok && text_add(&key, k, '\x1f') && text_add(&key, json_string_value(v), '\x1e');
    }
    if (!ok) {
        free(key.s);
        return -1;
    }
    int64_t id;
    json_t *known = json_object_get(r->idents.ids, key.s);
    if (known) {
        id = json_integer_value(known);
    } else {
        json_t *o = json_object(), *kept = json_object();
        json_object_foreach(labels, k, v)
        {
            if (json_is_string(v) && kept)
                ok = ok && json_object_set(kept, k, v) == 0;
        }
        id = !ok || !o || !kept || json_object_set(o, "proto", proto ? proto : json_null()) != 0 ||
                     json_object_set(o, "labels", kept) != 0
                 ? -1
                 : intern(&r->idents, key.s, json_incref(o));
        json_decref(kept);
        json_decref(o);
    }
    free(key.s);
    return id;
}

int vt_report_add_service(struct vt_report *r, json_t *row)
{
    const char *ips = json_string_value(json_object_get(row, "ip"));
    json_t *pv = json_object_get(row, "port");
    uint32_t ip;
    if (!ips || vt_ip_parse(ips, &ip) != 0 || !json_is_integer(pv) || json_integer_value(pv) < 1 ||
        json_integer_value(pv) > 65535) {
        r->stats.skipped++;
        return 1;
    }
    uint16_t port = (uint16_t)json_integer_value(pv);
    r->stats.rows++;
    if (!r->any_service || ip != r->ip) {
        if (r->any_service && ip < r->ip)
            r->stats.unordered++;
        if (address_end(r) != 0)
            return -1;
        r->ip = ip;
        r->any_service = true;
    }
    if (add_windows(r, json_string_value(json_object_get(row, "host_windows"))) != 0)
        return -1;

    uint64_t key = (uint64_t)ip << 16 | port;
    int64_t at = map_get(&r->svc_map, key);
    struct service *s;
    if (at < 0) {
        if (r->nsvc == r->svc_cap) {
            size_t cap = r->svc_cap ? r->svc_cap * 2 : 1024;
            struct service *n = cap < UINT32_MAX ? realloc(r->svc, cap * sizeof *n) : NULL;
            if (!n)
                return -1;
            r->svc = n;
            r->svc_cap = cap;
        }
        if (map_put(&r->svc_map, key, (uint32_t)r->nsvc) != 0)
            return -1;
        s = &r->svc[r->nsvc++];
        *s = (struct service){.ip = ip, .port = port};
    } else {
        s = &r->svc[at]; /* the same service twice: merged */
    }
    int64_t first = row_time(row, "first_seen"), last = row_time(row, "last_seen");
    if (first && (!s->first_ms || first < s->first_ms))
        s->first_ms = first;
    if (last > s->last_ms)
        s->last_ms = last;
    int64_t vset = vset_union(r, json_object_get(row, "vantages"), s->vset);
    int64_t ident = ident_of(r, row);
    if (vset < 0 || ident < 0)
        return -1;
    s->vset = (uint32_t)vset;
    if (ident)
        s->ident = (uint32_t)ident;
    return 0;
}

/* ---- output ---- */

struct place {
    uint64_t key;         /* the group */
    uint32_t svc;         /* the service */
    uint32_t prefix;      /* the matched prefix (by ASN) or the /N */
    uint8_t len, matched; /* matched: a prefix holds it */
};

/* For qsort_r: by group, then the services' ip and port (arg: the services). */
static int place_cmp(const void *pa, const void *pb, void *arg)
{
    const struct place *a = pa, *b = pb;
    const struct service *svc = arg;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    const struct service *x = &svc[a->svc], *y = &svc[b->svc];
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return (x->port > y->port) - (x->port < y->port);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static const char *prefix_text(uint32_t prefix, unsigned len, char *buf, size_t size)
{
    char a[16];
    snprintf(buf, size, "%s/%u", vt_ip_str(prefix, a), len);
    return buf;
}

/* A CSV field after its comma (unless first); NULL is empty. */
static int csv_field(FILE *out, const char *s, bool first)
{
    if (!first && fputc(',', out) == EOF)
        return -1;
    return s ? vt_csv_field(out, s) : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The service's vantages by name, ascending, as a new JSON array. */
static json_t *vantages_of(const struct vt_report *r, const struct service *s)
{
    json_t *set = json_array_get(r->vsets.vals, s->vset), *out = json_array(), *v;
    size_t n = json_array_size(set), i;
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!out || !names) {
        free(names);
        json_decref(out);
        return NULL;
    }
    json_array_foreach(set, i, v) names[i] =
        json_string_value(json_array_get(r->sites.vals, (size_t)json_integer_value(v)));
    qsort(names, n, sizeof *names, cmp_str);
    for (i = 0; i < n; i++)
        if (json_array_append_new(out, json_string(names[i])) != 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    free(names);
    return out;
}

static const char *label_of(const struct vt_report *r, const struct service *s, const char *key)
{
    json_t *ident = json_array_get(r->idents.vals, s->ident);
    return json_string_value(json_object_get(json_object_get(ident, "labels"), key));
}

static int print_service_jsonl(const struct vt_report *r, FILE *out, const struct place *p)
{
    const struct service *s = &r->svc[p->svc];
    json_t *ident = json_array_get(r->idents.vals, s->ident);
    json_t *labels = json_object_get(ident, "labels"), *proto = json_object_get(ident, "proto");
    const char *exposure = label_of(r, s, "exposure");
    char ip[16], pfx[24], fs[32], ls[32];
    json_t *o = json_object();
    int rc = !o;
    if (!rc && r->by == VT_REPORT_BY_ASN)
        rc |= json_object_set_new(
            o, "asn", p->key == UNROUTED ? json_null() : json_integer((json_int_t)p->key));
    rc = rc ||
         json_object_set_new(o, "prefix",
                             p->matched
                                 ? json_string(prefix_text(p->prefix, p->len, pfx, sizeof pfx))
                                 : json_null()) != 0 ||
         json_object_set_new(o, "ip", json_string(vt_ip_str(s->ip, ip))) != 0 ||
         json_object_set_new(o, "port", json_integer(s->port)) != 0 ||
         json_object_set(o, "proto", proto ? proto : json_null()) != 0 ||
         json_object_set_new(o, "labels", labels ? json_incref(labels) : json_object()) != 0 ||
         json_object_set_new(o, "exposure", exposure ? json_string(exposure) : json_null()) != 0 ||
         json_object_set_new(o, "first_seen",
                             s->first_ms
                                 ? json_string(vt_rfc3339_ms((uint64_t)s->first_ms, fs, sizeof fs))
                                 : json_null()) != 0 ||
         json_object_set_new(o, "last_seen",
                             s->last_ms
                                 ? json_string(vt_rfc3339_ms((uint64_t)s->last_ms, ls, sizeof ls))
                                 : json_null()) != 0 ||
         json_object_set_new(o, "vantages", vantages_of(r, s)) != 0 ||
         json_dumpf(o, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF;
    json_decref(o);
    return rc ? -1 : 0;
}

static int print_service_csv(const struct vt_report *r, FILE *out, const struct place *p)
{
    const struct service *s = &r->svc[p->svc];
    json_t *ident = json_array_get(r->idents.vals, s->ident);
    char asn[16] = "", ip[16], pfx[24] = "", port[8], fs[32] = "", ls[32] = "";
    if (p->key != UNROUTED)
        snprintf(asn, sizeof asn, "%" PRIu64, p->key);
    if (p->matched)
        prefix_text(p->prefix, p->len, pfx, sizeof pfx);
    snprintf(port, sizeof port, "%u", s->port);
    if (s->first_ms)
        vt_rfc3339_ms((uint64_t)s->first_ms, fs, sizeof fs);
    if (s->last_ms)
        vt_rfc3339_ms((uint64_t)s->last_ms, ls, sizeof ls);
    json_t *vantages = vantages_of(r, s), *v;
    if (!vantages)
        return -1;
    size_t len = 1, i;
    json_array_foreach(vantages, i, v) len += strlen(json_string_value(v)) + 1;
    char *joined = malloc(len);
    if (!joined) {
        json_decref(vantages);
        return -1;
    }
    joined[0] = '\0';
    json_array_foreach(vantages, i, v)
    {
        if (i)
            strcat(joined, "|");
        strcat(joined, json_string_value(v));
    }
    json_decref(vantages);
    int rc = 0;
    bool by_asn = r->by == VT_REPORT_BY_ASN;
    if (by_asn)
        rc |= csv_field(out, asn, true);
    rc |= csv_field(out, pfx, !by_asn);
    rc |= csv_field(out, vt_ip_str(s->ip, ip), false);
    rc |= csv_field(out, port, false);
    rc |= csv_field(out, json_string_value(json_object_get(ident, "proto")), false);
    rc |= csv_field(out, label_of(r, s, "vendor"), false);
    rc |= csv_field(out, label_of(r, s, "device"), false);
    rc |= csv_field(out, label_of(r, s, "product"), false);
    rc |= csv_field(out, label_of(r, s, "exposure"), false);
    rc |= csv_field(out, fs, false);
    rc |= csv_field(out, ls, false);
    rc |= csv_field(out, joined, false);
    rc |= fputc('\n', out) == EOF;
    free(joined);
    return rc ? -1 : 0;
}

/* A group's devices estimate and interval (see report.h). */
struct estimate {
    bool known;
    json_int_t est, low, high;
};

static struct estimate group_estimate(const struct vt_report *r, const struct group *g,
                                      uint64_t addresses)
{
    uint64_t most = g->max_hosts;
    struct estimate e = {false, 0, (json_int_t)most, (json_int_t)addresses};
    json_t *ge = json_object_get(r->count, "devices_estimate"),
           *per = json_object_get(r->count, "host_windows_per_device");
    double hwpd = json_number_value(per);
    if (!json_is_number(ge) || !json_is_number(per) || !(hwpd > 0) || !isfinite(hwpd))
        return e;
    double est = (double)g->host_windows / hwpd, global = json_number_value(ge);
    double lo = est, hi = est;
    json_t *gl = json_object_get(r->count, "devices_low"),
           *gh = json_object_get(r->count, "devices_high");
    if (global > 0 && json_is_number(gl) && json_is_number(gh)) {
        lo = est * json_number_value(gl) / global;
        hi = est * json_number_value(gh) / global;
    }
    /* Whatever the model says, a group had at least its most hosts in one
     * window, and at most one device per host-window. */
    double min = (double)most, max = (double)g->host_windows;
    e.known = true;
    e.est = (json_int_t)llround(fmin(fmax(est, min), max));
    e.low = (json_int_t)llround(floor(fmin(fmax(lo, min), max)));
    e.high = (json_int_t)llround(ceil(fmin(fmax(hi, min), max)));
    return e;
}

struct device_count {
    const char *name;
    json_int_t n;
};

static int device_cmp(const void *pa, const void *pb)
{
    const struct device_count *a = pa, *b = pb;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* "IP Camera 12, DVR 3, +2 more": the kinds most seen first. */
static void top_devices(json_t *by_device, char *buf, size_t size)
{
    size_t n = json_object_size(by_device), i = 0, k = 0;
    struct device_count *d = malloc((n ? n : 1) * sizeof *d);
    buf[0] = '\0';
    if (!d)
        return;
    const char *name;
    json_t *v;
    json_object_foreach(by_device, name, v) d[i++] =
        (struct device_count){name, json_integer_value(v)};
    qsort(d, n, sizeof *d, device_cmp);
    for (i = 0; i < n && i < TOP_SHOWN && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%s %" JSON_INTEGER_FORMAT, i ? ", " : "",
                              d[i].name, d[i].n);
    if (n > TOP_SHOWN && k < size)
        snprintf(buf + k, size - k, ", +%zu more", n - TOP_SHOWN);
    free(d);
}

static json_t *number_or_null(bool known, json_int_t v)
{
    return known ? json_integer(v) : json_null();
}

/* The summary of one group's placements p[0..n). */
static json_t *summarize(struct vt_report *r, const struct place *p, size_t n)
{
    int64_t gi = map_get(&r->grp_map, p[0].key);
    assert(gi >= 0); /* address_end() made every group of every service's address */
    if (gi < 0)
        return NULL;
    const struct group *g = &r->grp[gi];
    uint64_t addresses = 0, nprefixes = 0;
    uint64_t *pfx = malloc((n ? n : 1) * sizeof *pfx);
    json_t *by_device = json_object();
    if (!pfx || !by_device) {
        free(pfx);
        json_decref(by_device);
        return NULL;
    }
    size_t npfx = 0;
    for (size_t i = 0; i < n; i++) {
        const struct service *s = &r->svc[p[i].svc];
        addresses += i == 0 || r->svc[p[i - 1].svc].ip != s->ip;
        if (p[i].matched)
            pfx[npfx++] = (uint64_t)p[i].prefix << 6 | p[i].len;
        const char *device = label_of(r, s, "device");
        if (!device || !*device)
            device = NOT_IDENTIFIED;
        json_t *c = json_object_get(by_device, device);
        if (c ? json_integer_set(c, json_integer_value(c) + 1) != 0
              : json_object_set_new(by_device, device, json_integer(1)) != 0) {
            free(pfx);
            json_decref(by_device);
            return NULL;
        }
    }
    qsort(pfx, npfx, sizeof *pfx, cmp_u64);
    for (size_t i = 0; i < npfx; i++)
        nprefixes += i == 0 || pfx[i] != pfx[i - 1];
    free(pfx);
    struct estimate e = group_estimate(r, g, addresses);
    json_t *o = json_object();
    int rc = !o || json_object_set_new(o, "summary", json_true()) != 0;
    char text[24];
    if (r->by == VT_REPORT_BY_ASN)
        rc = rc ||
             json_object_set_new(o, "asn",
                                 g->key == UNROUTED ? json_null()
                                                    : json_integer((json_int_t)g->key)) != 0 ||
             json_object_set_new(o, "prefixes", json_integer((json_int_t)nprefixes)) != 0;
    else
        rc = rc || json_object_set_new(o, "prefix",
                                       json_string(prefix_text((uint32_t)g->key, r->prefix_len,
                                                               text, sizeof text))) != 0;
    rc = rc || json_object_set_new(o, "addresses", json_integer((json_int_t)addresses)) != 0 ||
         json_object_set_new(o, "services", json_integer((json_int_t)n)) != 0 ||
         json_object_set_new(o, "host_windows", json_integer((json_int_t)g->host_windows)) != 0 ||
         json_object_set_new(o, "devices_estimate", number_or_null(e.known, e.est)) != 0 ||
         json_object_set_new(o, "devices_low", json_integer(e.low)) != 0 ||
         json_object_set_new(o, "devices_high", json_integer(e.high)) != 0 ||
         json_object_set_new(o, "by_device", by_device) != 0;
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static const char *int_text(json_t *v, char *buf, size_t size)
{
    if (!json_is_integer(v))
        return "-";
    snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return buf;
}

/* One summary as a csv line or a table row. */
static int summary_out(const struct vt_report *r, json_t *sum, FILE *out, struct vt_table *t)
{
    char group[24], addresses[24], services[24], est[24], low[24], high[24], prefixes[24];
    json_t *asn = json_object_get(sum, "asn");
    if (r->by == VT_REPORT_BY_PREFIX)
        snprintf(group, sizeof group, "%s", json_string_value(json_object_get(sum, "prefix")));
    else if (json_is_integer(asn))
        int_text(asn, group, sizeof group);
    else
        snprintf(group, sizeof group, "%s", t ? "unrouted" : "");
    int_text(json_object_get(sum, "addresses"), addresses, sizeof addresses);
    int_text(json_object_get(sum, "services"), services, sizeof services);
    const char *e = int_text(json_object_get(sum, "devices_estimate"), est, sizeof est);
    int_text(json_object_get(sum, "devices_low"), low, sizeof low);
    int_text(json_object_get(sum, "devices_high"), high, sizeof high);
    if (!t) {
        int rc = csv_field(out, group, true);
        rc |= csv_field(out, addresses, false);
        rc |= csv_field(out, services, false);
        rc |= csv_field(out, *e == '-' ? "" : e, false);
        rc |= csv_field(out, low, false);
        rc |= csv_field(out, high, false);
        return rc || fputc('\n', out) == EOF ? -1 : 0;
    }
    char range[52], top[256];
    snprintf(range, sizeof range, "%s-%s", low, high);
    top_devices(json_object_get(sum, "by_device"), top, sizeof top);
    int_text(json_object_get(sum, "prefixes"), prefixes, sizeof prefixes);
    const char *asn_row[] = {group, prefixes, addresses, services, e, range, top};
    const char *pfx_row[] = {group, addresses, services, e, range, top};
    return vt_table_add(t, r->by == VT_REPORT_BY_ASN ? asn_row : pfx_row);
}

int vt_report_print(struct vt_report *r, FILE *out, enum vt_query_format fmt)
{
    if (address_end(r) != 0) /* the last address's host-windows */
        return -1;
    /* Every service in each of its groups. */
    size_t nplace = 0, cap = r->nsvc ? r->nsvc : 1;
    struct place *p = malloc(cap * sizeof *p);
    if (!p)
        return -1;
    for (size_t i = 0; i < r->nsvc; i++) {
        uint64_t keys[VT_PFX2AS_MAX_ORIGINS];
        struct vt_pfx2as_match m;
        size_t n = groups_of(r, r->svc[i].ip, keys, &m);
        if (nplace + n > cap) {
            cap = cap * 2 + n;
            struct place *np = realloc(p, cap * sizeof *p);
            if (!np) {
                free(p);
                return -1;
            }
            p = np;
        }
        for (size_t k = 0; k < n; k++)
            p[nplace++] = (struct place){keys[k], (uint32_t)i, m.prefix, m.len,
                                         r->by == VT_REPORT_BY_PREFIX || m.norigins > 0};
    }
    qsort_r(p, nplace, sizeof *p, place_cmp, r->svc);

    static const char *const asn_heads[] = {"ASN",     "PREFIXES",  "ADDRESSES",         "SERVICES",
                                            "DEVICES", "95% RANGE", "SERVICES BY DEVICE"};
    static const char *const pfx_heads[] = {"PREFIX",  "ADDRESSES", "SERVICES",
                                            "DEVICES", "95% RANGE", "SERVICES BY DEVICE"};
    bool by_asn = r->by == VT_REPORT_BY_ASN;
    struct vt_table *t = NULL;
    json_t *sums = json_array();
    int rc = !sums;
    if (!rc && fmt == VT_QUERY_TABLE) {
        t = by_asn ? vt_table_new(7, asn_heads) : vt_table_new(6, pfx_heads);
        rc = !t;
    }
    if (!rc && fmt == VT_QUERY_CSV)
        rc = fprintf(out,
                     "%sprefix,ip,port,proto,vendor,device,product,exposure,first_seen,"
                     "last_seen,vantages\n",
                     by_asn ? "asn," : "") < 0;
    for (size_t i = 0; !rc && i < nplace;) {
        size_t j = i;
        while (j < nplace && p[j].key == p[i].key) {
            if (fmt == VT_QUERY_JSONL)
                rc |= print_service_jsonl(r, out, &p[j]);
            else if (fmt == VT_QUERY_CSV)
                rc |= print_service_csv(r, out, &p[j]);
            j++;
        }
        json_t *sum = summarize(r, p + i, j - i);
        rc |= !sum || json_array_append_new(sums, sum) != 0;
        i = j;
    }
    free(p);
    size_t i;
    json_t *sum;
    if (!rc && fmt == VT_QUERY_CSV)
        rc = fprintf(out, "\n%s,addresses,services,devices_estimate,devices_low,devices_high\n",
                     by_asn ? "asn" : "prefix") < 0;
    json_array_foreach(sums, i, sum)
    {
        if (rc)
            break;
        if (fmt == VT_QUERY_JSONL)
            rc = json_dumpf(sum, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF;
        else
            rc = summary_out(r, sum, out, t) != 0;
    }
    if (!rc && t && vt_table_rows(t))
        rc = vt_table_print(t, out, NULL) != 0;
    vt_table_free(t);
    json_decref(sums);
    return rc ? -1 : 0;
}
