// hg-test-sources: master/api.c master/api_jobs.c master/api_runs.c master/api_nodes.c
// hg-test-sources: master/api_plugins.c master/api_admin.c master/job.c master/job_db.c
// hg-test-sources: master/job_policy.c master/api_runctl.c
// hg-test-sources: master/db.c master/plugins.c master/elf.c master/auth.c master/audit.c
// hg-test-sources: master/redact.c master/worker_keys.c tests/unit/db_fixture.c
// hg-test-sources: master/deps.c master/deps_db.c master/api_deps.c
// hg-test-sources: master/api_alerts.c master/alert_db.c master/alerts.c
// hg-test-sources: master/api_metrics.c master/api_retention.c master/metrics.c master/retention.c
// hg-test-sources: master/api_console.c master/job_page.c master/job_walk.c
// hg-test-sources: master/job_ext.c master/job_edit.c master/api_job_edit.c master/run_view.c
// hg-test-sources: master/routing.c master/api_fires.c
// hg-test-sources: master/forward.c master/api_masters.c master/masters.c
/* test_api: the REST API of docs/api.md over real HTTP (libcurl) against
 * the private MariaDB, with the cluster actor replaced by a stub defined
 * here. Settings come from HOURGLASS_MYSQL_* (defaults: scripts/db env);
 * the test works in its own database, hourglass_test_api, recreated on
 * every run. An unreachable database fails the test, it does not skip. */
#include "api.h"
#include "auth.h"
#include "cluster.h"
#include "db_fixture.h"
#include "hg_error.h"
#include "job.h"
#include "job_db.h"
#include "masters.h"
#include "hg_log.h"
#include "hg_runid.h"
#include "hg_time.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_TEST_DB "hourglass_test_api"

/* ---------------------------------------------------------------------------
 * Cluster client stub: records what the API told the cluster and answers
 * what the test chose. Called on the API's polling thread.
 * ------------------------------------------------------------------------ */

struct hg_cluster_client {
    int unused; /* the stub keeps its state in s_stub */
};

static pthread_mutex_t s_stub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int upserts;           /* hg_cluster_job_upsert calls */
    json_t *last_upsert;   /* copy of the last upserted job */
    int removes;           /* hg_cluster_job_remove calls */
    uint64_t last_remove;  /* its job id */
    int trigger_rc;        /* what hg_cluster_trigger returns */
    json_t *last_params;   /* params of the last trigger */
    char node[64];         /* node of every job and trigger */
    int plugin_puts;       /* hg_cluster_plugin_put calls */
    char last_plugin[200]; /* "name version sha256" of the last one */
    int plugin_removes;    /* hg_cluster_plugin_remove calls */
    bool standby;          /* hg_cluster_role: a standby instead of the leader */
} s_stub;

hg_cluster_client_t *hg_cluster_client_new(void)
{
    return calloc(1, sizeof(hg_cluster_client_t));
}

void hg_cluster_client_destroy(hg_cluster_client_t **client)
{
    if (client && *client) {
        free(*client);
        *client = NULL;
    }
}

int hg_cluster_job_upsert(hg_cluster_client_t *client, json_t *job)
{
    pthread_mutex_lock(&s_stub_lock);
    s_stub.upserts++;
    json_decref(s_stub.last_upsert);
    s_stub.last_upsert = json_deep_copy(job);
    pthread_mutex_unlock(&s_stub_lock);
    return 0;
}

/* A batch counts as one upsert per job; every job goes to s_stub.node. */
int hg_cluster_job_upsert_many(hg_cluster_client_t *client, json_t *jobs, json_t **nodes)
{
    pthread_mutex_lock(&s_stub_lock);
    if (nodes) *nodes = json_array();
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        s_stub.upserts++;
        json_decref(s_stub.last_upsert);
        s_stub.last_upsert = json_deep_copy(job);
        if (nodes) json_array_append_new(*nodes, json_string(s_stub.node));
    }
    pthread_mutex_unlock(&s_stub_lock);
    return 0;
}

int hg_cluster_job_remove(hg_cluster_client_t *client, uint64_t job_id)
{
    pthread_mutex_lock(&s_stub_lock);
    s_stub.removes++;
    s_stub.last_remove = job_id;
    pthread_mutex_unlock(&s_stub_lock);
    return 0;
}

int hg_cluster_trigger(hg_cluster_client_t *client, uint64_t job_id, json_t *params, char *node,
                       size_t node_size)
{
    pthread_mutex_lock(&s_stub_lock);
    int rc = s_stub.trigger_rc;
    json_decref(s_stub.last_params);
    s_stub.last_params = params ? json_deep_copy(params) : NULL;
    if (rc == 0) snprintf(node, node_size, "%s", s_stub.node);
    pthread_mutex_unlock(&s_stub_lock);
    return rc;
}

/* The trigger stub, whatever force says (the overlap policy is the
 * worker's: tests/integration/test_overlap.py). */
int hg_cluster_trigger_force(hg_cluster_client_t *client, uint64_t job_id, json_t *params,
                             bool force, char *node, size_t node_size)
{
    return hg_cluster_trigger(client, job_id, params, node, node_size);
}

/* No run is in flight in these tests. */
int hg_cluster_run_cancel(hg_cluster_client_t *client, const char *run_id, char *node,
                          size_t node_size, char *ns, size_t ns_size)
{
    return HG_ENOTFOUND;
}

int hg_cluster_trigger_at(hg_cluster_client_t *client, uint64_t job_id, json_t *params,
                          const char *reason, int64_t scheduled_ms, bool force, char *node,
                          size_t node_size)
{
    (void) reason;
    (void) scheduled_ms;
    (void) force;
    return hg_cluster_trigger(client, job_id, params, node, node_size);
}

json_t *hg_cluster_nodes(hg_cluster_client_t *client)
{
    return json_pack("[{s:s, s:s, s:{}, s:i, s:s, s:n, s:i, s:i, s:i}]", "name", "worker-1",
                     "state", "active", "labels", "capacity", 256, "version", "0.1.0",
                     "last_heartbeat", "jobs", 3, "running", 0, "unacked", 0);
}

/* worker-1 is known and active; leaving-1 is leaving (cannot be
 * activated); any other name is unknown. */
json_t *hg_cluster_node_drain(hg_cluster_client_t *client, const char *name, bool drain, int *rc)
{
    if (strcmp(name, "leaving-1") == 0 && !drain) {
        *rc = HG_EUNAVAIL;
        return NULL;
    }
    if (strcmp(name, "worker-1") != 0 && strcmp(name, "leaving-1") != 0) {
        *rc = HG_ENOTFOUND;
        return NULL;
    }
    *rc = 0;
    return json_pack("{s:s, s:s, s:i}", "name", name, "state", drain ? "draining" : "active",
                     "jobs", 3);
}

int hg_cluster_job_node(hg_cluster_client_t *client, uint64_t job_id, char *node, size_t node_size)
{
    pthread_mutex_lock(&s_stub_lock);
    snprintf(node, node_size, "%s", s_stub.node);
    pthread_mutex_unlock(&s_stub_lock);
    return 0;
}

json_t *hg_cluster_job_placement(hg_cluster_client_t *client, uint64_t job_id)
{
    return NULL;
}

int hg_cluster_role(hg_cluster_client_t *client, hg_cluster_role_t *role)
{
    memset(role, 0, sizeof *role);
    pthread_mutex_lock(&s_stub_lock);
    role->leading = !s_stub.standby;
    role->epoch = 42;
    snprintf(role->leader, sizeof role->leader, "%s", s_stub.standby ? "master-b" : "master-a");
    if (s_stub.standby)
        snprintf(role->leader_api, sizeof role->leader_api, "http://b.example:8642");
    pthread_mutex_unlock(&s_stub_lock);
    return 0;
}

int hg_cluster_plugin_put(hg_cluster_client_t *client, const char *name, const char *version,
                          const char *sha256)
{
    pthread_mutex_lock(&s_stub_lock);
    s_stub.plugin_puts++;
    snprintf(s_stub.last_plugin, sizeof s_stub.last_plugin, "%s %s %s", name, version, sha256);
    pthread_mutex_unlock(&s_stub_lock);
    return 0;
}

int hg_cluster_plugin_remove(hg_cluster_client_t *client, const char *sha256)
{
    pthread_mutex_lock(&s_stub_lock);
    s_stub.plugin_removes++;
    pthread_mutex_unlock(&s_stub_lock);
    return 0;
}

