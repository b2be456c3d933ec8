/* keyring.c: the ZAP handler that admits only enrolled keys. See keyring.h. */
#include "keyring.h"

#include <string.h>

static void keyring_actor(zsock_t *pipe, void *arg)
{
    zsock_t *handler = zsock_new(ZMQ_REP);
    zhashx_t *keys = zhashx_new();
    if (!handler || !keys || zsock_bind(handler, "inproc://zeromq.zap.01") != 0) {
        zsock_signal(pipe, 1);
        zsock_destroy(&handler);
        zhashx_destroy(&keys);
        return;
    }
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    for (bool done = false; !done;) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe) {
            char *cmd = NULL, *key = NULL;
            if (zstr_recvx(pipe, &cmd, &key, NULL) < 1 || !strcmp(cmd, "$TERM")) {
                done = true;
            } else if (key && !strcmp(cmd, "ALLOW")) {
                zhashx_update(keys, key, (void *)1);
                zsock_signal(pipe, 0);
            } else if (key && !strcmp(cmd, "DENY")) {
                zhashx_delete(keys, key);
                zsock_signal(pipe, 0);
            } else {
                zsock_signal(pipe, 1);
            }
            zstr_free(&cmd);
            zstr_free(&key);
        } else if (which == handler) {
            /* RFC 27 request: version, sequence, domain, address, identity,
             * mechanism, credentials. Reply: version, sequence, status code,
             * status text, user id, metadata. The user id is the client's
             * key: the ROUTER's frames carry it as "User-Id". */
            zmsg_t *req = zmsg_recv(handler);
            if (!req)
                break;
            char *version = zmsg_popstr(req), *sequence = zmsg_popstr(req);
            zframe_t *domain = zmsg_pop(req), *address = zmsg_pop(req), *identity = zmsg_pop(req);
            char *mechanism = zmsg_popstr(req);
            zframe_t *cred = zmsg_pop(req);
            char key[41] = "";
            bool ok = version && !strcmp(version, "1.0") && mechanism &&
                      !strcmp(mechanism, "CURVE") && cred && zframe_size(cred) == 32 &&
                      zmq_z85_encode(key, zframe_data(cred), 32) && zhashx_lookup(keys, key);
            zstr_sendx(handler, "1.0", sequence ? sequence : "", ok ? "200" : "400",
                       ok ? "OK" : "not an enrolled worker key", ok ? key : "", "", NULL);
            zstr_free(&version);
            zstr_free(&sequence);
            zstr_free(&mechanism);
            zframe_destroy(&domain);
            zframe_destroy(&address);
            zframe_destroy(&identity);
            zframe_destroy(&cred);
            zmsg_destroy(&req);
        } else if (zpoller_terminated(poller)) {
            break;
        }
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
    zhashx_destroy(&keys);
}

zactor_t *vt_keyring_new(void)
{
    return zactor_new(keyring_actor, NULL);
}

void vt_keyring_set(zactor_t *ring, const char *key_z85, bool allow)
{
    if (!ring)
        return;
    zstr_sendx(ring, allow ? "ALLOW" : "DENY", key_z85, NULL);
    zsock_wait(ring);
}

void vt_keyring_destroy(zactor_t **ring)
{
    zactor_destroy(ring);
}
