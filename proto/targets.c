/* targets.c: sets of IPv4 addresses (see targets.h).
 *
 * Invariant of every struct vt_targets between calls: r[0..n) is sorted by
 * first, each range has first <= last, and consecutive ranges are separated by
 * at least one address that is not in the set (r[i].last + 1 < r[i+1].first).
 * Every function that changes r clears cum_ok; vt_targets_count and
 * vt_targets_nth rebuild cum when they find it stale.
 *
 * Arithmetic on range ends is done in 64 bits wherever "last + 1" may be taken,
 * because 255.255.255.255 + 1 wraps to 0 in 32 bits.
 *
 * Parsing collects ranges into a scratch list, sorts and merges it, and only
 * then unites it with the caller's set, so a failed parse leaves the set as it
 * was and a large unsorted file costs O(n log n), not O(n^2). */
#include "targets.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest token we quote whole in an error message. */
#define TOKEN_QUOTE_MAX 80
/* Longest token we try to parse; "255.255.255.255-255.255.255.255" is 31. */
#define TOKEN_MAX 64

/* An unsorted, unmerged list of ranges: the scratch space of parsing. */
struct rlist {
    struct vt_range *r;
    size_t n, cap;
};

/* Where a token came from, for error messages. */
struct origin {
    const char *path; /* NULL on the command line */
    unsigned long line;
};

void vt_targets_init(struct vt_targets *t)
{
    memset(t, 0, sizeof *t);
}

void vt_targets_free(struct vt_targets *t)
{
    free(t->r);
    free(t->cum);
    vt_targets_init(t);
}

void vt_targets_clear(struct vt_targets *t)
{
    t->n = 0;
    t->cum_ok = false;
}

static int reserve(struct vt_range **r, size_t *cap, size_t want)
{
    if (want <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < want) {
        if (ncap > SIZE_MAX / 2 / sizeof **r)
            return -1;
        ncap *= 2;
    }
    struct vt_range *nr = realloc(*r, ncap * sizeof **r);
    if (!nr)
        return -1;
    *r = nr;
    *cap = ncap;
    return 0;
}

/* True if b starts at or before the address after a ends (overlap or touch),
 * given a.first <= b.first. */
static bool touches(const struct vt_range *a, const struct vt_range *b)
{
    return (uint64_t)b->first <= (uint64_t)a->last + 1;
}

int vt_targets_add_range(struct vt_targets *t, uint32_t first, uint32_t last)
{
    assert(first <= last);
    t->cum_ok = false;

    /* lo: first range that ends at or after first - 1 (could merge with us). */
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)t->r[mid].last + 1 < first)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* end: one past the last range that starts at or before last + 1. */
    size_t end = lo;
    while (end < t->n && (uint64_t)t->r[end].first <= (uint64_t)last + 1)
        end++;

    if (end == lo) { /* nothing to merge with: insert at lo */
        if (reserve(&t->r, &t->cap, t->n + 1) < 0)
            return -1;
        memmove(&t->r[lo + 1], &t->r[lo], (t->n - lo) * sizeof *t->r);
        t->r[lo].first = first;
        t->r[lo].last = last;
        t->n++;
        return 0;
    }
    /* r[lo..end) all overlap or touch [first, last]: fold them into r[lo]. */
    if (t->r[lo].first < first)
        first = t->r[lo].first;
    if (t->r[end - 1].last > last)
        last = t->r[end - 1].last;
    t->r[lo].first = first;
    t->r[lo].last = last;
    memmove(&t->r[lo + 1], &t->r[end], (t->n - end) * sizeof *t->r);
    t->n -= end - lo - 1;
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const struct vt_range *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return 0;
}

/* Sorts l and merges overlapping and adjacent ranges in place. */
static void rlist_normalise(struct rlist *l)
{
    if (l->n == 0)
        return;
    qsort(l->r, l->n, sizeof *l->r, cmp_range);
    size_t out = 0;
    for (size_t i = 1; i < l->n; i++) {
        if (touches(&l->r[out], &l->r[i])) {
            if (l->r[i].last > l->r[out].last)
                l->r[out].last = l->r[i].last;
        } else {
            l->r[++out] = l->r[i];
        }
    }
    l->n = out + 1;
}

/* Appends [first, last] to out, merging with its tail if they touch. The caller
 * feeds ranges in ascending order of first. */
