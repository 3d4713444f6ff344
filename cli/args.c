/* args: subcommand flags with global flags anywhere (see args.h). */
#include "args.h"
#include "hg_error.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { S_GLOBAL_NONE, S_GLOBAL_MASTER, S_GLOBAL_TOKEN, S_GLOBAL_OUTPUT } s_global_t;

/* Which global flag a "--name" is, by long name. */
static s_global_t s_global_by_name(const char *name, size_t len)
{
    if (len == 6 && strncmp(name, "master", len) == 0) return S_GLOBAL_MASTER;
    if (len == 5 && strncmp(name, "token", len) == 0) return S_GLOBAL_TOKEN;
    if (len == 6 && strncmp(name, "output", len) == 0) return S_GLOBAL_OUTPUT;
    return S_GLOBAL_NONE;
}

static void s_global_set(hg_globals_t *g, s_global_t which, const char *value)
{
    switch (which) {
    case S_GLOBAL_MASTER:
        g->master = value;
        break;
    case S_GLOBAL_TOKEN:
        g->token = value;
        break;
    case S_GLOBAL_OUTPUT:
        g->output = value;
        break;
    case S_GLOBAL_NONE:
        break;
    }
}

typedef enum {
    S_WORD_POSITIONAL, /* not a flag */
    S_WORD_DONE,       /* a global flag, consumed */
    S_WORD_OTHER,      /* a flag that is not global: *name / *name_len / *inline_value set */
    S_WORD_ERROR,      /* message in err */
} s_word_t;

/* Classify argv[*i]; consumes a global flag and its value (advancing *i). */
static s_word_t s_word(int argc, char **argv, int *i, hg_globals_t *g, const char **name,
                       size_t *name_len, const char **inline_value, char *err, size_t err_size)
{
    const char *word = argv[*i];
    if (word[0] != '-' || word[1] == '\0')
        return S_WORD_POSITIONAL; /* "-" alone is a positional, by convention stdin */
    if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0) {
        g->help = true;
        return S_WORD_DONE;
    }
    if (word[1] != '-') {
        if (word[1] == 'o') {
            if (word[2]) {
                g->output = word + 2;
                return S_WORD_DONE;
            }
            if (*i + 1 >= argc) {
                snprintf(err, err_size, "flag -o needs a value (table or json)");
                return S_WORD_ERROR;
            }
            g->output = argv[++*i];
            return S_WORD_DONE;
        }
        if (word[1] == 'f' && word[2] == '\0') { /* -f FILE is --file FILE (job apply) */
            *name = "file";
            *name_len = 4;
            *inline_value = NULL;
            return S_WORD_OTHER;
        }
        snprintf(err, err_size, "unknown flag %s", word);
        return S_WORD_ERROR;
    }
    *name = word + 2;
    const char *eq = strchr(*name, '=');
    *name_len = eq ? (size_t) (eq - *name) : strlen(*name);
    *inline_value = eq ? eq + 1 : NULL;
    s_global_t which = s_global_by_name(*name, *name_len);
    if (which == S_GLOBAL_NONE) return S_WORD_OTHER;
    if (!*inline_value) {
        if (*i + 1 >= argc) {
            snprintf(err, err_size, "flag --%.*s needs a value", (int) *name_len, *name);
            return S_WORD_ERROR;
        }
        *inline_value = argv[++*i];
    }
    s_global_set(g, which, *inline_value);
    return S_WORD_DONE;
}

int hg_args_parse_globals(int argc, char **argv, hg_globals_t *globals, int *next, char *err,
                          size_t err_size)
{
    for (int i = 0; i < argc; i++) {
        const char *name, *inline_value;
        size_t name_len;
        if (strcmp(argv[i], "--") == 0) {
            *next = i + 1;
            return 0;
        }
        switch (s_word(argc, argv, &i, globals, &name, &name_len, &inline_value, err, err_size)) {
        case S_WORD_DONE:
            break;
        case S_WORD_POSITIONAL:
            *next = i;
            return 0;
        case S_WORD_OTHER:
            snprintf(err, err_size, "unknown flag %s (flags of a command go after it)", argv[i]);
            return HG_EINVAL;
        case S_WORD_ERROR:
            return HG_EINVAL;
        }
    }
    *next = argc;
    return 0;
}

