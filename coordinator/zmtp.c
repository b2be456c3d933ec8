/* zmtp.c: a ZeroMQ REQ socket over a Unix stream socket, for the CLI. See
 * zmtp.h for what it speaks and why it is not libzmq. */
#include "zmtp.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Flag bits of a frame header (spec:23, "Framing"); the other five are reserved. */
enum { F_MORE = 0x01, F_LONG = 0x02, F_COMMAND = 0x04, F_RESERVED = 0xf8 };

#define MECHANISM_AT  12 /* the mechanism's 20 bytes, NUL-padded */
#define MECHANISM_LEN 20

/* ---- the parsers ---- */

int vt_zmtp_greeting_check(const uint8_t g[VT_ZMTP_GREETING], char *err, size_t errlen)
{
    /* Bit 0 of byte 9 set is how a ZMTP 2+ peer tells itself from a 1.0 one. */
    if (g[0] != 0xff || !(g[9] & 0x01)) {
        snprintf(err, errlen, "the peer does not speak ZMTP (is the path a ZeroMQ socket?)");
        return -1;
    }
    if (g[10] < 3) {
        snprintf(err, errlen, "the peer speaks ZMTP %u.%u; the CLI needs 3.0 or later", g[10],
                 g[11]);
        return -1;
    }
    static const uint8_t null_mech[MECHANISM_LEN] = "NULL";
    if (memcmp(g + MECHANISM_AT, null_mech, MECHANISM_LEN) != 0) {
        char mech[MECHANISM_LEN + 1];
        size_t i;
        for (i = 0; i < MECHANISM_LEN && g[MECHANISM_AT + i] >= 0x21 && g[MECHANISM_AT + i] < 0x7f;
             i++)
            mech[i] = (char)g[MECHANISM_AT + i];
        mech[i] = '\0';
        snprintf(err, errlen,
                 "the peer asks for the %s mechanism, not NULL (is this the workers' socket, not "
                 "the control socket?)",
                 i ? mech : "(unprintable)");
        return -1;
    }
    return 0;
}

int vt_zmtp_head_parse(const uint8_t *p, size_t n, uint64_t max, struct vt_zmtp_head *h, char *err,
                       size_t errlen)
{
    if (n < 2)
        return 0;
    if (p[0] & F_RESERVED) {
        snprintf(err, errlen, "a frame with reserved flags 0x%02x set", p[0]);
        return -1;
    }
    size_t hl = p[0] & F_LONG ? 9 : 2;
    if (n < hl)
        return 0;
    uint64_t size = 0;
    for (size_t i = 1; i < hl; i++)
        size = size << 8 | p[i];
    h->more = p[0] & F_MORE;
    h->command = p[0] & F_COMMAND;
    h->size = size;
    if (h->command && h->more) {
        snprintf(err, errlen, "a command frame marked MORE");
        return -1;
    }
    if (size > max) {
        snprintf(err, errlen, "a frame of %llu bytes, more than the %llu the CLI takes",
                 (unsigned long long)size, (unsigned long long)max);
        return -1;
    }
    return (int)hl;
}

/* The command's name (1 byte of length, then the name) matches name. */
static bool command_is(const uint8_t *body, size_t n, const char *name)
{
    size_t len = strlen(name);
    return n >= 1 + len && body[0] == len && !memcmp(body + 1, name, len);
}

