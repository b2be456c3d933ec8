/* coord.h: the coordinator daemon's one context struct and the pieces that
 * share it.
 *
 * `vantage serve` is one thread around one zpoller: the workers' ROUTER, the
 * operators' control REP, and a 250 ms tick. Everything it knows lives in this
 * struct and, durably, in the store's meta column family, so a restart picks
 * up campaigns, shards, checkpoints, leases and per-worker sequence numbers.
 *
 * Dependencies point one way (top to bottom); each part changes only its own
 * fields and calls the ones below it:
 *
 *   serve.c     the command, the sockets and the loop
 *   session.c   one worker message: checks, dispatch, Welcome, Heartbeat
 *   control.c   the operators' JSON requests (docs/control.md)
 *   query.c     the control request "query": a page of rows
 *   count.c     the control request "count": devices, paged through a cursor
 *               (the estimator is devices.c, a pure computation)
 *   select.c    what read requests select and the seeks that find it
 *   relabel.c   stored banners re-identified with the rules of the day
 *   retention.c --retention: old windows, their devices and banners dropped
 *   campaign.c  campaigns and runs (state, status), persisted in meta
 *   ingest.c    result batches → checks → one RocksDB write batch → Ack
 *   registry.c  enrolled workers, keys (keyring.c), connection state, policy
 *   optout.c    the opt-out list and its generation
 *   lease.c     the ONLY writer of lease, slot and worker-lease state
 *   shard.c     a run's space cut into cells (by the workers' scopes) and
 *               shards (arcs of each cell's walk)
 *   meta.c      the per-turn state batch, the lease-id high-water mark, and
 *               vt_coord_release (every part's state freed at exit)
 *   metrics.c   the --metrics text and systemd's status line (reads only)
 *   base.c      logging, clocks (monotonic for durations, wall for stored
 *               times), escaping of peer text, sending to a worker
 */
#ifndef VANTAGE_COORD_H
#define VANTAGE_COORD_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "fingerprint.h"
#include "log.h"
#include "metrics_http.h"
#include "ports.h"
#include "store.h"
#include "text.h"
#include "targets.h"

#define VT_HEARTBEAT_MS    1000
#define VT_ONLINE_MS       5000  /* seen within this: online */
#define VT_LEASE_MS        15000 /* a lease lapses without Progress for this long */
#define VT_LEASE_SETTLE_MS 5000  /* a request for work this soon after a grant crossed it */
#define VT_CREDITS         8     /* result batches a worker may have in flight */
#define VT_LOG_EVERY_MS    60000 /* complaints about one peer: at most once a minute */
#define VT_SHARD_SECONDS   120   /* a shard is about this long at the campaign's rate */
#define VT_MIN_SHARDS      4
#define VT_QUERY_EXAMINE   200000 /* store records one query request may read */
#define VT_COUNT_CURSORS   4      /* `count` requests paged at once */
#define VT_SERVICES_PAGE   5000   /* services in one `count` reply (what "services") */
#define VT_COUNT_IDLE_MS   60000  /* a `count` not continued for this long is dropped */
#define VT_SHARED_MIN      3      /* addresses in one window that make an identifier shared */
#define VT_MAX_CELLS       1024   /* pieces a run's space is cut into by scopes */
#define VT_MAX_REDOS       2      /* re-scans of a K=1 slot that lost answers */
#define VT_INFLIGHT_MAX    4096   /* result batches in flight from all workers */
#define VT_HELLO_BURST     5      /* Hellos one key may say ... */
#define VT_HELLO_WINDOW_MS 10000  /* ... in this long */
#define VT_LEASE_ID_BLOCK  1024   /* lease ids reserved by one synced write */

/* ---- workers ---- */

