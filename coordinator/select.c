/* select.c: which stored records a read request selects, and how the store
 * finds them: the filters `query`, `count` and `export` share (docs/control.md)
 * and the seeks that follow the obs key layout (docs/storage.md, "Reading").
 *
 * A time range is a range of windows: `since_ms` selects from the window that
 * holds it, `until_ms` up to the window that holds it, and the reader starts
 * at the first key of the first window and stops after the last (an upper
 * bound on the iterator). A prefix seeks inside each window: to (window,
 * first address) and, once past the last address, on to the next window, so
 * a /16 in one window of a large store reads that /16 and nothing else. The
 * other filters (port, state, campaign, vantage, labels) are tested on each
 * record the seeks reach.
 *
 * A record with a banner id is joined with its banner record (labels decide
 * --label); many records share one banner (one firmware, many devices), so a
 * small cache keeps the join to about one read per distinct banner. A caller
 * that wants only some facts of each banner (count.c: the identities) sets
 * no_banners and keeps its own map; the join is then made only for a label
 * filter.
 *
 * Each call is given a budget of work (records read plus seeks): a request
 * stops when it is spent and says where it stopped, so a long read pages
 * instead of stalling the loop the workers need. */
#include "coord.h"

#include "labels.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A selection of at most this many (address, window) pairs is narrow: a
 * /16 in 256 windows, a /24 in 65,536. */
#define NARROW_PAIRS (1ull << 24)

int vt_select_parse(struct vt_coord *c, json_t *req, struct vt_select *sel, char *err,
                    size_t errlen)
{
    memset(sel, 0, sizeof *sel);
    sel->campaign = vt_req_str(req, "campaign");
    sel->state = vt_req_str(req, "state");
    sel->vantage = vt_req_str(req, "vantage");
    sel->labels = json_object_get(req, "labels");
    json_int_t port = vt_req_num(req, "port", 0), since = vt_req_num(req, "since_ms", 0),
               until = vt_req_num(req, "until_ms", 0);
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "port is 1-65535");
        return -1;
    }
    sel->port = (uint16_t)port;
    if (since < 0 || until < 0 || (until && since > until)) {
        snprintf(err, errlen, "since_ms and until_ms are times in ms, since before until");
        return -1;
    }
    if (sel->state && strcmp(sel->state, "open") && strcmp(sel->state, "closed")) {
        snprintf(err, errlen, "state is open or closed");
        return -1;
    }
    size_t li;
    json_t *want;
    if (sel->labels && (!json_is_array(sel->labels) || json_array_size(sel->labels) > 16)) {
        snprintf(err, errlen, "labels is a list of at most 16 strings");
        return -1;
    }
    json_array_foreach(sel->labels, li, want)
    {
        if (!json_is_string(want) || !*json_string_value(want)) {
            snprintf(err, errlen, "labels is a list of at most 16 strings");
            return -1;
        }
    }
    const char *prefix = vt_req_str(req, "prefix");
    if (prefix) {
        struct vt_targets t;
        char perr[256] = "";
        vt_targets_init(&t);
        int bad = strpbrk(prefix, ", \t\n@-") || vt_targets_parse(&t, prefix, perr, sizeof perr) ||
                  t.n != 1;
        if (!bad) {
            sel->has_prefix = true;
            sel->lo = t.r[0].first;
            sel->hi = t.r[0].last;
        }
        vt_targets_free(&t);
        if (bad) {
            snprintf(err, errlen, "%s", perr[0] ? perr : "prefix is one CIDR, e.g. 198.18.0.0/16");
            return -1;
        }
    }
    uint64_t w = c->window_s ? c->window_s : 3600;
    sel->w_lo = (uint32_t)((uint64_t)since / 1000 / w);
    sel->w_hi = until ? (uint32_t)((uint64_t)until / 1000 / w) : UINT32_MAX;
    return 0;
}

int vt_select_open(struct vt_coord *c, const struct vt_select *sel, const uint8_t *after,
                   struct vt_select_cursor *cur)
{
    memset(cur, 0, sizeof *cur);
    cur->c = c;
    cur->sel = *sel;
    /* A prefix over a few windows fills the block cache; a wide read (a
     * count, an export) would only evict what narrow reads come back to. */
    uint64_t pairs = sel->has_prefix
                         ? ((uint64_t)sel->hi - sel->lo + 1) * ((uint64_t)sel->w_hi - sel->w_lo + 1)
                         : UINT64_MAX;
    cur->it = vt_obs_iter_new(c->store, sel->w_lo, sel->w_hi, pairs <= NARROW_PAIRS);
    if (!cur->it)
        return -1;
    if (after) {
        uint32_t w, ip;
        uint16_t port;
        vt_obs_key_parse(after, &w, &ip, &port);
        vt_obs_iter_seek(cur->it, w, ip, port);
    } else if (sel->has_prefix) {
        vt_obs_iter_seek(cur->it, sel->w_lo, sel->lo, 0);
    }
    return 0;
}

