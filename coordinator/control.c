/* control.c: the operators' requests on the control socket (docs/control.md).
 *
 * One JSON request in, one JSON reply out, on a REP socket bound to an ipc
 * path only the daemon's owner can open. Each handler checks its arguments
 * (they come from outside) and answers {"ok":false,"error":"…"} in one line
 * that says how to mend, never by crashing the daemon. */
#include "coord.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *ok(json_t *extra)
{
    json_t *o = extra ? extra : json_object();
    json_object_set_new(o, "ok", json_true());
    return o;
}

static const char *str(json_t *req, const char *key)
{
    return json_string_value(json_object_get(req, key));
}

static json_int_t num(json_t *req, const char *key, json_int_t dflt)
{
    json_t *v = json_object_get(req, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* ---- workers ---- */

static json_t *worker_add(struct vt_coord *c, json_t *req)
{
    const char *name = str(req, "name"), *key = str(req, "key"), *site = str(req, "site");
    if (!name || !key || !site || !name[0] || !site[0] || strlen(name) > 64 || strlen(site) > 64 ||
        strpbrk(name, "/ \t\n"))
        return fail("worker.add needs name (1-64 characters, no '/' or space), key and site");
    char err[512];
    if (vt_worker_add(c, name, key, site, num(req, "asn", 0), err, sizeof err) != 0)
        return fail("%s", err);
    return ok(NULL);
}

static json_t *worker_list(struct vt_coord *c, json_t *req)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->nworkers; i++)
        json_array_append_new(arr, vt_worker_json(c, c->workers[i]));
    return ok(json_pack("{s:o}", "workers", arr));
}

static json_t *worker_revoke(struct vt_coord *c, json_t *req)
{
    const char *name = str(req, "name");
    char err[512];
    if (!name)
        return fail("worker.revoke needs name");
    if (vt_worker_revoke(c, name, err, sizeof err) != 0)
        return fail("%s", err);
    return ok(NULL);
}

/* ---- campaigns ---- */

static json_t *campaign_start(struct vt_coord *c, json_t *req)
{
    const char *name = str(req, "name"), *targets = str(req, "targets"), *ports = str(req, "ports");
    if (!name || !targets || !ports)
        return fail("campaign.start needs name, targets and ports");
    json_int_t rate = num(req, "rate", 0), vantages = num(req, "vantages", 1),
               probes = num(req, "probes", 1), every = num(req, "every_s", 0);
    if (rate < 0 || vantages < 1 || vantages > 16 || probes < 1 || probes > 16 || every < 0 ||
        every > 10 * 366 * 86400)
        return fail("campaign.start: rate >= 0, vantages 1-16, probes 1-16, every_s 0-10 years");
    char err[512];
    struct vt_campaign *k =
        vt_campaign_start(c, name, targets, ports, (uint64_t)rate, (unsigned)vantages,
                          (unsigned)probes, (uint64_t)every, err, sizeof err);
    if (!k)
        return fail("%s", err);
    return ok(json_pack("{s:o}", "campaign", vt_campaign_status(c, k)));
}

static json_t *campaign_list(struct vt_coord *c, json_t *req)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->ncampaigns; i++) {
        struct vt_campaign *k = c->campaigns[i];
        json_t *st = vt_campaign_status(c, k);
        json_array_append_new(arr, json_pack("{s:s, s:O, s:i, s:i, s:O, s:I, s:I}", "name", k->name,
                                             "state", json_object_get(st, "state"), "run",
                                             (int)k->run, "shards", (int)k->nshards, "done",
                                             json_object_get(json_object_get(st, "shards"), "done"),
                                             "found", (json_int_t)(k->found_open + k->found_closed),
                                             "created_ms", (json_int_t)k->created_ms));
        json_decref(st);
    }
    return ok(json_pack("{s:o}", "campaigns", arr));
}

static struct vt_campaign *campaign_arg(struct vt_coord *c, json_t *req, json_t **error)
{
    const char *name = str(req, "name");
    struct vt_campaign *k = name ? vt_campaign_by_name(c, name) : NULL;
    if (!k)
        *error = fail("no campaign %s (see `vantage campaign list`)", name ? name : "named");
    return k;
}

static json_t *campaign_status(struct vt_coord *c, json_t *req)
{
    json_t *e = NULL;
    struct vt_campaign *k = campaign_arg(c, req, &e);
    return k ? ok(vt_campaign_status(c, k)) : e;
}

static json_t *campaign_state(struct vt_coord *c, json_t *req, enum vt_campaign_state st)
{
    json_t *e = NULL;
    struct vt_campaign *k = campaign_arg(c, req, &e);
    char err[512];
    if (!k)
        return e;
    if (vt_campaign_set_state(c, k, st, err, sizeof err) != 0)
        return fail("%s", err);
    return ok(NULL);
}

static json_t *campaign_pause(struct vt_coord *c, json_t *req)
{
    return campaign_state(c, req, VT_CAMPAIGN_PAUSED);
}

