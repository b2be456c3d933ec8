/* metrics.h: what `vantage-worker run --metrics IP:PORT` exposes
 * (docs/partner-guide.md, "Monitoring"). The uplink's thread renders the
 * text about once a second (cmd_run.c, from its on_turn) and publishes it to
 * proto/metrics_http.c, whose own thread serves it. */
#ifndef VANTAGE_WORKER_METRICS_H
#define VANTAGE_WORKER_METRICS_H

#include <stdint.h>

#include "lease.h"
#include "metrics_http.h"
#include "spool.h"
#include "uplink.h"

/* What the text is made of; read on the uplink's thread. */
struct vt_worker_metrics_src {
    struct vt_uplink *up;
    struct vt_lease_runner *runner;
    struct vt_spool *spool;
    const char *spool_dir;
    uint64_t max_rate; /* 0: no ceiling */
    uint64_t reloads, reload_failures;
};

/* Renders the whole exposition into t (reset first). */
void vt_worker_metrics_render(const struct vt_worker_metrics_src *src, struct vt_buf *t);

#endif
