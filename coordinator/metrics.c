/* metrics.c: what `vantage serve --metrics IP:PORT` exposes, and the status
 * line systemd shows (docs/operator-guide.md, "Monitoring").
 *
 * The loop (serve.c) calls vt_metrics_render about once a second and hands
 * the text to proto/metrics_http.c, whose thread serves it: this file runs
 * on the loop's thread, so it may read every part's state, and it changes
 * none. Counters are what this process counted since its start (Prometheus'
 * rate() copes with the reset of a restart); gauges are the state now. */
#include "coord.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "version.h"

static bool shard_done(const struct vt_campaign *k, unsigned s)
{
    for (unsigned v = 0; v < k->vantages; v++)
        if (!k->shard[s].slot[v].finished)
            return false;
    return true;
}

static void render_workers(struct vt_coord *c, struct vt_buf *t, int64_t now)
{
    size_t enrolled = 0, online = 0;
    uint64_t quarantined = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        const struct vt_worker *w = c->workers[i];
        quarantined += w->quarantined;
        if (w->revoked)
            continue;
        enrolled++;
        online += vt_worker_online(w, now);
    }
    vt_metrics_one(t, "vantage_workers_enrolled", "gauge",
                   "Workers enrolled (vantage worker add) and not revoked.", (double)enrolled);
    vt_metrics_one(t, "vantage_workers_online", "gauge",
                   "Enrolled workers heard from within the last 5 s.", (double)online);
    vt_metrics_family(t, "vantage_worker_online", "gauge",
                      "1 if this enrolled worker was heard from within the last 5 s, else 0.");
    for (size_t i = 0; i < c->nworkers; i++) {
        const struct vt_worker *w = c->workers[i];
        if (!w->revoked)
            vt_metrics_sample(t, "vantage_worker_online",
                              (const char *const[]){"worker", w->name, "site", w->site, NULL},
                              vt_worker_online(w, now));
    }
    vt_metrics_one(t, "vantage_leases_active", "gauge",
                   "Leases running now (scanning, or scanned with results on their way).",
                   (double)c->nactive);
    vt_metrics_one(t, "vantage_batches_quarantined_total", "counter",
                   "Result batches refused for what they held and kept aside in meta "
                   "quarantine/ (see the log).",
                   (double)quarantined);
}

static void render_campaigns(struct vt_coord *c, struct vt_buf *t)
{
    vt_metrics_family(t, "vantage_campaign_info", "gauge",
                      "Always 1 for every campaign; the state label is its state now "
                      "(running, waiting, paused, complete, cancelled).");
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        vt_metrics_sample(
            t, "vantage_campaign_info",
            (const char *const[]){"campaign", k->name, "state", vt_campaign_state_name(k, c), NULL},
            1);
    }
    vt_metrics_family(t, "vantage_campaign_shards", "gauge",
                      "Shards of the campaign's current run.");
    for (size_t i = 0; i < c->ncampaigns; i++)
        vt_metrics_sample(t, "vantage_campaign_shards",
                          (const char *const[]){"campaign", c->campaigns[i]->name, NULL},
                          c->campaigns[i]->nshards);
    vt_metrics_family(t, "vantage_campaign_shards_done", "gauge",
                      "Shards of the current run whose every vantage is finished and stored.");
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        unsigned done = 0;
        for (unsigned s = 0; s < k->nshards; s++)
            done += shard_done(k, s);
        vt_metrics_sample(t, "vantage_campaign_shards_done",
                          (const char *const[]){"campaign", k->name, NULL}, done);
    }
    vt_metrics_family(t, "vantage_campaign_leases_active", "gauge",
                      "Leases of the campaign running now.");
    for (size_t i = 0; i < c->ncampaigns; i++)
        vt_metrics_sample(t, "vantage_campaign_leases_active",
                          (const char *const[]){"campaign", c->campaigns[i]->name, NULL},
                          c->campaigns[i]->active_leases);
    vt_metrics_family(t, "vantage_campaign_found", "gauge",
                      "(address, port) pairs the campaign found and stored, by state (counted "
                      "once whatever the number of vantages).");
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        vt_metrics_sample(t, "vantage_campaign_found",
                          (const char *const[]){"campaign", k->name, "state", "open", NULL},
                          (double)k->found_open);
        vt_metrics_sample(t, "vantage_campaign_found",
                          (const char *const[]){"campaign", k->name, "state", "closed", NULL},
                          (double)k->found_closed);
    }
}

