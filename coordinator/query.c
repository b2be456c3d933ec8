/* query.c: the query engine behind the control request "query"
 * (docs/control.md): a scan of the obs column family in key order, filtered
 * by port, prefix, state, campaign, time, vantage and label, one page at a
 * time. A row with a banner id is joined with its banner record (proto,
 * banner, labels); many rows share a banner (one firmware, many devices), so
 * a small cache keeps the join to about one read per distinct banner.
 *
 * A request reads at most VT_QUERY_EXAMINE records, matching or not, and
 * returns a paging key where it stopped, so a selective filter over a large
 * store pages instead of stalling the loop that the workers need. */
#include "coord.h"

#include "cli.h"
#include "labels.h"
#include "text.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BANNER_CACHE 256

/* A banner as rows show it: {"proto":…, "banner":…, "labels":{…}}. */
struct cached_banner {
    uint8_t id[VT_BANNER_ID_LEN];
    json_t *shown; /* NULL: slot empty */
};

struct query {
    struct vt_coord *c;
    const char *campaign, *state, *vantage;
    json_t *labels; /* strings that must all match, or NULL */
    json_int_t port;
    struct vt_targets prefix;
    bool has_prefix;
    int64_t since, until;
    json_t *rows;
    size_t limit;
    struct cached_banner cache[BANNER_CACHE];
    size_t corrupt; /* banner records that did not decode */
};

/* The banner of id as rows show it (borrowed from the cache), or NULL when
 * it is absent or does not decode (counted: the row is shown without it). */
static json_t *banner_shown(struct query *q, const uint8_t *id, size_t len)
{
    if (len != VT_BANNER_ID_LEN)
        return NULL;
    uint32_t h;
    memcpy(&h, id, sizeof h);
    struct cached_banner *cb = &q->cache[h % BANNER_CACHE];
    if (cb->shown && !memcmp(cb->id, id, VT_BANNER_ID_LEN))
        return cb->shown;
    Vantage__BannerRecord *rec;
    int rc = vt_banner_get(q->c->store, id, len, &rec);
    if (rc != 1) {
        q->corrupt += rc == -2;
        return NULL;
    }
    json_t *shown = json_object(), *labels = json_object();
    if (rec->proto)
        json_object_set_new(shown, "proto", json_string(rec->proto));
    if (rec->has_text) {
        char *t = vt_text_safe(rec->text.data, rec->text.len);
        if (t)
            json_object_set_new(shown, "banner", json_string(t));
        free(t);
    }
    for (size_t i = 0; i < rec->n_labels; i++) {
        char *v = vt_text_safe(rec->labels[i]->value, strlen(rec->labels[i]->value));
        if (v)
            json_object_set_new(labels, rec->labels[i]->key, json_string(v));
        free(v);
    }
    json_object_set_new(shown, "labels", labels);
    vantage__banner_record__free_unpacked(rec, NULL);
    json_decref(cb->shown);
    memcpy(cb->id, id, VT_BANNER_ID_LEN);
    cb->shown = shown;
    return shown;
}

/* --label TEXT: some label's value is TEXT (case aside); KEY=TEXT: that
 * label's is. */
