/* hourglass-master: the control plane. Loads settings, migrates the schema,
 * binds the cluster actor (workers, placement, run records) and the REST
 * API as a standby, and takes part in the leader election (leader.h). When
 * it wins, it loads the active jobs and leads; if it ever loses the
 * leadership it exits with status 3 at once, so that a supervisor restarts
 * it as a standby. Runs until SIGINT or SIGTERM. */
#include "alerting.h"
#include "api.h"
#include "auth.h"
#include "cluster_internal.h"
#include "db.h"
#include "hg_config.h"
#include "hg_endpoint.h"
#include "hg_error.h"
#include "hg_keys.h"
#include "hg_log.h"
#include "hg_stop.h"
#include "hg_time.h"
#include "job.h"
#include "leader.h"
#include "metrics.h"
#include "job_complete.h"
#include "retention.h"
#include "plugins.h"
#include "zap.h"
#include "token_cmd.h"

#include <curl/curl.h>
#include <czmq.h>
#include <inttypes.h>
#include <unistd.h>

static const hg_cfg_def_t s_settings[] = {
    {"name", HG_CFG_STR, "", 0, 0, "master id shown to workers (default: host name)"},
    HG_ALERTING_CONFIG,
    {"bind", HG_CFG_STR, "tcp://127.0.0.1:8643", 0, 0, "ZeroMQ endpoint workers connect to"},
    {"api.bind", HG_CFG_STR, "127.0.0.1", 0, 0, "address the REST API listens on"},
    {"api.port", HG_CFG_INT, "8642", 1, 65535, "port of the REST API"},
    {"api.threads", HG_CFG_INT, "4", 1, 64,
     "threads serving the REST API, each with its own MySQL connection"},
    {"api.scan_budget", HG_CFG_DURATION, "200ms", 0, 10000,
     "wall time a filtered job page (kind, node, last_run) may walk the jobs before answering "
     "with what it found and where it stopped (partial); 0s: one window per page"},
    {"api.scan_window", HG_CFG_INT, "5000", 10, 100000,
     "jobs a filtered job page reads per statement while it walks"},
    {"mysql.host", HG_CFG_STR, "127.0.0.1", 0, 0, "MySQL host (empty to use mysql.socket)"},
    {"mysql.port", HG_CFG_INT, "3306", 1, 65535, "MySQL port"},
    {"mysql.socket", HG_CFG_STR, "", 0, 0, "MySQL unix socket path"},
    {"mysql.user", HG_CFG_STR, "hourglass", 0, 0, "MySQL user"},
    {"mysql.password", HG_CFG_STR, "", 0, 0,
     "MySQL password (visible in the process list: prefer mysql.password_file)"},
    {"mysql.password_file", HG_CFG_STR, "", 0, 0,
     "file holding the MySQL password, read at start; refused when group or others may read it"},
    {"mysql.ssl_ca", HG_CFG_STR, "", 0, 0, "CA certificate (PEM) for TLS to MySQL"},
    {"mysql.ssl_cert", HG_CFG_STR, "", 0, 0, "client certificate (PEM) for TLS to MySQL"},
    {"mysql.ssl_key", HG_CFG_STR, "", 0, 0, "private key of mysql.ssl_cert (PEM)"},
    {"mysql.ssl_verify", HG_CFG_BOOL, "false", 0, 0,
     "verify MySQL's certificate and host name against mysql.ssl_ca (any mysql.ssl_* setting "
     "makes TLS required)"},
    {"mysql.database", HG_CFG_STR, "hourglass", 0, 0, "MySQL database"},
    {"mysql.wait", HG_CFG_DURATION, "30s", 0, 3600000,
     "how long to wait for MySQL at start-up before giving up"},
    {"schema.dir", HG_CFG_STR, HG_SCHEMA_DIR, 0, 0, "directory of the NNN_*.sql migrations"},
    {"heartbeat", HG_CFG_DURATION, "500ms", 10, 60000, "worker heartbeat interval"},
    {"lease", HG_CFG_DURATION, "2s", 50, 600000, "lease a worker gets per echoed heartbeat"},
    {"lease.margin", HG_CFG_DURATION, "500ms", 0, 600000,
     "extra silence tolerated before a worker's jobs move"},
    {"nodes.forget_after", HG_CFG_DURATION, "24h", 1000, 31536000000LL,
     "a worker lost or left this long is removed from the node list and the nodes table (its "
     "runs stay; one an operator drained is kept)"},
    {"advertise", HG_CFG_STR, "", 0, 0,
     "ZeroMQ endpoint workers should dial (default: bind, a wildcard host replaced by the host "
     "name)"},
    {"api.url", HG_CFG_STR, "", 0, 0,
     "REST API URL clients should use (default: http://api.bind:api.port, a wildcard host "
     "replaced by the host name)"},
    {"leader.interval", HG_CFG_DURATION, "500ms", 50, 60000,
     "standby: how often to try the leader lock; leader: how often to check it"},
    {"data.dir", HG_CFG_STR, "var/master", 0, 0,
     "master data directory, one per master: copies of uploaded plug-ins, the run-record spill "
     "file (relative to the working directory)"},
    {"plugin.max_size", HG_CFG_INT, "33554432", 1024, 1073741824,
     "largest plug-in upload accepted, in bytes (32 MiB)"},
    {"log.level", HG_CFG_STR, "info", 0, 0, "debug, info, warn or error"},
    {"store.buffer_max", HG_CFG_INT, "10000", 1, 100000000,
     "run records held in memory while MySQL is down before spilling to data.dir"},
    {"store.buffer_max_mb", HG_CFG_INT, "64", 1, 65536,
     "memory (MiB) those records may take before spilling to data.dir"},
    {"store.queue_max", HG_CFG_INT, "50000", 0, 100000000,
     "run records waiting for the store at most: from half of it start records are not written, "
     "at it finished records stay with the workers, which send them again (0: no limit)"},
    {"store.commit_gap", HG_CFG_DURATION, "10ms", 0, 1000,
     "a transaction of run records begins at least this long after the one before and writes "
     "what arrived meanwhile in one (fewer commits; acknowledgements wait as long); 0: at once"},
    {"store.start_write_after", HG_CFG_DURATION, "0ms", 0, 60000,
     "a run's 'running' row is written only if it has not finished this long after it started "
     "(the master tracks it in memory meanwhile; a lost worker's runs are written lost); 0 (the "
     "default): write every start at once. Not yet safe across a leader change: see "
     "docs/resilience.md"},
    {"keys.secret", HG_CFG_STR, "", 0, 0,
     "the master's secret CURVE certificate (default: <data.dir>/master.key_secret, created at "
     "first start; its public half, without _secret, is what workers pin in master.key)"},
    {"keys.workers", HG_CFG_STR, "", 0, 0,
     "directory of admitted worker public certificates, each naming its node (default: "
     "<data.dir>/workers; re-read on SIGHUP and when it changes)"},
    {"insecure.plaintext", HG_CFG_BOOL, "false", 0, 0,
     "tests only: no CURVE on the worker links; refused unless bind is a loopback endpoint"},
    {"metrics.job_series_max", HG_CFG_INT, "10000", 1, 10000000,
     "jobs with their own series in GET /metrics; the others add up under job=\"_other\""},
    {"metrics.public", HG_CFG_BOOL, "false", 0, 0,
     "serve GET /metrics without a token (a trusted network only); else a viewer token"},
    {"retention.runs", HG_CFG_DURATION, "720h", 0, INT64_C(315360000000),
     "age of the runs (and audit rows) the leader keeps; older ones are purged; 0 keeps all"},
    {"retention.namespaces", HG_CFG_STR, "", 0, 0,
     "per-namespace retention of runs overriding retention.runs: ns=duration[,ns=duration] "
     "(e.g. ci=168h,billing=8760h; 0 keeps all)"},
    {"retention.interval", HG_CFG_DURATION, "10m", 1000, 86400000,
     "how often the leader purges by the retention rule"},
    {"retention.batch", HG_CFG_INT, "2000", 100, 100000,
     "rows deleted per statement by a purge (each batch is followed by an equal pause, and waits "
     "while the store is behind)"},
};

