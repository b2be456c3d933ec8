/* optout.c: the opt-out list (`vantage blocklist add|remove`), the
 * addresses whose owners asked not to be scanned, and its generation.
 *
 * Entries live in meta blocklist/<cidr> (JSON: cidr, reason, added_ms). Every
 * change bumps the generation (meta optout/gen), written in the same synced
 * batch as the entry, so a restart never goes back to an older generation.
 * Workers say which generation they have applied (Hello, Heartbeat); one that
 * is behind gets the whole list before any lease goes on (session.c) and is
 * offered no new lease until it has it (lease.c). A change is also pushed at
 * once to every worker connected now, whether or not it holds a lease.
 * Results for opted-out space that arrive after the opt-out are dropped at
 * ingest and counted (ingest.c). Later runs subtract the list from their
 * targets (campaign.c). */
#include "coord.h"

#include <inttypes.h>
#include <string.h>

#define GEN_KEY "optout/gen"

static int load_entry(void *arg, const char *key, const void *val, size_t len)
{
    struct vt_coord *c = arg;
    char err[256];
    (void)val, (void)len;
    if (vt_targets_parse(&c->optout, key + strlen("blocklist/"), err, sizeof err) != 0)
        vt_log("ignoring unreadable opt-out %s: %s", key, err);
    return 0;
}

int vt_optout_load(struct vt_coord *c)
{
    vt_targets_clear(&c->optout);
    void *v;
    size_t n;
    c->optout_gen = 0;
    if (vt_meta_get(c->store, GEN_KEY, &v, &n) == 1) {
        if (n == sizeof c->optout_gen)
            memcpy(&c->optout_gen, v, n);
        free(v);
    }
    return vt_meta_scan(c->store, "blocklist/", load_entry, c);
}

/* Writes the entry change and the next generation in one synced batch. */
static int commit(struct vt_coord *c, const char *key, const char *text, char *err, size_t errlen)
{
    struct vt_batch *b = vt_batch_new();
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint64_t gen = c->optout_gen + 1;
    if (text)
        vt_batch_meta_put(b, key, text, strlen(text));
    else
        vt_batch_meta_delete(b, key);
    vt_batch_meta_put(b, GEN_KEY, &gen, sizeof gen);
    int rc = vt_store_write(c->store, b, true, err, errlen);
    vt_batch_free(b);
    if (rc == 0)
        c->optout_gen = gen;
    return rc;
}

static void push(struct vt_coord *c)
{
    int64_t now = vt_mono_ms();
    for (size_t i = 0; i < c->nworkers; i++)
        if (vt_worker_online(c->workers[i], now))
            vt_session_send_optout(c, c->workers[i]);
}

static int parse_one(const char *cidr, struct vt_targets *t, char *err, size_t errlen)
{
    vt_targets_init(t);
    err[0] = '\0';
    if (!cidr || strlen(cidr) > 40 || strpbrk(cidr, ", \t\n@") ||
        vt_targets_parse(t, cidr, err, errlen) != 0) {
        if (!err[0])
            snprintf(err, errlen, "bad CIDR '%s'", cidr ? cidr : "");
        vt_targets_free(t);
        return -1;
    }
    return 0;
}

int vt_optout_add(struct vt_coord *c, const char *cidr, const char *reason, char *err,
                  size_t errlen)
{
    struct vt_targets t;
    if (!reason || !reason[0]) {
        snprintf(err, errlen, "an opt-out needs a reason (who asked, and when)");
        return -1;
    }
    if (parse_one(cidr, &t, err, errlen) != 0)
        return -1;
    char key[96];
    snprintf(key, sizeof key, "blocklist/%s", cidr);
    json_t *o = json_pack("{s:s, s:s, s:I}", "cidr", cidr, "reason", reason, "added_ms",
                          (json_int_t)vt_now_ms());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = text ? commit(c, key, text, err, errlen) : -1;
    free(text);
    if (rc != 0) {
        vt_targets_free(&t);
        return -1;
    }
    for (size_t i = 0; i < t.n; i++)
        vt_targets_add_range(&c->optout, t.r[i].first, t.r[i].last);
    vt_targets_free(&t);
    push(c);
    char why[160];
    vt_log("opt-out %s added (%s), generation %" PRIu64 ": every worker skips it from now on", cidr,
           vt_escape(reason, why, sizeof why), c->optout_gen);
    return 0;
}

int vt_optout_remove(struct vt_coord *c, const char *cidr, char *err, size_t errlen)
{
    char key[96];
    void *v;
    size_t n;
    if (!cidr || strlen(cidr) > 40) {
        snprintf(err, errlen, "needs the CIDR to remove");
        return -1;
    }
    snprintf(key, sizeof key, "blocklist/%s", cidr);
    if (vt_meta_get(c->store, key, &v, &n) != 1) {
        snprintf(err, errlen, "%s is not on the opt-out list (see `vantage blocklist list`)", cidr);
        return -1;
    }
    free(v);
    if (commit(c, key, NULL, err, errlen) != 0)
        return -1;
    uint64_t gen = c->optout_gen;
    if (vt_optout_load(c) != 0) {
        snprintf(err, errlen, "cannot reload the opt-out list");
        return -1;
    }
    c->optout_gen = gen;
    push(c);
    vt_log("opt-out %s removed, generation %" PRIu64 ": later leases may scan it", cidr, gen);
    return 0;
}
