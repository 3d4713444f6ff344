/* cli: dispatch of `hourglass` subcommands, usage texts, and the helpers
 * commands share (error lines, API calls, JSON output, reading server JSON
 * into table cells). */
#include "cli.h"
#include "cmd_job_edit.h"
#include "hg_error.h"
#include "hg_sched.h"
#include "hg_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int s_version_run(hg_cli_t *cli, const hg_args_t *args)
{
    if (cli->output == HG_OUTPUT_JSON) {
        json_t *doc = json_pack("{s:s}", "version", HG_VERSION);
        hg_cli_print_json(cli, doc);
        json_decref(doc);
    } else {
        fprintf(cli->out, "hourglass %s\n", HG_VERSION);
    }
    return HG_EXIT_OK;
}

static const hg_command_t s_cmd_version = {
    .name = "version",
    .pos_usage = "",
    .summary = "Print the version of this CLI",
    .run = s_version_run,
};

/* Every command, in the order of `hourglass help`. */
static const hg_command_t *const s_commands[] = {
    &hg_cmd_job_create,        &hg_cmd_job_list,       &hg_cmd_job_get,
    &hg_cmd_job_edit,          &hg_cmd_job_apply,      &hg_cmd_job_delete,
    &hg_cmd_job_pause,         &hg_cmd_job_resume,     &hg_cmd_job_trigger,
    &hg_cmd_job_backfill,      &hg_cmd_job_tree,       &hg_cmd_runs,
    &hg_cmd_run_get,           &hg_cmd_run_cancel,     &hg_cmd_node_list,
    &hg_cmd_node_drain,        &hg_cmd_node_activate,  &hg_cmd_plugin_push,
    &hg_cmd_plugin_list,       &hg_cmd_token_create,   &hg_cmd_token_list,
    &hg_cmd_token_revoke,      &hg_cmd_worker_key_add, &hg_cmd_worker_key_list,
    &hg_cmd_worker_key_delete, &hg_cmd_audit,          &hg_cmd_alert_create,
    &hg_cmd_alert_list,        &hg_cmd_alert_get,      &hg_cmd_alert_delete,
    &hg_cmd_alert_test,        &hg_cmd_alert_history,  &s_cmd_version,
    &hg_cmd_runs_purge,        &hg_cmd_masters,
};
#define S_COMMANDS_N (sizeof s_commands / sizeof s_commands[0])

/* `schedule explain` is not in the table: it hands its whole command line
 * to the schedule module, which parses its own flags and needs no master. */
#define S_EXPLAIN_USAGE   "schedule explain EXPR"
#define S_EXPLAIN_SUMMARY "Show how a schedule reads and when it fires next (no master needed)"

static const char *const s_global_help =
    "Global flags (before or after the command):\n"
    "  --master URL[,URL]   master address, or every master's, comma-separated (env\n"
    "                       HOURGLASS_MASTER, default " HG_CLI_DEFAULT_MASTER ")\n"
    "  --token TOKEN        API token, sent as a bearer token (env HOURGLASS_TOKEN,\n"
    "                       else the file ~/.config/hourglass/token, mode 0600)\n"
    "  -o, --output FORMAT  table (default) or json\n"
    "  -h, --help           show help\n";

static void s_command_words(const hg_command_t *cmd, char *buf, size_t size)
{
    if (cmd->group)
        snprintf(buf, size, "%s %s", cmd->group, cmd->name);
    else
        snprintf(buf, size, "%s", cmd->name);
}

static void s_usage_main(FILE *out)
{
    fprintf(out, "hourglass: admin command line of the Hourglass scheduler\n\n"
                 "Usage: hourglass [global flags] COMMAND [flags]\n\nCommands:\n");
    char words[64], line[128];
    for (size_t i = 0; i < S_COMMANDS_N; i++) {
        s_command_words(s_commands[i], words, sizeof words);
        snprintf(line, sizeof line, "%s %s", words, s_commands[i]->pos_usage);
        fprintf(out, "  %-24s %s\n", line, s_commands[i]->summary);
    }
    fprintf(out, "  %-24s %s\n", S_EXPLAIN_USAGE, S_EXPLAIN_SUMMARY);
    fprintf(out, "  %-24s %s\n", "help [COMMAND]", "Show help for a command");
    fprintf(out, "\n%s\nRun 'hourglass COMMAND --help' for the flags of a command.\n",
            s_global_help);
}