/* How often the master re-reads the worker_keys table. */
#define S_WORKER_KEYS_REFRESH_MS 3000

/* Exit status of a master that lost the leadership and stepped down. */
#define S_EXIT_STEPPED_DOWN 3

static bool s_is_wildcard(const char *host)
{
    return !*host || streq(host, "*") || streq(host, "0.0.0.0") || streq(host, "::") ||
           streq(host, "[::]");
}

/* The endpoint workers dial: advertise, or bind with a wildcard host
 * (a "*" or 0.0.0.0 host) replaced by the host name. */
static void s_advertised_endpoint(const char *advertise, const char *bind, const char *host,
                                  char *out, size_t size)
{
    if (*advertise) {
        snprintf(out, size, "%s", advertise);
        return;
    }
    const char *scheme_end = strstr(bind, "://");
    const char *h = scheme_end ? scheme_end + 3 : bind;
    const char *colon = strrchr(h, ':');
    if (scheme_end && colon) {
        char bound[256];
        snprintf(bound, sizeof bound, "%.*s", (int) (colon - h), h);
        if (s_is_wildcard(bound)) {
            snprintf(out, size, "%.*s%s%s", (int) (h - bind), bind, host, colon);
            return;
        }
    }
    snprintf(out, size, "%s", bind);
}

