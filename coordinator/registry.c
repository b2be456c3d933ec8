/* registry.c: the enrolled workers.
 *
 * A worker is enrolled by `vantage worker add` with a name, its CURVE public
 * key and a site label. Its record lives in meta `worker/<name>` (JSON); its
 * public key goes into the keyring (keyring.c), so an unknown key is turned
 * away during the CURVE handshake, before any message is read. Revocation
 * takes the key out of the keyring and marks the record, so the connection it
 * may still hold is refused message by message from then on. */
#include "coord.h"

#include "keyring.h"
#include "keys.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int save(struct vt_coord *c, const struct vt_worker *w)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:b}", "name", w->name, "key", w->key, "site",
                          w->site, "asn", (json_int_t)w->asn, "revoked", w->revoked);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return -1;
    char key[128];
    snprintf(key, sizeof key, "worker/%s", w->name);
    int rc = vt_meta_put(c->store, key, text, strlen(text), true);
    free(text);
    return rc;
}

static struct vt_worker *append(struct vt_coord *c)
{
    struct vt_worker **n = realloc(c->workers, (c->nworkers + 1) * sizeof *n);
    if (!n)
        return NULL;
    c->workers = n;
    struct vt_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    vt_targets_init(&w->scope);
    c->workers[c->nworkers++] = w;
    return w;
}

/* The scope a worker declared in its last Hello (meta scope/<name>), so a
 * campaign started while it is offline is still cut for it (shard.c). */
static void save_scope(struct vt_coord *c, const struct vt_worker *w)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < w->scope.n; i++)
        json_array_append_new(a, json_pack("[I, I]", (json_int_t)w->scope.r[i].first,
                                           (json_int_t)w->scope.r[i].last));
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    char key[128];
    snprintf(key, sizeof key, "scope/%s", w->name);
    if (text)
        vt_state_put(c, key, text);
    free(text);
}

static void load_scope(struct vt_coord *c, struct vt_worker *w)
{
    char key[128];
    void *v;
    size_t n;
    snprintf(key, sizeof key, "scope/%s", w->name);
    if (vt_meta_get(c->store, key, &v, &n) != 1)
        return;
    json_t *a = json_loadb(v, n, 0, NULL), *r;
    size_t i;
    json_array_foreach(a, i, r)
    {
        vt_targets_add_range(&w->scope, (uint32_t)json_integer_value(json_array_get(r, 0)),
                             (uint32_t)json_integer_value(json_array_get(r, 1)));
    }
    json_decref(a);
    free(v);
}

static int load_one(void *arg, const char *key, const void *val, size_t len)
{
    struct vt_coord *c = arg;
    json_error_t jerr;
    json_t *o = json_loadb(val, len, 0, &jerr);
    const char *name = NULL, *pub = NULL, *site = NULL;
    json_int_t asn = 0;
    int revoked = 0;
    if (!o || json_unpack(o, "{s:s, s:s, s:s, s?I, s?b}", "name", &name, "key", &pub, "site", &site,
                          "asn", &asn, "revoked", &revoked) != 0) {
        vt_log("ignoring unreadable record %s in the store", key);
        json_decref(o);
        return 0;
    }
    struct vt_worker *w = append(c);
    if (w) {
        snprintf(w->name, sizeof w->name, "%s", name);
        snprintf(w->key, sizeof w->key, "%s", pub);
        snprintf(w->site, sizeof w->site, "%s", site);
        w->asn = asn;
        w->revoked = revoked;
        char seqkey[128];
        void *sv;
        size_t sl;
        snprintf(seqkey, sizeof seqkey, "seq/%s", w->name);
        if (vt_meta_get(c->store, seqkey, &sv, &sl) == 1) {
            if (sl == sizeof w->acked_seq)
                memcpy(&w->acked_seq, sv, sl);
            w->durable_seq = w->acked_seq; /* what the store holds after a restart is on disk */
            free(sv);
        }
        load_scope(c, w);
        if (!w->revoked) /* a revoked worker's key may be enrolled again under a new name */
            vt_keyring_set(c->auth, w->key, true);
    }
    json_decref(o);
    return w ? 0 : -1;
}

int vt_registry_load(struct vt_coord *c, char *err, size_t errlen)
{
    if (vt_meta_scan(c->store, "worker/", load_one, c) != 0) {
        snprintf(err, errlen, "cannot read the enrolled workers from the store");
        return -1;
    }
    return 0;
}

