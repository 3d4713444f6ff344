/* cmd_route: routing flags and rows of `hourglass job` (see cmd_route.h). */
#include "cmd_route.h"

#include "hg_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INVALID(...) (snprintf(err, err_size, __VA_ARGS__), HG_EINVAL)

/* One term of the CLI form: k=v, k!=v, k or !k. */
static int s_term(json_t *sel, const char *term, size_t len, char *err, size_t err_size)
{
    char buf[512];
    if (len == 0) return S_INVALID("--labels: empty term (terms are separated by commas)");
    if (len >= sizeof buf) return S_INVALID("--labels: term \"%.40s...\" is too long", term);
    memcpy(buf, term, len);
    buf[len] = '\0';
    char *ne = strstr(buf, "!="), *eq = strchr(buf, '=');
    json_t *val;
    const char *key = buf;
    if (ne && ne < eq) {
        *ne = '\0';
        val = json_pack("{s:s}", "not", ne + 2);
        if (!ne[2]) {
            json_decref(val);
            return S_INVALID("--labels: \"%s!=\" has no value", buf);
        }
    } else if (eq) {
        *eq = '\0';
        if (!eq[1]) return S_INVALID("--labels: \"%s=\" has no value", buf);
        val = json_string(eq + 1);
    } else if (buf[0] == '!') {
        key = buf + 1;
        val = json_pack("{s:b}", "exists", 0);
    } else {
        val = json_pack("{s:b}", "exists", 1);
    }
    if (!*key || strchr(key, '!')) {
        json_decref(val);
        return S_INVALID("--labels: \"%.*s\" has no valid label key", (int) len, term);
    }
    if (json_object_get(sel, key)) {
        json_decref(val);
        return S_INVALID("--labels: label \"%s\" is given twice", key);
    }
    json_object_set_new(sel, key, val);
    return 0;
}

json_t *hg_cli_labels_parse(const char *text, char *err, size_t err_size)
{
    json_t *sel = json_object();
    for (const char *p = text; sel;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen(p);
        if (s_term(sel, p, len, err, err_size) != 0) {
            json_decref(sel);
            return NULL;
        }
        if (!comma) break;
        p = comma + 1;
    }
    return sel;
}

int hg_cli_route_apply(const hg_args_t *args, json_t *job, char *err, size_t err_size)
{
    const char *labels = hg_args_get(args, "labels"), *strategy = hg_args_get(args, "strategy");
    const char *mode = hg_args_get(args, "mode"), *shards = hg_args_get(args, "shards");
    if (!labels && !strategy && !mode && !shards) return 0;
    json_t *ex = json_object_get(job, "executor");
    if (!json_is_object(ex)) {
        ex = json_object();
        json_object_set_new(job, "executor", ex);
    }
    if (labels) {
        json_t *sel = hg_cli_labels_parse(labels, err, err_size);
        if (!sel) return HG_EINVAL;
        json_object_set_new(ex, "labels", sel);
    }
    /* strategy and mode are checked by the master, which names the field. */
    if (strategy) json_object_set_new(ex, "strategy", json_string(strategy));
    if (mode) json_object_set_new(ex, "mode", json_string(mode));
    if (shards) {
        char *end;
        errno = 0;
        long n = strtol(shards, &end, 10);
        if (errno || end == shards || *end || n < 1 || n > 100000)
            return S_INVALID("--shards: \"%s\" is not a shard count (1 or more)", shards);
        json_object_set_new(ex, "shards", json_integer(n));
    }
    return 0;
}

/* The selector back in the CLI form. */
static const char *s_selector_text(const json_t *labels, char *buf, size_t size)
{
    size_t used = 0;
    const char *key;
    json_t *val;
    buf[0] = '\0';
    json_object_foreach((json_t *) labels, key, val)
    {
        const char *sep = used ? "," : "";
        int n;
        if (json_is_string(val))
            n = snprintf(buf + used, size - used, "%s%s=%s", sep, key, json_string_value(val));
        else if (json_is_string(json_object_get(val, "not")))
            n = snprintf(buf + used, size - used, "%s%s!=%s", sep, key,
                         json_string_value(json_object_get(val, "not")));
        else
            n = snprintf(buf + used, size - used, "%s%s%s", sep,
                         json_is_true(json_object_get(val, "exists")) ? "" : "!", key);
        if (n < 0 || (size_t) n >= size - used) break;
        used += (size_t) n;
    }
    return used ? buf : "-";
}

void hg_cli_route_print(hg_cli_t *cli, const json_t *job)
{
    const json_t *ex = json_is_object(job) ? json_object_get(job, "executor") : NULL;
    const json_t *pl = json_is_object(job) ? json_object_get(job, "placement") : NULL;
    char buf[4096];
#define S_ROW(label, expr) fprintf(cli->out, "%-14s %s\n", label ":", expr)
    if (json_object_get(ex, "labels"))
        S_ROW("Labels", s_selector_text(json_object_get(ex, "labels"), buf, sizeof buf));
    if (json_object_get(ex, "strategy")) S_ROW("Strategy", hg_view_str(ex, "strategy"));
    if (json_object_get(ex, "mode")) S_ROW("Mode", hg_view_str(ex, "mode"));
    if (json_object_get(ex, "shards")) S_ROW("Shards", hg_view_text(ex, "shards", buf, sizeof buf));
    if (!json_is_object(pl)) return;
    const char *state = hg_view_str(pl, "state");
    const char *reason = hg_view_str(pl, "reason");
    size_t used = 0;
    buf[0] = '\0';
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(pl, "nodes"), i, n)
    {
        int w = snprintf(buf + used, sizeof buf - used, "%s%s", used ? ", " : "",
                         json_string_value(n) ? json_string_value(n) : "?");
        if (w < 0 || (size_t) w >= sizeof buf - used) break;
        used += (size_t) w;
    }
    char line[4600];
    snprintf(line, sizeof line, "%s%s%s%s%s", state ? state : "-", used ? " on " : "",
             used ? buf : "", reason ? ": " : "", reason ? reason : "");
    S_ROW("Placement", line);
#undef S_ROW
}
