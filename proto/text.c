/* text.c: bytes from outside as safe text (text.h). */
#include "text.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void vt_buf_add(struct vt_buf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (n >= b->cap - b->len || !b->p) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void vt_buf_str(struct vt_buf *b, const char *s)
{
    vt_buf_add(b, s, strlen(s));
}

void vt_buf_u64(struct vt_buf *b, uint64_t v)
{
    char d[20];
    size_t n = sizeof d;
    do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    vt_buf_add(b, d + n, sizeof d - n);
}

static int buf_dump(const char *s, size_t n, void *b)
{
    vt_buf_add(b, s, n);
    return 0;
}

void vt_buf_json_str(struct vt_buf *b, const char *s)
{
    size_t n = 0;
    while (s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' && s[n] != '\\')
        n++;
    if (!s[n]) { /* printable ASCII, nothing to escape: the common case */
        vt_buf_add(b, "\"", 1);
        vt_buf_add(b, s, n);
        vt_buf_add(b, "\"", 1);
        return;
    }
    json_t *j = json_string(s);
    if (!j) { /* not UTF-8 */
        char *safe = vt_text_safe(s, strlen(s));
        j = safe ? json_string(safe) : NULL;
        free(safe);
    }
    if (!j || json_dump_callback(j, buf_dump, b, JSON_ENCODE_ANY) != 0)
        b->oom = true;
    json_decref(j);
}

void vt_buf_reset(struct vt_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->p)
        b->p[0] = '\0';
}

void vt_buf_free(struct vt_buf *b)
{
    free(b->p);
    *b = (struct vt_buf){0};
}
