/* output_jsonl.c: JSON Lines, one object per result (docs/worker-scan.md):
 * {"ip":"198.18.0.7","port":23,"state":"open","ttl":64,"ts":"2026-11-28T01:50:55.123Z"}
 * and with --banners, for open ports, also "grab", "proto", "banner" (bytes
 * that are not UTF-8 text as \xNN, text.h) and "labels" (an object).
 * Built with jansson, never printed by hand. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "targets.h"
#include "text.h"

/* Adds the service fields of r to o. 0 or -1. */
static int add_service(json_t *o, const struct vt_service *svc)
{
    int rc = json_object_set_new(o, "grab", json_string(svc->grab));
    if (svc->proto)
        rc |= json_object_set_new(o, "proto", json_string(svc->proto));
    if (svc->banner_len) {
        char *t = vt_text_safe(svc->banner, svc->banner_len);
        rc |= t ? json_object_set_new(o, "banner", json_string(t)) : -1;
        free(t);
    }
    json_t *labels = json_object();
    for (size_t i = 0; labels && svc->labels && i < svc->labels->n; i++) {
        char *v = vt_text_safe(svc->labels->v[i].value, strlen(svc->labels->v[i].value));
        rc |= v ? json_object_set_new(labels, svc->labels->v[i].key, json_string(v)) : -1;
        free(v);
    }
    rc |= labels ? json_object_set_new(o, "labels", labels) : -1;
    return rc ? -1 : 0;
}

static int jsonl_record(FILE *f, const struct vt_result *r, bool services)
{
    char ip[16], ts[32];
    json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:s}", "ip", vt_ip_str(r->addr, ip), "port",
                          (json_int_t)r->port, "state", vt_state_name(r->state), "ttl",
                          (json_int_t)r->ttl, "ts", vt_rfc3339_ms(r->ts_ms, ts, sizeof ts));
    if (!o)
        return -1;
    if (r->svc && add_service(o, r->svc) != 0) {
        json_decref(o);
        return -1;
    }
    int rc = json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (rc != 0 || fputc('\n', f) == EOF)
        return -1;
    return 0;
}

const struct vt_output_module vt_output_jsonl = {
    .name = "jsonl",
    .header = NULL,
    .record = jsonl_record,
};
