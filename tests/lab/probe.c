/*
 * probe.c: a tiny TCP client for the lab's tests. It connects to one address and
 * port from the namespace it runs in, tells open from closed (RST) from silent
 * (no answer) by its exit status, and prints what the server sent first.
 *
 *   ip netns exec vl-v1 probe 198.18.3.4 80 --send 'GET / HTTP/1.0\r\n\r\n'
 *
 *   ip netns exec vl-coord probe --listen 7000 --send 'hello\n' --timeout 5000
 *
 * The second form accepts connections on 0.0.0.0:PORT for --timeout ms, answers
 * each with TEXT and closes it: a stand-in server for reachability tests.
 *
 * Exit status: 0 open, 3 closed (connection refused), 4 silent (timed out),
 * 1 other failure, 2 bad usage. It refuses any address outside the lab
 * (198.18.0.0/15) and loopback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_OPEN   0
#define EXIT_CLOSED 3
#define EXIT_SILENT 4
#define EXIT_FAIL   1
#define EXIT_USAGE  2

static const char usage[] =
    "usage: probe IP PORT [--timeout MS] [--send TEXT] [--read-ms MS] [--idle-ms MS]\n"
    "                     [--strip-iac]\n"
    "       probe --listen PORT [--send TEXT] [--timeout MS]\n"
    "Connects to IP:PORT and prints the first bytes the server sends; or, with\n"
    "--listen, serves TEXT to every connection on PORT for MS milliseconds.\n"
    "  --timeout MS   how long to wait for the connection (default 2000)\n"
    "  --send TEXT    send TEXT once connected (\\r, \\n, \\\\ are understood)\n"
    "  --read-ms MS   read for at most this long (default 2000)\n"
    "  --idle-ms MS   stop reading after this long without new bytes (default 500)\n"
    "  --strip-iac    leave telnet option negotiation (IAC ...) out of the output\n"
    "exit status: 0 open, 3 closed (refused), 4 silent (timed out), 1 failure, 2 usage\n";

struct probe_opts {
    struct sockaddr_in dst;
    int listen_port; /* 0: client mode */
    int timeout_ms, read_ms, idle_ms;
    char send_buf[1024];
    size_t send_len;
    bool strip_iac;
};

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int parse_ms(const char *arg, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end != '\0' || v < 0 || v > 600000)
        return -1;
    *out = (int)v;
    return 0;
}

static size_t unescape(const char *s, char *out, size_t n)
{
    size_t len = 0;
    for (; *s != '\0' && len < n; s++) {
        if (s[0] == '\\' && s[1] != '\0') {
            s++;
            out[len++] = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s;
        } else {
            out[len++] = *s;
        }
    }
    return len;
}

/* Writes data to stdout, without telnet IAC sequences when asked to. */
static int emit(const struct probe_opts *o, const unsigned char *p, size_t n, int *iac)
{
    unsigned char buf[4096];
    size_t k = 0;
    if (!o->strip_iac)
        return fwrite(p, 1, n, stdout) == n ? 0 : -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = p[i];
        switch (*iac) {
        case 1:
            *iac = b == 250 ? 3 : (b >= 251 && b <= 254) ? 2 : 0;
            continue;
        case 2:
            *iac = 0;
            continue;
        case 3:
            *iac = b == 255 ? 4 : 3;
            continue;
        case 4:
            *iac = b == 240 ? 0 : 3;
            continue;
        default:
            if (b == 255) {
                *iac = 1;
                continue;
            }
            buf[k++] = b;
        }
    }
    return fwrite(buf, 1, k, stdout) == k ? 0 : -1;
}

