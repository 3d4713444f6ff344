/* cmd_cluster: what the cluster did and who does it: `hourglass runs` (the
 * run history, newest first, paged by run id) and `hourglass node
 * list|drain|activate`. */
#include "cli.h"
#include "cmd_job_edit.h"
#include "hg_error.h"
#include "hg_time.h"
#include "table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_ERROR_CHARS 60 /* error column width: the full text is in -o json */

/* --since/--until: an RFC 3339 time, or a duration meaning "that long
 * ago" (1h, 30m). Written to buf as RFC 3339 UTC. */
int hg_cli_time_arg(const char *flag, const char *text, int64_t now_ms, char *buf, size_t size,
                    char *err, size_t err_size)
{
    int64_t ms;
    if (hg_time_parse_rfc3339(text, &ms) == 0) {
        hg_time_format_ms(ms, buf, size);
        return 0;
    }
    if (hg_duration_parse_ms(text, &ms) == 0) {
        hg_time_format_ms(now_ms - ms, buf, size);
        return 0;
    }
    snprintf(err, err_size,
             "--%s: \"%s\" is neither an RFC 3339 time (2026-11-21T10:00:00Z) nor a duration "
             "ago (1h, 30m)",
             flag, text);
    return HG_EINVAL;
}

static const hg_flag_t s_runs_flags[] = {
    {"job", "NAME", false, "only runs of this job"},
    {"namespace", "NS", false, "namespace of --job (default \"default\")"},
    {"status", "STATUS", false, "running, success, failed, timeout, crashed, lost or skipped"},
    {"since", "TIME", false, "runs scheduled at or after TIME (RFC 3339, or a duration ago: 1h)"},
    {"until", "TIME", false, "runs scheduled before TIME (same forms as --since)"},
    {"limit", "N", false, "at most N runs (default 50, max 1000)"},
    {"before", "RUN_ID", false, "next page: runs older than this run"},
    {"follow", NULL, false, "keep printing runs as they end, until Ctrl-C"},
};

static int s_runs_run(hg_cli_t *cli, const hg_args_t *args)
{
    char msg[512], since[40] = "", until[40] = "";
    const char *since_arg = hg_args_get(args, "since"), *until_arg = hg_args_get(args, "until");
    int64_t now_ms = hg_now_ms();
    if (hg_cli_check_count("limit", hg_args_get(args, "limit"), 1000, msg, sizeof msg) != 0 ||
        (since_arg &&
         hg_cli_time_arg("since", since_arg, now_ms, since, sizeof since, msg, sizeof msg) != 0) ||
        (until_arg &&
         hg_cli_time_arg("until", until_arg, now_ms, until, sizeof until, msg, sizeof msg) != 0))
        return hg_cli_usage_fail(cli, "%s", msg);
    hg_query_t q[] = {
        {"job", hg_args_get(args, "job")},       {"namespace", hg_args_get(args, "namespace")},
        {"status", hg_args_get(args, "status")}, {"since", since_arg ? since : NULL},
        {"until", until_arg ? until : NULL},     {"limit", hg_args_get(args, "limit")},
        {"before", hg_args_get(args, "before")}};
    if (hg_args_has(args, "follow")) return hg_cli_runs_follow(cli, q, sizeof q / sizeof q[0]);
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/runs", q, sizeof q / sizeof q[0], NULL, &doc);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
        json_decref(doc);
        return HG_EXIT_OK;
    }
    const json_t *runs = hg_view_array(doc, "runs");
    if (!runs) {
        json_decref(doc);
        return hg_cli_fail(cli, "unexpected answer from master: no \"runs\" list");
    }
    static const char *const headers[] = {"run_id", "job",  "node",     "scheduled",
                                          "status", "http", "duration", "error"};
    hg_table_t *table = hg_table_new(headers, 8);
    if (!table) {
        json_decref(doc);
        return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    }
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        char id[128], job[256], node[256], scheduled[64], status[64], http[32], duration[48],
            error[1024], error_cut[256];
        json_t *ms = json_is_object(run) ? json_object_get(run, "duration_ms") : NULL;
        if (json_is_integer(ms))
            snprintf(duration, sizeof duration, "%" JSON_INTEGER_FORMAT "ms",
                     json_integer_value(ms));
        else
            hg_view_text(run, "duration_ms", duration, sizeof duration);
        const char *err_text = hg_view_str(run, "error");
        if (err_text)
            hg_view_truncate(err_text, S_ERROR_CHARS, error_cut, sizeof error_cut);
        else
            hg_view_text(run, "error", error, sizeof error);
        const char *cells[] = {hg_view_text(run, "run_id", id, sizeof id),
                               hg_view_text(run, "job", job, sizeof job),
                               hg_view_text(run, "node", node, sizeof node),
                               hg_view_time(run, "scheduled_at", scheduled, sizeof scheduled),
                               hg_view_text(run, "status", status, sizeof status),
                               hg_view_text(run, "http_status", http, sizeof http),
                               duration,
                               err_text ? error_cut : error};
        hg_table_add_row(table, cells);
    }
    hg_table_print(table, cli->out);
    hg_table_destroy(&table);
    const char *next = hg_view_str(doc, "next");
    if (next) fprintf(cli->err, "(more runs: add --before %s)\n", next);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_runs = {
    .name = "runs",
    .pos_usage = "",
    .flags = s_runs_flags,
    .flags_n = sizeof s_runs_flags / sizeof s_runs_flags[0],
    .summary = "List runs, newest first",
    .needs_master = true,
    .run = s_runs_run,
};

