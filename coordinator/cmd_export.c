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
    int64_t since = 0, until = 0, now = vt_now_ms();
    bool has_since = false, has_until = false, quiet = false;
    enum vt_query_format fmt = VT_QUERY_JSONL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":U:f:qh", opts, NULL)) != -1) {
        if (vt_control_opt(PROG, c, argv, &control))
            continue;
        switch (c) {
        case 'S':
        case 'U':
            if (vt_time_parse(optarg, now, c == 'S' ? &since : &until) != 0)
                vt_usage_error(PROG,
                               "bad --%s '%s': give an RFC 3339 time (2026-11-28T10:00:00Z), "
                               "a date (2026-11-28), a duration ago (2h, 1d) or now",
                               c == 'S' ? "since" : "until", optarg);
            *(c == 'S' ? &has_since : &has_until) = true;
            break;
        case 'f':
            if (!strcmp(optarg, "jsonl"))
                fmt = VT_QUERY_JSONL;
            else if (!strcmp(optarg, "csv"))
                fmt = VT_QUERY_CSV;
            else
                vt_usage_error(PROG, "bad --format '%s': give jsonl or csv", optarg);
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
    if (!has_since || !has_until)
        vt_usage_error(PROG, "give the period: --since T and --until T (e.g. --since 1d "
                             "--until now)");
    if (since > until)
        vt_usage_error(PROG, "--since is later than --until: nothing can match");
    struct vt_control ctl;
    vt_control_setup(&ctl, PROG, control);
    json_t *req = json_pack("{s:s, s:i, s:I, s:I}", "cmd", "query", "limit", PAGE_LIMIT, "since_ms",
                            (json_int_t)since, "until_ms", (json_int_t)until);
    if (!req)
        vt_fatal("vantage", "out of memory");
    if (vt_query_print_header(stdout, fmt) != 0)
        vt_fatal("vantage", "cannot write to stdout");
    bool tty = !quiet && isatty(STDERR_FILENO);
    uint64_t total = 0;
    for (;;) {
        json_t *reply = vt_control_request(&ctl, json_incref(req));
        json_t *rows = vt_reply_array(reply, "rows", NULL), *next = json_object_get(reply, "next");
        size_t i;
        json_t *row;
        int wrc = 0;
        json_array_foreach(rows, i, row)
        {
            wrc |= vt_query_print_row(stdout, fmt, row);
        }
        total += json_array_size(rows);
        if (wrc != 0) {
            json_decref(reply);
            vt_fatal("vantage", "cannot write the rows to stdout");
        }
        if (tty)
            fprintf(stderr, "\r" PROG ": %" PRIu64 " rows", total);
        if (!json_is_string(next)) {
            json_decref(reply);
            break;
        }
        /* Keep the paging key before the reply that holds it goes. */
        int rc = json_object_set_new(req, "after", json_string(json_string_value(next)));
        json_decref(reply);
        if (rc != 0)
            vt_fatal("vantage", "out of memory");
    }
    json_decref(req);
    if (tty)
        fputc('\n', stderr);
    if (fflush(stdout) != 0 || ferror(stdout))
        vt_fatal("vantage", "cannot write the rows to stdout");
    return 0;
}
