/* uplink.c: the worker's session with its coordinator. See uplink.h and
 * docs/protocol.md.
 *
 * State lives in struct vt_uplink and changes only on this thread. The
 * session is "welcomed" between a Welcome and the third unanswered heartbeat
 * (or a new socket); batches, heartbeats and progress flow only while
 * welcomed. Hello is repeated with backoff (1 s doubling to 30 s) until a
 * Welcome comes, so a coordinator that restarted behind a live TCP
 * connection still hears from us.
 *
 * Hello and every Heartbeat say which lease we run and which opt-out
 * generation we have applied; the coordinator answers with LeaseCancel for
 * a lease it no longer holds live and with the whole opt-out list when we
 * are behind, so orders given while we were away reach us on return. The
 * opt-out list is applied whether or not a lease runs (a new lease gets it
 * too). A lease whose coordinator has said nothing for the lease's deadline
 * is stopped here: the coordinator has given it up by then, and probing on
 * without orders is what a partner must never see. */
#include "uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "log.h"
#include "version.h"

#define HELLO_BACKOFF_MIN_MS 1000
#define HELLO_BACKOFF_MAX_MS 30000
#define MISSED_MAX           3
#define STOP_GRACE_MS        15000
#define LINGER_MS            2000
#define SCAN_FAIL_PAUSE_MS   30000

struct vt_uplink {
    struct vt_uplink_config cfg;
    char events_ep[64];
    zsock_t *dealer;
    zsock_t *monitor; /* PAIR: the dealer's connection events (why a handshake failed) */
    unsigned monitor_gen;
    char problem[256];         /* why we are not connected, when we can tell; "" if we are */
    int64_t problem_logged_ms; /* the same problem is logged once a minute */
    unsigned retries;          /* connect attempts since the last success */
    zsock_t *events;           /* PAIR, bound; the lease runner connects */
    Vantage__Policy policy;

    bool welcomed;
    uint32_t credits;
    uint32_t heartbeat_ms;
    uint64_t sent_upto; /* highest batch seq sent in this session */
    unsigned missed;    /* heartbeats without any answer */
    int64_t next_beat_ms;
    int64_t next_hello_ms;
    int64_t hello_backoff_ms;
    int64_t last_bad_log_ms;
    char last_error[128]; /* the last Error logged, to log repeats once a minute */
    int64_t last_error_log_ms;

    int64_t no_lease_until_ms; /* after a failed scan, ask for no lease for a while */
    uint64_t lease_id;         /* running lease, 0 = none */
    uint64_t lease_rate;
    uint64_t lease_asked; /* the rate the coordinator asked for it (before clamping) */
    char lease_campaign[65];
    struct vt_uplink_stats stats; /* counters; connected, lease_* filled when read */
    int64_t lease_deadline_ms;    /* the lease's deadline, as the coordinator gave it */
    int64_t last_heard_ms;        /* last message of any kind from the coordinator */
    bool lease_stopping;          /* stop asked (cancel, lapse); waiting for "ended" */

    uint64_t optout_gen;          /* generation of the opt-out list below */
    Vantage__BlocklistAdd optout; /* the whole list, as last received */
    bool progress_pending;        /* latest progress not yet sent */
    Vantage__Progress progress;
};

#define COMPONENT "vantage-worker"

static void logf_(struct vt_uplink *up, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct vt_uplink *up, const char *fmt, ...)
{
    if (up->cfg.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vt_log_linev(VT_LOG_INFO, COMPONENT, fmt, ap);
    va_end(ap);
}

/* Packs and sends env without blocking. 0, or -1 (nothing sent). */
static int send_env(struct vt_uplink *up, Vantage__Envelope *env)
{
    env->version = VT_PROTOCOL_VERSION;
    uint8_t *buf;
    size_t len;
    if (vt_envelope_pack(env, &buf, &len) != 0)
        return -1;
    int rc = zmq_send(zsock_resolve(up->dealer), buf, len, ZMQ_DONTWAIT);
    free(buf);
    return rc < 0 ? -1 : 0;
}

static void send_hello(struct vt_uplink *up)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__Hello hello = VANTAGE__HELLO__INIT;
    hello.name = (char *)up->cfg.name;
    hello.software = "vantage-worker " VANTAGE_VERSION;
    hello.policy = &up->policy;
    hello.has_lease_id = true;
    hello.lease_id = up->lease_id;
    hello.has_optout_gen = true;
    hello.optout_gen = up->optout_gen;
    env.body_case = VANTAGE__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    send_env(up, &env);
}