static void emit(struct vt_range *out, size_t *n, uint32_t first, uint32_t last)
{
    if (*n > 0 && (uint64_t)first <= (uint64_t)out[*n - 1].last + 1) {
        if (last > out[*n - 1].last)
            out[*n - 1].last = last;
        return;
    }
    out[*n].first = first;
    out[*n].last = last;
    (*n)++;
}

/* t = t ∪ a, a sorted and merged. */
static int unite(struct vt_targets *t, const struct vt_range *a, size_t an)
{
    if (an == 0)
        return 0;
    size_t cap = t->n + an;
    struct vt_range *out = malloc(cap * sizeof *out);
    if (!out)
        return -1;
    size_t i = 0, j = 0, n = 0;
    while (i < t->n || j < an) {
        if (j == an || (i < t->n && t->r[i].first <= a[j].first)) {
            emit(out, &n, t->r[i].first, t->r[i].last);
            i++;
        } else {
            emit(out, &n, a[j].first, a[j].last);
            j++;
        }
    }
    free(t->r);
    t->r = out;
    t->n = n;
    t->cap = cap;
    t->cum_ok = false;
    return 0;
}

int vt_targets_subtract(struct vt_targets *t, const struct vt_targets *minus)
{
    t->cum_ok = false;
    if (t->n == 0 || minus->n == 0)
        return 0;
    /* Each range of minus can split at most one range of t in two. */
    size_t cap = t->n + minus->n;
    struct vt_range *out = malloc(cap * sizeof *out);
    if (!out)
        return -1;
    size_t n = 0, j = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t cur = t->r[i].first; /* next address of r[i] not yet decided */
        uint64_t last = t->r[i].last;
        while (j < minus->n && minus->r[j].last < cur)
            j++;
        for (size_t k = j; k < minus->n && minus->r[k].first <= last; k++) {
            if (minus->r[k].first > cur)
                out[n++] = (struct vt_range){(uint32_t)cur, minus->r[k].first - 1};
            if ((uint64_t)minus->r[k].last + 1 > cur)
                cur = (uint64_t)minus->r[k].last + 1;
            if (cur > last)
                break;
        }
        if (cur <= last)
            out[n++] = (struct vt_range){(uint32_t)cur, (uint32_t)last};
        assert(n <= cap);
    }
    free(t->r);
    t->r = out;
    t->n = n;
    t->cap = cap;
    return 0;
}

int vt_targets_intersect(struct vt_targets *t, const struct vt_targets *with)
{
    t->cum_ok = false;
    /* Every output range ends where an input range ends: at most n + m of them. */
    size_t cap = t->n + with->n;
    struct vt_range *out = malloc((cap ? cap : 1) * sizeof *out);
    if (!out)
        return -1;
    size_t i = 0, j = 0, n = 0;
    while (i < t->n && j < with->n) {
        uint32_t lo = t->r[i].first > with->r[j].first ? t->r[i].first : with->r[j].first;
        uint32_t hi = t->r[i].last < with->r[j].last ? t->r[i].last : with->r[j].last;
        if (lo <= hi)
            out[n++] = (struct vt_range){lo, hi};
        if (t->r[i].last < with->r[j].last)
            i++;
        else
            j++;
    }
    assert(n <= cap || n == 0);
    free(t->r);
    t->r = out;
    t->n = n;
    t->cap = cap ? cap : 1;
    return 0;
}

bool vt_targets_contains(const struct vt_targets *t, uint32_t ip)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->r[mid].last < ip)
            lo = mid + 1;
        else if (t->r[mid].first > ip)
            hi = mid;
        else
            return true;
    }
    return false;
}

/* Rebuilds cum if stale. -1 on ENOMEM (callers then fall back to a scan). */
static int build_cum(struct vt_targets *t)
{
    if (t->cum_ok)
        return 0;
    uint64_t *c = realloc(t->cum, (t->n + 1) * sizeof *c);
    if (!c)
        return -1;
    t->cum = c;
    c[0] = 0;
    for (size_t i = 0; i < t->n; i++)
        c[i + 1] = c[i] + ((uint64_t)t->r[i].last - t->r[i].first + 1);
    t->cum_ok = true;
    return 0;
}

