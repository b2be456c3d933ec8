/* spool.c: the durable outbox of result batches. See spool.h.
 *
 * The directory is the truth; an in-memory index (seq and size of every
 * batch, ascending) answers the uplink's questions without a readdir. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry {
    uint64_t seq;
    uint64_t size;
};

struct vt_spool {
    pthread_mutex_t mu;
    pthread_cond_t space; /* signalled when acks free space or on interrupt */
    char *dir;
    int dirfd;
    uint64_t max_bytes, max_batches;
    struct entry *e; /* ascending by seq */
    size_t n, cap;
    uint64_t bytes;
    uint64_t last_seq;   /* highest seq handed out or acked; persisted in `seq` */
    uint64_t stored_max; /* highest seq stored here or acked: batches exist up to it */
    unsigned interrupts;
};

/* Writes len bytes to dir/name durably: temp file, fsync, rename, dir fsync. */
static int write_durably(struct vt_spool *sp, const char *name, const void *buf, size_t len,
                         char *err, size_t errlen)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s/%s: %s (is the spool directory writable?)", sp->dir,
                 tmp, strerror(errno));
        return -1;
    }
    const uint8_t *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, errlen, "cannot write %s/%s: %s (is the disk full?)", sp->dir, tmp,
                     strerror(errno));
            close(fd);
            unlinkat(sp->dirfd, tmp, 0);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "cannot sync %s/%s: %s", sp->dir, tmp, strerror(errno));
        unlinkat(sp->dirfd, tmp, 0);
        return -1;
    }
    if (renameat(sp->dirfd, tmp, sp->dirfd, name) != 0 || fsync(sp->dirfd) != 0) {
        snprintf(err, errlen, "cannot rename %s/%s: %s", sp->dir, tmp, strerror(errno));
        unlinkat(sp->dirfd, tmp, 0);
        return -1;
    }
    return 0;
}

static int persist_seq(struct vt_spool *sp, uint64_t seq, char *err, size_t errlen)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", seq);
    return write_durably(sp, "seq", text, (size_t)n, err, errlen);
}

/* Parses "<digits>.batch" (no leading zeros, no sign). */
static bool batch_name(const char *name, uint64_t *seq)
{
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || strcmp(dot, ".batch") != 0 || name[0] == '0')
        return false;
    uint64_t v = 0;
    for (const char *c = name; c < dot; c++) {
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    *seq = v;
    return true;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int index_add(struct vt_spool *sp, uint64_t seq, uint64_t size)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 256;
        struct entry *e = realloc(sp->e, cap * sizeof *e);
        if (!e)
            return -1;
        sp->e = e;
        sp->cap = cap;
    }
    /* Batches arrive in ascending order; keep it so whatever happens. */
    size_t i = sp->n;
    while (i > 0 && sp->e[i - 1].seq > seq) {
        sp->e[i] = sp->e[i - 1];
        i--;
    }
    sp->e[i] = (struct entry){seq, size};
    sp->n++;
    sp->bytes += size;
    if (seq > sp->stored_max)
        sp->stored_max = seq;
    return 0;
}

/* Reads the `seq` file; 0 if absent. -1 with err if unreadable or junk. */
static int load_seq(struct vt_spool *sp, uint64_t *seq, char *err, size_t errlen)
{
    *seq = 0;
    int fd = openat(sp->dirfd, "seq", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read %s/seq: %s", sp->dir, strerror(errno));
        return -1;
    }
    char text[32];
    ssize_t r = read(fd, text, sizeof text - 1);
    close(fd);
    if (r <= 0) {
        snprintf(err, errlen, "%s/seq is empty or unreadable; remove it if the spool is new",
                 sp->dir);
        return -1;
    }
    text[r] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || (*end != '\n' && *end != '\0')) {
        snprintf(err, errlen, "%s/seq does not hold a number; remove it if the spool is new",
                 sp->dir);
        return -1;
    }
    *seq = v;
    return 0;
}