/* Says what stands between us and the coordinator, once a minute at most. */
static void problem(struct vt_uplink *up, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(struct vt_uplink *up, const char *fmt, ...)
{
    char text[sizeof up->problem];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    int64_t now = zclock_mono();
    if (strcmp(text, up->problem) != 0 || now - up->problem_logged_ms > 60000) {
        up->problem_logged_ms = now;
        if (!up->cfg.quiet)
            vt_log_line(VT_LOG_WARNING, COMPONENT, "%s", text);
    }
    snprintf(up->problem, sizeof up->problem, "%s", text);
}

/* One event of the dealer's monitor: [u16 event, u32 value][endpoint]. The
 * handshake's failures say which of the enrolment causes it is. */
static void handle_monitor(struct vt_uplink *up)
{
    zmsg_t *m = zmsg_recv(up->monitor);
    zframe_t *f = m ? zmsg_first(m) : NULL;
    if (!f || zframe_size(f) < 6) {
        zmsg_destroy(&m);
        return;
    }
    uint16_t event;
    uint32_t value;
    memcpy(&event, zframe_data(f), 2);
    memcpy(&value, zframe_data(f) + 2, 4);
    zmsg_destroy(&m);
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        up->problem[0] = '\0';
        up->retries = 0;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        problem(up,
                "the coordinator refused this worker's key (ZAP status %u): it is not enrolled, "
                "or was revoked; send its operator the public key (the --key file's .pub) "
                "for `vantage worker add`",
                value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        problem(up,
                "the CURVE handshake with %s failed (protocol error 0x%x): is --server-key "
                "this coordinator's public key?",
                up->cfg.endpoint, value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        problem(up,
                "the handshake with %s failed: is --server-key this coordinator's public key, "
                "and is this worker enrolled?",
                up->cfg.endpoint);
        break;
    case ZMQ_EVENT_CONNECT_RETRIED:
        if (++up->retries >= 3)
            problem(up, "cannot reach %s (retrying): is the coordinator running and reachable?",
                    up->cfg.endpoint);
        break;
    default:
        break;
    }
}

const char *vt_uplink_problem(const struct vt_uplink *up)
{
    return up->problem;
}

static void close_dealer(struct vt_uplink *up)
{
    if (up->dealer)
        zmq_socket_monitor(zsock_resolve(up->dealer), NULL, 0);
    zsock_destroy(&up->monitor);
    zsock_destroy(&up->dealer);
}

static int open_dealer(struct vt_uplink *up, char *err, size_t errlen)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!s) {
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        return -1;
    }
    zsock_set_curve_serverkey(s, up->cfg.server_key);
    zcert_apply(up->cfg.cert, s);
    zsock_set_maxmsgsize(s, VT_MAX_MESSAGE);
    zsock_set_linger(s, 0);
    zsock_set_reconnect_ivl(s, HELLO_BACKOFF_MIN_MS);
    zsock_set_reconnect_ivl_max(s, HELLO_BACKOFF_MAX_MS);
    zsock_set_sndhwm(s, 1000);
    char mon[96];
    snprintf(mon, sizeof mon, "inproc://vantage-uplink-monitor-%p-%u", (void *)up,
             up->monitor_gen++);
    if (zmq_socket_monitor(zsock_resolve(s), mon,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_CONNECT_RETRIED) ==
        0)
        up->monitor = zsock_new_pair(mon); /* connects */
    if (zsock_connect(s, "%s", up->cfg.endpoint) != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s (give --coordinator tcp://HOST:PORT)",
                 up->cfg.endpoint, zmq_strerror(errno));
        zsock_destroy(&s);
        return -1;
    }
    up->dealer = s;
    up->welcomed = false;
    up->missed = 0;
    up->hello_backoff_ms = HELLO_BACKOFF_MIN_MS;
    up->next_hello_ms = zclock_mono() + up->hello_backoff_ms;
    send_hello(up);
    return 0;
}

static void free_optout(struct vt_uplink *up)
{
    for (size_t i = 0; i < up->optout.n_ranges; i++)
        free(up->optout.ranges[i]);
    free(up->optout.ranges);
    vantage__blocklist_add__init(&up->optout);
}