bool vt_targets_within(const struct vt_targets *a, const struct vt_targets *b)
{
    /* Both are sorted, disjoint and non-adjacent, so each range of a must lie
     * inside one range of b: walk both once. */
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        while (j < b->n && b->r[j].last < a->r[i].first)
            j++;
        if (j == b->n || b->r[j].first > a->r[i].first || b->r[j].last < a->r[i].last)
            return false;
    }
    return true;
}

uint64_t vt_targets_count(struct vt_targets *t)
{
    if (build_cum(t) == 0)
        return t->cum[t->n];
    uint64_t sum = 0;
    for (size_t i = 0; i < t->n; i++)
        sum += (uint64_t)t->r[i].last - t->r[i].first + 1;
    return sum;
}

uint32_t vt_targets_nth(struct vt_targets *t, uint64_t i)
{
    if (build_cum(t) < 0) { /* no memory for the index: walk */
        for (size_t k = 0; k < t->n; k++) {
            uint64_t size = (uint64_t)t->r[k].last - t->r[k].first + 1;
            if (i < size)
                return t->r[k].first + (uint32_t)i;
            i -= size;
        }
        assert(!"vt_targets_nth: index out of range");
        return 0;
    }
    assert(i < t->cum[t->n]);
    /* Largest k with cum[k] <= i; then r[k] holds the address. */
    size_t lo = 0, hi = t->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->cum[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return t->r[lo].first + (uint32_t)(i - t->cum[lo]);
}

int vt_targets_builtin_blocklist(struct vt_targets *t)
{
    /* /etc/zmap/blacklist.conf as ZMap 2.1.1 ships it (IANA special-purpose
     * registry 2013-05-22, multicast registry 2013-06-25), in its order. */
    static const struct {
        uint32_t net;
        unsigned len;
    } iana[] = {
        {0x00000000, 8},  /* 0.0.0.0/8          RFC 1122 "this network" */
        {0x0A000000, 8},  /* 10.0.0.0/8         RFC 1918 private */
        {0x64400000, 10}, /* 100.64.0.0/10      RFC 6598 shared (CGN) */
        {0x7F000000, 8},  /* 127.0.0.0/8        RFC 1122 loopback */
        {0xA9FE0000, 16}, /* 169.254.0.0/16     RFC 3927 link local */
        {0xAC100000, 12}, /* 172.16.0.0/12      RFC 1918 private */
        {0xC0000000, 24}, /* 192.0.0.0/24       RFC 6890 IETF assignments */
        {0xC0000200, 24}, /* 192.0.2.0/24       RFC 5737 TEST-NET-1 */
        {0xC0586300, 24}, /* 192.88.99.0/24     RFC 3068 6to4 relay anycast */
        {0xC0A80000, 16}, /* 192.168.0.0/16     RFC 1918 private */
        {0xC6120000, 15}, /* 198.18.0.0/15      RFC 2544 benchmarking (the lab) */
        {0xC6336400, 24}, /* 198.51.100.0/24    RFC 5737 TEST-NET-2 */
        {0xCB007100, 24}, /* 203.0.113.0/24     RFC 5737 TEST-NET-3 */
        {0xF0000000, 4},  /* 240.0.0.0/4        RFC 1112 reserved */
        {0xFFFFFFFF, 32}, /* 255.255.255.255/32 RFC 919 limited broadcast */
        {0xE0000000, 4},  /* 224.0.0.0/4        RFC 5771 multicast */
    };
    for (size_t i = 0; i < sizeof iana / sizeof iana[0]; i++) {
        uint32_t hostmask = iana[i].len == 32 ? 0 : UINT32_MAX >> iana[i].len;
        assert((iana[i].net & hostmask) == 0);
        if (vt_targets_add_range(t, iana[i].net, iana[i].net | hostmask) < 0)
            return -1;
    }
    return 0;
}

const char *vt_ip_str(uint32_t ip, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    return buf;
}

/* Parses the dotted quad s[0..len). Returns NULL and sets *ip, or a reason. */
static const char *parse_quad(const char *s, size_t len, uint32_t *ip)
{
    const char *p = s, *end = s + len;
    uint32_t v = 0;
    if (len == 0)
        return "address missing";
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (p == end)
                return "address needs four octets (like 192.0.2.1)";
            if (*p != '.')
                return "not an address, range or CIDR";
            p++;
        }
        const char *digits = p;
        unsigned val = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (p - digits >= 3)
                return "octet out of range 0-255";
            val = val * 10 + (unsigned)(*p - '0');
            p++;
        }
        if (p == digits) {
            if (p == end || *p == '.')
                return octet == 0 && p == end ? "address missing" : "empty octet";
            return "not an address, range or CIDR";
        }
        if (val > 255)
            return "octet out of range 0-255";
        if (p - digits > 1 && *digits == '0')
            return "octet with a leading zero is ambiguous (octal?); write it without";
        v = v << 8 | val;
    }
    if (p != end) {
        if (*p == '.')
            return "address has more than four octets";
        return "unexpected characters after the address";
    }
    *ip = v;
    return NULL;
}

