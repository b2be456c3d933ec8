/* cmd_query.c: `vantage query`, the consolidated results in the store.
 *
 * Turns the filter flags into `query` requests (docs/control.md), pages
 * through the replies (each names the key to continue `after`) and prints
 * every row as it comes: an aligned table for people, JSON Lines exactly as
 * the daemon sent each row, or CSV. --count and --group-by count here, in
 * the CLI, over the same pages. A row is one (window, ip, port) record: the
 * same address in two windows is two rows (docs/storage.md). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"
#include "labels.h"

#define PROG       "vantage query"
#define PAGE_LIMIT 5000 /* rows per reply: about 1 MiB, well under the 4 MiB message bound */

/* Row fields, as CSV columns. vendor … exposure are labels (a row's
 * "labels" object), the rest the row's own fields. */
static const char *const fields[] = {
    "ip",        "port",  "state",  "ttl",     "window", "first_seen", "last_seen", "vantages",
    "campaigns", "proto", "vendor", "product", "device", "version",    "exposure",  "banner"};
#define NFIELDS       (sizeof fields / sizeof fields[0])
#define FIRST_LABEL   10 /* fields[10 .. 14] live in "labels" */
#define LAST_LABEL    14
#define TABLE_COLUMNS 13

/* Table column widths: the values are mostly fixed-width (RFC 3339 with
 * milliseconds is 24 characters); longer cells push the line, never cut. */
static const int widths[NFIELDS] = {15, 5, 6, 3, 7, 24, 24, 0, 12, 7, 12, 0, 16, 0, 12, 0};
static const char *const heads[NFIELDS] = {
    "IP",        "PORT",  "STATE",  "TTL",     "WINDOW", "FIRST-SEEN", "LAST-SEEN", "VANTAGES",
    "CAMPAIGNS", "PROTO", "VENDOR", "PRODUCT", "DEVICE", "VERSION",    "EXPOSURE",  "BANNER"};
/* Table columns, in order: no product, version or banner (jsonl and csv
 * have them); vantages, the only list, goes last. */
static const int table_order[TABLE_COLUMNS] = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 7};

int vt_query_print_header(FILE *out, enum vt_query_format fmt)
{
    int rc = 0;
    size_t ncols = fmt == VT_QUERY_TABLE ? TABLE_COLUMNS : NFIELDS;
    for (size_t i = 0; i < ncols && fmt != VT_QUERY_JSONL; i++) {
        if (fmt == VT_QUERY_CSV) {
            rc |= fprintf(out, "%s%s", i ? "," : "", fields[i]) < 0;
        } else {
            int f = table_order[i];
            if (i + 1 < ncols)
                rc |= fprintf(out, "%-*s  ", widths[f], heads[f]) < 0;
            else
                rc |= fputs(heads[f], out) == EOF;
        }
    }
    if (fmt != VT_QUERY_JSONL)
        rc |= fputc('\n', out) == EOF;
    return rc ? -1 : 0;
}

/* A field of a row as text: strings as they are, numbers in decimal, the
 * vantages list joined with sep, null or missing as "" (csv) or "-" (table). */
static char *field_text(json_t *row, const char *name, char sep, const char *missing)
{
    json_t *v = json_object_get(row, name);
    for (size_t i = FIRST_LABEL; i <= LAST_LABEL; i++)
        if (!strcmp(name, fields[i]))
            v = json_object_get(json_object_get(row, "labels"), name);
    char *s = NULL;
    if (json_is_string(v)) {
        s = strdup(json_string_value(v));
    } else if (json_is_number(v)) {
        char num[32];
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            snprintf(num, sizeof num, "%g", json_real_value(v));
        s = strdup(num);
    } else if (json_is_array(v)) {
        size_t len = 1, i;
        json_t *e;
        json_array_foreach(v, i, e) len +=
            strlen(json_string_value(e) ? json_string_value(e) : "") + 1;
        s = malloc(len);
        if (s) {
            char *p = s;
            *p = '\0';
            json_array_foreach(v, i, e)
            {
                const char *t = json_string_value(e) ? json_string_value(e) : "";
                if (i)
                    *p++ = sep;
                size_t n = strlen(t);
                memcpy(p, t, n + 1);
                p += n;
            }
        }
        if (s && !*s) {
            free(s);
            s = strdup(missing);
        }
    } else {
        s = strdup(missing);
    }
    return s;
}

