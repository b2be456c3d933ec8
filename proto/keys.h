/* keys.h: CURVE key files, shared by `vantage keygen` and `vantage-worker keygen`.
 *
 * Key files are CZMQ certificates (zcert): FILE holds the secret key and is
 * created with mode 0600; FILE.pub holds the public key only. The public key's
 * Z85 text (40 characters) is what an operator copies to enroll a worker. */
#ifndef VANTAGE_KEYS_H
#define VANTAGE_KEYS_H

#include <czmq.h>
#include <stddef.h>

#define VT_Z85_KEY_LEN 40

/* Creates a new key pair in path (secret, 0600) and path.pub. Refuses to
 * overwrite an existing file. On success writes the public Z85 key into
 * public_z85 (41 bytes) and returns 0; else -1 with err set. */
int vt_keygen(const char *path, char public_z85[VT_Z85_KEY_LEN + 1], char *err, size_t errlen);

/* Loads the secret key file path for a program about to use it (both
 * daemons call this, never zcert_load on their own), refusing, each with one
 * line in err that says how to mend it:
 *   - a missing or unreadable file, or one that is not a key file;
 *   - a file others may read or write, or, if this user owns it, its group
 *     (as ssh does: "permissions 0644 for FILE are too open; chmod 600 FILE").
 *     A file another user owns may be mode 0640, so that root:vantage 0640
 *     works for a service running as vantage; mode 0600 always does;
 *   - a .pub file (no secret key in it), or a file whose public key is not
 *     the one its secret key makes (edited by hand?).
 * prog names the program for the hint ("create it with: PROG keygen ...").
 * Returns the certificate (zcert_destroy it), or NULL with err set. */
zcert_t *vt_key_load_secret(const char *path, const char *prog, char *err, size_t errlen);

/* Shared body of both programs' `keygen` subcommand. */
int vt_keygen_main(const char *prog, int argc, char **argv);

/* The public key (Z85) that a secret key makes, from text that is either a
 * secret key file's contents (a CZMQ certificate with curve/secret-key) or
 * one bare Z85 secret key (40 characters, optionally followed by a newline).
 * 0 with public_z85 set, or -1 with err saying what the text lacks. */
int vt_key_public_from_text(const char *text, char public_z85[VT_Z85_KEY_LEN + 1], char *err,
                            size_t errlen);

/* Shared body of both programs' `pubkey` subcommand: reads a secret key on
 * stdin and prints its public key on one line, as `wg pubkey` does. */
int vt_pubkey_main(const char *prog, int argc, char **argv);

#endif