int vt_ip_parse(const char *s, uint32_t *ip)
{
    return parse_quad(s, strlen(s), ip) ? -1 : 0;
}

static void set_err(char *err, size_t errlen, const struct origin *o, const char *tok,
                    const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    int tl = (int)strlen(tok);
    const char *dots = "";
    if (tl > TOKEN_QUOTE_MAX) {
        tl = TOKEN_QUOTE_MAX;
        dots = "...";
    }
    if (o->path)
        snprintf(err, errlen, "bad target \"%.*s%s\" in %s:%lu: %s", tl, tok, dots, o->path,
                 o->line, why);
    else
        snprintf(err, errlen, "bad target \"%.*s%s\": %s", tl, tok, dots, why);
}

static int rlist_push(struct rlist *l, uint32_t first, uint32_t last)
{
    if (reserve(&l->r, &l->cap, l->n + 1) < 0)
        return -1;
    l->r[l->n].first = first;
    l->r[l->n].last = last;
    l->n++;
    return 0;
}

static int load_file(struct rlist *l, const char *path, char *err, size_t errlen);

/* Parses one token (NUL-terminated, no separators) into l. */
static int parse_token(struct rlist *l, const char *tok, const struct origin *o, char *err,
                       size_t errlen)
{
    size_t len = strlen(tok);
    uint32_t a, b;
    const char *why;

    if (tok[0] == '@') {
        if (o->path) {
            set_err(err, errlen, o, tok, "@ not allowed inside a target file");
            return -1;
        }
        if (tok[1] == '\0') {
            set_err(err, errlen, o, tok, "file name missing after @");
            return -1;
        }
        return load_file(l, tok + 1, err, errlen);
    }
    if (len > TOKEN_MAX) {
        set_err(err, errlen, o, tok, "too long for an address, range or CIDR");
        return -1;
    }

    const char *slash = strchr(tok, '/');
    const char *dash = strchr(tok, '-');
    if (slash && dash) {
        set_err(err, errlen, o, tok, "not an address, range or CIDR");
        return -1;
    }
    if (slash) {
        if ((why = parse_quad(tok, (size_t)(slash - tok), &a))) {
            set_err(err, errlen, o, tok, "%s", why);
            return -1;
        }
        const char *p = slash + 1;
        if (*p == '\0') {
            set_err(err, errlen, o, tok, "prefix length missing after '/'");
            return -1;
        }
        unsigned plen = 0;
        for (const char *q = p; *q; q++) {
            if (*q < '0' || *q > '9' || q - p >= 2) {
                set_err(err, errlen, o, tok, "prefix length must be 0-32");
                return -1;
            }
            plen = plen * 10 + (unsigned)(*q - '0');
        }
        if (plen > 32) {
            set_err(err, errlen, o, tok, "prefix length must be 0-32");
            return -1;
        }
        uint32_t hostmask = plen == 0 ? UINT32_MAX : plen == 32 ? 0 : UINT32_MAX >> plen;
        if (a & hostmask) {
            char net[16];
            set_err(err, errlen, o, tok, "host bits set (did you mean %s/%u?)",
                    vt_ip_str(a & ~hostmask, net), plen);
            return -1;
        }
        a &= ~hostmask;
        b = a | hostmask;
    } else if (dash) {
        if ((why = parse_quad(tok, (size_t)(dash - tok), &a))) {
            set_err(err, errlen, o, tok, "range start: %s", why);
            return -1;
        }
        if (dash[1] == '\0') {
            set_err(err, errlen, o, tok, "range end missing after '-'");
            return -1;
        }
        if ((why = parse_quad(dash + 1, strlen(dash + 1), &b))) {
            set_err(err, errlen, o, tok, "range end: %s", why);
            return -1;
        }
        if (b < a) {
            set_err(err, errlen, o, tok, "range end before start");
            return -1;
        }
    } else {
        if ((why = parse_quad(tok, len, &a))) {
            set_err(err, errlen, o, tok, "%s", why);
            return -1;
        }
        b = a;
    }
    if (rlist_push(l, a, b) < 0) {
        set_err(err, errlen, o, tok, "out of memory");
        return -1;
    }
    return 0;
}

