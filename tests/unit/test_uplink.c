/* test_uplink.c: unit tests for worker/uplink.c, the worker's session with a
 * coordinator, against a fake coordinator in this process (a CURVE ROUTER on
 * tcp://127.0.0.1, zauth admitting any key: this test only). No scanner runs:
 * a fake lease runner records what the uplink asks of it. No raw socket.
 *
 * What a coordinator's operator would notice: Hello carries the partner's
 * policy; a lease outside the scope comes back as LeaseRefused with a reason;
 * spooled batches the coordinator has not stored are sent again after
 * Welcome, and dropped from the spool after Ack; progress is forwarded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <czmq.h>

#include "envelope.h"
#include "policy.h"
#include "spool.h"
#include "uplink.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

struct fake_runner {
    int started;
    uint64_t lease_id, rate;
    int stopped;
    int blocklists;          /* add_blocklist calls */
    size_t blocklist_ranges; /* ranges in the last one */
};

static int fake_start(void *arg, const Vantage__Lease *lease, uint64_t rate, char *err,
                      size_t errlen)
{
    (void)err;
    (void)errlen;
    struct fake_runner *f = arg;
    f->started++;
    f->lease_id = lease->lease_id;
    f->rate = rate;
    return 0;
}

static void fake_stop(void *arg)
{
    struct fake_runner *f = arg;
    f->stopped++;
}

static void fake_add_blocklist(void *arg, const Vantage__BlocklistAdd *add)
{
    struct fake_runner *f = arg;
    f->blocklists++;
    f->blocklist_ranges = add->n_ranges;
}

struct fixture {
    char dir[64];
    zactor_t *auth;
    zcert_t *server, *client;
    zsock_t *router;
    char endpoint[64];
    struct vt_policy policy;
    struct vt_spool *spool;
    struct fake_runner runner;
    struct vt_uplink *up;
    atomic_bool stop;
    pthread_t thread;
    int run_rc;
    zframe_t *peer; /* the worker's routing id, once it spoke */
};

