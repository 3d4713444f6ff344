/* cmd_job: `hourglass job create|list|get|resume|trigger` (delete and tree:
 * cmd_deps.c; edit, apply, pause, backfill: cmd_job_edit.c). */
#include "cli.h"
#include "cmd_run.h"
#include "cmd_job_edit.h"
#include "job_scan.h"
#include "cmd_route.h"
#include "hg_error.h"
#include "hg_time.h"
#include "table.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TIMEOUT_MAX_MS (24LL * 3600 * 1000) /* docs/api.md: timeout 1ms-24h */

/* Fail the build of a JSON body: message into err, return HG_EINVAL. */
#define S_INVALID(...) (snprintf(err, err_size, __VA_ARGS__), HG_EINVAL)

int hg_cli_split_kv(const char *flag, const char *text, char sep, char *key, size_t key_size,
                    const char **value, char *err, size_t err_size)
{
    const char *at = strchr(text, sep);
    const char *form = sep == ':' ? "'Name: value'" : "key=value";
    if (!at) return S_INVALID("--%s: \"%s\" is not of the form %s", flag, text, form);
    /* Trim blanks around the key, and before the value: "K: V" and "K:V"
     * are the same header. */
    const char *start = text, *end = at;
    while (start < end && isspace((unsigned char) *start))
        start++;
    while (end > start && isspace((unsigned char) end[-1]))
        end--;
    if (start == end)
        return S_INVALID("--%s: \"%s\" has an empty name (expected %s)", flag, text, form);
    for (const char *p = start; p < end; p++)
        if (isspace((unsigned char) *p))
            return S_INVALID("--%s: \"%.*s\" is not a valid name (no blanks allowed)", flag,
                             (int) (end - start), start);
    if ((size_t) (end - start) >= key_size)
        return S_INVALID("--%s: name longer than %zu characters", flag, key_size - 1);
    memcpy(key, start, (size_t) (end - start));
    key[end - start] = '\0';
    *value = at + 1;
    if (sep == ':')
        while (**value == ' ' || **value == '\t')
            (*value)++;
    return 0;
}

/* Add every "k<sep>v" occurrence of flag into a new object at parent[member]. */
static int s_add_pairs(json_t *parent, const char *member, const hg_args_t *args, const char *flag,
                       char sep, char *err, size_t err_size)
{
    size_t n = hg_args_count(args, flag);
    if (n == 0) return 0;
    json_t *map = json_object();
    if (!map || json_object_set_new(parent, member, map) != 0)
        return S_INVALID("%s", hg_strerror(HG_ENOMEM));
    for (size_t i = 0; i < n; i++) {
        char key[256];
        const char *value;
        int rc = hg_cli_split_kv(flag, hg_args_nth(args, flag, i), sep, key, sizeof key, &value,
                                 err, err_size);
        if (rc != 0) return rc;
        if (sep == ':') {
            /* Trailing blanks of a header value are never meant. */
            size_t len = strlen(value);
            while (len > 0 && isspace((unsigned char) value[len - 1]))
                len--;
            json_object_set_new(map, key, json_stringn(value, len));
        } else {
            json_object_set_new(map, key, json_string(value));
        }
    }
    return 0;
}

/* Set member to the flag's value when given. */
static void s_set_str(json_t *obj, const char *member, const hg_args_t *args, const char *flag)
{
    const char *value = hg_args_get(args, flag);
    if (value) json_object_set_new(obj, member, json_string(value));
}

