/* output_csv.c: comma-separated values with a header row. No field can hold a
 * comma or a quote (addresses, numbers, fixed words), so none is quoted. */
#include "output.h"
#include "targets.h"

static int csv_header(FILE *f)
{
    return fputs("ip,port,state,ttl,ts\n", f) == EOF ? -1 : 0;
}

static int csv_record(FILE *f, const struct vt_result *r)
{
    char ip[16], ts[32];
    int n = fprintf(f, "%s,%u,%s,%u,%s\n", vt_ip_str(r->addr, ip), r->port, vt_state_name(r->state),
                    r->ttl, vt_rfc3339_ms(r->ts_ms, ts, sizeof ts));
    return n < 0 ? -1 : 0;
}

const struct vt_output_module vt_output_csv = {
    .name = "csv",
    .header = csv_header,
    .record = csv_record,
};