int vt_zmtp_ready_check(const uint8_t *body, size_t n, const char *want, char *err, size_t errlen)
{
    if (command_is(body, n, "ERROR")) {
        /* ERROR: a reason of 1 byte of length and at most 255 bytes. */
        size_t len = n > 6 ? body[6] : 0;
        if (len > n - 7)
            len = n > 7 ? n - 7 : 0;
        char why[256];
        size_t k = 0;
        for (size_t i = 0; i < len; i++)
            why[k++] = body[7 + i] >= 0x20 && body[7 + i] < 0x7f ? (char)body[7 + i] : '?';
        why[k] = '\0';
        snprintf(err, errlen, "the peer refused the connection: %s", k ? why : "no reason given");
        return -1;
    }
    if (!command_is(body, n, "READY")) {
        snprintf(err, errlen, "the peer's first command is not READY");
        return -1;
    }
    /* Properties: a name (1 byte of length, at least 1) and a value (4 bytes
     * of length, big-endian), until the body ends. */
    bool typed = false;
    for (size_t at = 6; at < n;) {
        size_t name_len = body[at];
        if (name_len == 0 || n - at - 1 < name_len + 4) {
            snprintf(err, errlen, "the peer's READY is malformed");
            return -1;
        }
        const uint8_t *name = body + at + 1;
        const uint8_t *v = name + name_len;
        uint64_t value_len =
            (uint64_t)v[0] << 24 | (uint64_t)v[1] << 16 | (uint64_t)v[2] << 8 | v[3];
        at += 1 + name_len + 4;
        if (value_len > n - at) {
            snprintf(err, errlen, "the peer's READY is malformed");
            return -1;
        }
        if (name_len == 11 && !strncasecmp((const char *)name, "Socket-Type", 11)) {
            size_t wl = strlen(want);
            if (value_len != wl || memcmp(v + 4, want, wl) != 0) {
                char got[16];
                size_t k = 0;
                for (; k < value_len && k < sizeof got - 1; k++)
                    got[k] = v[4 + k] >= 0x20 && v[4 + k] < 0x7f ? (char)v[4 + k] : '?';
                got[k] = '\0';
                snprintf(err, errlen, "the peer is a %s socket, not %s", got, want);
                return -1;
            }
            typed = true;
        }
        at += value_len;
    }
    if (!typed) {
        snprintf(err, errlen, "the peer's READY names no Socket-Type");
        return -1;
    }
    return 0;
}

/* ---- waiting ---- */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void arm(struct vt_zmtp *z, int timeout_ms)
{
    z->deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
}