int hg_job_spec_build(const hg_args_t *args, json_t **out, char *err, size_t err_size)
{
    *out = NULL;
    const char *name = args->pos_n > 0 ? args->pos[0] : NULL;
    const char *schedule = hg_args_get(args, "schedule");
    const char *url = hg_args_get(args, "http-url");
    const char *plugin = hg_args_get(args, "plugin");
    const char *plugin_sha = hg_args_get(args, "plugin-sha256");
    bool is_plugin = plugin || plugin_sha;
    if (!name || !*name) return S_INVALID("job create: missing NAME");
    if (!schedule && hg_args_count(args, "depends-on") == 0)
        return S_INVALID("--schedule is required (e.g. --schedule '@every 1m'), unless "
                         "--depends-on is given");
    if (url && is_plugin)
        return S_INVALID("--http-url and --plugin/--plugin-sha256 cannot be used together");
    if (!url && !is_plugin)
        return S_INVALID("--http-url or --plugin is required (the task to run)");
    static const char *const http_only[] = {"method", "header",        "body",
                                            "form",   "expect-status", "expect-body"};
    for (size_t i = 0; is_plugin && i < sizeof http_only / sizeof http_only[0]; i++)
        if (hg_args_count(args, http_only[i]) > 0)
            return S_INVALID("--%s applies to HTTP jobs only, not to --plugin", http_only[i]);
    if (!is_plugin && hg_args_has(args, "isolation"))
        return S_INVALID("--isolation applies to plug-in jobs only (give --plugin)");
    if (plugin && (!*plugin || *plugin == '@'))
        return S_INVALID("--plugin: \"%s\" has no name (expected NAME or NAME@VERSION)", plugin);

    const char *timeout = hg_args_get(args, "timeout");
    int64_t timeout_ms = 0;
    if (timeout && hg_duration_parse_ms(timeout, &timeout_ms) != 0)
        return S_INVALID("--timeout: \"%s\" is not a duration (e.g. 10s, 250ms, 1m30s)", timeout);
    if (timeout && (timeout_ms < 1 || timeout_ms > S_TIMEOUT_MAX_MS))
        return S_INVALID("--timeout: \"%s\" is out of range (1ms to 24h)", timeout);
    if (hg_args_has(args, "body") && hg_args_count(args, "form") > 0)
        return S_INVALID("--body and --form cannot be used together");

    json_t *job = json_object(), *http = json_object();
    if (!job || !http || json_object_set_new(job, "name", json_string(name)) != 0) {
        json_decref(job);
        json_decref(http);
        return S_INVALID("%s", hg_strerror(HG_ENOMEM));
    }
    json_t *expect = NULL;
    int rc = 0;
    s_set_str(job, "namespace", args, "namespace");
    json_object_set_new(job, "kind", json_string(is_plugin ? "plugin" : "http"));
    if (schedule) json_object_set_new(job, "schedule", json_string(schedule));
    if ((rc = hg_cli_deps_spec(args, job, err, err_size)) != 0) {
        json_decref(job);
        json_decref(http);
        return rc;
    }
    s_set_str(job, "timezone", args, "tz");
    s_set_str(job, "misfire", args, "misfire");
    s_set_str(job, "timeout", args, "timeout");
    if (hg_args_has(args, "paused")) json_object_set_new(job, "status", json_string("paused"));
    if (hg_args_has(args, "recover")) json_object_set_new(job, "recover", json_true());
    if (hg_cli_policy_flags(args, job, err, err_size) != 0) {
        json_decref(job);
        json_decref(http);
        return HG_EINVAL;
    }
    s_set_str(job, "jitter", args, "jitter");
    const char *remaining = hg_args_get(args, "remaining-runs");
    if (remaining) json_object_set_new(job, "remaining_runs", json_integer(atoll(remaining)));
    /* Names whose values the API shows as "***" (docs/api.md, Secrets). */
    static const char *const secret_flags[][2] = {{"secret-header", "secret_headers"},
                                                  {"secret-param", "secret_params"}};
    for (size_t k = 0; k < 2; k++) {
        size_t n = hg_args_count(args, secret_flags[k][0]);
        if (n == 0) continue;
        json_t *names = json_array();
        json_object_set_new(job, secret_flags[k][1], names);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(names, json_string(hg_args_nth(args, secret_flags[k][0], i)));
    }

    if (is_plugin) {
        json_decref(http);
        json_t *p = json_object();
        json_object_set_new(job, "plugin", p);
        if (plugin) {
            const char *at = strchr(plugin, '@');
            json_object_set_new(
                p, "name", at ? json_stringn(plugin, (size_t) (at - plugin)) : json_string(plugin));
            if (at) json_object_set_new(p, "version", json_string(at + 1));
        }
        if (plugin_sha) json_object_set_new(p, "sha256", json_string(plugin_sha));
        s_set_str(p, "isolation", args, "isolation");
        goto common;
    }
    json_object_set_new(job, "http", http);
    s_set_str(http, "method", args, "method");
    json_object_set_new(http, "url", json_string(url));
    if ((rc = s_add_pairs(http, "headers", args, "header", ':', err, err_size)) != 0) goto fail;
    s_set_str(http, "body", args, "body");
    if ((rc = s_add_pairs(http, "form", args, "form", '=', err, err_size)) != 0) goto fail;
    size_t n = hg_args_count(args, "expect-status");
    if (n > 0) {
        expect = json_array();
        json_object_set_new(http, "expect_status", expect);
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = hg_args_nth(args, "expect-status", i);
        char *end;
        errno = 0;
        long code = strtol(text, &end, 10);
        if (errno || end == text || *end || code < 100 || code > 599) {
            rc = S_INVALID("--expect-status: \"%s\" is not an HTTP status (100-599)", text);
            goto fail;
        }
        json_array_append_new(expect, json_integer(code));
    }
    s_set_str(http, "expect_body", args, "expect-body");

common:
    if ((rc = s_add_pairs(job, "params", args, "param", '=', err, err_size)) != 0) goto fail;
    n = hg_args_count(args, "node");
    if (n > 0) {
        json_t *nodes = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(nodes, json_string(hg_args_nth(args, "node", i)));
        json_object_set_new(job, "executor", json_pack("{s:o}", "nodes", nodes));
    }
    if ((rc = hg_cli_route_apply(args, job, err, err_size)) != 0) goto fail;
    *out = job;
    return 0;

fail:
    json_decref(job);
    return rc;
}

