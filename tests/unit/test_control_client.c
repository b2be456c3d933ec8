/* test_control_client.c: unit tests for coordinator/control_client.c and the
 * pieces of the operator commands (cmd_*.c) that need no daemon.
 *
 * A fake daemon (a REP socket on ipc in a temporary directory, in a CZMQ
 * actor) answers canned replies, so we check what an operator would notice:
 * the request goes out as the JSON docs/control.md describes, a refusal comes
 * back as the daemon's own one-line reason, a silent or missing daemon gives a
 * clear error within the time bound, not a hang. Then the pure helpers: times
 * given on the command line, key and name checks, and the query output formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* By path: the worker has a commands.h of its own on the include path too. */
#include "../../coordinator/commands.h"
#include "control_client.h"

/* ---- a fake daemon ---- */

struct fake {
    char endpoint[300];
    const char *reply; /* NULL: never answer */
    char got[4096];    /* the last request received */
};

static void fake_actor(zsock_t *pipe, void *arg)
{
    struct fake *f = arg;
    zsock_t *rep = zsock_new(ZMQ_REP);
    assert_non_null(rep);
    assert_int_equal(zsock_bind(rep, "%s", f->endpoint), 0);
    zpoller_t *p = zpoller_new(pipe, rep, NULL);
    assert_non_null(p);
    zsock_signal(pipe, 0);
    for (;;) {
        void *which = zpoller_wait(p, -1);
        if (which != rep)
            break; /* $TERM from zactor_destroy, or interrupted */
        char *req = zstr_recv(rep);
        if (!req)
            break;
        snprintf(f->got, sizeof f->got, "%s", req);
        zstr_free(&req);
        if (f->reply)
            assert_int_equal(zstr_send(rep, f->reply), 0);
    }
    zpoller_destroy(&p);
    zsock_destroy(&rep);
}

struct env {
    char dir[64];
    char path[128];
    struct fake fake;
    zactor_t *actor;
    struct vt_control ctl;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    snprintf(e->dir, sizeof e->dir, "/tmp/vt-control-test-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/control", e->dir);
    snprintf(e->fake.endpoint, sizeof e->fake.endpoint, "ipc://%s", e->path);
    char err[256];
    assert_int_equal(vt_control_init(&e->ctl, e->fake.endpoint, err, sizeof err), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    zactor_destroy(&e->actor);
    unlink(e->path);
    rmdir(e->dir);
    free(e);
    return 0;
}

static void start_fake(struct env *e, const char *reply)
{
    e->fake.reply = reply;
    e->actor = zactor_new(fake_actor, &e->fake);
    assert_non_null(e->actor);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_request_and_ok_reply(void **state)
{
    struct env *e = *state;
    start_fake(e, "{\"ok\":true,\"workers\":[{\"name\":\"w1\",\"site\":\"isp-a\"}]}");
    json_t *req =
        json_pack("{s:s, s:s, s:s, s:s, s:i}", "cmd", "worker.add", "name", "w1", "key",
                  "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "site", "isp-a", "asn", 64500);
    json_t *reply = NULL;
    char err[512] = "";
    if (vt_control_call(&e->ctl, req, &reply, err, sizeof err) != 0)
        fail_msg("call failed: %s", err);
    /* The daemon got the request as JSON, every argument intact. */
    json_t *got = json_loads(e->fake.got, 0, NULL);
    assert_non_null(got);
    assert_true(json_equal(got, req));
    /* And we got its results. */
    assert_non_null(reply);
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(reply, "workers"), 0), "name")),
                        "w1");
    json_decref(got);
    json_decref(req);
    json_decref(reply);
}

static void test_refusal_is_the_daemons_reason(void **state)
{
    struct env *e = *state;
    start_fake(e, "{\"ok\":false,\"error\":\"no campaign iot (see `vantage campaign list`)\"}");
    json_t *req = json_pack("{s:s, s:s}", "cmd", "campaign.status", "name", "iot");
    json_t *reply = (json_t *)1;
    char err[512] = "";
    assert_int_equal(vt_control_call(&e->ctl, req, &reply, err, sizeof err), -1);
    assert_null(reply);
    assert_string_equal(err, "no campaign iot (see `vantage campaign list`)");
    json_decref(req);
}

static void test_garbage_reply(void **state)
{
    struct env *e = *state;
    start_fake(e, "this is not json");
    json_t *req = json_pack("{s:s}", "cmd", "worker.list");
    json_t *reply;
    char err[512] = "";
    assert_int_equal(vt_control_call(&e->ctl, req, &reply, err, sizeof err), -1);
    assert_non_null(strstr(err, "not JSON"));
    json_decref(req);
}

