/* pfx2as.h: which AS originates an address: a prefix-to-AS table read from
 * CAIDA's Routeviews prefix2as files, with longest-prefix match.
 *
 * The file has one prefix a line, three fields separated by tabs or spaces:
 *
 *   198.18.0.0	15	64500            one origin
 *   198.18.0.0	22	64500_64501      multi-origin: several ASes announce it
 *   198.18.4.0	24	64500,64501      an AS set (aggregation)
 *   198.18.8.0	24	64500_64501,64502  both
 *
 * '#' starts a comment line; blank lines are skipped. IPv4 only. A bad line
 * (an address that is not a dotted quad, a length over 32, host bits set, an
 * ASN that is not a number 0..4294967295, more than VT_PFX2AS_MAX_ORIGINS
 * origins, junk after the ASN, an IPv6 prefix) is reported with its reason
 * and skipped; the rest still loads. When a prefix is given twice, the last
 * line wins and the earlier one is reported as skipped.
 *
 * Life cycle: vt_pfx2as_new, lines (vt_pfx2as_load or vt_pfx2as_add_line),
 * vt_pfx2as_build once, then any number of vt_pfx2as_lookup (a binary
 * search: O(log n), no allocation, safe from several threads), and
 * vt_pfx2as_free. Memory: about 40 bytes a prefix once built. */
#ifndef VANTAGE_PFX2AS_H
#define VANTAGE_PFX2AS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Origins kept per prefix: the multi-origin and AS-set members together. */
#define VT_PFX2AS_MAX_ORIGINS 8

struct vt_pfx2as;

/* The most specific prefix holding an address, and who originates it. */
struct vt_pfx2as_match {
    uint32_t prefix; /* network address, host order */
    uint8_t len;     /* 0..32 */
    uint8_t norigins;
    uint32_t origins[VT_PFX2AS_MAX_ORIGINS]; /* in file order, each once */
};

/* An empty table, or NULL on ENOMEM. */
struct vt_pfx2as *vt_pfx2as_new(void);
void vt_pfx2as_free(struct vt_pfx2as *t);

/* Parses one line (a trailing "\n" or "\r\n" is allowed) and adds its
 * prefix. Returns 0 when added, 1 for a comment or blank line, 2 when added
 * in place of an earlier line's same prefix (err then says which line that
 * was, counted as vt_pfx2as_load counts them), -1 for a bad line with the
 * reason in err (nothing added). Fails with -1 once the table is built. */
int vt_pfx2as_add_line(struct vt_pfx2as *t, const char *line, char *err, size_t errlen);

/* Adds every line of f. Each line skipped, bad or replaced by a later one,
 * is passed to bad (if not NULL) as one line "NAME:LINE: reason" (the
 * reason's quoted text made printable) and counted in *nbad (if not NULL).
 * A file that begins as gzip data is refused at its first line. Returns the
 * number of prefixes the file added (replaced ones not counted), or -1 when
 * reading failed (errno set). */
long vt_pfx2as_load(struct vt_pfx2as *t, FILE *f, const char *name,
                    void (*bad)(void *arg, const char *msg), void *arg, size_t *nbad);

/* Builds the lookup structure from the lines added: nested prefixes are
 * flattened into sorted disjoint intervals, each naming its most specific
 * prefix. Call once, after the last line. 0, or -1 on ENOMEM. */
int vt_pfx2as_build(struct vt_pfx2as *t);

/* The number of distinct prefixes in the table. */
size_t vt_pfx2as_count(const struct vt_pfx2as *t);

/* Longest-prefix match of ip (host order) in a built table: true with *m
 * filled, or false when no prefix holds ip. */
bool vt_pfx2as_lookup(const struct vt_pfx2as *t, uint32_t ip, struct vt_pfx2as_match *m);

#endif
