/* fuzz.h: what the libFuzzer targets of tests/fuzz share.
 *
 * A target is one file, fuzz_<what>.c, with LLVMFuzzerTestOneInput(): it hands
 * the input to one parser of outside input and then checks the promises that
 * parser's header makes. A broken promise is a crash (abort(), which libFuzzer
 * reports with the input that caused it), the same as a sanitizer finding.
 * How to build and run them: tests/README.md. */
#ifndef VANTAGE_FUZZ_H
#define VANTAGE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts, naming the promise, unless cond holds. */
#define fuzz_check(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a NUL-terminated string (the parsers of text take C strings;
 * an embedded NUL ends the text there, as it would for a real caller). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    fuzz_check(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* An error buffer a parser must fill with a NUL-terminated, non-empty reason. */
static inline void fuzz_check_err(const char *err, size_t errlen)
{
    fuzz_check(memchr(err, '\0', errlen) != NULL);
    fuzz_check(err[0] != '\0');
}

#endif
