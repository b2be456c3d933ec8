/* pfx2as.c: the prefix-to-AS table of pfx2as.h.
 *
 * Lines become entries (prefix, length, origins) in an array, with a hash
 * index from (prefix, length) to the entry so that a prefix given again
 * replaces the earlier one (the last line wins). vt_pfx2as_build then sorts
 * the live entries by (address, length) and sweeps them once with a stack of
 * the prefixes open at that point, cutting the address space into sorted
 * disjoint intervals: interval i is [starts[i], starts[i+1]) and names its
 * most specific prefix (or none). Because two CIDR blocks are either disjoint
 * or nested, the stack is a chain of nested prefixes (at most 33 deep), and
 * n prefixes give at most 2n + 1 intervals. A lookup is one binary search
 * over the starts. */
#include "pfx2as.h"

#include "array.h"
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "targets.h"

#define NONE       UINT32_MAX
#define QUOTE_MAX  40 /* characters of a bad field quoted in a message */
#define MAX_LENGTH 32

struct entry {
    uint32_t prefix;
    uint32_t origin;  /* index of its first origin in t->origins */
    uint32_t line;    /* the line that gave it, for messages */
    uint16_t source;  /* which vt_pfx2as_load gave it (0: vt_pfx2as_add_line) */
    uint8_t len;      /* 0..32 */
    uint8_t norigins; /* 0: replaced by a later line */
};

struct vt_pfx2as {
    struct entry *e;
    size_t n, cap, live;
    uint32_t *origins; /* the entries' origins, each entry's together */
    size_t norigins, origins_cap;
    uint32_t *index;  /* hash of (prefix, len): entry number + 1, 0 = empty */
    size_t index_cap; /* a power of two, at least twice n */
    uint32_t line;    /* lines given so far (of the current load) */
    uint16_t source;  /* loads so far */
    bool built;
    /* After vt_pfx2as_build: */
    uint32_t *starts, *which; /* intervals: where each begins, its entry or NONE */
    size_t nint;
};

struct vt_pfx2as *vt_pfx2as_new(void)
{
    return calloc(1, sizeof(struct vt_pfx2as));
}

void vt_pfx2as_free(struct vt_pfx2as *t)
{
    if (!t)
        return;
    free(t->e);
    free(t->origins);
    free(t->index);
    free(t->starts);
    free(t->which);
    free(t);
}

size_t vt_pfx2as_count(const struct vt_pfx2as *t)
{
    return t->live;
}

/* ---- parsing ---- */

/* s[0..n) quoted for a message: at most QUOTE_MAX characters, anything not
 * printable ASCII as '?', "..." when cut. */
static const char *quote(const char *s, size_t n, char *buf, size_t len)
{
    size_t k = 0, max = n > QUOTE_MAX ? QUOTE_MAX : n;
    assert(len > QUOTE_MAX + 3);
    for (size_t i = 0; i < max; i++)
        buf[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n > max)
        k += (size_t)snprintf(buf + k, len - k, "...");
    buf[k] = '\0';
    return buf;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

struct parsed {
    uint32_t prefix;
    uint8_t len, norigins;
    uint32_t origins[VT_PFX2AS_MAX_ORIGINS];
};

/* The ASN field: members separated by ',' (an AS set) or '_' (multi-origin),
 * each a decimal number 0..4294967295; a repeated member is kept once. */
static int parse_asns(const char *f, size_t n, struct parsed *p, char *err, size_t errlen)
{
    char q[QUOTE_MAX + 4];
    p->norigins = 0;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        uint64_t v = 0;
        while (j < n && f[j] >= '0' && f[j] <= '9') {
            v = v * 10 + (uint64_t)(f[j] - '0');
            if (v > UINT32_MAX) {
                vt_set_err(err, errlen, "ASN in '%s' is more than 4294967295",
                           quote(f, n, q, sizeof q));
                return -1;
            }
            j++;
        }
        if (j < n && f[j] != ',' && f[j] != '_') {
            vt_set_err(err, errlen, "ASN '%s' is not a number 0-4294967295 (or N_N, N,N)",
                       quote(f, n, q, sizeof q));
            return -1;
        }
        if (j == i) {
            vt_set_err(err, errlen, "empty ASN in '%s'", quote(f, n, q, sizeof q));
            return -1;
        }
        bool seen = false;
        for (size_t k = 0; k < p->norigins; k++)
            seen |= p->origins[k] == (uint32_t)v;
        if (!seen) {
            if (p->norigins == VT_PFX2AS_MAX_ORIGINS) {
                vt_set_err(err, errlen, "more than %d origin ASNs in '%s'", VT_PFX2AS_MAX_ORIGINS,
                           quote(f, n, q, sizeof q));
                return -1;
            }
            p->origins[p->norigins++] = (uint32_t)v;
        }
        i = j + 1; /* past the separator (or the end) */
    }
    return 0;
}

