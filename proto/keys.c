/* keys.c: CURVE key pairs in CZMQ certificate files, and the keygen and
 * pubkey subcommands both programs share. See keys.h. */
#include "keys.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
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

/* Z85 text of one key: 40 characters of the Z85 alphabet. */
static bool z85_key(const char *s, size_t n)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";
    if (n != VT_Z85_KEY_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(alphabet, s[i]))
            return false;
    return true;
}

int vt_key_public_from_text(const char *text, char public_z85[VT_Z85_KEY_LEN + 1], char *err,
                            size_t errlen)
{
    char secret[VT_Z85_KEY_LEN + 1] = "";
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    if (z85_key(text, n)) {
        memcpy(secret, text, VT_Z85_KEY_LEN); /* a bare key, as `wg pubkey` reads */
    } else {
        zconfig_t *root = zconfig_str_load(text);
        const char *s = root ? zconfig_get(root, "curve/secret-key", NULL) : NULL;
        bool is_pub = root && !s && zconfig_get(root, "curve/public-key", NULL);
        if (s && z85_key(s, strlen(s)))
            memcpy(secret, s, VT_Z85_KEY_LEN);
        zconfig_destroy(&root);
        if (!secret[0]) {
            vt_set_err(err, errlen, "%s",
                       is_pub ? "this is a public key file: give the secret key file (the one "
                                "without .pub) on stdin"
                              : "stdin holds no secret key: give a secret key file that keygen "
                                "wrote, or a 40-character Z85 secret key");
            return -1;
        }
    }
    int rc = zmq_curve_public(public_z85, secret);
    explicit_bzero(secret, sizeof secret);
    if (rc != 0) {
        vt_set_err(err, errlen, "cannot derive the public key: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int vt_pubkey_main(const char *prog, int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: %s pubkey < SECRET-KEY-FILE\n"
               "\n"
               "Reads a secret key on stdin, the contents of a file that keygen wrote (or\n"
               "one bare 40-character Z85 secret key), and prints its public key (Z85) on\n"
               "one line, as `wg pubkey` does: the text to send to the other side, or to\n"
               "check against a FILE.pub you were given.\n"
               "\n"
               "  -h, --help   show this help\n"
               "\n"
               "Example:\n"
               "  %s pubkey < /etc/vantage/worker.key\n",
               prog, prog);
        return 0;
    }
    if (argc > 1)
        vt_usage_error(prog, "pubkey: unexpected argument '%s' (the secret key is read on stdin)",
                       argv[1]);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    if (ferror(stdin))
        vt_fatal(prog, "pubkey: cannot read stdin: %s", strerror(errno));
    if (n == sizeof buf - 1)
        vt_fatal(prog, "pubkey: stdin is larger than a key file (%zu bytes or more)", n);
    buf[n] = '\0';
    if (memchr(buf, '\0', n))
        vt_fatal(prog, "pubkey: stdin is not a key file (it holds NUL bytes)");
    char z85[VT_Z85_KEY_LEN + 1], err[256];
    int rc = vt_key_public_from_text(buf, z85, err, sizeof err);
    explicit_bzero(buf, sizeof buf);
    if (rc != 0)
        vt_fatal(prog, "pubkey: %s", err);
    printf("%s\n", z85);
    if (fflush(stdout) != 0)
        vt_fatal(prog, "pubkey: cannot write to stdout");
    return 0;
}
