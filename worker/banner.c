/* banner.c: the banner grabber's engine (API in banner.h, protocols in the
 * modules of banner_module.h). One epoll loop, a fixed pool of connection
 * slots, a bounded queue of pairs waiting for a slot, and a table of hosts.
 *
 * A slot's life: CONNECTING (non-blocking connect, until connect_timeout_ms)
 * → WAITING (connected; the server has first_wait_ms to speak) → PROBED (it
 * stayed silent, the prober's request was sent) → DETECTING (bytes came but
 * do not yet name a protocol) → MODULE (a module reads the rest). Any phase
 * may end at the absolute deadline; every phase after CONNECTING ends after
 * idle_timeout_ms without a byte, and at byte_cap bytes read.
 *
 * Timers: no per-connection timer. Every SWEEP_MS the active slots are swept
 * and their times compared with the clock; epoll_wait never sleeps past the
 * next sweep. A grab therefore ends up to SWEEP_MS after its time is up.
 *
 * Memory, all allocated in vt_grabber_new: the slots, each with a module
 * state of vt_banner_state_max() bytes (about 19 KiB: HTTP keeps 16 KiB of
 * head), VT_DETECT_MAX bytes of first words and a WBUF_MAX write buffer; one
 * receive buffer for the whole grabber (every read is handed to a module at
 * once, so it need not be per slot; byte_cap is a count, not a buffer); the
 * queue of `queue` pairs. The host table grows (doubling) up to HOSTS_MAX
 * entries; at that size the hosts with nothing queued or running are
 * forgotten (their host_cap count starts again), so it never grows past it.
 *
 * Closing: with SO_LINGER {1, 0}, i.e. an RST. The side that closes first
 * keeps TIME_WAIT for 60 s; at tens of thousands of grabs a minute those would
 * pile up by the ten thousand and, with a bound source address, exhaust the
 * ephemeral ports. An RST costs the peer nothing (small devices free the
 * connection at once) and we have read all we want. With source_ip the socket
 * is bound with IP_BIND_ADDRESS_NO_PORT, so the port is chosen at connect()
 * per 4-tuple and not reserved per bind. */
#include "banner.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banner_module.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define SWEEP_MS   100
#define WBUF_MAX   1024  /* probe or telnet answers waiting to be sent */
#define RBUF_MAX   65536 /* one receive */
#define HOSTS_MIN  1024
#define HOSTS_MAX  (1u << 20) /* entries of the host table, 16 MiB */
#define EVENTS_MAX 256

enum phase { P_FREE, P_CONNECTING, P_WAITING, P_PROBED, P_DETECTING, P_MODULE };

struct slot {
    enum phase phase;
    int fd;
    uint32_t gen; /* told apart from an earlier use of the slot in epoll events */
    uint32_t addr;
    uint16_t port;
    uint64_t ticket;
    uint64_t t_start, t_phase, t_last; /* ms, CLOCK_MONOTONIC */
    size_t got;                        /* bytes read */
    size_t det_len;
    size_t wlen;
    bool want_out; /* EPOLLOUT is armed */
    const struct vt_banner_module *mod;
    void *state;
    uint8_t *det;
    uint8_t *wbuf;
};

struct host {
    uint32_t addr;
    uint8_t used;
    uint8_t truncated; /* an add was refused: host_cap reached */
    uint16_t inflight; /* connections open now */
    uint32_t total;    /* grabs accepted */
    uint32_t live;     /* grabs queued or running */
};

struct pend {
    uint32_t addr;
    uint16_t port;
    bool taken; /* started out of order: a hole the head skips */
    uint64_t ticket;
};

struct vt_grabber {
    struct vt_grabber_config cfg;
    int ep;
    struct slot *slots;
    unsigned *free_slots; /* stack of free slot indices */
    unsigned nfree;
    uint8_t *mem; /* states, det and wbuf of all slots */
    uint8_t *rbuf;
    struct pend *q;
    size_t qcap, qhead, qspan, qlive; /* ring: [qhead, qhead+qspan) with holes */
    struct host *hosts;
    size_t hcap, hused;
    uint64_t started;
    uint64_t next_sweep;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *vt_grab_status_name(enum vt_grab_status s)
{
    switch (s) {
    case VT_GRAB_OK:
        return "ok";
    case VT_GRAB_IDLE:
        return "idle";
    case VT_GRAB_DEADLINE:
        return "deadline";
    case VT_GRAB_REFUSED:
        return "refused";
    case VT_GRAB_TIMEOUT:
        return "timeout";
    case VT_GRAB_CLOSED:
        return "closed";
    case VT_GRAB_CAPPED:
        return "capped";
    case VT_GRAB_ERROR:
        return "error";
    }
    return "?";
}

/* ---- the host table: open addressing, linear probing ---- */

static size_t host_hash(uint32_t a, size_t cap)
{
    uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) & (cap - 1);
}

