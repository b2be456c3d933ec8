/* report.h: the grouping behind `vantage report` (cmd_report.c): the
 * services of a `count` request with what "services" (docs/control.md) in,
 * each service under its groups out (origin AS or /N prefix), with a
 * summary per group.
 *
 * The daemon consolidates (services.c): a service is one (ip, port) over the
 * whole period, with its first first_seen, last last_seen, the union of the
 * vantages, the proto and labels of its latest banner; an address's first
 * service also carries the windows the address was a host in
 * ("498720:0-5,9": FIRST, then runs of offsets from it). Services come
 * sorted by (ip, port). Each is kept
 * as one compact record (labels are interned, since a firmware's labels
 * repeat over thousands of devices).
 *
 * Per group it also counts host-windows, the distinct (window, ip) pairs of
 * its services: per address, the windows given with its services. With the
 * count's result for the same filters, a group's devices estimate is its
 * host-windows divided by the global host-windows per device, and its
 * interval the global one's relative bounds applied to it; that assumes
 * churn and availability are alike in every group. Each figure is kept
 * between the most hosts the group had in one window and its host-windows.
 * With no estimate (nothing identified, or no count), the estimate is null,
 * the low bound the most hosts the group had in one window and the high
 * bound its distinct addresses, as the global count gives them.
 *
 * Life cycle: vt_report_new, vt_report_add_service for every service in the
 * order the daemon sends them, vt_report_set_count (optional),
 * vt_report_print, vt_report_free. */
#ifndef VANTAGE_REPORT_H
#define VANTAGE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "commands.h" /* enum vt_query_format */
#include "pfx2as.h"

enum vt_report_by {
    VT_REPORT_BY_ASN,    /* by the origin AS of the longest matching prefix */
    VT_REPORT_BY_PREFIX, /* by the /N holding the address */
};

struct vt_report;

/* A report by ASN (table: a built pfx2as table, borrowed, which must
 * outlive the report) or by /prefix_len (8..32; table NULL). NULL on ENOMEM. */
struct vt_report *vt_report_new(enum vt_report_by by, const struct vt_pfx2as *table,
                                unsigned prefix_len);
void vt_report_free(struct vt_report *r);

/* Takes one service row. Fields are read defensively: a row without a
 * dotted-quad "ip" or a "port" 1..65535 is skipped (returns 1, counted); a
 * missing time, list, label or window is taken as absent. The same service
 * twice is merged. 0, 1, or -1 on ENOMEM. */
int vt_report_add_service(struct vt_report *r, json_t *row);

/* The `count` request's result for the same filters (borrowed; the report
 * keeps a reference), or NULL when there is none. */
void vt_report_set_count(struct vt_report *r, json_t *count_result);

/* Counts so far: rows taken, rows skipped, rows that broke the (ip, port)
 * order (their address's host-windows may be counted twice), rows whose
 * host_windows did not parse (or named more than a year of 30 s windows:
 * what could be read of them counts), services. */
struct vt_report_stats {
    uint64_t rows, skipped, unordered, bad_windows, services;
};
struct vt_report_stats vt_report_stats(const struct vt_report *r);

/* Prints the report: jsonl (one object per service, then one summary
 * object per group), csv (the services with a header; a blank line; the
 * summaries with theirs) or a table (the summaries, for people). Groups by
 * ASN ascending (unrouted last) or by prefix; services by ip, then port.
 * 0, or -1 on a write error or ENOMEM. */
int vt_report_print(struct vt_report *r, FILE *out, enum vt_query_format fmt);

#endif
