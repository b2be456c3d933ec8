/*
 * serve.c: devsim's server (see serve.h).
 *
 * The kernel, not devsim, answers SYNs (SYN-ACK for open pairs, because devsim
 * listens on 0.0.0.0; nftables resets or drops the others), so devsim only sees
 * completed connections from banner grabbers. Each connection is a small state
 * machine in a fixed pool:
 *
 *   telnet: send negotiation + greeting + prompt; each line the client sends
 *           gets "Password: " then "Login incorrect"; three tries, then close.
 *   http:   wait for the request head (5 s at most, else close without a word),
 *           answer status line, headers and HTML body, close.
 *   shell:  a telnet type whose greeting ends in "~ # ": each line gets the
 *           prompt again (nothing is run); five lines, then close.
 *   ssh:    send the identification line, wait for the client's (10 s at
 *           most), then close 2 s later (no key exchange).
 *   hostile (catalogue.h's enum hostile_kind): streams (endless, slow,
 *           garbage, IAC flood, huge headers after the request) are written
 *           by a tick every TICK_MS, at most one chunk per period each, with
 *           non-blocking sends (EPOLLOUT when the socket is full), so a slow
 *           reader costs a slot, never the loop; silent and zero-window
 *           connections only hold a slot. Every hostile connection ends
 *           after HOSTILE_LIFE_MS ("forever" to a grabber with a 10 s
 *           deadline), and all of them share the max_conns pool.
 *
 * After its last byte a connection half-closes and drains input for a moment
 * before close(), so that unread input never turns the close into an RST that
 * would destroy the answer in flight. Timeouts are checked by a sweep every
 * SWEEP_MS; there is no per-connection timer.
 */
#define _GNU_SOURCE
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SWEEP_MS          250
#define TICK_MS           50    /* hostile streams are written on this tick */
#define SSH_WAIT_MS       10000 /* an SSH client that sends no identification line */
#define SSH_LINGER_MS     2000  /* after the client's line, close this much later */
#define SHELL_LINES       5
#define HOSTILE_LIFE_MS   60000
#define HUGE_HEADER_BYTES (1u << 20)
#define HTTP_WAIT_MS      5000  /* a client that sends no request within this is dropped */
#define TELNET_IDLE_MS    30000 /* a telnet client idle this long is dropped */
#define DRAIN_MS          2000  /* after the last byte, read and discard this long */
#define TELNET_TRIES      3
#define LISTEN_BACKLOG    65535
#define DEFAULT_MAX_CONNS 16384

/* epoll tags: what an event's data.u64 refers to. */
#define TAG_SIGNAL   0x100000000ull
#define TAG_LISTENER 0x200000000ull
#define TAG_CONN     0x300000000ull
#define TAG_MASK     0xf00000000ull

enum conn_state { C_FREE, C_TELNET, C_HTTP, C_SSH, C_STREAM, C_SILENT, C_DRAIN };

struct conn {
    int fd;
    enum conn_state state;
    const struct device *dev;
    uint64_t deadline_ms;
    bool want_out; /* EPOLLOUT registered */
    bool last;     /* half-close once out is written */
    /* telnet */
    unsigned tries;
    bool asked_password;
    int iac; /* input parser: 0 data, 1 IAC, 2 option byte, 3 subneg, 4 subneg IAC */
    bool after_cr;
    /* http, ssh */
    size_t in_len;
    bool head_only;
    bool got_line; /* ssh: the client's identification line came */
    /* hostile */
    bool no_read;          /* zero window: never read, watch only for the peer's FIN */
    uint64_t stream_pos;   /* bytes of the stream sent */
    uint64_t stream_total; /* 0: forever */
    uint64_t next_ms;      /* when the next chunk may go */
    unsigned budget;       /* bytes that may go now */
    /* output */
    size_t out_len, out_off;
    /* buffers last: a new connection clears only what comes before them */
    char in[1024];
    char out[4096];
};

