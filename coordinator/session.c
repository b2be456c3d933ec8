/* session.c: one message from a worker, from the ROUTER frame to the part
 * that handles it.
 *
 * Every message is attributed by the CURVE key the keyring admitted (the
 * frame's User-Id), never by anything the peer says. Then: a revoked worker
 * gets refusals only; a message of more than one frame is refused; a new
 * ROUTER identity means a new connection, which must say Hello first.
 *
 * Hello and Heartbeat carry the worker's view (the lease it runs, the
 * opt-out generation it has applied). The answers bring it up to date: a
 * Welcome or Heartbeat with the current generation, the whole opt-out list
 * when it is behind (before it may take or go on with any lease), and a
 * LeaseCancel for a lease that is no longer live (lease.c decides). Because
 * this happens at every beat, an order issued while the worker was away
 * reaches it within a heartbeat of its return.
 *
 * Bounds on what a peer can make the daemon hold: Hellos are rate limited
 * per key, result batches beyond the worker's credit are refused unread, and
 * each worker's credit is its share of VT_INFLIGHT_MAX (sent as Credit when
 * it changes), so in-flight batches are bounded whatever the fleet does. */
#include "coord.h"

#include <inttypes.h>
#include <string.h>

/* Credit: an equal share of the in-flight budget, VT_CREDITS at most. */
static uint32_t credit_share(struct vt_coord *c, int64_t now)
{
    size_t online = 0;
    for (size_t i = 0; i < c->nworkers; i++)
        online += vt_worker_online(c->workers[i], now);
    size_t share = VT_INFLIGHT_MAX / (online ? online : 1);
    return share > VT_CREDITS ? VT_CREDITS : share ? (uint32_t)share : 1;
}

static void send_welcome(struct vt_coord *c, struct vt_worker *w)
{
    Vantage__Welcome m = VANTAGE__WELCOME__INIT;
    m.site = w->site;
    m.acked_seq = w->durable_seq; /* never a batch whose write is not yet synced */
    w->credits = credit_share(c, vt_mono_ms());
    m.credits = w->credits;
    m.has_heartbeat_ms = true;
    m.heartbeat_ms = VT_HEARTBEAT_MS;
    m.has_optout_gen = true;
    m.optout_gen = c->optout_gen;
    vt_send_body(c, w, VANTAGE__ENVELOPE__BODY_WELCOME, &m);
}

void vt_session_send_optout(struct vt_coord *c, struct vt_worker *w)
{
    Vantage__Range *r = calloc(c->optout.n + 1, sizeof *r);
    Vantage__Range **rp = calloc(c->optout.n + 1, sizeof *rp);
    if (r && rp) {
        for (size_t i = 0; i < c->optout.n; i++) {
            vantage__range__init(&r[i]);
            r[i].first = c->optout.r[i].first;
            r[i].last = c->optout.r[i].last;
            rp[i] = &r[i];
        }
        Vantage__BlocklistAdd m = VANTAGE__BLOCKLIST_ADD__INIT;
        m.ranges = rp;
        m.n_ranges = c->optout.n;
        m.has_generation = true;
        m.generation = c->optout_gen;
        vt_send_body(c, w, VANTAGE__ENVELOPE__BODY_BLOCKLIST, &m);
    }
    free(r);
    free(rp);
}

/* True if this Hello is within the key's allowance. */
static bool hello_allowed(struct vt_worker *w, int64_t now)
{
    if (!w->hello_window_ms || now - w->hello_window_ms >= VT_HELLO_WINDOW_MS) {
        w->hello_window_ms = now;
        w->hellos = 0;
    }
    return ++w->hellos <= VT_HELLO_BURST;
}

static void on_hello(struct vt_coord *c, struct vt_worker *w, const Vantage__Hello *h)
{
    if (!hello_allowed(w, vt_mono_ms())) {
        vt_complain(c, w, "more than %d Hellos in %d s: ignored", VT_HELLO_BURST,
                    VT_HELLO_WINDOW_MS / 1000);
        return;
    }
    /* A refusal stands until the worker comes with another policy. */
    if (vt_worker_on_hello(c, w, h))
        w->refused[0] = '\0';
    w->optout_gen = h->has_optout_gen ? h->optout_gen : 0;
    send_welcome(c, w);
    if (w->optout_gen < c->optout_gen)
        vt_session_send_optout(c, w);
    vt_lease_reconcile(c, w, h->has_lease_id ? h->lease_id : 0, true);
}

static void on_heartbeat(struct vt_coord *c, struct vt_worker *w, const Vantage__Heartbeat *in)
{
    if (in->has_rate)
        w->rate = in->rate;
    if (in->has_optout_gen)
        w->optout_gen = in->optout_gen;
    Vantage__Heartbeat hb = VANTAGE__HEARTBEAT__INIT;
    hb.has_optout_gen = true;
    hb.optout_gen = c->optout_gen;
    vt_send_body(c, w, VANTAGE__ENVELOPE__BODY_HEARTBEAT, &hb);
    if (w->optout_gen < c->optout_gen)
        vt_session_send_optout(c, w);
    uint64_t held = in->has_lease_id ? in->lease_id : 0;
    vt_lease_reconcile(c, w, held, false);
    if (in->has_want_lease && in->want_lease && !held)
        vt_lease_offer(c, w);
}

static void on_results(struct vt_coord *c, struct vt_worker *w, const Vantage__ResultBatch *b)
{
    vt_ingest_batch(c, w, b);
    /* Results of a lease that is over: taken (they are real), and the
     * worker is told to stop that scan if it still runs it. */
    struct vt_lease *l = vt_lease_by_id(c, b->lease_id);
    if (l && l->worker == w && !vt_lease_live(l) && !(l->active && l->finishing))
        vt_lease_send_cancel(c, w, l->id, "lease ended");
}