static int s_node_list_run(hg_cli_t *cli, const hg_args_t *args)
{
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/nodes", NULL, 0, NULL, &doc);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
        json_decref(doc);
        return HG_EXIT_OK;
    }
    const json_t *nodes = hg_view_array(doc, "nodes");
    if (!nodes) {
        json_decref(doc);
        return hg_cli_fail(cli, "unexpected answer from master: no \"nodes\" list");
    }
    static const char *const headers[] = {"name",     "state",   "jobs",           "running",
                                          "capacity", "unacked", "last_heartbeat", "labels"};
    hg_table_t *table = hg_table_new(headers, 8);
    if (!table) {
        json_decref(doc);
        return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    }
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node)
    {
        char name[256], state[64], jobs[32], running[32], capacity[32], unacked[32], heartbeat[64],
            labels[1024];
        const char *cells[] = {hg_view_text(node, "name", name, sizeof name),
                               hg_view_text(node, "state", state, sizeof state),
                               hg_view_text(node, "jobs", jobs, sizeof jobs),
                               hg_view_text(node, "running", running, sizeof running),
                               hg_view_text(node, "capacity", capacity, sizeof capacity),
                               hg_view_text(node, "unacked", unacked, sizeof unacked),
                               hg_view_time(node, "last_heartbeat", heartbeat, sizeof heartbeat),
                               hg_view_pairs(node, "labels", ",", labels, sizeof labels)};
        hg_table_add_row(table, cells);
    }
    hg_table_print(table, cli->out);
    hg_table_destroy(&table);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_node_list = {
    .group = "node",
    .name = "list",
    .pos_usage = "",
    .summary = "List worker nodes",
    .needs_master = true,
    .run = s_node_list_run,
};

/* `hourglass masters`: the leader and its standbys (GET /api/v1/masters),
 * which any master answers. */
static int s_masters_run(hg_cli_t *cli, const hg_args_t *args)
{
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/masters", NULL, 0, NULL, &doc);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
        json_decref(doc);
        return HG_EXIT_OK;
    }
    const json_t *masters = hg_view_array(doc, "masters");
    static const char *const headers[] = {"name",  "role",    "state",
                                          "epoch", "api_url", "last_heartbeat"};
    hg_table_t *table = masters ? hg_table_new(headers, 6) : NULL;
    if (!table) {
        json_decref(doc);
        return masters ? hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM))
                       : hg_cli_fail(cli, "unexpected answer from master: no \"masters\" list");
    }
    size_t i;
    json_t *m;
    json_array_foreach(masters, i, m)
    {
        char name[256], role[32], state[32], epoch[32], api[512], beat[64];
        const char *cells[] = {hg_view_text(m, "name", name, sizeof name),
                               hg_view_text(m, "role", role, sizeof role),
                               hg_view_text(m, "state", state, sizeof state),
                               hg_view_text(m, "epoch", epoch, sizeof epoch),
                               hg_view_text(m, "api_url", api, sizeof api),
                               hg_view_time(m, "last_heartbeat", beat, sizeof beat)};
        hg_table_add_row(table, cells);
    }
    hg_table_print(table, cli->out);
    hg_table_destroy(&table);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_masters = {
    .name = "masters",
    .pos_usage = "",
    .summary = "List the masters: the leader and its standbys, with their epoch",
    .needs_master = true,
    .run = s_masters_run,
};

