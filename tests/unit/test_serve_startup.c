/* test_serve_startup.c: how `vantage serve` (coordinator/serve.c) fails to
 * start. An operator — or systemd, restarting it — must get one line on
 * stderr that names the cause, and exit 1 (or 2 for a bad command line):
 * never an abort, never a core, never a file of someone else's removed.
 *
 * Each case runs the real binary (build/coordinator/vantage, found next to
 * this executable, or VANTAGE_BIN) in a temporary directory, on 127.0.0.1
 * and ipc paths only: a port someone else holds, a store another daemon
 * holds, --db naming a file, bad --listen and --control endpoints, a control
 * path that is a regular file or a live daemon's socket, a --window other
 * than the store's, a key file others can read. With a daemon running: the
 * enrolment refusals of `worker add` (the coordinator's own key, an all-zero
 * key, a secret key), the log line of a refused handshake, and SIGHUP
 * reloading --blocklist with the daemon running on. In process:
 * the keyring's guard (ZMQ_ZAP_ENFORCE_DOMAIN) refuses every handshake when
 * no ZAP handler runs, and only unenrolled keys when it does.
 *
 * Every wait is bounded and every daemon started is killed on the way out. */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <czmq.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control_request.h"
#include "keyring.h"
#include "keys.h"

#define WAIT_MS  10000 /* a failing start ends within this, or it hangs */
#define REPLY_MS 2000

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* libzmq 4.3, draft API */
#endif

static struct {
    char dir[64];
    char bin[PATH_MAX];
    char key[128]; /* the coordinator's key pair: key, key.pub */
    char public_key[VT_Z85_KEY_LEN + 1];
    pid_t daemons[8];
    int runs;
} t;

/* A daemon started in the background. */
struct daemon {
    pid_t pid;
    char db[160], control[160], listen[64], log[160];
};

/* What one failed start did. */
struct outcome {
    bool exited, signaled;
    int status, sig;
    char err[4096];
    int lines;
};

/* ---- processes ---- */

static void kill_all(void)
{
    for (size_t i = 0; i < sizeof t.daemons / sizeof t.daemons[0]; i++)
        if (t.daemons[i] > 0) {
            kill(t.daemons[i], SIGKILL);
            waitpid(t.daemons[i], NULL, 0);
            t.daemons[i] = 0;
        }
}

