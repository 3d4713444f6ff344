/* cmd_plugin: `hourglass plugin push FILE` and `hourglass plugin list`.
 *
 * push uploads a plug-in's shared object to the master (POST
 * /api/v1/plugins), which stores it by SHA-256 for workers to fetch. The
 * master never loads uploaded code, so when --name or --version is not
 * given the CLI reads them from the plug-in's own descriptor: it loads the
 * file in a short-lived child process (a crash or hang there costs the
 * child only) and reports what hourglass_plugin() returns. */
#include "cli.h"
#include "hg_error.h"
#include "table.h"

#include "hourglass/plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_FILE        (1u << 30) /* more is no plug-in; the master's limit is lower still */
#define S_DESCRIBE_MS     10000      /* a descriptor that takes longer is not coming */
#define S_PUSH_TIMEOUT_MS 300000L    /* an upload of tens of MiB over a slow link */

/* Child side of hg_cli_plugin_describe: load, ask, write the answer to fd
 * as "O<name>\0<version>\0" or "E<message>", exit. Never returns. */
static void s_describe_child(const char *path, int fd)
{
    char out[1024];
    int n;
    struct rlimit cpu = {5, 5};
    setrlimit(RLIMIT_CPU, &cpu);
    alarm(S_DESCRIBE_MS / 1000);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        n = snprintf(out, sizeof out, "E%s", why ? why : "dlopen failed");
    } else {
        hg_plugin_entry_fn entry;
        *(void **) &entry = dlsym(handle, HG_PLUGIN_SYMBOL);
        const hg_plugin_descriptor_t *d = entry ? entry() : NULL;
        if (!entry)
            n = snprintf(out, sizeof out, "Edoes not export %s()", HG_PLUGIN_SYMBOL);
        else if (!d)
            n = snprintf(out, sizeof out, "E%s() returned NULL", HG_PLUGIN_SYMBOL);
        else if (d->abi_version != HG_PLUGIN_ABI_VERSION)
            n = snprintf(out, sizeof out,
                         "Ehas plug-in ABI version %u, this hourglass knows version %d",
                         (unsigned) d->abi_version, HG_PLUGIN_ABI_VERSION);
        else if (!d->name || !d->version)
            n = snprintf(out, sizeof out, "Eits descriptor has no %s",
                         !d->name ? "name" : "version");
        else
            n = snprintf(out, sizeof out, "O%.255s%c%.255s%c", d->name, '\0', d->version, '\0');
    }
    if (n > (int) sizeof out - 1) n = (int) sizeof out - 1;
    ssize_t w = write(fd, out, (size_t) n);
    (void) w;
    _exit(0);
}

int hg_cli_plugin_describe(const char *path, char *name, size_t name_size, char *version,
                           size_t version_size, char *err, size_t err_size)
{
    /* dlopen searches the library path for a name without a slash. */
    char local[4096];
    snprintf(local, sizeof local, "%s%s", strchr(path, '/') ? "" : "./", path);
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, err_size, "pipe: %s", strerror(errno));
        return HG_EIO;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return HG_EIO;
    }
    if (pid == 0) {
        close(fds[0]);
        s_describe_child(local, fds[1]);
    }
    close(fds[1]);
    char buf[1024];
    size_t len = 0;
    bool timed_out = false;
    for (;;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int r = poll(&p, 1, S_DESCRIBE_MS);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            timed_out = true;
            break;
        }
        ssize_t got = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t) got;
        if (len == sizeof buf - 1) break;
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buf[len] = '\0';
    if (timed_out) {
        snprintf(err, err_size, "loading it to read its descriptor took over %d s",
                 S_DESCRIBE_MS / 1000);
        return HG_ETIMEOUT;
    }
    if (WIFSIGNALED(status)) {
        snprintf(err, err_size, "loading it to read its descriptor crashed (%s)",
                 strsignal(WTERMSIG(status)));
        return HG_EIO;
    }
    if (len > 1 && buf[0] == 'O') {
        const char *n = buf + 1;
        const char *v = n + strlen(n) + 1;
        if (v < buf + len && *n && *v) {
            snprintf(name, name_size, "%s", n);
            snprintf(version, version_size, "%s", v);
            return 0;
        }
    }
    snprintf(err, err_size, "%s", len > 1 && buf[0] == 'E' ? buf + 1 : "no answer from loading it");
    return HG_EINVAL;
}

/* Read a whole file (at most S_MAX_FILE bytes). Caller frees *data. */
static int s_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t err_size)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
        if (f) fclose(f);
        return HG_EIO;
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t) sb.st_size > S_MAX_FILE) {
        snprintf(err, err_size, "%s: %s", path,
                 S_ISREG(sb.st_mode) ? "larger than 1 GiB, not a plug-in" : "not a regular file");
        fclose(f);
        return HG_EINVAL;
    }
    size_t size = (size_t) sb.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf || fread(buf, 1, size, f) != size) {
        snprintf(err, err_size, "cannot read %s: %s", path,
                 buf ? strerror(errno ? errno : EIO) : hg_strerror(HG_ENOMEM));
        free(buf);
        fclose(f);
        return HG_EIO;
    }
    fclose(f);
    *data = buf;
    *len = size;
    return 0;
}