/* devsim's one context: everything the server changes lives here. */
struct server {
    const struct serve_opts *opts;
    struct world world;
    int epfd, sigfd;
    int listen_fd[LAB_NPORTS];
    struct conn *conns;
    unsigned nconns, *free_list, nfree;
    uint64_t accepted, refused_full, unknown;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int read_epoch_file(const char *path, unsigned *epoch)
{
    FILE *f = fopen(path, "r");
    unsigned e;
    int n;

    if (f == NULL) {
        fprintf(stderr, "devsim: cannot open epoch file %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fscanf(f, "%u", &e);
    fclose(f);
    if (n != 1) {
        fprintf(stderr, "devsim: epoch file %s holds no number\n", path);
        return -1;
    }
    *epoch = e;
    return 0;
}

static int write_ready_file(const struct server *s)
{
    char tmp[4096];
    FILE *f;

    if (s->opts->ready_file == NULL)
        return 0;
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->opts->ready_file);
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "devsim: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "epoch %u\npid %ld\n", s->world.epoch, (long)getpid());
    if (fclose(f) != 0 || rename(tmp, s->opts->ready_file) != 0) {
        fprintf(stderr, "devsim: cannot write %s: %s\n", s->opts->ready_file, strerror(errno));
        return -1;
    }
    return 0;
}

static int load_epoch(struct server *s)
{
    unsigned epoch;
    char err[256];

    if (s->opts->epoch_file == NULL)
        epoch = s->opts->epoch;
    else if (read_epoch_file(s->opts->epoch_file, &epoch) < 0)
        return -1;
    if (world_set_epoch(&s->world, epoch, err, sizeof(err)) < 0) {
        fprintf(stderr, "devsim: epoch %u: %s\n", epoch, err);
        return -1;
    }
    fprintf(stderr, "devsim: serving epoch %u (%u devices)\n", epoch, s->world.ndev);
    return write_ready_file(s);
}

static int open_listener(uint16_t port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        fprintf(stderr, "devsim: socket: %s\n", strerror(errno));
        return -1;
    }
    sin.sin_addr.s_addr = htonl(INADDR_ANY);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        fprintf(stderr, "devsim: cannot listen on port %u: %s (is another devsim running?)\n", port,
                strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void conn_close(struct server *s, unsigned idx)
{
    struct conn *c = &s->conns[idx];
    if (c->state == C_FREE)
        return;
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->state = C_FREE;
    s->free_list[s->nfree++] = idx;
}

static int conn_watch(struct server *s, unsigned idx, bool want_out)
{
    struct conn *c = &s->conns[idx];
    struct epoll_event ev = {.events =
                                 (c->no_read ? EPOLLRDHUP : EPOLLIN) | (want_out ? EPOLLOUT : 0),
                             .data.u64 = TAG_CONN | idx};
    if (c->want_out == want_out)
        return 0;
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        fprintf(stderr, "devsim: epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    c->want_out = want_out;
    return 0;
}

static void queue_out(struct conn *c, const char *data, size_t len)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (len > sizeof(c->out) - c->out_len)
        len = sizeof(c->out) - c->out_len; /* never happens with the catalogue's sizes */
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

/* Writes what is queued; half-closes after the last byte. -1: close the connection. */
static int conn_flush(struct server *s, unsigned idx)
{
    struct conn *c = &s->conns[idx];
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return conn_watch(s, idx, true);
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (size_t)n;
    }
    if (conn_watch(s, idx, false) < 0)
        return -1;
    if (c->last && c->state != C_DRAIN) {
        if (shutdown(c->fd, SHUT_WR) < 0)
            return -1;
        c->state = C_DRAIN;
        c->deadline_ms = now_ms() + DRAIN_MS;
    }
    return 0;
}

static void stream_start(struct conn *c);

static void http_answer(struct conn *c)
{
    char head[1024], body[2048];
    if (c->dev->type->hostile == HOSTILE_HUGE_HEADERS) {
        stream_start(c);
        return;
    }
    int blen = render_http_body(c->dev->type, &c->dev->ident, body, sizeof(body));
    int hlen =
        blen < 0 ? -1
                 : render_http_head(c->dev->type, &c->dev->ident, (size_t)blen, head, sizeof(head));
    if (hlen > 0) {
        queue_out(c, head, (size_t)hlen);
        if (!c->head_only)
            queue_out(c, body, (size_t)blen);
    }
    c->last = true;
}

/* Has the request head arrived (blank line), or has the buffer filled? */
static bool http_request_done(struct conn *c)
{
    if (c->in_len == sizeof(c->in))
        return true;
    c->in[c->in_len] = '\0';
    return strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL;
}

/* The telnet prompt to repeat after a failed login: the greeting's last line. */
static void telnet_reprompt(struct conn *c)
{
    char text[1024];
    const char *nl;
    int len = render_telnet_text(c->dev->type, &c->dev->ident, text, sizeof(text));
    if (len < 0)
        return;
    nl = strrchr(text, '\n');
    queue_out(c, "\r\nLogin incorrect\r\n", 19);
    queue_out(c, nl != NULL ? nl + 1 : text, strlen(nl != NULL ? nl + 1 : text));
}

/* Feeds client bytes to the telnet state machine; answers complete lines. */
static void telnet_input(struct conn *c, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && !c->last; i++) {
        unsigned char b = p[i];
        switch (c->iac) {
        case 1: /* after IAC */
            c->iac = b == 250 ? 3 : (b >= 251 && b <= 254) ? 2 : 0;
            continue;
        case 2: /* option of WILL/WONT/DO/DONT */
            c->iac = 0;
            continue;
        case 3: /* subnegotiation, until IAC SE */
            c->iac = b == 255 ? 4 : 3;
            continue;
        case 4:
            c->iac = b == 240 ? 0 : 3;
            continue;
        default:
            break;
        }
        if (b == 255) {
            c->iac = 1;
            continue;
        }
        if ((b == '\n' || b == '\0') && c->after_cr) {
            c->after_cr = false;
            continue;
        }
        c->after_cr = b == '\r';
        if (b != '\r' && b != '\n')
            continue;
        if (c->dev->type->shell) {
            if (++c->tries >= SHELL_LINES) {
                queue_out(c, "\r\nexit\r\n", 8);
                c->last = true;
            } else {
                queue_out(c, "\r\n~ # ", 7);
            }
        } else if (!c->asked_password) {
            queue_out(c, "\r\nPassword: ", 12);
            c->asked_password = true;
        } else if (++c->tries >= TELNET_TRIES) {
            queue_out(c, "\r\nLogin incorrect\r\n", 19);
            c->last = true;
        } else {
            telnet_reprompt(c);
            c->asked_password = false;
        }
    }
}

/* How a hostile stream goes: chunk bytes per period_ms, total bytes in all (0: forever). */
struct stream_rate {
    unsigned chunk, period_ms;
};

static struct stream_rate stream_rate(enum hostile_kind k)
{
    switch (k) {
    case HOSTILE_SLOW:
        return (struct stream_rate){1, 300};
    case HOSTILE_HUGE_HEADERS:
        return (struct stream_rate){65536, 100};
    case HOSTILE_GARBAGE:
        return (struct stream_rate){8192, 100};
    case HOSTILE_IAC_FLOOD:
        return (struct stream_rate){3072, 100};
    default:
        return (struct stream_rate){4096, 100};
    }
}

static const char endless_text[] = "The quick brown fox jumps over the lazy dog. 0123456789\r\n";
static const char slow_text[] = "Please wait, the device is starting...\r\n";
static const char huge_prefix[] = "HTTP/1.1 200 OK\r\nServer: lab-huge-headers\r\n";
static const char huge_line[] = /* 64 bytes */
    "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
static const char huge_tail[] = "Content-Type: text/html\r\nContent-Length: 0\r\nConnection: "
                                "close\r\n\r\n";

/* Byte pos of the device's hostile stream; a function of (kind, device, pos) alone,
 * so a partial send needs no buffer. */
static unsigned char stream_byte(const struct conn *c, uint64_t pos)
{
    switch (c->dev->type->hostile) {
    case HOSTILE_SLOW:
        return (unsigned char)slow_text[pos % (sizeof(slow_text) - 1)];
    case HOSTILE_GARBAGE: {
        uint64_t z = (pos >> 3) * 0x9e3779b97f4a7c15ull + c->dev->id + 1;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return (unsigned char)((z ^ (z >> 31)) >> (8 * (pos & 7)));
    }
    case HOSTILE_IAC_FLOOD: {
        /* IAC DO/DONT/WILL/WONT over options 0..39, three bytes a command */
        uint64_t k = pos / 3;
        return pos % 3 == 0   ? 255
               : pos % 3 == 1 ? (unsigned char)(251 + k % 4)
                              : (unsigned char)((k / 4) % 40);
    }
    case HOSTILE_HUGE_HEADERS:
        if (pos < sizeof(huge_prefix) - 1)
            return (unsigned char)huge_prefix[pos];
        pos -= sizeof(huge_prefix) - 1;
        if (pos < HUGE_HEADER_BYTES)
            return (unsigned char)huge_line[pos % (sizeof(huge_line) - 1)];
        pos -= HUGE_HEADER_BYTES;
        return pos < sizeof(huge_tail) - 1 ? (unsigned char)huge_tail[pos] : '\n';
    default:
        return (unsigned char)endless_text[pos % (sizeof(endless_text) - 1)];
    }
}

static void stream_start(struct conn *c)
{
    c->state = C_STREAM;
    c->stream_pos = 0;
    c->stream_total = c->dev->type->hostile == HOSTILE_GARBAGE ? 65536
                      : c->dev->type->hostile == HOSTILE_HUGE_HEADERS
                          ? sizeof(huge_prefix) - 1 + HUGE_HEADER_BYTES + sizeof(huge_tail) - 1
                          : 0;
    c->budget = 0;
    c->next_ms = 0; /* the next tick sends the first chunk */
    c->deadline_ms = now_ms() + HOSTILE_LIFE_MS;
}

/* Sends what the stream's budget allows without blocking. -1: close the connection. */
static int stream_pump(struct server *s, unsigned idx)
{
    struct conn *c = &s->conns[idx];
    unsigned char buf[16384];

    while (c->budget > 0 && (c->stream_total == 0 || c->stream_pos < c->stream_total)) {
        size_t n = c->budget < sizeof(buf) ? c->budget : sizeof(buf);
        ssize_t w;
        if (c->stream_total != 0 && n > c->stream_total - c->stream_pos)
            n = (size_t)(c->stream_total - c->stream_pos);
        for (size_t k = 0; k < n; k++)
            buf[k] = stream_byte(c, c->stream_pos + k);
        w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return conn_watch(s, idx, true);
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->stream_pos += (uint64_t)w;
        c->budget -= (unsigned)w;
    }
    if (conn_watch(s, idx, false) < 0)
        return -1;
    if (c->stream_total != 0 && c->stream_pos >= c->stream_total) {
        if (shutdown(c->fd, SHUT_WR) < 0)
            return -1;
        c->state = C_DRAIN;
        c->deadline_ms = now_ms() + DRAIN_MS;
    }
    return 0;
}

/* Writes what is due: the queued answer, or a hostile stream's budget. */
static int conn_output(struct server *s, unsigned idx)
{
    return s->conns[idx].state == C_STREAM ? stream_pump(s, idx) : conn_flush(s, idx);
}

/* Gives each hostile stream whose period has come one chunk of budget (never more:
 * a reader that fell behind does not get a burst). */
static void hostile_tick(struct server *s)
{
    uint64_t now = now_ms();
    for (unsigned i = 0; i < s->nconns; i++) {
        struct conn *c = &s->conns[i];
        struct stream_rate r;
        if (c->state != C_STREAM || c->next_ms > now)
            continue;
        r = stream_rate(c->dev->type->hostile);
        c->budget = r.chunk;
        c->next_ms = now + r.period_ms;
        if (stream_pump(s, i) < 0)
            conn_close(s, i);
    }
}

static void conn_readable(struct server *s, unsigned idx)
{
    struct conn *c = &s->conns[idx];
    char buf[2048];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0) {
            /* Peer closed its side: an HTTP request without a blank line still gets
             * its answer; everyone else is done. */
            if (c->state == C_HTTP && c->in_len > 0 && !c->last) {
                http_answer(c);
                break;
            }
            conn_close(s, idx);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            conn_close(s, idx);
            return;
        }
        if (c->state == C_TELNET) {
            telnet_input(c, (unsigned char *)buf, (size_t)n);
            c->deadline_ms = now_ms() + TELNET_IDLE_MS;
        } else if (c->state == C_SSH && !c->got_line) {
            for (ssize_t k = 0; k < n && !c->got_line; k++)
                if (buf[k] == '\n' || ++c->in_len >= 255) /* RFC 4253: 255 bytes at most */
                    c->got_line = true;
            if (c->got_line)
                c->deadline_ms = now_ms() + SSH_LINGER_MS;
        } else if (c->state == C_HTTP && !c->last) {
            size_t room = sizeof(c->in) - c->in_len, take = (size_t)n < room ? (size_t)n : room;
            memcpy(c->in + c->in_len, buf, take);
            c->in_len += take;
            if (http_request_done(c)) {
                c->head_only = strncmp(c->in, "HEAD ", 5) == 0;
                http_answer(c);
            }
        }
        /* C_DRAIN, C_STREAM, C_SILENT, or input after the answer: discarded. */
    }
    if (conn_output(s, idx) < 0)
        conn_close(s, idx);
}

