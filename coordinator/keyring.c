/* keyring.c: the ZAP handler that admits only enrolled keys. See keyring.h.
 *
 * A refused handshake is logged, so an operator can tell "the partner's
 * worker never reached us" from "it reached us with a key we do not know"
 * (typically: the partner sent its secret key, or an old key, and enrolled
 * that). A refused worker retries every few hundred milliseconds and a port
 * scan tries anything, so the lines are rate limited: one a minute per key
 * prefix (saying how many refusals it stands for), at most
 * REFUSAL_LINES_MAX lines a minute in all, the rest counted and summed up in
 * one line. The log shows a prefix of the key, never the whole key. */
#include "keyring.h"

#include <inttypes.h>
#include <string.h>

#include "coord.h" /* vt_log */

/* libzmq 4.3 has it, but only under ZMQ_BUILD_DRAFT_API; its value is fixed. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

#define VT_ZAP_DOMAIN      "vantage"
#define REFUSAL_EVERY_MS   60000 /* one line a minute per key prefix ... */
#define REFUSAL_LINES_MAX  20    /* ... and no more than this many a minute in all */
#define REFUSAL_KEYS_MAX   1024  /* prefixes remembered; beyond, counted together */
#define REFUSAL_PREFIX_LEN 8

struct refusal {
    int64_t logged_ms; /* when its last line was written */
    uint64_t unlogged; /* refusals since */
};

struct refusals {
    zhashx_t *by_prefix;     /* key prefix → struct refusal */
    int64_t minute_start_ms; /* the overall budget's minute ... */
    unsigned lines;          /* ... and the lines written in it */
    uint64_t unlogged;       /* refusals not logged for want of budget or room */
    int64_t unlogged_since_ms;
};

static void refusal_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* Forgets prefixes not refused for a minute, to make room. */
static void refusals_purge(struct refusals *r, int64_t now)
{
    zlistx_t *stale = zlistx_new();
    if (!stale)
        return;
    for (struct refusal *e = zhashx_first(r->by_prefix); e; e = zhashx_next(r->by_prefix))
        if (now - e->logged_ms >= REFUSAL_EVERY_MS && e->unlogged == 0)
            zlistx_add_end(stale, (void *)zhashx_cursor(r->by_prefix));
    for (const char *k = zlistx_first(stale); k; k = zlistx_next(stale))
        zhashx_delete(r->by_prefix, k);
    zlistx_destroy(&stale);
}

/* Refusals counted, not logged one by one: summed up when their minute ends. */
static void refusals_flush(struct refusals *r, int64_t now)
{
    if (now - r->minute_start_ms < REFUSAL_EVERY_MS)
        return;
    bool summary = r->unlogged != 0;
    if (summary)
        vt_log("refused %" PRIu64 " more worker handshakes in the last %" PRId64
               " s, not logged one by one (a scan of the port, or many unenrolled workers?)",
               r->unlogged, (now - r->unlogged_since_ms) / 1000 + 1);
    r->unlogged = 0;
    r->minute_start_ms = now;
    r->lines = summary ? 1 : 0;
}

static void refusals_count(struct refusals *r, int64_t now)
{
    if (r->unlogged++ == 0)
        r->unlogged_since_ms = now;
}

/* Milliseconds until the summary is due, or -1 if there is nothing to sum up. */
static int refusals_timeout(const struct refusals *r, int64_t now)
{
    if (!r->unlogged)
        return -1;
    int64_t left = r->minute_start_ms + REFUSAL_EVERY_MS - now;
    return left < 1 ? 1 : (int)left;
}

static void refusals_note(struct refusals *r, const char *key, const char *address, const char *why)
{
    int64_t now = zclock_mono();
    refusals_flush(r, now);
    char prefix[REFUSAL_PREFIX_LEN + 1];
    snprintf(prefix, sizeof prefix, "%.*s", REFUSAL_PREFIX_LEN, key[0] ? key : "-");
    struct refusal *e = zhashx_lookup(r->by_prefix, prefix);
    if (!e && zhashx_size(r->by_prefix) >= REFUSAL_KEYS_MAX)
        refusals_purge(r, now);
    if (!e && zhashx_size(r->by_prefix) < REFUSAL_KEYS_MAX && (e = calloc(1, sizeof *e))) {
        e->logged_ms = now - REFUSAL_EVERY_MS; /* never logged: due now */
        zhashx_insert(r->by_prefix, prefix, e);
    }
    if (e && now - e->logged_ms < REFUSAL_EVERY_MS) { /* told this minute: in its next line */
        e->unlogged++;
        return;
    }
    if (!e || r->lines >= REFUSAL_LINES_MAX) { /* no room, or no budget left */
        refusals_count(r, now);
        return;
    }
    char more[96] = "";
    if (e->unlogged)
        snprintf(more, sizeof more, ", and %" PRIu64 " more times since the last line",
                 e->unlogged);
    /* address comes from libzmq (the peer's IP), the prefix from the Z85
     * alphabet: neither can break the line. */
    vt_log("refused a worker handshake from %.64s: key %s... %s%s (see vantage worker list "
           "--json; logged at most once a minute per key)",
           address[0] ? address : "an unknown address", prefix, why, more);
    e->logged_ms = now;
    e->unlogged = 0;
    r->lines++;
}

