/* cmd_job_edit: run control in the CLI (docs/jobs.md): `hourglass job
 * edit|apply|backfill|pause`, `hourglass run get`, `hourglass runs
 * --follow`, and the run-control lines of `job get`. */
#include "cli.h"
#include "cmd_job_edit.h"
#include "hg_error.h"
#include "hg_time.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_APPLY_MAX_BYTES (1 << 20) /* a job file larger than this is not a job */
#define S_FOLLOW_PAGE     "200"     /* runs asked for per poll */
#define S_FOLLOW_SEEN_MAX 4096      /* run ids remembered as printed */

#define S_INVALID(...) (snprintf(err, err_size, __VA_ARGS__), HG_EINVAL)

/* ---------------------------------------------------------------------------
 * job edit
 * ------------------------------------------------------------------------ */

static const hg_flag_t s_edit_flags[] = {
    {"schedule", "EXPR", false, "new schedule"},
    {"http-url", "URL", false, "new URL"},
    {"plugin", "NAME[@VERSION]", false, "new plug-in"},
    {"plugin-sha256", "HEX", false, "plug-in by content hash"},
    {"isolation", "MODE", false, "plug-in isolation: process or thread"},
    {"method", "METHOD", false, "HTTP method"},
    {"header", "'NAME: VALUE'", true, "set a request header (others stay)"},
    {"body", "DATA", false, "raw request body"},
    {"form", "KEY=VALUE", true, "set a form field (others stay)"},
    {"expect-status", "CODE", true, "HTTP status that counts as success (replaces the list)"},
    {"expect-body", "TEXT", false, "text the response body must contain"},
    {"timeout", "DURATION", false, "per-run time limit"},
    {"tz", "ZONE", false, "IANA time zone of the schedule"},
    {"misfire", "POLICY", false, "fire_once, skip or fire_all"},
    {"node", "NAME", true, "pin the job to this worker (replaces the list)"},
    {"param", "KEY=VALUE", true, "set a job parameter (others stay)"},
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
    {"paused", NULL, false, "pause the job"},
    {"recover", NULL, false, "re-run once a run lost with its worker"},
    {"secret-header", "NAME", true, "header whose value the API hides"},
    {"secret-param", "KEY", true, "parameter whose value the API hides"},
    {"jitter", "DURATION", false, "random delay up to DURATION per fire (0s: none)"},
    {"remaining-runs", "N", false, "fire N more times, then complete"},
};

/* Copy the create-form members that a flag set from full (the body `job
 * create` would send) into patch; only what was given. */
static void s_edit_copy(json_t *patch, json_t *full, const hg_args_t *args)
{
    static const struct {
        const char *flag, *member;
    } top[] = {{"schedule", "schedule"},
               {"tz", "timezone"},
               {"misfire", "misfire"},
               {"timeout", "timeout"},
               {"paused", "status"},
               {"recover", "recover"},
               {"param", "params"},
               {"node", "executor"},
               {"jitter", "jitter"},
               {"secret-header", "secret_headers"},
               {"secret-param", "secret_params"}};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (hg_args_has(args, top[i].flag))
            json_object_set(patch, top[i].member, json_object_get(full, top[i].member));
    static const struct {
        const char *flag, *member;
    } http[] = {{"http-url", "url"},
                {"method", "method"},
                {"header", "headers"},
                {"body", "body"},
                {"form", "form"},
                {"expect-status", "expect_status"},
                {"expect-body", "expect_body"}};
    json_t *fh = json_object_get(full, "http");
    for (size_t i = 0; json_is_object(fh) && i < sizeof http / sizeof http[0]; i++) {
        if (!hg_args_has(args, http[i].flag)) continue;
        json_t *ph = json_object_get(patch, "http");
        if (!ph) json_object_set_new(patch, "http", ph = json_object());
        json_object_set(ph, http[i].member, json_object_get(fh, http[i].member));
    }
    if (hg_args_has(args, "plugin") || hg_args_has(args, "plugin-sha256") ||
        hg_args_has(args, "isolation")) {
        json_object_set(patch, "plugin", json_object_get(full, "plugin"));
        json_object_set(patch, "kind", json_object_get(full, "kind"));
        if (hg_args_has(args, "plugin") || hg_args_has(args, "plugin-sha256"))
            json_object_set_new(patch, "http", json_null());
    }
}