int hg_args_parse(hg_args_t *args, const hg_flag_t *flags, size_t flags_n, int argc, char **argv,
                  hg_globals_t *globals, char *err, size_t err_size)
{
    memset(args, 0, sizeof *args);
    args->flags = flags;
    args->flags_n = flags_n;
    size_t cap = argc > 0 ? (size_t) argc : 1;
    args->given_flag = calloc(cap, sizeof *args->given_flag);
    args->given_val = calloc(cap, sizeof *args->given_val);
    args->pos = calloc(cap, sizeof *args->pos);
    if (!args->given_flag || !args->given_val || !args->pos) {
        snprintf(err, err_size, "%s", hg_strerror(HG_ENOMEM));
        return HG_ENOMEM;
    }
    bool only_positionals = false;
    for (int i = 0; i < argc; i++) {
        if (only_positionals) {
            args->pos[args->pos_n++] = argv[i];
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            only_positionals = true;
            continue;
        }
        const char *name = NULL, *inline_value = NULL;
        size_t name_len = 0;
        switch (s_word(argc, argv, &i, globals, &name, &name_len, &inline_value, err, err_size)) {
        case S_WORD_DONE:
            continue;
        case S_WORD_POSITIONAL:
            args->pos[args->pos_n++] = argv[i];
            continue;
        case S_WORD_ERROR:
            return HG_EINVAL;
        case S_WORD_OTHER:
            break;
        }
        size_t f = 0;
        while (f < flags_n &&
               !(strlen(flags[f].name) == name_len && strncmp(flags[f].name, name, name_len) == 0))
            f++;
        if (f == flags_n) {
            snprintf(err, err_size, "unknown flag --%.*s", (int) name_len, name);
            return HG_EINVAL;
        }
        const char *value = inline_value;
        if (!flags[f].metavar) {
            if (value) {
                snprintf(err, err_size, "flag --%s takes no value", flags[f].name);
                return HG_EINVAL;
            }
            value = "";
        } else if (!value) {
            if (i + 1 >= argc) {
                snprintf(err, err_size, "flag --%s needs a value (%s)", flags[f].name,
                         flags[f].metavar);
                return HG_EINVAL;
            }
            value = argv[++i];
        }
        args->given_flag[args->given_n] = f;
        args->given_val[args->given_n] = value;
        args->given_n++;
    }
    return 0;
}

void hg_args_free(hg_args_t *args)
{
    free(args->given_flag);
    free(args->given_val);
    free(args->pos);
    memset(args, 0, sizeof *args);
}

static size_t s_flag_index(const hg_args_t *args, const char *name)
{
    for (size_t f = 0; f < args->flags_n; f++)
        if (strcmp(args->flags[f].name, name) == 0) return f;
    assert(!"flag name not in the command's table");
    return args->flags_n;
}

size_t hg_args_count(const hg_args_t *args, const char *name)
{
    size_t f = s_flag_index(args, name), count = 0;
    for (size_t i = 0; i < args->given_n; i++)
        count += args->given_flag[i] == f;
    return count;
}

const char *hg_args_nth(const hg_args_t *args, const char *name, size_t n)
{
    size_t f = s_flag_index(args, name);
    for (size_t i = 0; i < args->given_n; i++)
        if (args->given_flag[i] == f && n-- == 0) return args->given_val[i];
    return NULL;
}

const char *hg_args_get(const hg_args_t *args, const char *name)
{
    size_t f = s_flag_index(args, name);
    for (size_t i = args->given_n; i > 0; i--)
        if (args->given_flag[i - 1] == f) return args->given_val[i - 1];
    return NULL;
}

