// hg-test-sources: master/redact.c master/auth.c
/* test_redact: what the API hides from readers of a job (redact.h), the
 * token text and the route table of auth.h: pure functions, no database. */
#include "auth.h"
#include "hg_error.h"
#include "redact.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static json_t *s_job(void)
{
    json_t *job = json_loads(
        "{\"http\": {\"headers\": {\"authorization\": \"Bearer a\", \"Cookie\": \"c=1\", "
        "\"Set-Cookie\": \"s=1\", \"Proxy-Authorization\": \"Basic p\", \"X-Key\": \"k\", "
        "\"Accept\": \"*/*\"}}, \"params\": {\"DSN\": \"mysql://u:p@h/db\", \"api_token\": \"t\", "
        "\"Secret\": \"s\", \"db_password\": \"pw\", \"pin\": \"1\", \"region\": \"eu\", "
        "\"dsn_name\": \"x\"}, \"secret_headers\": [\"x-key\"], \"secret_params\": [\"pin\"]}",
        0, NULL);
    assert_non_null(job);
    return job;
}

static void test_redacts_defaults_and_marked(void **state)
{
    json_t *job = s_job();
    hg_redact_job(job);
    json_t *h = json_object_get(json_object_get(job, "http"), "headers");
    json_t *p = json_object_get(job, "params");
    const char *hidden_h[] = {"authorization", "Cookie", "Set-Cookie", "Proxy-Authorization",
                              "X-Key"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_object_get(h, hidden_h[i])), HG_REDACTED);
    assert_string_equal(json_string_value(json_object_get(h, "Accept")), "*/*");
    const char *hidden_p[] = {"DSN", "api_token", "Secret", "db_password", "pin"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(json_string_value(json_object_get(p, hidden_p[i])), HG_REDACTED);
    assert_string_equal(json_string_value(json_object_get(p, "region")), "eu");
    assert_string_equal(json_string_value(json_object_get(p, "dsn_name")), "x"); /* only "dsn" */
    json_decref(job);
}

/* A writer that sends back what it read keeps the stored secrets; a new
 * value replaces them; "***" in a field that is not secret is a value. */
/* A job with nothing secret is shown as it is (no copy); one with a
 * secret is shown as a redacted copy, the stored job left whole. */
static void test_copy_only_when_secret(void **state)
{
    (void) state;
    json_t *plain = json_loads("{\"http\": {\"headers\": {\"Accept\": \"*/*\"}},"
                               " \"params\": {\"region\": \"eu\"}}",
                               0, NULL);
    assert_non_null(plain);
    json_t *shown = hg_redact_copy(plain);
    assert_ptr_equal(shown, plain);
    json_decref(shown);
    json_t *job = s_job();
    shown = hg_redact_copy(job);
    assert_non_null(shown);
    assert_ptr_not_equal(shown, job);
    json_t *expect = s_job();
    hg_redact_job(expect);
    assert_true(json_equal(shown, expect));
    json_t *whole = s_job();
    assert_true(json_equal(job, whole)); /* the stored job is untouched */
    /* One secret member, a marked header, is enough for a copy. */
    json_t *marked = json_loads("{\"http\": {\"headers\": {\"X-Key\": \"k\"}},"
                                " \"secret_headers\": [\"x-key\"]}",
                                0, NULL);
    json_t *marked_shown = hg_redact_copy(marked);
    assert_ptr_not_equal(marked_shown, marked);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(marked_shown, "http"), "headers"), "X-Key")),
        HG_REDACTED);
    json_decref(marked_shown);
    json_decref(marked);
    json_decref(whole);
    json_decref(expect);
    json_decref(shown);
    json_decref(job);
    json_decref(plain);
}

static void test_restore_keeps_stored_secrets(void **state)
{
    json_t *stored = s_job();
    json_t *sent = s_job();
    hg_redact_job(sent);
    json_object_set_new(json_object_get(sent, "params"), "pin", json_string("2"));
    json_object_set_new(json_object_get(sent, "params"), "region", json_string(HG_REDACTED));
    int n = hg_redact_restore(sent, stored);
    assert_int_equal(n, 9);
    json_t *h = json_object_get(json_object_get(sent, "http"), "headers");
    json_t *p = json_object_get(sent, "params");
    assert_string_equal(json_string_value(json_object_get(h, "authorization")), "Bearer a");
    assert_string_equal(json_string_value(json_object_get(p, "db_password")), "pw");
    assert_string_equal(json_string_value(json_object_get(p, "pin")), "2");
    assert_string_equal(json_string_value(json_object_get(p, "region")), HG_REDACTED);
    assert_int_equal(hg_redact_restore(sent, NULL), 0);
    json_decref(stored);
    json_decref(sent);
}

