/* cmd_relabel.c: `vantage relabel`, stored banners identified again with
 * newer rules, no rescan. Pages through "relabel" requests (docs/control.md)
 * and says how far it got. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"
#include "rules.h"

#define PROG "vantage relabel"

static void relabel_usage(void)
{
    printf("usage: vantage relabel [--since T] [--rules PATH]...\n"
           "\n"
           "Applies the fingerprint rules again to the banners in the store: labels\n"
           "(vendor, product, device, version, cpe) are replaced by what the rules say\n"
           "now; exposure, which the grabber found, stays. No packet is sent. Run it\n"
           "after adding or fixing rules.\n"
           "\n"
           "The rules are the daemon's: the built-in ones and those of 'vantage serve\n"
           "--rules'; --rules adds more for this run. Paths are read by the daemon, so\n"
           "give them as the daemon's host and user see them.\n"
           "\n"
           "Options:\n"
           "      --since T             only banners of records seen in the windows from T\n"
           "                            on (RFC 3339 time, date, or a duration ago: 7d)\n"
           "      --rules PATH          more rules (Recog XML file or directory); repeatable\n"
           "  -q, --quiet               no progress line\n" VT_CONTROL_HELP "\n"
           "Examples:\n"
           "  vantage relabel\n"
           "  vantage relabel --since 7d --rules /srv/recog/xml\n");
}

int vt_cmd_relabel(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 'S'},
        {"rules", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL;
    int64_t since = 0, now = vt_now_ms();
    bool quiet = false;
    json_t *rules = json_array();
    if (!rules)
        vt_fatal("vantage", "out of memory");
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        if (vt_control_opt(PROG, c, argv, &control))
            continue;
        switch (c) {
        case 'S':
            if (vt_time_parse(optarg, now, &since) != 0)
                vt_usage_error(PROG,
                               "bad --since '%s': give an RFC 3339 time (2026-11-28T10:00:00Z), "
                               "a date (2026-11-28) or a duration ago (2h, 1d)",
                               optarg);
            break;
        case 'r':
            if (!*optarg || json_array_size(rules) == VT_RULES_MAX_PATHS)
                vt_usage_error(PROG, "bad --rules: give at most %d paths", VT_RULES_MAX_PATHS);
            /* The daemon may run elsewhere in the file system: an absolute path. */
            char *abs = optarg[0] == '/' ? strdup(optarg) : realpath(optarg, NULL);
            if (!abs)
                vt_usage_error(PROG, "bad --rules '%s': no such file or directory", optarg);
            json_array_append_new(rules, json_string(abs));
            free(abs);
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            relabel_usage();
            json_decref(rules);
            return 0;
        }
    }
    if (optind < argc)
        vt_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
    struct vt_control ctl;
    vt_control_setup(&ctl, PROG, control);
    json_t *req = json_pack("{s:s, s:o}", "cmd", "relabel", "rules", rules);
    if (!req)
        vt_fatal("vantage", "out of memory");
    if (since)
        json_object_set_new(req, "since_ms", json_integer(since));
    uint64_t examined = 0, changed = 0, corrupt = 0, nrules = 0;
    bool tty = !quiet && isatty(STDERR_FILENO);
    for (;;) {
        json_t *reply = vt_control_request(&ctl, json_incref(req));
        examined += (uint64_t)json_integer_value(json_object_get(reply, "examined"));
        changed += (uint64_t)json_integer_value(json_object_get(reply, "changed"));
        corrupt += (uint64_t)json_integer_value(json_object_get(reply, "corrupt"));
        nrules = (uint64_t)json_integer_value(json_object_get(reply, "rules"));
        json_t *next = json_object_get(reply, "next");
        if (tty)
            fprintf(stderr, "\r%" PRIu64 " banners examined, %" PRIu64 " relabelled", examined,
                    changed);
        if (!json_is_string(next)) {
            json_decref(reply);
            break;
        }
        json_object_set_new(req, "after", json_string(json_string_value(next)));
        json_decref(reply);
    }
    json_decref(req);
    if (tty)
        fputc('\n', stderr);
    printf("relabelled %" PRIu64 " of %" PRIu64 " banner%s with %" PRIu64 " rules", changed,
           examined, examined == 1 ? "" : "s", nrules);
    if (corrupt)
        printf("; %" PRIu64 " corrupt record%s skipped (see the daemon's log)", corrupt,
               corrupt == 1 ? "" : "s");
    printf("\n");
    return 0;
}