/* 0 parsed, 1 comment or blank, -1 bad (err set). */
static int parse_line(const char *line, struct parsed *p, char *err, size_t errlen)
{
    const char *s = line, *end = line + strlen(line);
    char q[QUOTE_MAX + 4];
    if (end > s && end[-1] == '\n')
        end--;
    if (end > s && end[-1] == '\r')
        end--;
    while (s < end && is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    if (s == end || *s == '#')
        return 1;

    const char *field[4];
    size_t flen[4], nf = 0;
    while (s < end && nf < 4) {
        const char *b = s;
        while (s < end && !is_blank(*s))
            s++;
        field[nf] = b;
        flen[nf++] = (size_t)(s - b);
        while (s < end && is_blank(*s))
            s++;
    }

    if (memchr(field[0], ':', flen[0])) {
        vt_set_err(err, errlen, "'%s' is not IPv4 (IPv6 prefixes are not supported)",
                   quote(field[0], flen[0], q, sizeof q));
        return -1;
    }
    char addr[16] = "";
    if (flen[0] < sizeof addr) {
        memcpy(addr, field[0], flen[0]);
        addr[flen[0]] = '\0';
    }
    if (!addr[0] || vt_ip_parse(addr, &p->prefix) != 0) {
        vt_set_err(err, errlen, "bad address '%s' (want a dotted quad such as 198.18.0.0)",
                   quote(field[0], flen[0], q, sizeof q));
        return -1;
    }
    if (nf < 3) {
        vt_set_err(err, errlen, "missing the %s (want PREFIX LENGTH ASN)",
                   nf == 1 ? "prefix length and the ASN" : "ASN");
        return -1;
    }
    if (nf > 3) {
        vt_set_err(err, errlen, "junk after the ASN: '%s'",
                   quote(field[3], (size_t)(end - field[3]), q, sizeof q));
        return -1;
    }
    unsigned len = 0;
    bool digits = flen[1] >= 1 && flen[1] <= 2;
    for (size_t i = 0; digits && i < flen[1]; i++) {
        digits = field[1][i] >= '0' && field[1][i] <= '9';
        len = len * 10 + (unsigned)(field[1][i] - '0');
    }
    if (!digits || len > MAX_LENGTH) {
        vt_set_err(err, errlen, "prefix length '%s' is not 0-32",
                   quote(field[1], flen[1], q, sizeof q));
        return -1;
    }
    p->len = (uint8_t)len;
    uint32_t host = len == 32 ? 0 : UINT32_MAX >> len;
    if (p->prefix & host) {
        char a[16], net[16];
        vt_set_err(err, errlen, "host bits set in %s/%u (the network would be %s/%u)",
                   vt_ip_str(p->prefix, a), len, vt_ip_str(p->prefix & ~host, net), len);
        return -1;
    }
    return parse_asns(field[2], flen[2], p, err, errlen);
}

/* ---- the entries and their index ---- */

static size_t slot_of(uint32_t prefix, uint8_t len, size_t cap)
{
    uint64_t k = ((uint64_t)prefix << 6 | len) * 0x9e3779b97f4a7c15ull;
    return (size_t)(k >> 32) & (cap - 1);
}

/* The slot of (prefix, len) in the index: its entry's, or the empty one
 * where it would go. */
static size_t find_slot(const struct vt_pfx2as *t, uint32_t prefix, uint8_t len)
{
    size_t i = slot_of(prefix, len, t->index_cap);
    while (t->index[i]) {
        const struct entry *e = &t->e[t->index[i] - 1];
        if (e->prefix == prefix && e->len == len)
            break;
        i = (i + 1) & (t->index_cap - 1);
    }
    return i;
}

static int index_grow(struct vt_pfx2as *t)
{
    size_t cap = t->index_cap ? t->index_cap * 2 : 1024;
    uint32_t *old = t->index;
    size_t old_cap = t->index_cap;
    t->index = calloc(cap, sizeof *t->index);
    if (!t->index) {
        t->index = old;
        return -1;
    }
    t->index_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) {
            const struct entry *e = &t->e[old[i] - 1];
            t->index[find_slot(t, e->prefix, e->len)] = old[i];
        }
    free(old);
    return 0;
}

