/* ingest.c: result batches into the store.
 *
 * A batch is checked whole before anything of it is written: the sender holds
 * (or held) the lease it names, every result's address lies in the lease's
 * campaign target space and its port among the campaign's ports, and its
 * fields are sane. It then becomes one RocksDB write batch: one merge per
 * result into obs (window, ip, port) carrying the sender's site, and the
 * worker's new sequence number in meta — atomically, so a batch is stored
 * wholly or not at all. A batch whose seq is not above the stored one was
 * stored before: it is acknowledged again and changes nothing.
 *
 * Acks wait for durability: writes accumulate unsynced while the loop drains
 * its sockets, then vt_ingest_commit() makes them durable with one WAL sync
 * (group commit) and only then sends the Acks. */
#include "coord.h"

#include <inttypes.h>
#include <string.h>

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
 * worker says Hello again and re-sends from the last durable seq. */
static void lose_session(struct vt_coord *c, struct vt_worker *w)
{
    w->hello = false;
    vt_send_error(c, w, VANTAGE__ERROR__CODE__NOT_ALLOWED,
                  "the coordinator could not store a batch: say Hello first and re-send");
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
    struct vt_lease *l = vt_lease_by_id(c, b->lease_id);
    if (!l || l->worker != w) {
        vt_complain(c, w, "results for lease %" PRIu64 ", which is not theirs", b->lease_id);
        vt_send_batch_error(c, w, VANTAGE__ERROR__CODE__UNKNOWN, b->seq,
                            "batch %" PRIu64 ": lease %" PRIu64 " is not yours", b->seq,
                            b->lease_id);
        return;
    }
    struct vt_campaign *k = l->campaign;
    int64_t now = vt_now_ms();
    for (size_t i = 0; i < b->n_results; i++) {
        const Vantage__Result *r = b->results[i];
        const char *why = NULL;
        if (r->port < 1 || r->port > 65535 || !vt_ports_contains(&k->ports, (uint16_t)r->port))
            why = "a port outside the campaign";
        else if (!vt_targets_contains(&k->targets, r->ip))
            why = "an address outside the campaign's target space";
        else if (r->has_ttl && r->ttl > 255)
            why = "a TTL above 255";
        else if (r->ts_ms < 1000000000000ull || r->ts_ms > (uint64_t)now + 86400000)
            why = "a time stamp that is not now";
        if (why) {
            char ip[16];
            vt_complain(c, w, "batch %" PRIu64 " holds %s (%s:%u); rejected whole", b->seq, why,
                        vt_ip_str(r->ip, ip), r->port);
            vt_send_batch_error(c, w, VANTAGE__ERROR__CODE__BAD_MESSAGE, b->seq,
                                "batch %" PRIu64 " holds %s; nothing of it was stored", b->seq,
                                why);
            return;
        }
    }
    char *sites[1] = {w->site};
    uint64_t add_open = 0, add_closed = 0;
    for (size_t i = 0; i < b->n_results; i++) {
        const Vantage__Result *r = b->results[i];
        Vantage__Observation o = VANTAGE__OBSERVATION__INIT;
        o.first_seen_ms = o.last_seen_ms = r->ts_ms;
        o.open = r->open;
        o.has_ttl = r->has_ttl;
        o.ttl = r->ttl;
        o.sites = sites;
        o.n_sites = 1;
        o.campaign = k->name;
        uint32_t window = (uint32_t)(r->ts_ms / 1000 / c->window_s);
        if (vt_batch_obs_merge(c->batch, window, r->ip, (uint16_t)r->port, &o) != 0) {
            vt_batch_clear(c->batch); /* none of it: not acked, the worker re-sends */
            lose_session(c, w);
            return;
        }
        /* Counted from one slot per shard only, so that a pair seen from K
         * vantages is found once. */
        if (l->slot == 0)
            *(r->open ? &add_open : &add_closed) += 1;
    }
    char key[128];
    snprintf(key, sizeof key, "seq/%s", w->name);
    vt_batch_meta_put(c->batch, key, &b->seq, sizeof b->seq);
    /* The campaign's counts move with its results: same batch, same fate. */
    uint64_t found[2] = {k->found_open + add_open, k->found_closed + add_closed};
    snprintf(key, sizeof key, "found/%s", k->name);
    vt_batch_meta_put(c->batch, key, found, sizeof found);
    char err[256];
    if (vt_store_write(c->store, c->batch, false, err, sizeof err) != 0) {
        vt_log("cannot store batch %" PRIu64 " of %s: %s (not acknowledged)", b->seq, w->name, err);
        vt_batch_clear(c->batch);
        lose_session(c, w);
        return;
    }
    vt_batch_clear(c->batch);
    k->found_open += add_open;
    k->found_closed += add_closed;
    w->acked_seq = b->seq;
    queue_ack(c, w, b->seq);
}

void vt_ingest_commit(struct vt_coord *c)
{
    if (!c->npending)
        return;
    if (vt_store_sync(c->store) != 0) {
        vt_log("cannot sync the store's log: %zu acks held back; their workers must re-send",
               c->npending);
        for (size_t i = 0; i < c->npending; i++)
            lose_session(c, c->pending_acks[i].w);
        c->npending = 0;
        return;
    }
    for (size_t i = 0; i < c->npending; i++) {
        struct vt_worker *w = c->pending_acks[i].w;
        if (c->pending_acks[i].seq > w->durable_seq)
            w->durable_seq = c->pending_acks[i].seq;
        Vantage__Ack m = VANTAGE__ACK__INIT;
        m.seq = c->pending_acks[i].seq;
        Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
        env.version = VT_PROTOCOL_VERSION;
        env.body_case = VANTAGE__ENVELOPE__BODY_ACK;
        env.ack = &m;
        vt_send_to(c, c->pending_acks[i].w, &env);
    }
    c->npending = 0;
}

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
