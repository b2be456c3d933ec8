/* output_csv.c: comma-separated values with a header row (RFC 4180).
 *
 *   ip,port,state,ttl,ts
 *   ip,port,state,ttl,ts,grab,proto,vendor,product,device,version,exposure,banner
 *
 * the second with --banners. Addresses, numbers and fixed words need no
 * quotes; label values and the banner are quoted (a quote doubled), their
 * bytes made safe text first (text.h), so a banner's CR/LF stay inside its
 * quoted field. */
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "targets.h"
#include "text.h"

static const char *const label_columns[] = {"vendor", "product", "device", "version", "exposure"};
#define NLABEL_COLUMNS (sizeof label_columns / sizeof label_columns[0])

static int csv_header(FILE *f, bool services)
{
    if (fputs("ip,port,state,ttl,ts", f) == EOF)
        return -1;
    if (services) {
        if (fputs(",grab,proto", f) == EOF)
            return -1;
        for (size_t i = 0; i < NLABEL_COLUMNS; i++)
            if (fprintf(f, ",%s", label_columns[i]) < 0)
                return -1;
        if (fputs(",banner", f) == EOF)
            return -1;
    }
    return fputc('\n', f) == EOF ? -1 : 0;
}

/* ,"text" with quotes doubled; nothing but the comma when p is NULL. */
static int quoted(FILE *f, const char *p, size_t len)
{
    if (fputc(',', f) == EOF)
        return -1;
    if (!p)
        return 0;
    char *t = vt_text_safe(p, len);
    if (!t)
        return -1;
    int rc = fputc('"', f) == EOF ? -1 : 0;
    for (const char *c = t; rc == 0 && *c; c++)
        if ((*c == '"' && fputc('"', f) == EOF) || fputc(*c, f) == EOF)
            rc = -1;
    if (rc == 0 && fputc('"', f) == EOF)
        rc = -1;
    free(t);
    return rc;
}

static int csv_record(FILE *f, const struct vt_result *r, bool services)
{
    char ip[16], ts[32];
    if (fprintf(f, "%s,%u,%s,%u,%s", vt_ip_str(r->addr, ip), r->port, vt_state_name(r->state),
                r->ttl, vt_rfc3339_ms(r->ts_ms, ts, sizeof ts)) < 0)
        return -1;
    if (services) {
        const struct vt_service *s = r->svc;
        if (fprintf(f, ",%s,%s", s ? s->grab : "", s && s->proto ? s->proto : "") < 0)
            return -1;
        for (size_t i = 0; i < NLABEL_COLUMNS; i++) {
            const char *v = s && s->labels ? vt_labels_get(s->labels, label_columns[i]) : NULL;
            if (quoted(f, v, v ? strlen(v) : 0) != 0)
                return -1;
        }
        if (quoted(f, s && s->banner_len ? s->banner : NULL, s ? s->banner_len : 0) != 0)
            return -1;
    }
    return fputc('\n', f) == EOF ? -1 : 0;
}

const struct vt_output_module vt_output_csv = {
    .name = "csv",
    .header = csv_header,
    .record = csv_record,
};
