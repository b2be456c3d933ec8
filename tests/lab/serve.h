/*
 * serve.h: devsim's server mode. One process, one epoll loop, non-blocking
 * sockets: it listens on the six lab ports on 0.0.0.0 in the target namespace
 * and, for every accepted connection, plays the device that owns the
 * connection's destination address in the current epoch (telnet greeting and
 * login prompt, or an HTTP answer). SIGHUP re-reads the epoch file.
 */
#ifndef VANTAGE_LAB_SERVE_H
#define VANTAGE_LAB_SERVE_H

#include "world.h"

struct serve_opts {
    struct world_params params;
    unsigned epoch;         /* the epoch to play when there is no epoch file */
    const char *epoch_file; /* holds the epoch number to play; read at start and on SIGHUP */
    const char *ready_file; /* written ("epoch N\n") once the epoch is being served */
    unsigned max_conns;     /* connections served at once; more are closed at once */
};

/* Runs until SIGTERM or SIGINT. Returns 0 on a clean stop, -1 on failure. */
int serve_run(const struct serve_opts *o);

#endif
