/* test_spool.c: unit tests for worker/spool.c, the durable outbox of result
 * batches.
 *
 * What a partner (and the coordinator) would notice: a batch survives until
 * acknowledged, also across a crash and restart; sequence numbers never
 * repeat, even when the spool was emptied; a write torn by a crash is
 * ignored; a full spool makes the writer wait until acks free space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char err[512];

static int make_dir(void **state)
{
    char *dir = strdup("/tmp/vt-test-spool-XXXXXX");
    if (!dir || !mkdtemp(dir))
        return -1;
    *state = dir;
    return 0;
}

static int remove_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
    int rc = system(cmd);
    free(*state);
    return rc == 0 ? 0 : -1;
}

static struct vt_spool *open_ok(const char *dir, uint64_t max_bytes, uint64_t max_batches)
{
    struct vt_spool *sp = vt_spool_open(dir, max_bytes, max_batches, err, sizeof err);
    if (!sp)
        fail_msg("spool refused: %s", err);
    return sp;
}

static uint64_t put_text(struct vt_spool *sp, const char *text)
{
    uint64_t seq;
    assert_int_equal(vt_spool_next_seq(sp, &seq, err, sizeof err), 0);
    assert_int_equal(vt_spool_put(sp, seq, text, strlen(text), err, sizeof err), 0);
    return seq;
}

static void expect_text(struct vt_spool *sp, uint64_t seq, const char *text)
{
    uint8_t *buf;
    size_t len;
    if (vt_spool_read(sp, seq, &buf, &len, err, sizeof err) != 0)
        fail_msg("batch %llu unreadable: %s", (unsigned long long)seq, err);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(buf, text, len);
    free(buf);
}

static void write_read_ack(void **state)
{
    struct vt_spool *sp = open_ok(*state, 0, 0);
    assert_int_equal(put_text(sp, "one"), 1);
    assert_int_equal(put_text(sp, "two"), 2);
    assert_int_equal(put_text(sp, "three"), 3);
    assert_int_equal(vt_spool_count(sp), 3);
    assert_int_equal(vt_spool_bytes(sp), 11);
    expect_text(sp, 2, "two");
    uint64_t seq;
    assert_true(vt_spool_next_after(sp, 0, &seq));
    assert_int_equal(seq, 1);
    assert_true(vt_spool_next_after(sp, 1, &seq));
    assert_int_equal(seq, 2);
    assert_false(vt_spool_next_after(sp, 3, &seq));
    assert_int_equal(vt_spool_count_between(sp, 1, 3), 2);

    assert_int_equal(vt_spool_ack(sp, 2, err, sizeof err), 0);
    assert_int_equal(vt_spool_count(sp), 1);
    assert_true(vt_spool_next_after(sp, 0, &seq));
    assert_int_equal(seq, 3);
    assert_int_equal(vt_spool_read(sp, 1, &(uint8_t *){NULL}, &(size_t){0}, err, sizeof err), -1);

    /* A batch the coordinator refused for good goes alone. */
    put_text(sp, "four");
    assert_int_equal(vt_spool_drop(sp, 3, err, sizeof err), 0);
    assert_true(vt_spool_next_after(sp, 0, &seq));
    assert_int_equal(seq, 4);
    assert_int_equal(vt_spool_count(sp), 1);
    vt_spool_close(sp);
}

static void batches_survive_a_crash(void **state)
{
    struct vt_spool *sp = open_ok(*state, 0, 0);
    put_text(sp, "a");
    put_text(sp, "b");
    assert_int_equal(vt_spool_ack(sp, 1, err, sizeof err), 0);
    vt_spool_close(sp); /* nothing else is kept: as if the process died here */

    sp = open_ok(*state, 0, 0);
    assert_int_equal(vt_spool_count(sp), 1);
    expect_text(sp, 2, "b");
    assert_int_equal(put_text(sp, "c"), 3);
    vt_spool_close(sp);
}