static struct host *host_find(struct vt_grabber *g, uint32_t addr)
{
    for (size_t i = host_hash(addr, g->hcap);; i = (i + 1) & (g->hcap - 1)) {
        if (!g->hosts[i].used)
            return NULL;
        if (g->hosts[i].addr == addr)
            return &g->hosts[i];
    }
}

/* Rebuilds the table at cap entries, keeping every host or, with only_live,
 * those with grabs queued or running. */
static int host_rebuild(struct vt_grabber *g, size_t cap, bool only_live)
{
    struct host *old = g->hosts, *nw = calloc(cap, sizeof(*nw));
    size_t ocap = g->hcap;

    if (nw == NULL)
        return -1;
    g->hosts = nw;
    g->hcap = cap;
    g->hused = 0;
    for (size_t k = 0; k < ocap; k++) {
        if (!old[k].used || (only_live && old[k].live == 0))
            continue;
        size_t i = host_hash(old[k].addr, cap);
        while (nw[i].used)
            i = (i + 1) & (cap - 1);
        nw[i] = old[k];
        g->hused++;
    }
    free(old);
    return 0;
}

static struct host *host_get(struct vt_grabber *g, uint32_t addr)
{
    struct host *h = host_find(g, addr);

    if (h != NULL)
        return h;
    if ((g->hused + 1) * 2 > g->hcap) {
        int rc = g->hcap < HOSTS_MAX ? host_rebuild(g, g->hcap * 2, false)
                                     : host_rebuild(g, g->hcap, true);
        if (rc != 0)
            return NULL;
        if ((g->hused + 1) * 2 > g->hcap) {
            errno = ENOBUFS; /* cannot happen: live hosts ≤ queue + concurrency */
            return NULL;
        }
    }
    size_t i = host_hash(addr, g->hcap);
    while (g->hosts[i].used)
        i = (i + 1) & (g->hcap - 1);
    memset(&g->hosts[i], 0, sizeof(g->hosts[i]));
    g->hosts[i].used = 1;
    g->hosts[i].addr = addr;
    g->hused++;
    return &g->hosts[i];
}

/* ---- creation ---- */

static unsigned def(unsigned v, unsigned d)
{
    return v != 0 ? v : d;
}

