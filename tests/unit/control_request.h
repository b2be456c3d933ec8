/* control_request.h: one request to a running daemon's control socket, for
 * the tests that start the real `vantage serve` (implemented in
 * coord_fixture.c, which every unit test links). */
#ifndef VANTAGE_TEST_CONTROL_REQUEST_H
#define VANTAGE_TEST_CONTROL_REQUEST_H

#include <jansson.h>

/* Sends req (consumed) to the control socket at ipc path `path`; its reply,
 * or NULL if none came within timeout_ms. */
json_t *control_request(const char *path, json_t *req, int timeout_ms);

#endif