/* A BlocklistAdd from the coordinator. With a generation it is the whole
 * list: kept (a lease that starts later gets it), and the generation is
 * ours from now on. Either way a running scan skips it at once. */
static void handle_optout(struct vt_uplink *up, const Vantage__BlocklistAdd *add)
{
    if (up->lease_id && up->cfg.ops.add_blocklist)
        up->cfg.ops.add_blocklist(up->cfg.ops.arg, add);
    if (!add->has_generation)
        return;
    if (add->generation < up->optout_gen)
        return; /* an older list that crossed a newer one */
    free_optout(up);
    up->optout.ranges = calloc(add->n_ranges + 1, sizeof *up->optout.ranges);
    for (size_t i = 0; up->optout.ranges && i < add->n_ranges; i++) {
        Vantage__Range *r = malloc(sizeof *r);
        if (!r)
            break;
        vantage__range__init(r);
        r->first = add->ranges[i]->first;
        r->last = add->ranges[i]->last;
        up->optout.ranges[up->optout.n_ranges++] = r;
    }
    if (up->optout.n_ranges != add->n_ranges) {
        free_optout(up); /* out of memory: stay behind, the coordinator sends it again */
        return;
    }
    if (add->generation != up->optout_gen)
        logf_(up, "opt-out list at generation %" PRIu64 ": %zu ranges", add->generation,
              add->n_ranges);
    up->optout_gen = add->generation;
}

/* Asks the running lease to stop, once. */
static void stop_lease(struct vt_uplink *up, const char *why)
{
    if (!up->lease_id || up->lease_stopping || !up->cfg.ops.stop)
        return;
    logf_(up, "lease %" PRIu64 " stopped: %s", up->lease_id, why);
    up->lease_stopping = true;
    up->cfg.ops.stop(up->cfg.ops.arg);
}

struct vt_uplink *vt_uplink_new(const struct vt_uplink_config *cfg, char *err, size_t errlen)
{
    struct vt_uplink *up = calloc(1, sizeof *up);
    if (!up) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    up->cfg = *cfg;
    up->heartbeat_ms = 1000;
    vantage__progress__init(&up->progress);
    vantage__blocklist_add__init(&up->optout);
    if (vt_policy_to_proto(cfg->policy, &up->policy) != 0) {
        snprintf(err, errlen, "out of memory");
        free(up);
        return NULL;
    }
    /* Unique also when up reuses a freed uplink's address: libzmq may not
     * have released that one's inproc name yet. */
    static atomic_uint made;
    snprintf(up->events_ep, sizeof up->events_ep, "inproc://vantage-uplink-%p-%u", (void *)up,
             atomic_fetch_add(&made, 1));
    up->events = zsock_new_pair(NULL);
    if (!up->events || zsock_bind(up->events, "%s", up->events_ep) != 0) {
        snprintf(err, errlen, "cannot bind %s: %s", up->events_ep, zmq_strerror(errno));
        vt_uplink_destroy(&up);
        return NULL;
    }
    return up;
}

void vt_uplink_destroy(struct vt_uplink **upp)
{
    struct vt_uplink *up = *upp;
    if (!up)
        return;
    close_dealer(up);
    zsock_destroy(&up->events);
    vt_policy_proto_free(&up->policy);
    free_optout(up);
    free(up);
    *upp = NULL;
}

const char *vt_uplink_events_endpoint(const struct vt_uplink *up)
{
    return up->events_ep;
}

static void send_refused(struct vt_uplink *up, uint64_t lease_id, const char *reason)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__LeaseRefused r = VANTAGE__LEASE_REFUSED__INIT;
    r.lease_id = lease_id;
    r.reason = (char *)reason;
    env.body_case = VANTAGE__ENVELOPE__BODY_LEASE_REFUSED;
    env.lease_refused = &r;
    send_env(up, &env);
    up->stats.leases_refused++;
    logf_(up, "refused lease %" PRIu64 ": %s", lease_id, reason);
}

static void send_progress(struct vt_uplink *up)
{
    if (!up->progress_pending || !up->welcomed)
        return;
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.body_case = VANTAGE__ENVELOPE__BODY_PROGRESS;
    env.progress = &up->progress;
    if (send_env(up, &env) == 0)
        up->progress_pending = false;
}