/* The job's detail view for people: one "LABEL: value" line per field. */
static void s_print_job(hg_cli_t *cli, const json_t *job)
{
    const json_t *http = json_is_object(job) ? json_object_get(job, "http") : NULL;
    const json_t *executor = json_is_object(job) ? json_object_get(job, "executor") : NULL;
    char buf[4096];
    /* Each value is printed before buf is reused for the next. */
#define S_ROW(label, expr) fprintf(cli->out, "%-14s %s\n", label ":", expr)
    S_ROW("Name", hg_view_text(job, "name", buf, sizeof buf));
    S_ROW("Namespace", hg_view_text(job, "namespace", buf, sizeof buf));
    S_ROW("Status", hg_view_text(job, "status", buf, sizeof buf));
    S_ROW("Kind", hg_view_text(job, "kind", buf, sizeof buf));
    S_ROW("Schedule", hg_view_text(job, "schedule", buf, sizeof buf));
    S_ROW("Timezone", hg_view_text(job, "timezone", buf, sizeof buf));
    S_ROW("Misfire", hg_view_text(job, "misfire", buf, sizeof buf));
    S_ROW("Timeout", hg_view_text(job, "timeout", buf, sizeof buf));
    S_ROW("Recover", hg_view_text(job, "recover", buf, sizeof buf));
    hg_cli_policy_rows(cli->out, job); /* cmd_run.c: Retry, Overlap */
    S_ROW("Start at", hg_view_time(job, "start_at", buf, sizeof buf));
    S_ROW("End at", hg_view_time(job, "end_at", buf, sizeof buf));
    S_ROW("Node", hg_view_text(job, "node", buf, sizeof buf));
    S_ROW("Pinned to", hg_view_list(executor, "nodes", buf, sizeof buf));
    hg_cli_route_print(cli, job);
    const json_t *plugin = json_is_object(job) ? json_object_get(job, "plugin") : NULL;
    if (json_is_object(plugin)) {
        S_ROW("Plug-in", hg_view_text(plugin, "name", buf, sizeof buf));
        S_ROW("Version", hg_view_text(plugin, "version", buf, sizeof buf));
        S_ROW("SHA-256", hg_view_text(plugin, "sha256", buf, sizeof buf));
        S_ROW("Isolation", hg_view_text(plugin, "isolation", buf, sizeof buf));
    } else {
        S_ROW("Method", hg_view_text(http, "method", buf, sizeof buf));
        S_ROW("URL", hg_view_text(http, "url", buf, sizeof buf));
        S_ROW("Headers", hg_view_pairs(http, "headers", ", ", buf, sizeof buf));
        S_ROW("Body", hg_view_text(http, "body", buf, sizeof buf));
        S_ROW("Form", hg_view_pairs(http, "form", ",", buf, sizeof buf));
        S_ROW("Expect status", hg_view_list(http, "expect_status", buf, sizeof buf));
        S_ROW("Expect body", hg_view_text(http, "expect_body", buf, sizeof buf));
    }
    S_ROW("Params", hg_view_pairs(job, "params", ",", buf, sizeof buf));
    if (json_array_size(json_object_get(job, "depends_on")) > 0)
        S_ROW("Depends on", hg_cli_deps_view(job, buf, sizeof buf));
    S_ROW("Job version", hg_view_text(job, "version", buf, sizeof buf));
    S_ROW("Created", hg_view_time(job, "created_at", buf, sizeof buf));
    S_ROW("Updated", hg_view_time(job, "updated_at", buf, sizeof buf));
#undef S_ROW
    hg_cli_job_print_control(cli, job);
}

