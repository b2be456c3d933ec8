/* cmd_scan.c: `vantage-worker scan`, the scan engine run by hand, as one runs
 * zmap. Parses and checks every flag at the edge, builds the target space
 * ((targets − blocklist) × ports) and hands a vt_scan_config to scan.c. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "commands.h"
#include "enrich.h"
#include "link.h"
#include "output.h"
#include "ratelimit.h"
#include "rules.h"
#include "scan.h"

#define PROG "vantage-worker scan"

/* The scan ran to the end but lost answers (the summary line says how many):
 * the output is valid yet incomplete. 1 stays "failed", 2 "bad usage". */
#define VT_EXIT_INCOMPLETE 3

static void scan_usage(void)
{
    printf("usage: vantage-worker scan TARGET... --ports LIST [OPTIONS]\n"
           "\n"
           "Sends TCP SYN probes to every (address, port) of (TARGETs - blocklist) x LIST\n"
           "in a pseudo-random order and prints one line per answer: open (SYN-ACK) or\n"
           "closed (RST). Silent targets print nothing. Needs CAP_NET_RAW.\n"
           "\n"
           "TARGET is a CIDR (198.18.0.0/16), a range (198.18.0.1-198.18.0.99), an\n"
           "address, or @FILE with one of those per line ('#' starts a comment).\n"
           "\n"
           "Options:\n"
           "  -p, --ports LIST        ports and ranges, e.g. 23,80,8000-8010 (required)\n"
           "  -r, --rate PPS          probes per second, all probes counted (default 10000;\n"
           "                          0 = as fast as the machine goes)\n"
           "  -P, --probes N          probes per target, spread in time (default 1)\n"
           "  -c, --cooldown SEC      wait this long for late answers (default 8)\n"
           "  -i, --interface IF      send on IF (default: the route to the first target)\n"
           "  -S, --source-ip IP      source address (default: the interface's)\n"
           "  -G, --gateway-mac MAC   next hop's MAC (default: from the neighbour table)\n"
           "  -b, --blocklist FILE    addresses never to probe; replaces the built-in IANA\n"
           "                          special-purpose list (which contains 198.18.0.0/15)\n"
           "  -e, --seed N            order and probe-cookie seed (default: random); equal\n"
           "                          seeds give equal orders, as --shard needs\n"
           "      --shard I/N         scan only arc I of N (0 <= I < N) of the walk; N runs\n"
           "                          with one seed cover the space exactly once\n"
           "  -o, --output FILE       write results to FILE (default: stdout)\n"
           "  -f, --format FMT        jsonl (default) or csv\n"
           "  -q, --quiet             no status line on stderr\n"
           "      --send-mode MODE    auto (default), ring, mmsg or pcap: how frames leave\n"
           "\n"
           "Banners (docs/banners.md):\n"
           "      --banners           connect to every open port found, read what the\n"
           "                          service says (telnet, HTTP, SSH, anything) and\n"
           "                          identify it; grabs count against --rate (8 packets each)\n"
           "      --banner-concurrency N  connections at once (default 1000)\n"
           "      --banner-timeout SEC    whole time one grab may take (default 10)\n"
           "      --host-cap N        grabs per address; more open ports than that mark the\n"
           "                          host truncated (default 32)\n"
           "      --rules PATH        load more fingerprint rules (Recog XML: a file or a\n"
           "                          directory); repeatable; the built-in rules always load\n"
           "      --user-agent TEXT   the HTTP probe's User-Agent; name yourself and your\n"
           "                          opt-out page (default \"" VT_BANNER_USER_AGENT "\")\n"
           "\n"
           "Output fields: ip, port, state (open|closed), ttl, ts (RFC 3339, UTC, ms); with\n"
           "--banners, for open ports also grab (how it ended), proto, banner and labels\n"
           "(vendor, product, device, version, cpe, exposure, and the rules' own fields).\n"
           "\n"
           "Exit status: 0 scanned completely, 1 failed (the capture failed, say), 2 bad\n"
           "usage, 3 scanned but answers were dropped (the summary says how many): the\n"
           "output is incomplete.\n"
           "\n"
           "Examples:\n"
           "  vantage-worker scan 198.18.0.0/16 --ports 23,80 --blocklist lab.block\n"
           "  vantage-worker scan @targets.txt -p 23 -r 100000 -P 2 -f csv -o out.csv\n"
           "  vantage-worker scan 198.18.0.0/16 -p 23,80,8080 --banners --rules ~/recog/xml\n"
           "\n"
           "See docs/worker-scan.md.\n");
}

