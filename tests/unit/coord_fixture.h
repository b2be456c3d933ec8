/* coord_fixture.h: an in-process coordinator for unit tests (see
 * coord_fixture.c). Each test gets a fresh store in /tmp via setup/teardown;
 * coord_close + coord_open on the same directory is a coordinator restart. */
#ifndef VANTAGE_TEST_COORD_FIXTURE_H
#define VANTAGE_TEST_COORD_FIXTURE_H

#include <stdint.h>

#include "coord.h"
#include "control_request.h"

struct fixture {
    char dir[64];    /* the store */
    char keydir[64]; /* spare temp dir (the keyring needs none) */
    struct vt_coord *c;
};

/* A partner's local policy. */
struct policy {
    uint32_t scope_first, scope_last;
    uint32_t port_first, port_last;
    uint64_t max_rate; /* 0: none */
};

extern char err[512]; /* the last error text of a coordinator call */
extern const struct policy ANYTHING;

struct vt_coord *coord_open(const char *dir, const char *keydir);
void coord_close(struct vt_coord *c);
int setup(void **state);
int teardown(void **state);
/* Enrolls a worker and has it say Hello with policy p; it is online now. */
struct vt_worker *connect_worker(struct vt_coord *c, const char *name, const char *site,
                                 struct policy p);

/* An enrolled worker says Hello again with policy p. */
struct vt_worker *connect_worker_again(struct vt_coord *c, const char *name, struct policy p);

/* A result batch of up to 8 results, built on the stack, as a worker sends it. */
struct batch {
    Vantage__ResultBatch b;
    Vantage__Result r[8], *rp[8];
};
void batch_init(struct batch *x, uint64_t seq, uint64_t lease_id);
/* Adds a result (TTL 57) and returns it, for more fields. */
Vantage__Result *batch_add(struct batch *x, uint32_t ip, uint32_t port, bool open, uint64_t ts_ms);
/* Ingests x from w and commits (the Acks go nowhere). */
void ingest(struct vt_coord *c, struct vt_worker *w, struct batch *x);

/* A `query` through vt_query_run as the daemon answers it (req not
 * consumed), its rows frame read back: the reply with "rows" the array of
 * the rows parsed (each line must be one JSON object, as many as the reply
 * counts), or the reply as it is when it says ok false. */
json_t *query_run(struct vt_coord *c, json_t *req);

#endif
