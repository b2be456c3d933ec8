/* envelope.c: the wire edge. See envelope.h. */
#include "envelope.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

int vt_envelope_pack(const Vantage__Envelope *env, uint8_t **buf, size_t *len)
{
    size_t n = vantage__envelope__get_packed_size(env);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return -1;
    *len = vantage__envelope__pack(env, b);
    *buf = b;
    return 0;
}

/* True if m or a message inside it kept an unknown field numbered 0.
 *
 * Protobuf has no field 0, but protobuf-c 1.4 takes one whose key is written
 * in more bytes than needed (0x82 0x00 is field 0, length-delimited), keeps it
 * as an unknown field, and then refuses the message it packs from it. Let
 * through, such an envelope would not survive a round trip (docs/protocol.md:
 * unknown fields survive; the worker re-packs a Lease for its scan process). */
static bool has_field_zero(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;

    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return true;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *sub = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t k = 0; k < n; k++)
                if (has_field_zero(sub[k]))
                    return true;
            continue;
        }
        /* A oneof's members share one slot: only the one set is there. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
        if (sub && has_field_zero(sub))
            return true;
    }
    return false;
}

Vantage__Envelope *vt_envelope_unpack(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    if (len > VT_MAX_MESSAGE) {
        snprintf(err, errlen, "message of %zu bytes exceeds the %u-byte limit", len,
                 VT_MAX_MESSAGE);
        return NULL;
    }
    Vantage__Envelope *env = vantage__envelope__unpack(NULL, len, buf);
    if (!env) {
        snprintf(err, errlen, "message is not a valid vantage envelope");
        return NULL;
    }
    if (has_field_zero(&env->base)) {
        snprintf(err, errlen, "message is not a valid vantage envelope (a field numbered 0)");
        vantage__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    if (env->version != VT_PROTOCOL_VERSION) {
        snprintf(err, errlen, "protocol version %u not spoken (this side speaks %u)", env->version,
                 VT_PROTOCOL_VERSION);
        vantage__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    if (env->body_case == VANTAGE__ENVELOPE__BODY__NOT_SET) {
        snprintf(err, errlen, "envelope has no body (or one this side does not know)");
        vantage__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    return env;
}

void vt_envelope_free(Vantage__Envelope *env)
{
    if (env)
        vantage__envelope__free_unpacked(env, NULL);
}