int vt_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, out) == EOF ? -1 : 0;
    if (fputc('"', out) == EOF)
        return -1;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', out) == EOF) || fputc(*s, out) == EOF)
            return -1;
    return fputc('"', out) == EOF ? -1 : 0;
}

/* One row as a compact JSON line. It is encoded into a buffer and written
 * with one call: json_dumpf() hands stdio every token on its own, which made
 * up a fifth of printing a page. A row that does not fit (a long banner) is
 * dumped the slow way; the bytes are the same either way. */
static int print_jsonl(FILE *out, json_t *row)
{
    char buf[16384];
    size_t n = json_dumpb(row, buf, sizeof buf - 1, JSON_COMPACT);
    if (n == 0)
        return -1;
    if (n < sizeof buf) {
        buf[n] = '\n';
        return fwrite(buf, 1, n + 1, out) == n + 1 ? 0 : -1;
    }
    return json_dumpf(row, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF ? -1 : 0;
}

int vt_query_print_line(void *arg, const char *text, size_t len)
{
    return fwrite(text, 1, len, stdout) == len ? 0 : -1;
}

int vt_query_print_row(FILE *out, enum vt_query_format fmt, json_t *row)
{
    if (fmt == VT_QUERY_JSONL)
        return print_jsonl(out, row);
    int rc = 0;
    size_t ncols = fmt == VT_QUERY_TABLE ? TABLE_COLUMNS : NFIELDS;
    for (size_t i = 0; i < ncols; i++) {
        int f = fmt == VT_QUERY_TABLE ? table_order[i] : (int)i;
        char *s = field_text(row, fields[f], fmt == VT_QUERY_CSV ? '|' : ',',
                             fmt == VT_QUERY_CSV ? "" : "-");
        if (!s)
            return -1;
        if (fmt == VT_QUERY_CSV) {
            rc |= (i && fputc(',', out) == EOF) || vt_csv_field(out, s) != 0;
        } else if (i + 1 < ncols) {
            rc |= fprintf(out, "%-*s  ", widths[f], s) < 0;
        } else {
            rc |= fputs(s, out) == EOF;
        }
        free(s);
    }
    rc |= fputc('\n', out) == EOF;
    return rc ? -1 : 0;
}

static void query_usage(void)
{
    printf("usage: vantage query [FILTERS] [--count [devices] | --group-by FIELD] [--format FMT]\n"
           "\n"
           "Prints what the workers found, from the coordinator's store: one row per\n"
           "(address, port) per time window, merged over every probe and vantage in that\n"
           "window. The same address in two windows is two rows (it may be two devices:\n"
           "addresses change hands). Filters combine with AND.\n"
           "\n"
           "Filters:\n"
           "      --campaign NAME       only rows this campaign saw (among others)\n"
           "  -p, --port P              only this port\n"
           "  -x, --prefix CIDR         only addresses in CIDR, e.g. 198.18.0.0/24\n"
           "      --state STATE         open or closed\n"
           "      --since T             only windows from the one that holds T on\n"
           "  -U, --until T             only windows up to the one that holds T\n"
           "  -v, --vantage SITE        only rows that SITE saw (among others)\n"
           "  -l, --label TEXT          only rows with a label whose value is TEXT (case\n"
           "                            aside), e.g. Hikvision or telnet-login; KEY=TEXT\n"
           "                            for one label, e.g. device=DVR; repeatable (all\n"
           "                            must hold)\n"

           "\n"
           "T is an RFC 3339 time (2026-11-28T10:00:00Z, 2026-11-28T11:00:00+01:00), a\n"
           "date (2026-11-28, midnight UTC) or a duration ago (90s, 30m, 2h, 1d12h).\n"
           "\n"
           "Output:\n"
           "      --count               print only the number of rows\n"
           "      --count devices       how many devices the open rows stand for: the naive\n"
           "                            count of addresses, hosts per window, devices\n"
           "                            identified by a unique identifier, and an estimate\n"
           "                            with its 95%% interval that counts a device once\n"
           "                            however often its address changed and whether or\n"
           "                            not it was up in every window (docs/storage.md)\n"
           "  -g, --group-by FIELD      count rows per port, state, campaign, vantage,\n"
           "                            window, proto, vendor, device, product, exposure\n"
           "                            or label (vendor and device together), most first\n"
           "                            (a row counts once for each vantage that saw it)\n"
           "  -f, --format FMT          table (default), jsonl (one JSON object per row, as\n"
           "                            the daemon sends it) or csv (a header, then rows;\n"
           "                            vantages joined with '|')\n" VT_CONTROL_HELP "\n"
           "Row fields: ip, port, state (open if it answered open at any time in the\n"
           "window), ttl (of the last answer), ttl_range, answers, window, first_seen,\n"
           "last_seen (RFC 3339, UTC), vantages (the sites that saw it), campaigns; for\n"
           "services grabbed with --banners also proto, banner and labels (vendor,\n"
           "product, device, version, cpe, exposure, and the rules' own fields).\n"
           "\n"
           "Examples:\n"
           "  vantage query --campaign iot --port 23 --state open\n"
           "  vantage query --prefix 198.18.0.0/24 --since 2h --format jsonl > recent.jsonl\n"
           "  vantage query --campaign iot --group-by vantage\n"
           "  vantage query --label telnet-login --group-by label\n"
           "  vantage query --state open --since 2026-11-28 --count\n"
           "  vantage query --port 23 --since 7d --count devices\n");
}

/* Counts per value of one field, for --group-by. */
struct groups {
    const char *field;
    json_t *counts; /* value text → integer */
};

static int group_add(struct groups *g, const char *key)
{
    json_t *n = json_object_get(g->counts, key);
    if (n)
        return json_integer_set(n, json_integer_value(n) + 1);
    return json_object_set_new(g->counts, key, json_integer(1));
}

static int group_row(struct groups *g, json_t *row)
{
    if (!strcmp(g->field, "label")) { /* vendor and device: what the device is */
        char *vendor = field_text(row, "vendor", ',', "-"),
             *device = field_text(row, "device", ',', "-");
        char key[VT_LABEL_MAX_VALUE * 2 + 4];
        int rc = -1;
        if (vendor && device) {
            if (!strcmp(vendor, "-") && !strcmp(device, "-"))
                snprintf(key, sizeof key, "(not identified)");
            else
                snprintf(key, sizeof key, "%s %s", vendor, device);
            rc = group_add(g, key);
        }
        free(vendor);
        free(device);
        return rc;
    }
    /* --group-by vantage and campaign count over each row's list. */
    const char *field = !strcmp(g->field, "vantage")    ? "vantages"
                        : !strcmp(g->field, "campaign") ? "campaigns"
                                                        : g->field;
    json_t *v = json_object_get(row, field);
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (json_is_string(e) && group_add(g, json_string_value(e)) != 0)
                return -1;
        }
        return 0;
    }
    char *s = field_text(row, field, ',', "-");
    int rc = s ? group_add(g, s) : -1;
    free(s);
    return rc;
}