static void on_alarm(int sig)
{
    (void)sig;
    for (size_t i = 0; i < sizeof t.daemons / sizeof t.daemons[0]; i++)
        if (t.daemons[i] > 0)
            kill(t.daemons[i], SIGKILL);
    static const char msg[] = "test_serve_startup: took too long; daemons killed\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

static void track(pid_t pid)
{
    for (size_t i = 0; i < sizeof t.daemons / sizeof t.daemons[0]; i++)
        if (t.daemons[i] == 0) {
            t.daemons[i] = pid;
            return;
        }
    fail_msg("too many daemons");
}

static void untrack(pid_t pid)
{
    for (size_t i = 0; i < sizeof t.daemons / sizeof t.daemons[0]; i++)
        if (t.daemons[i] == pid)
            t.daemons[i] = 0;
}

/* VANTAGE_BIN, or build/coordinator/vantage beside build/tests/<this test>. */
static void find_binary(void)
{
    if (!getenv("VANTAGE_BIN")) {
        char self[PATH_MAX], path[PATH_MAX + 32];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        assert_true(n > 0);
        self[n] = '\0';
        snprintf(path, sizeof path, "%s/../coordinator/vantage", dirname(self));
        setenv("VANTAGE_BIN", path, 1);
    }
    snprintf(t.bin, sizeof t.bin, "%s", getenv("VANTAGE_BIN"));
    if (access(t.bin, X_OK) != 0)
        fail_msg("no daemon to test at %s (build it, or set VANTAGE_BIN)", t.bin);
}

/* Starts `vantage ARGS…` with stdout and stderr into log; argv ends with NULL. */
static pid_t spawn(const char *log, const char *const *argv)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execv(t.bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits at most ms for pid; true with *status if it ended. */
static bool wait_for(pid_t pid, int ms, int *status)
{
    for (int waited = 0;; waited += 20) {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid)
            return true;
        if (waited >= ms)
            return false;
        usleep(20 * 1000);
    }
}

static void read_file(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs `vantage serve ARGS…` (NULL-terminated) to its end. */
static void run_serve(struct outcome *o, ...)
{
    const char *argv[32] = {"vantage", "serve"};
    size_t n = 2;
    va_list ap;
    va_start(ap, o);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 31;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    char log[128];
    snprintf(log, sizeof log, "%s/run%d.stderr", t.dir, t.runs++);
    pid_t pid = spawn(log, argv);
    track(pid);
    int status = 0;
    if (!wait_for(pid, WAIT_MS, &status))
        fail_msg("vantage serve %s %s … still runs after %d ms: it should have refused to start",
                 argv[2], argv[3] ? argv[3] : "", WAIT_MS);
    untrack(pid);
    memset(o, 0, sizeof *o);
    o->exited = WIFEXITED(status);
    o->status = o->exited ? WEXITSTATUS(status) : -1;
    o->signaled = WIFSIGNALED(status);
    o->sig = o->signaled ? WTERMSIG(status) : 0;
    read_file(log, o->err, sizeof o->err);
    for (const char *p = o->err; *p; p++)
        o->lines += *p == '\n';
}

/* The start failed with status, one line on stderr holding every needle
 * (NULL-terminated), and no signal (no abort, no core). */
static void expect_refusal(const struct outcome *o, int status, ...)
{
    print_message("  exit %d: %s", o->status, o->err[0] ? o->err : "(nothing on stderr)\n");
    if (o->signaled)
        fail_msg("killed by signal %d (%s) instead of exiting %d", o->sig, strsignal(o->sig),
                 status);
    assert_true(o->exited);
    assert_int_equal(o->status, status);
    assert_int_equal(o->lines, 1);
    assert_int_equal(strncmp(o->err, "vantage serve: ", 15), 0);
    va_list ap;
    va_start(ap, status);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        if (!strstr(o->err, needle)) {
            va_end(ap);
            fail_msg("stderr does not say \"%s\"", needle);
        }
    va_end(ap);
}

/* ---- endpoints, paths ---- */

/* A TCP port on loopback that nothing listens on right now. */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", t.dir, name);
}

static void ipc_of(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "ipc://%s", path);
}

/* ---- a running daemon ---- */

/* One control request, one reply within REPLY_MS; NULL if none came. */
static json_t *control(const char *path, json_t *req)
{
    return control_request(path, req, REPLY_MS);
}

static bool answers(const char *control_path)
{
    json_t *rep = control(control_path, json_pack("{s:s}", "cmd", "worker.list"));
    bool ok = rep && json_is_true(json_object_get(rep, "ok"));
    json_decref(rep);
    return ok;
}

/* Starts a daemon on a new store (name) and waits until it answers. Extra
 * flags (NULL-terminated) go after the usual ones. */
static void daemon_start(struct daemon *d, const char *name, ...) __attribute__((sentinel));
static void daemon_start(struct daemon *d, const char *name, ...)
{
    char buf[64];
    memset(d, 0, sizeof *d);
    snprintf(buf, sizeof buf, "%s.db", name);
    path_in(d->db, sizeof d->db, buf);
    snprintf(buf, sizeof buf, "%s.ctl", name);
    path_in(d->control, sizeof d->control, buf);
    snprintf(buf, sizeof buf, "%s.log", name);
    path_in(d->log, sizeof d->log, buf);
    snprintf(d->listen, sizeof d->listen, "tcp://127.0.0.1:%d", free_port());
    char control_ep[170];
    ipc_of(control_ep, sizeof control_ep, d->control);
    const char *argv[32] = {"vantage", "serve",     "--db",     d->db,   "--listen",
                            d->listen, "--control", control_ep, "--key", t.key};
    size_t n = 10;
    va_list ap;
    va_start(ap, name);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 31;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    d->pid = spawn(d->log, argv);
    track(d->pid);
    for (int i = 0; i < 100; i++) {
        if (waitpid(d->pid, NULL, WNOHANG) != 0) {
            char log[2048];
            read_file(d->log, log, sizeof log);
            untrack(d->pid);
            d->pid = 0;
            fail_msg("daemon %s exited at start: %s", name, log);
        }
        if (access(d->control, F_OK) == 0 && answers(d->control))
            return;
        usleep(50 * 1000);
    }
    fail_msg("daemon %s did not answer within 5 s (see %s)", name, d->log);
}