/* Answers on connection id, which is not (or not yet) w's session. */
static void answer_on(struct vt_coord *c, struct vt_worker *w, zframe_t *id,
                      Vantage__Error__Code code, const char *text)
{
    zframe_t *route = w->route;
    w->route = id;
    vt_send_error(c, w, code, "%s", text);
    w->route = route;
}

void vt_session_message(struct vt_coord *c)
{
    zmsg_t *msg = zmsg_recv(c->router);
    if (!msg)
        return;
    zframe_t *id = zmsg_pop(msg), *body = zmsg_pop(msg);
    const char *key = body ? zframe_meta(body, "User-Id") : NULL;
    struct vt_worker *w = key ? vt_worker_by_key(c, key) : NULL;
    if (!id || !body || !w) {
        vt_complain(c, NULL, "malformed or unattributable message dropped");
        goto out;
    }
    if (w->revoked) {
        /* the keyring admits only enrolled keys, but a revoked worker may still hold
         * a connection from before: it gets nothing but refusals, and is told
         * to stop whatever lease it names. */
        vt_complain(c, w, "message from a revoked worker refused");
        char text[128];
        snprintf(text, sizeof text, "worker %s is revoked: its messages are refused", w->name);
        answer_on(c, w, id, VANTAGE__ERROR__CODE__NOT_ALLOWED, text);
        char err[64];
        Vantage__Envelope *env =
            vt_envelope_unpack(zframe_data(body), zframe_size(body), err, sizeof err);
        uint64_t held =
            !env                                                  ? 0
            : env->body_case == VANTAGE__ENVELOPE__BODY_HELLO     ? env->hello->lease_id
            : env->body_case == VANTAGE__ENVELOPE__BODY_HEARTBEAT ? env->heartbeat->lease_id
            : env->body_case == VANTAGE__ENVELOPE__BODY_PROGRESS  ? env->progress->lease_id
                                                                  : 0;
        vt_envelope_free(env);
        if (held) {
            zframe_t *route = w->route;
            w->route = id;
            vt_lease_send_cancel(c, w, held, "worker revoked");
            w->route = route;
        }
        goto out;
    }
    if (zmsg_size(msg) != 0) {
        vt_complain(c, w, "message of %zu frames (one expected) refused", zmsg_size(msg) + 1);
        answer_on(c, w, id, VANTAGE__ERROR__CODE__BAD_MESSAGE,
                  "a message is one frame holding one envelope");
        goto out;
    }
    if (!w->route || !zframe_eq(w->route, id)) { /* a new connection */
        zframe_destroy(&w->route);
        w->route = zframe_dup(id);
        w->hello = false;
    }
    w->last_seen_ms = vt_mono_ms();
    w->last_seen_wall = vt_now_ms();
    char err[256];
    Vantage__Envelope *env =
        vt_envelope_unpack(zframe_data(body), zframe_size(body), err, sizeof err);
    if (!env) {
        vt_complain(c, w, "%s", err);
        vt_send_error(c, w,
                      strstr(err, "version") ? VANTAGE__ERROR__CODE__BAD_VERSION
                                             : VANTAGE__ERROR__CODE__BAD_MESSAGE,
                      "%s", err);
        goto out;
    }
    if (env->body_case != VANTAGE__ENVELOPE__BODY_HELLO && !w->hello) {
        if (env->body_case == VANTAGE__ENVELOPE__BODY_RESULTS)
            c->batches_refused++;
        vt_send_error(c, w, VANTAGE__ERROR__CODE__NOT_ALLOWED, "say Hello first");
        vt_envelope_free(env);
        goto out;
    }
    switch (env->body_case) {
    case VANTAGE__ENVELOPE__BODY_HELLO:
        on_hello(c, w, env->hello);
        break;
    case VANTAGE__ENVELOPE__BODY_HEARTBEAT:
        on_heartbeat(c, w, env->heartbeat);
        break;
    case VANTAGE__ENVELOPE__BODY_PROGRESS:
        vt_lease_on_progress(c, w, env->progress);
        break;
    case VANTAGE__ENVELOPE__BODY_LEASE_REFUSED:
        vt_lease_on_refused(c, w, env->lease_refused);
        break;
    case VANTAGE__ENVELOPE__BODY_RESULTS:
        on_results(c, w, env->results);
        break;
    case VANTAGE__ENVELOPE__BODY_ERROR: {
        /* The peer's text: escaped and shortened, and rate limited like
         * every complaint, so it can neither flood nor forge log lines. */
        char text[256];
        vt_complain(c, w, "reports an error: %s",
                    vt_escape(env->error->text ? env->error->text : "?", text, sizeof text));
        break;
    }
    default:
        vt_complain(c, w, "unexpected message kind %d", env->body_case);
        vt_send_error(c, w, VANTAGE__ERROR__CODE__BAD_MESSAGE, "unexpected message kind");
    }
    vt_envelope_free(env);
out:
    zframe_destroy(&id);
    zframe_destroy(&body);
    zmsg_destroy(&msg);
}

void vt_session_tick(struct vt_coord *c, int64_t now)
{
    uint32_t share = credit_share(c, now);
    for (size_t i = 0; i < c->nworkers; i++) {
        struct vt_worker *w = c->workers[i];
        if (!vt_worker_online(w, now) || w->credits == share)
            continue;
        w->credits = share;
        Vantage__Credit m = VANTAGE__CREDIT__INIT;
        m.batches = share;
        vt_send_body(c, w, VANTAGE__ENVELOPE__BODY_CREDIT, &m);
    }
}
