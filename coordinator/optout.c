/* optout.c: the opt-out list (`vantage blocklist add|remove`), the
 * addresses whose owners asked not to be scanned, and its generation.
 *
 * Entries live in meta blocklist/<entry>, the entry being one range in its
 * canonical text (a.b.c.d/N when it is one CIDR block, else
 * a.b.c.d-e.f.g.h). The record (JSON) keeps its history: cidr (the entry),
 * first and last (the range, so that lists sort by address), reason and
 * added_ms (the latest reason, the first addition: what older readers read),
 * and history, every request that added it: [{at_ms, by, reason}]. Adding an
 * entry again appends to its history. Records written before the history
 * existed ({cidr, reason, added_ms}) are rewritten in this form when loaded.
 *
 * Every change of the list bumps the generation (meta optout/gen), written in
 * the same synced batch as the entry, so a restart never goes back to an
 * older generation (a reason appended to an entry already there changes no
 * address and no generation). Workers say which generation they have applied
 * (Hello, Heartbeat); one that is behind gets the whole list before any lease
 * goes on (session.c) and is offered no new lease until it has it (lease.c).
 * A change is also pushed at once to every worker connected now, whether or
 * not it holds a lease. Results for opted-out space that arrive after the
 * opt-out are dropped at ingest and counted (ingest.c). Later runs subtract
 * the list from their targets (campaign.c). */
#include "coord.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define GEN_KEY "optout/gen"

/* An entry's record as it is stored now; an old one ({cidr, reason,
 * added_ms}) becomes one with a history of one request by nobody known.
 * NULL if the record cannot be read. */
static json_t *upgrade(const char *entry, const void *val, size_t len, uint32_t *first,
                       uint32_t *last, bool *changed)
{
    char err[256];
    *changed = false;
    if (vt_range_parse(entry, first, last, err, sizeof err) != 0)
        return NULL;
    json_t *o = json_loadb(val, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    if (!json_is_array(json_object_get(o, "history"))) {
        json_t *reason = json_object_get(o, "reason"), *at = json_object_get(o, "added_ms");
        json_object_set_new(o, "history",
                            json_pack("[{s:I, s:s, s:s}]", "at_ms",
                                      json_is_integer(at) ? json_integer_value(at) : 0, "by", "",
                                      "reason",
                                      json_is_string(reason) ? json_string_value(reason) : ""));
        *changed = true;
    }
    if (!json_is_integer(json_object_get(o, "first"))) {
        json_object_set_new(o, "cidr", json_string(entry));
        json_object_set_new(o, "first", json_integer(*first));
        json_object_set_new(o, "last", json_integer(*last));
        *changed = true;
    }
    return o;
}

static int load_entry(void *arg, const char *key, const void *val, size_t len)
{
    struct vt_coord *c = arg;
    const char *entry = key + strlen("blocklist/");
    uint32_t first, last;
    bool changed;
    json_t *o = upgrade(entry, val, len, &first, &last, &changed);
    if (!o) {
        vt_log("ignoring unreadable opt-out %s", key);
        return 0;
    }
    vt_targets_add_range(&c->optout, first, last);
    char *text = changed ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text && vt_meta_put(c->store, key, text, strlen(text), true) != 0)
        vt_log("cannot rewrite the opt-out %s with its history (it stays as it was)", entry);
    free(text);
    json_decref(o);
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

int vt_optout_add(struct vt_coord *c, const char *cidr, const char *reason, char *err,
                  size_t errlen)
{
    return vt_optout_add_by(c, cidr, reason, NULL, false, err, errlen);
}

int vt_optout_add_by(struct vt_coord *c, const char *target, const char *reason, const char *by,
                     bool force, char *err, size_t errlen)
{
    uint32_t first, last;
    if (!reason || !reason[0] || strlen(reason) > 1024 || strchr(reason, '\n')) {
        snprintf(err, errlen,
                 "an opt-out needs a reason (who asked, and when), one line of at "
                 "most 1024 characters");
        return -1;
    }
    if (by && (strlen(by) > 64 || strpbrk(by, "\n\t"))) {
        snprintf(err, errlen, "bad by: give who asked in at most 64 characters, one line");
        return -1;
    }
    if (vt_range_parse(target, &first, &last, err, errlen) != 0)
        return -1;
    /* Everything: every campaign would stop at once. Only when meant. */
    if (first == 0 && last == UINT32_MAX && !force) {
        snprintf(err, errlen,
                 "%s is the whole IPv4 space: every campaign would stop (to halt "
                 "scanning, pause the campaigns; if you mean it, add force)",
                 target);
        return -1;
    }
    char entry[32], key[64];
    vt_range_format(first, last, entry, sizeof entry);
    snprintf(key, sizeof key, "blocklist/%s", entry);
    int64_t now = vt_now_ms();
    json_t *event = json_pack("{s:I, s:s, s:s}", "at_ms", (json_int_t)now, "by", by ? by : "",
                              "reason", reason);
    void *v;
    size_t n;
    int got = vt_meta_get(c->store, key, &v, &n);
    if (got == 1) {
        /* Known already: its history grows; its addresses and the generation stay. */
        bool changed;
        json_t *o = upgrade(entry, v, n, &first, &last, &changed);
        free(v);
        if (!o) {
            json_decref(event);
            snprintf(err, errlen, "the stored record of %s is unreadable; remove it first", entry);
            return -1;
        }
        json_array_append_new(json_object_get(o, "history"), event);
        json_object_set_new(o, "reason", json_string(reason));
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        int rc = text ? vt_meta_put(c->store, key, text, strlen(text), true) : -1;
        free(text);
        if (rc != 0) {
            snprintf(err, errlen, "cannot write the opt-out %s to the store", entry);
            return -1;
        }
        char why[160];
        vt_log("opt-out %s: reason added (%s); it was on the list already", entry,
               vt_escape(reason, why, sizeof why));
        return 0;
    }
    json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:I, s:[o]}", "cidr", entry, "first",
                          (json_int_t)first, "last", (json_int_t)last, "reason", reason, "added_ms",
                          (json_int_t)now, "history", event);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = text ? commit(c, key, text, err, errlen) : -1;
    free(text);
    if (rc != 0)
        return -1;
    vt_targets_add_range(&c->optout, first, last);
    push(c);
    char why[160];
    vt_log("opt-out %s added (%s), generation %" PRIu64 ": every worker skips it from now on",
           entry, vt_escape(reason, why, sizeof why), c->optout_gen);
    return 0;
}