struct vt_worker {
    char name[65];
    char key[41]; /* Z85 public key */
    char site[65];
    int64_t asn; /* 0: unknown */
    bool revoked;
    /* connection (not persisted) */
    zframe_t *route;          /* ROUTER identity of its connection, NULL if never seen */
    int64_t last_seen_ms;     /* monotonic: online checks */
    int64_t last_seen_wall;   /* wall clock: what `worker list` shows */
    int64_t hello_window_ms;  /* Hello rate limit: start of the window ... */
    unsigned hellos;          /* ... and Hellos in it */
    uint64_t optout_gen;      /* opt-out generation it says it has applied */
    uint32_t credits;         /* result batches it may have in flight */
    unsigned inflight;        /* batches written since the last commit */
    uint64_t quarantined;     /* batches refused and kept aside (meta quarantine/) */
    uint64_t dropped_optout;  /* results dropped at ingest: opted-out space */
    bool hello;               /* said Hello on this connection */
    struct vt_targets scope;  /* its local policy */
    uint8_t ports[65536 / 8]; /* allowed ports, a bit each: 8 KiB whatever it sent */
    unsigned nports;
    uint64_t max_rate;         /* 0: none */
    uint64_t rate;             /* what it reports sending */
    uint64_t lease_id;         /* 0: none */
    uint64_t acked_seq;        /* highest batch written (meta seq/<name>) */
    uint64_t durable_seq;      /* highest batch written and synced: what Welcome says */
    int64_t last_complaint_ms; /* rate limit for logging its errors */
    uint64_t rejected;         /* bad messages counted */
    char refused[65];          /* last campaign it refused ... */
    int64_t refused_until_ms;  /* ... not offered to it again before this */
};

/* ---- campaigns ---- */

enum vt_campaign_state {
    VT_CAMPAIGN_RUNNING,
    VT_CAMPAIGN_PAUSED,
    VT_CAMPAIGN_COMPLETE,
    VT_CAMPAIGN_CANCELLED,
};

/* One requested vantage of one shard: done by one site, resumable. */
struct vt_slot {
    char site[65]; /* site that holds or finished it; "" = nobody yet */
    uint64_t done; /* checkpoint: steps of the arc done */
    bool finished;
    uint64_t lease_id; /* 0: not leased */
    unsigned redos;    /* K = 1: times re-scanned because answers were lost */
    bool incomplete;   /* finished, but its scan lost answers (flagged) */
};

struct vt_shard {
    unsigned cell;         /* the cell whose walk it is an arc of */
    uint64_t first, steps; /* the arc */
    struct vt_slot *slot;  /* [vantages] */
};

/* A piece of a run's target space that the same set of enrolled scopes
 * covers: it has its own walk (seed) and shards, so a partner allowed only
 * its own prefixes gets the cells inside them. */
struct vt_cell {
    struct vt_targets targets;
    uint64_t seed, steps;
    unsigned nshards;
};

struct vt_campaign {
    char name[65];
    char *targets_text;        /* as the operator gave it */
    struct vt_targets targets; /* minus blocklists at the run's start */
    struct vt_ports ports;
    uint64_t rate, seed, every_s;
    unsigned vantages, probes;
    bool banners; /* workers grab a banner from every open service */
    enum vt_campaign_state state;
    unsigned run;
    int64_t created_ms, run_started_ms, completed_ms;
    uint64_t found_open, found_closed;
    uint64_t steps; /* of all the cells' walks */
    unsigned ncells;
    struct vt_cell *cell;
    unsigned active_leases;    /* active leases (running or finishing) */
    unsigned finishing_leases; /* of which finishing: scanned, results on their way */
    unsigned next_free;        /* shards before this one have no slot left to lease */
    unsigned nshards;
    struct vt_shard *shard;
};

/* ---- leases ---- */

struct vt_lease {
    uint64_t id;
    struct vt_campaign *campaign;
    unsigned run; /* the campaign's run it belongs to */
    unsigned shard, slot;
    struct vt_worker *worker;
    int64_t granted_ms, deadline_ms; /* monotonic */
    uint64_t rate;
    bool active;    /* ended leases are kept: their holder's late results are still taken */
    bool finishing; /* the arc is scanned; waiting for its results to be stored */
    uint64_t pend_done, pend_seq; /* a checkpoint held until batch pend_seq is durable */
    bool pend_finished;
    uint64_t dropped; /* answers the scan lost, as the worker reported */
};