int hg_cluster_stats(hg_cluster_client_t *client, int *workers, int *jobs)
{
    *workers = 2;
    *jobs = 5;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Fixture
 * ------------------------------------------------------------------------ */

static struct {
    hg_db_params_t db;                 /* the test database */
    MYSQL *conn;                       /* the test's own connection */
    hg_api_t *api;                     /* API against the test database */
    hg_api_t *dead_api;                /* API against a closed port */
    char base[64];                     /* http://127.0.0.1:PORT */
    char dead_base[64];                /* same for dead_api */
    char admin[HG_TOKEN_TEXT_SIZE];    /* an admin token */
    char viewer[HG_TOKEN_TEXT_SIZE];   /* a viewer token */
    char operator[HG_TOKEN_TEXT_SIZE]; /* an operator token */
    char editor[HG_TOKEN_TEXT_SIZE];   /* an editor token */
    char scoped[HG_TOKEN_TEXT_SIZE];   /* an editor token scoped to namespace "team-a" */
} s_fx;

/* The token requests send (NULL: none); s_fx.admin unless a test says. */
static const char *s_token;

static int s_setup(void **state)
{
    hg_log_init("test_api", getenv("HG_TEST_VERBOSE") ? HG_LOG_DEBUG : HG_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_ALL);
    s_fx.conn = hg_test_db_open("test_api", S_TEST_DB, &s_fx.db);
    if (!s_fx.conn) return -1;
    char err[1024];
    struct {
        const char *name;
        hg_role_t role;
        const char *ns;
        char *text;
    } tokens[] = {{"t-admin", HG_ROLE_ADMIN, NULL, s_fx.admin},
                  {"t-viewer", HG_ROLE_VIEWER, NULL, s_fx.viewer},
                  {"t-operator", HG_ROLE_OPERATOR, NULL, s_fx.operator},
                   {"t-editor", HG_ROLE_EDITOR, NULL, s_fx.editor},
                   {"t-scoped", HG_ROLE_EDITOR, "team-a", s_fx.scoped}};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        if (hg_token_create(s_fx.conn, tokens[i].name, tokens[i].role, tokens[i].ns, 0, "test",
                            tokens[i].text, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "test_api: token %s: %s\n", tokens[i].name, err);
            return -1;
        }
    }
    s_token = s_fx.admin;
    s_fx.api = hg_api_start("127.0.0.1", 0, &s_fx.db, NULL, err, sizeof err);
    if (!s_fx.api) {
        fprintf(stderr, "test_api: %s\n", err);
        return -1;
    }
    snprintf(s_fx.base, sizeof s_fx.base, "http://127.0.0.1:%d", hg_api_port(s_fx.api));

    /* A port nobody listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *) &sa, &salen) != 0) {
        fprintf(stderr, "test_api: cannot find a closed port\n");
        return -1;
    }
    close(fd);
    hg_db_params_t dead = s_fx.db;
    dead.host = "127.0.0.1";
    dead.socket = "";
    dead.port = ntohs(sa.sin_port);
    s_fx.dead_api = hg_api_start("127.0.0.1", 0, &dead, NULL, err, sizeof err);
    if (!s_fx.dead_api) {
        fprintf(stderr, "test_api: %s\n", err);
        return -1;
    }
    snprintf(s_fx.dead_base, sizeof s_fx.dead_base, "http://127.0.0.1:%d",
             hg_api_port(s_fx.dead_api));
    snprintf(s_stub.node, sizeof s_stub.node, "worker-1");
    return 0;
}

static int s_teardown(void **state)
{
    hg_api_stop(&s_fx.api);
    hg_api_stop(&s_fx.dead_api);
    assert_null(s_fx.api);
    hg_api_stop(&s_fx.api); /* idempotent */
    hg_db_close(&s_fx.conn);
    json_decref(s_stub.last_upsert);
    json_decref(s_stub.last_params);
    curl_global_cleanup();
    return 0;
}

/* ---------------------------------------------------------------------------
 * HTTP helpers
 * ------------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static size_t s_collect(char *ptr, size_t size, size_t n, void *userdata)
{
    s_buf_t *b = userdata;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (!grown) return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

static char s_last_headers[8192]; /* response headers of the last s_http_to */

/* Send method path [body] to base; returns the status and the parsed JSON
 * reply in *reply (which must be JSON with Content-Type application/json).
 * allow receives the Allow header when not NULL. */
static long s_http_to(const char *base, const char *method, const char *path, const char *body,
                      size_t body_len, json_t **reply, char *allow, size_t allow_size)
{
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    char url[4096];
    snprintf(url, sizeof url, "%s%s", base, path);
    s_buf_t out = {0};
    s_buf_t headers = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    char auth[128];
    if (s_token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
    }
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) fail_msg("%s %s: %s", method, url, curl_easy_strerror(cc));
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char *ctype = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ctype);
    if (!ctype || strcmp(ctype, "application/json") != 0)
        fail_msg("%s %s: Content-Type %s", method, path, ctype ? ctype : "(none)");
    snprintf(s_last_headers, sizeof s_last_headers, "%s", headers.data ? headers.data : "");
    if (allow) {
        allow[0] = '\0';
        const char *a = headers.data ? strcasestr(headers.data, "\nAllow: ") : NULL;
        if (a) {
            a += 8;
            size_t n = strcspn(a, "\r\n");
            snprintf(allow, allow_size, "%.*s", (int) n, a);
        }
    }
    json_error_t jerr;
    json_t *j = json_loadb(out.data ? out.data : "", out.len, 0, &jerr);
    if (!j)
        fail_msg("%s %s: reply is not JSON (%s): %s", method, path, jerr.text,
                 out.data ? out.data : "");
    if (getenv("HG_TEST_VERBOSE"))
        fprintf(stderr, "%s %s -> %ld %s", method, path, status, out.data);
    *reply = j;
    free(out.data);
    free(headers.data);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return status;
}

static long s_http(const char *method, const char *path, const char *body, json_t **reply)
{
    return s_http_to(s_fx.base, method, path, body, body ? strlen(body) : 0, reply, NULL, 0);
}

static const char *s_err_code(json_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static const char *s_err_field(json_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), "field"));
}

static const char *s_err_message(json_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
}

static const char *s_get_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_int_t s_get_int(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* Create a job named name (namespace ns or default); returns its id. */
static json_int_t s_create(const char *ns, const char *name)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\": \"%s\"%s%s%s, \"schedule\": \"@every 1s\", \"http\": {\"url\": "
             "\"http://127.0.0.1:9000/hook\"}}",
             name, ns ? ", \"namespace\": \"" : "", ns ? ns : "", ns ? "\"" : "");
    json_t *r;
    long st = s_http("POST", "/api/v1/jobs", body, &r);
    if (st != 201) fail_msg("create %s: %ld %s", name, st, s_err_message(r));
    json_int_t id = s_get_int(r, "id");
    json_decref(r);
    return id;
}

static int s_upserts(void)
{
    pthread_mutex_lock(&s_stub_lock);
    int n = s_stub.upserts;
    pthread_mutex_unlock(&s_stub_lock);
    return n;
}

/* ---------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

static void test_healthz(void **state)
{
    json_t *r;
    assert_int_equal(s_http("GET", "/healthz", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "status"), "ok");
    assert_string_equal(s_get_str(r, "db"), "ok");
    assert_int_equal(s_get_int(r, "workers"), 2);
    assert_int_equal(s_get_int(r, "jobs"), 5);
    json_decref(r);
    /* A second server on a taken port fails to start, saying why. */
    char err[256] = "";
    hg_api_t *clash =
        hg_api_start("127.0.0.1", hg_api_port(s_fx.api), &s_fx.db, NULL, err, sizeof err);
    assert_null(clash);
    assert_non_null(strstr(err, "cannot listen"));
}

static void test_create_returns_stored_job(void **state)
{
    int before = s_upserts();
    json_t *r;
    long st = s_http("POST", "/api/v1/jobs",
                     "{\"name\": \"ping\", \"schedule\": \"@every 1s\", \"timeout\": \"10s\", "
                     "\"http\": {\"method\": \"post\", \"url\": \"http://127.0.0.1:9000/hook\", "
                     "\"headers\": {\"X-Token\": \"abc\"}, \"body\": \"{}\"}, \"params\": "
                     "{\"k\": \"v\"}, \"executor\": {\"nodes\": [\"worker-1\"]}}",
                     &r);
    assert_int_equal(st, 201);
    assert_true(s_get_int(r, "id") > 0);
    assert_string_equal(s_get_str(r, "namespace"), "default");
    assert_string_equal(s_get_str(r, "name"), "ping");
    assert_string_equal(s_get_str(r, "kind"), "http");
    assert_string_equal(s_get_str(r, "status"), "active");
    assert_string_equal(s_get_str(r, "timeout"), "10s");
    assert_string_equal(s_get_str(r, "misfire"), "fire_once");
    assert_string_equal(s_get_str(r, "timezone"), "UTC");
    assert_true(json_is_null(json_object_get(r, "start_at")));
    assert_int_equal(s_get_int(r, "version"), 1);
    assert_string_equal(s_get_str(r, "node"), "worker-1");
    json_t *http = json_object_get(r, "http");
    assert_string_equal(s_get_str(http, "method"), "POST");
    assert_string_equal(s_get_str(json_object_get(http, "headers"), "X-Token"), "abc");
    assert_string_equal(s_get_str(http, "body"), "{}");
    assert_string_equal(s_get_str(json_object_get(r, "params"), "k"), "v");
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "executor"), "nodes")), 1);
    /* created_at / updated_at: RFC 3339 UTC with milliseconds, recent. */
    const char *created = s_get_str(r, "created_at");
    assert_non_null(created);
    assert_int_equal(strlen(created), 24);
    int64_t ms;
    assert_int_equal(hg_time_parse_rfc3339(created, &ms), 0);
    assert_true(llabs(hg_now_ms() - ms) < 60000);
    assert_string_equal(created, s_get_str(r, "updated_at"));

    /* The cluster got the stored object with id, version and status. */
    assert_int_equal(s_upserts(), before + 1);
    pthread_mutex_lock(&s_stub_lock);
    assert_int_equal(s_get_int(s_stub.last_upsert, "id"), s_get_int(r, "id"));
    assert_int_equal(s_get_int(s_stub.last_upsert, "version"), 1);
    assert_string_equal(s_get_str(s_stub.last_upsert, "status"), "active");
    pthread_mutex_unlock(&s_stub_lock);

    /* GET returns the same object. */
    json_t *g;
    assert_int_equal(s_http("GET", "/api/v1/jobs/ping", NULL, &g), 200);
    /* ... plus the look-ahead only GET shows (no run yet). */
    assert_int_equal(json_array_size(json_object_get(g, "next_fires")), 5);
    assert_true(json_is_null(json_object_get(g, "last_run")));
    json_object_del(g, "next_fires");
    json_object_del(g, "last_run");
    assert_true(json_equal(r, g));
    json_decref(g);
    json_decref(r);
}

static void test_create_duplicate_409(void **state)
{
    s_create(NULL, "dup");
    json_t *r;
    long st = s_http("POST", "/api/v1/jobs",
                     "{\"name\": \"dup\", \"schedule\": \"@every 2s\", \"http\": {\"url\": "
                     "\"http://x/\"}}",
                     &r);
    assert_int_equal(st, 409);
    assert_string_equal(s_err_code(r), "already_exists");
    assert_non_null(strstr(s_err_message(r), "\"dup\""));
    json_decref(r);
    /* The same name in another namespace is a different job. */
    s_create("other", "dup");
}

