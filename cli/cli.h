/* cli: the `hourglass` admin command line. hg_cli_main holds everything
 * main() does, so that tests can run whole commands in-process; the
 * commands themselves live in cmd_*.c, one table row each. */
#ifndef HG_CLI_H
#define HG_CLI_H

#include "args.h"
#include "client.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes. */
#define HG_EXIT_OK    0 /* success */
#define HG_EXIT_FAIL  1 /* the master refused, or could not be reached */
#define HG_EXIT_USAGE 2 /* bad command line */

/* What a command runs with. */
typedef struct {
    hg_client_t *client; /* connection to the master (NULL for local commands) */
    hg_output_t output;  /* table or json */
    FILE *out;           /* results */
    FILE *err;           /* "hourglass: ..." lines */
} hg_cli_t;

typedef struct {
    const char *group;       /* "job", "node", ...; NULL for a top-level command */
    const char *name;        /* "create"; for a top-level command its word ("runs") */
    const char *pos_usage;   /* positionals in usage ("NAME"), "" for none */
    size_t pos_min, pos_max; /* positionals allowed */
    const hg_flag_t *flags;  /* the command's own flags */
    size_t flags_n;          /* entries in flags */
    const char *summary;     /* one line for the command list */
    bool needs_master;       /* false for commands that work offline */
    int (*run)(hg_cli_t *cli, const hg_args_t *args); /* returns an exit code */
} hg_command_t;

/* Run the CLI: argv[0] is the program name. Returns the exit code. */
int hg_cli_main(int argc, char **argv, FILE *out, FILE *err);

/* Commands, defined in cmd_*.c. */
/* cmd_deps.c: --depends-on / --trigger-rule of a job body. 0 or HG_EINVAL. */
int hg_cli_deps_spec(const hg_args_t *args, json_t *job, char *err, size_t err_size);
/* cmd_deps.c: "a (success), b (failure); trigger_rule all" of a job, in buf. */
const char *hg_cli_deps_view(const json_t *job, char *buf, size_t size);
extern const hg_command_t hg_cmd_job_tree;
extern const hg_command_t hg_cmd_job_create, hg_cmd_job_list, hg_cmd_job_get, hg_cmd_job_delete,
    hg_cmd_job_pause, hg_cmd_job_resume, hg_cmd_job_trigger, hg_cmd_runs, hg_cmd_node_list,
    hg_cmd_node_drain, hg_cmd_node_activate, hg_cmd_plugin_push, hg_cmd_plugin_list,
    hg_cmd_token_create, hg_cmd_token_list, hg_cmd_token_revoke, hg_cmd_worker_key_add,
    hg_cmd_worker_key_list, hg_cmd_worker_key_delete, hg_cmd_audit, hg_cmd_runs_purge,
    hg_cmd_run_cancel;                    /* cmd_run.c */
extern const hg_command_t hg_cmd_masters; /* cmd_cluster.c */
/* cmd_alert.c */
extern const hg_command_t hg_cmd_alert_create, hg_cmd_alert_list, hg_cmd_alert_get,
    hg_cmd_alert_delete, hg_cmd_alert_test, hg_cmd_alert_history;

/* Name and version from a plug-in's descriptor, read by loading path in a
 * child process (cmd_plugin.c). 0, or HG_EINVAL / HG_EIO / HG_ETIMEOUT with
 * the reason in err (dlopen's message, a missing symbol, another ABI
 * version, a crash). */
int hg_cli_plugin_describe(const char *path, char *name, size_t name_size, char *version,
                           size_t version_size, char *err, size_t err_size);

/* Build the POST /api/v1/jobs body from `job create` arguments (pure: no
 * network). 0 and *out (caller json_decref's), or HG_EINVAL with a message
 * naming the flag in err. */
int hg_job_spec_build(const hg_args_t *args, json_t **out, char *err, size_t err_size);

/* --since/--until value: RFC 3339, or a duration meaning that long before
 * now_ms; written as RFC 3339 UTC into buf (>= 32 bytes). 0 or HG_EINVAL. */
int hg_cli_time_arg(const char *flag, const char *text, int64_t now_ms, char *buf, size_t size,
                    char *err, size_t err_size);

/* Split "key=value" (flag names the flag for the message). 0 or HG_EINVAL. */
int hg_cli_split_kv(const char *flag, const char *text, char sep, char *key, size_t key_size,
                    const char **value, char *err, size_t err_size);

/* Helpers for commands (cli.c). */

/* Print "hourglass: <message>" to cli->err; returns HG_EXIT_FAIL. */
int hg_cli_fail(hg_cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same for a bad flag value found by a command; returns HG_EXIT_USAGE. */
int hg_cli_usage_fail(hg_cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Check that a --limit style value is an integer in [1, max]. NULL is fine.
 * 0 or HG_EINVAL with a message. */
int hg_cli_check_count(const char *flag, const char *text, long max, char *err, size_t err_size);

/* hg_client_call that prints the error itself. 0 and *out, or HG_EXIT_FAIL. */
int hg_cli_call(hg_cli_t *cli, const char *method, const char *path, const hg_query_t *query,
                size_t query_n, json_t *body, json_t **out);

/* "/api/v1/jobs/<name-encoded><suffix>"; caller frees. NULL on allocation failure. */
char *hg_cli_job_path(hg_cli_t *cli, const char *name, const char *suffix);

/* Pretty-print JSON to cli->out (for -o json). */
void hg_cli_print_json(hg_cli_t *cli, const json_t *json);

/* Tolerant readers of server JSON (cli.c): whatever the server sends, they return
 * something printable and never crash. */

/* A string member, or NULL (missing, null or not a string). */
const char *hg_view_str(const json_t *obj, const char *key);

/* Any scalar member as text into buf ("-" for missing/null, compact JSON
 * for arrays and objects). Returns buf. */
const char *hg_view_text(const json_t *obj, const char *key, char *buf, size_t size);

/* An RFC 3339 time member shown as UTC ("2026-11-21T10:00:00.000Z"); a
 * value that does not parse is shown as sent; missing gives "-". */
const char *hg_view_time(const json_t *obj, const char *key, char *buf, size_t size);

/* Text cut to max_chars code points, with "..." when cut. Returns buf. */
const char *hg_view_truncate(const char *text, size_t max_chars, char *buf, size_t size);

/* An array member, or NULL when missing or of another type. */
const json_t *hg_view_array(const json_t *obj, const char *key);

/* An object member as "k=v,k2=v2" (sep ","), or "k: v, k2: v2" (sep ", "),
 * keys sorted; "-" when missing or empty. Returns buf. */
const char *hg_view_pairs(const json_t *obj, const char *key, const char *sep, char *buf,
                          size_t size);

/* An array member as "a,b,c"; "-" when missing or empty. Returns buf. */
const char *hg_view_list(const json_t *obj, const char *key, char *buf, size_t size);

#endif