static int run(const struct probe_opts *o)
{
    struct pollfd pfd;
    struct timespec t0, last;
    unsigned char buf[4096];
    socklen_t len = sizeof(int);
    int fd, err = 0, iac = 0, rc;
    bool got = false;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "probe: socket: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    if (connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0 && errno != EINPROGRESS) {
        err = errno;
    } else {
        pfd.fd = fd;
        pfd.events = POLLOUT;
        rc = poll(&pfd, 1, o->timeout_ms);
        if (rc < 0) {
            fprintf(stderr, "probe: poll: %s\n", strerror(errno));
            close(fd);
            return EXIT_FAIL;
        }
        if (rc == 0) {
            close(fd);
            return EXIT_SILENT;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
    }
    if (err != 0) {
        close(fd);
        if (err == ECONNREFUSED)
            return EXIT_CLOSED;
        if (err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH)
            return EXIT_SILENT;
        fprintf(stderr, "probe: connect: %s\n", strerror(err));
        return EXIT_FAIL;
    }
    if (o->send_len > 0 && send(fd, o->send_buf, o->send_len, MSG_NOSIGNAL) < 0) {
        fprintf(stderr, "probe: send: %s\n", strerror(errno));
        close(fd);
        return EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    last = t0;
    for (;;) {
        long left = o->read_ms - ms_since(&t0);
        long idle = got ? o->idle_ms - ms_since(&last) : left;
        ssize_t n;
        if (left <= 0 || idle <= 0)
            break;
        pfd.fd = fd;
        pfd.events = POLLIN;
        rc = poll(&pfd, 1, (int)(idle < left ? idle : left));
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            break;
        }
        got = true;
        clock_gettime(CLOCK_MONOTONIC, &last);
        if (emit(o, buf, (size_t)n, &iac) < 0)
            break;
    }
    close(fd);
    return fflush(stdout) == 0 ? EXIT_OPEN : EXIT_FAIL;
}

/* Listen mode: answer every connection with the text, until the timeout. */
static int serve(const struct probe_opts *o)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->listen_port)};
    struct timespec t0;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 64) < 0) {
        fprintf(stderr, "probe: cannot listen on port %d: %s\n", o->listen_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        long left = o->timeout_ms - ms_since(&t0);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int c, rc;
        if (left <= 0)
            break;
        rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno != EINTR) {
            fprintf(stderr, "probe: poll: %s\n", strerror(errno));
            close(fd);
            return EXIT_FAIL;
        }
        if (rc <= 0)
            continue;
        c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        if (o->send_len > 0 && send(c, o->send_buf, o->send_len, MSG_NOSIGNAL) < 0)
            fprintf(stderr, "probe: send: %s\n", strerror(errno));
        shutdown(c, SHUT_WR);
        close(c);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 't'}, {"send", required_argument, NULL, 's'},
        {"read-ms", required_argument, NULL, 'r'}, {"idle-ms", required_argument, NULL, 'i'},
        {"strip-iac", no_argument, NULL, 'x'},     {"help", no_argument, NULL, 'h'},
        {"listen", required_argument, NULL, 'l'},  {NULL, 0, NULL, 0},
    };
    struct probe_opts o = {.timeout_ms = 2000, .read_ms = 2000, .idle_ms = 500};
    char *end;
    long port;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 't':
        case 'r':
        case 'i':
            if (parse_ms(optarg, opt == 't'   ? &o.timeout_ms
                                 : opt == 'r' ? &o.read_ms
                                              : &o.idle_ms) < 0) {
                fprintf(stderr, "probe: '%s' is not a number of milliseconds\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            o.send_len = unescape(optarg, o.send_buf, sizeof(o.send_buf));
            break;
        case 'x':
            o.strip_iac = true;
            break;
        case 'l':
            port = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || port < 1 || port > 65535) {
                fprintf(stderr, "probe: '%s' is not a port\n", optarg);
                return EXIT_USAGE;
            }
            o.listen_port = (int)port;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (o.listen_port != 0) {
        if (optind != argc) {
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
        return serve(&o);
    }
    if (argc - optind != 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    o.dst.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[optind], &o.dst.sin_addr) != 1) {
        fprintf(stderr, "probe: '%s' is not an IPv4 address\n", argv[optind]);
        return EXIT_USAGE;
    }
    port = strtol(argv[optind + 1], &end, 10);
    if (end == argv[optind + 1] || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "probe: '%s' is not a port\n", argv[optind + 1]);
        return EXIT_USAGE;
    }
    o.dst.sin_port = htons((uint16_t)port);
    /* The lab's safety rule, enforced: only lab addresses (198.18.0.0/15) and loopback. */
    if ((ntohl(o.dst.sin_addr.s_addr) & 0xfffe0000u) != 0xc6120000u &&
        (ntohl(o.dst.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "probe: %s is outside the lab (198.18.0.0/15) and loopback; refused\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    return run(&o);
}