bool hg_args_has(const hg_args_t *args, const char *name)
{
    return hg_args_get(args, name) != NULL;
}

/* An environment variable, with "" treated as unset. */
static const char *s_env(const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : NULL;
}

int hg_settings_resolve(const hg_globals_t *globals, hg_settings_t *settings, char *err,
                        size_t err_size)
{
    memset(settings, 0, sizeof *settings);
    const char *master = globals->master;
    const char *source = "--master";
    if (!master) {
        master = s_env("HOURGLASS_MASTER");
        source = "HOURGLASS_MASTER";
    }
    if (!master) {
        master = HG_CLI_DEFAULT_MASTER;
        source = "default";
    }
    /* One URL, or several separated by commas (every master of a highly
     * available cluster; the client tries them in order). */
    size_t used = 0;
    for (const char *p = master; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) {
                /* HOURGLASS_MASTER once meant the worker's endpoint too. */
                bool zmq = strncmp(p, "tcp://", 6) == 0 || strncmp(p, "ipc://", 6) == 0;
                snprintf(err, err_size, "%s: \"%.*s\" must start with http:// or https://%s",
                         source, (int) len, p,
                         zmq ? " (it is a worker's ZeroMQ endpoint, which workers take from "
                               "HOURGLASS_MASTER_ENDPOINTS; the CLI calls the master's REST API, "
                               "e.g. http://master:8642)"
                             : "");
                return HG_EINVAL;
            }
            while (len > 0 && p[len - 1] == '/')
                len--; /* paths are appended with their own leading slash */
            if (used + (used ? 1 : 0) + len >= sizeof settings->master) {
                snprintf(err, err_size, "%s: URL list longer than %zu characters", source,
                         sizeof settings->master - 1);
                return HG_EINVAL;
            }
            if (used) settings->master[used++] = ',';
            memcpy(settings->master + used, p, len);
            used += len;
        }
        p = end ? end + 1 : p + strlen(p);
    }
    settings->master[used] = '\0';
    if (used == 0) {
        snprintf(err, err_size, "%s: no master URL given", source);
        return HG_EINVAL;
    }

    settings->token = globals->token ? globals->token : s_env("HOURGLASS_TOKEN");
    if (settings->token && !*settings->token)
        settings->token = NULL; /* --token "" turns a token from the environment off */

    if (!globals->output || strcmp(globals->output, "table") == 0) {
        settings->output = HG_OUTPUT_TABLE;
    } else if (strcmp(globals->output, "json") == 0) {
        settings->output = HG_OUTPUT_JSON;
    } else {
        snprintf(err, err_size, "-o: \"%s\" is not an output format (table or json)",
                 globals->output);
        return HG_EINVAL;
    }
    return 0;
}

void hg_token_file_path(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, size, "%s/hourglass/token", xdg);
    else if (home && *home)
        snprintf(buf, size, "%s/.config/hourglass/token", home);
    else if (size)
        buf[0] = '\0';
}

int hg_token_file_load(const char *path, char *buf, size_t size, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return HG_ENOTFOUND;
        snprintf(err, err_size, "cannot read the token in %s: %s", path, strerror(errno));
        return HG_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, err_size, "%s is not a regular file", path);
        return HG_EIO;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        snprintf(err, err_size,
                 "refusing the token in %s: group or others may read it (mode %03o); run "
                 "'chmod 600 %s'",
                 path, (unsigned) (st.st_mode & 0777), path);
        return HG_EINVAL;
    }
    char text[512];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, err_size, "cannot read the token in %s: %s", path, strerror(errno));
        return HG_EIO;
    }
    text[n] = '\0';
    char *p = text;
    while (*p && isspace((unsigned char) *p))
        p++;
    size_t len = strcspn(p, " \t\r\n");
    if (len == 0 || len >= size) {
        snprintf(err, err_size, "%s holds no token", path);
        return HG_EINVAL;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    return 0;
}
