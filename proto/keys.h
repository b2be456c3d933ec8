/* keys.h: CURVE key files, shared by `vantage keygen` and `vantage-worker keygen`.
 *
 * Key files are CZMQ certificates (zcert): FILE holds the secret key and is
 * created with mode 0600; FILE.pub holds the public key only. The public key's
 * Z85 text (40 characters) is what an operator copies to enroll a worker. */
#ifndef VANTAGE_KEYS_H
#define VANTAGE_KEYS_H

#include <stddef.h>

#define VT_Z85_KEY_LEN 40

/* Creates a new key pair in path (secret, 0600) and path.pub. Refuses to
 * overwrite an existing file. On success writes the public Z85 key into
 * public_z85 (41 bytes) and returns 0; else -1 with err set. */
int vt_keygen(const char *path, char public_z85[VT_Z85_KEY_LEN + 1], char *err, size_t errlen);

/* Shared body of both programs' `keygen` subcommand. */
int vt_keygen_main(const char *prog, int argc, char **argv);

#endif
