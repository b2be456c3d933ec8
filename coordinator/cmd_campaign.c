/* cmd_campaign.c: `vantage campaign start|list|status|wait|pause|resume|cancel|set`.
 *
 * A campaign is (targets − blocklist) × ports, cut into shards that the daemon
 * leases to workers (docs/architecture.md). These commands check targets and ports here,
 * so a typo is a usage error before anything is sent, then speak the
 * campaign.* requests of docs/control.md and present the status object: once,
 * redrawn every second (--watch), or polled until the campaign ends (wait). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"
#include "ports.h"
#include "targets.h"

enum { OPT_DRY_RUN = 1100 }; /* long options without a letter */

/* Room left in one control message for the target list (the limit is 4 MiB). */
#define MAX_TARGETS_TEXT (3 * 1024 * 1024)

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static json_int_t int_or(json_t *o, const char *key, json_int_t dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends campaign.status for name; exits 1 if the daemon cannot answer. */
static json_t *fetch_status(const struct vt_control *ctl, const char *name)
{
    return vt_control_request(ctl, json_pack("{s:s, s:s}", "cmd", "campaign.status", "name", name));
}

/* The one NAME argument most subcommands take. */
static const char *one_name(const char *prog, int argc, char **argv)
{
    const char *name = vt_control_one_arg(prog, argc, argv, "give the campaign's NAME");
    if (!vt_name_valid(name))
        vt_usage_error(prog, "bad campaign NAME '%s': use 1-64 of A-Z a-z 0-9 . _ -", name);
    return name;
}

/* ---- the human view of a status object ---- */

static int add_site_row(struct vt_table *t, json_t *e, int64_t now_ms)
{
    (void)now_ms;
    char d[24], l[24];
    snprintf(d, sizeof d, "%" JSON_INTEGER_FORMAT, int_or(e, "done", 0));
    snprintf(l, sizeof l, "%" JSON_INTEGER_FORMAT, int_or(e, "leased", 0));
    const char *row[] = {str_or(e, "site", "?"), d, l};
    return vt_table_add(t, row);
}

static int add_worker_row(struct vt_table *t, json_t *e, int64_t now_ms)
{
    (void)now_ms;
    char r[32] = "-";
    json_t *rate = json_object_get(e, "rate");
    if (json_is_number(rate))
        snprintf(r, sizeof r, "%.0f/s", json_number_value(rate));
    const char *row[] = {str_or(e, "name", "?"), str_or(e, "site", "?"), str_or(e, "lease", "-"),
                         r};
    return vt_table_add(t, row);
}

int vt_campaign_status_print(FILE *out, json_t *st, int64_t now_ms)
{
    char buf[64], buf2[64];
    json_t *shards = json_object_get(st, "shards"), *found = json_object_get(st, "found");
    json_int_t total = int_or(shards, "total", 0), done = int_or(shards, "done", 0);
    json_int_t every = int_or(st, "every_s", 0);
    const char *state = str_or(st, "state", "?");
    int rc = 0;

    if (every > 0)
        snprintf(buf2, sizeof buf2, "every %s", vt_duration_format((uint64_t)every, buf, 32));
    else
        snprintf(buf2, sizeof buf2, "once");
    rc |= fprintf(out, "campaign %s: %s (run %" JSON_INTEGER_FORMAT ", %s)\n",
                  str_or(st, "name", "?"), state, int_or(st, "run", 0), buf2) < 0;
    json_int_t k = int_or(st, "vantages", 1);
    rc |= fprintf(
              out,
              "  space      %" JSON_INTEGER_FORMAT " addresses x ports %s, %" JSON_INTEGER_FORMAT
              " probe%s each, rate %" JSON_INTEGER_FORMAT "/s, %" JSON_INTEGER_FORMAT
              " vantage%s%s\n",
              int_or(st, "targets", 0), str_or(st, "ports", "?"), int_or(st, "probes", 1),
              int_or(st, "probes", 1) == 1 ? "" : "s", int_or(st, "rate", 0), k, k == 1 ? "" : "s",
              json_is_true(json_object_get(st, "banners")) ? ", banners" : "") < 0;

    char bar[33];
    int filled = total > 0 ? (int)(done * 30 / total) : 0;
    bar[0] = '[';
    for (int i = 0; i < 30; i++)
        bar[1 + i] = i < filled ? '#' : '.';
    bar[31] = ']';
    bar[32] = '\0';
    rc |= fprintf(out,
                  "  shards     %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
                  " done, %" JSON_INTEGER_FORMAT " leased, %" JSON_INTEGER_FORMAT
                  " pending  %s %3d%%\n",
                  done, total, int_or(shards, "leased", 0), int_or(shards, "pending", 0), bar,
                  total > 0 ? (int)(done * 100 / total) : 0) < 0;
    if (int_or(shards, "cells", 1) > 1)
        rc |= fprintf(out,
                      "  cells      %" JSON_INTEGER_FORMAT
                      " (the space is cut along the workers' scopes)\n",
                      int_or(shards, "cells", 1)) < 0;
    if (int_or(shards, "incomplete_slots", 0) > 0)
        rc |= fprintf(out,
                      "  incomplete %" JSON_INTEGER_FORMAT
                      " shard slot(s) lost answers (capture or queue drops): see the worker logs\n",
                      int_or(shards, "incomplete_slots", 0)) < 0;
    rc |= fprintf(out,
                  "  found      %" JSON_INTEGER_FORMAT " open, %" JSON_INTEGER_FORMAT " closed\n",
                  int_or(found, "open", 0), int_or(found, "closed", 0)) < 0;
    json_t *eta = json_object_get(st, "eta_s");
    if (strcmp(state, "complete") != 0 && strcmp(state, "cancelled") != 0)
        rc |= fprintf(out, "  eta        %s\n",
                      json_is_integer(eta) && json_integer_value(eta) >= 0
                          ? vt_duration_format((uint64_t)json_integer_value(eta), buf, 32)
                          : "unknown") < 0;
    const char *waiting = json_string_value(json_object_get(st, "waiting"));
    if (waiting)
        rc |= fprintf(out, "  waiting    %s\n", waiting) < 0;
    json_t *created = json_object_get(st, "created_ms");
    if (json_is_integer(created))
        rc |= fprintf(out, "  created    %s (%s)\n",
                      vt_time_format(json_integer_value(created), buf, sizeof buf),
                      vt_time_ago(json_integer_value(created), now_ms, buf2, sizeof buf2)) < 0;
    json_t *completed = json_object_get(st, "completed_ms");
    if (json_is_integer(completed))
        rc |= fprintf(out, "  completed  %s (%s)\n",
                      vt_time_format(json_integer_value(completed), buf, sizeof buf),
                      vt_time_ago(json_integer_value(completed), now_ms, buf2, sizeof buf2)) < 0;

    static const char *const site_head[] = {"SITE", "DONE", "LEASED"};
    json_t *sites = json_object_get(st, "sites");
    if (json_array_size(sites) > 0)
        rc |= fputc('\n', out) == EOF ||
              vt_table_print_array(out, "  ", 3, site_head, sites, add_site_row, now_ms) != 0;
    static const char *const worker_head[] = {"WORKER", "SITE", "LEASE", "RATE"};
    json_t *workers = json_object_get(st, "workers");
    if (json_array_size(workers) > 0)
        rc |= fputc('\n', out) == EOF ||
              vt_table_print_array(out, "  ", 4, worker_head, workers, add_worker_row, now_ms) != 0;
    return rc ? -1 : 0;
}

/* ---- start ---- */

static void start_usage(void)
{
    printf("usage: vantage campaign start NAME --targets CIDR[,CIDR...]|@FILE --ports LIST\n"
           "           [--rate PPS] [--vantages K] [--probes N] [--banners] [--every DUR]\n"
           "\n"
           "Starts a campaign: every (address, port) of (targets - blocklist) x ports is\n"
           "probed, cut into shards that online workers lease, each only within its own\n"
           "operator's policy. The targets and ports are checked here first.\n"
           "\n"
           "NAME is 1-64 of A-Z a-z 0-9 . _ - and must be new.\n"
           "\n"
           "Options:\n"
           "  -t, --targets LIST        CIDRs, ranges (a.b.c.d-e.f.g.h) or addresses,\n"
           "                            separated by commas; or @FILE with one per line\n"
           "                            ('#' comments), read here, not by the daemon\n"
           "                            (required)\n"
           "  -p, --ports LIST          ports and ranges, e.g. 23,80,8000-8010 (required)\n"
           "  -r, --rate PPS            probes per second for the whole campaign, shared\n"
           "                            out among its workers: a global budget, not per\n"
           "                            worker (default: the daemon's, 10000)\n"
           "      --vantages K          every shard is scanned from K different sites, and\n"
           "                            results record which sites saw them (default 1)\n"
           "  -P, --probes N            probes per target, 1-16 (default 1)\n"
           "      --banners             workers connect to every open service found, read\n"
           "                            its banner and identify it (vendor, device,\n"
           "                            exposure); grabs count against --rate\n"
           "                            (docs/banners.md)\n"

           "      --every DUR           run again DUR after each start, e.g. 6h, 1d, 1h30m\n"
           "                            (default: once)\n"
           "      --dry-run             start nothing: print the addresses left after the\n"
           "                            blocklist and opt-outs, the shard plan (cells,\n"
           "                            shards, steps a shard) and the expected duration at\n"
           "                            the rate\n" VT_CONTROL_HELP "\n"
           "Examples:\n"
           "  vantage campaign start iot --targets 198.18.0.0/16 --ports 23,80 \\\n"
           "      --rate 100000\n"
           "  vantage campaign start daily --targets @nl.txt --ports 23 --vantages 3 \\\n"
           "      --every 1d\n"
           "  vantage campaign start iot --targets 198.18.0.0/16 --ports 23,80 --dry-run\n");
}

/* What `campaign start --dry-run` shows of the daemon's plan (docs/control.md). */
static int print_plan(FILE *out, json_t *p, const char *ports)
{
    char d[32];
    json_int_t given = int_or(p, "targets_given", 0), left = int_or(p, "left_out", 0),
               probes = int_or(p, "probes", 1), k = int_or(p, "vantages", 1),
               cells = int_or(p, "cells", 1), shards = int_or(p, "shards", 0);
    json_t *steps = json_object_get(p, "steps_per_shard");
    json_int_t least = int_or(steps, "min", 0), most = int_or(steps, "max", 0);
    int rc = 0;
    rc |= fprintf(out, "dry run: campaign %s would scan\n", str_or(p, "name", "?")) < 0;
    rc |= fprintf(out,
                  "  targets    %" JSON_INTEGER_FORMAT " addresses after the blocklist and "
                  "opt-outs (%" JSON_INTEGER_FORMAT " given, %" JSON_INTEGER_FORMAT " left out)\n",
                  int_or(p, "targets", 0), given, left) < 0;
    rc |= fprintf(out, "  ports      %" JSON_INTEGER_FORMAT " (%s)\n", int_or(p, "ports", 0),
                  ports) < 0;
    rc |= fprintf(out,
                  "  probes     %" JSON_INTEGER_FORMAT " pairs x %" JSON_INTEGER_FORMAT
                  " probe%s x %" JSON_INTEGER_FORMAT " vantage%s = %" JSON_INTEGER_FORMAT "\n",
                  int_or(p, "pairs", 0), probes, probes == 1 ? "" : "s", k, k == 1 ? "" : "s",
                  int_or(p, "probes_total", 0)) < 0;
    if (least == most)
        rc |= fprintf(out,
                      "  plan       %" JSON_INTEGER_FORMAT " cell%s, %" JSON_INTEGER_FORMAT
                      " shard%s of %" JSON_INTEGER_FORMAT " steps\n",
                      cells, cells == 1 ? "" : "s", shards, shards == 1 ? "" : "s", least) < 0;
    else
        rc |= fprintf(out,
                      "  plan       %" JSON_INTEGER_FORMAT " cell%s, %" JSON_INTEGER_FORMAT
                      " shards of %" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT " steps\n",
                      cells, cells == 1 ? "" : "s", shards, least, most) < 0;
    json_t *dur = json_object_get(p, "duration_s");
    rc |= fprintf(out,
                  "  duration   about %s at %" JSON_INTEGER_FORMAT
                  " probes/s (if the workers can send that much)\n",
                  vt_duration_format(json_is_integer(dur) ? (uint64_t)json_integer_value(dur) : 0,
                                     d, sizeof d),
                  int_or(p, "rate", 0)) < 0;
    rc |= fprintf(out, "nothing was started (drop --dry-run to start it)\n") < 0;
    return rc ? -1 : 0;
}

/* The canonical text of a target set: "a.b.c.d-e.f.g.h" or "a.b.c.d" per range. */
static char *targets_text(const struct vt_targets *t)
{
    size_t cap = t->n * 32 + 1;
    char *s = malloc(cap), *p = s;
    if (!s)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < t->n; i++) {
        char a[16], b[16];
        vt_ip_str(t->r[i].first, a);
        vt_ip_str(t->r[i].last, b);
        if (t->r[i].first == t->r[i].last)
            p += sprintf(p, "%s%s", i ? "," : "", a);
        else
            p += sprintf(p, "%s%s-%s", i ? "," : "", a, b);
    }
    return s;
}

