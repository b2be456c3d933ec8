/* banner_telnet.c: the telnet module. Answers option negotiation by refusing
 * everything, strips negotiation from what the server says, and reads until
 * the server asks for a login or password or shows a shell prompt.
 *
 * Negotiation (RFC 854/855): IAC DO x is answered IAC WONT x, IAC WILL x is
 * answered IAC DONT x; DONT and WONT are not answered (answering them is how
 * two telnets loop). Each distinct request is answered at most once, and all
 * answers of one connection together stay under TN_ANSWER_MAX bytes, so an
 * endless IAC flood costs us bounded output and ends at the engine's byte cap
 * or deadline. IAC SB … IAC SE is skipped (its length is bounded by the byte
 * cap only: skipping keeps nothing). IAC IAC is a literal 0xFF. The parser is
 * a byte-at-a-time state machine, so reads may split anywhere.
 *
 * The text: NVT data without negotiation and without NUL (the padding of
 * "CR NUL"), at most VT_BANNER_TEXT_MAX bytes kept; the last TN_TAIL bytes
 * are kept apart so that a prompt after a long greeting is still seen. The
 * banner and the `telnet.banner` part are that text with leading and trailing
 * whitespace trimmed, the form Recog's telnet_banners.xml matches
 * ("MikroTik v6.42.3 (stable)\r\nLogin:"). */
#include "banner_module.h"

#include <string.h>

#define IAC  0xff
#define DONT 0xfe
#define DO   0xfd
#define WONT 0xfc
#define WILL 0xfb
#define SB   0xfa
#define SE   0xf0

#define TN_ANSWER_MAX 512 /* bytes of answers per connection */
#define TN_TAIL       64  /* bytes of the text's end kept for prompt detection */

enum tn_parse { TN_DATA, TN_IAC, TN_OPTION, TN_SB, TN_SB_IAC };
enum tn_prompt { TN_NONE, TN_LOGIN, TN_SHELL };

struct tn_state {
    enum tn_parse parse;
    uint8_t verb;            /* DO, DONT, WILL or WONT awaiting its option */
    uint8_t answered[2][32]; /* bitmaps: [0] DO x answered, [1] WILL x answered */
    size_t answer_bytes;
    enum tn_prompt prompt;
    size_t text_len;
    size_t tail_len;
    char text[VT_BANNER_TEXT_MAX];
    char tail[TN_TAIL];
};

static void tn_init(void *state)
{
    memset(state, 0, sizeof(struct tn_state));
}

static void tn_text(struct tn_state *s, uint8_t c)
{
    if (c == '\0')
        return;
    if (s->text_len < sizeof(s->text))
        s->text[s->text_len++] = (char)c;
    if (s->tail_len == sizeof(s->tail)) {
        memmove(s->tail, s->tail + TN_TAIL / 2, TN_TAIL / 2);
        s->tail_len = TN_TAIL / 2;
    }
    s->tail[s->tail_len++] = (char)c;
}