static const hg_flag_t s_push_flags[] = {
    {"name", "NAME", false, "plug-in name (default: the name in its descriptor)"},
    {"version", "VERSION", false, "plug-in version (default: the version in its descriptor)"},
    {"force", NULL, false, "replace other bytes stored under the same name and version"},
};

static int s_push_run(hg_cli_t *cli, const hg_args_t *args)
{
    const char *path = args->pos[0];
    char msg[1024], name[256] = "", version[256] = "";
    const char *name_arg = hg_args_get(args, "name"), *version_arg = hg_args_get(args, "version");
    if ((name_arg && !*name_arg) || (version_arg && !*version_arg))
        return hg_cli_usage_fail(cli, "plugin push: --%s must not be empty",
                                 name_arg && !*name_arg ? "name" : "version");
    uint8_t *data = NULL;
    size_t len = 0;
    if (s_read_file(path, &data, &len, msg, sizeof msg) != 0) return hg_cli_fail(cli, "%s", msg);
    if (!name_arg || !version_arg) {
        if (hg_cli_plugin_describe(path, name, sizeof name, version, sizeof version, msg,
                                   sizeof msg) != 0) {
            free(data);
            return hg_cli_fail(cli,
                               "%s: cannot read the plug-in's name and version: %s (give "
                               "--name and --version to push it anyway)",
                               path, msg);
        }
    }
    if (name_arg) snprintf(name, sizeof name, "%s", name_arg);
    if (version_arg) snprintf(version, sizeof version, "%s", version_arg);
    hg_query_t q[] = {{"name", name},
                      {"version", version},
                      {"replace", hg_args_has(args, "force") ? "true" : NULL}};
    json_t *doc = NULL;
    long status = 0;
    hg_client_set_timeout_ms(cli->client, S_PUSH_TIMEOUT_MS);
    int rc =
        hg_client_call_raw(cli->client, "POST", "/api/v1/plugins", q, sizeof q / sizeof q[0], data,
                           len, "application/octet-stream", &doc, &status, msg, sizeof msg);
    free(data);
    if (rc != 0) return hg_cli_fail(cli, "%s", msg);
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
    } else {
        char size[32];
        const char *replaced = hg_view_str(doc, "replaced");
        fprintf(cli->out, "%s %s %s: sha256 %s, %s bytes\n",
                status == 200 ? "already stored"
                : replaced    ? "replaced"
                              : "pushed",
                hg_view_str(doc, "name") ? hg_view_str(doc, "name") : name,
                hg_view_str(doc, "version") ? hg_view_str(doc, "version") : version,
                hg_view_str(doc, "sha256") ? hg_view_str(doc, "sha256") : "?",
                hg_view_text(doc, "size", size, sizeof size));
        if (replaced) fprintf(cli->out, "(it replaced sha256 %s)\n", replaced);
    }
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_plugin_push = {
    .group = "plugin",
    .name = "push",
    .pos_usage = "FILE",
    .pos_min = 1,
    .pos_max = 1,
    .flags = s_push_flags,
    .flags_n = sizeof s_push_flags / sizeof s_push_flags[0],
    .summary = "Upload a plug-in (.so) to the master for workers to fetch",
    .needs_master = true,
    .run = s_push_run,
};

static const hg_flag_t s_list_flags[] = {
    {"name", "NAME", false, "only versions of this plug-in"},
};

static int s_list_run(hg_cli_t *cli, const hg_args_t *args)
{
    hg_query_t q[] = {{"name", hg_args_get(args, "name")}};
    json_t *doc = NULL;
    int rc = hg_cli_call(cli, "GET", "/api/v1/plugins", q, 1, NULL, &doc);
    if (rc != 0) return rc;
    if (cli->output == HG_OUTPUT_JSON) {
        hg_cli_print_json(cli, doc);
        json_decref(doc);
        return HG_EXIT_OK;
    }
    const json_t *plugins = hg_view_array(doc, "plugins");
    if (!plugins) {
        json_decref(doc);
        return hg_cli_fail(cli, "unexpected answer from master: no \"plugins\" list");
    }
    static const char *const headers[] = {"name", "version", "sha256", "size", "arch", "uploaded"};
    hg_table_t *table = hg_table_new(headers, 6);
    if (!table) {
        json_decref(doc);
        return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    }
    size_t i;
    json_t *p;
    json_array_foreach(plugins, i, p)
    {
        char name[256], version[256], sha[128], size[32], arch[64], uploaded[64];
        const char *cells[] = {hg_view_text(p, "name", name, sizeof name),
                               hg_view_text(p, "version", version, sizeof version),
                               hg_view_text(p, "sha256", sha, sizeof sha),
                               hg_view_text(p, "size", size, sizeof size),
                               hg_view_text(p, "arch", arch, sizeof arch),
                               hg_view_time(p, "uploaded_at", uploaded, sizeof uploaded)};
        hg_table_add_row(table, cells);
    }
    hg_table_print(table, cli->out);
    hg_table_destroy(&table);
    json_decref(doc);
    return HG_EXIT_OK;
}

const hg_command_t hg_cmd_plugin_list = {
    .group = "plugin",
    .name = "list",
    .pos_usage = "",
    .flags = s_list_flags,
    .flags_n = sizeof s_list_flags / sizeof s_list_flags[0],
    .summary = "List the plug-ins stored on the master",
    .needs_master = true,
    .run = s_list_run,
};