/* A new connection to a hostile type: its misbehaviour starts here. */
static void accept_hostile(struct server *s, unsigned idx)
{
    struct conn *c = &s->conns[idx];
    int one = 1;

    switch (c->dev->type->hostile) {
    case HOSTILE_HUGE_HEADERS: /* waits for the request, as HTTP does */
        c->state = C_HTTP;
        c->deadline_ms = now_ms() + HTTP_WAIT_MS;
        return;
    case HOSTILE_ZERO_WINDOW:
        /* The smallest receive buffer the kernel allows (it rounds 1 up), and no
         * EPOLLIN: what the client sends stays unread until we close. */
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
        c->no_read = true;
        c->want_out = true; /* force conn_watch to re-register without EPOLLIN */
        if (conn_watch(s, idx, false) < 0) {
            conn_close(s, idx);
            return;
        }
        /* fall through */
    case HOSTILE_SILENT:
        c->state = C_SILENT;
        c->deadline_ms = now_ms() + HOSTILE_LIFE_MS;
        return;
    default:
        stream_start(c);
        return;
    }
}

static void accept_all(struct server *s, unsigned pi)
{
    for (;;) {
        struct sockaddr_in local;
        socklen_t len = sizeof(local);
        const struct device *dev;
        struct epoll_event ev;
        struct conn *c;
        unsigned idx;
        int fd = accept4(s->listen_fd[pi], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "devsim: accept on port %u: %s\n", lab_ports[pi], strerror(errno));
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;
        }
        s->accepted++;
        if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
            close(fd);
            continue;
        }
        dev = world_device_at(&s->world, ntohl(local.sin_addr.s_addr));
        if (dev == NULL || !(dev->type->ports & (1u << pi))) {
            /* nftables lets only open pairs through; this is an epoch switch race or
             * a connection to a lab router address. Nobody home. */
            s->unknown++;
            close(fd);
            continue;
        }
        if (s->nfree == 0) {
            s->refused_full++;
            close(fd);
            continue;
        }
        idx = s->free_list[--s->nfree];
        c = &s->conns[idx];
        memset(c, 0, offsetof(struct conn, in));
        c->fd = fd;
        c->dev = dev;
        ev.events = EPOLLIN;
        ev.data.u64 = TAG_CONN | idx;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            fprintf(stderr, "devsim: epoll_ctl: %s\n", strerror(errno));
            c->state = C_TELNET; /* so that conn_close frees it */
            conn_close(s, idx);
            continue;
        }
        switch (lab_service_proto(dev->type, pi)) {
        case PROTO_TELNET: {
            char greet[1024];
            int n = render_telnet(dev->type, &dev->ident, greet, sizeof(greet));
            c->state = C_TELNET;
            c->deadline_ms = now_ms() + TELNET_IDLE_MS;
            if (n > 0)
                queue_out(c, greet, (size_t)n);
            if (conn_flush(s, idx) < 0)
                conn_close(s, idx);
            break;
        }
        case PROTO_SSH:
            c->state = C_SSH;
            c->deadline_ms = now_ms() + SSH_WAIT_MS;
            queue_out(c, dev->type->ssh, strlen(dev->type->ssh));
            queue_out(c, "\r\n", 2);
            if (conn_flush(s, idx) < 0)
                conn_close(s, idx);
            break;
        case PROTO_HOSTILE:
            accept_hostile(s, idx);
            break;
        default:
            c->state = C_HTTP;
            c->deadline_ms = now_ms() + HTTP_WAIT_MS;
            break;
        }
    }
}