/* Adds p; *replaced is the entry it replaces, or NULL. 0, or -1 on ENOMEM. */
static int add_parsed(struct vt_pfx2as *t, const struct parsed *p, struct entry *replaced)
{
    if (t->n >= UINT32_MAX - 1 || t->norigins > UINT32_MAX - VT_PFX2AS_MAX_ORIGINS)
        return -1;
    if ((t->n + 1) * 2 > t->index_cap && index_grow(t) != 0)
        return -1;
    if (vt_grow((void **)&t->e, &t->cap, t->n + 1, sizeof *t->e) != 0 ||
        vt_grow((void **)&t->origins, &t->origins_cap, t->norigins + p->norigins,
                sizeof *t->origins) != 0)
        return -1;
    size_t slot = find_slot(t, p->prefix, p->len);
    replaced->norigins = 0;
    if (t->index[slot]) {
        struct entry *old = &t->e[t->index[slot] - 1];
        *replaced = *old;
        old->norigins = 0; /* dead: build skips it */
        t->live--;
    }
    struct entry *e = &t->e[t->n];
    *e = (struct entry){.prefix = p->prefix,
                        .origin = (uint32_t)t->norigins,
                        .line = t->line,
                        .source = t->source,
                        .len = p->len,
                        .norigins = p->norigins};
    memcpy(t->origins + t->norigins, p->origins, p->norigins * sizeof *p->origins);
    t->norigins += p->norigins;
    t->index[slot] = (uint32_t)++t->n;
    t->live++;
    return 0;
}

/* vt_pfx2as_add_line, telling the entry replaced (norigins 0 if none). */
static int add_line(struct vt_pfx2as *t, const char *line, struct entry *replaced, char *err,
                    size_t errlen)
{
    struct parsed p;
    replaced->norigins = 0;
    if (t->line < UINT32_MAX)
        t->line++;
    if (t->built) {
        vt_set_err(err, errlen, "the table is built: no more lines can be added");
        return -1;
    }
    int rc = parse_line(line, &p, err, errlen);
    if (rc != 0)
        return rc;
    if (add_parsed(t, &p, replaced) != 0) {
        vt_set_err(err, errlen, "out of memory");
        return -1;
    }
    if (replaced->norigins) {
        char a[16];
        vt_set_err(err, errlen, "replaces %s/%u of %s %u", vt_ip_str(p.prefix, a), p.len,
                   replaced->source == t->source ? "line" : "an earlier file's line",
                   replaced->line);
        return 2;
    }
    return 0;
}

int vt_pfx2as_add_line(struct vt_pfx2as *t, const char *line, char *err, size_t errlen)
{
    struct entry replaced;
    return add_line(t, line, &replaced, err, errlen);
}

long vt_pfx2as_load(struct vt_pfx2as *t, FILE *f, const char *name,
                    void (*bad)(void *arg, const char *msg), void *arg, size_t *nbad)
{
    char *buf = NULL, err[256], msg[512];
    size_t cap = 0, skipped = 0;
    long added = 0;
    ssize_t n;
    if (t->source < UINT16_MAX)
        t->source++;
    t->line = 0;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        struct entry old;
        int rc;
        if (t->line == 0 && n >= 2 && (unsigned char)buf[0] == 0x1f &&
            (unsigned char)buf[1] == 0x8b) {
            snprintf(msg, sizeof msg,
                     "%s: gzip-compressed, not text: gunzip it first (or give <(zcat %s))", name,
                     name);
            skipped++;
            if (bad)
                bad(arg, msg);
            break;
        }
        if (strlen(buf) != (size_t)n) {
            t->line++;
            rc = -1;
            vt_set_err(err, sizeof err, "holds a NUL byte (is it a text file?)");
        } else {
            rc = add_line(t, buf, &old, err, sizeof err);
        }
        if (rc == 0 || rc == 2)
            added++;
        if (rc == 2 && old.source == t->source) {
            /* The earlier line is the one skipped: say so at its number. */
            added--;
            char a[16];
            struct entry *now = &t->e[t->n - 1];
            snprintf(msg, sizeof msg,
                     "%s:%u: %s/%u is given again on line %u (skipped: the last "
                     "line wins)",
                     name, old.line, vt_ip_str(now->prefix, a), now->len, now->line);
        } else if (rc == 2) {
            snprintf(msg, sizeof msg, "%s:%u: %s (the last line wins)", name, t->line, err);
        } else if (rc == -1) {
            snprintf(msg, sizeof msg, "%s:%u: %s (skipped)", name, t->line, err);
        } else {
            continue;
        }
        skipped++;
        if (bad)
            bad(arg, msg);
    }
    int saved = errno;
    bool failed = ferror(f);
    free(buf);
    if (nbad)
        *nbad += skipped;
    if (failed) {
        errno = saved ? saved : EIO;
        return -1;
    }
    return added;
}