int hg_job_edit_patch_build(const hg_args_t *args, json_t **out, char *err, size_t err_size)
{
    *out = NULL;
    if (args->given_n == 0 || (args->given_n == 1 && hg_args_has(args, "namespace")))
        return S_INVALID("job edit: nothing to change (give the flags of job create to change)");
    if (args->given_n > 256) return S_INVALID("job edit: too many flags");
    const char *rr = hg_args_get(args, "remaining-runs");
    long runs = 0;
    if (rr) {
        char *end;
        errno = 0;
        runs = strtol(rr, &end, 10);
        if (errno || end == rr || *end || runs < 0 || runs > 100000)
            return S_INVALID("--remaining-runs: \"%s\" is not a whole number from 0 to 100000 "
                             "(0 clears it)",
                             rr);
    }
    /* The create builder checks and shapes every flag, but needs a
     * schedule and a task, which an edit may leave as they are: give it
     * placeholders, then keep only what the flags set. */
    size_t flag_idx[260], sched_i = SIZE_MAX, url_i = SIZE_MAX, n = 0;
    const char *vals[260];
    for (size_t i = 0; i < args->given_n; i++, n++) {
        flag_idx[n] = args->given_flag[i];
        vals[n] = args->given_val[i];
    }
    for (size_t i = 0; i < args->flags_n; i++) {
        if (strcmp(args->flags[i].name, "schedule") == 0) sched_i = i;
        if (strcmp(args->flags[i].name, "http-url") == 0) url_i = i;
    }
    bool is_plugin = hg_args_has(args, "plugin") || hg_args_has(args, "plugin-sha256");
    if (!hg_args_has(args, "schedule") && sched_i != SIZE_MAX) {
        flag_idx[n] = sched_i;
        vals[n++] = "@every 1h";
    }
    if (!is_plugin && !hg_args_has(args, "http-url") && url_i != SIZE_MAX) {
        flag_idx[n] = url_i;
        vals[n++] = "http://placeholder/";
    }
    hg_args_t full_args = *args;
    full_args.given_flag = flag_idx;
    full_args.given_val = vals;
    full_args.given_n = n;
    json_t *full = NULL;
    int rc = hg_job_spec_build(&full_args, &full, err, err_size);
    if (rc != 0) return rc;
    json_t *patch = json_object();
    s_edit_copy(patch, full, args);
    json_decref(full);
    if (rr) json_object_set_new(patch, "remaining_runs", runs ? json_integer(runs) : json_null());
    *out = patch;
    return 0;
}

/* GET the job; *job gets it, or the exit code is returned. */
static int s_get_job(hg_cli_t *cli, const char *name, const char *ns, json_t **job, long *status)
{
    char *path = hg_cli_job_path(cli, name, "");
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    hg_query_t q[] = {{"namespace", ns}};
    char msg[1024];
    *status = 0;
    int rc = hg_client_call(cli->client, "GET", path, q, 1, NULL, job, status, msg, sizeof msg);
    free(path);
    if (rc != 0 && *status != 404) return hg_cli_fail(cli, "%s", msg);
    return rc != 0 ? HG_EXIT_FAIL : HG_EXIT_OK;
}

/* PATCH or PUT body to the job, based on version. */
static int s_send_edit(hg_cli_t *cli, const char *method, const char *name, const char *ns,
                       json_t *body, json_t **out)
{
    char *path = hg_cli_job_path(cli, name, "");
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    hg_query_t q[] = {{"namespace", ns}};
    int rc = hg_cli_call(cli, method, path, q, 1, body, out);
    free(path);
    return rc;
}