void vt_select_close(struct vt_select_cursor *cur)
{
    if (!cur->c)
        return;
    uint8_t key[VT_OBS_KEY_LEN];
    size_t bad = vt_obs_iter_corrupt(cur->it, key);
    if (bad) {
        uint32_t w, ip;
        uint16_t port;
        char ips[16];
        vt_obs_key_parse(key, &w, &ip, &port);
        vt_log("read: %zu observation record(s) do not decode (corrupt values), skipped; the "
               "last: window %u, %s port %u",
               bad, w, vt_ip_str(ip, ips), port);
    }
    if (cur->corrupt_banners)
        vt_log("read: %zu banner record(s) do not decode (corrupt values); their rows are "
               "shown without banners",
               cur->corrupt_banners);
    vt_obs_iter_free(cur->it);
    for (size_t i = 0; i < VT_SELECT_BANNER_CACHE; i++) {
        json_decref(cur->cache[i].shown);
        free(cur->cache[i].text);
    }
    memset(cur, 0, sizeof *cur);
}

size_t vt_select_corrupt(const struct vt_select_cursor *cur)
{
    return vt_obs_iter_corrupt(cur->it, NULL) + cur->corrupt_banners;
}

int vt_banner_shown_text(struct vt_store *store, const uint8_t *id, size_t len, struct vt_buf *out,
                         size_t *corrupt)
{
    Vantage__BannerRecord *rec;
    int rc = vt_banner_get(store, id, len, &rec);
    if (rc != 1) {
        *corrupt += rc == -2;
        return rc == 0 ? 0 : -1;
    }
    const char *sep = "";
    if (rec->proto) {
        vt_buf_str(out, "\"proto\":");
        vt_buf_json_str(out, rec->proto);
        sep = ",";
    }
    if (rec->has_text) {
        char *t = vt_text_safe(rec->text.data, rec->text.len);
        vt_buf_str(out, sep);
        vt_buf_str(out, "\"banner\":");
        vt_buf_json_str(out, t ? t : "");
        out->oom |= !t;
        free(t);
        sep = ",";
    }
    vt_buf_str(out, sep);
    vt_buf_str(out, "\"labels\":{");
    sep = "";
    for (size_t i = 0; i < rec->n_labels; i++) {
        const char *key = rec->labels[i]->key;
        bool later = false; /* a key given twice shows its last value */
        for (size_t j = i + 1; j < rec->n_labels && !later; j++)
            later = !strcmp(rec->labels[j]->key, key);
        if (later)
            continue;
        char *v = vt_text_safe(rec->labels[i]->value, strlen(rec->labels[i]->value));
        vt_buf_str(out, sep);
        vt_buf_json_str(out, key);
        vt_buf_add(out, ":", 1);
        vt_buf_json_str(out, v ? v : "");
        out->oom |= !v;
        free(v);
        sep = ",";
    }
    vt_buf_add(out, "}", 1);
    vantage__banner_record__free_unpacked(rec, NULL);
    return out->oom ? -1 : 1;
}

/* JSON members ("proto":…,"labels":{…}) parsed as the object they make. */
static json_t *shown_json(const char *members, size_t len)
{
    struct vt_buf b = {0};
    vt_buf_add(&b, "{", 1);
    vt_buf_add(&b, members, len);
    vt_buf_add(&b, "}", 1);
    json_t *shown = b.oom ? NULL : json_loadb(b.p, b.len, 0, NULL);
    vt_buf_free(&b);
    return shown;
}

json_t *vt_banner_shown(struct vt_store *store, const uint8_t *id, size_t len, size_t *corrupt)
{
    struct vt_buf b = {0};
    json_t *shown =
        vt_banner_shown_text(store, id, len, &b, corrupt) == 1 ? shown_json(b.p, b.len) : NULL;
    vt_buf_free(&b);
    return shown;
}

