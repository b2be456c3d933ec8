/* banner_http.c: the HTTP module. Sends `GET /` to a server that stays silent,
 * then parses the answer as it streams in: the status line and headers (kept
 * whole, at most HTTP_HEAD_MAX bytes and HTTP_HEADERS_MAX headers), then the
 * body, delimited by Content-Length, by chunks or by the close, of which the
 * first HTTP_BODY_MAX bytes are scanned (never kept) for the <title> and for a
 * password field. No redirect is followed: the first answer is the banner.
 *
 * Parts, named as Recog names what it matches: `http_header.server`,
 * `http_header.wwwauth` (the whole WWW-Authenticate value), `http_header.
 * x-powered-by`, `http_header.cookie` (the first Set-Cookie value) and
 * `html_title`. The display banner is the head as received (status line and
 * headers, folded lines unfolded, without the blank line) and, if the page has
 * a title, "\r\n\r\ntitle: " and the title; at most VT_BANNER_TEXT_MAX bytes.
 *
 * Exposure `http-login`: a 401 with WWW-Authenticate, or a page with an
 * <input type="password">.
 *
 * Hostile answers end early rather than cost: a head without its blank line
 * within HTTP_HEAD_MAX bytes, a chunk size that is not hex or longer than 8
 * digits, a chunk not followed by its CRLF all end the parse (VT_BM_DONE)
 * with what was read so far. */
#include "banner_module.h"

#include <stdio.h>
#include <string.h>

#include "version.h"

#define HTTP_HEAD_MAX    16384 /* bytes of status line + headers */
#define HTTP_HEADERS_MAX 100
#define HTTP_BODY_MAX    32768 /* bytes of body scanned */
#define HTTP_TITLE_MAX   256
#define HTTP_TAG_MAX     256 /* bytes of one HTML tag kept to read its attributes */
#define HTTP_LINE_MAX    128 /* bytes of a chunk-size line */

enum http_phase {
    H_HEAD,
    H_BODY_LEN,   /* Content-Length bytes left */
    H_BODY_CLOSE, /* until the close */
    H_CHUNK_SIZE,
    H_CHUNK_DATA,
    H_CHUNK_END, /* the CRLF after a chunk's data */
    H_DONE,
};

enum html_phase { X_TEXT, X_TAG };

struct span {
    uint16_t off, len; /* into head */
};

struct http_state {
    enum http_phase phase;
    bool head_parsed;
    bool status_ok; /* the head starts with a status line */
    bool whole;     /* the answer was read to its end */
    bool password;  /* a password field was seen */
    uint16_t status;
    uint64_t left;    /* body or chunk bytes left */
    size_t body_seen; /* bytes of body scanned */
    size_t line_len;  /* bytes of the chunk-size line */
    size_t head_len;  /* bytes in head */
    size_t head_end;  /* bytes of status line + headers, without the blank line */
    struct span server, wwwauth, powered, cookie;
    enum html_phase html;
    bool in_title, title_done;
    size_t tag_len, title_len, display_len;
    char line[HTTP_LINE_MAX];
    char tag[HTTP_TAG_MAX];
    char title[HTTP_TITLE_MAX];
    char head[HTTP_HEAD_MAX];
    char display[VT_BANNER_TEXT_MAX];
};

