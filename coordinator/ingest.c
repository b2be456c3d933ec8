/* ingest.c: result batches into the store.
 *
 * A batch is checked whole before anything of it is written: the sender holds
 * (or held) the lease it names, and every result lies in that lease's cell
 * (so in the campaign's space) and in the sender's declared scope — one
 * partner cannot write records for another's networks — with a port of the
 * campaign and sane fields. A batch that passes becomes one RocksDB write
 * batch: one merge per result into obs (window, ip, port) carrying the
 * sender's site, the campaign's found counts and the worker's new sequence
 * number in meta — atomically, so a batch is stored wholly or not at all.
 *
 * The window of a result is that of its campaign run's start, not of the
 * answer's time: a run is one look at the space, so however long it takes
 * (K vantage slots one after the other, a slow rate) it yields one record
 * per target for the counts (docs/storage.md, "Windows").
 *
 * A result whose labels hold a device identity (vt_label_is_identity) also
 * puts identity · window · ip into `device`.
 *
 * A batch that fails a check, or names a lease this coordinator does not
 * know (its record was lost in a crash), is neither stored nor thrown away:
 * it is kept whole in meta quarantine/<worker>/<seq> with the reason, counted
 * (`vantage worker list`), and acknowledged like any other, so the worker's
 * spool moves on and nothing a partner sent is silently lost.
 *
 * Results for opted-out space are dropped here and counted: an opt-out added
 * while a worker was away must not reach the store through its spool.
 *
 * A result with a banner writes it once into `banner` under its content
 * hash (vt_banner_id), with the worker's parts and labels, in the same write
 * batch; the observation names it. A small cache of ids written lately keeps
 * a banner many devices share (a firmware's login prompt) from being written
 * again with every batch.
 *
 * Acks wait for durability: writes accumulate unsynced while the loop drains
 * its sockets, then vt_ingest_commit() makes them durable with one WAL sync
 * (group commit) and only then sends the Acks. If that sync fails, nothing it
 * covered is acknowledged, ever: every worker's acknowledged seq goes back to
 * the durable one, so the batches are written again when re-sent. */
#include "coord.h"
#include "labels.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define VT_INGEST_BANNER_MAX                                                                       \
    4096 /* bytes of banner or of one part (worker/banner.h caps lower)                            \
          */
#define VT_INGEST_PARTS_MAX 16
#define VT_BANNER_SEEN      65536 /* slots of the seen-banner cache: 1 MiB */

static void queue_ack(struct vt_coord *c, struct vt_worker *w, uint64_t seq)
{
    for (size_t i = 0; i < c->npending; i++)
        if (c->pending_acks[i].w == w) {
            if (seq > c->pending_acks[i].seq)
                c->pending_acks[i].seq = seq;
            return;
        }
    if (c->npending == c->cap_pending) {
        size_t cap = c->cap_pending ? 2 * c->cap_pending : 16;
        void *n = realloc(c->pending_acks, cap * sizeof *c->pending_acks);
        if (!n)
            return; /* the worker re-sends; redelivery is harmless */
        c->pending_acks = n;
        c->cap_pending = cap;
    }
    c->pending_acks[c->npending].w = w;
    c->pending_acks[c->npending].seq = seq;
    c->npending++;
}

/* A batch that could not be written must not be covered by the Ack of a later
 * one (an Ack means "this seq and every lower one"): the session ends, later
 * batches of this turn are refused unwritten ("say Hello first"), and the
 * worker says Hello again and re-sends from the last durable seq. What was
 * written before stays written (its Ack follows the sync), except when the
 * sync itself failed (`unsynced`): then it is written again when re-sent. */
static void lose_session(struct vt_coord *c, struct vt_worker *w, bool unsynced)
{
    w->hello = false;
    if (unsynced)
        w->acked_seq = w->durable_seq;
    w->inflight = 0;
    vt_send_error(c, w, VANTAGE__ERROR__CODE__NOT_ALLOWED,
                  "the coordinator could not store a batch: say Hello first and re-send");
}

