/* targets.h: sets of IPv4 addresses, as both programs need them.
 *
 * A set is a sorted array of disjoint, non-adjacent inclusive ranges (host byte
 * order), so a whole campaign's space (all of IPv4 minus a blocklist) costs a few
 * hundred bytes, membership is a binary search, and "the i-th address" is a
 * binary search over prefix counts (vt_targets_nth), which the scan walk uses to
 * map a permutation element to an address.
 *
 * Input syntax, one target per token (tokens separated by commas or white space):
 *   198.18.0.0/16        CIDR (host bits must be zero)
 *   198.18.0.1-198.18.0.9  inclusive range
 *   198.18.0.7           single address
 *   @FILE                one token per line, '#' starts a comment, blank lines ignored
 * Errors name the bad token and say what is wrong with it. */
#ifndef VANTAGE_TARGETS_H
#define VANTAGE_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vt_range {
    uint32_t first, last; /* inclusive, host order */
};

struct vt_targets {
    struct vt_range *r; /* sorted, disjoint, non-adjacent */
    size_t n, cap;
    uint64_t *cum; /* cum[i] = addresses in r[0..i); built by vt_targets_count/nth */
    bool cum_ok;
};

void vt_targets_init(struct vt_targets *t);
void vt_targets_free(struct vt_targets *t);
void vt_targets_clear(struct vt_targets *t);

/* Adds [first, last], merging overlaps and neighbours. 0, or -1 on ENOMEM. */
int vt_targets_add_range(struct vt_targets *t, uint32_t first, uint32_t last);

/* Parses a list of tokens (see above) and adds them. 0, or -1 with err set. */
int vt_targets_parse(struct vt_targets *t, const char *spec, char *err, size_t errlen);

/* Adds every token of a file (the @FILE form). 0, or -1 with err set. */
int vt_targets_load_file(struct vt_targets *t, const char *path, char *err, size_t errlen);

/* t = t − minus. */
int vt_targets_subtract(struct vt_targets *t, const struct vt_targets *minus);

/* t = t ∩ with. */
int vt_targets_intersect(struct vt_targets *t, const struct vt_targets *with);

bool vt_targets_contains(const struct vt_targets *t, uint32_t ip);

/* Every address of a is in b (an empty a is within anything). Linear. */
bool vt_targets_within(const struct vt_targets *a, const struct vt_targets *b);

/* Number of addresses (up to 2^32, hence 64 bits). */
uint64_t vt_targets_count(struct vt_targets *t);

/* The i-th address in ascending order, i < vt_targets_count(t).
 * Both may rebuild t->cum, so they are not safe to call from several threads on
 * a set changed since its last count: call vt_targets_count once before sharing. */
uint32_t vt_targets_nth(struct vt_targets *t, uint64_t i);

/* The IANA special-purpose list that ZMap ships (includes 198.18.0.0/15). */
int vt_targets_builtin_blocklist(struct vt_targets *t);

/* One range written as a target is (CIDR, a.b.c.d-e.f.g.h, or one address):
 * exactly one token, no @FILE. 0 with [first, last] set, or -1 with err. */
int vt_range_parse(const char *s, uint32_t *first, uint32_t *last, char *err, size_t errlen);
/* A range's canonical text: "a.b.c.d/N" when it is one CIDR block (a single
 * address is /32), else "a.b.c.d-e.f.g.h". buf needs 32 bytes. Returns buf. */
const char *vt_range_format(uint32_t first, uint32_t last, char *buf, size_t len);

/* Formats ip (host order) as dotted quad into buf (at least 16 bytes). */
const char *vt_ip_str(uint32_t ip, char *buf);
/* Parses a dotted quad strictly (four decimal octets). 0, or -1. */
int vt_ip_parse(const char *s, uint32_t *ip);

#endif
