/* metrics.c: the worker's Prometheus metrics. See metrics.h.
 *
 * Figures come from three owners, each read its own safe way: the uplink's
 * state through vt_uplink_stats (we run on its thread), the lease runner's
 * totals (atomics its lease thread adds to: probes and answers are counted
 * when a lease ends, results as they are spooled), and the spool (which
 * locks itself). */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "version.h"

/* Age of the oldest batch waiting in the spool, from its file's time. */
static double oldest_age(struct vt_spool *spool, const char *dir)
{
    uint64_t seq;
    if (!vt_spool_next_after(spool, 0, &seq))
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%" PRIu64 ".batch", dir, seq);
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now); /* file times are on the wall clock */
    double age =
        (double)(now.tv_sec - st.st_mtim.tv_sec) + (double)(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
    return age > 0 ? age : 0;
}

void vt_worker_metrics_render(const struct vt_worker_metrics_src *src, struct vt_buf *t)
{
    struct vt_uplink_stats us;
    vt_uplink_stats(src->up, &us);
    struct vt_lease_counts lc = {0};
    if (src->runner)
        vt_lease_runner_totals(src->runner, &lc);
    vt_buf_reset(t);

    vt_metrics_family(t, "vantage_worker_build_info", "gauge",
                      "Always 1; the label says which vantage-worker runs.");
    vt_metrics_sample(t, "vantage_worker_build_info",
                      (const char *const[]){"version", VANTAGE_VERSION, NULL}, 1);
    vt_metrics_one(t, "vantage_worker_connected", "gauge",
                   "1 while the coordinator has welcomed this worker, 0 while not connected.",
                   us.connected);
    vt_metrics_one(t, "vantage_worker_connects_total", "counter",
                   "Sessions the coordinator welcomed (a reconnection counts again).",
                   (double)us.connects);
    vt_metrics_family(t, "vantage_worker_lease_running", "gauge",
                      "1 while a lease runs, with its campaign; 0 when idle.");
    vt_metrics_sample(t, "vantage_worker_lease_running",
                      us.lease_id ? (const char *const[]){"campaign", us.campaign, NULL} : NULL,
                      us.lease_id ? 1 : 0);
    vt_metrics_one(t, "vantage_worker_probe_rate", "gauge",
                   "Probes per second the running lease sends at (after --max-rate); 0 when "
                   "idle.",
                   (double)us.rate);
    vt_metrics_one(t, "vantage_worker_max_probe_rate", "gauge",
                   "The local ceiling, --max-rate, in probes per second (0: none).",
                   (double)src->max_rate);
    vt_metrics_one(t, "vantage_worker_leases_started_total", "counter",
                   "Leases taken from the coordinator.", (double)us.leases_started);
    vt_metrics_one(t, "vantage_worker_leases_ended_total", "counter",
                   "Leases that ended (finished, stopped or failed).", (double)lc.leases);
    vt_metrics_one(t, "vantage_worker_leases_refused_total", "counter",
                   "Leases refused: outside the local policy, or their scan failed.",
                   (double)us.leases_refused);
    vt_metrics_one(t, "vantage_worker_probes_sent_total", "counter",
                   "Probes sent, counted when each lease ends.", (double)lc.sent);
    vt_metrics_one(t, "vantage_worker_answers_total", "counter",
                   "Valid answers received, counted when each lease ends.", (double)lc.answers);
    vt_metrics_family(t, "vantage_worker_answers_dropped_total", "counter",
                      "Answers lost, counted when each lease ends: by the capture (its ring "
                      "was full) or by the queue to the spool.");
    vt_metrics_sample(t, "vantage_worker_answers_dropped_total",
                      (const char *const[]){"where", "capture", NULL}, (double)lc.pcap_drops);
    vt_metrics_sample(t, "vantage_worker_answers_dropped_total",
                      (const char *const[]){"where", "queue", NULL}, (double)lc.queue_drops);
    vt_metrics_one(t, "vantage_worker_results_spooled_total", "counter",
                   "Results (open and closed ports) written to the spool.", (double)lc.spooled);
    vt_metrics_one(t, "vantage_worker_banner_grabs_total", "counter",
                   "Banner grabs tried on open ports, counted when each lease ends.",
                   (double)lc.grabs);
    vt_metrics_one(t, "vantage_worker_banners_total", "counter",
                   "Banner grabs that read something, counted when each lease ends.",
                   (double)lc.banners);
    vt_metrics_one(t, "vantage_worker_batches_sent_total", "counter",
                   "Result batches sent to the coordinator (re-sends included).",
                   (double)us.batches_sent);
    vt_metrics_one(t, "vantage_worker_batches_acked_total", "counter",
                   "Result batches the coordinator acknowledged (stored durably).",
                   (double)us.batches_acked);
    vt_metrics_one(t, "vantage_worker_spool_batches", "gauge",
                   "Result batches waiting in the spool for the coordinator's Ack.",
                   (double)vt_spool_count(src->spool));
    vt_metrics_one(t, "vantage_worker_spool_bytes", "gauge", "Bytes of the batches in the spool.",
                   (double)vt_spool_bytes(src->spool));
    vt_metrics_one(t, "vantage_worker_spool_oldest_batch_age_seconds", "gauge",
                   "Age of the oldest batch in the spool (0 when empty): grows while the "
                   "coordinator is away.",
                   oldest_age(src->spool, src->spool_dir));
    vt_metrics_one(t, "vantage_worker_spool_full", "gauge",
                   "1 while the spool is full (--spool-max): no lease is taken, a running one "
                   "waits.",
                   vt_spool_full(src->spool));
    vt_metrics_one(t, "vantage_worker_reloads_total", "counter",
                   "SIGHUP reloads of the config file.", (double)src->reloads);
    vt_metrics_one(t, "vantage_worker_reload_failures_total", "counter",
                   "SIGHUP reloads that failed (the config file did not read; nothing changed).",
                   (double)src->reload_failures);
}
