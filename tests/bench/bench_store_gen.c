/* bench_store_gen.c: the data of the store benchmark (bench_store.sh;
 * docs/performance.md, "Store"): a simulated week of hourly scans of a /8,
 * written into a vantage store as the coordinator's ingest writes it, and
 * the same records as CSV for sqlite3, plus a prefix2as file of the space.
 *
 * The world: devices in 10.0.0.0/8, each with a home /16 (its ISP), an
 * address, a kind and vendor, a TTL and its ports: 23 and 80, each open or
 * closed (an RST). 30% of the devices answer on port 80 with a banner that
 * carries their serial number (hw.serial, a device identity; 2% of those
 * show a firmware's default serial, shared by many); other open ports show
 * one of a few firmware banners shared by thousands, or nothing. Each hour
 * (window) every device is up with probability 0.8, and 2% of them take a
 * new address first (85% within their /16, else in another, which becomes
 * their home): the churn that makes addresses and devices differ. Every up
 * device yields one result per port it has, at a time within the first 30
 * minutes of its window, from one of 4 vantages (isp-0 … isp-3) by address.
 *
 * The store is written as `vantage serve`'s ingest writes it, by ingest's
 * own vt_ingest_result (one obs merge per result, the banner record once by
 * content behind a cache of the ids written lately as ingest keeps one, a
 * device put per identity):
 * each vantage's results of a window, in random (scan) order, in batches of
 * 1000 with the worker's seq and the campaign's found counts in meta,
 * unsynced, one vt_store_sync per 8 batches; then obs is compacted and the
 * other families flushed (what a store a week old mostly is). The CSV holds one line per record
 * (every record here has one operand: one probe from one vantage), sorted
 * by key, and one per distinct banner with its labels as columns.
 *
 * The prefix2as file has --prefixes lines over the /8: 16 /12s (transit),
 * 95% of the 256 /16s (ISPs, 200 ASes), then more-specifics /17–/24 (60% by
 * the /16's AS, 40% by one of 5000 customer ASes), with 0.5% multi-origin
 * (A_B) and 0.1% AS sets (A,B) lines. pfx.csv has one line per (prefix,
 * origin).
 *
 *   bench_store_gen --db DIR --csv DIR [--windows N] [--addresses N]
 *                   [--prefixes N] [--start UNIX_S] [--seed S]
 *
 * Prints one line of key=value facts (what the benchmark then asks for).
 * Exit 1 when it cannot write, 2 for bad usage. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord.h"
#include "store.h"
#include "vantage.pb-c.h"

#define SPACE_BASE 0x0A000000u /* 10.0.0.0/8 */
#define SPACE_SIZE (1u << 24)
#define WINDOW_S   3600
#define SITES      4
#define BATCH      1000
#define SYNC_EVERY 8
#define CAMPAIGN   "iot"

#define UP_P         0.8  /* a device is up in a window */
#define MOVE_P       0.02 /* it takes a new address before the window */
#define MOVE_HOME_P  0.85 /* ... within its /16 */
#define SERIAL_P     0.30 /* it shows its serial on port 80 */
#define DEFAULT_P    0.02 /* ... the firmware's default one */
#define FIRMWARE_FWS 32   /* firmware banners per kind, port 80 */
#define TELNET_FWS   8    /* and port 23 */

static const struct kind {
    const char *device, *vendor, *product, *server;
} kinds[] = {
    {"IP Camera", "Hikvision", "DS-2CD2042WD", "App-webs"},
    {"DVR", "Dahua", "XVR5108HS", "DNVRS-Webs"},
    {"Router", "MikroTik", "hAP ac2", "MikroTik-HTTP"},
    {"Router", "TP-Link", "Archer C7", "TP-LINK HTTPD"},
    {"NVR", "Uniview", "NVR301-08", "nginx"},
    {"ONT", "Huawei", "HG8245H", "HuaweiHomeGateway"},
    {"DSL Modem", "ZTE", "ZXHN H108N", "Mini web server"},
    {"Printer", "HP", "LaserJet M404", "HP HTTP Server"},
};
#define NKINDS (sizeof kinds / sizeof *kinds)

