/*
 * export.c: the world's ground truth as JSON (jansson) and its nftables script.
 *
 * Both are views of the same world struct, so the packet filter and the truth
 * file cannot disagree: a pair is "open" in the truth exactly when the nft set
 * `open` holds it, "closed" exactly when the set `closed` holds it, and silent
 * otherwise. An offline device (world.h) is in neither set and its ports are in
 * neither list. The truth's format is documented in README.md ("Ground truth").
 */
#include "export.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#define TRUTH_FORMAT "vantage-lab-truth/1"

static json_t *addr_json(uint32_t addr)
{
    char a[16];
    return json_string(ip_str(addr, a));
}

static json_t *cidr_json(uint32_t net, unsigned bits)
{
    char a[16], buf[24];
    snprintf(buf, sizeof(buf), "%s/%u", ip_str(net, a), bits);
    return json_string(buf);
}

/* Appends v (stolen) to arr; false if v is NULL or appending failed. */
static bool push(json_t *arr, json_t *v)
{
    return v != NULL && json_array_append_new(arr, v) == 0;
}

static json_t *service_json(const struct device *d, unsigned pi)
{
    const struct device_type *t = d->type;
    uint16_t port = lab_ports[pi];
    const char *proto = lab_service_protocol_name(t, pi);
    const char *exposure = lab_service_exposure(t, pi);
    char text[1024], server[256], realm[128], title[256], head[1024], body[2048];
    int blen;

    switch (lab_service_proto(t, pi)) {
    case PROTO_TELNET:
        if (render_telnet_text(t, &d->ident, text, sizeof(text)) < 0)
            return NULL;
        return json_pack("{s:i, s:s, s:s, s:s?}", "port", port, "protocol", proto, "banner", text,
                         "exposure", exposure);
    case PROTO_SSH:
        return json_pack("{s:i, s:s, s:s, s:n}", "port", port, "protocol", proto, "banner", t->ssh,
                         "exposure");
    case PROTO_HOSTILE:
        return json_pack("{s:i, s:s, s:n, s:n}", "port", port, "protocol", proto, "banner",
                         "exposure");
    default:
        break;
    }
    blen = render_http_body(t, &d->ident, body, sizeof(body));
    if (blen < 0 || render_template(t->server, &d->ident, server, sizeof(server)) < 0 ||
        render_template(t->realm, &d->ident, realm, sizeof(realm)) < 0 ||
        render_template(t->title, &d->ident, title, sizeof(title)) < 0 ||
        render_http_head(t, &d->ident, (size_t)blen, head, sizeof(head)) < 0)
        return NULL;
    return json_pack("{s:i, s:s, s:i, s:s, s:s?, s:s?, s:s, s:s, s:s?}", "port", port, "protocol",
                     proto, "status", http_status_code(t), "status_line", t->status_line, "server",
                     t->server != NULL ? server : NULL, "realm", t->realm != NULL ? realm : NULL,
                     "title", title, "banner", head, "exposure", exposure);
}