static void test_create_bad_field_400(void **state)
{
    json_t *r;
    long st = s_http("POST", "/api/v1/jobs",
                     "{\"name\": \"badurl\", \"schedule\": \"@every 1s\", \"http\": {\"url\": "
                     "\"ftp://x/\"}}",
                     &r);
    assert_int_equal(st, 400);
    assert_string_equal(s_err_code(r), "invalid_argument");
    assert_string_equal(s_err_field(r), "http.url");
    assert_string_equal(s_err_message(r), "http.url: must start with http:// or https://");
    json_decref(r);

    st = s_http("POST", "/api/v1/jobs",
                "{\"name\": \"badsched\", \"schedule\": \"* * *\", \"http\": {\"url\": "
                "\"http://x/\"}}",
                &r);
    assert_int_equal(st, 400);
    assert_string_equal(s_err_field(r), "schedule");
    assert_memory_equal(s_err_message(r), "schedule: ", 10);
    json_decref(r);

    st = s_http("POST", "/api/v1/jobs",
                "{\"name\": \"badtz\", \"schedule\": \"@every 1s\", \"timezone\": "
                "\"Mars/Base\", \"http\": {\"url\": \"http://x/\"}}",
                &r);
    assert_int_equal(st, 400);
    assert_string_equal(s_err_field(r), "timezone");
    assert_string_equal(s_err_message(r), "timezone: unknown time zone \"Mars/Base\"");
    json_decref(r);

    /* Nothing was stored. */
    assert_int_equal(s_http("GET", "/api/v1/jobs/badurl", NULL, &r), 404);
    json_decref(r);
}

static void test_bad_json_400(void **state)
{
    json_t *r;
    assert_int_equal(s_http("POST", "/api/v1/jobs", "{\"name\": \"x\",\n \"schedule\": }", &r),
                     400);
    assert_string_equal(s_err_code(r), "bad_json");
    assert_non_null(strstr(s_err_message(r), "line 2"));
    assert_non_null(strstr(s_err_message(r), "column"));
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/jobs", "[1, 2]", &r), 400);
    assert_string_equal(s_err_code(r), "bad_json");
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/jobs", "", &r), 400);
    assert_string_equal(s_err_code(r), "bad_json");
    json_decref(r);
}

static void test_get_unknown_404(void **state)
{
    json_t *r;
    assert_int_equal(s_http("GET", "/api/v1/jobs/nosuchjob", NULL, &r), 404);
    assert_string_equal(s_err_code(r), "not_found");
    assert_non_null(strstr(s_err_message(r), "nosuchjob"));
    json_decref(r);
    /* Exists in namespace "other" only. */
    s_create("other", "only-other");
    assert_int_equal(s_http("GET", "/api/v1/jobs/only-other", NULL, &r), 404);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs/only-other?namespace=other", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "namespace"), "other");
    json_decref(r);
}

static void test_list(void **state)
{
    s_create("listns", "a1");
    s_create("listns", "a2");
    s_create("listns", "a3");
    json_t *r;
    assert_int_equal(s_http("GET", "/api/v1/jobs?namespace=listns", NULL, &r), 200);
    assert_int_equal(s_get_int(r, "total"), 3);
    json_t *jobs = json_object_get(r, "jobs");
    assert_int_equal(json_array_size(jobs), 3);
    assert_string_equal(s_get_str(json_array_get(jobs, 0), "name"), "a1");
    assert_string_equal(s_get_str(json_array_get(jobs, 0), "node"), "worker-1");
    json_decref(r);

    assert_int_equal(s_http("GET", "/api/v1/jobs?namespace=listns&limit=1&offset=1", NULL, &r),
                     200);
    assert_int_equal(s_get_int(r, "total"), 3);
    assert_int_equal(json_array_size(json_object_get(r, "jobs")), 1);
    assert_string_equal(s_get_str(json_array_get(json_object_get(r, "jobs"), 0), "name"), "a2");
    json_decref(r);

    /* Without a namespace: every namespace. */
    assert_int_equal(s_http("GET", "/api/v1/jobs", NULL, &r), 200);
    assert_true(s_get_int(r, "total") >= 3);
    assert_int_equal((json_int_t) json_array_size(json_object_get(r, "jobs")),
                     s_get_int(r, "total"));
    json_decref(r);

    /* Status filter. */
    assert_int_equal(s_http("POST", "/api/v1/jobs/a2/pause?namespace=listns", NULL, &r), 200);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs?namespace=listns&status=paused", NULL, &r), 200);
    assert_int_equal(s_get_int(r, "total"), 1);
    assert_string_equal(s_get_str(json_array_get(json_object_get(r, "jobs"), 0), "name"), "a2");
    json_decref(r);

    const char *bad[] = {"/api/v1/jobs?limit=0",         "/api/v1/jobs?limit=1001",
                         "/api/v1/jobs?limit=abc",       "/api/v1/jobs?offset=-1",
                         "/api/v1/jobs?status=sleeping", "/api/v1/jobs?namespace=a/b"};
    const char *field[] = {"limit", "limit", "limit", "offset", "status", "namespace"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s_http("GET", bad[i], NULL, &r), 400);
        assert_string_equal(s_err_code(r), "invalid_argument");
        assert_string_equal(s_err_field(r), field[i]);
        json_decref(r);
    }
}

static void test_pause_resume(void **state)
{
    json_int_t id = s_create(NULL, "pr");
    int before = s_upserts();
    json_t *r;
    assert_int_equal(s_http("POST", "/api/v1/jobs/pr/pause", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "status"), "paused");
    assert_int_equal(s_get_int(r, "version"), 2);
    assert_int_equal(s_get_int(r, "id"), id);
    assert_int_equal(s_upserts(), before + 1);
    pthread_mutex_lock(&s_stub_lock);
    assert_string_equal(s_get_str(s_stub.last_upsert, "status"), "paused");
    assert_int_equal(s_get_int(s_stub.last_upsert, "version"), 2);
    pthread_mutex_unlock(&s_stub_lock);
    json_decref(r);

    /* Pausing a paused job changes nothing. */
    assert_int_equal(s_http("POST", "/api/v1/jobs/pr/pause", NULL, &r), 200);
    assert_int_equal(s_get_int(r, "version"), 2);
    json_decref(r);

    assert_int_equal(s_http("GET", "/api/v1/jobs/pr", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "status"), "paused");
    json_decref(r);

    assert_int_equal(s_http("POST", "/api/v1/jobs/pr/resume", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "status"), "active");
    assert_int_equal(s_get_int(r, "version"), 3);
    assert_true(strcmp(s_get_str(r, "updated_at"), s_get_str(r, "created_at")) > 0);
    pthread_mutex_lock(&s_stub_lock);
    assert_string_equal(s_get_str(s_stub.last_upsert, "status"), "active");
    pthread_mutex_unlock(&s_stub_lock);
    json_decref(r);

    assert_int_equal(s_http("POST", "/api/v1/jobs/nosuch/pause", NULL, &r), 404);
    assert_string_equal(s_err_code(r), "not_found");
    json_decref(r);
}

static void test_trigger(void **state)
{
    s_create(NULL, "trig");
    json_t *r;
    s_stub.trigger_rc = 0;
    assert_int_equal(s_http("POST", "/api/v1/jobs/trig/trigger", NULL, &r), 202);
    assert_string_equal(s_get_str(r, "job"), "trig");
    assert_string_equal(s_get_str(r, "node"), "worker-1");
    json_decref(r);

    assert_int_equal(
        s_http("POST", "/api/v1/jobs/trig/trigger", "{\"params\": {\"day\": \"monday\"}}", &r),
        202);
    json_decref(r);
    pthread_mutex_lock(&s_stub_lock);
    assert_string_equal(s_get_str(s_stub.last_params, "day"), "monday");
    pthread_mutex_unlock(&s_stub_lock);

    assert_int_equal(s_http("POST", "/api/v1/jobs/trig/trigger", "{\"params\": {\"day\": 1}}", &r),
                     400);
    assert_string_equal(s_err_field(r), "params.day");
    json_decref(r);

    pthread_mutex_lock(&s_stub_lock);
    s_stub.trigger_rc = HG_EUNAVAIL;
    pthread_mutex_unlock(&s_stub_lock);
    assert_int_equal(s_http("POST", "/api/v1/jobs/trig/trigger", NULL, &r), 409);
    assert_string_equal(s_err_code(r), "no_worker");
    json_decref(r);

    pthread_mutex_lock(&s_stub_lock);
    s_stub.trigger_rc = HG_ENOTFOUND;
    pthread_mutex_unlock(&s_stub_lock);
    assert_int_equal(s_http("POST", "/api/v1/jobs/trig/pause", NULL, &r), 200);
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/jobs/trig/trigger", NULL, &r), 409);
    assert_string_equal(s_err_code(r), "no_worker");
    assert_string_equal(s_err_message(r), "job \"trig\" is paused");
    json_decref(r);

    assert_int_equal(s_http("POST", "/api/v1/jobs/nosuch/trigger", NULL, &r), 404);
    assert_string_equal(s_err_code(r), "not_found");
    json_decref(r);
    pthread_mutex_lock(&s_stub_lock);
    s_stub.trigger_rc = 0;
    pthread_mutex_unlock(&s_stub_lock);
}

static void test_delete(void **state)
{
    json_int_t id = s_create(NULL, "gone");
    json_t *r;
    assert_int_equal(s_http("DELETE", "/api/v1/jobs/gone", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "deleted"), "gone");
    json_decref(r);
    pthread_mutex_lock(&s_stub_lock);
    assert_int_equal(s_stub.last_remove, id);
    pthread_mutex_unlock(&s_stub_lock);
    assert_int_equal(s_http("GET", "/api/v1/jobs/gone", NULL, &r), 404);
    json_decref(r);
    assert_int_equal(s_http("DELETE", "/api/v1/jobs/gone", NULL, &r), 404);
    json_decref(r);
    /* The name is free again. */
    s_create(NULL, "gone");
}

