/* envelope.h: packing and checked unpacking of the one message type on the wire.
 *
 * Everything that crosses between coordinator and worker is a Vantage__Envelope
 * (proto/vantage.proto). vt_envelope_unpack() is the edge: it turns untrusted
 * bytes into a typed envelope or a one-line reason, never anything in between. */
#ifndef VANTAGE_ENVELOPE_H
#define VANTAGE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "vantage.pb-c.h"

#define VT_PROTOCOL_VERSION 1
/* Largest envelope either side accepts (also ZMQ_MAXMSGSIZE on every socket). */
#define VT_MAX_MESSAGE (4u << 20)

/* Serialises env into a fresh buffer (free() it). Returns 0, or -1 on ENOMEM. */
int vt_envelope_pack(const Vantage__Envelope *env, uint8_t **buf, size_t *len);

/* Parses len bytes. Returns the envelope (free with vt_envelope_free) or NULL
 * with a reason in err: oversized, not protobuf, wrong version, or no body. */
Vantage__Envelope *vt_envelope_unpack(const uint8_t *buf, size_t len, char *err, size_t errlen);

void vt_envelope_free(Vantage__Envelope *env);

#endif
