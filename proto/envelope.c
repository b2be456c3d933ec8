/* envelope.c: the wire edge. See envelope.h. */
#include "envelope.h"

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
