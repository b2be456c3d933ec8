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

static json_t *ok(json_t *extra)
{
    json_t *o = extra ? extra : json_object();
    json_object_set_new(o, "ok", json_true());
    return o;
}

/* ---- workers ---- */

static json_t *worker_add(struct vt_coord *c, json_t *req)
{
    const char *name = vt_req_str(req, "name"), *key = vt_req_str(req, "key"),
               *site = vt_req_str(req, "site");
    if (!name || !key || !site || !name[0] || !site[0] || strlen(name) > 64 || strlen(site) > 64 ||
        strpbrk(name, "/ \t\n"))
        return vt_reply_fail(
            "worker.add needs name (1-64 characters, no '/' or space), key and site");
    char err[512];
    if (vt_worker_add(c, name, key, site, vt_req_num(req, "asn", 0), err, sizeof err) != 0)
        return vt_reply_fail("%s", err);
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
    const char *name = vt_req_str(req, "name");
    char err[512];
    if (!name)
        return vt_reply_fail("worker.revoke needs name");
    if (vt_worker_revoke(c, name, err, sizeof err) != 0)
        return vt_reply_fail("%s", err);
    return ok(NULL);
}

/* ---- campaigns ---- */

static json_t *campaign_start(struct vt_coord *c, json_t *req)
{
    const char *name = vt_req_str(req, "name"), *targets = vt_req_str(req, "targets"),
               *ports = vt_req_str(req, "ports");
    if (!name || !targets || !ports)
        return vt_reply_fail("campaign.start needs name, targets and ports");
    json_int_t rate = vt_req_num(req, "rate", 0), vantages = vt_req_num(req, "vantages", 1),
               probes = vt_req_num(req, "probes", 1), every = vt_req_num(req, "every_s", 0);
    if (rate < 0 || rate > 100000000 || vantages < 1 || vantages > 16 || probes < 1 ||
        probes > 16 || every < 0 || every > 10 * 366 * 86400)
        return vt_reply_fail("campaign.start: rate 0-100000000, vantages 1-16, probes 1-16, "
                             "every_s 0-10 years");
    char err[512];
    bool banners = json_is_true(json_object_get(req, "banners"));
    if (json_is_true(json_object_get(req, "dry_run"))) {
        json_t *plan =
            vt_campaign_plan(c, name, targets, ports, (uint64_t)rate, (unsigned)vantages,
                             (unsigned)probes, (uint64_t)every, banners, err, sizeof err);
        return plan ? ok(json_pack("{s:o}", "plan", plan)) : vt_reply_fail("%s", err);
    }
    struct vt_campaign *k =
        vt_campaign_start(c, name, targets, ports, (uint64_t)rate, (unsigned)vantages,
                          (unsigned)probes, (uint64_t)every, banners, err, sizeof err);
    if (!k)
        return vt_reply_fail("%s", err);
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
    const char *name = vt_req_str(req, "name");
    struct vt_campaign *k = name ? vt_campaign_by_name(c, name) : NULL;
    if (!k)
        *error =
            vt_reply_fail("no campaign %s (see `vantage campaign list`)", name ? name : "named");
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
        return vt_reply_fail("%s", err);
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

/* campaign.set: what may change while a campaign runs (today: its rate). */
static json_t *campaign_set(struct vt_coord *c, json_t *req)
{
    json_t *e = NULL;
    struct vt_campaign *k = campaign_arg(c, req, &e);
    if (!k)
        return e;
    json_t *rate = json_object_get(req, "rate");
    if (!json_is_integer(rate))
        return vt_reply_fail("campaign.set needs rate (probes per second, 1-100000000)");
    if (json_integer_value(rate) < 1 || json_integer_value(rate) > 100000000)
        return vt_reply_fail("campaign.set: rate %" JSON_INTEGER_FORMAT
                             " is out of range: give 1-100000000 probes per second",
                             json_integer_value(rate));
    char err[512];
    unsigned told = 0;
    if (vt_campaign_set_rate(c, k, (uint64_t)json_integer_value(rate), &told, err, sizeof err) != 0)
        return vt_reply_fail("%s", err);
    return ok(json_pack("{s:I, s:s, s:i}", "rate", (json_int_t)k->rate, "state",
                        vt_campaign_state_name(k, c), "leases", (int)told));
}

/* ---- the opt-out blocklist (optout.c) ---- */

static json_t *blocklist_add(struct vt_coord *c, json_t *req)
{
    char err[256] = "";
    if (vt_optout_add_by(c, vt_req_str(req, "cidr"), vt_req_str(req, "reason"),
                         vt_req_str(req, "by"), json_is_true(json_object_get(req, "force")), err,
                         sizeof err) != 0)
        return vt_reply_fail("blocklist.add: %s", err);
    return ok(NULL);
}

static json_t *blocklist_list(struct vt_coord *c, json_t *req)
{
    json_t *arr = vt_optout_list(c);
    if (!arr)
        return vt_reply_fail("blocklist.list: cannot read the opt-out list from the store");
    return ok(json_pack("{s:o}", "entries", arr));
}

static json_t *blocklist_remove(struct vt_coord *c, json_t *req)
{
    char err[256] = "";
    if (vt_optout_remove(c, vt_req_str(req, "cidr"), err, sizeof err) != 0)
        return vt_reply_fail("blocklist.remove: %s", err);
    return ok(NULL);
}

/* ---- dispatch ---- */

static const struct {
    const char *cmd;
    json_t *(*fn)(struct vt_coord *, json_t *);
    /* or a handler whose successful reply has a second frame, written into
     * the buffer it is given (query: the rows as JSON Lines) */
    json_t *(*fn_text)(struct vt_coord *, json_t *, struct vt_buf *);
} handlers[] = {
    {"worker.add", worker_add, NULL},
    {"worker.list", worker_list, NULL},
    {"worker.revoke", worker_revoke, NULL},
    {"campaign.start", campaign_start, NULL},
    {"campaign.list", campaign_list, NULL},
    {"campaign.status", campaign_status, NULL},
    {"campaign.pause", campaign_pause, NULL},
    {"campaign.resume", campaign_resume, NULL},
    {"campaign.cancel", campaign_cancel, NULL},
    {"campaign.set", campaign_set, NULL},
    {"blocklist.add", blocklist_add, NULL},
    {"blocklist.list", blocklist_list, NULL},
    {"blocklist.remove", blocklist_remove, NULL},
    {"query", NULL, vt_query_run},
    {"count", vt_count_run, NULL},
    {"relabel", vt_relabel_run, NULL},
};

void vt_control_handle(struct vt_coord *c)
{
    zframe_t *f = zframe_recv(c->control);
    if (!f)
        return;
    json_error_t jerr;
    json_t *req = json_loadb((const char *)zframe_data(f), zframe_size(f), 0, &jerr), *rep = NULL;
    zframe_destroy(&f);
    const char *cmd = req ? vt_req_str(req, "cmd") : NULL;
    struct vt_buf frame2 = {0};
    bool two = false;
    for (size_t i = 0; cmd && i < sizeof handlers / sizeof handlers[0]; i++) {
        if (strcmp(cmd, handlers[i].cmd))
            continue;
        two = handlers[i].fn_text != NULL;
        rep = two ? handlers[i].fn_text(c, req, &frame2) : handlers[i].fn(c, req);
    }
    if (!rep)
        rep = !req   ? vt_reply_fail("request is not JSON: %s", jerr.text)
              : !cmd ? vt_reply_fail("request has no cmd")
                     : vt_reply_fail("unknown command %s (this coordinator is older than the CLI?)",
                                     cmd);
    char *text = json_dumps(rep, JSON_COMPACT);
    two = two && text && json_is_true(json_object_get(rep, "ok"));
    json_decref(rep);
    json_decref(req);
    void *s = zsock_resolve(c->control);
    const char *t = text ? text : "{\"ok\":false,\"error\":\"out of memory\"}";
    zmq_send(s, t, strlen(t), two ? ZMQ_SNDMORE : 0);
    if (two)
        zmq_send(s, frame2.p ? frame2.p : "", frame2.len, 0);
    vt_buf_free(&frame2);
    free(text);
}
