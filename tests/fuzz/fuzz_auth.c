/* fuzz_auth: what a caller of the REST API and a peer of the workers'
 * port control before anyone trusts them: the bearer header and token
 * text (master/auth.c), the route table that says which role a request
 * needs, the secrets redaction of a job and its restoring on a write
 * (master/redact.c), and the ZAP decision on a CURVE credential and the
 * keyring that binds keys to node names (master/zap.c).
 *
 * Input: line 1 an HTTP method, line 2 a request path, line 3 an
 * Authorization header value, the rest a job as JSON. Beyond "no crash":
 * a route that matches names a real role; a redacted job shows no secret
 * value; restoring the redacted job from the original gives the original
 * back; an admitted key maps to the node it was bound to. */
#include "auth.h"
#include "fuzz_common.h"
#include "hg_log.h"
#include "redact.h"
#include "zap.h"

#include <sodium.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    hg_log_init("fuzz_auth", HG_LOG_ERROR);
    FUZZ_CHECK(sodium_init() >= 0);
    return 0;
}

/* The next line of data (NUL-terminated copy in buf), or NULL at the end. */
static const char *s_line(const uint8_t **p, const uint8_t *end, char *buf, size_t size)
{
    if (*p >= end) return NULL;
    const uint8_t *nl = memchr(*p, '\n', (size_t) (end - *p));
    size_t n = (size_t) ((nl ? nl : end) - *p);
    if (n >= size) n = size - 1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = nl ? nl + 1 : end;
    return buf;
}

static void s_request(const char *method, const char *path, const char *authorization)
{
    const char *token = hg_auth_bearer(authorization);
    if (token) {
        FUZZ_CHECK(token >= authorization && token <= authorization + strlen(authorization));
        uint8_t hash[HG_TOKEN_HASH_SIZE];
        (void) hg_token_hash(token, hash);
    }
    hg_role_t need;
    const char *action = NULL;
    if (hg_auth_route(method, path, &need, &action) == 0)
        FUZZ_CHECK(hg_role_name(need) != NULL && hg_role_parse(hg_role_name(need)) == need);
}

/* No header or parameter the job calls secret keeps its value. */
static void s_check_redacted(const json_t *job)
{
    const char *name;
    json_t *v;
    json_t *headers = json_object_get(json_object_get(job, "http"), "headers");
    json_object_foreach((json_t *) headers, name, v)
    {
        if (json_is_string(v) && hg_redact_header_is_secret(job, name))
            FUZZ_CHECK(strcmp(json_string_value(v), HG_REDACTED) == 0);
    }
    json_t *params = json_object_get(job, "params");
    json_object_foreach((json_t *) params, name, v)
    {
        if (json_is_string(v) && hg_redact_param_is_secret(job, name))
            FUZZ_CHECK(strcmp(json_string_value(v), HG_REDACTED) == 0);
    }
}

static void s_job(const uint8_t *data, size_t size)
{
    json_t *job = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!job) return;
    (void) hg_auth_job_needs_admin(job);
    (void) hg_auth_trigger_role(job, true);
    (void) hg_auth_trigger_role(job, false);
    json_t *shown = json_deep_copy(job);
    FUZZ_CHECK(shown != NULL);
    hg_redact_job(shown);
    s_check_redacted(shown);
    /* A writer that sends back what it read keeps the stored secrets,
     * unless the original itself held the redaction mark somewhere. */
    (void) hg_redact_restore(shown, job);
    char *text = json_dumps(job, JSON_COMPACT);
    if (text && !strstr(text, HG_REDACTED)) FUZZ_CHECK(json_equal(shown, job));
    free(text);
    json_decref(shown);
    json_decref(job);
}

static void s_zap(const char *mechanism, const char *a, const char *b)
{
    hg_keyring_t *ring = hg_keyring_new();
    FUZZ_CHECK(ring != NULL);
    int rc = hg_keyring_add(ring, a, b);
    if (rc == 0)
        FUZZ_CHECK(hg_keyring_lookup(ring, a) && strcmp(hg_keyring_lookup(ring, a), b) == 0);
    const char *node = NULL, *why = NULL;
    char key[HG_KEY_Z85_LEN + 1];
    int status =
        hg_zap_decide(ring, NULL, mechanism, (const uint8_t *) b, strlen(b), &node, key, &why);
    FUZZ_CHECK(status == 200 || status == 400);
    FUZZ_CHECK(why != NULL);
    if (status == 200) FUZZ_CHECK(node && hg_keyring_lookup(ring, key) == node);
    hg_keyring_destroy(&ring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char method[64], path[4096], authorization[4096];
    if (!s_line(&p, end, method, sizeof method) || !s_line(&p, end, path, sizeof path) ||
        !s_line(&p, end, authorization, sizeof authorization))
        return 0;
    s_request(method, path, authorization);
    s_zap(method, path, authorization);
    s_job(p, (size_t) (end - p));
    return 0;
}
