/* metrics_http.h: the Prometheus /metrics endpoint both daemons serve with
 * --metrics IP:PORT (text exposition format 0.0.4), and the builder of that
 * text.
 *
 * Threads: libmicrohttpd answers on a thread of its own, while everything a
 * daemon knows belongs to its one loop. So the loop renders the whole text
 * (about once a second) and publishes it here; the HTTP thread only copies
 * the last text published, under a mutex, and never reads daemon state. A
 * scrape therefore sees figures at most a second old. */
#ifndef VANTAGE_METRICS_HTTP_H
#define VANTAGE_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

/* ---- the text ---- */

/* The text is a struct vt_buf (text.h): vt_buf_reset before each
 * rendering; an out-of-memory write (oom) publishes nothing of it. */

/* Starts a family: its # HELP and # TYPE lines. type: "counter", "gauge",
 * "summary", "histogram". Names follow Prometheus' conventions (vantage_
 * prefix; counters end in _total; units in the name: _seconds, _bytes). */
void vt_metrics_family(struct vt_buf *t, const char *name, const char *type, const char *help);
/* One sample: name{k1="v1",...} value. labels: NULL, or key, value, ...,
 * NULL; label values are escaped (\\, \", \n) as the format asks. */
void vt_metrics_sample(struct vt_buf *t, const char *name, const char *const *labels, double value);
/* A family of one unlabelled sample. */
void vt_metrics_one(struct vt_buf *t, const char *name, const char *type, const char *help,
                    double value);

/* A histogram of durations in seconds, with fixed buckets from 0.5 ms to
 * 5 s (and +Inf). Observed and rendered by the loop that owns it. */
#define VT_HISTOGRAM_BUCKETS 13
struct vt_histogram {
    uint64_t in[VT_HISTOGRAM_BUCKETS]; /* observations in (bucket i-1, bucket i] */
    uint64_t count;
    double sum;
};
void vt_histogram_observe(struct vt_histogram *h, double seconds);
/* The whole family: HELP, TYPE histogram, _bucket{le=...}, _sum, _count. */
void vt_metrics_histogram(struct vt_buf *t, const char *name, const char *help,
                          const struct vt_histogram *h);

/* ---- the server ---- */

struct vt_metrics_http;

/* Checks addr ("IP:PORT", IPv6 as "[IP]:PORT"), binds it and starts serving
 * GET /metrics. NULL with a one-line reason in err and *status 2 (a bad
 * value) or 1 (the port in use, no such address, ...). */
struct vt_metrics_http *vt_metrics_http_start(const char *addr, int *status, char *err,
                                              size_t errlen);
/* Only checks addr as start does (a daemon checks its flags before it
 * makes anything). 0, or -1 with the reason in err (bad usage). */
int vt_metrics_http_check(const char *addr, char *err, size_t errlen);
/* Replaces what /metrics answers with t's text (t is unchanged). */
void vt_metrics_http_publish(struct vt_metrics_http *h, const struct vt_buf *t);
/* Stops the HTTP thread and frees h; NULL is fine. */
void vt_metrics_http_stop(struct vt_metrics_http **h);

#endif
