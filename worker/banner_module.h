/* banner_module.h: application protocols of the banner grabber as modules.
 *
 * The engine (banner.c) owns sockets, timers and bounds; it knows no protocol.
 * A module owns one protocol's parsing: it says how sure it is that the first
 * bytes a server sent are its protocol (detect), what to send to a server that
 * stays silent (probe: only HTTP has one), what to make of every byte that
 * follows (on_data, which may answer, as telnet answers negotiation) and, at
 * the end, what the banner, its parts and the exposure are (finish).
 *
 * A module's parser touches no socket and no clock, so the unit tests and the
 * fuzz targets drive it with plain buffers: allocate state_size bytes, init(),
 * on_data() in any split, finish().
 *
 * Memory: each connection slot holds one state of the largest state_size
 * (vt_banner_state_max()); a module keeps everything it needs in its state, in
 * fixed-size arrays, and never allocates. What finish() writes into the
 * struct vt_grab points into the state and lives as long as it does.
 *
 * To add a protocol: write banner_<name>.c defining vt_banner_<name>, declare
 * it below and add it to the table in banner_modules.c (before "generic",
 * which claims whatever no other module does). */
#ifndef VANTAGE_WORKER_BANNER_MODULE_H
#define VANTAGE_WORKER_BANNER_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "banner.h"

/* detect()'s answers: the bytes are not this protocol, may become it with more
 * bytes, or are it. */
#define VT_DETECT_NO    0
#define VT_DETECT_MAYBE 50
#define VT_DETECT_YES   100

/* Bytes a module asks the engine to send (appended at buf[len], never past
 * cap: a module drops what does not fit rather than grow anything). */
struct vt_bm_out {
    uint8_t *buf;
    size_t len;
    size_t cap;
};

/* What a probe may name: the server as the engine connected to it. */
struct vt_bm_target {
    uint32_t addr; /* host order */
    uint16_t port;
    const char *user_agent;
};

enum vt_bm_verdict {
    VT_BM_MORE, /* keep reading */
    VT_BM_DONE, /* the module has what it wants: the grab ends as VT_GRAB_OK */
};

struct vt_banner_module {
    const char *name; /* the grab's proto: "telnet", "http", … */

    /* VT_DETECT_NO, _MAYBE or _YES for the first n bytes the server sent
     * (n > 0; the same bytes plus more on later calls). */
    int (*detect)(const uint8_t *buf, size_t n);

    /* Writes what to send to a server silent for first_wait_ms into buf (cap
     * bytes) and returns its length, 0 if it does not fit. NULL: no probe. */
    size_t (*probe)(const struct vt_bm_target *t, char *buf, size_t cap);

    size_t state_size;
    void (*init)(void *state);

    /* The next n bytes of the stream (any split: one byte or many). May append
     * answers to out. Once it returns VT_BM_DONE it is not called again. */
    enum vt_bm_verdict (*on_data)(void *state, const uint8_t *buf, size_t n, struct vt_bm_out *out);

    /* The peer closed the connection. True if what was read is a whole answer
     * (an HTTP body delimited by the close), so the grab is VT_GRAB_OK rather
     * than VT_GRAB_IDLE. NULL: never whole. */
    bool (*on_eof)(void *state);

    /* Fills g->banner, banner_len, parts, nparts and exposure from what was
     * read. Called once, whatever ended the grab; state stays valid until the
     * engine has handed g to done(). */
    void (*finish)(void *state, struct vt_grab *g);
};

/* The modules. */
extern const struct vt_banner_module vt_banner_telnet;
extern const struct vt_banner_module vt_banner_ssh;
extern const struct vt_banner_module vt_banner_http;
extern const struct vt_banner_module vt_banner_generic;

/* All modules, NULL-terminated, generic last. */
const struct vt_banner_module *const *vt_banner_modules(void);
/* The largest state_size of all modules. */
size_t vt_banner_state_max(void);

/* Bytes of the server's first words the engine keeps for detection. */
#define VT_DETECT_MAX 1024

/* The module that claims the first n bytes a server sent (n > 0), or NULL if
 * more bytes are needed to tell. With final (no more bytes will come, or
 * VT_DETECT_MAX are held) never NULL: generic claims what no module does. */
const struct vt_banner_module *vt_banner_detect(const uint8_t *buf, size_t n, bool final);

/* The module whose probe the engine sends to a silent server, or NULL. */
const struct vt_banner_module *vt_banner_prober(void);

/* Adds a part to g if there is room and len > 0. */
void vt_grab_add_part(struct vt_grab *g, const char *matches, const char *text, size_t len);

#endif