static void sweep(struct server *s)
{
    uint64_t now = now_ms();
    for (unsigned i = 0; i < s->nconns; i++)
        if (s->conns[i].state != C_FREE && s->conns[i].deadline_ms <= now)
            conn_close(s, i);
}

/* Returns 1 to stop, 0 to go on. */
static int on_signal(struct server *s)
{
    struct signalfd_siginfo si;
    ssize_t n = read(s->sigfd, &si, sizeof(si));

    if (n != (ssize_t)sizeof(si))
        return 0;
    if (si.ssi_signo == SIGHUP) {
        if (load_epoch(s) < 0)
            fprintf(stderr, "devsim: reload failed; still serving epoch %u\n", s->world.epoch);
        return 0;
    }
    fprintf(stderr, "devsim: stopping (accepted %llu, unknown address %llu, pool full %llu)\n",
            (unsigned long long)s->accepted, (unsigned long long)s->unknown,
            (unsigned long long)s->refused_full);
    return 1;
}

static int server_init(struct server *s, const struct serve_opts *o)
{
    struct epoll_event ev;
    struct rlimit rl;
    sigset_t mask;
    char err[256];

    s->opts = o;
    s->epfd = s->sigfd = -1;
    for (unsigned i = 0; i < LAB_NPORTS; i++)
        s->listen_fd[i] = -1;
    if (world_build(&s->world, &o->params, err, sizeof(err)) < 0) {
        fprintf(stderr, "devsim: %s\n", err);
        return -1;
    }
    /* Room for every connection's descriptor. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o->max_conns + 64) {
        rl.rlim_cur = rl.rlim_max < o->max_conns + 64 ? rl.rlim_max : o->max_conns + 64;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            fprintf(stderr, "devsim: cannot raise the descriptor limit: %s\n", strerror(errno));
    }
    s->nconns = o->max_conns;
    s->conns = calloc(s->nconns, sizeof(*s->conns));
    s->free_list = malloc(s->nconns * sizeof(*s->free_list));
    if (s->conns == NULL || s->free_list == NULL) {
        fprintf(stderr, "devsim: out of memory for %u connections\n", s->nconns);
        return -1;
    }
    for (unsigned i = 0; i < s->nconns; i++)
        s->free_list[s->nfree++] = s->nconns - 1 - i;

    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
        (s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        (s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        fprintf(stderr, "devsim: cannot set up the event loop: %s\n", strerror(errno));
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.u64 = TAG_SIGNAL;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sigfd, &ev) < 0) {
        fprintf(stderr, "devsim: epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    for (unsigned i = 0; i < LAB_NPORTS; i++) {
        s->listen_fd[i] = open_listener(lab_ports[i]);
        if (s->listen_fd[i] < 0)
            return -1;
        ev.events = EPOLLIN;
        ev.data.u64 = TAG_LISTENER | i;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd[i], &ev) < 0) {
            fprintf(stderr, "devsim: epoll_ctl: %s\n", strerror(errno));
            return -1;
        }
    }
    return load_epoch(s);
}

static void server_free(struct server *s)
{
    for (unsigned i = 0; s->conns != NULL && i < s->nconns; i++)
        if (s->conns[i].state != C_FREE)
            close(s->conns[i].fd);
    for (unsigned i = 0; i < LAB_NPORTS; i++)
        if (s->listen_fd[i] >= 0)
            close(s->listen_fd[i]);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->sigfd >= 0)
        close(s->sigfd);
    free(s->conns);
    free(s->free_list);
    world_free(&s->world);
}

int serve_run(const struct serve_opts *o)
{
    struct serve_opts opts = *o;
    struct server s = {0};
    struct epoll_event events[256];
    uint64_t next_sweep = 0, next_tick = 0;
    int rc = 0;

    if (opts.max_conns == 0)
        opts.max_conns = DEFAULT_MAX_CONNS;
    if (server_init(&s, &opts) < 0) {
        server_free(&s);
        return -1;
    }
    for (;;) {
        int n = epoll_wait(s.epfd, events, 256, TICK_MS);
        uint64_t now;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "devsim: epoll_wait: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64 & TAG_MASK;
            unsigned idx = (unsigned)(events[i].data.u64 & 0xffffffffu);
            if (tag == TAG_SIGNAL) {
                if (on_signal(&s))
                    goto out;
            } else if (tag == TAG_LISTENER) {
                accept_all(&s, idx);
            } else if (s.conns[idx].state != C_FREE) {
                if (s.conns[idx].no_read && (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                    conn_close(&s, idx); /* zero window: the peer gave up */
                else if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    conn_readable(&s, idx);
                else if ((events[i].events & EPOLLOUT) && conn_output(&s, idx) < 0)
                    conn_close(&s, idx);
            }
        }
        now = now_ms();
        if (now >= next_tick) {
            hostile_tick(&s);
            next_tick = now + TICK_MS;
        }
        if (now >= next_sweep) {
            sweep(&s);
            next_sweep = now + SWEEP_MS;
        }
    }
out:
    server_free(&s);
    return rc;
}