/* Waits for events on z->fd until the deadline: 1, 0 on timeout, -1 on error. */
static int wait_for(struct vt_zmtp *z, short events)
{
    for (;;) {
        int64_t left = z->deadline - now_ms();
        struct pollfd p = {.fd = z->fd, .events = events};
        int r = poll(&p, 1, left > 0 ? (int)(left > 60000 ? 60000 : left) : 0);
        if (r > 0)
            return 1;
        if (r == 0 && left <= 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

enum io { IO_OK = 0, IO_FAIL = -1, IO_TIMEOUT = -2 };

/* what: what we were doing, "shaking hands"; e: errno, 0 for EOF. */
static int io_fail(char *err, size_t errlen, const char *what, int e)
{
    if (e == 0 || e == ECONNRESET || e == EPIPE)
        snprintf(err, errlen, "the coordinator closed the connection while %s", what);
    else
        snprintf(err, errlen, "error while %s: %s", what, strerror(e));
    return IO_FAIL;
}

/* After a send or recv that moved nothing (-1 with errno set): IO_OK to try
 * again (EINTR, or the socket became ready), IO_TIMEOUT, or IO_FAIL. */
static int io_retry(struct vt_zmtp *z, short events, const char *what, char *err, size_t errlen)
{
    if (errno == EINTR)
        return IO_OK;
    if (errno != EAGAIN)
        return io_fail(err, errlen, what, errno);
    int r = wait_for(z, events);
    if (r > 0)
        return IO_OK;
    return r == 0 ? IO_TIMEOUT : io_fail(err, errlen, what, errno);
}

static int write_all(struct vt_zmtp *z, const void *data, size_t len, const char *what, char *err,
                     size_t errlen)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = send(z->fd, p, len, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w == 0) /* nothing taken: wait as for a full buffer */
            errno = EAGAIN;
        int r = io_retry(z, POLLOUT, what, err, errlen);
        if (r != IO_OK)
            return r;
    }
    return IO_OK;
}

/* Reads len bytes into dst (NULL: into the buffer only, len <= its size,
 * then at z->buf + z->pos), from what is buffered first. */
static int read_exact(struct vt_zmtp *z, uint8_t *dst, size_t len, const char *what, char *err,
                      size_t errlen)
{
    assert(dst || len <= sizeof z->buf);
    if (!dst && z->len - z->pos < len && z->pos) { /* make room at the front */
        memmove(z->buf, z->buf + z->pos, z->len - z->pos);
        z->len -= z->pos;
        z->pos = 0;
    }
    for (;;) {
        size_t have = z->len - z->pos;
        if (dst && have) {
            size_t k = have < len ? have : len;
            memcpy(dst, z->buf + z->pos, k);
            z->pos += k;
            dst += k;
            len -= k;
            have -= k;
        }
        if (dst ? len == 0 : have >= len)
            return IO_OK;
        /* Large bodies go straight to dst; headers and small bodies through buf. */
        uint8_t *into = dst && len >= sizeof z->buf ? dst : z->buf + z->len;
        size_t room = into == dst ? len : sizeof z->buf - z->len;
        if (into != dst && z->pos == z->len) { /* all used: start again at the front */
            z->pos = z->len = 0;
            into = z->buf;
            room = sizeof z->buf;
        }
        ssize_t r = recv(z->fd, into, room, 0);
        if (r > 0) {
            if (into == dst)
                dst += r, len -= (size_t)r;
            else
                z->len += (size_t)r;
            continue;
        }
        if (r == 0)
            return io_fail(err, errlen, what, 0);
        int again = io_retry(z, POLLIN, what, err, errlen);
        if (again != IO_OK)
            return again;
    }
}

/* Reads one frame: its header into h and its body into *body (malloc'ed,
 * NUL-terminated). A frame over z->max_frame is refused before its body. */
static int read_frame(struct vt_zmtp *z, struct vt_zmtp_head *h, char **body, const char *what,
                      char *err, size_t errlen)
{
    int hl;
    for (size_t need = 2;; need = 9) {
        int r = read_exact(z, NULL, need, what, err, errlen);
        if (r != IO_OK)
            return r;
        hl = vt_zmtp_head_parse(z->buf + z->pos, z->len - z->pos, z->max_frame, h, err, errlen);
        if (hl < 0)
            return IO_FAIL;
        if (hl > 0)
            break;
    }
    z->pos += (size_t)hl;
    char *b = malloc(h->size + 1);
    if (!b) {
        snprintf(err, errlen, "out of memory for a frame of %llu bytes",
                 (unsigned long long)h->size);
        return IO_FAIL;
    }
    int r = read_exact(z, (uint8_t *)b, h->size, what, err, errlen);
    if (r != IO_OK) {
        free(b);
        return r;
    }
    b[h->size] = '\0';
    *body = b;
    return IO_OK;
}

/* ---- the connection ---- */

static int timed_out(char *err, size_t errlen, const char *what, int timeout_ms)
{
    snprintf(err, errlen, "the coordinator did not %s within %.1f s", what, timeout_ms / 1000.0);
    return -1;
}

int vt_zmtp_handshake(struct vt_zmtp *z, int fd, int timeout_ms, uint64_t max_frame, char *err,
                      size_t errlen)
{
    z->fd = fd;
    z->pos = z->len = 0;
    z->max_frame = max_frame;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        snprintf(err, errlen, "cannot set up the control connection: %s", strerror(errno));
        goto fail;
    }
    arm(z, timeout_ms);
    /* Ours: signature, version 3.0, mechanism NULL, as-server 0, filler. */
    uint8_t g[VT_ZMTP_GREETING] = {0xff, [9] = 0x7f, [10] = 3, [11] = 0};
    memcpy(g + MECHANISM_AT, "NULL", 4);
    int r = write_all(z, g, sizeof g, "shaking hands", err, errlen);
    if (r == IO_OK)
        r = read_exact(z, NULL, sizeof g, "shaking hands", err, errlen);
    if (r == IO_TIMEOUT)
        goto late;
    if (r != IO_OK || vt_zmtp_greeting_check(z->buf + z->pos, err, errlen) != 0)
        goto fail;
    z->pos += sizeof g;

    /* READY with our Socket-Type, and the empty Identity libzmq's REQ sends. */
    static const uint8_t ready[] = {F_COMMAND, 38,  5,   'R', 'E', 'A', 'D', 'Y', 11,  'S',
                                    'o',       'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e',
                                    0,         0,   0,   3,   'R', 'E', 'Q', 8,   'I', 'd',
                                    'e',       'n', 't', 'i', 't', 'y', 0,   0,   0,   0};
    static_assert(sizeof ready == 2 + 38, "READY's size byte");
    r = write_all(z, ready, sizeof ready, "shaking hands", err, errlen);
    struct vt_zmtp_head h;
    char *body = NULL;
    if (r == IO_OK)
        r = read_frame(z, &h, &body, "shaking hands", err, errlen);
    if (r == IO_TIMEOUT)
        goto late;
    if (r != IO_OK)
        goto fail;
    if (!h.command) {
        snprintf(err, errlen, "the peer sent a message before its READY");
        free(body);
        goto fail;
    }
    r = vt_zmtp_ready_check((const uint8_t *)body, h.size, "REP", err, errlen);
    free(body);
    if (r != 0)
        goto fail;
    return 0;
late:
    timed_out(err, errlen, "shake hands", timeout_ms);
fail:
    vt_zmtp_close(z);
    return -1;
}