/* runs_by_status rows the store could not bring in step: a run whose
 * RUN_STARTED one leader stored and whose end another received (or whose
 * "lost" was replaced by its worker's success) keeps a row that the
 * history contradicts. Listings re-check the status and never show them;
 * a new leader clears them, which costs a pass over that small table. */
static void s_tidy_runs_by_status(MYSQL *conn)
{
    if (mysql_query(conn, "DELETE s FROM runs_by_status s JOIN runs r ON r.run_id = s.run_id"
                          " WHERE r.status = 'success'") != 0) {
        hg_warn("cannot tidy runs_by_status: %s", mysql_error(conn));
        return;
    }
    my_ulonglong gone = mysql_affected_rows(conn);
    if (mysql_query(conn, "UPDATE runs_by_status s JOIN runs r ON r.run_id = s.run_id"
                          " SET s.status = r.status WHERE s.status <> r.status") != 0) {
        hg_warn("cannot tidy runs_by_status: %s", mysql_error(conn));
        return;
    }
    my_ulonglong changed = mysql_affected_rows(conn);
    if (gone || changed)
        hg_info("runs_by_status: %llu rows of runs that ended in success removed, %llu updated",
                (unsigned long long) gone, (unsigned long long) changed);
}

/* Load what a new leader needs: the active jobs; per job, the last
 * scheduled fire time recorded, so that the next owner of a job applies
 * the misfire policy to the right gap even after a failover; and the
 * stored plug-ins, so that jobs naming one without a hash resolve from
 * their first ASSIGN on. Waits up to wait_ms for MySQL. 0 or HG_E* with
 * the reason in err; on success the caller owns the three. */
static int s_load_startup(const hg_db_params_t *db, int64_t wait_ms, json_t **jobs,
                          json_t **last_fires, json_t **plugins, char *err, size_t err_size)
{
    MYSQL *conn = NULL;
    int64_t deadline = hg_mono_ms() + wait_ms;
    for (;;) {
        conn = hg_db_connect(db, err, err_size);
        if (conn || hg_mono_ms() >= deadline || zsys_interrupted) break;
        hg_warn("%s; retrying", err);
        sleep(1);
    }
    if (!conn) return HG_EUNAVAIL;
    /* The cluster actor reads the jobs itself, page by page: holding a
     * million jobs as one JSON array took gigabytes. */
    *jobs = NULL;
    int rc;
    *last_fires = json_object();
    if (mysql_query(conn, "SELECT job_id, CAST(ROUND(UNIX_TIMESTAMP(MAX(scheduled_at)) * 1000)"
                          " AS SIGNED) FROM runs WHERE trigger_reason IN ('schedule', 'misfire')"
                          " GROUP BY job_id") == 0) {
        MYSQL_RES *res = mysql_store_result(conn);
        MYSQL_ROW row;
        while (res && (row = mysql_fetch_row(res)))
            if (row[0] && row[1])
                json_object_set_new(*last_fires, row[0], json_integer(strtoll(row[1], NULL, 10)));
        if (res) mysql_free_result(res);
    } else {
        hg_warn("cannot read last fire times: %s", mysql_error(conn));
    }
    s_tidy_runs_by_status(conn);
    rc = hg_plugin_db_list(conn, NULL, plugins, err, err_size);
    hg_db_close(&conn);
    if (rc != 0) {
        json_decref(*jobs);
        json_decref(*last_fires);
        *jobs = *last_fires = NULL;
    }
    return rc;
}

