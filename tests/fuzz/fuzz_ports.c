/* fuzz_ports.c: libFuzzer target for port lists (proto/ports.c), which come
 * from operators' flags and config files (--ports, --allow-ports).
 *
 * The input is the list text. Beyond "no crash, no leak", it checks what
 * ports.h promises: on failure nothing is allocated and err says why; on
 * success the ports are 1..65535, ascending and unique; vt_ports_contains
 * agrees; and the canonical form vt_ports_format writes parses back to the
 * same list, or, cut short, ends in "..." inside its buffer. */
#include "fuzz.h"
#include "ports.h"

/* The longest canonical form: every other port, "1,3,5,...,65535". */
#define FORMAT_MAX (32768 * 6 + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[FORMAT_MAX];
    char err[256], small[16];
    struct vt_ports p, q;
    char *list = fuzz_cstr(data, size);

    memset(err, 'x', sizeof err);
    if (vt_ports_parse(&p, list, err, sizeof err) != 0) {
        fuzz_check(p.port == NULL && p.n == 0);
        fuzz_check_err(err, sizeof err);
        free(list);
        return 0;
    }
    free(list);
    fuzz_check(p.n >= 1 && p.n <= 65535);
    fuzz_check(p.port[0] >= 1);
    for (size_t i = 1; i < p.n; i++)
        fuzz_check(p.port[i - 1] < p.port[i]);
    for (size_t i = 0; i < p.n; i++) {
        fuzz_check(vt_ports_contains(&p, p.port[i]));
        if (p.port[i] > 1 && (i == 0 || p.port[i - 1] != p.port[i] - 1))
            fuzz_check(!vt_ports_contains(&p, (uint16_t)(p.port[i] - 1)));
    }
    fuzz_check(!vt_ports_contains(&p, 0));

    vt_ports_format(&p, text, sizeof text);
    fuzz_check(strlen(text) < sizeof text - 4); /* the whole list fits: no cut */
    fuzz_check(vt_ports_parse(&q, text, err, sizeof err) == 0);
    fuzz_check(q.n == p.n && memcmp(q.port, p.port, p.n * sizeof *p.port) == 0);
    vt_ports_free(&q);

    vt_ports_format(&p, small, sizeof small);
    fuzz_check(strlen(small) < sizeof small);
    if (strlen(text) >= sizeof small)
        fuzz_check(strcmp(small + strlen(small) - 3, "...") == 0);
    else
        fuzz_check(strcmp(small, text) == 0);

    vt_ports_free(&p);
    fuzz_check(p.port == NULL && p.n == 0);
    return 0;
}