static const hg_flag_t s_create_flags[] = {
    {"schedule", "EXPR", false, "when to run: cron with seconds, @every 1m, ... (required)"},
    {"http-url", "URL", false, "URL to call (an HTTP job)"},
    {"plugin", "NAME[@VERSION]", false, "plug-in to run (a plug-in job)"},
    {"plugin-sha256", "HEX", false, "plug-in by content hash (fetched from the master)"},
    {"isolation", "MODE", false, "plug-in isolation: process (default) or thread"},
    {"method", "METHOD", false, "HTTP method (default GET)"},
    {"header", "'NAME: VALUE'", true, "request header"},
    {"body", "DATA", false, "raw request body"},
    {"form", "KEY=VALUE", true, "form field (not with --body)"},
    {"expect-status", "CODE", true, "HTTP status that counts as success (default any 2xx)"},
    {"expect-body", "TEXT", false, "text the response body must contain"},
    {"timeout", "DURATION", false, "per-run time limit, e.g. 10s (default 30s)"},
    {"tz", "ZONE", false, "IANA time zone of the schedule (default UTC)"},
    {"misfire", "POLICY", false, "fire_once (default), skip or fire_all"},
    {"node", "NAME", true, "pin the job to this worker"},
    HG_CLI_ROUTE_FLAGS,
    {"param", "KEY=VALUE", true, "job parameter"},
    {"namespace", "NS", false, "namespace (default \"default\")"},
    {"paused", NULL, false, "create the job paused"},
    {"recover", NULL, false, "re-run once a run lost with its worker (on the next worker)"},
    {"secret-header", "NAME", true, "header whose value the API hides (besides Authorization...)"},
    {"secret-param", "KEY", true, "parameter whose value the API hides (besides *password*...)"},
    {"depends-on", "JOB[:ON]", true, "run after JOB ends (ON: success, failure, always)"},
    {"trigger-rule", "RULE", false, "all (default: every parent) or any (each parent run)"},
    HG_CLI_POLICY_FLAGS, /* cmd_run.h: --retry-*, --overlap, --max-concurrent, --queue-max */
    {"jitter", "DURATION", false, "random delay up to DURATION per fire, never early (max 1h)"},
    {"remaining-runs", "N", false, "fire the next N scheduled times, then complete"},
};

static int s_create_run(hg_cli_t *cli, const hg_args_t *args)
{
    char msg[512];
    json_t *spec = NULL, *job = NULL;
    if (hg_job_spec_build(args, &spec, msg, sizeof msg) != 0)
        return hg_cli_usage_fail(cli, "%s", msg);
    int rc = hg_cli_call(cli, "POST", "/api/v1/jobs", NULL, 0, spec, &job);
    json_decref(spec);
    if (rc != 0) return rc;
    const char *name = args->pos[0];
    const char *status = hg_view_str(job, "status");
    if (hg_args_has(args, "paused") && (!status || strcmp(status, "paused") != 0)) {
        /* A master that ignores "status" on create still gets the job paused. */
        char *path = hg_cli_job_path(cli, name, "/pause");
        hg_query_t q[] = {{"namespace", hg_args_get(args, "namespace")}};
        json_t *paused = NULL;
        rc = path ? hg_cli_call(cli, "POST", path, q, 1, NULL, &paused)
                  : hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
        free(path);
        if (rc != 0) {
            json_decref(job);
            return rc;
        }
        json_decref(job);
        job = paused;
    }
    if (cli->output == HG_OUTPUT_JSON)
        hg_cli_print_json(cli, job);
    else
        fprintf(cli->out, "created job %s%s\n", name,
                hg_args_has(args, "paused") ? " (paused)" : "");
    json_decref(job);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_job_create = {
    .group = "job",
    .name = "create",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_create_flags,
    .flags_n = sizeof s_create_flags / sizeof s_create_flags[0],
    .summary = "Create a job (an HTTP call or a plug-in run)",
    .needs_master = true,
    .run = s_create_run,
};

static const hg_flag_t s_list_flags[] = {
    {"namespace", "NS", false, "only jobs of this namespace"},
    {"status", "STATUS", false, "only jobs with this status (active, paused)"},
    {"limit", "N", false, "at most N jobs (default 100, max 1000)"},
    {"offset", "N", false, "skip the first N jobs"},
    HG_JOB_SCAN_FLAGS /* job_scan.h: filters paged by cursor */
};

/* The status column: a paused job's note goes with it. */
static const char *s_status_cell(const json_t *job, char *buf, size_t size)
{
    const char *note = hg_view_str(job, "pause_note");
    hg_view_text(job, "status", buf, size);
    if (note) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, " (%s)", note);
    }
    return buf;
}

