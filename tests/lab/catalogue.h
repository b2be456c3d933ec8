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
 *
 * The protocol of a port is the type's, not the port's: by default 23 and 2323
 * speak telnet and the others HTTP, but a type may speak telnet on 8000, HTTP
 * on 2323 or SSH anywhere (t->proto), as devices on the Internet do. Hostile
 * types (kind "hostile") play one misbehaving service on each of their ports.
 */
#ifndef VANTAGE_LAB_CATALOGUE_H
#define VANTAGE_LAB_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The six ports of the lab, in a fixed order; port masks index this array. */
enum { LAB_NPORTS = 6 };
extern const uint16_t lab_ports[LAB_NPORTS];

/* Indexes into lab_ports, and the port masks made of them. */
enum { I_23, I_2323, I_80, I_8080, I_81, I_8000 };
#define PORT_23      (1u << I_23)
#define PORT_2323    (1u << I_2323)
#define PORT_80      (1u << I_80)
#define PORT_8080    (1u << I_8080)
#define PORT_81      (1u << I_81)
#define PORT_8000    (1u << I_8000)
#define PORTS_TELNET (PORT_23 | PORT_2323)
#define PORTS_ALL    ((1u << LAB_NPORTS) - 1)

enum ident_kind { IDENT_NONE, IDENT_SERIAL, IDENT_MAC };

/* What one open port speaks. PROTO_DEFAULT: telnet on 23 and 2323, HTTP elsewhere. */
enum lab_proto { PROTO_DEFAULT = 0, PROTO_TELNET, PROTO_HTTP, PROTO_SSH, PROTO_HOSTILE };

/* How a hostile type misbehaves (on every port it opens). */
enum hostile_kind {
    HOSTILE_NONE = 0,
    HOSTILE_ENDLESS,      /* sends text forever, at once */
    HOSTILE_SLOW,         /* one byte every 300 ms, forever */
    HOSTILE_SILENT,       /* accepts, reads, never sends, never closes */
    HOSTILE_HUGE_HEADERS, /* answers an HTTP request with 1 MiB of headers */
    HOSTILE_GARBAGE,      /* 64 KiB of random binary, then closes */
    HOSTILE_IAC_FLOOD,    /* telnet option negotiation forever, never a prompt */
    HOSTILE_ZERO_WINDOW,  /* never reads (minimal receive buffer), never sends */
};

struct device_type {
    const char *name;          /* short stable id, e.g. "hikvision-ipc" */
    const char *vendor;        /* e.g. "Hikvision" */
    const char *model;         /* e.g. "DS-2CD2032-I" */
    const char *kind;          /* camera, dvr, nvr, router, gateway, wap, nas, printer, embedded,
                                  hostile (see lab_kind_device) */
    unsigned weight;           /* relative share of the population */
    unsigned ports;            /* PORT_* mask of the ports it opens, never 0 */
    uint8_t proto[LAB_NPORTS]; /* enum lab_proto per port index; 0: the port's default */
    /* telnet: option negotiation bytes (NULL: BusyBox's), then greeting and prompt */
    const char *telnet_iac;
    const char *telnet;
    bool shell; /* the telnet greeting ends in a shell prompt: no login asked */
    /* SSH: identification line without CR LF, e.g. "SSH-2.0-dropbear_2017.75" */
    const char *ssh;
    /* HTTP: status line, headers (NULL: absent), title of the HTML body */
    const char *status_line; /* e.g. "HTTP/1.0 200 OK" */
    const char *server;
    const char *realm; /* Basic realm of WWW-Authenticate */
    const char *extra_header;
    const char *title;
    bool login_form; /* the HTML body holds a login form with a password input */
    enum hostile_kind hostile;
    enum ident_kind ident;
    const char *serial_prefix; /* IDENT_SERIAL: the serial is this plus 9 digits */
    uint8_t oui[3];            /* first half of the device's MAC address */
};

extern const struct device_type catalogue[];
extern const size_t catalogue_len;

/* What type t speaks on lab port index i (never PROTO_DEFAULT), for a port it opens. */
enum lab_proto lab_service_proto(const struct device_type *t, unsigned i);
/* The truth's name of that: "telnet", "http", "ssh", or the hostile kind's name. */
const char *lab_service_protocol_name(const struct device_type *t, unsigned i);
/* The exposure a grabber should report there: "telnet-login", "telnet-shell",
 * "http-login" or NULL. */
const char *lab_service_exposure(const struct device_type *t, unsigned i);
/* Recog's hw.device for a catalogue kind ("camera" -> "IP Camera"); NULL for hostile. */
const char *lab_kind_device(const char *kind);
const char *hostile_kind_name(enum hostile_kind k);
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