static void test_batch(void **state)
{
    json_t *r;
    long st = s_http("POST", "/api/v1/jobs:batch",
                     "{\"jobs\": [{\"name\": \"b1\", \"schedule\": \"@every 1s\", \"http\": "
                     "{\"url\": \"http://x/\"}}, {\"name\": \"b2\", \"namespace\": \"bns\", "
                     "\"schedule\": \"0 * * * * *\", \"http\": {\"url\": \"http://x/\"}}]}",
                     &r);
    assert_int_equal(st, 201);
    json_t *jobs = json_object_get(r, "jobs");
    assert_int_equal(json_array_size(jobs), 2);
    assert_string_equal(s_get_str(json_array_get(jobs, 1), "name"), "b2");
    assert_true(s_get_int(json_array_get(jobs, 1), "id") > 0);
    assert_string_equal(s_get_str(json_array_get(jobs, 1), "node"), "worker-1");
    json_decref(r);

    /* A bad entry names jobs[i].field and stores nothing. */
    st = s_http("POST", "/api/v1/jobs:batch",
                "{\"jobs\": [{\"name\": \"b3\", \"schedule\": \"@every 1s\", \"http\": {\"url\": "
                "\"http://x/\"}}, {\"name\": \"b4\", \"schedule\": \"* * *\", \"http\": "
                "{\"url\": \"http://x/\"}}]}",
                &r);
    assert_int_equal(st, 400);
    assert_string_equal(s_err_field(r), "jobs[1].schedule");
    assert_memory_equal(s_err_message(r), "jobs[1].schedule: ", 18);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs/b3", NULL, &r), 404);
    json_decref(r);

    /* A taken name rolls back the ones inserted before it. */
    st = s_http("POST", "/api/v1/jobs:batch",
                "{\"jobs\": [{\"name\": \"b5\", \"schedule\": \"@every 1s\", \"http\": {\"url\": "
                "\"http://x/\"}}, {\"name\": \"b1\", \"schedule\": \"@every 1s\", \"http\": "
                "{\"url\": \"http://x/\"}}]}",
                &r);
    assert_int_equal(st, 409);
    assert_string_equal(s_err_code(r), "already_exists");
    assert_string_equal(s_err_field(r), "jobs[1].name");
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs/b5", NULL, &r), 404);
    json_decref(r);

    /* The same name twice in one batch. */
    st = s_http("POST", "/api/v1/jobs:batch",
                "{\"jobs\": [{\"name\": \"b6\", \"schedule\": \"@every 1s\", \"http\": {\"url\": "
                "\"http://x/\"}}, {\"name\": \"b6\", \"schedule\": \"@every 1s\", \"http\": "
                "{\"url\": \"http://x/\"}}]}",
                &r);
    assert_int_equal(st, 400);
    assert_string_equal(s_err_field(r), "jobs[1].name");
    json_decref(r);

    assert_int_equal(s_http("POST", "/api/v1/jobs:batch", "{\"jobs\": []}", &r), 400);
    assert_string_equal(s_err_field(r), "jobs");
    json_decref(r);
}

/* The object a create answers is the one a later GET returns (less
 * "node"): for a single job, and for a batch larger than one INSERT, sent
 * twice so that kept statements are used again. */
static void s_assert_same_as_get(json_t *created)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/jobs/%s?namespace=%s", s_get_str(created, "name"),
             s_get_str(created, "namespace"));
    json_t *got;
    assert_int_equal(s_http("GET", path, NULL, &got), 200);
    json_t *a = json_deep_copy(created);
    json_object_del(a, "node");
    json_object_del(got, "node");
    json_object_del(got, "next_fires");
    json_object_del(got, "last_run");
    if (!json_equal(a, got)) {
        char *x = json_dumps(a, JSON_SORT_KEYS), *y = json_dumps(got, JSON_SORT_KEYS);
        fprintf(stderr, "created: %s\nstored:  %s\n", x, y);
        free(x);
        free(y);
        fail();
    }
    json_decref(a);
    json_decref(got);
}

static void test_created_equals_stored(void **state)
{
    json_t *r;
    long st = s_http("POST", "/api/v1/jobs",
                     "{\"name\": \"same-1\", \"namespace\": \"same\", \"schedule\": \"0 30 9 * * "
                     "MON-FRI\", \"timezone\": \"Europe/Paris\", \"start_at\": "
                     "\"2030-01-02T03:04:05.678+02:00\", \"end_at\": \"2031-01-01T00:00:00Z\", "
                     "\"misfire\": \"skip\", \"timeout\": \"1500ms\", \"recover\": true, "
                     "\"status\": \"paused\", \"http\": {\"url\": \"http://x/\", \"method\": "
                     "\"PUT\", \"headers\": {\"A\": \"b\"}}, \"params\": {\"k\": \"v\"}}",
                     &r);
    assert_int_equal(st, 201);
    s_assert_same_as_get(r);
    json_decref(r);
    st = s_http("POST", "/api/v1/jobs",
                "{\"name\": \"same-2\", \"namespace\": \"same\", \"schedule\": \"@every 1s\", "
                "\"plugin\": {\"name\": \"noop\", \"isolation\": \"thread\"}}",
                &r);
    assert_int_equal(st, 201);
    s_assert_same_as_get(r);
    json_decref(r);

    for (int round = 0; round < 2; round++) {
        json_t *list = json_array();
        for (int i = 0; i < 600; i++) {
            char name[64];
            snprintf(name, sizeof name, "same-b%d-%d", round, i);
            json_t *job = i % 3 == 0
                              ? json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", name, "namespace",
                                          "same", "schedule", "@daily", "plugin", "name", "noop")
                              : json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "name", name,
                                          "namespace", "same", "schedule", "@every 5m", "start_at",
                                          "2029-05-06T07:08:09.010Z", "http", "url", "http://y/");
            json_array_append_new(list, job);
        }
        json_t *body = json_pack("{s:o}", "jobs", list);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        st = s_http("POST", "/api/v1/jobs:batch", text, &r);
        free(text);
        assert_int_equal(st, 201);
        json_t *jobs = json_object_get(r, "jobs");
        assert_int_equal(json_array_size(jobs), 600);
        int64_t last = 0;
        for (size_t i = 0; i < 600; i++) {
            json_t *job = json_array_get(jobs, i);
            char name[64];
            snprintf(name, sizeof name, "same-b%d-%zu", round, i);
            assert_string_equal(s_get_str(job, "name"), name);
            assert_true(s_get_int(job, "id") > last); /* request order is id order */
            last = s_get_int(job, "id");
        }
        s_assert_same_as_get(json_array_get(jobs, 0));
        s_assert_same_as_get(json_array_get(jobs, 1));
        s_assert_same_as_get(json_array_get(jobs, 499));
        s_assert_same_as_get(json_array_get(jobs, 500));
        s_assert_same_as_get(json_array_get(jobs, 599));
        json_decref(r);
    }

    /* A taken name in the second INSERT of a batch: its index, nothing kept. */
    json_t *list = json_array();
    for (int i = 0; i < 600; i++) {
        char name[64];
        snprintf(name, sizeof name, i == 550 ? "same-b0-7" : "same-c-%d", i);
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", name, "namespace",
                                        "same", "schedule", "@daily", "http", "url", "http://y/"));
    }
    json_t *body = json_pack("{s:o}", "jobs", list);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    st = s_http("POST", "/api/v1/jobs:batch", text, &r);
    free(text);
    assert_int_equal(st, 409);
    assert_string_equal(s_err_field(r), "jobs[550].name");
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs/same-c-0?namespace=same", NULL, &r), 404);
    json_decref(r);
}

/* Without kept statements the ids of a multi-row INSERT are read back by
 * name (what a server handing them out interleaved needs): same result. */
static void test_create_ids_by_name(void **state)
{
    json_t *jobs = json_array();
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "byname-%d", i);
        char field[256], message[1024];
        json_t *in = json_pack("{s:s, s:s, s:{s:s}}", "name", name, "schedule", "@daily", "http",
                               "url", "http://z/");
        json_array_append_new(jobs,
                              hg_job_validate(in, field, sizeof field, message, sizeof message));
        json_decref(in);
    }
    json_t *stored = NULL;
    size_t failed = 99;
    char err[1024];
    assert_int_equal(hg_job_db_create(s_fx.conn, NULL, jobs, &stored, &failed, err, sizeof err), 0);
    assert_int_equal(json_array_size(stored), 3);
    for (size_t i = 0; i < 3; i++)
        s_assert_same_as_get(json_array_get(stored, i));
    json_decref(stored);
    /* Taken now: the first job is named. */
    assert_int_equal(hg_job_db_create(s_fx.conn, NULL, jobs, &stored, &failed, err, sizeof err),
                     HG_EEXIST);
    assert_int_equal(failed, 0);
    assert_non_null(strstr(err, "byname-0"));
    assert_null(stored);
    json_decref(jobs);
}

/* Creations from several keep-alive clients at once, served by several
 * server threads with a connection each: every one is stored, once. */
typedef struct {
    int client;  /* 0.. */
    int created; /* 201 answers */
} s_par_t;

static size_t s_discard(char *p, size_t size, size_t n, void *arg)
{
    (void) p;
    (void) arg;
    return size * n;
}

static void *s_par_client(void *arg)
{
    s_par_t *par = arg;
    CURL *curl = curl_easy_init(); /* one handle: one keep-alive connection */
    if (!curl) return NULL;
    char url[128];
    snprintf(url, sizeof url, "%s/api/v1/jobs", s_fx.base);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s_fx.admin);
    hdrs = curl_slist_append(hdrs, auth);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    for (int i = 0; i < 25; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"name\": \"par-%d-%d\", \"namespace\": \"par\", \"schedule\": \"@daily\", "
                 "\"http\": {\"url\": \"http://x/\"}}",
                 par->client, i);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 201)
            par->created++;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return NULL;
}