/* The jobs asked for: a keyset walk with the filters of job_scan.h, else
 * a page by offset. 0 and *doc, or an exit code with the message printed. */
static int s_list_fetch(hg_cli_t *cli, const hg_args_t *args, json_t **doc)
{
    if (hg_job_scan_wanted(args)) return hg_job_scan_fetch(cli, args, doc);
    char msg[512];
    const char *offset = hg_args_get(args, "offset");
    if (hg_cli_check_count("limit", hg_args_get(args, "limit"), 1000, msg, sizeof msg) != 0 ||
        (offset && strcmp(offset, "0") != 0 &&
         hg_cli_check_count("offset", offset, 1000000000L, msg, sizeof msg) != 0))
        return hg_cli_usage_fail(cli, "%s", msg);
    hg_query_t q[] = {{"namespace", hg_args_get(args, "namespace")},
                      {"status", hg_args_get(args, "status")},
                      {"limit", hg_args_get(args, "limit")},
                      {"offset", offset}};
    return hg_cli_call(cli, "GET", "/api/v1/jobs", q, sizeof q / sizeof q[0], NULL, doc);
}

static int s_list_run(hg_cli_t *cli, const hg_args_t *args)
{
    json_t *doc = NULL;
    int rc = s_list_fetch(cli, args, &doc);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
        json_decref(doc);
        return HG_EXIT_OK;
    }
    const json_t *jobs = hg_view_array(doc, "jobs");
    if (!jobs) {
        json_decref(doc);
        return hg_cli_fail(cli, "unexpected answer from master: no \"jobs\" list");
    }
    static const char *const headers[] = {"name", "schedule", "status", "node", "kind", "target"};
    hg_table_t *table = hg_table_new(headers, 6);
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        char name[256], schedule[256], status[600], node[256], kind[64], url[2100];
        const json_t *http = json_is_object(job) ? json_object_get(job, "http") : NULL;
        const json_t *plugin = json_is_object(job) ? json_object_get(job, "plugin") : NULL;
        const char *target = hg_view_text(http, "url", url, sizeof url);
        if (json_is_object(plugin)) {
            const char *pname = hg_view_str(plugin, "name");
            const char *pver = hg_view_str(plugin, "version");
            const char *psha = hg_view_str(plugin, "sha256");
            if (pname)
                snprintf(url, sizeof url, "plugin:%s%s%s", pname, pver ? "@" : "",
                         pver ? pver : "");
            else
                snprintf(url, sizeof url, "plugin:sha256:%.12s", psha ? psha : "?");
            target = url;
        }
        const char *cells[] = {hg_view_text(job, "name", name, sizeof name),
                               hg_view_text(job, "schedule", schedule, sizeof schedule),
                               s_status_cell(job, status, sizeof status),
                               hg_view_text(job, "node", node, sizeof node),
                               hg_view_text(job, "kind", kind, sizeof kind),
                               target};
        if (table) hg_table_add_row(table, cells);
    }
    if (!table) {
        json_decref(doc);
        return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    }
    hg_table_print(table, cli->out);
    json_t *total = json_object_get(doc, "total");
    if (json_is_integer(total) && (size_t) json_integer_value(total) > hg_table_rows(table))
        fprintf(cli->err, "(%zu of %" JSON_INTEGER_FORMAT " jobs shown; see --limit, --offset)\n",
                hg_table_rows(table), json_integer_value(total));
    hg_job_scan_note(cli, doc);
    hg_table_destroy(&table);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_job_list = {
    .group = "job",
    .name = "list",
    .pos_usage = "",
    .flags = s_list_flags,
    .flags_n = sizeof s_list_flags / sizeof s_list_flags[0],
    .summary = "List jobs",
    .needs_master = true,
    .run = s_list_run,
};

