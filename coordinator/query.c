/* query.c: the control request "query" (docs/control.md): the records the
 * filters select (select.c), one page at a time, each shown as a row with
 * its banner joined.
 *
 * A request does at most VT_QUERY_EXAMINE units of work (records read and
 * seeks made, matching or not) and returns a paging key where it stopped,
 * so a selective filter over a large store pages instead of stalling the
 * loop that the workers need. A page also ends after about PAGE_BYTES of
 * rows, so memory is one page, whatever the store holds and however long
 * its banners are. The rows go out as JSON Lines in a frame of their own
 * (docs/control.md): written as text here, printed as they are by `query
 * --format jsonl`. */
#include "coord.h"

#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_BYTES (1u << 20) /* a page ends after the row that passes this */

/* ,"name":[…] of the strings v[0..n), or of one, when n is 0 and one is
 * not NULL (a record from before campaign sets). */
static void strings(struct vt_buf *b, const char *name, char **v, size_t n, const char *one)
{
    vt_buf_str(b, name);
    for (size_t i = 0; i < n; i++) {
        if (i)
            vt_buf_add(b, ",", 1);
        vt_buf_json_str(b, v[i]);
    }
    if (!n && one)
        vt_buf_json_str(b, one);
    vt_buf_add(b, "]", 1);
}

/* The rows are written as text, not built as jansson objects and dumped: a
 * page is thousands of them and the objects were most of a query's time.
 * The members and their order are those docs/control.md gives. */
void vt_query_row_text(struct vt_buf *b, const struct vt_obs_row *row, const char *shown,
                       size_t shown_len)
{
    const Vantage__Observation *o = row->obs;
    char ip[16], t[32];
    vt_buf_str(b, "{\"ip\":\"");
    vt_buf_str(b, vt_ip_str(row->ip, ip));
    vt_buf_str(b, "\",\"port\":");
    vt_buf_u64(b, row->port);
    vt_buf_str(b, o->open ? ",\"state\":\"open\",\"ttl\":" : ",\"state\":\"closed\",\"ttl\":");
    vt_buf_u64(b, o->has_ttl ? o->ttl : 0);
    vt_buf_str(b, ",\"window\":");
    vt_buf_u64(b, row->window);
    vt_buf_str(b, ",\"first_seen\":\"");
    vt_buf_str(b, vt_rfc3339_ms(o->first_seen_ms, t, sizeof t));
    vt_buf_str(b, "\",\"last_seen\":\"");
    vt_buf_str(b, vt_rfc3339_ms(o->last_seen_ms, t, sizeof t));
    vt_buf_add(b, "\"", 1);
    strings(b, ",\"vantages\":[", o->sites, o->n_sites, NULL);
    strings(b, ",\"campaigns\":[", o->campaigns, o->n_campaigns, o->campaign);
    if (o->has_ttl_min) {
        vt_buf_str(b, ",\"ttl_range\":[");
        vt_buf_u64(b, o->ttl_min);
        vt_buf_add(b, ",", 1);
        vt_buf_u64(b, o->ttl_max);
        vt_buf_add(b, "]", 1);
    }
    if (o->has_answers) {
        vt_buf_str(b, ",\"answers\":");
        vt_buf_u64(b, vt_obs_answers(o->answers));
    }
    if (shown && shown_len) { /* "proto", "banner", "labels" */
        vt_buf_add(b, ",", 1);
        vt_buf_add(b, shown, shown_len);
    }
    if (o->has_truncated && o->truncated)
        vt_buf_str(b, ",\"truncated\":true");
    vt_buf_add(b, "}", 1);
}

json_t *vt_query_run(struct vt_coord *c, json_t *req, struct vt_buf *out)
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
    size_t budget = VT_QUERY_EXAMINE, rows = 0, shown_len;
    struct vt_obs_row row;
    int rc;
    while ((rc = vt_select_next(&cur, &budget, &row)) == 1) {
        const char *text = vt_select_shown_text(&cur, &shown_len);
        vt_query_row_text(out, &row, text, shown_len);
        vt_buf_add(out, "\n", 1);
        if (++rows >= limit || out->len >= PAGE_BYTES || out->oom)
            break;
    }
    uint8_t next[VT_OBS_KEY_LEN];
    int more = rc < 0 ? -1 : vt_select_position(&cur, next);
    size_t corrupt = vt_select_corrupt(&cur);
    vt_select_close(&cur);
    if (more < 0 || out->oom) {
        vt_buf_free(out);
        return more < 0 ? vt_reply_fail("cannot read the store: %s", vt_store_errmsg(c->store))
                        : vt_reply_fail("query: out of memory (ask for fewer rows: limit)");
    }
    char hex[2 * VT_OBS_KEY_LEN + 1];
    if (more == 1)
        sodium_bin2hex(hex, sizeof hex, next, sizeof next);
    return json_pack("{s:b, s:I, s:o, s:I}", "ok", 1, "rows", (json_int_t)rows, "next",
                     more == 1 ? json_string(hex) : json_null(), "corrupt", (json_int_t)corrupt);
}