int vt_zmtp_connect(struct vt_zmtp *z, const char *path, int timeout_ms, uint64_t max_frame,
                    char *err, size_t errlen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof a.sun_path) {
        snprintf(err, errlen, "the control socket path is longer than %zu bytes",
                 sizeof a.sun_path - 1);
        return -1;
    }
    memcpy(a.sun_path, path, n);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (path[0] == '@') /* the abstract namespace, as libzmq spells it */
        a.sun_path[0] = '\0';
    else
        alen++; /* the NUL */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot make a socket: %s", strerror(errno));
        return -1;
    }
    /* A Unix connect completes at once or, with the listener's backlog full
     * (a daemon that stopped accepting), fails EAGAIN: retry to the deadline. */
    int64_t end = now_ms() + timeout_ms;
    while (connect(fd, (struct sockaddr *)&a, alen) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN && now_ms() < end) {
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
            continue;
        }
        if (errno == ECONNREFUSED)
            snprintf(err, errlen,
                     "nothing listens on %s (a socket file left by a daemon that stopped?)", path);
        else if (errno == EAGAIN)
            snprintf(err, errlen, "the coordinator accepted no connection within %.1f s",
                     timeout_ms / 1000.0);
        else
            snprintf(err, errlen, "cannot connect to the control socket %s: %s", path,
                     strerror(errno));
        close(fd);
        return -1;
    }
    int64_t left = end - now_ms();
    return vt_zmtp_handshake(z, fd, left > 0 ? (int)left : 0, max_frame, err, errlen);
}

int vt_zmtp_send(struct vt_zmtp *z, const void *data, size_t len, int timeout_ms, char *err,
                 size_t errlen)
{
    arm(z, timeout_ms);
    uint8_t head[2 + 9] = {F_MORE, 0}; /* the empty delimiter REQ puts first */
    size_t hl = 2;
    if (len <= 255) {
        head[hl++] = 0;
        head[hl++] = (uint8_t)len;
    } else {
        head[hl++] = F_LONG;
        for (int i = 7; i >= 0; i--)
            head[hl++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    int r = write_all(z, head, hl, "sending the request", err, errlen);
    if (r == IO_OK)
        r = write_all(z, data, len, "sending the request", err, errlen);
    if (r == IO_TIMEOUT)
        return timed_out(err, errlen, "take the request", timeout_ms);
    return r == IO_OK ? 0 : -1;
}

int vt_zmtp_recv(struct vt_zmtp *z, struct vt_zmtp_frame *f, size_t nmax, size_t *n, int timeout_ms,
                 bool *timed, char *err, size_t errlen)
{
    *n = 0;
    *timed = false;
    arm(z, timeout_ms);
    bool delimited = false;
    for (;;) {
        struct vt_zmtp_head h;
        char *body = NULL;
        int r = read_frame(z, &h, &body, "reading its reply", err, errlen);
        if (r == IO_TIMEOUT) {
            *timed = true;
            snprintf(err, errlen, "no reply within %.1f s", timeout_ms / 1000.0);
        }
        if (r != IO_OK)
            goto fail;
        if (h.command) { /* PING and the like, between messages only */
            free(body);
            if (delimited) {
                snprintf(err, errlen, "a command inside the coordinator's reply");
                goto fail;
            }
            continue;
        }
        if (!delimited) {
            free(body);
            if (h.size != 0 || !h.more) {
                snprintf(err, errlen, "a reply without the empty frame a REP socket puts first");
                goto fail;
            }
            delimited = true;
            continue;
        }
        if (*n == nmax) {
            free(body);
            snprintf(err, errlen, "a reply of more than %zu frames", nmax);
            goto fail;
        }
        f[(*n)++] = (struct vt_zmtp_frame){body, h.size};
        if (!h.more)
            return 0;
    }
fail:
    for (size_t i = 0; i < *n; i++)
        free(f[i].data);
    *n = 0;
    return -1;
}

void vt_zmtp_close(struct vt_zmtp *z)
{
    if (z->fd >= 0)
        close(z->fd);
    z->fd = -1;
    z->pos = z->len = 0;
}