/* Sends spooled batches above sent_upto while credit lasts. */
static void pump_batches(struct vt_uplink *up)
{
    if (!up->welcomed)
        return;
    uint64_t seq;
    while (vt_spool_count_between(up->cfg.spool, 0, up->sent_upto) < up->credits &&
           vt_spool_next_after(up->cfg.spool, up->sent_upto, &seq)) {
        uint8_t *buf;
        size_t len;
        char err[512];
        if (vt_spool_read(up->cfg.spool, seq, &buf, &len, err, sizeof err) != 0) {
            logf_(up, "%s", err);
            return;
        }
        int rc = zmq_send(zsock_resolve(up->dealer), buf, len, ZMQ_DONTWAIT);
        free(buf);
        if (rc < 0)
            return; /* the pipe is full: try again on the next turn */
        up->sent_upto = seq;
        up->stats.batches_sent++;
    }
}

static void handle_lease(struct vt_uplink *up, const Vantage__Lease *lease)
{
    char reason[512];
    if (lease->lease_id == 0) {
        send_refused(up, 0, "lease_id 0 is not a lease");
        return;
    }
    if (up->lease_id == lease->lease_id)
        return; /* a repeat of the lease we run */
    if (up->lease_id) {
        snprintf(reason, sizeof reason, "this worker runs lease %" PRIu64 " already", up->lease_id);
        send_refused(up, lease->lease_id, reason);
        return;
    }
    if (vt_policy_check_lease(up->cfg.policy, lease, reason, sizeof reason) != 0) {
        send_refused(up, lease->lease_id, reason);
        return;
    }
    if (lease->probes < 1 || lease->probes > 16 || lease->steps == 0 ||
        lease->done > lease->steps) {
        send_refused(up, lease->lease_id, "lease has probes outside 1-16 or an empty arc");
        return;
    }
    if (!up->cfg.ops.start) {
        send_refused(up, lease->lease_id, "this worker has no scanner");
        return;
    }
    uint64_t rate = vt_policy_clamp_rate(up->cfg.policy, lease->rate);
    if (up->cfg.ops.start(up->cfg.ops.arg, lease, rate, reason, sizeof reason) != 0) {
        send_refused(up, lease->lease_id, reason);
        return;
    }
    up->lease_id = lease->lease_id;
    up->lease_rate = rate;
    up->lease_asked = lease->rate;
    up->stats.leases_started++;
    vt_log_escape(lease->campaign, up->lease_campaign, sizeof up->lease_campaign);
    up->lease_stopping = false;
    up->lease_deadline_ms = lease->deadline_ms ? lease->deadline_ms : 15000;
    /* Opt-outs we hold apply to every lease, whatever the lease carries. */
    if (up->optout.n_ranges && up->cfg.ops.add_blocklist)
        up->cfg.ops.add_blocklist(up->cfg.ops.arg, &up->optout);
    logf_(up,
          "lease %" PRIu64 " of campaign %s: shard %u, steps %" PRIu64 "+%" PRIu64 " of %" PRIu64
          ", %" PRIu64 " probes/s",
          lease->lease_id, up->lease_campaign, lease->shard, lease->first_step, lease->done,
          lease->steps, rate);
}

/* An Error from the coordinator. NOT_ALLOWED while we think we are welcomed
 * means it lost our session (it restarted, or our connection is new to it):
 * say Hello again. An Error naming a batch ("batch N: ...") refuses that
 * batch for good: drop it, or it would hold a credit slot forever. */
static void handle_error(struct vt_uplink *up, const Vantage__Error *e)
{
    const char *text = e->text ? e->text : "error";
    int64_t now = zclock_mono();
    if (strcmp(text, up->last_error) != 0 || now - up->last_error_log_ms > 60000) {
        snprintf(up->last_error, sizeof up->last_error, "%s", text);
        up->last_error_log_ms = now;
        char said[256];
        logf_(up, "coordinator says: %s%s", vt_log_escape(text, said, sizeof said),
              e->code == VANTAGE__ERROR__CODE__NOT_ALLOWED && !up->welcomed
                  ? " (is this worker enrolled? send the coordinator's operator the key "
                    "from 'vantage-worker keygen')"
                  : "");
    }
    unsigned long long seq;
    char err[512];
    if (e->has_batch_seq ? (seq = e->batch_seq) > 0
                         : sscanf(text, "batch %llu", &seq) == 1 && seq > 0) {
        if (vt_spool_drop(up->cfg.spool, seq, err, sizeof err) != 0)
            logf_(up, "%s", err);
        return;
    }
    if (e->code == VANTAGE__ERROR__CODE__NOT_ALLOWED && up->welcomed) {
        up->welcomed = false;
        /* What we said last may have been refused with the session: say it
         * again after the next Welcome (a repeat changes nothing). */
        if (up->progress.lease_id)
            up->progress_pending = true;
        up->hello_backoff_ms = HELLO_BACKOFF_MIN_MS;
        up->next_hello_ms = now + up->hello_backoff_ms;
        send_hello(up);
    }
}

