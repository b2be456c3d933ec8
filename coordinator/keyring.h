/* keyring.h: the coordinator's ZAP handler — who may connect at all.
 *
 * libzmq asks a ZAP handler (RFC 27, inproc://zeromq.zap.01) about every
 * CURVE handshake on a socket with a ZAP domain; without one it lets anyone
 * in. The keyring is that handler: an actor holding the enrolled workers'
 * public keys in memory, answering 200 for an enrolled key and 400 for any
 * other, in O(1) per handshake. It starts before the ROUTER binds, and
 * vt_keyring_guard makes the ROUTER refuse every handshake whenever no
 * handler answers (fail closed). Refused handshakes are logged, rate limited
 * (keyring.c).
 *
 * Why not zauth's certificate directory: CZMQ's disk store re-reads the whole
 * directory on every handshake, so a fleet of N workers reconnecting at once
 * (a coordinator restart) costs O(N²) — 4 s of CPU for 1,000 workers, with
 * every lease grant waiting behind it (docs/performance.md, "Cluster"). */
#ifndef VANTAGE_KEYRING_H
#define VANTAGE_KEYRING_H

#include <czmq.h>

/* Starts the handler. NULL if another ZAP handler is bound already. */
zactor_t *vt_keyring_new(void);
/* Puts a CURVE server socket under the keyring, before it binds: its ZAP
 * domain, and ZMQ_ZAP_ENFORCE_DOMAIN, so that a handshake that finds no ZAP
 * handler to ask fails (libzmq's default then lets everyone in). 0, or -1
 * (zmq_errno) if libzmq refuses either option. */
int vt_keyring_guard(zsock_t *sock);
/* Admits (allow true) or stops admitting a Z85 public key. Synchronous:
 * when it returns, the next handshake sees the change. */
void vt_keyring_set(zactor_t *ring, const char *key_z85, bool allow);
void vt_keyring_destroy(zactor_t **ring);

#endif