static void *uplink_main(void *arg)
{
    struct fixture *fx = arg;
    char err[512];
    fx->run_rc = vt_uplink_run(fx->up, &fx->stop, err, sizeof err);
    if (fx->run_rc != 0)
        fprintf(stderr, "uplink: %s\n", err);
    return NULL;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    char err[512];
    snprintf(fx->dir, sizeof fx->dir, "/tmp/vt-test-uplink-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    fx->auth = zactor_new(zauth, NULL);
    zstr_sendx(fx->auth, "CURVE", CURVE_ALLOW_ANY, NULL);
    zsock_wait(fx->auth);
    fx->server = zcert_new();
    fx->client = zcert_new();
    fx->router = zsock_new(ZMQ_ROUTER);
    zcert_apply(fx->server, fx->router);
    zsock_set_curve_server(fx->router, 1);
    zsock_set_maxmsgsize(fx->router, VT_MAX_MESSAGE);
    int port = zsock_bind(fx->router, "tcp://127.0.0.1:*");
    if (port < 0)
        return -1;
    snprintf(fx->endpoint, sizeof fx->endpoint, "tcp://127.0.0.1:%d", port);
    if (vt_policy_init(&fx->policy, "198.18.0.0/16", "23,80", 5000, err, sizeof err) != 0)
        return -1;
    fx->spool = vt_spool_open(fx->dir, 0, 0, err, sizeof err);
    if (!fx->spool)
        return -1;
    *state = fx;
    return 0;
}

static void start_uplink(struct fixture *fx)
{
    char err[512];
    struct vt_uplink_config cfg = {
        .endpoint = fx->endpoint,
        .server_key = zcert_public_txt(fx->server),
        .cert = fx->client,
        .name = "test-worker",
        .policy = &fx->policy,
        .spool = fx->spool,
        .ops = {.start = fake_start,
                .stop = fake_stop,
                .add_blocklist = fake_add_blocklist,
                .arg = &fx->runner},
        .quiet = true,
    };
    fx->up = vt_uplink_new(&cfg, err, sizeof err);
    if (!fx->up)
        fail_msg("uplink refused: %s", err);
    atomic_store(&fx->stop, false);
    assert_int_equal(pthread_create(&fx->thread, NULL, uplink_main, fx), 0);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    atomic_store(&fx->stop, true);
    if (fx->up) {
        pthread_join(fx->thread, NULL);
        vt_uplink_destroy(&fx->up);
    }
    zframe_destroy(&fx->peer);
    zsock_destroy(&fx->router);
    zcert_destroy(&fx->server);
    zcert_destroy(&fx->client);
    zactor_destroy(&fx->auth);
    vt_spool_close(fx->spool);
    vt_policy_free(&fx->policy);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* The next envelope from the worker whose body is `want`, skipping heartbeats
 * (and repeated Hellos unless wanted). Fails after 5 s. */
static Vantage__Envelope *expect(struct fixture *fx, Vantage__Envelope__BodyCase want)
{
    int64_t end = zclock_mono() + 5000;
    zpoller_t *p = zpoller_new(fx->router, NULL);
    while (zclock_mono() < end) {
        if (!zpoller_wait(p, 200))
            continue;
        zmsg_t *m = zmsg_recv(fx->router);
        assert_non_null(m);
        assert_int_equal(zmsg_size(m), 2);
        zframe_t *id = zmsg_pop(m);
        zframe_destroy(&fx->peer);
        fx->peer = id;
        zframe_t *body = zmsg_pop(m);
        char err[256];
        Vantage__Envelope *env =
            vt_envelope_unpack(zframe_data(body), zframe_size(body), err, sizeof err);
        zframe_destroy(&body);
        zmsg_destroy(&m);
        if (!env)
            fail_msg("worker sent a bad envelope: %s", err);
        if (env->body_case == want) {
            zpoller_destroy(&p);
            return env;
        }
        vt_envelope_free(env);
    }
    zpoller_destroy(&p);
    fail_msg("no message with body %d from the worker within 5 s", want);
    return NULL;
}

static void send_to_worker(struct fixture *fx, Vantage__Envelope *env)
{
    env->version = VT_PROTOCOL_VERSION;
    uint8_t *buf;
    size_t len;
    assert_int_equal(vt_envelope_pack(env, &buf, &len), 0);
    zmsg_t *m = zmsg_new();
    zmsg_append(m, &(zframe_t *){zframe_dup(fx->peer)});
    zmsg_addmem(m, buf, len);
    free(buf);
    assert_int_equal(zmsg_send(&m, fx->router), 0);
}

static void welcome(struct fixture *fx, uint64_t acked_seq, uint32_t credits)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__Welcome w = VANTAGE__WELCOME__INIT;
    w.site = "lab-a";
    w.acked_seq = acked_seq;
    w.credits = credits;
    w.has_heartbeat_ms = true;
    w.heartbeat_ms = 200;
    env.body_case = VANTAGE__ENVELOPE__BODY_WELCOME;
    env.welcome = &w;
    send_to_worker(fx, &env);
}

static void hello_carries_the_policy_and_heartbeats_follow(void **state)
{
    struct fixture *fx = *state;
    start_uplink(fx);
    Vantage__Envelope *env = expect(fx, VANTAGE__ENVELOPE__BODY_HELLO);
    assert_string_equal(env->hello->name, "test-worker");
    assert_non_null(strstr(env->hello->software, "vantage-worker "));
    assert_non_null(env->hello->policy);
    assert_int_equal(env->hello->policy->n_scope, 1);
    assert_int_equal(env->hello->policy->scope[0]->first, IP(198, 18, 0, 0));
    assert_int_equal(env->hello->policy->scope[0]->last, IP(198, 18, 255, 255));
    assert_int_equal(env->hello->policy->n_ports, 2);
    assert_int_equal(env->hello->policy->max_rate, 5000);
    vt_envelope_free(env);

    welcome(fx, 0, 4);
    env = expect(fx, VANTAGE__ENVELOPE__BODY_HEARTBEAT);
    assert_true(env->heartbeat->want_lease);
    vt_envelope_free(env);
}

static void send_lease(struct fixture *fx, uint64_t id, uint32_t first, uint32_t last,
                       uint64_t rate)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__Lease l = VANTAGE__LEASE__INIT;
    Vantage__Range r = VANTAGE__RANGE__INIT, *rp = &r;
    Vantage__PortRange p = VANTAGE__PORT_RANGE__INIT, *pp = &p;
    r.first = first;
    r.last = last;
    p.first = p.last = 23;
    l.lease_id = id;
    l.campaign = "iot";
    l.targets = &rp;
    l.n_targets = 1;
    l.ports = &pp;
    l.n_ports = 1;
    l.steps = 100;
    l.rate = rate;
    l.probes = 1;
    l.deadline_ms = 30000;
    env.body_case = VANTAGE__ENVELOPE__BODY_LEASE;
    env.lease = &l;
    send_to_worker(fx, &env);
}