struct vt_worker *vt_worker_by_name(struct vt_coord *c, const char *name)
{
    for (size_t i = 0; i < c->nworkers; i++)
        if (!strcmp(c->workers[i]->name, name))
            return c->workers[i];
    return NULL;
}

struct vt_worker *vt_worker_by_key(struct vt_coord *c, const char *key)
{
    /* The enrolled worker with this key; a revoked one only if none is. */
    struct vt_worker *revoked = NULL;
    for (size_t i = 0; i < c->nworkers; i++)
        if (!strcmp(c->workers[i]->key, key)) {
            if (!c->workers[i]->revoked)
                return c->workers[i];
            revoked = c->workers[i];
        }
    return revoked;
}

int vt_worker_add(struct vt_coord *c, const char *name, const char *key, const char *site,
                  int64_t asn, char *err, size_t errlen)
{
    uint8_t pub[32];
    static const uint8_t zero[32];
    if (!vt_z85_key_valid(key) || vt_z85_decode(pub, key, VT_Z85_KEY_LEN) != 0) {
        snprintf(err, errlen,
                 "bad key: give the worker's public key, 40 Z85 characters "
                 "(what `vantage-worker keygen` printed)");
        return -1;
    }
    if (!memcmp(pub, zero, sizeof pub)) {
        snprintf(err, errlen,
                 "bad key: all zeros is no key (a placeholder?); give the worker's public key");
        return -1;
    }
    if (c->public_key[0] && !strcmp(key, c->public_key)) {
        snprintf(err, errlen,
                 "bad key: that is this coordinator's own public key; give the worker's (what "
                 "`vantage-worker keygen` printed on the partner's host)");
        return -1;
    }
    /* A secret key is 40 Z85 characters too, and any 32 bytes make a public
     * key, so a pasted secret cannot be told in general. Two can: one whose
     * public key is ours or an enrolled worker's. (The CLI refuses a key
     * file holding a secret.) The key is never echoed: it may be secret. */
    char derived[41];
    if (zmq_curve_public(derived, key) == 0) {
        if (c->public_key[0] && !strcmp(derived, c->public_key)) {
            snprintf(err, errlen,
                     "bad key: that is this coordinator's SECRET key, refused; it must never "
                     "leave this host (if it did, make a new pair with vantage keygen)");
            return -1;
        }
        struct vt_worker *owner = vt_worker_by_key(c, derived);
        if (owner) {
            snprintf(err, errlen,
                     "bad key: that is the SECRET key of worker %s, refused; ask its partner for "
                     "the public one (and, since the secret was sent, for a new pair)",
                     owner->name);
            return -1;
        }
    }
    struct vt_worker *old = vt_worker_by_name(c, name), *same = vt_worker_by_key(c, key);
    if (old && !old->revoked) {
        snprintf(err, errlen, "worker %s is already enrolled (revoke it first to re-enroll)", name);
        return -1;
    }
    if (same && !same->revoked && same != old) {
        snprintf(err, errlen, "that key is already enrolled as worker %s", same->name);
        return -1;
    }
    struct vt_worker *w = old ? old : append(c);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(w->name, sizeof w->name, "%s", name);
    snprintf(w->key, sizeof w->key, "%s", key);
    snprintf(w->site, sizeof w->site, "%s", site);
    w->asn = asn;
    w->revoked = false;
    if (save(c, w) != 0) {
        snprintf(err, errlen, "cannot record worker %s: %s", name, strerror(errno));
        return -1;
    }
    vt_keyring_set(c->auth, key, true);
    vt_log("enrolled worker %s (site %s)", name, site);
    return 0;
}

int vt_worker_revoke(struct vt_coord *c, const char *name, char *err, size_t errlen)
{
    struct vt_worker *w = vt_worker_by_name(c, name);
    if (!w || w->revoked) {
        snprintf(err, errlen, "no enrolled worker %s (see `vantage worker list`)", name);
        return -1;
    }
    /* Its leases end now, and it is told to stop (now, or whenever it next
     * speaks: a revoked worker's messages are answered with refusals). */
    vt_lease_end_for_worker(c, w, "worker revoked");
    vt_keyring_set(c->auth, w->key, false);
    w->revoked = true;
    if (save(c, w) != 0) {
        snprintf(err, errlen, "cannot record the revocation of %s", name);
        return -1;
    }
    vt_log("revoked worker %s: its connection and results are refused from now on", name);
    return 0;
}

bool vt_worker_online(const struct vt_worker *w, int64_t now)
{
    return !w->revoked && w->hello && now - w->last_seen_ms < VT_ONLINE_MS;
}

