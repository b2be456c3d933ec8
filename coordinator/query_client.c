/* query_client.c: the client side of the read requests, shared by `vantage
 * query`, `report` and `export`: the filter flags they take (one spelling,
 * one check, one message for each) and the paging of `query` replies
 * (docs/control.md). What a filter means is the daemon's (select.c). */
#include <stdio.h>
#include <stdlib.h>
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

int vt_query_rows_read(const char *data, size_t len, json_int_t count,
                       int (*row)(void *arg, json_t *row),
                       int (*line)(void *arg, const char *text, size_t len), void *arg, char *err,
                       size_t errlen)
{
    const char *p = data, *end = data + len;
    json_int_t n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            snprintf(err, errlen,
                     "the coordinator's rows end in a cut line (daemon and CLI of "
                     "different versions?)");
            return -1;
        }
        int rc;
        if (line) {
            rc = line(arg, p, (size_t)(nl + 1 - p));
        } else {
            json_error_t jerr;
            json_t *r = json_loadb(p, (size_t)(nl - p), 0, &jerr);
            if (!json_is_object(r)) {
                snprintf(err, errlen, "the coordinator sent a row that is not a JSON object: %s",
                         r ? "another JSON value" : jerr.text);
                json_decref(r);
                return -1;
            }
            rc = row(arg, r);
            json_decref(r);
        }
        if (rc != 0) {
            snprintf(err, errlen, "cannot write the rows to stdout");
            return -1;
        }
        n++;
        p = nl + 1;
    }
    if (n != count) {
        snprintf(err, errlen,
                 "the coordinator's reply counts %" JSON_INTEGER_FORMAT
                 " rows and holds %" JSON_INTEGER_FORMAT " (daemon and CLI of different versions?)",
                 count, n);
        return -1;
    }
    return 0;
}

void vt_query_pages(struct vt_control *ctl, json_t *req, int (*row)(void *arg, json_t *row),
                    int (*line)(void *arg, const char *text, size_t len), void (*page)(void *arg),
                    void *arg)
{
    char err[1024];
    for (;;) {
        json_t *reply;
        char *data;
        size_t len;
        struct vt_control_pending *p = vt_control_begin(ctl, req, err, sizeof err);
        if (!p || vt_control_end_data(p, &reply, &data, &len, err, sizeof err) != 0)
            vt_fatal("vantage", "%s", err);
        json_t *count = json_object_get(reply, "rows"), *next = json_object_get(reply, "next");
        if (!json_is_integer(count)) {
            json_decref(reply);
            vt_fatal("vantage", "the coordinator's reply has no \"rows\" count (daemon and CLI of "
                                "different versions?)");
        }
        int rc = vt_query_rows_read(data, len, json_integer_value(count), row, line, arg, err,
                                    sizeof err);
        free(data);
        if (rc != 0) {
            json_decref(reply);
            vt_fatal("vantage", "%s", err);
        }
        if (page)
            page(arg);
        if (!json_is_string(next)) {
            json_decref(reply);
            return;
        }
        /* Keep the paging key before the reply that holds it goes. */
        rc = json_object_set_new(req, "after", json_string(json_string_value(next)));
        json_decref(reply);
        if (rc != 0)
            vt_fatal("vantage", "out of memory");
    }
}
