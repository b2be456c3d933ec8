/* test_worker_metrics.c: worker/metrics.c, what `vantage-worker run
 * --metrics` exposes: every family named vantage_worker_*, with HELP and
 * TYPE, counters ending in _total; an uplink not yet connected says 0; the
 * spool's batches, bytes and the age of its oldest batch are what the spool
 * holds; the campaign label of a running lease is escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "policy.h"

/* The value of one sample line, or -1. */
static double value(const char *text, const char *sample)
{
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s ", sample);
    const char *p = strstr(text, needle);
    return p ? strtod(p + strlen(needle), NULL) : -1;
}

static void test_families_and_spool(void **state)
{
    (void)state;
    char dir[] = "/tmp/vt-worker-metrics.XXXXXX", err[512];
    assert_non_null(mkdtemp(dir));
    struct vt_spool *spool = vt_spool_open(dir, 0, 0, err, sizeof err);
    assert_non_null(spool);
    uint64_t seq;
    assert_int_equal(vt_spool_next_seq(spool, &seq, err, sizeof err), 0);
    assert_int_equal(vt_spool_put(spool, seq, "0123456789", 10, err, sizeof err), 0);
    /* the batch is 90 s old */
    char path[128];
    snprintf(path, sizeof path, "%s/%llu.batch", dir, (unsigned long long)seq);
    struct timespec old[2] = {{time(NULL) - 90, 0}, {time(NULL) - 90, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);

    struct vt_policy policy;
    assert_int_equal(vt_policy_init(&policy, "198.18.0.0/16", "80", 700, err, sizeof err), 0);
    zcert_t *cert = zcert_new();
    struct vt_uplink_config cfg = {
        .endpoint = "tcp://127.0.0.1:9",
        .server_key = zcert_public_txt(cert),
        .cert = cert,
        .name = "w",
        .policy = &policy,
        .spool = spool,
        .quiet = true,
    };
    struct vt_uplink *up = vt_uplink_new(&cfg, err, sizeof err);
    assert_non_null(up);
    struct vt_worker_metrics_src src = {
        .up = up, .spool = spool, .spool_dir = dir, .max_rate = 700, .reloads = 2};
    struct vt_buf t = {0};
    vt_worker_metrics_render(&src, &t);
    assert_false(t.oom);

    assert_int_equal(value(t.p, "vantage_worker_connected"), 0);
    assert_int_equal(value(t.p, "vantage_worker_lease_running"), 0);
    assert_int_equal(value(t.p, "vantage_worker_max_probe_rate"), 700);
    assert_int_equal(value(t.p, "vantage_worker_spool_batches"), 1);
    assert_true(value(t.p, "vantage_worker_spool_bytes") >= 10);
    double age = value(t.p, "vantage_worker_spool_oldest_batch_age_seconds");
    assert_true(age >= 89 && age < 120);
    assert_int_equal(value(t.p, "vantage_worker_reloads_total"), 2);
    assert_int_equal(value(t.p, "vantage_worker_answers_dropped_total{where=\"capture\"}"), 0);

    /* Every sample's family has HELP then TYPE before it; names and types
     * follow the conventions. */
    char *copy = strdup(t.p), *save = NULL, fam[128] = "", type[32] = "";
    int families = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# HELP ", 7)) {
            assert_int_equal(sscanf(line + 7, "%127s", fam), 1);
            assert_int_equal(strncmp(fam, "vantage_worker_", 15), 0);
            type[0] = '\0';
            families++;
        } else if (!strncmp(line, "# TYPE ", 7)) {
            char name[128];
            assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
            assert_string_equal(name, fam);
            size_t n = strlen(name);
            bool total = n > 6 && !strcmp(name + n - 6, "_total");
            assert_true(!strcmp(type, "counter") == total);
        } else {
            assert_true(type[0]); /* a sample after its TYPE */
            assert_int_equal(strncmp(line, fam, strlen(fam)), 0);
        }
    }
    assert_true(families >= 20);
    free(copy);

    vt_buf_free(&t);
    vt_uplink_destroy(&up);
    zcert_destroy(&cert);
    vt_policy_free(&policy);
    assert_int_equal(vt_spool_ack(spool, seq, err, sizeof err), 0);
    vt_spool_close(spool);
    unlink(path);
    char seqf[128];
    snprintf(seqf, sizeof seqf, "%s/seq", dir);
    unlink(seqf);
    rmdir(dir);
}

int main(void)
{
    zsys_init();
    zsys_handler_set(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families_and_spool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