struct vt_spool *vt_spool_open(const char *dir, uint64_t max_bytes, uint64_t max_batches, char *err,
                               size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen,
                 "cannot create spool directory %s: %s (create it, or give --spool DIR)", dir,
                 strerror(errno));
        return NULL;
    }
    struct vt_spool *sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->dir = strdup(dir))) {
        free(sp);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sp->max_bytes = max_bytes ? max_bytes : VT_SPOOL_DEFAULT_MAX_BYTES;
    sp->max_batches = max_batches ? max_batches : VT_SPOOL_DEFAULT_MAX_BATCHES;
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->space, NULL);
    sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dirfd < 0) {
        snprintf(err, errlen, "cannot open spool directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    uint64_t last = 0;
    if (load_seq(sp, &last, err, errlen) != 0)
        goto fail;
    int fd = dup(sp->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        snprintf(err, errlen, "cannot list spool directory %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t seq;
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            /* A write torn by a crash: never renamed, so never acknowledged. */
            unlinkat(sp->dirfd, de->d_name, 0);
            continue;
        }
        if (!batch_name(de->d_name, &seq))
            continue;
        struct stat st;
        if (fstatat(sp->dirfd, de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (index_add(sp, seq, (uint64_t)st.st_size) != 0) {
            closedir(d);
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (seq > last)
            last = seq;
    }
    closedir(d);
    if (sp->n > 1)
        qsort(sp->e, sp->n, sizeof *sp->e, cmp_entry);
    sp->last_seq = last;
    return sp;
fail:
    vt_spool_close(sp);
    return NULL;
}

void vt_spool_close(struct vt_spool *sp)
{
    if (!sp)
        return;
    if (sp->dirfd >= 0)
        close(sp->dirfd);
    pthread_mutex_destroy(&sp->mu);
    pthread_cond_destroy(&sp->space);
    free(sp->e);
    free(sp->dir);
    free(sp);
}

uint64_t vt_spool_last_stored(struct vt_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    uint64_t seq = sp->stored_max;
    pthread_mutex_unlock(&sp->mu);
    return seq;
}

int vt_spool_next_seq(struct vt_spool *sp, uint64_t *seq, char *err, size_t errlen)
{
    pthread_mutex_lock(&sp->mu);
    int rc = persist_seq(sp, sp->last_seq + 1, err, errlen);
    if (rc == 0)
        *seq = ++sp->last_seq;
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static bool full_locked(const struct vt_spool *sp, size_t len)
{
    return sp->n > 0 && (sp->n >= sp->max_batches || sp->bytes + len > sp->max_bytes);
}

int vt_spool_put(struct vt_spool *sp, uint64_t seq, const void *buf, size_t len, char *err,
                 size_t errlen)
{
    char name[40];
    snprintf(name, sizeof name, "%" PRIu64 ".batch", seq);
    pthread_mutex_lock(&sp->mu);
    unsigned interrupts = sp->interrupts;
    while (full_locked(sp, len) && sp->interrupts == interrupts)
        pthread_cond_wait(&sp->space, &sp->mu);
    if (sp->interrupts != interrupts) {
        pthread_mutex_unlock(&sp->mu);
        return 1;
    }
    /* Written under the lock: the uplink must never see a seq whose file is
     * not there yet, nor an ack race a half-written file. */
    int rc = write_durably(sp, name, buf, len, err, errlen);
    if (rc == 0 && index_add(sp, seq, len) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

int vt_spool_ack(struct vt_spool *sp, uint64_t seq, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&sp->mu);
    size_t k = 0;
    while (k < sp->n && sp->e[k].seq <= seq) {
        char name[40];
        snprintf(name, sizeof name, "%" PRIu64 ".batch", sp->e[k].seq);
        if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT && rc == 0) {
            snprintf(err, errlen, "cannot remove %s/%s: %s", sp->dir, name, strerror(errno));
            rc = -1;
        }
        sp->bytes -= sp->e[k].size;
        k++;
    }
    if (k > 0) /* sp->e may be NULL while the spool is empty */
        memmove(sp->e, sp->e + k, (sp->n - k) * sizeof *sp->e);
    sp->n -= k;
    if (seq > sp->stored_max)
        sp->stored_max = seq;
    if (seq > sp->last_seq) {
        /* The coordinator holds numbers this spool never saw (it was wiped):
         * never hand them out again. */
        if (persist_seq(sp, seq, err, errlen) == 0)
            sp->last_seq = seq;
        else
            rc = -1;
    }
    if (k > 0)
        pthread_cond_broadcast(&sp->space);
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

int vt_spool_drop(struct vt_spool *sp, uint64_t seq, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&sp->mu);
    for (size_t i = 0; i < sp->n; i++) {
        if (sp->e[i].seq != seq)
            continue;
        char name[40];
        snprintf(name, sizeof name, "%" PRIu64 ".batch", seq);
        if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove %s/%s: %s", sp->dir, name, strerror(errno));
            rc = -1;
        }
        sp->bytes -= sp->e[i].size;
        memmove(sp->e + i, sp->e + i + 1, (sp->n - i - 1) * sizeof *sp->e);
        sp->n--;
        pthread_cond_broadcast(&sp->space);
        break;
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

bool vt_spool_next_after(struct vt_spool *sp, uint64_t after, uint64_t *seq)
{
    bool found = false;
    pthread_mutex_lock(&sp->mu);
    for (size_t i = 0; i < sp->n; i++) {
        if (sp->e[i].seq > after) {
            *seq = sp->e[i].seq;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&sp->mu);
    return found;
}

size_t vt_spool_count_between(struct vt_spool *sp, uint64_t lo, uint64_t hi)
{
    size_t c = 0;
    pthread_mutex_lock(&sp->mu);
    for (size_t i = 0; i < sp->n; i++)
        if (sp->e[i].seq > lo && sp->e[i].seq <= hi)
            c++;
    pthread_mutex_unlock(&sp->mu);
    return c;
}

int vt_spool_read(struct vt_spool *sp, uint64_t seq, uint8_t **buf, size_t *len, char *err,
                  size_t errlen)
{
    char name[40];
    snprintf(name, sizeof name, "%" PRIu64 ".batch", seq);
    int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read %s/%s: %s", sp->dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *b = malloc(size ? size : 1);
    if (!b) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "cannot read %s/%s: %s", sp->dir, name,
                     r < 0 ? strerror(errno) : "file shrank");
            free(b);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = size;
    return 0;
}

size_t vt_spool_count(struct vt_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    size_t n = sp->n;
    pthread_mutex_unlock(&sp->mu);
    return n;
}

uint64_t vt_spool_bytes(struct vt_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    uint64_t b = sp->bytes;
    pthread_mutex_unlock(&sp->mu);
    return b;
}

bool vt_spool_full(struct vt_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    bool full = full_locked(sp, 0);
    pthread_mutex_unlock(&sp->mu);
    return full;
}

void vt_spool_interrupt(struct vt_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    sp->interrupts++;
    pthread_cond_broadcast(&sp->space);
    pthread_mutex_unlock(&sp->mu);
}