struct vt_coord {
    struct vt_store *store;
    uint64_t window_s;
    struct vt_targets base_blocklist; /* built-in or --blocklist FILE */
    struct vt_targets optout;         /* `vantage blocklist add` entries */
    uint64_t optout_gen;              /* grows with every change of optout */
    uint64_t optout_dropped;          /* results dropped at ingest for it */
    char public_key[41];              /* the coordinator's own, Z85 */

    zsock_t *router, *control;
    zactor_t *auth; /* the keyring: ZAP handler admitting enrolled keys (keyring.c) */

    struct vt_worker **workers;
    size_t nworkers;
    struct vt_campaign **campaigns;
    size_t ncampaigns;
    struct vt_lease **leases; /* every lease ever given, by ascending id */
    size_t nleases;
    struct vt_lease **active; /* the ones running now, in no order */
    size_t nactive, cap_active;
    uint64_t next_lease_id;
    uint64_t lease_ids_hwm; /* ids below this are reserved durably (meta.c) */

    /* Lease and checkpoint records written during one loop turn: one write
     * for all of them at the turn's end (vt_state_flush), not one per grant. */
    struct vt_batch *state_batch;

    /* The fingerprint rules `vantage relabel` applies: built-in + serve --rules,
     * and the last set a relabel request named (relabel.c), with its key. */
    struct vt_rules *rules;
    char *rules_lines; /* serve --rules, one path per line, or NULL */
    struct vt_rules *relabel_rules;
    char *relabel_key;

    /* ingest: writes since the last sync, and the acks waiting for it */
    struct vt_batch *batch;
    /* Banner ids written lately (direct-mapped, VT_BANNER_SEEN slots): a
     * banner seen again is not written again. Emptied when a sync fails. */
    uint8_t (*banner_seen)[16];
    struct {
        struct vt_worker *w;
        uint64_t seq;
    } * pending_acks;
    size_t npending, cap_pending;
    /* What this turn's batches added to counters, taken back if the sync fails. */
    struct vt_turn_count {
        struct vt_campaign *k; /* NULL for a quarantined batch */
        struct vt_worker *w;
        uint64_t open, closed, quarantined, dropped;
        uint64_t results; /* results written (every slot's) */
        int64_t at_us;    /* monotonic: when it was written */
    } * turn;
    size_t nturn, cap_turn;
    /* What ingest has stored durably, and how long it took (ingest.c writes,
     * metrics.c reads): counted at the group commit, never before. */
    struct vt_ingest_stats {
        uint64_t results, batches;   /* results and batches made durable */
        uint64_t sync_failures;      /* group commits whose WAL sync failed */
        struct vt_histogram latency; /* a batch's write to its Ack, after the sync */
        struct vt_histogram sync;    /* one WAL sync (fsync) */
    } ingest;

    /* count.c: `count` requests being paged, each a reader on one view */
    struct vt_count *counts[VT_COUNT_CURSORS];
    uint64_t count_next_id;

    /* retention.c: --retention, and the drop or sweep under way (NULL: keep all) */
    struct vt_retention *retention;

    /* serve.c: --metrics, and what SIGHUP reloads did */
    struct vt_metrics_http *metrics;
    struct vt_buf metrics_text;
    uint64_t reloads, reload_failures;

    uint64_t bad_messages;
    uint64_t batches_refused; /* beyond credit, or before Hello */
    bool fail_next_sync;      /* tests: the next group commit's sync fails */
    volatile int stop;
};

/* base.c */
int64_t vt_now_ms(void);  /* wall clock, ms: stored times only */
int64_t vt_mono_ms(void); /* monotonic, ms: every duration and deadline */
int64_t vt_mono_us(void); /* monotonic, µs: timings (metrics) */
/* Logs one line to stderr (proto/log.h: level, "vantage", message; a
 * timestamp unless journald adds one): vt_log at level info. */