static void test_parallel_clients(void **state)
{
    pthread_t t[4];
    s_par_t par[4];
    for (int i = 0; i < 4; i++) {
        par[i] = (s_par_t){.client = i};
        assert_int_equal(pthread_create(&t[i], NULL, s_par_client, &par[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(par[i].created, 25);
    }
    json_t *r;
    assert_int_equal(s_http("GET", "/api/v1/jobs?namespace=par&limit=1000", NULL, &r), 200);
    assert_int_equal(s_get_int(r, "total"), 100);
    json_t *ids = json_object();
    size_t i;
    json_t *job;
    json_array_foreach(json_object_get(r, "jobs"), i, job)
    {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long) s_get_int(job, "id"));
        json_object_set_new(ids, key, json_true());
    }
    assert_int_equal(json_object_size(ids), 100);
    json_decref(ids);
    json_decref(r);
}

/* Insert one runs row with a prepared statement. */
static void s_insert_run(const uint8_t id[16], uint64_t job_id, const char *job_name,
                         int64_t sched_ms, const char *status, const char *output, size_t out_len)
{
    MYSQL_STMT *st = mysql_stmt_init(s_fx.conn);
    const char *sql = "INSERT INTO runs (run_id, job_id, job_name, node, scheduled_at, started_at, "
                      "finished_at, status, http_status, attempt, trigger_reason, output) VALUES "
                      "(?, ?, ?, 'worker-1', ?, ?, ?, ?, 200, 1, 'schedule', ?)";
    assert_int_equal(mysql_stmt_prepare(st, sql, strlen(sql)), 0);
    MYSQL_BIND b[8];
    memset(b, 0, sizeof b);
    unsigned long id_len = 16, name_len = strlen(job_name), status_len = strlen(status),
                  out_l = out_len;
    b[0].buffer_type = MYSQL_TYPE_BLOB;
    b[0].buffer = (void *) id;
    b[0].length = &id_len;
    b[1].buffer_type = MYSQL_TYPE_LONGLONG;
    b[1].buffer = &job_id;
    b[1].is_unsigned = 1;
    b[2].buffer_type = MYSQL_TYPE_STRING;
    b[2].buffer = (void *) job_name;
    b[2].length = &name_len;
    MYSQL_TIME t[3];
    hg_db_time_from_ms(sched_ms, &t[0]);
    hg_db_time_from_ms(sched_ms + 2, &t[1]);
    hg_db_time_from_ms(sched_ms + 9, &t[2]);
    for (int i = 0; i < 3; i++) {
        b[3 + i].buffer_type = MYSQL_TYPE_DATETIME;
        b[3 + i].buffer = &t[i];
    }
    b[6].buffer_type = MYSQL_TYPE_STRING;
    b[6].buffer = (void *) status;
    b[6].length = &status_len;
    b[7].buffer_type = MYSQL_TYPE_BLOB;
    b[7].buffer = (void *) output;
    b[7].length = &out_l;
    if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st))
        fail_msg("insert run: %s", mysql_stmt_error(st));
    mysql_stmt_close(st);
    /* As the store does: a run not ending in success is indexed by status. */
    if (strcmp(status, "success") != 0) {
        st = mysql_stmt_init(s_fx.conn);
        sql = "INSERT INTO runs_by_status (run_id, status) VALUES (?, ?)";
        assert_int_equal(mysql_stmt_prepare(st, sql, strlen(sql)), 0);
        MYSQL_BIND k[2];
        memset(k, 0, sizeof k);
        k[0] = b[0];
        k[1] = b[6];
        if (mysql_stmt_bind_param(st, k) || mysql_stmt_execute(st))
            fail_msg("insert runs_by_status: %s", mysql_stmt_error(st));
        mysql_stmt_close(st);
    }
}

static void test_runs(void **state)
{
    json_int_t id = s_create(NULL, "runner");
    /* Seven runs of "runner" a second apart (every third failed), one of
     * another job, one of a deleted job. */
    int64_t t0 = INT64_C(1795255200000); /* 2026-11-21T10:00:00Z */
    char ids[9][HG_RUNID_STR_LEN + 1];
    for (int i = 0; i < 7; i++) {
        uint8_t rid[16];
        hg_runid_new(rid, t0 + i * 1000);
        hg_runid_format(rid, ids[i]);
        s_insert_run(rid, (uint64_t) id, "runner", t0 + i * 1000, i % 3 == 0 ? "failed" : "success",
                     i == 6 ? "bad \xff\xfe utf8\0!" : "ok", i == 6 ? 13 : 2);
    }
    uint8_t rid[16];
    hg_runid_new(rid, t0 + 500);
    hg_runid_format(rid, ids[7]);
    s_insert_run(rid, 999999, "someone-else", t0 + 500, "success", "", 0);
    hg_runid_new(rid, t0 + 700);
    hg_runid_format(rid, ids[8]);
    s_insert_run(rid, 888888, "was-deleted", t0 + 700, "success", "", 0);

    json_t *r;
    assert_int_equal(s_http("GET", "/api/v1/runs?job=runner", NULL, &r), 200);
    json_t *runs = json_object_get(r, "runs");
    assert_int_equal(json_array_size(runs), 7);
    assert_true(json_is_null(json_object_get(r, "next")));
    json_t *newest = json_array_get(runs, 0);
    assert_string_equal(s_get_str(newest, "run_id"), ids[6]); /* newest first */
    assert_int_equal(s_get_int(newest, "job_id"), id);
    assert_string_equal(s_get_str(newest, "job"), "runner");
    assert_string_equal(s_get_str(newest, "node"), "worker-1");
    assert_string_equal(s_get_str(newest, "scheduled_at"), "2026-11-21T10:00:06.000Z");
    assert_string_equal(s_get_str(newest, "started_at"), "2026-11-21T10:00:06.002Z");
    assert_string_equal(s_get_str(newest, "finished_at"), "2026-11-21T10:00:06.009Z");
    assert_int_equal(s_get_int(newest, "duration_ms"), 7);
    assert_int_equal(s_get_int(newest, "http_status"), 200);
    assert_true(json_is_null(json_object_get(newest, "exit_code")));
    assert_true(json_is_null(json_object_get(newest, "error")));
    assert_string_equal(s_get_str(newest, "status"), "failed");
    assert_string_equal(s_get_str(newest, "trigger"), "schedule");
    assert_int_equal(s_get_int(newest, "attempt"), 1);
    /* Invalid UTF-8 and NUL in the output excerpt are replaced, not dropped. */
    assert_string_equal(s_get_str(newest, "output"),
                        "bad \xEF\xBF\xBD\xEF\xBF\xBD utf8\xEF\xBF\xBD!");
    json_decref(r);

    /* Paging: 3 + 3 + 1, following "next". */
    char path[256] = "/api/v1/runs?job=runner&limit=3";
    int seen = 0;
    for (int page = 0; page < 4; page++) {
        assert_int_equal(s_http("GET", path, NULL, &r), 200);
        runs = json_object_get(r, "runs");
        for (size_t i = 0; i < json_array_size(runs); i++, seen++)
            assert_string_equal(s_get_str(json_array_get(runs, i), "run_id"), ids[6 - seen]);
        json_t *next = json_object_get(r, "next");
        if (json_is_null(next)) {
            json_decref(r);
            break;
        }
        assert_int_equal(json_array_size(runs), 3);
        snprintf(path, sizeof path, "/api/v1/runs?job=runner&limit=3&before=%s",
                 json_string_value(next));
        json_decref(r);
    }
    assert_int_equal(seen, 7);

    /* Status filter: runs 0, 3, 6 failed, newest first; the rest succeeded. */
    assert_int_equal(s_http("GET", "/api/v1/runs?job=runner&status=failed", NULL, &r), 200);
    runs = json_object_get(r, "runs");
    assert_int_equal(json_array_size(runs), 3);
    assert_string_equal(s_get_str(json_array_get(runs, 0), "run_id"), ids[6]);
    assert_string_equal(s_get_str(json_array_get(runs, 2), "run_id"), ids[0]);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/runs?status=failed&limit=2", NULL, &r), 200);
    runs = json_object_get(r, "runs");
    assert_int_equal(json_array_size(runs), 2);
    assert_string_equal(s_get_str(json_array_get(runs, 1), "run_id"), ids[3]);
    assert_false(json_is_null(json_object_get(r, "next")));
    json_decref(r);
    assert_int_equal(
        s_http("GET", "/api/v1/runs?status=failed&since=2026-11-21T10:00:02Z", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "runs")), 2);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/runs?job=runner&status=success", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "runs")), 4);
    json_decref(r);

    /* Time filter: since inclusive, until exclusive. */
    assert_int_equal(s_http("GET",
                            "/api/v1/runs?job=runner&since=2026-11-21T10:00:02Z&until=2026-11-21T"
                            "10:00:05Z",
                            NULL, &r),
                     200);
    runs = json_object_get(r, "runs");
    assert_int_equal(json_array_size(runs), 3);
    assert_string_equal(s_get_str(json_array_get(runs, 0), "run_id"), ids[4]);
    assert_string_equal(s_get_str(json_array_get(runs, 2), "run_id"), ids[2]);
    json_decref(r);

    /* All jobs, and a job that is gone (matched by the recorded name). */
    assert_int_equal(s_http("GET", "/api/v1/runs?limit=1000", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "runs")), 9);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/runs?job=was-deleted", NULL, &r), 200);
    runs = json_object_get(r, "runs");
    assert_int_equal(json_array_size(runs), 1);
    assert_string_equal(s_get_str(json_array_get(runs, 0), "run_id"), ids[8]);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/runs?job=never-existed", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "runs")), 0);
    json_decref(r);

    const char *bad[] = {"/api/v1/runs?status=sleeping",
                         "/api/v1/runs?since=yesterday",
                         "/api/v1/runs?until=2026-13-01T00:00:00Z",
                         "/api/v1/runs?limit=0",
                         "/api/v1/runs?limit=1001",
                         "/api/v1/runs?before=xyz"};
    const char *field[] = {"status", "since", "until", "limit", "limit", "before"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s_http("GET", bad[i], NULL, &r), 400);
        assert_string_equal(s_err_code(r), "invalid_argument");
        assert_string_equal(s_err_field(r), field[i]);
        json_decref(r);
    }
}

static void test_nodes(void **state)
{
    json_t *r;
    assert_int_equal(s_http("GET", "/api/v1/nodes", NULL, &r), 200);
    json_t *nodes = json_object_get(r, "nodes");
    assert_int_equal(json_array_size(nodes), 1);
    assert_string_equal(s_get_str(json_array_get(nodes, 0), "name"), "worker-1");
    json_decref(r);
}

