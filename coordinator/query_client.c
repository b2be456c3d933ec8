/* query_client.c: the client side of the read requests, shared by `vantage
 * query`, `report` and `export`: the filter flags they take (one spelling,
 * one check, one message for each) and the paging of `query` replies
 * (docs/control.md). What a filter means is the daemon's (select.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"
#include "labels.h"

bool vt_filter_opt(const char *prog, int c, const char *arg, int64_t now, struct vt_filter_flags *f)
{
    switch (c) {
    case 'c':
        if (!vt_name_valid(arg))
            vt_usage_error(prog, "bad --campaign '%s': not a campaign name", arg);
        f->campaign = arg;
        return true;
    case 'p':
        if (vt_parse_u64(arg, 1, 65535, &f->port) != 0)
            vt_usage_error(prog, "bad --port '%s': give one port, 1-65535", arg);
        return true;
    case 'x':
        if (vt_cidr_parse(arg, f->prefix, sizeof f->prefix) != 0)
            vt_usage_error(prog,
                           "bad --prefix '%s': give a.b.c.d/N with the host bits zero, e.g. "
                           "198.18.0.0/24",
                           arg);
        return true;
    case 's':
        if (strcmp(arg, "open") && strcmp(arg, "closed"))
            vt_usage_error(prog, "bad --state '%s': give open or closed", arg);
        f->state = arg;
        return true;
    case 'S':
    case 'U':
        if (vt_time_parse(arg, now, c == 'S' ? &f->since : &f->until) != 0)
            vt_usage_error(prog,
                           "bad --%s '%s': give an RFC 3339 time (2026-11-28T10:00:00Z), a date "
                           "(2026-11-28), a duration ago (2h, 1d) or now",
                           c == 'S' ? "since" : "until", arg);
        *(c == 'S' ? &f->has_since : &f->has_until) = true;
        return true;
    case 'v':
        if (!*arg)
            vt_usage_error(prog, "bad --vantage: give a site name");
        f->vantage = arg;
        return true;
    case 'l':
        if (!*arg || strlen(arg) > VT_LABEL_MAX_KEY + 1 + VT_LABEL_MAX_VALUE)
            vt_usage_error(prog, "bad --label: give a label value, or KEY=VALUE");
        if (f->nlabels == VT_FILTER_LABELS_MAX)
            vt_usage_error(prog, "too many --label: at most %d", VT_FILTER_LABELS_MAX);
        f->labels[f->nlabels++] = arg;
        return true;
    }
    return false;
}

enum vt_query_format vt_format_opt(const char *prog, const char *arg, bool table)
{
    if (table && !strcmp(arg, "table"))
        return VT_QUERY_TABLE;
    if (!strcmp(arg, "jsonl"))
        return VT_QUERY_JSONL;
    if (!strcmp(arg, "csv"))
        return VT_QUERY_CSV;
    vt_usage_error(prog, "bad --format '%s': give %s", arg,
                   table ? "table, jsonl or csv" : "jsonl or csv");
}

json_t *vt_filter_request(const char *prog, const struct vt_filter_flags *f)
{
    if (f->has_since && f->has_until && f->since > f->until)
        vt_usage_error(prog, "--since is later than --until: nothing can match");
    json_t *o = json_object(), *labels = json_array();
    int rc = !o || !labels;
    if (!rc && f->campaign)
        rc |= json_object_set_new(o, "campaign", json_string(f->campaign));
    if (!rc && f->port)
        rc |= json_object_set_new(o, "port", json_integer((json_int_t)f->port));
    if (!rc && f->prefix[0])
        rc |= json_object_set_new(o, "prefix", json_string(f->prefix));
    if (!rc && f->state)
        rc |= json_object_set_new(o, "state", json_string(f->state));
    if (!rc && f->has_since)
        rc |= json_object_set_new(o, "since_ms", json_integer(f->since));
    if (!rc && f->has_until)
        rc |= json_object_set_new(o, "until_ms", json_integer(f->until));
    if (!rc && f->vantage)
        rc |= json_object_set_new(o, "vantage", json_string(f->vantage));
    for (size_t i = 0; !rc && i < f->nlabels; i++)
        rc |= json_array_append_new(labels, json_string(f->labels[i]));
    if (!rc && f->nlabels)
        rc |= json_object_set(o, "labels", labels);
    json_decref(labels);
    if (rc) {
        json_decref(o);
        vt_fatal("vantage", "cannot build the request (is every argument valid UTF-8 text?)");
    }
    return o;
}

void vt_query_pages(struct vt_control *ctl, json_t *req, int (*row)(void *arg, json_t *row),
                    void (*page)(void *arg), void *arg)
{
    for (;;) {
        json_t *reply = vt_control_request(ctl, json_incref(req));
        json_t *rows = vt_reply_array(reply, "rows", NULL), *next = json_object_get(reply, "next");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            if (row(arg, r) != 0) {
                json_decref(reply);
                vt_fatal("vantage", "cannot write the rows to stdout");
            }
        }
        if (page)
            page(arg);
        if (!json_is_string(next)) {
            json_decref(reply);
            return;
        }
        /* Keep the paging key before the reply that holds it goes. */
        int rc = json_object_set_new(req, "after", json_string(json_string_value(next)));
        json_decref(reply);
        if (rc != 0)
            vt_fatal("vantage", "out of memory");
    }
}