/* SIGTERM, and a clean exit 0 within 5 s. */
static void daemon_stop(struct daemon *d)
{
    assert_true(d->pid > 0);
    assert_int_equal(kill(d->pid, SIGTERM), 0);
    int status = 0;
    if (!wait_for(d->pid, 5000, &status))
        fail_msg("the daemon did not stop within 5 s of SIGTERM");
    untrack(d->pid);
    d->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- set-up ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGALRM, on_alarm);
    alarm(100);
    atexit(kill_all);
    find_binary();
    strcpy(t.dir, "/tmp/test_serve_startup.XXXXXX");
    assert_non_null(mkdtemp(t.dir));
    path_in(t.key, sizeof t.key, "coord.key");
    char err[512];
    if (vt_keygen(t.key, t.public_key, err, sizeof err) != 0)
        fail_msg("%s", err);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kill_all();
    if (getenv("KEEP_TMP"))
        fprintf(stderr, "kept %s\n", t.dir);
    else
        nftw(t.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    alarm(0);
    return 0;
}

/* The usual flags of a start expected to fail before it binds anything. */
#define DB_FLAGS(db, listen, control) "--db", db, "--listen", listen, "--control", control

/* ---- failures to start ---- */

/* A port another program listens on: exit 1, "Address already in use". */
static void test_port_in_use(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 1), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    char db[160], ctl[160], ctl_ep[170], ep[64];
    path_in(db, sizeof db, "inuse.db");
    path_in(ctl, sizeof ctl, "inuse.ctl");
    ipc_of(ctl_ep, sizeof ctl_ep, ctl);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    struct outcome o;
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", t.key, NULL);
    close(s);
    expect_refusal(&o, 1, "cannot listen on", ep, "already in use", NULL);
    assert_int_not_equal(access(ctl, F_OK), 0); /* no control socket left behind */
}

/* --metrics: a value that is no IP:PORT is bad usage (exit 2); a port
 * another program holds fails the start (exit 1); neither leaves a control
 * socket behind. */
static void test_bad_metrics(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 1), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    char db[160], ctl[160], ctl_ep[170], ep[64], taken[64];
    path_in(db, sizeof db, "metrics.db");
    path_in(ctl, sizeof ctl, "metrics.ctl");
    ipc_of(ctl_ep, sizeof ctl_ep, ctl);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());
    snprintf(taken, sizeof taken, "127.0.0.1:%d", ntohs(a.sin_port));
    struct outcome o;
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", t.key, "--metrics", "localhost:9100", NULL);
    expect_refusal(&o, 2, "bad --metrics 'localhost:9100'", NULL);
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", t.key, "--metrics", taken, NULL);
    close(s);
    expect_refusal(&o, 1, "--metrics", taken, "already in use", NULL);
    assert_int_not_equal(access(ctl, F_OK), 0);
}

/* A second daemon on the same store: exit 1 naming the store and the lock. */
static void test_store_locked(void **state)
{
    (void)state;
    struct daemon first;
    daemon_start(&first, "locked", NULL);
    char ctl[160], ctl_ep[170], ep[64];
    path_in(ctl, sizeof ctl, "locked2.ctl");
    ipc_of(ctl_ep, sizeof ctl_ep, ctl);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());
    struct outcome o;
    run_serve(&o, DB_FLAGS(first.db, ep, ctl_ep), "--key", t.key, NULL);
    expect_refusal(&o, 1, first.db, "lock", "another vantage serve", NULL);
    assert_int_not_equal(access(ctl, F_OK), 0);
    assert_true(answers(first.control)); /* the first one is untouched */
    daemon_stop(&first);
}