static int collect(void *arg, const char *key, const void *val, size_t len)
{
    uint32_t first, last;
    bool changed;
    json_t *o = upgrade(key + strlen("blocklist/"), val, len, &first, &last, &changed);
    if (o)
        json_array_append_new(arg, o);
    return 0;
}

static int by_address(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    json_int_t fa = json_integer_value(json_object_get(a, "first")),
               fb = json_integer_value(json_object_get(b, "first"));
    json_int_t la = json_integer_value(json_object_get(a, "last")),
               lb = json_integer_value(json_object_get(b, "last"));
    return fa != fb ? (fa < fb ? -1 : 1) : la < lb ? -1 : la > lb;
}

json_t *vt_optout_list(struct vt_coord *c)
{
    json_t *all = json_array();
    if (!all || vt_meta_scan(c->store, "blocklist/", collect, all) != 0) {
        json_decref(all);
        return NULL;
    }
    size_t n = json_array_size(all);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *sorted = json_array();
    if (!v || !sorted) {
        free(v);
        json_decref(sorted);
        json_decref(all);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(all, i);
    qsort(v, n, sizeof *v, by_address); /* numeric order, not the keys' text order */
    for (size_t i = 0; i < n; i++)
        json_array_append(sorted, v[i]);
    free(v);
    json_decref(all);
    return sorted;
}

int vt_optout_remove(struct vt_coord *c, const char *target, char *err, size_t errlen)
{
    char entry[32], key[64];
    void *v;
    size_t n;
    uint32_t first, last;
    if (vt_range_parse(target, &first, &last, err, errlen) != 0)
        return -1;
    vt_range_format(first, last, entry, sizeof entry);
    snprintf(key, sizeof key, "blocklist/%s", entry);
    if (vt_meta_get(c->store, key, &v, &n) != 1) {
        snprintf(err, errlen, "%s is not on the opt-out list (see `vantage blocklist list`)",
                 entry);
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
    vt_log("opt-out %s removed, generation %" PRIu64 ": later leases may scan it", entry, gen);
    return 0;
}