static int s_edit_run(hg_cli_t *cli, const hg_args_t *args)
{
    char msg[512];
    json_t *patch = NULL, *cur = NULL, *job = NULL;
    if (hg_job_edit_patch_build(args, &patch, msg, sizeof msg) != 0)
        return hg_cli_usage_fail(cli, "%s", msg);
    const char *name = args->pos[0], *ns = hg_args_get(args, "namespace");
    long status;
    int rc = s_get_job(cli, name, ns, &cur, &status);
    if (rc == HG_EXIT_OK) {
        json_object_set(patch, "version", json_object_get(cur, "version"));
        rc = s_send_edit(cli, "PATCH", name, ns, patch, &job);
    } else if (status == 404) {
        rc = hg_cli_fail(cli, "job \"%s\" not found", name);
    }
    if (rc == 0) {
        if (cli->output == HG_OUTPUT_JSON)
            hg_cli_print_json(cli, job);
        else
            fprintf(cli->out, "edited job %s (version %" JSON_INTEGER_FORMAT ")\n", name,
                    json_integer_value(json_object_get(job, "version")));
    }
    json_decref(patch);
    json_decref(cur);
    json_decref(job);
    return rc;
}

const hg_command_t hg_cmd_job_edit = {
    .group = "job",
    .name = "edit",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_edit_flags,
    .flags_n = sizeof s_edit_flags / sizeof s_edit_flags[0],
    .summary = "Change a job: only the fields given (the flags of job create)",
    .needs_master = true,
    .run = s_edit_run,
};

/* ---------------------------------------------------------------------------
 * job apply
 * ------------------------------------------------------------------------ */

static const hg_flag_t s_apply_flags[] = {
    {"file", "FILE", false, "job file: JSON, or YAML written in its JSON form (- for stdin)"},
};

/* The job in path (JSON; YAML 1.2 is a superset of JSON, so a YAML file
 * written in flow style is read too). NULL with the reason in err. */
static json_t *s_load_job_file(const char *path, char *err, size_t err_size)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "--file: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    json_error_t jerr;
    json_t *job = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    long size = ftell(f);
    if (f != stdin) fclose(f);
    if (size > S_APPLY_MAX_BYTES) {
        json_decref(job);
        snprintf(err, err_size, "--file: %s is larger than %d bytes", path, S_APPLY_MAX_BYTES);
        return NULL;
    }
    if (!job) {
        snprintf(err, err_size,
                 "--file: %s line %d: %s (a job file is JSON, or YAML in its JSON form)", path,
                 jerr.line, jerr.text);
        return NULL;
    }
    if (!json_is_object(job) || !json_is_string(json_object_get(job, "name"))) {
        json_decref(job);
        snprintf(err, err_size, "--file: %s must hold one job object with a \"name\"", path);
        return NULL;
    }
    return job;
}

static int s_apply_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *file = hg_args_get(args, "file");
    if (!file) return hg_cli_usage_fail(cli, "job apply: -f/--file FILE is required");
    char msg[1024];
    json_t *spec = s_load_job_file(file, msg, sizeof msg);
    if (!spec) return hg_cli_usage_fail(cli, "%s", msg);
    const char *name = json_string_value(json_object_get(spec, "name"));
    const char *ns = json_string_value(json_object_get(spec, "namespace"));
    json_t *cur = NULL, *job = NULL;
    long status;
    int rc = s_get_job(cli, name, ns, &cur, &status);
    const char *verb = "created";
    if (rc == HG_EXIT_OK) {
        json_int_t before = json_integer_value(json_object_get(cur, "version"));
        json_object_set(spec, "version", json_object_get(cur, "version"));
        rc = s_send_edit(cli, "PUT", name, ns, spec, &job);
        verb =
            json_integer_value(json_object_get(job, "version")) == before ? "unchanged" : "updated";
    } else if (status == 404) {
        rc = hg_cli_call(cli, "POST", "/api/v1/jobs", NULL, 0, spec, &job);
    }
    if (rc == 0) {
        if (cli->output == HG_OUTPUT_JSON)
            hg_cli_print_json(cli, job);
        else
            fprintf(cli->out, "%s job %s (version %" JSON_INTEGER_FORMAT ")\n", verb, name,
                    json_integer_value(json_object_get(job, "version")));
    }
    json_decref(spec);
    json_decref(cur);
    json_decref(job);
    return rc;
}