/* --db naming a regular file: exit 1, and the file is left as it was. */
static void test_db_is_a_file(void **state)
{
    (void)state;
    char db[160], ctl[160], ctl_ep[170], ep[64];
    path_in(db, sizeof db, "file.db");
    path_in(ctl, sizeof ctl, "file.ctl");
    ipc_of(ctl_ep, sizeof ctl_ep, ctl);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());
    FILE *f = fopen(db, "w");
    assert_non_null(f);
    fputs("not a store\n", f);
    fclose(f);
    struct outcome o;
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", t.key, NULL);
    expect_refusal(&o, 1, db, "not a directory", NULL);
    char text[64];
    read_file(db, text, sizeof text);
    assert_string_equal(text, "not a store\n");
}

/* --listen that is no TCP endpoint this host can bind: exit 2, "bad --listen". */
static void test_bad_listen(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "foo",
        "tcp://999.1.1.1:1",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:70000",
        "tcp://127.0.0.1:77x",
        "tcp://:7700",
        "tcp://localhost:7700",
        "tcp://[::1:7700",
        "ipc:///tmp/x",
    };
    char db[160], ctl[160], ctl_ep[170];
    path_in(db, sizeof db, "listen.db");
    path_in(ctl, sizeof ctl, "listen.ctl");
    ipc_of(ctl_ep, sizeof ctl_ep, ctl);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("--listen %s\n", bad[i]);
        struct outcome o;
        run_serve(&o, DB_FLAGS(db, bad[i], ctl_ep), "--key", t.key, NULL);
        expect_refusal(&o, 2, "bad --listen", bad[i], NULL);
    }
    assert_int_not_equal(access(db, F_OK), 0); /* refused before the store was made */
}

/* --control that is no ipc path: exit 2, "bad --control". */
static void test_bad_control(void **state)
{
    (void)state;
    char longpath[200];
    memset(longpath, 'x', sizeof longpath);
    memcpy(longpath, "ipc:///tmp/", 11);
    longpath[sizeof longpath - 1] = '\0';
    const char *const bad[] = {"tcp://127.0.0.1:9", "ipc://",   "ipc://@abstract",
                               "ipc://*",           "/tmp/ctl", longpath};
    char db[160], ep[64];
    path_in(db, sizeof db, "control.db");
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("--control %.40s\n", bad[i]);
        struct outcome o;
        run_serve(&o, DB_FLAGS(db, ep, bad[i]), "--key", t.key, NULL);
        expect_refusal(&o, 2, "bad --control", NULL);
    }
    assert_int_not_equal(access(db, F_OK), 0);
}

