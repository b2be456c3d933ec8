/* ports.h: port lists such as "23,80,8000-8010".
 *
 * Parsed into a sorted array without duplicates. Ports are 1..65535; 0, empty
 * elements, reversed ranges and trailing garbage are errors naming the token. */
#ifndef VANTAGE_PORTS_H
#define VANTAGE_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vt_ports {
    uint16_t *port; /* ascending, unique */
    size_t n;
};

/* Parses list into p (which it initialises). 0, or -1 with err set. */
int vt_ports_parse(struct vt_ports *p, const char *list, char *err, size_t errlen);
void vt_ports_free(struct vt_ports *p);
bool vt_ports_contains(const struct vt_ports *p, uint16_t port);
/* Writes the canonical form ("23,80,8000-8010") into buf; if it does not fit,
 * the text is cut and ends in "...". */
void vt_ports_format(const struct vt_ports *p, char *buf, size_t len);

#endif
