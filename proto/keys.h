/* keys.h: CURVE key pairs and their files, shared by both programs' keygen and
 * pubkey, the daemons' start and `vantage worker add --key`.
 *
 * A key file is ZPL text (ZeroMQ's property language, rfc.zeromq.org/spec:4)
 * laid out as CZMQ's certificates are, so that either side reads what the
 * other wrote:
 *
 *     curve
 *         public-key = "<40 characters of Z85>"
 *         secret-key = "<40 characters of Z85>"     (FILE only, never FILE.pub)
 *
 * FILE holds both keys and is created with mode 0600; FILE.pub holds the public
 * key only. The public key's Z85 text (ZeroMQ RFC 32) is what an operator
 * copies to enroll a worker.
 *
 * This file needs libsodium only, not libzmq or CZMQ: the operator's CLI makes
 * keys and enrolls workers, and loading libzmq would cost every one of its
 * commands (a query included) more than the query itself. The daemons turn a
 * loaded pair into a zcert_t with zcert_new_from(). */
#ifndef VANTAGE_KEYS_H
#define VANTAGE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_KEY_LEN      32
#define VT_Z85_KEY_LEN  40
#define VT_KEY_FILE_MAX 65536 /* larger is not a key file */

/* One key pair as read from a file. has_secret: the file held a secret key
 * (an all-zero one, as old public files carry, counts as none). */
struct vt_keypair {
    uint8_t public_key[VT_KEY_LEN];
    uint8_t secret_key[VT_KEY_LEN];
    char public_txt[VT_Z85_KEY_LEN + 1];
    bool has_secret;
};

/* Z85 (ZeroMQ RFC 32). encode: n a multiple of 4, out has room for n * 5 / 4
 * + 1 bytes and ends with NUL. decode: len a multiple of 5, out has room for
 * len * 4 / 5 bytes; -1 on a character outside the alphabet or a group worth
 * more than 32 bits. */
void vt_z85_encode(char *out, const uint8_t *in, size_t n);
int vt_z85_decode(uint8_t *out, const char *in, size_t len);

/* A CURVE key as Z85 text: exactly 40 characters that decode to 32 bytes. */
bool vt_z85_key_valid(const char *s);

/* Parses a key file's text (len bytes, need not end with NUL) into kp: 0, or
 * -1 with err saying which line is wrong or what the text lacks (no
 * curve/public-key, a key that is not Z85, a NUL byte, ...). */
int vt_key_text_parse(const char *text, size_t len, struct vt_keypair *kp, char *err,
                      size_t errlen);

/* Reads and parses the key file path (at most VT_KEY_FILE_MAX bytes): 0, or
 * -1 with err set ("cannot read ...: REASON" or the parse error). Checks no
 * mode: vt_key_load_secret does, for a secret the program will use. */
int vt_key_file_read(const char *path, struct vt_keypair *kp, char *err, size_t errlen);

/* Wipes a pair's secret once it has been handed on. */
void vt_keypair_wipe(struct vt_keypair *kp);

/* Creates a new key pair in path (secret, 0600) and path.pub. Refuses to
 * overwrite an existing file, and leaves neither file behind on failure. On
 * success writes the public Z85 key into public_z85 and returns 0; else -1
 * with err set. */
int vt_keygen(const char *path, char public_z85[VT_Z85_KEY_LEN + 1], char *err, size_t errlen);

/* Loads the secret key file path for a program about to use it (both daemons
 * call this, never the reader on its own), refusing, each with one line in err
 * that says how to mend it:
 *   - a missing or unreadable file, or one that is not a key file;
 *   - a file others may read or write, or, if this user owns it, its group
 *     (as ssh does: "permissions 0644 for FILE are too open; chmod 600 FILE").
 *     A file another user owns may be mode 0640, so that root:vantage 0640
 *     works for a service running as vantage; mode 0600 always does;
 *   - a .pub file (no secret key in it), or a file whose public key is not
 *     the one its secret key makes (edited by hand?).
 * prog names the program for the hint ("create it with: PROG keygen ...").
 * 0 with kp filled (vt_keypair_wipe it when done), or -1 with err set. */
int vt_key_load_secret(const char *path, const char *prog, struct vt_keypair *kp, char *err,
                       size_t errlen);

/* Shared body of both programs' `keygen` subcommand. */
int vt_keygen_main(const char *prog, int argc, char **argv);

/* The public key (Z85) that a secret key makes, from text that is either a
 * secret key file's contents or one bare Z85 secret key (40 characters,
 * optionally followed by a newline). 0 with public_z85 set, or -1 with err
 * saying what the text lacks. */
int vt_key_public_from_text(const char *text, char public_z85[VT_Z85_KEY_LEN + 1], char *err,
                            size_t errlen);

/* Shared body of both programs' `pubkey` subcommand: reads a secret key on
 * stdin and prints its public key on one line, as `wg pubkey` does. */
int vt_pubkey_main(const char *prog, int argc, char **argv);

#endif
