/* banner.h: application-layer banner grabbing through the kernel's TCP stack.
 *
 * The grabber takes (address, port) pairs the scan found open and, for each,
 * makes one non-blocking connection on an epoll loop: connect, wait for the
 * server to speak first (server-first protocols name themselves: telnet's IAC,
 * "SSH-2.0-"), and if it stays silent send a probe (HTTP `GET /`), then hand
 * what comes back to the module that recognises it. The protocol is known from
 * the bytes, never from the port: telnet and HTTP often sit on other ports.
 *
 * Modules are a struct of function pointers (banner_module.h), one file each
 * (banner_telnet.c, banner_http.c, banner_ssh.c, banner_generic.c), listed in
 * one table (banner_modules.c), as probe kinds and output formats are.
 *
 * Bounds, so that no hostile service can stall or grow it: at most
 * `concurrency` connections at once and `per_host` per address; a connect
 * timeout, an idle timeout (no byte for that long) and an absolute deadline
 * per connection; at most `byte_cap` bytes read per connection; a host gets at
 * most `host_cap` grabs per grabber (later ones end at once as "capped" and the
 * host is marked truncated, as Censys marks hosts that answer on every port).
 * Memory is fixed at creation: the connection pool, its buffers and the
 * pending queue; nothing grows with what peers send.
 *
 * Not thread-safe: one thread adds, polls and gets the done() calls. */
#ifndef VANTAGE_BANNER_H
#define VANTAGE_BANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "version.h"

/* The HTTP probe's User-Agent unless the operator sets one: it names the
 * project and where a network owner can opt out. */
#define VT_BANNER_USER_AGENT "vantage/" VANTAGE_VERSION " (+https://vantage.example/opt-out)"

#define VT_BANNER_USER_AGENT_MAX 256

/* Is ua fit for the User-Agent header: 1-256 printable ASCII characters
 * (no CR or LF, which would let it write other headers)? */
bool vt_banner_user_agent_ok(const char *ua);

#define VT_BANNER_TEXT_MAX 2048 /* bytes of display banner kept */
#define VT_BANNER_PARTS    8

/* How a grab ended. */
enum vt_grab_status {
    VT_GRAB_OK,       /* a module read what it wanted (a prompt, a whole answer) */
    VT_GRAB_IDLE,     /* the peer stopped sending: what came so far is the banner */
    VT_GRAB_DEADLINE, /* the absolute deadline or the byte cap ended it */
    VT_GRAB_REFUSED,  /* connect refused or reset before any byte */
    VT_GRAB_TIMEOUT,  /* connect timed out */
    VT_GRAB_CLOSED,   /* the peer closed without sending a byte */
    VT_GRAB_CAPPED,   /* not attempted: the host reached host_cap */
    VT_GRAB_ERROR,    /* a local failure (no socket, no port) */
};

/* One part of what was read, named as Recog rule files name what they match. */
struct vt_banner_part {
    const char *matches; /* "telnet.banner", "http_header.server", "html_title", … */
    const char *text;    /* not NUL-terminated */
    size_t len;
};

/* What one grab found. Everything points into the grabber's memory and is
 * valid only during the done() call. */
struct vt_grab {
    uint32_t addr; /* host order */
    uint16_t port;
    uint64_t ticket; /* the caller's, from vt_grabber_add */
    enum vt_grab_status status;
    const char *proto;    /* module that recognised the service ("telnet", "http",
                             "ssh", "unknown" for bytes no module claims), or NULL
                             when nothing was read */
    const char *exposure; /* "telnet-login", "telnet-shell", "http-login" or NULL */
    const char *banner;   /* display text: telnet without negotiation, HTTP status
                             line + headers + title, …; at most VT_BANNER_TEXT_MAX
                             bytes, may hold any byte (writers escape it) */
    size_t banner_len;
    struct vt_banner_part parts[VT_BANNER_PARTS];
    size_t nparts;
    bool host_truncated; /* this host reached host_cap */
};

struct vt_grabber_config {
    unsigned concurrency;        /* connections at once (default 1000) */
    unsigned per_host;           /* connections at once to one address (default 4) */
    unsigned host_cap;           /* grabs per address (default 32) */
    unsigned queue;              /* pairs waiting for a connection (default 65536) */
    unsigned connect_timeout_ms; /* default 3000 */
    unsigned first_wait_ms;      /* wait this long for the server to speak (default 1500) */
    unsigned idle_timeout_ms;    /* default 3000 */
    unsigned deadline_ms;        /* whole connection, default 10000 */
    unsigned byte_cap;           /* bytes read per connection (default 65536) */
    uint32_t source_ip;          /* bind to it (host order); 0: the kernel's choice */
    const char *user_agent;      /* HTTP User-Agent (default names the project) */
    void (*done)(void *arg, const struct vt_grab *g);
    void *arg;
};

struct vt_grabber;

/* Zero fields take the defaults. NULL with a one-line reason in err. */
struct vt_grabber *vt_grabber_new(const struct vt_grabber_config *cfg, char *err, size_t errlen);
/* Closes every connection without calling done(). */
void vt_grabber_free(struct vt_grabber *g);

/* Queues a grab of (addr, port). Returns 0 queued, 1 the queue is full (poll,
 * then add again), -1 with errno on a local failure. A host past host_cap is
 * answered at once: done() is called from inside this call with
 * VT_GRAB_CAPPED. */
int vt_grabber_add(struct vt_grabber *g, uint32_t addr, uint16_t port, uint64_t ticket);

/* Starts queued grabs while slots are free, waits up to timeout_ms for events
 * and calls done() for every grab that ends. Returns the number of grabs
 * still queued or running, or -1 with errno (epoll failed). */
int vt_grabber_poll(struct vt_grabber *g, int timeout_ms);

/* Grabs queued or running. */
size_t vt_grabber_pending(const struct vt_grabber *g);
/* The lowest ticket queued or running (UINT64_MAX if none): every grab with
 * a lower ticket has ended. */
uint64_t vt_grabber_min_ticket(const struct vt_grabber *g);
/* Connections started so far (each costs about 8 packets of the rate budget). */
uint64_t vt_grabber_started(const struct vt_grabber *g);

const char *vt_grab_status_name(enum vt_grab_status s);

#endif
