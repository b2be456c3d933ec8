/* keys.c: CURVE key pairs, their ZPL files, and the keygen and pubkey
 * subcommands both programs share. See keys.h for the file layout and why
 * this needs no libzmq. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- Z85 ---- */

static const char z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

void vt_z85_encode(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint32_t v = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 | (uint32_t)in[i + 2] << 8 |
                     in[i + 3];
        for (int d = 4; d >= 0; d--) {
            out[d] = z85_alphabet[v % 85];
            v /= 85;
        }
        out += 5;
    }
    *out = '\0';
}

/* The value of one Z85 character, or -1. */
static int z85_digit(char c)
{
    const char *p = c ? strchr(z85_alphabet, c) : NULL;
    return p ? (int)(p - z85_alphabet) : -1;
}

int vt_z85_decode(uint8_t *out, const char *in, size_t len)
{
    if (len % 5)
        return -1;
    for (size_t i = 0; i < len; i += 5) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++) {
            int d = z85_digit(in[i + k]);
            if (d < 0)
                return -1;
            v = v * 85 + (uint64_t)d;
        }
        if (v > UINT32_MAX) /* "#####" is 85^5 - 1: more than four bytes hold */
            return -1;
        for (int b = 3; b >= 0; b--) {
            out[b] = (uint8_t)v;
            v >>= 8;
        }
        out += 4;
    }
    return 0;
}

bool vt_z85_key_valid(const char *s)
{
    uint8_t raw[VT_KEY_LEN];
    return s && strlen(s) == VT_Z85_KEY_LEN && vt_z85_decode(raw, s, VT_Z85_KEY_LEN) == 0;
}

/* ---- reading a key file (ZPL) ---- */

/* A ZPL name: letters, digits and $ - _ @ . & + / (rfc.zeromq.org/spec:4). */
static bool zpl_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("$-_@.&+/", c));
}

#define ZPL_MAX_DEPTH 16

/* One line's value into (*v, *vn), quoted "..." or '...', or bare up to a space
 * or '#'. Returns the position after it, or NULL if a quote is not closed. */
static const char *zpl_value(const char *p, const char *end, const char **v, size_t *vn)
{
    if (p < end && (*p == '"' || *p == '\'')) {
        const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (!close)
            return NULL;
        *v = p + 1;
        *vn = (size_t)(close - p - 1);
        return close + 1;
    }
    *v = p;
    while (p < end && *p != ' ' && *p != '#')
        p++;
    *vn = (size_t)(p - *v);
    return p;
}

/* A key's Z85 value into raw, or -1 with err naming the line. */
static int zpl_key(const char *what, const char *v, size_t vn, unsigned line,
                   uint8_t raw[VT_KEY_LEN], bool *seen, char *err, size_t errlen)
{
    if (*seen) {
        vt_set_err(err, errlen, "line %u: a second %s", line, what);
        return -1;
    }
    if (vn != VT_Z85_KEY_LEN || vt_z85_decode(raw, v, vn) != 0) {
        vt_set_err(err, errlen, "line %u: %s is not a 40-character Z85 key", line, what);
        return -1;
    }
    *seen = true;
    return 0;
}