static json_t *campaign_resume(struct vt_coord *c, json_t *req)
{
    return campaign_state(c, req, VT_CAMPAIGN_RUNNING);
}

static json_t *campaign_cancel(struct vt_coord *c, json_t *req)
{
    return campaign_state(c, req, VT_CAMPAIGN_CANCELLED);
}

/* ---- the opt-out blocklist ---- */

static int load_optout(void *arg, const char *key, const void *val, size_t len)
{
    struct vt_coord *c = arg;
    char err[256];
    if (vt_targets_parse(&c->optout, key + strlen("blocklist/"), err, sizeof err) != 0)
        vt_log("ignoring unreadable opt-out %s: %s", key, err);
    return 0;
}

int vt_blocklist_load(struct vt_coord *c)
{
    vt_targets_clear(&c->optout);
    return vt_meta_scan(c->store, "blocklist/", load_optout, c);
}

static int parse_cidr(const char *cidr, struct vt_targets *t, char *err, size_t errlen)
{
    vt_targets_init(t);
    if (!cidr || strpbrk(cidr, ", \t\n@") || vt_targets_parse(t, cidr, err, errlen) != 0) {
        if (cidr && !err[0])
            snprintf(err, errlen, "bad CIDR '%s'", cidr);
        else if (!cidr)
            snprintf(err, errlen, "needs cidr");
        vt_targets_free(t);
        return -1;
    }
    return 0;
}

static json_t *blocklist_add(struct vt_coord *c, json_t *req)
{
    const char *cidr = str(req, "cidr"), *reason = str(req, "reason");
    char err[256] = "", key[96];
    struct vt_targets t;
    if (!reason || !reason[0])
        return fail("blocklist.add needs a reason (who asked, and when)");
    if (parse_cidr(cidr, &t, err, sizeof err) != 0)
        return fail("blocklist.add: %s", err);
    snprintf(key, sizeof key, "blocklist/%s", cidr);
    json_t *o = json_pack("{s:s, s:s, s:I}", "cidr", cidr, "reason", reason, "added_ms",
                          (json_int_t)vt_now_ms());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = text ? vt_meta_put(c->store, key, text, strlen(text), true) : -1;
    free(text);
    if (rc != 0) {
        vt_targets_free(&t);
        return fail("cannot record the opt-out in the store");
    }
    for (size_t i = 0; i < t.n; i++) {
        vt_targets_add_range(&c->optout, t.r[i].first, t.r[i].last);
        vt_leases_push_optout(c, t.r[i].first, t.r[i].last);
    }
    vt_targets_free(&t);
    vt_log("opt-out %s added (%s): running leases skip it from now on", cidr, reason);
    return ok(NULL);
}

static int list_optout(void *arg, const char *key, const void *val, size_t len)
{
    json_t *o = json_loadb(val, len, 0, NULL);
    if (o)
        json_array_append_new(arg, o);
    return 0;
}

static json_t *blocklist_list(struct vt_coord *c, json_t *req)
{
    json_t *arr = json_array();
    vt_meta_scan(c->store, "blocklist/", list_optout, arr);
    return ok(json_pack("{s:o}", "entries", arr));
}

static json_t *blocklist_remove(struct vt_coord *c, json_t *req)
{
    const char *cidr = str(req, "cidr");
    char key[96];
    void *v;
    size_t n;
    if (!cidr || strlen(cidr) > 40)
        return fail("blocklist.remove needs cidr");
    snprintf(key, sizeof key, "blocklist/%s", cidr);
    if (vt_meta_get(c->store, key, &v, &n) != 1)
        return fail("%s is not on the opt-out list (see `vantage blocklist list`)", cidr);
    free(v);
    if (vt_meta_delete(c->store, key, true) != 0 || vt_blocklist_load(c) != 0)
        return fail("cannot remove %s from the store", cidr);
    vt_log("opt-out %s removed: later campaigns may scan it", cidr);
    return ok(NULL);
}

/* ---- query ---- */

struct query {
    struct vt_coord *c;
    const char *campaign, *state, *vantage;
    json_int_t port;
    struct vt_targets prefix;
    bool has_prefix;
    int64_t since, until;
    json_t *rows;
    size_t limit;
};

static const char *rfc3339(uint64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
    return buf;
}

