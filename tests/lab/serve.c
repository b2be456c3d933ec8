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

enum conn_state { C_FREE, C_TELNET, C_HTTP, C_DRAIN };

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
    /* http */
    size_t in_len;
    bool head_only;
    /* output */
    size_t out_len, out_off;
    /* buffers last: a new connection clears only what comes before them */
    char in[1024];
    char out[2048];
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
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0),
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

static void http_answer(struct conn *c)
{
    char head[1024], body[1024];
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
        if (!c->asked_password) {
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
        } else if (c->state == C_HTTP && !c->last) {
            size_t room = sizeof(c->in) - c->in_len, take = (size_t)n < room ? (size_t)n : room;
            memcpy(c->in + c->in_len, buf, take);
            c->in_len += take;
            if (http_request_done(c)) {
                c->head_only = strncmp(c->in, "HEAD ", 5) == 0;
                http_answer(c);
            }
        }
        /* C_DRAIN, or input after the answer: discarded. */
    }
    if (conn_flush(s, idx) < 0)
        conn_close(s, idx);
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
        if (lab_port_is_telnet(pi)) {
            char greet[1024];
            int n = render_telnet(dev->type, &dev->ident, greet, sizeof(greet));
            c->state = C_TELNET;
            c->deadline_ms = now_ms() + TELNET_IDLE_MS;
            if (n > 0)
                queue_out(c, greet, (size_t)n);
            if (conn_flush(s, idx) < 0)
                conn_close(s, idx);
        } else {
            c->state = C_HTTP;
            c->deadline_ms = now_ms() + HTTP_WAIT_MS;
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
    uint64_t next_sweep = 0;
    int rc = 0;

    if (opts.max_conns == 0)
        opts.max_conns = DEFAULT_MAX_CONNS;
    if (server_init(&s, &opts) < 0) {
        server_free(&s);
        return -1;
    }
    for (;;) {
        int n = epoll_wait(s.epfd, events, 256, SWEEP_MS);
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
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    conn_readable(&s, idx);
                else if ((events[i].events & EPOLLOUT) && conn_flush(&s, idx) < 0)
                    conn_close(&s, idx);
            }
        }
        now = now_ms();
        if (now >= next_sweep) {
            sweep(&s);
            next_sweep = now + SWEEP_MS;
        }
    }
out:
    server_free(&s);
    return rc;
}
