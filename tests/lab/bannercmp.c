/* bannercmp.c: measures banner grabbing and identification against the lab's
 * ground truth.
 *
 *   bannercmp --truth truth.json [--banner-min R] [--identify-min R]
 *             [--identify-all] [--exposure-min R] [--verbose] RESULTS.jsonl...
 *
 * Reads the worker's JSON Lines results ({"ip","port","state",..., "proto",
 * "banner", "labels": {"vendor","device","product","exposure",...}}) and, for
 * every open result at a pair the truth lists as a device's service, checks:
 *
 *   banners      share of the telnet and HTTP services of non-hostile
 *                devices whose result carries a non-empty "banner";
 *   identified   per device type: a device is identified when at least one of
 *                its services has labels.vendor == the truth's vendor and
 *                labels.device == the truth's device, and no service of it
 *                names another vendor or device. A type is identified when
 *                every device of it that the results reached is. Generic
 *                types (vendor "Generic") need the device only; hostile
 *                types are not identified, only counted;
 *   exposure     share of non-hostile services whose labels.exposure (absent
 *                = null) equals the truth's exposure.
 *
 * Prints one line per measure and one per device type, and exits 1 when a
 * share falls below its --*-min, or with --identify-all when a non-hostile
 * type the results reached is not identified. Exit 2 for bad usage or input. */
#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct svc {
    uint64_t key;         /* addr << 16 | port */
    unsigned dev;         /* index into devices */
    const char *proto;    /* the truth's protocol */
    const char *exposure; /* the truth's exposure, or NULL */
    bool seen, banner, exposure_ok;
    int ident; /* 1 right vendor and device, -1 contradicts, 0 neither */
};

struct dev {
    const char *type, *vendor, *device;
    bool hostile, generic;
};

struct tstat {
    const char *type;
    unsigned seen, identified;
    bool hostile, generic;
};

__attribute__((noreturn)) static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "bannercmp: %s%s\n", msg, arg ? arg : "");
    exit(2);
}

static int by_key(const void *a, const void *b)
{
    uint64_t x = ((const struct svc *)a)->key, y = ((const struct svc *)b)->key;
    return x < y ? -1 : x > y;
}

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static double share(unsigned n, unsigned d)
{
    return d ? (double)n / d : 1.0;
}

