/* fuzz_rules.c: libFuzzer target for rule files (proto/fingerprint.c), which
 * come from operators (--rules DIR, Recog's database or their own).
 *
 * The input is one rule file. It exercises libxml2's parsing under our
 * options, the Ruby-to-PCRE2 translation, param checks, examples (base64)
 * and, when rules loaded, matching (captures, interpolation, labels) and
 * verification. Beyond "no crash, no leak, no hang", it checks what
 * fingerprint.h promises: a refused file adds nothing and err says why; a
 * loaded one counts one file; matching returns how many files matched (never
 * more than loaded, never -1 here), and labels hold keys once each. */
#include "fingerprint.h"
#include "fuzz.h"

/* Texts a fuzzed pattern might match: ASCII, UTF-8, bytes that are not
 * UTF-8 (telnet IAC), empty, and trailing CR LF to trim. */
static const struct {
    const char *s;
    size_t len;
} texts[] = {
#define TEXT(s)                                                                                    \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }
    TEXT("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3"),
    TEXT("Sign in \xc2\xb7 GitLab\r\n"),
    TEXT("\xff\xfb\x01\xff\xfd\x18\r\nlogin: "),
    TEXT(""),
    TEXT("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"),
    TEXT("a\0b\n\xc3"),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct vt_rules *rs = vt_rules_new();
    fuzz_check(rs != NULL);
    FILE *devnull = fopen("/dev/null", "w");
    fuzz_check(devnull != NULL);

    memset(err, 'x', sizeof err);
    if (vt_rules_load_buffer(rs, "fuzz.xml", (const char *)data, size, devnull, err, sizeof err) !=
        0) {
        fuzz_check_err(err, sizeof err);
        fuzz_check(vt_rules_files(rs) == 0 && vt_rules_count(rs) == 0);
        vt_rules_free(rs);
        fclose(devnull);
        return 0;
    }
    fuzz_check(vt_rules_files(rs) == 1);

    if (vt_rules_count(rs) > 0) {
        /* The file's matches name is unknown here: try the names the
         * grabber uses and the default one, "fuzz". */
        static const char *const names[] = {"telnet.banner", "ssh.banner", "html_title",
                                            "http_header.server", "fuzz"};
        struct vt_labels l;
        vt_labels_init(&l);
        for (size_t n = 0; n < sizeof names / sizeof names[0]; n++)
            for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
                vt_labels_clear(&l);
                int k = vt_rules_match(rs, names[n], texts[t].s, texts[t].len, &l);
                fuzz_check(k == 0 || k == 1);
                fuzz_check(k == 1 || l.n == 0);
                fuzz_check(vt_rules_have(rs, names[n]) || k == 0);
                for (size_t i = 0; i < l.n; i++)
                    for (size_t j = i + 1; j < l.n; j++)
                        fuzz_check(strcmp(l.v[i].key, l.v[j].key) != 0);
            }
        vt_labels_free(&l);
        (void)vt_rules_verify(rs, devnull);
    }
    vt_rules_free(rs);
    fclose(devnull);
    return 0;
}