static void lease_outside_scope_is_refused(void **state)
{
    struct fixture *fx = *state;
    start_uplink(fx);
    vt_envelope_free(expect(fx, VANTAGE__ENVELOPE__BODY_HELLO));
    welcome(fx, 0, 4);
    send_lease(fx, 7, IP(198, 18, 255, 0), IP(198, 19, 0, 255), 1000);
    Vantage__Envelope *env = expect(fx, VANTAGE__ENVELOPE__BODY_LEASE_REFUSED);
    assert_int_equal(env->lease_refused->lease_id, 7);
    assert_non_null(strstr(env->lease_refused->reason, "198.18.255.0-198.19.0.255"));
    vt_envelope_free(env);
    assert_int_equal(fx->runner.started, 0);

    /* One inside the scope runs, at most at --max-rate; progress is forwarded. */
    send_lease(fx, 8, IP(198, 18, 1, 0), IP(198, 18, 1, 255), 1000000);
    /* Heartbeats then say the lease's rate and want no other lease. */
    for (int i = 0; i < 5; i++) {
        env = expect(fx, VANTAGE__ENVELOPE__BODY_HEARTBEAT);
        bool running = env->heartbeat->rate == 5000;
        if (running)
            assert_false(env->heartbeat->want_lease);
        vt_envelope_free(env);
        if (running)
            break;
    }
    assert_int_equal(fx->runner.started, 1);
    assert_int_equal(fx->runner.lease_id, 8);
    assert_int_equal(fx->runner.rate, 5000);
    char ep[80];
    snprintf(ep, sizeof ep, ">%s", vt_uplink_events_endpoint(fx->up));
    zsock_t *events = zsock_new_pair(ep);
    if (!events)
        fail_msg("cannot connect to %s: %s", ep, zmq_strerror(errno));
    assert_int_equal(vt_uplink_post_progress(events, 8, 42, false, 0), 0);
    env = expect(fx, VANTAGE__ENVELOPE__BODY_PROGRESS);
    assert_int_equal(env->progress->lease_id, 8);
    assert_int_equal(env->progress->done, 42);
    vt_envelope_free(env);
    assert_int_equal(vt_uplink_post_ended(events, 8, NULL), 0);
    zsock_destroy(&events);
}

/* Puts a batch of one result with the next seq into the spool. */
static uint64_t spool_batch(struct fixture *fx, uint32_t ip)
{
    char err[512];
    uint64_t seq;
    assert_int_equal(vt_spool_next_seq(fx->spool, &seq, err, sizeof err), 0);
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__ResultBatch b = VANTAGE__RESULT_BATCH__INIT;
    Vantage__Result r = VANTAGE__RESULT__INIT, *rp = &r;
    r.ip = ip;
    r.port = 23;
    r.open = true;
    r.ts_ms = 1700000000000ull;
    b.seq = seq;
    b.lease_id = 8;
    b.results = &rp;
    b.n_results = 1;
    env.version = VT_PROTOCOL_VERSION;
    env.body_case = VANTAGE__ENVELOPE__BODY_RESULTS;
    env.results = &b;
    uint8_t *buf;
    size_t len;
    assert_int_equal(vt_envelope_pack(&env, &buf, &len), 0);
    assert_int_equal(vt_spool_put(fx->spool, seq, buf, len, err, sizeof err), 0);
    free(buf);
    return seq;
}

