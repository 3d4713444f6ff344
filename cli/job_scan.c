/* job_scan: keyset pages of `hourglass job list`, partial ones followed
 * (job_scan.h). */
#include "job_scan.h"
#include "hg_error.h"
#include "hg_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define S_LIMIT_DEFAULT "100"
#define S_LIMIT_MAX     1000
#define S_SEARCH_MS     30000
#define S_CALLS_MAX     100000 /* a bound on requests whatever the clock says */

bool hg_job_scan_wanted(const hg_args_t *args)
{
    static const char *const flags[] = {"prefix", "kind", "node", "last-run", "cursor"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (hg_args_get(args, flags[i])) return true;
    return false;
}

/* --limit and --search; false with the message printed. */
static bool s_bounds(hg_cli_t *cli, const hg_args_t *args, long *limit, int64_t *search_ms)
{
    char msg[512];
    const char *text = hg_args_get(args, "limit");
    if (hg_cli_check_count("limit", text, S_LIMIT_MAX, msg, sizeof msg) != 0) {
        hg_cli_usage_fail(cli, "%s", msg);
        return false;
    }
    if (hg_args_get(args, "offset")) {
        hg_cli_usage_fail(cli, "--offset: not with --prefix, --kind, --node, --last-run or "
                               "--cursor (they page by --cursor)");
        return false;
    }
    *limit = strtol(text ? text : S_LIMIT_DEFAULT, NULL, 10);
    *search_ms = S_SEARCH_MS;
    const char *search = hg_args_get(args, "search");
    if (search && strcmp(search, "0") == 0) { /* one request; a bare 0 needs no unit */
        *search_ms = 0;
    } else if (search && (hg_duration_parse_ms(search, search_ms) != 0 || *search_ms < 0 ||
                          *search_ms > 3600 * 1000)) {
        hg_cli_usage_fail(cli, "--search: \"%s\" is not a duration from 0 to 1h (e.g. 30s)",
                          search);
        return false;
    }
    return true;
}

/* One page from cursor `after` of at most `limit` jobs. */
static int s_page(hg_cli_t *cli, const hg_args_t *args, const char *after, long limit,
                  json_t **page)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    hg_query_t q[] = {{"after", after},
                      {"limit", lim},
                      {"namespace", hg_args_get(args, "namespace")},
                      {"status", hg_args_get(args, "status")},
                      {"prefix", hg_args_get(args, "prefix")},
                      {"kind", hg_args_get(args, "kind")},
                      {"node", hg_args_get(args, "node")},
                      {"last_run", hg_args_get(args, "last-run")}};
    return hg_cli_call(cli, "GET", "/api/v1/jobs", q, sizeof q / sizeof q[0], NULL, page);
}

int hg_job_scan_fetch(hg_cli_t *cli, const hg_args_t *args, json_t **doc)
{
    long limit;
    int64_t search_ms;
    *doc = NULL;
    if (!s_bounds(cli, args, &limit, &search_ms)) return HG_EXIT_USAGE;
    const char *cursor = hg_args_get(args, "cursor");
    json_t *all =
        json_pack("{s:[], s:n, s:b, s:I}", "jobs", "next", "partial", 0, "scanned", (json_int_t) 0);
    if (!all) return hg_cli_fail(cli, "%s", hg_strerror(HG_ENOMEM));
    json_t *jobs = json_object_get(all, "jobs");
    char after[512];
    snprintf(after, sizeof after, "%s", cursor ? cursor : "");
    int64_t start_ms = hg_mono_ms();
    for (long calls = 0; calls < S_CALLS_MAX; calls++) {
        json_t *page = NULL;
        int rc = s_page(cli, args, after, limit - (long) json_array_size(jobs), &page);
        if (rc != 0) {
            json_decref(all);
            return rc;
        }
        const json_t *got = hg_view_array(page, "jobs");
        if (!got) {
            json_decref(page);
            json_decref(all);
            return hg_cli_fail(cli, "unexpected answer from master: no \"jobs\" list");
        }
        json_array_extend(jobs, (json_t *) got);
        const char *next = hg_view_str(page, "next");
        bool partial = json_is_true(json_object_get(page, "partial"));
        json_int_t scanned = json_integer_value(json_object_get(all, "scanned")) +
                             json_integer_value(json_object_get(page, "scanned"));
        json_object_set_new(all, "next", next ? json_string(next) : json_null());
        /* A full list is not partial, even if its last page was. */
        json_object_set_new(all, "partial",
                            json_boolean(partial && json_array_size(jobs) < (size_t) limit));
        json_object_set_new(all, "scanned", json_integer(scanned));
        snprintf(after, sizeof after, "%s", next ? next : "");
        json_decref(page);
        /* Done: the list ended, the page is full, or the search ran out. */
        if (!partial || json_array_size(jobs) >= (size_t) limit ||
            hg_mono_ms() - start_ms >= search_ms)
            break;
    }
    *doc = all;
    return HG_EXIT_OK;
}

void hg_job_scan_note(hg_cli_t *cli, const json_t *doc)
{
    const char *next = hg_view_str(doc, "next");
    if (!next) return;
    if (json_is_true(json_object_get(doc, "partial")))
        fprintf(cli->err,
                "(partial: searched %" JSON_INTEGER_FORMAT
                " jobs up to %s; more may match: --cursor %s)\n",
                json_integer_value(json_object_get(doc, "scanned")), next, next);
    else
        fprintf(cli->err, "(more jobs: --cursor %s)\n", next);
}
