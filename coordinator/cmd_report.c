/* cmd_report.c: `vantage report`, the exposed services of a period per
 * origin AS (or per /N prefix): what to send each network's abuse desk.
 *
 * Reads the prefix-to-AS file (pfx2as.c), pages a `count` request with what
 * "services" (docs/control.md; count_client.c): the daemon reads the open
 * records of the period once and answers with the device count and every
 * service consolidated over the period (services.c), which report.c puts in
 * their groups and prints. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"
#include "labels.h"
#include "pfx2as.h"
#include "report.h"

#define PROG       "vantage report"
#define PAGE_LIMIT 5000 /* rows per reply, as vantage query asks */
#define BAD_SHOWN  10   /* bad pfx2as lines named on stderr; the rest counted */

static void report_usage(void)
{
    fputs("usage: vantage report --by asn --pfx2as FILE [FILTERS] [--format FMT]\n"
          "       vantage report --by prefix/N [FILTERS] [--format FMT]\n"
          "\n"
          "The exposed services of a period, per network: which open (address, port)\n"
          "the workers found, grouped by the AS that originates the address (the most\n"
          "specific prefix of a Routeviews prefix2as file) or by the /N that holds it.\n"
          "Each service appears once for the period: first and last seen, every vantage\n"
          "that saw it, and what it was identified as (the latest labels). An address in\n"
          "a prefix that several ASes announce (multi-origin, AS set) is listed under\n"
          "each of them; one that no prefix holds goes under 'unrouted'.\n"
          "\n"
          "Grouping:\n"
          "      --by asn              per origin AS; needs --pfx2as\n"
          "      --by prefix/N         per /N network, N 8-32 (prefix/24); no file needed\n"
          "      --pfx2as FILE         CAIDA's Routeviews prefix2as file (PREFIX LENGTH ASN\n"
          "                            a line, tab-separated, as routeviews-rv2-*.pfx2as,\n"
          "                            gunzipped; - for stdin); bad lines are named and\n"
          "                            skipped\n"
          "\n"
          "Filters:\n"
          "      --since T             the period from the window that holds T\n"
          "  -U, --until T             the period up to the window that holds T\n"
          "  -p, --port P              only this port\n"
          "  -l, --label TEXT          only services with a label whose value is TEXT (case\n"
          "                            aside), or KEY=TEXT; repeatable (all must hold)\n"
          "\n"
          "T is an RFC 3339 time (2026-11-28T10:00:00Z), a date (2026-11-28, midnight\n"
          "UTC), a duration ago (90s, 30m, 2h, 1d12h) or now.\n"
          "\n"
          "Output:\n"
          "  -f, --format FMT          table (default: one line per group), jsonl (one\n"
          "                            object per service, then one summary object per\n"
          "                            group with \"summary\": true) or csv (the services\n"
          "                            with a header, a blank line, then the summaries\n"
          "                            with theirs)\n"
          "  -q, --quiet               no progress line\n" VT_CONTROL_HELP "\n"
          "Per group: the matched prefixes, distinct addresses, services, the services by\n"
          "device kind, and a devices estimate with its 95% interval. Addresses change\n"
          "hands, so devices are not addresses: the estimate divides the group's\n"
          "host-windows (distinct window and address pairs) by the host-windows per\n"
          "device that the coordinator's device count finds for the whole selection, and\n"
          "scales its interval alike. That assumes address churn and availability are\n"
          "alike in every group; a group is never put below the most hosts it had in one\n"
          "window, nor above its host-windows. Where no device is identified the estimate\n"
          "is null ('-') and the range runs from the most hosts in one window to the\n"
          "distinct addresses.\n"
          "\n"
          "Examples:\n"
          "  vantage report --by asn --pfx2as routeviews-rv2-20261128-1200.pfx2as --since 7d\n"
          "  vantage report --by asn --pfx2as rv.pfx2as --label telnet-login --format csv\n"
          "  vantage report --by prefix/24 --port 23 --since 2026-11-28 --until 2026-11-29\n"
          "  vantage report --by asn --pfx2as <(zcat routeviews-rv2-20261128-1200.pfx2as.gz) \\\n"
          "      --since 1d --format jsonl | jq -c 'select(.asn == 64500)'\n",
          stdout);
}