static void http_init(void *state)
{
    struct http_state *s = state;
    memset(s, 0, offsetof(struct http_state, line));
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Case-insensitive: does s (n bytes) start with the lowercase word w? */
static bool prefix_ci(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (lower(s[i]) != w[i])
            return false;
    return true;
}

/* ---- HTML: a tag scanner light enough to stream ---- */

/* Does a tag's text hold type=password (any quotes, any case, spaces around =)? */
static bool tag_is_password_input(const char *t, size_t n)
{
    if (!prefix_ci(t, n, "input") || (n > 5 && !is_ws(t[5]) && t[5] != '/'))
        return false;
    for (size_t i = 5; i + 4 <= n; i++) {
        if (!prefix_ci(t + i, n - i, "type") || !(is_ws(t[i - 1]) || t[i - 1] == '/'))
            continue;
        size_t j = i + 4;
        while (j < n && is_ws(t[j]))
            j++;
        if (j >= n || t[j] != '=')
            continue;
        j++;
        while (j < n && is_ws(t[j]))
            j++;
        if (j < n && (t[j] == '"' || t[j] == '\''))
            j++;
        if (prefix_ci(t + j, n - j, "password"))
            return true;
    }
    return false;
}

static void title_char(struct http_state *s, char c)
{
    if (is_ws(c)) {
        if (s->title_len == 0 || s->title[s->title_len - 1] == ' ')
            return; /* leading whitespace and runs collapse */
        c = ' ';
    }
    if (s->title_len < sizeof(s->title))
        s->title[s->title_len++] = c;
}

static void tag_end(struct http_state *s)
{
    const char *t = s->tag;
    size_t n = s->tag_len;

    if (prefix_ci(t, n, "title") && (n == 5 || is_ws(t[5]))) {
        if (!s->title_done)
            s->in_title = true;
    } else if (prefix_ci(t, n, "/title")) {
        if (s->in_title)
            s->title_done = true;
        s->in_title = false;
    } else if (tag_is_password_input(t, n)) {
        s->password = true;
    }
}

static void html_scan(struct http_state *s, const uint8_t *buf, size_t n)
{
    if (s->body_seen >= HTTP_BODY_MAX)
        return;
    if (n > HTTP_BODY_MAX - s->body_seen)
        n = HTTP_BODY_MAX - s->body_seen;
    s->body_seen += n;
    for (size_t i = 0; i < n; i++) {
        char c = (char)buf[i];
        if (s->html == X_TEXT) {
            if (c == '<') {
                s->html = X_TAG;
                s->tag_len = 0;
            } else if (s->in_title) {
                title_char(s, c);
            }
        } else if (c == '>') {
            tag_end(s);
            s->html = X_TEXT;
        } else if (s->tag_len < sizeof(s->tag)) {
            s->tag[s->tag_len++] = c;
        }
    }
}

/* ---- the head ---- */

/* Unfolds, in place, header lines continued on lines that start with a space
 * or tab (RFC 7230 §3.2.4: obs-fold), so that each value is one span. */
static void unfold(char *h, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (h[i] == '\n' && (h[i + 1] == ' ' || h[i + 1] == '\t')) {
            h[i] = ' ';
            if (i > 0 && h[i - 1] == '\r')
                h[i - 1] = ' ';
        }
    }
}

static void set_span(struct span *sp, size_t off, size_t len)
{
    sp->off = (uint16_t)off;
    sp->len = (uint16_t)len;
}

/* Parses head[0, head_end): the status line, then up to HTTP_HEADERS_MAX
 * headers. Decides how the body is delimited. */