static void s_usage_group(FILE *out, const char *group)
{
    fprintf(out, "Usage: hourglass %s SUBCOMMAND [flags]\n\nSubcommands:\n", group);
    char line[128];
    for (size_t i = 0; i < S_COMMANDS_N; i++) {
        if (!s_commands[i]->group || strcmp(s_commands[i]->group, group) != 0) continue;
        snprintf(line, sizeof line, "%s %s", s_commands[i]->name, s_commands[i]->pos_usage);
        fprintf(out, "  %-18s %s\n", line, s_commands[i]->summary);
    }
    if (strcmp(group, "schedule") == 0)
        fprintf(out, "  %-18s %s\n", "explain EXPR", S_EXPLAIN_SUMMARY);
    fprintf(out, "\n%s", s_global_help);
}

static void s_usage_command(FILE *out, const hg_command_t *cmd)
{
    char words[64];
    s_command_words(cmd, words, sizeof words);
    fprintf(out, "Usage: hourglass %s%s%s%s\n\n%s\n", words, *cmd->pos_usage ? " " : "",
            cmd->pos_usage, cmd->flags_n ? " [flags]" : "", cmd->summary);
    if (cmd->flags_n) fprintf(out, "\nFlags:\n");
    for (size_t i = 0; i < cmd->flags_n; i++) {
        const hg_flag_t *f = &cmd->flags[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", f->name, f->metavar ? " " : "",
                 f->metavar ? f->metavar : "");
        fprintf(out, "  %-24s %s%s\n", left, f->help, f->repeat ? " (repeatable)" : "");
    }
    fprintf(out, "\n%s", s_global_help);
}

static bool s_is_group(const char *word)
{
    if (strcmp(word, "schedule") == 0) return true;
    for (size_t i = 0; i < S_COMMANDS_N; i++)
        if (s_commands[i]->group && strcmp(s_commands[i]->group, word) == 0) return true;
    return false;
}

static const hg_command_t *s_find(const char *group, const char *name)
{
    for (size_t i = 0; i < S_COMMANDS_N; i++) {
        const hg_command_t *cmd = s_commands[i];
        if ((group ? cmd->group && strcmp(cmd->group, group) == 0 : !cmd->group) &&
            strcmp(cmd->name, name) == 0)
            return cmd;
    }
    return NULL;
}

static bool s_has_help_flag(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    }
    return false;
}

static int s_usage_error(FILE *err, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_usage_error(FILE *err, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hourglass: ", err);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fprintf(err, "\nRun 'hourglass %s--help' for usage.\n", hint);
    return HG_EXIT_USAGE;
}

/* `hourglass help [WORDS...]`. */
static int s_help(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc == 0) {
        s_usage_main(out);
        return HG_EXIT_OK;
    }
    if (strcmp(argv[0], "schedule") == 0 && argc >= 2 && strcmp(argv[1], "explain") == 0) {
        char *explain_argv[] = {argv[1], "--help", NULL};
        return hg_sched_explain_main(2, explain_argv, out, err);
    }
    const hg_command_t *cmd = NULL;
    if (s_is_group(argv[0]) &&
        !(s_find(NULL, argv[0]) && (argc < 2 || !s_find(argv[0], argv[1])))) {
        if (argc == 1) {
            s_usage_group(out, argv[0]);
            return HG_EXIT_OK;
        }
        cmd = s_find(argv[0], argv[1]);
    } else {
        cmd = s_find(NULL, argv[0]);
    }
    if (!cmd)
        return s_usage_error(err, "", "help: unknown command \"%s%s%s\"", argv[0],
                             argc > 1 && s_is_group(argv[0]) ? " " : "",
                             argc > 1 && s_is_group(argv[0]) ? argv[1] : "");
    s_usage_command(out, cmd);
    return HG_EXIT_OK;
}

/* Forward `schedule explain ...` (argv[0] "explain") to the schedule
 * module, which parses its own flags. Global flags may follow any command:
 * --master and --token mean nothing offline and are dropped; explain has
 * only a table form, so -o json is refused rather than silently ignored. */
