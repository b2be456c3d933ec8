/* query.c: the control request "query" (docs/control.md): the records the
 * filters select (select.c), one page at a time, each shown as a row with
 * its banner joined.
 *
 * A request does at most VT_QUERY_EXAMINE units of work (records read and
 * seeks made, matching or not) and returns a paging key where it stopped,
 * so a selective filter over a large store pages instead of stalling the
 * loop that the workers need. Memory is one page of rows, whatever the
 * store holds. */
#include "coord.h"

#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

json_t *vt_query_row_json(const struct vt_obs_row *row, json_t *shown)
{
    const Vantage__Observation *o = row->obs;
    char ip[16], fs[32], ls[32];
    json_t *sites = json_array(), *campaigns = json_array();
    for (size_t i = 0; i < o->n_sites; i++)
        json_array_append_new(sites, json_string(o->sites[i]));
    for (size_t i = 0; i < o->n_campaigns; i++)
        json_array_append_new(campaigns, json_string(o->campaigns[i]));
    if (!o->n_campaigns && o->campaign) /* a record from before campaign sets */
        json_array_append_new(campaigns, json_string(o->campaign));
    json_t *r = json_pack(
        "{s:s, s:i, s:s, s:i, s:I, s:s, s:s, s:o, s:o}", "ip", vt_ip_str(row->ip, ip), "port",
        (int)row->port, "state", o->open ? "open" : "closed", "ttl", (int)(o->has_ttl ? o->ttl : 0),
        "window", (json_int_t)row->window, "first_seen",
        vt_rfc3339_ms(o->first_seen_ms, fs, sizeof fs), "last_seen",
        vt_rfc3339_ms(o->last_seen_ms, ls, sizeof ls), "vantages", sites, "campaigns", campaigns);
    if (!r)
        return NULL;
    if (o->has_ttl_min)
        json_object_set_new(r, "ttl_range", json_pack("[i,i]", (int)o->ttl_min, (int)o->ttl_max));
    if (o->has_answers)
        json_object_set_new(r, "answers", json_integer(vt_obs_answers(o->answers)));
    if (shown)
        json_object_update(r, shown); /* proto, banner, labels */
    if (o->has_truncated && o->truncated)
        json_object_set_new(r, "truncated", json_true());
    return r;
}

json_t *vt_query_run(struct vt_coord *c, json_t *req)
{
    struct vt_select sel;
    char err[256];
    if (vt_select_parse(c, req, &sel, err, sizeof err) != 0)
        return vt_reply_fail("query: %s", err);
    size_t limit = (size_t)vt_req_num(req, "limit", 10000);
    if (limit < 1 || limit > 100000)
        limit = 10000;
    uint8_t start[VT_OBS_KEY_LEN];
    const char *after = vt_req_str(req, "after");
    if (after && (strlen(after) != 2 * VT_OBS_KEY_LEN ||
                  sodium_hex2bin(start, sizeof start, after, strlen(after), NULL, NULL, NULL) != 0))
        return vt_reply_fail("query: bad paging key");
    struct vt_select_cursor cur;
    if (vt_select_open(c, &sel, after ? start : NULL, &cur) != 0)
        return vt_reply_fail("out of memory");
    json_t *rows = json_array();
    size_t budget = VT_QUERY_EXAMINE;
    struct vt_obs_row row;
    json_t *shown;
    int rc;
    while ((rc = vt_select_next(&cur, &budget, &row, &shown)) == 1) {
        json_array_append_new(rows, vt_query_row_json(&row, shown));
        if (json_array_size(rows) >= limit)
            break;
    }
    uint8_t next[VT_OBS_KEY_LEN];
    int more = rc < 0 ? -1 : vt_select_position(&cur, next);
    size_t corrupt = vt_select_corrupt(&cur);
    vt_select_close(&cur);
    if (more < 0) {
        json_decref(rows);
        return vt_reply_fail("cannot read the store: %s", vt_store_errmsg(c->store));
    }
    char hex[2 * VT_OBS_KEY_LEN + 1];
    if (more == 1)
        sodium_bin2hex(hex, sizeof hex, next, sizeof next);
    return json_pack("{s:b, s:o, s:o, s:I}", "ok", 1, "rows", rows, "next",
                     more == 1 ? json_string(hex) : json_null(), "corrupt", (json_int_t)corrupt);
}
