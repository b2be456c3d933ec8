/* coord_fixture.c: an in-process coordinator for the unit tests of the
 * coordinator's state (test_lease.c, test_ingest.c): a `struct vt_coord`
 * around a temporary store, as `vantage serve` builds it minus the sockets,
 * and workers that "connect" by a Hello. See coord_fixture.h. */
#define _GNU_SOURCE /* nftw, program_invocation_short_name */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord_fixture.h"

char err[512];

/* A coordinator context as `vantage serve` builds it, minus the sockets, with
 * whatever the store holds loaded. */
struct vt_coord *coord_open(const char *dir, const char *keydir)
{
    struct vt_coord *c = calloc(1, sizeof *c);
    assert_non_null(c);
    err[0] = '\0';
    c->store = vt_store_open(dir, err, sizeof err);
    if (!c->store)
        fail_msg("%s", err);
    (void)keydir; /* the keyring (ZAP) is not started here: no sockets */
    c->window_s = 3600;
    vt_targets_init(&c->base_blocklist);
    vt_targets_init(&c->optout);
    assert_int_equal(vt_targets_builtin_blocklist(&c->base_blocklist), 0);
    c->batch = vt_batch_new();
    assert_non_null(c->batch);
    if (vt_registry_load(c, err, sizeof err) != 0 || vt_optout_load(c) != 0 ||
        vt_campaigns_load(c, err, sizeof err) != 0 || vt_leases_load(c) != 0)
        fail_msg("cannot load the store: %s", err);
    return c;
}

void coord_close(struct vt_coord *c)
{
    vt_coord_release(c); /* what vantage serve frees at exit */
    free(c);
}

int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/%s.XXXXXX", program_invocation_short_name);
    snprintf(f->keydir, sizeof f->keydir, "/tmp/%s_keys.XXXXXX", program_invocation_short_name);
    assert_non_null(mkdtemp(f->dir));
    assert_non_null(mkdtemp(f->keydir));
    f->c = coord_open(f->dir, f->keydir);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->c)
        coord_close(f->c);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    nftw(f->keydir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

const struct policy ANYTHING = {0, UINT32_MAX, 1, 65535, 0};

/* Enrolls a worker and has it say Hello with policy p; it is online now. */
struct vt_worker *connect_worker(struct vt_coord *c, const char *name, const char *site,
                                 struct policy p)
{
    char pub[41], secret[41];
    assert_int_equal(zmq_curve_keypair(pub, secret), 0);
    if (vt_worker_add(c, name, pub, site, 0, err, sizeof err) != 0)
        fail_msg("%s", err);
    return connect_worker_again(c, name, p);
}

/* An enrolled worker says Hello with policy p (after a restart of either side). */
struct vt_worker *connect_worker_again(struct vt_coord *c, const char *name, struct policy p)
{
    struct vt_worker *w = vt_worker_by_name(c, name);
    assert_non_null(w);

    Vantage__Range scope = VANTAGE__RANGE__INIT, *scopes[1] = {&scope};
    scope.first = p.scope_first;
    scope.last = p.scope_last;
    Vantage__PortRange ports = VANTAGE__PORT_RANGE__INIT, *portv[1] = {&ports};
    ports.first = p.port_first;
    ports.last = p.port_last;
    Vantage__Policy pol = VANTAGE__POLICY__INIT;
    pol.scope = scopes;
    pol.n_scope = 1;
    pol.ports = portv;
    pol.n_ports = 1;
    pol.has_max_rate = p.max_rate != 0;
    pol.max_rate = p.max_rate;
    Vantage__Hello h = VANTAGE__HELLO__INIT;
    h.name = (char *)name;
    h.software = program_invocation_short_name;
    h.policy = &pol;
    vt_worker_on_hello(c, w, &h);
    w->last_seen_ms = vt_mono_ms();
    return w;
}

json_t *control_request(const char *path, json_t *req, int timeout_ms)
{
    zsock_t *s = zsock_new(ZMQ_REQ);
    assert_non_null(s);
    zsock_set_linger(s, 0);
    assert_int_equal(zsock_connect(s, "ipc://%s", path), 0);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    assert_non_null(text);
    zstr_send(s, text);
    free(text);
    zpoller_t *p = zpoller_new(s, NULL);
    json_t *rep = NULL;
    if (zpoller_wait(p, timeout_ms) == s) {
        char *r = zstr_recv(s);
        rep = r ? json_loads(r, 0, NULL) : NULL;
        zstr_free(&r);
    }
    zpoller_destroy(&p);
    zsock_destroy(&s);
    return rep;
}

void batch_init(struct batch *x, uint64_t seq, uint64_t lease_id)
{
    vantage__result_batch__init(&x->b);
    x->b.seq = seq;
    x->b.lease_id = lease_id;
    x->b.results = x->rp;
    x->b.n_results = 0;
}

Vantage__Result *batch_add(struct batch *x, uint32_t ip, uint32_t port, bool open, uint64_t ts_ms)
{
    assert_true(x->b.n_results < 8);
    Vantage__Result *r = &x->r[x->b.n_results];
    vantage__result__init(r);
    r->ip = ip;
    r->port = port;
    r->open = open;
    r->has_ttl = true;
    r->ttl = 57;
    r->ts_ms = ts_ms;
    x->rp[x->b.n_results++] = r;
    return r;
}

void ingest(struct vt_coord *c, struct vt_worker *w, struct batch *x)
{
    vt_ingest_batch(c, w, &x->b);
    vt_ingest_commit(c);
    assert_int_equal(c->npending, 0);
}

json_t *query_run(struct vt_coord *c, json_t *req)
{
    struct vt_buf text = {0};
    json_t *rep = vt_query_run(c, req, &text);
    assert_non_null(rep);
    if (!json_is_true(json_object_get(rep, "ok"))) {
        assert_int_equal(text.len, 0);
        return rep;
    }
    json_t *rows = json_array();
    const char *p = text.p ? text.p : "", *end = p + text.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl); /* every row ends its line */
        json_error_t jerr;
        json_t *row = json_loadb(p, (size_t)(nl - p), 0, &jerr);
        if (!json_is_object(row))
            fail_msg("a row is not a JSON object: %s: %.*s", jerr.text, (int)(nl - p), p);
        json_array_append_new(rows, row);
        p = nl + 1;
    }
    assert_int_equal(json_integer_value(json_object_get(rep, "rows")), json_array_size(rows));
    json_object_set_new(rep, "rows", rows);
    vt_buf_free(&text);
    return rep;
}