static void seq_never_repeats_across_reopen(void **state)
{
    struct vt_spool *sp = open_ok(*state, 0, 0);
    put_text(sp, "a");
    put_text(sp, "b");
    assert_int_equal(vt_spool_ack(sp, 2, err, sizeof err), 0);
    vt_spool_close(sp);

    sp = open_ok(*state, 0, 0); /* empty now, but 1 and 2 were used */
    assert_int_equal(vt_spool_count(sp), 0);
    uint64_t seq;
    assert_int_equal(vt_spool_next_seq(sp, &seq, err, sizeof err), 0);
    assert_int_equal(seq, 3);
    vt_spool_close(sp); /* 3 handed out, never written: still never reused */

    sp = open_ok(*state, 0, 0);
    assert_int_equal(put_text(sp, "d"), 4);
    /* The coordinator acknowledges more than this spool ever held (it was
     * wiped): numbers continue above it. */
    assert_int_equal(vt_spool_ack(sp, 100, err, sizeof err), 0);
    vt_spool_close(sp);
    sp = open_ok(*state, 0, 0);
    assert_int_equal(put_text(sp, "e"), 101);
    vt_spool_close(sp);
}

static void torn_temp_files_are_ignored(void **state)
{
    struct vt_spool *sp = open_ok(*state, 0, 0);
    put_text(sp, "whole");
    vt_spool_close(sp);
    char path[256];
    snprintf(path, sizeof path, "%s/2.batch.tmp", (char *)*state);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hal", 3), 3);
    close(fd);
    snprintf(path, sizeof path, "%s/notes.txt", (char *)*state);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);

    sp = open_ok(*state, 0, 0);
    assert_int_equal(vt_spool_count(sp), 1);
    expect_text(sp, 1, "whole");
    snprintf(path, sizeof path, "%s/2.batch.tmp", (char *)*state);
    assert_int_equal(access(path, F_OK), -1); /* cleaned up */
    vt_spool_close(sp);
}

struct writer {
    struct vt_spool *sp;
    int rc;
    uint64_t seq;
};

static void *write_one(void *arg)
{
    struct writer *w = arg;
    char e[256];
    w->rc = vt_spool_next_seq(w->sp, &w->seq, e, sizeof e);
    if (w->rc == 0)
        w->rc = vt_spool_put(w->sp, w->seq, "late", 4, e, sizeof e);
    return NULL;
}

static void full_spool_blocks_until_acked(void **state)
{
    struct vt_spool *sp = open_ok(*state, 0, 2);
    put_text(sp, "a");
    put_text(sp, "b");
    assert_true(vt_spool_full(sp));
    struct writer w = {sp, -2, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_one, &w), 0);
    usleep(200000);
    assert_int_equal(vt_spool_count(sp), 2); /* still waiting */
    assert_int_equal(vt_spool_ack(sp, 1, err, sizeof err), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.seq, 3);
    assert_int_equal(vt_spool_count(sp), 2);

    /* Bounded in bytes too, and an interrupt (shutdown) frees the writer. */
    assert_int_equal(vt_spool_ack(sp, 3, err, sizeof err), 0);
    vt_spool_close(sp);
    sp = open_ok(*state, 10, 0);
    assert_true(vt_spool_full(sp) == false);
    put_text(sp, "0123456789x"); /* an empty spool takes any one batch */
    w = (struct writer){sp, -2, 0};
    assert_int_equal(pthread_create(&t, NULL, write_one, &w), 0);
    usleep(100000);
    vt_spool_interrupt(sp);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 1);
    vt_spool_close(sp);
}

static void unwritable_dir_says_how_to_mend(void **state)
{
    (void)state;
    assert_null(vt_spool_open("/proc/no/such/spool", 0, 0, err, sizeof err));
    assert_non_null(strstr(err, "--spool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(write_read_ack, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(batches_survive_a_crash, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(seq_never_repeats_across_reopen, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(torn_temp_files_are_ignored, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(full_spool_blocks_until_acked, make_dir, remove_dir),
        cmocka_unit_test(unwritable_dir_says_how_to_mend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
