/* config.h: the settings of `vantage-worker run`, from flags and an inih
 * config file (`key = value`, every flag a key, `#` or `;` comments).
 *
 * Settings are kept as text here and checked in one place (cmd_run.c), so a
 * bad value reads the same whether it came from a flag or from the file.
 * Flags given on the command line override the file. */
#ifndef VANTAGE_WORKER_CONFIG_H
#define VANTAGE_WORKER_CONFIG_H

#include <stddef.h>

/* One field per flag; NULL = not given. */
struct vt_worker_config {
    char *coordinator, *server_key, *key, *name, *interface, *source_ip, *gateway_mac, *max_rate,
        *scope, *exclude, *allow_ports, *user, *spool, *spool_max, *banner_concurrency, *host_cap,
        *rules, *user_agent, *banner_timeout, *metrics;
};

/* Sets `key` (a flag's long name without "--") to a copy of value. 0, or -1
 * if the key is unknown (or on ENOMEM). `rules` may be given many times: its
 * values are kept one per line, in order. */
int vt_worker_config_set(struct vt_worker_config *c, const char *key, const char *value);

/* Reads FILE into c. 0, or -1 with a reason naming the file and line. */
int vt_worker_config_load(struct vt_worker_config *c, const char *path, char *err, size_t errlen);

/* Every field of `over` that is set replaces the one in base. */
int vt_worker_config_merge(struct vt_worker_config *base, const struct vt_worker_config *over);

/* The keys whose values differ between a and b (a reload's view), into
 * names (at most max). Returns how many. */
size_t vt_worker_config_changed(const struct vt_worker_config *a, const struct vt_worker_config *b,
                                const char **names, size_t max);

void vt_worker_config_free(struct vt_worker_config *c);

#endif