static int campaign_start(int argc, char **argv)
{
    const char *prog = "vantage campaign start";
    static const struct option opts[] = {
        {"targets", required_argument, NULL, 't'},
        {"ports", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"vantages", required_argument, NULL, 'k'},
        {"probes", required_argument, NULL, 'P'},
        {"banners", no_argument, NULL, 'b'},
        {"every", required_argument, NULL, 'e'},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL, *targets_arg = NULL, *ports_arg = NULL;
    uint64_t rate = 0, vantages = 1, probes = 1, every = 0;
    bool banners = false, dry_run = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:p:r:P:h", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        switch (c) {
        case 't':
            targets_arg = optarg;
            break;
        case 'b':
            banners = true;
            break;
        case 'p':
            ports_arg = optarg;
            break;
        case 'r':
            if (vt_parse_u64(optarg, 0, 100000000, &rate) != 0)
                vt_usage_error(prog, "bad --rate '%s': give probes per second, 0-100000000",
                               optarg);
            break;
        case 'k':
            if (vt_parse_u64(optarg, 1, 16, &vantages) != 0)
                vt_usage_error(prog, "bad --vantages '%s': give a number of sites, 1-16", optarg);
            break;
        case 'P':
            if (vt_parse_u64(optarg, 1, 16, &probes) != 0)
                vt_usage_error(prog, "bad --probes '%s': give a number from 1 to 16", optarg);
            break;
        case 'e':
            if (vt_parse_duration(optarg, &every) != 0 || every == 0 || every > INT32_MAX)
                vt_usage_error(prog, "bad --every '%s': give a duration such as 6h, 1d or 1h30m",
                               optarg);
            break;
        case OPT_DRY_RUN:
            dry_run = true;
            break;
        case 'h':
            start_usage();
            return 0;
        }
    }
    const char *name = one_name(prog, argc, argv);
    if (!targets_arg)
        vt_usage_error(prog, "--targets is required: CIDRs, ranges or addresses, or @FILE");
    if (!ports_arg)
        vt_usage_error(prog, "--ports is required, e.g. --ports 23,80");

    char err[512];
    struct vt_ports ports;
    if (vt_ports_parse(&ports, ports_arg, err, sizeof err) != 0)
        vt_usage_error(prog, "bad --ports: %s", err);
    size_t plen = ports.n * 12 + 16;
    char *ports_text = malloc(plen);
    if (!ports_text)
        vt_fatal("vantage", "out of memory");
    vt_ports_format(&ports, ports_text, plen);
    size_t nports = ports.n;
    vt_ports_free(&ports);

    struct vt_targets t;
    vt_targets_init(&t);
    char *targets_owned = NULL;
    const char *targets = targets_arg;
    if (targets_arg[0] == '@') {
        /* The daemon never reads files named by a client: send the parsed set. */
        if (vt_targets_load_file(&t, targets_arg + 1, err, sizeof err) != 0)
            vt_usage_error(prog, "bad --targets: %s", err);
        targets = targets_owned = targets_text(&t);
        if (!targets_owned)
            vt_fatal("vantage", "out of memory");
    } else {
        if (strchr(targets_arg, '@'))
            vt_usage_error(prog,
                           "bad --targets: @FILE must be the whole value, not part of a list");
        if (vt_targets_parse(&t, targets_arg, err, sizeof err) != 0)
            vt_usage_error(prog, "bad --targets: %s", err);
    }
    uint64_t naddr = vt_targets_count(&t);
    vt_targets_free(&t);
    if (naddr == 0)
        vt_usage_error(prog, "--targets names no address");
    if (strlen(targets) > MAX_TARGETS_TEXT)
        vt_fatal("vantage",
                 "the target list is too long for one request (%zu bytes, at most %d): merge "
                 "addresses into ranges or CIDRs",
                 strlen(targets), MAX_TARGETS_TEXT);

    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);
    json_t *req =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b}", "cmd", "campaign.start", "name",
                  name, "targets", targets, "ports", ports_text, "rate", (json_int_t)rate,
                  "vantages", (json_int_t)vantages, "probes", (json_int_t)probes, "every_s",
                  (json_int_t)every, "banners", (int)banners);
    if (dry_run)
        json_object_set_new(req, "dry_run", json_true());
    free(targets_owned);
    free(ports_text);
    json_t *reply = vt_control_request(&ctl, req);
    if (dry_run) {
        int rc = print_plan(stdout, json_object_get(reply, "plan"), ports_arg);
        json_decref(reply);
        if (rc != 0 || fflush(stdout) != 0)
            vt_fatal("vantage", "cannot write to stdout");
        return 0;
    }
    json_t *st = json_object_get(reply, "campaign");
    json_int_t shards = int_or(json_object_get(st, "shards"), "total", -1);
    printf("started campaign %s: %" PRIu64 " address%s x %zu port%s", name, naddr,
           naddr == 1 ? "" : "es", nports, nports == 1 ? "" : "s");
    if (shards >= 0)
        printf(" in %" JSON_INTEGER_FORMAT " shard%s", shards, shards == 1 ? "" : "s");
    printf("\nfollow it: vantage campaign status %s --watch\n", name);
    json_decref(reply);
    if (fflush(stdout) != 0)
        vt_fatal("vantage", "cannot write to stdout");
    return 0;
}