static bool is_sep(char c)
{
    return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits text on separators and parses every token. *ntok counts tokens seen. */
static int parse_text(struct rlist *l, const char *text, const struct origin *o, size_t *ntok,
                      char *err, size_t errlen)
{
    const char *p = text;
    char small[TOKEN_MAX + 2];
    for (;;) {
        while (*p && is_sep(*p))
            p++;
        if (!*p)
            return 0;
        const char *start = p;
        while (*p && !is_sep(*p))
            p++;
        size_t len = (size_t)(p - start);
        /* Tokens are short except @FILE paths; copy those to the heap. */
        char *tok = len < sizeof small ? small : malloc(len + 1);
        if (!tok) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(tok, start, len);
        tok[len] = '\0';
        (*ntok)++;
        int rc = parse_token(l, tok, o, err, errlen);
        if (tok != small)
            free(tok);
        if (rc < 0)
            return -1;
    }
}

static int load_file(struct rlist *l, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read target file \"%s\": %s", path, strerror(errno));
        return -1;
    }
    struct origin o = {path, 0};
    char *line = NULL;
    size_t cap = 0;
    size_t ntok = 0;
    int rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        o.line++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        if (parse_text(l, line, &o, &ntok, err, errlen) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "cannot read target file \"%s\": %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Merges a parsed scratch list into t, or leaves t as it was. */
static int commit(struct vt_targets *t, struct rlist *l, int rc, char *err, size_t errlen)
{
    if (rc == 0) {
        rlist_normalise(l);
        if (unite(t, l->r, l->n) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    free(l->r);
    return rc;
}

int vt_targets_parse(struct vt_targets *t, const char *spec, char *err, size_t errlen)
{
    struct rlist l = {0};
    struct origin o = {NULL, 0};
    size_t ntok = 0;
    int rc = parse_text(&l, spec ? spec : "", &o, &ntok, err, errlen);
    if (rc == 0 && ntok == 0) {
        snprintf(err, errlen, "no targets given");
        rc = -1;
    }
    return commit(t, &l, rc, err, errlen);
}

int vt_targets_load_file(struct vt_targets *t, const char *path, char *err, size_t errlen)
{
    struct rlist l = {0};
    return commit(t, &l, load_file(&l, path, err, errlen), err, errlen);
}

int vt_range_parse(const char *s, uint32_t *first, uint32_t *last, char *err, size_t errlen)
{
    if (!s || !*s || strlen(s) > 64 || strpbrk(s, ", \t\n@")) {
        snprintf(err, errlen,
                 "bad range '%s': give one CIDR (a.b.c.d/N), range (a.b.c.d-e.f.g.h) "
                 "or address",
                 s ? s : "");
        return -1;
    }
    struct vt_targets t;
    vt_targets_init(&t);
    int rc = vt_targets_parse(&t, s, err, errlen);
    if (rc == 0) {
        *first = t.r[0].first;
        *last = t.r[0].last;
    }
    vt_targets_free(&t);
    return rc;
}

const char *vt_range_format(uint32_t first, uint32_t last, char *buf, size_t len)
{
    char a[16], b[16];
    uint64_t size = (uint64_t)last - first + 1;
    /* one CIDR block: a power of two in size, aligned to it */
    if (last >= first && (size & (size - 1)) == 0 && (first & (uint32_t)(size - 1)) == 0) {
        unsigned bits = 32;
        while (size > 1) {
            size >>= 1;
            bits--;
        }
        snprintf(buf, len, "%s/%u", vt_ip_str(first, a), bits);
    } else {
        snprintf(buf, len, "%s-%s", vt_ip_str(first, a), vt_ip_str(last, b));
    }
    return buf;
}
