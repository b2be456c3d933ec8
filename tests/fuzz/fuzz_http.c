/* fuzz_http.c: worker/banner_http.c, the parser of HTTP answers. The input
 * is split into reads of sizes drawn from its first two bytes and, if the
 * parser still wants more, followed by the peer's close. Promises: it never
 * answers, the banner stays within VT_BANNER_TEXT_MAX, and every part lies
 * inside the module's state, within the head or title caps. */
#include "fuzz.h"

#include "banner_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *state;
    enum vt_bm_verdict v = VT_BM_MORE;
    uint32_t rng;

    if (size < 2)
        return 0;
    if (state == NULL)
        state = malloc(vt_banner_http.state_size);
    fuzz_check(state != NULL);
    rng = (uint32_t)data[0] << 8 | data[1];
    data += 2;
    size -= 2;
    vt_banner_http.init(state);
    for (size_t i = 0; i < size && v == VT_BM_MORE;) {
        uint8_t out[16];
        struct vt_bm_out o = {out, 0, sizeof(out)};
        rng = rng * 1103515245 + 12345;
        size_t k = 1 + (rng >> 16) % 64;
        if (k > size - i)
            k = size - i;
        v = vt_banner_http.on_data(state, data + i, k, &o);
        fuzz_check(o.len == 0);
        i += k;
    }
    if (v == VT_BM_MORE)
        vt_banner_http.on_eof(state);
    struct vt_grab g;
    memset(&g, 0, sizeof(g));
    vt_banner_http.finish(state, &g);
    fuzz_check(g.banner_len <= VT_BANNER_TEXT_MAX);
    fuzz_check(g.banner_len == 0 ||
               ((const uint8_t *)g.banner >= state &&
                (const uint8_t *)g.banner + g.banner_len <= state + vt_banner_http.state_size));
    fuzz_check(g.nparts <= 5);
    for (size_t i = 0; i < g.nparts; i++) {
        const uint8_t *t = (const uint8_t *)g.parts[i].text;
        fuzz_check(g.parts[i].len > 0 && g.parts[i].len <= 16384);
        fuzz_check(t >= state && t + g.parts[i].len <= state + vt_banner_http.state_size);
    }
    fuzz_check(g.exposure == NULL || strcmp(g.exposure, "http-login") == 0);
    return 0;
}
