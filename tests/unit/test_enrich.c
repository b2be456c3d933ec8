/* test_enrich.c: worker/enrich.c, the banner stage between a scan and its
 * sink, against one server of this process on 127.0.0.1 (loopback only).
 *
 * What a user would notice: an open port comes out with its banner and
 * labels; a closed one passes straight on; a checkpoint is not reported
 * before the results it covers have been grabbed and written (else a lease
 * would count as stored what was still being grabbed); an address opted out
 * meanwhile is never connected to; a stopped stage drops its grabs and the
 * checkpoints they hold back; and every grab is charged to the rate budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
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

#include "enrich.h"
#include "ratelimit.h"

#define LOOPBACK 0x7f000001u
#define GREETING "\r\n(none) login: "

/* A telnetd that greets each connection after delay_ms (or never, when
 * silent) and counts its accepts. */
struct server {
    int fd;
    uint16_t port;
    unsigned delay_ms;
    bool silent;
    atomic_int accepts;
    atomic_bool stop;
    pthread_t th;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int conns[16], n = 0;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 20) == 1) {
            int c = accept(s->fd, NULL, NULL);
            if (c >= 0) {
                atomic_fetch_add(&s->accepts, 1);
                if (!s->silent) {
                    usleep(s->delay_ms * 1000);
                    (void)!write(c, GREETING, sizeof GREETING - 1);
                }
                if (n < 16)
                    conns[n++] = c;
                else
                    close(c);
            }
        }
    }
    for (int i = 0; i < n; i++)
        close(conns[i]);
    return NULL;
}

static void server_start(struct server *s, unsigned delay_ms, bool silent)
{
    memset(s, 0, sizeof *s);
    s->delay_ms = delay_ms;
    s->silent = silent;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->th, NULL);
    close(s->fd);
}

/* What reached the sink and the progress callback, in order. */
struct seen {
    pthread_mutex_t mu;
    unsigned results, with_banner, at_report; /* results written before the report */
    bool reported;
    uint64_t done;
    char proto[16], exposure[32];
};