static int query_row(void *arg, const struct vt_obs_row *row)
{
    struct query *q = arg;
    const Vantage__Observation *o = row->obs;
    if (q->port && row->port != q->port)
        return 0;
    if (q->has_prefix && !vt_targets_contains(&q->prefix, row->ip))
        return 0;
    if (q->state && strcmp(q->state, o->open ? "open" : "closed"))
        return 0;
    if (q->campaign && (!o->campaign || strcmp(q->campaign, o->campaign)))
        return 0;
    if (q->since && (int64_t)o->last_seen_ms < q->since)
        return 0;
    if (q->until && (int64_t)o->first_seen_ms > q->until)
        return 0;
    json_t *sites = json_array();
    bool has_site = !q->vantage;
    for (size_t i = 0; i < o->n_sites; i++) {
        json_array_append_new(sites, json_string(o->sites[i]));
        has_site |= q->vantage && !strcmp(o->sites[i], q->vantage);
    }
    if (!has_site) {
        json_decref(sites);
        return 0;
    }
    char ip[16], fs[32], ls[32];
    json_array_append_new(q->rows, json_pack("{s:s, s:i, s:s, s:i, s:I, s:s, s:s, s:o, s:s?}", "ip",
                                             vt_ip_str(row->ip, ip), "port", (int)row->port,
                                             "state", o->open ? "open" : "closed", "ttl",
                                             (int)(o->has_ttl ? o->ttl : 0), "window",
                                             (json_int_t)row->window, "first_seen",
                                             rfc3339(o->first_seen_ms, fs, sizeof fs), "last_seen",
                                             rfc3339(o->last_seen_ms, ls, sizeof ls), "vantages",
                                             sites, "campaign", o->campaign));
    return json_array_size(q->rows) >= q->limit;
}

static json_t *query(struct vt_coord *c, json_t *req)
{
    struct query q = {.c = c,
                      .campaign = str(req, "campaign"),
                      .state = str(req, "state"),
                      .vantage = str(req, "vantage"),
                      .port = num(req, "port", 0),
                      .since = num(req, "since_ms", 0),
                      .until = num(req, "until_ms", 0),
                      .limit = (size_t)num(req, "limit", 10000)};
    if (q.limit < 1 || q.limit > 100000)
        q.limit = 10000;
    if (q.state && strcmp(q.state, "open") && strcmp(q.state, "closed"))
        return fail("query: state is open or closed");
    const char *prefix = str(req, "prefix");
    char err[256] = "";
    if (prefix) {
        if (parse_cidr(prefix, &q.prefix, err, sizeof err) != 0)
            return fail("query: %s", err);
        q.has_prefix = true;
    }
    uint8_t start[VT_OBS_KEY_LEN], next[VT_OBS_KEY_LEN];
    const char *after = str(req, "after");
    bool has_start = false;
    if (after) {
        if (strlen(after) != 2 * VT_OBS_KEY_LEN ||
            sodium_hex2bin(start, sizeof start, after, strlen(after), NULL, NULL, NULL) != 0) {
            if (q.has_prefix)
                vt_targets_free(&q.prefix);
            return fail("query: bad paging key");
        }
        has_start = true;
    }
    q.rows = json_array();
    /* At most VT_QUERY_EXAMINE records per request, matching or not: a
     * selective filter over a large store pages instead of stalling the loop
     * that workers need. */
    int more =
        vt_obs_scan(c->store, has_start ? start : NULL, VT_QUERY_EXAMINE, query_row, &q, next);
    if (q.has_prefix)
        vt_targets_free(&q.prefix);
    if (more < 0) {
        json_decref(q.rows);
        return fail("cannot read the store");
    }
    char hex[2 * VT_OBS_KEY_LEN + 1];
    bool paged = more == 1;
    if (paged)
        sodium_bin2hex(hex, sizeof hex, next, sizeof next);
    return ok(
        json_pack("{s:o, s:o}", "rows", q.rows, "next", paged ? json_string(hex) : json_null()));
}

/* ---- dispatch ---- */

static const struct {
    const char *cmd;
    json_t *(*fn)(struct vt_coord *, json_t *);
} handlers[] = {
    {"worker.add", worker_add},
    {"worker.list", worker_list},
    {"worker.revoke", worker_revoke},
    {"campaign.start", campaign_start},
    {"campaign.list", campaign_list},
    {"campaign.status", campaign_status},
    {"campaign.pause", campaign_pause},
    {"campaign.resume", campaign_resume},
    {"campaign.cancel", campaign_cancel},
    {"blocklist.add", blocklist_add},
    {"blocklist.list", blocklist_list},
    {"blocklist.remove", blocklist_remove},
    {"query", query},
};

void vt_control_handle(struct vt_coord *c)
{
    zframe_t *f = zframe_recv(c->control);
    if (!f)
        return;
    json_error_t jerr;
    json_t *req = json_loadb((const char *)zframe_data(f), zframe_size(f), 0, &jerr), *rep = NULL;
    zframe_destroy(&f);
    const char *cmd = req ? str(req, "cmd") : NULL;
    for (size_t i = 0; cmd && i < sizeof handlers / sizeof handlers[0]; i++)
        if (!strcmp(cmd, handlers[i].cmd))
            rep = handlers[i].fn(c, req);
    if (!rep)
        rep = !req   ? fail("request is not JSON: %s", jerr.text)
              : !cmd ? fail("request has no cmd")
                     : fail("unknown command %s (this coordinator is older than the CLI?)", cmd);
    char *text = json_dumps(rep, JSON_COMPACT);
    json_decref(rep);
    json_decref(req);
    zstr_send(c->control, text ? text : "{\"ok\":false,\"error\":\"out of memory\"}");
    free(text);
}
