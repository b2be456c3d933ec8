/* text.h: bytes from outside (banners, label values a banner carried) as text
 * any reader can take: JSON strings must be UTF-8, terminals must not get
 * control codes. */
#ifndef VANTAGE_TEXT_H
#define VANTAGE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A malloc'ed NUL-terminated copy of the len bytes at p in which valid UTF-8
 * is kept, as are tab, CR and LF, and every other byte (invalid UTF-8, other
 * control codes, NUL, DEL) is written as the four characters \xNN, so nothing
 * is lost and the result is valid UTF-8. NULL when out of memory. */
char *vt_text_safe(const void *p, size_t len);

/* A growing text, for JSON written straight out (the daemon's query rows):
 * start it zeroed; every add appends, and a failed allocation sets oom and
 * makes the later adds do nothing, so a writer checks once at the end. */
struct vt_buf {
    char *p; /* NUL-terminated once anything was added */
    size_t len, cap;
    bool oom;
};
void vt_buf_add(struct vt_buf *b, const void *s, size_t n);
void vt_buf_str(struct vt_buf *b, const char *s); /* s without its NUL */
void vt_buf_u64(struct vt_buf *b, uint64_t v);    /* in decimal */
/* s as a JSON string, quotes and escapes included (jansson's encoding for
 * anything beyond printable ASCII); bytes that are not UTF-8 are first made
 * safe as vt_text_safe makes them. */
void vt_buf_json_str(struct vt_buf *b, const char *s);
void vt_buf_reset(struct vt_buf *b); /* empty again, its memory kept */
void vt_buf_free(struct vt_buf *b);

#endif
