/* base.c: the bottom layer of the daemon, which every other part may use and
 * which uses none of them: the log (proto/log.c: one format for both
 * daemons), the two clocks, escaping of text that
 * came from a peer, and sending one envelope to a worker's connection.
 *
 * Clocks: durations and deadlines (leases, online checks, rate limits) are
 * on CLOCK_MONOTONIC, so an NTP step cannot lapse every lease at once; the
 * wall clock (vt_now_ms, control_client.c) is for times that are stored or
 * shown. */
#include "coord.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

int64_t vt_mono_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail on Linux */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vt_mono_us(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void vt_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_log_linev(VT_LOG_INFO, "vantage", fmt, ap);
    va_end(ap);
}

void vt_log_at(enum vt_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_log_linev(level, "vantage", fmt, ap);
    va_end(ap);
}

const char *vt_escape(const char *text, char *out, size_t outlen)
{
    return vt_log_escape(text, out, outlen);
}

json_t *vt_reply_fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

const char *vt_req_str(json_t *req, const char *key)
{
    return json_string_value(json_object_get(req, key));
}

json_int_t vt_req_num(json_t *req, const char *key, json_int_t dflt)
{
    json_t *v = json_object_get(req, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int vt_send_body(struct vt_coord *c, struct vt_worker *w, Vantage__Envelope__BodyCase body,
                 void *msg)
{
    Vantage__Envelope env = VANTAGE__ENVELOPE__INIT;
    env.version = VT_PROTOCOL_VERSION;
    env.body_case = body;
    env.hello = msg; /* the body is a union of pointers: any member sets it */
    return vt_send_to(c, w, &env);
}

int vt_send_to(struct vt_coord *c, struct vt_worker *w, const Vantage__Envelope *env)
{
    if (!w->route)
        return -1;
    uint8_t *buf;
    size_t len;
    if (vt_envelope_pack(env, &buf, &len) != 0)
        return -1;
    zmsg_t *m = zmsg_new();
    zframe_t *id = zframe_dup(w->route);
    zmsg_append(m, &id);
    zmsg_addmem(m, buf, len);
    free(buf);
    /* ROUTER drops (does not block) for a peer whose queue is full: the
     * protocol tolerates that (heartbeats, re-sent batches, re-offered leases,
     * cancels and opt-outs repeated at every beat until the worker has them). */
    return zmsg_send(&m, c->router);
}

void vt_send_error(struct vt_coord *c, struct vt_worker *w, Vantage__Error__Code code,
                   const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    Vantage__Error e = VANTAGE__ERROR__INIT;
    e.code = code;
    e.text = text;
    vt_send_body(c, w, VANTAGE__ENVELOPE__BODY_ERROR, &e);
}

void vt_complain(struct vt_coord *c, struct vt_worker *w, const char *fmt, ...)
{
    c->bad_messages++;
    int64_t now = vt_mono_ms();
    if (w) {
        w->rejected++;
        if (w->last_complaint_ms && now - w->last_complaint_ms < VT_LOG_EVERY_MS)
            return;
        w->last_complaint_ms = now;
    }
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    vt_log("worker %s: %s (%" PRIu64 " rejected so far; next report in a minute at most)",
           w ? w->name : "?", text, w ? w->rejected : c->bad_messages);
}