/* arg: the handler socket, bound by vt_keyring_new; the actor owns it. */
static void keyring_actor(zsock_t *pipe, void *arg)
{
    zsock_t *handler = arg;
    zhashx_t *keys = zhashx_new();
    struct refusals refused = {.by_prefix = zhashx_new(), .minute_start_ms = zclock_mono()};
    if (!keys || !refused.by_prefix) {
        zsock_signal(pipe, 1);
        zsock_destroy(&handler);
        zhashx_destroy(&keys);
        zhashx_destroy(&refused.by_prefix);
        return;
    }
    zhashx_set_destructor(refused.by_prefix, refusal_free);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    for (bool done = false; !done;) {
        /* wakes for the summary of refusals when one is due, else only for work */
        void *which = zpoller_wait(poller, refusals_timeout(&refused, zclock_mono()));
        if (which == pipe) {
            char *cmd = NULL, *key = NULL;
            if (zstr_recvx(pipe, &cmd, &key, NULL) < 1 || !strcmp(cmd, "$TERM")) {
                done = true;
            } else if (key && !strcmp(cmd, "ALLOW")) {
                zhashx_update(keys, key, (void *)1);
                zsock_signal(pipe, 0);
            } else if (key && !strcmp(cmd, "DENY")) {
                zhashx_delete(keys, key);
                zsock_signal(pipe, 0);
            } else {
                zsock_signal(pipe, 1);
            }
            zstr_free(&cmd);
            zstr_free(&key);
        } else if (which == handler) {
            /* RFC 27 request: version, sequence, domain, address, identity,
             * mechanism, credentials. Reply: version, sequence, status code,
             * status text, user id, metadata. The user id is the client's
             * key: the ROUTER's frames carry it as "User-Id". */
            zmsg_t *req = zmsg_recv(handler);
            if (!req)
                break;
            char *version = zmsg_popstr(req), *sequence = zmsg_popstr(req);
            zframe_t *domain = zmsg_pop(req);
            char *address = zmsg_popstr(req);
            zframe_t *identity = zmsg_pop(req);
            char *mechanism = zmsg_popstr(req);
            zframe_t *cred = zmsg_pop(req);
            char key[41] = "";
            bool curve = version && !strcmp(version, "1.0") && mechanism &&
                         !strcmp(mechanism, "CURVE") && cred && zframe_size(cred) == 32 &&
                         zmq_z85_encode(key, zframe_data(cred), 32);
            bool ok = curve && zhashx_lookup(keys, key);
            zstr_sendx(handler, "1.0", sequence ? sequence : "", ok ? "200" : "400",
                       ok ? "OK" : "not an enrolled worker key", ok ? key : "", "", NULL);
            if (!ok)
                refusals_note(&refused, key, address ? address : "",
                              curve ? "is not enrolled or was revoked" : "came with no CURVE key");
            zstr_free(&version);
            zstr_free(&sequence);
            zstr_free(&address);
            zstr_free(&mechanism);
            zframe_destroy(&domain);
            zframe_destroy(&identity);
            zframe_destroy(&cred);
            zmsg_destroy(&req);
        } else if (zpoller_terminated(poller)) {
            break;
        }
        refusals_flush(&refused, zclock_mono());
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
    zhashx_destroy(&keys);
    zhashx_destroy(&refused.by_prefix);
}

zactor_t *vt_keyring_new(void)
{
    /* Bound here, not in the actor, so that a failure is seen by the caller
     * (zactor_new ignores the actor's start-up status). The socket then moves
     * to the actor's thread: thread creation is the full barrier ZeroMQ asks. */
    zsock_t *handler = zsock_new(ZMQ_REP);
    if (!handler)
        return NULL;
    if (zsock_bind(handler, "inproc://zeromq.zap.01") != 0) {
        zsock_destroy(&handler);
        return NULL;
    }
    zactor_t *ring = zactor_new(keyring_actor, handler);
    if (!ring)
        zsock_destroy(&handler);
    return ring;
}

int vt_keyring_guard(zsock_t *sock)
{
    /* zsock_set_zap_domain asserts on failure; a daemon must not abort. */
    int one = 1;
    void *s = zsock_resolve(sock);
    if (zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, VT_ZAP_DOMAIN, strlen(VT_ZAP_DOMAIN)) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        return -1;
    return 0;
}

void vt_keyring_set(zactor_t *ring, const char *key_z85, bool allow)
{
    if (!ring)
        return;
    zstr_sendx(ring, allow ? "ALLOW" : "DENY", key_z85, NULL);
    zsock_wait(ring);
}

void vt_keyring_destroy(zactor_t **ring)
{
    zactor_destroy(ring);
}
