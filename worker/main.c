/* hourglass-worker: the data plane. Reads its settings and runs the agent
 * until SIGINT or SIGTERM. */
#include "agent.h"
#include "hg_config.h"
#include "hg_endpoint.h"
#include "hg_keys.h"
#include "hg_log.h"
#include "hg_stop.h"
#include "worker_metrics.h"

#include <czmq.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const hg_cfg_def_t s_settings[] = {
    {"name", HG_CFG_STR, "", 0, 0, "node name, unique in the cluster (default: host name)"},
    {"master", HG_CFG_STR, "tcp://127.0.0.1:8643", 0, 0,
     "deprecated: one master endpoint, used when master.endpoints is empty (the environment "
     "variable HOURGLASS_MASTER is the CLI's API URL, so the worker reads it only when it is a "
     "ZeroMQ endpoint)"},
    {"master.endpoints", HG_CFG_STR, "", 0, 0,
     "every master's ZeroMQ endpoint (tcp://HOST:PORT), comma-separated; the worker follows "
     "whichever leads"},
    {"labels", HG_CFG_STR, "", 0, 0, "labels as k=v,k2=v2 for job selectors"},
    {"metrics.bind", HG_CFG_STR, "", 0, 0,
     "serve this worker's Prometheus metrics at this ZeroMQ-style endpoint (e.g. "
     "tcp://127.0.0.1:9643), GET /metrics, no token: loopback or a trusted network only; empty: "
     "off"},
    {"capacity", HG_CFG_INT, "256", 1, 100000, "HTTP runs in flight at most"},
    {"http.queue", HG_CFG_INT, "5000", 1, 1000000,
     "HTTP runs that may wait for a free slot; more are recorded as skipped (overload)"},
    {"heartbeat", HG_CFG_DURATION, "500ms", 10, 60000,
     "heartbeat interval until the master sets it"},
    {"lease", HG_CFG_DURATION, "2s", 50, 600000, "lease length until the master sets it"},
    {"misfire.threshold", HG_CFG_DURATION, "1s", 0, 3600000,
     "a fire later than this is a misfire and follows the job's misfire policy"},
    {"max.unacked", HG_CFG_INT, "1000000", 1000, 100000000,
     "run records kept until the master acknowledges them"},
    {"report.backlog_max", HG_CFG_INT, "100000", 0, 100000000,
     "from this many run records waiting for the master, fires are skipped (one skipped "
     "record per job for all of them) until fewer than half wait; 0: never"},
    {"report.started_delay", HG_CFG_DURATION, "0ms", 0, 10000,
     "hold a run's start record this long and drop it if the run finished meanwhile (fewer "
     "records; a run younger than this dies unrecorded with a killed worker)"},
    {"leave.grace", HG_CFG_DURATION, "10s", 0, 3600000,
     "on SIGTERM, how long runs in flight may finish before the worker leaves"},
    {"log.level", HG_CFG_STR, "info", 0, 0, "debug, info, warn or error"},
    {"data.dir", HG_CFG_STR, "", 0, 0,
     "the worker's own files (default: var/<name> under the working directory)"},
    {"plugin.dir", HG_CFG_STR, "", 0, 0,
     "local plug-in directories, separated by ':', searched for <name>.so and hg_<name>.so"},
    {"plugin.allow", HG_CFG_STR, "noop,sql", 0, 0,
     "plug-ins this worker runs at all, by name, comma-separated (\"*\": any); shell is not in "
     "the default"},
    {"plugin.cache", HG_CFG_STR, "", 0, 0,
     "cache of plug-ins fetched from the master by hash (default: <data.dir>/plugins)"},
    {"plugin.host", HG_CFG_STR, "", 0, 0,
     "plug-in host program (default: hourglass-plugin-host next to this program)"},
    {"plugin.helpers", HG_CFG_INT, "2", 1, 256, "warm helper processes for process isolation"},
    {"plugin.threads", HG_CFG_INT, "4", 1, 256, "threads for thread isolation"},
    {"plugin.queue", HG_CFG_INT, "5000", 1, 1000000,
     "plug-in runs that may wait for a helper (and as many for a thread); more are recorded as "
     "skipped (overload)"},
    {"plugin.memory", HG_CFG_INT, "0", 0, 1048576,
     "address space limit of a helper in MiB (RLIMIT_AS), 0 = none"},
    {"plugin.cpu", HG_CFG_INT, "0", 0, 86400,
     "CPU seconds per run of a helper (RLIMIT_CPU), 0 = none"},
    {"plugin.files", HG_CFG_INT, "0", 0, 1048576,
     "open files of a helper (RLIMIT_NOFILE), 0 = inherited"},
    {"plugin.grace", HG_CFG_DURATION, "2s", 1, 600000,
     "from a run's deadline (cancellation) to killing its helper"},
    {"plugin.fetch.timeout", HG_CFG_DURATION, "30s", 100, 3600000,
     "a plug-in fetch from the master without progress this long fails its runs"},
    {"plugin.fetch.parked", HG_CFG_INT, "64", 1, 100000,
     "runs that may wait for one plug-in fetch; more fail at once"},
    {"key", HG_CFG_STR, "", 0, 0,
     "this worker's secret CURVE certificate (default: <data.dir>/worker.key_secret, created at "
     "first start for this node name; the master admits its public half)"},
    {"master.key", HG_CFG_STR, "", 0, 0,
     "the masters' public keys, comma-separated: certificate files or Z85 keys; one for every "
     "master, or one per master.endpoints entry (required unless insecure.plaintext)"},
    {"insecure.plaintext", HG_CFG_BOOL, "false", 0, 0,
     "tests only: no CURVE to the master; refused unless every master endpoint is loopback"},
};

