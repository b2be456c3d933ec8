/* fuzz_pfx2as.c: libFuzzer target for prefix2as files (coordinator/pfx2as.c),
 * which `vantage report --pfx2as FILE` reads from wherever the operator got
 * them.
 *
 * The input is the file: it goes through vt_pfx2as_load, vt_pfx2as_build and
 * lookups. Beyond "no crash, no leak", it checks what pfx2as.h promises:
 * every message is one printable line "NAME:..."; each line is taken or
 * skipped as vt_pfx2as_add_line takes it alone; and a lookup finds what a
 * brute-force longest-prefix search over the lines taken finds (the last of
 * a prefix given twice), for the edges of every prefix and addresses made
 * from the input. */
#include "fuzz.h"
#include "pfx2as.h"
#include "targets.h"

#define NAME      "in.pfx2as"
#define MAX_LINES 8192 /* run.sh gives at most 4096 bytes */

struct line_pfx {
    struct vt_pfx2as_match m; /* what the line alone gives */
};

/* The address at the start of a line (after blanks), or 0. */
static uint32_t first_field(const uint8_t *s, size_t len)
{
    char addr[16];
    size_t i = 0, k = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    while (i < len && k + 1 < sizeof addr && s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
        addr[k++] = (char)s[i++];
    addr[k] = '\0';
    uint32_t ip = 0;
    return vt_ip_parse(addr, &ip) == 0 ? ip : 0;
}

static void check_msg(void *arg, const char *msg)
{
    size_t *n = arg;
    (*n)++;
    fuzz_check(strncmp(msg, NAME ":", strlen(NAME ":")) == 0);
    for (const char *p = msg; *p; p++)
        fuzz_check(*p >= 0x20 && *p < 0x7f); /* one printable line */
}

static uint32_t mask_of(unsigned len)
{
    return len ? UINT32_MAX << (32 - len) : 0;
}

/* The longest of the n prefixes holding ip, the later of equal ones. */
static const struct vt_pfx2as_match *brute(const struct line_pfx *l, size_t n, uint32_t ip)
{
    const struct vt_pfx2as_match *best = NULL;
    for (size_t i = 0; i < n; i++)
        if ((ip & mask_of(l[i].m.len)) == l[i].m.prefix && (!best || l[i].m.len >= best->len))
            best = &l[i].m;
    return best;
}

static void check_lookup(const struct vt_pfx2as *t, const struct line_pfx *l, size_t n, uint32_t ip)
{
    struct vt_pfx2as_match m;
    const struct vt_pfx2as_match *want = brute(l, n, ip);
    bool found = vt_pfx2as_lookup(t, ip, &m);
    fuzz_check(found == (want != NULL));
    if (!found)
        return;
    fuzz_check((ip & mask_of(m.len)) == m.prefix);
    fuzz_check(m.prefix == want->prefix && m.len == want->len);
    fuzz_check(m.norigins == want->norigins && m.norigins >= 1);
    fuzz_check(memcmp(m.origins, want->origins, m.norigins * sizeof *m.origins) == 0);
    for (size_t i = 0; i < m.norigins; i++)
        for (size_t j = i + 1; j < m.norigins; j++)
            fuzz_check(m.origins[i] != m.origins[j]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct line_pfx lines[MAX_LINES];
    struct vt_pfx2as *t = vt_pfx2as_new();
    fuzz_check(t != NULL);
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) { /* fmemopen refuses a size of 0 in older C libraries */
        vt_pfx2as_free(t);
        return 0;
    }
    size_t msgs = 0, nbad = 0;
    long added = vt_pfx2as_load(t, f, NAME, check_msg, &msgs, &nbad);
    fclose(f);
    fuzz_check(added >= 0 && (size_t)added == vt_pfx2as_count(t));
    fuzz_check(msgs == nbad);
    fuzz_check(vt_pfx2as_build(t) == 0);

    /* The oracle: each line alone, as vt_pfx2as_add_line takes it. */
    size_t n = 0, nlines = 0, skipped = 0;
    bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    for (size_t at = 0; at < size && !gzip && nlines < MAX_LINES; nlines++) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t start = at, len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
        char *text = fuzz_cstr(data + at, len);
        at += len;
        if (strlen(text) != len) { /* a NUL byte: load skips the line */
            skipped++;
            free(text);
            continue;
        }
        struct vt_pfx2as *one = vt_pfx2as_new();
        char err[256];
        memset(err, 'x', sizeof err);
        int rc = vt_pfx2as_add_line(one, text, err, sizeof err);
        free(text);
        fuzz_check(rc == 0 || rc == 1 || rc == -1);
        if (rc == -1) {
            fuzz_check_err(err, sizeof err);
            skipped++;
        }
        if (rc == 0) {
            /* The table of this line alone holds its prefix at the line's
             * first field (a network address: host bits are zero). */
            fuzz_check(vt_pfx2as_count(one) == 1);
            fuzz_check(vt_pfx2as_build(one) == 0);
            fuzz_check(vt_pfx2as_lookup(one, first_field(data + start, len), &lines[n].m));
            /* The last line of a prefix wins: drop an earlier one. */
            for (size_t i = 0; i < n; i++)
                if (lines[i].m.prefix == lines[n].m.prefix && lines[i].m.len == lines[n].m.len) {
                    memmove(&lines[i], &lines[i + 1], (n - i) * sizeof *lines);
                    n--;
                    skipped++;
                    break;
                }
            n++;
        }
        vt_pfx2as_free(one);
    }
    if (nlines < MAX_LINES) {
        fuzz_check(vt_pfx2as_count(t) == n);
        fuzz_check(nbad == skipped + gzip);
    }

    /* Every prefix's edges and their neighbours, and addresses from the input. */
    for (size_t i = 0; i < n && nlines < MAX_LINES; i++) {
        uint32_t first = lines[i].m.prefix, last = first | ~mask_of(lines[i].m.len);
        check_lookup(t, lines, n, first);
        check_lookup(t, lines, n, last);
        check_lookup(t, lines, n, first - 1);
        check_lookup(t, lines, n, last + 1);
    }
    for (size_t i = 0; i + 4 <= size && i < 256 && nlines < MAX_LINES; i += 4) {
        uint32_t ip = (uint32_t)data[i] << 24 | (uint32_t)data[i + 1] << 16 |
                      (uint32_t)data[i + 2] << 8 | data[i + 3];
        check_lookup(t, lines, n, ip);
    }
    vt_pfx2as_free(t);
    return 0;
}
