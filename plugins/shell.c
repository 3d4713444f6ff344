/* shell: run a command, capture its exit code and a bounded excerpt of its
 * output, and kill its whole process group when the run is cancelled or
 * reaches its deadline.
 *
 * Parameters:
 *   command   program to run (required); looked up in PATH unless it holds
 *             a '/'. It is run directly, not through a shell: use
 *             command=/bin/sh, arg1=-c, arg2="..." for shell syntax.
 *   arg1..argN  arguments, one each (take precedence over "args")
 *   args      arguments separated by spaces (no quoting rules)
 *   env.NAME  set environment variable NAME for the command
 *   cwd       working directory
 * Result: the first 4 KiB of stdout and stderr (interleaved as written);
 * the exit code is logged. Exit code 0 -> success, otherwise failed. The
 * command runs in its own process group; every process left in that group
 * is killed when the command ends or the run is cancelled. */
#include "hourglass/plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHELL_OUTPUT_MAX 4096 /* bytes of output kept */
#define SHELL_MAX_ARGS   256  /* arguments accepted */

extern char **environ;

typedef struct {
    char *argv[SHELL_MAX_ARGS + 2]; /* program + arguments + NULL */
    size_t argc;                    /* entries used in argv */
    char *args_copy;                /* storage for the split "args" */
    char **envp;                    /* environment for the command */
    char path[4096];                /* resolved program path */
} shell_cmd_t;

/* Find program in PATH before fork: execvp is not async-signal-safe. */
static int shell_resolve(const char *program, char *out, size_t size)
{
    const char *path = getenv("PATH");
    const char *p;
    if (strchr(program, '/')) {
        snprintf(out, size, "%s", program);
        return access(out, X_OK);
    }
    for (p = path ? path : "/usr/bin:/bin"; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        snprintf(out, size, "%.*s/%s", (int) len, len ? p : ".", program);
        if (access(out, X_OK) == 0) return 0;
        p += len + (end ? 1 : 0);
    }
    return -1;
}

static int shell_build(const hg_plugin_ctx_t *ctx, shell_cmd_t *cmd)
{
    const char *args = ctx->param(ctx, "args");
    char key[32];
    size_t i, n_env = 0, n_orig, n_extra = 0;
    cmd->argv[cmd->argc++] = (char *) ctx->param(ctx, "command");
    for (i = 1; i <= SHELL_MAX_ARGS; i++) {
        const char *v;
        snprintf(key, sizeof(key), "arg%zu", i);
        v = ctx->param(ctx, key);
        if (!v) break;
        cmd->argv[cmd->argc++] = (char *) v;
    }
    if (cmd->argc == 1 && args) {
        char *save = NULL, *tok;
        cmd->args_copy = strdup(args);
        if (!cmd->args_copy) return -1;
        for (tok = strtok_r(cmd->args_copy, " \t", &save); tok && cmd->argc <= SHELL_MAX_ARGS;
             tok = strtok_r(NULL, " \t", &save))
            cmd->argv[cmd->argc++] = tok;
    }
    cmd->argv[cmd->argc] = NULL;

    /* Environment: ours, with env.NAME parameters added or replacing. */
    while (environ[n_env])
        n_env++;
    n_orig = n_env;
    for (i = 0; i < ctx->param_count(ctx); i++)
        if (strncmp(ctx->param_at(ctx, i)->key, "env.", 4) == 0) n_extra++;
    cmd->envp = calloc(n_env + n_extra + 1, sizeof(char *));
    if (!cmd->envp) return -1;
    for (i = 0; i < n_env; i++)
        cmd->envp[i] = environ[i];
    for (i = 0; i < ctx->param_count(ctx); i++) {
        const hg_plugin_kv_t *kv = ctx->param_at(ctx, i);
        const char *name;
        size_t j, name_len;
        char *entry;
        if (strncmp(kv->key, "env.", 4) != 0) continue;
        name = kv->key + 4;
        name_len = strlen(name);
        if (name_len == 0) continue;
        entry = malloc(name_len + strlen(kv->value) + 2);
        if (!entry) return -1;
        sprintf(entry, "%s=%s", name, kv->value);
        for (j = 0; j < n_env; j++)
            if (strncmp(cmd->envp[j], name, name_len) == 0 && cmd->envp[j][name_len] == '=') break;
        if (j == n_env)
            n_env++;
        else if (j >= n_orig)
            free(cmd->envp[j]);
        cmd->envp[j] = entry;
    }
    return 0;
}

static void shell_free(shell_cmd_t *cmd)
{
    size_t i;
    /* Free the entries we allocated: those not taken from environ. */
    for (i = 0; cmd->envp && cmd->envp[i]; i++) {
        size_t j;
        int ours = 1;
        for (j = 0; environ[j]; j++)
            if (environ[j] == cmd->envp[i]) {
                ours = 0;
                break;
            }
        if (ours) free(cmd->envp[i]);
    }
    free(cmd->envp);
    free(cmd->args_copy);
}