static void test_token_text(void **state)
{
    char text[HG_TOKEN_TEXT_SIZE], other[HG_TOKEN_TEXT_SIZE];
    uint8_t hash[HG_TOKEN_HASH_SIZE], again[HG_TOKEN_HASH_SIZE], h2[HG_TOKEN_HASH_SIZE];
    hg_token_generate(text, hash);
    hg_token_generate(other, h2);
    assert_int_equal(strlen(text), HG_TOKEN_TEXT_SIZE - 1);
    assert_int_equal(strncmp(text, "hg_", 3), 0);
    assert_string_not_equal(text, other);
    assert_int_equal(hg_token_hash(text, again), 0);
    assert_memory_equal(hash, again, sizeof hash);
    assert_memory_not_equal(hash, h2, sizeof hash);
    text[10] = text[10] == 'A' ? 'B' : 'A';
    assert_int_equal(hg_token_hash(text, again), 0);
    assert_memory_not_equal(hash, again, sizeof hash);
    assert_int_equal(hg_token_hash("hg_short", again), HG_EINVAL);
    assert_int_equal(hg_token_hash("xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", again),
                     HG_EINVAL);
    assert_int_equal(hg_token_hash("hg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", again),
                     HG_EINVAL);

    assert_string_equal(hg_auth_bearer("Bearer abc"), "abc");
    assert_string_equal(hg_auth_bearer("bearer   abc"), "abc");
    assert_null(hg_auth_bearer("Basic abc"));
    assert_null(hg_auth_bearer("Bearer"));
    assert_null(hg_auth_bearer("Bearerabc"));
    assert_null(hg_auth_bearer(NULL));
}

static void test_route_table(void **state)
{
    hg_role_t need;
    const char *action;
    assert_int_equal(hg_auth_route("GET", "/api/v1/jobs", &need, &action), 0);
    assert_int_equal(need, HG_ROLE_VIEWER);
    assert_null(action);
    assert_int_equal(hg_auth_route("HEAD", "/api/v1/jobs/x", &need, &action), 0);
    assert_int_equal(need, HG_ROLE_VIEWER);
    assert_int_equal(hg_auth_route("POST", "/api/v1/jobs/x/trigger", &need, &action), 0);
    assert_int_equal(need, HG_ROLE_OPERATOR);
    assert_string_equal(action, "job.trigger");
    assert_int_equal(hg_auth_route("POST", "/api/v1/jobs", &need, &action), 0);
    assert_int_equal(need, HG_ROLE_EDITOR);
    assert_int_equal(hg_auth_route("POST", "/api/v1/plugins", &need, &action), 0);
    assert_int_equal(need, HG_ROLE_ADMIN);
    assert_int_equal(hg_auth_route("DELETE", "/api/v1/tokens/ci", &need, &action), 0);
    assert_int_equal(need, HG_ROLE_ADMIN);
    /* "*" is one non-empty segment. */
    assert_int_equal(hg_auth_route("GET", "/api/v1/jobs/", &need, &action), HG_ENOTFOUND);
    assert_int_equal(hg_auth_route("POST", "/api/v1/jobs/a/b/pause", &need, &action), HG_ENOTFOUND);
    assert_int_equal(hg_auth_route("PUT", "/api/v1/jobs", &need, &action), HG_ENOTFOUND);
    /* Every write has an audit action and needs more than viewer. */
    const char *method, *pattern;
    for (size_t i = 0; hg_auth_route_at(i, &method, &pattern, &need, &action); i++) {
        bool write = strcmp(method, "GET") != 0;
        assert_true(write == (action != NULL));
        if (write) assert_true(need > HG_ROLE_VIEWER);
    }
    assert_int_equal(hg_role_parse("editor"), HG_ROLE_EDITOR);
    assert_int_equal(hg_role_parse("root"), HG_ROLE_NONE);
    assert_string_equal(hg_role_name(HG_ROLE_ADMIN), "admin");

    json_t *job = json_loads("{\"plugin\": {\"name\": \"shell\"}}", 0, NULL);
    assert_true(hg_auth_job_needs_admin(job));
    json_decref(job);
    job = json_loads("{\"plugin\": {\"name\": \"sql\", \"isolation\": \"thread\"}}", 0, NULL);
    assert_true(hg_auth_job_needs_admin(job));
    json_decref(job);
    job = json_loads("{\"plugin\": {\"name\": \"sql\", \"isolation\": \"process\"}}", 0, NULL);
    assert_false(hg_auth_job_needs_admin(job));
    json_decref(job);
    job = json_loads("{\"plugin\": null, \"http\": {}}", 0, NULL);
    assert_false(hg_auth_job_needs_admin(job));
    json_decref(job);
}