/* A regular file where the control socket goes: refused, and still there. */
static void test_control_path_is_a_file(void **state)
{
    (void)state;
    char db[160], ctl[160], ctl_ep[170], ep[64];
    path_in(db, sizeof db, "ctlfile.db");
    path_in(ctl, sizeof ctl, "ctlfile.ctl");
    ipc_of(ctl_ep, sizeof ctl_ep, ctl);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());
    FILE *f = fopen(ctl, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    struct outcome o;
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", t.key, NULL);
    expect_refusal(&o, 1, ctl, "not a socket", NULL);
    struct stat st;
    assert_int_equal(lstat(ctl, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    char text[64];
    read_file(ctl, text, sizeof text);
    assert_string_equal(text, "precious\n");
}

/* A second daemon on a live control socket: refused; the first still answers. */
static void test_control_socket_in_use(void **state)
{
    (void)state;
    struct daemon first;
    daemon_start(&first, "live", NULL);
    char db[160], ctl_ep[170], ep[64];
    path_in(db, sizeof db, "live2.db");
    ipc_of(ctl_ep, sizeof ctl_ep, first.control);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());
    struct outcome o;
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", t.key, NULL);
    expect_refusal(&o, 1, "another vantage serve is using the control socket", first.control, NULL);
    assert_true(answers(first.control));
    daemon_stop(&first);
}

/* A socket left by a run that died (nobody answers on it) is replaced. */
static void test_stale_control_socket_is_replaced(void **state)
{
    (void)state;
    char ctl[100]; /* fits sun_path */
    path_in(ctl, sizeof ctl, "stale.ctl");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", ctl);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    close(s); /* the file stays: a stale socket */
    struct daemon d;
    daemon_start(&d, "stale", NULL);
    daemon_stop(&d);
}

/* --window is fixed when the store is made: another one is refused (exit 2),
 * none means the store's own, the same one is fine. */
static void test_window_fixed_at_creation(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "window", "--window", "30m", NULL);
    daemon_stop(&d);

    char ctl_ep[170];
    ipc_of(ctl_ep, sizeof ctl_ep, d.control);
    struct outcome o;
    run_serve(&o, DB_FLAGS(d.db, d.listen, ctl_ep), "--key", t.key, "--window", "1h", NULL);
    expect_refusal(&o, 2, "this store was created with --window 30m", NULL);

    /* without --window: the store's 30m, and it says so */
    daemon_start(&d, "window", NULL);
    daemon_stop(&d);
    char log[4096];
    read_file(d.log, log, sizeof log);
    assert_non_null(strstr(log, "window 30m"));
    daemon_start(&d, "window", "--window", "1800", NULL); /* the same, spelled otherwise */
    daemon_stop(&d);

    /* --retention: a duration of at least one window, or the start stops. */
    run_serve(&o, DB_FLAGS(d.db, d.listen, ctl_ep), "--key", t.key, "--retention", "10m", NULL);
    expect_refusal(&o, 2, "bad --retention '10m': shorter than the store's window 30m", NULL);
    run_serve(&o, DB_FLAGS(d.db, d.listen, ctl_ep), "--key", t.key, "--retention", "soon", NULL);
    expect_refusal(&o, 2, "bad --retention 'soon'", NULL);
    daemon_start(&d, "window", "--retention", "90d", NULL);
    daemon_stop(&d);
    read_file(d.log, log, sizeof log);
    assert_non_null(strstr(log, "retention 90d"));
}

/* --rules: a path that is not there, or a file that is not Recog's, stops the
 * start with one line naming it (exit 2); a good one is loaded. */
static void test_rules_checked_at_start(void **state)
{
    (void)state;
    char rules[160], page[160], ctl_ep[170];
    path_in(rules, sizeof rules, "good-rules.xml");
    path_in(page, sizeof page, "page.xml");
    FILE *f = fopen(rules, "w");
    assert_non_null(f);
    fputs("<fingerprints matches=\"html_title\"><fingerprint pattern=\"^Test$\">"
          "<description>t</description><example>Test</example>"
          "<param pos=\"0\" name=\"hw.vendor\" value=\"T\"/></fingerprint></fingerprints>\n",
          f);
    fclose(f);
    f = fopen(page, "w");
    assert_non_null(f);
    fputs("<html><body>not rules</body></html>\n", f);
    fclose(f);
    struct daemon d;
    daemon_start(&d, "rules", "--rules", rules, NULL);
    daemon_stop(&d);
    ipc_of(ctl_ep, sizeof ctl_ep, d.control);
    struct outcome o;
    run_serve(&o, DB_FLAGS(d.db, d.listen, ctl_ep), "--key", t.key, "--rules", "/nonexistent.xml",
              NULL);
    expect_refusal(&o, 2, "--rules /nonexistent.xml", NULL);
    run_serve(&o, DB_FLAGS(d.db, d.listen, ctl_ep), "--key", t.key, "--rules", rules, "--rules",
              page, NULL);
    expect_refusal(&o, 2, page, NULL);
}