static int sink_write(void *arg, const struct vt_result *r)
{
    struct seen *s = arg;
    pthread_mutex_lock(&s->mu);
    s->results++;
    if (r->svc && r->svc->proto) {
        s->with_banner++;
        snprintf(s->proto, sizeof s->proto, "%s", r->svc->proto);
        const char *e = vt_labels_get(r->svc->labels, "exposure");
        snprintf(s->exposure, sizeof s->exposure, "%s", e ? e : "");
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void progress(void *arg, uint64_t done, bool finished, uint64_t dropped)
{
    struct seen *s = arg;
    pthread_mutex_lock(&s->mu);
    s->reported = true;
    s->done = done;
    s->at_report = s->results;
    pthread_mutex_unlock(&s->mu);
}

static bool reported(struct seen *s)
{
    pthread_mutex_lock(&s->mu);
    bool r = s->reported;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* Waits up to ms for the report; true if it came. */
static bool wait_report(struct seen *s, unsigned ms)
{
    for (unsigned t = 0; t < ms; t += 10) {
        if (reported(s))
            return true;
        usleep(10000);
    }
    return reported(s);
}

/* A stage whose grabs wait up to wait_ms for a first byte and end by
 * themselves after at most about twice that. */
static struct vt_enrich *stage(struct seen *s, _Atomic uint64_t *debt,
                               _Atomic(const struct vt_targets *) *blocklist, unsigned wait_ms)
{
    pthread_mutex_init(&s->mu, NULL);
    struct vt_enrich_config cfg = {
        .grab = {.concurrency = 8,
                 .first_wait_ms = wait_ms,
                 .idle_timeout_ms = wait_ms,
                 .deadline_ms = 2 * wait_ms},
        .rate = 0,
        .debt = debt,
        .blocklist = blocklist,
        .sink = {sink_write, NULL, s},
        .progress = progress,
        .progress_arg = s,
    };
    char err[256];
    struct vt_enrich *e = vt_enrich_start(&cfg, err, sizeof err);
    if (!e)
        fail_msg("%s", err);
    return e;
}

static void give(struct vt_enrich *e, uint16_t port, enum vt_state st)
{
    struct vt_result r = {LOOPBACK, port, st, 64, 1764000000000ull, NULL};
    assert_int_equal(vt_enrich_write(e, &r), 0);
}

/* The report waits for the grab of the result before it, then follows it. */
static void test_checkpoint_waits_for_grab(void **state)
{
    struct server srv;
    server_start(&srv, 700, false);
    struct seen s = {0};
    _Atomic uint64_t debt = 0;
    struct vt_enrich *e = stage(&s, &debt, NULL, 1500);
    give(e, srv.port, VT_STATE_OPEN);
    vt_enrich_progress(e, 7, false, 0);
    usleep(300000);
    assert_false(reported(&s)); /* the grab is still waiting for the greeting */
    assert_true(wait_report(&s, 5000));
    assert_int_equal(s.done, 7);
    assert_int_equal(s.at_report, 1); /* the result went first */
    assert_int_equal(s.with_banner, 1);
    assert_string_equal(s.proto, "telnet");
    assert_string_equal(s.exposure, "telnet-login");
    struct vt_enrich_stats st;
    char err[256];
    assert_int_equal(vt_enrich_finish(e, false, &st, err, sizeof err), 0);
    assert_int_equal(st.grabs, 1);
    assert_int_equal(st.banners, 1);
    assert_int_equal(atomic_load(&debt), VT_GRAB_PACKETS); /* one connection, charged */
    server_stop(&srv);
}

/* Closed ports pass at once: no connection, the report follows promptly. */
static void test_closed_passes_straight(void **state)
{
    struct server srv;
    server_start(&srv, 0, false);
    struct seen s = {0};
    struct vt_enrich *e = stage(&s, NULL, NULL, 1500);
    give(e, srv.port, VT_STATE_CLOSED);
    give(e, srv.port, VT_STATE_CLOSED);
    vt_enrich_progress(e, 3, true, 0);
    assert_true(wait_report(&s, 1000));
    assert_int_equal(s.at_report, 2);
    assert_int_equal(s.with_banner, 0);
    char err[256];
    assert_int_equal(vt_enrich_finish(e, false, NULL, err, sizeof err), 0);
    assert_int_equal(atomic_load(&srv.accepts), 0);
    server_stop(&srv);
}

/* An address opted out after it was found is not connected to, and its
 * result is not passed on. */
static void test_optout_not_grabbed(void **state)
{
    struct server srv;
    server_start(&srv, 0, false);
    struct vt_targets optout;
    vt_targets_init(&optout);
    assert_int_equal(vt_targets_add_range(&optout, LOOPBACK, LOOPBACK), 0);
    vt_targets_count(&optout);
    _Atomic(const struct vt_targets *) bl = &optout;
    struct seen s = {0};
    struct vt_enrich *e = stage(&s, NULL, &bl, 1500);
    give(e, srv.port, VT_STATE_OPEN);
    vt_enrich_progress(e, 1, true, 0);
    assert_true(wait_report(&s, 2000));
    char err[256];
    assert_int_equal(vt_enrich_finish(e, false, NULL, err, sizeof err), 0);
    assert_int_equal(s.results, 0);
    assert_int_equal(atomic_load(&srv.accepts), 0);
    vt_targets_free(&optout);
    server_stop(&srv);
}

/* Stopped: the grab of a silent service is dropped, and so is the report it
 * holds back; finishing does not wait for the grab's own end (its timeouts
 * here are 30 s and more, so only dropping it ends it within the test). */
static void test_abandon_drops_grabs_and_reports(void **state)
{
    struct server srv;
    server_start(&srv, 0, true);
    struct seen s = {0};
    struct vt_enrich *e = stage(&s, NULL, NULL, 30000);
    give(e, srv.port, VT_STATE_OPEN);
    vt_enrich_progress(e, 9, false, 0);
    usleep(200000);
    uint64_t t0 = vt_now_ns();
    char err[256];
    assert_int_equal(vt_enrich_finish(e, true, NULL, err, sizeof err), 0);
    assert_true(vt_now_ns() - t0 < 10000000000ull); /* far from the 30 s first wait */
    assert_false(s.reported);
    assert_int_equal(s.results, 0);
    server_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_waits_for_grab),
        cmocka_unit_test(test_closed_passes_straight),
        cmocka_unit_test(test_optout_not_grabbed),
        cmocka_unit_test(test_abandon_drops_grabs_and_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