static int s_explain(int argc, char **argv, const char *output, FILE *out, FILE *err)
{
    char **kept = calloc((size_t) argc + 1, sizeof *kept);
    if (!kept) {
        fprintf(err, "hourglass: %s\n", hg_strerror(HG_ENOMEM));
        return HG_EXIT_FAIL;
    }
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { /* the rest is explain's own business */
            while (i < argc)
                kept[n++] = argv[i++];
            break;
        }
        bool global_next = strcmp(a, "--master") == 0 || strcmp(a, "--token") == 0 ||
                           strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0;
        if (global_next && i + 1 < argc) {
            if (a[1] == 'o' || strcmp(a, "--output") == 0) output = argv[i + 1];
            i++;
        } else if (strncmp(a, "--output=", 9) == 0) {
            output = a + 9;
        } else if (strncmp(a, "-o", 2) == 0 && a[2]) {
            output = a + 2;
        } else if (strncmp(a, "--master=", 9) != 0 && strncmp(a, "--token=", 8) != 0) {
            kept[n++] = argv[i];
        }
    }
    int rc;
    if (output && strcmp(output, "table") != 0)
        rc = s_usage_error(err, "schedule explain ",
                           "schedule explain: -o %s is not supported "
                           "(text output only)",
                           output);
    else
        rc = hg_sched_explain_main(n, kept, out, err);
    free(kept);
    return rc;
}

/* Parse a command's arguments, settle the global settings and run it. */
static int s_run(const hg_command_t *cmd, int argc, char **argv, hg_globals_t *globals, FILE *out,
                 FILE *err)
{
    char words[64], hint[80], msg[512];
    s_command_words(cmd, words, sizeof words);
    snprintf(hint, sizeof hint, "%s ", words);
    hg_args_t args;
    int rc = hg_args_parse(&args, cmd->flags, cmd->flags_n, argc, argv, globals, msg, sizeof msg);
    if (rc != 0) {
        hg_args_free(&args);
        return s_usage_error(err, hint, "%s: %s", words, msg);
    }
    if (globals->help) {
        hg_args_free(&args);
        s_usage_command(out, cmd);
        return HG_EXIT_OK;
    }
    if (args.pos_n < cmd->pos_min || args.pos_n > cmd->pos_max) {
        bool missing = args.pos_n < cmd->pos_min;
        const char *extra = missing ? NULL : args.pos[cmd->pos_max]; /* points into argv */
        hg_args_free(&args);
        if (missing) return s_usage_error(err, hint, "%s: missing %s", words, cmd->pos_usage);
        return s_usage_error(err, hint, "%s: unexpected argument \"%s\"", words, extra);
    }
    hg_settings_t settings;
    if (hg_settings_resolve(globals, &settings, msg, sizeof msg) != 0) {
        hg_args_free(&args);
        return s_usage_error(err, hint, "%s", msg);
    }
    hg_cli_t cli = {.output = settings.output, .out = out, .err = err};
    char file_token[256];
    if (cmd->needs_master && !globals->token && !getenv("HOURGLASS_TOKEN")) {
        /* Neither flag nor environment: the token kept for this user. */
        char path[4096];
        hg_token_file_path(path, sizeof path);
        rc = path[0] ? hg_token_file_load(path, file_token, sizeof file_token, msg, sizeof msg)
                     : HG_ENOTFOUND;
        if (rc == 0) {
            settings.token = file_token;
        } else if (rc != HG_ENOTFOUND) {
            hg_args_free(&args);
            return hg_cli_fail(&cli, "%s", msg);
        }
    }
    if (cmd->needs_master) {
        cli.client = hg_client_new(settings.master, settings.token);
        if (!cli.client) {
            hg_args_free(&args);
            return hg_cli_fail(&cli, "%s", hg_strerror(HG_ENOMEM));
        }
    }
    rc = cmd->run(&cli, &args);
    hg_client_destroy(&cli.client);
    hg_args_free(&args);
    return rc;
}