/* A secret key file others can read is refused, as ssh does; a .pub file too. */
static void test_key_file_modes(void **state)
{
    (void)state;
    char key[160], pub[170], db[160], ctl[160], ctl_ep[170], ep[64], pubkey[VT_Z85_KEY_LEN + 1];
    char err[512];
    path_in(key, sizeof key, "open.key");
    snprintf(pub, sizeof pub, "%s.pub", key);
    assert_int_equal(vt_keygen(key, pubkey, err, sizeof err), 0);
    path_in(db, sizeof db, "modes.db");
    path_in(ctl, sizeof ctl, "modes.ctl");
    ipc_of(ctl_ep, sizeof ctl_ep, ctl);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", free_port());

    assert_int_equal(chmod(key, 0644), 0);
    struct outcome o;
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", key, NULL);
    expect_refusal(&o, 1, "permissions 0644 for", key, "too open", "chmod 600", NULL);

    assert_int_equal(chmod(key, 0640), 0); /* its own user's file, shared with a group */
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", key, NULL);
    expect_refusal(&o, 1, "permissions 0640", NULL);

    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", pub, NULL);
    expect_refusal(&o, 1, "holds no secret key", NULL);

    char missing[160];
    path_in(missing, sizeof missing, "missing.key");
    run_serve(&o, DB_FLAGS(db, ep, ctl_ep), "--key", missing, NULL);
    expect_refusal(&o, 1, missing, "keygen", NULL);

    /* the same key at 0600 is taken */
    assert_int_equal(chmod(key, 0600), 0);
    struct daemon d;
    daemon_start(&d, "modes-ok", "--key", key, NULL);
    daemon_stop(&d);
}

/* ---- with a daemon: enrolment refusals, refused handshakes logged ---- */

static const char *add_error(const char *control_path, const char *key)
{
    static char text[512];
    json_t *rep = control(control_path, json_pack("{s:s, s:s, s:s, s:s}", "cmd", "worker.add",
                                                  "name", "w-test", "key", key, "site", "lab"));
    assert_non_null(rep);
    const char *e = json_string_value(json_object_get(rep, "error"));
    snprintf(text, sizeof text, "%s", json_is_true(json_object_get(rep, "ok")) ? "" : e ? e : "?");
    json_decref(rep);
    print_message("  worker.add: %s\n", text[0] ? text : "ok");
    return text;
}