struct bad_lines {
    size_t shown;
};

static void bad_line(void *arg, const char *msg)
{
    struct bad_lines *b = arg;
    if (b->shown++ < BAD_SHOWN)
        fprintf(stderr, PROG ": %s\n", msg);
}

/* The table of path, built; exits 1 if it cannot be read, 2 if it holds no
 * prefix. */
static struct vt_pfx2as *load_table(const char *path, bool tty)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f)
        vt_fatal(PROG, "cannot read --pfx2as %s: %s", path, strerror(errno));
    struct vt_pfx2as *t = vt_pfx2as_new();
    if (!t)
        vt_fatal("vantage", "out of memory");
    const char *name = f == stdin ? "stdin" : path; /* in messages */
    struct bad_lines b = {0};
    size_t nbad = 0;
    long added = vt_pfx2as_load(t, f, name, bad_line, &b, &nbad);
    int saved = errno;
    if (f != stdin)
        fclose(f);
    if (added < 0)
        vt_fatal(PROG, "cannot read --pfx2as %s: %s", name, strerror(saved));
    if (nbad > BAD_SHOWN)
        fprintf(stderr, PROG ": %s: %zu more bad lines (skipped)\n", name, nbad - BAD_SHOWN);
    if (vt_pfx2as_count(t) == 0) {
        fprintf(stderr,
                PROG ": %s holds no prefix line (want PREFIX<TAB>LENGTH<TAB>ASN a line, as "
                     "CAIDA's prefix2as files)\n",
                name);
        exit(2);
    }
    if (vt_pfx2as_build(t) != 0)
        vt_fatal("vantage", "out of memory");
    if (tty)
        fprintf(stderr, PROG ": %zu prefix%s from %s\n", vt_pfx2as_count(t),
                vt_pfx2as_count(t) == 1 ? "" : "es", name);
    return t;
}

struct progress {
    struct vt_report *r;
    bool tty, drawn; /* show progress; a line to end */
};

static int add_service(void *arg, json_t *row)
{
    struct progress *p = arg;
    return vt_report_add_service(p->r, row) < 0 ? -1 : 0;
}

static void show_progress(void *arg, uint64_t examined)
{
    struct progress *p = arg;
    if (!p->tty)
        return;
    p->drawn = true;
    struct vt_report_stats s = vt_report_stats(p->r);
    if (s.services)
        fprintf(stderr, "\r" PROG ": %" PRIu64 " records examined, %" PRIu64 " services read",
                examined, s.services);
    else
        fprintf(stderr, "\r" PROG ": %" PRIu64 " records examined", examined);
}