/* ---- list ---- */

static int add_campaign_row(struct vt_table *t, json_t *e, int64_t now_ms)
{
    char run[24], done[48], found[48] = "-", created[40] = "-";
    snprintf(run, sizeof run, "%" JSON_INTEGER_FORMAT, int_or(e, "run", 0));
    snprintf(done, sizeof done, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
             int_or(e, "done", 0), int_or(e, "shards", 0));
    json_t *f = json_object_get(e, "found");
    if (json_is_integer(f))
        snprintf(found, sizeof found, "%" JSON_INTEGER_FORMAT, json_integer_value(f));
    else if (json_is_object(f))
        snprintf(found, sizeof found, "%" JSON_INTEGER_FORMAT " open", int_or(f, "open", 0));
    json_t *cr = json_object_get(e, "created_ms");
    if (json_is_integer(cr))
        vt_time_ago(json_integer_value(cr), now_ms, created, sizeof created);
    const char *row[] = {
        str_or(e, "name", "?"), str_or(e, "state", "?"), run, done, found, created};
    return vt_table_add(t, row);
}

static int campaign_list(int argc, char **argv)
{
    static const char *const head[] = {"NAME", "STATE", "RUN", "DONE", "FOUND", "CREATED"};
    static const struct vt_list_command list = {
        .prog = "vantage campaign list",
        .help = "usage: vantage campaign list [--format table|jsonl | --json]\n"
                "\n"
                "Lists every campaign: its state (running, waiting, paused, complete,\n"
                "cancelled), run number, shards done of all, results found, and when it was\n"
                "created.\n"
                "\n"
                "Options:\n" VT_LIST_FORMAT_HELP VT_CONTROL_HELP "\n"
                "Example:\n"
                "  vantage campaign list\n",
        .request = "campaign.list",
        .member = "campaigns",
        .noun = "campaign list",
        .empty = "no campaigns (start one: vantage campaign start --help)\n",
        .ncols = 6,
        .head = head,
        .add_row = add_campaign_row,
    };
    return vt_list_command_run(&list, argc, argv);
}