const hg_command_t hg_cmd_job_apply = {
    .group = "job",
    .name = "apply",
    .pos_usage = "",
    .flags = s_apply_flags,
    .flags_n = sizeof s_apply_flags / sizeof s_apply_flags[0],
    .summary = "Create or update a job from a file (idempotent)",
    .needs_master = true,
    .run = s_apply_run,
};

/* ---------------------------------------------------------------------------
 * job backfill, job pause
 * ------------------------------------------------------------------------ */

/* POST /api/v1/jobs/NAME/<action> with body (may be NULL) and the
 * --namespace flag; *doc gets the answer. 0 or the exit code. */
static int s_post_job(hg_cli_t *cli, const hg_args_t *args, const char *action, json_t *body,
                      json_t **doc)
{
    char *path = hg_cli_job_path(cli, args->pos[0], action);
    if (!path) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    hg_query_t q[] = {{"namespace", hg_args_get(args, "namespace")}};
    int rc = hg_cli_call(cli, "POST", path, q, 1, body, doc);
    free(path);
    return rc;
}

static const hg_flag_t s_backfill_flags[] = {
    {"from", "TIME", false, "first scheduled time (RFC 3339, or a duration ago: 2h)"},
    {"to", "TIME", false, "end of the range, not included (same forms)"},
    {"force", NULL, false, "fire regardless of the job's overlap policy, without waiting"},
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
};

static int s_backfill_run(hg_cli_t *cli, const hg_args_t *args)
{
    char msg[512], from[40], to[40];
    const char *from_arg = hg_args_get(args, "from"), *to_arg = hg_args_get(args, "to");
    int64_t now = hg_now_ms();
    if (!from_arg || !to_arg)
        return hg_cli_usage_fail(cli, "job backfill: --from and --to are required");
    if (hg_cli_time_arg("from", from_arg, now, from, sizeof from, msg, sizeof msg) != 0 ||
        hg_cli_time_arg("to", to_arg, now, to, sizeof to, msg, sizeof msg) != 0)
        return hg_cli_usage_fail(cli, "%s", msg);
    const char *name = args->pos[0];
    json_t *body = json_pack("{s:s, s:s}", "from", from, "to", to), *doc = NULL;
    if (body && hg_args_has(args, "force")) json_object_set_new(body, "force", json_true());
    int rc = s_post_job(cli, args, "/backfill", body, &doc);
    json_decref(body);
    if (rc == 0) {
        if (cli->output == HG_OUTPUT_JSON)
            hg_cli_print_json(cli, doc);
        else
            fprintf(cli->out, "backfilled job %s: %" JSON_INTEGER_FORMAT " runs (%s .. %s) on %s\n",
                    name, json_integer_value(json_object_get(doc, "count")),
                    hg_view_str(doc, "first") ? hg_view_str(doc, "first") : "-",
                    hg_view_str(doc, "last") ? hg_view_str(doc, "last") : "-",
                    hg_view_str(doc, "node") ? hg_view_str(doc, "node") : "-");
    }
    json_decref(doc);
    return rc;
}

const hg_command_t hg_cmd_job_backfill = {
    .group = "job",
    .name = "backfill",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_backfill_flags,
    .flags_n = sizeof s_backfill_flags / sizeof s_backfill_flags[0],
    .summary = "Fire every scheduled time of a past range once, in order",
    .needs_master = true,
    .run = s_backfill_run,
};

static const hg_flag_t s_pause_flags[] = {
    {"note", "TEXT", false, "why (shown by job get and job list until resumed)"},
    {"namespace", "NS", false, "namespace of the job (default \"default\")"},
};

