/* enrich.h: the banner stage between a scan and its sink (--banners).
 *
 * The scan's output thread hands every result to the stage (vt_enrich_write,
 * a vt_result_sink); closed ports pass straight on, open ones are grabbed
 * (banner.h) and identified with the rules (fingerprint.h), and the enriched
 * result then goes to the real sink. Everything the real sink and progress
 * callback see comes from the stage's one thread.
 *
 * Checkpoints stay safe: a scan reports "every result of steps <= done has
 * been handed to the sink" — here that only means handed to the stage, so
 * the stage holds each report back until every result it had received by
 * then has been through its grab and written downstream.
 *
 * Politeness: grabs are paced at the scan's rate divided by
 * VT_GRAB_PACKETS (a grab is a TCP connection: about that many packets), and
 * each one started adds VT_GRAB_PACKETS to *debt, which the scan's send loop
 * pays from its probe budget: probes plus grabs stay within --rate.
 *
 * Bounded: results wait in a ring of VT_ENRICH_QUEUE; when it is full the
 * scan's output thread waits (its own queue then absorbs, and counts what it
 * cannot). */
#ifndef VANTAGE_ENRICH_H
#define VANTAGE_ENRICH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "banner.h"
#include "fingerprint.h"
#include "scan.h"

#define VT_GRAB_PACKETS 8
#define VT_ENRICH_QUEUE 65536

struct vt_enrich_config {
    struct vt_grabber_config grab; /* done and arg are the stage's own */
    const struct vt_rules *rules;  /* NULL: banners without identification */
    uint64_t rate;                 /* the scan's probes per second; 0 = unlimited */
    _Atomic uint64_t *rate_live;   /* if non-NULL and non-zero, replaces rate (a lease's) */
    _Atomic uint64_t *debt;        /* packets the grabs cost (scan config's debt); may be NULL */
    /* Opt-outs that arrive while the scan runs (a lease's vt_scan_control
     * blocklist): an open port of an address in it is neither grabbed nor
     * passed on. NULL: none. */
    _Atomic(const struct vt_targets *) *blocklist;
    struct vt_result_sink sink; /* where results go on */
    /* The scan's progress callback, forwarded once safe; NULL if none. */
    void (*progress)(void *arg, uint64_t done, bool finished, uint64_t dropped);
    void *progress_arg;
};

struct vt_enrich_stats {
    uint64_t grabs;      /* grabs attempted (open ports) */
    uint64_t banners;    /* of which read something */
    uint64_t identified; /* of which a rule named */
    uint64_t capped;     /* not attempted: the host had too many open ports */
};

struct vt_enrich;

/* Starts the stage's thread. NULL with a one-line reason in err. */
struct vt_enrich *vt_enrich_start(const struct vt_enrich_config *cfg, char *err, size_t errlen);

/* The scan's sink and progress callback (arg: the stage). */
int vt_enrich_write(void *arg, const struct vt_result *r);
int vt_enrich_flush(void *arg);
void vt_enrich_progress(void *arg, uint64_t done, bool finished, uint64_t dropped);

/* Results handed to the stage and not yet passed on (queued or being
 * grabbed): for a status line while the last grabs run. Any thread. */
uint64_t vt_enrich_pending(struct vt_enrich *e);

/* After vt_scan_run: waits until every result is through and forwards the
 * reports held back (abandon: drops the grabs not yet done instead, and the
 * reports they hold back), then stops the thread and frees the stage.
 * Returns 0, or -1 with err if the sink failed. st may be NULL. */
int vt_enrich_finish(struct vt_enrich *e, bool abandon, struct vt_enrich_stats *st, char *err,
                     size_t errlen);

#endif