/* Room for the pinned master keys. */
#define S_MASTER_KEYS_MAX 16

/* "a, b,c" -> a NULL-terminated array of trimmed, non-empty strings in
 * one allocation (free() once). Returns the count, -1 on allocation
 * failure. */
static int s_split_list(const char *text, char ***out)
{
    size_t len = strlen(text), n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    char **arr = malloc((n + 1) * sizeof *arr + len + 1);
    if (!arr) return -1;
    char *copy = (char *) (arr + n + 1);
    memcpy(copy, text, len + 1);
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t tl = strlen(tok);
        while (tl > 0 && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
            tok[--tl] = '\0';
        if (tl) arr[count++] = tok;
    }
    arr[count] = NULL;
    *out = arr;
    return count;
}

/* The master endpoints to dial: master.endpoints, else the deprecated
 * master. HOURGLASS_MASTER is the CLI's API URL: a shell set up for the
 * CLI must not send the worker to http://..., so an HTTP URL there is
 * ignored when master.endpoints is set and refused when it is not. NULL
 * (after a message) when a value has the wrong shape. */
static const char *s_master_list(const hg_config_t *cfg)
{
    char err[1024];
    const char *list = hg_config_str(cfg, "master.endpoints");
    if (*list) {
        if (hg_endpoint_check_zmq_list(list, "master.endpoints", err, sizeof err) != 0) {
            fprintf(stderr, "hourglass-worker: %s\n", err);
            return NULL;
        }
        return list;
    }
    list = hg_config_str(cfg, "master");
    const char *source = hg_config_source(cfg, "master");
    bool env = streq(source, "env");
    if (hg_endpoint_check_zmq_list(list, env ? "HOURGLASS_MASTER" : "master", err, sizeof err)) {
        fprintf(stderr, "hourglass-worker: %s%s\n", err,
                env ? "; set HOURGLASS_MASTER_ENDPOINTS (or --master-endpoints) for the worker"
                    : "");
        return NULL;
    }
    if (env || streq(source, "file"))
        hg_warn("%s is deprecated for the worker; use %s", env ? "HOURGLASS_MASTER" : "master",
                env ? "HOURGLASS_MASTER_ENDPOINTS" : "master.endpoints");
    return list;
}

/* "k=v,k2=v2" -> labels. Returns the count, -1 on a malformed entry. */
static int s_parse_labels(const char *text, hg_kv_t **out)
{
    *out = NULL;
    if (!text || !*text) return 0;
    char *copy = strdup(text);
    int n = 0;
    hg_kv_t *kv = calloc(strlen(text) / 2 + 1, sizeof *kv);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok) {
            free(copy);
            for (int i = 0; i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
            }
            free(kv);
            return -1;
        }
        *eq = '\0';
        kv[n].key = strdup(tok);
        kv[n].value = strdup(eq + 1);
        n++;
    }
    free(copy);
    *out = kv;
    return n;
}

/* The link to the masters: our key pair and the pinned master keys, or,
 * with insecure.plaintext and loopback masters only, neither. 0, or 2
 * (bad settings: the message is printed). */