static bool label_matches(json_t *labels, const char *want)
{
    const char *eq = strchr(want, '=');
    if (eq) {
        char key[VT_LABEL_MAX_KEY + 1];
        size_t n = (size_t)(eq - want);
        if (n == 0 || n > VT_LABEL_MAX_KEY)
            return false;
        memcpy(key, want, n);
        key[n] = '\0';
        const char *v = json_string_value(json_object_get(labels, key));
        return v && !strcasecmp(v, eq + 1);
    }
    const char *key;
    json_t *v;
    json_object_foreach(labels, key, v)
    {
        if (json_is_string(v) && !strcasecmp(json_string_value(v), want))
            return true;
    }
    return false;
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
    json_t *shown = o->has_banner_id ? banner_shown(q, o->banner_id.data, o->banner_id.len) : NULL;
    json_t *labels = json_object_get(shown, "labels");
    size_t li;
    json_t *want;
    json_array_foreach(q->labels, li, want)
    {
        if (!labels || !label_matches(labels, json_string_value(want))) {
            json_decref(sites);
            return 0;
        }
    }
    char ip[16], fs[32], ls[32];
    json_t *r = json_pack(
        "{s:s, s:i, s:s, s:i, s:I, s:s, s:s, s:o, s:s?}", "ip", vt_ip_str(row->ip, ip), "port",
        (int)row->port, "state", o->open ? "open" : "closed", "ttl", (int)(o->has_ttl ? o->ttl : 0),
        "window", (json_int_t)row->window, "first_seen",
        vt_rfc3339_ms(o->first_seen_ms, fs, sizeof fs), "last_seen",
        vt_rfc3339_ms(o->last_seen_ms, ls, sizeof ls), "vantages", sites, "campaign", o->campaign);
    if (r && shown)
        json_object_update(r, shown); /* proto, banner, labels */
    if (r && o->has_truncated && o->truncated)
        json_object_set_new(r, "truncated", json_true());
    json_array_append_new(q->rows, r);
    return json_array_size(q->rows) >= q->limit;
}

json_t *vt_query_run(struct vt_coord *c, json_t *req)
{
    struct query q = {.c = c,
                      .campaign = vt_req_str(req, "campaign"),
                      .state = vt_req_str(req, "state"),
                      .vantage = vt_req_str(req, "vantage"),
                      .labels = json_object_get(req, "labels"),
                      .port = vt_req_num(req, "port", 0),
                      .since = vt_req_num(req, "since_ms", 0),
                      .until = vt_req_num(req, "until_ms", 0),
                      .limit = (size_t)vt_req_num(req, "limit", 10000)};
    if (q.limit < 1 || q.limit > 100000)
        q.limit = 10000;
    if (q.state && strcmp(q.state, "open") && strcmp(q.state, "closed"))
        return vt_reply_fail("query: state is open or closed");
    size_t li;
    json_t *want;
    if (q.labels && (!json_is_array(q.labels) || json_array_size(q.labels) > 16))
        return vt_reply_fail("query: labels is a list of at most 16 strings");
    json_array_foreach(q.labels, li, want)
    {
        if (!json_is_string(want) || !*json_string_value(want))
            return vt_reply_fail("query: labels is a list of at most 16 strings");
    }
    const char *prefix = vt_req_str(req, "prefix");
    char err[256] = "";
    if (prefix) {
        vt_targets_init(&q.prefix);
        if (strpbrk(prefix, ", \t\n@") ||
            vt_targets_parse(&q.prefix, prefix, err, sizeof err) != 0) {
            vt_targets_free(&q.prefix);
            return vt_reply_fail("query: %s", err[0] ? err : "bad prefix");
        }
        q.has_prefix = true;
    }
    uint8_t start[VT_OBS_KEY_LEN], next[VT_OBS_KEY_LEN];
    const char *after = vt_req_str(req, "after");
    bool has_start = false;
    if (after) {
        if (strlen(after) != 2 * VT_OBS_KEY_LEN ||
            sodium_hex2bin(start, sizeof start, after, strlen(after), NULL, NULL, NULL) != 0) {
            if (q.has_prefix)
                vt_targets_free(&q.prefix);
            return vt_reply_fail("query: bad paging key");
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
    for (size_t i = 0; i < BANNER_CACHE; i++)
        json_decref(q.cache[i].shown);
    if (q.corrupt)
        vt_log("query: %zu banner record(s) do not decode (corrupt values); their rows are shown "
               "without banners",
               q.corrupt);
    if (more < 0) {
        json_decref(q.rows);
        return vt_reply_fail("cannot read the store");
    }
    char hex[2 * VT_OBS_KEY_LEN + 1];
    bool paged = more == 1;
    if (paged)
        sodium_bin2hex(hex, sizeof hex, next, sizeof next);
    return json_pack("{s:b, s:o, s:o}", "ok", 1, "rows", q.rows, "next",
                     paged ? json_string(hex) : json_null());
}