struct span {
    uint64_t a, b;
};

static int span_cmp(const void *x, const void *y)
{
    const struct span *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a;
}

bool vt_worker_on_hello(struct vt_coord *c, struct vt_worker *w, const Vantage__Hello *h)
{
    uint8_t old_ports[sizeof w->ports];
    memcpy(old_ports, w->ports, sizeof old_ports);
    uint64_t old_max_rate = w->max_rate;
    memset(w->ports, 0, sizeof w->ports);
    w->nports = 0;
    w->max_rate = 0;
    struct vt_targets before = w->scope;
    vt_targets_init(&w->scope);
    const Vantage__Policy *p = h->policy;
    if (p) {
        /* Both lists come from the peer, up to 4 MiB of them: sorted first,
         * so that scope ranges are appended in order and each port is set
         * once — linear work whatever order, overlap or count was sent. */
        struct span *sp = calloc(p->n_scope + p->n_ports + 1, sizeof *sp);
        size_t n = 0;
        for (size_t i = 0; sp && i < p->n_scope; i++)
            if (p->scope[i]->first <= p->scope[i]->last)
                sp[n++] = (struct span){p->scope[i]->first, p->scope[i]->last};
        if (sp)
            qsort(sp, n, sizeof *sp, span_cmp);
        for (size_t i = 0; i < n; i++)
            vt_targets_add_range(&w->scope, (uint32_t)sp[i].a, (uint32_t)sp[i].b);
        n = 0;
        for (size_t i = 0; sp && i < p->n_ports; i++) {
            uint64_t a = p->ports[i]->first ? p->ports[i]->first : 1, b = p->ports[i]->last;
            if (b > 65535)
                b = 65535;
            if (a <= b)
                sp[n++] = (struct span){a, b};
        }
        if (sp)
            qsort(sp, n, sizeof *sp, span_cmp);
        uint64_t done = 0; /* ports <= done are set */
        for (size_t i = 0; i < n; i++)
            for (uint64_t q = sp[i].a > done ? sp[i].a : done + 1; q <= sp[i].b; q++) {
                w->ports[q / 8] |= (uint8_t)(1u << (q % 8));
                w->nports++;
                done = q;
            }
        free(sp);
        w->max_rate = p->has_max_rate ? p->max_rate : 0;
    }
    w->hello = true;
    bool same = before.n == w->scope.n &&
                (!before.n || !memcmp(before.r, w->scope.r, before.n * sizeof *before.r));
    vt_targets_free(&before);
    if (!same)
        save_scope(c, w);
    bool changed =
        !same || old_max_rate != w->max_rate || memcmp(old_ports, w->ports, sizeof old_ports) != 0;
    char sw[96];
    vt_log("worker %s (site %s) connected: %s, scope %" PRIu64 " addresses, %u ports, max "
           "rate %" PRIu64,
           w->name, w->site, vt_escape(h->software, sw, sizeof sw), vt_targets_count(&w->scope),
           w->nports, w->max_rate);
    return changed;
}

json_t *vt_worker_json(struct vt_coord *c, const struct vt_worker *w)
{
    int64_t now = vt_mono_ms();
    char lease[160] = "";
    struct vt_lease *l = w->lease_id ? vt_lease_by_id(c, w->lease_id) : NULL;
    if (l)
        snprintf(lease, sizeof lease, "%s/%u/%u", l->campaign->name, l->campaign->run, l->shard);
    return json_pack(
        "{s:s, s:s, s:I, s:s, s:b, s:o, s:o, s:I, s:b, s:I, s:I, s:I}", "name", w->name, "site",
        w->site, "asn", (json_int_t)w->asn, "key", w->key, "online", vt_worker_online(w, now),
        "last_seen_ms", w->last_seen_wall ? json_integer(w->last_seen_wall) : json_null(), "lease",
        l ? json_string(lease) : json_null(), "rate", (json_int_t)(l ? w->rate : 0), "revoked",
        w->revoked, "quarantined", (json_int_t)w->quarantined, "dropped_optout",
        (json_int_t)w->dropped_optout, "rejected", (json_int_t)w->rejected);
}

void vt_registry_free(struct vt_coord *c)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        struct vt_worker *w = c->workers[i];
        zframe_destroy(&w->route);
        vt_targets_free(&w->scope);
        free(w);
    }
    free(c->workers);
    c->workers = NULL;
    c->nworkers = 0;
}