static void handle_message(struct vt_uplink *up, const uint8_t *buf, size_t len)
{
    char err[512];
    Vantage__Envelope *env = vt_envelope_unpack(buf, len, err, sizeof err);
    up->missed = 0; /* the coordinator is alive, whatever it said */
    up->last_heard_ms = zclock_mono();
    if (!env) {
        int64_t now = zclock_mono();
        if (now - up->last_bad_log_ms > 60000) {
            up->last_bad_log_ms = now;
            logf_(up, "bad message from the coordinator: %s", err);
        }
        return;
    }
    switch (env->body_case) {
    case VANTAGE__ENVELOPE__BODY_WELCOME: {
        const Vantage__Welcome *w = env->welcome;
        if (vt_spool_ack(up->cfg.spool, w->acked_seq, err, sizeof err) != 0)
            logf_(up, "%s", err);
        if (!up->welcomed) {
            char site[96];
            logf_(up, "connected to %s as site %s; %zu result batches to send", up->cfg.endpoint,
                  vt_log_escape(w->site, site, sizeof site), vt_spool_count(up->cfg.spool));
            up->stats.connects++;
        }
        up->welcomed = true;
        up->sent_upto = w->acked_seq; /* re-send everything not yet stored */
        up->credits = w->credits;
        up->heartbeat_ms = w->has_heartbeat_ms && w->heartbeat_ms ? w->heartbeat_ms : 1000;
        up->next_beat_ms = zclock_mono();
        up->hello_backoff_ms = HELLO_BACKOFF_MIN_MS;
        if (w->has_optout_gen && w->optout_gen > up->optout_gen)
            logf_(up,
                  "opt-out list behind (generation %" PRIu64 " of %" PRIu64 "): the "
                  "coordinator sends it before any lease goes on",
                  up->optout_gen, w->optout_gen);
        send_progress(up);
        break;
    }
    case VANTAGE__ENVELOPE__BODY_HEARTBEAT:
        break;
    case VANTAGE__ENVELOPE__BODY_ACK:
        if (vt_spool_ack(up->cfg.spool, env->ack->seq, err, sizeof err) != 0)
            logf_(up, "%s", err);
        up->stats.batches_acked++;
        break;
    case VANTAGE__ENVELOPE__BODY_CREDIT:
        up->credits = env->credit->batches;
        break;
    case VANTAGE__ENVELOPE__BODY_LEASE:
        handle_lease(up, env->lease);
        break;
    case VANTAGE__ENVELOPE__BODY_RATE:
        if (up->lease_id && env->rate->lease_id == up->lease_id && up->cfg.ops.set_rate) {
            up->lease_asked = env->rate->rate;
            up->lease_rate = vt_policy_clamp_rate(up->cfg.policy, env->rate->rate);
            up->cfg.ops.set_rate(up->cfg.ops.arg, up->lease_rate);
        }
        break;
    case VANTAGE__ENVELOPE__BODY_BLOCKLIST:
        handle_optout(up, env->blocklist);
        break;
    case VANTAGE__ENVELOPE__BODY_CANCEL:
        if (up->lease_id && env->cancel->lease_id == up->lease_id) {
            char why[160];
            char reason[104];
            snprintf(why, sizeof why, "cancelled by the coordinator (%s)",
                     vt_log_escape(env->cancel->reason ? env->cancel->reason : "no reason given",
                                   reason, sizeof reason));
            stop_lease(up, why);
        }
        break;
    case VANTAGE__ENVELOPE__BODY_ERROR:
        handle_error(up, env->error);
        break;
    default:
        break;
    }
    vt_envelope_free(env);
}