/* Notes what a written batch added, so a failed sync can take it back. */
static void count_turn(struct vt_coord *c, struct vt_turn_count t)
{
    if (c->nturn == c->cap_turn) {
        size_t cap = c->cap_turn ? 2 * c->cap_turn : 64;
        void *n = realloc(c->turn, cap * sizeof *c->turn);
        if (!n)
            return; /* the counts may then run ahead after a failed sync; never the store */
        c->turn = n;
        c->cap_turn = cap;
    }
    t.at_us = vt_mono_us();
    c->turn[c->nturn++] = t;
}

/* Keeps a refused batch whole, with why, in meta quarantine/<worker>/<seq>,
 * in c->batch (the caller writes it with the seq). */
static int quarantine(struct vt_coord *c, struct vt_worker *w, const Vantage__ResultBatch *b,
                      const char *why)
{
    size_t len = vantage__result_batch__get_packed_size(b);
    size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    uint8_t *buf = malloc(len + 1);
    char *b64 = malloc(b64len);
    json_t *o = NULL;
    if (buf && b64) {
        vantage__result_batch__pack(b, buf);
        sodium_bin2base64(b64, b64len, buf, len, sodium_base64_VARIANT_ORIGINAL);
        o = json_pack("{s:s, s:I, s:I, s:I, s:s}", "reason", why, "lease_id",
                      (json_int_t)b->lease_id, "results", (json_int_t)b->n_results, "at_ms",
                      (json_int_t)vt_now_ms(), "batch", b64);
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    free(buf);
    free(b64);
    if (!text)
        return -1;
    char key[160];
    snprintf(key, sizeof key, "quarantine/%s/%016" PRIx64, w->name, b->seq);
    vt_batch_meta_put(c->batch, key, text, strlen(text));
    free(text);
    return 0;
}

/* Why result r may not be stored for lease l of worker w, or NULL. */
static const char *check(struct vt_coord *c, const struct vt_worker *w, const struct vt_lease *l,
                         const Vantage__Result *r, int64_t now)
{
    const struct vt_campaign *k = l->campaign;
    (void)c;
    if (r->port < 1 || r->port > 65535 || !vt_ports_contains(&k->ports, (uint16_t)r->port))
        return "a port outside the campaign";
    /* A lease of an earlier run: its shard numbers are not this run's. Its
     * results are real; the port and the sender's scope still hold them. */
    if (l->run == k->run && !vt_shard_holds(k, l->shard, r->ip))
        return "an address outside the lease's target space";
    if (!vt_targets_contains(&w->scope, r->ip))
        return "an address outside the worker's declared scope";
    if (r->has_ttl && r->ttl > 255)
        return "a TTL above 255";
    if (r->ts_ms < 1000000000000ull || r->ts_ms > (uint64_t)now + 86400000)
        return "a time stamp that is not now";
    /* What a grab may carry (worker/banner.h): more is not a banner. */
    if (!r->open && (r->has_banner || r->proto || r->n_labels || r->n_parts))
        return "a banner on a closed port";
    if (r->has_banner && r->banner.len > VT_INGEST_BANNER_MAX)
        return "a banner above 4 KiB";
    if (r->n_labels > VT_LABELS_MAX || r->n_parts > VT_INGEST_PARTS_MAX)
        return "too many labels or banner parts";
    if (r->proto && strlen(r->proto) > 32)
        return "a protocol name above 32 bytes";
    for (size_t i = 0; i < r->n_labels; i++)
        if (strlen(r->labels[i]->key) > VT_LABEL_MAX_KEY ||
            strlen(r->labels[i]->value) > VT_LABEL_MAX_VALUE)
            return "a label above its size";
    for (size_t i = 0; i < r->n_parts; i++)
        if (strlen(r->parts[i]->matches) > 64 || r->parts[i]->text.len > VT_INGEST_BANNER_MAX)
            return "a banner part above its size";
    return NULL;
}

/* ---- banners ---- */

static size_t seen_slot(const uint8_t id[VT_BANNER_ID_LEN])
{
    uint32_t h;
    memcpy(&h, id, sizeof h); /* the id is a hash already */
    return h % VT_BANNER_SEEN;
}

static bool banner_seen(struct vt_coord *c, const uint8_t id[VT_BANNER_ID_LEN])
{
    return c->banner_seen && !memcmp(c->banner_seen[seen_slot(id)], id, VT_BANNER_ID_LEN);
}

void vt_ingest_forget_banner(struct vt_coord *c, const uint8_t id[VT_BANNER_ID_LEN])
{
    if (banner_seen(c, id))
        memset(c->banner_seen[seen_slot(id)], 0, VT_BANNER_ID_LEN);
}

static void mark_banner_seen(struct vt_coord *c, const uint8_t id[VT_BANNER_ID_LEN])
{
    if (!c->banner_seen)
        c->banner_seen = calloc(VT_BANNER_SEEN, sizeof *c->banner_seen);
    if (c->banner_seen)
        memcpy(c->banner_seen[seen_slot(id)], id, VT_BANNER_ID_LEN);
}

/* The banner record of result r, as the worker identified it. Labels of the
 * host rather than the banner (truncated: the observation keeps it) stay out:
 * many hosts share one banner record. */
static int put_banner(struct vt_batch *b, const uint8_t id[VT_BANNER_ID_LEN],
                      const Vantage__Result *r)
{
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
    return vt_batch_banner_add(b, id, &br);
}

int vt_ingest_result(struct vt_batch *b, const Vantage__Result *r, uint32_t window, char *site,
                     char *campaign, bool (*known)(void *arg, const uint8_t *id), void *arg,
                     uint8_t id[VT_BANNER_ID_LEN], bool *has_banner)
{
    char *sites[1] = {site}, *campaigns[1] = {campaign};
    Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
    o.first_seen_ms = o.last_seen_ms = r->ts_ms;
    o.open = r->open;
    o.has_ttl = r->has_ttl;
    o.ttl = r->ttl;
    o.sites = sites;
    o.n_sites = 1;
    o.campaigns = campaigns;
    o.n_campaigns = 1;
    o.has_answers = true;
    o.answers = vt_obs_answer_bit(site, r->ts_ms);
    *has_banner = false;
    if (r->open && (r->has_banner || r->proto)) {
        /* The banner once, by content; the observation names it. */
        vt_banner_id(r->proto, r->banner.data, r->banner.len, r->parts, r->n_parts, id);
        if (!(known && known(arg, id)) && put_banner(b, id, r) != 0)
            return -1;
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

/* vt_ingest_result's question: is the banner in the store already? A sweep
 * of retention running must keep it either way. */
static bool banner_known(void *arg, const uint8_t *id)
{
    struct vt_coord *c = arg;
    vt_retention_note_banner(c, id);
    return banner_seen(c, id);
}

/* Writes c->batch with the worker's new seq; 0, or -1 (the session is lost). */
static int write_batch(struct vt_coord *c, struct vt_worker *w, uint64_t seq)
{
    char key[128], err[256];
    snprintf(key, sizeof key, "seq/%s", w->name);
    vt_batch_meta_put(c->batch, key, &seq, sizeof seq);
    if (vt_store_write(c->store, c->batch, false, err, sizeof err) != 0) {
        vt_log("cannot store batch %" PRIu64 " of %s: %s (not acknowledged)", seq, w->name, err);
        vt_batch_clear(c->batch);
        lose_session(c, w, false);
        return -1;
    }
    vt_batch_clear(c->batch);
    w->acked_seq = seq;
    w->inflight++;
    queue_ack(c, w, seq);
    return 0;
}

static void refuse(struct vt_coord *c, struct vt_worker *w, const Vantage__ResultBatch *b,
                   const char *why, const Vantage__Result *r)
{
    char ip[16] = "-";
    if (r)
        vt_ip_str(r->ip, ip);
    vt_complain(c, w, "batch %" PRIu64 " holds %s (%s:%u); quarantined whole", b->seq, why, ip,
                r ? r->port : 0);
    if (quarantine(c, w, b, why) != 0) {
        vt_batch_clear(c->batch);
        lose_session(c, w, false);
        return;
    }
    if (write_batch(c, w, b->seq) == 0) {
        w->quarantined++;
        count_turn(c, (struct vt_turn_count){.w = w, .quarantined = 1});
    }
}

void vt_ingest_batch(struct vt_coord *c, struct vt_worker *w, const Vantage__ResultBatch *b)
{
    if (b->seq == 0) { /* seqs start at 1: acking this would let the worker drop it */
        vt_complain(c, w, "result batch with seq 0 refused");
        vt_send_error(c, w, VANTAGE__ERROR__CODE__BAD_MESSAGE,
                      "batch 0: sequence numbers start at 1; nothing was stored");
        return;
    }
    if (b->seq <= w->acked_seq) {
        queue_ack(c, w, b->seq); /* stored before: say so again */
        return;
    }
    /* Credit: no more batches written per group commit than the worker was
     * granted, whatever it sends (an honest worker never has more unacked). */
    if (w->inflight >= (w->credits ? w->credits : VT_CREDITS)) {
        c->batches_refused++;
        vt_complain(c, w, "batch %" PRIu64 " beyond its credit of %u refused", b->seq,
                    w->credits ? w->credits : VT_CREDITS);
        lose_session(c, w, false);
        return;
    }
    struct vt_lease *l = vt_lease_by_id(c, b->lease_id);
    if (!l) { /* parked: its lease record may have been lost in a crash */
        refuse(c, w, b, "a lease this coordinator does not know", NULL);
        return;
    }
    if (l->worker != w) {
        refuse(c, w, b, "another worker's lease", NULL);
        return;
    }
    struct vt_campaign *k = l->campaign;
    int64_t now = vt_now_ms();
    for (size_t i = 0; i < b->n_results; i++) {
        const char *why = check(c, w, l, b->results[i], now);
        if (why) {
            refuse(c, w, b, why, b->results[i]);
            return;
        }
    }
    /* The run's window (see the top): results of an older run, late from a
     * lease that outlived it, go by their own time. */
    bool by_run = l->run == k->run && k->run_started_ms > 0;
    uint32_t run_window = (uint32_t)((uint64_t)k->run_started_ms / 1000 / c->window_s);
    uint64_t add_open = 0, add_closed = 0, dropped = 0;
    uint8_t(*ids)[VT_BANNER_ID_LEN] = NULL;
    size_t nids = 0;
    if (b->n_results && !(ids = malloc(b->n_results * sizeof *ids))) {
        lose_session(c, w, false);
        return;
    }
    for (size_t i = 0; i < b->n_results; i++) {
        const Vantage__Result *r = b->results[i];
        if (vt_targets_contains(&c->optout, r->ip)) {
            dropped++;
            continue;
        }
        uint32_t window = by_run ? run_window : (uint32_t)(r->ts_ms / 1000 / c->window_s);
        bool has_banner;
        if (vt_ingest_result(c->batch, r, window, w->site, k->name, banner_known, c, ids[nids],
                             &has_banner) != 0) {
            vt_batch_clear(c->batch); /* none of it: not acked, the worker re-sends */
            lose_session(c, w, false);
            free(ids);
            return;
        }
        nids += has_banner;
        /* Counted from one slot per shard only, so that a pair seen from K
         * vantages is found once. */
        if (l->slot == 0)
            *(r->open ? &add_open : &add_closed) += 1;
    }
    /* The campaign's counts move with its results: same batch, same fate. */
    char key[128];
    uint64_t found[2] = {k->found_open + add_open, k->found_closed + add_closed};
    snprintf(key, sizeof key, "found/%s", k->name);
    vt_batch_meta_put(c->batch, key, found, sizeof found);
    if (write_batch(c, w, b->seq) != 0) {
        free(ids);
        return;
    }
    for (size_t i = 0; i < nids; i++)
        mark_banner_seen(c, ids[i]);
    free(ids);
    k->found_open += add_open;
    k->found_closed += add_closed;
    count_turn(c, (struct vt_turn_count){k, w, add_open, add_closed, 0, dropped,
                                         b->n_results - dropped, 0});
    if (dropped) {
        w->dropped_optout += dropped;
        c->optout_dropped += dropped;
        vt_complain(c, w,
                    "%" PRIu64 " results of batch %" PRIu64 " lie in opted-out space: dropped",
                    dropped, b->seq);
    }
}

void vt_ingest_commit(struct vt_coord *c)
{
    if (!c->npending) {
        c->nturn = 0;
        return;
    }
    int64_t t0 = vt_mono_us();
    bool failed = c->fail_next_sync || vt_store_sync(c->store) != 0;
    c->fail_next_sync = false;
    int64_t t1 = vt_mono_us();
    vt_histogram_observe(&c->ingest.sync, (double)(t1 - t0) / 1e6);
    if (failed) {
        c->ingest.sync_failures++;
        /* What this sync covered may not be on disk (after a failed fsync
         * the kernel may have dropped the pages): never acknowledge it. */
        vt_log("cannot sync the store's log: %zu acks held back; their workers re-send",
               c->npending);
        if (c->banner_seen) /* what it holds may not be on disk: write banners again */
            memset(c->banner_seen, 0, VT_BANNER_SEEN * sizeof *c->banner_seen);
        for (size_t i = 0; i < c->npending; i++)
            lose_session(c, c->pending_acks[i].w, true);
        c->npending = 0;
        for (size_t i = 0; i < c->nturn; i++) { /* they are counted when re-sent */
            struct vt_turn_count *t = &c->turn[i];
            if (t->k) {
                t->k->found_open -= t->open;
                t->k->found_closed -= t->closed;
            }
            t->w->quarantined -= t->quarantined;
            t->w->dropped_optout -= t->dropped;
            c->optout_dropped -= t->dropped;
        }
        c->nturn = 0;
        return;
    }
    for (size_t i = 0; i < c->npending; i++) {
        struct vt_worker *w = c->pending_acks[i].w;
        if (c->pending_acks[i].seq > w->durable_seq)
            w->durable_seq = c->pending_acks[i].seq;
        if (w->acked_seq < w->durable_seq) /* the session was lost after the write */
            w->acked_seq = w->durable_seq;
        w->inflight = 0;
        Vantage__Ack m = VANTAGE__ACK__INIT;
        m.seq = c->pending_acks[i].seq;
        vt_send_body(c, c->pending_acks[i].w, VANTAGE__ENVELOPE__BODY_ACK, &m);
    }
    c->npending = 0;
    int64_t now = vt_mono_us();
    for (size_t i = 0; i < c->nturn; i++) { /* durable now: they count */
        const struct vt_turn_count *t = &c->turn[i];
        if (!t->k)
            continue; /* quarantined, not ingested */
        c->ingest.batches++;
        c->ingest.results += t->results;
        vt_histogram_observe(&c->ingest.latency, (double)(now - t->at_us) / 1e6);
    }
    c->nturn = 0;
    vt_leases_on_durable(c); /* checkpoints these batches covered now count */
}

void vt_ingest_free(struct vt_coord *c)
{
    free(c->turn);
    c->turn = NULL;
    c->nturn = c->cap_turn = 0;
    free(c->pending_acks);
    c->pending_acks = NULL;
    c->npending = c->cap_pending = 0;
    vt_batch_free(c->batch);
    c->batch = NULL;
    free(c->banner_seen);
    c->banner_seen = NULL;
}