static void test_node_drain(void **state)
{
    json_t *r;
    char allow[128];
    assert_int_equal(s_http("POST", "/api/v1/nodes/worker-1/drain", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "name"), "worker-1");
    assert_string_equal(s_get_str(r, "state"), "draining");
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/nodes/worker-1/activate", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "state"), "active");
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/nodes/nobody/drain", NULL, &r), 404);
    assert_string_equal(s_err_code(r), "not_found");
    assert_non_null(strstr(s_err_message(r), "\"nobody\""));
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/nodes/leaving-1/activate", NULL, &r), 409);
    assert_string_equal(s_err_code(r), "node_leaving");
    json_decref(r);
    assert_int_equal(s_http_to(s_fx.base, "GET", "/api/v1/nodes/worker-1/drain", NULL, 0, &r, allow,
                               sizeof allow),
                     405);
    assert_string_equal(allow, "POST");
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/nodes/worker-1/explode", NULL, &r), 404);
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/nodes/worker-1", NULL, &r), 404);
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/nodes//drain", NULL, &r), 404);
    json_decref(r);
}

static void test_routes_404_405(void **state)
{
    json_t *r;
    char allow[128];
    assert_int_equal(s_http("GET", "/api/v2/jobs", NULL, &r), 404);
    assert_string_equal(s_err_code(r), "not_found");
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/jobs/x/explode", NULL, &r), 404);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs/x/y/z", NULL, &r), 404);
    json_decref(r);
    assert_int_equal(s_http_to(s_fx.base, "PUT", "/api/v1/jobs", "{}", 2, &r, allow, sizeof allow),
                     405);
    assert_string_equal(s_err_code(r), "method_not_allowed");
    assert_string_equal(allow, "GET, POST");
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs/x/pause", NULL, &r), 405);
    json_decref(r);
    assert_int_equal(s_http("DELETE", "/api/v1/runs", NULL, &r), 405);
    json_decref(r);
    assert_int_equal(s_http("POST", "/healthz", NULL, &r), 405);
    json_decref(r);
}

/* A standby serves reads from MySQL, refuses writes and the live node
 * list with 503 not_leader naming the leader, and says so in /healthz. */
static void test_standby_refuses_writes(void **state)
{
    json_int_t id = s_create(NULL, "standby-read");
    pthread_mutex_lock(&s_stub_lock);
    s_stub.standby = true;
    pthread_mutex_unlock(&s_stub_lock);
    json_t *r;
    const char *body = "{\"name\": \"standby-write\", \"schedule\": \"@every 1s\", \"http\": "
                       "{\"url\": \"http://127.0.0.1:9000/hook\"}}";
    const char *writes[][2] = {{"POST", "/api/v1/jobs"},
                               {"POST", "/api/v1/jobs/standby-read/pause"},
                               {"POST", "/api/v1/jobs/standby-read/trigger"},
                               {"DELETE", "/api/v1/jobs/standby-read"},
                               {"GET", "/api/v1/nodes"}};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        bool post = strcmp(writes[i][0], "POST") == 0;
        long st = s_http_to(s_fx.base, writes[i][0], writes[i][1], post ? body : NULL,
                            post ? strlen(body) : 0, &r, NULL, 0);
        if (st != 503) fail_msg("%s %s on a standby: %ld", writes[i][0], writes[i][1], st);
        assert_string_equal(s_err_code(r), "not_leader");
        json_t *err = json_object_get(r, "error");
        assert_string_equal(s_get_str(err, "leader"), "http://b.example:8642");
        assert_non_null(strstr(s_err_message(r), "master-b"));
        assert_non_null(strcasestr(s_last_headers, "\nHourglass-Leader: http://b.example:8642"));
        json_decref(r);
    }
    assert_int_equal(s_http("GET", "/api/v1/jobs/standby-read", NULL, &r), 200);
    assert_int_equal(s_get_int(r, "id"), id);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/jobs", NULL, &r), 200);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/runs", NULL, &r), 200);
    json_decref(r);
    assert_int_equal(s_http("GET", "/healthz", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "role"), "standby");
    assert_string_equal(s_get_str(r, "leader"), "master-b");
    assert_string_equal(s_get_str(r, "leader_api"), "http://b.example:8642");
    assert_int_equal(s_get_int(r, "epoch"), 42);
    json_decref(r);
    pthread_mutex_lock(&s_stub_lock);
    s_stub.standby = false;
    pthread_mutex_unlock(&s_stub_lock);
    assert_int_equal(s_http("GET", "/healthz", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "role"), "leader");
    json_decref(r);
}

static void test_body_too_large_413(void **state)
{
    size_t n = HG_API_MAX_BODY + 10;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    json_t *r;
    assert_int_equal(s_http_to(s_fx.base, "POST", "/api/v1/jobs", big, n, &r, NULL, 0), 413);
    assert_string_equal(s_err_code(r), "too_large");
    json_decref(r);
    free(big);
    /* The server still answers. */
    assert_int_equal(s_http("GET", "/healthz", NULL, &r), 200);
    json_decref(r);
}

static void test_db_unreachable_503(void **state)
{
    json_t *r;
    int64_t t0 = hg_mono_ms();
    const char *body = "{\"name\": \"x\", \"schedule\": \"@every 1s\", \"http\": {\"url\": "
                       "\"http://x/\"}}";
    long st = s_http_to(s_fx.dead_base, "POST", "/api/v1/jobs", body, strlen(body), &r, NULL, 0);
    assert_int_equal(st, 503);
    assert_string_equal(s_err_code(r), "unavailable");
    assert_memory_equal(s_err_message(r), "database unavailable: ", 22);
    json_decref(r);
    assert_int_equal(s_http_to(s_fx.dead_base, "GET", "/api/v1/jobs/x", NULL, 0, &r, NULL, 0), 503);
    json_decref(r);
    assert_int_equal(s_http_to(s_fx.dead_base, "GET", "/api/v1/runs", NULL, 0, &r, NULL, 0), 503);
    json_decref(r);
    assert_int_equal(s_http_to(s_fx.dead_base, "GET", "/healthz", NULL, 0, &r, NULL, 0), 503);
    assert_string_equal(s_get_str(r, "db"), "down");
    json_decref(r);
    /* A token this master never verified cannot be checked without a
     * database: 503, not 401 (the token may well be valid). */
    assert_int_equal(s_http_to(s_fx.dead_base, "POST", "/api/v1/jobs", "{}", 2, &r, NULL, 0), 503);
    json_decref(r);
    assert_true(hg_mono_ms() - t0 < 5000); /* refused at once, never hangs */
}

static void test_reconnects_after_connection_loss(void **state)
{
    json_t *r;
    assert_int_equal(s_http("GET", "/healthz", NULL, &r), 200);
    json_decref(r);
    /* Kill the API's connection (every other connection to the test
     * database); the next request must reconnect transparently. */
    const char *sql = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '" S_TEST_DB
                      "' AND ID <> CONNECTION_ID()";
    assert_int_equal(mysql_query(s_fx.conn, sql), 0);
    MYSQL_RES *res = mysql_store_result(s_fx.conn);
    assert_non_null(res);
    int killed = 0;
    MYSQL_ROW row;
    unsigned long long kill_ids[16];
    while ((row = mysql_fetch_row(res)) && killed < 16)
        kill_ids[killed++] = strtoull(row[0], NULL, 10);
    mysql_free_result(res);
    assert_true(killed >= 1);
    for (int i = 0; i < killed; i++) {
        MYSQL_STMT *st = mysql_stmt_init(s_fx.conn);
        const char *k = "KILL CONNECTION ?";
        if (mysql_stmt_prepare(st, k, strlen(k)) != 0) {
            /* Servers that cannot prepare KILL: an id the server gave us. */
            char text[64];
            snprintf(text, sizeof text, "KILL CONNECTION %llu", kill_ids[i]);
            mysql_query(s_fx.conn, text);
        } else {
            MYSQL_BIND b;
            memset(&b, 0, sizeof b);
            b.buffer_type = MYSQL_TYPE_LONGLONG;
            b.buffer = &kill_ids[i];
            b.is_unsigned = 1;
            mysql_stmt_bind_param(st, &b);
            mysql_stmt_execute(st);
        }
        mysql_stmt_close(st);
    }
    usleep(100 * 1000);
    assert_int_equal(s_http("GET", "/api/v1/jobs?limit=1", NULL, &r), 200);
    json_decref(r);
    s_create(NULL, "after-reconnect");
}

/* ---------------------------------------------------------------------------
 * Authentication, roles, redaction, tokens, worker keys, audit
 * ------------------------------------------------------------------------ */

/* status of method path body sent with token (NULL: none); reply freed. */
static long s_as(const char *token, const char *method, const char *path, const char *body,
                 json_t **reply)
{
    const char *saved = s_token;
    s_token = token;
    json_t *r = NULL;
    long st = s_http(method, path, body, &r);
    s_token = saved;
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return st;
}

static void test_auth_missing_bad_revoked_401(void **state)
{
    json_t *r;
    assert_int_equal(s_as(NULL, "GET", "/api/v1/jobs", NULL, &r), 401);
    assert_string_equal(s_err_code(r), "unauthorized");
    assert_non_null(strcasestr(s_last_headers, "WWW-Authenticate: Bearer"));
    json_decref(r);
    assert_int_equal(s_as("hg_not-a-token", "GET", "/api/v1/jobs", NULL, NULL), 401);
    /* Well formed, never issued. */
    char text[HG_TOKEN_TEXT_SIZE];
    uint8_t hash[HG_TOKEN_HASH_SIZE];
    hg_token_generate(text, hash);
    assert_int_equal(s_as(text, "GET", "/api/v1/jobs", NULL, NULL), 401);
    /* Unknown routes need a token too, and /healthz none. */
    assert_int_equal(s_as(NULL, "GET", "/api/v1/nothing", NULL, NULL), 401);
    assert_int_equal(s_as(NULL, "GET", "/healthz", NULL, NULL), 200);

    /* Revoked: refused on its next request. */
    char err[256];
    assert_int_equal(hg_token_create(s_fx.conn, "t-doomed", HG_ROLE_VIEWER, NULL, 0, "test", text,
                                     NULL, err, sizeof err),
                     0);
    assert_int_equal(s_as(text, "GET", "/api/v1/jobs", NULL, NULL), 200);
    assert_int_equal(s_http("DELETE", "/api/v1/tokens/t-doomed", NULL, &r), 200);
    assert_string_equal(s_get_str(r, "revoked"), "t-doomed");
    json_decref(r);
    assert_int_equal(s_as(text, "GET", "/api/v1/jobs", NULL, NULL), 401);
    assert_int_equal(s_http("DELETE", "/api/v1/tokens/t-doomed", NULL, &r), 404);
    json_decref(r);

    /* Expired: refused. */
    assert_int_equal(hg_token_create(s_fx.conn, "t-brief", HG_ROLE_VIEWER, NULL, hg_now_ms() + 300,
                                     "test", text, NULL, err, sizeof err),
                     0);
    assert_int_equal(s_as(text, "GET", "/api/v1/jobs", NULL, NULL), 200);
    usleep(400 * 1000);
    assert_int_equal(s_as(text, "GET", "/api/v1/jobs", NULL, NULL), 401);
}

