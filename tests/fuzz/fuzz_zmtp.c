/* fuzz_zmtp.c: libFuzzer target for what the CLI reads from the control
 * socket: the peer's side of a ZMTP connection (coordinator/zmtp.c) and the
 * rows frame of a `query` reply (vt_query_rows_read, coordinator/query_client.c).
 *
 * The input is every byte the peer sends, in order: it is written into one
 * end of a socketpair before the CLI's end shakes hands, sends a request and
 * reads a reply, so the real reading code (buffering, frame headers, long
 * bodies read straight into place) runs over it. Beyond "no crash, no leak,
 * no hang" (the input ends in EOF, so nothing may wait for more), it checks
 * what zmtp.h promises: a failure leaves a one-line reason and no frames; a
 * reply has 1..nmax frames, each NUL-terminated and within max_frame. */
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "fuzz.h"
#include "zmtp.h"

#define MAX_FRAME 2048 /* below run.sh's 4096: the refusal of a large frame is reachable */

static void check_reason(const char *err, size_t errlen)
{
    fuzz_check_err(err, errlen);
    fuzz_check(strchr(err, '\n') == NULL);
}

static int count_row(void *arg, json_t *row)
{
    fuzz_check(json_is_object(row));
    (*(size_t *)arg)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    /* run.sh gives at most 4096 bytes: they fit the socket's buffer at once. */
    for (size_t at = 0; at < size;) {
        ssize_t w = write(sv[1], data + at, size - at);
        fuzz_check(w > 0);
        at += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);

    struct vt_zmtp z;
    char err[512] = "";
    if (vt_zmtp_handshake(&z, sv[0], 1000, MAX_FRAME, err, sizeof err) != 0) {
        check_reason(err, sizeof err);
        fuzz_check(z.fd == -1);
        close(sv[1]);
        return 0;
    }
    static const char req[] = "{\"cmd\":\"query\"}";
    if (vt_zmtp_send(&z, req, sizeof req - 1, 1000, err, sizeof err) != 0) {
        check_reason(err, sizeof err);
        vt_zmtp_close(&z);
        close(sv[1]);
        return 0;
    }
    struct vt_zmtp_frame f[2] = {{NULL, 0}, {NULL, 0}};
    size_t n = 99;
    bool late = true;
    int rc = vt_zmtp_recv(&z, f, 2, &n, 1000, &late, err, sizeof err);
    vt_zmtp_close(&z);
    close(sv[1]);
    if (rc != 0) {
        check_reason(err, sizeof err);
        fuzz_check(n == 0);
        fuzz_check(!late); /* the input ended: EOF, never a wait */
        return 0;
    }
    fuzz_check(n >= 1 && n <= 2);
    for (size_t i = 0; i < n; i++) {
        fuzz_check(f[i].len <= MAX_FRAME);
        fuzz_check(f[i].data[f[i].len] == '\0');
    }
    /* A query reply: the head's count, then the rows frame read as the CLI reads it. */
    json_t *head = json_loadb(f[0].data, f[0].len, 0, NULL);
    json_t *rows = json_object_get(head, "rows");
    if (n == 2 && json_is_integer(rows)) {
        size_t got = 0;
        json_int_t count = json_integer_value(rows);
        if (vt_query_rows_read(f[1].data, f[1].len, count, count_row, NULL, &got, err,
                               sizeof err) == 0)
            fuzz_check((json_int_t)got == count);
        else
            check_reason(err, sizeof err);
    }
    json_decref(head);
    for (size_t i = 0; i < n; i++)
        free(f[i].data);
    return 0;
}