/* Runs the CLI `vantage worker add` against a daemon; its exit status. */
static int cli_worker_add(const struct daemon *d, const char *key, char *out, size_t outlen)
{
    char ctl_ep[170], log[160];
    ipc_of(ctl_ep, sizeof ctl_ep, d->control);
    path_in(log, sizeof log, "cli.out");
    const char *argv[] = {"vantage", "worker", "add",       "w-cli", "--key", key,
                          "--site",  "lab",    "--control", ctl_ep,  NULL};
    pid_t pid = spawn(log, argv);
    int status = 0;
    if (!wait_for(pid, WAIT_MS, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("vantage worker add did not end");
    }
    read_file(log, out, outlen);
    print_message("  vantage worker add --key %.30s: exit %d: %s", key, WEXITSTATUS(status), out);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* How many lines of a log hold what. */
static int log_lines_with(const char *log, const char *what)
{
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

/* Waits (bounded) until the daemon's log holds `what` n times. */
static bool log_reaches(const char *log, const char *what, int n)
{
    for (int i = 0; i < 100; i++) {
        if (log_lines_with(log, what) >= n)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A campaign over 10.1.0.0/24; returns the error, or "" if it started. */
static const char *start_campaign(const char *control_path, const char *name)
{
    static char text[512];
    json_t *rep =
        control(control_path, json_pack("{s:s, s:s, s:s, s:s}", "cmd", "campaign.start", "name",
                                        name, "targets", "10.1.0.0/24", "ports", "80"));
    assert_non_null(rep);
    snprintf(text, sizeof text, "%s",
             json_is_true(json_object_get(rep, "ok"))
                 ? ""
                 : json_string_value(json_object_get(rep, "error")));
    json_decref(rep);
    return text;
}

/* SIGHUP re-reads --blocklist (and --rules) and never stops the daemon: a
 * file that no longer loads keeps the old list, and says so in the log; a
 * good one applies to the next campaign. */
static void test_sighup_reloads_blocklist(void **state)
{
    (void)state;
    char list[160];
    path_in(list, sizeof list, "reload-blocklist.txt");
    write_text(list, "192.0.2.0/24\n");
    struct daemon d;
    daemon_start(&d, "reload", "--blocklist", list, NULL);

    /* a bad file: refused, the daemon lives on with the old list */
    write_text(list, "192.0.2.0/24\nnot-an-address\n");
    assert_int_equal(kill(d.pid, SIGHUP), 0);
    assert_true(log_reaches(d.log, "reload: --blocklist", 1));
    assert_int_equal(log_lines_with(d.log, "not taken"), 1);
    assert_int_equal(waitpid(d.pid, NULL, WNOHANG), 0);
    assert_true(answers(d.control));
    assert_string_equal(start_campaign(d.control, "before"), "");

    /* a good file: taken, and the next campaign's space is cut by it */
    write_text(list, "192.0.2.0/24\n10.1.0.0/16\n");
    assert_int_equal(kill(d.pid, SIGHUP), 0);
    assert_true(log_reaches(d.log, "reload: --blocklist", 2));
    assert_int_equal(log_lines_with(d.log, ": 2 ranges"), 1);
    assert_int_equal(waitpid(d.pid, NULL, WNOHANG), 0);
    assert_non_null(strstr(start_campaign(d.control, "after"), "every target is in the blocklist"));
    /* and HUP again and again changes nothing else */
    for (int i = 0; i < 5; i++)
        assert_int_equal(kill(d.pid, SIGHUP), 0);
    assert_true(log_reaches(d.log, "reload: done", 3));
    assert_true(answers(d.control));
    daemon_stop(&d);
}

static void test_worker_add_refusals(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "enrol", NULL);

    /* the coordinator's own public key, and its secret key */
    assert_non_null(strstr(add_error(d.control, t.public_key), "coordinator's own public key"));
    zcert_t *own = zcert_load(t.key);
    assert_non_null(own);
    char secret[VT_Z85_KEY_LEN + 1];
    snprintf(secret, sizeof secret, "%s", zcert_secret_txt(own));
    zcert_destroy(&own);
    const char *e = add_error(d.control, secret);
    assert_non_null(strstr(e, "SECRET"));
    assert_null(strstr(e, secret)); /* never echoed */
    assert_non_null(
        strstr(add_error(d.control, "0000000000000000000000000000000000000000"), "all zeros"));

    /* an enrolled worker's secret key, pasted for another worker */
    zcert_t *w = zcert_new();
    assert_non_null(w);
    assert_string_equal(add_error(d.control, zcert_public_txt(w)), "");
    assert_non_null(strstr(add_error(d.control, zcert_secret_txt(w)), "SECRET key of worker"));

    /* the CLI: a key file holding a secret, all zeros, the coordinator's .pub */
    char out[2048], pub[170];
    assert_int_equal(cli_worker_add(&d, t.key, out, sizeof out), 2);
    assert_non_null(strstr(out, "SECRET"));
    assert_int_equal(
        cli_worker_add(&d, "0000000000000000000000000000000000000000", out, sizeof out), 2);
    snprintf(pub, sizeof pub, "%s.pub", t.key);
    assert_int_equal(cli_worker_add(&d, pub, out, sizeof out), 1);
    assert_non_null(strstr(out, "coordinator's own public key"));
    zcert_destroy(&w);
    daemon_stop(&d);
}

/* A worker whose key is not enrolled retries every 100 ms or so: the daemon
 * logs it, once, with the key's first 8 characters and the address. */
static void test_refused_handshake_is_logged_once(void **state)
{
    (void)state;
    struct daemon d;
    daemon_start(&d, "refused", NULL);
    zcert_t *stranger = zcert_new();
    assert_non_null(stranger);
    zsock_t *s = zsock_new(ZMQ_DEALER);
    assert_non_null(s);
    zsock_set_linger(s, 0);
    zsock_set_reconnect_ivl(s, 50);
    zcert_apply(stranger, s);
    zsock_set_curve_serverkey(s, t.public_key);
    assert_int_equal(zsock_connect(s, "%s", d.listen), 0);
    zstr_send(s, "hello?");
    usleep(1500 * 1000); /* many handshakes refused */
    zsock_destroy(&s);

    char prefix[9], whole[VT_Z85_KEY_LEN + 1];
    snprintf(prefix, sizeof prefix, "%s", zcert_public_txt(stranger));
    snprintf(whole, sizeof whole, "%s", zcert_public_txt(stranger));
    zcert_destroy(&stranger);
    daemon_stop(&d);
    char line[64];
    snprintf(line, sizeof line, "key %s...", prefix);
    int lines = log_lines_with(d.log, line), refused = log_lines_with(d.log, "refused a worker");
    print_message("  %d line(s) about key %s, %d about refused handshakes\n", lines, prefix,
                  refused);
    assert_int_equal(lines, 1);
    assert_int_equal(refused, 1);
    assert_true(log_lines_with(d.log, "from 127.0.0.1") >= 1);
    assert_int_equal(log_lines_with(d.log, whole), 0); /* a prefix only, never the key */
}

/* ---- in process: the guard on the workers' socket ---- */

/* Sends one message from a new DEALER with key cert; true if router got it. */
static bool gets_through(zsock_t *router, int port, const char *server_key, zcert_t *cert)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    assert_non_null(s);
    zsock_set_linger(s, 0);
    zcert_apply(cert, s);
    zsock_set_curve_serverkey(s, server_key);
    assert_int_equal(zsock_connect(s, "tcp://127.0.0.1:%d", port), 0);
    zstr_send(s, "hello");
    zpoller_t *p = zpoller_new(router, NULL);
    bool got = zpoller_wait(p, 700) == router;
    if (got) {
        zmsg_t *m = zmsg_recv(router);
        zmsg_destroy(&m);
    }
    zpoller_destroy(&p);
    zsock_destroy(&s);
    return got;
}

static void test_guard_fails_closed(void **state)
{
    (void)state;
    zcert_t *server = zcert_new(), *worker = zcert_new(), *stranger = zcert_new();
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    assert_int_equal(vt_keyring_guard(router), 0);
    int on = 0;
    size_t len = sizeof on;
    assert_int_equal(zmq_getsockopt(zsock_resolve(router), ZMQ_ZAP_ENFORCE_DOMAIN, &on, &len), 0);
    assert_int_equal(on, 1);
    zcert_apply(server, router);
    zsock_set_curve_server(router, 1);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);

    /* no ZAP handler at all: nobody gets in (libzmq's default would let all in) */
    assert_false(gets_through(router, port, zcert_public_txt(server), worker));

    zactor_t *ring = vt_keyring_new();
    assert_non_null(ring);
    assert_null(vt_keyring_new()); /* one ZAP handler per process: a second is refused */
    vt_keyring_set(ring, zcert_public_txt(worker), true);
    assert_true(gets_through(router, port, zcert_public_txt(server), worker));
    assert_false(gets_through(router, port, zcert_public_txt(server), stranger));
    vt_keyring_set(ring, zcert_public_txt(worker), false);
    assert_false(gets_through(router, port, zcert_public_txt(server), worker));

    vt_keyring_destroy(&ring);
    zsock_destroy(&router);
    zcert_destroy(&server);
    zcert_destroy(&worker);
    zcert_destroy(&stranger);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_store_locked),
        cmocka_unit_test(test_db_is_a_file),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_bad_control),
        cmocka_unit_test(test_control_path_is_a_file),
        cmocka_unit_test(test_control_socket_in_use),
        cmocka_unit_test(test_stale_control_socket_is_replaced),
        cmocka_unit_test(test_window_fixed_at_creation),
        cmocka_unit_test(test_key_file_modes),
        cmocka_unit_test(test_worker_add_refusals),
        cmocka_unit_test(test_refused_handshake_is_logged_once),
        cmocka_unit_test(test_guard_fails_closed),
        cmocka_unit_test(test_rules_checked_at_start),
        cmocka_unit_test(test_sighup_reloads_blocklist),
        cmocka_unit_test(test_bad_metrics),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