static const hg_flag_t s_ns_flags[] = {
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
};

static const hg_flag_t s_get_flags[] = {
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
    {"reveal", NULL, false, "show secret headers and parameters in clear (admin token)"},
};

/* get, delete, pause, resume: one call on the job, then a view of it. */
static int s_job_call(hg_cli_t *cli, const hg_args_t *args, const char *method, const char *suffix,
                      const char *done_verb)
{
    const char *name = args->pos[0];
    char *path = hg_cli_job_path(cli, name, suffix);
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    bool reveal = args->flags == s_get_flags && hg_args_has(args, "reveal");
    hg_query_t q[] = {{"namespace", hg_args_get(args, "namespace")},
                      {"reveal", reveal ? "true" : NULL}};
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, method, path, q, 2, NULL, &doc);
    free(path);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON)
        hg_cli_print_json(cli, doc);
    else if (done_verb)
        fprintf(cli->out, "%s job %s\n", done_verb, name);
    else
        s_print_job(cli, doc);
    json_decref(doc);
    return HG_EXIT_OK;
}

static int s_get_run(hg_cli_t *cli, const hg_args_t *args)
{
    return s_job_call(cli, args, "GET", "", NULL);
}
static int s_resume_run(hg_cli_t *cli, const hg_args_t *args)
{
    return s_job_call(cli, args, "POST", "/resume", "resumed");
}

#define S_NAME_COMMAND(var, cmd_name, summary_text, fn)                                            \
    const hg_command_t var = {                                                                     \
        .group = "job",                                                                            \
        .name = cmd_name,                                                                          \
        .pos_usage = "NAME",                                                                       \
        .pos_min = 1,                                                                              \
        .pos_max = 1,                                                                              \
        .flags = s_ns_flags,                                                                       \
        .flags_n = 1,                                                                              \
        .summary = summary_text,                                                                   \
        .needs_master = true,                                                                      \
        .run = fn,                                                                                 \
    }

const hg_command_t hg_cmd_job_get = {
    .group = "job",
    .name = "get",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_get_flags,
    .flags_n = sizeof s_get_flags / sizeof s_get_flags[0],
    .summary = "Show a job (secrets as ***, unless --reveal by an admin)",
    .needs_master = true,
    .run = s_get_run,
};
S_NAME_COMMAND(hg_cmd_job_resume, "resume", "Resume a paused job", s_resume_run);

static const hg_flag_t s_trigger_flags[] = {
    {"param", "KEY=VALUE", true, "parameter for this run only"},
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
    {"force", NULL, false, "run even when the job's overlap policy would skip or queue it"},
};

static int s_trigger_run(hg_cli_t *cli, const hg_args_t *args)
{
    char msg[512];
    json_t *body = NULL, *doc = NULL;
    if (hg_args_count(args, "param") > 0 || hg_args_has(args, "force")) {
        body = json_object();
        if (body && hg_args_has(args, "force")) json_object_set_new(body, "force", json_true());
        if (!body) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
        if (s_add_pairs(body, "params", args, "param", '=', msg, sizeof msg) != 0) {
            json_decref(body);
            return hg_cli_usage_fail(cli, "%s", msg);
        }
    }
    const char *name = args->pos[0];
    char *path = hg_cli_job_path(cli, name, "/trigger");
    hg_query_t q[] = {{"namespace", hg_args_get(args, "namespace")}};
    int rc = path ? hg_cli_call(cli, "POST", path, q, 1, body, &doc)
                  : hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    free(path);
    json_decref(body);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        const char *node = hg_view_str(doc, "node");
        fprintf(cli->out, "triggered job %s%s%s\n", name, node ? " on " : "", node ? node : "");
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_job_trigger = {
    .group = "job",
    .name = "trigger",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_trigger_flags,
    .flags_n = sizeof s_trigger_flags / sizeof s_trigger_flags[0],
    .summary = "Run a job now, once",
    .needs_master = true,
    .run = s_trigger_run,
};