static json_t *device_json(const struct world *w, const struct device *d)
{
    json_t *open = json_array(), *closed = json_array(), *services = json_array();
    json_t *history = json_array(), *blocked = json_array(), *online = json_array();
    char ident[64];
    const char *ident_kind = NULL;
    bool ok = open != NULL && closed != NULL && services != NULL && history != NULL &&
              blocked != NULL && online != NULL;

    /* An offline device is absent: no open, closed or served port this epoch. */
    for (unsigned pi = 0; ok && d->online && pi < LAB_NPORTS; pi++) {
        if (d->type->ports & (1u << pi))
            ok = push(open, json_integer(lab_ports[pi])) && push(services, service_json(d, pi));
        else
            ok = push(closed, json_integer(lab_ports[pi]));
    }
    for (unsigned e = 0; ok && e <= w->epoch; e++)
        ok = push(history, addr_json(w->history[(size_t)e * w->ndev + d->id]));
    for (unsigned e = 0; ok && e <= w->epoch; e++)
        ok = push(online, json_boolean(w->online_hist[(size_t)e * w->ndev + d->id]));
    for (unsigned i = 0; ok && i < w->nblocked; i++)
        if (world_blocked_for(w, w->blocked[i].vantage, d->addr))
            ok = push(blocked, json_integer(w->blocked[i].vantage));
    ok = ok && render_identifier(d->type, &d->ident, ident, sizeof(ident)) >= 0;
    if (d->type->ident == IDENT_SERIAL)
        ident_kind = "serial";
    else if (d->type->ident == IDENT_MAC)
        ident_kind = "mac";
    if (!ok) {
        json_decref(open);
        json_decref(closed);
        json_decref(services);
        json_decref(history);
        json_decref(blocked);
        json_decref(online);
        return NULL;
    }
    return json_pack("{s:i, s:s, s:s, s:s, s:s, s:s?, s:o, s:b, s:o, s:b, s:o, s:o, s:o, s:s?, "
                     "s:s?, s:b, s:o, s:o, s:o}",
                     "id", (int)d->id, "type", d->type->name, "vendor", d->type->vendor, "model",
                     d->type->model, "kind", d->type->kind, "device",
                     lab_kind_device(d->type->kind), "address", addr_json(d->addr), "dynamic",
                     d->dynamic, "pool",
                     d->pool >= 0 ? cidr_json(w->pools[d->pool], WORLD_POOL_BITS) : json_null(),
                     "online", d->online, "open_ports", open, "closed_ports", closed, "services",
                     services, "identifier", ident_kind != NULL ? ident : NULL, "identifier_kind",
                     ident_kind, "identifier_shared", d->ident_shared, "addresses_by_epoch",
                     history, "online_by_epoch", online, "blocked_for", blocked);
}

static json_t *closed_pair(uint32_t addr, uint16_t port)
{
    return json_pack("{s:o, s:i}", "address", addr_json(addr), "port", port);
}

int export_truth(const struct world *w, FILE *out, char *err, size_t errlen)
{
    json_t *root = NULL, *devices = json_array(), *closed = json_array();
    json_t *closed_hosts = json_array(), *blocked = json_array(), *pools = json_array();
    json_t *ports = json_array();
    unsigned open_pairs = 0, ndyn = 0, nonline = 0;
    bool ok = devices != NULL && closed != NULL && closed_hosts != NULL && blocked != NULL &&
              pools != NULL && ports != NULL;

    for (unsigned pi = 0; ok && pi < LAB_NPORTS; pi++)
        ok = push(ports, json_integer(lab_ports[pi]));
    for (unsigned i = 0; ok && i < w->npools; i++)
        ok = push(pools, cidr_json(w->pools[i], WORLD_POOL_BITS));
    for (unsigned i = 0; ok && i < w->ndev; i++) {
        const struct device *d = &w->dev[i];
        ok = push(devices, device_json(w, d));
        ndyn += d->dynamic;
        nonline += d->online;
        for (unsigned pi = 0; ok && d->online && pi < LAB_NPORTS; pi++) {
            if (d->type->ports & (1u << pi))
                open_pairs++;
            else
                ok = push(closed, closed_pair(d->addr, lab_ports[pi]));
        }
    }
    for (unsigned i = 0; ok && i < w->nclosed; i++) {
        ok = push(closed_hosts, addr_json(w->closed_hosts[i]));
        for (unsigned pi = 0; ok && pi < LAB_NPORTS; pi++)
            ok = push(closed, closed_pair(w->closed_hosts[i], lab_ports[pi]));
    }
    for (unsigned i = 0; ok && i < w->nblocked; i++)
        ok = push(blocked, json_pack("{s:i, s:o, s:o}", "vantage", (int)w->blocked[i].vantage,
                                     "source", cidr_json(VANTAGE_NET(w->blocked[i].vantage), 24),
                                     "network", cidr_json(w->blocked[i].net, 24)));
    if (ok) {
        size_t nclosed = json_array_size(closed);
        root = json_pack(
            "{s:s, s:i, s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:o, s:o, "
            "s:{s:i, s:i, s:i, s:i, s:I, s:i}, s:o, s:o, s:o, s:o}",
            "format", TRUTH_FORMAT, "epoch", (int)w->epoch, "seed", (json_int_t)w->p.seed,
            "devices_total", (int)w->ndev, "churn_pct", (int)w->p.churn_pct, "availability_pct",
            (int)w->p.availability_pct, "shared_ids_pct", (int)w->p.shared_ids_pct, "vantages",
            (int)w->p.vantages, "space", "198.18.0.0/16", "ports", ports, "pools", pools, "counts",
            "devices", (int)w->ndev, "online", (int)nonline, "dynamic", (int)ndyn, "open_pairs",
            (int)open_pairs, "closed_pairs", (json_int_t)nclosed, "closed_hosts", (int)w->nclosed,
            "devices", devices, "closed_hosts", closed_hosts, "closed", closed, "blocked", blocked);
        /* json_pack steals the references even when it fails. */
        devices = closed = closed_hosts = blocked = pools = ports = NULL;
    }
    json_decref(devices);
    json_decref(closed);
    json_decref(closed_hosts);
    json_decref(blocked);
    json_decref(pools);
    json_decref(ports);
    if (root == NULL) {
        snprintf(err, errlen, "cannot build the truth JSON (out of memory?)");
        return -1;
    }
    if (json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', out) < 0) {
        json_decref(root);
        snprintf(err, errlen, "cannot write the truth JSON");
        return -1;
    }
    json_decref(root);
    return 0;
}