enum { HAS80 = 1, HAS23 = 2, OPEN80 = 4, OPEN23 = 8 };
enum { B_NONE, B_FIRMWARE, B_SERIAL, B_DEFAULT };

struct device {
    uint32_t ip; /* offset in the space */
    uint32_t serial;
    uint8_t home; /* its /16 */
    uint8_t kind, ttl, ports, banner80, fw80, fw23;
};

struct result {
    uint32_t ip; /* offset in the space */
    uint32_t dev;
    uint32_t ts_off; /* ms after the window's start */
    uint16_t port;
    uint8_t site;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_store_gen: %s\n", what);
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- addresses in use ---- */

static uint8_t *used; /* a bit per address of the space */

static bool is_used(uint32_t a)
{
    return used[a >> 3] >> (a & 7) & 1;
}

static void set_used(uint32_t a, bool on)
{
    if (on)
        used[a >> 3] |= (uint8_t)(1u << (a & 7));
    else
        used[a >> 3] &= (uint8_t) ~(1u << (a & 7));
}

/* A free address in /16 home (the .0 and .255 of each /24 left out). */
static uint32_t free_address(uint8_t home)
{
    for (;;) {
        uint32_t a = (uint32_t)home << 16 | (uint32_t)(rnd() & 0xffff);
        if ((a & 0xff) == 0 || (a & 0xff) == 0xff || is_used(a))
            continue;
        set_used(a, true);
        return a;
    }
}

/* ---- what a device says ---- */

struct said {
    char text[256], title[128], serial[32];
    const char *proto;
    Vantage__Label lab[5], *labp[5];
    Vantage__BannerPart part[2], *partp[2];
    size_t nlab, npart;
    const char *exposure;
};

static void label(struct said *s, const char *key, const char *value)
{
    vantage__label__init(&s->lab[s->nlab]);
    s->lab[s->nlab].key = (char *)key;
    s->lab[s->nlab].value = (char *)value;
    s->labp[s->nlab] = &s->lab[s->nlab];
    s->nlab++;
}

static void part(struct said *s, const char *matches, const char *text)
{
    vantage__banner_part__init(&s->part[s->npart]);
    s->part[s->npart].matches = (char *)matches;
    s->part[s->npart].text.data = (uint8_t *)text;
    s->part[s->npart].text.len = strlen(text);
    s->partp[s->npart] = &s->part[s->npart];
    s->npart++;
}

/* The banner of device d on port, as a worker with --banners reports it;
 * false when that port shows none (closed, or a grab that read nothing). */
static bool banner_of(const struct device *d, uint16_t port, struct said *s)
{
    const struct kind *k = &kinds[d->kind];
    memset(s, 0, sizeof *s);
    if (port == 23) {
        if (!(d->ports & OPEN23))
            return false;
        s->proto = "telnet";
        snprintf(s->text, sizeof s->text, "%s %s (fw %u.%u)\r\n\r\nlogin: ", k->vendor, k->product,
                 3 + d->fw23 / 4, d->fw23 % 4);
        part(s, "telnet.banner", s->text);
        label(s, "vendor", k->vendor);
        label(s, "device", k->device);
        label(s, "exposure", "telnet-login");
        s->exposure = "telnet-login";
        return true;
    }
    if (!(d->ports & OPEN80) || d->banner80 == B_NONE)
        return false;
    s->proto = "http";
    if (d->banner80 == B_FIRMWARE) {
        snprintf(s->title, sizeof s->title, "%s", k->product);
        snprintf(s->text, sizeof s->text,
                 "HTTP/1.1 200 OK\r\nServer: %s/%u.%u\r\nContent-Type: "
                 "text/html\r\n\r\n<title>%s</title>",
                 k->server, 1 + d->fw80 / 8, d->fw80 % 8, s->title);
    } else {
        if (d->banner80 == B_DEFAULT)
            snprintf(s->serial, sizeof s->serial, "%.2s0000000000", k->vendor);
        else
            snprintf(s->serial, sizeof s->serial, "%.2s%010" PRIu32, k->vendor, d->serial);
        snprintf(s->title, sizeof s->title, "%s SN:%s", k->product, s->serial);
        snprintf(
            s->text, sizeof s->text,
            "HTTP/1.1 200 OK\r\nServer: %s\r\nContent-Type: text/html\r\n\r\n<title>%s</title>",
            k->server, s->title);
    }
    part(s, "http_header.server", k->server);
    part(s, "html_title", s->title);
    label(s, "vendor", k->vendor);
    label(s, "device", k->device);
    label(s, "product", k->product);
    if (s->serial[0])
        label(s, "hw.serial", s->serial);
    return true;
}

/* ---- banner ids → small integers (sqlite's banner table) ---- */

#define BMAP_BITS 20
static struct bslot {
    uint8_t id[VT_BANNER_ID_LEN];
    uint32_t n; /* 0: empty */
} * bmap;
static uint32_t nbanners;

/* The number of banner id, and whether it is new (*fresh). */
static uint32_t banner_number(const uint8_t id[VT_BANNER_ID_LEN], bool *fresh)
{
    uint32_t h;
    memcpy(&h, id, sizeof h);
    for (size_t i = h & ((1u << BMAP_BITS) - 1);; i = (i + 1) & ((1u << BMAP_BITS) - 1)) {
        if (!bmap[i].n) {
            if (nbanners + 1 >= (1u << BMAP_BITS) / 2)
                die("too many distinct banners");
            memcpy(bmap[i].id, id, VT_BANNER_ID_LEN);
            bmap[i].n = ++nbanners;
            *fresh = true;
            return bmap[i].n;
        }
        if (!memcmp(bmap[i].id, id, VT_BANNER_ID_LEN)) {
            *fresh = false;
            return bmap[i].n;
        }
    }
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv(FILE *f, const char *s, bool last)
{
    if (s && strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else if (s) {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* ---- the store ---- */

/* The banner ids written lately: ingest's cache (65,536 slots, direct-mapped). */
#define SEEN_SLOTS 65536
struct seen {
    uint8_t (*slot)[VT_BANNER_ID_LEN];
};

/* vt_ingest_result's question, answered as ingest does; the id counts as
 * written from now on (ingest marks it after the write, which here never
 * fails without ending the run). */
static bool seen_before(void *arg, const uint8_t *id)
{
    struct seen *c = arg;
    uint32_t h;
    memcpy(&h, id, sizeof h);
    uint8_t *s = c->slot[h % SEEN_SLOTS];
    if (!memcmp(s, id, VT_BANNER_ID_LEN))
        return true;
    memcpy(s, id, VT_BANNER_ID_LEN);
    return false;
}

struct writer {
    struct vt_store *s;
    struct vt_batch *b[SITES];
    size_t nres[SITES];
    uint64_t seq[SITES], writes, found[2], device_puts;
    struct seen seen;
    char site[SITES][16];
};

static void flush_batch(struct writer *w, int site)
{
    char key[32], err[512];
    if (!w->nres[site])
        return;
    snprintf(key, sizeof key, "found/%s", CAMPAIGN);
    vt_batch_meta_put(w->b[site], key, w->found, sizeof w->found);
    snprintf(key, sizeof key, "seq/%s", w->site[site]);
    w->seq[site]++;
    vt_batch_meta_put(w->b[site], key, &w->seq[site], sizeof w->seq[site]);
    if (vt_store_write(w->s, w->b[site], false, err, sizeof err) != 0)
        die(err);
    vt_batch_clear(w->b[site]);
    w->nres[site] = 0;
    if (++w->writes % SYNC_EVERY == 0 && vt_store_sync(w->s) != 0)
        die(vt_store_errmsg(w->s));
}

static void ingest(struct writer *w, const struct device *dev, const struct result *r,
                   uint32_t window, uint64_t window_ms)
{
    const struct device *d = &dev[r->dev];
    Vantage__Result res = VANTAGE__RESULT__INIT;
    struct said s;
    res.ip = SPACE_BASE + r->ip;
    res.port = r->port;
    res.open = r->port == 80 ? (d->ports & OPEN80) != 0 : (d->ports & OPEN23) != 0;
    res.has_ttl = true;
    res.ttl = d->ttl;
    res.ts_ms = window_ms + r->ts_off;
    if (banner_of(d, r->port, &s)) {
        res.proto = (char *)s.proto;
        res.has_banner = true;
        res.banner.data = (uint8_t *)s.text;
        res.banner.len = strlen(s.text);
        res.n_labels = s.nlab;
        res.labels = s.labp;
        res.n_parts = s.npart;
        res.parts = s.partp;
        res.grab = (char *)"ok";
    }
    uint8_t id[VT_BANNER_ID_LEN];
    bool has_banner;
    if (vt_ingest_result(w->b[r->site], &res, window, w->site[r->site], (char *)CAMPAIGN,
                         seen_before, &w->seen, id, &has_banner) != 0)
        die("out of memory");
    w->device_puts += s.serial[0] && res.open;
    w->found[res.open ? 0 : 1]++;
    if (++w->nres[r->site] == BATCH)
        flush_batch(w, r->site);
}

/* ---- the CSV ---- */

static void csv_record(FILE *obs, FILE *ban, const struct device *dev, const struct result *r,
                       uint32_t window, uint64_t window_ms)
{
    const struct device *d = &dev[r->dev];
    struct said s;
    bool open = r->port == 80 ? (d->ports & OPEN80) != 0 : (d->ports & OPEN23) != 0;
    char bnum[16] = "0"; /* 0: no banner (ids start at 1) */
    if (banner_of(d, r->port, &s)) {
        uint8_t id[VT_BANNER_ID_LEN];
        bool fresh;
        vt_banner_id(s.proto, s.text, strlen(s.text), s.partp, s.npart, id);
        uint32_t n = banner_number(id, &fresh);
        snprintf(bnum, sizeof bnum, "%" PRIu32, n);
        if (fresh) {
            const struct kind *k = &kinds[d->kind];
            fprintf(ban, "%" PRIu32 ",%s,", n, s.proto);
            csv(ban, s.text, false);
            csv(ban, k->vendor, false);
            csv(ban, k->device, false);
            csv(ban, r->port == 80 ? k->product : "", false);
            csv(ban, s.serial, false);
            csv(ban, s.exposure ? s.exposure : "", true);
        }
    }
    uint64_t ts = window_ms + r->ts_off;
    fprintf(obs,
            "%" PRIu32 ",%" PRIu32 ",%u,%d,%u,%" PRIu64 ",%" PRIu64 ",isp-%u," CAMPAIGN ",%s\n",
            window, SPACE_BASE + r->ip, r->port, open, d->ttl, ts, ts, r->site, bnum);
}

static int cmp_result(const void *a, const void *b)
{
    const struct result *x = a, *y = b;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return (x->port > y->port) - (x->port < y->port);
}

/* ---- prefix2as ---- */

#define PSET_BITS 19
static uint64_t *pset; /* len << 32 | net, +1; 0 empty */

static bool pset_add(uint32_t net, unsigned len)
{
    uint64_t v = ((uint64_t)len << 32 | net) + 1, h = v * 0x9e3779b97f4a7c15ull;
    for (size_t i = h >> (64 - PSET_BITS);; i = (i + 1) & ((1u << PSET_BITS) - 1)) {
        if (!pset[i]) {
            pset[i] = v;
            return true;
        }
        if (pset[i] == v)
            return false;
    }
}

static void pfx_line(FILE *txt, FILE *tab, uint32_t net, unsigned len, const uint32_t *asn,
                     size_t nasn, char sep)
{
    fprintf(txt, "%u.%u.%u.%u\t%u\t", net >> 24, net >> 16 & 255, net >> 8 & 255, net & 255, len);
    for (size_t i = 0; i < nasn; i++) {
        fprintf(txt, "%s%" PRIu32, i ? (sep == '_' ? "_" : ",") : "", asn[i]);
        fprintf(tab, "%" PRIu32 ",%u,%" PRIu32 "\n", net, len, asn[i]);
    }
    fputc('\n', txt);
}

static size_t make_pfx2as(const char *txt_path, const char *csv_path, size_t want)
{
    FILE *txt = fopen(txt_path, "w"), *tab = fopen(csv_path, "w");
    if (!txt || !tab)
        die("cannot write the prefix2as files");
    pset = xcalloc((size_t)1 << PSET_BITS, sizeof *pset);
    if (want > (1u << PSET_BITS) / 2)
        die("--prefixes: too many");
    uint32_t isp[256];
    bool announced[256];
    size_t n = 0;
    for (unsigned i = 0; i < 16 && n < want; i++, n++) {
        uint32_t a = 3000 + i, net = SPACE_BASE | i << 20;
        pset_add(net, 12);
        pfx_line(txt, tab, net, 12, &a, 1, '_');
    }
    for (unsigned i = 0; i < 256; i++) {
        isp[i] = 10000 + (uint32_t)(rnd() % 200);
        announced[i] = unif() >= 0.05;
        if (announced[i] && n < want) {
            uint32_t net = SPACE_BASE | i << 16;
            pset_add(net, 16);
            pfx_line(txt, tab, net, 16, &isp[i], 1, '_');
            n++;
        }
    }
    static const struct {
        unsigned len;
        double p;
    } lens[] = {{24, 0.70}, {23, 0.08}, {22, 0.08}, {21, 0.05},
                {20, 0.04}, {19, 0.02}, {18, 0.02}, {17, 0.01}};
    while (n < want) {
        double u = unif(), acc = 0;
        unsigned len = 24;
        for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
            if (u < (acc += lens[i].p)) {
                len = lens[i].len;
                break;
            }
        uint32_t net = (SPACE_BASE | (uint32_t)(rnd() & 0xffffff)) & ~((1u << (32 - len)) - 1);
        if (!pset_add(net, len))
            continue;
        unsigned s16 = net >> 16 & 255;
        uint32_t asn[2];
        asn[0] = unif() < 0.6 ? isp[s16] : 20000 + (uint32_t)(rnd() % 5000);
        double m = unif();
        size_t nasn = 1;
        char sep = '_';
        if (m < 0.006) {
            asn[1] = 20000 + (uint32_t)(rnd() % 5000);
            nasn = asn[1] != asn[0] ? 2 : 1;
            sep = m < 0.001 ? ',' : '_';
        }
        pfx_line(txt, tab, net, len, asn, nasn, sep);
        n++;
    }
    if (fclose(txt) != 0 || fclose(tab) != 0)
        die("cannot write the prefix2as files");
    free(pset);
    return n;
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_store_gen --db DIR --csv DIR [--windows N] [--addresses N]\n"
               "                       [--prefixes N] [--start UNIX_S] [--seed S]\n"
               "  --windows N     hourly windows (default 168: a week)\n"
               "  --addresses N   addresses with a record per window, about (default 60000)\n"
               "  --prefixes N    lines of the prefix2as file (default 100000)\n"
               "  --start UNIX_S  start of the first window (default 1795392000,\n"
               "                  2026-11-23T00:00:00Z)\n"
               "  writes DIR/obs.csv, DIR/banner.csv, DIR/pfx.csv and DIR/pfx2as\n");
}

static unsigned long long number(const char *opt, const char *arg, unsigned long long min,
                                 unsigned long long max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "bench_store_gen: --%s %s: give a number %llu-%llu\n", opt, arg, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"csv", required_argument, NULL, 'c'},
                                         {"windows", required_argument, NULL, 'w'},
                                         {"addresses", required_argument, NULL, 'a'},
                                         {"prefixes", required_argument, NULL, 'p'},
                                         {"start", required_argument, NULL, 't'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *csvdir = NULL;
    unsigned long long windows = 168, addresses = 60000, prefixes = 100000, start = 1795392000,
                       seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'c':
            csvdir = optarg;
            break;
        case 'w':
            windows = number("windows", optarg, 1, 10000);
            break;
        case 'a':
            addresses = number("addresses", optarg, 100, 4000000);
            break;
        case 'p':
            prefixes = number("prefixes", optarg, 272, 200000);
            break;
        case 't':
            start = number("start", optarg, 1000000000, 4000000000);
            break;
        case 's':
            seed = number("seed", optarg, 1, UINT64_MAX);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!db || !csvdir || optind != argc) {
        usage(stderr);
        return 2;
    }
    start -= start % WINDOW_S;
    rng_state = seed * 0x2545f4914f6cdd1dull;

    char path[4096];
    snprintf(path, sizeof path, "%s/pfx2as", csvdir);
    char tab[4096];
    snprintf(tab, sizeof tab, "%s/pfx.csv", csvdir);
    double t = now_s();
    size_t nprefixes = make_pfx2as(path, tab, prefixes);
    double pfx_s = now_s() - t;

    /* The devices. */
    size_t ndev = (size_t)((double)addresses / UP_P + 0.5);
    struct device *dev = xcalloc(ndev, sizeof *dev);
    used = xcalloc(SPACE_SIZE / 8, 1);
    uint64_t serials = 0;
    for (size_t i = 0; i < ndev; i++) {
        struct device *d = &dev[i];
        d->home = (uint8_t)(rnd() & 255);
        d->ip = free_address(d->home);
        d->kind = (uint8_t)(rnd() % NKINDS);
        d->ttl = (uint8_t)(64 - 4 - rnd() % 16);
        d->fw80 = (uint8_t)(rnd() % FIRMWARE_FWS);
        d->fw23 = (uint8_t)(rnd() % TELNET_FWS);
        if (unif() < SERIAL_P) {
            d->ports = HAS80 | OPEN80;
            d->banner80 = unif() < DEFAULT_P ? B_DEFAULT : B_SERIAL;
            d->serial = (uint32_t)(++serials * 7919u + 100000u);
        } else if (unif() < 0.86) {
            d->ports = HAS80;
            if (unif() < 0.5) {
                d->ports |= OPEN80;
                d->banner80 = unif() < 0.6 ? B_FIRMWARE : B_NONE;
            }
        }
        if (unif() < 0.2 || !(d->ports & HAS80)) {
            d->ports |= HAS23;
            if (unif() < 0.5)
                d->ports |= OPEN23;
        }
    }

    char err[512];
    struct writer w = {.seen.slot = xcalloc(SEEN_SLOTS, VT_BANNER_ID_LEN)};
    if (!(w.s = vt_store_open(db, err, sizeof err)))
        die(err);
    if (vt_store_set_window(w.s, WINDOW_S) != 0)
        die(vt_store_errmsg(w.s));
    for (int i = 0; i < SITES; i++) {
        snprintf(w.site[i], sizeof w.site[i], "isp-%d", i);
        if (!(w.b[i] = vt_batch_new()))
            die("out of memory");
    }
    bmap = xcalloc((size_t)1 << BMAP_BITS, sizeof *bmap);
    snprintf(path, sizeof path, "%s/obs.csv", csvdir);
    FILE *obs = fopen(path, "w");
    snprintf(path, sizeof path, "%s/banner.csv", csvdir);
    FILE *ban = fopen(path, "w");
    if (!obs || !ban)
        die("cannot write the CSV files");

    struct result *res = xcalloc(2 * ndev, sizeof *res);
    uint64_t records = 0, host_windows = 0;
    double gen_s = 0, store_s = 0, csv_s = 0;
    uint32_t w0 = (uint32_t)(start / WINDOW_S);
    for (uint32_t k = 0; k < windows; k++) {
        t = now_s();
        size_t n = 0;
        for (size_t i = 0; i < ndev; i++) {
            struct device *d = &dev[i];
            if (k > 0 && unif() < MOVE_P) {
                set_used(d->ip, false);
                if (unif() >= MOVE_HOME_P)
                    d->home = (uint8_t)(rnd() & 255);
                d->ip = free_address(d->home);
            }
            if (unif() >= UP_P)
                continue;
            host_windows += (d->ports & (OPEN80 | OPEN23)) != 0;
            uint8_t site = (uint8_t)((d->ip * 2654435761u) >> 30);
            for (int p = 0; p < 2; p++)
                if (d->ports & (p ? HAS23 : HAS80))
                    res[n++] = (struct result){d->ip, (uint32_t)i, (uint32_t)(rnd() % 1800000),
                                               p ? 23 : 80, site};
        }
        /* The scan's order: a random permutation. */
        for (size_t i = n; i > 1; i--) {
            size_t j = rnd() % i;
            struct result x = res[i - 1];
            res[i - 1] = res[j];
            res[j] = x;
        }
        gen_s += now_s() - t;

        t = now_s();
        uint64_t window_ms = (uint64_t)(w0 + k) * WINDOW_S * 1000;
        for (size_t i = 0; i < n; i++)
            ingest(&w, dev, &res[i], w0 + k, window_ms);
        for (int i = 0; i < SITES; i++)
            flush_batch(&w, i);
        store_s += now_s() - t;

        t = now_s();
        qsort(res, n, sizeof *res, cmp_result);
        for (size_t i = 0; i < n; i++)
            csv_record(obs, ban, dev, &res[i], w0 + k, window_ms);
        csv_s += now_s() - t;
        records += n;
    }
    t = now_s();
    if (vt_store_sync(w.s) != 0)
        die(vt_store_errmsg(w.s));
    store_s += now_s() - t;
    if (fclose(obs) != 0 || fclose(ban) != 0)
        die("cannot write the CSV files");
    t = now_s();
    if (vt_store_compact(w.s, err, sizeof err) != 0)
        die(err);
    double compact_s;
    for (int i = 0; i < SITES; i++)
        vt_batch_free(w.b[i]);
    vt_store_close(w.s);
    /* banner, device and meta are still in their memtables (in the WAL):
     * opening the store again replays the WAL and flushes them to files,
     * so the daemon starts on a settled store, not on a 1 GB replay. */
    if (!(w.s = vt_store_open(db, err, sizeof err)))
        die(err);
    vt_store_close(w.s);
    compact_s = now_s() - t;

    /* What the benchmark asks: the week, and one /16 in its middle window. */
    uint32_t mid = w0 + (uint32_t)windows / 2;
    unsigned b16 = dev[0].home;
    printf("bench_store_gen records=%" PRIu64 " host_windows=%" PRIu64 " devices=%zu "
           "serial_devices=%" PRIu64 " banners=%" PRIu32 " device_puts=%" PRIu64
           " prefixes=%zu windows=%llu first_window=%" PRIu32 " last_window=%" PRIu32
           " since_s=%" PRIu64 " until_s=%" PRIu64 " query_prefix=10.%u.0.0/16 query_s=%" PRIu64
           " query_window=%" PRIu32 " query_lo=%" PRIu32 " query_hi=%" PRIu32 " batches=%" PRIu64
           " gen_s=%.2f store_s=%.2f compact_s=%.2f csv_s=%.2f pfx_s=%.2f\n",
           records, host_windows, ndev, serials, nbanners, w.device_puts, nprefixes, windows, w0,
           w0 + (uint32_t)windows - 1, (uint64_t)w0 * WINDOW_S,
           (uint64_t)(w0 + windows) * WINDOW_S - 1, b16, (uint64_t)mid * WINDOW_S + 1800, mid,
           SPACE_BASE | b16 << 16, SPACE_BASE | b16 << 16 | 0xffff, w.writes, gen_s, store_s,
           compact_s, csv_s, pfx_s);
    free(res);
    free(dev);
    free(used);
    free(bmap);
    free(w.seen.slot);
    return 0;
}