/* ---- status ---- */

static void status_usage(void)
{
    printf("usage: vantage campaign status NAME [--watch | --json]\n"
           "\n"
           "Shows how far a campaign is: shards done, leased and pending (overall and by\n"
           "site), each busy worker's rate, results found so far, the estimated time\n"
           "left, and, when it is waiting, why (e.g. fewer sites online than --vantages).\n"
           "\n"
           "Options:\n"
           "  -w, --watch               redraw every second until the campaign is complete\n"
           "                            or cancelled (Ctrl-C to stop watching; the campaign\n"
           "                            goes on). Not on a terminal: one view per second.\n"
           "  -j, --json                print the status object (docs/control.md)\n" VT_CONTROL_HELP
           "\n"
           "Examples:\n"
           "  vantage campaign status iot --watch\n"
           "  vantage campaign status iot --json | jq .found\n");
}

static bool ended(const char *state)
{
    return !strcmp(state, "complete") || !strcmp(state, "cancelled");
}

static int campaign_status(int argc, char **argv)
{
    const char *prog = "vantage campaign status";
    static const struct option opts[] = {
        {"watch", no_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL;
    bool json = false, watch = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":wjh", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        if (c == 'w')
            watch = true;
        if (c == 'j')
            json = true;
        if (c == 'h') {
            status_usage();
            return 0;
        }
    }
    const char *name = one_name(prog, argc, argv);
    if (watch && json)
        vt_usage_error(prog, "give --watch or --json, not both");
    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);

    if (!watch) {
        json_t *st = fetch_status(&ctl, name);
        int rc =
            json ? vt_json_print(stdout, st) : vt_campaign_status_print(stdout, st, vt_now_ms());
        json_decref(st);
        if (rc != 0 || fflush(stdout) != 0)
            vt_fatal("vantage", "cannot write the status to stdout");
        return 0;
    }

    bool tty = isatty(STDOUT_FILENO);
    for (bool first = true;; first = false) {
        json_t *st = fetch_status(&ctl, name);
        char *frame = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&frame, &len);
        if (!mem)
            vt_fatal("vantage", "out of memory");
        int rc = vt_campaign_status_print(mem, st, vt_now_ms());
        rc |= fclose(mem) != 0;
        bool done = ended(str_or(st, "state", ""));
        json_decref(st);
        if (rc == 0) {
            /* The whole frame in one write, after the clear, so it does not flicker. */
            if (tty)
                rc |= fputs("\033[H\033[2J", stdout) == EOF;
            else if (!first)
                rc |= fputc('\n', stdout) == EOF;
            rc |= fwrite(frame, 1, len, stdout) != len;
            rc |= fflush(stdout) != 0;
        }
        free(frame);
        if (rc != 0)
            vt_fatal("vantage", "cannot write the status to stdout");
        if (done)
            return 0;
        sleep_ms(1000);
    }
}