struct vt_grabber *vt_grabber_new(const struct vt_grabber_config *cfg, char *err, size_t errlen)
{
    struct vt_grabber *g;
    struct rlimit rl;
    size_t state_sz, per_slot;

    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        snprintf(err, errlen, "banner grabber: out of memory");
        return NULL;
    }
    g->cfg = *cfg;
    g->cfg.concurrency = def(cfg->concurrency, 1000);
    g->cfg.per_host = def(cfg->per_host, 4);
    g->cfg.host_cap = def(cfg->host_cap, 32);
    g->cfg.queue = def(cfg->queue, 65536);
    g->cfg.connect_timeout_ms = def(cfg->connect_timeout_ms, 3000);
    g->cfg.first_wait_ms = def(cfg->first_wait_ms, 1500);
    g->cfg.idle_timeout_ms = def(cfg->idle_timeout_ms, 3000);
    g->cfg.deadline_ms = def(cfg->deadline_ms, 10000);
    g->cfg.byte_cap = def(cfg->byte_cap, 65536);
    if (g->cfg.user_agent == NULL)
        g->cfg.user_agent = VT_BANNER_USER_AGENT;
    g->ep = -1;
    if (!vt_banner_user_agent_ok(g->cfg.user_agent)) {
        snprintf(err, errlen, "banner grabber: bad User-Agent (printable ASCII, 1-%d characters)",
                 VT_BANNER_USER_AGENT_MAX);
        goto fail;
    }

    if (g->cfg.concurrency > 1000000 || g->cfg.queue > 1u << 26) {
        snprintf(err, errlen, "banner grabber: concurrency %u or queue %u too large",
                 g->cfg.concurrency, g->cfg.queue);
        goto fail;
    }
    /* Each connection is a descriptor: raise the soft limit up to the hard
     * one if need be (Debian's soft default, 1024, is below 1000 + margin). */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)g->cfg.concurrency + 64) {
        struct rlimit want = rl;
        want.rlim_cur = (rlim_t)g->cfg.concurrency + 64;
        if (rl.rlim_max != RLIM_INFINITY && want.rlim_cur > rl.rlim_max)
            want.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)g->cfg.concurrency + 64) {
        snprintf(err, errlen,
                 "banner concurrency %u needs %u open files, the limit is %llu (raise ulimit -n "
                 "or lower the banner concurrency)",
                 g->cfg.concurrency, g->cfg.concurrency + 64, (unsigned long long)rl.rlim_cur);
        goto fail;
    }
    state_sz = (vt_banner_state_max() + 15) & ~(size_t)15;
    per_slot = state_sz + VT_DETECT_MAX + WBUF_MAX;
    g->slots = calloc(g->cfg.concurrency, sizeof(*g->slots));
    g->free_slots = calloc(g->cfg.concurrency, sizeof(*g->free_slots));
    g->mem = malloc(per_slot * g->cfg.concurrency);
    g->rbuf = malloc(RBUF_MAX);
    g->qcap = g->cfg.queue;
    g->q = calloc(g->qcap, sizeof(*g->q));
    g->hcap = HOSTS_MIN;
    g->hosts = calloc(g->hcap, sizeof(*g->hosts));
    if (g->slots == NULL || g->free_slots == NULL || g->mem == NULL || g->rbuf == NULL ||
        g->q == NULL || g->hosts == NULL) {
        snprintf(err, errlen, "banner grabber: out of memory for %u connections",
                 g->cfg.concurrency);
        goto fail;
    }
    for (unsigned i = 0; i < g->cfg.concurrency; i++) {
        struct slot *s = &g->slots[i];
        uint8_t *m = g->mem + per_slot * i;
        s->fd = -1;
        s->state = m;
        s->det = m + state_sz;
        s->wbuf = m + state_sz + VT_DETECT_MAX;
        g->free_slots[g->nfree++] = g->cfg.concurrency - 1 - i;
    }
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    if (g->ep < 0) {
        snprintf(err, errlen, "banner grabber: epoll_create1: %s", strerror(errno));
        goto fail;
    }
    g->next_sweep = now_ms() + SWEEP_MS;
    return g;
fail:
    vt_grabber_free(g);
    return NULL;
}

void vt_grabber_free(struct vt_grabber *g)
{
    if (g == NULL)
        return;
    for (unsigned i = 0; g->slots != NULL && i < g->cfg.concurrency; i++)
        if (g->slots[i].fd >= 0)
            close(g->slots[i].fd);
    if (g->ep >= 0)
        close(g->ep);
    free(g->slots);
    free(g->free_slots);
    free(g->mem);
    free(g->rbuf);
    free(g->q);
    free(g->hosts);
    free(g);
}

/* ---- ending a grab ---- */

static void call_done(struct vt_grabber *g, struct vt_grab *gr)
{
    struct host *h = host_find(g, gr->addr);
    gr->host_truncated = h != NULL && h->truncated;
    if (g->cfg.done != NULL)
        g->cfg.done(g->cfg.arg, gr);
}

/* Ends the grab in slot s with status st: the module (or, if none was chosen
 * yet, the one detection picks now) finishes, the connection is reset, the
 * slot is freed and done() is told. */