static int s_pause_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *name = args->pos[0], *note = hg_args_get(args, "note");
    json_t *body = note ? json_pack("{s:s}", "note", note) : NULL, *doc = NULL;
    int rc = s_post_job(cli, args, "/pause", body, &doc);
    json_decref(body);
    if (rc == 0) {
        if (cli->output == HG_OUTPUT_JSON)
            hg_cli_print_json(cli, doc);
        else
            fprintf(cli->out, "paused job %s%s%s\n", name, note ? ": " : "", note ? note : "");
    }
    json_decref(doc);
    return rc;
}

const hg_command_t hg_cmd_job_pause = {
    .group = "job",
    .name = "pause",
    .pos_usage = "NAME",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_pause_flags,
    .flags_n = sizeof s_pause_flags / sizeof s_pause_flags[0],
    .summary = "Pause a job, with an optional note",
    .needs_master = true,
    .run = s_pause_run,
};

/* ---------------------------------------------------------------------------
 * job get: the run-control lines
 * ------------------------------------------------------------------------ */

void hg_cli_job_print_control(hg_cli_t *cli, const json_t *job)
{
    char buf[1024];
    const char *note = hg_view_str(job, "pause_note");
    if (note) fprintf(cli->out, "%-14s %s\n", "Pause note:", note);
    fprintf(cli->out, "%-14s %s\n", "Jitter:", hg_view_text(job, "jitter", buf, sizeof buf));
    fprintf(cli->out, "%-14s %s\n",
            "Runs left:", hg_view_text(job, "remaining_runs", buf, sizeof buf));
    const json_t *fires = hg_view_array(job, "next_fires");
    size_t i;
    json_t *t;
    fprintf(cli->out, "%-14s%s\n", "Next fires:", json_array_size(fires) ? "" : " -");
    json_array_foreach(fires, i, t) fprintf(cli->out, "  %s\n", json_string_value(t));
    const json_t *last = json_is_object(job) ? json_object_get(job, "last_run") : NULL;
    if (json_is_object(last)) {
        char st[64], at[64], fin[64];
        fprintf(cli->out, "%-14s %s %s (scheduled %s, finished %s)\n",
                "Last run:", hg_view_str(last, "id") ? hg_view_str(last, "id") : "-",
                hg_view_text(last, "status", st, sizeof st),
                hg_view_time(last, "scheduled_at", at, sizeof at),
                hg_view_time(last, "finished_at", fin, sizeof fin));
    } else {
        fprintf(cli->out, "%-14s -\n", "Last run:");
    }
}

/* ---------------------------------------------------------------------------
 * run get
 * ------------------------------------------------------------------------ */

