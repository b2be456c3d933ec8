/* relabel.c: the control request "relabel" (docs/control.md): stored
 * banners identified again with the rules of the day, without rescanning.
 *
 * A banner record keeps the parts its grabber read (Result.parts); relabel
 * feeds them to the rules as the worker did and replaces the labels the
 * rules give (vendor, product, device, version, cpe and the raw Recog
 * fields), keeping those the grabber gave (exposure, ssh.hostkey). The rules
 * are the daemon's (built-in + serve --rules) plus any `rules` paths the
 * request names (read by the daemon), loaded once per distinct set and kept.
 *
 * One request does one page, so the loop that the workers need never
 * stalls: without `since`, VT_RELABEL_PAGE banners in id order from
 * `after`; with `since_ms`, the obs records of the windows from that time
 * on, VT_QUERY_EXAMINE at a time, relabelling each banner they name. The
 * reply says how many were examined and changed, and the key to go on. */
#include "coord.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define VT_RELABEL_PAGE 5000

/* Labels only the grabber sets: relabel keeps them. */
static bool grabber_label(const char *key)
{
    return !strcmp(key, "exposure") || !strcmp(key, "ssh.hostkey");
}

struct relabel {
    struct vt_coord *c;
    const struct vt_rules *rules;
    struct vt_batch *batch;
    size_t examined, changed, corrupt;
    int failed;
    uint8_t last[VT_BANNER_ID_LEN]; /* paging key: the last banner id done */
    bool have_last;
};

/* New labels for rec; 1 when they differ from its stored ones (then the
 * record is put into the batch), 0 when they are the same, -1 on failure. */
static int relabel_record(struct relabel *r, const uint8_t *id, size_t idlen,
                          const Vantage__BannerRecord *rec)
{
    struct vt_labels l;
    vt_labels_init(&l);
    int rc = 0;
    for (size_t i = 0; rc >= 0 && i < rec->n_parts; i++)
        if (vt_rules_match(r->rules, rec->parts[i]->matches, (const char *)rec->parts[i]->text.data,
                           rec->parts[i]->text.len, &l) < 0)
            rc = -1;
    for (size_t i = 0; rc >= 0 && i < rec->n_labels; i++)
        if (grabber_label(rec->labels[i]->key) &&
            vt_labels_set(&l, rec->labels[i]->key, rec->labels[i]->value, true) < 0)
            rc = -1;
    bool same = rc >= 0 && l.n == rec->n_labels;
    for (size_t i = 0; same && i < l.n; i++) {
        const char *v = NULL;
        for (size_t j = 0; j < rec->n_labels && !v; j++)
            if (!strcmp(rec->labels[j]->key, l.v[i].key))
                v = rec->labels[j]->value;
        same = v && !strcmp(v, l.v[i].value);
    }
    if (rc >= 0 && !same) {
        Vantage__Label *lab = calloc(l.n + 1, sizeof *lab), **labp = calloc(l.n + 1, sizeof *labp);
        if (!lab || !labp || idlen != VT_BANNER_ID_LEN) {
            rc = -1;
        } else {
            Vantage__BannerRecord nr = *rec;
            nr.n_labels = vt_labels_to_pb(&l, lab, labp, l.n);
            nr.labels = labp;
            rc = vt_batch_banner_put(r->batch, id, &nr) == 0 ? 1 : -1;
        }
        free(lab);
        free(labp);
    }
    vt_labels_free(&l);
    return rc;
}

static int on_banner(void *arg, const uint8_t *id, size_t idlen, const Vantage__BannerRecord *rec)
{
    struct relabel *r = arg;
    if (r->have_last && idlen == VT_BANNER_ID_LEN && memcmp(id, r->last, idlen) <= 0)
        return 0; /* done in an earlier page */
    int rc = relabel_record(r, id, idlen, rec);
    if (rc < 0) {
        r->failed = 1;
        return 1;
    }
    r->changed += rc;
    r->examined++;
    if (idlen == VT_BANNER_ID_LEN) {
        memcpy(r->last, id, idlen);
        r->have_last = true;
    }
    return r->examined >= VT_RELABEL_PAGE;
}

/* Banners named by obs rows of the windows from since_ms on. Each page
 * remembers the ids it did, so a banner many rows share is done once per
 * page. */
struct by_rows {
    struct relabel *r;
    uint32_t first_window;
    uint8_t (*done)[VT_BANNER_ID_LEN];
    size_t ndone, cap;
};

static int on_row(void *arg, const struct vt_obs_row *row)
{
    struct by_rows *br = arg;
    const Vantage__Observation *o = row->obs;
    if (row->window < br->first_window || !o->has_banner_id || o->banner_id.len != VT_BANNER_ID_LEN)
        return 0;
    for (size_t i = 0; i < br->ndone; i++)
        if (!memcmp(br->done[i], o->banner_id.data, VT_BANNER_ID_LEN))
            return 0;
    if (br->ndone == br->cap) {
        size_t cap = br->cap ? br->cap * 2 : 256;
        void *d = realloc(br->done, cap * sizeof *br->done);
        if (!d) {
            br->r->failed = 1;
            return 1;
        }
        br->done = d;
        br->cap = cap;
    }
    memcpy(br->done[br->ndone++], o->banner_id.data, VT_BANNER_ID_LEN);
    Vantage__BannerRecord *rec;
    int got = vt_banner_get(br->r->c->store, o->banner_id.data, VT_BANNER_ID_LEN, &rec);
    if (got == -2) {
        br->r->corrupt++;
        return 0;
    }
    if (got != 1)
        return got < 0 ? (br->r->failed = 1) : 0;
    int rc = relabel_record(br->r, o->banner_id.data, VT_BANNER_ID_LEN, rec);
    vantage__banner_record__free_unpacked(rec, NULL);
    if (rc < 0)
        return br->r->failed = 1;
    br->r->changed += rc;
    br->r->examined++;
    return 0;
}