/* ---- wait ---- */

static void wait_usage(void)
{
    printf("usage: vantage campaign wait NAME [--timeout DUR]\n"
           "\n"
           "Waits for a campaign (or, for one started with --every, its current run) to\n"
           "complete, asking the daemon once a second; shows progress on stderr when that\n"
           "is a terminal. For scripts: exit 0 when complete; 1 if the campaign is\n"
           "cancelled, the timeout passes or the daemon cannot be reached, with a line on\n"
           "stderr saying which. A paused campaign is waited for.\n"
           "\n"
           "Options:\n"
           "      --timeout DUR         give up after DUR: seconds (600) or 10m, 2h, 1h30m\n"
           "                            (default: wait as long as it takes)\n" VT_CONTROL_HELP "\n"
           "Example:\n"
           "  vantage campaign wait iot --timeout 2h && \\\n"
           "      vantage query --campaign iot --count\n");
}

static int campaign_wait(int argc, char **argv)
{
    const char *prog = "vantage campaign wait";
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 't'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL;
    uint64_t timeout = 0;
    bool have_timeout = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        if (c == 't') {
            if (vt_parse_duration(optarg, &timeout) != 0 || timeout > 100L * 365 * 86400)
                vt_usage_error(prog, "bad --timeout '%s': give seconds or a duration like 2h",
                               optarg);
            have_timeout = true;
        }
        if (c == 'h') {
            wait_usage();
            return 0;
        }
    }
    const char *name = one_name(prog, argc, argv);
    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);

    bool progress = isatty(STDERR_FILENO);
    int64_t deadline = mono_ms() + (int64_t)timeout * 1000;
    json_int_t first_run = -1;
    char buf[32];
    for (;;) {
        json_t *st = fetch_status(&ctl, name);
        const char *state = str_or(st, "state", "?");
        json_t *shards = json_object_get(st, "shards"), *found = json_object_get(st, "found");
        json_int_t run = int_or(st, "run", 0);
        if (first_run < 0)
            first_run = run;
        /* A recurring campaign starts its next run instead of staying complete:
         * a newer run number means the one we waited for is done. */
        bool complete = !strcmp(state, "complete") || run > first_run;
        if (progress) {
            json_t *eta = json_object_get(st, "eta_s");
            fprintf(stderr,
                    "\r\033[K%s: %s, %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
                    " shards, %" JSON_INTEGER_FORMAT " open, eta %s",
                    name, state, int_or(shards, "done", 0), int_or(shards, "total", 0),
                    int_or(found, "open", 0),
                    json_is_integer(eta) && json_integer_value(eta) >= 0
                        ? vt_duration_format((uint64_t)json_integer_value(eta), buf, sizeof buf)
                        : "?");
            if (complete || !strcmp(state, "cancelled"))
                fputc('\n', stderr);
        }
        if (complete) {
            printf("campaign %s complete (run %" JSON_INTEGER_FORMAT "): %" JSON_INTEGER_FORMAT
                   " open, %" JSON_INTEGER_FORMAT " closed\n",
                   name, first_run, int_or(found, "open", 0), int_or(found, "closed", 0));
            json_decref(st);
            if (fflush(stdout) != 0)
                vt_fatal("vantage", "cannot write to stdout");
            return 0;
        }
        bool cancelled = !strcmp(state, "cancelled");
        json_decref(st); /* state pointed into it */
        if (cancelled)
            vt_fatal("vantage", "campaign %s was cancelled", name);
        int64_t left = deadline - mono_ms();
        if (have_timeout && left <= 0) {
            if (progress)
                fputc('\n', stderr);
            vt_fatal("vantage", "campaign %s is not complete after %s (--timeout)", name,
                     vt_duration_format(timeout, buf, sizeof buf));
        }
        sleep_ms(have_timeout && left < 1000 ? (long)left : 1000);
    }
}

