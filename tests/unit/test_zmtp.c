/* test_zmtp.c: unit tests for coordinator/zmtp.c, the CLI's own ZeroMQ REQ
 * socket.
 *
 * Two kinds of peer. A real libzmq REP socket (CZMQ, on ipc in a temporary
 * directory and in the abstract namespace): the exchange libzmq's clients
 * have with it works byte for byte, short and long frames. And a scripted
 * peer on a socketpair that sends what a broken or hostile one would: the
 * wrong protocol, the wrong mechanism or socket type, ERROR, frames with
 * reserved bits, a huge announced size, no delimiter, too many frames, a
 * close halfway, silence. Each must end in a one-line reason, in time, with
 * nothing left allocated, never a crash or a hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "zmtp.h"

#define MAX_FRAME (1 << 20)

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- a real libzmq REP peer ---- */

struct rep {
    char endpoint[300];
    const char *reply2; /* the second frame of the reply */
    char got[8192];     /* the request it received */
    size_t got_len;
};

static void rep_actor(zsock_t *pipe, void *arg)
{
    struct rep *r = arg;
    zsock_t *rep = zsock_new(ZMQ_REP);
    assert_non_null(rep);
    assert_int_equal(zsock_bind(rep, "%s", r->endpoint), 0);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, rep, NULL);
    while (zpoller_wait(poller, 5000) == rep) {
        zmsg_t *m = zmsg_recv(rep);
        zframe_t *f = zmsg_first(m);
        r->got_len = zframe_size(f) < sizeof r->got ? zframe_size(f) : sizeof r->got;
        memcpy(r->got, zframe_data(f), r->got_len);
        zmsg_destroy(&m);
        zstr_sendm(rep, "{\"ok\":true}");
        zstr_send(rep, r->reply2);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&rep);
}

static void exchange_with_libzmq(const char *endpoint, const char *path)
{
    /* A request over 255 bytes (a long frame) and a reply over the reader's
     * 8 KiB buffer (read straight into place). */
    char *req = malloc(1000), *big = malloc(100001);
    memset(req, 'q', 999);
    req[999] = '\0';
    memset(big, 'r', 100000);
    big[100000] = '\0';
    struct rep r = {.reply2 = big};
    snprintf(r.endpoint, sizeof r.endpoint, "%s", endpoint);
    zactor_t *a = zactor_new(rep_actor, &r);
    assert_non_null(a);

    for (int round = 0; round < 2; round++) { /* a connection per request, as the CLI */
        struct vt_zmtp z;
        char err[512] = "";
        assert_int_equal(vt_zmtp_connect(&z, path, 3000, MAX_FRAME, err, sizeof err), 0);
        const char *msg = round ? req : "{\"cmd\":\"worker.list\"}";
        assert_int_equal(vt_zmtp_send(&z, msg, strlen(msg), 3000, err, sizeof err), 0);
        struct vt_zmtp_frame f[2];
        size_t n;
        bool late;
        assert_int_equal(vt_zmtp_recv(&z, f, 2, &n, 3000, &late, err, sizeof err), 0);
        vt_zmtp_close(&z);
        assert_int_equal(n, 2);
        assert_string_equal(f[0].data, "{\"ok\":true}");
        assert_int_equal(f[1].len, 100000);
        assert_string_equal(f[1].data, big);
        assert_int_equal(r.got_len, strlen(msg));
        assert_memory_equal(r.got, msg, r.got_len);
        free(f[0].data);
        free(f[1].data);
    }
    zactor_destroy(&a);
    free(req);
    free(big);
}

static void test_libzmq_rep_on_a_path(void **state)
{
    char dir[] = "/tmp/test_zmtp.XXXXXX", path[200], ep[220];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/control", dir);
    snprintf(ep, sizeof ep, "ipc://%s", path);
    exchange_with_libzmq(ep, path);
    unlink(path);
    rmdir(dir);
}

static void test_libzmq_rep_abstract(void **state)
{
    char name[64], ep[80];
    snprintf(name, sizeof name, "@vantage-test-zmtp-%d", (int)getpid());
    snprintf(ep, sizeof ep, "ipc://%s", name);
    exchange_with_libzmq(ep, name);
}

/* ---- a scripted peer ---- */

/* What the peer sends, step by step: after reading the client's greeting
 * (64 bytes), greet; after reading its READY (40), ready; after reading
 * its request (want bytes), reply; then close. A NULL step: stay silent
 * there until the client gives up and closes. */
struct script {
    const uint8_t *greet;
    size_t greet_len;
    const uint8_t *ready;
    size_t ready_len;
    const uint8_t *reply;
    size_t reply_len;
    size_t want; /* request bytes to read before replying */
    int fd;
};

static const uint8_t REP_GREETING[64] = {0xff, 0,    0, 0, 0,   0,   0,   0,
                                         1,    0x7f, 3, 1, 'N', 'U', 'L', 'L'};
static const uint8_t REP_READY[] = {4,   25,  5,   'R', 'E', 'A', 'D', 'Y', 11,
                                    'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y',
                                    'p', 'e', 0,   0,   0,   3,   'R', 'E', 'P'};