/* The rules for this request: the daemon's own, or those plus the paths the
 * request names, loaded once and kept while the same paths come. */
static const struct vt_rules *request_rules(struct vt_coord *c, json_t *req, char *err,
                                            size_t errlen)
{
    json_t *paths = json_object_get(req, "rules");
    if (!c->rules) /* a coordinator made without serve_start (tests): the built-in rules */
        c->rules = vt_rules_open(NULL, 0, NULL, err, errlen);
    if (!paths || json_array_size(paths) == 0 || !c->rules)
        return c->rules;
    char *key = json_dumps(paths, JSON_COMPACT);
    if (!key) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (c->relabel_rules && c->relabel_key && !strcmp(key, c->relabel_key)) {
        free(key);
        return c->relabel_rules;
    }
    /* The daemon's own paths first, then the request's: one path per line. */
    size_t len = c->rules_lines ? strlen(c->rules_lines) + 1 : 1, i;
    json_t *v;
    json_array_foreach(paths, i, v)
    {
        if (!json_is_string(v) || strchr(json_string_value(v), '\n')) {
            free(key);
            snprintf(err, errlen, "relabel: rules is a list of paths");
            return NULL;
        }
        len += strlen(json_string_value(v)) + 1;
    }
    char *lines = malloc(len);
    if (!lines) {
        free(key);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char *p = lines;
    p += sprintf(p, "%s", c->rules_lines ? c->rules_lines : "");
    json_array_foreach(paths, i, v)
    {
        p += sprintf(p, "%s%s", p == lines ? "" : "\n", json_string_value(v));
    }
    struct vt_rules *rs = vt_rules_open_lines(lines, NULL, err, errlen);
    free(lines);
    if (!rs) {
        free(key);
        return NULL;
    }
    vt_rules_free(c->relabel_rules);
    free(c->relabel_key);
    c->relabel_rules = rs;
    c->relabel_key = key;
    return rs;
}

void vt_relabel_set_rules(struct vt_coord *c, struct vt_rules *rules)
{
    vt_rules_free(c->rules);
    c->rules = rules;
    /* The cached set of a request was built on the old rules: built again. */
    vt_rules_free(c->relabel_rules);
    free(c->relabel_key);
    c->relabel_rules = NULL;
    c->relabel_key = NULL;
}

json_t *vt_relabel_run(struct vt_coord *c, json_t *req)
{
    char err[512] = "";
    const struct vt_rules *rules = request_rules(c, req, err, sizeof err);
    if (!rules)
        return vt_reply_fail("%s", err);
    struct relabel r = {.c = c, .rules = rules, .batch = vt_batch_new()};
    if (!r.batch)
        return vt_reply_fail("out of memory");
    json_int_t since = vt_req_num(req, "since_ms", 0);
    const char *after = vt_req_str(req, "after");
    char hex[2 * VT_OBS_KEY_LEN + 1] = "";
    bool more = false;
    int rc;
    if (since > 0) {
        uint8_t start[VT_OBS_KEY_LEN], next[VT_OBS_KEY_LEN];
        struct by_rows br = {.r = &r, .first_window = (uint32_t)(since / 1000 / c->window_s)};
        if (after) {
            if (strlen(after) != 2 * VT_OBS_KEY_LEN ||
                sodium_hex2bin(start, sizeof start, after, strlen(after), NULL, NULL, NULL) != 0) {
                vt_batch_free(r.batch);
                return vt_reply_fail("relabel: bad paging key");
            }
        } else {
            vt_obs_key(start, br.first_window, 0, 0); /* the first key of the first window */
        }
        rc = vt_obs_scan(c->store, start, VT_QUERY_EXAMINE, on_row, &br, next);
        free(br.done);
        if (rc == 1) {
            more = true;
            sodium_bin2hex(hex, sizeof hex, next, sizeof next);
        }
    } else {
        if (after) {
            if (strlen(after) != 2 * VT_BANNER_ID_LEN ||
                sodium_hex2bin(r.last, sizeof r.last, after, strlen(after), NULL, NULL, NULL) !=
                    0) {
                vt_batch_free(r.batch);
                return vt_reply_fail("relabel: bad paging key");
            }
            r.have_last = true;
        }
        rc = vt_banner_scan(c->store, r.have_last ? r.last : NULL, on_banner, &r, &r.corrupt);
        if (rc == 0 && r.examined >= VT_RELABEL_PAGE) {
            more = true;
            sodium_bin2hex(hex, sizeof hex, r.last, sizeof r.last);
        }
    }
    if (rc < 0 || r.failed) {
        vt_batch_free(r.batch);
        return vt_reply_fail("relabel: cannot read or label the banners: %s",
                             vt_store_errmsg(c->store));
    }
    if (vt_batch_count(r.batch) && vt_store_write(c->store, r.batch, true, err, sizeof err) != 0) {
        vt_batch_free(r.batch);
        return vt_reply_fail("relabel: cannot write the new labels: %s", err);
    }
    vt_batch_free(r.batch);
    if (r.corrupt)
        vt_log("relabel: %zu banner record(s) do not decode (corrupt values): skipped", r.corrupt);
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "ok", 1, "examined", (json_int_t)r.examined,
                     "changed", (json_int_t)r.changed, "corrupt", (json_int_t)r.corrupt, "rules",
                     (json_int_t)vt_rules_count(rules), "next",
                     more ? json_string(hex) : json_null());
}