int vt_key_text_parse(const char *text, size_t len, struct vt_keypair *kp, char *err, size_t errlen)
{
    memset(kp, 0, sizeof *kp);
    if (memchr(text, '\0', len)) {
        vt_set_err(err, errlen, "it holds NUL bytes");
        return -1;
    }
    /* The names of the open sections, outermost first: stack[0] is the
     * top-level name the current line sits under. */
    const char *stack[ZPL_MAX_DEPTH];
    size_t stack_len[ZPL_MAX_DEPTH];
    size_t depth = 0; /* names on the stack */
    bool has_public = false, has_secret = false;
    const char *end_of_text = text + len;
    unsigned line = 0;
    for (const char *p = text; p < end_of_text; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end_of_text - p));
        const char *end = nl ? nl : end_of_text;
        const char *next = nl ? nl + 1 : end_of_text;
        if (end > p && end[-1] == '\r')
            end--;
        size_t spaces = 0;
        while (p + spaces < end && p[spaces] == ' ')
            spaces++;
        const char *s = p + spaces;
        p = next;
        if (s == end) /* blank */
            continue;
        if (*s == '\t' || spaces % 4) { /* a comment too, as CZMQ reads it */
            vt_set_err(err, errlen, "line %u: indent by 4 spaces a level (no tabs)", line + 1);
            return -1;
        }
        if (*s == '#')
            continue;
        size_t level = spaces / 4;
        if (level > depth || level >= ZPL_MAX_DEPTH) {
            vt_set_err(err, errlen, "line %u: indented deeper than a section", line + 1);
            return -1;
        }
        const char *name = s;
        while (s < end && zpl_name_char(*s))
            s++;
        size_t name_len = (size_t)(s - name);
        if (!name_len) {
            vt_set_err(err, errlen, "line %u: expected a name", line + 1);
            return -1;
        }
        while (s < end && *s == ' ')
            s++;
        const char *v = NULL;
        size_t vn = 0;
        if (s < end && *s == '=') {
            s++;
            while (s < end && *s == ' ')
                s++;
            s = zpl_value(s, end, &v, &vn);
            if (!s) {
                vt_set_err(err, errlen, "line %u: a quote is not closed", line + 1);
                return -1;
            }
            while (s < end && *s == ' ')
                s++;
        }
        if (s < end && *s != '#') {
            vt_set_err(err, errlen, "line %u: unexpected '%c' after the name", line + 1, *s);
            return -1;
        }
        stack[level] = name;
        stack_len[level] = name_len;
        depth = level + 1;
        /* Only curve/public-key and curve/secret-key matter; metadata and the
         * rest are read for their syntax and left. */
        bool in_curve = level == 1 && stack_len[0] == 5 && !memcmp(stack[0], "curve", 5);
        if (!in_curve || !v)
            continue;
        if (name_len == 10 && !memcmp(name, "public-key", 10)) {
            if (zpl_key("public-key", v, vn, line + 1, kp->public_key, &has_public, err, errlen) !=
                0)
                return -1;
        } else if (name_len == 10 && !memcmp(name, "secret-key", 10)) {
            if (zpl_key("secret-key", v, vn, line + 1, kp->secret_key, &has_secret, err, errlen) !=
                0)
                return -1;
        }
    }
    if (!has_public) {
        vt_keypair_wipe(kp);
        vt_set_err(err, errlen, "no curve/public-key in it");
        return -1;
    }
    static const uint8_t zero[VT_KEY_LEN];
    kp->has_secret = has_secret && sodium_memcmp(kp->secret_key, zero, VT_KEY_LEN) != 0;
    vt_z85_encode(kp->public_txt, kp->public_key, VT_KEY_LEN);
    return 0;
}

int vt_key_file_read(const char *path, struct vt_keypair *kp, char *err, size_t errlen)
{
    memset(kp, 0, sizeof *kp);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        vt_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        vt_set_err(err, errlen, "%s is not a regular file", path);
        return -1;
    }
    enum { cap = VT_KEY_FILE_MAX + 1 }; /* one byte more tells a larger file */
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        vt_set_err(err, errlen, "cannot read %s: out of memory", path);
        return -1;
    }
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, buf + n, cap - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            vt_set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
            close(fd);
            sodium_memzero(buf, n);
            free(buf);
            return -1;
        }
        n += (size_t)r;
    }
    close(fd);
    int rc;
    if (n > VT_KEY_FILE_MAX) {
        vt_set_err(err, errlen, "it is larger than a key file (over %d bytes)", VT_KEY_FILE_MAX);
        rc = -1;
    } else {
        rc = vt_key_text_parse(buf, n, kp, err, errlen);
    }
    sodium_memzero(buf, n);
    free(buf);
    return rc;
}

void vt_keypair_wipe(struct vt_keypair *kp)
{
    sodium_memzero(kp->secret_key, sizeof kp->secret_key);
    kp->has_secret = false;
}

/* ---- writing a key pair ---- */

/* Writes one key file that must not exist yet (O_EXCL: no race with another
 * keygen, no symlink followed), with mode, and syncs it: a key that a crash
 * left empty would be found only when the partner's worker is refused. */