struct group_entry {
    const char *key;
    json_int_t count;
    bool numeric;
};

static int group_cmp(const void *pa, const void *pb)
{
    const struct group_entry *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->numeric) {
        long long x = atoll(a->key), y = atoll(b->key);
        return x < y ? -1 : x > y;
    }
    return strcmp(a->key, b->key);
}

static int group_print(struct groups *g, FILE *out, enum vt_query_format fmt)
{
    size_t n = json_object_size(g->counts), i = 0;
    bool numeric = !strcmp(g->field, "port") || !strcmp(g->field, "window");
    struct group_entry *e = calloc(n ? n : 1, sizeof *e);
    if (!e)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach(g->counts, key, v)
    {
        e[i++] = (struct group_entry){key, json_integer_value(v), numeric};
    }
    qsort(e, n, sizeof *e, group_cmp);
    int rc = 0;
    if (fmt == VT_QUERY_TABLE) {
        char head[32];
        snprintf(head, sizeof head, "%s", g->field);
        for (char *p = head; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        const char *const heads2[] = {head, "COUNT"};
        struct vt_table *t = vt_table_new(2, heads2);
        rc = !t;
        for (i = 0; t && i < n; i++) {
            char c[24];
            snprintf(c, sizeof c, "%" JSON_INTEGER_FORMAT, e[i].count);
            const char *row[] = {e[i].key, c};
            rc |= vt_table_add(t, row) != 0;
        }
        if (t)
            rc |= vt_table_print(t, out, NULL) != 0;
        vt_table_free(t);
    } else if (fmt == VT_QUERY_CSV) {
        rc |= fprintf(out, "%s,count\n", g->field) < 0;
        for (i = 0; i < n; i++)
            rc |= vt_csv_field(out, e[i].key) != 0 ||
                  fprintf(out, ",%" JSON_INTEGER_FORMAT "\n", e[i].count) < 0;
    } else {
        for (i = 0; i < n; i++) {
            json_t *o = json_object();
            rc |= !o ||
                  json_object_set_new(o, g->field,
                                      numeric ? json_integer(atoll(e[i].key))
                                              : json_string(e[i].key)) != 0 ||
                  json_object_set_new(o, "count", json_integer(e[i].count)) != 0 ||
                  json_dumpf(o, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF;
            json_decref(o);
        }
    }
    free(e);
    return rc ? -1 : 0;
}

/* `--count devices` as CSV: the figures in one line (an unknown estimate
 * empty); per-window counts are in the jsonl form. */
static int devices_csv(FILE *out, json_t *r)
{
    static const char *const cols[] = {"distinct_ips",     "identified_devices", "shared_defaults",
                                       "devices_estimate", "devices_low",        "devices_high"};
    int rc = 0;
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++)
        rc |= fprintf(out, "%s%s", i ? "," : "", cols[i]) < 0;
    rc |= fputc('\n', out) == EOF;
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        json_t *v = json_object_get(r, cols[i]);
        rc |= (i && fputc(',', out) == EOF);
        if (json_is_integer(v))
            rc |= fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0;
    }
    rc |= fputc('\n', out) == EOF;
    return rc ? -1 : 0;
}

