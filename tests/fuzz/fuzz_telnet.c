/* fuzz_telnet.c: worker/banner_telnet.c. The input is split into reads of
 * sizes drawn from its first two bytes (reads may split anywhere); then the
 * module's promises are checked: every answer is IAC WONT x or IAC DONT x,
 * never more than 512 bytes of answers in all, no (verb, option) answered
 * twice, and a banner within VT_BANNER_TEXT_MAX that is the one part. */
#include "fuzz.h"

#include "banner_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *state;
    uint8_t seen[2][256] = {{0}};
    size_t answers = 0;
    uint32_t rng;

    if (size < 2)
        return 0;
    if (state == NULL)
        state = malloc(vt_banner_telnet.state_size);
    fuzz_check(state != NULL);
    rng = (uint32_t)data[0] << 8 | data[1];
    data += 2;
    size -= 2;
    vt_banner_telnet.init(state);
    for (size_t i = 0; i < size;) {
        uint8_t out[64];
        struct vt_bm_out o = {out, 0, sizeof(out)};
        rng = rng * 1103515245 + 12345;
        size_t k = 1 + (rng >> 16) % 16;
        if (k > size - i)
            k = size - i;
        enum vt_bm_verdict v = vt_banner_telnet.on_data(state, data + i, k, &o);
        fuzz_check(o.len <= o.cap && o.len % 3 == 0);
        for (size_t j = 0; j < o.len; j += 3) {
            fuzz_check(out[j] == 0xff && (out[j + 1] == 0xfc || out[j + 1] == 0xfe));
            int verb = out[j + 1] == 0xfc ? 0 : 1;
            fuzz_check(!seen[verb][out[j + 2]]);
            seen[verb][out[j + 2]] = 1;
        }
        answers += o.len;
        fuzz_check(answers <= 512);
        i += k;
        if (v == VT_BM_DONE)
            break;
    }
    struct vt_grab g;
    memset(&g, 0, sizeof(g));
    vt_banner_telnet.finish(state, &g);
    fuzz_check(g.banner_len <= VT_BANNER_TEXT_MAX);
    fuzz_check(g.nparts <= 1);
    if (g.nparts == 1)
        fuzz_check(g.parts[0].text == g.banner && g.parts[0].len == g.banner_len);
    return 0;
}
