// hg-test-sources: master/auth.c master/redact.c
/* test_web: the dashboard's embedded files (web.h) and which paths the
 * route table makes public (auth.h): only "/" and "/ui/<file>", never
 * anything under /api/. Links the generated asset table (hgweb). */
#include "auth.h"
#include "web.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

static void test_assets(void **state)
{
    const hg_web_asset_t *index = hg_web_find("/");
    assert_non_null(index);
    assert_string_equal(index->path, "/ui/index.html");
    assert_true(index->size > 0);
    /* The page loads its script as a module from this origin, nothing inline. */
    assert_non_null(memmem(index->data, index->size, "src=\"/ui/app.js\"", 16));
    assert_null(memmem(index->data, index->size, "<script>", 8));
    assert_non_null(hg_web_find("/ui/app.js"));
    assert_non_null(hg_web_find("/ui/style.css"));
    assert_null(hg_web_find("/ui/missing.js"));
    assert_null(hg_web_find("/ui/../ui/app.js"));
    assert_null(hg_web_find("/index.html"));
    assert_null(hg_web_find(NULL));
    assert_string_equal(hg_web_content_type("/"), "text/html; charset=utf-8");
    assert_string_equal(hg_web_content_type("/ui/app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(hg_web_content_type("/ui/style.css"), "text/css; charset=utf-8");
    assert_string_equal(hg_web_content_type("/ui/x.bin"), "application/octet-stream");
}

static void test_public_routes(void **state)
{
    assert_true(hg_auth_is_public("/"));
    assert_true(hg_auth_is_public("/ui/app.js"));
    assert_false(hg_auth_is_public("/ui/"));
    assert_false(hg_auth_is_public("/ui/a/b.js"));
    assert_false(hg_auth_is_public("/healthz"));
    assert_false(hg_auth_is_public("/metrics"));
    assert_false(hg_auth_is_public("/api/v1/jobs"));
    assert_false(hg_auth_is_public("/api/v1/whoami"));
    assert_false(hg_auth_is_public("/apix"));
    assert_false(hg_auth_is_public(NULL));
    /* Every public row is a read; every /api/ row needs a role, and so does
     * /metrics (Prometheus' path, outside /api/; metrics.public aside). */
    const char *method, *pattern, *action;
    hg_role_t need;
    for (size_t i = 0; hg_auth_route_at(i, &method, &pattern, &need, &action); i++) {
        if (strncmp(pattern, "/api/", 5) == 0 || strcmp(pattern, "/metrics") == 0)
            assert_true(need >= HG_ROLE_VIEWER);
        else
            assert_true(need == HG_ROLE_NONE && strcmp(method, "GET") == 0 && !action);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_public_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
