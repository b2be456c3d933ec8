/* text.h: bytes from outside (banners, label values a banner carried) as text
 * any reader can take: JSON strings must be UTF-8, terminals must not get
 * control codes. */
#ifndef VANTAGE_TEXT_H
#define VANTAGE_TEXT_H

#include <stddef.h>

/* A malloc'ed NUL-terminated copy of the len bytes at p in which valid UTF-8
 * is kept, as are tab, CR and LF, and every other byte (invalid UTF-8, other
 * control codes, NUL, DEL) is written as the four characters \xNN, so nothing
 * is lost and the result is valid UTF-8. NULL when out of memory. */
char *vt_text_safe(const void *p, size_t len);

#endif