static void spooled_batches_are_resent_and_dropped_after_ack(void **state)
{
    struct fixture *fx = *state;
    for (uint32_t i = 1; i <= 3; i++)
        spool_batch(fx, IP(198, 18, 0, i));
    start_uplink(fx);
    vt_envelope_free(expect(fx, VANTAGE__ENVELOPE__BODY_HELLO));
    /* The coordinator stored batch 1 before the worker restarted; credit 1. */
    welcome(fx, 1, 1);
    Vantage__Envelope *env = expect(fx, VANTAGE__ENVELOPE__BODY_RESULTS);
    assert_int_equal(env->results->seq, 2);
    assert_int_equal(env->results->results[0]->ip, IP(198, 18, 0, 2));
    vt_envelope_free(env);
    /* Batch 3 waits for credit; an Ack frees it. */
    Vantage__Envelope ack = VANTAGE__ENVELOPE__INIT;
    Vantage__Ack a = VANTAGE__ACK__INIT;
    a.seq = 2;
    ack.body_case = VANTAGE__ENVELOPE__BODY_ACK;
    ack.ack = &a;
    send_to_worker(fx, &ack);
    env = expect(fx, VANTAGE__ENVELOPE__BODY_RESULTS);
    assert_int_equal(env->results->seq, 3);
    vt_envelope_free(env);
    assert_int_equal(vt_spool_count(fx->spool), 1); /* 1 and 2 are gone */
    a.seq = 3;
    send_to_worker(fx, &ack);
    for (int i = 0; i < 50 && vt_spool_count(fx->spool) > 0; i++)
        zclock_sleep(20);
    assert_int_equal(vt_spool_count(fx->spool), 0);
}

static void missed_heartbeats_bring_a_new_hello(void **state)
{
    struct fixture *fx = *state;
    start_uplink(fx);
    vt_envelope_free(expect(fx, VANTAGE__ENVELOPE__BODY_HELLO));
    welcome(fx, 0, 4);
    /* The coordinator goes silent: after 3 unanswered heartbeats (200 ms
     * apart) the worker reconnects and says Hello again. */
    Vantage__Envelope *env = expect(fx, VANTAGE__ENVELOPE__BODY_HELLO);
    assert_string_equal(env->hello->name, "test-worker");
    vt_envelope_free(env);
}

static void send_error(struct fixture *fx, Vantage__Error__Code code, const char *text)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__Error e = VANTAGE__ERROR__INIT;
    e.code = code;
    e.text = (char *)text;
    env.body_case = VANTAGE__ENVELOPE__BODY_ERROR;
    env.error = &e;
    send_to_worker(fx, &env);
}

static void coordinator_that_lost_the_session_gets_a_new_hello(void **state)
{
    struct fixture *fx = *state;
    spool_batch(fx, IP(198, 18, 0, 1));
    spool_batch(fx, IP(198, 18, 0, 2));
    start_uplink(fx);
    vt_envelope_free(expect(fx, VANTAGE__ENVELOPE__BODY_HELLO));
    welcome(fx, 0, 1);
    Vantage__Envelope *env = expect(fx, VANTAGE__ENVELOPE__BODY_RESULTS);
    assert_int_equal(env->results->seq, 1);
    vt_envelope_free(env);
    /* A batch refused for good is dropped, freeing its credit for the next. */
    send_error(fx, VANTAGE__ERROR__CODE__UNKNOWN, "batch 1: lease 8 is not yours");
    env = expect(fx, VANTAGE__ENVELOPE__BODY_RESULTS);
    assert_int_equal(env->results->seq, 2);
    vt_envelope_free(env);
    assert_int_equal(vt_spool_count(fx->spool), 1);
    /* The coordinator restarted behind our connection: Hello again, at once. */
    send_error(fx, VANTAGE__ERROR__CODE__NOT_ALLOWED, "say Hello first");
    int64_t t0 = zclock_mono();
    env = expect(fx, VANTAGE__ENVELOPE__BODY_HELLO);
    assert_true(zclock_mono() - t0 < 500);
    vt_envelope_free(env);
    /* After the new Welcome, unacked batch 2 is sent again. */
    welcome(fx, 0, 1);
    env = expect(fx, VANTAGE__ENVELOPE__BODY_RESULTS);
    assert_int_equal(env->results->seq, 2);
    vt_envelope_free(env);
}

