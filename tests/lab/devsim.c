/*
 * devsim.c: command line of the lab's device simulator.
 *
 *   devsim truth ...   the ground truth of one epoch, as JSON, on stdout
 *   devsim nft ...     the nft -f script that makes the target namespace's
 *                      packet filter agree with that truth, on stdout
 *   devsim serve ...   plays the devices (run inside the target namespace)
 *
 * All three build the same world from the same parameters (world.c), so the C
 * code is the single source of truth for where devices are. tests/lab/lab drives
 * it; see tests/lab/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "serve.h"
#include "world.h"

static const char usage[] =
    "usage: devsim truth|nft|serve [OPTIONS]\n"
    "\n"
    "The lab's device simulator: a deterministic world of IoT devices in 198.18.0.0/16.\n"
    "\n"
    "commands:\n"
    "  truth   print the ground truth of an epoch as JSON\n"
    "  nft     print the nft -f script (one transaction) of an epoch's open/closed sets\n"
    "  serve   play the devices on ports 23, 2323, 80, 8080, 81, 8000 (lab target namespace)\n"
    "\n"
    "world (the same values give the same world):\n"
    "  --seed S              random seed (default 1)\n"
    "  --devices N           number of devices, 1..20000 (default 1500)\n"
    "  --churn PCT           share of devices that move at every epoch (default 40)\n"
    "  --vantages N          number of vantages, each with a blocked /24 (default 3)\n"
    "  --no-blocked          no vantage-blocked /24s: every vantage reaches every device\n"
    "  --closed-permille N   hosts that reset every port, per 1000 addresses (default 5)\n"
    "  --availability PCT    chance that a device is online in an epoch (default 100);\n"
    "                        an offline device is silent on every port\n"
    "  --shared-ids PCT      share of the devices of each type with an identifier that\n"
    "                        show the type's firmware default instead (default 0)\n"
    "  --epoch E             the epoch (default 0)\n"
    "serve:\n"
    "  --epoch-file FILE     holds the epoch to serve, instead of --epoch; re-read on SIGHUP\n"
    "  --ready-file FILE     written as \"epoch E\" once that epoch is served\n"
    "  --max-conns N         connections served at once (default 16384)\n"
    "  -h, --help            this help\n";

enum cmd { CMD_TRUTH, CMD_NFT, CMD_SERVE };

static int parse_uint(const char *opt, const char *arg, unsigned long long max,
                      unsigned long long *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v > max) {
        fprintf(stderr, "devsim: %s wants a number from 0 to %llu, not '%s'\n", opt, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},
        {"devices", required_argument, NULL, 'd'},
        {"churn", required_argument, NULL, 'c'},
        {"vantages", required_argument, NULL, 'v'},
        {"closed-permille", required_argument, NULL, 'p'},
        {"availability", required_argument, NULL, 'a'},
        {"shared-ids", required_argument, NULL, 'i'},
        {"no-blocked", no_argument, NULL, 'B'},
        {"epoch", required_argument, NULL, 'e'},
        {"epoch-file", required_argument, NULL, 'E'},
        {"ready-file", required_argument, NULL, 'r'},
        {"max-conns", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct world_params p = {.seed = 1,
                             .devices = 1500,
                             .churn_pct = 40,
                             .vantages = 3,
                             .closed_permille = 5,
                             .availability_pct = 100,
                             .shared_ids_pct = 0};
    struct serve_opts so = {0};
    unsigned long long v, epoch = 0;
    struct world w;
    char err[256];
    enum cmd cmd;
    int opt, rc;

    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "truth") == 0) {
        cmd = CMD_TRUTH;
    } else if (strcmp(argv[1], "nft") == 0) {
        cmd = CMD_NFT;
    } else if (strcmp(argv[1], "serve") == 0) {
        cmd = CMD_SERVE;
    } else {
        fprintf(stderr, "devsim: unknown command '%s' (try: devsim --help)\n", argv[1]);
        return 2;
    }
    optind = 2;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (parse_uint("--seed", optarg, UINT64_MAX >> 1, &v) < 0)
                return 2;
            p.seed = v;
            break;
        case 'd':
            if (parse_uint("--devices", optarg, WORLD_MAX_DEVICES, &v) < 0)
                return 2;
            p.devices = (unsigned)v;
            break;
        case 'c':
            if (parse_uint("--churn", optarg, 100, &v) < 0)
                return 2;
            p.churn_pct = (unsigned)v;
            break;
        case 'v':
            if (parse_uint("--vantages", optarg, WORLD_MAX_VANTAGES, &v) < 0)
                return 2;
            p.vantages = (unsigned)v;
            break;
        case 'p':
            if (parse_uint("--closed-permille", optarg, 100, &v) < 0)
                return 2;
            p.closed_permille = (unsigned)v;
            break;
        case 'a':
            if (parse_uint("--availability", optarg, 100, &v) < 0)
                return 2;
            p.availability_pct = (unsigned)v;
            break;
        case 'i':
            if (parse_uint("--shared-ids", optarg, 100, &v) < 0)
                return 2;
            p.shared_ids_pct = (unsigned)v;
            break;
        case 'B':
            p.no_blocked = true;
            break;
        case 'e':
            if (parse_uint("--epoch", optarg, WORLD_MAX_EPOCH, &epoch) < 0)
                return 2;
            break;
        case 'E':
            so.epoch_file = optarg;
            break;
        case 'r':
            so.ready_file = optarg;
            break;
        case 'm':
            if (parse_uint("--max-conns", optarg, 1000000, &v) < 0)
                return 2;
            so.max_conns = (unsigned)v;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs("devsim: bad usage (try: devsim --help)\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "devsim: unexpected argument '%s' (try: devsim --help)\n", argv[optind]);
        return 2;
    }

    if (cmd == CMD_SERVE) {
        so.params = p;
        so.epoch = (unsigned)epoch;
        return serve_run(&so) == 0 ? 0 : 1;
    }

    if (world_build(&w, &p, err, sizeof(err)) < 0) {
        fprintf(stderr, "devsim: %s\n", err);
        return 1;
    }
    if (world_set_epoch(&w, (unsigned)epoch, err, sizeof(err)) < 0) {
        fprintf(stderr, "devsim: %s\n", err);
        world_free(&w);
        return 1;
    }
    if (cmd == CMD_TRUTH)
        rc = export_truth(&w, stdout, err, sizeof(err));
    else
        rc = export_nft(&w, stdout, err, sizeof(err));
    world_free(&w);
    if (rc < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "devsim: %s\n", rc < 0 ? err : "cannot write to stdout");
        return 1;
    }
    return 0;
}