/* Jobs the node holds according to GET /api/v1/nodes; -1 when it is not
 * listed or the master did not answer (the error is printed). */
static long s_node_jobs(hg_cli_t *cli, const char *name)
{
    json_t *doc = NULL;
    if (hg_cli_call(cli, "GET", "/api/v1/nodes", NULL, 0, NULL, &doc) != 0) return -1;
    long jobs = -1;
    size_t i;
    json_t *node;
    const json_t *nodes = hg_view_array(doc, "nodes");
    json_array_foreach(nodes, i, node)
    {
        const char *n = hg_view_str(node, "name");
        json_t *j = json_object_get(node, "jobs");
        if (n && strcmp(n, name) == 0 && json_is_integer(j)) jobs = (long) json_integer_value(j);
    }
    json_decref(doc);
    return jobs;
}

static const hg_flag_t s_drain_flags[] = {
    {"wait", NULL, false, "wait until the node holds no jobs"},
    {"timeout", "DURATION", false, "how long --wait waits (default 60s)"},
};

static int s_node_set(hg_cli_t *cli, const hg_args_t *args, bool drain)
{
    const char *name = args->pos[0];
    int64_t timeout_ms = 60000;
    const char *timeout = drain ? hg_args_get(args, "timeout") : NULL;
    if (timeout && (hg_duration_parse_ms(timeout, &timeout_ms) != 0 || timeout_ms < 1))
        return hg_cli_usage_fail(cli, "--timeout: \"%s\" is not a duration (e.g. 30s, 2m)",
                                 timeout);
    char *escaped = hg_client_escape(cli->client, name);
    if (!escaped) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/nodes/%s/%s", escaped, drain ? "drain" : "activate");
    free(escaped);
    json_t *node = NULL;
    int rc = hg_cli_call(cli, "POST", path, NULL, 0, NULL, &node);
    if (rc != 0) return rc;
    if (drain && hg_args_has(args, "wait")) {
        /* Bounded: poll the node list until the handover is done. */
        int64_t deadline = hg_mono_ms() + timeout_ms;
        long jobs;
        while ((jobs = s_node_jobs(cli, name)) != 0) {
            if (jobs < 0) {
                json_decref(node);
                return HG_EXIT_FAIL;
            }
            if (hg_mono_ms() >= deadline) {
                json_decref(node);
                return hg_cli_fail(cli,
                                   "node %s still holds %ld jobs after %s (no other node may "
                                   "take them?); it stays draining",
                                   name, jobs, timeout ? timeout : "60s");
            }
            struct timespec pause = {0, 200 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        json_object_set_new(node, "jobs", json_integer(0));
    }
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, node);
    } else {
        char state[64], jobs[32];
        hg_view_text(node, "state", state, sizeof state);
        hg_view_text(node, "jobs", jobs, sizeof jobs);
        if (drain)
            fprintf(cli->out, "node %s is %s; jobs still held: %s\n", name, state, jobs);
        else
            fprintf(cli->out, "node %s is %s\n", name, state);
    }
    json_decref(node);
    return HG_EXIT_OK;
}

static int s_node_drain_run(hg_cli_t *cli, const hg_args_t *args)
{
    return s_node_set(cli, args, true);
}

static int s_node_activate_run(hg_cli_t *cli, const hg_args_t *args)
{
    return s_node_set(cli, args, false);
}

const hg_command_t hg_cmd_node_drain = {
    .group = "node",
    .name = "drain",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_drain_flags,
    .flags_n = sizeof s_drain_flags / sizeof s_drain_flags[0],
    .summary = "Move a node's jobs to other nodes and place nothing new on it",
    .needs_master = true,
    .run = s_node_drain_run,
};

const hg_command_t hg_cmd_node_activate = {
    .group = "node",
    .name = "activate",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .summary = "Let a drained node take jobs again",
    .needs_master = true,
    .run = s_node_activate_run,
};
