/* fuzz_keyfile.c: libFuzzer target for key files (proto/keys.c), which both
 * daemons read at start and `vantage worker add --key FILE` reads from
 * whatever a partner sent.
 *
 * The input is the file's text. Beyond "no crash, no leak", it checks what
 * keys.h promises: a refusal comes with a one-line reason; a key taken is one
 * that Z85 round-trips (its text decodes to its bytes); a secret counts only
 * when it is not all zeros; pubkey's reader, given the same text, agrees on
 * whether it holds a secret, and derives from it the key its bytes make. */
#include <sodium.h>

#include "fuzz.h"
#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vt_keypair kp;
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = vt_key_text_parse((const char *)data, size, &kp, err, sizeof err);
    fuzz_check(rc == 0 || rc == -1);
    if (rc == -1) {
        fuzz_check_err(err, sizeof err);
        fuzz_check(strchr(err, '\n') == NULL);
    } else {
        uint8_t back[VT_KEY_LEN];
        fuzz_check(strlen(kp.public_txt) == VT_Z85_KEY_LEN);
        fuzz_check(vt_z85_key_valid(kp.public_txt));
        fuzz_check(vt_z85_decode(back, kp.public_txt, VT_Z85_KEY_LEN) == 0);
        fuzz_check(memcmp(back, kp.public_key, VT_KEY_LEN) == 0);
        static const uint8_t zero[VT_KEY_LEN];
        fuzz_check(kp.has_secret == (memcmp(kp.secret_key, zero, VT_KEY_LEN) != 0));
    }

    /* pubkey reads a C string: the same text when it holds no NUL. */
    char *text = fuzz_cstr(data, size);
    char z85[VT_Z85_KEY_LEN + 1];
    memset(err, 'x', sizeof err);
    int prc = vt_key_public_from_text(text, z85, err, sizeof err);
    fuzz_check(prc == 0 || prc == -1);
    if (prc == -1)
        fuzz_check_err(err, sizeof err);
    if (rc == 0 && strlen(text) == size) {
        fuzz_check((prc == 0) == kp.has_secret);
        if (prc == 0) {
            uint8_t want[VT_KEY_LEN], got[VT_KEY_LEN];
            fuzz_check(crypto_scalarmult_base(want, kp.secret_key) == 0);
            fuzz_check(vt_z85_decode(got, z85, VT_Z85_KEY_LEN) == 0);
            fuzz_check(memcmp(want, got, VT_KEY_LEN) == 0);
        }
    }
    vt_keypair_wipe(&kp);
    free(text);
    return 0;
}
