/* cmd_export.c: `vantage export`, every stored record of a period as a
 * stream, for the warehouse or the bus next to vantage (ClickHouse,
 * BigQuery, Kafka).
 *
 * Pages `query` requests (docs/control.md) with only the period as filter,
 * open and closed records alike, and prints each page as it comes and
 * frees it, so memory stays flat however long the period: JSON Lines
 * exactly as the daemon sends rows, or CSV as `vantage query` writes it. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"

#define PROG       "vantage export"
#define PAGE_LIMIT 5000 /* rows per reply: about 1 MiB, well under the 4 MiB message bound */

static void export_usage(void)
{
    fputs("usage: vantage export --since T --until T [--format jsonl|csv]\n"
          "\n"
          "Streams every record the store holds for a period, open and closed: the\n"
          "windows from the one that holds --since to the one that holds --until, one\n"
          "row per (address, port) per window, with the fields 'vantage query' prints\n"
          "(ip, port, state, ttl, window, first_seen, last_seen, vantages, the\n"
          "campaigns, and for grabbed services proto, banner and labels).\n"
          "Rows come in the store's order (window, address, port), page by page, each\n"
          "written as it arrives: memory stays flat, so a month exports as well as an\n"
          "hour. Pipe it into the systems that keep history next to vantage.\n"
          "\n"
          "Options:\n"
          "      --since T             the first window: the one holding T (required)\n"
          "  -U, --until T             the last window: the one holding T (required)\n"
          "  -f, --format FMT          jsonl (default: one JSON object per row, exactly as\n"
          "                            the daemon sends it) or csv (a header, then rows, as\n"
          "                            vantage query --format csv)\n"
          "  -q, --quiet               no progress line\n" VT_CONTROL_HELP "\n"
          "T is an RFC 3339 time (2026-11-28T10:00:00Z), a date (2026-11-28, midnight\n"
          "UTC), a duration ago (90s, 30m, 2h, 1d12h) or now.\n"
          "\n"
          "Examples:\n"
          "  vantage export --since 2026-11-28 --until 2026-11-28T23:59:59Z > 11-28.jsonl\n"
          "  vantage export --since 1d --until now --format csv | gzip > day.csv.gz\n"
          "\n"
          "  # Kafka (kcat): one message per row\n"
          "  vantage export --since 1d --until now --format jsonl |\n"
          "      kcat -P -b broker:9092 -t vantage-obs\n"
          "\n"
          "  # ClickHouse: a table whose columns are the row fields\n"
          "  vantage export --since 1d --until now --format jsonl |\n"
          "      clickhouse-client --query \"INSERT INTO obs FORMAT JSONEachRow\"\n"
          "\n"
          "  # BigQuery: bq load takes a file\n"
          "  vantage export --since 1d --until now --format jsonl > obs.jsonl\n"
          "  bq load --source_format=NEWLINE_DELIMITED_JSON --autodetect vantage.obs obs.jsonl\n",
          stdout);
}

struct out {
    enum vt_query_format fmt;
    bool tty;
    uint64_t total;
};

static int print_row(void *arg, json_t *row)
{
    struct out *o = arg;
    o->total++;
    return vt_query_print_row(stdout, o->fmt, row);
}

static int print_line(void *arg, const char *text, size_t len)
{
    ((struct out *)arg)->total++;
    return vt_query_print_line(NULL, text, len);
}

static void show_progress(void *arg)
{
    fprintf(stderr, "\r" PROG ": %" PRIu64 " rows", ((struct out *)arg)->total);
}

int vt_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL;
    struct vt_filter_flags ff = {0};
    int64_t now = vt_now_ms();
    bool quiet = false;
    enum vt_query_format fmt = VT_QUERY_JSONL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":U:f:qh", opts, NULL)) != -1) {
        if (vt_control_opt(PROG, c, argv, &control) ||
            ((c == 'S' || c == 'U') && vt_filter_opt(PROG, c, optarg, now, &ff)))
            continue;
        switch (c) {
        case 'f':
            fmt = vt_format_opt(PROG, optarg, false);
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            export_usage();
            return 0;
        }
    }
    if (optind < argc)
        vt_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    if (!ff.has_since || !ff.has_until)
        vt_usage_error(PROG, "give the period: --since T and --until T (e.g. --since 1d "
                             "--until now)");
    json_t *req = vt_filter_request(PROG, &ff);
    struct vt_control ctl;
    vt_control_setup(&ctl, PROG, control);
    if (json_object_set_new(req, "cmd", json_string("query")) != 0 ||
        json_object_set_new(req, "limit", json_integer(PAGE_LIMIT)) != 0)
        vt_fatal("vantage", "out of memory");
    if (vt_query_print_header(stdout, fmt) != 0)
        vt_fatal("vantage", "cannot write to stdout");
    struct out o = {fmt, !quiet && isatty(STDERR_FILENO), 0};
    vt_query_pages(&ctl, req, print_row, o.fmt == VT_QUERY_JSONL ? print_line : NULL,
                   o.tty ? show_progress : NULL, &o);
    json_decref(req);
    if (o.tty)
        fputc('\n', stderr);
    if (fflush(stdout) != 0 || ferror(stdout))
        vt_fatal("vantage", "cannot write the rows to stdout");
    return 0;
}
