/* count_client.c: the operator CLI's side of the `count` control request
 * (docs/control.md), which `vantage query --count devices` and `vantage
 * report` share.
 *
 * A count reads every selected record, so the daemon does it in budgets:
 * the first request carries the filters and gets a cursor back
 * ({"done": false, "cursor": N, "examined": K}); each following request
 * names only the cursor; the last reply is {"done": true, "result": {...}}.
 * With what "services", the replies after the scan also carry "services",
 * rows of one service each, until the last. One function pages it to the
 * end, sending each next request before it works on the rows it got, so
 * the daemon makes a page while the CLI reads the last one. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "control_client.h"

/* The rows of reply's "services" to service: 0, or -1 with err. */
static int services_of(json_t *reply, int (*service)(void *arg, json_t *row), void *arg, char *err,
                       size_t errlen)
{
    json_t *rows = json_object_get(reply, "services"), *row;
    size_t i;
    if (!service)
        return 0;
    if (rows && !json_is_array(rows)) {
        vt_set_err(err, errlen,
                   "the coordinator's count reply has a \"services\" that is not a list");
        return -1;
    }
    json_array_foreach(rows, i, row)
    {
        if (service(arg, row) != 0) {
            vt_set_err(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

json_t *vt_count_devices_try(const struct vt_control *ctl, json_t *filters,
                             void (*progress)(void *arg, uint64_t examined),
                             int (*service)(void *arg, json_t *row), void *arg, char *err,
                             size_t errlen)
{
    json_t *req = json_deep_copy(filters);
    if (!req || json_object_set_new(req, "cmd", json_string("count")) != 0 ||
        (!json_object_get(req, "what") &&
         json_object_set_new(req, "what", json_string("devices")) != 0)) {
        json_decref(req);
        vt_set_err(err, errlen, "out of memory");
        return NULL;
    }
    /* Paging of query rows means nothing to a count. */
    json_object_del(req, "limit");
    json_object_del(req, "after");
    struct vt_control_pending *p = vt_control_begin(ctl, req, err, errlen);
    json_decref(req);
    for (;;) {
        json_t *reply = NULL;
        if (!p || vt_control_end(p, &reply, err, errlen) != 0)
            return NULL;
        p = NULL;
        bool done = json_is_true(json_object_get(reply, "done"));
        if (!done) {
            /* Ask for the next page first: the daemon makes it while this
             * one's rows are worked on. */
            json_t *cursor = json_object_get(reply, "cursor");
            if (!json_is_integer(cursor) && !json_is_string(cursor)) {
                json_decref(reply);
                vt_set_err(err, errlen,
                           "the coordinator's count reply is neither done nor has a \"cursor\"");
                return NULL;
            }
            req = json_pack("{s:s, s:O}", "cmd", "count", "cursor", cursor);
            p = req ? vt_control_begin(ctl, req, err, errlen) : NULL;
            if (!req)
                vt_set_err(err, errlen, "out of memory");
            json_decref(req);
            if (!p) {
                json_decref(reply);
                return NULL;
            }
        }
        if (services_of(reply, service, arg, err, errlen) != 0) {
            vt_control_cancel(p);
            json_decref(reply);
            return NULL;
        }
        json_t *examined = json_object_get(reply, "examined");
        if (!done && progress && json_is_integer(examined) && json_integer_value(examined) >= 0)
            progress(arg, (uint64_t)json_integer_value(examined));
        if (done) {
            json_t *result = json_incref(json_object_get(reply, "result"));
            json_decref(reply);
            if (!json_is_object(result)) {
                json_decref(result);
                vt_set_err(err, errlen, "the coordinator's count reply has no \"result\" object");
                return NULL;
            }
            return result;
        }
        json_decref(reply);
    }
}

json_t *vt_count_devices(struct vt_control *ctl, json_t *filters)
{
    char err[512];
    json_t *result = vt_count_devices_try(ctl, filters, NULL, NULL, NULL, err, sizeof err);
    if (!result)
        vt_fatal("vantage", "%s", err);
    return result;
}
