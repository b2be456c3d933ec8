/* output_jsonl.c: JSON Lines, one object per result (docs/worker-scan.md):
 * {"ip":"198.18.0.7","port":23,"state":"open","ttl":64,"ts":"2026-11-28T01:50:55.123Z"}
 * Built with jansson, never printed by hand. */
#include <jansson.h>

#include "output.h"
#include "targets.h"

static int jsonl_record(FILE *f, const struct vt_result *r)
{
    char ip[16], ts[32];
    json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:s}", "ip", vt_ip_str(r->addr, ip), "port",
                          (json_int_t)r->port, "state", vt_state_name(r->state), "ttl",
                          (json_int_t)r->ttl, "ts", vt_rfc3339_ms(r->ts_ms, ts, sizeof ts));
    if (!o)
        return -1;
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
