/* meta.c: how the daemon's own state reaches the store's meta family.
 *
 * Lease and checkpoint records changed during one loop turn go into one
 * write batch (vt_state_put), written at the turn's end (vt_state_flush),
 * unsynced: a crash may lose the last turn's records, which costs re-done
 * work and never data, because a checkpoint only ever counts results that
 * were durably stored (lease.c).
 *
 * Lease ids are the exception: an id that reached a worker must never be
 * given again, or a late batch of the old lease would be taken as the new
 * one's. Ids are reserved VT_LEASE_ID_BLOCK at a time with a synced write of
 * the high-water mark (meta lease-ids/hwm) before the first id of the block
 * is used; a restart continues above it. */
#include "coord.h"

#include <inttypes.h>
#include <string.h>

#define HWM_KEY "lease-ids/hwm"

int vt_state_put(struct vt_coord *c, const char *key, const char *text)
{
    if (!c->state_batch)
        return vt_meta_put(c->store, key, text, strlen(text), false);
    vt_batch_meta_put(c->state_batch, key, text, strlen(text));
    return 0;
}

void vt_state_flush(struct vt_coord *c)
{
    if (!c->state_batch || vt_batch_count(c->state_batch) == 0)
        return;
    char err[256];
    if (vt_store_write(c->store, c->state_batch, false, err, sizeof err) != 0)
        vt_log("cannot record lease and checkpoint state: %s", err);
    vt_batch_clear(c->state_batch);
}

uint64_t vt_lease_ids_reserved(struct vt_coord *c)
{
    void *v;
    size_t n;
    uint64_t hwm = 0;
    if (vt_meta_get(c->store, HWM_KEY, &v, &n) == 1) {
        if (n == sizeof hwm)
            memcpy(&hwm, v, n);
        free(v);
    }
    return hwm;
}

int vt_lease_ids_reserve(struct vt_coord *c)
{
    uint64_t hwm = c->next_lease_id + VT_LEASE_ID_BLOCK;
    if (vt_meta_put(c->store, HWM_KEY, &hwm, sizeof hwm, true) != 0) {
        vt_log("cannot reserve lease ids in the store: %s (no lease is granted)",
               vt_store_errmsg(c->store));
        return -1;
    }
    c->lease_ids_hwm = hwm;
    return 0;
}

void vt_coord_release(struct vt_coord *c)
{
    /* Top to bottom: what refers to workers and campaigns goes first. */
    vt_leases_free(c);
    vt_campaigns_free(c);
    vt_registry_free(c);
    vt_ingest_free(c);
    vt_counts_free(c);
    vt_retention_free(c);
    vt_batch_free(c->state_batch);
    c->state_batch = NULL;
    vt_targets_free(&c->base_blocklist);
    vt_targets_free(&c->optout);
    vt_store_close(c->store);
    c->store = NULL;
    vt_rules_free(c->rules);
    vt_rules_free(c->relabel_rules);
    free(c->relabel_key);
    free(c->rules_lines);
    c->rules_lines = NULL;
    c->rules = c->relabel_rules = NULL;
    c->relabel_key = NULL;
}
