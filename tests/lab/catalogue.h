/*
 * catalogue.h: the device types the lab's simulator plays (cameras, DVRs, home
 * gateways, NAS, printers) and how one device of a type talks: which of the six
 * lab ports it opens, its telnet greeting and its HTTP answer.
 *
 * Strings may carry placeholders that make one device unique:
 *   {serial}  the device's serial number
 *   {mac}     its MAC address as aa:bb:cc:dd:ee:ff
 *   {MAC}     its MAC address as AABBCCDDEEFF
 * A type that shows one of them has a unique identifier (ident != IDENT_NONE).
 */
#ifndef VANTAGE_LAB_CATALOGUE_H
#define VANTAGE_LAB_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>

/* The six ports of the lab, in a fixed order; port masks index this array. */
enum { LAB_NPORTS = 6 };
extern const uint16_t lab_ports[LAB_NPORTS];

#define PORT_23      (1u << 0)
#define PORT_2323    (1u << 1)
#define PORT_80      (1u << 2)
#define PORT_8080    (1u << 3)
#define PORT_81      (1u << 4)
#define PORT_8000    (1u << 5)
#define PORTS_TELNET (PORT_23 | PORT_2323)

enum ident_kind { IDENT_NONE, IDENT_SERIAL, IDENT_MAC };

struct device_type {
    const char *name;   /* short stable id, e.g. "hikvision-ipc" */
    const char *vendor; /* e.g. "Hikvision" */
    const char *model;  /* e.g. "DS-2CD2032-I" */
    const char *kind;   /* camera, dvr, nvr, router, gateway, nas, printer, embedded */
    unsigned weight;    /* relative share of the population */
    unsigned ports;     /* PORT_* mask of the ports it opens, never 0 */
    /* telnet: option negotiation bytes (NULL: BusyBox's), then greeting and prompt */
    const char *telnet_iac;
    const char *telnet;
    /* HTTP: status line, headers (NULL: absent), title of the HTML body */
    const char *status_line; /* e.g. "HTTP/1.0 200 OK" */
    const char *server;
    const char *realm; /* Basic realm of WWW-Authenticate */
    const char *extra_header;
    const char *title;
    enum ident_kind ident;
    const char *serial_prefix; /* IDENT_SERIAL: the serial is this plus 9 digits */
    uint8_t oui[3];            /* first half of the device's MAC address */
};

extern const struct device_type catalogue[];
extern const size_t catalogue_len;

/* Is lab port index i (into lab_ports) a telnet port? The others speak HTTP. */
int lab_port_is_telnet(unsigned i);
/* Index of port in lab_ports, or -1. */
int lab_port_index(uint16_t port);

/* What makes one device unique; filled in by the world from the seed. */
struct device_ident {
    uint8_t mac[6];
    char serial[40]; /* "" when the type shows none */
};

/*
 * Renderers write a NUL-terminated string into out (size n) and return its length,
 * or -1 if it does not fit.
 */
/* Greeting and login prompt, as text (without the IAC negotiation). */
int render_telnet_text(const struct device_type *t, const struct device_ident *id, char *out,
                       size_t n);
/* The exact bytes a telnet client receives first: negotiation, then the text. */
int render_telnet(const struct device_type *t, const struct device_ident *id, char *out, size_t n);
/* The HTML body of the HTTP answer. */
int render_http_body(const struct device_type *t, const struct device_ident *id, char *out,
                     size_t n);
/* Status line and headers up to and including the blank line, for a body of body_len. */
int render_http_head(const struct device_type *t, const struct device_ident *id, size_t body_len,
                     char *out, size_t n);
/* One template with placeholders expanded; "" for a NULL template. */
int render_template(const char *tmpl, const struct device_ident *id, char *out, size_t n);
/* The identifier a type shows, as it appears ("" when none). */
int render_identifier(const struct device_type *t, const struct device_ident *id, char *out,
                      size_t n);
/* The status code of the type's status line. */
int http_status_code(const struct device_type *t);

#endif
