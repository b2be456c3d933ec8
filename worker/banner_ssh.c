/* banner_ssh.c: the SSH module. Reads the server's identification line
 * (RFC 4253 §4.2: "SSH-protoversion-softwareversion SP comments CR LF", at
 * most 255 bytes; a server may send other lines before it, which are
 * skipped, up to SSH_PRELUDE_MAX bytes).
 *
 * The banner is the whole line without its CR LF ("SSH-2.0-OpenSSH_9.2p1
 * Debian-2"). The `ssh.banner` part is what Recog's ssh_banners.xml matches:
 * the software version and comments, after "SSH-protoversion-"
 * ("OpenSSH_9.2p1 Debian-2"). */
#include "banner_module.h"

#include <string.h>

#define SSH_LINE_MAX    255
#define SSH_PRELUDE_MAX 8192 /* bytes of other lines before the identification */

struct ssh_state {
    bool found;     /* line holds the identification */
    size_t prelude; /* bytes of other lines so far */
    size_t line_len;
    char line[SSH_LINE_MAX];
};

static void ssh_init(void *state)
{
    memset(state, 0, sizeof(struct ssh_state));
}

static enum vt_bm_verdict ssh_on_data(void *state, const uint8_t *buf, size_t n,
                                      struct vt_bm_out *out)
{
    struct ssh_state *s = state;

    for (size_t i = 0; i < n && !s->found; i++) {
        char c = (char)buf[i];
        if (c == '\n') {
            if (s->line_len >= 4 && memcmp(s->line, "SSH-", 4) == 0) {
                s->found = true;
                break;
            }
            s->prelude += s->line_len + 1;
            s->line_len = 0;
            if (s->prelude > SSH_PRELUDE_MAX)
                return VT_BM_DONE;
            continue;
        }
        if (s->line_len < sizeof(s->line)) {
            s->line[s->line_len++] = c;
        } else if (memcmp(s->line, "SSH-", 4) == 0) {
            s->found = true; /* longer than the RFC allows: keep its start */
        } else {
            s->prelude++;
            if (s->prelude > SSH_PRELUDE_MAX)
                return VT_BM_DONE;
        }
    }
    return s->found ? VT_BM_DONE : VT_BM_MORE;
}

static void ssh_finish(void *state, struct vt_grab *g)
{
    struct ssh_state *s = state;
    size_t n = s->line_len;

    if (n < 4 || memcmp(s->line, "SSH-", 4) != 0)
        return;
    if (s->line[n - 1] == '\r')
        n--;
    g->banner = s->line;
    g->banner_len = n;
    const char *v = memchr(s->line + 4, '-', n - 4);
    if (v != NULL)
        vt_grab_add_part(g, "ssh.banner", v + 1, (size_t)(s->line + n - (v + 1)));
}

/* "SSH-" first, or on a later line after others (RFC 4253 allows them). */
static int ssh_detect(const uint8_t *buf, size_t n)
{
    size_t k = n < 4 ? n : 4;

    if (memcmp(buf, "SSH-", k) == 0)
        return k == 4 ? VT_DETECT_YES : VT_DETECT_MAYBE;
    for (size_t i = 0; i + 5 <= n; i++)
        if (buf[i] == '\n' && memcmp(buf + i + 1, "SSH-", 4) == 0)
            return VT_DETECT_YES;
    return VT_DETECT_NO;
}

const struct vt_banner_module vt_banner_ssh = {
    .name = "ssh",
    .detect = ssh_detect,
    .probe = NULL,
    .state_size = sizeof(struct ssh_state),
    .init = ssh_init,
    .on_data = ssh_on_data,
    .on_eof = NULL,
    .finish = ssh_finish,
};
