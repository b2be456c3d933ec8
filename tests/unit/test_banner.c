/* test_banner.c: worker/banner.c, the engine, against servers of this process
 * on loopback addresses only (127.0.0.x, one address per kind of server so
 * that per-host limits can be watched). A server thread with its own poll()
 * plays a telnetd, an HTTP server silent until asked, an sshd, and hostile
 * ones: an endless stream, a byte-at-a-time sender, a silent connection that
 * never closes, endless headers, binary garbage, an IAC flood, a full accept
 * queue (connect times out), an immediate close, a refused port.
 *
 * What a user would notice: every grab ends, within its deadline, with the
 * right status, protocol and exposure; no more connections are open at once
 * than asked for, overall and per host; a host on many ports is capped. */
#define _GNU_SOURCE /* memmem, accept4 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banner.h"

enum kind {
    K_TELNET,
    K_HTTP,
    K_SSH,
    K_ENDLESS,
    K_DRIP,
    K_SILENT,
    K_HUGE_HEAD,
    K_GARBAGE,
    K_IAC_FLOOD,
    K_CLOSE,
    K_HOLD, /* "login: " after HOLD_MS: keeps a connection open a while */
    K_FULL, /* never accepts: its queue is full, connects time out */
    K_MAX
};

#define HOLD_MS   150
#define SSH_FP    "SHA256:/z7bfLnEoCCT3hVi6VwWBqGz3o3FOZrNDLBbpAnFBrI"
#define MAX_LIS   64
#define MAX_CONNS 128

static const char busybox[] = "\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03\r\n(none) login: ";
static const char http_401[] = "HTTP/1.1 401 Unauthorized\r\nServer: Hikvision-Webs\r\n"
                               "WWW-Authenticate: Basic realm=\"DVR\"\r\n"
                               "Content-Type: text/html\r\n\r\n"
                               "<html><head><title>401 Unauthorized</title></head></html>";

struct lis {
    int fd;
    enum kind kind;
    uint32_t addr; /* host order */
    uint16_t port;
};

struct conn {
    int fd;
    enum kind kind;
    int lis; /* index into server.lis */
    size_t sent, got;
    bool answered; /* the HTTP answer was sent */
    char req[512];
    size_t req_len;
    uint64_t born, next;
};