static double parse_share(const char *opt, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || v < 0 || v > 1)
        die("wants a share from 0 to 1: ", opt);
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"truth", required_argument, NULL, 't'},
        {"banner-min", required_argument, NULL, 'b'},
        {"identify-min", required_argument, NULL, 'i'},
        {"identify-all", no_argument, NULL, 'a'},
        {"exposure-min", required_argument, NULL, 'e'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *truth_path = NULL;
    double banner_min = 0, identify_min = 0, exposure_min = 0;
    bool identify_all = false, verbose = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 't':
            truth_path = optarg;
            break;
        case 'b':
            banner_min = parse_share("--banner-min", optarg);
            break;
        case 'i':
            identify_min = parse_share("--identify-min", optarg);
            break;
        case 'a':
            identify_all = true;
            break;
        case 'e':
            exposure_min = parse_share("--exposure-min", optarg);
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            puts("usage: bannercmp --truth truth.json [--banner-min R] [--identify-min R]\n"
                 "                 [--identify-all] [--exposure-min R] [--verbose] "
                 "RESULTS.jsonl...");
            return 0;
        default:
            die("bad usage (try: bannercmp --help)", NULL);
        }
    }
    if (!truth_path || optind >= argc)
        die("give --truth FILE and at least one results file", NULL);

    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr);
    if (!truth)
        die("cannot read the truth: ", jerr.text);
    json_t *devices = json_object_get(truth, "devices"), *d, *s;
    size_t ndev = json_array_size(devices), nsvc = 0, i, j;
    struct dev *dev = calloc(ndev + 1, sizeof *dev);
    json_array_foreach(devices, i, d) nsvc += json_array_size(json_object_get(d, "services"));
    struct svc *svc = calloc(nsvc + 1, sizeof *svc);
    if (!dev || !svc)
        die("out of memory", NULL);
    nsvc = 0;
    json_array_foreach(devices, i, d)
    {
        struct in_addr a;
        const char *addr = json_string_value(json_object_get(d, "address"));
        if (!addr || inet_pton(AF_INET, addr, &a) != 1)
            die("a device without an address in the truth", NULL);
        dev[i].type = json_string_value(json_object_get(d, "type"));
        dev[i].vendor = json_string_value(json_object_get(d, "vendor"));
        dev[i].device = json_string_value(json_object_get(d, "device"));
        dev[i].hostile = same(json_string_value(json_object_get(d, "kind")), "hostile");
        dev[i].generic = same(dev[i].vendor, "Generic");
        if (!dev[i].type)
            die("a device without a type in the truth (an old truth format?)", NULL);
        json_array_foreach(json_object_get(d, "services"), j, s)
        {
            struct svc *v = &svc[nsvc++];
            v->key = (uint64_t)ntohl(a.s_addr) << 16 |
                     (uint16_t)json_integer_value(json_object_get(s, "port"));
            v->dev = (unsigned)i;
            v->proto = json_string_value(json_object_get(s, "protocol"));
            v->exposure = json_string_value(json_object_get(s, "exposure"));
        }
    }
    qsort(svc, nsvc, sizeof *svc, by_key);

    unsigned results = 0, unknown = 0;
    for (int f = optind; f < argc; f++) {
        FILE *in = fopen(argv[f], "r");
        char *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0;
        if (!in)
            die("cannot read ", argv[f]);
        while (getline(&line, &cap, in) > 0) {
            lineno++;
            json_t *r = json_loads(line, 0, &jerr);
            if (!r) {
                fprintf(stderr, "bannercmp: %s:%u: not JSON: %s\n", argv[f], lineno, jerr.text);
                exit(2);
            }
            struct in_addr a;
            const char *ip = json_string_value(json_object_get(r, "ip"));
            if (!same(json_string_value(json_object_get(r, "state")), "open") || !ip ||
                inet_pton(AF_INET, ip, &a) != 1) {
                json_decref(r);
                continue;
            }
            results++;
            struct svc k = {.key = (uint64_t)ntohl(a.s_addr) << 16 |
                                   (uint16_t)json_integer_value(json_object_get(r, "port"))};
            struct svc *v = bsearch(&k, svc, nsvc, sizeof *svc, by_key);
            if (!v) {
                unknown++;
                json_decref(r);
                continue;
            }
            const struct dev *dv = &dev[v->dev];
            json_t *labels = json_object_get(r, "labels");
            const char *banner = json_string_value(json_object_get(r, "banner"));
            const char *vendor = json_string_value(json_object_get(labels, "vendor"));
            const char *device = json_string_value(json_object_get(labels, "device"));
            const char *exposure = json_string_value(json_object_get(labels, "exposure"));
            if (!exposure)
                exposure = json_string_value(json_object_get(r, "exposure"));
            v->seen = true;
            v->banner = banner && *banner;
            v->exposure_ok = v->exposure ? same(exposure, v->exposure) : exposure == NULL;
            bool right_vendor = dv->generic ? true : same(vendor, dv->vendor);
            if ((vendor && !dv->generic && !same(vendor, dv->vendor)) ||
                (device && !same(device, dv->device)))
                v->ident = -1;
            else if (right_vendor && same(device, dv->device))
                v->ident = 1;
            if (verbose && v->ident < 0 && !dv->hostile)
                fprintf(stderr, "  wrong: %s:%u (%s) labelled %s / %s, truth %s / %s\n", ip,
                        (unsigned)(k.key & 0xffff), dv->type, vendor ? vendor : "-",
                        device ? device : "-", dv->vendor, dv->device ? dv->device : "-");
            json_decref(r);
        }
        free(line);
        fclose(in);
    }

    /* Per device: identified when one service is right and none contradicts. */
    int *dstate = calloc(ndev + 1, sizeof *dstate); /* bit 1 seen, 2 right, 4 wrong */
    unsigned tw_svc = 0, tw_banner = 0, ex_svc = 0, ex_ok = 0, hostile_seen = 0;
    if (!dstate)
        die("out of memory", NULL);
    for (size_t n = 0; n < nsvc; n++) {
        const struct svc *v = &svc[n];
        if (!v->seen)
            continue;
        dstate[v->dev] |= 1 | (v->ident > 0 ? 2 : 0) | (v->ident < 0 ? 4 : 0);
        if (dev[v->dev].hostile) {
            hostile_seen++;
            continue;
        }
        if (same(v->proto, "telnet") || same(v->proto, "http")) {
            tw_svc++;
            tw_banner += v->banner;
        }
        ex_svc++;
        ex_ok += v->exposure_ok;
    }
    struct tstat *ts = calloc(ndev + 1, sizeof *ts);
    size_t nts = 0;
    if (!ts)
        die("out of memory", NULL);
    for (size_t n = 0; n < ndev; n++) {
        size_t t = 0;
        if (!(dstate[n] & 1))
            continue;
        while (t < nts && strcmp(ts[t].type, dev[n].type) != 0)
            t++;
        if (t == nts) {
            ts[nts].type = dev[n].type;
            ts[nts].hostile = dev[n].hostile;
            ts[nts].generic = dev[n].generic;
            nts++;
        }
        ts[t].seen++;
        ts[t].identified += (dstate[n] & 6) == 2;
    }
    unsigned types = 0, types_ok = 0;
    for (size_t t = 0; t < nts; t++) {
        bool ok = ts[t].identified == ts[t].seen;
        if (ts[t].hostile) {
            printf("bannercmp: type %-22s hostile, %u devices reached\n", ts[t].type, ts[t].seen);
            continue;
        }
        types++;
        types_ok += ok;
        printf("bannercmp: type %-22s %s %u of %u devices identified%s\n", ts[t].type,
               ok ? "ok  " : "MISS", ts[t].identified, ts[t].seen,
               ts[t].generic ? " (generic: device only)" : "");
    }
    double bshare = share(tw_banner, tw_svc), ishare = share(types_ok, types),
           eshare = share(ex_ok, ex_svc);
    printf("bannercmp: %u open results, %u not a service of the truth; %u hostile services "
           "reached\n",
           results, unknown, hostile_seen);
    printf("bannercmp: banners %u of %u telnet/HTTP services (%.4f)\n", tw_banner, tw_svc, bshare);
    printf("bannercmp: identified %u of %u device types (%.4f)\n", types_ok, types, ishare);
    printf("bannercmp: exposure agrees on %u of %u services (%.4f)\n", ex_ok, ex_svc, eshare);
    bool ok = bshare >= banner_min && ishare >= identify_min && eshare >= exposure_min &&
              (!identify_all || types_ok == types);
    free(ts);
    free(dstate);
    free(svc);
    free(dev);
    json_decref(truth);
    return ok ? 0 : 1;
}
