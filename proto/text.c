/* text.c: bytes from outside as safe text (text.h). */
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. Overlong
 * forms, surrogates and code points above U+10FFFF are invalid (RFC 3629). */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

char *vt_text_safe(const void *p, size_t len)
{
    const uint8_t *s = p;
    char *out = malloc(len * 4 + 1); /* every byte may become \xNN */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        size_t k = utf8_seq(s + i, len - i);
        if (k == 1 && (c >= 0x20 ? c != 0x7f : c == '\t' || c == '\r' || c == '\n')) {
            out[o++] = (char)c;
        } else if (k > 1) {
            for (size_t j = 0; j < k; j++)
                out[o++] = (char)s[i + j];
        } else {
            snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
            k = 1;
        }
        i += k;
    }
    out[o] = '\0';
    return out;
}