void vt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vt_log_at(enum vt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A peer's text made safe for one log line: control bytes and backslashes
 * escaped, cut to fit out. Returns out. */
const char *vt_escape(const char *text, char *out, size_t outlen);
/* Sends env to a worker's connection. 0 or -1. */
int vt_send_to(struct vt_coord *c, struct vt_worker *w, const Vantage__Envelope *env);
/* Sends one message (Welcome, Lease, …: msg points to it) in an envelope. */
int vt_send_body(struct vt_coord *c, struct vt_worker *w, Vantage__Envelope__BodyCase body,
                 void *msg);
/* Control requests: {"ok":false,"error":…}, and a request's string and
 * integer fields (NULL / dflt when absent or of another type). */
json_t *vt_reply_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *vt_req_str(json_t *req, const char *key);
json_int_t vt_req_num(json_t *req, const char *key, json_int_t dflt);
/* Sends Error{code, text} to a worker. */
void vt_send_error(struct vt_coord *c, struct vt_worker *w, Vantage__Error__Code code,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Logs a complaint about a peer at most once a minute; counts it always. */
void vt_complain(struct vt_coord *c, struct vt_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* meta.c */
/* Records a meta key: into state_batch when the loop has one (flushed at the
 * turn's end), else straight to the store. */
int vt_state_put(struct vt_coord *c, const char *key, const char *text);
/* Writes state_batch (not synced: lease and checkpoint records may lag a
 * crash by one turn; a lost lease record costs re-done work, never data). */
void vt_state_flush(struct vt_coord *c);
/* The lease-id high-water mark in the store (0: none). */
uint64_t vt_lease_ids_reserved(struct vt_coord *c);
/* Reserves the next VT_LEASE_ID_BLOCK ids with a synced write. 0 or -1. */
int vt_lease_ids_reserve(struct vt_coord *c);

/* registry.c */
static inline bool vt_worker_allows_port(const struct vt_worker *w, uint16_t port)
{
    return w->ports[port / 8] & (1u << (port % 8));
}

int vt_registry_load(struct vt_coord *c, char *err, size_t errlen);
void vt_registry_free(struct vt_coord *c);
struct vt_worker *vt_worker_by_name(struct vt_coord *c, const char *name);
struct vt_worker *vt_worker_by_key(struct vt_coord *c, const char *key);
int vt_worker_add(struct vt_coord *c, const char *name, const char *key, const char *site,
                  int64_t asn, char *err, size_t errlen);
int vt_worker_revoke(struct vt_coord *c, const char *name, char *err, size_t errlen);
bool vt_worker_online(const struct vt_worker *w, int64_t now);
/* Opt-outs: loaded from meta, added and removed; each change bumps the
 * generation (synced with the entry) and is pushed to online workers. */
int vt_optout_load(struct vt_coord *c);
int vt_optout_add(struct vt_coord *c, const char *cidr, const char *reason, char *err,
                  size_t errlen);
int vt_optout_remove(struct vt_coord *c, const char *cidr, char *err, size_t errlen);
/* An opt-out with its history: target is one CIDR, range or address; by says
 * who asked (NULL: not said); a second add of an entry appends to its
 * history. The whole IPv4 space only with force. 0 or -1 with err. */
int vt_optout_add_by(struct vt_coord *c, const char *target, const char *reason, const char *by,
                     bool force, char *err, size_t errlen);
/* The entries (records with their history, docs/control.md) in address order. */
json_t *vt_optout_list(struct vt_coord *c);
/* Takes the policy of a Hello; true if it differs from the one before. */
bool vt_worker_on_hello(struct vt_coord *c, struct vt_worker *w, const Vantage__Hello *h);
json_t *vt_worker_json(struct vt_coord *c, const struct vt_worker *w);

/* campaign.c */
int vt_campaigns_load(struct vt_coord *c, char *err, size_t errlen);
void vt_campaigns_free(struct vt_coord *c);
struct vt_campaign *vt_campaign_by_name(struct vt_coord *c, const char *name);
struct vt_campaign *vt_campaign_start(struct vt_coord *c, const char *name, const char *targets,
                                      const char *ports, uint64_t rate, unsigned vantages,
                                      unsigned probes, uint64_t every_s, bool banners, char *err,
                                      size_t errlen);
/* `campaign start --dry-run`: what vt_campaign_start would make of the same
 * arguments (addresses after the blocklists, cells, shards, steps a shard,
 * probes in all and the duration at the rate) as a JSON object, checked as
 * strictly, but nothing is stored or registered. NULL with err set. */
json_t *vt_campaign_plan(struct vt_coord *c, const char *name, const char *targets,
                         const char *ports, uint64_t rate, unsigned vantages, unsigned probes,
                         uint64_t every_s, bool banners, char *err, size_t errlen);
int vt_campaign_save(struct vt_coord *c, struct vt_campaign *k);
int vt_campaign_save_shard(struct vt_coord *c, struct vt_campaign *k, unsigned s);
/* Re-checks completion, starts due runs; called each tick. */
void vt_campaigns_tick(struct vt_coord *c, int64_t now);
json_t *vt_campaign_status(struct vt_coord *c, struct vt_campaign *k);
int vt_campaign_set_state(struct vt_coord *c, struct vt_campaign *k, enum vt_campaign_state st,
                          char *err, size_t errlen);
const char *vt_campaign_state_name(const struct vt_campaign *k, struct vt_coord *c);
/* `campaign set --rate`: the campaign's budget becomes rate (persisted); a
 * running campaign's leases are re-shared at once (lease.c), a paused one's
 * rate applies when it resumes. *told: leases sent a RateChange. 0 or -1. */
int vt_campaign_set_rate(struct vt_coord *c, struct vt_campaign *k, uint64_t rate, unsigned *told,
                         char *err, size_t errlen);

/* shard.c */
/* Cuts k's effective targets into cells by the scopes of the enrolled
 * workers, and each cell's walk into shards for a fleet of `workers`. */
int vt_shard_cut(struct vt_coord *c, struct vt_campaign *k, unsigned workers, char *err,
                 size_t errlen);
/* Rebuilds the cells and shards of a stored run (cells as saved). */
int vt_shard_restore(struct vt_campaign *k, json_t *cells, char *err, size_t errlen);
json_t *vt_shard_cells_json(const struct vt_campaign *k);
void vt_shard_free(struct vt_campaign *k);
/* The shard's cell holds ip. */
bool vt_shard_holds(const struct vt_campaign *k, unsigned shard, uint32_t ip);

/* lease.c: the only writer of lease, slot and worker-lease state */
int vt_leases_load(struct vt_coord *c);
void vt_leases_free(struct vt_coord *c);
struct vt_lease *vt_lease_by_id(struct vt_coord *c, uint64_t id);
/* Active, not finishing, and its campaign running: the worker should go on. */
bool vt_lease_live(const struct vt_lease *l);
/* The worker's local policy covers some cell of the campaign (and its ports). */
bool vt_lease_eligible(const struct vt_worker *w, const struct vt_campaign *k);
bool vt_lease_cell_eligible(const struct vt_worker *w, const struct vt_campaign *k, unsigned cell);
/* Grants w a lease if any slot fits it. */
void vt_lease_offer(struct vt_coord *c, struct vt_worker *w);
void vt_lease_on_progress(struct vt_coord *c, struct vt_worker *w, const Vantage__Progress *p);
void vt_lease_on_refused(struct vt_coord *c, struct vt_worker *w, const Vantage__LeaseRefused *r);
/* After a group commit: checkpoints whose batches are now durable apply. */
void vt_leases_on_durable(struct vt_coord *c);
/* A Hello or Heartbeat said the worker runs `held` (0: nothing). */
void vt_lease_reconcile(struct vt_coord *c, struct vt_worker *w, uint64_t held, bool hello);
/* Ends every lease of a campaign / a worker, telling the worker why. */
void vt_lease_end_for_campaign(struct vt_coord *c, struct vt_campaign *k, const char *why);
void vt_lease_end_for_worker(struct vt_coord *c, struct vt_worker *w, const char *why);
void vt_lease_send_cancel(struct vt_coord *c, struct vt_worker *w, uint64_t id, const char *why);
void vt_leases_tick(struct vt_coord *c, int64_t now);
/* Re-shares each campaign's rate among its leases; sends RateChange where it changed. */
void vt_leases_rebalance(struct vt_coord *c);
/* Re-shares k's rate (just changed) among its scanning leases at once and
 * sends each one's worker a RateChange. Returns how many were told. */
unsigned vt_leases_reshare(struct vt_coord *c, struct vt_campaign *k);

/* relabel.c: the control request "relabel" (one page of banners per request). */
json_t *vt_relabel_run(struct vt_coord *c, json_t *req);
/* Replaces the daemon's rules (SIGHUP), dropping the set cached for requests. */
void vt_relabel_set_rules(struct vt_coord *c, struct vt_rules *rules);

/* metrics.c: the exposition of `vantage serve --metrics` (rendered by the
 * loop about once a second; the HTTP thread only copies the text). */
void vt_metrics_render(struct vt_coord *c, struct vt_buf *t);
/* The STATUS= line systemd shows: "3 workers online, 2 leases, ...". */
void vt_metrics_status(struct vt_coord *c, char *buf, size_t len);

/* ingest.c */
void vt_ingest_batch(struct vt_coord *c, struct vt_worker *w, const Vantage__ResultBatch *b);
/* Makes the writes since the last call durable and sends their Acks. */
void vt_ingest_commit(struct vt_coord *c);
/* Frees what ingest holds (Acks not sent are not sent: the workers re-send). */
void vt_ingest_free(struct vt_coord *c);
/* What one accepted result adds to write batch b (docs/storage.md): its obs
 * merge operand (the worker's site, the lease's campaign, the answers bit),
 * its banner record unless known(arg, id) says the store has it, and a
 * device record per identity label. id gets the banner id and *has_banner
 * whether there is one. The benchmarks write stores through it too. 0, or
 * -1 out of memory. */
int vt_ingest_result(struct vt_batch *b, const Vantage__Result *r, uint32_t window, char *site,
                     char *campaign, bool (*known)(void *arg, const uint8_t *id), void *arg,
                     uint8_t id[VT_BANNER_ID_LEN], bool *has_banner);
/* Takes id out of the cache of banners written lately (retention deleted it). */
void vt_ingest_forget_banner(struct vt_coord *c, const uint8_t id[VT_BANNER_ID_LEN]);

/* retention.c: --retention: old windows dropped on a schedule */
struct vt_retention;
/* Keeps keep_s seconds of records (0: all, for ever). 0 or -1 (out of memory). */
int vt_retention_set(struct vt_coord *c, uint64_t keep_s);
/* Each loop turn: checks the cutoff once a minute, drops, sweeps a budget. */
void vt_retention_tick(struct vt_coord *c, int64_t now_ms, int64_t mono_ms);
/* A drop's banner sweep is under way. */
bool vt_retention_busy(const struct vt_coord *c);
/* Ingest names this banner: a sweep under way must not delete it. */
void vt_retention_note_banner(struct vt_coord *c, const uint8_t id[VT_BANNER_ID_LEN]);
void vt_retention_free(struct vt_coord *c);
/* Frees every part's state and closes the store (the sockets are serve's). */
void vt_coord_release(struct vt_coord *c);

/* session.c */
void vt_session_message(struct vt_coord *c);
/* Sends the whole opt-out list at the current generation to w. */
void vt_session_send_optout(struct vt_coord *c, struct vt_worker *w);
/* Each tick: credits re-shared among the online workers. */
void vt_session_tick(struct vt_coord *c, int64_t now);

/* control.c */
void vt_control_handle(struct vt_coord *c);

/* select.c: the filters of read requests and the seeks that serve them */
struct vt_select {
    const char *campaign, *state, *vantage; /* borrowed from the request */
    json_t *labels;                         /* strings that must all match, or NULL */
    uint16_t port;                          /* 0: any */
    bool has_prefix;
    uint32_t lo, hi;     /* the prefix's addresses */
    uint32_t w_lo, w_hi; /* the windows of since_ms .. until_ms */
};
#define VT_SELECT_BANNER_CACHE 256
struct vt_select_banner {
    uint8_t id[VT_BANNER_ID_LEN];
    char *text; /* as rows show it: vt_banner_shown_text's; NULL: slot empty */
    size_t text_len;
    json_t *shown; /* the same parsed, once a label filter asks */
};
struct vt_select_cursor {
    struct vt_coord *c;
    struct vt_select sel;
    struct vt_obs_iter *it;
    struct vt_select_banner cache[VT_SELECT_BANNER_CACHE];
    struct vt_select_banner *last; /* the banner of the row returned last */
    size_t corrupt_banners;
    bool done;       /* nothing more can match */
    bool no_banners; /* the caller reads banners itself: *shown stays NULL
                        unless a label filter needs the join */
};
/* Reads the filters of req (docs/control.md, `query`): 0, or -1 with err. */
int vt_select_parse(struct vt_coord *c, json_t *req, struct vt_select *sel, char *err,
                    size_t errlen);
/* Opens a reader at the first key the selection can hold, or at after (a
 * paging key). 0 or -1. */
int vt_select_open(struct vt_coord *c, const struct vt_select *sel, const uint8_t *after,
                   struct vt_select_cursor *cur);
/* The next selected record: 1 (*row valid until the next call; its banner
 * from vt_select_shown_text), 0 at the end, 2 when *budget (records read
 * and seeks made) is spent, -1 on error. */
int vt_select_next(struct vt_select_cursor *cur, size_t *budget, struct vt_obs_row *row);
/* The banner of the row vt_select_next returned last as JSON text, its
 * members without the braces ("proto":…,"banner":…,"labels":{…}), for a
 * writer of rows as text; NULL (*len 0) when the row has none, or out of
 * memory. Valid while the cursor is. */
const char *vt_select_shown_text(struct vt_select_cursor *cur, size_t *len);
/* The key where the next call goes on: 1, or 0 at the end, -1 error. */
int vt_select_position(struct vt_select_cursor *cur, uint8_t key[VT_OBS_KEY_LEN]);
/* Records skipped because they did not decode (obs and banner). */
size_t vt_select_corrupt(const struct vt_select_cursor *cur);
/* Logs what did not decode, with the last bad key, and frees. */
void vt_select_close(struct vt_select_cursor *cur);

/* The banner record of id as rows show it, appended to out as JSON members
 * without braces: "proto":…,"banner":…,"labels":{…} (texts made safe, a
 * label key given twice with its last value). 1, 0 when absent, -1 when it
 * does not decode (then *corrupt is counted up) or out of memory. */
int vt_banner_shown_text(struct vt_store *store, const uint8_t *id, size_t len, struct vt_buf *out,
                         size_t *corrupt);
/* The same as one JSON object {"proto", "banner", "labels"}, new; NULL when
 * absent, corrupt or out of memory. */
json_t *vt_banner_shown(struct vt_store *store, const uint8_t *id, size_t len, size_t *corrupt);

/* services.c: the open services of a selection, for `vantage report` */
struct vt_services;
struct vt_services *vt_services_new(void);
void vt_services_free(struct vt_services *s);
/* Takes one selected open record, in key order: 0, or -1 on ENOMEM. */
int vt_services_add(struct vt_services *s, const struct vt_obs_row *row);
size_t vt_services_count(const struct vt_services *s);
/* Sorts the services by (ip, port) for paging: 0, or -1 on ENOMEM. */
int vt_services_finish(struct vt_services *s);
/* The next at most limit services as rows (docs/control.md, `count` with
 * what "services"), banners read from store; *more when some remain. NULL
 * on ENOMEM. */
json_t *vt_services_page(struct vt_services *s, struct vt_store *store, size_t limit,
                         size_t *corrupt_banners, bool *more);

/* query.c: a `query` reply is two frames (docs/control.md): the reply
 * returned, and its rows as JSON Lines written into *rows (zeroed by the
 * caller; left empty when the reply says ok false). */
json_t *vt_query_run(struct vt_coord *c, json_t *req, struct vt_buf *rows);

/* count.c: the control request "count" (what: devices) */
json_t *vt_count_run(struct vt_coord *c, json_t *req);
void vt_counts_free(struct vt_coord *c);
/* Appends a record as a `query` row shows it (docs/control.md): one JSON
 * object, no newline; shown is vt_select_shown_text()'s (NULL: none). */
void vt_query_row_text(struct vt_buf *b, const struct vt_obs_row *row, const char *shown,
                       size_t shown_len);

#endif