/* ---- the intervals ---- */

static int entry_cmp(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

/* Appends the interval [start, …) naming which: an interval left empty by it
 * is dropped, and one that names the same as the one before extends it. */
static void emit(struct vt_pfx2as *t, uint32_t start, uint32_t which)
{
    size_t n = t->nint;
    if (n && t->starts[n - 1] == start)
        n--;
    if (n && t->which[n - 1] == which) {
        t->nint = n;
        return;
    }
    t->starts[n] = start;
    t->which[n] = which;
    t->nint = n + 1;
}

int vt_pfx2as_build(struct vt_pfx2as *t)
{
    assert(!t->built);
    /* The live entries, sorted, with their origins packed in that order. */
    struct entry *e = malloc((t->live ? t->live : 1) * sizeof *e);
    uint32_t *origins = malloc((t->norigins ? t->norigins : 1) * sizeof *origins);
    t->starts = malloc((2 * t->live + 1) * sizeof *t->starts);
    t->which = malloc((2 * t->live + 1) * sizeof *t->which);
    if (!e || !origins || !t->starts || !t->which) {
        free(e);
        free(origins);
        free(t->starts);
        free(t->which);
        t->starts = t->which = NULL;
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].norigins)
            e[n++] = t->e[i];
    assert(n == t->live);
    qsort(e, n, sizeof *e, entry_cmp);
    size_t no = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(origins + no, t->origins + e[i].origin, e[i].norigins * sizeof *origins);
        e[i].origin = (uint32_t)no;
        no += e[i].norigins;
    }
    free(t->e);
    free(t->origins);
    free(t->index);
    t->e = e;
    t->n = t->cap = n;
    t->origins = origins;
    t->norigins = t->origins_cap = no;
    t->index = NULL;
    t->index_cap = 0;

    /* The sweep: stack[] holds the prefixes that contain the current point,
     * each inside the one below it. */
    uint32_t stack[MAX_LENGTH + 1];
    uint64_t last[MAX_LENGTH + 1]; /* each one's last address */
    size_t depth = 0;
    t->nint = 0;
    emit(t, 0, NONE);
    for (size_t i = 0; i < n; i++) {
        uint32_t s = e[i].prefix;
        while (depth && last[depth - 1] < s) {
            uint64_t after = last[--depth] + 1;
            emit(t, (uint32_t)after, depth ? stack[depth - 1] : NONE);
        }
        assert(depth <= MAX_LENGTH); /* nested prefixes have distinct lengths */
        emit(t, s, (uint32_t)i);
        stack[depth] = (uint32_t)i;
        last[depth++] = (uint64_t)s + (UINT64_C(1) << (32 - e[i].len)) - 1;
    }
    while (depth) {
        uint64_t after = last[--depth] + 1;
        if (after <= UINT32_MAX)
            emit(t, (uint32_t)after, depth ? stack[depth - 1] : NONE);
    }
    assert(t->nint >= 1 && t->nint <= 2 * n + 1 && t->starts[0] == 0);
    t->built = true;
    return 0;
}

bool vt_pfx2as_lookup(const struct vt_pfx2as *t, uint32_t ip, struct vt_pfx2as_match *m)
{
    assert(t->built);
    if (!t->built)
        return false;
    /* The last interval that starts at or before ip (starts[0] is 0). */
    size_t lo = 0, hi = t->nint;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->starts[mid] <= ip)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t w = t->which[lo];
    if (w == NONE)
        return false;
    const struct entry *e = &t->e[w];
    m->prefix = e->prefix;
    m->len = e->len;
    m->norigins = e->norigins;
    memcpy(m->origins, t->origins + e->origin, e->norigins * sizeof *m->origins);
    return true;
}
