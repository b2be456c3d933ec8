/* truthcmp.c: measures scan results against the lab's ground truth.
 *
 *   truthcmp --truth truth.json [--vantage V] [--ports LIST] [--exact]
 *            [--min-recall R] [--min-precision P]
 *            [--sites SITE=V,... [--min-all-sites F]] RESULTS.jsonl...
 *
 * The expected set is every (address, port) the truth calls open or closed,
 * restricted to --ports, minus the networks the truth blocks for vantage V (a
 * vantage cannot see them). Every result line ({"ip","port","state",...}) of
 * every file is matched against it: a result is correct when the truth has the
 * pair in the same state. Prints one line of counts, recall and precision (and
 * a few examples of what is missing or extra), and exits 1 when the results
 * fall short of the thresholds, when a pair is reported twice, or — with
 * --exact — on any difference at all. Exit 2 for bad usage or unreadable input.
 *
 * With --sites (results from the store, which carry "vantages": the sites that
 * saw each record), every listed site must be one that could see the address
 * (its vantage is not blocked there) — else exit 1 — and at least a share F
 * of the records must list every site that could see them (the rest missed
 * it to loss). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports.h"
#include "targets.h"

#define MAX_SITES 16

enum { ST_NONE = 0, ST_OPEN = 1, ST_CLOSED = 2, SEEN = 4 };

/* Open-addressing map (address, port) → state bits. */
struct pairmap {
    uint64_t *key; /* addr << 16 | port, plus 1; 0 = empty */
    uint8_t *val;
    size_t mask;
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 31;
    k *= 0x9e3779b97f4a7c15ull;
    return k ^ (k >> 29);
}

static uint8_t *pm_slot(struct pairmap *m, uint32_t addr, uint16_t port, bool add)
{
    uint64_t k = ((uint64_t)addr << 16 | port) + 1;
    for (size_t i = mix(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->key[i] == k)
            return &m->val[i];
        if (m->key[i] == 0) {
            if (!add)
                return NULL;
            m->key[i] = k;
            return &m->val[i];
        }
    }
}

