/* output.h: output formats for scan results, as modules (ZMap's output_modules).
 *
 * A format is a struct of function pointers registered in output_modules.c; the
 * scan engine's output thread calls record() once per result, never from the
 * receive path. Adding a format is one file and one table row. */
#ifndef VANTAGE_OUTPUT_H
#define VANTAGE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h" /* vt_rfc3339_ms */

#include "banner.h"
#include "labels.h"
#include "probe.h"

/* What the service on an open port said and what it is (--banners). */
struct vt_service {
    const char *grab;   /* how the grab ended: vt_grab_status_name() */
    const char *proto;  /* "telnet", "http", "ssh", "unknown", or NULL: nothing read */
    const char *banner; /* display text, any bytes (writers escape them) */
    size_t banner_len;
    const struct vt_banner_part *parts; /* what the rules were given */
    size_t nparts;
    const struct vt_labels *labels; /* identification, exposure, truncated */
};

/* One answer of one (address, port), as the user sees it. */
struct vt_result {
    uint32_t addr; /* host order */
    uint16_t port;
    enum vt_state state;
    uint8_t ttl;
    uint64_t ts_ms; /* Unix time of the answer, milliseconds */
    /* With --banners, for an open port whose grab was tried; else NULL. Valid
     * during the sink call only. */
    const struct vt_service *svc;
};

struct vt_output_module {
    const char *name;
    /* Written once before the first record; NULL if the format has none.
     * services: the records will carry banners (--banners). */
    int (*header)(FILE *f, bool services);
    /* One record (services as given to header). Returns 0, or -1 if the
     * write failed (errno set). */
    int (*record)(FILE *f, const struct vt_result *r, bool services);
};

const struct vt_output_module *vt_output_find(const char *name);
/* "jsonl|csv", for --help and error messages. */
const char *vt_output_names(void);

const char *vt_state_name(enum vt_state s);

#endif