/* Waits up to ms for *flag to reach want (the uplink thread sets it). */
static bool wait_for(const int *flag, int want, int ms)
{
    for (int i = 0; i < ms / 10 && __atomic_load_n(flag, __ATOMIC_SEQ_CST) < want; i++)
        zclock_sleep(10);
    return __atomic_load_n(flag, __ATOMIC_SEQ_CST) >= want;
}

static void send_optout(struct fixture *fx, uint64_t gen, uint32_t first, uint32_t last)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__BlocklistAdd b = VANTAGE__BLOCKLIST_ADD__INIT;
    Vantage__Range r = VANTAGE__RANGE__INIT, *rp = &r;
    r.first = first;
    r.last = last;
    b.ranges = &rp;
    b.n_ranges = 1;
    b.has_generation = true;
    b.generation = gen;
    env.body_case = VANTAGE__ENVELOPE__BODY_BLOCKLIST;
    env.blocklist = &b;
    send_to_worker(fx, &env);
}

/* The worker's word carries its state: Hello and Heartbeat say the lease it
 * runs and the opt-out generation it applied; an opt-out list that comes
 * while no lease runs is kept and given to the next lease; a LeaseCancel
 * for the running lease stops it. */
static void worker_says_its_lease_and_optout_generation(void **state)
{
    struct fixture *fx = *state;
    start_uplink(fx);
    Vantage__Envelope *env = expect(fx, VANTAGE__ENVELOPE__BODY_HELLO);
    assert_true(env->hello->has_lease_id && env->hello->lease_id == 0);
    assert_true(env->hello->has_optout_gen && env->hello->optout_gen == 0);
    vt_envelope_free(env);
    welcome(fx, 0, 4);
    send_optout(fx, 3, IP(198, 18, 7, 0), IP(198, 18, 7, 255));
    uint64_t gen = 0;
    for (int i = 0; i < 10 && gen != 3; i++) {
        env = expect(fx, VANTAGE__ENVELOPE__BODY_HEARTBEAT);
        gen = env->heartbeat->optout_gen;
        vt_envelope_free(env);
    }
    assert_int_equal(gen, 3);
    assert_int_equal(fx->runner.blocklists, 0); /* no lease ran */
    send_lease(fx, 9, IP(198, 18, 0, 0), IP(198, 18, 255, 255), 1000);
    assert_true(wait_for(&fx->runner.blocklists, 1, 2000)); /* the new lease got it */
    assert_int_equal(fx->runner.blocklist_ranges, 1);
    uint64_t held = 0;
    for (int i = 0; i < 10 && held != 9; i++) {
        env = expect(fx, VANTAGE__ENVELOPE__BODY_HEARTBEAT);
        held = env->heartbeat->lease_id;
        vt_envelope_free(env);
    }
    assert_int_equal(held, 9);
    Vantage__Envelope c = VANTAGE__ENVELOPE__INIT;
    Vantage__LeaseCancel lc = VANTAGE__LEASE_CANCEL__INIT;
    lc.lease_id = 8; /* not ours: ignored */
    c.body_case = VANTAGE__ENVELOPE__BODY_CANCEL;
    c.cancel = &lc;
    send_to_worker(fx, &c);
    lc.lease_id = 9;
    lc.reason = "campaign cancelled";
    send_to_worker(fx, &c);
    assert_true(wait_for(&fx->runner.stopped, 1, 2000));
    zclock_sleep(300);
    assert_int_equal(fx->runner.stopped, 1);
}