/* Stop every process of the group: TERM, a short wait, then KILL. */
static void shell_kill_group(pid_t pgid)
{
    int i;
    if (kill(-pgid, SIGTERM) != 0) return;
    for (i = 0; i < 20 && kill(-pgid, 0) == 0; i++)
        usleep(10000);
    kill(-pgid, SIGKILL);
}

static int shell_run(void *state, const hg_plugin_ctx_t *ctx)
{
    shell_cmd_t cmd;
    char out[SHELL_OUTPUT_MAX];
    size_t out_len = 0;
    int fds[2], status = 0, exited = 0, cancelled = 0, rc;
    const char *cwd = ctx->param(ctx, "cwd");
    pid_t pid;
    (void) state;

    memset(&cmd, 0, sizeof(cmd));
    if (!ctx->param(ctx, "command") || !*ctx->param(ctx, "command")) {
        ctx->fail(ctx, "shell: parameter \"command\" is required");
        return HG_PLUGIN_FAILED;
    }
    if (shell_build(ctx, &cmd) != 0 || pipe2(fds, O_CLOEXEC) != 0) {
        shell_free(&cmd);
        ctx->fail(ctx, "shell: out of resources");
        return HG_PLUGIN_FAILED;
    }
    if (shell_resolve(cmd.argv[0], cmd.path, sizeof(cmd.path)) != 0) {
        ctx->fail(ctx, "shell: command \"%s\" not found or not executable", cmd.argv[0]);
        close(fds[0]);
        close(fds[1]);
        shell_free(&cmd);
        return HG_PLUGIN_FAILED;
    }
    pid = fork();
    if (pid == 0) {
        /* Child: async-signal-safe calls only (the host may be threaded). */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        /* The command gets stdio only: no descriptor of the worker or its
         * helper (master sockets, plug-in files, other runs' pipes), with
         * or without close-on-exec, and not the daemon's stdin. */
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (nul >= 0) dup2(nul, 0);
        close_range(3, ~0u, 0);
        if (cwd && chdir(cwd) != 0) _exit(126);
        execve(cmd.path, cmd.argv, cmd.envp);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        shell_free(&cmd);
        ctx->fail(ctx, "shell: fork failed: %s", strerror(errno));
        return HG_PLUGIN_FAILED;
    }
    setpgid(pid, pid); /* also here, so kill(-pid) works whoever runs first */

    /* Read output until the command exits (not until EOF: a background
     * grandchild may hold the pipe), polling for cancellation. */
    while (!exited) {
        struct pollfd p;
        p.fd = fds[0];
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 50) > 0) {
            char buf[4096];
            ssize_t n = read(fds[0], buf, sizeof(buf));
            if (n > 0 && out_len < sizeof(out)) {
                size_t take =
                    sizeof(out) - out_len < (size_t) n ? sizeof(out) - out_len : (size_t) n;
                memcpy(out + out_len, buf, take);
                out_len += take;
            }
        }
        if (waitpid(pid, &status, WNOHANG) == pid)
            exited = 1;
        else if (ctx->cancelled(ctx)) {
            cancelled = 1;
            shell_kill_group(pid);
            waitpid(pid, &status, 0);
            exited = 1;
        }
    }
    /* Drain what is already written, then clean up the group. */
    while (out_len < sizeof(out)) {
        struct pollfd p;
        ssize_t n;
        p.fd = fds[0];
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 0) <= 0) break;
        n = read(fds[0], out + out_len, sizeof(out) - out_len);
        if (n <= 0) break;
        out_len += (size_t) n;
    }
    close(fds[0]);
    shell_kill_group(pid);
    shell_free(&cmd);
    ctx->set_result(ctx, out, out_len);

    if (cancelled) {
        ctx->fail(ctx, "shell: cancelled; process group %d killed", (int) pid);
        return HG_PLUGIN_FAILED;
    }
    if (WIFSIGNALED(status)) {
        ctx->log(ctx, HG_PLUGIN_LOG_INFO, "killed by signal %d", WTERMSIG(status));
        ctx->fail(ctx, "shell: command killed by signal %d", WTERMSIG(status));
        return HG_PLUGIN_FAILED;
    }
    rc = WEXITSTATUS(status);
    ctx->log(ctx, HG_PLUGIN_LOG_INFO, "exit code %d", rc);
    if (rc == 126 || rc == 127) ctx->log(ctx, HG_PLUGIN_LOG_WARN, "could not chdir or exec");
    if (rc != 0) {
        ctx->fail(ctx, "shell: command exited with status %d", rc);
        return HG_PLUGIN_FAILED;
    }
    return HG_PLUGIN_OK;
}

static const hg_plugin_descriptor_t shell_descriptor = {HG_PLUGIN_ABI_VERSION,
                                                        sizeof(hg_plugin_descriptor_t),
                                                        "shell",
                                                        "1.0.0",
                                                        NULL,
                                                        shell_run,
                                                        NULL,
                                                        {NULL, NULL, NULL, NULL}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &shell_descriptor;
}
