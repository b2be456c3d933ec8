/* output.h: output formats for scan results, as modules (ZMap's output_modules).
 *
 * A format is a struct of function pointers registered in output_modules.c; the
 * scan engine's output thread calls record() once per result, never from the
 * receive path. Adding a format is one file and one table row. */
#ifndef VANTAGE_OUTPUT_H
#define VANTAGE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h" /* vt_rfc3339_ms */

#include "probe.h"

/* One answer of one (address, port), as the user sees it. */
struct vt_result {
    uint32_t addr; /* host order */
    uint16_t port;
    enum vt_state state;
    uint8_t ttl;
    uint64_t ts_ms; /* Unix time of the answer, milliseconds */
};

struct vt_output_module {
    const char *name;
    /* Written once before the first record; NULL if the format has none. */
    int (*header)(FILE *f);
    /* One record. Returns 0, or -1 if the write failed (errno set). */
    int (*record)(FILE *f, const struct vt_result *r);
};

const struct vt_output_module *vt_output_find(const char *name);
/* "jsonl|csv", for --help and error messages. */
const char *vt_output_names(void);

const char *vt_state_name(enum vt_state s);

#endif
