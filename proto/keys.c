/* keys.c: CURVE key pairs in CZMQ certificate files. See keys.h. */
#include "keys.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int vt_keygen(const char *path, char public_z85[VT_Z85_KEY_LEN + 1], char *err, size_t errlen)
{
    char pub[PATH_MAX];
    if (snprintf(pub, sizeof pub, "%s.pub", path) >= (int)sizeof pub) {
        snprintf(err, errlen, "key file name too long: %s", path);
        return -1;
    }
    const char *exists = access(path, F_OK) == 0 ? path : access(pub, F_OK) == 0 ? pub : NULL;
    if (exists) {
        snprintf(err, errlen, "%s already exists; refusing to overwrite a key (remove it first)",
                 exists);
        return -1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(err, errlen, "cannot create a key pair: %s", strerror(errno));
        return -1;
    }
    /* The secret file must never exist with looser permissions, not even for a moment. */
    mode_t old = umask(077);
    int rc = zcert_save_secret(cert, path);
    umask(old);
    if (rc == 0)
        rc = zcert_save_public(cert, pub);
    if (rc != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        zcert_destroy(&cert);
        return -1;
    }
    if (chmod(path, 0600) != 0) {
        snprintf(err, errlen, "cannot set mode 0600 on %s: %s", path, strerror(errno));
        zcert_destroy(&cert);
        return -1;
    }
    snprintf(public_z85, VT_Z85_KEY_LEN + 1, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int vt_keygen_main(const char *prog, int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            printf("usage: %s keygen --out FILE\n"
                   "\n"
                   "Creates a CURVE key pair: FILE holds the secret key (mode 0600, keep it\n"
                   "on this host), FILE.pub the public key. Prints the public key (Z85, 40\n"
                   "characters) on stdout: that is what you send to the other side.\n"
                   "\n"
                   "  -o, --out FILE   where to write the key pair (must not exist)\n"
                   "\n"
                   "Example:\n"
                   "  %s keygen --out /etc/vantage/worker.key\n",
                   prog, prog);
            return 0;
        case ':':
            vt_usage_error(prog, "keygen: %s needs a value", argv[optind - 1]);
            break;
        default:
            vt_usage_error(prog, "keygen: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        vt_usage_error(prog, "keygen: unexpected argument '%s'", argv[optind]);
    if (!out)
        vt_usage_error(prog, "keygen: --out FILE is required");
    char z85[VT_Z85_KEY_LEN + 1], err[512];
    if (vt_keygen(out, z85, err, sizeof err) != 0)
        vt_fatal(prog, "keygen: %s", err);
    printf("%s\n", z85);
    return 0;
}
