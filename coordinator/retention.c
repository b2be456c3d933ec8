/* retention.c: `vantage serve --retention DUR` (docs/storage.md, "Retention"):
 * records older than DUR go, whole windows at a time, on a schedule.
 *
 * Each minute the loop asks vt_retention_tick whether the oldest window to
 * keep has moved (cutoff = the window that holds now - DUR). When it has:
 *   1. one DeleteRange drops every obs window before the cutoff (synced; the
 *      window leads the key, so this is one tombstone however many records);
 *   2. the device records of those windows are deleted (the identity leads
 *      that key: a scan of the family, which holds identified hosts only);
 *   3. banner records no remaining obs record names are swept: a mark over
 *      obs (one consistent view) collects the ids still named, then a sweep
 *      over `banner` deletes the others. Both go one budget per loop turn,
 *      so the workers are served meanwhile.
 * Ingest goes on during 3: every banner id it names from the mark's start on
 * is noted here (vt_retention_note_banner) and never swept, and a swept id is
 * taken out of ingest's cache of ids written (vt_ingest_forget_banner), so a
 * banner seen again after its sweep is written again.
 *
 * The cutoff is not stored: after a restart the first tick drops again what
 * is already gone (a tombstone over nothing) and sweeps once. */
#include "coord.h"

#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_BUDGET 100000 /* records per loop turn, mark or sweep */
#define TICK_MS      60000  /* how often the cutoff is checked */

/* A set of banner ids: open addressing, 16-byte keys; zero id = empty. */
struct idset {
    uint8_t (*v)[VT_BANNER_ID_LEN];
    size_t n, cap;
};

static const uint8_t zero_id[VT_BANNER_ID_LEN];

static int idset_add(struct idset *s, const uint8_t *id)
{
    if (!memcmp(id, zero_id, VT_BANNER_ID_LEN))
        return 0;
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        uint8_t(*v)[VT_BANNER_ID_LEN] = calloc(cap, VT_BANNER_ID_LEN);
        if (!v)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!memcmp(s->v[i], zero_id, VT_BANNER_ID_LEN))
                continue;
            uint64_t h;
            memcpy(&h, s->v[i], sizeof h);
            size_t j = h & (cap - 1);
            while (memcmp(v[j], zero_id, VT_BANNER_ID_LEN))
                j = (j + 1) & (cap - 1);
            memcpy(v[j], s->v[i], VT_BANNER_ID_LEN);
        }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    uint64_t h;
    memcpy(&h, id, sizeof h);
    size_t j = h & (s->cap - 1);
    for (; memcmp(s->v[j], zero_id, VT_BANNER_ID_LEN); j = (j + 1) & (s->cap - 1))
        if (!memcmp(s->v[j], id, VT_BANNER_ID_LEN))
            return 0;
    memcpy(s->v[j], id, VT_BANNER_ID_LEN);
    s->n++;
    return 0;
}

static bool idset_has(const struct idset *s, const uint8_t *id)
{
    if (!s->cap)
        return false;
    uint64_t h;
    memcpy(&h, id, sizeof h);
    for (size_t j = h & (s->cap - 1); memcmp(s->v[j], zero_id, VT_BANNER_ID_LEN);
         j = (j + 1) & (s->cap - 1))
        if (!memcmp(s->v[j], id, VT_BANNER_ID_LEN))
            return true;
    return false;
}