/* A query's reply is two frames: one frame that says ok is an error, not an
 * empty page. An error reply is one frame and says why. */
static void test_rows_frame_expected(void **state)
{
    struct env *e = *state;
    start_fake(e, "{\"ok\":true,\"rows\":0,\"next\":null}");
    json_t *req = json_pack("{s:s}", "cmd", "query"), *reply;
    char err[512] = "", *data = (char *)"x";
    size_t len = 1;
    struct vt_control_pending *p = vt_control_begin(&e->ctl, req, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(vt_control_end_data(p, &reply, &data, &len, err, sizeof err), -1);
    assert_null(reply);
    assert_null(data);
    assert_non_null(strstr(err, "second frame"));
    e->fake.reply = "{\"ok\":false,\"error\":\"query: bad paging key\"}";
    p = vt_control_begin(&e->ctl, req, err, sizeof err);
    assert_int_equal(vt_control_end_data(p, &reply, &data, &len, err, sizeof err), -1);
    assert_string_equal(err, "query: bad paging key");
    json_decref(req);
}

static void test_reply_without_ok(void **state)
{
    struct env *e = *state;
    start_fake(e, "{\"workers\":[]}");
    json_t *req = json_pack("{s:s}", "cmd", "worker.list");
    json_t *reply;
    char err[512] = "";
    assert_int_equal(vt_control_call(&e->ctl, req, &reply, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"ok\""));
    json_decref(req);
}

static void test_silent_daemon_times_out(void **state)
{
    struct env *e = *state;
    start_fake(e, NULL);
    e->ctl.timeout_ms = 300;
    json_t *req = json_pack("{s:s}", "cmd", "worker.list");
    json_t *reply;
    char err[512] = "";
    double t0 = now_s();
    assert_int_equal(vt_control_call(&e->ctl, req, &reply, err, sizeof err), -1);
    double took = now_s() - t0;
    assert_true(took >= 0.25);
    assert_true(took < 2.0);
    char want[512];
    snprintf(want, sizeof want,
             "no answer from the coordinator at %s within 0.3 s (is `vantage serve` running? set "
             "--control or VANTAGE_CONTROL)",
             e->fake.endpoint);
    assert_string_equal(err, want);
    json_decref(req);
}

static void test_missing_socket(void **state)
{
    struct env *e = *state; /* no fake started: nothing at the path */
    json_t *req = json_pack("{s:s}", "cmd", "worker.list");
    json_t *reply;
    char err[512] = "";
    double t0 = now_s();
    assert_int_equal(vt_control_call(&e->ctl, req, &reply, err, sizeof err), -1);
    assert_true(now_s() - t0 < 0.5); /* at once, not after the timeout */
    assert_non_null(strstr(err, "no control socket at "));
    assert_non_null(strstr(err, e->path));
    assert_non_null(strstr(err, "vantage serve"));
    json_decref(req);
}

static void test_not_a_socket(void **state)
{
    struct env *e = *state;
    FILE *f = fopen(e->path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    json_t *req = json_pack("{s:s}", "cmd", "worker.list");
    json_t *reply;
    char err[512] = "";
    assert_int_equal(vt_control_call(&e->ctl, req, &reply, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not a socket"));
    json_decref(req);
}

static void test_endpoint_choice(void **state)
{
    struct vt_control c;
    char err[256];
    assert_int_equal(unsetenv(VT_CONTROL_ENV), 0);
    assert_int_equal(vt_control_init(&c, NULL, err, sizeof err), 0);
    assert_string_equal(c.endpoint, "ipc:///run/vantage/control");
    assert_int_equal(c.timeout_ms, 10000);
    assert_int_equal(setenv(VT_CONTROL_ENV, "ipc:///tmp/from-env", 1), 0);
    assert_int_equal(vt_control_init(&c, NULL, err, sizeof err), 0);
    assert_string_equal(c.endpoint, "ipc:///tmp/from-env");
    assert_int_equal(vt_control_init(&c, "ipc:///tmp/from-flag", err, sizeof err), 0);
    assert_string_equal(c.endpoint, "ipc:///tmp/from-flag"); /* the flag wins */
    assert_int_equal(vt_control_init(&c, "tcp://127.0.0.1:7700", err, sizeof err), -1);
    assert_non_null(strstr(err, "ipc://PATH"));
    assert_int_equal(vt_control_init(&c, "ipc://", err, sizeof err), -1);
    assert_int_equal(unsetenv(VT_CONTROL_ENV), 0);
}

/* ---- times on the command line ---- */

static int64_t parse_time(const char *s)
{
    int64_t ms = -1;
    if (vt_time_parse(s, 1800000000000LL, &ms) != 0)
        fail_msg("\"%s\" refused", s);
    return ms;
}

static void test_time_rfc3339(void **state)
{
    assert_int_equal(parse_time("2026-11-28T10:00:00Z"), 1795860000000LL);
    assert_int_equal(parse_time("2026-11-28t10:00:00z"), 1795860000000LL);
    assert_int_equal(parse_time("2026-11-28 10:00:00Z"), 1795860000000LL);
    assert_int_equal(parse_time("2026-11-28T10:00:00.250Z"), 1795860000250LL);
    assert_int_equal(parse_time("2026-11-28T10:00:00.5Z"), 1795860000500LL);
    assert_int_equal(parse_time("2026-11-28T10:00:00.123456Z"), 1795860000123LL);
    assert_int_equal(parse_time("2026-11-28T11:00:00+01:00"), 1795860000000LL);
    assert_int_equal(parse_time("2026-11-28T05:30:00-04:30"), 1795860000000LL);
    assert_int_equal(parse_time("2026-11-28"), 1795824000000LL);
    assert_int_equal(parse_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_time("2024-02-29T00:00:00Z"), 1709164800000LL);
}

static void test_time_relative(void **state)
{
    int64_t now = 1800000000000LL;
    assert_int_equal(parse_time("2h"), now - 2 * 3600 * 1000LL);
    assert_int_equal(parse_time("90s"), now - 90 * 1000LL);
    assert_int_equal(parse_time("1d12h"), now - 36 * 3600 * 1000LL);
    assert_int_equal(parse_time("30m"), now - 30 * 60 * 1000LL);
}

static void test_time_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "yesterday",
        "1764290000",           /* epoch or seconds ago? refused as ambiguous */
        "2h30",                 /* trailing bare number */
        "2026-11-28T10:00:00",  /* no zone: would mean the local one */
        "2026-11-28T10:00Z",    /* no seconds */
        "2026-02-30T00:00:00Z", /* no such day */
        "2025-02-29",           /* not a leap year */
        "2026-13-01",
        "2026-11-28T24:00:00Z",
        "2026-11-28T10:00:00.Z",
        "2026-11-28T10:00:00+0100",
        "2026-11-28T10:00:00Zjunk",
        "26-11-28",
        "-2h",
        "999999999d", /* before 1970 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 42;
        if (vt_time_parse(bad[i], 1800000000000LL, &ms) == 0)
            fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ms);
    }
}

static void test_time_format(void **state)
{
    char buf[64];
    assert_string_equal(vt_time_format(1795860000250LL, buf, sizeof buf), "2026-11-28T10:00:00Z");
    int64_t now = 1795860000000LL;
    assert_string_equal(vt_time_ago(now, now, buf, sizeof buf), "just now");
    assert_string_equal(vt_time_ago(now - 42000, now, buf, sizeof buf), "42s ago");
    assert_string_equal(vt_time_ago(now - 300000, now, buf, sizeof buf), "5m ago");
    assert_string_equal(vt_time_ago(now - 3 * 3600000LL, now, buf, sizeof buf), "3h ago");
    assert_string_equal(vt_time_ago(now - 3 * 86400000LL, now, buf, sizeof buf), "3d ago");
    assert_string_equal(vt_time_ago(now - 40 * 86400000LL, now, buf, sizeof buf),
                        "2026-10-19T10:00:00Z");
    assert_string_equal(vt_duration_format(42, buf, sizeof buf), "42s");
    assert_string_equal(vt_duration_format(303, buf, sizeof buf), "5m03s");
    assert_string_equal(vt_duration_format(7800, buf, sizeof buf), "2h10m");
    assert_string_equal(vt_duration_format(21600, buf, sizeof buf), "6h00m");
    assert_string_equal(vt_duration_format(3 * 86400 + 4 * 3600, buf, sizeof buf), "3d04h");
}

/* ---- names, CIDRs ---- */

static void test_names(void **state)
{
    assert_true(vt_name_valid("isp-a_1.nl"));
    assert_true(vt_name_valid("a"));
    char long_name[66];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    assert_false(vt_name_valid(long_name));
    long_name[64] = '\0';
    assert_true(vt_name_valid(long_name));
    assert_false(vt_name_valid(""));
    assert_false(vt_name_valid("iot/1")); /* '/' separates campaign/run/shard in leases */
    assert_false(vt_name_valid("two words"));
    assert_false(vt_name_valid("caf\xc3\xa9"));
}

static void test_cidrs(void **state)
{
    char out[32];
    assert_int_equal(vt_cidr_parse("203.0.113.0/24", out, sizeof out), 0);
    assert_string_equal(out, "203.0.113.0/24");
    assert_int_equal(vt_cidr_parse("203.0.113.7", out, sizeof out), 0);
    assert_string_equal(out, "203.0.113.7/32");
    assert_int_equal(vt_cidr_parse("0.0.0.0/0", out, sizeof out), 0);
    assert_string_equal(out, "0.0.0.0/0");
    assert_int_equal(vt_cidr_parse("203.0.113.1/24", out, sizeof out), -1); /* host bits */
    assert_int_equal(vt_cidr_parse("203.0.113.0/33", out, sizeof out), -1);
    assert_int_equal(vt_cidr_parse("203.0.113.0/", out, sizeof out), -1);
    assert_int_equal(vt_cidr_parse("203.0.113/24", out, sizeof out), -1);
    assert_int_equal(vt_cidr_parse("example.net", out, sizeof out), -1);
}

/* ---- output ---- */

/* Runs fn into a memory stream and returns what it wrote (free it). */
static char *capture_row(enum vt_query_format fmt, json_t *row)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (row)
        assert_int_equal(vt_query_print_row(f, fmt, row), 0);
    else
        assert_int_equal(vt_query_print_header(f, fmt), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static const char row_text[] =
    "{\"ip\":\"198.18.0.7\",\"port\":23,\"state\":\"open\",\"ttl\":64,\"window\":498850,"
    "\"first_seen\":\"2026-11-28T10:00:00.000Z\",\"last_seen\":\"2026-11-28T10:20:00.500Z\","
    "\"vantages\":[\"isp-a\",\"isp-b\"],\"campaigns\":[\"iot\"]}";

static void test_query_jsonl_is_the_daemons_row(void **state)
{
    json_t *row = json_loads(row_text, 0, NULL);
    assert_non_null(row);
    char *out = capture_row(VT_QUERY_JSONL, row);
    char want[sizeof row_text + 1];
    snprintf(want, sizeof want, "%s\n", row_text);
    assert_string_equal(out, want); /* same fields, same order, one line */
    free(out);
    out = capture_row(VT_QUERY_JSONL, NULL);
    assert_string_equal(out, ""); /* JSON Lines has no header */
    free(out);
    json_decref(row);
}

static void test_query_csv(void **state)
{
    char *out = capture_row(VT_QUERY_CSV, NULL);
    assert_string_equal(out, "ip,port,state,ttl,window,first_seen,last_seen,vantages,campaigns,"
                             "proto,vendor,product,device,version,exposure,banner\n");
    free(out);
    json_t *row = json_loads(row_text, 0, NULL);
    out = capture_row(VT_QUERY_CSV, row);
    assert_string_equal(out, "198.18.0.7,23,open,64,498850,2026-11-28T10:00:00.000Z,"
                             "2026-11-28T10:20:00.500Z,isp-a|isp-b,iot,,,,,,,\n");
    free(out);
    /* A service: labels in their columns, the banner's line breaks inside quotes. */
    json_t *svc = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "proto", "telnet", "banner",
                            "Serial: X\r\ndvrdvs login:", "labels", "vendor", "Hikvision", "device",
                            "IP Camera", "exposure", "telnet-login");
    json_t *srow = json_deep_copy(row);
    json_object_update(srow, svc);
    out = capture_row(VT_QUERY_CSV, srow);
    assert_string_equal(out, "198.18.0.7,23,open,64,498850,2026-11-28T10:00:00.000Z,"
                             "2026-11-28T10:20:00.500Z,isp-a|isp-b,iot,telnet,Hikvision,,"
                             "IP Camera,,telnet-login,\"Serial: X\r\ndvrdvs login:\"\n");
    free(out);
    json_decref(svc);
    json_decref(srow);
    /* A field with a comma or a quote is quoted; a missing campaign is empty. */
    json_object_set_new(row, "vantages", json_pack("[s]", "isp \"a\", nl"));
    json_object_set_new(row, "campaigns", json_null());
    out = capture_row(VT_QUERY_CSV, row);
    assert_string_equal(out, "198.18.0.7,23,open,64,498850,2026-11-28T10:00:00.000Z,"
                             "2026-11-28T10:20:00.500Z,\"isp \"\"a\"\", nl\",,,,,,,,\n");
    free(out);
    json_decref(row);
}

static void test_query_table(void **state)
{
    char *head = capture_row(VT_QUERY_TABLE, NULL);
    json_t *row = json_loads(row_text, 0, NULL);
    char *out = capture_row(VT_QUERY_TABLE, row);
    /* Columns line up: every header starts where its value starts. */
    static const char *const pairs[][2] = {
        {"IP", "198.18.0.7"},
        {"PORT", "23"},
        {"STATE", "open"},
        {"TTL", "64"},
        {"WINDOW", "498850"},
        {"FIRST-SEEN", "2026-11-28T10:00:00.000Z"},
        {"LAST-SEEN", "2026-11-28T10:20:00.500Z"},
        {"CAMPAIGNS", "iot"},
        {"VANTAGES", "isp-a,isp-b"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const char *h = strstr(head, pairs[i][0]), *v = strstr(out, pairs[i][1]);
        assert_non_null(h);
        assert_non_null(v);
        if (h - head != v - out)
            fail_msg("%s at column %td, its value at %td", pairs[i][0], h - head, v - out);
    }
    free(head);
    free(out);
    json_decref(row);
}

static void test_status_view(void **state)
{
    json_t *st = json_loads(
        "{\"name\": \"iot\", \"state\": \"waiting\", \"run\": 1, \"every_s\": 0,"
        " \"targets\": 65536, \"ports\": \"23,80\", \"rate\": 100000, \"vantages\": 3, \"probes\": "
        "2,"
        " \"shards\": {\"total\": 16, \"done\": 8, \"leased\": 3, \"pending\": 5},"
        " \"sites\": [{\"site\": \"isp-a\", \"done\": 12, \"leased\": 1}],"
        " \"workers\": [{\"name\": \"w1\", \"site\": \"isp-a\", \"lease\": \"iot/1/7\", \"rate\": "
        "33000}],"
        " \"found\": {\"open\": 2710, \"closed\": 8100},"
        " \"eta_s\": 42, \"waiting\": \"1 of the 3 sites it needs are online\","
        " \"created_ms\": 1795860000000, \"completed_ms\": null}",
        0, NULL);
    assert_non_null(st);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(vt_campaign_status_print(f, st, 1795860300000LL), 0);
    assert_int_equal(fclose(f), 0);
    static const char *const want[] = {
        "campaign iot: waiting (run 1, once)",
        "65536 addresses x ports 23,80, 2 probes each, rate 100000/s, 3 vantages",
        "8/16 done, 3 leased, 5 pending",
        " 50%",
        "2710 open, 8100 closed",
        "eta        42s",
        "waiting    1 of the 3 sites it needs are online",
        "created    2026-11-28T10:00:00Z (5m ago)",
        "isp-a  12    1",
        "w1      isp-a  iot/1/7  33000/s",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(buf, want[i]))
            fail_msg("status view lacks \"%s\":\n%s", want[i], buf);
    assert_null(strstr(buf, "completed"));
    free(buf);
    json_decref(st);
}

static void test_table(void **state)
{
    static const char *const head[] = {"NAME", "SITE", "LEASE"};
    struct vt_table *t = vt_table_new(3, head);
    assert_non_null(t);
    const char *r1[] = {"w1", "isp-a", NULL};
    const char *r2[] = {"a-long-name", "b", "iot/1/7"};
    assert_int_equal(vt_table_add(t, r1), 0);
    assert_int_equal(vt_table_add(t, r2), 0);
    assert_int_equal(vt_table_rows(t), 2);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(vt_table_print(t, f, NULL), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "NAME         SITE   LEASE\n"
                             "w1           isp-a  -\n"
                             "a-long-name  b      iot/1/7\n");
    free(buf);
    vt_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_and_ok_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_is_the_daemons_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_frame_expected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_without_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_daemon_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_socket, setup, teardown),
        cmocka_unit_test(test_endpoint_choice),
        cmocka_unit_test(test_time_rfc3339),
        cmocka_unit_test(test_time_relative),
        cmocka_unit_test(test_time_refused),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cidrs),
        cmocka_unit_test(test_query_jsonl_is_the_daemons_row),
        cmocka_unit_test(test_query_csv),
        cmocka_unit_test(test_query_table),
        cmocka_unit_test(test_status_view),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