static void slot_end(struct vt_grabber *g, struct slot *s, enum vt_grab_status st)
{
    struct vt_grab gr;
    struct host *h;

    assert(s->phase != P_FREE);
    memset(&gr, 0, sizeof(gr));
    gr.addr = s->addr;
    gr.port = s->port;
    gr.ticket = s->ticket;
    gr.status = st;
    if (s->got > 0) {
        if (s->mod == NULL) {
            uint8_t sink[WBUF_MAX];
            struct vt_bm_out out = {sink, 0, sizeof(sink)};
            s->mod = vt_banner_detect(s->det, s->det_len, true);
            s->mod->init(s->state);
            s->mod->on_data(s->state, s->det, s->det_len, &out);
        }
        s->mod->finish(s->state, &gr);
        gr.proto = s->mod->name;
    }
    if (s->fd >= 0) {
        struct linger lg = {1, 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(s->fd); /* also leaves the epoll set */
        s->fd = -1;
    }
    h = host_find(g, s->addr);
    assert(h != NULL && h->inflight > 0 && h->live > 0);
    h->inflight--;
    h->live--;
    s->phase = P_FREE;
    s->gen++;
    g->free_slots[g->nfree++] = (unsigned)(s - g->slots);
    call_done(g, &gr);
}

/* ---- writing ---- */

static void slot_arm(struct vt_grabber *g, struct slot *s, bool out)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0);
    ev.data.u64 = (uint64_t)s->gen << 32 | (uint64_t)(s - g->slots);
    epoll_ctl(g->ep, EPOLL_CTL_MOD, s->fd, &ev);
    s->want_out = out;
}

/* Sends what waits in wbuf; arms EPOLLOUT while some is left. Returns false
 * if the connection broke (the slot is then ended). */
static bool slot_flush(struct vt_grabber *g, struct slot *s)
{
    while (s->wlen > 0) {
        ssize_t n = send(s->fd, s->wbuf, s->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            slot_end(g, s, s->got > 0 ? VT_GRAB_IDLE : VT_GRAB_REFUSED);
            return false;
        }
        memmove(s->wbuf, s->wbuf + n, s->wlen - (size_t)n);
        s->wlen -= (size_t)n;
    }
    if ((s->wlen > 0) != s->want_out)
        slot_arm(g, s, s->wlen > 0);
    return true;
}

/* ---- reading ---- */

/* Hands n new bytes to the slot's module, choosing one first if none is yet.
 * Returns false if the grab ended. */
static bool slot_feed(struct vt_grabber *g, struct slot *s, const uint8_t *buf, size_t n)
{
    struct vt_bm_out out = {s->wbuf + s->wlen, 0, WBUF_MAX - s->wlen};
    enum vt_bm_verdict v = VT_BM_MORE;

    if (s->mod == NULL) {
        size_t k = VT_DETECT_MAX - s->det_len;
        if (k > n)
            k = n;
        memcpy(s->det + s->det_len, buf, k);
        s->det_len += k;
        buf += k;
        n -= k;
        s->mod = vt_banner_detect(s->det, s->det_len, s->det_len == VT_DETECT_MAX);
        if (s->mod == NULL) {
            s->phase = P_DETECTING;
            return true;
        }
        s->phase = P_MODULE;
        s->mod->init(s->state);
        v = s->mod->on_data(s->state, s->det, s->det_len, &out);
    }
    if (v == VT_BM_MORE && n > 0)
        v = s->mod->on_data(s->state, buf, n, &out);
    assert(out.len <= out.cap);
    s->wlen += out.len;
    if (v == VT_BM_DONE) {
        slot_end(g, s, VT_GRAB_OK);
        return false;
    }
    return slot_flush(g, s);
}

static void slot_read(struct vt_grabber *g, struct slot *s)
{
    size_t room = g->cfg.byte_cap - s->got;
    ssize_t n;

    if (room > RBUF_MAX)
        room = RBUF_MAX;
    n = recv(s->fd, g->rbuf, room, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        /* A reset: before any byte it refused us; after, what came is it. */
        slot_end(g, s, s->got == 0 ? VT_GRAB_REFUSED : VT_GRAB_IDLE);
        return;
    }
    if (n == 0) {
        if (s->got == 0) {
            slot_end(g, s, VT_GRAB_CLOSED);
            return;
        }
        bool whole = false;
        if (s->mod == NULL) {
            /* The peer closed while its bytes named no protocol yet. */
            uint8_t sink[WBUF_MAX];
            struct vt_bm_out out = {sink, 0, sizeof(sink)};
            s->mod = vt_banner_detect(s->det, s->det_len, true);
            s->mod->init(s->state);
            s->mod->on_data(s->state, s->det, s->det_len, &out);
        }
        if (s->mod->on_eof != NULL)
            whole = s->mod->on_eof(s->state);
        slot_end(g, s, whole ? VT_GRAB_OK : VT_GRAB_IDLE);
        return;
    }
    s->got += (size_t)n;
    s->t_last = now_ms();
    if (!slot_feed(g, s, g->rbuf, (size_t)n))
        return;
    if (s->got >= g->cfg.byte_cap)
        slot_end(g, s, VT_GRAB_DEADLINE);
}