/* A refused request's body is dropped unread: an anonymous client gets
 * 401, not 413, whatever it sends, and a viewer's refused write is still
 * audited. */
static void test_refused_before_body(void **state)
{
    size_t n = 2u << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    json_t *r;
    const char *saved = s_token;
    s_token = NULL;
    long st = s_http_to(s_fx.base, "POST", "/api/v1/jobs", big, n, &r, NULL, 0);
    s_token = saved;
    assert_int_equal(st, 401);
    json_decref(r);
    s_token = s_fx.viewer;
    st = s_http_to(s_fx.base, "POST", "/api/v1/plugins?name=big&version=1", big, n, &r, NULL, 0);
    s_token = saved;
    assert_int_equal(st, 403);
    json_decref(r);
    free(big);
}

static void test_roles_403(void **state)
{
    json_t *r;
    const char *job = "{\"name\": \"by-viewer\", \"schedule\": \"@daily\", \"http\": {\"url\": "
                      "\"http://x/\"}}";
    assert_int_equal(s_as(s_fx.viewer, "POST", "/api/v1/jobs", job, &r), 403);
    assert_string_equal(s_err_code(r), "forbidden");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "role")),
                        "editor");
    assert_non_null(strstr(s_err_message(r), "editor"));
    json_decref(r);
    assert_int_equal(s_as(s_fx.viewer, "GET", "/api/v1/jobs", NULL, NULL), 200);
    assert_int_equal(s_as(s_fx.operator, "POST", "/api/v1/jobs", job, NULL), 403);
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs", job, NULL), 201);
    assert_int_equal(s_as(s_fx.viewer, "POST", "/api/v1/jobs/by-viewer/pause", NULL, NULL), 403);
    assert_int_equal(s_as(s_fx.operator, "POST", "/api/v1/jobs/by-viewer/pause", NULL, NULL), 200);
    assert_int_equal(s_as(s_fx.operator, "DELETE", "/api/v1/jobs/by-viewer", NULL, NULL), 403);

    /* shell and thread isolation are the admin's. */
    const char *shell = "{\"name\": \"sh\", \"schedule\": \"@daily\", \"plugin\": {\"name\": "
                        "\"shell\"}, \"params\": {\"command\": \"id\"}}";
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs", shell, &r), 403);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "role")),
                        "admin");
    json_decref(r);
    const char *thread = "{\"name\": \"th\", \"schedule\": \"@daily\", \"plugin\": {\"name\": "
                         "\"noop\", \"isolation\": \"thread\"}}";
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs", thread, NULL), 403);
    char batch[600];
    snprintf(batch, sizeof batch, "{\"jobs\": [%s]}", shell);
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs:batch", batch, NULL), 403);
    assert_int_equal(s_as(s_fx.admin, "POST", "/api/v1/jobs", shell, NULL), 201);
    /* ... and so are deleting it and triggering it with parameters. */
    assert_int_equal(s_as(s_fx.editor, "DELETE", "/api/v1/jobs/sh", NULL, NULL), 403);
    assert_int_equal(s_as(s_fx.operator, "POST", "/api/v1/jobs/sh/trigger",
                          "{\"params\": {\"command\": \"reboot\"}}", NULL),
                     403);
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs/sh/trigger",
                          "{\"params\": {\"command\": \"reboot\"}}", NULL),
                     403);
    /* A trigger's params change what a job does: editor, not operator. */
    assert_int_equal(s_as(s_fx.operator, "POST", "/api/v1/jobs/by-viewer/trigger",
                          "{\"params\": {\"k\": \"v\"}}", &r),
                     403);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "role")),
                        "editor");
    json_decref(r);
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs/by-viewer/trigger",
                          "{\"params\": {\"k\": \"v\"}}", NULL),
                     202);
    assert_int_equal(s_as(s_fx.operator, "POST", "/api/v1/jobs/by-viewer/trigger", NULL, NULL),
                     202);
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/plugins?name=x&version=1", "x", NULL), 403);
    assert_int_equal(s_as(s_fx.editor, "GET", "/api/v1/tokens", NULL, NULL), 403);
    assert_int_equal(s_as(s_fx.editor, "GET", "/api/v1/audit", NULL, NULL), 403);
    assert_int_equal(s_as(s_fx.editor, "GET", "/api/v1/worker-keys", NULL, NULL), 403);
    assert_int_equal(s_as(s_fx.admin, "DELETE", "/api/v1/jobs/sh", NULL, NULL), 200);

    /* By hash alone: what the master stores under it decides. */
    const char *shell_sha = "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11"
                            "5e11";
    const char *noop_sha = "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0000"
                           "0001";
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO plugins (name, version, sha256, size, arch, chunks, uploaded_at) VALUES"
             " ('shell', '9', '%s', 1, 'x86_64', 0, NOW(3)), ('noop', '9', '%s', 1, 'x86_64', 0,"
             " NOW(3))",
             shell_sha, noop_sha);
    assert_int_equal(mysql_query(s_fx.conn, sql), 0);
    char by_sha[400];
    snprintf(by_sha, sizeof by_sha,
             "{\"name\": \"by-sha\", \"schedule\": \"@daily\", \"plugin\": {\"sha256\": \"%s\"}}",
             shell_sha);
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs", by_sha, &r), 403);
    assert_non_null(strstr(s_err_message(r), "shell"));
    json_decref(r);
    snprintf(by_sha, sizeof by_sha,
             "{\"name\": \"by-sha\", \"schedule\": \"@daily\", \"plugin\": {\"sha256\": \"%s\"}}",
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd"
             "abcd");
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs", by_sha, NULL), 403);
    snprintf(by_sha, sizeof by_sha,
             "{\"name\": \"by-sha\", \"schedule\": \"@daily\", \"plugin\": {\"sha256\": \"%s\"}}",
             noop_sha);
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs", by_sha, NULL), 201);
}

static void test_redaction(void **state)
{
    const char *job =
        "{\"name\": \"secretive\", \"schedule\": \"@daily\", \"http\": {\"url\": \"http://x/\", "
        "\"headers\": {\"Authorization\": \"Bearer abc\", \"X-Api-Key\": \"k1\", \"X-Plain\": "
        "\"p\"}}, \"params\": {\"db_password\": \"pw\", \"region\": \"eu\", \"pin\": \"1234\"}, "
        "\"secret_headers\": [\"x-api-key\"], \"secret_params\": [\"pin\"]}";
    json_t *r;
    assert_int_equal(s_as(s_fx.editor, "POST", "/api/v1/jobs", job, &r), 201);
    /* Even its writer's answer is redacted. */
    json_t *h = json_object_get(json_object_get(r, "http"), "headers");
    assert_string_equal(s_get_str(h, "Authorization"), "***");
    json_decref(r);
    const char *paths[] = {"/api/v1/jobs/secretive", "/api/v1/jobs?limit=1000"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s_as(s_fx.viewer, "GET", paths[i], NULL, &r), 200);
        json_t *j = i == 0 ? r : NULL;
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(r, "jobs"), k, v)
        {
            if (strcmp(s_get_str(v, "name"), "secretive") == 0) j = v;
        }
        assert_non_null(j);
        h = json_object_get(json_object_get(j, "http"), "headers");
        json_t *p = json_object_get(j, "params");
        assert_string_equal(s_get_str(h, "Authorization"), "***");
        assert_string_equal(s_get_str(h, "X-Api-Key"), "***");
        assert_string_equal(s_get_str(h, "X-Plain"), "p");
        assert_string_equal(s_get_str(p, "db_password"), "***");
        assert_string_equal(s_get_str(p, "pin"), "***");
        assert_string_equal(s_get_str(p, "region"), "eu");
        char *dump = json_dumps(j, 0);
        assert_null(strstr(dump, "abc")); /* nowhere else either */
        free(dump);
        json_decref(r);
    }
    assert_int_equal(s_as(s_fx.editor, "GET", "/api/v1/jobs/secretive?reveal=true", NULL, &r), 403);
    json_decref(r);
    assert_int_equal(s_as(s_fx.admin, "GET", "/api/v1/jobs/secretive?reveal=true", NULL, &r), 200);
    h = json_object_get(json_object_get(r, "http"), "headers");
    assert_string_equal(s_get_str(h, "Authorization"), "Bearer abc");
    assert_string_equal(s_get_str(json_object_get(r, "params"), "pin"), "1234");
    json_decref(r);
    /* The stored values are intact. */
    assert_int_equal(s_as(s_fx.operator, "POST", "/api/v1/jobs/secretive/pause", NULL, &r), 200);
    assert_string_equal(s_get_str(json_object_get(r, "params"), "db_password"), "***");
    json_decref(r);
    assert_int_equal(s_as(s_fx.admin, "GET", "/api/v1/jobs/secretive?reveal=true", NULL, &r), 200);
    assert_string_equal(s_get_str(json_object_get(r, "params"), "db_password"), "pw");
    json_decref(r);
}