/* Parses "I/N" with 0 <= I < N. */
static int parse_shard(const char *s, uint64_t *i, uint64_t *n)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s)
        return -1;
    char left[32];
    size_t len = (size_t)(slash - s);
    if (len >= sizeof left)
        return -1;
    memcpy(left, s, len);
    left[len] = '\0';
    if (vt_parse_u64(left, 0, UINT32_MAX, i) != 0 || vt_parse_u64(slash + 1, 1, UINT32_MAX, n) != 0)
        return -1;
    return *i < *n ? 0 : -1;
}

/* Results of a scan run by hand go to a file in one output format. */
struct cli_sink {
    FILE *f;
    const struct vt_output_module *fmt;
    bool services;
};

static int sink_write(void *arg, const struct vt_result *r)
{
    struct cli_sink *out = arg;
    return out->fmt->record(out->f, r, out->services);
}

static int sink_flush(void *arg)
{
    struct cli_sink *out = arg;
    return fflush(out->f) == 0 ? 0 : -1;
}

int vt_cmd_scan(int argc, char **argv)
{
    enum {
        OPT_SHARD = 256,
        OPT_SEND_MODE,
        OPT_BANNERS,
        OPT_BANNER_CONC,
        OPT_BANNER_TIMEOUT,
        OPT_HOST_CAP,
        OPT_RULES,
        OPT_USER_AGENT
    };
    static const struct option opts[] = {
        {"ports", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"probes", required_argument, NULL, 'P'},
        {"cooldown", required_argument, NULL, 'c'},
        {"interface", required_argument, NULL, 'i'},
        {"source-ip", required_argument, NULL, 'S'},
        {"gateway-mac", required_argument, NULL, 'G'},
        {"blocklist", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 'e'},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"send-mode", required_argument, NULL, OPT_SEND_MODE},
        {"banners", no_argument, NULL, OPT_BANNERS},
        {"banner-concurrency", required_argument, NULL, OPT_BANNER_CONC},
        {"banner-timeout", required_argument, NULL, OPT_BANNER_TIMEOUT},
        {"host-cap", required_argument, NULL, OPT_HOST_CAP},
        {"rules", required_argument, NULL, OPT_RULES},
        {"user-agent", required_argument, NULL, OPT_USER_AGENT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *ports_arg = NULL, *blocklist = NULL, *output = NULL, *format = "jsonl";
    const char *ifname = NULL;
    uint64_t rate = 10000, probes = 1, cooldown = 8, seed = 0, shard_i = 0, shard_n = 1;
    bool seed_given = false, quiet = false, have_mac = false;
    uint32_t source_ip = 0;
    uint8_t gw_mac[6];
    enum vt_send_mode mode = VT_SEND_AUTO;
    bool banners = false;
    uint64_t banner_conc = 1000, banner_timeout = 10, host_cap = 32;
    const char *rule_paths[VT_RULES_MAX_PATHS];
    size_t nrule_paths = 0;
    const char *user_agent = NULL;
    char err[512];

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":p:r:P:c:i:S:G:b:e:o:f:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            ports_arg = optarg;
            break;
        case 'r':
            if (vt_parse_u64(optarg, 0, 100000000, &rate) != 0)
                vt_usage_error(PROG, "bad --rate '%s': give probes per second, 0-100000000",
                               optarg);
            break;
        case 'P':
            if (vt_parse_u64(optarg, 1, 16, &probes) != 0)
                vt_usage_error(PROG, "bad --probes '%s': give a number from 1 to 16", optarg);
            break;
        case 'c':
            if (vt_parse_u64(optarg, 0, 3600, &cooldown) != 0)
                vt_usage_error(PROG, "bad --cooldown '%s': give seconds, 0-3600", optarg);
            break;
        case 'i':
            if (strlen(optarg) >= 16 || !optarg[0])
                vt_usage_error(PROG, "bad --interface '%s': not an interface name", optarg);
            ifname = optarg;
            break;
        case 'S':
            if (vt_ip_parse(optarg, &source_ip) != 0)
                vt_usage_error(PROG, "bad --source-ip '%s': give an IPv4 address", optarg);
            break;
        case 'G':
            if (vt_mac_parse(optarg, gw_mac) != 0)
                vt_usage_error(PROG,
                               "bad --gateway-mac '%s': give six hex bytes, "
                               "e.g. 02:00:00:00:00:01",
                               optarg);
            have_mac = true;
            break;
        case 'b':
            blocklist = optarg;
            break;
        case 'e':
            if (vt_parse_u64(optarg, 0, UINT64_MAX, &seed) != 0)
                vt_usage_error(PROG, "bad --seed '%s': give a whole number", optarg);
            seed_given = true;
            break;
        case OPT_SHARD:
            if (parse_shard(optarg, &shard_i, &shard_n) != 0)
                vt_usage_error(PROG, "bad --shard '%s': give I/N with 0 <= I < N, e.g. 0/4",
                               optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case OPT_SEND_MODE:
            if (vt_send_mode_parse(optarg, &mode) != 0)
                vt_usage_error(PROG, "bad --send-mode '%s': give auto, ring, mmsg or pcap", optarg);
            break;
        case OPT_BANNERS:
            banners = true;
            break;
        case OPT_BANNER_CONC:
            if (vt_parse_u64(optarg, 1, 100000, &banner_conc) != 0)
                vt_usage_error(PROG, "bad --banner-concurrency '%s': give 1-100000", optarg);
            break;
        case OPT_BANNER_TIMEOUT:
            if (vt_parse_u64(optarg, 1, 300, &banner_timeout) != 0)
                vt_usage_error(PROG, "bad --banner-timeout '%s': give seconds, 1-300", optarg);
            break;
        case OPT_HOST_CAP:
            if (vt_parse_u64(optarg, 1, 65536, &host_cap) != 0)
                vt_usage_error(PROG, "bad --host-cap '%s': give 1-65536", optarg);
            break;
        case OPT_USER_AGENT:
            if (!vt_banner_user_agent_ok(optarg))
                vt_usage_error(PROG,
                               "bad --user-agent: give 1-%d printable ASCII characters, e.g. "
                               "\"survey/1.0 (+https://example.org/opt-out)\"",
                               VT_BANNER_USER_AGENT_MAX);
            user_agent = optarg;
            break;
        case OPT_RULES:
            if (nrule_paths == VT_RULES_MAX_PATHS)
                vt_usage_error(PROG, "too many --rules: at most %d (give a directory)",
                               VT_RULES_MAX_PATHS);
            rule_paths[nrule_paths++] = optarg;
            break;
        case 'h':
            scan_usage();
            return 0;
        case ':':
            vt_usage_error(PROG, "%s needs a value", argv[optind - 1]);
            break;
        default:
            vt_usage_error(PROG, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        vt_usage_error(PROG, "no TARGET given (a CIDR, range, address or @FILE)");
    if (!ports_arg)
        vt_usage_error(PROG, "--ports LIST is required, e.g. --ports 23,80");
    const struct vt_output_module *fmt = vt_output_find(format);
    if (!fmt)
        vt_usage_error(PROG, "bad --format '%s': give %s", format, vt_output_names());
    if (shard_n > 1 && !seed_given)
        vt_usage_error(PROG, "--shard needs --seed, so that every shard walks one order");
    if (!banners && (nrule_paths || user_agent))
        vt_usage_error(PROG, "--rules and --user-agent are for banners: give --banners too");

    struct vt_ports ports;
    if (vt_ports_parse(&ports, ports_arg, err, sizeof err) != 0)
        vt_usage_error(PROG, "--ports: %s", err);

    struct vt_targets targets, block;
    vt_targets_init(&targets);
    vt_targets_init(&block);
    for (int i = optind; i < argc; i++)
        if (vt_targets_parse(&targets, argv[i], err, sizeof err) != 0)
            vt_usage_error(PROG, "%s", err);
    if (blocklist) {
        if (vt_targets_load_file(&block, blocklist, err, sizeof err) != 0)
            vt_usage_error(PROG, "--blocklist: %s", err);
    } else if (vt_targets_builtin_blocklist(&block) != 0) {
        vt_fatal(PROG, "out of memory");
    }
    if (vt_targets_subtract(&targets, &block) != 0)
        vt_fatal(PROG, "out of memory");
    if (vt_targets_count(&targets) == 0)
        vt_usage_error(PROG, "the target space is empty: every target is in the blocklist%s",
                       blocklist ? ""
                                 : " (the built-in list holds the IANA special-purpose ranges, "
                                   "198.18.0.0/15 among them; --blocklist FILE replaces it)");
    vt_targets_free(&block);

    if (!seed_given) {
        if (sodium_init() < 0)
            vt_fatal(PROG, "cannot initialise libsodium");
        randombytes_buf(&seed, sizeof seed);
    }

    FILE *out = stdout;
    if (output && strcmp(output, "-") != 0) {
        out = fopen(output, "w");
        if (!out)
            vt_fatal(PROG, "cannot write %s: %s", output, strerror(errno));
    }
    /* Rules before the first probe: a bad --rules path fails before any packet. */
    struct vt_rules *rules = NULL;
    if (banners) {
        rules = vt_rules_open(rule_paths, nrule_paths, stderr, err, sizeof err);
        if (!rules)
            vt_fatal(PROG, "%s", err);
    }
    struct cli_sink sink = {out, fmt, banners};
    if (fmt->header && fmt->header(out, banners) != 0)
        vt_fatal(PROG, "cannot write %s: %s", output ? output : "stdout", strerror(errno));

    struct vt_scan_config cfg = {
        .targets = &targets,
        .ports = &ports,
        .rate = rate,
        .probes = (unsigned)probes,
        .cooldown = (unsigned)cooldown,
        .seed = seed,
        .shard_i = shard_i,
        .shard_n = shard_n,
        .ifname = ifname,
        .source_ip = source_ip,
        .gw_mac = have_mac ? gw_mac : NULL,
        .send_mode = mode,
        .status = !quiet && isatty(STDERR_FILENO),
        .sink = {sink_write, sink_flush, &sink},
    };
    _Atomic uint64_t debt = 0;
    struct vt_enrich *stage = NULL;
    if (banners) {
        struct vt_enrich_config ec = {
            .grab = {.concurrency = (unsigned)banner_conc,
                     .deadline_ms = (unsigned)banner_timeout * 1000,
                     .host_cap = (unsigned)host_cap,
                     .source_ip = source_ip,
                     .user_agent = user_agent},
            .rules = rules,
            .rate = rate,
            .debt = &debt,
            .sink = cfg.sink,
        };
        stage = vt_enrich_start(&ec, err, sizeof err);
        if (!stage)
            vt_fatal(PROG, "%s", err);
        cfg.sink = (struct vt_result_sink){vt_enrich_write, vt_enrich_flush, stage};
        cfg.debt = &debt;
        /* The cooldown waits for late answers; grabs of them follow. */
    }
    struct vt_scan_summary sum;
    int rc = vt_scan_run(&cfg, &sum, err, sizeof err);
    struct vt_enrich_stats es = {0};
    if (stage && rc == 0 && cfg.status) {
        /* The probes are done; the last grabs take up to --banner-timeout. */
        for (uint64_t left; (left = vt_enrich_pending(stage)) > 0; vt_sleep_ns(1000000000ull))
            fprintf(stderr, "banners: %" PRIu64 " grab%s still running\n", left,
                    left == 1 ? "" : "s");
    }
    if (stage) {
        char gerr[256];
        if (vt_enrich_finish(stage, rc != 0, &es, gerr, sizeof gerr) != 0 && rc == 0) {
            snprintf(err, sizeof err, "%s", gerr);
            rc = -1;
        }
    }
    vt_rules_free(rules);
    if (fflush(out) != 0 || (out != stdout && fclose(out) != 0))
        vt_fatal(PROG, "cannot write %s: %s", output ? output : "stdout", strerror(errno));
    vt_targets_free(&targets);
    vt_ports_free(&ports);
    if (rc != 0)
        vt_fatal(PROG, "%s", err);

    char failed[64] = ""; /* frames the interface refused: worth saying only when there were any */
    if (sum.send_failures)
        snprintf(failed, sizeof failed, ", %" PRIu64 " probes refused by the interface",
                 sum.send_failures);
    /* Answers lost: the output is then incomplete, which the line says and
     * the exit status (VT_EXIT_INCOMPLETE) tells a script. */
    char dropped[256] = "";
    uint64_t lost = sum.pcap_drops + sum.queue_drops;
    if (lost)
        snprintf(dropped, sizeof dropped,
                 "; INCOMPLETE: %" PRIu64 " answers dropped (%" PRIu64 " in capture, %" PRIu64
                 " in the output queue): lower --rate%s and scan again",
                 lost, sum.pcap_drops, sum.queue_drops,
                 sum.queue_drops ? " or write --output to a faster disk" : "");
    char grabbed[160] = "";
    if (banners)
        snprintf(grabbed, sizeof grabbed,
                 "; %" PRIu64 " banners from %" PRIu64 " grabs, %" PRIu64 " identified%s",
                 es.banners, es.grabs, es.identified,
                 es.capped ? ", some hosts truncated (--host-cap)" : "");
    fprintf(stderr,
            "%s: scanned %" PRIu64 " targets in %.1f s: sent %" PRIu64 " probes (%.0f/s), %" PRIu64
            " open, %" PRIu64 " closed, hit rate %.2f%%%s%s%s\n",
            PROG, sum.targets, sum.seconds, sum.sent,
            sum.send_seconds > 0 ? sum.sent / sum.send_seconds : 0.0, sum.open, sum.closed,
            sum.targets ? 100.0 * sum.results / sum.targets : 0.0, failed, grabbed, dropped);
    return lost ? VT_EXIT_INCOMPLETE : 0;
}