static void handle_event(struct vt_uplink *up)
{
    char *cmd = NULL, *text = NULL;
    uint64_t lease_id = 0, done = 0, dropped = 0;
    uint8_t finished = 0;
    if (zsock_recv(up->events, "s8818s", &cmd, &lease_id, &done, &finished, &dropped, &text) != 0)
        return;
    if (cmd && strcmp(cmd, "progress") == 0) {
        vantage__progress__init(&up->progress);
        up->progress.lease_id = lease_id;
        up->progress.done = done;
        up->progress.has_finished = true;
        up->progress.finished = finished;
        up->progress.has_rate = true;
        up->progress.rate = up->lease_rate;
        /* Every result of `done` steps is in a batch at or below this seq:
         * the checkpoint counts once the coordinator has stored them. */
        up->progress.has_batch_seq = true;
        up->progress.batch_seq = vt_spool_last_stored(up->cfg.spool);
        up->progress.has_dropped = true;
        up->progress.dropped = dropped;
        up->progress_pending = true;
        pump_batches(up); /* the batches this checkpoint covers go first */
        send_progress(up);
    } else if (cmd && strcmp(cmd, "ended") == 0) {
        if (text && text[0]) {
            char reason[600];
            snprintf(reason, sizeof reason, "scan failed: %s", text);
            send_refused(up, lease_id, reason);
            /* Whatever broke (the link, a privilege) is unlikely to mend in a
             * second: do not take lease after lease only to fail each. */
            up->no_lease_until_ms = zclock_mono() + SCAN_FAIL_PAUSE_MS;
        } else {
            logf_(up, "lease %" PRIu64 " ended", lease_id);
        }
        if (lease_id == up->lease_id) {
            up->lease_id = 0;
            up->lease_rate = 0;
            up->lease_stopping = false;
        }
    }
    zstr_free(&cmd);
    zstr_free(&text);
}

static void send_heartbeat(struct vt_uplink *up, bool stopping)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    Vantage__Heartbeat hb = VANTAGE__HEARTBEAT__INIT;
    hb.has_want_lease = true;
    hb.want_lease = !stopping && up->cfg.ops.start && !up->lease_id &&
                    zclock_mono() >= up->no_lease_until_ms && !vt_spool_full(up->cfg.spool);
    hb.has_rate = true;
    hb.rate = up->lease_id ? up->lease_rate : 0;
    hb.has_lease_id = true;
    hb.lease_id = up->lease_id;
    hb.has_optout_gen = true;
    hb.optout_gen = up->optout_gen;
    env.body_case = VANTAGE__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    send_env(up, &env);
}

/* Timers: heartbeat while welcomed (and the missed-answer count), Hello with
 * backoff while not. */
static int tick(struct vt_uplink *up, bool stopping, char *err, size_t errlen)
{
    int64_t now = zclock_mono();
    if (up->lease_id && now - up->last_heard_ms > up->lease_deadline_ms)
        stop_lease(up, "no word from the coordinator for the lease's deadline");
    if (up->welcomed) {
        if (now < up->next_beat_ms)
            return 0;
        up->next_beat_ms = now + up->heartbeat_ms;
        if (up->missed >= MISSED_MAX) {
            logf_(up, "no answer from %s for %u heartbeats; reconnecting", up->cfg.endpoint,
                  up->missed);
            close_dealer(up);
            return open_dealer(up, err, errlen);
        }
        up->missed++;
        send_heartbeat(up, stopping);
    } else if (now >= up->next_hello_ms) {
        if (up->hello_backoff_ms >= 8000)
            logf_(up,
                  "no Welcome from %s yet (is it running and reachable, is --server-key its "
                  "public key, is this worker enrolled?)",
                  up->cfg.endpoint);
        up->hello_backoff_ms *= 2;
        if (up->hello_backoff_ms > HELLO_BACKOFF_MAX_MS)
            up->hello_backoff_ms = HELLO_BACKOFF_MAX_MS;
        up->next_hello_ms = now + up->hello_backoff_ms;
        send_hello(up);
    }
    return 0;
}

