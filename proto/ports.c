/* ports.c: port lists such as "23,80,8000-8010" (see ports.h).
 *
 * Parsing marks ports in a 65536-bit map, so duplicates and overlapping ranges
 * merge for free, then reads the map out in ascending order. Every element is
 * checked whole, and the first bad one is named in the error. */
#include "ports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PORT_MAX 65535u
/* Longest element we quote whole in an error message. */
#define QUOTE_MAX 40

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses the decimal port s[0..len). NULL with *port set, or a reason. */
static const char *parse_port(const char *s, size_t len, unsigned *port)
{
    if (len == 0)
        return "port missing";
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return "not a port number";
        if (v <= PORT_MAX)
            v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > PORT_MAX)
        return "ports are 1-65535";
    *port = v;
    return NULL;
}

static void set_err(char *err, size_t errlen, const char *tok, size_t len, const char *why)
{
    const char *dots = "";
    if (len > QUOTE_MAX) {
        len = QUOTE_MAX;
        dots = "...";
    }
    snprintf(err, errlen, "bad port \"%.*s%s\": %s", (int)len, tok, dots, why);
}

/* Parses one element s[0..len) (already trimmed) into the bitmap. */
static int parse_element(uint8_t *map, const char *s, size_t len, char *err, size_t errlen)
{
    const char *dash = memchr(s, '-', len);
    const char *why;
    unsigned first, last;
    if (!dash) {
        if ((why = parse_port(s, len, &first))) {
            set_err(err, errlen, s, len, why);
            return -1;
        }
        last = first;
    } else {
        /* White space around the dash is tolerated, as around elements. */
        const char *a = s, *ae = dash, *b = dash + 1, *be = s + len;
        while (ae > a && is_space(ae[-1]))
            ae--;
        while (b < be && is_space(*b))
            b++;
        size_t alen = (size_t)(ae - a), blen = (size_t)(be - b);
        if (alen == 0) {
            set_err(err, errlen, s, len, "range start missing before '-'");
            return -1;
        }
        if (blen == 0) {
            set_err(err, errlen, s, len, "range end missing after '-'");
            return -1;
        }
        if ((why = parse_port(a, alen, &first)) || (why = parse_port(b, blen, &last))) {
            set_err(err, errlen, s, len, why);
            return -1;
        }
        if (last < first) {
            set_err(err, errlen, s, len, "range end before start");
            return -1;
        }
    }
    for (unsigned p = first; p <= last; p++)
        map[p >> 3] |= (uint8_t)(1u << (p & 7));
    return 0;
}

int vt_ports_parse(struct vt_ports *p, const char *list, char *err, size_t errlen)
{
    p->port = NULL;
    p->n = 0;
    const char *s = list ? list : "";

    const char *q = s;
    while (is_space(*q))
        q++;
    if (*q == '\0') {
        snprintf(err, errlen, "no ports given");
        return -1;
    }

    uint8_t *map = calloc((PORT_MAX + 1) / 8, 1);
    if (!map) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *a = s, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (a == b) {
            size_t ll = strlen(list);
            snprintf(err, errlen, "bad port list \"%.*s%s\": empty element (stray comma?)",
                     (int)(ll > 2 * QUOTE_MAX ? 2 * QUOTE_MAX : ll), list,
                     ll > 2 * QUOTE_MAX ? "..." : "");
            free(map);
            return -1;
        }
        if (parse_element(map, a, (size_t)(b - a), err, errlen) < 0) {
            free(map);
            return -1;
        }
        if (!comma)
            break;
        s = comma + 1;
    }

    size_t n = 0;
    for (unsigned i = 1; i <= PORT_MAX; i++)
        n += (map[i >> 3] >> (i & 7)) & 1;
    p->port = malloc(n * sizeof *p->port);
    if (!p->port) {
        free(map);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (unsigned i = 1; i <= PORT_MAX; i++)
        if ((map[i >> 3] >> (i & 7)) & 1)
            p->port[p->n++] = (uint16_t)i;
    free(map);
    return 0;
}

void vt_ports_free(struct vt_ports *p)
{
    free(p->port);
    p->port = NULL;
    p->n = 0;
}

bool vt_ports_contains(const struct vt_ports *p, uint16_t port)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->port[mid] < port)
            lo = mid + 1;
        else if (p->port[mid] > port)
            hi = mid;
        else
            return true;
    }
    return false;
}

void vt_ports_format(const struct vt_ports *p, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < p->n;) {
        size_t j = i;
        while (j + 1 < p->n && p->port[j + 1] == p->port[j] + 1)
            j++;
        int w;
        if (j == i)
            w = snprintf(buf + used, len - used, "%s%u", i ? "," : "", p->port[i]);
        else
            w = snprintf(buf + used, len - used, "%s%u-%u", i ? "," : "", p->port[i], p->port[j]);
        if (w < 0 || (size_t)w >= len - used) {
            /* Too long: mark the cut, so a shortened list is never mistaken
             * for a complete one. */
            if (len >= 4)
                memcpy(buf + len - 4, "...", 4);
            return;
        }
        used += (size_t)w;
        i = j + 1;
    }
}