struct server {
    pthread_t th;
    atomic_bool stop;
    struct lis lis[MAX_LIS];
    int nlis;
    struct conn conns[MAX_CONNS];
    pthread_mutex_t mu;
    int open_per_lis[MAX_LIS];
    int max_open_per_lis[MAX_LIS];
    int open_all, max_open_all;
    size_t answer_bytes_max; /* most bytes any IAC-flood connection received */
    int held_fds[4];         /* clients that fill K_FULL's queue */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_on(uint32_t addr, uint16_t *port, int backlog)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int add_listener(struct server *sv, enum kind kind, uint32_t addr)
{
    struct lis *l = &sv->lis[sv->nlis];
    assert_true(sv->nlis < MAX_LIS);
    l->kind = kind;
    l->addr = addr;
    l->fd = listen_on(addr, &l->port, kind == K_FULL ? 0 : 64);
    return sv->nlis++;
}

/* Fills K_FULL's accept queue so that further SYNs are dropped. */
static void fill_queue(struct server *sv, int li)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(sv->lis[li].addr);
    sa.sin_port = htons(sv->lis[li].port);
    for (int i = 0; i < 4; i++) {
        sv->held_fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(sv->held_fds[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    usleep(100 * 1000);
}

static void conn_close(struct server *sv, struct conn *c)
{
    pthread_mutex_lock(&sv->mu);
    sv->open_per_lis[c->lis]--;
    sv->open_all--;
    if (c->kind == K_IAC_FLOOD && c->got > sv->answer_bytes_max)
        sv->answer_bytes_max = c->got;
    pthread_mutex_unlock(&sv->mu);
    close(c->fd);
    c->fd = -1;
}

/* Sends what the connection's kind sends now. Returns false to close it. */
static bool conn_send(struct conn *c, uint64_t now)
{
    char buf[4096];
    size_t n = 0;

    switch (c->kind) {
    case K_TELNET:
        if (c->sent == 0)
            n = (size_t)send(c->fd, busybox, sizeof(busybox) - 1, MSG_NOSIGNAL);
        break;
    case K_SSH:
        if (c->sent == 0) {
            static const char id[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n";
            n = (size_t)send(c->fd, id, sizeof(id) - 1, MSG_NOSIGNAL);
        } else if (!c->answered && memmem(c->req, c->req_len, "\r\n", 2) != NULL &&
                   c->req_len > 200) {
            /* Our identification and KEXINIT came: a KEX_ECDH_REPLY whose host
             * key blob is the 16 bytes "hostkey-blob-000" (packet length 32,
             * padding 6, payload 31 + string K_S + 5 bytes). */
            static const char reply[] = "\0\0\0\x20\x06\x1f\0\0\0\x10hostkey-blob-000"
                                        "\0\0\0\0\0\0\0\0\0\0\0";
            send(c->fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL);
            c->answered = true;
        }
        break;
    case K_HTTP:
        if (!c->answered && memmem(c->req, c->req_len, "\r\n\r\n", 4) != NULL) {
            send(c->fd, http_401, sizeof(http_401) - 1, MSG_NOSIGNAL);
            return false;
        }
        break;
    case K_ENDLESS:
        if (c->sent == 0) {
            n = (size_t)send(c->fd, "\xff\xfb\x01", 3, MSG_NOSIGNAL);
            break;
        }
        for (size_t i = 0; i + 32 <= sizeof(buf); i += 32)
            memcpy(buf + i, "Welcome to the endless banner\r\n", 32);
        n = (size_t)send(c->fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
        break;
    case K_DRIP:
        if (now >= c->next && c->sent < sizeof(busybox) - 1) {
            n = (size_t)send(c->fd, busybox + c->sent, 1, MSG_NOSIGNAL);
            c->next = now + 15;
        }
        break;
    case K_HUGE_HEAD:
        if (memmem(c->req, c->req_len, "\r\n\r\n", 4) == NULL)
            break;
        if (c->sent == 0) {
            static const char st[] = "HTTP/1.1 200 OK\r\nServer: huge/1.0\r\n";
            n = (size_t)send(c->fd, st, sizeof(st) - 1, MSG_NOSIGNAL);
            break;
        }
        for (size_t i = 0; i + 16 <= sizeof(buf); i += 16)
            memcpy(buf + i, "X-Pad: 12345678\n", 16);
        n = (size_t)send(c->fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
        break;
    case K_GARBAGE:
        if (c->sent == 0) {
            uint32_t x = 99;
            for (size_t i = 0; i < 2000; i++) {
                x = x * 1103515245 + 12345;
                buf[i] = (char)((x >> 16) | 0x80); /* never text, never IAC-led */
            }
            buf[0] = 0x01;
            n = (size_t)send(c->fd, buf, 2000, MSG_NOSIGNAL);
        }
        break;
    case K_IAC_FLOOD:
        for (size_t i = 0; i + 3 <= sizeof(buf); i += 3) {
            size_t k = (c->sent + i) / 3;
            buf[i] = (char)0xff;
            buf[i + 1] = (char)(k & 256 ? 0xfb : 0xfd);
            buf[i + 2] = (char)(k & 0xff);
        }
        n = (size_t)send(c->fd, buf, sizeof(buf) - sizeof(buf) % 3, MSG_NOSIGNAL | MSG_DONTWAIT);
        break;
    case K_CLOSE:
        return false;
    case K_HOLD:
        if (c->sent == 0 && now >= c->born + HOLD_MS)
            n = (size_t)send(c->fd, "login: ", 7, MSG_NOSIGNAL);
        break;
    case K_SILENT:
    case K_FULL:
    case K_MAX:
        break;
    }
    if (n != (size_t)-1)
        c->sent += n;
    return true;
}

static void *server_main(void *arg)
{
    struct server *sv = arg;
    struct pollfd pf[MAX_LIS + MAX_CONNS];

    while (!atomic_load(&sv->stop)) {
        int np = 0;
        for (int i = 0; i < sv->nlis; i++) {
            pf[np].fd = sv->lis[i].kind == K_FULL ? -1 : sv->lis[i].fd;
            pf[np++].events = POLLIN;
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = &sv->conns[i];
            pf[np].fd = c->fd;
            pf[np].events = POLLIN;
            if (c->fd >= 0 && (c->kind == K_ENDLESS || c->kind == K_IAC_FLOOD ||
                               (c->kind == K_HUGE_HEAD && c->sent > 0)))
                pf[np].events |= POLLOUT;
            np++;
        }
        if (poll(pf, (nfds_t)np, 5) < 0)
            continue;
        uint64_t now = now_ms();
        /* Closings first, so a slot our grabber freed is not counted twice. */
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = &sv->conns[i];
            short re = pf[sv->nlis + i].revents;
            if (c->fd < 0)
                continue;
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                char buf[4096];
                ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN)) {
                    conn_close(sv, c);
                    continue;
                }
                if (n > 0) {
                    c->got += (size_t)n;
                    size_t k = (size_t)n < sizeof(c->req) - c->req_len
                                   ? (size_t)n
                                   : sizeof(c->req) - c->req_len;
                    memcpy(c->req + c->req_len, buf, k);
                    c->req_len += k;
                }
            }
            if (!conn_send(c, now))
                conn_close(sv, c);
        }
        for (int i = 0; i < sv->nlis; i++) {
            if (!(pf[i].revents & POLLIN))
                continue;
            int fd = accept4(sv->lis[i].fd, NULL, NULL, SOCK_NONBLOCK);
            if (fd < 0)
                continue;
            int slot = -1;
            for (int k = 0; k < MAX_CONNS && slot < 0; k++)
                if (sv->conns[k].fd < 0)
                    slot = k;
            if (slot < 0) {
                close(fd);
                continue;
            }
            struct conn *c = &sv->conns[slot];
            memset(c, 0, sizeof(*c));
            c->fd = fd;
            c->kind = sv->lis[i].kind;
            c->lis = i;
            c->born = c->next = now;
            pthread_mutex_lock(&sv->mu);
            sv->open_all++;
            if (sv->open_all > sv->max_open_all)
                sv->max_open_all = sv->open_all;
            sv->open_per_lis[i]++;
            if (sv->open_per_lis[i] > sv->max_open_per_lis[i])
                sv->max_open_per_lis[i] = sv->open_per_lis[i];
            pthread_mutex_unlock(&sv->mu);
            if (!conn_send(c, now))
                conn_close(sv, c);
        }
    }
    return NULL;
}

static struct server *server_new(void)
{
    struct server *sv = calloc(1, sizeof(*sv));
    assert_non_null(sv);
    pthread_mutex_init(&sv->mu, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        sv->conns[i].fd = -1;
    for (int i = 0; i < 4; i++)
        sv->held_fds[i] = -1;
    return sv;
}

static void server_start(struct server *sv)
{
    assert_int_equal(pthread_create(&sv->th, NULL, server_main, sv), 0);
}

static void server_free(struct server *sv)
{
    atomic_store(&sv->stop, true);
    pthread_join(sv->th, NULL);
    for (int i = 0; i < sv->nlis; i++)
        close(sv->lis[i].fd);
    for (int i = 0; i < MAX_CONNS; i++)
        if (sv->conns[i].fd >= 0)
            close(sv->conns[i].fd);
    for (int i = 0; i < 4; i++)
        if (sv->held_fds[i] >= 0)
            close(sv->held_fds[i]);
    pthread_mutex_destroy(&sv->mu);
    free(sv);
}

/* ---- what done() saw ---- */

#define MAX_RES 128

struct result {
    bool done;
    int calls;
    enum vt_grab_status status;
    const char *proto, *exposure;
    bool host_truncated;
    char banner[VT_BANNER_TEXT_MAX + 1];
    size_t banner_len;
    char parts[VT_BANNER_PARTS][256];
    const char *part_names[VT_BANNER_PARTS];
    size_t nparts;
    uint64_t added, ended;
};

struct results {
    struct result r[MAX_RES];
};

static void on_done(void *arg, const struct vt_grab *g)
{
    struct results *rs = arg;
    assert_true(g->ticket < MAX_RES);
    struct result *r = &rs->r[g->ticket];
    r->calls++;
    r->done = true;
    r->status = g->status;
    r->proto = g->proto;
    r->exposure = g->exposure;
    r->host_truncated = g->host_truncated;
    assert_true(g->banner_len <= VT_BANNER_TEXT_MAX);
    if (g->banner_len > 0)
        memcpy(r->banner, g->banner, g->banner_len);
    r->banner_len = g->banner_len;
    r->banner[g->banner_len] = '\0';
    assert_true(g->nparts <= VT_BANNER_PARTS);
    r->nparts = g->nparts;
    for (size_t i = 0; i < g->nparts; i++) {
        size_t n = g->parts[i].len < 255 ? g->parts[i].len : 255;
        memcpy(r->parts[i], g->parts[i].text, n);
        r->parts[i][n] = '\0';
        r->part_names[i] = g->parts[i].matches;
    }
    r->ended = now_ms();
}

static const char *part_of(const struct result *r, const char *name)
{
    for (size_t i = 0; i < r->nparts; i++)
        if (strcmp(r->part_names[i], name) == 0)
            return r->parts[i];
    return NULL;
}

static void run_until_done(struct vt_grabber *g, uint64_t limit_ms)
{
    uint64_t t0 = now_ms();
    int left;
    while ((left = vt_grabber_poll(g, 50)) > 0)
        if (now_ms() - t0 > limit_ms)
            fail_msg("%d grabs still running after %llu ms", left, (unsigned long long)limit_ms);
    assert_int_equal(left, 0);
    assert_int_equal(vt_grabber_pending(g), 0);
    assert_true(vt_grabber_min_ticket(g) == UINT64_MAX);
}

#define LO(x) (0x7f000000u | (x)) /* 127.0.0.x */

static struct vt_grabber_config base_config(struct results *rs)
{
    struct vt_grabber_config c = {0};
    c.concurrency = 64;
    c.per_host = 4;
    c.host_cap = 32;
    c.connect_timeout_ms = 800;
    c.first_wait_ms = 300;
    c.idle_timeout_ms = 500;
    c.deadline_ms = 3000;
    c.byte_cap = 65536;
    c.done = on_done;
    c.arg = rs;
    return c;
}

static void expect(const struct result *r, const char *what, enum vt_grab_status st,
                   const char *proto, const char *exposure)
{
    if (!r->done)
        fail_msg("%s: never ended", what);
    if (r->calls != 1)
        fail_msg("%s: done() called %d times", what, r->calls);
    if (r->status != st)
        fail_msg("%s: status %s, want %s", what, vt_grab_status_name(r->status),
                 vt_grab_status_name(st));
    if ((proto == NULL) != (r->proto == NULL) || (proto != NULL && strcmp(proto, r->proto) != 0))
        fail_msg("%s: proto %s, want %s", what, r->proto ? r->proto : "(none)",
                 proto ? proto : "(none)");
    if ((exposure == NULL) != (r->exposure == NULL) ||
        (exposure != NULL && strcmp(exposure, r->exposure) != 0))
        fail_msg("%s: exposure %s, want %s", what, r->exposure ? r->exposure : "(none)",
                 exposure ? exposure : "(none)");
}

/* Every kind of server at once, one grab each. */
static void test_each_kind(void **st)
{
    struct server *sv = server_new();
    struct results *rs = calloc(1, sizeof(*rs));
    int li[K_MAX];
    char err[256];

    for (int k = 0; k < K_MAX; k++)
        li[k] = add_listener(sv, (enum kind)k, LO(10 + (uint32_t)k));
    fill_queue(sv, li[K_FULL]);
    server_start(sv);
    /* A port on which nothing listens. */
    uint16_t refused_port;
    int tmp = listen_on(LO(40), &refused_port, 1);
    close(tmp);

    struct vt_grabber_config cfg = base_config(rs);
    struct vt_grabber *g = vt_grabber_new(&cfg, err, sizeof(err));
    assert_non_null(g);
    for (int k = 0; k < K_MAX; k++) {
        rs->r[k].added = now_ms();
        assert_int_equal(vt_grabber_add(g, sv->lis[li[k]].addr, sv->lis[li[k]].port, (uint64_t)k),
                         0);
    }
    rs->r[K_MAX].added = now_ms();
    assert_int_equal(vt_grabber_add(g, LO(40), refused_port, K_MAX), 0);
    assert_true(vt_grabber_min_ticket(g) == 0);
    run_until_done(g, 8000);

    expect(&rs->r[K_TELNET], "telnet", VT_GRAB_OK, "telnet", "telnet-login");
    assert_string_equal(rs->r[K_TELNET].banner, "(none) login:");
    assert_string_equal(part_of(&rs->r[K_TELNET], "telnet.banner"), "(none) login:");
    expect(&rs->r[K_HTTP], "http", VT_GRAB_OK, "http", "http-login");
    assert_string_equal(part_of(&rs->r[K_HTTP], "http_header.server"), "Hikvision-Webs");
    assert_string_equal(part_of(&rs->r[K_HTTP], "http_header.wwwauth"), "Basic realm=\"DVR\"");
    assert_string_equal(part_of(&rs->r[K_HTTP], "html_title"), "401 Unauthorized");
    expect(&rs->r[K_SSH], "ssh", VT_GRAB_OK, "ssh", NULL);
    assert_string_equal(rs->r[K_SSH].banner, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2");
    assert_string_equal(part_of(&rs->r[K_SSH], "ssh.banner"), "OpenSSH_9.2p1 Debian-2+deb12u2");
    /* echo -n hostkey-blob-000 | sha256sum, in base64 without padding */
    assert_string_equal(part_of(&rs->r[K_SSH], "ssh.hostkey"), SSH_FP);
    expect(&rs->r[K_ENDLESS], "endless stream", VT_GRAB_DEADLINE, "telnet", NULL);
    assert_true(rs->r[K_ENDLESS].banner_len > 0);
    expect(&rs->r[K_DRIP], "byte at a time", VT_GRAB_OK, "telnet", "telnet-login");
    assert_string_equal(rs->r[K_DRIP].banner, "(none) login:");
    expect(&rs->r[K_SILENT], "silent", VT_GRAB_IDLE, NULL, NULL);
    expect(&rs->r[K_HUGE_HEAD], "huge head", VT_GRAB_OK, "http", NULL);
    assert_string_equal(part_of(&rs->r[K_HUGE_HEAD], "http_header.server"), "huge/1.0");
    expect(&rs->r[K_GARBAGE], "garbage", VT_GRAB_OK, "unknown", NULL);
    assert_int_equal(rs->r[K_GARBAGE].banner_len, 512);
    expect(&rs->r[K_IAC_FLOOD], "IAC flood", VT_GRAB_DEADLINE, "telnet", NULL);
    expect(&rs->r[K_CLOSE], "close", VT_GRAB_CLOSED, NULL, NULL);
    expect(&rs->r[K_HOLD], "hold", VT_GRAB_OK, "telnet", "telnet-login");
    expect(&rs->r[K_FULL], "full accept queue", VT_GRAB_TIMEOUT, NULL, NULL);
    expect(&rs->r[K_MAX], "refused", VT_GRAB_REFUSED, NULL, NULL);
    for (int k = 0; k <= K_MAX; k++) {
        uint64_t took = rs->r[k].ended - rs->r[k].added;
        if (took > cfg.deadline_ms + 1000)
            fail_msg("grab %d took %llu ms, deadline %u", k, (unsigned long long)took,
                     cfg.deadline_ms);
    }
    /* The silent one waited first_wait and idle, no less. */
    assert_true(rs->r[K_SILENT].ended - rs->r[K_SILENT].added >=
                cfg.first_wait_ms + cfg.idle_timeout_ms);
    assert_true(vt_grabber_started(g) == K_MAX + 1);
    vt_grabber_free(g);
    server_free(sv);
    free(rs);
}

/* The flood's answers, seen at the server. */
static void test_iac_flood_answers_bounded(void **st)
{
    struct server *sv = server_new();
    struct results *rs = calloc(1, sizeof(*rs));
    char err[256];
    int li = add_listener(sv, K_IAC_FLOOD, LO(50));
    server_start(sv);
    struct vt_grabber_config cfg = base_config(rs);
    cfg.byte_cap = 1 << 20;
    cfg.deadline_ms = 1000;
    struct vt_grabber *g = vt_grabber_new(&cfg, err, sizeof(err));
    assert_non_null(g);
    assert_int_equal(vt_grabber_add(g, sv->lis[li].addr, sv->lis[li].port, 0), 0);
    run_until_done(g, 4000);
    expect(&rs->r[0], "IAC flood", VT_GRAB_DEADLINE, "telnet", NULL);
    vt_grabber_free(g);
    usleep(100 * 1000); /* the server sees the reset */
    pthread_mutex_lock(&sv->mu);
    size_t got = sv->answer_bytes_max;
    pthread_mutex_unlock(&sv->mu);
    assert_true(got > 0 && got <= 512);
    server_free(sv);
    free(rs);
}

/* 40 grabs through 3 slots, then 12 grabs of one host with per_host 2. */
static void test_concurrency_respected(void **st)
{
    struct server *sv = server_new();
    struct results *rs = calloc(1, sizeof(*rs));
    char err[256];
    int lis[40];

    for (int i = 0; i < 40; i++)
        lis[i] = add_listener(sv, K_HOLD, LO(60 + (uint32_t)i));
    server_start(sv);
    struct vt_grabber_config cfg = base_config(rs);
    cfg.concurrency = 3;
    struct vt_grabber *g = vt_grabber_new(&cfg, err, sizeof(err));
    assert_non_null(g);
    for (int i = 0; i < 40; i++)
        assert_int_equal(vt_grabber_add(g, sv->lis[lis[i]].addr, sv->lis[lis[i]].port, (uint64_t)i),
                         0);
    assert_int_equal(vt_grabber_pending(g), 40);
    run_until_done(g, 10000);
    for (int i = 0; i < 40; i++)
        expect(&rs->r[i], "hold", VT_GRAB_OK, "telnet", "telnet-login");
    pthread_mutex_lock(&sv->mu);
    int max_all = sv->max_open_all;
    pthread_mutex_unlock(&sv->mu);
    if (max_all > 3)
        fail_msg("%d connections at once, concurrency 3", max_all);
    assert_true(max_all >= 2);
    vt_grabber_free(g);
    server_free(sv);

    /* One host, many ports (one listener per port on one address). */
    sv = server_new();
    memset(rs, 0, sizeof(*rs));
    for (int i = 0; i < 12; i++)
        lis[i] = add_listener(sv, K_HOLD, LO(120));
    int other = add_listener(sv, K_TELNET, LO(121));
    server_start(sv);
    cfg = base_config(rs);
    cfg.concurrency = 10;
    cfg.per_host = 2;
    g = vt_grabber_new(&cfg, err, sizeof(err));
    assert_non_null(g);
    for (int i = 0; i < 12; i++)
        assert_int_equal(vt_grabber_add(g, LO(120), sv->lis[lis[i]].port, (uint64_t)i), 0);
    /* Another host queued behind them is not held up by the busy one. */
    assert_int_equal(vt_grabber_add(g, LO(121), sv->lis[other].port, 12), 0);
    run_until_done(g, 10000);
    for (int i = 0; i <= 12; i++)
        expect(&rs->r[i], "per host", VT_GRAB_OK, "telnet", "telnet-login");
    assert_true(rs->r[12].ended < rs->r[11].ended);
    pthread_mutex_lock(&sv->mu);
    max_all = sv->max_open_all;
    pthread_mutex_unlock(&sv->mu);
    if (max_all > 2 + 1)
        fail_msg("%d connections at once, per_host 2 (+1 other host)", max_all);
    vt_grabber_free(g);
    server_free(sv);
    free(rs);
}

/* A host answering on many ports: past host_cap grabs end as CAPPED at once
 * and the host is marked truncated. */
static void test_host_cap(void **st)
{
    struct server *sv = server_new();
    struct results *rs = calloc(1, sizeof(*rs));
    char err[256];
    int lis[10];

    for (int i = 0; i < 10; i++)
        lis[i] = add_listener(sv, K_TELNET, LO(130));
    server_start(sv);
    struct vt_grabber_config cfg = base_config(rs);
    cfg.host_cap = 4;
    struct vt_grabber *g = vt_grabber_new(&cfg, err, sizeof(err));
    assert_non_null(g);
    for (int i = 0; i < 10; i++)
        assert_int_equal(vt_grabber_add(g, LO(130), sv->lis[lis[i]].port, (uint64_t)i), 0);
    for (int i = 4; i < 10; i++) {
        expect(&rs->r[i], "capped", VT_GRAB_CAPPED, NULL, NULL);
        assert_true(rs->r[i].host_truncated);
    }
    assert_int_equal(vt_grabber_pending(g), 4);
    run_until_done(g, 5000);
    for (int i = 0; i < 4; i++) {
        expect(&rs->r[i], "under the cap", VT_GRAB_OK, "telnet", "telnet-login");
        assert_true(rs->r[i].host_truncated);
    }
    assert_int_equal(vt_grabber_started(g), 4);
    vt_grabber_free(g);
    server_free(sv);
    free(rs);
}

/* A full queue says so, and takes more after a poll. */
static void test_queue_full(void **st)
{
    struct server *sv = server_new();
    struct results *rs = calloc(1, sizeof(*rs));
    char err[256];
    int li = add_listener(sv, K_TELNET, LO(140));
    server_start(sv);
    struct vt_grabber_config cfg = base_config(rs);
    cfg.queue = 2;
    cfg.concurrency = 2;
    struct vt_grabber *g = vt_grabber_new(&cfg, err, sizeof(err));
    assert_non_null(g);
    assert_int_equal(vt_grabber_add(g, LO(140), sv->lis[li].port, 0), 0);
    assert_int_equal(vt_grabber_add(g, LO(140), sv->lis[li].port, 1), 0);
    assert_int_equal(vt_grabber_add(g, LO(140), sv->lis[li].port, 2), 1);
    vt_grabber_poll(g, 0); /* both start: the queue empties */
    assert_int_equal(vt_grabber_add(g, LO(140), sv->lis[li].port, 2), 0);
    run_until_done(g, 5000);
    for (int i = 0; i < 3; i++)
        expect(&rs->r[i], "queued", VT_GRAB_OK, "telnet", "telnet-login");
    vt_grabber_free(g);
    server_free(sv);
    free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_kind),
        cmocka_unit_test(test_iac_flood_answers_bounded),
        cmocka_unit_test(test_concurrency_respected),
        cmocka_unit_test(test_host_cap),
        cmocka_unit_test(test_queue_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