int vt_uplink_run(struct vt_uplink *up, atomic_bool *stop, char *err, size_t errlen)
{
    if (open_dealer(up, err, errlen) != 0)
        return -1;
    zmq_pollitem_t items[3] = {{zsock_resolve(up->dealer), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve(up->events), 0, ZMQ_POLLIN, 0},
                               {NULL, -1, ZMQ_POLLIN, 0}};
    bool stopping = false;
    int64_t stop_deadline = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (;;) {
        if (!stopping && atomic_load(stop)) {
            stopping = true;
            stop_deadline = zclock_mono() + STOP_GRACE_MS;
            if (up->lease_id)
                stop_lease(up, "the worker is shutting down");
        }
        if (stopping && (!up->lease_id || zclock_mono() > stop_deadline))
            break;
        items[0].socket = zsock_resolve(up->dealer);
        items[2].socket = up->monitor ? zsock_resolve(up->monitor) : NULL;
        int n = zmq_poll(items, 3, 100);
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "polling failed: %s", zmq_strerror(errno));
            zmq_msg_close(&msg);
            return -1;
        }
        if (n > 0 && (items[0].revents & ZMQ_POLLIN)) {
            while (zmq_msg_recv(&msg, zsock_resolve(up->dealer), ZMQ_DONTWAIT) >= 0) {
                if (zmq_msg_more(&msg)) {
                    /* One frame per message; drop the rest of a multi-frame one. */
                    while (zmq_msg_more(&msg) &&
                           zmq_msg_recv(&msg, zsock_resolve(up->dealer), ZMQ_DONTWAIT) >= 0)
                        ;
                    continue;
                }
                handle_message(up, zmq_msg_data(&msg), zmq_msg_size(&msg));
            }
        }
        if (n > 0 && (items[1].revents & ZMQ_POLLIN))
            handle_event(up);
        if (n > 0 && (items[2].revents & ZMQ_POLLIN))
            handle_monitor(up);
        pump_batches(up);
        if (tick(up, stopping, err, errlen) != 0) {
            zmq_msg_close(&msg);
            return -1;
        }
        if (up->cfg.on_turn)
            up->cfg.on_turn(up->cfg.turn_arg, up);
    }
    zmq_msg_close(&msg);
    if (up->lease_id)
        logf_(up, "lease %" PRIu64 " did not stop within %d s; leaving it to lapse", up->lease_id,
              STOP_GRACE_MS / 1000);
    /* Last words: progress and what credit allows, then a bounded linger. */
    pump_batches(up);
    send_progress(up);
    zsock_set_linger(up->dealer, LINGER_MS);
    close_dealer(up);
    return 0;
}

void vt_uplink_stats(const struct vt_uplink *up, struct vt_uplink_stats *st)
{
    *st = up->stats;
    st->connected = up->welcomed;
    st->lease_id = up->lease_id;
    st->rate = up->lease_id ? up->lease_rate : 0;
    snprintf(st->campaign, sizeof st->campaign, "%s", up->lease_id ? up->lease_campaign : "");
}

void vt_uplink_policy_changed(struct vt_uplink *up)
{
    Vantage__Policy fresh;
    if (vt_policy_to_proto(up->cfg.policy, &fresh) == 0) {
        vt_policy_proto_free(&up->policy);
        up->policy = fresh;
    }
    if (up->lease_id && !up->lease_stopping && up->cfg.ops.set_rate) {
        uint64_t rate = vt_policy_clamp_rate(up->cfg.policy, up->lease_asked);
        if (rate != up->lease_rate) {
            logf_(up, "lease %" PRIu64 ": rate %" PRIu64 " -> %" PRIu64 " probes/s", up->lease_id,
                  up->lease_rate, rate);
            up->lease_rate = rate;
            up->cfg.ops.set_rate(up->cfg.ops.arg, rate);
        }
    }
    /* The coordinator shares a campaign's rate by each worker's ceiling: it
     * takes the new one from a Hello (which it answers with a Welcome; the
     * lease we name goes on). */
    if (up->dealer && up->welcomed)
        send_hello(up);
}

int vt_uplink_post_progress(zsock_t *events, uint64_t lease_id, uint64_t done, bool finished,
                            uint64_t dropped)
{
    return zsock_send(events, "s8818s", "progress", lease_id, done, (uint8_t)finished, dropped, "");
}

int vt_uplink_post_ended(zsock_t *events, uint64_t lease_id, const char *error)
{
    return zsock_send(events, "s8818s", "ended", lease_id, (uint64_t)0, (uint8_t)0, (uint64_t)0,
                      error ? error : "");
}
