/* Unit tests for hg_zsock: socket options that fail return -1 instead of
 * aborting as czmq's zsock_set_* do (issue 15: the master aborted in
 * zsock_set_sndtimeo while shutting down). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hg_zsock.h"

static void test_set_ok(void **state)
{
    (void) state;
    zsock_t *s = zsock_new(ZMQ_DEALER);
    assert_non_null(s);
    assert_int_equal(hg_zsock_set_int(s, ZMQ_SNDTIMEO, 5000), 0);
    assert_int_equal(zsock_sndtimeo(s), 5000);
    assert_int_equal(hg_zsock_set_i64(s, ZMQ_MAXMSGSIZE, 1 << 20), 0);
    assert_int_equal(zsock_maxmsgsize(s), 1 << 20);
    zsock_destroy(&s);
}

static void test_refused_is_an_error(void **state)
{
    (void) state;
    zsock_t *s = zsock_new(ZMQ_DEALER);
    assert_non_null(s);
    /* czmq's zsock_set_curve_serverkey would abort here (EINVAL) */
    assert_int_equal(hg_zsock_set_str(s, ZMQ_CURVE_SERVERKEY, "too short"), -1);
    assert_int_equal(hg_zsock_set_int(s, 987654, 1), -1); /* no such option */
    assert_int_equal(hg_zsock_set_str(s, ZMQ_CURVE_SERVERKEY, NULL), -1);
    zsock_destroy(&s);
    assert_int_equal(hg_zsock_set_int(NULL, ZMQ_LINGER, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_ok),
        cmocka_unit_test(test_refused_is_an_error),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zsys_shutdown();
    return rc;
}