static int s_link_security(hg_config_t *cfg, const char *name, const char *data_dir, char **masters,
                           int masters_n, zcert_t **cert,
                           char keys[S_MASTER_KEYS_MAX][HG_KEY_Z85_LEN + 1],
                           const char *key_ptrs[S_MASTER_KEYS_MAX], size_t *keys_n)
{
    *keys_n = 0;
    if (hg_config_bool(cfg, "insecure.plaintext")) {
        for (int i = 0; i < masters_n; i++)
            if (!hg_endpoint_is_loopback(masters[i])) {
                fprintf(stderr,
                        "hourglass-worker: insecure.plaintext is for tests on this machine only, "
                        "and master endpoint %s is not loopback; refusing to start\n",
                        masters[i]);
                return 2;
            }
        hg_warn("insecure.plaintext: the link to the master is neither authenticated nor "
                "encrypted");
        return 0;
    }
    char **specs = NULL;
    int n = s_split_list(hg_config_str(cfg, "master.key"), &specs);
    if (n <= 0) {
        free(specs);
        fprintf(stderr,
                "hourglass-worker: master.key is not set. A worker runs jobs only for a master "
                "whose key it knows: give the master's public certificate (the master logs its "
                "path at start, by default <its data.dir>/master.key) or its Z85 public key "
                "(--master-key or HOURGLASS_MASTER_KEY)\n");
        return 2;
    }
    char err[1024] = "";
    for (int i = 0; i < n; i++) {
        if (i >= S_MASTER_KEYS_MAX || hg_keys_parse_public(specs[i], keys[i], err, sizeof err)) {
            fprintf(stderr, "hourglass-worker: master.key: %s\n",
                    i >= S_MASTER_KEYS_MAX ? "too many keys" : err);
            free(specs);
            return 2;
        }
        key_ptrs[i] = keys[i];
    }
    free(specs);
    *keys_n = (size_t) n;
    char path[4096];
    if (*hg_config_str(cfg, "key"))
        snprintf(path, sizeof path, "%s", hg_config_str(cfg, "key"));
    else
        snprintf(path, sizeof path, "%s/worker.key_secret", data_dir);
    bool created = false;
    *cert = hg_keys_load_or_create(path, name, &created, err, sizeof err);
    if (!*cert) {
        fprintf(stderr, "hourglass-worker: key: %s\n", err);
        return 2;
    }
    const char *node = zcert_meta(*cert, "node");
    if (node && !streq(node, name))
        hg_warn("key %s was made for node %s, and this worker is %s: the master admits the key "
                "only as the node it is registered for",
                path, node, name);
    char pub[4096], sec[4096];
    hg_keys_paths(path, pub, sizeof pub, sec, sizeof sec);
    if (created)
        hg_info("created a key pair for node %s: the master admits it once %s is in its "
                "keys.workers directory (or the key %s in worker_keys)",
                name, pub, zcert_public_txt(*cert));
    else
        hg_info("using key %s (public key %s)", pub, zcert_public_txt(*cert));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && streq(argv[1], "keygen"))
        return hg_keys_keygen_main("hourglass-worker", argc - 1, argv + 1, true, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread */
    zsys_init();
    hg_stop_signals_init(); /* SIGINT/SIGTERM set zsys_interrupted, once (hg_stop.h) */
    /* Actor pipes carry one message per run each way; the default limit of
     * 1000 could let the agent and the executor block each other. */
    zsys_set_pipehwm(0);
    hg_config_t *cfg = hg_config_new(s_settings, sizeof s_settings / sizeof s_settings[0]);
    char err[1024] = "";
    int rc = hg_config_load(cfg, "hourglass-worker", argc, argv, err, sizeof err);
    if (rc == 1) {
        hg_config_destroy(&cfg);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "hourglass-worker: %s\n", err);
        hg_config_destroy(&cfg);
        return 2;
    }
    int level = hg_log_level_parse(hg_config_str(cfg, "log.level"));
    if (level < 0) {
        fprintf(stderr,
                "hourglass-worker: log.level: \"%s\" is not one of debug, info, warn, "
                "error\n",
                hg_config_str(cfg, "log.level"));
        hg_config_destroy(&cfg);
        return 2;
    }
    char host[128] = "worker";
    gethostname(host, sizeof host);
    const char *name = *hg_config_str(cfg, "name") ? hg_config_str(cfg, "name") : host;
    char component[64];
    snprintf(component, sizeof component, "worker %s", name);
    hg_log_init(component, (hg_log_level_t) level);

    hg_agent_config_t ac = {
        .name = name,
        .master = hg_config_str(cfg, "master"),
        .capacity = (uint32_t) hg_config_int(cfg, "capacity"),
        .http_queue = (uint32_t) hg_config_int(cfg, "http.queue"),
        .heartbeat_ms = hg_config_int(cfg, "heartbeat"),
        .lease_ms = hg_config_int(cfg, "lease"),
        .misfire_threshold_ms = hg_config_int(cfg, "misfire.threshold"),
        .max_unacked = (uint32_t) hg_config_int(cfg, "max.unacked"),
        .backlog_max = (uint32_t) hg_config_int(cfg, "report.backlog_max"),
        .leave_grace_ms = hg_config_int(cfg, "leave.grace"),
        .started_delay_ms = hg_config_int(cfg, "report.started_delay"),
    };
    const char *list = s_master_list(cfg);
    if (!list) { /* the reason is printed */
        hg_config_destroy(&cfg);
        return 2;
    }
    char **masters = NULL;
    int masters_n = s_split_list(list, &masters);
    if (masters_n <= 0) {
        fprintf(stderr, "hourglass-worker: %s: no master endpoint given\n",
                *hg_config_str(cfg, "master.endpoints") ? "master.endpoints" : "master");
        free(masters);
        hg_config_destroy(&cfg);
        return 2;
    }
    ac.masters = (const char *const *) masters;
    ac.masters_n = (size_t) masters_n;
    ac.master = masters[0];
    char data_dir[1024], cache_dir[1100];
    if (*hg_config_str(cfg, "data.dir"))
        snprintf(data_dir, sizeof data_dir, "%s", hg_config_str(cfg, "data.dir"));
    else
        snprintf(data_dir, sizeof data_dir, "var/%s", name);
    if (*hg_config_str(cfg, "plugin.cache"))
        snprintf(cache_dir, sizeof cache_dir, "%s", hg_config_str(cfg, "plugin.cache"));
    else
        snprintf(cache_dir, sizeof cache_dir, "%s/plugins", data_dir);
    ac.plugin = (hg_plugin_exec_config_t){
        .plugin_dir = *hg_config_str(cfg, "plugin.dir") ? hg_config_str(cfg, "plugin.dir") : NULL,
        .host_path = *hg_config_str(cfg, "plugin.host") ? hg_config_str(cfg, "plugin.host") : NULL,
        .helpers = (uint32_t) hg_config_int(cfg, "plugin.helpers"),
        .threads = (uint32_t) hg_config_int(cfg, "plugin.threads"),
        .as_mb = (uint32_t) hg_config_int(cfg, "plugin.memory"),
        .cpu_s = (uint32_t) hg_config_int(cfg, "plugin.cpu"),
        .nofile = (uint32_t) hg_config_int(cfg, "plugin.files"),
        .grace_ms = (uint32_t) hg_config_int(cfg, "plugin.grace"),
        .max_queued = (uint32_t) hg_config_int(cfg, "plugin.queue"),
    };
    ac.plugin_allow = hg_config_str(cfg, "plugin.allow");
    ac.plugin_cache = (hg_plugin_cache_config_t){
        .dir = cache_dir,
        .fetch_timeout_ms = (uint32_t) hg_config_int(cfg, "plugin.fetch.timeout"),
        .max_parked = (uint32_t) hg_config_int(cfg, "plugin.fetch.parked"),
    };
    zcert_t *cert = NULL;
    char keys[S_MASTER_KEYS_MAX][HG_KEY_Z85_LEN + 1];
    const char *key_ptrs[S_MASTER_KEYS_MAX];
    size_t keys_n = 0;
    rc = s_link_security(cfg, name, data_dir, masters, masters_n, &cert, keys, key_ptrs, &keys_n);
    if (rc != 0) {
        free(masters);
        hg_config_destroy(&cfg);
        return rc;
    }
    ac.cert = cert;
    ac.master_keys = key_ptrs;
    ac.master_keys_n = keys_n;
    int n = s_parse_labels(hg_config_str(cfg, "labels"), &ac.labels);
    if (n < 0) {
        fprintf(stderr, "hourglass-worker: labels: \"%s\" must be k=v pairs separated by commas\n",
                hg_config_str(cfg, "labels"));
        free(masters);
        zcert_destroy(&cert);
        hg_config_destroy(&cfg);
        return 2;
    }
    ac.labels_n = (size_t) n;
    hg_worker_metrics_t *metrics = NULL;
    if (*hg_config_str(cfg, "metrics.bind")) {
        char merr[512];
        metrics =
            hg_worker_metrics_new(hg_config_str(cfg, "metrics.bind"), name, merr, sizeof merr);
        if (!metrics) {
            fprintf(stderr, "hourglass-worker: %s\n", merr);
            rc = 2;
        }
    }
    ac.metrics = metrics;
    if (rc != 2) rc = hg_agent_run(&ac);
    hg_worker_metrics_destroy(&metrics);
    for (size_t i = 0; i < ac.labels_n; i++) {
        free(ac.labels[i].key);
        free(ac.labels[i].value);
    }
    free(ac.labels);
    free(masters);
    zcert_destroy(&cert);
    hg_config_destroy(&cfg);
    return rc == 0 ? 0 : 1;
}