#define REQUEST     "{\"cmd\":\"x\"}"
#define REQUEST_LEN (2 + 2 + sizeof REQUEST - 1) /* delimiter, head, body */

static bool read_n(int fd, size_t n)
{
    uint8_t b[256];
    while (n) {
        ssize_t r = read(fd, b, n < sizeof b ? n : sizeof b);
        if (r <= 0)
            return false;
        n -= (size_t)r;
    }
    return true;
}

static bool step(int fd, size_t need, const uint8_t *out, size_t len)
{
    if (!read_n(fd, need))
        return false;
    if (!out) { /* silent: wait for the client to hang up */
        char b;
        while (read(fd, &b, 1) > 0)
            ;
        return false;
    }
    return write(fd, out, len) == (ssize_t)len;
}

static void *peer(void *arg)
{
    struct script *s = arg;
    if (step(s->fd, 64, s->greet, s->greet_len) && s->ready_len &&
        step(s->fd, 40, s->ready, s->ready_len) && s->want)
        step(s->fd, s->want, s->reply, s->reply_len);
    close(s->fd); /* what it wrote stays readable, then EOF */
    return NULL;
}

/* Runs the client against script s: handshake, and if that works a request
 * and a reply into f (nmax 2). The step that failed (0 none, 1 handshake,
 * 2 send, 3 receive) and err. */
struct outcome {
    int failed;
    char err[512];
    bool late;
    size_t n;
    struct vt_zmtp_frame f[2];
    int64_t ms; /* how long it took */
};

static struct outcome run(struct script s, int timeout_ms)
{
    struct outcome o = {0};
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    s.fd = sv[1];
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, peer, &s), 0);
    int64_t t0 = mono_ms();
    struct vt_zmtp z;
    if (vt_zmtp_handshake(&z, sv[0], timeout_ms, MAX_FRAME, o.err, sizeof o.err) != 0) {
        o.failed = 1;
        assert_int_equal(z.fd, -1); /* closed on failure */
    } else if (vt_zmtp_send(&z, REQUEST, sizeof REQUEST - 1, timeout_ms, o.err, sizeof o.err) !=
               0) {
        o.failed = 2;
    } else if (vt_zmtp_recv(&z, o.f, 2, &o.n, timeout_ms, &o.late, o.err, sizeof o.err) != 0) {
        o.failed = 3;
        assert_int_equal(o.n, 0);
    }
    o.ms = mono_ms() - t0;
    vt_zmtp_close(&z);
    pthread_join(t, NULL);
    if (o.failed) {
        assert_true(o.err[0] != '\0');
        assert_null(strchr(o.err, '\n'));
    }
    return o;
}

static void free_frames(struct outcome *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->f[i].data);
}

/* A well-behaved peer with reply bytes r. */
static struct script good(const uint8_t *r, size_t len)
{
    return (struct script){REP_GREETING, 64, REP_READY, sizeof REP_READY, r, len, REQUEST_LEN, -1};
}

static void expect(struct outcome o, int failed, const char *says)
{
    if (o.failed != failed || !strstr(o.err, says))
        fail_msg("failed at step %d (wanted %d): \"%s\" (wanted \"%s\")", o.failed, failed, o.err,
                 says);
}

static void test_scripted_good_reply(void **state)
{
    static const uint8_t r[] = {1, 0, 1, 2, '{', '}', 0, 3, 'a', '\n', 'b'};
    struct outcome o = run(good(r, sizeof r), 2000);
    assert_int_equal(o.failed, 0);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.f[0].data, "{}");
    assert_int_equal(o.f[1].len, 3);
    assert_memory_equal(o.f[1].data, "a\nb", 3);
    free_frames(&o);
}

static void test_heartbeat_between_messages_is_skipped(void **state)
{
    static const uint8_t r[] = {4, 5, 4, 'P', 'I', 'N', 'G', 1, 0, 0, 2, '{', '}'};
    struct outcome o = run(good(r, sizeof r), 2000);
    assert_int_equal(o.failed, 0);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.f[0].data, "{}");
    free_frames(&o);
}

static void test_not_zmtp(void **state)
{
    uint8_t http[64] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    struct script s = {http, 64, NULL, 0, NULL, 0, 0, -1};
    expect(run(s, 2000), 1, "does not speak ZMTP");
}

static void test_old_zmtp(void **state)
{
    uint8_t g[64];
    memcpy(g, REP_GREETING, 64);
    g[10] = 2;
    g[11] = 0;
    struct script s = {g, 64, NULL, 0, NULL, 0, 0, -1};
    expect(run(s, 2000), 1, "ZMTP 2.0");
}

static void test_curve_mechanism(void **state)
{
    uint8_t g[64];
    memcpy(g, REP_GREETING, 64);
    memcpy(g + 12, "CURVE", 5);
    struct script s = {g, 64, NULL, 0, NULL, 0, 0, -1};
    expect(run(s, 2000), 1, "CURVE mechanism");
}

