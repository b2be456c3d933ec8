/* keys.c: CURVE key pairs in CZMQ certificate files. See keys.h. */
#include "keys.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
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

zcert_t *vt_key_load_secret(const char *path, const char *prog, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        vt_set_err(err, errlen, "cannot read the key %s: %s (create it with: %s keygen --out %s)",
                   path, strerror(errno), prog, path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        vt_set_err(err, errlen,
                   "%s is not a key file (give the secret key file that %s keygen wrote)", path,
                   prog);
        return NULL;
    }
    /* zcert_load says only NULL: open the file first to say why. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vt_set_err(err, errlen, "cannot read the key %s: %s (it must be readable by uid %u)", path,
                   strerror(errno), (unsigned)geteuid());
        return NULL;
    }
    close(fd);
    zcert_t *cert = zcert_load(path);
    if (!cert) {
        vt_set_err(err, errlen,
                   "%s is not a key file (give the secret key file that %s keygen wrote)", path,
                   prog);
        return NULL;
    }
    static const uint8_t zero[32];
    char derived[VT_Z85_KEY_LEN + 1] = "";
    if (!memcmp(zcert_secret_key(cert), zero, sizeof zero)) {
        vt_set_err(err, errlen,
                   "%s holds no secret key (give the secret key file, not the .pub one)", path);
        zcert_destroy(&cert);
        return NULL;
    }
    /* The mode, once the file is known to hold a secret (a .pub file is told
     * as such above, whatever its mode). Others: never. The group: reading
     * only, and only when another user owns the file (root:vantage 0640 is
     * how a service is given a key root keeps); a key this user owns and
     * shares with a group is a copy made carelessly. */
    mode_t perm = st.st_mode & 07777;
    mode_t allowed = st.st_uid != geteuid() ? S_IRGRP : 0;
    if (perm & (S_IRWXO | (S_IRWXG & ~allowed))) {
        vt_set_err(err, errlen, "permissions %04o for %s are too open; chmod 600 %s",
                   (unsigned)perm, path, path);
        zcert_destroy(&cert);
        return NULL;
    }
    if (zmq_curve_public(derived, zcert_secret_txt(cert)) != 0 ||
        strcmp(derived, zcert_public_txt(cert)) != 0) {
        vt_set_err(err, errlen,
                   "%s: its public key is not the one its secret key makes (edited by hand? make "
                   "a new pair with %s keygen)",
                   path, prog);
        zcert_destroy(&cert);
        return NULL;
    }
    return cert;
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