/* ---- set ---- */

static void set_usage(void)
{
    printf("usage: vantage campaign set NAME --rate PPS\n"
           "\n"
           "Changes a campaign while it runs. --rate is the campaign's new budget of\n"
           "probes per second, shared out at once among the workers scanning it (each\n"
           "is sent its new share; none goes above its own --max-rate). On a paused\n"
           "campaign the rate applies when it resumes; on one started with --every, also\n"
           "to its later runs. The new rate is kept in the store.\n"
           "\n"
           "Options:\n"
           "  -r, --rate PPS            probes per second for the whole campaign,\n"
           "                            1-100000000 (required)\n" VT_CONTROL_HELP "\n"
           "Example:\n"
           "  vantage campaign set iot --rate 5000     # an ISP asked us to slow down\n");
}

static int campaign_set(int argc, char **argv)
{
    const char *prog = "vantage campaign set";
    static const struct option opts[] = {
        {"rate", required_argument, NULL, 'r'},
        {"control", required_argument, NULL, VT_OPT_CONTROL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *control = NULL;
    uint64_t rate = 0;
    bool have_rate = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:h", opts, NULL)) != -1) {
        if (vt_control_opt(prog, c, argv, &control))
            continue;
        if (c == 'r') {
            if (vt_parse_u64(optarg, 1, 100000000, &rate) != 0)
                vt_usage_error(prog, "bad --rate '%s': give probes per second, 1-100000000",
                               optarg);
            have_rate = true;
        }
        if (c == 'h') {
            set_usage();
            return 0;
        }
    }
    const char *name = one_name(prog, argc, argv);
    if (!have_rate)
        vt_usage_error(prog, "nothing to set: give --rate PPS");
    struct vt_control ctl;
    vt_control_setup(&ctl, prog, control);
    json_t *reply = vt_control_request(&ctl, json_pack("{s:s, s:s, s:I}", "cmd", "campaign.set",
                                                       "name", name, "rate", (json_int_t)rate));
    const char *state = str_or(reply, "state", "?");
    json_int_t told = int_or(reply, "leases", 0);
    printf("campaign %s: rate %" PRIu64 "/s", name, rate);
    if (!strcmp(state, "paused"))
        printf(" when it resumes (it is paused)\n");
    else if (!strcmp(state, "complete"))
        printf(" from its next run\n");
    else
        printf(", shared now among %" JSON_INTEGER_FORMAT " scanning lease%s\n", told,
               told == 1 ? "" : "s");
    json_decref(reply);
    vt_stdout_done();
    return 0;
}

/* ---- pause, resume, cancel ---- */

static void control_usage(const char *what)
{
    const char *text = !strcmp(what, "pause")
                           ? "Pauses a campaign: the coordinator leases none of its shards until\n"
                             "`vantage campaign resume`, which goes on from where they stopped.\n"
                       : !strcmp(what, "resume")
                           ? "Resumes a paused campaign from where its shards stopped.\n"
                           : "Cancels a campaign for good: none of its shards is leased again;\n"
                             "the results found so far stay in the store. It cannot be resumed.\n";
    printf("usage: vantage campaign %s NAME\n"
           "\n"
           "%s"
           "\n"
           "Options:\n" VT_CONTROL_HELP "\n"
           "Example:\n"
           "  vantage campaign %s iot\n",
           what, text, what);
}

static int campaign_control(int argc, char **argv)
{
    const char *what = argv[0], *control = NULL;
    char prog[64], cmd[64];
    snprintf(prog, sizeof prog, "vantage campaign %s", what);
    snprintf(cmd, sizeof cmd, "campaign.%s", what);
    if (vt_control_leaf_opts(prog, argc, argv, &control, NULL)) {
        control_usage(what);
        return 0;
    }
    const char *name = one_name(prog, argc, argv);
    vt_control_send(prog, control, json_pack("{s:s, s:s}", "cmd", cmd, "name", name));
    printf("campaign %s %s\n", name,
           !strcmp(what, "pause")    ? "paused"
           : !strcmp(what, "resume") ? "resumed"
                                     : "cancelled");
    vt_stdout_done();
    return 0;
}

static const struct vt_command subcommands[] = {
    {"start", campaign_start, "start scanning targets x ports with the enrolled workers"},
    {"list", campaign_list, "list campaigns and their progress"},
    {"status", campaign_status, "show one campaign's progress (--watch to follow it)"},
    {"wait", campaign_wait, "wait until a campaign completes (for scripts)"},
    {"pause", campaign_control, "stop leasing a campaign's shards for now"},
    {"resume", campaign_control, "go on with a paused campaign"},
    {"cancel", campaign_control, "end a campaign for good"},
    {"set", campaign_set, "change a campaign's rate while it runs"},
};

static void campaign_usage(FILE *out)
{
    vt_command_group_usage(
        out, "vantage campaign",
        "Starts and follows scan campaigns: (targets - blocklist) x ports, leased in\n"
        "shards to the enrolled workers.\n",
        subcommands, sizeof subcommands / sizeof subcommands[0],
        "Examples:\n"
        "  vantage campaign start iot --targets 198.18.0.0/16 --ports 23,80\n"
        "  vantage campaign status iot --watch\n"
        "  vantage campaign wait iot --timeout 1h\n"
        "  vantage campaign set iot --rate 5000\n");
}

int vt_cmd_campaign(int argc, char **argv)
{
    return vt_cli_dispatch("vantage campaign", subcommands,
                           sizeof subcommands / sizeof subcommands[0], campaign_usage, argc, argv);
}