__attribute__((noreturn)) static void die(int code, const char *fmt, const char *arg)
{
    fprintf(stderr, "truthcmp: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(code);
}

static uint32_t ip_of(json_t *v, const char *what)
{
    uint32_t ip;
    if (!json_is_string(v) || vt_ip_parse(json_string_value(v), &ip) != 0)
        die(2, "bad address in %s", what);
    return ip;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"truth", required_argument, NULL, 't'},
        {"vantage", required_argument, NULL, 'v'},
        {"ports", required_argument, NULL, 'p'},
        {"min-recall", required_argument, NULL, 'r'},
        {"min-precision", required_argument, NULL, 'P'},
        {"exact", no_argument, NULL, 'x'},
        {"sites", required_argument, NULL, 's'},
        {"min-all-sites", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    const char *truth_path = NULL, *ports_arg = NULL;
    long vantage = 0;
    double min_recall = 0, min_precision = 0, min_all_sites = 0;
    const char *sites_arg = NULL;
    bool exact = false;
    int c;
    while ((c = getopt_long(argc, argv, "t:v:p:r:P:xs:a:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            truth_path = optarg;
            break;
        case 'v':
            vantage = strtol(optarg, NULL, 10);
            break;
        case 'p':
            ports_arg = optarg;
            break;
        case 'r':
            min_recall = strtod(optarg, NULL);
            break;
        case 'P':
            min_precision = strtod(optarg, NULL);
            break;
        case 'x':
            exact = true;
            break;
        case 's':
            sites_arg = optarg;
            break;
        case 'a':
            min_all_sites = strtod(optarg, NULL);
            break;
        default:
            die(2, "%s",
                "usage: truthcmp --truth FILE [--vantage V] [--ports LIST] [--exact] "
                "[--min-recall R] [--min-precision P] RESULTS...");
        }
    }
    if (!truth_path || optind >= argc)
        die(2, "%s", "need --truth FILE and at least one results file");

    struct vt_ports ports = {0};
    char err[256];
    if (ports_arg && vt_ports_parse(&ports, ports_arg, err, sizeof err) != 0)
        die(2, "--ports: %s", err);

    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr);
    if (!truth)
        die(2, "cannot read the truth: %s", jerr.text);

    /* Networks this vantage cannot see; and, for --sites, each vantage's. */
    struct vt_targets blocked, vblocked[MAX_SITES + 1];
    vt_targets_init(&blocked);
    for (int v = 0; v <= MAX_SITES; v++)
        vt_targets_init(&vblocked[v]);
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(truth, "blocked"), i, b)
    {
        json_int_t v = json_integer_value(json_object_get(b, "vantage"));
        const char *net = json_string_value(json_object_get(b, "network"));
        if ((v == vantage && vt_targets_parse(&blocked, net, err, sizeof err) != 0) ||
            (v >= 1 && v <= MAX_SITES && vt_targets_parse(&vblocked[v], net, err, sizeof err) != 0))
            die(2, "bad blocked network in the truth: %s", err);
    }
    /* --sites SITE=V,...: which vantage each site label stands for. */
    char site_name[MAX_SITES][65];
    int site_v[MAX_SITES], nsites = 0;
    if (sites_arg) {
        char *copy = strdup(sites_arg), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq || nsites == MAX_SITES || eq - tok > 64)
                die(2, "bad --sites element '%s': give SITE=V", tok);
            *eq = '\0';
            snprintf(site_name[nsites], sizeof site_name[0], "%s", tok);
            site_v[nsites] = atoi(eq + 1);
            if (site_v[nsites] < 1 || site_v[nsites] > MAX_SITES)
                die(2, "bad vantage in --sites: %s", eq + 1);
            nsites++;
        }
        free(copy);
    }
    uint64_t bad_sites = 0, all_sites = 0, with_sites = 0;

    json_t *devices = json_object_get(truth, "devices"), *closed = json_object_get(truth, "closed");
    size_t cap = 1024;
    while (cap < 4 * (json_array_size(devices) * 8 + json_array_size(closed) + 1024))
        cap <<= 1;
    struct pairmap m = {calloc(cap, 8), calloc(cap, 1), cap - 1};
    if (!m.key || !m.val)
        die(1, "%s", "out of memory");

    uint64_t exp_open = 0, exp_closed = 0;
