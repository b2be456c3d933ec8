/*
 * fuzz_packet.c — libFuzzer target for the edge where captured bytes enter the
 * worker: vt_packet_parse() and the tcp_syn module's classify(). Built with the
 * other targets (cmake -DVANTAGE_FUZZ=ON, see tests/README.md); its seeds, answers
 * that carry a valid cookie, come from make_seeds.
 *
 * A frame that parses is classified against a context whose address is the frame's
 * destination, so the cookie check is reached too; one that does not parse must not
 * classify as an answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cookie.h"
#include "packet.h"
#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct vt_cookie cookie;
    struct vt_frame_ctx ctx = {.saddr = 0xc6130102u, .cookie = &cookie};
    struct vt_parsed p;
    struct vt_answer a;
    int rc;

    vt_cookie_init(&cookie, key);
    rc = vt_packet_parse(data, size, &p);
    if (rc == VT_PARSE_OK) {
        /* The parser's promises, checked. */
        if (p.payload_off + p.payload_len > size || p.l4_off + 20 > p.payload_off ||
            p.l3_off + 20 > p.l4_off)
            __builtin_trap();
        ctx.saddr = p.daddr;
    } else if (rc > 0 || vt_parse_strerror(rc) == NULL) {
        __builtin_trap();
    }
    if (vt_probe_tcp_syn.classify(data, size, &ctx, &a) == 1 && rc != VT_PARSE_OK)
        __builtin_trap();
    return 0;
}