static void render_ingest(struct vt_coord *c, struct vt_buf *t)
{
    vt_metrics_one(t, "vantage_results_ingested_total", "counter",
                   "Results (open and closed) stored durably, from every vantage.",
                   (double)c->ingest.results);
    vt_metrics_one(t, "vantage_batches_ingested_total", "counter",
                   "Result batches stored durably and acknowledged.", (double)c->ingest.batches);
    vt_metrics_one(t, "vantage_batches_refused_total", "counter",
                   "Result batches refused unread: beyond the worker's credit, or before its "
                   "Hello.",
                   (double)c->batches_refused);
    vt_metrics_one(t, "vantage_optout_dropped_results_total", "counter",
                   "Results dropped at ingest because they lie in opted-out space.",
                   (double)c->optout_dropped);
    vt_metrics_one(t, "vantage_bad_messages_total", "counter",
                   "Messages from workers refused as malformed or not allowed.",
                   (double)c->bad_messages);
    vt_metrics_histogram(t, "vantage_ingest_latency_seconds",
                         "From a result batch written to the store to its Ack, after the group "
                         "commit's WAL sync.",
                         &c->ingest.latency);
    vt_metrics_histogram(t, "vantage_store_sync_seconds", "One WAL sync (fsync) of a group commit.",
                         &c->ingest.sync);
    vt_metrics_one(t, "vantage_store_sync_failures_total", "counter",
                   "Group commits whose WAL sync failed (nothing of them was acknowledged).",
                   (double)c->ingest.sync_failures);
}

static void render_store(struct vt_coord *c, struct vt_buf *t)
{
    struct vt_store_cf_stats cf[8];
    size_t n = c->store ? vt_store_cf_stats(c->store, cf, 8) : 0;
    static const struct {
        const char *name, *help;
        size_t off;
    } fams[] = {
        {"vantage_store_sst_bytes", "Bytes of the column family's SST files on disk.",
         offsetof(struct vt_store_cf_stats, sst_bytes)},
        {"vantage_store_live_data_bytes",
         "RocksDB's estimate of the live data of the column family, in bytes.",
         offsetof(struct vt_store_cf_stats, live_bytes)},
        {"vantage_store_memtable_bytes", "Bytes of the column family's memtables.",
         offsetof(struct vt_store_cf_stats, memtable_bytes)},
        {"vantage_store_keys", "RocksDB's estimate of the keys in the column family.",
         offsetof(struct vt_store_cf_stats, keys)},
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        vt_metrics_family(t, fams[f].name, "gauge", fams[f].help);
        for (size_t i = 0; i < n; i++)
            vt_metrics_sample(t, fams[f].name, (const char *const[]){"cf", cf[i].name, NULL},
                              (double)*(const uint64_t *)((const char *)&cf[i] + fams[f].off));
    }
    uint64_t banners = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cf[i].name, "banner"))
            banners = cf[i].keys;
    vt_metrics_one(t, "vantage_banners_stored", "gauge",
                   "Distinct banners in the store (RocksDB's estimate of the banner column "
                   "family's keys).",
                   (double)banners);
}

void vt_metrics_render(struct vt_coord *c, struct vt_buf *t)
{
    int64_t now = vt_mono_ms();
    vt_buf_reset(t);
    vt_metrics_family(t, "vantage_build_info", "gauge",
                      "Always 1; the label says which vantage serve runs.");
    vt_metrics_sample(t, "vantage_build_info",
                      (const char *const[]){"version", VANTAGE_VERSION, NULL}, 1);
    render_workers(c, t, now);
    render_campaigns(c, t);
    render_ingest(c, t);
    render_store(c, t);
    vt_metrics_one(t, "vantage_blocklist_ranges", "gauge",
                   "Ranges of the blocklist (built-in or --blocklist FILE, as last loaded).",
                   (double)c->base_blocklist.n);
    vt_metrics_one(t, "vantage_optout_ranges", "gauge",
                   "Ranges of the opt-out list (vantage blocklist add).", (double)c->optout.n);
    vt_metrics_one(t, "vantage_reloads_total", "counter", "SIGHUP reloads.", (double)c->reloads);
    vt_metrics_one(t, "vantage_reload_failures_total", "counter",
                   "SIGHUP reloads of which a file did not load (the old one stayed).",
                   (double)c->reload_failures);
}

void vt_metrics_status(struct vt_coord *c, char *buf, size_t len)
{
    int64_t now = vt_mono_ms();
    size_t online = 0, running = 0;
    for (size_t i = 0; i < c->nworkers; i++)
        online += vt_worker_online(c->workers[i], now);
    for (size_t i = 0; i < c->ncampaigns; i++)
        running += c->campaigns[i]->state == VT_CAMPAIGN_RUNNING;
    snprintf(buf, len, "%zu worker%s online, %zu lease%s, %zu campaign%s running", online,
             online == 1 ? "" : "s", c->nactive, c->nactive == 1 ? "" : "s", running,
             running == 1 ? "" : "s");
}
