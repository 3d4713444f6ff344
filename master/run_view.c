/* run_view: logs and result of one run (run_view.h). */
#include "run_view.h"

#include <string.h>

/* The level of a plug-in log line "[level] ...", or NULL. */
static const char *s_line_level(const char *line, size_t len, size_t *head)
{
    static const char *levels[] = {"debug", "info", "warn", "error", "log"};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        size_t n = strlen(levels[i]);
        if (len >= n + 3 && line[0] == '[' && strncmp(line + 1, levels[i], n) == 0 &&
            line[n + 1] == ']' && line[n + 2] == ' ') {
            *head = n + 3;
            return levels[i];
        }
    }
    return NULL;
}

void hg_run_view_add(json_t *run)
{
    json_t *logs = json_array();
    const char *out = json_string_value(json_object_get(run, "output"));
    size_t len = out ? json_string_length(json_object_get(run, "output")) : 0, pos = 0;
    /* Only lines of the form "[level] text" at the start are log lines:
     * the first other line starts the result. */
    while (out && pos < len) {
        const char *nl = memchr(out + pos, '\n', len - pos);
        if (!nl) break;
        size_t head = 0, line_len = (size_t) (nl - (out + pos));
        const char *level = s_line_level(out + pos, line_len, &head);
        if (!level) break;
        json_array_append_new(logs, json_pack("{s:s, s:s%}", "level", level, "message",
                                              out + pos + head, line_len - head));
        pos += line_len + 1;
    }
    json_object_set_new(run, "logs", logs);
    json_object_set_new(run, "result",
                        out && pos < len ? json_stringn(out + pos, len - pos) : json_null());
}