static int s_serve(hg_config_t *cfg);
static int s_lead_and_serve(hg_config_t *cfg, const hg_db_params_t *dbp, const char *name,
                            const char *host, zcert_t *cert);

/* The worker links' security: the master's key pair and the ZAP handler
 * admitting worker keys, or, with insecure.plaintext on a loopback bind,
 * neither. 0, or 1 when the master must not start (logged). */
static int s_cluster_security(hg_config_t *cfg, const hg_db_params_t *db, zcert_t **cert,
                              zactor_t **zap)
{
    const char *data_dir = hg_config_str(cfg, "data.dir");
    const char *bind = hg_config_str(cfg, "bind");
    if (hg_config_bool(cfg, "insecure.plaintext")) {
        if (!hg_endpoint_is_loopback(bind)) {
            hg_error("insecure.plaintext is for tests on this machine only, and bind %s is not a "
                     "loopback endpoint (tcp://127.x.y.z, tcp://[::1], ipc://); refusing to start",
                     bind);
            return 1;
        }
        hg_warn("insecure.plaintext: worker links on %s are neither authenticated nor encrypted",
                bind);
        return 0;
    }
    char path[4096], err[1024] = "";
    if (*hg_config_str(cfg, "keys.secret"))
        snprintf(path, sizeof path, "%s", hg_config_str(cfg, "keys.secret"));
    else
        snprintf(path, sizeof path, "%s/master.key_secret", data_dir);
    bool created = false;
    *cert = hg_keys_load_or_create(path, NULL, &created, err, sizeof err);
    if (!*cert) {
        hg_error("keys.secret: %s", err);
        return 1;
    }
    char pub[4096], sec[4096];
    hg_keys_paths(path, pub, sizeof pub, sec, sizeof sec);
    hg_info("%s master key pair; workers pin its public certificate %s (key %s) in master.key",
            created ? "created a new" : "using the", pub, zcert_public_txt(*cert));
    static char workers_dir[4096]; /* read by the ZAP actor for the life of the process */
    if (*hg_config_str(cfg, "keys.workers"))
        snprintf(workers_dir, sizeof workers_dir, "%s", hg_config_str(cfg, "keys.workers"));
    else
        snprintf(workers_dir, sizeof workers_dir, "%s/workers", data_dir);
    zsys_dir_create("%s", workers_dir);
    hg_zap_watch_sighup();
    hg_zap_args_t zargs = {
        .keys_dir = workers_dir, .db = db, .refresh_ms = S_WORKER_KEYS_REFRESH_MS};
    *zap = hg_zap_new(&zargs);
    if (!*zap) {
        hg_error("cannot start the worker key check (ZAP handler)");
        zcert_destroy(cert);
        return 1;
    }
    return 0;
}

/* bind and advertise are ZeroMQ endpoints, api.url an HTTP URL: a value
 * of the other kind is refused at once with a message (hg_endpoint.h). */