/* The cache slot of the banner id as rows show it, or NULL. */
static struct vt_select_banner *banner_shown(struct vt_select_cursor *cur, const uint8_t *id,
                                             size_t len)
{
    if (len != VT_BANNER_ID_LEN)
        return NULL;
    uint32_t h;
    memcpy(&h, id, sizeof h);
    struct vt_select_banner *cb = &cur->cache[h % VT_SELECT_BANNER_CACHE];
    if (cb->text && !memcmp(cb->id, id, VT_BANNER_ID_LEN))
        return cb;
    struct vt_buf b = {0};
    if (vt_banner_shown_text(cur->c->store, id, len, &b, &cur->corrupt_banners) != 1) {
        vt_buf_free(&b);
        return NULL;
    }
    json_decref(cb->shown);
    free(cb->text);
    memcpy(cb->id, id, VT_BANNER_ID_LEN);
    cb->shown = NULL;
    cb->text = b.p;
    cb->text_len = b.len;
    return cb;
}

/* The slot's labels as JSON, for the label filters (parsed once, kept). */
static json_t *banner_labels(struct vt_select_banner *cb)
{
    if (!cb)
        return NULL;
    if (!cb->shown)
        cb->shown = shown_json(cb->text, cb->text_len);
    return json_object_get(cb->shown, "labels");
}

const char *vt_select_shown_text(struct vt_select_cursor *cur, size_t *len)
{
    *len = cur->last ? cur->last->text_len : 0;
    return cur->last ? cur->last->text : NULL;
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

static bool has_str(char **v, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], want))
            return true;
    return false;
}

/* The record's own fields against the filters (labels need the banner). */
static bool record_matches(const struct vt_select *sel, const struct vt_obs_row *row)
{
    const Vantage__Observation *o = row->obs;
    if (sel->port && row->port != sel->port)
        return false;
    if (sel->state && strcmp(sel->state, o->open ? "open" : "closed"))
        return false;
    if (sel->campaign && !has_str(o->campaigns, o->n_campaigns, sel->campaign) &&
        !(o->campaign && !strcmp(o->campaign, sel->campaign)))
        return false;
    if (sel->vantage && !has_str(o->sites, o->n_sites, sel->vantage))
        return false;
    return true;
}

int vt_select_next(struct vt_select_cursor *cur, size_t *budget, struct vt_obs_row *row)
{
    const struct vt_select *sel = &cur->sel;
    for (;;) {
        if (*budget == 0)
            return 2;
        uint32_t w, ip;
        uint16_t port;
        int k = cur->done ? 0 : vt_obs_iter_key(cur->it, &w, &ip, &port);
        if (k <= 0) {
            cur->done = k == 0;
            return k;
        }
        (*budget)--;
        if (sel->has_prefix && (ip < sel->lo || ip > sel->hi)) {
            /* Outside the prefix: to its start in this window, or the next. */
            if (ip < sel->lo) {
                vt_obs_iter_seek(cur->it, w, sel->lo, 0);
            } else if (w == UINT32_MAX || w >= sel->w_hi) {
                cur->done = true; /* past the prefix in the last window */
                return 0;
            } else {
                vt_obs_iter_seek(cur->it, w + 1, sel->lo, 0);
            }
            continue;
        }
        int r = vt_obs_iter_row(cur->it, row);
        if (r <= 0 || !record_matches(sel, row)) {
            vt_obs_iter_next(cur->it);
            continue;
        }
        const Vantage__Observation *o = row->obs;
        bool join = o->has_banner_id && (!cur->no_banners || json_array_size(sel->labels));
        struct vt_select_banner *cb =
            join ? banner_shown(cur, o->banner_id.data, o->banner_id.len) : NULL;
        json_t *labels = json_array_size(sel->labels) ? banner_labels(cb) : NULL;
        size_t li;
        json_t *want;
        bool ok = true;
        json_array_foreach(sel->labels, li, want)
        {
            if (!labels || !label_matches(labels, json_string_value(want)))
                ok = false;
        }
        if (!ok) {
            vt_obs_iter_next(cur->it);
            continue;
        }
        cur->last = cb;
        /* Step past it now: the row stays valid (the iterator keeps the
         * decoded record) and the position is where a page resumes. */
        vt_obs_iter_next(cur->it);
        return 1;
    }
}

int vt_select_position(struct vt_select_cursor *cur, uint8_t key[VT_OBS_KEY_LEN])
{
    uint32_t w, ip;
    uint16_t port;
    if (cur->done)
        return 0;
    int k = vt_obs_iter_key(cur->it, &w, &ip, &port);
    if (k == 1)
        vt_obs_key(key, w, ip, port);
    return k;
}