/* `--count devices` for people: the figures, then hosts per window. */
static int devices_print(FILE *out, json_t *r)
{
    json_t *est = json_object_get(r, "devices_estimate"), *churn = json_object_get(r, "churn");
    json_int_t low = json_integer_value(json_object_get(r, "devices_low")),
               high = json_integer_value(json_object_get(r, "devices_high"));
    int rc = fprintf(out,
                     "distinct addresses   %" JSON_INTEGER_FORMAT
                     "   (the naive count: a device that changed address counts again)\n",
                     json_integer_value(json_object_get(r, "distinct_ips"))) < 0;
    if (json_is_integer(est))
        rc |= fprintf(out,
                      "devices              %" JSON_INTEGER_FORMAT
                      "   95%% interval %" JSON_INTEGER_FORMAT " - %" JSON_INTEGER_FORMAT "\n",
                      json_integer_value(est), low, high) < 0;
    else
        rc |=
            fprintf(
                out,
                "devices              unknown: no device identified; at least %" JSON_INTEGER_FORMAT
                " (the most in one window), at most %" JSON_INTEGER_FORMAT
                " (the distinct addresses)\n",
                low, high) < 0;
    rc |= fprintf(out,
                  "identified devices   %" JSON_INTEGER_FORMAT
                  "   (shared defaults: %" JSON_INTEGER_FORMAT
                  " identifiers on %" JSON_INTEGER_FORMAT " hosts, not used)\n",
                  json_integer_value(json_object_get(r, "identified_devices")),
                  json_integer_value(json_object_get(r, "shared_defaults")),
                  json_integer_value(json_object_get(r, "shared_default_hosts"))) < 0;
    json_t *changed = json_object_get(churn, "changed_address");
    if (json_is_number(changed))
        rc |= fprintf(out,
                      "churn                %.0f%% of %" JSON_INTEGER_FORMAT
                      " identified devices seen in several windows changed address; %.0f%% "
                      "crossed a /%" JSON_INTEGER_FORMAT "\n",
                      100 * json_number_value(changed),
                      json_integer_value(json_object_get(churn, "devices")),
                      100 * json_number_value(json_object_get(churn, "crossed_prefix")),
                      json_integer_value(json_object_get(churn, "prefix_len"))) < 0;
    const char *const heads2[] = {"WINDOW", "START", "HOSTS", "IDENTIFIED"};
    struct vt_table *t = vt_table_new(4, heads2);
    size_t i;
    json_t *w;
    rc |= !t || fputc('\n', out) == EOF;
    json_array_foreach(json_object_get(r, "windows"), i, w)
    {
        char win[24], hosts[24], ident[24];
        snprintf(win, sizeof win, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(w, "window")));
        snprintf(hosts, sizeof hosts, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(w, "hosts")));
        snprintf(ident, sizeof ident, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(w, "identified")));
        const char *row[] = {win, json_string_value(json_object_get(w, "start")), hosts, ident};
        rc |= t && vt_table_add(t, row) != 0;
    }
    if (t)
        rc |= vt_table_print(t, out, NULL) != 0;
    vt_table_free(t);
    return rc ? -1 : 0;
}

