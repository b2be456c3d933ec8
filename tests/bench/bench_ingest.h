/* bench_ingest.h: what the coordinator's ingest writes for one result, for
 * the benchmarks that write a store as `vantage serve` would (bench_ingest.c,
 * bench_store_gen.c) without a daemon, workers or leases.
 *
 * It mirrors the loop of vt_ingest_batch (coordinator/ingest.c) for one
 * accepted result, field for field: the obs merge operand (first = last
 * seen = the answer's time, its state and TTL, the worker's one site, the
 * lease's one campaign, the answers-sketch bit of (site, time)), the banner
 * record written once by content (the seen-ids cache of 65,536 slots, as
 * ingest keeps it) and named by the operand, `truncated` from the labels,
 * and one `device` put per identity label of an open result. Left out: the
 * checks that decide whether a batch is accepted, the opt-out lookup, the
 * retention sweep's note and the campaign's found counts (the callers put
 * seq and found themselves). When ingest.c changes what it writes, change
 * this with it; ingest.c exporting its per-result step would end the copy. */
#ifndef VANTAGE_BENCH_INGEST_H
#define VANTAGE_BENCH_INGEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "store.h"
#include "vantage.pb-c.h"

#define BENCH_BANNER_SEEN 65536 /* ingest.c's VT_BANNER_SEEN */

/* The obs merge operand of result r from the worker of site[0], for the
 * lease's campaign[0] (both arrays of one, borrowed by o). */
static inline void bench_operand(Vantage__Observation *o, const Vantage__Result *r, char **site,
                                 char **campaign)
{
    vantage__observation__init(o);
    o->first_seen_ms = o->last_seen_ms = r->ts_ms;
    o->open = r->open;
    o->has_ttl = r->has_ttl;
    o->ttl = r->ttl;
    o->sites = site;
    o->n_sites = 1;
    o->campaigns = campaign;
    o->n_campaigns = 1;
    o->has_answers = true;
    o->answers = vt_obs_answer_bit(site[0], r->ts_ms);
}

/* The banner ids written lately (ingest's banner_seen cache). */
struct bench_seen {
    uint8_t (*slot)[VT_BANNER_ID_LEN];
};

static inline bool bench_seen(struct bench_seen *c, const uint8_t id[VT_BANNER_ID_LEN], bool mark)
{
    if (!c->slot && !(c->slot = calloc(BENCH_BANNER_SEEN, sizeof *c->slot)))
        return false;
    uint32_t h;
    memcpy(&h, id, sizeof h);
    uint8_t *s = c->slot[h % BENCH_BANNER_SEEN];
    if (!memcmp(s, id, VT_BANNER_ID_LEN))
        return true;
    if (mark)
        memcpy(s, id, VT_BANNER_ID_LEN);
    return false;
}

/* Adds what ingest adds to its batch for result r in window: 0, or -1 out
 * of memory. id gets the banner id when the result has a banner (returns
 * whether in *has_banner). The seen mark is set at once (ingest marks after
 * the write: the same unless a write fails, which aborts a benchmark). */
static inline int bench_ingest_result(struct vt_batch *b, struct bench_seen *seen,
                                      const Vantage__Result *r, uint32_t window, char **site,
                                      char **campaign, uint8_t id[VT_BANNER_ID_LEN],
                                      bool *has_banner)
{
    Vantage__Observation o;
    bench_operand(&o, r, site, campaign);
    *has_banner = false;
    if (r->open && (r->has_banner || r->proto)) {
        vt_banner_id(r->proto, r->banner.data, r->banner.len, r->parts, r->n_parts, id);
        if (!bench_seen(seen, id, true)) {
            Vantage__Label *labels[VT_LABELS_MAX];
            size_t n = 0;
            for (size_t i = 0; i < r->n_labels && n < VT_LABELS_MAX; i++)
                if (strcmp(r->labels[i]->key, "truncated") != 0)
                    labels[n++] = r->labels[i];
            Vantage__BannerRecord br = VANTAGE__BANNER_RECORD__INIT;
            br.proto = r->proto;
            br.has_text = r->has_banner;
            br.text = r->banner;
            br.n_parts = r->n_parts;
            br.parts = r->parts;
            br.n_labels = n;
            br.labels = labels;
            br.has_first_seen_ms = true;
            br.first_seen_ms = r->ts_ms;
            if (vt_batch_banner_add(b, id, &br) != 0)
                return -1;
        }
        o.has_banner_id = true;
        o.banner_id.data = id;
        o.banner_id.len = VT_BANNER_ID_LEN;
        *has_banner = true;
    }
    for (size_t j = 0; j < r->n_labels; j++)
        if (!strcmp(r->labels[j]->key, "truncated"))
            o.has_truncated = o.truncated = true;
    int fail = vt_batch_obs_merge(b, window, r->ip, (uint16_t)r->port, &o);
    for (size_t j = 0; r->open && j < r->n_labels && !fail; j++) {
        if (!vt_label_is_identity(r->labels[j]->key) || !*r->labels[j]->value)
            continue;
        uint8_t dev[VT_DEVICE_ID_LEN];
        vt_device_id(r->labels[j]->key, r->labels[j]->value, dev);
        fail = vt_batch_device_put(b, dev, window, r->ip);
    }
    return fail ? -1 : 0;
}

#endif