static void test_trigger_role_and_scope(void **state)
{
    json_t *http = json_loads("{\"http\": {}, \"params\": {\"k\": \"v\"}}", 0, NULL);
    json_t *sql =
        json_loads("{\"plugin\": {\"name\": \"sql\"}, \"params\": {\"dsn\": \"x\"}}", 0, NULL);
    json_t *shell = json_loads("{\"plugin\": {\"name\": \"shell\"}, \"params\": {}}", 0, NULL);
    assert_int_equal(hg_auth_trigger_role(http, false), HG_ROLE_OPERATOR);
    assert_int_equal(hg_auth_trigger_role(shell, false), HG_ROLE_OPERATOR);
    assert_int_equal(hg_auth_trigger_role(http, true), HG_ROLE_EDITOR);
    assert_int_equal(hg_auth_trigger_role(sql, true), HG_ROLE_ADMIN);
    assert_int_equal(hg_auth_trigger_role(shell, true), HG_ROLE_ADMIN);
    json_decref(http);
    json_decref(sql);
    json_decref(shell);

    hg_principal_t all = {.role = HG_ROLE_ADMIN}, scoped = {.role = HG_ROLE_ADMIN};
    snprintf(scoped.ns, sizeof scoped.ns, "team-a");
    assert_true(hg_auth_scope_allows(&all, HG_ROLE_ADMIN, "token.create"));
    assert_true(hg_auth_scope_allows(&scoped, HG_ROLE_EDITOR, "job.create"));
    assert_true(hg_auth_scope_allows(&scoped, HG_ROLE_VIEWER, NULL));
    assert_false(hg_auth_scope_allows(&scoped, HG_ROLE_OPERATOR, "node.drain"));
    assert_false(hg_auth_scope_allows(&scoped, HG_ROLE_ADMIN, NULL)); /* token list, audit */
}

static void test_cache(void **state)
{
    hg_auth_cache_t *cache = hg_auth_cache_new();
    assert_non_null(cache);
    uint8_t hash[HG_TOKEN_HASH_SIZE] = {1}, other[HG_TOKEN_HASH_SIZE] = {2};
    hg_principal_t who = {.id = 7, .role = HG_ROLE_OPERATOR}, got;
    snprintf(who.name, sizeof who.name, "ops");
    assert_false(hg_auth_cache_get(cache, hash, 60000, &got));
    assert_true(hg_auth_cache_put(cache, hash, &who));  /* first use: write last_used_at */
    assert_false(hg_auth_cache_put(cache, hash, &who)); /* not again within the minute */
    assert_true(hg_auth_cache_get(cache, hash, 60000, &got));
    assert_string_equal(got.name, "ops");
    assert_false(hg_auth_cache_get(cache, other, 60000, &got));
    hg_auth_cache_forget(cache, hash);
    assert_false(hg_auth_cache_get(cache, hash, 60000, &got));
    /* An expired token is not kept alive by the cache. */
    who.expires_ms = 1000;
    hg_auth_cache_put(cache, other, &who);
    assert_false(hg_auth_cache_get(cache, other, 60000, &got));
    hg_auth_cache_destroy(&cache);
    assert_null(cache);
    hg_auth_cache_destroy(&cache);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redacts_defaults_and_marked),
        cmocka_unit_test(test_copy_only_when_secret),
        cmocka_unit_test(test_restore_keeps_stored_secrets),
        cmocka_unit_test(test_token_text),
        cmocka_unit_test(test_route_table),
        cmocka_unit_test(test_trigger_role_and_scope),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
