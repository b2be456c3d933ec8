/* fuzz_ssh.c: worker/banner_ssh.c (what an SSH server sends: lines before
 * its identification, the identification, then binary packets up to the
 * key-exchange reply, whose host key is fingerprinted), and the first-bytes
 * detection every grab starts with (worker/banner_modules.c). The input is
 * split into reads of sizes drawn from its first two bytes. Promises checked:
 * the module asks to send only what fits its buffer (our identification,
 * KEXINIT and ECDH_INIT), its banner and parts stay within their bounds, and
 * detection names a module for any bytes, or none. */
#include "fuzz.h"

#include "banner_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *state;
    if (size < 2)
        return 0;
    if (state == NULL)
        state = malloc(vt_banner_ssh.state_size);
    fuzz_check(state != NULL);
    uint32_t rng = (uint32_t)data[0] << 8 | data[1];
    data += 2;
    size -= 2;
    (void)vt_banner_detect(data, size < VT_DETECT_MAX ? size : VT_DETECT_MAX, size >= 64);
    vt_banner_ssh.init(state);
    for (size_t i = 0; i < size;) {
        uint8_t out[2048];
        struct vt_bm_out o = {out, 0, sizeof(out)};
        rng = rng * 1103515245 + 12345;
        size_t k = 1 + (rng >> 16) % 64;
        if (k > size - i)
            k = size - i;
        enum vt_bm_verdict v = vt_banner_ssh.on_data(state, data + i, k, &o);
        fuzz_check(o.len <= o.cap);
        i += k;
        if (v == VT_BM_DONE)
            break;
    }
    (void)vt_banner_ssh.on_eof(state);
    struct vt_grab g;
    memset(&g, 0, sizeof(g));
    vt_banner_ssh.finish(state, &g);
    fuzz_check(g.banner_len <= VT_BANNER_TEXT_MAX);
    fuzz_check(g.nparts <= VT_BANNER_PARTS);
    for (size_t j = 0; j < g.nparts; j++)
        fuzz_check(g.parts[j].matches != NULL && g.parts[j].len <= VT_BANNER_TEXT_MAX);
    return 0;
}