static void test_error_command(void **state)
{
    static const uint8_t e[] = {4, 13, 5, 'E', 'R', 'R', 'O', 'R', 7, 'd', 'e', 'n', 'i', 'e', 'd'};
    struct script s = {REP_GREETING, 64, e, sizeof e, NULL, 0, 0, -1};
    expect(run(s, 2000), 1, "refused the connection: denied");
}

static void test_wrong_socket_type(void **state)
{
    uint8_t r[] = {4,   28,  5,   'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e', 't',
                   '-', 'T', 'y', 'p', 'e', 0,   0,   0,   6,  'R', 'O', 'U', 'T', 'E', 'R'};
    struct script s = {REP_GREETING, 64, r, sizeof r, NULL, 0, 0, -1};
    expect(run(s, 2000), 1, "is a ROUTER socket, not REP");
}

static void test_malformed_ready(void **state)
{
    /* The value's length runs past the command's end. */
    uint8_t r[] = {4,   22,  5,   'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o', 'c',
                   'k', 'e', 't', '-', 'T', 'y', 'p', 'e', 0,  0,   0,   9};
    struct script s = {REP_GREETING, 64, r, sizeof r, NULL, 0, 0, -1};
    expect(run(s, 2000), 1, "malformed");
    /* A message where READY should be. */
    static const uint8_t m[] = {0, 2, '{', '}'};
    struct script s2 = {REP_GREETING, 64, m, sizeof m, NULL, 0, 0, -1};
    expect(run(s2, 2000), 1, "before its READY");
}

static void test_reserved_flags(void **state)
{
    static const uint8_t r[] = {1, 0, 0x10, 2, '{', '}'};
    expect(run(good(r, sizeof r), 2000), 3, "reserved flags");
}

static void test_huge_frame_refused_before_reading(void **state)
{
    /* 1 TiB announced: refused on the header, nothing allocated. */
    static const uint8_t r[] = {1, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0};
    expect(run(good(r, sizeof r), 2000), 3, "more than the 1048576");
}

static void test_no_delimiter(void **state)
{
    static const uint8_t r[] = {0, 2, '{', '}'};
    expect(run(good(r, sizeof r), 2000), 3, "without the empty frame");
}

static void test_too_many_frames(void **state)
{
    static const uint8_t r[] = {1, 0, 1, 1, 'a', 1, 1, 'b', 0, 1, 'c'};
    expect(run(good(r, sizeof r), 2000), 3, "more than 2 frames");
}

static void test_close_halfway(void **state)
{
    /* A frame of 100 bytes of which 3 come, then EOF. */
    static const uint8_t r[] = {1, 0, 0, 100, 'a', 'b', 'c'};
    struct outcome o = run(good(r, sizeof r), 2000);
    expect(o, 3, "closed the connection");
    assert_false(o.late);
    /* And during the handshake. */
    struct script s = {REP_GREETING, 20, NULL, 0, NULL, 0, 0, -1}; /* 20 bytes, then EOF */
    expect(run(s, 2000), 1, "closed the connection");
}

static void test_silence_is_bounded(void **state)
{
    /* Silent after the request: the reply's wait ends at the timeout, told as such. */
    struct script s = good(NULL, 0);
    struct outcome o = run(s, 300);
    expect(o, 3, "no reply within 0.3 s");
    assert_true(o.late);
    assert_true(o.ms >= 250 && o.ms < 3000);
    /* Silent before greeting. */
    struct script quiet = {NULL, 0, NULL, 0, NULL, 0, 0, -1};
    o = run(quiet, 300);
    expect(o, 1, "did not shake hands within 0.3 s");
    assert_true(o.ms >= 250 && o.ms < 3000);
}

static void test_nothing_listening(void **state)
{
    char dir[] = "/tmp/test_zmtp.XXXXXX", path[200];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/control", dir);
    /* A socket file bound and never listened on: what a dead daemon leaves. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
    struct vt_zmtp z;
    char err[512];
    assert_int_equal(vt_zmtp_connect(&z, path, 1000, MAX_FRAME, err, sizeof err), -1);
    assert_non_null(strstr(err, "nothing listens on"));
    char longpath[200];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(vt_zmtp_connect(&z, longpath, 1000, MAX_FRAME, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libzmq_rep_on_a_path),
        cmocka_unit_test(test_libzmq_rep_abstract),
        cmocka_unit_test(test_scripted_good_reply),
        cmocka_unit_test(test_heartbeat_between_messages_is_skipped),
        cmocka_unit_test(test_not_zmtp),
        cmocka_unit_test(test_old_zmtp),
        cmocka_unit_test(test_curve_mechanism),
        cmocka_unit_test(test_error_command),
        cmocka_unit_test(test_wrong_socket_type),
        cmocka_unit_test(test_malformed_ready),
        cmocka_unit_test(test_reserved_flags),
        cmocka_unit_test(test_huge_frame_refused_before_reading),
        cmocka_unit_test(test_no_delimiter),
        cmocka_unit_test(test_too_many_frames),
        cmocka_unit_test(test_close_halfway),
        cmocka_unit_test(test_silence_is_bounded),
        cmocka_unit_test(test_nothing_listening),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