int hg_cli_main(int argc, char **argv, FILE *out, FILE *err)
{
    hg_globals_t globals = {0};
    char msg[512];
    int next = 0;
    argc--, argv++; /* the program name */
    if (hg_args_parse_globals(argc, argv, &globals, &next, msg, sizeof msg) != 0)
        return s_usage_error(err, "", "%s", msg);
    argc -= next, argv += next;
    if (argc == 0) {
        if (globals.help) {
            s_usage_main(out);
            return HG_EXIT_OK;
        }
        return s_usage_error(err, "", "missing command");
    }
    const char *word = argv[0];
    if (strcmp(word, "help") == 0) return s_help(argc - 1, argv + 1, out, err);
    /* "runs" is a command and a group ("runs purge"): the group when a
     * subcommand of it follows. */
    if (!s_is_group(word) || (s_find(NULL, word) && (argc < 2 || !s_find(word, argv[1])))) {
        const hg_command_t *cmd = s_find(NULL, word);
        if (!cmd) return s_usage_error(err, "", "unknown command \"%s\"", word);
        return s_run(cmd, argc - 1, argv + 1, &globals, out, err);
    }
    if (argc < 2 || argv[1][0] == '-') {
        if (globals.help || s_has_help_flag(argc - 1, argv + 1)) {
            s_usage_group(out, word);
            return HG_EXIT_OK;
        }
        char hint[32];
        snprintf(hint, sizeof hint, "%s ", word);
        return s_usage_error(err, hint, "%s: missing subcommand", word);
    }
    if (strcmp(word, "schedule") == 0 && strcmp(argv[1], "explain") == 0) {
        if (globals.help) {
            char *explain_argv[] = {argv[1], "--help", NULL};
            return hg_sched_explain_main(2, explain_argv, out, err);
        }
        return s_explain(argc - 1, argv + 1, globals.output, out, err);
    }
    const hg_command_t *cmd = s_find(word, argv[1]);
    if (!cmd) {
        char hint[32];
        snprintf(hint, sizeof hint, "%s ", word);
        return s_usage_error(err, hint, "unknown command \"%s %s\"", word, argv[1]);
    }
    return s_run(cmd, argc - 2, argv + 2, &globals, out, err);
}

int hg_cli_fail(hg_cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hourglass: ", cli->err);
    vfprintf(cli->err, fmt, ap);
    fputc('\n', cli->err);
    va_end(ap);
    return HG_EXIT_FAIL;
}

int hg_cli_usage_fail(hg_cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hourglass: ", cli->err);
    vfprintf(cli->err, fmt, ap);
    fputc('\n', cli->err);
    va_end(ap);
    return HG_EXIT_USAGE;
}

int hg_cli_check_count(const char *flag, const char *text, long max, char *err, size_t err_size)
{
    if (!text) return 0;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end || value < 1 || value > max) {
        snprintf(err, err_size, "--%s: \"%s\" is not a whole number from 1 to %ld", flag, text,
                 max);
        return HG_EINVAL;
    }
    return 0;
}

int hg_cli_call(hg_cli_t *cli, const char *method, const char *path, const hg_query_t *query,
                size_t query_n, json_t *body, json_t **out)
{
    char msg[1024];
    long status = 0;
    if (hg_client_call(cli->client, method, path, query, query_n, body, out, &status, msg,
                       sizeof msg) != 0) {
        if (status == 401)
            return hg_cli_fail(cli,
                               "%s; the CLI takes a token from --token, HOURGLASS_TOKEN or "
                               "~/.config/hourglass/token (a new master writes its first admin "
                               "token to <data.dir>/admin.token)",
                               msg);
        return hg_cli_fail(cli, "%s", msg);
    }
    return 0;
}

char *hg_cli_job_path(hg_cli_t *cli, const char *name, const char *suffix)
{
    char *escaped = hg_client_escape(cli->client, name);
    if (!escaped) return NULL;
    size_t size = strlen("/api/v1/jobs/") + strlen(escaped) + strlen(suffix) + 1;
    char *path = malloc(size);
    if (path) snprintf(path, size, "/api/v1/jobs/%s%s", escaped, suffix);
    free(escaped);
    return path;
}