static void count_progress(void *arg, uint64_t examined)
{
    *(bool *)arg = true; /* a line to end */
    fprintf(stderr, "\r" PROG ": counting devices: %" PRIu64 " records read", examined);
}

/* What the pages' rows go to: printed, or counted per group, or counted. */
struct sink {
    enum vt_query_format fmt;
    struct groups *g; /* --group-by, or NULL */
    bool rows_out;
    uint64_t total;
};

static int sink_row(void *arg, json_t *row)
{
    struct sink *k = arg;
    k->total++;
    if (k->rows_out)
        return vt_query_print_row(stdout, k->fmt, row);
    return k->g ? group_row(k->g, row) : 0;
}

/* Rows printed as JSON Lines, or only counted: the daemon's text as it is,
 * never parsed. */
static int sink_line(void *arg, const char *text, size_t len)
{
    struct sink *k = arg;
    k->total++;
    return k->rows_out ? vt_query_print_line(NULL, text, len) : 0;
}

int vt_cmd_query(int argc, char **argv)
{
    static const struct option opts[] = {
        {"campaign", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, 'p'},
        {"prefix", required_argument, NULL, 'x'},
        {"state", required_argument, NULL, 's'},
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {"vantage", required_argument, NULL, 'v'},
        {"label", required_argument, NULL, 'l'},
        {"group-by", required_argument, NULL, 'g'},
        {"count", no_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL, *group_by = NULL;
    struct vt_filter_flags ff = {0};
    int64_t now = vt_now_ms();
    bool count = false;
    enum vt_query_format fmt = VT_QUERY_TABLE;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:x:U:v:l:g:f:h", opts, NULL)) != -1) {
        if (vt_control_opt(PROG, c, argv, &control) || vt_filter_opt(PROG, c, optarg, now, &ff))
            continue;
        switch (c) {
        case 'g': {
            static const char *const groupable[] = {"port",    "state",    "campaign", "vantage",
                                                    "window",  "proto",    "vendor",   "device",
                                                    "product", "exposure", "label"};
            size_t i = 0;
            while (i < sizeof groupable / sizeof *groupable && strcmp(optarg, groupable[i]))
                i++;
            if (i == sizeof groupable / sizeof *groupable)
                vt_usage_error(PROG,
                               "bad --group-by '%s': give port, state, campaign, vantage, window, "
                               "proto, vendor, device, product, exposure or label",
                               optarg);
            group_by = optarg;
            break;
        }
        case 'n':
            count = true;
            break;
        case 'f':
            fmt = vt_format_opt(PROG, optarg, true);
            break;
        case 'h':
            query_usage();
            return 0;
        }
    }
    /* --count devices: getopt left "devices" among the operands. */
    bool devices = count && optind < argc && !strcmp(argv[optind], "devices");
    if (devices)
        optind++;
    if (optind < argc)
        vt_usage_error(PROG, "unexpected argument '%s'%s", argv[optind],
                       count ? " (--count takes nothing or 'devices')" : "");
    if (devices && ff.state)
        vt_usage_error(PROG, "--count devices counts open rows only: give no --state");
    if (count && group_by)
        vt_usage_error(PROG, "give --count or --group-by, not both (--group-by counts)");
    json_t *filters = vt_filter_request(PROG, &ff);
    struct vt_control ctl;
    vt_control_setup(&ctl, PROG, control);
    int rc;
    if (devices) {
        json_object_set_new(filters, "cmd", json_string("count"));
        json_object_set_new(filters, "what", json_string("devices"));
        char err[512];
        bool drawn = false;
        json_t *r =
            vt_count_devices_try(&ctl, filters, isatty(STDERR_FILENO) ? count_progress : NULL, NULL,
                                 &drawn, err, sizeof err);
        json_decref(filters);
        if (drawn)
            fputc('\n', stderr);
        if (!r)
            vt_fatal("vantage", "%s", err);
        rc = fmt == VT_QUERY_JSONL
                 ? json_dumpf(r, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF
             : fmt == VT_QUERY_CSV ? devices_csv(stdout, r) != 0
                                   : devices_print(stdout, r) != 0;
        json_decref(r);
        if (rc != 0 || fflush(stdout) != 0 || ferror(stdout))
            vt_fatal("vantage", "cannot write the results to stdout");
        return 0;
    }
    if (json_object_set_new(filters, "cmd", json_string("query")) != 0 ||
        json_object_set_new(filters, "limit", json_integer(PAGE_LIMIT)) != 0)
        vt_fatal("vantage", "out of memory");

    struct groups g = {group_by, group_by ? json_object() : NULL};
    if (group_by && !g.counts)
        vt_fatal("vantage", "out of memory");
    struct sink k = {fmt, group_by ? &g : NULL, !count && !group_by, 0};
    if (k.rows_out && vt_query_print_header(stdout, fmt) != 0)
        vt_fatal("vantage", "cannot write to stdout");
    bool as_text = !group_by && (!k.rows_out || fmt == VT_QUERY_JSONL);
    vt_query_pages(&ctl, filters, sink_row, as_text ? sink_line : NULL, NULL, &k);
    json_decref(filters);

    if (count) {
        if (fmt == VT_QUERY_JSONL) {
            json_t *o = json_pack("{s:I}", "count", (json_int_t)k.total);
            rc = !o || json_dumpf(o, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF;
            json_decref(o);
        } else {
            rc = printf("%" PRIu64 "\n", k.total) < 0;
        }
    } else if (group_by) {
        rc = group_print(&g, stdout, fmt);
        json_decref(g.counts);
    } else {
        rc = 0;
    }
    if (rc != 0 || fflush(stdout) != 0 || ferror(stdout))
        vt_fatal("vantage", "cannot write the results to stdout");
    if (k.rows_out && k.total == 0 && fmt == VT_QUERY_TABLE)
        fprintf(stderr, "vantage: no rows match\n");
    return 0;
}