/* Answers DO x / WILL x once each, within TN_ANSWER_MAX. */
static void tn_answer(struct tn_state *s, uint8_t verb, uint8_t opt, struct vt_bm_out *out)
{
    int k = verb == DO ? 0 : 1;
    uint8_t bit = (uint8_t)(1u << (opt & 7));

    if (s->answered[k][opt >> 3] & bit)
        return;
    s->answered[k][opt >> 3] |= bit;
    if (s->answer_bytes + 3 > TN_ANSWER_MAX || out->cap - out->len < 3)
        return;
    out->buf[out->len++] = IAC;
    out->buf[out->len++] = verb == DO ? WONT : DONT;
    out->buf[out->len++] = opt;
    s->answer_bytes += 3;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

/* Does the text end (after trailing whitespace) in a case-insensitive word? */
static bool ends_with_ci(const char *t, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n < w)
        return false;
    for (size_t i = 0; i < w; i++) {
        char c = t[n - w + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

/* What the end of the text asks for. A login prompt is a word and a colon,
 * with spaces before the colon or not ("Username :" is Technicolor's), and
 * may be followed by any whitespace ("Username:\n" is common); a shell prompt
 * is a '#', '$' or '>' followed by spaces on the last line ("root@x:~# ",
 * "BusyBox … # "). */
static enum tn_prompt tn_prompt_of(const char *t, size_t n)
{
    static const char *const login[] = {"login",    "username", "user name", "user",
                                        "password", "passwd",   "account",   "login as"};
    size_t end = n;

    while (end > 0 && is_space(t[end - 1]))
        end--;
    if (end == 0)
        return TN_NONE;
    if (t[end - 1] == ':') {
        size_t word_end = end - 1;
        while (word_end > 0 && (t[word_end - 1] == ' ' || t[word_end - 1] == '\t'))
            word_end--;
        for (size_t i = 0; i < sizeof(login) / sizeof(login[0]); i++)
            if (ends_with_ci(t, word_end, login[i]))
                return TN_LOGIN;
    }
    char last = t[end - 1];
    if ((last == '#' || last == '$' || last == '>') && end < n && t[end] == ' ') {
        for (size_t i = end; i < n; i++)
            if (t[i] != ' ')
                return TN_NONE;
        return TN_SHELL;
    }
    return TN_NONE;
}

static enum vt_bm_verdict tn_on_data(void *state, const uint8_t *buf, size_t n,
                                     struct vt_bm_out *out)
{
    struct tn_state *s = state;
    bool text = false;

    for (size_t i = 0; i < n; i++) {
        uint8_t c = buf[i];
        switch (s->parse) {
        case TN_DATA:
            if (c == IAC) {
                s->parse = TN_IAC;
            } else {
                tn_text(s, c);
                text = true;
            }
            break;
        case TN_IAC:
            if (c == IAC) {
                tn_text(s, IAC);
                text = true;
                s->parse = TN_DATA;
            } else if (c == DO || c == DONT || c == WILL || c == WONT) {
                s->verb = c;
                s->parse = TN_OPTION;
            } else if (c == SB) {
                s->parse = TN_SB;
            } else {
                s->parse = TN_DATA; /* NOP, GA, DM, …: a command without option */
            }
            break;
        case TN_OPTION:
            if (s->verb == DO || s->verb == WILL)
                tn_answer(s, s->verb, c, out);
            s->parse = TN_DATA;
            break;
        case TN_SB:
            if (c == IAC)
                s->parse = TN_SB_IAC;
            break;
        case TN_SB_IAC:
            s->parse = c == SE ? TN_DATA : TN_SB;
            break;
        }
    }
    /* A prompt is what the text ends in when the server stops to wait, so only
     * the end of what came is looked at. */
    if (text && s->parse == TN_DATA) {
        s->prompt = tn_prompt_of(s->tail, s->tail_len);
        if (s->prompt != TN_NONE)
            return VT_BM_DONE;
    }
    return VT_BM_MORE;
}

static void tn_finish(void *state, struct vt_grab *g)
{
    struct tn_state *s = state;
    const char *t = s->text;
    size_t n = s->text_len;

    while (n > 0 && is_space(*t)) {
        t++;
        n--;
    }
    while (n > 0 && is_space(t[n - 1]))
        n--;
    g->banner = t;
    g->banner_len = n;
    vt_grab_add_part(g, "telnet.banner", t, n);
    if (s->prompt == TN_LOGIN)
        g->exposure = "telnet-login";
    else if (s->prompt == TN_SHELL)
        g->exposure = "telnet-shell";
}

/* IAC and a command opens almost every telnetd's greeting; a server that
 * negotiates nothing is telnet if its text ends in a prompt, and may be if it
 * is text so far. */
static int tn_detect(const uint8_t *buf, size_t n)
{
    if (buf[0] == IAC)
        return n == 1 || buf[1] >= SE ? VT_DETECT_YES : VT_DETECT_NO;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = buf[i];
        if (c < 0x20 && c != '\r' && c != '\n' && c != '\t' && c != '\0' && c != 0x1b)
            return VT_DETECT_NO;
    }
    return tn_prompt_of((const char *)buf, n) != TN_NONE ? VT_DETECT_YES : VT_DETECT_MAYBE;
}

const struct vt_banner_module vt_banner_telnet = {
    .name = "telnet",
    .detect = tn_detect,
    .probe = NULL,
    .state_size = sizeof(struct tn_state),
    .init = tn_init,
    .on_data = tn_on_data,
    .on_eof = NULL,
    .finish = tn_finish,
};