int vt_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"by", required_argument, NULL, 'b'},
        {"pfx2as", required_argument, NULL, 'a'},
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {"port", required_argument, NULL, 'p'},
        {"label", required_argument, NULL, 'l'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL, *by = NULL, *pfx2as = NULL;
    struct vt_filter_flags ff = {0};
    enum vt_report_by group = VT_REPORT_BY_ASN;
    uint64_t prefix_len = 0;
    int64_t now = vt_now_ms();
    bool quiet = false;
    enum vt_query_format fmt = VT_QUERY_TABLE;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":U:p:l:f:qh", opts, NULL)) != -1) {
        if (vt_control_opt(PROG, c, argv, &control) ||
            ((c == 'S' || c == 'U' || c == 'p' || c == 'l') &&
             vt_filter_opt(PROG, c, optarg, now, &ff)))
            continue;
        switch (c) {
        case 'b':
            if (!strcmp(optarg, "asn")) {
                group = VT_REPORT_BY_ASN;
            } else if (!strncmp(optarg, "prefix/", 7) &&
                       vt_parse_u64(optarg + 7, 8, 32, &prefix_len) == 0) {
                group = VT_REPORT_BY_PREFIX;
            } else {
                vt_usage_error(PROG,
                               "bad --by '%s': give asn or prefix/N with N 8-32, e.g. "
                               "prefix/24",
                               optarg);
            }
            by = optarg;
            break;
        case 'a':
            if (!*optarg)
                vt_usage_error(PROG, "bad --pfx2as: give a file");
            pfx2as = optarg;
            break;
        case 'f':
            fmt = vt_format_opt(PROG, optarg, true);
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            report_usage();
            return 0;
        }
    }
    if (optind < argc)
        vt_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    if (!by)
        vt_usage_error(PROG, "give --by asn (with --pfx2as FILE) or --by prefix/N");
    if (group == VT_REPORT_BY_ASN && !pfx2as)
        vt_usage_error(PROG, "--by asn needs --pfx2as FILE (CAIDA's Routeviews prefix2as)");
    if (group == VT_REPORT_BY_PREFIX && pfx2as)
        vt_usage_error(PROG, "--pfx2as is for --by asn: --by %s needs no file", by);
    /* A report takes in and frees pages of thousands of small JSON values;
     * glibc's fastbins then consolidate on every large reply buffer (10% of
     * the CLI's time, measured). Without them, freed chunks merge at once. */
    mallopt(M_MXFAST, 0);
    /* The selection, for the rows and for the count alike. */
    json_t *filters = vt_filter_request(PROG, &ff);
    struct vt_control ctl;
    vt_control_setup(&ctl, PROG, control);
    bool tty = !quiet && isatty(STDERR_FILENO);

    struct vt_pfx2as *table = group == VT_REPORT_BY_ASN ? load_table(pfx2as, tty) : NULL;
    struct vt_report *r = vt_report_new(group, table, (unsigned)prefix_len);
    if (!r || json_object_set_new(filters, "what", json_string("services")) != 0)
        vt_fatal("vantage", "out of memory");
    /* One pass of the daemon over the open records gives both the services
     * and the device count of the same selection. */
    char err[512];
    struct progress prog = {.r = r, .tty = tty};
    json_t *count =
        vt_count_devices_try(&ctl, filters, show_progress, add_service, &prog, err, sizeof err);
    if (prog.drawn)
        fputc('\n', stderr);
    json_decref(filters);
    if (!count)
        vt_fatal("vantage", "%s", err);
    vt_report_set_count(r, count);
    bool estimated = json_is_number(json_object_get(count, "devices_estimate"));
    json_decref(count);

    if (vt_report_print(r, stdout, fmt) != 0 || fflush(stdout) != 0 || ferror(stdout))
        vt_fatal("vantage", "cannot write the report to stdout");
    struct vt_report_stats s = vt_report_stats(r);
    if (s.skipped)
        fprintf(stderr, PROG ": warning: %" PRIu64 " services without an ip or port were skipped\n",
                s.skipped);
    if (s.bad_windows)
        fprintf(stderr,
                PROG ": warning: %" PRIu64 " services had host_windows that do not read as "
                     "FIRST:RUNS: their host-windows (and the estimates) may be too low\n",
                s.bad_windows);
    if (s.unordered)
        fprintf(stderr,
                PROG ": warning: %" PRIu64 " services came out of address order: host-windows "
                     "(and the estimates) may be too high\n",
                s.unordered);
    if (fmt == VT_QUERY_TABLE) {
        if (!s.services)
            fprintf(stderr, "vantage: no open service matches\n");
        else if (!estimated)
            fprintf(stderr, PROG ": no device identified: DEVICES is '-', the range runs from "
                                 "the most hosts in one window to the distinct addresses\n");
        if (s.services)
            fprintf(stderr, PROG ": --format jsonl or csv lists every service\n");
    }
    vt_report_free(r);
    vt_pfx2as_free(table);
    return 0;
}