/* A lease whose coordinator says nothing for the lease's deadline is stopped
 * by the worker itself: no probing without orders. */
static void silent_coordinator_stops_the_lease(void **state)
{
    struct fixture *fx = *state;
    start_uplink(fx);
    vt_envelope_free(expect(fx, VANTAGE__ENVELOPE__BODY_HELLO));
    welcome(fx, 0, 4);
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__Lease l = VANTAGE__LEASE__INIT;
    Vantage__Range r = VANTAGE__RANGE__INIT, *rp = &r;
    Vantage__PortRange p = VANTAGE__PORT_RANGE__INIT, *pp = &p;
    r.first = IP(198, 18, 0, 0);
    r.last = IP(198, 18, 0, 255);
    p.first = p.last = 23;
    l.lease_id = 11;
    l.campaign = "iot";
    l.targets = &rp;
    l.n_targets = 1;
    l.ports = &pp;
    l.n_ports = 1;
    l.steps = 100;
    l.rate = 100;
    l.probes = 1;
    l.deadline_ms = 1000;
    env.body_case = VANTAGE__ENVELOPE__BODY_LEASE;
    env.lease = &l;
    send_to_worker(fx, &env);
    assert_true(wait_for(&fx->runner.started, 1, 2000));
    assert_int_equal(fx->runner.stopped, 0);
    /* from now on the coordinator answers nothing */
    assert_true(wait_for(&fx->runner.stopped, 1, 4000));
}

/* The worker says why it cannot connect when the handshake tells: its key
 * refused (not enrolled), or a CURVE failure (a wrong --server-key). */
static void refused_key_and_wrong_server_key_are_named(void **state)
{
    struct fixture *fx = *state;
    /* a ZAP handler that admits no key at all */
    zactor_destroy(&fx->auth);
    char none[96];
    snprintf(none, sizeof none, "%s/no-keys", fx->dir);
    assert_int_equal(mkdir(none, 0700), 0);
    fx->auth = zactor_new(zauth, NULL);
    zstr_sendx(fx->auth, "CURVE", none, NULL);
    zsock_wait(fx->auth);
    start_uplink(fx);
    zclock_sleep(1500);
    atomic_store(&fx->stop, true);
    pthread_join(fx->thread, NULL);
    assert_non_null(strstr(vt_uplink_problem(fx->up), "refused this worker's key"));
    vt_uplink_destroy(&fx->up);

    zcert_t *other = zcert_new();
    char err[512];
    struct vt_uplink_config cfg = {
        .endpoint = fx->endpoint,
        .server_key = zcert_public_txt(other), /* not the coordinator's */
        .cert = fx->client,
        .name = "test-worker",
        .policy = &fx->policy,
        .spool = fx->spool,
        .quiet = true,
    };
    fx->up = vt_uplink_new(&cfg, err, sizeof err);
    assert_non_null(fx->up);
    atomic_store(&fx->stop, false);
    assert_int_equal(pthread_create(&fx->thread, NULL, uplink_main, fx), 0);
    zclock_sleep(1500);
    atomic_store(&fx->stop, true);
    pthread_join(fx->thread, NULL);
    const char *why = vt_uplink_problem(fx->up);
    print_message("wrong server key: %s\n", why);
    assert_non_null(strstr(why, "--server-key"));
    vt_uplink_destroy(&fx->up);
    zcert_destroy(&other);
}

int main(void)
{
    zsys_init();
    zsys_handler_set(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hello_carries_the_policy_and_heartbeats_follow, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lease_outside_scope_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_says_its_lease_and_optout_generation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(silent_coordinator_stops_the_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_key_and_wrong_server_key_are_named, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(spooled_batches_are_resent_and_dropped_after_ack, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missed_heartbeats_bring_a_new_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(coordinator_that_lost_the_session_gets_a_new_hello, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