static int s_run_get_run(hg_cli_t *cli, const hg_args_t *args)
{
    char *id = hg_client_escape(cli->client, args->pos[0]);
    if (!id) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/runs/%.200s", id);
    free(id);
    json_t *run = NULL;
    int rc = hg_cli_call(cli, "GET", path, NULL, 0, NULL, &run);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, run);
        json_decref(run);
        return HG_EXIT_OK;
    }
    char buf[4096];
    static const char *const rows[][2] = {{"Run", "run_id"},
                                          {"Job", "job"},
                                          {"Node", "node"},
                                          {"Trigger", "trigger"},
                                          {"Attempt", "attempt"},
                                          {"Status", "status"},
                                          {"HTTP status", "http_status"},
                                          {"Exit code", "exit_code"},
                                          {"Error", "error"},
                                          {"Duration ms", "duration_ms"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        fprintf(cli->out, "%-14s %s\n", rows[i][0], hg_view_text(run, rows[i][1], buf, sizeof buf));
    static const char *const times[][2] = {
        {"Scheduled", "scheduled_at"}, {"Started", "started_at"}, {"Finished", "finished_at"}};
    for (size_t i = 0; i < 3; i++)
        fprintf(cli->out, "%-14s %s\n", times[i][0],
                hg_view_time(run, times[i][1], buf, sizeof buf));
    const json_t *logs = hg_view_array(run, "logs");
    fprintf(cli->out, "Logs:%s\n", json_array_size(logs) ? "" : " -");
    size_t i;
    json_t *line;
    json_array_foreach(logs, i, line)
    {
        fprintf(cli->out, "  [%s] %s\n",
                hg_view_str(line, "level") ? hg_view_str(line, "level") : "?",
                hg_view_str(line, "message") ? hg_view_str(line, "message") : "");
    }
    const char *result = hg_view_str(run, "result");
    fprintf(cli->out, "Result:%s%s\n", result ? "\n" : " -", result ? result : "");
    json_decref(run);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_run_get = {
    .group = "run",
    .name = "get",
    .pos_usage = "RUN_ID",
    .pos_min = 1,
    .pos_max = 1,
    .flags = NULL,
    .flags_n = 0,
    .summary = "Show one run: its result, output and log lines",
    .needs_master = true,
    .run = s_run_get_run,
};

/* ---------------------------------------------------------------------------
 * runs --follow
 * ------------------------------------------------------------------------ */

static volatile sig_atomic_t s_stop;

static void s_on_sigint(int sig)
{
    (void) sig;
    s_stop = 1;
}

/* Print run on one line. */
static void s_follow_line(hg_cli_t *cli, const json_t *run)
{
    if (cli->output == HG_OUTPUT_JSON) {
        char *text = json_dumps(run, JSON_COMPACT);
        if (text) fprintf(cli->out, "%s\n", text);
        free(text);
    } else {
        char at[64], http[32], id[64], job[256], status[64], node[256];
        fprintf(cli->out, "%s  %-20s %-8s %-5s %-12s %s\n",
                hg_view_time(run, "scheduled_at", at, sizeof at),
                hg_view_text(run, "job", job, sizeof job),
                hg_view_text(run, "status", status, sizeof status),
                hg_view_text(run, "http_status", http, sizeof http),
                hg_view_text(run, "node", node, sizeof node),
                hg_view_text(run, "run_id", id, sizeof id));
    }
    fflush(cli->out);
}

int hg_cli_runs_follow(hg_cli_t *cli, const hg_query_t *query, size_t query_n)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = s_on_sigint;
    sigaction(SIGINT, &sa, &old);
    s_stop = 0;
    hg_query_t q[16];
    size_t n = 0;
    for (size_t i = 0; i < query_n && n < 15; i++)
        if (strcmp(query[i].key, "limit") != 0 && strcmp(query[i].key, "before") != 0)
            q[n++] = query[i];
    q[n++] = (hg_query_t){"limit", S_FOLLOW_PAGE};
    /* Run ids already printed: the newest S_FOLLOW_SEEN_MAX, enough for
     * every page of a poll. A run is printed once it has ended. */
    json_t *seen = json_object();
    int rc = HG_EXIT_OK;
    bool first = true;
    while (!s_stop && rc == HG_EXIT_OK) {
        json_t *doc = NULL;
        char msg[1024];
        long status = 0;
        if (hg_client_call(cli->client, "GET", "/api/v1/runs", q, n, NULL, &doc, &status, msg,
                           sizeof msg) != 0) {
            /* A master that is away for a moment is waited for. */
            if (status == 0 || status >= 500) {
                fprintf(cli->err, "hourglass: %s (retrying)\n", msg);
            } else {
                rc = hg_cli_fail(cli, "%s", msg);
                break;
            }
        }
        const json_t *runs = hg_view_array(doc, "runs");
        for (size_t i = json_array_size(runs); i-- > 0;) { /* oldest first */
            json_t *run = json_array_get(runs, i);
            const char *id = hg_view_str(run, "run_id");
            const char *st = hg_view_str(run, "status");
            if (!id || json_object_get(seen, id) || !st || strcmp(st, "running") == 0) continue;
            /* The runs that ended before we started are history, not news. */
            if (!first) s_follow_line(cli, run);
            if (json_object_size(seen) >= S_FOLLOW_SEEN_MAX) json_object_clear(seen);
            json_object_set_new(seen, id, json_true());
        }
        json_decref(doc);
        first = false;
        for (int t = 0; t < 10 && !s_stop; t++)
            usleep(100 * 1000);
    }
    json_decref(seen);
    sigaction(SIGINT, &old, NULL);
    return rc;
}