static int key_file_write(const char *path, const struct vt_keypair *kp, bool with_secret,
                          mode_t mode, char *err, size_t errlen)
{
    char when[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char secret_txt[VT_Z85_KEY_LEN + 1] = "";
    if (with_secret)
        vt_z85_encode(secret_txt, kp->secret_key, VT_KEY_LEN);
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "#   vantage CURVE %s key, made %s\n"
                     "#   %s\n"
                     "\n"
                     "metadata\n"
                     "curve\n"
                     "    public-key = \"%s\"\n"
                     "%s%s%s",
                     with_secret ? "secret" : "public", when,
                     with_secret ? "Keep it on this host, readable by its user only (mode 0600)."
                                 : "Safe to send: the other side enrolls it or connects to it.",
                     kp->public_txt, with_secret ? "    secret-key = \"" : "", secret_txt,
                     with_secret ? "\"\n" : "");
    sodium_memzero(secret_txt, sizeof secret_txt);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        sodium_memzero(text, sizeof text);
        vt_set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && off < (size_t)n) {
        ssize_t w = write(fd, text + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    sodium_memzero(text, sizeof text);
    if (rc == 0 && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
        rc = -1;
    if (rc != 0)
        vt_set_err(err, errlen, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
    if (close(fd) != 0 && rc == 0) {
        vt_set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(path);
    return rc;
}

int vt_keygen(const char *path, char public_z85[VT_Z85_KEY_LEN + 1], char *err, size_t errlen)
{
    char pub[PATH_MAX];
    if (snprintf(pub, sizeof pub, "%s.pub", path) >= (int)sizeof pub) {
        vt_set_err(err, errlen, "key file name too long: %s", path);
        return -1;
    }
    const char *exists = access(path, F_OK) == 0 ? path : access(pub, F_OK) == 0 ? pub : NULL;
    if (exists) {
        vt_set_err(err, errlen, "%s already exists; refusing to overwrite a key (remove it first)",
                   exists);
        return -1;
    }
    if (sodium_init() < 0) {
        vt_set_err(err, errlen, "cannot create a key pair: libsodium does not start");
        return -1;
    }
    struct vt_keypair kp = {.has_secret = true};
    crypto_box_keypair(kp.public_key, kp.secret_key); /* Curve25519, as CURVE uses */
    vt_z85_encode(kp.public_txt, kp.public_key, VT_KEY_LEN);
    int rc = key_file_write(path, &kp, true, 0600, err, errlen);
    if (rc == 0 && (rc = key_file_write(pub, &kp, false, 0644, err, errlen)) != 0)
        unlink(path); /* half a pair is no key */
    if (rc == 0)
        snprintf(public_z85, VT_Z85_KEY_LEN + 1, "%s", kp.public_txt);
    vt_keypair_wipe(&kp);
    return rc;
}

int vt_key_load_secret(const char *path, const char *prog, struct vt_keypair *kp, char *err,
                       size_t errlen)
{
    memset(kp, 0, sizeof *kp);
    struct stat st;
    if (stat(path, &st) != 0) {
        vt_set_err(err, errlen, "cannot read the key %s: %s (create it with: %s keygen --out %s)",
                   path, strerror(errno), prog, path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        vt_set_err(err, errlen,
                   "%s is not a key file (give the secret key file that %s keygen wrote)", path,
                   prog);
        return -1;
    }
    if (access(path, R_OK) != 0) {
        vt_set_err(err, errlen, "cannot read the key %s: %s (it must be readable by uid %u)", path,
                   strerror(errno), (unsigned)geteuid());
        return -1;
    }
    char why[256];
    if (vt_key_file_read(path, kp, why, sizeof why) != 0) {
        vt_set_err(err, errlen,
                   "%s is not a key file: %s (give the secret key file that %s keygen wrote)", path,
                   why, prog);
        return -1;
    }
    if (!kp->has_secret) {
        vt_set_err(err, errlen,
                   "%s holds no secret key (give the secret key file, not the .pub one)", path);
        return -1;
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
        vt_keypair_wipe(kp);
        return -1;
    }
    uint8_t derived[VT_KEY_LEN];
    if (crypto_scalarmult_base(derived, kp->secret_key) != 0 ||
        memcmp(derived, kp->public_key, VT_KEY_LEN) != 0) {
        vt_set_err(err, errlen,
                   "%s: its public key is not the one its secret key makes (edited by hand? make "
                   "a new pair with %s keygen)",
                   path, prog);
        vt_keypair_wipe(kp);
        return -1;
    }
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

/* ---- the public key of a secret ---- */

int vt_key_public_from_text(const char *text, char public_z85[VT_Z85_KEY_LEN + 1], char *err,
                            size_t errlen)
{
    struct vt_keypair kp = {0};
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    if (n == VT_Z85_KEY_LEN && vt_z85_decode(kp.secret_key, text, n) == 0) {
        kp.has_secret = true; /* a bare key, as `wg pubkey` reads */
    } else {
        char why[256];
        bool parsed = vt_key_text_parse(text, strlen(text), &kp, why, sizeof why) == 0;
        if (!kp.has_secret) {
            vt_set_err(err, errlen, "%s",
                       parsed ? "this is a public key file: give the secret key file (the one "
                                "without .pub) on stdin"
                              : "stdin holds no secret key: give a secret key file that keygen "
                                "wrote, or a 40-character Z85 secret key");
            return -1;
        }
    }
    uint8_t pub[VT_KEY_LEN];
    int rc = crypto_scalarmult_base(pub, kp.secret_key);
    vt_keypair_wipe(&kp);
    if (rc != 0) {
        vt_set_err(err, errlen, "cannot derive the public key from this secret key");
        return -1;
    }
    vt_z85_encode(public_z85, pub, VT_KEY_LEN);
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