void hg_cli_print_json(hg_cli_t *cli, const json_t *json)
{
    char *text = json_dumps(json, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (text) {
        fprintf(cli->out, "%s\n", text);
        free(text);
    }
}

/* Tolerant readers of server JSON (hg_view_*): the server is trusted to
 * follow docs/api.md, but the CLI must not crash when it does not. */

const char *hg_view_str(const json_t *obj, const char *key)
{
    if (!json_is_object(obj)) return NULL;
    return json_string_value(json_object_get(obj, key));
}

/* Any JSON value as text: scalars as such, containers as compact JSON. */
static const char *s_value_text(const json_t *value, char *buf, size_t size)
{
    if (!value || json_is_null(value)) {
        snprintf(buf, size, "-");
    } else if (json_is_string(value)) {
        snprintf(buf, size, "%s", json_string_value(value));
    } else if (json_is_integer(value)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    } else if (json_is_real(value)) {
        snprintf(buf, size, "%g", json_real_value(value));
    } else if (json_is_boolean(value)) {
        snprintf(buf, size, "%s", json_is_true(value) ? "true" : "false");
    } else {
        char *dump = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, size, "%s", dump ? dump : "?");
        free(dump);
    }
    return buf;
}

const char *hg_view_text(const json_t *obj, const char *key, char *buf, size_t size)
{
    return s_value_text(json_is_object(obj) ? json_object_get(obj, key) : NULL, buf, size);
}

const char *hg_view_time(const json_t *obj, const char *key, char *buf, size_t size)
{
    const char *text = hg_view_str(obj, key);
    int64_t ms;
    if (text && hg_time_parse_rfc3339(text, &ms) == 0 && size >= 32)
        hg_time_format_ms(ms, buf, size); /* normalise any offset to UTC */
    else
        hg_view_text(obj, key, buf, size);
    return buf;
}

const char *hg_view_truncate(const char *text, size_t max_chars, char *buf, size_t size)
{
    if (!text) text = "";
    size_t chars = 0, i = 0;
    for (; text[i]; i++) {
        if (((unsigned char) text[i] & 0xC0) != 0x80 && chars++ == max_chars)
            break; /* text[i] starts the first code point past the limit */
    }
    if (!text[i]) {
        snprintf(buf, size, "%s", text);
        return buf;
    }
    /* Keep max_chars - 3 code points and add "..." (too short a limit for
     * the dots just cuts). */
    const char *dots = max_chars > 3 ? "..." : "";
    size_t keep_chars = max_chars > 3 ? max_chars - 3 : max_chars, keep = 0;
    chars = 0;
    for (; text[keep]; keep++)
        if (((unsigned char) text[keep] & 0xC0) != 0x80 && chars++ == keep_chars) break;
    snprintf(buf, size, "%.*s%s", (int) keep, text, dots);
    return buf;
}

const json_t *hg_view_array(const json_t *obj, const char *key)
{
    const json_t *value = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(value) ? value : NULL;
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

const char *hg_view_pairs(const json_t *obj, const char *key, const char *sep, char *buf,
                          size_t size)
{
    const json_t *map = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    snprintf(buf, size, "-");
    if (!json_is_object(map) || json_object_size(map) == 0) return buf;
    size_t n = json_object_size(map), i = 0;
    const char **keys = calloc(n, sizeof *keys);
    if (!keys) return buf;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *) map, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, s_cmp_str); /* stable output whatever order the server used */
    size_t used = 0;
    buf[0] = '\0';
    for (i = 0; i < n && used < size; i++) {
        char value[512];
        s_value_text(json_object_get(map, keys[i]), value, sizeof value);
        int w = snprintf(buf + used, size - used, "%s%s%s%s", i ? sep : "", keys[i],
                         strcmp(sep, ", ") == 0 ? ": " : "=", value);
        if (w < 0) break;
        used += (size_t) w;
    }
    free(keys);
    return buf;
}

const char *hg_view_list(const json_t *obj, const char *key, char *buf, size_t size)
{
    const json_t *array = hg_view_array(obj, key);
    snprintf(buf, size, "-");
    if (!array || json_array_size(array) == 0) return buf;
    size_t used = 0, i;
    json_t *item;
    buf[0] = '\0';
    json_array_foreach(array, i, item)
    {
        if (used >= size) break;
        char text[256];
        s_value_text(item, text, sizeof text);
        int w = snprintf(buf + used, size - used, "%s%s", i ? "," : "", text);
        if (w < 0) break;
        used += (size_t) w;
    }
    return buf;
}