static int s_check_shapes(const hg_config_t *cfg)
{
    char err[1024];
    const char *names[] = {"bind", "advertise"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = hg_config_str(cfg, names[i]);
        if (*v && hg_endpoint_check_zmq_list(v, names[i], err, sizeof err) != 0) {
            fprintf(stderr, "hourglass-master: %s\n", err);
            return HG_EINVAL;
        }
    }
    const char *url = hg_config_str(cfg, "api.url");
    if (*url && !hg_endpoint_is_http(url)) {
        fprintf(stderr, "hourglass-master: api.url: \"%s\" must start with http:// or https://\n",
                url);
        return HG_EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && streq(argv[1], "keygen"))
        return hg_keys_keygen_main("hourglass-master", argc - 1, argv + 1, false, "master.key");
    if (argc > 1 && streq(argv[1], "token"))
        return hg_token_cmd_main(argc, argv, s_settings, sizeof s_settings / sizeof s_settings[0]);
    zsys_init();
    hg_stop_signals_init(); /* SIGINT/SIGTERM set zsys_interrupted, once (hg_stop.h) */
    /* Actor pipes carry run batches; never let cluster and store block
     * each other on a full pipe. */
    zsys_set_pipehwm(0);
    hg_config_t *cfg = hg_config_new(s_settings, sizeof s_settings / sizeof s_settings[0]);
    char err[1024] = "";
    int rc = hg_config_load(cfg, "hourglass-master", argc, argv, err, sizeof err);
    if (rc == 1) {
        hg_config_destroy(&cfg);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "hourglass-master: %s\n", err);
        hg_config_destroy(&cfg);
        return 2;
    }
    int level = hg_log_level_parse(hg_config_str(cfg, "log.level"));
    if (level < 0) {
        fprintf(stderr,
                "hourglass-master: log.level: \"%s\" is not one of debug, info, warn, "
                "error\n",
                hg_config_str(cfg, "log.level"));
        hg_config_destroy(&cfg);
        return 2;
    }
    hg_log_init("master", (hg_log_level_t) level);
    if (s_check_shapes(cfg) != 0) {
        hg_config_destroy(&cfg);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); /* alert delivery; once, before any thread */
    int exit_code = s_serve(cfg);
    hg_config_destroy(&cfg);
    return exit_code;
}

/* Run the master with its settings until a signal or a lost leadership:
 * the process's exit code. Every way out leaves cfg to the caller. */
static int s_serve(hg_config_t *cfg)
{
    char err[1024] = "";
    int rc;
    char host[128] = "master";
    gethostname(host, sizeof host);
    const char *name = *hg_config_str(cfg, "name") ? hg_config_str(cfg, "name") : host;

    hg_db_params_t db;
    if (hg_db_params_from_config(cfg, &db, err, sizeof err) != 0) {
        hg_error("%s", err);
        return 1;
    }

    /* MySQL may still be starting (compose, systemd): wait a bounded time. */
    MYSQL *conn = NULL;
    int64_t deadline = hg_mono_ms() + hg_config_int(cfg, "mysql.wait");
    for (;;) {
        conn = hg_db_connect(&db, err, sizeof err);
        if (conn || hg_mono_ms() >= deadline) break;
        hg_warn("%s; retrying", err);
        sleep(1);
    }
    if (!conn) {
        hg_error("%s", err);
        return 1;
    }
    rc = hg_db_migrate(conn, hg_config_str(cfg, "schema.dir"), err, sizeof err);
    if (rc != 0) {
        hg_error("schema: %s", err);
        hg_db_close(&conn);
        return 1;
    }
    /* A new cluster's first admin token (docs/api.md, Authentication). */
    bool token_created = false;
    char token_path[4096];
    rc = hg_auth_bootstrap(conn, hg_config_str(cfg, "data.dir"), &token_created, token_path,
                           sizeof token_path, err, sizeof err);
    if (rc != 0) {
        hg_error("first admin token: %s", err);
        hg_db_close(&conn);
        return 1;
    }
    if (token_created)
        hg_info("no API token existed: created admin token \"%s\" in %s (mode 0600); use it "
                "with HOURGLASS_TOKEN or --token, and create your own (hourglass token create)",
                HG_AUTH_BOOTSTRAP_NAME, token_path);
    hg_db_close(&conn);

    zcert_t *cert = NULL;
    zactor_t *zap = NULL;
    if (s_cluster_security(cfg, &db, &cert, &zap) != 0) return 1;
    int exit_code = s_lead_and_serve(cfg, &db, name, host, cert);
    zactor_destroy(&zap);
    zcert_destroy(&cert);
    return exit_code;
}