/* Element lists are cut into statements of this many elements; one transaction. */
#define NFT_CHUNK 512

struct nft_writer {
    FILE *out;
    const char *set;
    unsigned in_chunk;
};

static void nft_elem(struct nft_writer *nw, uint32_t addr, uint16_t port)
{
    char a[16];
    if (nw->in_chunk == 0)
        fprintf(nw->out, "add element %s %s { ", LAB_NFT_TABLE, nw->set);
    else
        fputs(", ", nw->out);
    fprintf(nw->out, "%s . %u", ip_str(addr, a), port);
    if (++nw->in_chunk == NFT_CHUNK) {
        fputs(" }\n", nw->out);
        nw->in_chunk = 0;
    }
}

static void nft_end(struct nft_writer *nw)
{
    if (nw->in_chunk > 0)
        fputs(" }\n", nw->out);
    nw->in_chunk = 0;
}

int export_nft(const struct world *w, FILE *out, char *err, size_t errlen)
{
    struct nft_writer open = {out, "open", 0}, closed = {out, "closed", 0};
    char a[16], b[16];

    fprintf(out, "# devsim nft: epoch %u of seed %llu; one transaction (nft -f)\n", w->epoch,
            (unsigned long long)w->p.seed);
    fprintf(out, "flush set %s open\nflush set %s closed\nflush chain %s blocked\n", LAB_NFT_TABLE,
            LAB_NFT_TABLE, LAB_NFT_TABLE);
    for (unsigned i = 0; i < w->ndev; i++) {
        const struct device *d = &w->dev[i];
        for (unsigned pi = 0; d->online && pi < LAB_NPORTS; pi++)
            if (d->type->ports & (1u << pi))
                nft_elem(&open, d->addr, lab_ports[pi]);
    }
    nft_end(&open);
    for (unsigned i = 0; i < w->ndev; i++) {
        const struct device *d = &w->dev[i];
        for (unsigned pi = 0; d->online && pi < LAB_NPORTS; pi++)
            if (!(d->type->ports & (1u << pi)))
                nft_elem(&closed, d->addr, lab_ports[pi]);
    }
    for (unsigned i = 0; i < w->nclosed; i++)
        for (unsigned pi = 0; pi < LAB_NPORTS; pi++)
            nft_elem(&closed, w->closed_hosts[i], lab_ports[pi]);
    nft_end(&closed);
    for (unsigned i = 0; i < w->nblocked; i++)
        fprintf(out, "add rule %s blocked ip saddr %s/24 ip daddr %s/24 drop\n", LAB_NFT_TABLE,
                ip_str(VANTAGE_NET(w->blocked[i].vantage), a), ip_str(w->blocked[i].net, b));
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "cannot write the nft script");
        return -1;
    }
    return 0;
}
