/*
 * probe.h — probe kinds as modules, in ZMap's shape. The scan loop knows nothing of
 * TCP: it asks a module for a frame template once per scan, then for each target
 * asks it to fill a copy of that template, and hands every captured candidate answer
 * to the module's classify(). One file per kind (probe_tcp_syn.c, ...) defines a
 * `const struct vt_probe_module`; probe_modules.c lists them in one table.
 *
 * To add a kind: write probe_<name>.c defining vt_probe_<name>, declare it below,
 * add it to the table in probe_modules.c, and give it a test.
 */
#ifndef VANTAGE_WORKER_PROBE_H
#define VANTAGE_WORKER_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "cookie.h"

/* What every frame of one scan shares. */
struct vt_frame_ctx {
    uint8_t src_mac[6], gw_mac[6];
    uint32_t saddr; /* our source address, host order */
    const struct vt_cookie *cookie;
};

enum vt_state { VT_STATE_OPEN = 1, VT_STATE_CLOSED = 2 };

/* A validated answer: who answered, on which port, how, and with what TTL. */
struct vt_answer {
    uint32_t addr; /* host order */
    uint16_t port;
    enum vt_state state;
    uint8_t ttl;
};

struct vt_probe_module {
    const char *name; /* "tcp_syn": what --probe-module / config names */

    size_t frame_len; /* bytes of every probe frame (no FCS) */

    /* libpcap filter that selects candidate answers by protocol only. The caller
     * must not use it bare: vt_probe_bpf_filter() adds "dst host <saddr>", which is
     * how the whole program builds its capture filter. classify() re-checks all of it,
     * so the filter is a fast path, never a correctness requirement. */
    const char *bpf_filter;

    /* Writes the whole template frame (frame_len bytes): headers from ctx with the
     * per-target fields zero and checksums valid for those zeros. Called once. */
    void (*make_template)(uint8_t *frame, const struct vt_frame_ctx *ctx);

    /* Writes the probe for (daddr, dport) into frame, which holds the template or any
     * probe previously filled from it (a reused ring slot need not be re-copied).
     * Cheap: no allocation, no system call, checksums updated incrementally. */
    void (*fill)(uint8_t *frame, const struct vt_frame_ctx *ctx, uint32_t daddr, uint16_t dport,
                 uint16_t ip_id);

    /* Validates a captured frame (caplen bytes, DLT_EN10MB). Returns 1 and fills out
     * if it is an answer to one of our probes, else 0. Safe on any input. */
    int (*classify)(const uint8_t *frame, size_t caplen, const struct vt_frame_ctx *ctx,
                    struct vt_answer *out);
};

/* The modules. */
extern const struct vt_probe_module vt_probe_tcp_syn;

/* The module named name, or NULL. */
const struct vt_probe_module *vt_probe_find(const char *name);

/* All modules, NULL-terminated (for --help and error messages). */
const struct vt_probe_module *const *vt_probe_list(void);

/* Writes the capture filter for module m answering to saddr (host order) into buf:
 * "(<m->bpf_filter>) and dst host A.B.C.D". Returns the length written, or -1 if buf
 * (bufsize bytes) is too small. */
int vt_probe_bpf_filter(const struct vt_probe_module *m, uint32_t saddr, char *buf, size_t bufsize);

#endif
