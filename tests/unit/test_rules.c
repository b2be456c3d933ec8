/* test_rules.c: the project's own rules (the .xml files of rules/, compiled into the
 * program) load cleanly and every <example> in them holds.
 *
 * What a user would notice: a shipped rule that names the wrong product, or
 * one that never matches its own example, or a file that lost its rules to a
 * typo. Every rule file must keep at least one rule, no rule may be skipped
 * with a warning, and vt_rules_verify() must find no failure, so adding a rule
 * with a wrong <example> fails this test.
 *
 * With no file in rules/ (the table is empty), this only checks that loading
 * the built-in rules works and yields nothing; it then checks no example,
 * because there is none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "fingerprint_builtin.h"

static void test_builtin_rules_load_and_verify(void **state)
{
    char err[512] = "";
    char *warned = NULL, *report = NULL;
    size_t wlen = 0, rlen = 0;
    FILE *warn = open_memstream(&warned, &wlen);
    FILE *rep = open_memstream(&report, &rlen);
    assert_non_null(warn);
    assert_non_null(rep);

    struct vt_rules *rs = vt_rules_new();
    assert_non_null(rs);
    if (vt_rules_load_builtin(rs, warn, err, sizeof err) != 0)
        fail_msg("the built-in rules do not load: %s", err);
    fflush(warn);
    if (wlen > 0)
        fail_msg("built-in rules were skipped or have unchecked examples:\n%s", warned);
    assert_int_equal(vt_rules_files(rs), vt_builtin_rule_files_n);

    /* At least one rule per file: each file loaded alone. */
    for (size_t i = 0; i < vt_builtin_rule_files_n; i++) {
        const struct vt_builtin_rule_file *b = &vt_builtin_rule_files[i];
        struct vt_rules *one = vt_rules_new();
        assert_int_equal(
            vt_rules_load_buffer(one, b->name, (const char *)b->xml, b->len, NULL, err, sizeof err),
            0);
        if (vt_rules_count(one) == 0)
            fail_msg("%s has no rule", b->name);
        vt_rules_free(one);
    }

    size_t failures = vt_rules_verify(rs, rep);
    fflush(rep);
    if (failures != 0)
        fail_msg("%zu example(s) of the built-in rules fail:\n%s", failures, report);
    if (vt_builtin_rule_files_n == 0)
        assert_int_equal(vt_rules_count(rs), 0);

    vt_rules_free(rs);
    fclose(warn);
    fclose(rep);
    free(warned);
    free(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_rules_load_and_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