static void parse_head(struct http_state *s)
{
    char *h = s->head;
    size_t n = s->head_end, i = 0, headers = 0;
    bool chunked = false, have_len = false;
    uint64_t len = 0;

    s->head_parsed = true;
    unfold(h, n);
    /* Status line: HTTP/x.y SP 3DIGIT … */
    if (n >= 12 && memcmp(h, "HTTP/", 5) == 0) {
        const char *sp = memchr(h, ' ', n < 16 ? n : 16);
        if (sp != NULL && (size_t)(sp - h) + 4 <= n && sp[1] >= '0' && sp[1] <= '9' &&
            sp[2] >= '0' && sp[2] <= '9' && sp[3] >= '0' && sp[3] <= '9') {
            s->status_ok = true;
            s->status = (uint16_t)((sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0'));
        }
    }
    while (i < n && h[i] != '\n')
        i++;
    i++;
    while (i < n && headers < HTTP_HEADERS_MAX) {
        size_t start = i, end, colon = 0;
        while (i < n && h[i] != '\n')
            i++;
        end = i;
        i++;
        if (end > start && h[end - 1] == '\r')
            end--;
        for (size_t k = start; k < end; k++)
            if (h[k] == ':') {
                colon = k;
                break;
            }
        if (colon == 0)
            continue;
        headers++;
        size_t v = colon + 1;
        while (v < end && is_ws(h[v]))
            v++;
        size_t ve = end;
        while (ve > v && is_ws(h[ve - 1]))
            ve--;
        const char *name = h + start;
        size_t nl = colon - start;
#define IS(w) (nl == sizeof(w) - 1 && prefix_ci(name, nl, w))
        if (IS("server") && s->server.len == 0)
            set_span(&s->server, v, ve - v);
        else if (IS("www-authenticate") && s->wwwauth.len == 0)
            set_span(&s->wwwauth, v, ve - v);
        else if (IS("x-powered-by") && s->powered.len == 0)
            set_span(&s->powered, v, ve - v);
        else if (IS("set-cookie") && s->cookie.len == 0)
            set_span(&s->cookie, v, ve - v);
        else if (IS("transfer-encoding")) {
            for (size_t k = v; k + 7 <= ve; k++)
                if (prefix_ci(h + k, ve - k, "chunked"))
                    chunked = true;
        } else if (IS("content-length")) {
            uint64_t x = 0;
            size_t k = v;
            for (; k < ve && h[k] >= '0' && h[k] <= '9' && x < (1ULL << 40); k++)
                x = x * 10 + (uint64_t)(h[k] - '0');
            if (k == ve && k > v) {
                have_len = true;
                len = x;
            }
        }
#undef IS
    }
    if ((s->status >= 100 && s->status < 200) || s->status == 204 || s->status == 304) {
        s->phase = H_DONE;
        s->whole = true;
    } else if (chunked) {
        s->phase = H_CHUNK_SIZE;
        s->line_len = 0;
    } else if (have_len) {
        s->phase = len == 0 ? H_DONE : H_BODY_LEN;
        s->whole = len == 0;
        s->left = len;
    } else {
        s->phase = H_BODY_CLOSE;
    }
}

/* Appends to the head; returns bytes of buf taken (the rest is body). */
static size_t head_take(struct http_state *s, const uint8_t *buf, size_t n)
{
    size_t from = s->head_len > 3 ? s->head_len - 3 : 0, room = sizeof(s->head) - s->head_len;
    size_t take = n < room ? n : room;

    memcpy(s->head + s->head_len, buf, take);
    s->head_len += take;
    for (size_t i = from; i < s->head_len; i++) {
        if (s->head[i] != '\n')
            continue;
        size_t end = 0;
        if (i >= 1 && s->head[i - 1] == '\n')
            end = i + 1;
        else if (i >= 2 && s->head[i - 1] == '\r' && s->head[i - 2] == '\n')
            end = i + 1;
        if (end == 0)
            continue;
        s->head_end = end;
        while (s->head_end > 0 &&
               (s->head[s->head_end - 1] == '\r' || s->head[s->head_end - 1] == '\n'))
            s->head_end--;
        size_t used = end - (s->head_len - take);
        s->head_len = end;
        parse_head(s);
        return used;
    }
    if (s->head_len == sizeof(s->head)) {
        /* No end of head within HTTP_HEAD_MAX: parse what came, read no more. */
        s->head_end = s->head_len;
        parse_head(s);
        s->phase = H_DONE;
    }
    return take;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A chunk-size line (without its LF): 1–8 hex digits, then optional
 * extensions. Returns false if malformed. */
static bool chunk_size(const char *l, size_t n, uint64_t *size)
{
    size_t i = 0;
    uint64_t x = 0;

    if (n > 0 && l[n - 1] == '\r')
        n--;
    for (; i < n && hexval(l[i]) >= 0; i++) {
        if (i == 8)
            return false;
        x = x * 16 + (uint64_t)hexval(l[i]);
    }
    if (i == 0 || (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
        return false;
    *size = x;
    return true;
}

static enum vt_bm_verdict http_on_data(void *state, const uint8_t *buf, size_t n,
                                       struct vt_bm_out *out)
{
    struct http_state *s = state;
    size_t i = 0;

    while (i < n && s->phase != H_DONE) {
        switch (s->phase) {
        case H_HEAD:
            i += head_take(s, buf + i, n - i);
            break;
        case H_BODY_LEN:
        case H_CHUNK_DATA: {
            size_t k = n - i;
            if (k > s->left)
                k = (size_t)s->left;
            html_scan(s, buf + i, k);
            i += k;
            s->left -= k;
            if (s->left == 0) {
                if (s->phase == H_BODY_LEN) {
                    s->phase = H_DONE;
                    s->whole = true;
                } else {
                    s->phase = H_CHUNK_END;
                    s->line_len = 0;
                }
            }
            break;
        }
        case H_BODY_CLOSE:
            html_scan(s, buf + i, n - i);
            i = n;
            break;
        case H_CHUNK_SIZE:
        case H_CHUNK_END: {
            char c = (char)buf[i++];
            if (c != '\n') {
                if (s->line_len == sizeof(s->line)) {
                    s->phase = H_DONE; /* a line no chunk needs */
                    break;
                }
                s->line[s->line_len++] = c;
                break;
            }
            if (s->phase == H_CHUNK_END) {
                if (s->line_len > 1 || (s->line_len == 1 && s->line[0] != '\r'))
                    s->phase = H_DONE; /* data longer than its size said */
                else
                    s->phase = H_CHUNK_SIZE;
                s->line_len = 0;
                break;
            }
            uint64_t size;
            if (!chunk_size(s->line, s->line_len, &size)) {
                s->phase = H_DONE;
            } else if (size == 0) {
                s->phase = H_DONE; /* trailers are not read */
                s->whole = true;
            } else {
                s->phase = H_CHUNK_DATA;
                s->left = size;
            }
            s->line_len = 0;
            break;
        }
        case H_DONE:
            break;
        }
        /* Past the scanned part of the body nothing more is learnt. */
        if (s->body_seen >= HTTP_BODY_MAX && s->phase != H_HEAD)
            s->phase = H_DONE;
    }
    return s->phase == H_DONE ? VT_BM_DONE : VT_BM_MORE;
}

static bool http_on_eof(void *state)
{
    struct http_state *s = state;
    if (s->phase == H_BODY_CLOSE)
        s->whole = true;
    return s->whole;
}

static void http_finish(void *state, struct vt_grab *g)
{
    struct http_state *s = state;
    size_t tl = s->title_len;

    if (!s->head_parsed) {
        /* The head never ended: its complete lines are what there is. */
        s->head_end = s->head_len;
        while (s->head_end > 0 && s->head[s->head_end - 1] != '\n')
            s->head_end--;
        if (s->head_end == 0)
            s->head_end = s->head_len;
        while (s->head_end > 0 && is_ws(s->head[s->head_end - 1]))
            s->head_end--;
        parse_head(s);
    }
    while (tl > 0 && s->title[tl - 1] == ' ')
        tl--;

    size_t d = s->head_end < sizeof(s->display) ? s->head_end : sizeof(s->display);
    memcpy(s->display, s->head, d);
    if (tl > 0 && d < sizeof(s->display)) {
        static const char sep[] = "\r\n\r\ntitle: ";
        size_t k = sizeof(sep) - 1;
        if (k > sizeof(s->display) - d)
            k = sizeof(s->display) - d;
        memcpy(s->display + d, sep, k);
        d += k;
        k = tl < sizeof(s->display) - d ? tl : sizeof(s->display) - d;
        memcpy(s->display + d, s->title, k);
        d += k;
    }
    s->display_len = d;
    g->banner = s->display;
    g->banner_len = d;

    vt_grab_add_part(g, "http_header.server", s->head + s->server.off, s->server.len);
    vt_grab_add_part(g, "http_header.wwwauth", s->head + s->wwwauth.off, s->wwwauth.len);
    vt_grab_add_part(g, "http_header.x-powered-by", s->head + s->powered.off, s->powered.len);
    vt_grab_add_part(g, "http_header.cookie", s->head + s->cookie.off, s->cookie.len);
    vt_grab_add_part(g, "html_title", s->title, tl);
    if ((s->status == 401 && s->wwwauth.len > 0) || s->password)
        g->exposure = "http-login";
}

static int http_detect(const uint8_t *buf, size_t n)
{
    static const char magic[] = "HTTP/";
    size_t k = n < 5 ? n : 5;

    if (memcmp(buf, magic, k) != 0)
        return VT_DETECT_NO;
    return k == 5 ? VT_DETECT_YES : VT_DETECT_MAYBE;
}

/* GET / with Host naming the address (and the port unless 80), so that a
 * virtual-hosting server answers for its default site. */
static size_t http_probe(const struct vt_bm_target *t, char *buf, size_t cap)
{
    char host[32];
    const char *ua = t->user_agent != NULL ? t->user_agent : VT_BANNER_USER_AGENT;
    int n;

    if (t->port == 80)
        snprintf(host, sizeof(host), "%u.%u.%u.%u", t->addr >> 24, t->addr >> 16 & 0xff,
                 t->addr >> 8 & 0xff, t->addr & 0xff);
    else
        snprintf(host, sizeof(host), "%u.%u.%u.%u:%u", t->addr >> 24, t->addr >> 16 & 0xff,
                 t->addr >> 8 & 0xff, t->addr & 0xff, (unsigned)t->port);
    n = snprintf(buf, cap,
                 "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
                 "Connection: close\r\n\r\n",
                 host, ua);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

const struct vt_banner_module vt_banner_http = {
    .name = "http",
    .detect = http_detect,
    .probe = http_probe,
    .state_size = sizeof(struct http_state),
    .init = http_init,
    .on_data = http_on_data,
    .on_eof = http_on_eof,
    .finish = http_finish,
};