static void test_scoped_token(void **state)
{
    json_t *r;
    s_create("team-b", "other-team");
    /* Created in its namespace by default; another is refused. */
    const char *job = "{\"name\": \"mine\", \"schedule\": \"@daily\", \"http\": {\"url\": "
                      "\"http://x/\"}}";
    assert_int_equal(s_as(s_fx.scoped, "POST", "/api/v1/jobs", job, &r), 201);
    assert_string_equal(s_get_str(r, "namespace"), "team-a");
    json_decref(r);
    const char *other = "{\"name\": \"theirs\", \"namespace\": \"team-b\", \"schedule\": "
                        "\"@daily\", \"http\": {\"url\": \"http://x/\"}}";
    assert_int_equal(s_as(s_fx.scoped, "POST", "/api/v1/jobs", other, NULL), 403);
    assert_int_equal(
        s_as(s_fx.scoped, "GET", "/api/v1/jobs/other-team?namespace=team-b", NULL, NULL), 403);
    assert_int_equal(s_as(s_fx.scoped, "GET", "/api/v1/jobs?namespace=team-b", NULL, NULL), 403);
    assert_int_equal(
        s_as(s_fx.scoped, "DELETE", "/api/v1/jobs/other-team?namespace=team-b", NULL, NULL), 403);
    /* Its listing holds its namespace only. */
    assert_int_equal(s_as(s_fx.scoped, "GET", "/api/v1/jobs", NULL, &r), 200);
    size_t i;
    json_t *v;
    assert_true(json_array_size(json_object_get(r, "jobs")) >= 1);
    json_array_foreach(json_object_get(r, "jobs"), i, v)
        assert_string_equal(s_get_str(v, "namespace"), "team-a");
    json_decref(r);
    assert_int_equal(s_as(s_fx.scoped, "GET", "/api/v1/jobs/mine", NULL, NULL), 200);
    assert_int_equal(s_as(s_fx.scoped, "GET", "/api/v1/runs?job=mine", NULL, NULL), 200);
    assert_int_equal(s_as(s_fx.scoped, "GET", "/api/v1/runs", NULL, NULL), 403);
    assert_int_equal(
        s_as(s_fx.scoped, "GET", "/api/v1/runs?job=other-team&namespace=team-b", NULL, NULL), 403);
    assert_int_equal(s_as(s_fx.scoped, "POST", "/api/v1/nodes/worker-1/drain", NULL, NULL), 403);
}

static void test_tokens_api(void **state)
{
    json_t *r;
    assert_int_equal(
        s_http("POST", "/api/v1/tokens", "{\"name\": \"ci\", \"role\": \"operator\"}", &r), 201);
    const char *text = s_get_str(r, "token");
    assert_non_null(text);
    assert_int_equal(strncmp(text, "hg_", 3), 0);
    char token[HG_TOKEN_TEXT_SIZE];
    snprintf(token, sizeof token, "%s", text);
    assert_string_equal(s_get_str(r, "role"), "operator");
    assert_string_equal(s_get_str(r, "created_by"), "t-admin");
    json_decref(r);
    assert_int_equal(s_as(token, "GET", "/api/v1/nodes", NULL, NULL), 200);
    assert_int_equal(
        s_http("POST", "/api/v1/tokens", "{\"name\": \"ci\", \"role\": \"viewer\"}", &r), 409);
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/tokens", "{\"name\": \"x\", \"role\": \"root\"}", &r),
                     400);
    assert_string_equal(s_err_field(r), "role");
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/tokens",
                            "{\"name\": \"y\", \"role\": \"viewer\", \"expires\": \"soon\"}", &r),
                     400);
    assert_string_equal(s_err_field(r), "expires");
    json_decref(r);
    /* Listing: no token, no hash. */
    assert_int_equal(s_http("GET", "/api/v1/tokens", NULL, &r), 200);
    char *dump = json_dumps(r, 0);
    assert_null(strstr(dump, token));
    assert_null(strstr(dump, "hash"));
    assert_non_null(strstr(dump, "\"ci\""));
    free(dump);
    json_decref(r);
    assert_int_equal(s_http("DELETE", "/api/v1/tokens/ci", NULL, &r), 200);
    json_decref(r);
    assert_int_equal(s_as(token, "GET", "/api/v1/nodes", NULL, NULL), 401);
}

static void test_worker_keys_api(void **state)
{
    json_t *r;
    const char *key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"; /* a Z85 CURVE key */
    char body[300];
    snprintf(body, sizeof body, "{\"public_key\": \"%s\", \"node\": \"worker-1\"}", key);
    assert_int_equal(s_http("POST", "/api/v1/worker-keys", body, &r), 201);
    assert_string_equal(s_get_str(r, "node"), "worker-1");
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/worker-keys", body, &r), 409);
    json_decref(r);
    assert_int_equal(s_http("POST", "/api/v1/worker-keys",
                            "{\"public_key\": \"short\", \"node\": \"worker-1\"}", &r),
                     400);
    assert_string_equal(s_err_field(r), "public_key");
    json_decref(r);
    snprintf(body, sizeof body, "{\"public_key\": \"%s\", \"node\": \"bad name\"}",
             "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
    assert_int_equal(s_http("POST", "/api/v1/worker-keys", body, &r), 400);
    assert_string_equal(s_err_field(r), "node");
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/worker-keys", NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "worker_keys")), 1);
    json_decref(r);
    char *esc = curl_easy_escape(NULL, key, 0);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/worker-keys?public_key=%s", esc);
    curl_free(esc);
    assert_int_equal(s_http("DELETE", path, NULL, &r), 200);
    assert_int_equal(s_get_int(r, "deleted"), 1);
    json_decref(r);
    assert_int_equal(s_http("DELETE", path, NULL, &r), 404);
    json_decref(r);
    assert_int_equal(s_http("PUT", "/api/v1/worker-keys", "{}", &r), 405);
    json_decref(r);
}

static void test_audit(void **state)
{
    json_t *r;
    s_create("audited", "a1");
    assert_int_equal(
        s_as(s_fx.viewer, "POST", "/api/v1/jobs/a1/pause?namespace=audited", NULL, NULL), 403);
    assert_int_equal(s_as(NULL, "DELETE", "/api/v1/jobs/a1?namespace=audited", NULL, NULL), 401);
    assert_int_equal(s_http("GET", "/api/v1/audit?since=1h&limit=50", NULL, &r), 200);
    json_t *rows = json_object_get(r, "audit");
    bool created = false, refused = false, anonymous = false;
    size_t i;
    json_t *v;
    json_array_foreach(rows, i, v)
    {
        const char *action = s_get_str(v, "action"), *object = s_get_str(v, "object");
        if (strcmp(action, "job.create") == 0 && strcmp(object, "audited/a1") == 0) {
            created = true;
            assert_string_equal(s_get_str(v, "token"), "t-admin");
            assert_string_equal(s_get_str(v, "role"), "admin");
            assert_int_equal(s_get_int(v, "status"), 201);
            assert_string_equal(s_get_str(v, "address"), "127.0.0.1");
        }
        if (strcmp(action, "job.pause") == 0 && strcmp(object, "audited/a1") == 0) {
            refused = true;
            assert_string_equal(s_get_str(v, "token"), "t-viewer");
            assert_int_equal(s_get_int(v, "status"), 403);
        }
        if (strcmp(action, "job.delete") == 0 && strcmp(object, "audited/a1") == 0)
            anonymous = true;
    }
    assert_true(created);
    assert_true(refused);
    assert_false(anonymous);
    json_decref(r);
    assert_int_equal(s_http("GET", "/api/v1/audit?limit=0", NULL, &r), 400);
    json_decref(r);
}

/* GET /api/v1/masters: the heartbeat rows (masters.c), leader first, a
 * silent one down; viewers may read it, nobody without a token. */
static void test_masters(void **state)
{
    char err[512];
    hg_masters_beat_t standby = {.name = "m-b",
                                 .api_url = "http://b:1",
                                 .endpoint = "tcp://b:2",
                                 .leading = false,
                                 .epoch = 7,
                                 .started_ms = 1000};
    hg_masters_beat_t leader = {.name = "m-z",
                                .api_url = "http://z:1",
                                .endpoint = "tcp://z:2",
                                .leading = true,
                                .epoch = 7,
                                .started_ms = 1000};
    assert_int_equal(hg_masters_beat(s_fx.conn, &standby, err, sizeof err), 0);
    assert_int_equal(hg_masters_beat(s_fx.conn, &leader, err, sizeof err), 0);
    assert_int_equal(mysql_query(s_fx.conn, "INSERT INTO masters (name, api_url, endpoint, role,"
                                            " epoch, started_at, beat_at) VALUES ('m-old', 'x',"
                                            " 'y', 'standby', NULL, NOW(3), NOW(3) - INTERVAL 1 "
                                            "MINUTE)"),
                     0);
    json_t *r;
    assert_int_equal(s_as(s_fx.viewer, "GET", "/api/v1/masters", NULL, &r), 200);
    json_t *ms = json_object_get(r, "masters");
    assert_int_equal(json_array_size(ms), 3);
    json_t *first = json_array_get(ms, 0), *b = json_array_get(ms, 1), *old = json_array_get(ms, 2);
    assert_string_equal(s_get_str(first, "name"), "m-z");
    assert_string_equal(s_get_str(first, "role"), "leader");
    assert_string_equal(s_get_str(first, "state"), "up");
    assert_int_equal(s_get_int(first, "epoch"), 7);
    assert_string_equal(s_get_str(b, "name"), "m-b");
    assert_string_equal(s_get_str(b, "role"), "standby");
    assert_string_equal(s_get_str(old, "state"), "down");
    assert_true(json_is_null(json_object_get(old, "epoch")));
    json_decref(r);
    assert_int_equal(s_as(NULL, "GET", "/api/v1/masters", NULL, NULL), 401);
    assert_int_equal(mysql_query(s_fx.conn, "DELETE FROM masters"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_create_returns_stored_job),
        cmocka_unit_test(test_create_duplicate_409),
        cmocka_unit_test(test_create_bad_field_400),
        cmocka_unit_test(test_bad_json_400),
        cmocka_unit_test(test_get_unknown_404),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_trigger),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_created_equals_stored),
        cmocka_unit_test(test_create_ids_by_name),
        cmocka_unit_test(test_parallel_clients),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_nodes),
        cmocka_unit_test(test_node_drain),
        cmocka_unit_test(test_routes_404_405),
        cmocka_unit_test(test_standby_refuses_writes),
        cmocka_unit_test(test_body_too_large_413),
        cmocka_unit_test(test_db_unreachable_503),
        cmocka_unit_test(test_reconnects_after_connection_loss),
        cmocka_unit_test(test_auth_missing_bad_revoked_401),
        cmocka_unit_test(test_refused_before_body),
        cmocka_unit_test(test_roles_403),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_scoped_token),
        cmocka_unit_test(test_tokens_api),
        cmocka_unit_test(test_worker_keys_api),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_masters),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