/* ---- connecting ---- */

static void slot_connected(struct vt_grabber *g, struct slot *s)
{
    int e = 0;
    socklen_t len = sizeof(e);

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
        e = errno;
    if (e == EINPROGRESS || e == EALREADY)
        return;
    if (e != 0) {
        enum vt_grab_status st = VT_GRAB_ERROR;
        if (e == ECONNREFUSED || e == ECONNRESET)
            st = VT_GRAB_REFUSED;
        else if (e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN)
            st = VT_GRAB_TIMEOUT;
        slot_end(g, s, st);
        return;
    }
    s->phase = P_WAITING;
    s->t_phase = s->t_last = now_ms();
    slot_arm(g, s, false);
}

/* Opens a connection for p in a free slot. done() is called from here if it
 * fails at once. */
static void slot_start(struct vt_grabber *g, const struct pend *p, struct host *h)
{
    unsigned idx = g->free_slots[--g->nfree];
    struct slot *s = &g->slots[idx];
    struct sockaddr_in sa = {0};
    struct epoll_event ev = {0};
    int fd, rc;

    s->phase = P_CONNECTING;
    s->addr = p->addr;
    s->port = p->port;
    s->ticket = p->ticket;
    s->t_start = s->t_phase = s->t_last = now_ms();
    s->got = s->det_len = s->wlen = 0;
    s->want_out = true;
    s->mod = NULL;
    h->inflight++;
    g->started++;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    s->fd = fd;
    if (fd < 0) {
        slot_end(g, s, VT_GRAB_ERROR);
        return;
    }
    if (g->cfg.source_ip != 0) {
        int one = 1;
        struct sockaddr_in src = {0};
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(g->cfg.source_ip);
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            slot_end(g, s, VT_GRAB_ERROR);
            return;
        }
    }
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(p->addr);
    sa.sin_port = htons(p->port);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc != 0 && errno != EINPROGRESS) {
        slot_end(g, s, errno == ECONNREFUSED ? VT_GRAB_REFUSED : VT_GRAB_ERROR);
        return;
    }
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = (uint64_t)s->gen << 32 | idx;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        slot_end(g, s, VT_GRAB_ERROR);
        return;
    }
    if (rc == 0)
        slot_connected(g, s);
}

/* Starts queued grabs, oldest first, while slots are free. A pair whose host
 * already has per_host connections stays where it is and the ones behind it
 * go first; it becomes a hole when it starts, and the head skips holes. */
static void start_queued(struct vt_grabber *g)
{
    for (size_t k = 0; k < g->qspan && g->nfree > 0; k++) {
        struct pend *p = &g->q[(g->qhead + k) % g->qcap];
        if (p->taken)
            continue;
        struct host *h = host_find(g, p->addr);
        assert(h != NULL);
        if (h->inflight >= g->cfg.per_host)
            continue;
        struct pend copy = *p;
        p->taken = true;
        g->qlive--;
        slot_start(g, &copy, h);
    }
    while (g->qspan > 0 && g->q[g->qhead].taken) {
        g->qhead = (g->qhead + 1) % g->qcap;
        g->qspan--;
    }
}

/* ---- timers ---- */