/* The part of s_serve after the checks: cluster, API and leadership. */
static int s_lead_and_serve(hg_config_t *cfg, const hg_db_params_t *dbp, const char *name,
                            const char *host, zcert_t *cert)
{
    char err[1024] = "";
    int rc;
    hg_db_params_t db = *dbp;
    char spill_path[4096];
    snprintf(spill_path, sizeof spill_path, "%s/runs.spill", hg_config_str(cfg, "data.dir"));
    hg_metrics_t *metrics = hg_metrics_new((size_t) hg_config_int(cfg, "metrics.job_series_max"));
    if (!metrics) {
        hg_error("out of memory");
        return 1;
    }
    hg_retention_ns_t ns_rules[HG_RETENTION_NS_MAX];
    if (hg_retention_ns_parse(hg_config_str(cfg, "retention.namespaces"), ns_rules,
                              HG_RETENTION_NS_MAX, err, sizeof err) < 0) {
        hg_error("%s", err);
        hg_metrics_destroy(&metrics);
        return 1;
    }
    hg_store_opts_t store = {
        .metrics = metrics,
        .db = &db,
        .spill_path = spill_path,
        .buffer_max = (size_t) hg_config_int(cfg, "store.buffer_max"),
        .buffer_max_bytes = (size_t) hg_config_int(cfg, "store.buffer_max_mb") << 20,
        .queue_max = (size_t) hg_config_int(cfg, "store.queue_max"),
        .commit_gap_ms = hg_config_int(cfg, "store.commit_gap"),
        .start_write_after_ms = hg_config_int(cfg, "store.start_write_after"),
    };
    hg_cluster_args_t args = {
        .master_name = name,
        .bind = hg_config_str(cfg, "bind"),
        .heartbeat_ms = hg_config_int(cfg, "heartbeat"),
        .lease_ms = hg_config_int(cfg, "lease"),
        .margin_ms = hg_config_int(cfg, "lease.margin"),
        .forget_after_ms = hg_config_int(cfg, "nodes.forget_after"),
        .db = &db,
        .store = &store,
        .data_dir = hg_config_str(cfg, "data.dir"),
        .curve_cert = cert,
        .metrics = metrics,
    };
    zactor_t *cluster = hg_cluster_new(&args);
    if (!cluster || args.failed) {
        hg_error("cannot start the cluster loop on %s", args.bind);
        zactor_destroy(&cluster);
        hg_metrics_destroy(&metrics);
        return 1;
    }
    hg_api_opts_t api_opts = {
        .data_dir = hg_config_str(cfg, "data.dir"),
        .plugin_max_size = (size_t) hg_config_int(cfg, "plugin.max_size"),
        .threads = (int) hg_config_int(cfg, "api.threads"),
        .metrics = metrics,
        .metrics_public = hg_config_bool(cfg, "metrics.public"),
        .scan_budget_ms = hg_config_int(cfg, "api.scan_budget"),
        .scan_window = (int32_t) hg_config_int(cfg, "api.scan_window"),
        .purge_batch = (size_t) hg_config_int(cfg, "retention.batch"),
    };
    hg_api_t *api =
        hg_api_start(hg_config_str(cfg, "api.bind"), (int) hg_config_int(cfg, "api.port"), &db,
                     &api_opts, err, sizeof err);
    if (!api) {
        hg_error("REST API: %s", err);
        zactor_destroy(&cluster);
        hg_metrics_destroy(&metrics);
        return 1;
    }

    char endpoint[512], api_url[512];
    s_advertised_endpoint(hg_config_str(cfg, "advertise"), args.bind, host, endpoint,
                          sizeof endpoint);
    if (*hg_config_str(cfg, "api.url")) {
        snprintf(api_url, sizeof api_url, "%s", hg_config_str(cfg, "api.url"));
    } else {
        const char *api_host = hg_config_str(cfg, "api.bind");
        if (s_is_wildcard(api_host)) api_host = host;
        bool v6 = strchr(api_host, ':') && api_host[0] != '[';
        snprintf(api_url, sizeof api_url, "http://%s%s%s:%d", v6 ? "[" : "", api_host,
                 v6 ? "]" : "", hg_api_port(api));
    }
    hg_leader_args_t largs = {
        .db = &db,
        .master_name = name,
        .endpoint = endpoint,
        .api_url = api_url,
        .interval_ms = hg_config_int(cfg, "leader.interval"),
    };
    zactor_t *leader = hg_leader_new(&largs);
    if (!leader) {
        hg_error("cannot start the leader election");
        hg_api_stop(&api);
        zactor_destroy(&cluster);
        hg_metrics_destroy(&metrics);
        return 1;
    }
    hg_info("hourglass-master %s (%s) ready: API %s, workers %s (advertised %s)", HG_VERSION, name,
            api_url, args.bind, endpoint);

    hg_alert_opts_t alert_opts;
    char alert_link[600];
    hg_alerting_opts(cfg, &db, api_url, &alert_opts, alert_link, sizeof alert_link);
    hg_alerting_t *alerting = NULL;
    int exit_code = 0;
    zactor_t *retention = NULL; /* the leader's housekeeping (retention.h) */
    zactor_t *completer = NULL; /* remaining_runs used up -> completed (job_complete.h) */
    zpoller_t *poller = zpoller_new(leader, NULL);
    while (!zsys_interrupted && exit_code == 0) {
        if (!zpoller_wait(poller, 100)) continue;
        zmsg_t *m = zmsg_recv(leader);
        char *cmd = m ? zmsg_popstr(m) : NULL;
        if (cmd && streq(cmd, "LEADER")) {
            char *epoch = zmsg_popstr(m);
            json_t *jobs = NULL, *last_fires = NULL, *plugins = NULL;
            rc = s_load_startup(&db, hg_config_int(cfg, "mysql.wait"), &jobs, &last_fires, &plugins,
                                err, sizeof err);
            if (rc == 0) {
                hg_cluster_lead(cluster, epoch ? strtoull(epoch, NULL, 10) : 0, jobs, last_fires,
                                plugins);
                if (!alerting) alerting = hg_alerting_start(&alert_opts);
                hg_retention_args_t rargs = {
                    .db = &db,
                    .runs_ms = hg_config_int(cfg, "retention.runs"),
                    .namespaces = hg_config_str(cfg, "retention.namespaces"),
                    .interval_ms = hg_config_int(cfg, "retention.interval"),
                    .batch = (size_t) hg_config_int(cfg, "retention.batch"),
                    .metrics = metrics,
                };
                if (!retention) retention = hg_retention_new(&rargs);
                if (!retention) hg_error("retention: cannot start; old runs are not purged");
                if (!completer) completer = hg_job_complete_new(&db);
                if (!completer) hg_error("cannot start the sweep that stores completed jobs");
            } else {
                /* Exiting releases the lock for another master. */
                hg_error("leading: cannot load the jobs: %s", err);
                exit_code = 1;
            }
            zstr_free(&epoch);
        } else if (cmd && streq(cmd, "STANDBY")) {
            char *f[4];
            for (int i = 0; i < 4; i++)
                f[i] = zmsg_popstr(m);
            hg_cluster_follow(cluster, f[0], f[1], f[2], f[3]);
            for (int i = 0; i < 4; i++)
                zstr_free(&f[i]);
        } else if (cmd && streq(cmd, "LOST")) {
            char *why = zmsg_popstr(m);
            hg_error("stepping down (%s): exiting with status %d so that a supervisor restarts "
                     "this master as a standby",
                     why ? why : "?", S_EXIT_STEPPED_DOWN);
            zstr_free(&why);
            exit_code = S_EXIT_STEPPED_DOWN;
        }
        zstr_free(&cmd);
        zmsg_destroy(&m);
    }
    zpoller_destroy(&poller);
    hg_cluster_stopping(cluster); /* nothing is judged while the rest stops */
    hg_stop_signals_hold();       /* a repeated SIGTERM must not cut the waits below short */
    zactor_destroy(&retention);
    zactor_destroy(&completer);
    if (exit_code == 0) hg_info("shutting down");
    hg_alerting_stop(&alerting);
    if (exit_code == S_EXIT_STEPPED_DOWN) {
        /* A master that lost the leadership stops serving workers first. */
        zactor_destroy(&cluster);
        hg_api_stop(&api);
    } else {
        hg_api_stop(&api);
        zactor_destroy(&cluster);
    }
    zactor_destroy(&leader);
    hg_metrics_destroy(&metrics);
    return exit_code;
}