#define EXPECT(addr, port, st)                                                                     \
    do {                                                                                           \
        if ((!ports_arg || vt_ports_contains(&ports, (port))) &&                                   \
            !vt_targets_contains(&blocked, (addr))) {                                              \
            *pm_slot(&m, (addr), (port), true) = (st);                                             \
            (st) == ST_OPEN ? exp_open++ : exp_closed++;                                           \
        }                                                                                          \
    } while (0)
    json_t *d, *p;
    size_t j;
    json_array_foreach(devices, i, d)
    {
        uint32_t addr = ip_of(json_object_get(d, "address"), "the truth's devices");
        json_array_foreach(json_object_get(d, "open_ports"), j, p)
        {
            uint16_t port = (uint16_t)json_integer_value(p);
            EXPECT(addr, port, ST_OPEN);
        }
    }
    json_array_foreach(closed, i, d)
    {
        uint32_t addr = ip_of(json_object_get(d, "address"), "the truth's closed pairs");
        uint16_t port = (uint16_t)json_integer_value(json_object_get(d, "port"));
        EXPECT(addr, port, ST_CLOSED);
    }

    uint64_t found = 0, correct = 0, wrong_state = 0, extra = 0, dups = 0, shown = 0;
    char line[4096], ip[16];
    for (int f = optind; f < argc; f++) {
        FILE *in = fopen(argv[f], "r");
        if (!in)
            die(2, "cannot read %s", argv[f]);
        unsigned lineno = 0;
        while (fgets(line, sizeof line, in)) {
            lineno++;
            json_t *r = json_loads(line, 0, &jerr);
            if (!r) {
                fprintf(stderr, "truthcmp: %s:%u: not JSON: %s\n", argv[f], lineno, jerr.text);
                exit(1);
            }
            uint32_t addr = ip_of(json_object_get(r, "ip"), argv[f]);
            uint16_t port = (uint16_t)json_integer_value(json_object_get(r, "port"));
            const char *state = json_string_value(json_object_get(r, "state"));
            int st = state && !strcmp(state, "open")     ? ST_OPEN
                     : state && !strcmp(state, "closed") ? ST_CLOSED
                                                         : 0;
            /* A copy: the messages below come after r is freed. */
            char s[16];
            snprintf(s, sizeof s, "%s", state ? state : "?");
            if (nsites) {
                /* which sites could see addr, and which the record lists */
                unsigned could = 0, listed = 0;
                for (int k = 0; k < nsites; k++)
                    if (!vt_targets_contains(&vblocked[site_v[k]], addr))
                        could |= 1u << k;
                json_t *vs = json_object_get(r, "vantages"), *sv;
                size_t q;
                json_array_foreach(vs, q, sv)
                {
                    int k = 0;
                    while (k < nsites && strcmp(site_name[k], json_string_value(sv) ?: ""))
                        k++;
                    if (k == nsites || !(could & (1u << k))) {
                        if (bad_sites++ < 5)
                            fprintf(stderr, "  impossible site: %s:%u seen by %s\n",
                                    vt_ip_str(addr, ip), port, json_string_value(sv) ?: "?");
                    } else {
                        listed |= 1u << k;
                    }
                }
                with_sites++;
                all_sites += listed == could;
            }
            json_decref(r);
            found++;
            uint8_t *v = pm_slot(&m, addr, port, false);
            if (!v) {
                extra++;
                if (shown++ < 5)
                    fprintf(stderr, "  extra: %s:%u %s\n", vt_ip_str(addr, ip), port, s);
                continue;
            }
            if (*v & SEEN) {
                dups++;
                if (shown++ < 5)
                    fprintf(stderr, "  twice: %s:%u\n", vt_ip_str(addr, ip), port);
                continue;
            }
            *v |= SEEN;
            if ((*v & 3) == st)
                correct++;
            else {
                wrong_state++;
                if (shown++ < 5)
                    fprintf(stderr, "  wrong state: %s:%u %s\n", vt_ip_str(addr, ip), port, s);
            }
        }
        fclose(in);
    }
    uint64_t expected = exp_open + exp_closed, missing = 0;
    for (size_t k = 0; k <= m.mask; k++)
        if (m.key[k] && !(m.val[k] & SEEN)) {
            missing++;
            if (shown++ < 10) {
                uint64_t key = m.key[k] - 1;
                fprintf(stderr, "  missing: %s:%u %s\n", vt_ip_str((uint32_t)(key >> 16), ip),
                        (unsigned)(key & 0xffff), (m.val[k] & 3) == ST_OPEN ? "open" : "closed");
            }
        }
    double recall = expected ? (double)correct / expected : 1.0;
    double precision = found ? (double)correct / found : 1.0;
    printf("truthcmp: expected %" PRIu64 " (open %" PRIu64 ", closed %" PRIu64 "), found %" PRIu64
           ", correct %" PRIu64 ", wrong state %" PRIu64 ", extra %" PRIu64 ", missing %" PRIu64
           ", twice %" PRIu64 "; recall %.4f precision %.4f\n",
           expected, exp_open, exp_closed, found, correct, wrong_state, extra, missing, dups,
           recall, precision);
    if (nsites)
        printf("truthcmp: sites: %" PRIu64 " of %" PRIu64 " records list every site that could "
               "see them (%.4f), %" PRIu64 " list a site that could not\n",
               all_sites, with_sites, with_sites ? (double)all_sites / with_sites : 1.0, bad_sites);
    bool ok = dups == 0 && recall >= min_recall && precision >= min_precision;
    if (nsites)
        ok = ok && bad_sites == 0 &&
             (with_sites ? (double)all_sites / with_sites : 1.0) >= min_all_sites;
    if (exact)
        ok = ok && correct == expected && found == expected;
    json_decref(truth);
    return ok ? 0 : 1;
}