static void sweep(struct vt_grabber *g, uint64_t now)
{
    const struct vt_grabber_config *c = &g->cfg;

    for (unsigned i = 0; i < c->concurrency; i++) {
        struct slot *s = &g->slots[i];
        if (s->phase == P_FREE)
            continue;
        if (now - s->t_start >= c->deadline_ms) {
            slot_end(g, s, s->phase == P_CONNECTING ? VT_GRAB_TIMEOUT : VT_GRAB_DEADLINE);
            continue;
        }
        switch (s->phase) {
        case P_CONNECTING:
            if (now - s->t_start >= c->connect_timeout_ms)
                slot_end(g, s, VT_GRAB_TIMEOUT);
            break;
        case P_WAITING:
            if (now - s->t_phase >= c->first_wait_ms) {
                const struct vt_banner_module *m = vt_banner_prober();
                struct vt_bm_target t = {s->addr, s->port, c->user_agent};
                size_t n =
                    m != NULL ? m->probe(&t, (char *)s->wbuf + s->wlen, WBUF_MAX - s->wlen) : 0;
                s->wlen += n;
                s->phase = P_PROBED;
                s->t_phase = s->t_last = now;
                slot_flush(g, s);
            }
            break;
        case P_PROBED:
        case P_DETECTING:
        case P_MODULE:
            if (now - s->t_last >= c->idle_timeout_ms)
                slot_end(g, s, VT_GRAB_IDLE);
            break;
        case P_FREE:
            break;
        }
    }
}

/* ---- the API ---- */

bool vt_banner_user_agent_ok(const char *ua)
{
    size_t n = 0;
    for (; ua[n]; n++)
        if (ua[n] < 0x20 || ua[n] > 0x7e) /* no CR or LF: it goes into a header line */
            return false;
    return n >= 1 && n <= VT_BANNER_USER_AGENT_MAX;
}

int vt_grabber_add(struct vt_grabber *g, uint32_t addr, uint16_t port, uint64_t ticket)
{
    struct host *h = host_get(g, addr);

    if (h == NULL)
        return -1;
    if (h->total >= g->cfg.host_cap) {
        struct vt_grab gr;
        h->truncated = 1;
        memset(&gr, 0, sizeof(gr));
        gr.addr = addr;
        gr.port = port;
        gr.ticket = ticket;
        gr.status = VT_GRAB_CAPPED;
        call_done(g, &gr);
        return 0;
    }
    if (g->qspan == g->qcap)
        return 1;
    struct pend *p = &g->q[(g->qhead + g->qspan) % g->qcap];
    p->addr = addr;
    p->port = port;
    p->ticket = ticket;
    p->taken = false;
    g->qspan++;
    g->qlive++;
    h->total++;
    h->live++;
    return 0;
}

int vt_grabber_poll(struct vt_grabber *g, int timeout_ms)
{
    struct epoll_event ev[EVENTS_MAX];
    uint64_t now;
    int n, wait;

    start_queued(g);
    if (vt_grabber_pending(g) == 0)
        return 0;
    now = now_ms();
    wait = g->next_sweep > now ? (int)(g->next_sweep - now) : 0;
    if (timeout_ms >= 0 && timeout_ms < wait)
        wait = timeout_ms;
    n = epoll_wait(g->ep, ev, EVENTS_MAX, wait);
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        unsigned idx = (unsigned)(ev[i].data.u64 & 0xffffffffu);
        uint32_t gen = (uint32_t)(ev[i].data.u64 >> 32);
        struct slot *s = &g->slots[idx];
        uint32_t e = ev[i].events;

        if (s->phase == P_FREE || s->gen != gen)
            continue; /* ended earlier in this batch */
        if (s->phase == P_CONNECTING) {
            slot_connected(g, s);
            if (s->phase == P_FREE || s->gen != gen || !(e & EPOLLIN))
                continue;
        }
        if ((e & EPOLLOUT) && s->wlen > 0 && !slot_flush(g, s))
            continue;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            slot_read(g, s);
    }
    now = now_ms();
    if (now >= g->next_sweep) {
        sweep(g, now);
        g->next_sweep = now + SWEEP_MS;
    }
    start_queued(g);
    return (int)vt_grabber_pending(g);
}

size_t vt_grabber_pending(const struct vt_grabber *g)
{
    return g->qlive + (g->cfg.concurrency - g->nfree);
}

uint64_t vt_grabber_min_ticket(const struct vt_grabber *g)
{
    uint64_t min = UINT64_MAX;

    for (size_t k = 0; k < g->qspan; k++) {
        const struct pend *p = &g->q[(g->qhead + k) % g->qcap];
        if (!p->taken && p->ticket < min)
            min = p->ticket;
    }
    for (unsigned i = 0; i < g->cfg.concurrency; i++)
        if (g->slots[i].phase != P_FREE && g->slots[i].ticket < min)
            min = g->slots[i].ticket;
    return min;
}

uint64_t vt_grabber_started(const struct vt_grabber *g)
{
    return g->started;
}
