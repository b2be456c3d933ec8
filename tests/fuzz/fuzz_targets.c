/* fuzz_targets.c: libFuzzer target for target sets (proto/targets.c), which
 * come from operators (--targets, --scope, --exclude, --blocklist FILE) and
 * from opt-out requests.
 *
 * Built twice (tests/fuzz/CMakeLists.txt):
 *   fuzz_targets       the input is a spec for vt_targets_parse; inputs holding
 *                      '@' are skipped, since @FILE would read files named by
 *                      the fuzzer (fuzz_targets_file covers that form);
 *   fuzz_targets_file  (FUZZ_TARGETS_FILE) the input is the content of a target
 *                      file for vt_targets_load_file, handed over as an
 *                      in-memory file (memfd) so no disk is written.
 *
 * Beyond "no crash, no leak", it checks what targets.h promises: a failed parse
 * leaves the set as it was and says why; afterwards the set is sorted,
 * disjoint and non-adjacent, holds what it held before, counts and indexes
 * (vt_targets_nth) consistently, survives the subtraction of the built-in
 * blocklist and an intersection, and its ranges written back as text parse to
 * the same set. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "targets.h"

/* An address the set holds before parsing, to see that parsing adds to it. */
#define SENTINEL 0x01020304u

static void check_invariant(const struct vt_targets *t)
{
    for (size_t i = 0; i < t->n; i++) {
        fuzz_check(t->r[i].first <= t->r[i].last);
        if (i > 0)
            fuzz_check((uint64_t)t->r[i - 1].last + 1 < t->r[i].first);
    }
}

static uint64_t sum(const struct vt_targets *t)
{
    uint64_t s = 0;
    for (size_t i = 0; i < t->n; i++)
        s += (uint64_t)t->r[i].last - t->r[i].first + 1;
    return s;
}

static bool same(const struct vt_targets *a, const struct vt_targets *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->r, b->r, a->n * sizeof *a->r) == 0);
}

/* Writes t as "a-b" tokens and parses them into a fresh set: it must be t. */
static void check_round_trip(const struct vt_targets *t)
{
    size_t cap = t->n * 32 + 1, len = 0;
    char *text = malloc(cap), a[16], b[16], err[256];
    fuzz_check(text != NULL);
    text[0] = '\0';
    for (size_t i = 0; i < t->n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s-%s\n", vt_ip_str(t->r[i].first, a),
                                vt_ip_str(t->r[i].last, b));
    struct vt_targets u;
    vt_targets_init(&u);
    if (t->n == 0) {
        fuzz_check(vt_targets_parse(&u, text, err, sizeof err) != 0); /* "no targets given" */
    } else {
        fuzz_check(vt_targets_parse(&u, text, err, sizeof err) == 0);
        fuzz_check(same(&u, t));
    }
    vt_targets_free(&u);
    free(text);
}

static void check_count_and_nth(struct vt_targets *t, const uint8_t *data, size_t size)
{
    uint64_t count = vt_targets_count(t);
    fuzz_check(count == sum(t));
    if (count == 0)
        return;
    fuzz_check(vt_targets_nth(t, 0) == t->r[0].first);
    fuzz_check(vt_targets_nth(t, count - 1) == t->r[t->n - 1].last);
    /* A few indices the input picks. */
    for (size_t k = 0; k + 8 <= size && k < 64; k += 8) {
        uint64_t i;
        memcpy(&i, data + k, sizeof i);
        i %= count;
        uint32_t ip = vt_targets_nth(t, i);
        fuzz_check(vt_targets_contains(t, ip));
        if (i > 0)
            fuzz_check(vt_targets_nth(t, i - 1) < ip);
    }
}

#ifdef FUZZ_TARGETS_FILE
/* Parses the input as a target file. */
static int parse(struct vt_targets *t, const uint8_t *data, size_t size, char *err, size_t errlen)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_targets_file", 0);
        fuzz_check(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    fuzz_check(ftruncate(fd, 0) == 0);
    fuzz_check(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
    return vt_targets_load_file(t, path, err, errlen);
}
#else
/* Parses the input as a spec, as from --targets. */
static int parse(struct vt_targets *t, const uint8_t *data, size_t size, char *err, size_t errlen)
{
    if (memchr(data, '@', size))
        return 1; /* skipped: would open a file the fuzzer names */
    char *spec = fuzz_cstr(data, size);
    int rc = vt_targets_parse(t, spec, err, errlen);
    free(spec);
    return rc;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct vt_targets t, before;

    vt_targets_init(&t);
    vt_targets_init(&before);
    fuzz_check(vt_targets_add_range(&t, SENTINEL, SENTINEL) == 0);
    fuzz_check(vt_targets_add_range(&before, SENTINEL, SENTINEL) == 0);

    memset(err, 'x', sizeof err);
    int rc = parse(&t, data, size, err, sizeof err);
    if (rc == 1)
        goto out;
    check_invariant(&t);
    if (rc != 0) {
        fuzz_check(rc == -1);
        fuzz_check_err(err, sizeof err);
        fuzz_check(same(&t, &before));
        goto out;
    }
    fuzz_check(vt_targets_contains(&t, SENTINEL));
    check_count_and_nth(&t, data, size);
    check_round_trip(&t);

    /* What a campaign does with a parsed set: remove the blocklist, cut it to
     * a worker's scope. */
    struct vt_targets bl, scope;
    vt_targets_init(&bl);
    vt_targets_init(&scope);
    fuzz_check(vt_targets_builtin_blocklist(&bl) == 0);
    fuzz_check(vt_targets_add_range(&scope, 0x01000000u, 0xc6ffffffu) == 0);
    uint64_t n = vt_targets_count(&t);
    fuzz_check(vt_targets_subtract(&t, &bl) == 0);
    check_invariant(&t);
    fuzz_check(vt_targets_count(&t) <= n);
    for (size_t i = 0; i < bl.n; i++)
        fuzz_check(!vt_targets_contains(&t, bl.r[i].first) &&
                   !vt_targets_contains(&t, bl.r[i].last));
    fuzz_check(vt_targets_intersect(&t, &scope) == 0);
    check_invariant(&t);
    for (size_t i = 0; i < t.n; i++)
        fuzz_check(t.r[i].first >= 0x01000000u && t.r[i].last <= 0xc6ffffffu);
    check_count_and_nth(&t, data, size);
    vt_targets_free(&bl);
    vt_targets_free(&scope);
out:
    vt_targets_free(&t);
    vt_targets_free(&before);
    return 0;
}