static void idset_free(struct idset *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

struct vt_retention {
    uint64_t keep_s;
    uint32_t done_before; /* windows before this are dropped */
    int64_t next_check_ms;
    enum { IDLE, MARK, SWEEP } phase;
    struct vt_obs_iter *marker;
    struct idset named, touched;
    uint8_t sweep_after[VT_BANNER_ID_LEN];
    bool sweep_started;
    uint64_t swept, runs;
};

int vt_retention_set(struct vt_coord *c, uint64_t keep_s)
{
    if (!keep_s) {
        vt_retention_free(c);
        return 0;
    }
    if (!c->retention && !(c->retention = calloc(1, sizeof *c->retention)))
        return -1;
    c->retention->keep_s = keep_s;
    c->retention->next_check_ms = 0; /* at the next tick */
    return 0;
}

void vt_retention_free(struct vt_coord *c)
{
    struct vt_retention *r = c->retention;
    if (!r)
        return;
    vt_obs_iter_free(r->marker);
    idset_free(&r->named);
    idset_free(&r->touched);
    free(r);
    c->retention = NULL;
}

static void sweep_end(struct vt_retention *r)
{
    vt_obs_iter_free(r->marker);
    r->marker = NULL;
    idset_free(&r->named);
    idset_free(&r->touched);
    r->phase = IDLE;
}

void vt_retention_note_banner(struct vt_coord *c, const uint8_t id[VT_BANNER_ID_LEN])
{
    struct vt_retention *r = c->retention;
    if (r && r->phase != IDLE && idset_add(&r->touched, id) != 0) {
        /* Out of memory: stop this sweep rather than risk deleting it. */
        vt_log("retention: out of memory; the banner sweep stops, the next one will run");
        sweep_end(r);
    }
}

/* Mark: the ids that obs records still name. 1 when done, 0 more, -1 error. */
static int mark_step(struct vt_coord *c, struct vt_retention *r)
{
    struct vt_obs_row row;
    for (size_t n = 0; n < SWEEP_BUDGET; n++) {
        uint32_t w, ip;
        uint16_t port;
        int k = vt_obs_iter_key(r->marker, &w, &ip, &port);
        if (k <= 0)
            return k == 0 ? 1 : -1;
        if (vt_obs_iter_row(r->marker, &row) == 1 && row.obs->has_banner_id &&
            row.obs->banner_id.len == VT_BANNER_ID_LEN &&
            idset_add(&r->named, row.obs->banner_id.data) != 0)
            return -1;
        vt_obs_iter_next(r->marker);
    }
    return 0;
}

struct sweep {
    struct vt_coord *c;
    struct vt_retention *r;
    struct vt_batch *b;
    size_t seen;
    uint8_t last[VT_BANNER_ID_LEN];
    bool any;
};

static int sweep_cb(void *arg, const uint8_t *id, size_t idlen, const Vantage__BannerRecord *rec)
{
    struct sweep *s = arg;
    (void)rec;
    if (idlen != VT_BANNER_ID_LEN)
        return 0;
    if (s->r->sweep_started && memcmp(id, s->r->sweep_after, VT_BANNER_ID_LEN) <= 0)
        return 0; /* done in an earlier turn */
    memcpy(s->last, id, VT_BANNER_ID_LEN);
    s->any = true;
    if (!idset_has(&s->r->named, id) && !idset_has(&s->r->touched, id)) {
        vt_batch_banner_delete(s->b, id);
        vt_ingest_forget_banner(s->c, id);
    }
    return ++s->seen >= SWEEP_BUDGET;
}

/* Sweep: deletes the banners nothing names. 1 done, 0 more, -1 error. */
static int sweep_step(struct vt_coord *c, struct vt_retention *r)
{
    struct sweep s = {c, r, vt_batch_new(), 0, {0}, false};
    size_t corrupt = 0;
    if (!s.b)
        return -1;
    /* From where the last turn stopped (that id itself is skipped). */
    int rc =
        vt_banner_scan(c->store, r->sweep_started ? r->sweep_after : NULL, sweep_cb, &s, &corrupt);
    char err[256];
    size_t deletes = vt_batch_count(s.b);
    if (rc == 0 && deletes && vt_store_write(c->store, s.b, true, err, sizeof err) != 0) {
        vt_log("retention: %s", err);
        rc = -1;
    }
    vt_batch_free(s.b);
    if (rc != 0)
        return -1;
    r->swept += deletes;
    if (!s.any || s.seen < SWEEP_BUDGET)
        return 1;
    memcpy(r->sweep_after, s.last, VT_BANNER_ID_LEN);
    r->sweep_started = true;
    return 0;
}

void vt_retention_tick(struct vt_coord *c, int64_t now_ms, int64_t mono_ms)
{
    struct vt_retention *r = c->retention;
    if (!r)
        return;
    if (r->phase == MARK) {
        int rc = mark_step(c, r);
        if (rc < 0) {
            vt_log("retention: cannot read observations: %s; the banner sweep will run again",
                   vt_store_errmsg(c->store));
            sweep_end(r);
        } else if (rc == 1) {
            r->phase = SWEEP;
            r->sweep_started = false;
        }
        return;
    }
    if (r->phase == SWEEP) {
        int rc = sweep_step(c, r);
        if (rc != 0) {
            if (rc < 0)
                vt_log("retention: the banner sweep failed (%s); it runs again with the next "
                       "drop",
                       vt_store_errmsg(c->store));
            else
                vt_log("retention: %" PRIu64 " banner record(s) no record names any more "
                       "removed",
                       r->swept);
            sweep_end(r);
        }
        return;
    }
    if (mono_ms < r->next_check_ms)
        return;
    r->next_check_ms = mono_ms + TICK_MS;
    uint64_t now_s = now_ms > 0 ? (uint64_t)now_ms / 1000 : 0;
    if (now_s <= r->keep_s)
        return;
    uint32_t cutoff = (uint32_t)((now_s - r->keep_s) / c->window_s);
    if (cutoff <= r->done_before)
        return;
    char err[256];
    size_t devices = 0;
    if (vt_store_drop_windows(c->store, cutoff, err, sizeof err) != 0) {
        vt_log("retention: %s; tried again in a minute", err);
        return;
    }
    if (vt_device_drop_windows(c->store, cutoff, &devices) != 0) {
        vt_log("retention: cannot drop old device records: %s; tried again in a minute",
               vt_store_errmsg(c->store));
        return;
    }
    r->done_before = cutoff;
    r->runs++;
    char at[32];
    vt_rfc3339_ms((uint64_t)cutoff * c->window_s * 1000, at, sizeof at);
    vt_log("retention: records of the windows before %u (%s) dropped, %zu device record(s); "
           "sweeping banners",
           cutoff, at, devices);
    r->marker = vt_obs_iter_new(c->store, cutoff, UINT32_MAX, false);
    r->swept = 0;
    r->phase = r->marker ? MARK : IDLE;
}

bool vt_retention_busy(const struct vt_coord *c)
{
    return c->retention && c->retention->phase != IDLE;
}
